"""Additions to Stable-Baselines3 for ``sac-demos`` — SB3's SAC itself is used unchanged.

``sac-demos`` follows RLPD (Ball et al. 2023, "Efficient Online Reinforcement Learning with Offline
Data", https://arxiv.org/abs/2302.02948) and the BC-initialised actors of IBRL/AWAC-style
offline-to-online work:

1. **Symmetric sampling** (RLPD §3.1): every minibatch is ``demo_fraction`` (0.5) expert transitions and
   the rest online transitions — :class:`DemoMixReplayBuffer`.
2. **BC-initialised actor**: before online learning, the SAC actor's mean is fitted to the expert actions
   (MSE of the tanh-squashed mean) and its log-std by maximum likelihood with the mean held fixed —
   :func:`pretrain_actor_bc`.
3. **Actor warm-up**: for the first ``actor_warmup_updates`` gradient steps only the critics learn (the
   actor's and temperature's learning rates are 0), so a randomly initialised critic cannot undo the
   BC initialisation before it has learnt the value of the expert-like behaviour —
   :class:`DemoSAC`.

RLPD's LayerNorm critics and high update-to-data ratio are not used: SB3's critics have no LayerNorm
option, and on a 2-core CPU each extra gradient step costs more wall-clock than it saves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.utils import update_learning_rate

from skillstack.skills.demos import Demonstrations


class DemoMixReplayBuffer(ReplayBuffer):
    """SB3 ``ReplayBuffer`` whose samples mix a fixed demonstration set with online data (RLPD).

    Args:
        *args: as ``ReplayBuffer``.
        demo_fraction: fraction of each minibatch drawn from the demonstrations, in [0, 1].
        demo_seed: seed of the generator that draws demonstration indices.
        **kwargs: as ``ReplayBuffer``.
    """

    def __init__(self, *args: Any, demo_fraction: float = 0.5, demo_seed: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not 0.0 <= demo_fraction <= 1.0:
            raise ValueError(f"demo_fraction must be in [0, 1], got {demo_fraction}")
        self.demo_fraction = demo_fraction
        self._demo_rng = np.random.default_rng(demo_seed)
        self._demo: dict[str, torch.Tensor] | None = None

    def set_demonstrations(self, demos: Demonstrations) -> None:
        """Use ``demos`` as the demonstration half of every minibatch."""
        t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32), device=self.device)  # noqa: E731
        self._demo = {
            "observations": t(demos.observations),
            "actions": t(demos.actions),
            "next_observations": t(demos.next_observations),
            "dones": t(demos.terminals).reshape(-1, 1),
            "rewards": t(demos.rewards).reshape(-1, 1),
        }

    def sample(self, batch_size: int, env: Any = None) -> ReplayBufferSamples:
        if self._demo is None or self.demo_fraction == 0.0:
            return super().sample(batch_size, env=env)
        n_demo = int(round(batch_size * self.demo_fraction))
        if self.size() == 0:
            n_demo = batch_size
        idx = torch.as_tensor(self._demo_rng.integers(0, len(self._demo["actions"]), size=n_demo),
                              device=self.device)
        demo = {k: v[idx] for k, v in self._demo.items()}
        if n_demo == batch_size:
            return ReplayBufferSamples(**demo)
        online = super().sample(batch_size - n_demo, env=env)
        return ReplayBufferSamples(
            observations=torch.cat([online.observations, demo["observations"]]),
            actions=torch.cat([online.actions, demo["actions"]]),
            next_observations=torch.cat([online.next_observations, demo["next_observations"]]),
            dones=torch.cat([online.dones, demo["dones"]]),
            rewards=torch.cat([online.rewards, demo["rewards"]]),
        )


class DemoSAC(SAC):
    """SB3 SAC whose actor and temperature stay frozen for the first ``actor_warmup_updates`` updates.

    Everything else is SB3's SAC; only the learning rates of the actor and entropy-coefficient
    optimisers are set to 0 during the warm-up.
    """

    def __init__(self, *args: Any, actor_warmup_updates: int = 0, **kwargs: Any) -> None:
        self.actor_warmup_updates = actor_warmup_updates
        super().__init__(*args, **kwargs)

    def _update_learning_rate(self, optimizers: Any) -> None:
        super()._update_learning_rate(optimizers)
        if self._n_updates < self.actor_warmup_updates:
            update_learning_rate(self.actor.optimizer, 0.0)
            if self.ent_coef_optimizer is not None:
                update_learning_rate(self.ent_coef_optimizer, 0.0)


def pretrain_actor_bc(model: SAC, demos: Demonstrations, steps: int, batch_size: int = 256, lr: float = 1e-3,
                      seed: int = 0, progress: bool = True) -> list[float]:
    """Behaviour-clone SB3 SAC's actor on ``demos`` (step 2 of ``sac-demos``).

    Loss = MSE(tanh(mean(obs)), a) + NLL(a | mean(obs).detach(), std(obs)) under SB3's squashed Gaussian.

    Returns:
        The MSE loss every 100 steps.
    """
    from tqdm.auto import tqdm

    actor = model.actor
    device = model.device
    obs = torch.as_tensor(demos.observations, dtype=torch.float32, device=device)
    act = torch.as_tensor(np.clip(demos.actions, -0.999, 0.999), dtype=torch.float32, device=device)
    opt = torch.optim.Adam(actor.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    losses = []
    actor.set_training_mode(True)
    for step in tqdm(range(steps), desc="bc-pretrain actor", disable=not progress):
        idx = torch.as_tensor(rng.integers(0, len(act), size=batch_size), device=device)
        mean, log_std, kwargs = actor.get_action_dist_params(obs[idx])
        mse = ((torch.tanh(mean) - act[idx]) ** 2).mean()
        dist = actor.action_dist.proba_distribution(mean.detach(), log_std, **kwargs)
        nll = -dist.log_prob(act[idx]).mean()
        loss = mse + 1e-3 * nll
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            losses.append(float(mse))
    actor.set_training_mode(False)
    return losses
