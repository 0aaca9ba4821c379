"""Training algorithms as specs in one registry: what each one is, where it comes from, and what training needs.

:func:`skillstack.skills.train.train` looks the algorithm up in :data:`ALGORITHMS` and takes everything
algorithm-specific from its :class:`AlgorithmSpec`: the training loop, the SB3 model builder, what ``--steps``
counts, the default evaluation interval, whether the run collects demonstrations, keeps a replay buffer in its
checkpoints or may use several envs. Nothing outside the spec table at the end of this module compares algorithm
names.

Layout (no import cycle): this module holds the spec, the registry, the SB3 model builders and the
policy extraction; ``train.py`` holds ``Run``/``TrainConfig``/``train()`` and the two training loops
(imitation, SB3), which it imports this module for. The specs' ``train`` entries reach those loops through a
call-time import (``train.py`` imports this module at its top, so the reverse import cannot be at the top here).
Importing this module is light: torch and Stable-Baselines3 are imported when a builder or loop runs.

Adding an algorithm: write its ``train`` function (or reuse a loop with a new ``build_model``) and call
:func:`register_algorithm` with its spec. Anything that draws random numbers during training must use a
generator listed in ``skills/resume.py`` (see DEVELOPERS.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from skillstack.envs.registry import Registry

if TYPE_CHECKING:
    from pathlib import Path

    from torch import nn

    from skillstack.skills.demos import Demonstrations
    from skillstack.skills.networks import MLPActor
    from skillstack.skills.train import Run, TrainConfig

ENV_STEPS = "env steps"
"""``step_unit`` of algorithms whose ``--steps`` counts environment transitions (all parallel envs together)."""
GRADIENT_STEPS = "gradient steps"
"""``step_unit`` of algorithms whose ``--steps`` counts optimiser updates on a fixed or growing data set."""
STEP_UNITS: tuple[str, ...] = (ENV_STEPS, GRADIENT_STEPS)

RATE_WARMUP_STEPS = 256
""":func:`sb3_training_rate`: untimed random-action steps before off-policy training is timed (= its
``learning_starts``, so every timed step includes a gradient step)."""


def _no_warmup(cfg: TrainConfig) -> int:  # noqa: ARG001 - the signature of AlgorithmSpec.warmup_steps
    return 0


@dataclass(frozen=True)
class AlgorithmSpec:
    """One training algorithm: its source, its training loop and the facts about it that training relies on.

    Attributes:
        name: registry name and ``--algo`` value, e.g. ``"sac-demos"``.
        description: one paragraph: what it does, the paper it follows and the library that implements it.
        train: ``(run, resume, progress) -> MLPActor``: trains ``run.cfg`` (resuming from the run's newest
            checkpoint when ``resume``) and returns the deterministic policy.
        step_unit: what ``TrainConfig.steps``, ``eval_every`` and ``checkpoint_every`` count: :data:`ENV_STEPS`
            or :data:`GRADIENT_STEPS`.
        default_eval_every: periodic evaluation interval when ``TrainConfig.eval_every`` is not set
            [``step_unit``].
        build_model: ``(cfg, env, tensorboard_dir, **overrides) -> model`` builds the Stable-Baselines3
            model (``tensorboard_dir`` ``None``: no TensorBoard log; ``overrides`` replace the builder's
            SB3 constructor arguments); ``None`` for algorithms that are not SB3 models.
        actor_from_model: ``model -> MLPActor`` copies the deterministic part of the SB3 policy; set exactly
            when ``build_model`` is.
        off_policy: learns from a replay buffer of past transitions (the buffer is part of every checkpoint).
        uses_demonstrations: the run collects ``TrainConfig.n_demos`` scripted-expert episodes (``demos.npz``).
        vectorised: ``TrainConfig.n_envs > 1`` is allowed (parallel envs for collection).
        expert_relabelling: DAgger: rounds of the policy's own rollouts, labelled by the scripted expert, are
            added to the training data (needs ``uses_demonstrations`` for the first round).
        warmup_steps: ``cfg -> int``: steps [``step_unit``] before RL updates reach the policy (``sac-demos``:
            learning starts + critic-only updates); until then an early stop on success is not allowed, as
            the policy would be just its initialisation. 0 for the others.
        attach_demonstrations: ``(model, cfg, demos) -> None``: hands the demonstrations to a freshly built
            SB3 model (replay-buffer mixing, regularisers), before a checkpoint is restored into it.
        pretrain: ``(model, cfg, demos, progress) -> None``: initialises the policy from the demonstrations
            on a fresh (not resumed) run, before online training.

    Raises:
        ValueError: (on construction) an empty name or description, an unknown ``step_unit``, a
            non-positive ``default_eval_every`` or inconsistent fields (see :meth:`__post_init__`).
    """

    name: str
    description: str
    train: Callable[[Run, bool, bool], MLPActor]
    step_unit: str
    default_eval_every: int
    build_model: Callable[..., Any] | None = None
    actor_from_model: Callable[[Any], MLPActor] | None = None
    off_policy: bool = False
    uses_demonstrations: bool = False
    vectorised: bool = False
    expert_relabelling: bool = False
    warmup_steps: Callable[[TrainConfig], int] = _no_warmup
    attach_demonstrations: Callable[[Any, TrainConfig, Demonstrations], None] | None = None
    pretrain: Callable[[Any, TrainConfig, Demonstrations, bool], None] | None = None

    def __post_init__(self) -> None:
        """Check that the fields are consistent.

        Raises:
            ValueError: empty name/description; ``step_unit`` not in :data:`STEP_UNITS`; ``default_eval_every``
                ≤ 0; exactly one of ``build_model``/``actor_from_model`` set; ``off_policy``, ``vectorised``,
                ``attach_demonstrations`` or ``pretrain`` without ``build_model``; ``attach_demonstrations``,
                ``pretrain`` or ``expert_relabelling`` without ``uses_demonstrations``.
        """
        problems = []
        if not self.name or not self.description.strip():
            problems.append("name and description must be non-empty")
        if self.step_unit not in STEP_UNITS:
            problems.append(f"step_unit must be one of {STEP_UNITS}, got {self.step_unit!r}")
        if self.default_eval_every <= 0:
            problems.append(f"default_eval_every must be positive, got {self.default_eval_every}")
        if (self.build_model is None) != (self.actor_from_model is None):
            problems.append("build_model and actor_from_model go together (SB3 algorithms set both)")
        sb3_only = {"off_policy": self.off_policy, "vectorised": self.vectorised,
                    "attach_demonstrations": self.attach_demonstrations is not None,
                    "pretrain": self.pretrain is not None}
        problems += [f"{k} needs build_model" for k, v in sb3_only.items() if v and self.build_model is None]
        needs_demos = {"attach_demonstrations": self.attach_demonstrations is not None,
                       "pretrain": self.pretrain is not None, "expert_relabelling": self.expert_relabelling}
        problems += [f"{k} needs uses_demonstrations" for k, v in needs_demos.items()
                     if v and not self.uses_demonstrations]
        if problems:
            raise ValueError(f"algorithm {self.name!r}: " + "; ".join(problems))

    def rl_started(self, run: Run) -> bool:
        """Whether the policy of ``run`` has received RL updates (``run.state.steps`` past :attr:`warmup_steps`).

        Every caller checks after at least one step, so an algorithm without warm-up is always started.
        """
        return run.state.steps > self.warmup_steps(run.cfg)


ALGORITHMS: Registry[AlgorithmSpec] = Registry("algorithm")
"""Every training algorithm by name (``--algo``); see :class:`AlgorithmSpec`."""


def register_algorithm(spec: AlgorithmSpec) -> AlgorithmSpec:
    """Add ``spec`` to :data:`ALGORITHMS` under ``spec.name`` and return it.

    Raises:
        ValueError: the name is already registered.
    """
    ALGORITHMS.register(spec.name, spec)
    return spec


def resolve_device(name: str) -> str:
    """``"auto"`` → ``"cuda"`` if torch sees a CUDA device, else ``"cpu"``; ``"cpu"``/``"cuda"`` are checked.

    Raises:
        ValueError: an unknown name, or ``"cuda"`` without a CUDA device.
    """
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA device")
    return name


# ---------------------------------------------------------------------------------------------- SB3 builders
def _sb3_common(cfg: TrainConfig, tensorboard_dir: str | Path | None) -> dict[str, Any]:
    return {"seed": cfg.seed, "device": resolve_device(cfg.device), "verbose": 0,
            "tensorboard_log": None if tensorboard_dir is None else str(tensorboard_dir)}


def _replay_size(cfg: TrainConfig) -> int:
    """Replay capacity [transitions]: the whole run, at least 1 000, at most SB3's default 10⁶."""
    return min(1_000_000, max(cfg.steps, 1000))


