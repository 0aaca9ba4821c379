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


@pytest.mark.parametrize("step", [1, 2])
def test_even_blocks_cover_the_range_once_with_aligned_starts(step):
    from skillstack.skills.parallel import even_blocks

    for n in range(1, 120):
        for n_blocks in (1, 2, 3, 8, 64):
            blocks = even_blocks(n, n_blocks, step)
            assert blocks[0][0] == 0 and blocks[-1][1] == n and len(blocks) <= n_blocks
            assert all(b > a and a % step == 0 for a, b in blocks)
            assert all(blocks[k][1] == blocks[k + 1][0] for k in range(len(blocks) - 1))
    with pytest.raises(ValueError):
        even_blocks(0, 2)


def test_a_failing_block_raises_at_once_and_names_the_block():
    from functools import partial

    from skillstack.skills.demos import _collect_block
    from skillstack.skills.parallel import map_blocks

    job = partial(_collect_block, "metaworld/reach-v3", seed=0, max_episode_steps=5, action_noise=0.0,
                  reward="no-such-reward")
    # both blocks fail; whichever worker reports first is named (scheduling decides which)
    with pytest.raises(RuntimeError, match="episodes (0–1|2–3) failed in a worker process") as e:
        map_blocks(job, [(0, 2), (2, 4)], 2, "demos", progress=False)
    assert isinstance(e.value.__cause__, UnknownNameError)


def test_workers_know_the_plugin_scenes_of_this_process(tmp_path, monkeypatch):
    """A scene loaded as a plugin here (``tests/plugins``) is registered in the workers too."""
    import dataclasses
    from pathlib import Path

    from skillstack.envs import load_plugins
    from skillstack.skills.affordance import collect_outcomes
    from skillstack.skills.library import SkillLibrary, default_library_path

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "plugins"))
    load_plugins(["toy_drawer_scene"])
    skill = dataclasses.replace(SkillLibrary(default_library_path()).load("open_drawer"),
                                env_id="toydrawer/open_drawer-v0", version=None)
    one = collect_outcomes(skill, 4, 7, n_parallel=1, progress=False)
    two = collect_outcomes(skill, 4, 7, n_parallel=1, progress=False, n_workers=2)
    for k in ("observations", "success", "applicable", "lengths"):
        np.testing.assert_array_equal(getattr(one, k), getattr(two, k), err_msg=k)
