"""``skillstack bench sample-efficiency``: success against env steps and wall-clock, per env, algorithm and seed.

Every (env, algorithm, seed) run trains under a wall-clock budget with periodic evaluations (``metrics.jsonl`` in
its run directory), stops at the first evaluation ≥ ``threshold`` once RL has started (or at the budget; ``--no-stop``:
always at the budget, so the regression metric covers the whole run), and its
final policy is evaluated on 100 fixed-seed episodes. Runs live under ``out/runs/`` and resume where they stopped
(``--resume`` semantics), so a long benchmark can be spread over sessions by running the same command again. A
finished run also writes its result row to ``bench_unit.json`` in its run directory (small, committed; the
checkpoints are not), and a later invocation with the same settings reuses it, on this machine or another.

An algorithm is given as ``NAME[:field=value...]``, the fields being
:class:`~skillstack.skills.train.TrainConfig` fields, e.g. ``ibrl:n_demos=100:bc_dagger_rounds=4`` or
``sac:max_minutes=120`` (a per-algorithm wall-clock budget, overriding ``--minutes``); the whole string labels the
algorithm in every table, curve and run directory.

Reported per run: env steps and wall-clock to ``threshold``, and the regression metric of issue 19 — the
**minimum periodic success after the first RL update** next to the **BC start** (the last periodic evaluation
before RL updates reach the policy, for algorithms that start from demonstrations). Per (env, algorithm): the
mean over seeds with a 95 % t-interval, and the speed-up in wall-clock to ``threshold`` against ``sac``. Curves
(PNG): success vs env steps and vs wall-clock, mean over seeds with the t-interval as a band.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from skillstack.envs.fileio import atomic_write_json
from skillstack.launch.bench.common import write_result

_BENCH_FIELDS = frozenset({"env_id", "algo", "steps", "seed", "run_dir", "eval_every", "eval_episodes",
                           "stop_at_success", "library", "torch_threads"})
"""TrainConfig fields the benchmark sets itself (not settable per algorithm)."""


def parse_algo_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"ibrl:n_demos=100:bc_dagger_rounds=4"`` → ``("ibrl", {"n_demos": 100, "bc_dagger_rounds": 4})``.

    Values are read as JSON where they parse (``100``, ``0.5``, ``true``, ``[64, 64]``), else as strings; list
    values of tuple fields become tuples.

    Raises:
        UnknownNameError: an unknown algorithm or TrainConfig field (the message lists the valid ones).
        ValueError: a malformed ``field=value`` item, or a field the benchmark sets itself.
    """
    from dataclasses import fields

    from skillstack.envs import UnknownNameError, unknown_name_message
    from skillstack.envs.registry import parse_options
    from skillstack.skills.train import ALGORITHMS, TrainConfig

    name, raw = parse_options(spec)
    ALGORITHMS.get(name)
    valid = {f.name for f in fields(TrainConfig)} - _BENCH_FIELDS
    options: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _BENCH_FIELDS:
            raise ValueError(f"{key!r} is set by the benchmark itself (its own option), not per algorithm")
        if key not in valid:
            raise UnknownNameError(unknown_name_message("TrainConfig field", key, sorted(valid)))
        options[key] = tuple(value) if isinstance(value, list) else value
    return name, options


def _run_dir_name(label: str, seed: int) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label.replace(":", "+").replace("=", "-"))
    return f"{safe}-s{seed}"


