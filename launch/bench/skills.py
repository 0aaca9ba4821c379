"""``skillstack bench skills``: skill success rates (evaluate-only, or train-and-evaluate per task and seed)."""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from skillstack.envs.fileio import atomic_write_json
from skillstack.launch.bench.common import write_result

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
    res = evaluate(s, s.env_id, n_episodes, seed_base=seed_base, max_episode_steps=s.max_steps)
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
    write_result(out, "skills", payload, "\n".join(lines))
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
def _task_suites() -> dict[str, tuple[str, ...]]:
    from metaworld.env_dict import MT10_V3, MT50_V3

    from skillstack.envs import resolve_env_id
    from skillstack.envs.scenes import SCENES, load_plugins

    load_plugins()
    suites = {"mt10": tuple(f"metaworld/{t}" for t in MT10_V3), "mt50": tuple(f"metaworld/{t}" for t in MT50_V3)}
    for name, scene in SCENES.items():
        suites[name] = tuple(resolve_env_id(f"{scene.skill_env_prefix}{skill}") for skill in scene.skills)
    return suites


def task_suite(name: str) -> tuple[str, ...]:
    """Env ids of a train-and-evaluate suite: ``mt10`` and ``mt50`` (Meta-World's own lists,
    ``metaworld.env_dict``) and every scene's name (the training env of each of its skills).

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
                    eval_episodes: int = 20, train_options: dict[str, Any] | None = None) -> dict:
    """Worker side of ``bench skills --train``: train one task with one seed, then evaluate it.

    The run lives in ``run_dir``: a retried unit (its worker was killed) resumes from the newest checkpoint, and
    a finished unit's result (``bench_unit.json``, written atomically last) is returned without re-running.
    Evaluation: ``episodes`` episodes with reset seeds ``SKILLS_BENCH_SEED_BASE + 100 000·seed + i``.
    ``train_options``: further :class:`~skillstack.skills.train.TrainConfig` fields (e.g. ``bc_dagger_rounds``);
    recorded in the unit only when given, so units finished before an option existed still match.

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
    if train_options:
        unit["train_options"] = dict(train_options)
    if done.exists():
        cached = json.loads(done.read_text())
        if cached.get("unit") != unit:
            raise ValueError(f"{run_dir} holds a finished run with other settings ({cached.get('unit')}); "
                             "choose another --out")
        return cached
    cfg = TrainConfig(env_id=env_id, algo=algo, steps=steps, seed=seed, run_dir=run_dir, eval_every=eval_every,
                      eval_episodes=eval_episodes, stop_at_success=stop_at_success, final_eval_episodes=1,
                      n_demos=n_demos, **(train_options or {}),
                      library=None, torch_threads=threads, device="cpu")
    t0 = time.perf_counter()
    res = train(cfg, resume=(d / "config.json").exists(), progress=False)
    train_wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    ev = evaluate(res.skill, env_id, episodes, seed_base=SKILLS_BENCH_SEED_BASE + 100_000 * seed,
                  max_episode_steps=res.skill.max_steps)
    curve = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()
             if line.strip()] if (d / "metrics.jsonl").exists() else []
    out = {"unit": unit, "episodes": [asdict(e) for e in ev.episodes], "train_wall_s": round(train_wall, 1),
           "run_wall_s": round(res.state.wall_s, 1), "eval_wall_s": round(time.perf_counter() - t1, 1),
           "steps": res.state.steps, "stop_reason": res.state.stop_reason,
           "curve": [r for r in curve if "success_rate" in r], "pid": os.getpid(), "rss_mb": peak_rss_mb()}
    atomic_write_json(done, out, indent=None)
    return out


def run_train_bench(env_ids: list[str], algo: str, steps: int, seeds: list[int], episodes: int, out: Path,
                    console: Console, backend: str = "local", workers: int | None = None,
                    address: str | None = None, eval_every: int = 5000, stop_at_success: float | None = 1.0,
                    threads: int = 1, n_demos: int = 25, eval_episodes: int = 20, label: str = "",
                    train_options: dict[str, Any] | None = None) -> dict:
    """``bench skills --train``: train every (task, seed) with ``algo`` under a step budget, then evaluate.

    One work unit per ``(env_id, seed)`` (runs are independent, so distributing them changes no result; each
    unit seeds everything from its own seed). Training stops at ``steps`` env steps or at the first periodic
    evaluation (20 episodes, seeds 500 000+) with success ≥ ``stop_at_success`` (sac-demos: only after its actor
    had RL updates). Each trained policy is then evaluated on ``episodes`` episodes of its seed's block
    (``SKILLS_BENCH_SEED_BASE + 100 000·seed + i``); the 95 % CI over seeds is over *training* seeds. Runs go to
    ``out/runs/<task>/<algo>-s<seed>`` and are not registered in any library. ``train_options``: further
    :class:`~skillstack.skills.train.TrainConfig` fields for every unit (checked before any unit starts).

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
    from skillstack.skills.train import TrainConfig

    unknown = sorted(set(train_options or {}) - set(TrainConfig.__dataclass_fields__))
    if unknown:
        raise ValueError(f"unknown training options {unknown}; TrainConfig's fields: "
                         f"{sorted(TrainConfig.__dataclass_fields__)}")
    TrainConfig(env_id=env_ids[0], algo=algo, steps=steps, n_demos=n_demos, **(train_options or {})).resolved()
    units = [WorkUnit((e, seed), train_eval_unit, {
        "env_id": e, "algo": algo, "steps": steps, "seed": seed, "episodes": episodes,
        "run_dir": str(out / "runs" / e.replace("/", "_") / f"{algo}-s{seed}"), "eval_every": eval_every,
        "stop_at_success": stop_at_success, "threads": threads, "n_demos": n_demos, "eval_episodes": eval_episodes,
        "train_options": train_options or None})
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
                   "torch_threads": threads, "n_demos": n_demos, "train_options": train_options or {},
                   "backend": backend, "address": address,
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
