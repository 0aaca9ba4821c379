"""Benchmark runners behind ``skillstack bench`` (results: JSON + Markdown, with config and versions)."""

from __future__ import annotations

import functools
import json
import os
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


# ------------------------------------------------------------------------------------------- bench skills
SKILLS_BENCH_SEED_BASE = 5_000_000
"""``bench skills`` seed ``s`` evaluates episodes ``5 000 000 + 100 000·s + i``: disjoint from training
(demonstrations, periodic and final evaluations use small seeds) and from the affordance data."""


@functools.lru_cache(maxsize=32)
def _library_skill(library_root: str, skill: str, version: str) -> Any:
    """A library skill, loaded (and verified) once per worker process."""
    from skillstack.skills.library import SkillLibrary

    return SkillLibrary(library_root).load(skill, version)


def eval_skill_unit(library_root: str, skill: str, version: str, seed_base: int, n_episodes: int) -> dict:
    """Worker side of ``bench skills``: evaluate ``n_episodes`` seeded episodes of one library skill.

    Returns:
        ``{"episodes": [...], "pid": int, "rss_mb": float}`` (the worker's peak RSS after this unit).
    """
    from skillstack.launch.workers import peak_rss_mb
    from skillstack.skills.evaluate import evaluate

    s = _library_skill(library_root, skill, version)
    res = evaluate(s.predict, s.env_id, n_episodes, seed_base=seed_base, max_episode_steps=s.max_steps)
    return {"episodes": [asdict(e) for e in res.episodes], "pid": os.getpid(), "rss_mb": peak_rss_mb()}


def _t_interval(xs: list[float]) -> tuple[float, float] | None:
    """Student-t 95 % interval of the mean over seeds (``None`` with fewer than 2 seeds)."""
    if len(xs) < 2:
        return None
    from scipy import stats

    m, se = float(np.mean(xs)), float(np.std(xs, ddof=1) / np.sqrt(len(xs)))
    h = float(stats.t.ppf(0.975, len(xs) - 1)) * se
    return (max(0.0, m - h), min(1.0, m + h))