def build_ppo(cfg: TrainConfig, env: Any, tensorboard_dir: str | Path | None, **overrides: Any) -> Any:
    """SB3 PPO with SB3's defaults (``n_steps`` 2048, 10 epochs, 64×64 tanh MLPs); ``cfg.hidden_sizes`` is unused.

    Args:
        cfg: the run's config (``seed``, ``device``).
        env: a gymnasium env or SB3 ``VecEnv``.
        tensorboard_dir: TensorBoard log directory, or ``None`` for none.
        **overrides: SB3 ``PPO`` arguments that replace the ones set here.
    """
    from stable_baselines3 import PPO

    return PPO("MlpPolicy", env, **{**_sb3_common(cfg, tensorboard_dir), **overrides})


def build_sac(cfg: TrainConfig, env: Any, tensorboard_dir: str | Path | None, **overrides: Any) -> Any:
    """SB3 SAC: ``cfg.hidden_sizes`` actor and critics, batch ``cfg.batch_size``, one gradient step per env step.

    Args: as :func:`build_ppo`.
    """
    from stable_baselines3 import SAC

    kwargs = {"buffer_size": _replay_size(cfg), "batch_size": cfg.batch_size,
              "policy_kwargs": {"net_arch": list(cfg.hidden_sizes)}, **_sb3_common(cfg, tensorboard_dir)}
    return SAC("MlpPolicy", env, **{**kwargs, **overrides})


