"""Demonstrations from scripted experts, stored as plain ``.npz`` (no pickle)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from skillstack.envs import make_env
from skillstack.envs.rewards import with_reward
from skillstack.skills.experts import make_expert
from skillstack.skills.parallel import concatenate, even_blocks, map_blocks

DEMO_SEED_BASE = 1_000_000
"""Demonstration episodes use seeds ``DEMO_SEED_BASE + 10_000 * seed + i``: disjoint from evaluation seeds."""


@dataclass
class Demonstrations:
    """Transitions of expert episodes, concatenated.

    Attributes:
        observations: ``(N, obs_dim) float64``.
        actions: ``(N, act_dim) float32`` in [-1, 1].
        rewards: ``(N,) float32`` — the reward of the MDP they were collected in (``reward`` of
            :func:`collect_demonstrations`).
        next_observations: ``(N, obs_dim) float64``.
        terminals: ``(N,) float32`` — 1 only for true terminal states (not time-limit truncations).
        episode_ids: ``(N,) int64``.
        episode_success: ``(E,) bool`` — whether each episode succeeded at any step.
    """

    observations: npt.NDArray[np.float64]
    actions: npt.NDArray[np.float32]
    rewards: npt.NDArray[np.float32]
    next_observations: npt.NDArray[np.float64]
    terminals: npt.NDArray[np.float32]
    episode_ids: npt.NDArray[np.int64]
    episode_success: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def n_episodes(self) -> int:
        """Number of episodes ``E``."""
        return len(self.episode_success)

    def successful(self) -> Demonstrations:
        """Only the episodes that succeeded, renumbered ``0 … k-1`` in their order (success-filtered behaviour
        cloning: robomimic's "proficient" datasets hold successful demonstrations only, Mandlekar et al. 2021; a
        scripted expert's failures teach the clone the expert's stalls)."""
        keep = self.episode_success[self.episode_ids]
        renumber = np.cumsum(self.episode_success) - 1
        return Demonstrations(
            observations=self.observations[keep], actions=self.actions[keep], rewards=self.rewards[keep],
            next_observations=self.next_observations[keep], terminals=self.terminals[keep],
            episode_ids=renumber[self.episode_ids[keep]].astype(np.int64),
            episode_success=self.episode_success[self.episode_success],
        )

    def save(self, path: str | Path) -> None:
        """Write to ``path`` (npz) atomically."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez(tmp, **{f.name: getattr(self, f.name) for f in fields(self)})
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> Demonstrations:
        """Read from an npz written by :meth:`save` (``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as z:
            return cls(**{f.name: z[f.name] for f in fields(cls)})


def collect_demonstrations(
    env_id: str, n_episodes: int, seed: int = 0, max_episode_steps: int | None = None,
    progress: bool = True, action_noise: float = 0.0, reward: str = "env", n_workers: int = 1,
) -> Demonstrations:
    """Roll out the env's scripted expert for ``n_episodes`` seeded episodes.

    Episodes run to the env's time limit without stopping at success, so the transitions match the MDP
    an RL agent trains in (time-limit ends are not terminals). With ``reward="success"`` they are recorded in that
    MDP instead: reward 1 and a terminal on the first successful step, where the episode ends
    (:class:`~skillstack.envs.rewards.SuccessReward`).

    With ``action_noise`` > 0 the env executes ``clip(expert + N(0, action_noise²), low, high)`` while the
    recorded action stays the expert's clean one (DART, Laskey et al. 2017): the demonstrations cover the states
    a slightly wrong policy drifts into, each labelled with the expert's correction. The noise of episode ``i``
    is drawn from ``default_rng([DEMO_SEED_BASE + 10 000·seed + i, 1])``, so collection is reproducible; with
    noise, ``actions`` are labels for imitation, not the executed actions an RL replay buffer needs.

    Every episode depends only on its own seed, so with ``n_workers`` > 1 contiguous blocks of episodes are
    collected in worker processes (:func:`~skillstack.skills.parallel.map_blocks`)
    and concatenated in episode order: the result equals the one-process collection for any ``n_workers``.
    This is what pays on robosuite, whose operational-space controller steps at ≈ 45 steps/s per core.

    Args:
        env_id: registered env with a scripted expert.
        n_episodes: number of episodes.
        seed: seed offset (episode ``i`` uses ``DEMO_SEED_BASE + 10_000 * seed + i``).
        max_episode_steps: horizon override [steps].
        progress: show a progress bar.
        action_noise: standard deviation of the executed-action noise (in the env's normalised action units).
        reward: ``"env"`` or ``"success"`` (:data:`~skillstack.envs.rewards.REWARDS`).
        n_workers: processes that collect in parallel (1: in this process).

    Raises:
        UnknownNameError: unknown ``env_id`` or ``reward``.
        ValueError: the env has no scripted expert, ``action_noise`` is negative or not finite, or ``n_workers``
            or ``n_episodes`` is not positive.
    """
    if not (action_noise >= 0.0 and np.isfinite(action_noise)):
        raise ValueError(f"action_noise must be a finite standard deviation ≥ 0, got {action_noise}")
    if n_workers < 1 or n_episodes < 1:
        raise ValueError(f"n_workers and n_episodes must be ≥ 1, got {n_workers} and {n_episodes}")
    job = partial(_collect_block, env_id, seed=seed, max_episode_steps=max_episode_steps,
                  action_noise=action_noise, reward=reward)
    if n_workers == 1:
        with tqdm(total=n_episodes, desc=f"demos {env_id}", unit="ep", disable=not progress) as bar:
            return job(0, n_episodes, bar=bar)
    make_expert(env_id)  # unknown env / no expert: fail here, not in a worker
    # blocks smaller than n/workers balance the load (episode lengths differ) and move the progress bar
    return concatenate(map_blocks(job, even_blocks(n_episodes, 4 * n_workers), n_workers, f"demos {env_id}",
                                  progress))


def _collect_block(env_id: str, start: int, stop: int, *, seed: int, max_episode_steps: int | None,
                   action_noise: float, reward: str, bar: tqdm | None = None) -> Demonstrations:
    """Episodes ``start … stop-1`` of :func:`collect_demonstrations` (module level: it runs in workers)."""
    expert = make_expert(env_id)
    kwargs = {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}
    env = with_reward(make_env(env_id, **kwargs), reward)
    buf: dict[str, list] = {k: [] for k in ("obs", "act", "rew", "next", "term", "ep")}
    success = []
    for i in range(start, stop):
        obs, _ = env.reset(seed=DEMO_SEED_BASE + 10_000 * seed + i)
        noise = np.random.default_rng([DEMO_SEED_BASE + 10_000 * seed + i, 1]) if action_noise > 0 else None
        ok = False
        while True:
            act = expert.predict(obs)
            executed = act
            if noise is not None:
                executed = np.clip(act + noise.normal(0.0, action_noise, size=np.shape(act)),
                                   env.action_space.low, env.action_space.high).astype(np.float32)
            nxt, r, terminated, truncated, info = env.step(executed)
            ok |= bool(info.get("success"))
            buf["obs"].append(obs)
            buf["act"].append(act)
            buf["rew"].append(r)
            buf["next"].append(nxt)
            buf["term"].append(float(terminated))
            buf["ep"].append(i)
            obs = nxt
            if terminated or truncated:
                break
        success.append(ok)
        if bar is not None:
            bar.update(1)
    env.close()
    obs_dim = env.observation_space.shape
    act_dim = env.action_space.shape
    return Demonstrations(
        observations=np.asarray(buf["obs"], dtype=np.float64).reshape(-1, *obs_dim),
        actions=np.asarray(buf["act"], dtype=np.float32).reshape(-1, *act_dim),
        rewards=np.asarray(buf["rew"], dtype=np.float32),
        next_observations=np.asarray(buf["next"], dtype=np.float64).reshape(-1, *obs_dim),
        terminals=np.asarray(buf["term"], dtype=np.float32),
        episode_ids=np.asarray(buf["ep"], dtype=np.int64),
        episode_success=np.asarray(success, dtype=bool),
    )
