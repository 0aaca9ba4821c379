"""Additions to Stable-Baselines3 for ``sac-demos`` — SB3's SAC itself is used unchanged.

``sac-demos`` follows RLPD (Ball et al. 2023, "Efficient Online Reinforcement Learning with Offline
Data", https://arxiv.org/abs/2302.02948) and the BC-initialised actors of IBRL/AWAC-style
offline-to-online work:

1. **Symmetric sampling** (RLPD §3.1): every minibatch is ``demo_fraction`` (0.5) expert transitions and
   the rest online transitions — :class:`DemoMixReplayBuffer`.
2. **BC-initialised actor**: before online learning, the SAC actor's mean is fitted to the expert actions
   (MSE of the tanh-squashed mean) and its log-std by maximum likelihood with the mean held fixed —
   :func:`pretrain_actor_bc`.
3. **BC regulariser** on the actor, optionally Q-filtered (Nair et al. 2018, "Overcoming Exploration in RL with
   Demonstrations", Q-filter; weight normalised as in TD3+BC, Fujimoto & Gu 2021): each actor update adds
   ``(mean|Q| / bc_alpha) · mean(1[Q(s,a_demo) > Q(s,π(s))] · ||π(s) − a_demo||²)`` on a demonstration
   minibatch (the indicator is 1 everywhere unless ``q_filter``). Without it, SB3's SAC (no LayerNorm, no
   critic ensemble) drove drawer-open from 100 % to 0 % success within 2 500 updates of unfreezing the
   actor, and with the Q-filter within 500 (measured here); without the filter it stayed at 100 %.
   It is added by wrapping the actor optimiser's ``step`` (:class:`BCRegularisedOptimizer`), so SB3's
   ``SAC.train`` runs unchanged.
4. **Actor warm-up**: for the first ``actor_warmup_updates`` gradient steps only the critics learn (the
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


class BCRegularisedOptimizer:
    """Wrap SB3 SAC's actor optimiser: before each ``step`` add the Q-filtered BC gradient (see module doc).

    SB3 calls ``zero_grad()``, ``actor_loss.backward()``, ``step()``; the BC loss is back-propagated inside
    ``step`` so the update uses ∇(actor_loss + BC term). Every other attribute is the wrapped optimiser's.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, model: SAC, demos: Demonstrations, batch_size: int,
                 bc_alpha: float = 2.5, q_filter: bool = False, seed: int = 0) -> None:
        self.optimizer = optimizer
        self._model = model
        self._obs = torch.as_tensor(demos.observations, dtype=torch.float32, device=model.device)
        self._act = torch.as_tensor(np.clip(demos.actions, -0.999, 0.999), dtype=torch.float32,
                                    device=model.device)
        self.batch_size = batch_size
        self.bc_alpha = bc_alpha
        self.q_filter = q_filter
        self._rng = np.random.default_rng(seed)
        self.last_bc_loss = 0.0
        self.last_filter_fraction = 1.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["optimizer"], name)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> None:  # noqa: ARG002
        self.optimizer.load_state_dict(state_dict)

    def step(self, closure: Any = None) -> Any:
        if self.optimizer.param_groups[0]["lr"] > 0.0:
            actor, critic = self._model.actor, self._model.critic
            idx = torch.as_tensor(self._rng.integers(0, len(self._act), size=self.batch_size),
                                  device=self._obs.device)
            obs, act = self._obs[idx], self._act[idx]
            mean, _, _ = actor.get_action_dist_params(obs)
            pi = torch.tanh(mean)
            with torch.no_grad():
                q_pi = torch.min(torch.cat(critic(obs, pi), dim=1), dim=1).values
                q_demo = torch.min(torch.cat(critic(obs, act), dim=1), dim=1).values
                weight = q_pi.abs().mean() / self.bc_alpha
                mask = (q_demo > q_pi).float() if self.q_filter else torch.ones_like(q_pi)
            bc = weight * (mask * ((pi - act) ** 2).sum(-1)).mean()
            bc.backward()
            self.last_bc_loss = float(bc.detach())
            self.last_filter_fraction = float(mask.mean())
        return self.optimizer.step(closure)


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
        self.logger.record("train/actor_warmup", float(self._n_updates < self.actor_warmup_updates))
        if isinstance(self.actor.optimizer, BCRegularisedOptimizer):
            self.logger.record("train/bc_loss", self.actor.optimizer.last_bc_loss)
            self.logger.record("train/q_filter_fraction", self.actor.optimizer.last_filter_fraction)
        if self._n_updates < self.actor_warmup_updates:
            update_learning_rate(self.actor.optimizer, 0.0)
            if self.ent_coef_optimizer is not None:
                update_learning_rate(self.ent_coef_optimizer, 0.0)


def pretrain_actor_bc(model: SAC, observations: np.ndarray, actions: np.ndarray, steps: int, batch_size: int = 256,
                      lr: float = 1e-3, seed: int = 0, progress: bool = True) -> list[float]:
    """Behaviour-clone SB3 SAC's actor on expert-labelled observations (step 2 of ``sac-demos``).

    Loss = MSE(tanh(mean(obs)), a) + NLL(a | mean(obs).detach(), std(obs)) under SB3's squashed Gaussian, on
    minibatches of ``batch_size`` drawn uniformly with replacement (``np.random.default_rng(seed)``).

    Args:
        model: the SAC model whose ``actor`` is trained in place.
        observations: ``(N, obs_dim)`` observations (demonstrations, or DAgger-labelled visits).
        actions: ``(N, act_dim)`` expert actions in [-1, 1] (clipped to ±0.999 for the tanh NLL).
        steps: gradient steps.

    Returns:
        The MSE loss every 100 steps.
    """
    from tqdm.auto import tqdm

    actor = model.actor
    device = model.device
    obs = torch.as_tensor(observations, dtype=torch.float32, device=device)
    act = torch.as_tensor(np.clip(actions, -0.999, 0.999), dtype=torch.float32, device=device)
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
            losses.append(mse.item())
    actor.set_training_mode(False)
    return losses