def build_sac_demos(cfg: TrainConfig, env: Any, tensorboard_dir: str | Path | None, **overrides: Any) -> Any:
    """:class:`~skillstack.skills.sb3_extras.DemoSAC` with a :class:`~skillstack.skills.sb3_extras.DemoMixReplayBuffer`
    (``cfg.demo_fraction`` of each minibatch from the demonstrations), learning from ``cfg.batch_size`` steps on,
    entropy coefficient learnt from ``cfg.ent_coef_init``, actor frozen for ``cfg.actor_warmup_updates`` updates.

    Args: as :func:`build_ppo`.
    """
    from skillstack.skills.sb3_extras import DemoSAC

    return DemoSAC("MlpPolicy", env, **{**_demo_sac_kwargs(cfg, tensorboard_dir), **overrides})


def _demo_sac_kwargs(cfg: TrainConfig, tensorboard_dir: str | Path | None) -> dict[str, Any]:
    """The SB3 arguments sac-demos and ibrl share: demonstration-mixing replay, learning from ``cfg.batch_size``
    steps on, learnt entropy coefficient, critic-only warm-up."""
    from skillstack.skills.sb3_extras import DemoMixReplayBuffer

    return {"buffer_size": _replay_size(cfg), "batch_size": cfg.batch_size,
            "policy_kwargs": {"net_arch": list(cfg.hidden_sizes)}, "learning_starts": cfg.batch_size,
            "ent_coef": f"auto_{cfg.ent_coef_init}", "replay_buffer_class": DemoMixReplayBuffer,
            "replay_buffer_kwargs": {"demo_fraction": cfg.demo_fraction, "demo_seed": cfg.seed},
            "actor_warmup_updates": cfg.actor_warmup_updates, **_sb3_common(cfg, tensorboard_dir)}


def build_ibrl(cfg: TrainConfig, env: Any, tensorboard_dir: str | Path | None, **overrides: Any) -> Any:
    """:class:`~skillstack.skills.ibrl.IBRLSAC`: :func:`build_sac_demos`'s settings (demonstrations in each
    minibatch, critic warm-up) with IBRL's proposal selection (greedy unless ``cfg.proposal_beta``).

    Args: as :func:`build_ppo`.
    """
    from skillstack.skills.ibrl import IBRLSAC, IBRLPolicy

    kwargs = _demo_sac_kwargs(cfg, tensorboard_dir)
    kwargs["policy_kwargs"] = {**kwargs["policy_kwargs"], "n_critics": cfg.n_critics}
    kwargs["proposal_beta"] = cfg.proposal_beta
    kwargs["proposal_selection"] = cfg.proposal_selection
    kwargs["conservatism"] = cfg.ibrl_conservatism
    return IBRLSAC(IBRLPolicy if cfg.critic_layer_norm else "MlpPolicy", env, **{**kwargs, **overrides})


