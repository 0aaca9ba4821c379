"""Exact resume of SB3 training: every random-number generator and the env's position in its episode stream.

A checkpoint holds the weights and optimiser states (SB3 ``model.zip``, read back as weights only), the replay
buffer (npz) and the step counters. For the resumed run to produce *the same* parameters as an uninterrupted
one, it must also draw the same random numbers and see the same observations. This module saves, as plain
JSON (no pickle):

* the global generators SB3 uses — Python ``random``, NumPy's legacy global ``RandomState`` (SB3's
  ``ReplayBuffer.sample``), torch's CPU generator (SAC's action noise), and CUDA's when present;
* the action space's generator (random actions before ``learning_starts``);
* skillstack's own generators (the demonstration half of the replay buffer, the BC regulariser);
* each env's generators *just before its last reset* (recorded by :class:`ResetRNGRecorder`).

Checkpoints are written between SB3 iterations (after the gradient step), and are **exact** when every env
has just started an episode: on resume the envs are reset again from the recorded generator states, which
reproduces the same start observation (checked). A checkpoint taken mid-episode (a time budget or success
stop, or ``n_envs > 1`` whose episodes never end together) resumes with a fresh episode instead and is
marked ``"exact": false``.
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

RNG_FILE = "rng_state.json"


def _generators(env: gym.Env) -> dict[str, np.random.Generator]:
    u = env.unwrapped
    gens = {"env": u.np_random}
    inner = getattr(u, "unwrapped_metaworld", None)  # the Meta-World env draws its task vector from its own
    if inner is not None:
        gens["metaworld"] = inner.np_random
    return gens


def env_rng_state(env: gym.Env) -> dict[str, Any]:
    """The bit-generator states of ``env``'s generators (JSON-serialisable dicts)."""
    return {k: g.bit_generator.state for k, g in _generators(env).items()}


def set_env_rng_state(env: gym.Env, state: dict[str, Any]) -> None:
    """Inverse of :func:`env_rng_state`.

    Raises:
        ValueError: the state names generators this env does not have.
    """
    gens = _generators(env)
    if set(state) != set(gens):
        raise ValueError(f"env generator state has {sorted(state)}, the env has {sorted(gens)}")
    for k, s in state.items():
        gens[k].bit_generator.state = s


class ResetRNGRecorder(gym.Wrapper):
    """Remembers the env's generator states right before each ``reset`` (outermost wrapper, so vector envs'
    ``env_method`` reaches it), so that a resumed run can redo that reset exactly."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.pre_reset_rng: dict[str, Any] | None = None

    def reset(self, **kwargs: Any) -> Any:
        self.pre_reset_rng = env_rng_state(self.env)
        return self.env.reset(**kwargs)

    def get_pre_reset_rng(self) -> dict[str, Any] | None:
        return self.pre_reset_rng

    def set_rng(self, state: dict[str, Any]) -> None:
        set_env_rng_state(self.env, state)


def _global_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    out = {
        "python": [version, list(internal), gauss],
        "numpy_global": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available():
        out["torch_cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return out


def _set_global_state(s: dict[str, Any]) -> None:
    version, internal, gauss = s["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = s["numpy_global"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.tensor(s["torch"], dtype=torch.uint8))
    if "torch_cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(x, dtype=torch.uint8) for x in s["torch_cuda"]])


def _own_generators(model: Any) -> dict[str, np.random.Generator]:
    gens: dict[str, np.random.Generator] = {}
    space_rng = getattr(model.action_space, "_np_random", None)
    if space_rng is not None:
        gens["action_space"] = space_rng
    demo_rng = getattr(getattr(model, "replay_buffer", None), "_demo_rng", None)
    if demo_rng is not None:
        gens["demo_buffer"] = demo_rng
    bc_rng = getattr(getattr(getattr(model, "actor", None), "optimizer", None), "_rng", None)
    if bc_rng is not None:
        gens["bc_regulariser"] = bc_rng
    return gens


def save_rng_state(model: Any, vec_env: Any, d: Path, at_boundary: bool) -> bool:
    """Write ``d/rng_state.json`` for ``model`` training on ``vec_env``; returns whether resume will be exact.

    Args:
        model: an SB3 algorithm, between iterations (after its gradient step).
        vec_env: its vector env, built with :class:`ResetRNGRecorder` as the outermost wrapper.
        d: the checkpoint directory being written.
        at_boundary: every env's last step ended its episode (so each has just been reset) and training did
            not stop inside an iteration. (SB3's off-policy ``_last_episode_starts`` cannot tell: it stays
            all-true; the caller tracks the ``dones`` of the last step.)
    """
    env_states = vec_env.env_method("get_pre_reset_rng") if at_boundary else None
    exact = env_states is not None and None not in env_states
    state = {
        "exact": exact,
        "global": _global_state(),
        "generators": {k: g.bit_generator.state for k, g in _own_generators(model).items()},
        "env_pre_reset": env_states,
        "last_obs": np.asarray(model._last_obs).tolist() if exact else None,
    }
    (d / RNG_FILE).write_text(json.dumps(state))
    return exact


def restore_rng_state(model: Any, vec_env: Any, ckpt: Path) -> bool:
    """Restore what :func:`save_rng_state` wrote; call right before ``model.learn(reset_num_timesteps=False)``.

    Returns:
        Whether the resume is exact (envs re-reset to the recorded start; generators restored).
    """
    path = ckpt / RNG_FILE
    if not path.exists():
        warnings.warn(f"{ckpt}: no {RNG_FILE} (older checkpoint); resuming with fresh random streams", stacklevel=2)
        return False
    s = json.loads(path.read_text())
    exact = bool(s.get("exact"))
    if exact:
        vec_env.reset()  # consumes the seeds SB3 set at construction
        for i, st in enumerate(s["env_pre_reset"]):
            vec_env.env_method("set_rng", st, indices=[i])
        obs = vec_env.reset()
        saved = np.asarray(s["last_obs"], dtype=np.asarray(obs).dtype)
        if not np.array_equal(obs, saved):
            warnings.warn(f"{ckpt}: the replayed reset differs from the saved observation; resume is not exact",
                          stacklevel=2)
            exact = False
        model._last_obs = obs
        model._last_episode_starts = np.ones(vec_env.num_envs, dtype=bool)
    gens = _own_generators(model)
    for k, st in s.get("generators", {}).items():
        if k in gens:
            gens[k].bit_generator.state = st
    _set_global_state(s["global"])
    return exact
