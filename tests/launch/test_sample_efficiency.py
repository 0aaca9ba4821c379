"""``bench sample-efficiency``'s reporting (issue 19): the regression metric, intervals, speed-ups, curves."""

from __future__ import annotations

import pytest

from skillstack.launch.bench.sample_efficiency import (
    learner_metric,
    markdown,
    plot_curves,
    regression_metric,
    summarize,
    t_interval,
)


def _h(*pairs):  # noqa: ANN001, ANN202
    return [{"steps": s, "wall_s": s / 100, "success_rate": r} for s, r in pairs]


def test_regression_metric_is_measured_from_the_last_pre_rl_evaluation():
    h = _h((2000, 0.4), (5000, 0.95), (10000, 0.6), (15000, 0.9))
    assert regression_metric(h, 5256) == {"bc_start": 0.95, "min_after_rl": 0.6}
    assert regression_metric(h, 0) == {"bc_start": None, "min_after_rl": 0.4}  # no BC start (plain SAC)
    assert regression_metric(_h((5000, 0.9)), 5256) == {"bc_start": 0.9, "min_after_rl": None}


def test_learner_metric_reads_the_gate_validation_success_after_rl_started():
    h = _h((5000, 1.0), (7500, 1.0), (10000, 1.0))
    for row, learner in zip(h, (0.98, 0.62, 0.9), strict=True):
        row["learner_validation_success"] = learner
    assert learner_metric(h, 5256) == {"learner_min_after_rl": 0.62}
    assert learner_metric(_h((5000, 1.0), (7500, 0.7)), 5256) == {"learner_min_after_rl": None}  # no gate


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


def test_algorithm_specs_set_train_config_fields_and_refuse_unknown_ones():
    from skillstack.envs import UnknownNameError
    from skillstack.launch.bench.sample_efficiency import parse_algo_spec

    assert parse_algo_spec("sac") == ("sac", {})
    assert parse_algo_spec("ibrl:n_demos=100:bc_dagger_rounds=4:hidden_sizes=[64,64]") == (
        "ibrl", {"n_demos": 100, "bc_dagger_rounds": 4, "hidden_sizes": (64, 64)})
    assert parse_algo_spec("sac:max_minutes=120.5:device=cpu") == ("sac", {"max_minutes": 120.5, "device": "cpu"})
    with pytest.raises(UnknownNameError, match="n_demos"):  # the message lists the valid fields
        parse_algo_spec("ibrl:n_demo=100")
    with pytest.raises(UnknownNameError):
        parse_algo_spec("sacc")
    with pytest.raises(ValueError, match="set by the benchmark"):
        parse_algo_spec("sac:seed=3")
    with pytest.raises(ValueError, match="key=value"):
        parse_algo_spec("sac:max_minutes")


def test_a_finished_unit_is_reused_and_other_settings_train_again(tmp_path, monkeypatch):
    """A run's ``bench_unit.json`` (committed, unlike its checkpoints) is its result under exactly those settings:
    the same invocation reuses it without training; another budget does not."""
    import json

    from rich.console import Console

    import skillstack.skills.train as train_mod
    from skillstack.launch.bench.sample_efficiency import _run_dir_name, run_sample_efficiency

    env = "metaworld/drawer-open-v3"
    label = "sac:max_minutes=120"
    run_dir = tmp_path / "runs" / "metaworld_drawer-open-v3" / _run_dir_name(label, 0)
    run_dir.mkdir(parents=True)
    row = {**_run("sac", 0, True, 500.0, None, 0.1), "algo": label, "budget_min": 120}
    unit = {"env_id": env, "algo": label, "seed": 0, "budget_min": 120, "steps": 1000, "threshold": 0.9,
            "stop": True, "eval_every": 500, "eval_episodes": 5}
    (run_dir / "bench_unit.json").write_text(json.dumps({"unit": unit, "result": row}))
    calls = []
    monkeypatch.setattr(train_mod, "train", lambda cfg, **kw: calls.append(cfg) or (_ for _ in ()).throw(
        RuntimeError("trained")))
    out = run_sample_efficiency([env], [label], 15.0, 1000, [0], 0.9, 500, 5, tmp_path, Console(quiet=True))
    assert calls == [] and out["results"] == [row]
    assert "120 min per run" in (tmp_path / "sample_efficiency.md").read_text()
    with pytest.raises(RuntimeError, match="trained"):  # another per-algorithm budget: not the cached unit
        run_sample_efficiency([env], ["sac:max_minutes=60"], 15.0, 1000, [0], 0.9, 500, 5, tmp_path,
                              Console(quiet=True))
    assert calls[0].max_minutes == 60 and calls[0].algo == "sac"


