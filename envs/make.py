"""Env registry: names → Gymnasium ids with string entry points (``skillstack.envs.ENVS``).

Every skillstack env is registered twice, in skillstack's :data:`ENVS` (descriptions, "did you mean" errors) and
with Gymnasium (``gymnasium.make`` works on every name). Names are versioned Gymnasium ids (``tabletop/open_drawer-v0``,
``robosuite/Lift-v0``, Meta-World's own ``metaworld/drawer-open-v3``); the unversioned names of earlier skillstack
releases (``tabletop/open_drawer``, ``robosuite/Lift``) stay accepted as aliases by :func:`make_env` and
:func:`resolve_env_id`, so skills registered under them keep loading.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import gymnasium as gym

from skillstack.envs.registry import Registry, UnknownNameError, unknown_name_message


@dataclass(frozen=True)
class EnvSpec:
    """How to build one registered env.

    Attributes:
        name: registry name and Gymnasium id, e.g. ``"metaworld/drawer-open-v3"``.
        entry_point: ``"module:Class"`` string, imported lazily by Gymnasium.
        kwargs: keyword arguments for the entry point.
        max_episode_steps: Gymnasium ``TimeLimit`` horizon [steps].
        description: natural-language description of the task.
        aliases: other names accepted for this env (earlier unversioned ids).
    """

    name: str
    entry_point: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    max_episode_steps: int = 500
    description: str = ""
    aliases: tuple[str, ...] = ()


ENVS: Registry[EnvSpec] = Registry("env")
ENV_ALIASES: dict[str, str] = {}
"""Accepted old name → registered name (see the module docstring)."""


def register_env(spec: EnvSpec) -> EnvSpec:
    """Add ``spec`` to skillstack's registry and register it with Gymnasium.

    Raises:
        ValueError: the name or an alias is already registered.
    """
    for alias in spec.aliases:
        if alias in ENV_ALIASES or alias in ENVS:
            raise ValueError(f"env alias {alias!r} is already registered")
    ENVS.register(spec.name, spec)
    ENV_ALIASES.update({a: spec.name for a in spec.aliases})
    gym.register(spec.name, entry_point=spec.entry_point, kwargs=dict(spec.kwargs),
                 max_episode_steps=spec.max_episode_steps, disable_env_checker=True)
    return spec


def unversioned(env_id: str) -> str:
    """``"tabletop/open_drawer-v0"`` → ``"tabletop/open_drawer"`` (a name without a version stays as it is)."""
    return re.sub(r"-v\d+$", "", env_id)


def register_versioned(spec: EnvSpec) -> EnvSpec:
    """Register ``spec`` (a ``-vN`` name) with its unversioned name as an alias (:func:`register_env`)."""
    if unversioned(spec.name) == spec.name:
        raise ValueError(f"env name {spec.name!r} has no -vN version")
    return register_env(replace(spec, aliases=(*spec.aliases, unversioned(spec.name))))


def resolve_env_id(name: str) -> str:
    """The registered name of ``name`` (itself, or the env an old alias stands for).

    Raises:
        UnknownNameError: neither a registered name nor an alias (lists valid names and a "did you mean").
    """
    if name in ENVS:
        return name
    if name in ENV_ALIASES:
        return ENV_ALIASES[name]
    raise UnknownNameError(unknown_name_message("env", name, ENVS.names()))


def env_spec(name: str) -> EnvSpec:
    """The :class:`EnvSpec` of a registered name or alias.

    Raises:
        UnknownNameError: unknown env.
    """
    return ENVS.get(resolve_env_id(name))


def env_names() -> list[str]:
    """All registered env names, sorted (aliases not included)."""
    return ENVS.names()


OUT_OF_DATE_WARNING = r".*The environment \S+ is out of date\."
"""Pattern of gymnasium's newer-version-exists warning (``gymnasium.envs.registration``), silenced by
:func:`make_env`."""


def make_env(name: str, **kwargs: Any) -> gym.Env:
    """Build the registered env ``name`` (or an alias of one) through ``gymnasium.make``.

    Args:
        name: registry name, e.g. ``"metaworld/drawer-open-v3"``.
        **kwargs: forwarded to ``gymnasium.make`` (``render_mode``, ``max_episode_steps``, env kwargs).

    Raises:
        UnknownNameError: ``name`` is not registered (lists valid names and a "did you mean").

    gymnasium's "environment ... is out of date, consider upgrading" warning is silenced here: skillstack adds a
    version when an env's start distribution or success predicate changes (``robosuite-pickplace/pick_can-v2`` to
    ``-v4``), and every earlier version stays a fixed benchmark that its skills and affordances are measured in.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=OUT_OF_DATE_WARNING, category=DeprecationWarning)
        return gym.make(resolve_env_id(name), **kwargs)

