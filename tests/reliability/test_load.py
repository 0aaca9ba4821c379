"""Load and scale-out (issue 6, item 9): benchmark episodes spread over worker processes are never lost or
duplicated — also when a worker is SIGKILLed — and resident memory stays flat as the episode count grows."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from skillstack.launch.workers import WorkerFailure, WorkUnit, run_units
from tests.worker_tools import always_die, raise_value_error, square_or_die


def test_killed_workers_are_retried_and_every_result_arrives_once(tmp_path):
    markers = [tmp_path / f"die-{i}" for i in (3, 11, 17)]  # three units kill their worker on first attempt
    units = [WorkUnit(("u", i), square_or_die,
                      {"x": i, "die_marker": str(tmp_path / f"die-{i}") if i in (3, 11, 17) else None})
             for i in range(24)]
    seen = []
    res = run_units(units, workers=2, max_retries=3, on_result=lambda k, v: seen.append(k))
    assert all(m.exists() for m in markers), "the kills must really have happened"
    assert sorted(res) == sorted(u.key for u in units)
    assert len(seen) == len(set(seen)) == 24  # no duplicates delivered
    assert all(res[("u", i)]["value"] == i * i for i in range(24))


def test_a_unit_that_always_kills_its_worker_fails_cleanly():
    units = [WorkUnit(i, always_die if i == 2 else square_or_die, {"x": i}) for i in range(4)]
    with pytest.raises(WorkerFailure, match="failed after 1 retries"):
        run_units(units, workers=2, max_retries=1)


def test_a_bug_in_a_unit_is_raised_not_retried():
    with pytest.raises(ValueError, match="bug in unit [01]"):
        run_units([WorkUnit(i, raise_value_error, {"x": i}) for i in range(2)], workers=2)


def test_duplicate_keys_and_unknown_backend_are_refused():
    from skillstack.envs import UnknownNameError

    with pytest.raises(ValueError, match="unique"):
        run_units([WorkUnit(1, square_or_die, {"x": 1}), WorkUnit(1, square_or_die, {"x": 2})])
    with pytest.raises(UnknownNameError, match="did you mean 'local'"):
        run_units([WorkUnit(1, square_or_die, {"x": 1})], backend="locl")


def _bench(tmp_path, episodes: int) -> dict:
    out = tmp_path / f"b{episodes}"
    r = subprocess.run([sys.executable, "-c", "from skillstack.launch.cli import main; main()", "bench", "skills",
                        "--skills", "pick_red_block", "--episodes", str(episodes), "--seeds", "1", "--chunk", "20",
                        "--workers", "2", "--out", str(out)], capture_output=True, text=True, timeout=1800,
                       env={**os.environ, "TQDM_DISABLE": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / "skills.json").read_text())


def _check_flat(small: dict, large: dict, n_small: int, n_large: int) -> None:
    for d, n in ((small, n_small), (large, n_large)):
        assert d["summary"]["pick_red_block"]["episodes"] == n  # the bench also checks the exact seed set
    a, b = small["peak_rss_mb"], large["peak_rss_mb"]
    print(f"\npeak RSS [MiB] at {n_small} vs {n_large} episodes: main {a['main']} vs {b['main']}, "
          f"workers {a['worker_max']} vs {b['worker_max']}")
    assert b["worker_max"] <= a["worker_max"] * 1.10 + 20, (a, b)
    assert b["main"] <= a["main"] * 1.10 + 20, (a, b)


def test_memory_stays_flat_small(tmp_path):
    _check_flat(_bench(tmp_path, 40), _bench(tmp_path, 200), 40, 200)


@pytest.mark.slow
def test_memory_stays_flat_100_vs_1000_episodes(tmp_path):
    _check_flat(_bench(tmp_path, 100), _bench(tmp_path, 1000), 100, 1000)


# ----------------------------------------------------------------------------------------------- Ray backend
@pytest.fixture(scope="module")
def local_ray():
    """One small local Ray instance for the module (``run_units`` reuses an initialised Ray and leaves it up)."""
    ray = pytest.importorskip("ray")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([root, *sys.path])}})
    yield ray
    ray.shutdown()


def test_ray_killed_workers_are_retried_and_every_result_arrives_once(local_ray, tmp_path):
    kills = (2, 7)
    units = [WorkUnit(("u", i), square_or_die,
                      {"x": i, "die_marker": str(tmp_path / f"die-{i}") if i in kills else None}) for i in range(10)]
    seen = []
    res = run_units(units, backend="ray", max_retries=2, on_result=lambda k, v: seen.append(k))
    assert all((tmp_path / f"die-{i}").exists() for i in kills), "the kills must really have happened"
    assert sorted(res) == sorted(u.key for u in units)
    assert len(seen) == len(set(seen)) == 10
    assert all(res[("u", i)]["value"] == i * i for i in range(10))
    assert local_ray.is_initialized(), "a Ray instance the caller started is left running"


def test_ray_unit_that_always_kills_fails_cleanly_and_bugs_are_raised(local_ray):
    with pytest.raises(WorkerFailure, match="failed after 1 retries"):
        run_units([WorkUnit(i, always_die if i == 1 else square_or_die, {"x": i}) for i in range(3)],
                  backend="ray", max_retries=1)
    with pytest.raises(ValueError, match="bug in unit 0"):
        run_units([WorkUnit(0, raise_value_error, {"x": 0})], backend="ray")


def test_bench_skills_on_ray_gives_the_same_numbers_as_local(local_ray, tmp_path):
    from rich.console import Console

    from skillstack.launch.bench import run_skills_bench
    from skillstack.skills.library import SkillLibrary, default_library_path

    lib = SkillLibrary(default_library_path())
    kw = {"skills": ["pick_red_block"], "episodes": 2, "seeds": [0, 1], "library": lib,
          "console": Console(quiet=True), "chunk": 1}
    on_ray = run_skills_bench(out=tmp_path / "ray", backend="ray", **kw)
    inline = run_skills_bench(out=tmp_path / "inline", backend="inline", **kw)
    assert on_ray["n_units"] == 4
    assert on_ray["summary"] == inline["summary"]


def test_address_needs_the_ray_backend():
    with pytest.raises(ValueError, match="--backend ray"):
        run_units([WorkUnit(1, square_or_die, {"x": 1})], backend="local", address="auto")


def test_workers_end_when_the_caller_is_killed(tmp_path):
    """A SIGKILLed ``bench`` must not leave its worker processes running their units to the end."""
    import signal
    import time

    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "from skillstack.launch.workers import WorkUnit, run_units\n"
            "from tests.worker_tools import sleep_and_report\n"
            "run_units([WorkUnit(i, sleep_and_report, {'seconds': 120, 'pid_file': f'{sys.argv[2]}/w{i}'})"
            " for i in range(2)], workers=2)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    caller = subprocess.Popen([sys.executable, "-c", code, root, str(tmp_path)])
    deadline = time.time() + 60
    while len(list(tmp_path.glob("w*"))) < 2 and time.time() < deadline:
        time.sleep(0.2)
    pids = [int(p.read_text()) for p in tmp_path.glob("w*")]
    assert len(pids) == 2, "workers did not start"
    caller.send_signal(signal.SIGKILL)
    caller.wait()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with open(f"/proc/{pid}/stat") as f:  # a zombie is dead
            return f.read().split(") ")[-1][0] != "Z"

    deadline = time.time() + 10
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids), "workers outlived their killed caller"
