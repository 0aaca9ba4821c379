"""Plan success and execution success of planners on an instruction suite (SayCan's two metrics).

* **Plan success** (Ahn et al. 2022 judge it by hand; here it is checked symbolically, for scenes with a
  symbolic domain): the planner runs closed-loop over the *discrete* domain — after each decision the skill's
  effects are applied (the domain action's ``apply``), the scene is reset into the new discrete state
  (same layout seed) so that affordances and learned planners read a real observation — and the plan
  succeeds if the planner chooses ``done`` in a state satisfying the goal. A skill whose preconditions do
  not hold ends the plan as a failure ("infeasible"), as does running out of decisions; a skill whose
  effect already holds (closing a closed window) is a no-op, counted but allowed, because it also succeeds
  at once in simulation.
* **Execution success**: the same planner drives the closed-loop executor
  (:func:`~skillstack.planners.executor.run_instruction`) in simulation, and the goal predicates are read at
  the end.

Failures are attributed as in SayCan: an execution failure with a successful plan is a skill-execution error,
otherwise a planning error (scenes without a symbolic domain: execution success only, failures unattributed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from skillstack.envs import make_env
from skillstack.envs.scenes import Scene
from skillstack.planners.base import DONE, Candidate, EpisodeContext, Planner, Step, make_planner
from skillstack.planners.executor import library_candidates, run_instruction
from skillstack.planners.suite import FAMILIES, InstructionSpec
from skillstack.planners.symbolic import satisfies


@dataclass
class PlanOutcome:
    """Symbolic plan of one instruction: the chosen skills, success, and why it ended."""

    plan: list[str] = field(default_factory=list)
    success: bool = False
    ended_by: str = ""  # "done", "infeasible:<skill>", "decisions"
    noops: int = 0  # steps whose effects already held (allowed; they succeed at once when executed)
    decisions: list[dict[str, Any]] = field(default_factory=list)


def plan_symbolically(planner: Planner, spec: InstructionSpec, candidates: Sequence[Candidate], env: Any,
                      scene: Scene, seed: int = 0, max_decisions: int = 12) -> PlanOutcome:
    """Run ``planner`` over the discrete domain of ``scene`` from ``spec.initial`` (see the module docstring).

    Raises:
        ValueError: the scene has no symbolic domain.
    """
    domain = scene.require_domain("plan success")
    out = PlanOutcome()
    sym = dict(spec.initial)
    history: list[Step] = []
    planner.reset(EpisodeContext(scene=scene, env=env, goal=spec.goal))
    blocked: set[str] = set()  # the executor's loop guard: no-ops are not offered again until the state changes
    for _ in range(max_decisions):
        obs, _ = env.reset(seed=seed, options={"task": None, "state": sym})
        d = planner.plan_step(spec.instruction, history, obs, [c for c in candidates if c.name not in blocked])
        out.decisions.append(d.to_dict())
        if d.choice == DONE:
            out.ended_by = "done"
            out.success = satisfies(domain, sym, spec.goal)
            return out
        out.plan.append(d.choice)
        s = domain.actions[d.choice]
        if domain.is_noop(d.choice, sym):
            out.noops += 1
            blocked.add(d.choice)
            history.append(Step(d.choice, s.description, True))
            continue
        if not s.applicable(sym):
            out.ended_by = f"infeasible:{d.choice}"
            return out
        sym = s.apply(sym)
        blocked.clear()
        history.append(Step(d.choice, s.description, True))
    out.ended_by = "decisions"
    return out


def evaluate_planners(
    planners: Sequence[str],
    suite: Sequence[InstructionSpec],
    library: Any,
    scene: Scene,
    seeds: Sequence[int] = (0,),
    execute: bool = True,
    progress: bool = True,
    planner_kwargs: dict[str, dict[str, Any]] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Plan and execution success of every planner on every instruction × seed.

    Args:
        planners: names in :data:`~skillstack.planners.base.PLANNERS` (e.g. ``saycan``, ``learned``, ``oracle``).
        suite: instructions (:func:`~skillstack.planners.suite.load_suite`).
        library: the skill library (affordances for planning, policies for execution).
        scene: the scene of the suite (plan success needs its symbolic domain; without one only execution
            success is measured).
        seeds: layout seeds; each instruction is planned and executed once per seed.
        execute: also run the closed-loop executor in simulation.
        planner_kwargs: per-planner constructor arguments.

    Returns:
        ``{"rows": [...], "summary": {planner: {...}}}`` — one row per (planner, instruction, seed) with the
        plan, both successes and the failure attribution; the summary has overall and per-family rates.
    """
    loaded = library_candidates(library, scene)
    candidates = loaded[0]
    env = make_env(scene.env_id, task=None).unwrapped
    rows = []
    built = {name: make_planner(name, scene, **(planner_kwargs or {}).get(name, {})) for name in planners}
    symbolic = scene.domain is not None
    total = len(planners) * len(suite) * len(seeds)
    bar = tqdm(total=total, desc="planners × instructions", disable=not progress)
    try:
        for name in planners:
            for spec in suite:
                for seed in seeds:
                    planner = built[name]
                    row: dict[str, Any] = {"planner": name, "id": spec.id, "family": spec.family,
                                           "instruction": spec.instruction, "seed": seed,
                                           "optimal_plan": list(spec.optimal_plan)}
                    po = None
                    if symbolic:
                        t0 = time.perf_counter()
                        po = plan_symbolically(planner, spec, candidates, env, scene, seed)
                        ms = 1000 * (time.perf_counter() - t0) / max(len(po.decisions), 1)
                        row.update(plan=po.plan, plan_success=po.success, plan_ended_by=po.ended_by,
                                   plan_noops=po.noops, ms_per_decision=round(ms, 2))
                    if execute:
                        t0 = time.perf_counter()
                        r = run_instruction(spec.instruction, planner, library, scene, seed=seed, task=spec.task(),
                                            loaded=loaded, env=env)
                        if po is None:
                            row["ms_per_decision"] = round(1000 * (time.perf_counter() - t0) / max(len(r.decisions),
                                                                                                  1), 2)
                        row.update(executed=[e.skill for e in r.executions],
                                   skill_failures=sum(not e.success for e in r.executions),
                                   execution_success=r.success, execution_ended_by=r.ended_by, steps=r.steps)
                        row["failure"] = (None if r.success else "unattributed" if po is None else
                                          "execution" if po.success else "planning")
                    rows.append(row)
                    if on_result:
                        on_result(row)
                    bar.update()
    finally:
        bar.close()
        env.close()
    return {"rows": rows, "summary": summarize(rows, planners)}


