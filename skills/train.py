"""Train a skill with an algorithm from :data:`~skillstack.skills.algorithms.ALGORITHMS`, evaluate it and register
it in a library.

This module holds the run bookkeeping (:class:`Run`, :class:`TrainConfig`, :func:`train`) and the two training
loops: :func:`imitation_loop` (``bc``, ``dagger``) and :func:`sb3_loop` (``sac``, ``ppo``, ``sac-demos``). Both take
everything algorithm-specific from the run's :class:`~skillstack.skills.algorithms.AlgorithmSpec`
(``skills/algorithms.py``: model builders, demonstrations, warm-up, replay buffer, ...).

Run directory layout::

    <run_dir>/config.json          resolved TrainConfig
              demos.npz            expert demonstrations (bc, sac-demos)
              metrics.jsonl        one line per periodic evaluation (env_steps, wall_s, success_rate, ...)
              tb/                  TensorBoard logs
              checkpoints/latest   name of the newest complete checkpoint directory
              checkpoints/step_*/  model.zip (SB3) or model.safetensors (bc), replay_buffer.npz, state.json
              best_policy.safetensors  the best periodic evaluation's policy (keep_best)
              gate/step_*.safetensors  every policy the improvement gate deployed (gate_episodes > 0)
              final_eval.json      evaluation of the registered policy

Checkpoints are training-time artifacts of the user's own run: SB3 checkpoints are restored with
``set_parameters`` (``torch.load(weights_only=True)``; the pickled "data" part of SB3 zips is never
read), replay buffers are plain npz. Skills in a library are safetensors + JSON only.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from skillstack.envs import ENVS, UnknownNameError, make_env, resolve_env_id, unknown_name_message
from skillstack.envs.fileio import atomic_write_json
from skillstack.envs.provenance import command_line, git_sha, package_versions, utc_now
from skillstack.envs.rewards import check_reward, with_reward
from skillstack.skills.algorithms import ALGORITHMS, AlgorithmSpec, resolve_device
from skillstack.skills.demos import Demonstrations, collect_demonstrations
from skillstack.skills.evaluate import EvalResult, evaluate
from skillstack.skills.library import Skill, SkillLibrary, check_skill_name
from skillstack.skills.networks import (
    MAX_BINS,
    MAX_CHUNK,
    MAX_MODES,
    ActionChunkExecutor,
    BinnedActor,
    ChunkedMLPActor,
    GMMActor,
    MLPActor,
    QProposalActor,
)

PERIODIC_EVAL_SEED_BASE = 500_000
"""Periodic evaluations during training use seeds from here: disjoint from the final evaluation's ``0..N-1``."""
BEST_POLICY = "best_policy.safetensors"
"""File in the run directory with the weights of the best periodic evaluation's policy (``keep_best``)."""
GATE_SEED_BASE = 600_000
"""The improvement gate's validation episodes use seeds from here: disjoint from the periodic evaluations' (whose
success the regression metric reads) and from the final evaluation's."""
GATE_DIR = "gate"
"""Directory in the run directory with the weights of every policy the improvement gate deployed
(``step_<N>.safetensors``; :attr:`TrainConfig.gate_episodes`)."""


POLICY_HEADS = ("deterministic", "gmm", "binned")
"""Policy heads of the imitation algorithms (:attr:`TrainConfig.policy_head`)."""
POLICY_FEATURES = ("raw", "clearance")
"""Policy inputs of the imitation algorithms (:attr:`TrainConfig.policy_features`)."""
CLEARANCE_YAWS, CLEARANCE_CLIP = 12, 0.2
"""``policy_features="clearance"``: yaws of the profile (15° apart) and its clip [m] — the twenty-eighth session's
offline probe's values (``bench_results/robosuite_scene/turn_feature_probe.py``)."""
DEMO_FILTERS = ("all", "success")
"""Which demonstration episodes training uses (:attr:`TrainConfig.demo_filter`)."""
OVERSAMPLE_THRESHOLD = 0.1
"""An action component counts as active (:func:`oversampling_probabilities`) when its magnitude exceeds this
(actions in [-1, 1])."""


