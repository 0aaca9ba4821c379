"""Benchmark runners behind ``skillstack bench`` (results: JSON + Markdown, with config and versions)."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table


def _write(out: Path, name: str, payload: dict[str, Any], md: str) -> None:
    from skillstack.skills.train import _git_sha, versions

    out.mkdir(parents=True, exist_ok=True)
    payload = {**payload, "versions": versions(), "git_sha": _git_sha(),
               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (out / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out / f"{name}.md").write_text(md)


def _rate(fn: Any, steps: int) -> float:
    t = time.perf_counter()
    fn(steps)
    return steps / (time.perf_counter() - t)


def run_throughput(env_id: str, steps: int, max_envs: int, out: Path, console: Console, repeats: int = 3) -> dict:
    """Measure env steps/s of raw ``mj_step``, bare Meta-World, the skillstack env and vectorised envs.

    The bare and skillstack envs step the same pre-drawn uniform random actions and reset at 500 steps;
    measurements are interleaved ``repeats`` times and the median is reported.
    """
    import mujoco
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from skillstack.envs import make_env

    task = env_id.split("/", 1)[1]
    actions = np.random.default_rng(0).uniform(-1, 1, size=(steps, 4)).astype(np.float32)
    bare = ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{task}-goal-observable"](seed=0)
    ours = make_env(env_id)
    model, data = ours.unwrapped.model, ours.unwrapped.data

    def raw(n: int) -> None:
        for _ in range(n):
            mujoco.mj_step(model, data)

    def bare_steps(n: int) -> None:
        bare.reset()
        for i in range(n):
            bare.step(actions[i])
            if bare.curr_path_length >= 500:
                bare.reset()

    def ours_steps(n: int) -> None:
        ours.reset(seed=0)
        for i in range(n):
            _, _, term, trunc, _ = ours.step(actions[i])
            if term or trunc:
                ours.reset()

    rows: dict[str, list[float]] = {"raw mj_step": [], "bare Meta-World env": [], "skillstack env": []}
    for _ in range(repeats):
        rows["raw mj_step"].append(_rate(raw, steps * 5))  # one env step = frame_skip 5 mj_steps
        rows["bare Meta-World env"].append(_rate(bare_steps, steps))
        rows["skillstack env"].append(_rate(ours_steps, steps))
    vec: dict[str, float] = {}
    for n in range(1, max_envs + 1):
        venv = make_vec_env(lambda: make_env(env_id), n_envs=n, seed=0,
                            vec_env_cls=SubprocVecEnv if n > 1 else DummyVecEnv)
        venv.reset()
        per = max(1, steps // n)
        batch = np.random.default_rng(1).uniform(-1, 1, size=(per, n, 4)).astype(np.float32)
        t = time.perf_counter()
        for i in range(per):
            venv.step(batch[i])
        vec[f"SB3 VecEnv n_envs={n}"] = per * n / (time.perf_counter() - t)
        venv.close()
    med = {k: statistics.median(v) for k, v in rows.items()}
    overhead = 1 - med["skillstack env"] / med["bare Meta-World env"]
    results = {**{k: round(v, 1) for k, v in med.items()}, **{k: round(v, 1) for k, v in vec.items()}}
    t = Table(title=f"throughput: {env_id} ({steps} steps, median of {repeats})")
    t.add_column("what")
    t.add_column("steps/s", justify="right")
    t.add_column("× bare Meta-World", justify="right")
    md = f"# Throughput — {env_id}\n\n| what | steps/s | × bare Meta-World |\n|---|---:|---:|\n"
    for k, v in results.items():
        ratio = v / med["bare Meta-World env"]
        unit = "mj_step/s" if k == "raw mj_step" else ""
        t.add_row(k + (f" ({unit})" if unit else ""), f"{v:,.0f}", f"{ratio:.2f}")
        md += f"| {k}{' (' + unit + ')' if unit else ''} | {v:,.0f} | {ratio:.2f} |\n"
    md += f"\nskillstack env overhead vs bare Meta-World: {100 * overhead:.1f} %\n"
    console.print(t)
    console.print(f"skillstack env overhead vs bare Meta-World: {100 * overhead:.1f} %")
    payload = {"env_id": env_id, "steps": steps, "repeats": repeats, "steps_per_s": results,
               "all_repeats": rows, "overhead_fraction": overhead}
    _write(out, "throughput", payload, md)
    console.print(f"results → {out}/throughput.json, .md")
    return payload


def run_sample_efficiency(envs: list[str], algos: list[str], minutes: float, steps: int, seed: int,
                          threshold: float, eval_every: int, eval_episodes: int, out: Path,
                          console: Console, threads: int | None = 1) -> dict:
    """Train each (env, algo) with the same seed under a wall-clock budget; report time to ``threshold``.

    Each run stops at the budget or at the first periodic evaluation ≥ ``threshold``; its policy is then
    evaluated on 100 fixed-seed episodes. Runs are not registered in any library.
    """
    from skillstack.envs import ENVS
    from skillstack.skills.train import ALGORITHMS, TrainConfig, train

    for e in envs:
        ENVS.get(e)
    for a in algos:
        ALGORITHMS.get(a)
    results = []
    for env_id in envs:
        for algo in algos:
            cfg = TrainConfig(env_id=env_id, algo=algo, steps=steps, seed=seed,
                              run_dir=str(out / "runs" / env_id.replace("/", "_") / f"{algo}-s{seed}"),
                              eval_every=eval_every, eval_episodes=eval_episodes, stop_at_success=threshold,
                              max_minutes=minutes, library=None, torch_threads=threads)
            res = train(cfg, resume=Path(cfg.run_dir).exists())
            reach = res.state.first_reach.get(f"{threshold:.2f}")
            row = {"env_id": env_id, "algo": algo, "seed": seed, "budget_min": minutes,
                   "reached": reach is not None,
                   "steps_to_threshold": reach["steps"] if reach else None,
                   "wall_s_to_threshold": reach["wall_s"] if reach else None,
                   "best_periodic_success": res.state.best_success,
                   "steps_run": res.state.steps, "wall_s_run": round(res.state.wall_s, 1),
                   "final_success_rate_100ep": res.final_eval.success_rate,
                   "stop_reason": res.state.stop_reason, "config": asdict(cfg.resolved())}
            results.append(row)
            (out / "sample_efficiency.partial.json").write_text(json.dumps(results, indent=2))
    md = (f"# Time to {threshold:.0%} success (seed {seed}, budget {minutes} min per run)\n\n"
          "| env | algo | reached | env steps | wall-clock [s] | best periodic | final 100-ep success |\n"
          "|---|---|---|---:|---:|---:|---:|\n")
    t = Table(title=f"time to {threshold:.0%} success")
    for col in ("env", "algo", "reached", "env steps", "wall [s]", "best periodic", "final (100 ep)"):
        t.add_column(col)
    for r in results:
        cells = [r["env_id"], r["algo"], "yes" if r["reached"] else "no",
                 str(r["steps_to_threshold"] if r["reached"] else f">{r['steps_run']}"),
                 str(r["wall_s_to_threshold"] if r["reached"] else f">{r['wall_s_run']}"),
                 f"{r['best_periodic_success']:.2f}", f"{r['final_success_rate_100ep']:.2f}"]
        t.add_row(*cells)
        md += "| " + " | ".join(cells) + " |\n"
    console.print(t)
    _write(out, "sample_efficiency", {"threshold": threshold, "results": results}, md)
    return {"results": results}


def run_long_horizon(planners: list[str], suite_path: Path | None, seeds: list[int], execute: bool, out: Path,
                     library: Any, console: Console) -> dict:
    """``bench long-horizon``: plan/execution success per planner and SayCan family → JSON + Markdown + PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skillstack.planners.evaluate import evaluate_planners, markdown_table
    from skillstack.planners.suite import DEFAULT_SUITE, FAMILIES, family_counts, load_suite
    from skillstack.skills.train import _git_sha, versions

    suite = load_suite(suite_path or DEFAULT_SUITE)
    t0 = time.time()
    result = evaluate_planners(planners, suite, library, seeds=seeds, execute=execute)
    summary = result["summary"]
    md = (f"# Long-horizon planning: {len(suite)} instructions × {len(seeds)} seed(s)\n\n"
          f"Suite `{suite_path or DEFAULT_SUITE.relative_to(DEFAULT_SUITE.parents[2])}`, families "
          f"{family_counts(suite)}.\n\n" + markdown_table(summary)
          + "\nPlan success: the planner's closed-loop choices over the discrete domain (skill effects applied "
            "symbolically, affordances read on simulated observations) end with `done` in a goal state. "
            "Execution success: the goal holds at the end of the closed-loop rollout in simulation. "
            "Failures: planning = the plan already failed; execution = the plan succeeded but a skill did not.\n")
    payload = {"config": {"planners": planners, "suite": str(suite_path or DEFAULT_SUITE), "seeds": seeds,
                          "execute": execute},
               "git_sha": _git_sha(), "versions": versions(), "wall_clock_s": round(time.time() - t0, 1),
               "summary": summary, "rows": result["rows"]}
    _write(out, "long_horizon", payload, md)
    fams = [f for f in FAMILIES if any(f in s["families"] for s in summary.values())]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4), sharey=True)
    width = 0.8 / max(len(summary), 1)
    for ax, key in zip(axes, ("plan_success", "execution_success"), strict=True):
        for i, (name, s) in enumerate(summary.items()):
            vals = [s["families"][f][key] or 0.0 for f in fams]
            ax.bar(np.arange(len(fams)) + i * width, vals, width, label=f"{name} ({(s[key] or 0) * 100:.0f} %)")
        ax.set_xticks(np.arange(len(fams)) + width * (len(summary) - 1) / 2, fams, rotation=30, ha="right")
        ax.set_title(key.replace("_", " "))
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=7, loc="lower left")
    axes[0].set_ylabel("success rate")
    fig.tight_layout()
    fig.savefig(out / "long_horizon.png", dpi=120)
    plt.close(fig)
    console.print(md)
    console.print(f"results → {out}/long_horizon.{{json,md,png}}")
    return payload