def summarize(rows: Sequence[dict[str, Any]], planners: Sequence[str]) -> dict[str, Any]:
    """Overall and per-family rates per planner, and SayCan's failure split (planning vs execution)."""
    out: dict[str, Any] = {}
    for name in planners:
        rs = [r for r in rows if r["planner"] == name]
        if not rs:
            continue

        def rate(key: str, sub: Sequence[dict[str, Any]]) -> float | None:
            vals = [r[key] for r in sub if key in r]
            return round(sum(vals) / len(vals), 4) if vals else None

        fails = [r["failure"] for r in rs if r.get("failure")]
        out[name] = {
            "n": len(rs),
            "plan_success": rate("plan_success", rs),
            "execution_success": rate("execution_success", rs),
            "families": {f: {"n": sum(r["family"] == f for r in rs),
                             "plan_success": rate("plan_success", [r for r in rs if r["family"] == f]),
                             "execution_success": rate("execution_success", [r for r in rs if r["family"] == f])}
                         for f in FAMILIES if any(r["family"] == f for r in rs)},
            "failures": {"planning": fails.count("planning"), "execution": fails.count("execution"),
                         **({"unattributed": fails.count("unattributed")} if "unattributed" in fails else {})},
            "ms_per_decision": round(sum(r.get("ms_per_decision", 0.0) for r in rs) / len(rs), 2),
        }
    return out


def markdown_table(summary: dict[str, Any]) -> str:
    """SayCan-style table: one row per planner, plan/execution success overall and per family."""
    fams = [f for f in FAMILIES if any(f in s["families"] for s in summary.values())]
    head = "| planner | n | plan | execution | " + " | ".join(fams) + " | failures (plan / exec) |"
    sep = "|" + "---|" * (5 + len(fams))
    lines = [head, sep]

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{100 * x:.0f} %"

    for name, s in summary.items():
        cells = [f"{pct(s['families'][f]['plan_success'])} / {pct(s['families'][f]['execution_success'])}"
                 if f in s["families"] else "" for f in fams]
        lines.append(f"| {name} | {s['n']} | {pct(s['plan_success'])} | {pct(s['execution_success'])} | "
                     + " | ".join(cells) + f" | {s['failures']['planning']} / {s['failures']['execution']} |")
    return "\n".join(lines) + "\n\nFamily cells: plan / execution success.\n"


def to_json(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v if not hasattr(v, "__dataclass_fields__") else asdict(v) for k, v in result.items()}
