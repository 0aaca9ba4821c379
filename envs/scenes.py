"""Scenes for hierarchical rollouts, and their one registry.

A **scene** is everything the layers above the simulator need to know about one long-horizon setting: the
scene env that long-horizon episodes run in, the skill envs whose skills act in it (its skill family), its
named tasks and instruction suites, its predicate vocabulary, its symbolic domain (or none), its few-shot
prompt, the templated language used to build exemplars, and how an instruction maps to a goal. The CLI, the
executor, the planners and the benchmarks ask :data:`SCENES`; none of them names a scene.

Built-in scenes register when :mod:`skillstack.envs` is imported (``tabletop``, ``robosuite-pickplace``).
Third-party scenes register from their own module — any importable module that calls :func:`register_scene`
(and :func:`skillstack.envs.register_env` for its envs) — found through the ``skillstack.plugins`` entry-point
group of installed distributions or the ``SKILLSTACK_PLUGINS`` environment variable (comma-separated module
names), both imported by :func:`load_plugins` the first time a scene is looked up. Adding a scene is one folder
(its env module) plus one :func:`register_scene` call; see DEVELOPERS.md.

A scene env (the Gymnasium env at :attr:`Scene.env_id`, unwrapped) provides:

* ``predicates`` — ``dict[str, bool]`` of the grounded predicates now;
* ``skill_succeeded(skill_env_id, start_predicates, predicates) -> bool`` — a skill's success predicate;
* ``task`` — the current :class:`Task` (or ``None``) and ``reset(seed=..., options={"task": Task | name})``;
* with a symbolic domain, also ``reset(options={"state": <discrete state>})`` (symbolic plan evaluation) and
  ``reset(options={"state": ..., "hand": "random"})`` (the arm where skills start: learned-planner data);
* optionally ``begin_skill(skill_env_id, on_step=None)`` and ``setup_steps`` — called by the executor before
  each skill execution, so a scene can set up the low-level control that skill was trained with (the robosuite
  scene moves the arm to its ready pose and holds the hand vertical during picks); it calls ``on_step()`` after
  each control step it runs (video frames), sets ``setup_steps`` to their number, and returns the new
  observation if it moved the robot, else ``None``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from skillstack.envs.registry import Registry

ASSETS = Path(__file__).resolve().parent.parent / "assets"
"""The repository's ``assets/`` folder (instruction suites, prompts, shipped skills)."""


@dataclass(frozen=True)
class Task:
    """A long-horizon task of a scene: a goal (conjunction of grounded predicates) with an instruction.

    Attributes:
        name: task name (unique within its scene).
        instruction: natural-language instruction, e.g. ``"put the red block in the drawer and close it"``.
        goal: predicate → required truth value, e.g. ``{"block_in_drawer(red)": True, "drawer_closed": True}``.
        initial: discrete start state in the scene's symbolic domain (``None``: the scene's default start).
        plan: a reference skill sequence (optional; scenes with a symbolic domain compute shortest plans instead).
    """

    name: str
    instruction: str
    goal: Mapping[str, bool]
    initial: Mapping[str, Any] | None = None
    plan: tuple[str, ...] = ()

    def satisfied(self, p: Mapping[str, bool]) -> bool:
        """Whether the grounded predicates ``p`` give every goal predicate its required value.

        Raises:
            KeyError: a goal predicate missing from ``p``.
        """
        return all(bool(p[k]) == v for k, v in self.goal.items())


class SymbolicAction(Protocol):
    """A skill of a symbolic domain: text, human-readable preconditions/effects and their encoding."""

    name: str
    description: str
    preconditions: tuple[str, ...]
    effects: tuple[str, ...]

    def applicable(self, state: Mapping[str, Any]) -> bool: ...

    def apply(self, state: Mapping[str, Any]) -> dict[str, Any]: ...


