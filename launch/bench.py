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


def training_rate(env_id: str, algo: str, steps: int, seed: int = 0, threads: int = 1) -> float:
    """Env steps/s of SB3 training (collection + updates) on a skillstack env, one process.

    ``sac``: SB3 SAC, 256×256 MLPs, batch 256, one gradient step per env step (skillstack's SAC settings),
    timed after ``learning_starts`` = 256 random steps; ``ppo``: SB3 PPO defaults (``n_steps`` 2048, 10 epochs,
    64×64), timed over whole rollouts + updates (``steps`` rounded up to a multiple of 2048).
    """
    import torch
    from stable_baselines3 import PPO, SAC

    from skillstack.envs import make_env

    torch.set_num_threads(threads)
    env = make_env(env_id)
    if algo == "sac":
        model = SAC("MlpPolicy", env, batch_size=256, learning_starts=256, seed=seed, device="cpu",
                    policy_kwargs={"net_arch": [256, 256]})
        model.learn(256)  # random warm-up, not timed
        t = time.perf_counter()
        model.learn(steps, reset_num_timesteps=False)
        return steps / (time.perf_counter() - t)
    if algo == "ppo":
        model = PPO("MlpPolicy", env, seed=seed, device="cpu")
        n = 2048 * max(1, -(-steps // 2048))
        t = time.perf_counter()
        model.learn(n)
        return n / (time.perf_counter() - t)
    raise ValueError(f"training_rate: algo must be 'sac' or 'ppo', got {algo!r}")


def planner_latency(library: Any, n_candidates: int, planners: list[str], instructions: list[str],
                    repeats: int = 2, planner_kwargs: dict[str, Any] | None = None) -> dict[str, dict[str, float]]:
    """Milliseconds per ``plan_step`` with ``n_candidates`` candidates (``done`` included), per planner.

    Candidates: the library's tabletop skills and ``done``, padded with skills whose texts are the Meta-World task
    descriptions and whose affordances are the tabletop skills' models, cycled — every candidate costs one
    language score and one affordance evaluation, as a real library of that size would. Observations: the tabletop
    scene after seeded resets. Each instruction is decided once per repeat with a growing history; the first
    repeat includes embedding the instruction (cold), later repeats hit the scorer's cache (warm).

    Args:
        planner_kwargs: passed to every planner factory (e.g. a shared language scorer).

    Returns:
        ``{planner: {"median_ms", "p90_ms", "cold_median_ms", "warm_median_ms", "decisions"}}``.

    Raises:
        ValueError: fewer candidates than the library's tabletop skills + ``done``, or no tabletop skills.
        UnknownNameError: unknown planner.
    """
    from skillstack.envs.metaworld import TASK_DESCRIPTIONS
    from skillstack.envs.tabletop import TabletopEnv
    from skillstack.planners.base import DONE, Candidate, Step, planner_factory
    from skillstack.planners.executor import library_candidates

    base, _ = library_candidates(library)
    real = [c for c in base if c.name != DONE]
    if n_candidates < len(base):
        raise ValueError(f"n_candidates must be ≥ {len(base)} (the library's tabletop skills and done)")
    if not real:
        raise ValueError(f"no tabletop skills in {library.root}")
    extra = [Candidate(f"mw_{t.removesuffix('-v3').replace('-', '_')}", d, real[i % len(real)].affordance)
             for i, (t, d) in enumerate(sorted(TASK_DESCRIPTIONS.items()))]
    while len(base) + len(extra) < n_candidates:  # more than 60: numbered copies
        extra += [Candidate(f"{c.name}_{len(extra)}", f"{c.description} again", c.affordance) for c in extra[:10]]
    cands = [*real, *extra[: n_candidates - len(base)], Candidate(DONE, "done")]
    env = TabletopEnv()
    obs = [env.reset(seed=i)[0] for i in range(8)]
    env.close()
    out: dict[str, dict[str, float]] = {}
    for name in planners:
        planner = planner_factory(name)(**(planner_kwargs or {}))
        cold: list[float] = []
        warm: list[float] = []
        for r in range(repeats):
            for i, ins in enumerate(instructions):
                hist = [Step(c.name, c.description, True) for c in real[: i % 3]]
                t = time.perf_counter()
                planner.plan_step(ins, hist, obs[i % len(obs)], cands)
                (cold if r == 0 else warm).append(1000 * (time.perf_counter() - t))
        every = cold + warm
        out[name] = {"median_ms": round(statistics.median(every), 2),
                     "p90_ms": round(float(np.percentile(every, 90)), 2),
                     "cold_median_ms": round(statistics.median(cold), 2),
                     "warm_median_ms": round(statistics.median(warm), 2) if warm else None,
                     "decisions": len(every)}
    return out


def run_throughput(env_id: str, steps: int, max_envs: int, out: Path, console: Console, repeats: int = 3,
                   sac_steps: int = 2000, ppo_steps: int = 4096, library: Any = None,
                   planner_candidates: tuple[int, ...] = (16, 64),
                   planners: tuple[str, ...] = ("saycan", "saycan-no-affordance")) -> dict:
    """Measure env steps/s of raw ``mj_step``, the bare simulator env (Meta-World's or robosuite's own, for
    ``metaworld/*`` and ``robosuite/*`` ids), the skillstack env and vectorised envs, SB3 SAC/PPO training steps/s
    (:func:`training_rate`) and planner decision latency (:func:`planner_latency`).

    The bare and skillstack envs step the same pre-drawn uniform random actions and reset at the registered
    horizon (the skillstack env also on success, which random actions practically never reach);
    measurements are interleaved ``repeats`` times and the median is reported. Everything is measured in this one
    run, so the ratios compare like with like. ``sac_steps``/``ppo_steps`` = 0 or ``library=None`` skip parts.
    """
    import mujoco
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from skillstack.envs import make_env

    backend, _, task = env_id.partition("/")
    ours = make_env(env_id)
    horizon = ours.spec.max_episode_steps
    model, data = ours.unwrapped.model, ours.unwrapped.data
    if backend == "metaworld":
        from metaworld.env_dict import ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE

        bare = ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{task}-goal-observable"](seed=0)
        bare_name, mj_per_step = "bare Meta-World env", int(bare.frame_skip)
    elif backend == "robosuite":
        import robosuite

        # robosuite's own env with the settings RobosuiteEnv uses, stepped through its native dict API
        bare = robosuite.make(task, robots="Panda", has_renderer=False, has_offscreen_renderer=False,
                              use_camera_obs=False, use_object_obs=True, reward_shaping=True, control_freq=20,
                              horizon=horizon, ignore_done=True, hard_reset=False, seed=0)
        bare_name, mj_per_step = "bare robosuite env", int(round(1 / (20 * model.opt.timestep)))
    else:
        raise ValueError(f"bench throughput measures metaworld/* and robosuite/* envs, not {env_id!r}")
    actions = np.random.default_rng(0).uniform(-1, 1, size=(steps, *ours.action_space.shape)).astype(np.float32)

    def raw(n: int) -> None:
        for _ in range(n):
            mujoco.mj_step(model, data)

    def bare_steps(n: int) -> None:
        bare.reset()
        for i in range(n):
            bare.step(actions[i])
            if (i + 1) % horizon == 0:
                bare.reset()

    def ours_steps(n: int) -> None:
        ours.reset(seed=0)
        for i in range(n):
            _, _, term, trunc, _ = ours.step(actions[i])
            if term or trunc:
                ours.reset()

    rows: dict[str, list[float]] = {"raw mj_step": [], bare_name: [], "skillstack env": []}
    for _ in range(repeats):
        rows["raw mj_step"].append(_rate(raw, steps * mj_per_step))  # one env step = mj_per_step mj_steps
        rows[bare_name].append(_rate(bare_steps, steps))
        rows["skillstack env"].append(_rate(ours_steps, steps))
    vec: dict[str, float] = {}
    for n in range(1, max_envs + 1):
        venv = make_vec_env(lambda: make_env(env_id), n_envs=n, seed=0,
                            vec_env_cls=SubprocVecEnv if n > 1 else DummyVecEnv)
        venv.reset()
        per = max(1, steps // n)
        batch = np.random.default_rng(1).uniform(-1, 1, size=(per, n, *ours.action_space.shape)).astype(np.float32)
        t = time.perf_counter()
        for i in range(per):
            venv.step(batch[i])
        vec[f"SB3 VecEnv n_envs={n}"] = per * n / (time.perf_counter() - t)
        venv.close()
    train_rates: dict[str, float] = {}
    if sac_steps > 0:
        train_rates["SB3 SAC training (1 update/step)"] = training_rate(env_id, "sac", sac_steps)
    if ppo_steps > 0:
        train_rates["SB3 PPO training (defaults)"] = training_rate(env_id, "ppo", ppo_steps)
    med = {k: statistics.median(v) for k, v in rows.items()}
    overhead = 1 - med["skillstack env"] / med[bare_name]
    results = {**{k: round(v, 1) for k, v in med.items()}, **{k: round(v, 1) for k, v in vec.items()},
               **{k: round(v, 1) for k, v in train_rates.items()}}
    t = Table(title=f"throughput: {env_id} ({steps} steps, median of {repeats})")
    t.add_column("what")
    t.add_column("steps/s", justify="right")
    t.add_column(f"× {bare_name}", justify="right")
    md = f"# Throughput — {env_id}\n\n| what | steps/s | × {bare_name} |\n|---|---:|---:|\n"
    for k, v in results.items():
        ratio = v / med[bare_name]
        unit = "mj_step/s" if k == "raw mj_step" else ""
        t.add_row(k + (f" ({unit})" if unit else ""), f"{v:,.0f}", f"{ratio:.2f}")
        md += f"| {k}{' (' + unit + ')' if unit else ''} | {v:,.0f} | {ratio:.2f} |\n"
    md += f"\nskillstack env overhead vs {bare_name}: {100 * overhead:.1f} %\n"
    console.print(t)
    console.print(f"skillstack env overhead vs {bare_name}: {100 * overhead:.1f} %")
    latency: dict[str, Any] = {}
    if library is not None and planner_candidates:
        from skillstack.planners.suite import DEFAULT_SUITE, load_suite

        instructions = [e.instruction for e in load_suite(DEFAULT_SUITE)]
        for n in planner_candidates:
            latency[str(n)] = planner_latency(library, n, list(planners), instructions)
        lt = Table(title="planner decision latency [ms per decision]")
        for col in ("planner", "candidates", "median", "p90", "cold median", "warm median"):
            lt.add_column(col)
        md += ("\n## Planner decision latency\n\n"
               f"{len(instructions)} suite instructions × 2 (first pass cold: instruction embedded; second warm), "
               "tabletop observations.\n\n| planner | candidates | median [ms] | p90 [ms] | cold median [ms] | "
               "warm median [ms] |\n|---|---:|---:|---:|---:|---:|\n")
        for n, per in latency.items():
            for name, r in per.items():
                cells = [name, n, f"{r['median_ms']:.1f}", f"{r['p90_ms']:.1f}", f"{r['cold_median_ms']:.1f}",
                         f"{r['warm_median_ms']:.1f}"]
                lt.add_row(*cells)
                md += "| " + " | ".join(cells) + " |\n"
        console.print(lt)
    payload = {"env_id": env_id, "steps": steps, "repeats": repeats, "steps_per_s": results,
               "all_repeats": rows, "overhead_fraction": overhead, "bare": bare_name,
               "mj_steps_per_env_step": mj_per_step,
               "config": {"sac_steps": sac_steps, "ppo_steps": ppo_steps, "max_envs": max_envs,
                          "planner_candidates": list(planner_candidates), "planners": list(planners),
                          "torch_threads": 1},
               "planner_latency_ms": latency}
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


def _episodes_of(results: dict, name: str, seed: int) -> list[dict]:
    return [e for (k, r) in results.items() if k[0] == name and k[1] == seed for e in r["episodes"]]


def _summarise_skills(names: list[str], seeds: list[int], episodes: int, results: dict) -> dict[str, Any]:
    """Per skill/task: success (mean over seeds, Student-t 95 % CI over seeds, pooled Wilson), return, length.

    ``results`` maps keys ``(name, seed, ...)`` to ``{"episodes": [...]}``. Raises ``RuntimeError`` unless each
    (name, seed) holds exactly the episodes ``SKILLS_BENCH_SEED_BASE + 100 000·seed + i``, ``i < episodes``.
    """
    from skillstack.skills.evaluate import wilson_interval

    per_skill: dict[str, Any] = {}
    for s in names:
        per_seed = []
        for seed in seeds:
            eps = _episodes_of(results, s, seed)
            got = sorted(e["seed"] for e in eps)
            expected = [SKILLS_BENCH_SEED_BASE + 100_000 * seed + i for i in range(episodes)]
            if got != expected:  # every episode exactly once
                raise RuntimeError(f"{s} seed {seed}: episode set incomplete or duplicated")
            per_seed.append({"seed": seed, "success_rate": float(np.mean([e["success"] for e in eps])),
                             "mean_return": float(np.mean([e["episode_return"] for e in eps])),
                             "mean_length": float(np.mean([e["length"] for e in eps]))})
        rates = [p["success_rate"] for p in per_seed]
        n_succ = sum(e["success"] for seed in seeds for e in _episodes_of(results, s, seed))
        per_skill[s] = {
            "episodes": episodes * len(seeds),
            "success_rate": float(np.mean(rates)), "ci95_over_seeds": _t_interval(rates),
            "wilson95_pooled": wilson_interval(n_succ, episodes * len(seeds)),
            "mean_return": float(np.mean([p["mean_return"] for p in per_seed])),
            "mean_length": float(np.mean([p["mean_length"] for p in per_seed])), "per_seed": per_seed,
        }
    return per_skill


def _skills_report(title: str, per_skill: dict[str, Any], extra_cols: dict[str, list[str]], footer: str,
                   payload: dict[str, Any], out: Path, console: Console,
                   curves: dict[str, list[dict]] | None = None) -> None:
    """Write ``skills.json`` / ``skills.md`` / ``skills.png`` (bars; learning curves beside them when given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(per_skill)
    head = ["skill", "success", "95 % CI (seeds)", "Wilson 95 % (pooled)", "return", "length", *extra_cols]
    lines = [f"# {title}\n", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    t = Table(title=title)
    for col in head:
        t.add_column(col)
    for i, (s, r) in enumerate(per_skill.items()):
        ci, w = r["ci95_over_seeds"], r["wilson95_pooled"]
        cells = [s, f"{r['success_rate']:.3f}", "–" if ci is None else f"{ci[0]:.3f}–{ci[1]:.3f}",
                 f"{w[0]:.3f}–{w[1]:.3f}", f"{r['mean_return']:.1f}", f"{r['mean_length']:.1f}",
                 *(v[i] for v in extra_cols.values())]
        lines.append("| " + " | ".join(cells) + " |")
        t.add_row(*cells)
    mean = float(np.mean([r["success_rate"] for r in per_skill.values()]))
    lines.append(f"\nMean success over {len(names)} skill(s): {mean:.3f}. {footer}\n")
    payload["mean_success_rate"] = mean
    _write(out, "skills", payload, "\n".join(lines))
    fig, axes = plt.subplots(1, 2 if curves else 1, figsize=(max(5, 0.7 * len(names) + 2) + (6 if curves else 0), 3.8))
    ax = axes[0] if curves else axes
    vals = [r["success_rate"] for r in per_skill.values()]
    lo = [r["wilson95_pooled"][0] for r in per_skill.values()]
    hi = [r["wilson95_pooled"][1] for r in per_skill.values()]
    ax.bar(range(len(names)), vals, capsize=3,
           yerr=[np.maximum(0, np.subtract(vals, lo)), np.maximum(0, np.subtract(hi, vals))])
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate (Wilson 95 %)")
    ax.set_title(f"mean {mean:.3f}")
    if curves:
        for name, rows in curves.items():
            if rows:
                axes[1].plot([r["steps"] for r in rows], [r["success_rate"] for r in rows], marker=".", label=name)
        axes[1].set_xlabel("env steps")
        axes[1].set_ylabel("periodic success (20 episodes)")
        axes[1].set_ylim(-0.02, 1.05)
        axes[1].legend(fontsize=6, ncol=2)
        axes[1].set_title("learning curves")
    fig.tight_layout()
    fig.savefig(out / "skills.png", dpi=110)
    plt.close(fig)
    console.print(t)
    console.print(f"mean success {mean:.3f}; results → {out}/skills.json, skills.md, skills.png")


def _check_bench_args(episodes: int, seeds: list[int], chunk: int = 1) -> None:
    if episodes <= 0 or not seeds or chunk <= 0:
        raise ValueError("--episodes and --chunk must be positive and --seeds non-empty")
    if episodes > 100_000:
        raise ValueError("--episodes must be ≤ 100 000 (seed blocks are 100 000 wide)")


def run_skills_bench(skills: list[str], episodes: int, seeds: list[int], library: Any, out: Path, console: Console,
                     backend: str = "local", workers: int | None = None, chunk: int = 25,
                     max_tasks_per_worker: int | None = None, address: str | None = None) -> dict:
    """``bench skills`` (evaluate-only): per skill success rate, return and length over seeds × episodes.

    Work is split into units keyed ``(skill, seed, chunk)`` and run by :func:`~skillstack.launch.workers.run_units`
    (a killed worker's units are run again; the result set is checked complete and duplicate-free). Episode
    ``i`` of seed ``s`` always uses reset seed ``SKILLS_BENCH_SEED_BASE + 100 000·s + i``, whichever worker runs
    it, so re-running reproduces the numbers.

    Writes ``skills.json`` (config, versions, git sha, per-episode results, peak RSS), ``skills.md`` and
    ``skills.png`` (success bars with 95 % intervals) under ``out``.
    """
    from tqdm.auto import tqdm

    from skillstack.launch.workers import WorkUnit, peak_rss_mb, run_units

    _check_bench_args(episodes, seeds, chunk)
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
                        on_result=lambda k, v: bar.update(len(v["episodes"])), address=address)
    bar.close()
    wall = time.time() - t0
    per_skill = _summarise_skills(skills, seeds, episodes, results)
    for s in skills:
        per_skill[s]["version"] = versions_used[s]
    rss = [r["rss_mb"] for r in results.values()]
    payload = {
        "mode": "evaluate",
        "config": {"skills": skills, "episodes_per_seed": episodes, "seeds": seeds, "backend": backend,
                   "address": address, "workers": workers, "chunk": chunk, "library": str(library.root),
                   "seed_rule": f"{SKILLS_BENCH_SEED_BASE} + 100000*seed + i"},
        "wall_clock_s": round(wall, 1), "n_units": len(units),
        "peak_rss_mb": {"main": round(peak_rss_mb(), 1), "worker_max": round(max(rss), 1),
                        "workers": len({r["pid"] for r in results.values()})},
        "summary": per_skill,
    }
    _skills_report(f"Skill benchmark: {len(skills)} skill(s) × {len(seeds)} seed(s) × {episodes} episodes",
                   per_skill, {"version": [f"v{per_skill[s]['version']}" for s in skills]},
                   f"Wall-clock {wall:.0f} s ({backend}, {payload['peak_rss_mb']['workers']} worker process(es)).",
                   payload, out, console)
    return payload


# ------------------------------------------------------------------------------ bench skills --train
@functools.lru_cache(maxsize=1)
def _task_suites() -> dict[str, tuple[str, ...]]:
    from metaworld.env_dict import MT10_V3, MT50_V3

    from skillstack.envs.tabletop import SKILL_SPECS

    return {"mt10": tuple(f"metaworld/{t}" for t in MT10_V3), "mt50": tuple(f"metaworld/{t}" for t in MT50_V3),
            "tabletop": tuple(f"tabletop/{s}" for s in SKILL_SPECS)}


def task_suite(name: str) -> tuple[str, ...]:
    """Env ids of a train-and-evaluate suite: ``mt10`` and ``mt50`` (Meta-World's own lists,
    ``metaworld.env_dict``) and ``tabletop`` (the training env of every tabletop skill).

    Raises:
        UnknownNameError: unknown suite (the message lists the valid ones).
    """
    from skillstack.envs.registry import UnknownNameError, unknown_name_message

    suites = _task_suites()
    if name not in suites:
        raise UnknownNameError(unknown_name_message("task suite", name, list(suites)))
    return suites[name]


def train_eval_unit(env_id: str, algo: str, steps: int, seed: int, run_dir: str, episodes: int,
                    eval_every: int, stop_at_success: float | None, threads: int, n_demos: int,
                    eval_episodes: int = 20) -> dict:
    """Worker side of ``bench skills --train``: train one task with one seed, then evaluate it.

    The run lives in ``run_dir``: a retried unit (its worker was killed) resumes from the newest checkpoint, and
    a finished unit's result (``bench_unit.json``, written atomically last) is returned without re-running.
    Evaluation: ``episodes`` episodes with reset seeds ``SKILLS_BENCH_SEED_BASE + 100 000·seed + i``.

    Returns:
        ``{"episodes": [...], "train_wall_s", "eval_wall_s", "steps", "stop_reason", "curve": [periodic evals],
        "pid", "rss_mb"}``.
    """
    from skillstack.launch.workers import peak_rss_mb
    from skillstack.skills.evaluate import evaluate
    from skillstack.skills.train import TrainConfig, train

    d = Path(run_dir)
    done = d / "bench_unit.json"
    unit = {"env_id": env_id, "algo": algo, "steps": steps, "seed": seed, "episodes": episodes,
            "eval_every": eval_every, "eval_episodes": eval_episodes, "stop_at_success": stop_at_success,
            "n_demos": n_demos}
    if done.exists():
        cached = json.loads(done.read_text())
        if cached.get("unit") != unit:
            raise ValueError(f"{run_dir} holds a finished run with other settings ({cached.get('unit')}); "
                             "choose another --out")
        return cached
    cfg = TrainConfig(env_id=env_id, algo=algo, steps=steps, seed=seed, run_dir=run_dir, eval_every=eval_every,
                      eval_episodes=eval_episodes, stop_at_success=stop_at_success, final_eval_episodes=1,
                      n_demos=n_demos,
                      library=None, torch_threads=threads, device="cpu")
    t0 = time.perf_counter()
    res = train(cfg, resume=(d / "config.json").exists(), progress=False)
    train_wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    ev = evaluate(res.skill.predict, env_id, episodes, seed_base=SKILLS_BENCH_SEED_BASE + 100_000 * seed,
                  max_episode_steps=res.skill.max_steps)
    curve = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()
             if line.strip()] if (d / "metrics.jsonl").exists() else []
    out = {"unit": unit, "episodes": [asdict(e) for e in ev.episodes], "train_wall_s": round(train_wall, 1),
           "run_wall_s": round(res.state.wall_s, 1), "eval_wall_s": round(time.perf_counter() - t1, 1),
           "steps": res.state.steps, "stop_reason": res.state.stop_reason,
           "curve": [r for r in curve if "success_rate" in r], "pid": os.getpid(), "rss_mb": peak_rss_mb()}
    tmp = d / f".bench_unit.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(out))
    os.replace(tmp, done)
    return out


def run_train_bench(env_ids: list[str], algo: str, steps: int, seeds: list[int], episodes: int, out: Path,
                    console: Console, backend: str = "local", workers: int | None = None,
                    address: str | None = None, eval_every: int = 5000, stop_at_success: float | None = 1.0,
                    threads: int = 1, n_demos: int = 25, eval_episodes: int = 20, label: str = "") -> dict:
    """``bench skills --train``: train every (task, seed) with ``algo`` under a step budget, then evaluate.

    One work unit per ``(env_id, seed)`` (runs are independent, so distributing them changes no result; each
    unit seeds everything from its own seed). Training stops at ``steps`` env steps or at the first periodic
    evaluation (20 episodes, seeds 500 000+) with success ≥ ``stop_at_success`` (sac-demos: only after its actor
    had RL updates). Each trained policy is then evaluated on ``episodes`` episodes of its seed's block
    (``SKILLS_BENCH_SEED_BASE + 100 000·seed + i``); the 95 % CI over seeds is over *training* seeds. Runs go to
    ``out/runs/<task>/<algo>-s<seed>`` and are not registered in any library.

    Writes ``skills.json`` (config, versions, git sha, per-episode results, learning curves, wall-clock per
    task), ``skills.md`` and ``skills.png`` (success bars + learning curves).
    """
    from tqdm.auto import tqdm

    from skillstack.envs import ENVS
    from skillstack.launch.workers import WorkUnit, peak_rss_mb, run_units
    from skillstack.skills.train import ALGORITHMS

    _check_bench_args(episodes, seeds)
    if steps <= 0:
        raise ValueError("--steps must be positive")
    for e in env_ids:
        ENVS.get(e)
    ALGORITHMS.get(algo)
    units = [WorkUnit((e, seed), train_eval_unit, {
        "env_id": e, "algo": algo, "steps": steps, "seed": seed, "episodes": episodes,
        "run_dir": str(out / "runs" / e.replace("/", "_") / f"{algo}-s{seed}"), "eval_every": eval_every,
        "stop_at_success": stop_at_success, "threads": threads, "n_demos": n_demos, "eval_episodes": eval_episodes})
        for e in env_ids for seed in seeds]
    t0 = time.time()
    bar = tqdm(total=len(units), desc=f"bench skills --train {algo}", unit="run")

    def arrived(key: Any, v: dict) -> None:
        bar.update(1)
        sr = float(np.mean([e["success"] for e in v["episodes"]]))
        tqdm.write(f"{key[0]} seed {key[1]}: success {sr:.2f} after {v['steps']} steps, {v['run_wall_s']:.0f} s")

    results = run_units(units, backend=backend, workers=workers, on_result=arrived, address=address)
    bar.close()
    wall = time.time() - t0
    names = list(env_ids)
    per_task = _summarise_skills(names, seeds, episodes, results)
    for e in names:
        rs = [results[(e, seed)] for seed in seeds]
        per_task[e].update({"train_steps": [r["steps"] for r in rs],
                            "stop_reasons": [r["stop_reason"] for r in rs],
                            "train_wall_s": [r["run_wall_s"] for r in rs],
                            "eval_wall_s": [r["eval_wall_s"] for r in rs], "curves": [r["curve"] for r in rs]})
    payload = {
        "mode": "train-and-evaluate",
        "config": {"label": label, "tasks": names, "algo": algo, "steps": steps, "seeds": seeds,
                   "episodes_per_seed": episodes, "eval_every": eval_every, "eval_episodes": eval_episodes,
                   "stop_at_success": stop_at_success,
                   "torch_threads": threads, "n_demos": n_demos, "backend": backend, "address": address,
                   "workers": workers, "seed_rule": f"{SKILLS_BENCH_SEED_BASE} + 100000*seed + i"},
        "wall_clock_s": round(wall, 1), "n_units": len(units),
        "peak_rss_mb": {"main": round(peak_rss_mb(), 1),
                        "worker_max": round(max(r["rss_mb"] for r in results.values()), 1)},
        "summary": per_task,
    }
    extra = {"env steps": ["/".join(str(s) for s in per_task[e]["train_steps"]) for e in names],
             "train wall [s]": ["/".join(f"{w:.0f}" for w in per_task[e]["train_wall_s"]) for e in names]}
    _skills_report(f"{label or 'Train-and-evaluate'}: {algo}, ≤ {steps} env steps, {len(seeds)} training seed(s) × "
                   f"{episodes} episodes", per_task, extra,
                   f"Wall-clock {wall:.0f} s for the whole suite ({backend}). Train wall-clock is per run (one "
                   f"process, {threads} torch thread(s)), including demonstrations and periodic evaluations.",
                   payload, out, console,
                   curves={e.split("/")[-1]: per_task[e]["curves"][0] for e in names})
    return payload
