"""Symbolic oracle planner: optimal skill sequences by breadth-first search over a scene's symbolic domain.

Domains are small (the tabletop: 3 × 3 × 2 × 15 = 270 valid discrete states, 10 skills), so breadth-first search
over the actions' ``apply`` from the current discrete state finds a shortest plan whose end state satisfies the
goal predicates — the reference for plan success and the teacher for learned planners. Everything here works on
any :class:`~skillstack.envs.scenes.SymbolicDomain`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from skillstack.envs.scenes import SymbolicAction, SymbolicDomain
from skillstack.planners.base import (
    DONE,
    Candidate,
    CandidateScore,
    Decision,
    EpisodeContext,
    PlannerSpec,
    Step,
    register_planner,
)


def satisfies(domain: SymbolicDomain, sym: Mapping[str, Any], goal: Mapping[str, bool]) -> bool:
    """Whether discrete state ``sym`` makes every goal predicate take its required value.

    Raises:
        KeyError: a goal predicate the symbolic domain does not know.
    """
    return all(domain.holds(sym, k) == v for k, v in goal.items())


def apply_plan(domain: SymbolicDomain, state: Mapping[str, Any], plan: Sequence[str]) -> dict[str, Any]:
    """The discrete state after executing ``plan`` (skill names) from ``state``, every skill succeeding.

    Raises:
        KeyError: a skill name the symbolic domain does not know.
    """
    st = dict(state)
    for name in plan:
        st = domain.actions[name].apply(st)
    return st


def _key(sym: Mapping[str, Any]) -> tuple:
    return tuple(sorted(sym.items()))


def shortest_plan(
    domain: SymbolicDomain, start: Mapping[str, Any], goal: Mapping[str, bool],
    actions: Sequence[SymbolicAction] | None = None, max_depth: int = 12,
) -> list[str] | None:
    """A shortest skill sequence from discrete state ``start`` to a state satisfying ``goal``.

    Args:
        actions: the skills to search over (default: every action of ``domain``, in its order).

    Returns:
        Skill names (``[]`` if the goal already holds), or ``None`` if unreachable within ``max_depth``.
        Ties break by the order of ``actions`` (deterministic).
    """
    actions = list(domain.actions.values()) if actions is None else list(actions)
    if satisfies(domain, start, goal):
        return []
    frontier: deque[tuple[dict[str, Any], list[str]]] = deque([(dict(start), [])])
    seen = {_key(start)}
    while frontier:
        sym, plan = frontier.popleft()
        if len(plan) >= max_depth:
            continue
        for spec in actions:
            if not spec.applicable(sym):
                continue
            nxt = spec.apply(sym)
            k = _key(nxt)
            if k in seen:
                continue
            if satisfies(domain, nxt, goal):
                return [*plan, spec.name]
            seen.add(k)
            frontier.append((nxt, [*plan, spec.name]))
    return None


def shortest_plan_by_affordance(
    domain: SymbolicDomain, start: Mapping[str, Any], goal: Mapping[str, bool], candidates: Sequence[Candidate],
    observation: npt.NDArray[np.float64], max_depth: int = 12,
) -> tuple[list[str] | None, dict[str, float]]:
    """A shortest plan from ``start`` to ``goal`` whose first skill has the highest affordance on ``observation``
    among the first skills of all shortest plans (ties, and candidates without an affordance model — read as
    1.0 —, break by the candidates' order, so without models this is :func:`shortest_plan`'s plan's first step).

    Symbolic search says *which* orders reach the goal in the fewest skills; the value functions say which of
    them is most likely to succeed *from this state* — the geometric feasibility that Text2Motion (Lin et al.
    2023) scores plans by, here used only to break ties between equally short plans (never to lengthen one).
    Example: with the can and the milk to put away, picking the milk first and the can first are both 4-skill
    plans; the one whose pick affordance is higher is chosen.

    Args:
        candidates: the skills offered (their order, names and affordance models).
        observation: the current observation (the affordances' input).

    Returns:
        ``(plan, affordances)``: the plan (``[]`` if the goal holds, ``None`` if unreachable within
        ``max_depth``) and the affordance of every tied first skill.
    """
    actions = [domain.actions[c.name] for c in candidates if c.name in domain.actions]
    if satisfies(domain, start, goal):
        return [], {}
    by_name = {c.name: c for c in candidates}
    best: list[tuple[int, str, list[str]]] = []  # (length, first skill, rest) of the shortest continuations
    for spec in actions:
        if not spec.applicable(start):
            continue
        rest = shortest_plan(domain, spec.apply(start), goal, actions, max_depth - 1)
        if rest is None:
            continue
        if not best or 1 + len(rest) < best[0][0]:
            best = [(1 + len(rest), spec.name, rest)]
        elif 1 + len(rest) == best[0][0]:
            best.append((1 + len(rest), spec.name, rest))
    if not best:
        return None, {}
    scores: dict[str, float] = {}
    for _, name, _ in best:
        c = by_name[name]
        scores[name] = 1.0 if c.affordance is None else float(c.affordance(observation))
    _, name, rest = max(best, key=lambda b: scores[b[1]])  # max keeps the first of equal scores: candidate order
    return [name, *rest], scores


class SymbolicPlanner:
    """Oracle planner: from the current discrete state, the first skill of a shortest plan to the goal (among
    equally short plans, the one whose first skill has the highest affordance: :func:`shortest_plan_by_affordance`).

    It needs the goal predicates (not the instruction text) and the discrete state, which it reads from the
    episode's scene env (privileged state) through the scene's symbolic domain. Both come from
    :meth:`reset` (the executor calls it at the start of every episode).

    Args:
        scene: the scene (must have a symbolic domain).
        goal: goal predicates (default: the episode context's goal).
        state_fn: ``observation -> discrete state`` (default: the domain's reading of the env's predicates).
    """

    def __init__(self, scene: Any = None, goal: Mapping[str, bool] | None = None, state_fn: Any = None) -> None:
        self.domain = scene.require_domain("the oracle planner") if scene is not None else None
        self.goal = dict(goal) if goal is not None else None
        self.state_fn = state_fn
        self.corrections: Any = None

    def reset(self, context: EpisodeContext) -> None:
        """Take the goal and the discrete state of this episode (privileged state)."""
        self.domain = context.scene.require_domain("the oracle planner")
        if context.goal is not None:
            self.goal = dict(context.goal)
        if context.env is not None:
            self.state_fn = context.state_reader("the oracle planner")
        self.corrections = None

    def correct(self, corrections: Any) -> None:
        """A person's corrections amend the goal (:meth:`Corrections.amend_goal
        <skillstack.planners.corrections.Corrections.amend_goal>`)."""
        self.corrections = corrections

    def plan_step(self, instruction: str, history: Sequence[Step], observation: npt.NDArray[np.float64],
                  candidates: Sequence[Candidate]) -> Decision:
        if self.state_fn is None or self.domain is None or self.goal is None:
            raise RuntimeError("SymbolicPlanner needs reset(EpisodeContext(scene, env, goal)) before plan_step")
        sym = self.state_fn(observation)
        names = [c.name for c in candidates]
        goal = self.corrections.amend_goal(self.goal, sym) if self.corrections else self.goal
        plan, tied = (shortest_plan_by_affordance(self.domain, sym, goal, candidates, observation)
                      if sym is not None else (None, {}))
        choice = DONE if not plan else plan[0]
        scores = [CandidateScore(n, float(n == choice), tied.get(n, 1.0), float(n == choice)) for n in names]
        info: dict[str, Any] = {"plan": plan, "state": sym, "tied_first_skills": tied}
        if self.corrections:
            info["corrected_goal"] = goal
        return Decision(choice, scores, info)


register_planner(PlannerSpec(
    "oracle", SymbolicPlanner, "symbolic oracle: first skill of a breadth-first shortest plan to the goal "
    "(privileged state)", needs_domain=True, needs_goal=True))
