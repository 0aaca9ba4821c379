"""``skillstack bench throughput``: env steps/s (raw MuJoCo, bare simulator, skillstack env, vectorised), SB3
training steps/s and planner decision latency, measured in one run."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from skillstack.envs.scenes import Scene
from skillstack.launch.bench.common import write_result


def _rate(fn: Any, steps: int) -> float:
    t = time.perf_counter()
    fn(steps)
    return steps / (time.perf_counter() - t)


def training_rate(env_id: str, algo: str, steps: int, seed: int = 0, threads: int = 1) -> float:
    """Env steps/s of SB3 training (collection + updates) on a skillstack env, one process: the registered
    algorithm's own model builder (:func:`skillstack.skills.algorithms.sb3_training_rate`).

    Raises:
        ValueError: ``algo`` is not an SB3 algorithm without demonstrations (``sac``, ``ppo``).
    """
    from skillstack.skills.algorithms import sb3_training_rate

    return sb3_training_rate(env_id, algo, steps, seed=seed, threads=threads)


def planner_latency(library: Any, scene: Scene, n_candidates: int, planners: list[str], instructions: list[str],
                    repeats: int = 2, planner_kwargs: dict[str, Any] | None = None) -> dict[str, dict[str, float]]:
    """Milliseconds per ``plan_step`` with ``n_candidates`` candidates (``done`` included), per planner.

    Candidates: the library's skills of ``scene`` and ``done``, padded with skills whose texts are the Meta-World
    task descriptions and whose affordances are the scene skills' models, cycled — every candidate costs one
    language score and one affordance evaluation, as a real library of that size would. Observations: the scene
    env after seeded resets. Each instruction is decided once per repeat with a growing history; the first
    repeat includes embedding the instruction (cold), later repeats hit the scorer's cache (warm).

    Args:
        planner_kwargs: passed to every planner factory (e.g. a shared language scorer).

    Returns:
        ``{planner: {"median_ms", "p90_ms", "cold_median_ms", "warm_median_ms", "decisions"}}``.

    Raises:
        ValueError: fewer candidates than the library's scene skills + ``done``, or no skills of the scene.
        UnknownNameError: unknown planner.
    """
    from skillstack.envs import make_env
    from skillstack.envs.metaworld import TASK_DESCRIPTIONS
    from skillstack.planners.base import DONE, Candidate, EpisodeContext, Step, make_planner
    from skillstack.planners.executor import library_candidates
    from skillstack.skills.affordance import AffordanceSet

    base, skills = library_candidates(library, scene)
    real = [c for c in base if c.name != DONE]
    if n_candidates < len(base):
        raise ValueError(f"n_candidates must be ≥ {len(base)} (the library's {scene.name} skills and done)")
    if not real:
        raise ValueError(f"no {scene.name} skills in {library.root}")
    extra = [(f"mw_{t.removesuffix('-v3').replace('-', '_')}", d) for t, d in sorted(TASK_DESCRIPTIONS.items())]
    while len(base) + len(extra) < n_candidates:  # more than 60: numbered copies
        extra += [(f"{n}_{len(extra)}", f"{d} again") for n, d in extra[:10]]
    named = [(c.name, c.description) for c in real] + extra[: n_candidates - len(base)]
    # every candidate has its own affordance model (the scene's models, cycled), all in one batched set, as a real
    # library of that size would
    models = [skills[real[i % len(real)].name].affordance_model for i in range(len(named))]
    batch = AffordanceSet([m for m in models if m is not None])
    index = {i: k for k, i in enumerate(i for i, m in enumerate(models) if m is not None)}
    cands = [Candidate(n, d, batch.member(index[i]) if i in index else None) for i, (n, d) in enumerate(named)]
    cands.append(Candidate(DONE, "done"))
    env = make_env(scene.env_id).unwrapped
    obs = [env.reset(seed=i)[0] for i in range(8)]
    out: dict[str, dict[str, float]] = {}
    for name in planners:
        planner = make_planner(name, scene, **(planner_kwargs or {}))
        planner.reset(EpisodeContext(scene=scene, env=env))
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
    env.close()
    return out


def _vectorised_rates(env_id: str, steps: int, max_envs: int, action_shape: tuple[int, ...]) -> dict[str, float]:
    """Env steps/s of SB3 ``VecEnv`` collection with 1..``max_envs`` envs (``SubprocVecEnv`` above 1)."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from skillstack.envs import make_env

    vec: dict[str, float] = {}
    for n in range(1, max_envs + 1):
        venv = make_vec_env(lambda: make_env(env_id), n_envs=n, seed=0,
                            vec_env_cls=SubprocVecEnv if n > 1 else DummyVecEnv)
        venv.reset()
        per = max(1, steps // n)
        batch = np.random.default_rng(1).uniform(-1, 1, size=(per, n, *action_shape)).astype(np.float32)
        t = time.perf_counter()
        for i in range(per):
            venv.step(batch[i])
        vec[f"SB3 VecEnv n_envs={n}"] = per * n / (time.perf_counter() - t)
        venv.close()
    return vec


def _rates_table(console: Console, title: str, env_id: str, results: dict[str, float], bare_rate: float,
                 bare_name: str, overhead: float) -> str:
    """Print the steps/s table and return it as Markdown."""
    t = Table(title=title)
    t.add_column("what")
    t.add_column("steps/s", justify="right")
    t.add_column(f"× {bare_name}", justify="right")
    md = f"# Throughput — {env_id}\n\n| what | steps/s | × {bare_name} |\n|---|---:|---:|\n"
    for k, v in results.items():
        ratio = v / bare_rate
        unit = "mj_step/s" if k == "raw mj_step" else ""
        t.add_row(k + (f" ({unit})" if unit else ""), f"{v:,.0f}", f"{ratio:.2f}")
        md += f"| {k}{' (' + unit + ')' if unit else ''} | {v:,.0f} | {ratio:.2f} |\n"
    md += f"\nskillstack env overhead vs {bare_name}: {100 * overhead:.1f} %\n"
    console.print(t)
    console.print(f"skillstack env overhead vs {bare_name}: {100 * overhead:.1f} %")
    return md


def _latency_section(console: Console, library: Any, scene: Scene, planner_candidates: tuple[int, ...],
                     planners: tuple[str, ...], threads: int) -> tuple[dict[str, Any], str]:
    """Planner latency at each candidate count on the scene's default suite: results and their Markdown."""
    from skillstack.planners.suite import load_suite

    if scene.default_suite is not None:
        instructions = [e.instruction for e in load_suite(scene.default_suite, scene)]
    else:
        instructions = [t.instruction for t in scene.tasks.values()]
    latency: dict[str, Any] = {}
    for n in planner_candidates:
        latency[str(n)] = planner_latency(library, scene, n, list(planners), instructions)
    lt = Table(title="planner decision latency [ms per decision]")
    for col in ("planner", "candidates", "median", "p90", "cold median", "warm median"):
        lt.add_column(col)
    md = ("\n## Planner decision latency\n\n"
          f"{len(instructions)} suite instructions × 2 (first pass cold: instruction embedded; second warm), "
          f"{scene.name} observations, {threads} torch thread{'s' if threads != 1 else ''}.\n\n"
          "| planner | candidates | median [ms] | p90 [ms] | cold median [ms] | "
          "warm median [ms] |\n|---|---:|---:|---:|---:|---:|\n")
    for n, per in latency.items():
        for name, r in per.items():
            cells = [name, n, f"{r['median_ms']:.1f}", f"{r['p90_ms']:.1f}", f"{r['cold_median_ms']:.1f}",
                     f"{r['warm_median_ms']:.1f}"]
            lt.add_row(*cells)
            md += "| " + " | ".join(cells) + " |\n"
    console.print(lt)
    return latency, md


def run_throughput(env_id: str, steps: int, max_envs: int, out: Path, console: Console, repeats: int = 3,
                   sac_steps: int = 2000, ppo_steps: int = 4096, library: Any = None,
                   planner_candidates: tuple[int, ...] = (16, 64),
                   planners: tuple[str, ...] = ("saycan", "saycan-no-affordance", "saycan-causal"),
                   scene: Scene | None = None, planner_threads: int | None = None) -> dict:
    """Measure env steps/s of raw ``mj_step``, the bare simulator env (Meta-World's or robosuite's own, for
    ``metaworld/*`` and ``robosuite/*`` ids), the skillstack env and vectorised envs, SB3 SAC/PPO training steps/s
    (:func:`training_rate`) and planner decision latency (:func:`planner_latency`).

    The bare and skillstack envs step the same pre-drawn uniform random actions and reset at the registered
    horizon (the skillstack env also on success, which random actions practically never reach);
    measurements are interleaved ``repeats`` times and the median is reported; the skillstack env's overhead is the
    median over repeats of ``1 − ours/bare`` for each back-to-back pair (order alternating), with its quartiles.
    Everything is measured in this one
    run, so the ratios compare like with like. ``sac_steps``/``ppo_steps`` = 0 or ``library=None`` skip parts.
    Planner latency is measured in ``scene`` (its skills, observations and default instruction suite) with
    ``planner_threads`` torch threads (default: torch's own default at the start of this run, one per physical
    core — what a planner gets in a rollout; the SB3 training rates above run on one thread).
    """
    import mujoco
    import torch

    planner_threads = planner_threads or torch.get_num_threads()

    from skillstack.envs import make_env, resolve_env_id, unversioned

    env_id = resolve_env_id(env_id)
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
        bare = robosuite.make(unversioned(task), robots="Panda", has_renderer=False, has_offscreen_renderer=False,
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
    for r in range(repeats):
        rows["raw mj_step"].append(_rate(raw, steps * mj_per_step))  # one env step = mj_per_step mj_steps
        if r % 2 == 0:  # alternate the order within a pair so a drifting machine does not favour either
            rows[bare_name].append(_rate(bare_steps, steps))
            rows["skillstack env"].append(_rate(ours_steps, steps))
        else:
            rows["skillstack env"].append(_rate(ours_steps, steps))
            rows[bare_name].append(_rate(bare_steps, steps))
    paired = sorted(1 - o / b for o, b in zip(rows["skillstack env"], rows[bare_name], strict=True))
    vec = _vectorised_rates(env_id, steps, max_envs, ours.action_space.shape)
    train_rates: dict[str, float] = {}
    if sac_steps > 0:
        train_rates["SB3 SAC training (1 update/step)"] = training_rate(env_id, "sac", sac_steps)
    if ppo_steps > 0:
        train_rates["SB3 PPO training (defaults)"] = training_rate(env_id, "ppo", ppo_steps)
    med = {k: statistics.median(v) for k, v in rows.items()}
    # the overhead is the median of the per-pair overheads (each pair measured back to back): on a shared VM the
    # machine's speed drifts by more than the overhead between measurements, and pairing cancels most of it
    overhead = statistics.median(paired)
    quartiles = statistics.quantiles(paired, n=4) if len(paired) >= 2 else [overhead, overhead, overhead]
    results = {**{k: round(v, 1) for k, v in med.items()}, **{k: round(v, 1) for k, v in vec.items()},
               **{k: round(v, 1) for k, v in train_rates.items()}}
    md = _rates_table(console, f"throughput: {env_id} ({steps} steps, median of {repeats})", env_id, results,
                      med[bare_name], bare_name, overhead)
    md += (f"(median of {repeats} back-to-back pairs; quartiles {100 * quartiles[0]:.1f} % – "
           f"{100 * quartiles[2]:.1f} %)\n")
    latency: dict[str, Any] = {}
    if library is not None and planner_candidates and scene is not None:
        torch.set_num_threads(planner_threads)  # training_rate set one thread for the whole process
        latency, latency_md = _latency_section(console, library, scene, planner_candidates, planners,
                                               planner_threads)
        md += latency_md
    payload = {"env_id": env_id, "steps": steps, "repeats": repeats, "steps_per_s": results,
               "all_repeats": rows, "overhead_fraction": overhead, "bare": bare_name,
               "overhead_per_pair": paired, "overhead_quartiles": [quartiles[0], quartiles[2]],
               "mj_steps_per_env_step": mj_per_step,
               "config": {"sac_steps": sac_steps, "ppo_steps": ppo_steps, "max_envs": max_envs,
                          "planner_candidates": list(planner_candidates), "planners": list(planners),
                          "scene": scene.name if scene is not None else None,
                          "torch_threads": 1, "planner_torch_threads": planner_threads},
               "planner_latency_ms": latency}
    write_result(out, "throughput", payload, md)
    console.print(f"results → {out}/throughput.json, .md")
    return payload
