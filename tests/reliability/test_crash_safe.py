"""Crash-safe writes (issue 6, item 3): a process saving skills and training checkpoints in a loop is SIGKILLed
at random moments; after every kill the library lists only complete skills, ``latest`` loads, no temp
directory is ever picked up, and the run's newest checkpoint is complete. The next worker resumes the same
library and run directory (so stale temp files from earlier kills are in its way)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from skillstack.skills.library import SkillLibrary
from skillstack.skills.train import Run, TrainConfig

WORKER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import numpy as np, torch
    from gymnasium import spaces
    from safetensors.numpy import save_file
    from skillstack.skills.library import Skill, SkillLibrary
    from skillstack.skills.networks import MLPActor, MLPAffordance
    from skillstack.skills.train import Run, TrainConfig

    root = Path(sys.argv[1])
    lib = SkillLibrary(root / "lib")
    run = Run(TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=10**9, run_dir=str(root / "run")),
              resume=True, progress=False)
    ck = run.latest_checkpoint()
    step = json.loads((ck / "state.json").read_text())["steps"] if ck else 0
    obs, act = spaces.Box(-np.inf, np.inf, (39,), np.float64), spaces.Box(-1, 1, (4,), np.float32)
    print("ready", flush=True)
    while True:
        step += 1
        torch.manual_seed(step)
        lib.save(Skill("s", "a skill", "metaworld/reach-v3", MLPActor(39, 4, [256, 256]), obs, act,
                       MLPAffordance(39, [128]), metrics={"step": step}))
        run.state.steps = step
        run.save_checkpoint(lambda d: save_file({"w": np.full(200_000, step, np.float32)},
                                                str(d / "weights.safetensors")))
""")


def _check_after_kill(root: Path) -> dict[str, int]:
    lib = SkillLibrary(root / "lib")
    temps = len(list((root / "lib").glob("*/.tmp-*"))) + len(list((root / "run" / "checkpoints").glob(".tmp-*")))
    versions = lib.versions("s")
    if versions:
        assert lib.names() == ["s"]
        for v in versions:  # every listed version is complete and verifies
            lib.load("s", v)
        assert lib.load("s").version == versions[-1]
    # only v#### directories with a manifest are versions; temp dirs never are
    for p in (root / "lib" / "s").iterdir() if (root / "lib" / "s").exists() else []:
        assert p.name.startswith((".tmp-", "v")), p
    ck = Run(TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=1, run_dir=str(root / "run")),
             resume=True, progress=False).latest_checkpoint()
    if ck is not None:
        steps = json.loads((ck / "state.json").read_text())["steps"]
        w = load_file(str(ck / "weights.safetensors"))["w"]
        assert w.shape == (200_000,) and (w == steps).all()
        assert not ck.name.startswith(".")
    return {"versions": len(versions), "temps_left": temps, "ckpt_steps": 0 if ck is None else steps}


def _kill_loop(tmp_path: Path, n_kills: int, seed: int = 0) -> list[dict[str, int]]:
    rng = np.random.default_rng(seed)
    (tmp_path / "worker.py").write_text(WORKER)
    stats = []
    for _ in range(n_kills):
        proc = subprocess.Popen([sys.executable, str(tmp_path / "worker.py"), str(tmp_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read()
        time.sleep(float(rng.uniform(0.0, 0.4)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
        stats.append(_check_after_kill(tmp_path))
    return stats


def _report(stats: list[dict[str, int]]) -> None:
    mid = sum(s["temps_left"] > 0 for s in stats)
    print(f"\n{len(stats)} SIGKILLs: {mid} left a temp dir behind (killed mid-write); "
          f"{stats[-1]['versions']} skill versions and checkpoint step {stats[-1]['ckpt_steps']} at the end")


def test_sigkill_during_saves_leaves_only_complete_artifacts(tmp_path):
    stats = _kill_loop(tmp_path, n_kills=8)
    _report(stats)
    assert stats[-1]["versions"] > 0 and stats[-1]["ckpt_steps"] > 0
    # progress is monotone across kills: a resumed worker never loses a completed checkpoint
    steps = [s["ckpt_steps"] for s in stats]
    assert steps == sorted(steps)


@pytest.mark.slow
def test_sigkill_50_times(tmp_path):
    stats = _kill_loop(tmp_path, n_kills=50, seed=1)
    _report(stats)
    steps = [s["ckpt_steps"] for s in stats]
    assert steps == sorted(steps) and steps[-1] > 0
    assert sum(s["temps_left"] > 0 for s in stats) >= 5  # the kills really landed inside writes
