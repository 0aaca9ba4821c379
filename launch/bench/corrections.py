"""``skillstack bench corrections``: what language corrections and the correction memory buy, per planner.

For every scenario of a corrections suite (``assets/corrections/``) and layout seed ``s``, per planner:

1. *uncorrected* — the first instruction, no corrections (success = the person's intent goal holds);
2. *corrected* — the same episode with the scenario's scripted correction(s); the correction is distilled into a
   memory entry (a fresh memory per episode, merged afterwards into the planner's memory for seed ``s``);
3. *second, with memory* — the second instruction at layout seed ``SECOND_SEED_OFFSET + s``, no correction,
   with the memory built in step 2 from **all** scenarios (retrieval must find the right entry among them);
4. *second, without memory* — the same, with no memory.

Targets (issue 20): corrected ≥ 90 %; second with memory ≥ 80 % and ≥ 30 points above without memory.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from tqdm import tqdm

from skillstack.envs import make_env
from skillstack.envs.scenes import ASSETS, Scene
from skillstack.launch.bench.common import write_result

SECOND_SEED_OFFSET = 100
"""The second instruction of a scenario runs at layout seed ``100 + s`` (a layout the first never saw)."""

PHASES = ("uncorrected", "corrected", "second_memory", "second_no_memory")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of ``k`` successes in ``n`` trials (95 % for ``z = 1.96``)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def run_corrections(planners: list[str], scene: Scene, suite_path: Path, seeds: list[int], out: Path,
                    library: Any, console: Console, planner_kwargs: dict[str, dict[str, Any]] | None = None) -> dict:
    """Run the four phases (module docstring) for each planner and seed → ``out/corrections.{json,md}``.

    Raises:
        SuiteError: invalid suite.
        UnknownNameError / ValueError: unknown planner, or one the scene cannot use.
    """
    from skillstack.planners.base import make_planner
    from skillstack.planners.corrections import CorrectionInterpreter, CorrectionMemory, Embedder, ScriptedCorrections
    from skillstack.planners.executor import library_candidates, run_instruction
    from skillstack.planners.suite import load_correction_suite

    suite = load_correction_suite(suite_path, scene)
    loaded = library_candidates(library, scene)
    env = make_env(scene.env_id, task=None).unwrapped
    embedder = Embedder()
    interpreter = CorrectionInterpreter(scene, embedder)
    rows: list[dict[str, Any]] = []
    t0 = time.time()
    try:
        with tempfile.TemporaryDirectory(prefix="skillstack-corrections-") as tmp:
            total = len(planners) * len(seeds) * len(suite) * 4
            bar = tqdm(total=total, desc="corrections episodes", disable=not console.is_terminal)
            for name in planners:
                planner = make_planner(name, scene, **(planner_kwargs or {}).get(name, {}))
                for seed in seeds:
                    shared = CorrectionMemory(Path(tmp) / f"{name}-{seed}.json", embedder)
                    per: dict[str, dict[str, Any]] = {}

                    def episode(sc: Any, part: str, phase: str, seed: int = seed, name: str = name,
                                planner: Any = planner, **kw: Any) -> dict[str, Any]:
                        ep = getattr(sc, part)
                        s = seed if part == "first" else SECOND_SEED_OFFSET + seed
                        r = run_instruction(ep.instruction, planner, library, scene, seed=s,
                                            task=ep.task(f"{sc.id}-{part}"), loaded=loaded, env=env,
                                            interpreter=interpreter, **kw)
                        bar.update(1)
                        return {"planner": name, "scenario": sc.id, "kind": sc.kind, "phase": phase, "seed": s,
                                "instruction": ep.instruction, "success": r.success, "ended_by": r.ended_by,
                                "skills": [e.skill for e in r.executions], "steps": r.steps,
                                "corrections": [{k: v for k, v in c.items() if not k.startswith("table")}
                                                for c in r.corrections],
                                "memory": r.memory, "learned": r.learned}

                    for sc in suite:
                        per[sc.id] = {"uncorrected": episode(sc, "first", "uncorrected")}
                        own = CorrectionMemory(Path(tmp) / f"{name}-{seed}-{sc.id}.json", embedder)  # new, empty
                        per[sc.id]["corrected"] = episode(sc, "first", "corrected", memory=own,
                                                          corrections=ScriptedCorrections(sc.first.corrections))
                        for e in own.entries:
                            shared.add(e, save=False)
                    shared.save()
                    for sc in suite:
                        per[sc.id]["second_memory"] = episode(sc, "second", "second_memory", memory=shared,
                                                              learn=False)
                        per[sc.id]["second_no_memory"] = episode(sc, "second", "second_no_memory")
                    for sc in suite:
                        rows += [per[sc.id][p] for p in PHASES]
            bar.close()
    finally:
        env.close()
    summary = summarize(rows, planners)
    md = markdown(summary, suite_path, len(suite), seeds)
    payload = {"config": {"planners": planners, "scene": scene.name, "suite": str(suite_path), "seeds": seeds,
                          "second_seed_offset": SECOND_SEED_OFFSET},
               "wall_clock_s": round(time.time() - t0, 1), "summary": summary, "rows": rows}
    write_result(out, "corrections", payload, md)
    console.print(md)
    console.print(f"results → {out}/corrections.{{json,md}}")
    return payload


def summarize(rows: list[dict[str, Any]], planners: list[str]) -> dict[str, Any]:
    """Success rate (with Wilson 95 % interval) per planner and phase, and per scenario kind."""
    out: dict[str, Any] = {}
    for name in planners:
        mine = [r for r in rows if r["planner"] == name]
        s: dict[str, Any] = {}
        for phase in PHASES:
            rs = [r for r in mine if r["phase"] == phase]
            k, n = sum(r["success"] for r in rs), len(rs)
            lo, hi = wilson(k, n)
            s[phase] = {"success": k / n if n else None, "n": n, "ci95": [round(lo, 3), round(hi, 3)]}
        kinds: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
        for r in mine:
            kinds[r["kind"]][r["phase"]].append(r["success"])
        s["kinds"] = {kind: {p: (sum(v) / len(v) if v else None) for p, v in ph.items()} for kind, ph in kinds.items()}
        corr = [c for r in mine if r["phase"] == "corrected" for c in r["corrections"] if "amendment" in c]
        s["corrections_understood"] = (sum(bool(c["amendment"]["require"] or c["amendment"]["referent"]
                                                or c["amendment"]["stop"]) for c in corr) / len(corr)) if corr else None
        s["memory_gain_points"] = (100 * (s["second_memory"]["success"] - s["second_no_memory"]["success"])
                                   if s["second_memory"]["n"] else None)
        out[name] = s
    return out


def markdown(summary: dict[str, Any], suite_path: Path, n: int, seeds: list[int]) -> str:
    shown = suite_path.relative_to(ASSETS.parent) if suite_path.is_relative_to(ASSETS.parent) else suite_path

    def pct(x: dict[str, Any]) -> str:
        return "–" if x["success"] is None else (f"{100 * x['success']:.0f} % "
                                                 f"[{100 * x['ci95'][0]:.0f}, {100 * x['ci95'][1]:.0f}]")

    lines = [f"# Corrections benchmark: {n} scenarios × {len(seeds)} seed(s)\n", f"Suite `{shown}`.\n",
             "| planner | uncorrected | with the correction | second, with memory | second, without memory | "
             "memory gain | corrections understood |", "|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        gain = "–" if s["memory_gain_points"] is None else f"{s['memory_gain_points']:+.0f} pts"
        und = "–" if s["corrections_understood"] is None else f"{100 * s['corrections_understood']:.0f} %"
        lines.append(f"| {name} | {pct(s['uncorrected'])} | {pct(s['corrected'])} | {pct(s['second_memory'])} | "
                     f"{pct(s['second_no_memory'])} | {gain} | {und} |")
    lines.append("\nSuccess = the person's intended goal holds at the end of the closed-loop rollout in simulation "
                 "(Wilson 95 % intervals). Targets: with the correction ≥ 90 %; second instruction with memory "
                 "≥ 80 % and ≥ 30 points above without memory.\n")
    kinds = sorted({k for s in summary.values() for k in s["kinds"]})
    lines += ["| planner | kind | " + " | ".join(PHASES) + " |", "|---|---|" + "---|" * len(PHASES)]
    for name, s in summary.items():
        for k in kinds:
            v = s["kinds"].get(k, {})
            lines.append(f"| {name} | {k} | " + " | ".join(
                "–" if v.get(p) is None else f"{100 * v[p]:.0f} %" for p in PHASES) + " |")
    return "\n".join(lines) + "\n"
