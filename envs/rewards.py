"""Reward definitions a training run can choose (:attr:`~skillstack.skills.train.TrainConfig.reward`).

``"env"`` keeps the env's own reward (Meta-World's shaped reward, robosuite's staged reward, the tabletop scene's
0/1 success). ``"success"`` trains on the task's success signal itself: reward 1 on a successful step, else 0, and
the episode *terminates* there — the setting IBRL trains Meta-World and robomimic in (Hu et al. 2024, their
``SparseRewardWrapper`` with ``end_on_success``; RLPD's Adroit/robomimic tasks are sparse as well). With it the
critic's value of a state is ``γ^k`` for reaching success ``k`` steps later, so the critic ranks actions by how soon
they reach success, where a shaped reward can be raised while success falls. Measured with ``ibrl`` on push
(docs/results/metaworld_rl.md, sample efficiency): it did **not** remove the early dips of the periodic success —
the value differences between actions are then small (powers of γ) and the critics' errors decide the proposal choice.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from skillstack.envs.registry import UnknownNameError, unknown_name_message

REWARDS = ("env", "success")
"""Valid values of :attr:`~skillstack.skills.train.TrainConfig.reward`."""


class SuccessReward(gym.Wrapper):
    """Replace the reward with ``float(info["success"])`` and terminate the episode on the first successful step.

    The env's own reward is kept in ``info["env_reward"]``. Time-limit truncation is unchanged (still
    ``truncated``, not a terminal), so bootstrapping at the horizon stays correct.

    Raises:
        KeyError: the wrapped env's ``step`` info has no ``"success"`` entry (every skillstack env reports it).
    """

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if "success" not in info:
            raise KeyError(f"{self.env.spec.id if self.env.spec else self.env!r}: step info has no 'success' entry; "
                           f"the 'success' reward needs one")
        success = bool(info["success"])
        info["env_reward"] = reward
        return obs, float(success), bool(terminated or success), truncated, info


def check_reward(name: str) -> str:
    """Return ``name`` if it is in :data:`REWARDS`.

    Raises:
        UnknownNameError: any other name (the message lists the valid ones).
    """
    if name not in REWARDS:
        raise UnknownNameError(unknown_name_message("reward", name, list(REWARDS)))
    return name


def with_reward(env: gym.Env, reward: str) -> gym.Env:
    """``env`` unchanged for ``"env"``, wrapped in :class:`SuccessReward` for ``"success"``.

    Raises:
        UnknownNameError: ``reward`` is not in :data:`REWARDS`.
    """
    return SuccessReward(env) if check_reward(reward) == "success" else env