def oversampling_probabilities(targets: npt.NDArray[np.floating], act_dim: int, dims: Sequence[int],
                               factor: float) -> npt.NDArray[np.float64] | None:
    """Sampling probabilities of the imitation loop's training rows that draw the rows in which an action component
    of ``dims`` is active (:data:`OVERSAMPLE_THRESHOLD`, at any step of the row's chunk) ``factor`` times as often as
    the others (:attr:`TrainConfig.oversample_dims`).

    A decision that the expert takes in few steps — the pick expert's grasp-yaw turn is active in 12.6 % of the rows
    of ``pick_can``'s demonstrations — adds little to a loss averaged over all rows, and a clone fitted to it
    reproduced the turn on 117 of the 173 training episodes that begin with one (2026-12-06). Rebalancing the
    training distribution toward such rare actions is the remedy behaviour cloning for driving uses for rare
    steering (Codevilla et al. 2019, "Exploring the Limitations of Behavior Cloning for Autonomous Driving", ICCV).
    Measured there (2 000 demonstrations, ``oversample_dims=(5,)``, factor 20, one training seed each): the clone
    turned the expert's way in 16 of the 26 development layouts that need a turn (10 of 26 without), but lifted the
    can with every neighbour standing in only 36 of 50 (41 of 50 without) and reached 0.90 in ``pick_can-v2``
    (0.95 without) — the turn is not all a pick needs, and the rest got fewer draws. Not used by any shipped skill.

    Args:
        targets: ``(N, chunk · act_dim)`` or ``(N, act_dim)`` regression targets.
        act_dim: action dimension.
        dims: action indices, each in ``[0, act_dim)``.
        factor: ≥ 1.

    Returns:
        ``(N,) float64`` probabilities summing to 1, or ``None`` (uniform) when ``dims`` is empty or ``factor`` is 1.

    Raises:
        ValueError: a dimension outside ``[0, act_dim)``.
    """
    if not dims or factor == 1.0:
        return None
    bad = [d for d in dims if not 0 <= d < act_dim]
    if bad:
        raise ValueError(f"oversample_dims {bad} outside the action's dimensions 0..{act_dim - 1}")
    chunks = np.asarray(targets).reshape(len(targets), -1, act_dim)
    active = (np.abs(chunks[:, :, list(dims)]) > OVERSAMPLE_THRESHOLD).any(axis=(1, 2))
    weights = np.where(active, float(factor), 1.0)
    return weights / weights.sum()


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved as ``config.json`` beside its checkpoints)."""

    env_id: str
    """Registered env, e.g. ``"metaworld/drawer-open-v3"``."""
    algo: str
    """A name in :data:`~skillstack.skills.algorithms.ALGORITHMS` (``sac``, ``ppo``, ``bc``, ``dagger``,
    ``sac-demos``)."""
    steps: int
    """Training length in the algorithm's ``step_unit``: env steps for RL algorithms, gradient steps for ``bc`` and
    ``dagger``."""
    seed: int = 0
    """Seeds torch, SB3, the envs and demonstration collection."""
    run_dir: str = ""
    """Output directory (default ``runs/<env>/<algo>-s<seed>``)."""
    device: str = "auto"
    """``auto`` (cuda if available), ``cpu`` or ``cuda``."""
    n_envs: int = 1
    """Parallel envs for RL collection (``SubprocVecEnv`` when > 1; only for ``vectorised`` algorithms)."""
    eval_every: int | None = None
    """Periodic evaluation interval (same unit as ``steps``); default: the algorithm's ``default_eval_every``
    (10 000 env steps for RL, 1 000 gradient steps for bc/dagger)."""
    eval_episodes: int = 20
    """Episodes per periodic evaluation."""
    final_eval_episodes: int = 100
    """Episodes of the final evaluation whose success rate is registered with the skill."""
    checkpoint_every: int | None = None
    """Checkpoint interval (same unit as ``steps``); default = ``eval_every``."""
    stop_at_success: float | None = None
    """Stop early once a periodic evaluation reaches this success rate (sac-demos: only once the actor has had
    RL updates, i.e. after ``actor_warmup_updates``, so the result is never just the BC initialisation)."""
    max_minutes: float | None = None
    """Wall-clock budget [min] (checked at periodic evaluations and checkpoints)."""
    max_episode_steps: int | None = None
    """Horizon override [steps] (default: the env's registration, 500 for Meta-World)."""
    n_demos: int = 25
    """Expert episodes for ``bc``, ``dagger`` (its first round) and ``sac-demos``."""
    dagger_rounds: int = 4
    """dagger: rounds of on-policy data collection after the BC round (``steps`` are split evenly over the
    ``dagger_rounds + 1`` rounds)."""
    dagger_episodes: int = 20
    """dagger: episodes the current policy runs per round; every visited observation is labelled by the expert."""
    hidden_sizes: tuple[int, ...] = (256, 256)
    """Actor (and critic) hidden widths for bc/sac/sac-demos; ``ppo`` keeps SB3's default (64, 64)."""
    batch_size: int = 256
    """Minibatch size for bc and SAC."""
    bc_lr: float = 1e-3
    """Adam learning rate for behaviour cloning."""
    bc_pretrain_steps: int = 3000
    """sac-demos / ibrl: gradient steps of BC pre-training of the actor (per round with ``bc_dagger_rounds``)."""
    bc_dagger_rounds: int = 0
    """sac-demos / ibrl: DAgger rounds of the actor's pre-training (0: plain BC on the demonstrations). After the
    BC pre-training, the cloned actor runs ``dagger_episodes`` episodes on its own, the env's scripted expert labels
    every visited observation, and BC continues for ``bc_pretrain_steps`` more steps on the demonstrations plus
    all labels so far (Ross, Gordon & Bagnell 2011); repeated ``bc_dagger_rounds`` times. For ibrl the frozen BC
    proposal is the result. The labels only shape the pre-trained actor: the replay buffer's demonstration half
    and the BC regulariser keep the expert's own transitions (a label is not a transition). Needs a scripted
    expert for the env (``skills/experts.py``)."""
    actor_warmup_updates: int = 5000
    """sac-demos: critic-only updates before the actor and temperature start learning."""
    demo_fraction: float = 0.5
    """sac-demos: fraction of each minibatch drawn from the demonstrations (RLPD uses 0.5)."""
    bc_alpha: float = 2.5
    """sac-demos: TD3+BC-style weight of the Q-filtered BC regulariser (larger = weaker BC; 0 disables)."""
    critic_layer_norm: bool = True
    """ibrl: LayerNorm after each hidden layer of the critics (RLPD/IBRL)."""
    n_critics: int = 5
    """ibrl: Q networks; the value is their minimum."""
    ibrl_bc_regulariser: bool = True
    """ibrl: also put sac-demos' BC regulariser (``bc_alpha``) on the RL actor. Measured on drawer-open (seed 0,
    9 000 steps): without it the deployed proposal policy fell from 100 % to 0 % within 750 actor updates with 2,
    5 (LayerNorm) or 10 critics — the critics overvalue the unfrozen actor's actions, so the Q-argmax picks them;
    with it and 5 LayerNorm critics it stayed at 100 %."""
    proposal_beta: float | None = None
    """ibrl: ``None``: act with the higher-valued proposal (greedy, IBRL's default); > 0: sample
    ``softmax(β·Q)`` over the RL and BC proposals."""
    proposal_selection: str = "min"
    """ibrl: how the deployed policy (and every periodic evaluation) chooses between the RL and BC proposals —
    ``"min"`` (IBRL: the higher ``min_i Q_i``), ``"unanimous"`` (the RL proposal only where every critic prefers it
    to the BC proposal) or ``"dominant"`` (only where its lowest value exceeds the BC proposal's highest;
    :class:`~skillstack.skills.networks.QProposalActor`). Acting during training and the TD target are IBRL's
    either way. A resumed run must keep it."""
    ibrl_conservatism: float = 0.0
    """ibrl: weight of a CQL-style term that lowers the critics' value of the RL actor's actions relative to the
    replay buffer's, in units of the mean |Q| (:class:`~skillstack.skills.ibrl.IBRLSAC` ``conservatism``;
    Kumar et al. 2020). 0: IBRL's critics."""
    q_filter: bool = False
    """sac-demos: apply the BC term only where Q(s, a_demo) > Q(s, π(s)) (Nair et al. 2018). Off by default:
    with SB3's un-normalised critics the filter passed the critic's early errors through and drawer-open fell
    from 100 % to 0 % within 500 actor updates (measured); unfiltered BC held 100 %."""
    ent_coef_init: float = 0.01
    """sac-demos: initial entropy coefficient (SB3's ``ent_coef="auto_<x>"``)."""
    chunk_size: int = 1
    """bc / dagger: actions predicted per forward pass (action chunking, ACT / Diffusion Policy; 1 = a single-step
    policy). Targets are the expert's next ``chunk_size`` actions of the same episode, the last one repeated past
    its end (DAgger's rollouts: the expert's labels at the next visited steps, :func:`_dagger_round`)."""
    execute_steps: int | None = None
    """bc / dagger with ``chunk_size`` > 1: actions of each chunk executed before predicting again (receding horizon;
    default ``chunk_size // 2``, as Diffusion Policy executes 8 of 16)."""
    policy_head: str = "deterministic"
    """bc / dagger: ``"deterministic"`` (tanh output regressed with MSE) or ``"gmm"`` (a Gaussian-mixture head
    trained by negative log-likelihood, acting with the most probable component's mean; robomimic's GMM head,
    :class:`~skillstack.skills.networks.GMMActor`) — for experts whose actions are multimodal — or ``"binned"`` (a
    categorical head per action dimension trained by cross-entropy on two-hot targets, acting with the most probable
    bin's neighbourhood mean; :class:`~skillstack.skills.networks.BinnedActor`)."""
    policy_features: str = "raw"
    """bc / dagger: the policy's input — ``"raw"`` (the observation) or ``"clearance"`` (the observation with the
    hand's clearance profile appended, computed inside the network from the observed poses:
    :class:`~skillstack.skills.networks.ClearanceProfile`; for envs whose expert describes a pick's surroundings,
    the ``robosuite-pickplace/pick_*`` skills — ``PickPlaceSkillController.clearance_spec``)."""
    gmm_modes: int = 5
    """``policy_head="gmm"``: mixture components (robomimic's default: 5)."""
    action_bins: int = 21
    """``policy_head="binned"``: values per action dimension (:class:`~skillstack.skills.networks.BinnedActor`; odd,
    3–255; 21 = steps of 0.1 on [-1, 1])."""
    demo_noise: float = 0.0
    """bc / dagger: standard deviation of Gaussian noise added to the expert's *executed* actions while the
    demonstrations are collected; the recorded labels stay the expert's clean actions (DART, Laskey et al. 2017,
    "DART: Noise Injection for Robust Imitation Learning", CoRL): the demonstrations visit the states a slightly
    wrong policy reaches, labelled with the expert's correction."""
    oversample_dims: tuple[int, ...] = ()
    """bc / dagger: action indices whose active rows are drawn ``oversample_factor`` times as often as the others
    while training (:func:`oversampling_probabilities`; e.g. ``(5,)``, the yaw of robosuite's OSC action)."""
    oversample_factor: float = 1.0
    """bc / dagger: see :attr:`oversample_dims` (1 = uniform sampling, as before)."""
    demo_filter: str = "all"
    """Which collected demonstration episodes are used: ``"all"`` or ``"success"`` (only the episodes in which the
    expert succeeded, :meth:`~skillstack.skills.demos.Demonstrations.successful`; ``n_demos`` episodes are still
    collected, so fewer are used). Applies wherever demonstrations are (cloning, DAgger's first round, the RL
    replay buffers of sac-demos / ibrl)."""
    demo_workers: int = 1
    """Processes that collect the demonstrations in parallel (:func:`~skillstack.skills.demos.collect_demonstrations`;
    the demonstrations are the same for any value, so a resumed run may change it)."""
    skill_name: str | None = None
    """Name of the registered skill (default derived from the env, e.g. ``drawer-open-v3``)."""
    description: str | None = None
    """Skill description (default: the env's description)."""
    library: str | None = None
    """Library to register in; ``None`` skips registration."""
    torch_threads: int | None = None
    """``torch.set_num_threads`` for this run (``None``: torch's default). 1 is fastest for these small
    networks when several runs share a machine."""
    reward: str = "env"
    """The reward RL trains on (:data:`~skillstack.envs.rewards.REWARDS`): ``"env"`` (the env's own, e.g.
    Meta-World's shaped reward) or ``"success"`` (1 on a successful step, which ends the episode; IBRL's
    Meta-World/robomimic setting, :class:`~skillstack.envs.rewards.SuccessReward`). Demonstrations for the replay
    buffer are collected in the same MDP. Only for the RL algorithms (``bc``/``dagger`` refuse ``"success"``);
    periodic and final evaluations always measure success."""
    keep_best: bool = True
    """Deploy (evaluate finally and register) the policy of the best periodic evaluation instead of the last one
    when the last one scored lower — model selection on the periodic evaluations, as robomimic and Diffusion
    Policy report their best checkpoint; SB3's ``EvalCallback(best_model_save_path=...)`` does the same. For the
    RL-from-demonstrations algorithms the first periodic evaluation is the cloned policy before any RL update, so a
    run whose RL phase regresses deploys its demonstration policy. The periodic evaluations use their own seeds
    (``PERIODIC_EVAL_SEED_BASE``), so the final evaluation that is registered is not biased by the selection.
    Ignored when the improvement gate is on (``gate_episodes`` > 0): the gate decides what is deployed."""
    gate_episodes: int = 0
    """> 0: a **safe-improvement gate** on what training deploys, in the spirit of High Confidence Policy
    Improvement (Thomas, Theocharous & Ghavamzadeh 2015, ICML): the policy of the first periodic evaluation (for
    the RL-from-demonstrations algorithms: the cloned policy before any RL update) is the deployed baseline; at
    every later periodic evaluation the learner's current policy (the candidate) runs ``gate_episodes`` validation
    episodes (seeds from :data:`GATE_SEED_BASE`, the same seeds for every candidate) and replaces the deployed
    policy only if it succeeds on significantly more of them — paired per seed, one-sided exact McNemar test
    (McNemar 1947) at level ``gate_delta``. The periodic evaluations (their curve, the stop rule, the regression
    metric) then measure the deployed policy, and the learner's validation success is logged next to them
    (``metrics.jsonl``: ``learner_validation_success``). The learner itself trains exactly as without the gate.
    Cost: ``gate_episodes`` extra episodes per periodic evaluation (counted in the wall-clock; their env steps
    are logged as ``gate_env_steps``). 0 (default): no gate."""
    gate_delta: float = 0.05
    """Level of the gate's one-sided test (``gate_episodes`` > 0): a candidate no better than the deployed policy
    replaces it with probability ≤ ``gate_delta`` at each periodic evaluation."""

    def resolved(self) -> TrainConfig:
        """Fill the defaults that depend on other fields (returns a new config).

        Raises:
            UnknownNameError: ``algo``, ``proposal_selection``, ``policy_head`` or ``demo_filter`` is not registered.
            ValueError: fields that do not fit together or are out of range (each message names them).
        """
        spec = ALGORITHMS.get(self.algo)
        if self.chunk_size != 1 and self.algo not in ("bc", "dagger"):
            raise ValueError(f"chunk_size > 1 (action chunking) is implemented for algos 'bc' and 'dagger' only, "
                             f"got {self.algo!r}")
        if not 1 <= self.chunk_size <= MAX_CHUNK:
            raise ValueError(f"chunk_size must be in [1, {MAX_CHUNK}], got {self.chunk_size}")
        execute = self.execute_steps if self.execute_steps is not None else max(1, self.chunk_size // 2)
        if not 1 <= execute <= self.chunk_size:
            raise ValueError(f"execute_steps must be in [1, chunk_size={self.chunk_size}], got {execute}")
        if self.proposal_selection not in QProposalActor.SELECTIONS:
            raise UnknownNameError(unknown_name_message("proposal_selection", self.proposal_selection,
                                                        list(QProposalActor.SELECTIONS)))
        if check_reward(self.reward) != "env" and spec.build_model is None:
            raise ValueError(f"reward {self.reward!r} is for the RL algorithms "
                             f"({', '.join(n for n in ALGORITHMS.names() if ALGORITHMS.get(n).build_model)}); "
                             f"{self.algo!r} learns from demonstrations without a reward")
        if self.policy_head not in POLICY_HEADS:
            raise UnknownNameError(unknown_name_message("policy head", self.policy_head, list(POLICY_HEADS)))
        imitation = spec.uses_demonstrations and spec.build_model is None  # bc, dagger
        if self.policy_head != "deterministic" and not imitation:
            raise ValueError(f"policy_head {self.policy_head!r} is for the imitation algorithms (bc, dagger); got "
                             f"algo {self.algo!r}")
        if self.policy_features not in POLICY_FEATURES:
            raise UnknownNameError(unknown_name_message("policy features", self.policy_features,
                                                        list(POLICY_FEATURES)))
        if self.policy_features != "raw" and not imitation:
            raise ValueError(f"policy_features {self.policy_features!r} is for the imitation algorithms (bc, dagger); "
                             f"got algo {self.algo!r}")
        if not 1 <= self.gmm_modes <= MAX_MODES:
            raise ValueError(f"gmm_modes must be in [1, {MAX_MODES}], got {self.gmm_modes}")
        if not (3 <= self.action_bins <= MAX_BINS and self.action_bins % 2 == 1):
            raise ValueError(f"action_bins must be an odd number in [3, {MAX_BINS}], got {self.action_bins}")
        if not (self.demo_noise >= 0.0 and np.isfinite(self.demo_noise)):
            raise ValueError(f"demo_noise must be a finite standard deviation ≥ 0, got {self.demo_noise}")
        if self.demo_noise > 0 and not imitation:
            raise ValueError(f"demo_noise (DART) is for the imitation algorithms (bc, dagger): its demonstrations "
                             f"record the expert's clean actions, not the executed noisy ones an RL replay buffer "
                             f"needs; got algo {self.algo!r}")
        if not (np.isfinite(self.oversample_factor) and self.oversample_factor >= 1.0):
            raise ValueError(f"oversample_factor must be finite and ≥ 1, got {self.oversample_factor}")
        if bool(self.oversample_dims) != (self.oversample_factor != 1.0):
            raise ValueError("oversample_dims and oversample_factor > 1 go together (got dims "
                             f"{list(self.oversample_dims)}, factor {self.oversample_factor})")
        if self.oversample_dims and not imitation:
            raise ValueError(f"oversampling is for the imitation algorithms (bc, dagger); got algo {self.algo!r}")
        if len(set(self.oversample_dims)) != len(self.oversample_dims) or any(d < 0 for d in self.oversample_dims):
            raise ValueError(f"oversample_dims must be distinct action indices ≥ 0, got {list(self.oversample_dims)}")
        if self.demo_filter not in DEMO_FILTERS:
            raise UnknownNameError(unknown_name_message("demonstration filter", self.demo_filter, list(DEMO_FILTERS)))
        if self.demo_filter != "all" and not spec.uses_demonstrations:
            raise ValueError(f"demo_filter is for the algorithms that use demonstrations; algo {self.algo!r} "
                             f"collects none")
        if self.bc_dagger_rounds < 0 or (self.bc_dagger_rounds > 0 and spec.pretrain is None):
            raise ValueError(f"bc_dagger_rounds (DAgger pre-training of the actor) must be ≥ 0 and is for the "
                             f"algorithms that pre-train on demonstrations "
                             f"({', '.join(n for n in ALGORITHMS.names() if ALGORITHMS.get(n).pretrain)}); got "
                             f"{self.bc_dagger_rounds} with algo {self.algo!r}")
        if self.eval_episodes < 1 or self.final_eval_episodes < 1:
            raise ValueError(f"eval_episodes and final_eval_episodes must be ≥ 1, got {self.eval_episodes} and "
                             f"{self.final_eval_episodes}")
        eval_every = self.eval_every or spec.default_eval_every
        run_dir = self.run_dir or str(Path("runs") / self.env_id.replace("/", "_") / f"{self.algo}-s{self.seed}")
        return replace(self, eval_every=eval_every, checkpoint_every=self.checkpoint_every or eval_every,
                       run_dir=run_dir, execute_steps=execute)


def mcnemar_improvement(candidate: Sequence[bool], baseline: Sequence[bool]) -> tuple[int, int, float]:
    """One-sided exact McNemar test that ``candidate`` succeeds more often than ``baseline`` on paired episodes.

    Args:
        candidate, baseline: per-episode success of the two policies on the same seeds (same length).

    Returns:
        ``(wins, losses, p)``: episodes only the candidate succeeded in, episodes only the baseline succeeded in,
        and ``P(X ≥ wins)`` for ``X ~ Binomial(wins + losses, 1/2)`` — the exact McNemar test (McNemar 1947) with
        the alternative "the candidate is better"; 1.0 when no episode differs (``scipy.stats.binomtest``).

    Raises:
        ValueError: the two sequences differ in length.
    """
    from scipy.stats import binomtest

    if len(candidate) != len(baseline):
        raise ValueError(f"paired episodes differ in number: {len(candidate)} vs {len(baseline)}")
    wins = sum(1 for c, b in zip(candidate, baseline, strict=True) if c and not b)
    losses = sum(1 for c, b in zip(candidate, baseline, strict=True) if b and not c)
    if wins + losses == 0:
        return 0, 0, 1.0
    return wins, losses, float(binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue)


def _save_weights_atomic(module: torch.nn.Module, path: Path) -> None:
    """Write ``module``'s weights to ``path`` with safetensors' ``save_model`` (which handles shared tensors) via a
    temp file in the same directory + ``os.replace``, so a kill leaves the previous file at ``path`` loadable."""
    from safetensors.torch import save_model

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    save_model(module, str(tmp))
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------- run state
@dataclass
class RunState:
    """Counters that a checkpoint restores."""

    steps: int = 0
    wall_s: float = 0.0
    last_eval: int = 0
    last_checkpoint: int = 0
    best_success: float = 0.0
    first_reach: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None
    best_steps: int | None = None
    """Steps of the policy saved as the best so far (``best_policy.safetensors``; ``keep_best``)."""
    last_success: float | None = None
    """Success rate of the latest periodic evaluation."""
    gate_steps: int | None = None
    """Steps of the policy the improvement gate deploys (``gate/step_<N>.safetensors``; ``gate_episodes``)."""
    gate_successes: list[bool] = field(default_factory=list)
    """The deployed policy's per-episode success on the gate's validation episodes."""
    gate_env_steps: int = 0
    """Env steps spent in the gate's validation episodes (not in ``steps``)."""


class Run:
    """Bookkeeping shared by every algorithm: metrics, wall-clock, checkpoints, early stopping."""

    def __init__(self, cfg: TrainConfig, resume: bool, progress: bool = True) -> None:
        self.cfg = cfg
        self.progress = progress
        self.dir = Path(cfg.run_dir)
        self.ckpt_dir = self.dir / "checkpoints"
        if self.dir.exists() and any(self.dir.iterdir()) and not resume:
            raise FileExistsError(f"run directory {self.dir} exists; pass --resume to continue it "
                                  "or choose another --run-dir")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state = RunState()
        self._t0 = time.perf_counter()
        self._wall0 = 0.0
        if resume:
            saved = self.dir / "config.json"
            if saved.exists():
                old = json.loads(saved.read_text())
                defaults = {f.name: f.default for f in fields(TrainConfig)}
                # the network, and what the periodic evaluations (keep_best, regression metric) deploy
                for key in ("env_id", "algo", "seed", "chunk_size", "policy_head", "policy_features", "gmm_modes",
                            "action_bins",
                            "proposal_selection", "reward", "demo_filter", "gate_episodes"):
                    if old.get(key, defaults[key]) != getattr(cfg, key):
                        raise ValueError(f"--resume: {key} differs from the run's config.json "
                                         f"({old.get(key, defaults[key])!r} vs {getattr(cfg, key)!r})")
        atomic_write_json(self.dir / "config.json", asdict(cfg))  # a kill never leaves a truncated config

    @property
    def algorithm(self) -> AlgorithmSpec:
        """The spec of ``cfg.algo``.

        Raises:
            UnknownNameError: ``cfg.algo`` is not registered.
        """
        return ALGORITHMS.get(self.cfg.algo)

    # wall clock accumulated over resumed segments
    def wall(self) -> float:
        return self._wall0 + time.perf_counter() - self._t0

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint: the ``latest`` pointer's target, or (pointer missing or dangling after
        a crash) the highest ``step_*`` directory holding ``state.json``, which is written last."""
        ptr = self.ckpt_dir / "latest"
        if ptr.exists():
            d = self.ckpt_dir / ptr.read_text().strip()
            if (d / "state.json").exists():
                return d
        done = sorted(d for d in self.ckpt_dir.glob("step_*") if (d / "state.json").exists())
        return done[-1] if done else None

    def restore_state(self, ckpt: Path) -> None:
        st = json.loads((ckpt / "state.json").read_text())
        self.state = RunState(**st)
        # A resumed run continues to its (possibly new) budgets, unless its own stop still holds under this
        # config: a run that stopped at success (same threshold) or at its wall-clock budget (same budget) is
        # finished — resuming it again (a rerun benchmark) must not train one more evaluation interval.
        self.state.stop_reason = self._stop_reason(self.state.last_success, self.state.last_eval, self.state.wall_s)
        self._wall0 = self.state.wall_s
        self._t0 = time.perf_counter()

    def save_checkpoint(self, write: Callable[[Path], None]) -> Path:
        """Write a checkpoint atomically; keep the newest 2.

        Order: write everything into a hidden temp dir (``state.json`` last) → ``rename`` to ``step_N`` → replace
        the ``latest`` pointer (``os.replace``). Old checkpoints are first renamed out of the ``step_*``
        namespace, then deleted, so a kill at any moment leaves only complete ``step_*`` directories.
        """
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.ckpt_dir.glob(".tmp-*"):  # left by a killed writer
            shutil.rmtree(stale, ignore_errors=True)
        name = f"step_{self.state.steps:012d}"
        tmp = self.ckpt_dir / f".tmp-{name}-{os.getpid()}"
        tmp.mkdir()
        write(tmp)
        self.state.wall_s = self.wall()
        self.state.last_checkpoint = self.state.steps
        with open(tmp / "state.json", "w") as f:
            f.write(json.dumps(asdict(self.state), indent=2))
            f.flush()
            os.fsync(f.fileno())
        final = self.ckpt_dir / name
        if final.exists():
            os.rename(final, self.ckpt_dir / f".tmp-old-{name}-{os.getpid()}")
        os.rename(tmp, final)
        ptr_tmp = self.ckpt_dir / f".tmp-latest-{os.getpid()}"
        ptr_tmp.write_text(name + "\n")
        os.replace(ptr_tmp, self.ckpt_dir / "latest")
        for old in sorted(self.ckpt_dir.glob("step_*"))[:-2]:
            os.rename(old, self.ckpt_dir / f".tmp-old-{old.name}-{os.getpid()}")
        for stale in self.ckpt_dir.glob(".tmp-old-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return final

    def periodic_eval(self, actor: MLPActor) -> EvalResult:
        """Evaluate on ``eval_episodes`` periodic seeds, log a ``metrics.jsonl`` row and update the counters.

        ``actor`` is the learner's current policy; with the improvement gate on (``gate_episodes`` > 0) it is
        first offered to the gate (:meth:`gate`) and the evaluation measures the policy the gate deploys."""
        cfg = self.cfg
        t = time.perf_counter()
        gate_info: dict[str, Any] = {}
        if cfg.gate_episodes > 0:
            actor, gate_info = self.gate(actor)
        res = evaluate(_policy_fn(actor), cfg.env_id, cfg.eval_episodes, seed_base=PERIODIC_EVAL_SEED_BASE,
                       max_episode_steps=cfg.max_episode_steps)
        eval_s = time.perf_counter() - t
        self.state.last_eval = self.state.steps
        self.state.last_success = res.success_rate
        if (self.cfg.keep_best and not cfg.gate_episodes
                and (self.state.best_steps is None or res.success_rate >= self.state.best_success)):
            self.save_best(actor)  # ties: the later policy (more training at the same measured success)
        self.state.best_success = max(self.state.best_success, res.success_rate)
        row = {"steps": self.state.steps, "wall_s": round(self.wall(), 2), "eval_s": round(eval_s, 2),
               "success_rate": res.success_rate, "mean_return": res.mean_return, "mean_length": res.mean_length,
               **gate_info}
        for thr in (0.5, 0.8, 0.9, 0.95, 1.0):
            key = f"{thr:.2f}"
            if res.success_rate >= thr and key not in self.state.first_reach:
                self.state.first_reach[key] = {"steps": self.state.steps, "wall_s": row["wall_s"]}
        with open(self.dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        learner = (f" learner_validation={gate_info['learner_validation_success']:.2f} "
                   f"deployed=step {gate_info['deployed_steps']}" if gate_info else "")
        tqdm.write(f"[eval] steps={self.state.steps} success={res.success_rate:.2f} "
                   f"return={res.mean_return:.1f} wall={row['wall_s']:.0f}s{learner}")
        return res

    def gate_path(self, steps: int) -> Path:
        """Weights of the policy the improvement gate deployed at ``steps`` (safetensors)."""
        return self.dir / GATE_DIR / f"step_{steps:012d}.safetensors"

    def gate(self, candidate: torch.nn.Module) -> tuple[torch.nn.Module, dict[str, Any]]:
        """The safe-improvement gate (:attr:`TrainConfig.gate_episodes`): run ``candidate`` on the validation
        episodes and deploy it if it is the first policy offered or if it succeeds on significantly more of them
        than the deployed policy (:func:`mcnemar_improvement`, level ``gate_delta``).

        Returns:
            ``(deployed, info)``: the policy to evaluate — ``candidate`` itself when accepted, else a copy with the
            deployed weights (``candidate`` is not modified) — and the ``metrics.jsonl`` fields
            ``learner_validation_success``, ``gate_accepted``, ``deployed_steps``, ``gate_env_steps`` and, after
            the baseline, ``gate_wins`` / ``gate_losses`` (episodes only the candidate / only the deployed policy
            succeeded in) and ``gate_p_value``.

        Raises:
            FileNotFoundError: the deployed policy's weights are missing from the run directory.
        """
        from safetensors.torch import load_model

        cfg, st = self.cfg, self.state
        val = evaluate(_policy_fn(candidate), cfg.env_id, cfg.gate_episodes, seed_base=GATE_SEED_BASE,
                       max_episode_steps=cfg.max_episode_steps)
        st.gate_env_steps += sum(e.length for e in val.episodes)
        successes = [bool(e.success) for e in val.episodes]
        info: dict[str, Any] = {"learner_validation_success": val.success_rate}
        if st.gate_steps is None:
            accept = True  # the baseline: HCPI's behaviour policy
        else:
            wins, losses, p = mcnemar_improvement(successes, st.gate_successes)
            accept = p <= cfg.gate_delta
            info |= {"gate_wins": wins, "gate_losses": losses, "gate_p_value": float(f"{p:.3g}")}
        if accept:
            _save_weights_atomic(candidate, self.gate_path(st.steps))  # earlier deployed policies stay loadable
            st.gate_steps, st.gate_successes = st.steps, successes
            deployed = candidate
        else:
            path = self.gate_path(st.gate_steps)  # type: ignore[arg-type]
            if not path.exists():
                raise FileNotFoundError(f"{path}: the improvement gate's deployed policy is missing")
            deployed = copy.deepcopy(candidate)
            load_model(deployed, str(path))
        info |= {"gate_accepted": accept, "deployed_steps": st.gate_steps, "gate_env_steps": st.gate_env_steps}
        return deployed, info

    def save_best(self, actor: torch.nn.Module) -> None:
        """Write ``actor``'s weights to :data:`BEST_POLICY` in the run directory (safetensors, atomic: temp file
        + rename, so a kill leaves the previous best loadable) and remember its steps."""
        _save_weights_atomic(actor, self.dir / BEST_POLICY)
        self.state.best_steps = self.state.steps

    def deploy_best(self, actor: torch.nn.Module) -> dict[str, Any]:
        """Load the best periodic evaluation's weights into ``actor`` when the last evaluation scored lower
        (``keep_best``). Returns what is deployed: ``{"steps", "periodic_success", "selection"}``."""
        from safetensors.torch import load_model

        st = self.state
        last = {"steps": st.steps, "periodic_success": st.last_success, "selection": "last"}
        if self.cfg.gate_episodes and st.gate_steps is not None:
            load_model(actor, str(self.gate_path(st.gate_steps)))
            return {"steps": st.gate_steps, "periodic_success": st.last_success, "selection": "improvement gate"}
        # ties go to the later policy (save_best), so a best that is not the last evaluation scored higher
        if not self.cfg.keep_best or st.best_steps is None or st.best_steps == st.last_eval:
            return last
        load_model(actor, str(self.dir / BEST_POLICY))
        tqdm.write(f"[keep-best] deploying the policy of step {st.best_steps} (periodic success "
                   f"{st.best_success:.2f}) instead of the last (step {st.last_eval}, {st.last_success:.2f})")
        return {"steps": st.best_steps, "periodic_success": st.best_success, "selection": "best periodic evaluation"}

    def _stop_reason(self, success: float | None, eval_steps: int, wall_s: float) -> str | None:
        """Why training stops after an evaluation with ``success`` at ``eval_steps`` (``None``: no evaluation) and
        ``wall_s`` seconds of training, or ``None`` to go on."""
        cfg = self.cfg
        # never stop on success before the policy has had RL updates (sac-demos' warm-up): it would be pure BC
        if (success is not None and cfg.stop_at_success is not None and success >= cfg.stop_at_success
                and eval_steps > self.algorithm.warmup_steps(cfg)):
            return f"success {success:.2f} >= {cfg.stop_at_success}"
        if cfg.max_minutes is not None and wall_s >= 60 * cfg.max_minutes:
            return f"wall-clock budget {cfg.max_minutes} min"
        return None

    def should_stop(self, last: EvalResult | None) -> bool:
        self.state.stop_reason = self._stop_reason(None if last is None else last.success_rate, self.state.steps,
                                                   self.wall())
        return self.state.stop_reason is not None

    def demonstrations(self) -> Demonstrations:
        path = self.dir / "demos.npz"
        if path.exists():
            demos = Demonstrations.load(path)
        else:
            demos = collect_demonstrations(self.cfg.env_id, self.cfg.n_demos, seed=self.cfg.seed,
                                           max_episode_steps=self.cfg.max_episode_steps, progress=self.progress,
                                           action_noise=self.cfg.demo_noise, reward=self.cfg.reward,
                                           n_workers=self.cfg.demo_workers)
            demos.save(path)  # all collected episodes: a resumed run filters them the same way
        if self.cfg.demo_filter == "success":
            kept = demos.successful()
            if not kept.n_episodes:
                raise ValueError(f"demo_filter='success': the expert succeeded in none of the {demos.n_episodes} "
                                 f"demonstration episodes of {self.cfg.env_id}")
            tqdm.write(f"[demos] {kept.n_episodes} of {demos.n_episodes} episodes succeeded and are used")
            demos = kept
        return demos


def chunk_targets(actions: npt.NDArray[np.float32], episode_ids: npt.NDArray[np.int64],
                  chunk_size: int) -> npt.NDArray[np.float32]:
    """Action-chunk regression targets: row ``t`` holds the actions ``t, t+1, …, t+chunk_size-1`` of the same
    episode, the episode's last action repeated past its end (Diffusion Policy pads the same way).

    Args:
        actions: ``(N, act_dim)`` actions of consecutive steps, episodes contiguous.
        episode_ids: ``(N,)`` episode index of each step.
        chunk_size: actions per target.

    Returns:
        ``(N, chunk_size, act_dim)`` float32.
    """
    n = len(actions)
    idx = np.arange(n)[:, None] + np.arange(chunk_size)[None, :]
    last = np.empty(n, dtype=np.int64)  # index of each step's episode's last step
    ends = np.flatnonzero(np.r_[episode_ids[1:] != episode_ids[:-1], True])
    starts = np.r_[0, ends[:-1] + 1]
    for s0, e in zip(starts, ends, strict=True):
        last[s0: e + 1] = e
    return np.asarray(actions[np.minimum(idx, last[:, None])], dtype=np.float32)


def _policy_fn(actor: MLPActor) -> ActionChunkExecutor:
    """``obs (obs_dim,) → action``, with ``reset()`` (receding-horizon execution of action-chunk actors)."""
    actor.eval()
    return ActionChunkExecutor(actor)


# ---------------------------------------------------------------------------------------------- imitation
DAGGER_SEED_BASE = 4_000_000
"""DAgger rollouts use seeds ``DAGGER_SEED_BASE + 10_000 * seed + 1_000 * round + i`` (disjoint from the rest)."""


def _dagger_round(actor: MLPActor, cfg: TrainConfig, round_index: int, progress: bool,
                  chunk_size: int | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Roll out ``actor`` alone (DAgger's β = 0) for ``cfg.dagger_episodes`` seeded episodes and label every visited
    observation with the env's scripted expert. Returns ``(observations, expert actions, rollout success rate)``.

    With ``chunk_size`` > 1 (default ``cfg.chunk_size``; a chunked actor, executed open loop for its
    ``execute_steps``) the label of the observation at step ``t`` is the chunk of the expert's labels at the visited
    steps ``t … t+chunk_size-1`` (:func:`chunk_targets` over each rollout), flattened to
    ``(N, chunk_size · act_dim)``. This is a heuristic: entries after the first are the expert's feedback at states
    the *learner's* actions reached, so they carry the learner's later mistakes, which the observation at ``t``
    cannot show; they equal a chunk the expert would execute from ``t`` only where the learner already follows the
    expert. The exact label would roll the expert forward from a saved simulator state at every visited step
    (measured with this heuristic on pick_bread: 0.44 against plain BC's 0.70; docs/results/robosuite.md)."""
    from skillstack.skills.experts import make_expert

    expert = make_expert(cfg.env_id)
    kwargs = {} if cfg.max_episode_steps is None else {"max_episode_steps": cfg.max_episode_steps}
    env = make_env(cfg.env_id, **kwargs)
    policy = _policy_fn(actor)
    obs_list, act_list, ep_list, wins = [], [], [], 0
    seeds = [DAGGER_SEED_BASE + 10_000 * cfg.seed + 1_000 * round_index + i for i in range(cfg.dagger_episodes)]
    for i, seed in enumerate(tqdm(seeds, desc=f"dagger round {round_index}", unit="ep", disable=not progress,
                                  leave=False)):
        obs, _ = env.reset(seed=seed)
        policy.reset()
        while True:
            obs_list.append(obs)
            act_list.append(expert.predict(obs))
            ep_list.append(i)
            obs, _, terminated, truncated, info = env.step(policy(obs))
            if terminated or truncated:
                wins += bool(info.get("success"))
                break
    env.close()
    actions = np.asarray(act_list, dtype=np.float32)
    chunk_size = cfg.chunk_size if chunk_size is None else chunk_size
    if chunk_size > 1:
        actions = chunk_targets(actions, np.asarray(ep_list, dtype=np.int64), chunk_size).reshape(len(actions), -1)
    return np.asarray(obs_list, dtype=np.float64), actions, wins / max(1, cfg.dagger_episodes)


