"""``skillstack bench sample-efficiency``: wall-clock and env steps to a success threshold per env and algorithm."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from skillstack.envs.fileio import atomic_write_json
from skillstack.launch.bench.common import write_result


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
            atomic_write_json(out / "sample_efficiency.partial.json", results)
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
    write_result(out, "sample_efficiency", {"threshold": threshold, "results": results}, md)
    return {"results": results}
