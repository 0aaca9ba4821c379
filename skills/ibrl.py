"""IBRL on Stable-Baselines3 SAC: RL fine-tuning that keeps the imitation policy as a proposal.

Imitation Bootstrapped Reinforcement Learning (Hu, Mirchandani & Sadigh, RSS 2024, arXiv:2311.02198): a policy
cloned from demonstrations is frozen and kept as a second *proposal* next to the RL actor —

* **acting**: in each state the RL actor samples ``a_rl``, the frozen BC policy gives ``a_bc``, and the action with
  the higher ``min(Q1, Q2)`` is executed (greedy; ``proposal_beta`` > 0 samples ``softmax(β·Q)`` instead, IBRL's
  "soft" variant), so exploration starts from the demonstrator's behaviour;
* **bootstrapping**: the TD target uses the better of the two proposals in the next state,
  ``y = r + γ (max(Q'(s', a'_rl), Q'(s', a'_bc)) − α log π(a'_rl | s'))`` (SAC's entropy bonus of the RL
  sample is kept for both, so the choice is not biased by it), so the critic values the BC policy where it
  is better and the RL actor is pulled above it rather than below;
* **deployment**: by default the same Q-argmax over the two deterministic proposals; ``proposal_selection``
  ``"unanimous"``/``"dominant"`` fall back to the BC proposal where the critic ensemble is not sure
  (:class:`~skillstack.skills.networks.QProposalActor`, saved in the skill library like any network).

Because the BC action is always a candidate, a critic that has learnt its value makes the executed policy at
least as good as the BC policy where the estimate is right — the property a user training a skill relies on
("RL only improves on the demonstrations"). Built from the ``sac-demos`` pieces (the BC-pretrained SAC actor
becomes both the frozen proposal and the RL actor's initialisation; demonstrations stay in every minibatch; the
critic warms up before the actor learns) on SB3's SAC: :class:`IBRLSAC` overrides only action selection
(``_sample_action``) and the critic target (``train``, otherwise SB3 2.x's SAC update step); the critics are
SB3's with LayerNorm (:class:`LayerNormCritic`, 5 by default). Not taken from the paper: actor dropout. Added to
it: sac-demos' BC regulariser on the RL actor (``TrainConfig.ibrl_bc_regulariser``, on by default — without it the
deployed policy collapsed on drawer-open, see ``TrainConfig``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
import torch.nn.functional as F  # noqa: N812
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.common.utils import polyak_update
from stable_baselines3.sac.policies import SACPolicy

from skillstack.skills.networks import MLPActor
from skillstack.skills.sb3_extras import DemoSAC


class LayerNormCritic(ContinuousCritic):
    """SB3's ``ContinuousCritic`` with ``LayerNorm`` after every hidden linear layer (RLPD, Ball et al. 2023 §3.2;
    IBRL's critics): it bounds how far Q can extrapolate to actions the data never covered, which is what an
    unfrozen actor climbs to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i, q in enumerate(self.q_networks):
            layers: list[th.nn.Module] = []
            linears = [m for m in q if isinstance(m, th.nn.Linear)]
            for m in q:
                layers.append(m)
                if isinstance(m, th.nn.Linear) and m is not linears[-1]:
                    layers.append(th.nn.LayerNorm(m.out_features))
            net = th.nn.Sequential(*layers)
            self.add_module(f"qf{i}", net)
            self.q_networks[i] = net


class IBRLPolicy(SACPolicy):
    """SB3's SAC policy with :class:`LayerNormCritic` critics."""

    def make_critic(self, features_extractor: Any = None) -> ContinuousCritic:
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return LayerNormCritic(**critic_kwargs).to(self.device)


