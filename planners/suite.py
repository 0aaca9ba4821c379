"""Instruction suites (evaluation) and few-shot prompts (planner input) for the tabletop scene.

Both are JSON files under ``assets/``:

* ``assets/instructions/tabletop.json`` — the evaluation suite: instructions in SayCan's seven families
  (Ahn et al. 2022, Table 1), each with goal predicates (success) and a discrete start state;
* ``assets/planners/prompt_tabletop.json`` — the few-shot prompt of the language scorers: instructions with
  the skill texts that carry them out (SayCan's prompt format).

Every file is validated when loaded, so a typo fails with the entry's id and the valid names instead of
silently producing an unsolvable task.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skillstack.envs.registry import unknown_name_message
from skillstack.envs.tabletop import DEFAULT_STATE, SKILL_SPECS, SYMBOLIC_VALUES, LongHorizonTask

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_SUITE = ASSETS / "instructions" / "tabletop.json"
DEFAULT_PROMPT = ASSETS / "planners" / "prompt_tabletop.json"

FAMILIES = ("single_primitive", "nl_nouns", "nl_verbs", "structured", "embodiment", "crowd_sourced",
            "long_horizon")
"""SayCan's instruction families (Ahn et al. 2022, Table 1), in the paper's order."""


class SuiteError(ValueError):
    """A malformed instruction suite or prompt file (the message names the file and the entry)."""


@dataclass(frozen=True)
class InstructionSpec:
    """One evaluation instruction.

    Attributes:
        id: unique id, e.g. ``"long-01"``.
        family: one of :data:`FAMILIES`.
        instruction: the natural-language instruction.
        goal: predicate → required value (success = all hold at the end).
        initial: full discrete start state (keys of :data:`~skillstack.envs.tabletop.SYMBOLIC_VALUES`).
        optimal_plan: a shortest skill sequence from ``initial`` to ``goal`` (the symbolic oracle's plan).
    """

    id: str
    family: str
    instruction: str
    goal: dict[str, bool]
    initial: dict[str, Any]
    optimal_plan: tuple[str, ...] = field(default=())

    def task(self) -> LongHorizonTask:
        """The entry as a task for ``skillstack/Tabletop-v0`` (reset option ``{"task": ...}``)."""
        return LongHorizonTask(self.id, self.instruction, dict(self.goal), dict(self.initial))


@dataclass(frozen=True)
class PromptExample:
    """One few-shot example: an instruction and the skill texts that carry it out (``done`` implied)."""

    instruction: str
    steps: tuple[str, ...]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such file") from None
    except json.JSONDecodeError as e:
        raise SuiteError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise SuiteError(f"{path}: expected a JSON object with schema_version 1")
    return data


def _state(path: Path, where: str, initial: Any) -> dict[str, Any]:
    if initial is None:
        initial = {}
    if not isinstance(initial, dict):
        raise SuiteError(f"{path}: {where}: 'initial' must be an object")
    state = {**DEFAULT_STATE, **initial}
    for k, v in state.items():
        if k not in SYMBOLIC_VALUES:
            raise SuiteError(f"{path}: {where}: {unknown_name_message('state variable', k, list(SYMBOLIC_VALUES))}")
        if v not in SYMBOLIC_VALUES[k]:
            raise SuiteError(f"{path}: {where}: {k}={v!r} is not one of {list(SYMBOLIC_VALUES[k])}")
    if sum(state[b] == "hand" for b in ("red", "blue")) > 1:
        raise SuiteError(f"{path}: {where}: the hand holds at most one block")
    return state


def load_suite(path: str | Path = DEFAULT_SUITE) -> list[InstructionSpec]:
    """Load and validate an instruction suite.

    Raises:
        SuiteError: missing/invalid file, duplicate ids, unknown family/predicate/state value, or a goal
            that no skill sequence reaches from the start state (checked with the symbolic oracle).
    """
    from skillstack.planners.symbolic import holds, shortest_plan

    path = Path(path)
    data = _read(path)
    entries = data.get("instructions")
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{path}: 'instructions' must be a non-empty list")
    out, seen = [], set()
    for i, e in enumerate(entries):
        where = f"entry {i} ({e.get('id', '?') if isinstance(e, dict) else '?'})"
        if not isinstance(e, dict) or not all(k in e for k in ("id", "family", "instruction", "goal")):
            raise SuiteError(f"{path}: {where}: needs 'id', 'family', 'instruction' and 'goal'")
        if e["id"] in seen:
            raise SuiteError(f"{path}: {where}: duplicate id")
        seen.add(e["id"])
        if e["family"] not in FAMILIES:
            raise SuiteError(f"{path}: {where}: {unknown_name_message('family', e['family'], list(FAMILIES))}")
        if not isinstance(e["instruction"], str) or not e["instruction"].strip():
            raise SuiteError(f"{path}: {where}: empty instruction")
        goal = e["goal"]
        if not isinstance(goal, dict) or not goal or not all(isinstance(v, bool) for v in goal.values()):
            raise SuiteError(f"{path}: {where}: 'goal' must map predicates to true/false")
        state = _state(path, where, e.get("initial"))
        for k in goal:
            try:
                holds(state, k)
            except KeyError:
                raise SuiteError(f"{path}: {where}: unknown goal predicate {k!r}") from None
        plan = shortest_plan(state, goal)
        if plan is None:
            raise SuiteError(f"{path}: {where}: the goal {goal} is unreachable from {state}")
        out.append(InstructionSpec(e["id"], e["family"], e["instruction"], dict(goal), state, tuple(plan)))
    return out


def load_prompt(path: str | Path = DEFAULT_PROMPT, skill_texts: Sequence[str] | None = None) -> list[PromptExample]:
    """Load a few-shot prompt; every step text must be one of ``skill_texts`` (default: the tabletop skills'
    descriptions, :data:`SKILL_SPECS`).

    Raises:
        SuiteError: missing/invalid file or an unknown step text (lists the valid ones).
    """
    path = Path(path)
    data = _read(path)
    texts = list(skill_texts) if skill_texts is not None else [s.description for s in SKILL_SPECS.values()]
    out = []
    for i, e in enumerate(data.get("examples") or []):
        if not isinstance(e, dict) or not isinstance(e.get("instruction"), str) or not isinstance(e.get("steps"), list):
            raise SuiteError(f"{path}: example {i}: needs 'instruction' (text) and 'steps' (list of skill texts)")
        for s in e["steps"]:
            if s not in texts:
                raise SuiteError(f"{path}: example {i}: {unknown_name_message('skill text', s, texts)}")
        out.append(PromptExample(e["instruction"], tuple(e["steps"])))
    if not out:
        raise SuiteError(f"{path}: 'examples' must be a non-empty list")
    return out


ROBOSUITE_PROMPT = Path(DEFAULT_PROMPT).with_name("prompt_robosuite_pickplace.json")
"""Few-shot prompt of the robosuite PickPlace scene."""


def robosuite_prompt(path: str | Path = ROBOSUITE_PROMPT) -> list[PromptExample]:
    """The robosuite PickPlace scene's few-shot prompt (step texts: that scene's skill descriptions).

    Raises:
        SuiteError: missing/invalid file or an unknown step text.
    """
    from skillstack.envs.robosuite_scene import skill_description, skill_names

    return load_prompt(path, [skill_description(s) for s in skill_names()])


def all_suite_instructions(folder: str | Path = DEFAULT_SUITE.parent) -> list[str]:
    """Every instruction of every suite file in ``folder`` (``assets/instructions/*.json``): what exemplar banks
    and training sets must leave out."""
    out = []
    for path in sorted(Path(folder).glob("*.json")):
        out += [s.instruction for s in load_suite(path)]
    return out


def family_counts(suite: list[InstructionSpec]) -> dict[str, int]:
    """Number of instructions per family, in :data:`FAMILIES` order."""
    c = Counter(s.family for s in suite)
    return {f: c.get(f, 0) for f in FAMILIES}
