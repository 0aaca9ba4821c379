"""Experts: the scripted demonstration sources of the skill layer, in one registry.

An **expert** maps an env's observation to an action (``predict(obs) -> action``) with privileged state and no
learning; it proves a task solvable and provides the demonstrations that behaviour cloning, DAgger and
RL-from-demonstrations start from (:mod:`skillstack.skills.demos`, :mod:`skillstack.skills.train`).

:data:`EXPERTS` maps an env-name *family* (the registry prefix, e.g. ``"metaworld/"``) to a factory
``(env name without prefix and version) -> Expert``; :func:`make_expert` resolves an env name (old unversioned
aliases included) to its expert. Built-ins:

* ``metaworld/<task>`` — Meta-World's own scripted policies (``metaworld.policies.ENV_POLICY_MAP``);
* ``tabletop/<skill>`` — :class:`~skillstack.skills.tabletop_expert.TabletopExpert` (waypoint controllers);
* ``robosuite/<Task>`` and ``robosuite-pickplace/<skill>`` — the robosuite scripted OSC controllers
  (:class:`~skillstack.envs.robosuite_env.RobosuiteController`,
  :class:`~skillstack.envs.robosuite_scene.PickPlaceSkillController`; their code lives with the envs, whose
  resets stage start states with them — e.g. an object already grasped).

Third-party experts: ``register_expert("myscene/", factory)`` from a plugin module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from skillstack.envs import resolve_env_id, unversioned
from skillstack.envs.registry import Registry, UnknownNameError, unknown_name_message
from skillstack.envs.robosuite_env import SCRIPTED_TASKS, RobosuiteController
from skillstack.envs.robosuite_scene import SKILL_PREFIX as PICKPLACE_PREFIX
from skillstack.envs.robosuite_scene import PickPlaceSkillController
from skillstack.skills.tabletop_expert import TabletopExpert


class Expert(Protocol):
    """A demonstration source: ``predict(obs) -> action`` (shapes and dtypes of its env's spaces)."""

    def predict(self, obs: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]: ...


class MetaWorldExpert:
    """Meta-World's scripted expert for ``task`` as a demonstration source.

    ``predict(obs)`` maps a ``(39,) float64`` observation to a ``(4,) float32`` action clipped to
    [-1, 1] (the scripted policies sometimes exceed the bounds; Meta-World clips them anyway).

    Raises:
        UnknownNameError: Meta-World has no scripted policy for ``task``.
    """

    def __init__(self, task: str) -> None:
        from metaworld.policies import ENV_POLICY_MAP

        if task not in ENV_POLICY_MAP:
            raise UnknownNameError(unknown_name_message("Meta-World expert", task, list(ENV_POLICY_MAP)))
        self.task = task
        self._policy = ENV_POLICY_MAP[task]()

    def predict(self, obs: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        return np.clip(self._policy.get_action(np.asarray(obs)), -1.0, 1.0).astype(np.float32)


def _robosuite_expert(task: str) -> Expert:
    if task not in SCRIPTED_TASKS:
        raise ValueError(f"env 'robosuite/{task}' has no scripted expert (tasks with one: {', '.join(SCRIPTED_TASKS)})")
    return RobosuiteController(task)


EXPERTS: Registry[Callable[[str], Expert]] = Registry("expert family")
"""Env-name prefix → expert factory ``(registered name without the prefix, e.g. "drawer-open-v3" or
"open_drawer-v0") -> Expert``."""


def register_expert(prefix: str, factory: Callable[[str], Expert]) -> None:
    """Register the experts of every env whose name starts with ``prefix`` (e.g. ``"myscene/"``).

    Raises:
        ValueError: the prefix is already registered.
    """
    EXPERTS.register(prefix, factory)


register_expert("metaworld/", MetaWorldExpert)  # Meta-World's "-v3" is part of its task name
register_expert("tabletop/", lambda name: TabletopExpert(unversioned(name)))
register_expert("robosuite/", lambda name: _robosuite_expert(unversioned(name)))
register_expert(PICKPLACE_PREFIX, lambda name: PickPlaceSkillController(unversioned(name)))


def make_expert(env: str) -> Expert:
    """Scripted expert of the registered env ``env`` (versioned name or old alias).

    Raises:
        UnknownNameError: ``env`` is not registered.
        ValueError: the env has no scripted expert.
    """
    name = resolve_env_id(env)
    prefixes = sorted((p for p in EXPERTS.names() if name.startswith(p)), key=len, reverse=True)
    if not prefixes:
        raise ValueError(f"env {env!r} has no scripted expert")
    prefix = prefixes[0]
    return EXPERTS.get(prefix)(name.removeprefix(prefix))

