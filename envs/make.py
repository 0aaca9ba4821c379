"""Env registry: names → Gymnasium ids with string entry points, plus demonstration sources."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from skillstack.envs.registry import Registry


class Expert(Protocol):
    """A demonstration source: ``predict(obs) -> action``."""

    def predict(self, obs: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class EnvSpec:
    """How to build one registered env.

    Attributes:
        name: registry name and Gymnasium id, e.g. ``"metaworld/drawer-open-v3"``.
        entry_point: ``"module:Class"`` string, imported lazily.
        kwargs: keyword arguments for the entry point.
        max_episode_steps: Gymnasium ``TimeLimit`` horizon [steps].
        description: natural-language description of the task.
        expert_entry_point: ``"module:Class"`` of a scripted expert, or ``None``.
        expert_kwargs: keyword arguments for the expert.
    """

    name: str
    entry_point: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    max_episode_steps: int = 500
    description: str = ""
    expert_entry_point: str | None = None
    expert_kwargs: dict[str, Any] = field(default_factory=dict)


ENVS: Registry[EnvSpec] = Registry("env")


def register_env(spec: EnvSpec) -> EnvSpec:
    """Add ``spec`` to skillstack's registry and register it with Gymnasium.

    Raises:
        ValueError: the name is already registered.
    """
    ENVS.register(spec.name, spec)
    gym.register(spec.name, entry_point=spec.entry_point, kwargs=dict(spec.kwargs),
                 max_episode_steps=spec.max_episode_steps, disable_env_checker=True)
    return spec


def env_names() -> list[str]:
    """All registered env names, sorted."""
    return ENVS.names()


def make_env(name: str, **kwargs: Any) -> gym.Env:
    """Build the registered env ``name`` through ``gymnasium.make``.

    Args:
        name: registry name, e.g. ``"metaworld/drawer-open-v3"``.
        **kwargs: forwarded to ``gymnasium.make`` (``render_mode``, ``max_episode_steps``, env kwargs).

    Raises:
        UnknownNameError: ``name`` is not registered (lists valid names and a "did you mean").
    """
    ENVS.get(name)  # clear error before Gymnasium's own
    return gym.make(name, **kwargs)


def _load(entry_point: str) -> Any:
    module, _, attr = entry_point.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_expert(name: str) -> Expert:
    """Scripted expert (demonstration source) of the registered env ``name``.

    Raises:
        UnknownNameError: ``name`` is not registered.
        ValueError: the env has no scripted expert.
    """
    spec = ENVS.get(name)
    if spec.expert_entry_point is None:
        raise ValueError(f"env {name!r} has no scripted expert")
    return _load(spec.expert_entry_point)(**spec.expert_kwargs)


def _register_builtins() -> None:
    from skillstack.envs.metaworld import TASK_DESCRIPTIONS, TASKS
    from skillstack.envs.robosuite_env import ORACLE_TASKS, ROBOSUITE_TASKS
    from skillstack.envs.robosuite_scene import SKILL_MAX_STEPS, SKILL_PREFIX, skill_description
    from skillstack.envs.robosuite_scene import skill_names as scene_skill_names
    from skillstack.envs.tabletop import SKILL_SPECS

    for task in TASKS:
        register_env(
            EnvSpec(
                name=f"metaworld/{task}",
                entry_point="skillstack.envs.metaworld:MetaWorldEnv",
                kwargs={"task": task},
                max_episode_steps=500,
                description=TASK_DESCRIPTIONS.get(task, task.removesuffix("-v3").replace("-", " ")),
                expert_entry_point="skillstack.envs.metaworld:ExpertPolicy",
                expert_kwargs={"task": task},
            )
        )


    register_env(
        EnvSpec(
            name="skillstack/Tabletop-v0",
            entry_point="skillstack.envs.tabletop:TabletopEnv",
            max_episode_steps=3000,
            description="long-horizon tabletop tasks: drawer, button, window, bin, red and blue blocks",
        )
    )
    for task, (description, horizon) in ROBOSUITE_TASKS.items():
        oracle = "skillstack.skills.robosuite_oracles:RobosuiteOracle" if task in ORACLE_TASKS else None
        register_env(EnvSpec(name=f"robosuite/{task}", entry_point="skillstack.envs.robosuite_env:RobosuiteEnv",
                             kwargs={"task": task, "terminate_on_success": True}, max_episode_steps=horizon,
                             description=description, expert_entry_point=oracle,
                             expert_kwargs={"task": task} if oracle else {}))
    register_env(EnvSpec(name="robosuite/PickPlaceScene", entry_point="skillstack.envs.robosuite_scene:PickPlaceScene",
                         max_episode_steps=2000,
                         description="robosuite PickPlace scene: milk, bread, cereal and can to their bins"))
    for skill in scene_skill_names():
        register_env(EnvSpec(
            name=f"{SKILL_PREFIX}{skill}", entry_point="skillstack.envs.robosuite_scene:PickPlaceSkillEnv",
            kwargs={"skill": skill}, max_episode_steps=SKILL_MAX_STEPS[skill.partition("_")[0]],
            description=skill_description(skill),
            expert_entry_point="skillstack.skills.robosuite_oracles:PickPlaceSkillOracle",
            expert_kwargs={"skill": skill}))
    for skill, spec in SKILL_SPECS.items():
        register_env(
            EnvSpec(
                name=f"tabletop/{skill}",
                entry_point="skillstack.envs.tabletop:TabletopSkillEnv",
                kwargs={"skill": skill},
                max_episode_steps=spec.max_steps,
                description=spec.description,
                expert_entry_point="skillstack.skills.oracles:TabletopOracle",
                expert_kwargs={"skill": skill},
            )
        )


_register_builtins()