def _mlp_actor_from(trunk: nn.Sequential, head: nn.Linear, squash: str) -> MLPActor:
    """Copy an SB3 MLP (``trunk`` of Linear + activation layers, then ``head``) into an :class:`MLPActor`."""
    import torch
    from torch import nn

    from skillstack.skills.networks import MLPActor

    linears = [m for m in trunk if isinstance(m, nn.Linear)] + [head]
    acts = {type(m) for m in trunk if not isinstance(m, nn.Linear)}
    act_name = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.ELU: "elu", nn.GELU: "gelu"}[acts.pop()]
    obs_dim, act_dim = linears[0].in_features, head.out_features
    net = MLPActor(obs_dim, act_dim, [m.out_features for m in linears[:-1]], act_name, squash)
    ours = [m for m in net.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for dst, src in zip(ours, linears, strict=True):
            dst.weight.copy_(src.weight.detach().cpu())
            dst.bias.copy_(src.bias.detach().cpu())
    return net.eval()


def actor_from_sac(model: Any) -> MLPActor:
    """The deterministic SAC policy ``tanh(mu(latent_pi(obs)))`` of an SB3 SAC model (a copy, on CPU)."""
    return _mlp_actor_from(model.actor.latent_pi, model.actor.mu, "tanh")


def actor_from_ppo(model: Any) -> MLPActor:
    """The deterministic PPO policy ``clip(action_net(policy_net(obs)), -1, 1)`` of an SB3 PPO model (a copy)."""
    return _mlp_actor_from(model.policy.mlp_extractor.policy_net, model.policy.action_net, "clip")


def _attach_demos_to_sac(model: Any, cfg: TrainConfig, demos: Demonstrations) -> None:
    """sac-demos: demonstrations as half of every minibatch, and the BC regulariser on the actor's optimiser."""
    from skillstack.skills.sb3_extras import BCRegularisedOptimizer

    model.replay_buffer.set_demonstrations(demos)
    if cfg.bc_alpha > 0:
        model.actor.optimizer = BCRegularisedOptimizer(model.actor.optimizer, model, demos, cfg.batch_size // 2,
                                                       bc_alpha=cfg.bc_alpha, q_filter=cfg.q_filter,
                                                       seed=cfg.seed + 1)


def _pretrain_sac_actor(model: Any, cfg: TrainConfig, demos: Demonstrations, progress: bool) -> None:
    """sac-demos: ``cfg.bc_pretrain_steps`` steps of behaviour cloning of the SAC actor (none when 0), then
    ``cfg.bc_dagger_rounds`` DAgger rounds (see :attr:`TrainConfig.bc_dagger_rounds`)."""
    import numpy as np
    from tqdm.auto import tqdm

    from skillstack.skills.sb3_extras import pretrain_actor_bc
    from skillstack.skills.train import _dagger_round

    if cfg.bc_pretrain_steps <= 0:
        return
    obs, act = demos.observations, demos.actions
    pretrain_actor_bc(model, obs, act, cfg.bc_pretrain_steps, cfg.batch_size, cfg.bc_lr, cfg.seed, progress)
    for round_index in range(1, cfg.bc_dagger_rounds + 1):
        new_obs, new_act, rollout_success = _dagger_round(actor_from_sac(model), cfg, round_index, progress)
        obs, act = np.concatenate([obs, new_obs]), np.concatenate([act, new_act])
        if progress:
            tqdm.write(f"[bc-dagger] round {round_index}: cloned actor's success {rollout_success:.2f}, "
                       f"{len(act)} labelled observations")
        pretrain_actor_bc(model, obs, act, cfg.bc_pretrain_steps, cfg.batch_size, cfg.bc_lr,
                          cfg.seed + round_index, progress)


def _attach_demos_to_ibrl(model: Any, cfg: TrainConfig, demos: Demonstrations) -> None:  # noqa: ARG001
    """ibrl: demonstrations as ``cfg.demo_fraction`` of every minibatch; the BC regulariser only with
    ``cfg.ibrl_bc_regulariser`` (the frozen BC proposal takes its place)."""
    if cfg.ibrl_bc_regulariser:
        _attach_demos_to_sac(model, cfg, demos)
    else:
        model.replay_buffer.set_demonstrations(demos)


def _pretrain_ibrl(model: Any, cfg: TrainConfig, demos: Demonstrations, progress: bool) -> None:
    """ibrl: behaviour-clone the SAC actor (as sac-demos), then freeze a copy as the BC proposal."""
    _pretrain_sac_actor(model, cfg, demos, progress)
    model.freeze_bc_policy()


def _actor_from_ibrl(model: Any) -> Any:
    from skillstack.skills.ibrl import actor_from_ibrl

    return actor_from_ibrl(model)


def _sac_demos_warmup(cfg: TrainConfig) -> int:
    """Env steps before the sac-demos actor learns: ``learning_starts`` (= batch size), then one critic-only
    update per env step for ``actor_warmup_updates`` steps."""
    return cfg.batch_size + cfg.actor_warmup_updates


# ---------------------------------------------------------------------------------------------- training rate
def sb3_training_rate(env_id: str, algo: str, steps: int, seed: int = 0, threads: int = 1) -> float:
    """Env steps/s of SB3 training (collection + updates) on a skillstack env, one process, CPU.

    The model comes from the algorithm's own :attr:`AlgorithmSpec.build_model` (no TensorBoard log, device
    cpu), on one ``make_env(env_id)`` env, with the settings ``bench throughput`` has always used:

    * off-policy (``sac``): 256×256 MLPs, batch 256, replay capacity 10⁶, one gradient step per env step,
      ``learning_starts`` = :data:`RATE_WARMUP_STEPS` (256); timed after those 256 random warm-up steps;
    * on-policy (``ppo``): SB3 defaults (``n_steps`` 2048, 10 epochs, 64×64), timed over whole rollouts +
      updates (``steps`` rounded up to a multiple of the rollout length, 2048).

    Args:
        env_id: registered env, e.g. ``"metaworld/reach-v3"``.
        algo: an SB3 algorithm that needs no demonstrations (``sac``, ``ppo``).
        steps: env steps to time (on-policy: rounded up to whole rollouts).
        seed: model and env seed.
        threads: ``torch.set_num_threads`` (set for the whole process).

    Returns:
        Timed env steps divided by their wall-clock time [steps/s].

    Raises:
        ValueError: ``algo`` is not such an algorithm (the message lists the valid ones), or ``steps`` ≤ 0.
    """
    import torch

    from skillstack.envs import make_env

    spec = _rate_algorithm(algo)
    if steps <= 0:
        raise ValueError(f"sb3_training_rate: steps must be positive, got {steps}")
    torch.set_num_threads(threads)
    model = _rate_model(spec, make_env(env_id), seed)
    if spec.off_policy:
        model.learn(RATE_WARMUP_STEPS)  # random warm-up, not timed
        t = time.perf_counter()
        model.learn(steps, reset_num_timesteps=False)
        return steps / (time.perf_counter() - t)
    rollout = model.n_steps * model.n_envs
    n = rollout * max(1, -(-steps // rollout))
    t = time.perf_counter()
    model.learn(n)
    return n / (time.perf_counter() - t)


def _rate_algorithm(algo: str) -> AlgorithmSpec:
    """The spec of ``algo`` if :func:`sb3_training_rate` can time it.

    Raises:
        ValueError: ``algo`` is unknown, not an SB3 algorithm, or needs demonstrations (lists the valid ones).
    """
    valid = [n for n in ALGORITHMS.names()
             if ALGORITHMS.get(n).build_model is not None and not ALGORITHMS.get(n).uses_demonstrations]
    if algo not in valid:
        raise ValueError(f"sb3_training_rate: algo must be one of {', '.join(map(repr, valid))} (an SB3 algorithm "
                         f"without demonstrations), got {algo!r}")
    return ALGORITHMS.get(algo)


def _rate_model(spec: AlgorithmSpec, env: Any, seed: int) -> Any:
    """The model :func:`sb3_training_rate` times: ``spec.build_model`` on cpu, without TensorBoard, with 256×256
    networks and batch 256; off-policy: replay capacity 10⁶ and ``learning_starts`` :data:`RATE_WARMUP_STEPS`."""
    from skillstack.skills.train import TrainConfig  # call time: train.py imports this module at its top

    assert spec.build_model is not None
    cfg = TrainConfig(env_id="", algo=spec.name, steps=1, seed=seed, device="cpu", hidden_sizes=(256, 256),
                      batch_size=256)
    if spec.off_policy:
        return spec.build_model(cfg, env, None, buffer_size=1_000_000, learning_starts=RATE_WARMUP_STEPS)
    return spec.build_model(cfg, env, None)


# ---------------------------------------------------------------------------------------------- spec table
def _imitation(run: Run, resume: bool, progress: bool = True) -> MLPActor:
    from skillstack.skills.train import imitation_loop  # call time: train.py imports this module at its top

    return imitation_loop(run, resume, progress)


def _sb3(run: Run, resume: bool, progress: bool = True) -> MLPActor:
    from skillstack.skills.train import sb3_loop  # call time: train.py imports this module at its top

    return sb3_loop(run, resume, progress)


register_algorithm(AlgorithmSpec(
    name="bc",
    description="Behaviour cloning: regress the MLP's tanh output onto the scripted expert's actions (MSE, Adam) "
                "on n_demos expert episodes (Pomerleau 1991, 'Efficient Training of Artificial Neural Networks "
                "for Autonomous Navigation'). policy_head='gmm': a Gaussian-mixture head trained by negative "
                "log-likelihood instead (robomimic, Mandlekar et al. 2021). skillstack's own loop (skills/train.py).",
    train=_imitation, step_unit=GRADIENT_STEPS, default_eval_every=1000, uses_demonstrations=True,
))
register_algorithm(AlgorithmSpec(
    name="dagger",
    description="DAgger with beta = 0 (Ross, Gordon & Bagnell 2011, 'A Reduction of Imitation Learning and "
                "Structured Prediction to No-Regret Online Learning', AISTATS): behaviour cloning, and after each "
                "of dagger_rounds equal shares of the gradient steps the policy runs dagger_episodes episodes on "
                "its own, the scripted expert labels every visited observation and training continues on the "
                "aggregate. skillstack's own loop (skills/train.py).",
    train=_imitation, step_unit=GRADIENT_STEPS, default_eval_every=1000, uses_demonstrations=True,
    expert_relabelling=True,
))
register_algorithm(AlgorithmSpec(
    name="sac",
    description="Soft Actor-Critic with a learnt entropy coefficient (Haarnoja et al. 2018, 'Soft Actor-Critic "
                "Algorithms and Applications', arXiv:1812.05905), Stable-Baselines3's SAC (Raffin et al. 2021, "
                "JMLR 22(268)) with hidden_sizes MLPs and batch_size minibatches.",
    train=_sb3, step_unit=ENV_STEPS, default_eval_every=10_000, build_model=build_sac,
    actor_from_model=actor_from_sac, off_policy=True, vectorised=True,
))
register_algorithm(AlgorithmSpec(
    name="ppo",
    description="Proximal Policy Optimization (Schulman et al. 2017, arXiv:1707.06347), Stable-Baselines3's PPO "
                "with its defaults (n_steps 2048, 10 epochs, 64x64 tanh MLPs).",
    train=_sb3, step_unit=ENV_STEPS, default_eval_every=10_000, build_model=build_ppo,
    actor_from_model=actor_from_ppo, vectorised=True,
))
register_algorithm(AlgorithmSpec(
    name="sac-demos",
    description="SAC from demonstrations after RLPD (Ball et al. 2023, arXiv:2302.02948): symmetric sampling of "
                "expert and online transitions, a behaviour-cloned actor initialisation, a critic-only warm-up and "
                "a TD3+BC-weighted BC regulariser (Fujimoto & Gu 2021; optional Q-filter, Nair et al. 2018). "
                "Stable-Baselines3's SAC with the additions in skills/sb3_extras.py.",
    train=_sb3, step_unit=ENV_STEPS, default_eval_every=10_000, build_model=build_sac_demos,
    actor_from_model=actor_from_sac, off_policy=True, uses_demonstrations=True, vectorised=True,
    warmup_steps=_sac_demos_warmup, attach_demonstrations=_attach_demos_to_sac, pretrain=_pretrain_sac_actor,
))
register_algorithm(AlgorithmSpec(
    name="ibrl",
    description="Imitation Bootstrapped RL (Hu, Mirchandani & Sadigh 2024, 'Imitation Bootstrapped Reinforcement "
                "Learning', RSS, arXiv:2311.02198): the behaviour-cloned SAC actor is frozen as a second proposal; "
                "acting, the TD target and the deployed policy take whichever of the RL and BC actions has the "
                "higher min(Q1, Q2), so RL fine-tuning starts from and is measured against the demonstrator. "
                "Stable-Baselines3's SAC with the proposal logic in skills/ibrl.py (RLPD-style demonstration "
                "sampling, the critic warm-up and, by default, the BC regulariser of sac-demos; 5 LayerNorm critics).",
    train=_sb3, step_unit=ENV_STEPS, default_eval_every=10_000, build_model=build_ibrl,
    actor_from_model=_actor_from_ibrl, off_policy=True, uses_demonstrations=True, vectorised=True,
    warmup_steps=_sac_demos_warmup, attach_demonstrations=_attach_demos_to_ibrl, pretrain=_pretrain_ibrl,
))