class SymbolicDomain(Protocol):
    """A scene's discrete abstraction (STRIPS-like): state variables, actions (= skills) and predicates.

    Planners that reason symbolically (the oracle's breadth-first search, the generative planner's validator,
    symbolic plan evaluation, templated exemplars) use only this interface.
    """

    variables: Mapping[str, tuple[Any, ...]]
    """State variable → its values, e.g. ``{"drawer": ("closed", "open", "ajar"), ...}``."""
    default_state: Mapping[str, Any]
    """Start of a fresh long-horizon episode."""
    actions: Mapping[str, SymbolicAction]
    """Skill name → action, in a fixed order (ties in plan search break by this order)."""

    def valid(self, state: Mapping[str, Any]) -> bool:
        """Whether ``state`` is a legal assignment of every variable."""
        ...

    def holds(self, state: Mapping[str, Any], predicate: str) -> bool:
        """Truth of a grounded predicate in ``state``. Raises ``KeyError`` for an unknown predicate."""
        ...

    def is_noop(self, action: str, state: Mapping[str, Any]) -> bool:
        """Whether ``action`` would succeed at once without changing ``state`` (e.g. opening an open drawer)."""
        ...

    def state_of(self, predicates: Mapping[str, bool]) -> dict[str, Any]:
        """The discrete state read from the simulator's grounded predicates."""
        ...

    def sample_state(self, rng: np.random.Generator,
                     require: Callable[[Mapping[str, Any]], bool] | None = None) -> dict[str, Any]:
        """A uniformly drawn valid state (optionally satisfying ``require``)."""
        ...


@dataclass(frozen=True)
class Atom:
    """One sub-goal of templated instructions (e.g. *put the red block in the drawer*).

    Attributes:
        key: identifier, e.g. ``"red_drawer"``.
        phrasings: ways to say it, e.g. ``("put the red block in the drawer", "place the red block inside ...")``.
        goal: ``((predicate, value), ...)`` the sub-goal's goal predicates.
        needs: ``((state variable, value), ...)`` start-state changes that make it non-trivial (e.g. "close the
            drawer" needs the drawer open).
    """

    key: str
    phrasings: tuple[str, ...]
    goal: tuple[tuple[str, bool], ...]
    needs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class TemplateLanguage:
    """Templated instructions of a scene (the exemplar bank of the embedding scorer, the learned planner's data).

    Attributes:
        atoms: sub-goals with their phrasings (generated into instructions by :mod:`skillstack.planners.templates`).
        joiners: how phrasings are joined, e.g. ``(" and ", ", then ")``.
        compatible: which atom sequences make sense together.
        initial_state: the start state of an atom sequence (e.g. "close the drawer" starts with it open).
        any_order: an atom with several goal predicates ("put every object in its bin") may reach them in any
            order, and the generated exemplars show every order whose plan is as short as the shortest (one
            exemplar per order, same text). ``False``: one plan per atom, the symbolic planner's.
    """

    atoms: tuple[Atom, ...]
    joiners: tuple[str, ...]
    compatible: Callable[[Sequence[Atom]], bool]
    initial_state: Callable[[Sequence[Atom]], dict[str, Any]]
    any_order: bool = False
    parseable: bool = True
    """Whether instruction parsing (``goal-grounding-parse``) and corrections read this language. ``False`` for a
    language written only as the embedding scorer's exemplar bank (the robosuite scene's: the parser has no rule
    for goals shared by conjoined objects, "put the can and the milk carton in their bins")."""


