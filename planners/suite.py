"""Instruction suites (evaluation) and few-shot prompts (planner input) of a scene.

Both are JSON files under ``assets/`` that the scene declares (:class:`~skillstack.envs.scenes.Scene`):

* instruction suites (e.g. ``assets/instructions/tabletop.json``) — instructions in SayCan's seven families
  (Ahn et al. 2022, Table 1), each with goal predicates (success) and a discrete start state;
* a few-shot prompt (e.g. ``assets/planners/prompt_tabletop.json``) — instructions with the skill texts that
  carry them out (SayCan's prompt format).

Every file is validated against its scene when loaded (start states and goal predicates against the symbolic
domain, step texts against the scene's skills), so a typo fails with the entry's id and the valid names instead
of silently producing an unsolvable task. :func:`goal_for` maps an instruction to its goal.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skillstack.envs.registry import unknown_name_message
from skillstack.envs.scenes import Scene, Task
from skillstack.planners.symbolic import shortest_plan

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
        initial: full discrete start state in the scene's symbolic domain (``{}`` for scenes without one).
        optimal_plan: a shortest skill sequence from ``initial`` to ``goal`` (the symbolic oracle's plan).
    """

    id: str
    family: str
    instruction: str
    goal: dict[str, bool]
    initial: dict[str, Any]
    optimal_plan: tuple[str, ...] = field(default=())

    def task(self) -> Task:
        """The entry as a task of its scene's env (reset option ``{"task": ...}``)."""
        return Task(self.id, self.instruction, dict(self.goal), dict(self.initial) or None, self.optimal_plan)


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


def _state(path: Path, where: str, initial: Any, scene: Scene) -> dict[str, Any]:
    if initial is None:
        initial = {}
    if not isinstance(initial, dict):
        raise SuiteError(f"{path}: {where}: 'initial' must be an object")
    if scene.domain is None:
        if initial:
            raise SuiteError(f"{path}: {where}: scene {scene.name!r} has no symbolic domain, so no 'initial' state")
        return {}
    domain = scene.domain
    state = {**domain.default_state, **initial}
    for k, v in state.items():
        if k not in domain.variables:
            raise SuiteError(f"{path}: {where}: {unknown_name_message('state variable', k, list(domain.variables))}")
        if v not in domain.variables[k]:
            raise SuiteError(f"{path}: {where}: {k}={v!r} is not one of {list(domain.variables[k])}")
    if not domain.valid(state):
        raise SuiteError(f"{path}: {where}: {state} is not a valid state of scene {scene.name!r}")
    return state


