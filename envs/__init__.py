"""Simulation layer: env registry, Meta-World adapter, predicates.

Importing this package selects the MuJoCo GL backend (see :mod:`skillstack.envs.gl`) and registers
every built-in env, both in skillstack's registry and as Gymnasium ids.
"""

from __future__ import annotations

from skillstack.envs import gl as _gl  # noqa: F401  (must run before mujoco is imported)
from skillstack.envs.make import ENVS, EnvSpec, env_names, make_env, make_expert, register_env
from skillstack.envs.registry import Registry, UnknownNameError, unknown_name_message

__all__ = [
    "ENVS",
    "EnvSpec",
    "Registry",
    "UnknownNameError",
    "env_names",
    "make_env",
    "make_expert",
    "register_env",
    "unknown_name_message",
]
