"""Success-filtered demonstrations (``TrainConfig.demo_filter``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from skillstack.envs import UnknownNameError
from skillstack.skills.demos import Demonstrations
from skillstack.skills.train import TrainConfig, chunk_targets, train


def _demos(lengths, success) -> Demonstrations:
    ids = np.repeat(np.arange(len(lengths)), lengths)
    n = len(ids)
    step = np.arange(n, dtype=np.float64)
    return Demonstrations(observations=step[:, None], actions=step[:, None].astype(np.float32),
                          rewards=np.zeros(n, np.float32), next_observations=step[:, None] + 1,
                          terminals=np.zeros(n, np.float32), episode_ids=ids.astype(np.int64),
                          episode_success=np.asarray(success))


def test_successful_keeps_the_successful_episodes_renumbered():
    demos = _demos([2, 3, 1, 2], [False, True, False, True])
    kept = demos.successful()
    assert kept.n_episodes == 2 and kept.episode_success.all()
    np.testing.assert_array_equal(kept.observations[:, 0], [2, 3, 4, 6, 7])  # episodes 1 and 3, in order
    np.testing.assert_array_equal(kept.episode_ids, [0, 0, 0, 1, 1])
    targets = chunk_targets(kept.actions, kept.episode_ids, 3)
    np.testing.assert_array_equal(targets[2, :, 0], [4, 4, 4])  # a chunk never crosses into the next episode
    assert demos.successful().successful().n_episodes == 2
    assert _demos([2], [False]).successful().n_episodes == 0


def test_demo_filter_is_checked_used_and_kept_on_resume(tmp_path, capsys):
    with pytest.raises(UnknownNameError, match="all, success"):
        TrainConfig(env_id="metaworld/reach-v3", steps=10, algo="bc", demo_filter="best").resolved()
    with pytest.raises(ValueError, match="collects none"):
        TrainConfig(env_id="metaworld/reach-v3", steps=10, algo="sac", demo_filter="success").resolved()
    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=20, n_demos=3, demo_filter="success",
                      eval_every=20, eval_episodes=1, final_eval_episodes=1, max_episode_steps=60,
                      run_dir=str(tmp_path / "run"), torch_threads=1, device="cpu")
    train(cfg, progress=False)
    all_demos = Demonstrations.load(tmp_path / "run" / "demos.npz")  # every collected episode is kept on disk
    assert all_demos.n_episodes == 3
    out = capsys.readouterr().out
    assert f"[demos] {all_demos.episode_success.sum()} of 3 episodes succeeded" in out
    with pytest.raises(ValueError, match="demo_filter differs"):
        train(replace(cfg, steps=40, demo_filter="all"), resume=True, progress=False)
    # an expert that cannot succeed in 3 steps: nothing to clone, a clear error
    with pytest.raises(ValueError, match="succeeded in none of the 2"):
        train(replace(cfg, n_demos=2, max_episode_steps=3, run_dir=str(tmp_path / "short")), progress=False)