def run_skills_bench(skills: list[str], episodes: int, seeds: list[int], library: Any, out: Path, console: Console,
                     backend: str = "local", workers: int | None = None, chunk: int = 25,
                     max_tasks_per_worker: int | None = None) -> dict:
    """``bench skills`` (evaluate-only): per skill success rate, return and length over seeds × episodes.

    Work is split into units keyed ``(skill, seed, chunk)`` and run by :func:`~skillstack.launch.workers.run_units`
    (a killed worker's units are run again; the result set is checked complete and duplicate-free). Episode
    ``i`` of seed ``s`` always uses reset seed ``SKILLS_BENCH_SEED_BASE + 100 000·s + i``, whichever worker runs
    it, so re-running reproduces the numbers.

    Writes ``skills.json`` (config, versions, git sha, per-episode results, peak RSS), ``skills.md`` and
    ``skills.png`` (success bars with 95 % intervals) under ``out``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tqdm.auto import tqdm

    from skillstack.launch.workers import WorkUnit, peak_rss_mb, run_units
    from skillstack.skills.evaluate import wilson_interval

    if episodes <= 0 or not seeds or chunk <= 0:
        raise ValueError("--episodes and --chunk must be positive and --seeds non-empty")
    if episodes > 100_000:
        raise ValueError("--episodes must be ≤ 100 000 (seed blocks are 100 000 wide)")
    versions_used = {s: library.load(s).version for s in skills}  # verifies every skill before any work
    units = []
    for s in skills:
        for seed in seeds:
            for c, start in enumerate(range(0, episodes, chunk)):
                units.append(WorkUnit((s, seed, c), eval_skill_unit, {
                    "library_root": str(library.root), "skill": s, "version": str(versions_used[s]),
                    "seed_base": SKILLS_BENCH_SEED_BASE + 100_000 * seed + start,
                    "n_episodes": min(chunk, episodes - start)}))
    t0 = time.time()
    bar = tqdm(total=len(skills) * len(seeds) * episodes, desc="bench skills", unit="ep")
    results = run_units(units, backend=backend, workers=workers, max_tasks_per_worker=max_tasks_per_worker,
                        on_result=lambda k, v: bar.update(len(v["episodes"])))
    bar.close()
    wall = time.time() - t0
    per_skill: dict[str, Any] = {}
    for s in skills:
        per_seed = []
        for seed in seeds:
            eps = [e for (k, r) in results.items() if k[0] == s and k[1] == seed for e in r["episodes"]]
            got = sorted(e["seed"] for e in eps)
            expected = [SKILLS_BENCH_SEED_BASE + 100_000 * seed + i for i in range(episodes)]
            if got != expected:  # every episode exactly once
                raise RuntimeError(f"{s} seed {seed}: episode set incomplete or duplicated")
            per_seed.append({"seed": seed, "success_rate": float(np.mean([e["success"] for e in eps])),
                             "mean_return": float(np.mean([e["episode_return"] for e in eps])),
                             "mean_length": float(np.mean([e["length"] for e in eps]))})
        rates = [p["success_rate"] for p in per_seed]
        n_succ = sum(e["success"] for (k, r) in results.items() if k[0] == s for e in r["episodes"])
        per_skill[s] = {
            "version": versions_used[s], "episodes": episodes * len(seeds),
            "success_rate": float(np.mean(rates)), "ci95_over_seeds": _t_interval(rates),
            "wilson95_pooled": wilson_interval(n_succ, episodes * len(seeds)),
            "mean_return": float(np.mean([p["mean_return"] for p in per_seed])),
            "mean_length": float(np.mean([p["mean_length"] for p in per_seed])), "per_seed": per_seed,
        }
    rss = [r["rss_mb"] for r in results.values()]
    payload = {
        "config": {"skills": skills, "episodes_per_seed": episodes, "seeds": seeds, "backend": backend,
                   "workers": workers, "chunk": chunk, "library": str(library.root),
                   "seed_rule": f"{SKILLS_BENCH_SEED_BASE} + 100000*seed + i"},
        "wall_clock_s": round(wall, 1), "n_units": len(units),
        "peak_rss_mb": {"main": round(peak_rss_mb(), 1), "worker_max": round(max(rss), 1),
                        "workers": len({r["pid"] for r in results.values()})},
        "summary": per_skill,
    }
    lines = [f"# Skill benchmark: {len(skills)} skill(s) × {len(seeds)} seed(s) × {episodes} episodes\n",
             "| skill | version | success | 95 % CI (seeds) | Wilson 95 % (pooled) | return | length |",
             "|---|---|---|---|---|---|---|"]
    for s, r in per_skill.items():
        ci = r["ci95_over_seeds"]
        lines.append(f"| {s} | v{r['version']} | {r['success_rate']:.3f} | "
                     f"{'–' if ci is None else f'{ci[0]:.3f}–{ci[1]:.3f}'} | "
                     f"{r['wilson95_pooled'][0]:.3f}–{r['wilson95_pooled'][1]:.3f} | {r['mean_return']:.1f} | "
                     f"{r['mean_length']:.1f} |")
    lines.append(f"\nMean success over skills: {np.mean([r['success_rate'] for r in per_skill.values()]):.3f}. "
                 f"Wall-clock {wall:.0f} s ({backend}, {payload['peak_rss_mb']['workers']} worker process(es)).\n")
    md = "\n".join(lines)
    _write(out, "skills", payload, md)
    fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(skills) + 2), 3.5))
    vals = [r["success_rate"] for r in per_skill.values()]
    lo = [r["wilson95_pooled"][0] for r in per_skill.values()]
    hi = [r["wilson95_pooled"][1] for r in per_skill.values()]
    ax.bar(range(len(skills)), vals, yerr=[np.subtract(vals, lo), np.subtract(hi, vals)], capsize=3)
    ax.set_xticks(range(len(skills)), skills, rotation=35, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate (Wilson 95 %)")
    fig.tight_layout()
    fig.savefig(out / "skills.png", dpi=110)
    plt.close(fig)
    t = Table(title="bench skills")
    for col in ("skill", "success", "95 % CI", "return", "length"):
        t.add_column(col)
    for s, r in per_skill.items():
        w = r["wilson95_pooled"]
        t.add_row(s, f"{r['success_rate']:.3f}", f"{w[0]:.2f}–{w[1]:.2f}", f"{r['mean_return']:.1f}",
                  f"{r['mean_length']:.1f}")
    console.print(t)
    console.print(f"results → {out}/skills.json, skills.md, skills.png")
    return payload