class IBRLSAC(DemoSAC):
    """SB3 SAC with IBRL's proposal selection in acting and in the TD target (module docstring).

    Args:
        proposal_beta: ``None`` or 0: greedy selection; > 0: sample the proposal with probabilities
            ``softmax(β · Q)`` when acting (the target is always greedy).
        proposal_selection: the deployed policy's rule, ``"min"``, ``"unanimous"`` or ``"dominant"``
            (:class:`~skillstack.skills.networks.QProposalActor`; :func:`actor_from_ibrl` reads it).
        conservatism: weight ``c`` ≥ 0 of a CQL-style term in each critic's loss,
            ``c · mean|Q(s, a_data)| · mean(Q(s, a_π) − Q(s, a_data))`` with ``a_π`` sampled from the RL actor
            (Kumar et al. 2020, "Conservative Q-Learning", Eq. 3 with the policy as the maximising distribution;
            Cal-QL, Nakamoto et al. 2023, adds a lower bound this omits). It lowers the value of the RL actor's
            actions below that of the buffer's by about ``c`` times the mean |Q| where the data do not support
            them, so the proposal argmax keeps the BC action unless executed RL actions earned their value.
            0 (default): IBRL's critic.
        *args, **kwargs: :class:`~skillstack.skills.sb3_extras.DemoSAC` / SB3 ``SAC`` arguments.

    Attributes:
        bc_actor: the frozen imitation policy (an :class:`MLPActor`, saved with the model's parameters);
            :meth:`freeze_bc_policy` fills it from the current actor. Until then (``bc_ready`` 0) the model
            behaves exactly as SAC.
    """

    def __init__(self, *args: Any, proposal_beta: float | None = None, proposal_selection: str = "min",
                 conservatism: float = 0.0, **kwargs: Any) -> None:
        if not (conservatism >= 0.0 and np.isfinite(conservatism)):
            raise ValueError(f"conservatism must be a finite value ≥ 0, got {conservatism}")
        self.proposal_beta = proposal_beta
        self.proposal_selection = proposal_selection
        self.conservatism = conservatism
        super().__init__(*args, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        obs_dim = int(np.prod(self.observation_space.shape))
        act_dim = int(np.prod(self.action_space.shape))
        hidden = [m.out_features for m in self.actor.latent_pi if isinstance(m, th.nn.Linear)]
        self.bc_actor = MLPActor(obs_dim, act_dim, hidden, "relu", "tanh").to(self.device)
        self.bc_actor.register_buffer("bc_ready", th.zeros((), device=self.device))
        self.bc_actor.requires_grad_(False)

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        return [*state_dicts, "bc_actor"], variables

    @property
    def bc_ready(self) -> bool:
        return bool(self.bc_actor.bc_ready.item())

    def freeze_bc_policy(self) -> None:
        """Copy the actor's deterministic policy into the frozen :attr:`bc_actor` (after BC pre-training)."""
        from skillstack.skills.algorithms import actor_from_sac

        src = actor_from_sac(self)
        with th.no_grad():
            for dst, s in zip(self.bc_actor.net.parameters(), src.net.parameters(), strict=True):
                dst.copy_(s.to(self.device))
            self.bc_actor.bc_ready.fill_(1.0)

    def q_value(self, obs: th.Tensor, actions: th.Tensor, target: bool = False) -> th.Tensor:
        """``min(Q1, Q2)(obs, actions)`` → ``(B,)`` (the target critics with ``target``)."""
        critic = self.critic_target if target else self.critic
        return th.cat(critic(obs, actions), dim=1).min(dim=1).values

    def select(self, obs: th.Tensor, a_rl: th.Tensor, target: bool = False, soft: bool = False
               ) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """The proposal to use in each state.

        Args:
            obs: ``(B, obs_dim)`` observations.
            a_rl: ``(B, act_dim)`` RL actions in [-1, 1].
            target: value with the target critics (the TD target).
            soft: sample ``softmax(proposal_beta · Q)`` instead of the argmax (acting only).

        Returns:
            ``(actions (B, act_dim), use_bc (B,) bool, q (B,))``: the chosen actions, where the BC proposal was
            chosen, and the chosen actions' values.
        """
        a_bc = self.bc_actor(obs.float())  # SB3's replay buffer returns the observation space's dtype (float64)
        q_rl, q_bc = self.q_value(obs, a_rl, target), self.q_value(obs, a_bc, target)
        if soft and self.proposal_beta:
            p_bc = th.sigmoid(self.proposal_beta * (q_bc - q_rl))  # softmax over the two proposals
            use_bc = th.rand(p_bc.shape, device=p_bc.device) < p_bc
        else:
            use_bc = q_bc > q_rl
        return th.where(use_bc.unsqueeze(-1), a_bc, a_rl), use_bc, th.where(use_bc, q_bc, q_rl)

    def _sample_action(self, learning_starts: int, action_noise: Any = None, n_envs: int = 1
                       ) -> tuple[np.ndarray, np.ndarray]:
        if not self.bc_ready:
            return super()._sample_action(learning_starts, action_noise, n_envs)
        obs = th.as_tensor(np.asarray(self._last_obs), dtype=th.float32, device=self.device)
        with th.no_grad():
            a_rl = self.actor(obs, deterministic=False)
            actions, use_bc, _ = self.select(obs, a_rl, soft=True)
        self._bc_share = float(use_bc.float().mean())
        buffer_action = actions.cpu().numpy()
        return self.policy.unscale_action(buffer_action), buffer_action

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """SB3 2.x's SAC update with IBRL's target (module docstring); identical to SAC until
        :meth:`freeze_bc_policy`."""
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers += [self.ent_coef_optimizer]
        self._update_learning_rate(optimizers)
        ent_coef_losses, ent_coefs, actor_losses, critic_losses, bc_target_shares = [], [], [], [], []
        cql_gaps: list[float] = []
        for gradient_step in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            discounts = data.discounts if data.discounts is not None else self.gamma
            if self.use_sde:
                self.actor.reset_noise()
            actions_pi, log_prob = self.actor.action_log_prob(data.observations)
            log_prob = log_prob.reshape(-1, 1)
            ent_coef_loss = None
            if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
                ent_coef = th.exp(self.log_ent_coef.detach())
                ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
                ent_coef_losses.append(ent_coef_loss.item())
            else:
                ent_coef = self.ent_coef_tensor
            ent_coefs.append(ent_coef.item())
            if ent_coef_loss is not None and self.ent_coef_optimizer is not None:
                self.ent_coef_optimizer.zero_grad()
                ent_coef_loss.backward()
                self.ent_coef_optimizer.step()
            with th.no_grad():
                next_actions, next_log_prob = self.actor.action_log_prob(data.next_observations)
                if self.bc_ready:  # IBRL: bootstrap from the better proposal
                    _, use_bc, next_q = self.select(data.next_observations, next_actions, target=True)
                    next_q = next_q.reshape(-1, 1)
                    bc_target_shares.append(float(use_bc.float().mean()))
                else:
                    next_q = self.q_value(data.next_observations, next_actions, target=True).reshape(-1, 1)
                next_q = next_q - ent_coef * next_log_prob.reshape(-1, 1)
                target_q = data.rewards + (1 - data.dones) * discounts * next_q
            current_q = self.critic(data.observations, data.actions)
            critic_loss = 0.5 * sum(F.mse_loss(q, target_q) for q in current_q)
            if self.conservatism > 0:  # CQL-style: push the actor's actions down, the buffer's actions up
                q_pi = self.critic(data.observations, actions_pi.detach())
                scale = th.cat(current_q, dim=1).abs().mean().detach()
                gaps = sum((qp - qd).mean() for qp, qd in zip(q_pi, current_q, strict=True))  # summed over critics
                critic_loss = critic_loss + self.conservatism * scale * gaps
                cql_gaps.append(float(gaps.detach()) / len(current_q))
            critic_losses.append(critic_loss.item())  # type: ignore[union-attr]
            self.critic.optimizer.zero_grad()
            critic_loss.backward()  # type: ignore[union-attr]
            self.critic.optimizer.step()
            min_qf_pi = th.cat(self.critic(data.observations, actions_pi), dim=1).min(dim=1, keepdim=True).values
            actor_loss = (ent_coef * log_prob - min_qf_pi).mean()
            actor_losses.append(actor_loss.item())
            self.actor.optimizer.zero_grad()
            actor_loss.backward()
            self.actor.optimizer.step()
            if gradient_step % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", np.mean(ent_coefs))
        self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        if ent_coef_losses:
            self.logger.record("train/ent_coef_loss", np.mean(ent_coef_losses))
        if cql_gaps:
            self.logger.record("train/cql_gap", np.mean(cql_gaps))
        if bc_target_shares:
            self.logger.record("train/bc_target_share", np.mean(bc_target_shares))
            self.logger.record("rollout/bc_action_share", getattr(self, "_bc_share", 0.0))


def actor_from_ibrl(model: IBRLSAC) -> Any:
    """The deployed IBRL policy: a :class:`~skillstack.skills.networks.QProposalActor` holding copies (on CPU) of
    the RL actor's deterministic policy, the frozen BC policy and the two critics; the plain RL actor until
    :meth:`IBRLSAC.freeze_bc_policy` has run."""
    from skillstack.skills.algorithms import actor_from_sac
    from skillstack.skills.networks import QProposalActor

    rl = actor_from_sac(model)
    if not model.bc_ready:
        return rl
    bc = MLPActor(**rl.arch)
    bc.load_state_dict({k: v.cpu() for k, v in model.bc_actor.state_dict().items() if k != "bc_ready"})
    qnets = model.critic.q_networks
    hidden = [m.out_features for m in qnets[0] if isinstance(m, th.nn.Linear)][:-1]
    layer_norm = any(isinstance(m, th.nn.LayerNorm) for m in qnets[0])
    policy = QProposalActor(rl, bc, hidden, "relu", len(qnets), layer_norm, model.proposal_selection)
    with th.no_grad():
        for dst, src in zip(policy.critics, qnets, strict=True):
            for d, s in zip(dst.parameters(), src.parameters(), strict=True):
                d.copy_(s.detach().cpu())
    return policy.eval()
