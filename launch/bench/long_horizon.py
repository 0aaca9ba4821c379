"""``skillstack bench long-horizon``: plan and execution success of planners on a scene's instruction suite."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from skillstack.envs.scenes import ASSETS, Scene
from skillstack.launch.bench.common import write_result


def run_long_horizon(planners: list[str], scene: Scene, suite_path: Path | None, seeds: list[int], execute: bool,
                     out: Path, library: Any, console: Console) -> dict:
    """``bench long-horizon``: plan/execution success per planner and SayCan family on an instruction suite of
    ``scene`` (default: the scene's first suite) → JSON + Markdown + PNG.

    Raises:
        ValueError: no suite given and the scene declares none.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skillstack.planners.evaluate import evaluate_planners, markdown_table
    from skillstack.planners.suite import FAMILIES, family_counts, load_suite

    path = suite_path or scene.default_suite
    if path is None:
        raise ValueError(f"scene {scene.name!r} declares no instruction suite: pass --suite")
    suite = load_suite(path, scene)
    t0 = time.time()
    result = evaluate_planners(planners, suite, library, scene, seeds=seeds, execute=execute)
    summary = result["summary"]
    shown = path.relative_to(ASSETS.parent) if path.is_relative_to(ASSETS.parent) else path
    md = (f"# Long-horizon planning ({scene.name}): {len(suite)} instructions × {len(seeds)} seed(s)\n\n"
          f"Suite `{shown}`, families "
          f"{family_counts(suite)}.\n\n" + markdown_table(summary)
          + "\nPlan success: the planner's closed-loop choices over the discrete domain (skill effects applied "
            "symbolically, affordances read on simulated observations) end with `done` in a goal state. "
            "Execution success: the goal holds at the end of the closed-loop rollout in simulation. "
            "Failures: planning = the plan already failed; execution = the plan succeeded but a skill did not.\n")
    payload = {"config": {"planners": planners, "scene": scene.name, "suite": str(path), "seeds": seeds,
                          "execute": execute},
               "wall_clock_s": round(time.time() - t0, 1),
               "summary": summary, "rows": result["rows"]}
    write_result(out, "long_horizon", payload, md)
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
