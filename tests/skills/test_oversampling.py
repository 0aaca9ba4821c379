"""Oversampling of rare expert actions in behaviour cloning (``TrainConfig.oversample_dims``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from safetensors.numpy import load_file

import skillstack.skills.train as train_module
from skillstack.skills.train import TrainConfig, oversampling_probabilities, train


def test_active_rows_are_drawn_factor_times_as_often_chunks_included():
    # 4 rows, chunk 2, act_dim 3: row 1 turns in its second step, row 3 only in an unselected dimension
    targets = np.zeros((4, 2, 3), dtype=np.float32)
    targets[1, 1, 2] = -0.8
    targets[2, 0, 2] = 0.05  # below the threshold: not active
    targets[3, 0, 0] = 1.0
    p = oversampling_probabilities(targets.reshape(4, -1), 3, (2,), 5.0)
    np.testing.assert_allclose(p, np.array([1, 5, 1, 1]) / 8)
    p = oversampling_probabilities(targets.reshape(4, -1), 3, (0, 2), 3.0)
    np.testing.assert_allclose(p, np.array([1, 3, 1, 3]) / 8)
    assert oversampling_probabilities(targets.reshape(4, -1), 3, (2,), 1.0) is None
    assert oversampling_probabilities(targets.reshape(4, -1), 3, (), 5.0) is None
    with pytest.raises(ValueError, match=r"\[3\] outside the action's dimensions 0..2"):
        oversampling_probabilities(targets.reshape(4, -1), 3, (3,), 5.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"oversample_dims": (1,), "oversample_factor": 0.5}, "finite and ≥ 1"),
    ({"oversample_dims": (1,)}, "go together"),
    ({"oversample_factor": 4.0}, "go together"),
    ({"oversample_dims": (1, 1), "oversample_factor": 4.0}, "distinct action indices"),
    ({"oversample_dims": (1,), "oversample_factor": 4.0, "algo": "sac"}, "imitation algorithms"),
])
def test_oversampling_settings_are_checked(kwargs, match):
    cfg = TrainConfig(env_id="metaworld/reach-v3", steps=10, algo="bc")
    with pytest.raises(ValueError, match=match):
        replace(cfg, **kwargs).resolved()


def test_bc_draws_its_batches_with_the_oversampling_probabilities(tmp_path, monkeypatch):
    seen = []

    def spy(targets, act_dim, dims, factor):
        p = oversampling_probabilities(targets, act_dim, dims, factor)
        seen.append((dims, factor, p))
        return p

    monkeypatch.setattr(train_module, "oversampling_probabilities", spy)
    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=30, n_demos=2, eval_every=30, eval_episodes=1,
                      final_eval_episodes=1, max_episode_steps=40, run_dir=str(tmp_path / "uniform"),
                      torch_threads=1, device="cpu")
    train(cfg, progress=False)
    heavy = replace(cfg, run_dir=str(tmp_path / "heavy"), oversample_dims=(0,), oversample_factor=50.0)
    train(heavy, progress=False)
    assert seen[0] == ((), 1.0, None)
    dims, factor, p = seen[1]
    assert dims == (0,) and factor == 50.0 and p is not None and p.max() / p.min() == pytest.approx(50.0)
    # same seed and demonstrations, other batches: other weights
    a = load_file(str(tmp_path / "uniform" / "best_policy.safetensors"))
    b = load_file(str(tmp_path / "heavy" / "best_policy.safetensors"))
    assert any(not np.array_equal(a[k], b[k]) for k in a)