def _history(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def regression_metric(history: list[dict[str, Any]], warmup_steps: int) -> dict[str, float | None]:
    """``{"bc_start", "min_after_rl"}``: the last periodic success at or before ``warmup_steps`` (the policy before
    any RL update: its demonstration-cloned start; ``None`` when no evaluation fell there) and the minimum periodic
    success after it (``None`` before RL started)."""
    before = [h["success_rate"] for h in history if h["steps"] <= warmup_steps]
    after = [h["success_rate"] for h in history if h["steps"] > warmup_steps]
    return {"bc_start": before[-1] if before and warmup_steps > 0 else None,
            "min_after_rl": min(after) if after else None}


def learner_metric(history: list[dict[str, Any]], warmup_steps: int) -> dict[str, float | None]:
    """``{"learner_min_after_rl"}``: with the improvement gate (``gate_episodes`` > 0) the periodic evaluations
    measure the deployed policy; this is the minimum, after RL started, of the *learner's* success on the gate's
    validation episodes — how far the RL policy itself fell (``None`` without the gate)."""
    after = [h["learner_validation_success"] for h in history
             if h["steps"] > warmup_steps and "learner_validation_success" in h]
    return {"learner_min_after_rl": min(after) if after else None}


def t_interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95 % Student-t interval over seeds (the interval is the mean itself for one seed)."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    m = float(x.mean())
    if len(x) < 2:
        return m, m, m
    h = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - h, m + h


def run_sample_efficiency(envs: list[str], algos: list[str], minutes: float, steps: int, seeds: list[int],
                          threshold: float, eval_every: int, eval_episodes: int, out: Path,
                          console: Console, threads: int | None = 1, stop_at_threshold: bool = True) -> dict:
    """Train every (env, algo, seed) under a wall-clock budget; write JSON, Markdown and curves (module docstring).

    Args:
        stop_at_threshold: stop a run at its first evaluation ≥ ``threshold`` after RL started; ``False``: use the
            whole budget (the regression metric then covers the whole run; the time to threshold is still
            recorded).

    Raises:
        UnknownNameError: an unknown env or algorithm.
    """
    from skillstack.envs import ENVS
    from skillstack.skills.train import ALGORITHMS, TrainConfig, train

    for e in envs:
        ENVS.get(e)
    specs = {label: parse_algo_spec(label) for label in algos}
    results = []
    for env_id in envs:
        for label, (algo, options) in specs.items():
            for seed in seeds:
                run_dir = out / "runs" / env_id.replace("/", "_") / _run_dir_name(label, seed)
                cfg = TrainConfig(**{"max_minutes": minutes, **options}, env_id=env_id, algo=algo, steps=steps,
                                  seed=seed, run_dir=str(run_dir), eval_every=eval_every,
                                  eval_episodes=eval_episodes,
                                  stop_at_success=threshold if stop_at_threshold else None, library=None,
                                  torch_threads=threads)
                unit = {"env_id": env_id, "algo": label, "seed": seed, "budget_min": cfg.max_minutes,
                        "steps": steps, "threshold": threshold, "stop": stop_at_threshold, "eval_every": eval_every,
                        "eval_episodes": eval_episodes}
                row = _cached_unit(run_dir, unit, cfg)
                if row is None:
                    stale = run_dir / "bench_unit.json"
                    if stale.exists() and not (run_dir / "config.json").exists():
                        stale.unlink()  # a committed result of other settings, without its run (fresh checkout)
                    res = train(cfg, resume=(run_dir / "config.json").exists())
                    reach = res.state.first_reach.get(f"{threshold:.2f}")
                    history = _history(run_dir)
                    warmup = ALGORITHMS.get(algo).warmup_steps(cfg.resolved())
                    row = {
                        "env_id": env_id, "algo": label, "seed": seed, "budget_min": cfg.max_minutes,
                        "reached": reach is not None,
                        "steps_to_threshold": reach["steps"] if reach else None,
                        "wall_s_to_threshold": reach["wall_s"] if reach else None,
                        "best_periodic_success": res.state.best_success,
                        **regression_metric(history, warmup), "rl_starts_after_steps": warmup,
                        **learner_metric(history, warmup), "gate_env_steps": res.state.gate_env_steps,
                        "steps_run": res.state.steps, "wall_s_run": round(res.state.wall_s, 1),
                        "final_success_rate_100ep": res.final_eval.success_rate,
                        "stop_reason": res.state.stop_reason, "history": history,
                        "config": asdict(cfg.resolved())}
                    atomic_write_json(run_dir / "bench_unit.json", {"unit": unit, "result": row}, indent=None)
                results.append(row)
                atomic_write_json(out / "sample_efficiency.partial.json", results)
    summary = summarize(results, envs, algos, threshold)
    md = markdown(results, summary, threshold, seeds, minutes)
    console.print(_table(results, threshold))
    write_result(out, "sample_efficiency", {"threshold": threshold, "seeds": seeds, "summary": summary,
                                            "results": results}, md)
    plot_curves(results, envs, algos, threshold, out / "sample_efficiency.png")
    console.print(md)
    return {"results": results, "summary": summary}


_VOLATILE_FIELDS = frozenset({"run_dir", "torch_threads", "library"})
"""Resolved TrainConfig fields that do not change what a run trains (where it lives, how many threads)."""


def _cached_unit(run_dir: Path, unit: dict[str, Any], cfg: Any = None) -> dict[str, Any] | None:
    """The result row of a finished run with exactly these settings, else ``None`` (then the run trains or resumes;
    a finished run under a longer budget continues from its checkpoint where one exists).

    "These settings": the benchmark's unit (env, algorithm label, seed, budget, threshold, evaluation cadence) and,
    when ``cfg`` is given, every field of its resolved :class:`~skillstack.skills.train.TrainConfig` (so a changed
    default — e.g. ``n_critics`` — is not served from an older run). A field the row predates counts as its
    dataclass default (a new field's default keeps the old behaviour, e.g. ``reward="env"``), so a run that now
    resolves it to anything else is not served. The code version is not compared.
    """
    path = run_dir / "bench_unit.json"
    if not path.exists():
        return None
    cached = json.loads(path.read_text())
    if cached.get("unit") != unit:
        return None
    row = cached["result"]
    saved = row.get("config")
    if cfg is not None and isinstance(saved, dict):
        now = json.loads(json.dumps(asdict(cfg.resolved())))  # tuples → lists, as in the saved JSON
        defaults = json.loads(json.dumps({f.name: f.default for f in fields(cfg) if f.default is not MISSING}))
        for k, v in now.items():
            if k not in _VOLATILE_FIELDS and saved.get(k, defaults.get(k, v)) != v:
                return None
    return row


def summarize(results: list[dict[str, Any]], envs: list[str], algos: list[str], threshold: float) -> dict:
    """Per env and algorithm: runs, how many reached ``threshold``, mean [95 % t-interval] of wall-clock and env
    steps to it (over the runs that reached it), of the final 100-episode success, the regression metric, and the
    wall-clock speed-up over plain ``sac`` (the first algorithm label naming ``sac``, with or without options; a
    lower bound ``>`` when it did not reach the threshold in a run)."""
    out: dict[str, Any] = {}
    for env_id in envs:
        out[env_id] = {}
        for algo in algos:
            rs = [r for r in results if r["env_id"] == env_id and r["algo"] == algo]
            if not rs:
                continue
            reached = [r for r in rs if r["reached"]]
            s: dict[str, Any] = {"runs": len(rs), "reached": len(reached)}
            for key in ("wall_s_to_threshold", "steps_to_threshold"):
                s[key] = t_interval([r[key] for r in reached]) if reached else None
            s["final_success_rate_100ep"] = t_interval([r["final_success_rate_100ep"] for r in rs])
            drops = [r["bc_start"] - r["min_after_rl"] for r in rs
                     if r["bc_start"] is not None and r["min_after_rl"] is not None]
            s["max_regression_points"] = round(100 * max(drops), 1) if drops else None
            s["regression_target_met"] = (all(d <= 0.05 + 1e-9 for d in drops) if drops else None)
            out[env_id][algo] = s
        sac = next((a for a in out[env_id] if a.split(":")[0] == "sac"), None)
        base = out[env_id].get(sac) if sac else None
        for algo, s in out[env_id].items():
            if algo == sac or base is None or not s["reached"]:
                continue
            mine = s["wall_s_to_threshold"][0]
            if base["reached"] == base["runs"]:
                s["speedup_vs_sac"] = round(base["wall_s_to_threshold"][0] / mine, 2)
            else:  # sac missed the threshold in some run: its time is at least the budget it ran
                sac_runs = [r for r in results if r["env_id"] == env_id and r["algo"] == sac]
                lower = np.mean([r["wall_s_to_threshold"] if r["reached"] else r["wall_s_run"] for r in sac_runs])
                s["speedup_vs_sac"] = f">{lower / mine:.2f}"
    return out


def _fmt(ci: tuple[float, float, float] | None, scale: float = 1.0, digits: int = 0) -> str:
    if ci is None:
        return "–"
    m, lo, hi = (v * scale for v in ci)
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def markdown(results: list[dict[str, Any]], summary: dict, threshold: float, seeds: list[int],
             minutes: float) -> str:
    budgets = sorted({r.get("budget_min", minutes) for r in results} or {minutes})
    budget = " / ".join(f"{b:g}" for b in budgets)
    md = (f"# Sample efficiency: time to {threshold:.0%} success (seeds {seeds}, budget {budget} min per run)\n\n"
          "Mean [95 % t-interval] over seeds. Regression: the largest drop, over runs, from the BC start (last "
          "periodic evaluation before RL updates) to the minimum periodic success after RL started (target ≤ 5 "
          "points). With the improvement gate (`gate_episodes`) the periodic evaluations measure the deployed "
          "policy; the learner's own minimum on the gate's validation episodes is in the per-run table, and the "
          "gate's validation env steps are not in the env-step counts (its time is in the wall-clock).\n\n"
          "| env | algo | reached | wall-clock to threshold [s] | env steps to threshold | final success (100 ep) "
          "| max regression [pts] | speed-up vs sac |\n|---|---|---|---|---|---|---|---|\n")
    for env_id, per in summary.items():
        for algo, s in per.items():
            md += (f"| {env_id} | {algo} | {s['reached']}/{s['runs']} | {_fmt(s['wall_s_to_threshold'])} | "
                   f"{_fmt(s['steps_to_threshold'])} | {_fmt(s['final_success_rate_100ep'], 100)} % | "
                   f"{'–' if s['max_regression_points'] is None else s['max_regression_points']} | "
                   f"{s.get('speedup_vs_sac', '–')} |\n")
    md += "\nPer run:\n\n" + _runs_md(results, threshold)
    return md


def _run_cells(r: dict[str, Any]) -> list[str]:
    return [r["env_id"], r["algo"], str(r["seed"]), "yes" if r["reached"] else "no",
            str(r["steps_to_threshold"] if r["reached"] else f">{r['steps_run']}"),
            str(r["wall_s_to_threshold"] if r["reached"] else f">{r['wall_s_run']}"),
            "–" if r["bc_start"] is None else f"{r['bc_start']:.2f}",
            "–" if r["min_after_rl"] is None else f"{r['min_after_rl']:.2f}",
            f"{r['best_periodic_success']:.2f}", f"{r['final_success_rate_100ep']:.2f}",
            "–" if r.get("learner_min_after_rl") is None else f"{r['learner_min_after_rl']:.2f}",
            str(r["gate_env_steps"]) if r.get("gate_env_steps") else "–"]


_RUN_COLS = ("env", "algo", "seed", "reached", "env steps", "wall [s]", "BC start", "min after RL",
             "best periodic", "final (100 ep)", "learner min (gate validation)", "gate env steps")


def _runs_md(results: list[dict[str, Any]], threshold: float) -> str:  # noqa: ARG001
    md = "| " + " | ".join(_RUN_COLS) + " |\n|" + "---|" * len(_RUN_COLS) + "\n"
    return md + "".join("| " + " | ".join(_run_cells(r)) + " |\n" for r in results)


def _table(results: list[dict[str, Any]], threshold: float) -> Table:
    t = Table(title=f"time to {threshold:.0%} success")
    for col in _RUN_COLS:
        t.add_column(col)
    for r in results:
        t.add_row(*_run_cells(r))
    return t


def plot_curves(results: list[dict[str, Any]], envs: list[str], algos: list[str], threshold: float,
                path: Path) -> None:
    """Success vs env steps and vs wall-clock per env (rows), mean over seeds with the 95 % t-interval band; a
    run's success between evaluations is its last evaluation (a step function)."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(envs), 2, figsize=(12, 3.2 * len(envs) + 0.6), squeeze=False)
    colours = {algo: f"C{k % 10}" for k, algo in enumerate(algos)}  # one colour per algorithm in every panel
    handles: dict[str, Any] = {}
    for i, env_id in enumerate(envs):
        for j, key in enumerate(("steps", "wall_s")):
            ax = axes[i][j]
            for algo in algos:
                runs = [r["history"] for r in results if r["env_id"] == env_id and r["algo"] == algo and r["history"]]
                if not runs:
                    continue
                end = max(h[-1][key] for h in runs)
                grid = np.linspace(0, end, 200)
                ys = np.array([[next((e["success_rate"] for e in reversed(h) if e[key] <= g), 0.0) for g in grid]
                               for h in runs])
                stats = [t_interval(list(col)) for col in ys.T]
                mean = np.array([s[0] for s in stats])
                (line,) = ax.plot(grid, mean, color=colours[algo])
                handles.setdefault(f"{algo} ({len(runs)} seeds)", line)
                ax.fill_between(grid, np.clip([s[1] for s in stats], 0, 1), np.clip([s[2] for s in stats], 0, 1),
                                color=colours[algo], alpha=0.2)
            ax.axhline(threshold, color="grey", lw=0.8, ls="--")
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("env steps" if key == "steps" else "wall-clock [s]")
            ax.set_ylabel("periodic success rate")
            ax.set_title(env_id)
    # one legend for the figure: the algorithm labels carry their options and are too long for a panel
    fig.legend(list(handles.values()), [textwrap.fill(k, 110) for k in handles], loc="upper center",
               fontsize=7, ncol=1, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.25 + 0.15 * len(handles)) / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)
