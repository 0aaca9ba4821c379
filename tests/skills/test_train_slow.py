"""Long training runs (``pytest -m slow``); not part of the default suite."""

from __future__ import annotations

import pytest

from skillstack.skills.train import TrainConfig, train


@pytest.mark.slow
def test_sac_demos_drawer_open_reaches_90_percent(tmp_path):
    cfg = TrainConfig(env_id="metaworld/drawer-open-v3", algo="sac-demos", steps=15_000, seed=0,
                      run_dir=str(tmp_path / "run"), eval_every=5000, final_eval_episodes=50, torch_threads=1)
    res = train(cfg, progress=False)
    assert res.final_eval.success_rate >= 0.9
    assert res.state.first_reach.get("0.90") is not None


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ["metaworld/drawer-open-v3", "metaworld/button-press-topdown-v3",
                                    "metaworld/pick-place-v3"])
def test_bc_reaches_90_percent(tmp_path, env_id):
    cfg = TrainConfig(env_id=env_id, algo="bc", steps=3000, n_demos=50, seed=0, run_dir=str(tmp_path / "run"),
                      eval_every=10_000, final_eval_episodes=50)
    assert train(cfg, progress=False).final_eval.success_rate >= 0.9