def test_a_cached_unit_of_other_settings_is_not_served_and_a_fresh_checkout_retrains(tmp_path, monkeypatch):
    """Same label and run directory, other settings: a different step cap (the unit), or a resolved TrainConfig
    field the cached row recorded differently (a changed default). On a fresh checkout (the committed
    ``bench_unit.json`` without its run) the stale row is removed so the run can start."""
    import json

    from rich.console import Console

    from skillstack.launch.bench.sample_efficiency import run_sample_efficiency

    env, label = "metaworld/drawer-open-v3", "sac-demos"
    run_dir, unit, config = _cached_unit_files(tmp_path, env, label)
    row = {**_run(label, 0, True, 100.0, 1.0, 1.0), "config": config}
    calls = _refuse_training(monkeypatch)

    def bench(steps: int = 1000) -> dict:
        return run_sample_efficiency([env], [label], 15.0, steps, [0], 0.9, 500, 5, tmp_path, Console(quiet=True))

    (run_dir / "bench_unit.json").write_text(json.dumps({"unit": unit, "result": row}))
    assert bench()["results"] == [row] and calls == []  # exactly these settings: reused
    with pytest.raises(RuntimeError, match="trained"):  # another step cap, same directory
        bench(steps=2000)
    assert not (run_dir / "bench_unit.json").exists()  # no config.json: the stale row made way for the run
    stale = {**row, "config": {**config, "n_critics": config["n_critics"] + 1}}  # recorded under another default
    (run_dir / "bench_unit.json").write_text(json.dumps({"unit": unit, "result": stale}))
    with pytest.raises(RuntimeError, match="trained"):
        bench()
    assert len(calls) == 2


def _cached_unit_files(tmp_path, env: str, label: str, **overrides):  # noqa: ANN001, ANN003, ANN202
    """The run directory, benchmark unit and resolved config (as saved JSON) of a 15-minute ``sac-demos`` unit
    with ``label`` at seed 0 (``overrides``: TrainConfig fields)."""
    import json
    from dataclasses import asdict

    from skillstack.launch.bench.sample_efficiency import _run_dir_name
    from skillstack.skills.train import TrainConfig

    run_dir = tmp_path / "runs" / env.replace("/", "_") / _run_dir_name(label, 0)
    run_dir.mkdir(parents=True)
    unit = {"env_id": env, "algo": label, "seed": 0, "budget_min": 15.0, "steps": 1000, "threshold": 0.9,
            "stop": True, "eval_every": 500, "eval_episodes": 5}
    cfg = TrainConfig(env_id=env, algo="sac-demos", steps=1000, seed=0, max_minutes=15.0, eval_every=500,
                      eval_episodes=5, stop_at_success=0.9, library=None, torch_threads=1, run_dir=str(run_dir),
                      **overrides)
    return run_dir, unit, json.loads(json.dumps(asdict(cfg.resolved())))


def _refuse_training(monkeypatch) -> list:  # noqa: ANN001
    """Make ``train`` record its config and raise ``RuntimeError("trained")``; returns the record."""
    import skillstack.skills.train as train_mod

    calls: list = []
    monkeypatch.setattr(train_mod, "train", lambda cfg, **kw: calls.append(cfg) or (_ for _ in ()).throw(
        RuntimeError("trained")))
    return calls


def test_a_cached_row_that_predates_a_field_counts_as_its_default(tmp_path, monkeypatch):
    """A row recorded before ``TrainConfig.reward`` existed trained on the env's reward: served for a run that
    resolves ``reward="env"``, not for one that resolves ``"success"``."""
    import json

    from rich.console import Console

    from skillstack.launch.bench.sample_efficiency import run_sample_efficiency

    env = "metaworld/drawer-open-v3"
    calls = _refuse_training(monkeypatch)
    for label, reward, served in (("sac-demos", "env", True), ("sac-demos:reward=success", "success", False)):
        run_dir, unit, config = _cached_unit_files(tmp_path, env, label, reward=reward)
        del config["reward"]  # recorded before the field existed
        row = {**_run(label, 0, True, 100.0, 1.0, 1.0), "config": config}
        (run_dir / "bench_unit.json").write_text(json.dumps({"unit": unit, "result": row}))
        (run_dir / "config.json").write_text("{}")  # its run is here: a miss resumes rather than deletes

        def bench(label: str = label) -> dict:
            return run_sample_efficiency([env], [label], 15.0, 1000, [0], 0.9, 500, 5, tmp_path,
                                         Console(quiet=True))

        if served:
            assert bench()["results"] == [row] and calls == []
        else:
            with pytest.raises(RuntimeError, match="trained"):
                bench()
            assert calls[-1].reward == "success"