def _entries(path: Path, key: str, noun: str, required: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, entry)`` for each entry of the list ``key`` of a suite file, after checking the file's schema, the
    required keys of every entry and that ids are unique (``where`` names the entry in error messages).

    Raises:
        SuiteError: as the loaders document.
    """
    entries = _read(path).get(key)
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{path}: '{key}' must be a non-empty list")
    seen = set()
    for i, e in enumerate(entries):
        where = f"{noun} {i} ({e.get('id', '?') if isinstance(e, dict) else '?'})"
        if not isinstance(e, dict) or not all(k in e for k in required):
            names = [f"'{k}'" for k in required]
            raise SuiteError(f"{path}: {where}: needs {', '.join(names[:-1])} and {names[-1]}")
        if e["id"] in seen:
            raise SuiteError(f"{path}: {where}: duplicate id")
        seen.add(e["id"])
        yield where, e


_GROUNDED = re.compile(r"^([a-z_]+)(\(([a-z0-9_]+)\))?$")


def _check_predicate(path: Path, where: str, scene: Scene, state: dict[str, Any], name: str) -> None:
    if scene.domain is not None:
        try:
            scene.domain.holds(state, name)
        except KeyError:
            raise SuiteError(f"{path}: {where}: unknown goal predicate {name!r}") from None
        return
    m = _GROUNDED.match(name)  # no domain: check the predicate's name against the scene's vocabulary
    heads = {v.split("(")[0] for v in scene.predicates}
    if m is None or m.group(1) not in heads:
        raise SuiteError(f"{path}: {where}: unknown goal predicate {name!r} (scene {scene.name!r} predicates: "
                         f"{', '.join(scene.predicates)})")


def load_suite(path: str | Path, scene: Scene) -> list[InstructionSpec]:
    """Load and validate an instruction suite of ``scene``.

    Raises:
        SuiteError: missing/invalid file, duplicate ids, unknown family/predicate/state value, or (scenes with a
            symbolic domain) a goal that no skill sequence reaches from the start state (checked with the
            symbolic oracle).
    """
    path = Path(path)
    out = []
    for where, e in _entries(path, "instructions", "entry", ("id", "family", "instruction", "goal")):
        if e["family"] not in FAMILIES:
            raise SuiteError(f"{path}: {where}: {unknown_name_message('family', e['family'], list(FAMILIES))}")
        if not isinstance(e["instruction"], str) or not e["instruction"].strip():
            raise SuiteError(f"{path}: {where}: empty instruction")
        goal = e["goal"]
        if not isinstance(goal, dict) or not goal or not all(isinstance(v, bool) for v in goal.values()):
            raise SuiteError(f"{path}: {where}: 'goal' must map predicates to true/false")
        state = _state(path, where, e.get("initial"), scene)
        for k in goal:
            _check_predicate(path, where, scene, state, k)
        plan: list[str] | None = []
        if scene.domain is not None:
            plan = shortest_plan(scene.domain, state, goal)
            if plan is None:
                raise SuiteError(f"{path}: {where}: the goal {goal} is unreachable from {state}")
        out.append(InstructionSpec(e["id"], e["family"], e["instruction"], dict(goal), state, tuple(plan)))
    return out


def load_prompt(path: str | Path, skill_texts: Sequence[str]) -> list[PromptExample]:
    """Load a few-shot prompt; every step text must be one of ``skill_texts``.

    Raises:
        SuiteError: missing/invalid file or an unknown step text (lists the valid ones).
    """
    path = Path(path)
    data = _read(path)
    texts = list(skill_texts)
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


def scene_prompt(scene: Scene) -> list[PromptExample]:
    """The scene's few-shot prompt (step texts: the scene's skill descriptions); without a prompt file, one
    example per named task that has a reference plan.

    Raises:
        SuiteError: missing/invalid file, an unknown step text, or no prompt file and no task with a plan.
    """
    if scene.prompt is not None:
        return load_prompt(scene.prompt, list(scene.skills.values()))
    out = [PromptExample(t.instruction, tuple(scene.skills[s] for s in t.plan)) for t in scene.tasks.values() if t.plan]
    if not out:
        raise SuiteError(f"scene {scene.name!r} has neither a prompt file nor tasks with reference plans")
    return out


SCORER_SETTINGS = ("temperature", "retrieval_temperature", "history_weight", "content_weight", "top_k")
"""Embedding-scorer settings a scene's prompt file may set (its ``"embedding_scorer"`` object)."""


def scene_scorer_settings(scene: Scene) -> dict[str, Any]:
    """The embedding scorer's settings chosen for ``scene``: the ``"embedding_scorer"`` object of its prompt file
    (keys from :data:`SCORER_SETTINGS`, e.g. ``{"content_weight": 1.0}``), or ``{}`` (the scorer's defaults).

    Raises:
        SuiteError: the object is not a mapping or has an unknown key (lists the valid ones).
    """
    if scene.prompt is None:
        return {}
    settings = _read(Path(scene.prompt)).get("embedding_scorer", {})
    if not isinstance(settings, dict):
        raise SuiteError(f"{scene.prompt}: 'embedding_scorer' must be an object, got {type(settings).__name__}")
    for key, value in settings.items():
        if key not in SCORER_SETTINGS:
            valid = unknown_name_message("setting", key, list(SCORER_SETTINGS))
            raise SuiteError(f"{scene.prompt}: 'embedding_scorer': {valid}")
        if key == "top_k":
            ok = value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and (
                value >= 0 if key in ("history_weight", "content_weight") else value > 0)
        if not ok:
            raise SuiteError(f"{scene.prompt}: 'embedding_scorer': {key} = {value!r} is not valid (temperatures > 0, "
                             f"weights >= 0, top_k a positive integer or null)")
    return dict(settings)


def scene_prompt_header(scene: Scene) -> str | None:
    """The line that opens the likelihood backends' prompt for ``scene`` (the robot describing its scene): the
    ``"header"`` string of its prompt file, or ``None`` (the tabletop header,
    :data:`skillstack.planners.lm.PROMPT_HEADER`).

    Raises:
        SuiteError: the header is not a string.
    """
    if scene.prompt is None:
        return None
    header = _read(Path(scene.prompt)).get("header")
    if header is not None and not isinstance(header, str):
        raise SuiteError(f"{scene.prompt}: 'header' must be a string, got {type(header).__name__}")
    return header if header is None or header.endswith("\n") else header + "\n"


