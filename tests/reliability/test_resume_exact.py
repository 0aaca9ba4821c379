"""Exact resume (issue 6, item 4): on CPU with fixed seeds, training 2N steps straight and N steps in another
process + resume + N give identical parameters, optimiser states (Adam moments and step counts), entropy
coefficient, replay buffer and step counters. The replay buffer travels as npz, the generators as JSON: no
pickle anywhere (``skills/resume.py``)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3.common.save_util import load_from_zip_file

from skillstack.skills.train import TrainConfig, train

BASE = dict(env_id="metaworld/reach-v3", seed=3, eval_every=10_000, final_eval_episodes=1, max_episode_steps=40,
            n_demos=1, bc_pretrain_steps=20, actor_warmup_updates=10, hidden_sizes=(32, 32), batch_size=32,
            checkpoint_every=40, torch_threads=1)  # one thread: the same float summation order in both processes


def _cfg(algo: str, steps: int, run_dir: Path) -> TrainConfig:
    return TrainConfig(algo=algo, steps=steps, run_dir=str(run_dir), **BASE)


def _final_checkpoint(run_dir: Path) -> Path:
    d = run_dir / "checkpoints"
    return d / (d / "latest").read_text().strip()


def _assert_same(a, b, where: str = "") -> None:  # noqa: ANN001
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), f"{where} differs (max |Δ| {(a.double() - b.double()).abs().max():.3g})"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _compare_checkpoints(a: Path, b: Path) -> None:
    _, pa, va = load_from_zip_file(str(a / "model.zip"), load_data=False)
    _, pb, vb = load_from_zip_file(str(b / "model.zip"), load_data=False)
    _assert_same(pa, pb, "params")  # policy (actor, critic, target critic) and every optimiser's state
    _assert_same(va, vb, "pytorch_variables")  # SAC's log_ent_coef
    sa, sb = (json.loads((c / "state.json").read_text()) for c in (a, b))
    for k in ("steps", "last_checkpoint", "last_eval"):
        assert sa[k] == sb[k], k
    assert json.loads((a / "sb3_counters.json").read_text()) == json.loads((b / "sb3_counters.json").read_text())
    with np.load(a / "replay_buffer.npz") as za, np.load(b / "replay_buffer.npz") as zb:
        assert za.files == zb.files
        for k in za.files:
            np.testing.assert_array_equal(za[k], zb[k], err_msg=k)


@pytest.mark.parametrize("algo", ["sac-demos", "ibrl", pytest.param("sac", marks=pytest.mark.slow)])
def test_n_then_resume_n_equals_2n_straight(tmp_path, algo):
    n = 120
    straight = train(_cfg(algo, 2 * n, tmp_path / "straight"), progress=False)
    # first segment in a separate process (nothing survives in memory), then scramble this process's RNGs
    code = ("from skillstack.skills.train import TrainConfig, train; import json, sys; "
            "train(TrainConfig(**json.loads(sys.argv[1])), progress=False)")
    cfg1 = {**BASE, "algo": algo, "steps": n, "run_dir": str(tmp_path / "resumed"), "hidden_sizes": [32, 32]}
    r = subprocess.run([sys.executable, "-c", code, json.dumps(cfg1)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    first = _final_checkpoint(tmp_path / "resumed")
    assert json.loads((first / "state.json").read_text())["steps"] == n
    assert json.loads((first / "sb3_counters.json").read_text())["exact_resume"] is True
    random.seed(123)
    np.random.seed(456)
    torch.manual_seed(789)
    resumed = train(_cfg(algo, 2 * n, tmp_path / "resumed"), resume=True, progress=False)
    assert resumed.state.steps == straight.state.steps == 2 * n
    _compare_checkpoints(_final_checkpoint(tmp_path / "straight"), _final_checkpoint(tmp_path / "resumed"))
    obs = np.random.default_rng(0).normal(size=(8, 39))
    np.testing.assert_array_equal(straight.skill.predict(obs), resumed.skill.predict(obs))


def test_resume_without_the_rng_file_still_works_but_is_not_exact(tmp_path):
    n = 80
    train(_cfg("sac", n, tmp_path / "r"), progress=False)
    (_final_checkpoint(tmp_path / "r") / "rng_state.json").unlink()
    with pytest.warns(UserWarning, match="fresh random streams"):
        res = train(_cfg("sac", 2 * n, tmp_path / "r"), resume=True, progress=False)
    assert res.state.steps == 2 * n


def test_a_mid_episode_checkpoint_is_marked_inexact_and_still_resumes(tmp_path):
    # 100 steps with 40-step episodes: the final checkpoint falls 20 steps into the third episode
    train(_cfg("sac", 100, tmp_path / "r"), progress=False)
    ck = _final_checkpoint(tmp_path / "r")
    assert json.loads((ck / "sb3_counters.json").read_text())["exact_resume"] is False
    assert json.loads((ck / "rng_state.json").read_text())["env_pre_reset"] is None
    res = train(_cfg("sac", 140, tmp_path / "r"), resume=True, progress=False)
    assert res.state.steps == 140
