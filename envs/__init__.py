"""Simulation layer: env registry, Meta-World / robosuite adapters, the tabletop scene, scenes, predicates.

Importing this package selects the MuJoCo GL backend (see :mod:`skillstack.envs.gl`) and registers every built-in
env (in skillstack's registry and as Gymnasium ids) and every built-in scene (:data:`SCENES`). Third-party scenes
and envs register from plugin modules (:func:`~skillstack.envs.scenes.load_plugins`).
"""

from __future__ import annotations

from skillstack.envs import gl as _gl  # noqa: F401  (must run before mujoco is imported)
from skillstack.envs import metaworld as _metaworld  # noqa: F401  (registers metaworld/<task>)
from skillstack.envs import robosuite_env as _robosuite_env  # noqa: F401  (registers robosuite/<Task>-v0)
from skillstack.envs import robosuite_scene as _robosuite_scene  # noqa: F401  (robosuite-pickplace scene)
from skillstack.envs import tabletop as _tabletop  # noqa: F401  (registers the tabletop scene and its envs)
from skillstack.envs.make import (
    ENV_ALIASES,
    ENVS,
    EnvSpec,
    env_names,
    env_spec,
    make_env,
    register_env,
    register_versioned,
    resolve_env_id,
    unversioned,
)
from skillstack.envs.registry import Registry, UnknownNameError, unknown_name_message
from skillstack.envs.scenes import (
    SCENES,
    Scene,
    Task,
    get_scene,
    load_plugins,
    register_scene,
)

__all__ = [
    "ENVS", "ENV_ALIASES", "SCENES", "EnvSpec", "Registry", "Scene", "Task", "UnknownNameError", "env_names",
    "env_spec", "get_scene", "load_plugins", "make_env", "register_env", "register_scene", "register_versioned",
    "resolve_env_id", "unknown_name_message", "unversioned",
]