def suite_instructions(scene: Scene) -> list[str]:
    """Every instruction of every instruction suite of ``scene``: what exemplar banks and training sets must
    leave out."""
    out = []
    for path in scene.suites:
        out += [s.instruction for s in load_suite(path, scene)]
    return out


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def goal_for(scene: Scene, instruction: str) -> tuple[Task | None, str | None]:
    """The task an instruction stands for, and where it was found: an entry of the scene's default instruction
    suite, then a named task, then an entry of its other suites (case- and whitespace-insensitive match).

    Returns:
        ``(task, source)``, or ``(None, None)`` when no goal is known for the instruction.
    """
    norm = _norm(instruction)
    sources: list[tuple[str, list[Task]]] = []
    if scene.default_suite is not None:
        sources.append(("instruction suite entry", [s.task() for s in load_suite(scene.default_suite, scene)]))
    sources.append(("task", list(scene.tasks.values())))
    for path in scene.suites[1:]:
        sources.append(("instruction suite entry", [s.task() for s in load_suite(path, scene)]))
    for label, tasks in sources:
        for t in tasks:
            if _norm(t.instruction) == norm:
                return t, f"{label} {t.name}"
    return None, None


def family_counts(suite: list[InstructionSpec]) -> dict[str, int]:
    """Number of instructions per family, in :data:`FAMILIES` order."""
    c = Counter(s.family for s in suite)
    return {f: c.get(f, 0) for f in FAMILIES}


@dataclass(frozen=True)
class CorrectionEpisode:
    """One episode of a corrections scenario.

    Attributes:
        instruction: what the person says.
        goal: the person's intent (success), which the planner does not see.
        initial: full discrete start state.
        corrections: the scripted corrections (:class:`~skillstack.planners.corrections.ScheduledCorrection`);
            empty for the second episode.
    """

    instruction: str
    goal: dict[str, bool]
    initial: dict[str, Any]
    corrections: tuple[Any, ...] = ()

    def task(self, name: str) -> Task:
        return Task(name, self.instruction, dict(self.goal), dict(self.initial) or None)


@dataclass(frozen=True)
class CorrectionScenario:
    """A corrections-benchmark scenario: a first episode with a scripted correction, and a second, different
    instruction/layout where the same knowledge applies."""

    id: str
    kind: str
    first: CorrectionEpisode
    second: CorrectionEpisode


def load_correction_suite(path: str | Path, scene: Scene) -> list[CorrectionScenario]:
    """Load and validate a corrections suite (``assets/corrections/*.json``) of ``scene``.

    Raises:
        SuiteError: missing/invalid file, duplicate ids, unknown predicate or state value, an intent goal that is
            unreachable or already holds at the start, a first episode without corrections or a second with them.
    """
    from skillstack.planners.corrections import CorrectionError, parse_corrections
    from skillstack.planners.symbolic import satisfies

    path = Path(path)
    out = []
    for where, e in _entries(path, "scenarios", "scenario", ("id", "kind", "first", "second")):
        episodes = []
        for part in ("first", "second"):
            ep, w = e[part], f"{where}.{part}"
            if not isinstance(ep, dict) or not isinstance(ep.get("instruction"), str) or not ep["instruction"].strip():
                raise SuiteError(f"{path}: {w}: needs a non-empty 'instruction'")
            goal = ep.get("goal")
            if not isinstance(goal, dict) or not goal or not all(isinstance(v, bool) for v in goal.values()):
                raise SuiteError(f"{path}: {w}: 'goal' must map predicates to true/false")
            state = _state(path, w, ep.get("initial"), scene)
            for k in goal:
                _check_predicate(path, w, scene, state, k)
            if scene.domain is not None:
                if satisfies(scene.domain, state, goal):
                    raise SuiteError(f"{path}: {w}: the goal already holds at the start")
                if shortest_plan(scene.domain, state, goal) is None:
                    raise SuiteError(f"{path}: {w}: the goal {goal} is unreachable from {state}")
            try:
                script = tuple(parse_corrections(ep.get("corrections", []), f"{path}: {w}.corrections"))
            except CorrectionError as err:
                raise SuiteError(str(err)) from None
            if (part == "first") != bool(script):
                raise SuiteError(f"{path}: {w}: the first episode needs corrections, the second has none")
            episodes.append(CorrectionEpisode(ep["instruction"], dict(goal), state, script))
        out.append(CorrectionScenario(e["id"], str(e["kind"]), *episodes))
    return out