def imitation_loop(run: Run, resume: bool, progress: bool = True) -> MLPActor:
    """Behaviour cloning (``bc``): MSE between the MLP's tanh output and the expert's action (``policy_head=
    "deterministic"``), or the negative log-likelihood of a Gaussian-mixture head (``"gmm"``, :class:`GMMActor`) or
    of per-dimension categorical heads (``"binned"``, :class:`BinnedActor`); over action chunks with ``chunk_size`` > 1.

    With the spec's ``expert_relabelling``: ``dagger`` (Ross, Gordon & Bagnell 2011, "A Reduction of Imitation
    Learning and Structured Prediction to No-Regret Online Learning") is the same regression on a growing dataset:
    after each of ``dagger_rounds`` equal shares of the ``steps`` gradient steps, the current policy runs
    ``dagger_episodes`` episodes on its own, the env's scripted expert labels every observation it visited, and
    training continues on the aggregate. The policy learns to recover from its own mistakes, which plain BC on
    expert states never sees (compounding error).

    Raises:
        ValueError: the run's algorithm does not use demonstrations (this loop learns from them).
    """
    cfg = run.cfg
    if not run.algorithm.uses_demonstrations:
        raise ValueError(f"algorithm {cfg.algo!r} does not use demonstrations; it cannot use imitation_loop")
    dagger = run.algorithm.expert_relabelling
    clearance = clearance_spec(cfg.env_id) if cfg.policy_features == "clearance" else None  # before any demo
    demos = run.demonstrations()
    torch.manual_seed(cfg.seed)
    obs_dim, act_dim = demos.observations.shape[1], demos.actions.shape[1]
    execute = cfg.execute_steps or max(1, cfg.chunk_size // 2)
    if cfg.policy_head == "gmm":
        net: MLPActor = GMMActor(obs_dim, act_dim, list(cfg.hidden_sizes), "relu", cfg.chunk_size, execute,
                                 cfg.gmm_modes, clearance=clearance)
    elif cfg.policy_head == "binned":
        net = BinnedActor(obs_dim, act_dim, list(cfg.hidden_sizes), "relu", cfg.chunk_size, execute,
                          cfg.action_bins, clearance=clearance)
    elif cfg.chunk_size > 1 or clearance is not None:
        net = ChunkedMLPActor(obs_dim, act_dim, list(cfg.hidden_sizes), "relu", cfg.chunk_size, execute,
                              clearance=clearance)
    else:
        net = MLPActor(obs_dim, act_dim, list(cfg.hidden_sizes), "relu", "tanh")
    inputs = _policy_inputs(net, demos.observations)
    net.set_normalization(inputs.mean(0), inputs.std(0))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.bc_lr)
    rng = np.random.default_rng(cfg.seed)
    data_obs, data_act = demos.observations, demos.actions
    if cfg.chunk_size > 1:  # (N, chunk · act_dim) targets; the actor's flat output is regressed onto them
        data_act = chunk_targets(demos.actions, demos.episode_ids, cfg.chunk_size).reshape(len(data_act), -1)
    ckpt = run.latest_checkpoint() if resume else None
    if ckpt is not None:
        net.load_state_dict(load_file(str(ckpt / "model.safetensors")), strict=True)
        opt.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
        rng.bit_generator.state = json.loads((ckpt / "rng.json").read_text())
        torch.set_rng_state(torch.load(ckpt / "torch_rng.pt", weights_only=True))
        if dagger:
            with np.load(ckpt / "dagger_data.npz", allow_pickle=False) as z:
                data_obs, data_act = z["observations"], z["actions"]
        run.restore_state(ckpt)
    obs = torch.as_tensor(_policy_inputs(net, data_obs), dtype=torch.float32)
    act = torch.as_tensor(data_act, dtype=torch.float32)
    probs = oversampling_probabilities(data_act, act_dim, cfg.oversample_dims, cfg.oversample_factor)
    per_round = max(1, cfg.steps // (cfg.dagger_rounds + 1)) if dagger else 0
    writer = _tb_writer(run)

    def write(d: Path) -> None:
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(d / "model.safetensors"))
        torch.save(opt.state_dict(), d / "optimizer.pt")
        torch.save(torch.get_rng_state(), d / "torch_rng.pt")
        (d / "rng.json").write_text(json.dumps(rng.bit_generator.state))
        if dagger:
            np.savez(d / "dagger_data.npz", observations=data_obs, actions=data_act)

    bar = tqdm(total=cfg.steps, initial=run.state.steps, desc=f"{cfg.algo} {cfg.env_id}", disable=not progress)
    while run.state.steps < cfg.steps:
        net.train()
        idx = torch.as_tensor(rng.integers(0, len(act), size=cfg.batch_size) if probs is None
                              else rng.choice(len(act), size=cfg.batch_size, p=probs))
        if isinstance(net, GMMActor | BinnedActor):  # likelihood heads
            loss = net.nll(obs[idx], act[idx])
        else:
            pred = net.forward_chunk(obs[idx]).flatten(1) if isinstance(net, ChunkedMLPActor) else net(obs[idx])
            loss = ((pred - act[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.state.steps += 1
        bar.update(1)
        if writer is not None and run.state.steps % 100 == 0:
            writer.add_scalar("train/bc_nll" if isinstance(net, GMMActor | BinnedActor) else "train/bc_mse",
                              loss.item(), run.state.steps)
        collected = False
        if dagger and run.state.steps % per_round == 0 and run.state.steps // per_round <= cfg.dagger_rounds \
                and run.state.steps < cfg.steps:
            new_obs, new_act, rollout_success = _dagger_round(net, cfg, run.state.steps // per_round, progress,
                                                              chunk_size=cfg.chunk_size)
            data_obs = np.concatenate([data_obs, new_obs])
            data_act = np.concatenate([data_act, new_act])
            obs = torch.as_tensor(_policy_inputs(net, data_obs), dtype=torch.float32)
            act = torch.as_tensor(data_act, dtype=torch.float32)
            probs = oversampling_probabilities(data_act, act_dim, cfg.oversample_dims, cfg.oversample_factor)
            collected = True
            tqdm.write(f"[dagger] round {run.state.steps // per_round}: policy success {rollout_success:.2f}, "
                       f"+{len(new_act)} labelled observations → {len(act)}")
            if writer is not None:
                writer.add_scalar("dagger/rollout_success", rollout_success, run.state.steps)
                writer.add_scalar("dagger/dataset_size", len(act), run.state.steps)
        last = None
        if run.state.steps - run.state.last_eval >= cfg.eval_every:
            last = run.periodic_eval(net)
            if writer is not None:
                writer.add_scalar("eval/success_rate", last.success_rate, run.state.steps)
        if (collected or run.state.steps - run.state.last_checkpoint >= cfg.checkpoint_every
                or run.state.steps == cfg.steps):
            run.save_checkpoint(write)
        if run.should_stop(last):
            run.save_checkpoint(write)
            break
    bar.close()
    if writer is not None:
        writer.close()
    return net


def clearance_spec(env_id: str) -> dict[str, Any]:
    """The :class:`~skillstack.skills.networks.ClearanceProfile` spec of ``env_id``'s expert
    (``policy_features="clearance"``; :data:`CLEARANCE_YAWS`, :data:`CLEARANCE_CLIP`).

    Raises:
        ValueError: the env's expert does not describe a pick's surroundings (only the
            ``robosuite-pickplace/pick_*`` experts do).
    """
    from skillstack.skills.experts import make_expert

    expert = make_expert(env_id)
    spec = getattr(expert, "clearance_spec", None)
    if spec is None:
        raise ValueError(f"policy_features 'clearance' needs an env whose expert describes a pick's surroundings "
                         f"(robosuite-pickplace/pick_*); {env_id}'s expert is a {type(expert).__name__}")
    return spec(CLEARANCE_YAWS, CLEARANCE_CLIP)


def _policy_inputs(net: MLPActor, observations: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The actor's inputs for a dataset's ``observations (N, obs_dim)``, computed once (the observations themselves
    unless the actor appends features; :meth:`~skillstack.skills.networks.MLPActor.inputs`)."""
    if getattr(net, "clearance", None) is None:
        return observations
    with torch.no_grad():
        return net.inputs(torch.as_tensor(observations, dtype=torch.float64)).numpy()


def _tb_writer(run: Run) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency, but logging must never break training
        return None
    return SummaryWriter(str(run.dir / "tb" / run.cfg.algo))


# ---------------------------------------------------------------------------------------------- SB3
def _make_vec(cfg: TrainConfig) -> Any:
    from functools import partial

    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from skillstack.skills.resume import ResetRNGRecorder

    kwargs = {} if cfg.max_episode_steps is None else {"max_episode_steps": cfg.max_episode_steps}
    return make_vec_env(partial(_make_train_env, cfg.env_id, cfg.reward, kwargs), n_envs=cfg.n_envs,
                        seed=cfg.seed, vec_env_cls=SubprocVecEnv if cfg.n_envs > 1 else DummyVecEnv,
                        wrapper_class=ResetRNGRecorder)


def _make_train_env(env_id: str, reward: str, kwargs: dict[str, Any]) -> Any:
    """The env an RL run collects in: ``make_env`` with the run's reward (:mod:`skillstack.envs.rewards`)."""
    return with_reward(make_env(env_id, **kwargs), reward)


_RB_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def save_replay_buffer_npz(buffer: Any, path: Path) -> None:
    """Save the filled part of an SB3 ``ReplayBuffer`` as npz (no pickle)."""
    n = buffer.buffer_size if buffer.full else buffer.pos
    arrays = {k: getattr(buffer, k)[:n] for k in _RB_FIELDS if getattr(buffer, k, None) is not None}
    np.savez(path, pos=np.int64(buffer.pos), full=np.bool_(buffer.full), **arrays)


def load_replay_buffer_npz(buffer: Any, path: Path) -> None:
    """Restore a buffer saved by :func:`save_replay_buffer_npz` into an allocated SB3 buffer.

    Raises:
        ValueError: the saved buffer does not fit (different size or shapes).
    """
    with np.load(path, allow_pickle=False) as z:
        for k in _RB_FIELDS:
            if k in z.files and getattr(buffer, k, None) is not None:
                try:
                    arr = z[k]
                except ValueError as e:  # object arrays need pickle: refused by allow_pickle=False
                    raise ValueError(f"{path}: field {k!r} cannot be read without pickle ({e})") from None
                dst = getattr(buffer, k)
                if arr.shape[0] > dst.shape[0] or arr.shape[1:] != dst.shape[1:]:
                    raise ValueError(f"{path}: replay buffer field {k}: saved {arr.shape} does not fit {dst.shape}")
                dst[: arr.shape[0]] = arr
        buffer.pos = int(z["pos"])
        buffer.full = bool(z["full"])


def sb3_loop(run: Run, resume: bool, progress: bool = True) -> MLPActor:
    """Train the Stable-Baselines3 model of the run's spec (``build_model``) with periodic evaluations and
    checkpoints between SB3 iterations (exact resume, see ``skills/resume.py``).

    The spec decides: whether demonstrations are collected and handed to the model (``uses_demonstrations``,
    ``attach_demonstrations``, ``pretrain`` on a fresh run), whether the replay buffer is checkpointed
    (``off_policy``) and how the deterministic policy is read out (``actor_from_model``).

    Raises:
        ValueError: a checkpoint that cannot be loaded as weights only, or a replay buffer that does not fit.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    from skillstack.skills.resume import restore_rng_state, save_rng_state

    cfg = run.cfg
    algorithm = run.algorithm
    if algorithm.build_model is None or algorithm.actor_from_model is None:
        raise ValueError(f"algorithm {cfg.algo!r} has no SB3 model (build_model); it cannot use sb3_loop")
    actor_from_model = algorithm.actor_from_model
    env = _make_vec(cfg)
    model = algorithm.build_model(cfg, env, run.dir / "tb")
    ckpt = run.latest_checkpoint() if resume else None
    off_policy = algorithm.off_policy
    demos = run.demonstrations() if algorithm.uses_demonstrations else None
    if demos is not None and algorithm.attach_demonstrations is not None:
        algorithm.attach_demonstrations(model, cfg, demos)
    if ckpt is not None:
        try:  # SB3 reads only the .pth parts, with torch.load(weights_only=True); the pickled "data" is skipped
            from stable_baselines3.common.save_util import load_from_zip_file, recursive_setattr

            model.set_parameters(str(ckpt / "model.zip"), exact_match=True, device=model.device)
            # set_parameters restores state dicts only; SAC's entropy coefficient (log_ent_coef) is a "pytorch
            # variable" that SB3's own load() sets separately — do the same
            _, _, variables = load_from_zip_file(str(ckpt / "model.zip"), device=model.device, load_data=False)
            for name, value in (variables or {}).items():
                if value is not None:
                    recursive_setattr(model, f"{name}.data", value.data)
        except Exception as e:  # noqa: BLE001 - torch raises UnpicklingError, RuntimeError, KeyError…
            raise ValueError(f"{ckpt / 'model.zip'}: cannot be loaded as weights only "
                             f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
        run.restore_state(ckpt)
        extra = json.loads((ckpt / "sb3_counters.json").read_text())
        model.num_timesteps = run.state.steps
        model._n_updates = extra["n_updates"]
        model._episode_num = extra["episode_num"]
        if off_policy and (ckpt / "replay_buffer.npz").exists():
            load_replay_buffer_npz(model.replay_buffer, ckpt / "replay_buffer.npz")
    elif demos is not None and algorithm.pretrain is not None:
        algorithm.pretrain(model, cfg, demos, progress)

    def write(d: Path, at_boundary: bool) -> None:
        model.save(d / "model.zip", exclude=["replay_buffer", "env"])
        exact = save_rng_state(model, env, d, at_boundary)
        (d / "sb3_counters.json").write_text(json.dumps({"n_updates": int(model._n_updates),
                                                         "episode_num": int(model._episode_num),
                                                         "exact_resume": exact}))
        if off_policy:
            save_replay_buffer_npz(model.replay_buffer, d / "replay_buffer.npz")

    class Hooks(BaseCallback):
        stopped_inside_iteration = False
        last_dones = np.ones(cfg.n_envs, dtype=bool)  # a fresh or exactly resumed run starts on a boundary

        def at_boundary(self) -> bool:
            return bool(np.all(self.last_dones)) and not self.stopped_inside_iteration

        def _on_rollout_start(self) -> None:
            # Between iterations (after the gradient step) the training state is consistent: checkpoint here,
            # preferably when every env has just started an episode (then resume is exact, see resume.py).
            since = run.state.steps - run.state.last_checkpoint
            if since >= cfg.checkpoint_every and (self.at_boundary() or since >= 2 * cfg.checkpoint_every):
                run.save_checkpoint(lambda d: write(d, self.at_boundary()))

        def _on_step(self) -> bool:
            self.last_dones = np.asarray(self.locals.get("dones", self.last_dones), dtype=bool)
            run.state.steps = int(self.model.num_timesteps)
            last = None
            if run.state.steps - run.state.last_eval >= cfg.eval_every:
                last = run.periodic_eval(actor_from_model(self.model))
                self.logger.record("eval/success_rate", last.success_rate)
                self.logger.record("eval/mean_return", last.mean_return)
                self.logger.record("time/wall_s", run.wall())
            stop = run.should_stop(last)
            self.stopped_inside_iteration = stop
            return not stop

    remaining = cfg.steps - run.state.steps
    if remaining > 0 and run.state.stop_reason is None:
        if ckpt is not None:
            restore_rng_state(model, env, ckpt)  # last: nothing may draw random numbers after this
        hooks = Hooks()
        model.learn(total_timesteps=remaining, callback=hooks, progress_bar=progress,
                    reset_num_timesteps=ckpt is None, tb_log_name=cfg.algo)
        run.state.steps = int(model.num_timesteps)
        run.save_checkpoint(lambda d: write(d, hooks.at_boundary()))
    env.close()
    return actor_from_model(model)


# ---------------------------------------------------------------------------------------------- entry
@dataclass
class TrainResult:
    """What :func:`train` returns."""

    skill: Skill
    final_eval: EvalResult
    run_dir: Path
    skill_path: Path | None
    state: RunState


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train, evaluate on ``final_eval_episodes`` seeded episodes and (optionally) register the skill.

    An env alias (an earlier unversioned id such as ``tabletop/open_drawer`` or ``robosuite/Lift``, which ``eval``
    and ``rollout`` accept) trains the env it stands for, and the run and the skill record the registered name.

    Raises:
        UnknownNameError: unknown env or algorithm.
        FileExistsError: the run directory exists and ``resume`` is False.
        ValueError: invalid settings.
    """
    cfg = replace(cfg, env_id=resolve_env_id(cfg.env_id))
    spec = ENVS.get(cfg.env_id)
    algorithm = ALGORITHMS.get(cfg.algo)
    if cfg.gate_episodes < 0 or not 0.0 < cfg.gate_delta < 1.0:
        raise ValueError(f"gate_episodes must be ≥ 0 and 0 < gate_delta < 1, got {cfg.gate_episodes}, "
                         f"{cfg.gate_delta}")
    if cfg.steps <= 0 or cfg.n_envs <= 0 or cfg.seed < 0 or cfg.demo_workers <= 0:
        raise ValueError("steps, n_envs and demo_workers must be positive and seed non-negative")
    if cfg.n_envs > 1 and not algorithm.vectorised:
        raise ValueError(f"--n-envs applies to RL algorithms, not {cfg.algo}")
    if cfg.skill_name is not None:
        check_skill_name(cfg.skill_name)
    cfg = cfg.resolved()
    resolve_device(cfg.device)
    if cfg.torch_threads is not None:
        torch.set_num_threads(cfg.torch_threads)
    run = Run(cfg, resume, progress)
    actor = algorithm.train(run, resume, progress)
    selecting = (cfg.keep_best and run.state.best_steps is not None) or run.state.gate_steps is not None
    if selecting and run.state.steps > run.state.last_eval:
        run.periodic_eval(actor)  # the final policy has not been evaluated yet: compare it with the best / gate
    deployed = run.deploy_best(actor)
    final = evaluate(_policy_fn(actor), cfg.env_id, cfg.final_eval_episodes,
                     max_episode_steps=cfg.max_episode_steps, progress=progress, label=cfg.algo)
    atomic_write_json(run.dir / "final_eval.json", final.to_dict())
    name = cfg.skill_name or cfg.env_id.split("/")[-1].lower()
    probe = make_env(cfg.env_id)
    skill = Skill(
        name=name,
        description=cfg.description or spec.description,
        env_id=cfg.env_id,
        policy=actor,
        observation_space=probe.observation_space,
        action_space=probe.action_space,
        max_steps=cfg.max_episode_steps or spec.max_episode_steps,
        provenance={
            "algo": cfg.algo, "env_id": cfg.env_id, "seed": cfg.seed, "steps": run.state.steps,
            "wall_s": round(run.wall(), 1), "git_sha": git_sha(), "versions": package_versions(),
            "command": command_line(), "config": asdict(cfg), "first_reach": run.state.first_reach,
            "deployed": deployed, "created": utc_now(),
        },
        metrics={"success_rate": final.success_rate, "success_ci95": list(final.success_ci95),
                 "n_episodes": final.n_episodes, "mean_return": final.mean_return,
                 "mean_length": final.mean_length, "eval_seeds": f"0..{final.n_episodes - 1}"},
    )
    probe.close()
    path = SkillLibrary(cfg.library).save(skill) if cfg.library else None
    return TrainResult(skill, final, run.dir, path, run.state)
