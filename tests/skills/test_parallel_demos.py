"""Parallel demonstration collection (``collect_demonstrations(n_workers=...)``, ``TrainConfig.demo_workers``)."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from skillstack.envs import UnknownNameError
from skillstack.skills.demos import Demonstrations, collect_demonstrations
from skillstack.skills.train import TrainConfig, train


def _same(a: Demonstrations, b: Demonstrations) -> None:
    for f in fields(Demonstrations):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and x.shape == y.shape, f.name
        np.testing.assert_array_equal(x, y, err_msg=f.name)


def test_parallel_collection_equals_the_one_process_collection():
    kw = dict(max_episode_steps=12, progress=False, action_noise=0.3, seed=1)
    one = collect_demonstrations("metaworld/reach-v3", 5, **kw)
    two = collect_demonstrations("metaworld/reach-v3", 5, n_workers=2, **kw)
    _same(one, two)
    assert one.n_episodes == 5 and list(np.unique(one.episode_ids)) == [0, 1, 2, 3, 4]
    # the blocks are not just concatenated in completion order: the noise makes each episode distinct
    assert not np.array_equal(one.actions[one.episode_ids == 0], one.actions[one.episode_ids == 1])


def test_parallel_collection_refuses_bad_input_before_starting_workers():
    with pytest.raises(ValueError, match="n_workers"):
        collect_demonstrations("metaworld/reach-v3", 2, n_workers=0, progress=False)
    with pytest.raises(UnknownNameError):
        collect_demonstrations("metaworld/no-such-task-v3", 2, n_workers=2, progress=False)


def test_demo_workers_do_not_change_a_run_and_may_change_on_resume(tmp_path):
    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=20, n_demos=3, eval_every=10_000,
                      final_eval_episodes=1, max_episode_steps=15, hidden_sizes=(16, 16), batch_size=16,
                      run_dir=str(tmp_path / "a"))
    with pytest.raises(ValueError, match="demo_workers"):
        train(TrainConfig(**{**cfg.__dict__, "demo_workers": 0}), progress=False)
    train(cfg, progress=False)
    par = TrainConfig(**{**cfg.__dict__, "demo_workers": 2, "run_dir": str(tmp_path / "b")})
    train(par, progress=False)
    _same(Demonstrations.load(tmp_path / "a" / "demos.npz"), Demonstrations.load(tmp_path / "b" / "demos.npz"))
    train(TrainConfig(**{**par.__dict__, "steps": 30, "demo_workers": 1}), resume=True, progress=False)
