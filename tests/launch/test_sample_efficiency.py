"""``bench sample-efficiency``'s reporting (issue 19): the regression metric, intervals, speed-ups, curves."""

from __future__ import annotations

import pytest

from skillstack.launch.bench.sample_efficiency import markdown, plot_curves, regression_metric, summarize, t_interval


def _h(*pairs):  # noqa: ANN001, ANN202
    return [{"steps": s, "wall_s": s / 100, "success_rate": r} for s, r in pairs]


def test_regression_metric_is_measured_from_the_last_pre_rl_evaluation():
    h = _h((2000, 0.4), (5000, 0.95), (10000, 0.6), (15000, 0.9))
    assert regression_metric(h, 5256) == {"bc_start": 0.95, "min_after_rl": 0.6}
    assert regression_metric(h, 0) == {"bc_start": None, "min_after_rl": 0.4}  # no BC start (plain SAC)
    assert regression_metric(_h((5000, 0.9)), 5256) == {"bc_start": 0.9, "min_after_rl": None}


def test_t_interval():
    m, lo, hi = t_interval([0.8, 0.9, 1.0])
    assert m == pytest.approx(0.9) and lo < 0.9 < hi and hi - m == pytest.approx(m - lo)
    assert t_interval([0.5]) == (0.5, 0.5, 0.5)


def _run(algo, seed, reached, wall, bc, low):  # noqa: ANN001, ANN202
    return {"env_id": "metaworld/drawer-open-v3", "algo": algo, "seed": seed, "reached": reached,
            "wall_s_to_threshold": wall if reached else None, "steps_to_threshold": 1000 if reached else None,
            "wall_s_run": wall, "steps_run": 1000, "final_success_rate_100ep": 0.9, "bc_start": bc,
            "min_after_rl": low, "best_periodic_success": 0.9, "history": _h((1000, 0.5), (2000, 0.9))}


def test_summary_speedup_and_regression_target():
    results = [_run("sac", s, True, 1000.0, None, 0.1) for s in range(3)]
    results += [_run("ibrl", s, True, 100.0, 0.9, 0.88) for s in range(3)]
    results += [_run("sac-demos", s, True, 200.0, 0.9, 0.5 if s == 1 else 0.9) for s in range(3)]
    s = summarize(results, ["metaworld/drawer-open-v3"], ["sac", "ibrl", "sac-demos"], 0.9)["metaworld/drawer-open-v3"]
    assert s["ibrl"]["speedup_vs_sac"] == 10.0 and s["ibrl"]["regression_target_met"] is True
    assert s["sac-demos"]["max_regression_points"] == 40.0 and s["sac-demos"]["regression_target_met"] is False
    assert s["sac"]["max_regression_points"] is None
    # sac misses the threshold in one run: the speed-up is a lower bound
    results[0] = _run("sac", 0, False, 1500.0, None, 0.1)
    s = summarize(results, ["metaworld/drawer-open-v3"], ["sac", "ibrl"], 0.9)["metaworld/drawer-open-v3"]
    assert str(s["ibrl"]["speedup_vs_sac"]).startswith(">")
    assert "| metaworld/drawer-open-v3 | ibrl | 3/3 |" in markdown(results, {"metaworld/drawer-open-v3": s}, 0.9,
                                                                   [0, 1, 2], 15)


def test_curves_are_written(tmp_path):
    results = [_run(a, s, True, 100.0, 0.9, 0.9) for a in ("sac", "ibrl") for s in range(2)]
    plot_curves(results, ["metaworld/drawer-open-v3"], ["sac", "ibrl"], 0.9, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 10_000
