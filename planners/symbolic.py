"""Symbolic oracle planner: optimal skill sequences by breadth-first search over the tabletop's discrete states.

The domain is small (3 × 3 × 2 × 15 = 270 valid discrete states, 10 skills), so breadth-first search over
:meth:`~skillstack.envs.tabletop.SkillSpec.apply` from the current discrete state finds a shortest plan whose
end state satisfies the goal predicates — the reference for plan success and the teacher for learned planners.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from skillstack.envs.tabletop import BLOCKS, SKILL_SPECS, SkillSpec
from skillstack.planners.base import DONE, PLANNERS, Candidate, CandidateScore, Decision, Step


def satisfies(sym: Mapping[str, Any], goal: Mapping[str, bool]) -> bool:
    """Whether discrete state ``sym`` makes every goal predicate take its required value.

    Raises:
        KeyError: a goal predicate the symbolic domain does not know.
    """
    return all(holds(sym, k) == v for k, v in goal.items())


def holds(sym: Mapping[str, Any], predicate: str) -> bool:
    """Truth of a grounded predicate (e.g. ``block_in_drawer(red)``) in discrete state ``sym``.

    Raises:
        KeyError: unknown predicate.
    """
    simple = {
        "drawer_open": sym["drawer"] == "open",
        "drawer_closed": sym["drawer"] == "closed",
        "window_open": sym["window"] == "open",
        "window_closed": sym["window"] == "closed",
        "button_pressed": bool(sym["button_pressed"]),
        "hand_empty": all(sym[b] != "hand" for b in BLOCKS),
    }
    if predicate in simple:
        return simple[predicate]
    for b in BLOCKS:
        where = {f"holding({b})": "hand", f"block_in_drawer({b})": "drawer", f"block_in_bin({b})": "bin",
                 f"block_on_table({b})": "table"}
        if predicate in where:
            return sym[b] == where[predicate]
    raise KeyError(f"unknown predicate {predicate!r}")


def is_noop(spec: SkillSpec, sym: Mapping[str, Any]) -> bool:
    """Whether ``spec`` would succeed without changing anything in ``sym``: opening/closing something already
    open/closed, pressing a pressed button, picking the block already held (the success predicate already
    holds, so the executor reports success at once)."""
    k, t = spec.kind, spec.target
    if k == "open":
        return sym[t] == "open"
    if k == "close":
        return sym[t] == "closed"
    if k == "press":
        return bool(sym["button_pressed"])
    if k == "pick":
        return sym[t] == "hand"
    return False


def _key(sym: Mapping[str, Any]) -> tuple:
    return tuple(sorted(sym.items()))


def shortest_plan(
    start: Mapping[str, Any], goal: Mapping[str, bool], skills: Sequence[SkillSpec] | None = None,
    max_depth: int = 12,
) -> list[str] | None:
    """A shortest skill sequence from discrete state ``start`` to a state satisfying ``goal``.

    Returns:
        Skill names (``[]`` if the goal already holds), or ``None`` if unreachable within ``max_depth``.
        Ties break by the order of ``skills`` (deterministic).
    """
    skills = list(SKILL_SPECS.values()) if skills is None else list(skills)
    if satisfies(start, goal):
        return []
    frontier: deque[tuple[dict[str, Any], list[str]]] = deque([(dict(start), [])])
    seen = {_key(start)}
    while frontier:
        sym, plan = frontier.popleft()
        if len(plan) >= max_depth:
            continue
        for spec in skills:
            if not spec.applicable(sym):
                continue
            nxt = spec.apply(sym)
            k = _key(nxt)
            if k in seen:
                continue
            if satisfies(nxt, goal):
                return [*plan, spec.name]
            seen.add(k)
            frontier.append((nxt, [*plan, spec.name]))
    return None


class SymbolicPlanner:
    """Oracle planner: from the current discrete state, the first skill of a shortest plan to ``goal``.

    It needs the goal predicates (not the instruction text) and the discrete state, which it reads through
    ``state_fn(observation)`` — in the executor, the simulator's predicates.

    Args:
        goal: predicate → required value.
        state_fn: maps the current observation to the discrete state (keys of ``SYMBOLIC_VALUES``); or call
            :meth:`bind_env` (the executor does) to read the simulator's predicates.
    """

    def __init__(self, goal: Mapping[str, bool], state_fn: Any = None) -> None:
        self.goal = dict(goal)
        self.state_fn = state_fn

    def bind_env(self, env: Any) -> None:
        """Read the discrete state from ``env``'s predicates (privileged state; the executor calls this)."""
        from skillstack.envs.tabletop import symbolic_state

        self.state_fn = lambda _obs: symbolic_state(env.predicates)

    def plan_step(self, instruction: str, history: Sequence[Step], observation: npt.NDArray[np.float64],
                  candidates: Sequence[Candidate]) -> Decision:
        if self.state_fn is None:
            raise RuntimeError("SymbolicPlanner needs a state_fn or bind_env(env) before plan_step")
        sym = self.state_fn(observation)
        names = [c.name for c in candidates]
        specs = [SKILL_SPECS[n] for n in names if n in SKILL_SPECS]
        plan = shortest_plan(sym, self.goal, specs) if sym is not None else None
        choice = DONE if not plan else plan[0]
        scores = [CandidateScore(n, float(n == choice), 1.0, float(n == choice)) for n in names]
        return Decision(choice, scores, {"plan": plan, "state": sym})


PLANNERS.register("oracle", SymbolicPlanner)
