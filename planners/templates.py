"""Templated instructions with their oracle plans: the exemplar bank of the embedding scorer and the
training set of the learned planner.

Sub-goals ("atoms", e.g. *put the red block in the drawer*) are phrased with a small fixed vocabulary
(the scene's own nouns and verbs: drawer, window, button, red/blue block, bin; open, close, press, pick up,
put), and joined in order with "and", ", then", "and then". The skill texts that carry an instruction out are
the symbolic oracle's shortest plans for each atom in turn, from the state the previous atoms leave behind
(a person reads "A, then B" as "do A, then B"). The evaluation suite (``assets/instructions``) uses other
wording (synonyms such as "crimson cube" or "wastebasket", casual requests); a test checks that no suite
instruction is generated here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from skillstack.envs.tabletop import BLOCKS, DEFAULT_STATE, SKILL_SPECS
from skillstack.planners.symbolic import satisfies, shortest_plan


@dataclass(frozen=True)
class Atom:
    """One sub-goal: phrasings, the goal predicates and the start-state changes it needs to be non-trivial."""

    key: str
    phrasings: tuple[str, ...]
    goal: tuple[tuple[str, bool], ...]
    needs: tuple[tuple[str, Any], ...] = ()


def _atoms() -> list[Atom]:
    atoms = [
        Atom("open_drawer", ("open the drawer", "pull the drawer open"), (("drawer_open", True),)),
        Atom("close_drawer", ("close the drawer", "push the drawer closed"), (("drawer_closed", True),),
             (("drawer", "open"),)),
        Atom("open_window", ("open the window", "slide the window open"), (("window_open", True),)),
        Atom("close_window", ("close the window", "slide the window closed"), (("window_closed", True),),
             (("window", "open"),)),
        Atom("press_button", ("press the button", "push the button"), (("button_pressed", True),)),
    ]
    atoms += [
        Atom("both_drawer", ("put both blocks in the drawer", "place both blocks inside the drawer"),
             tuple((f"block_in_drawer({b})", True) for b in BLOCKS)),
        Atom("both_bin", ("put both blocks in the bin", "place both blocks into the bin"),
             tuple((f"block_in_bin({b})", True) for b in BLOCKS)),
    ]
    for b in BLOCKS:
        atoms += [
            Atom(f"pick_{b}", (f"pick up the {b} block", f"grasp the {b} block"), ((f"holding({b})", True),)),
            Atom(f"{b}_drawer", (f"put the {b} block in the drawer", f"place the {b} block inside the drawer"),
                 ((f"block_in_drawer({b})", True),)),
            Atom(f"{b}_bin", (f"put the {b} block in the bin", f"place the {b} block into the bin"),
                 ((f"block_in_bin({b})", True),)),
        ]
    return atoms


ATOMS = _atoms()
JOINERS = (" and ", ", then ", " and then ")
SKILL_TEXT = {name: spec.description for name, spec in SKILL_SPECS.items()}


@dataclass(frozen=True)
class TemplateInstruction:
    """A generated instruction: text, goal, start state and the oracle plan (skill names)."""

    instruction: str
    goal: dict[str, bool]
    initial: dict[str, Any]
    plan: tuple[str, ...]

    @property
    def steps(self) -> tuple[str, ...]:
        """The plan as skill texts (the prompt format)."""
        return tuple(SKILL_TEXT[n] for n in self.plan)


def _compatible(seq: tuple[Atom, ...]) -> bool:
    keys = [a.key for a in seq]
    blocks_used = [b for k in keys for b in (BLOCKS if k.startswith("both_") else [k.split("_")[0]]) if b in BLOCKS]
    if len(set(blocks_used)) != len(blocks_used):  # one goal per block
        return False
    if any(k.startswith("pick_") for k in keys[:-1]):  # holding is only a final goal
        return False
    # one of open/close per thing
    return all(not (f"open_{thing}" in keys and f"close_{thing}" in keys) for thing in ("drawer", "window"))


def generate(max_atoms: int = 3, seed: int = 0, max_per_length: int = 400,
             exclude: Iterable[str] = ()) -> list[TemplateInstruction]:
    """Deterministically generate instructions of 1..``max_atoms`` atoms with their oracle plans.

    Plans are sequential: each atom's shortest plan from the state the previous ones leave (so "close the
    drawer and put the red block in the drawer" closes, reopens and closes; sequences whose atoms undo
    each other are skipped). At most ``max_per_length`` sequences of each length (sampled with ``seed``),
    every phrasing of the first two atoms combined with one joiner.

    Args:
        exclude: instruction texts to leave out (the evaluation suite's, so that no evaluated instruction is
            ever an exemplar or a training example; compared case- and whitespace-insensitively).

    Returns:
        A list of :class:`TemplateInstruction` without duplicate texts.
    """
    banned = {" ".join(t.lower().split()) for t in exclude}
    rng = np.random.default_rng(seed)
    out: dict[str, TemplateInstruction] = {}
    for n in range(1, max_atoms + 1):
        seqs = [s for s in itertools.permutations(ATOMS, n) if _compatible(s)]
        if len(seqs) > max_per_length:
            seqs = [seqs[i] for i in sorted(rng.choice(len(seqs), max_per_length, replace=False))]
        for seq in seqs:
            initial = dict(DEFAULT_STATE)
            for i, a in enumerate(seq):  # "close X" starts with X open unless an earlier atom opens X anyway
                thing = a.key.removeprefix("close_") if a.key.startswith("close_") else None
                touched = any(b.key == f"open_{thing}" or b.key.endswith(f"_{thing}") for b in seq[:i])
                if not touched:
                    initial.update(dict(a.needs))
            state, plan, goal, ok = dict(initial), [], {}, True
            for a in seq:
                g = dict(a.goal)
                sub = shortest_plan(state, g)
                if sub is None:
                    ok = False
                    break
                for name in sub:
                    state = SKILL_SPECS[name].apply(state)
                plan += sub
                goal.update(g)
            if not ok or not plan:
                continue
            if not satisfies(state, goal):  # a later atom undid an earlier one
                continue
            for phr in itertools.product(*[a.phrasings for a in seq]):
                if n > 1 and any(p != a.phrasings[0] for p, a in zip(phr[2:], seq[2:], strict=True)):
                    continue
                joiner = JOINERS[int(rng.integers(len(JOINERS)))]
                text = joiner.join(phr) if n <= 2 else ", ".join(phr[:-1]) + "," + joiner.lstrip(",") + phr[-1]
                if " ".join(text.lower().split()) in banned:
                    continue
                out.setdefault(text, TemplateInstruction(text, dict(goal), dict(initial), tuple(plan)))
    return list(out.values())
