"""Templated instructions with their oracle plans: the exemplar bank of the embedding scorer and the
training set of the learned planner, for any scene with a symbolic domain and a templated language.

A scene declares sub-goals ("atoms", e.g. *put the red block in the drawer*) with their phrasings, the joiners
("and", ", then", "and then"), which atom sequences combine and their start states
(:class:`~skillstack.envs.scenes.TemplateLanguage`; the tabletop's is :mod:`skillstack.envs.tabletop.language`).
This module joins phrasings into instructions and computes each instruction's plan: the symbolic oracle's
shortest plans for each atom in turn, from the state the previous atoms leave behind (a person reads "A, then B"
as "do A, then B"). The evaluation suites use other wording; no suite instruction is ever generated (``exclude``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from skillstack.envs.scenes import Atom, Scene, SymbolicDomain
from skillstack.planners.symbolic import apply_plan, satisfies, shortest_plan


@dataclass(frozen=True)
class TemplateInstruction:
    """A generated instruction: text, goal, start state, the oracle plan (skill names) and its skill texts."""

    instruction: str
    goal: dict[str, bool]
    initial: dict[str, Any]
    plan: tuple[str, ...]
    steps: tuple[str, ...]
    """The plan as skill texts (the prompt format)."""


def generate(scene: Scene, max_atoms: int = 3, seed: int = 0, max_per_length: int = 400,
             exclude: Iterable[str] = (), all_orders: bool = False) -> list[TemplateInstruction]:
    """Deterministically generate instructions of 1..``max_atoms`` atoms of ``scene`` with their oracle plans.

    Plans are sequential: each atom's shortest plan from the state the previous ones leave (so "close the
    drawer and put the red block in the drawer" closes, reopens and closes; sequences whose atoms undo
    each other are skipped). At most ``max_per_length`` sequences of each length (sampled with ``seed``),
    every phrasing of the first two atoms combined with one joiner.

    Args:
        exclude: instruction texts to leave out (the evaluation suites', so that no evaluated instruction is
            ever an exemplar or a training example; compared case- and whitespace-insensitively).
        all_orders: for a language with ``any_order``, one instruction per order of a sub-goal over several
            predicates (the embedding scorer's bank, :func:`skillstack.planners.lm.scene_exemplars`); otherwise
            (training sets, retrieval of goals) one plan per instruction text, the symbolic planner's.

    Returns:
        A list of :class:`TemplateInstruction` without duplicates (one per text, or per text and order with
        ``all_orders`` and the language's ``any_order``).

    Raises:
        ValueError: the scene has no symbolic domain or no templated language.
    """
    domain = scene.require_domain("templated instructions")
    if scene.language is None:
        raise ValueError(f"scene {scene.name!r} declares no templated language")
    lang = scene.language
    any_order = lang.any_order and all_orders
    text_of: Mapping[str, str] = {name: a.description for name, a in domain.actions.items()}
    banned = {" ".join(t.lower().split()) for t in exclude}
    rng = np.random.default_rng(seed)
    out: dict[tuple[str, tuple[str, ...]], TemplateInstruction] = {}
    for n in range(1, max_atoms + 1):
        seqs = [s for s in itertools.permutations(lang.atoms, n) if lang.compatible(s)]
        if len(seqs) > max_per_length:
            seqs = [seqs[i] for i in sorted(rng.choice(len(seqs), max_per_length, replace=False))]
        for seq in seqs:
            initial = lang.initial_state(seq)
            goal = {p: v for a in seq for p, v in a.goal}
            # "A and B" (no "then") leaves the order open: with any_order, its exemplars also show B's plan first
            swapped = _sequence_plans(domain, initial, seq[::-1], any_order) if any_order and n == 2 else []
            for plan in _sequence_plans(domain, initial, seq, any_order):
                for phr in itertools.product(*[a.phrasings for a in seq]):
                    if n > 1 and any(p != a.phrasings[0] for p, a in zip(phr[2:], seq[2:], strict=True)):
                        continue
                    joiner = lang.joiners[int(rng.integers(len(lang.joiners)))]
                    text = joiner.join(phr) if n <= 2 else ", ".join(phr[:-1]) + "," + joiner.lstrip(",") + phr[-1]
                    if " ".join(text.lower().split()) in banned:
                        continue
                    plans = [plan, *(p for p in swapped if p != plan)] if joiner.strip() == "and" else [plan]
                    for pl in plans:
                        out.setdefault((text, tuple(pl)), TemplateInstruction(
                            text, dict(goal), dict(initial), tuple(pl), tuple(text_of[p] for p in pl)))
    return list(out.values())


def _sequence_plans(domain: SymbolicDomain, initial: Mapping[str, Any], seq: Sequence[Atom],
                    any_order: bool) -> list[list[str]]:
    """The plans that reach ``seq``'s atoms one after another from ``initial`` (each atom by
    :func:`_atom_plans` from the state the previous ones leave; one plan per order with ``any_order``), keeping only
    those that are not empty and end with every atom's goal holding (a later atom may undo an earlier one)."""
    goal = {p: v for a in seq for p, v in a.goal}
    branches: list[tuple[dict[str, Any], list[str]]] = [(dict(initial), [])]  # (state, plan) per order
    for a in seq:
        branches = [(st, plan + sub) for state, plan in branches
                    for st, sub in _atom_plans(domain, state, a, any_order)]
    return [plan for st, plan in branches if plan and satisfies(domain, st, goal)]


def _atom_plans(domain: SymbolicDomain, state: Mapping[str, Any], atom: Atom,
                any_order: bool) -> list[tuple[dict[str, Any], list[str]]]:
    """``(end state, plan)`` for each way to reach ``atom``'s goal from ``state``: without ``any_order`` (or for a
    single predicate) the symbolic planner's shortest plan; with it, instead, every order of the goal predicates
    (each reached in turn by its shortest plan) whose plan is as short as the planner's, or the planner's plan if
    no order is (a plan that interleaves the predicates is then not shown). ``[]`` if the goal is unreachable."""
    goal = dict(atom.goal)
    best = shortest_plan(domain, state, goal)
    if best is None:
        return []
    if any_order and len(goal) > 1:
        out: dict[tuple[str, ...], dict[str, Any]] = {}
        for order in itertools.permutations(goal.items()):
            st, plan = dict(state), []
            for pred, value in order:
                sub = shortest_plan(domain, st, {pred: value})
                if sub is None:
                    break
                st, plan = apply_plan(domain, st, sub), plan + sub
            else:
                if len(plan) == len(best) and satisfies(domain, st, goal):
                    out.setdefault(tuple(plan), st)
        if out:
            return [(st, list(plan)) for plan, st in out.items()]
    return [(apply_plan(domain, state, best), list(best))]