@dataclass(frozen=True)
class Scene:
    """One long-horizon scene (see the module docstring).

    Attributes:
        name: the scene's CLI name, e.g. ``"tabletop"`` (``skillstack rollout --scene tabletop``).
        env_id: registered env of long-horizon episodes, e.g. ``"skillstack/Tabletop-v0"``.
        skill_env_prefix: registry prefix of the skill envs whose skills act in this scene, e.g. ``"tabletop/"``
            (its skill family: a library skill belongs to the scene iff its ``env_id`` starts with this).
        description: one line for listings.
        skills: skill name → language description (the family's skills, whether or not a library has them).
        tasks: named tasks (:class:`Task`), in a fixed order.
        predicates: predicate vocabulary: name (``holding(b)``) → definition with thresholds in metres.
        domain: the symbolic domain, or ``None`` (then symbolic planners are refused for this scene).
        suites: instruction-suite JSON files; the first is the default evaluation suite.
        prompt: few-shot prompt JSON of the language scorers (``None``: a prompt built from the tasks).
        language: templated instructions (``None``: the exemplars are the prompt only).
        state_features: observation indices that describe the scene's objects, not the arm (what a learned
            planner reads; ``None``: the whole observation).
        lexicon: multilingual lexicon JSON of the scene's vocabulary (:mod:`skillstack.planners.lexicon`; read by
            the goal-parsing planner), or ``None``.
    """

    name: str
    env_id: str
    skill_env_prefix: str
    description: str
    skills: Mapping[str, str]
    tasks: Mapping[str, Task]
    predicates: Mapping[str, str]
    domain: SymbolicDomain | None = None
    suites: tuple[Path, ...] = ()
    prompt: Path | None = None
    language: TemplateLanguage | None = None
    state_features: tuple[int, ...] | None = None
    lexicon: Path | None = None

    def owns(self, skill_env_id: str) -> bool:
        """Whether a skill trained in ``skill_env_id`` acts in this scene."""
        return skill_env_id.startswith(self.skill_env_prefix)

    def task(self, name: str) -> Task:
        """The named task.

        Raises:
            UnknownNameError: no such task (lists the valid ones, "did you mean").
        """
        from skillstack.envs.registry import UnknownNameError, unknown_name_message

        if name not in self.tasks:
            raise UnknownNameError(unknown_name_message(f"{self.name} task", name, list(self.tasks)))
        return self.tasks[name]

    @property
    def default_suite(self) -> Path | None:
        """The default instruction suite (first of :attr:`suites`), or ``None``."""
        return self.suites[0] if self.suites else None

    def require_domain(self, why: str) -> SymbolicDomain:
        """The symbolic domain.

        Raises:
            ValueError: the scene has none (``why`` says what needed it).
        """
        if self.domain is None:
            with_domain = [n for n in SCENES.names() if SCENES.get(n).domain is not None]
            raise ValueError(f"{why} needs a symbolic domain, and scene {self.name!r} has none "
                             f"(scenes with one: {', '.join(with_domain) or 'none'})")
        return self.domain


DEFAULT_SCENE = "tabletop"
"""The scene that commands use when ``--scene`` is not given."""

SCENES: Registry[Scene] = Registry("scene")
"""Every registered scene by name; use :func:`get_scene` (it loads plugins first)."""


def register_scene(scene: Scene) -> Scene:
    """Register ``scene``.

    Raises:
        ValueError: the name is already registered.
    """
    SCENES.register(scene.name, scene)
    return scene


PLUGIN_GROUP = "skillstack.plugins"
"""Entry-point group of third-party plugins (modules that register scenes, envs, skills or planners)."""
PLUGIN_ENV = "SKILLSTACK_PLUGINS"
"""Environment variable: comma-separated plugin modules to import (e.g. a scene defined outside any package)."""
_loaded_plugins: set[str] = set()


def load_plugins(modules: Iterable[str] | None = None) -> list[str]:
    """Import plugin modules once each: entry points of :data:`PLUGIN_GROUP`, :data:`PLUGIN_ENV`, ``modules``.

    Returns:
        The modules imported by this call.

    Raises:
        ImportError: a named plugin module cannot be imported (the message names it and where it came from).
    """
    from importlib.metadata import entry_points

    wanted: list[tuple[str, str]] = []
    for ep in entry_points(group=PLUGIN_GROUP):
        wanted.append((ep.value.split(":")[0], f"entry point {ep.name!r} of group {PLUGIN_GROUP}"))
    wanted += [(m.strip(), f"${PLUGIN_ENV}") for m in os.environ.get(PLUGIN_ENV, "").split(",") if m.strip()]
    wanted += [(m, "argument") for m in (modules or ())]
    done = []
    for mod, source in wanted:
        if mod in _loaded_plugins:
            continue
        _loaded_plugins.add(mod)
        try:
            importlib.import_module(mod)
        except ImportError as e:
            _loaded_plugins.discard(mod)
            raise ImportError(f"skillstack plugin {mod!r} (from {source}) cannot be imported: {e}") from e
        done.append(mod)
    return done


def get_scene(name: str) -> Scene:
    """The registered scene ``name`` (plugins loaded first).

    Raises:
        UnknownNameError: unknown scene (lists the valid ones, "did you mean").
    """
    load_plugins()
    return SCENES.get(name)






def as_task(scene: Scene, task: str | Task | None) -> Task | None:
    """``task`` as a :class:`Task` of ``scene`` (a name is looked up; ``None`` stays ``None``).

    Raises:
        UnknownNameError: unknown task name.
    """
    if task is None or isinstance(task, Task):
        return task
    return scene.task(task)
