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
