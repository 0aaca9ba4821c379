"""Value-based affordances: Monte-Carlo estimates of P(skill succeeds | observation).

SayCan (Ahn et al. 2022, §4) scores each skill by a value function of its sparse success reward; with a
0/1 reward at the end and no discount, that value *is* the probability that the skill's own policy
succeeds from the state. Here it is learned by plain Monte-Carlo regression, as in the paper's
"value functions trained with ... sparse reward": run the skill's policy from many start states, label
each start with the episode's outcome, and fit a classifier with binary cross-entropy; its sigmoid output
estimates P(success | obs).

Start states are a 50/50 mix of the skill env's ``start="precondition"`` states (where the skill is
meaningful; failures there are the policy's own) and ``start="any"`` states (all valid scene states —
drawer closed for ``place_in_drawer``, nothing held for ``place_*``, ...), so the model learns both
"impossible here" and "possible but the policy sometimes fails". Train, validation and held-out test
starts use disjoint seed ranges.

Success means the skill *achieved* its success predicate: a start where the predicate already holds
(``open_drawer`` on an open drawer, ``pick_red_block`` with the red block already lifted) is labelled 0, although
the episode "succeeds" at once. With the plain label such no-op skills scored ≈0.99 and let a language model
that confuses "open" and "close the drawer" pick the no-op; a skill that would not change anything is not
afforded.

Metrics (scikit-learn): AUROC (``roc_auc_score``), Brier score (``brier_score_loss``), expected
calibration error over 10 equal-width bins, and a reliability diagram (``calibration_curve``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from tqdm.auto import tqdm

from skillstack.envs import make_env
from skillstack.envs.fileio import atomic_write_json, atomic_write_text
from skillstack.skills.library import Skill
from skillstack.skills.networks import ActionChunkExecutor, ChunkedMLPActor, MLPAffordance, TreeAffordance
from skillstack.skills.parallel import concatenate, even_blocks, map_blocks

AFFORDANCE_TRAIN_SEED_BASE = 2_000_000
"""Training starts use seeds ``AFFORDANCE_TRAIN_SEED_BASE + i`` (disjoint from demos and evaluations)."""

AFFORDANCE_TEST_SEED_BASE = 3_000_000
"""Held-out starts (the reported metrics) use seeds ``AFFORDANCE_TEST_SEED_BASE + i``."""


@dataclass
class Outcomes:
    """Start observations of skill executions and whether each succeeded.

    Attributes:
        observations: ``(N, obs_dim) float64`` — the observation at the start of each execution.
        success: ``(N,) bool`` — the skill *achieved* its success predicate within its step cap: it became true
            during the execution, having not held at the start (``open_drawer`` on an already-open drawer is
            not a success: the affordance answers "will running this skill get its job done", as SayCan's value
            functions do for a useful skill, rather than "will its predicate hold afterwards").
        applicable: ``(N,) bool`` — the skill's symbolic preconditions held at the start.
        lengths: ``(N,) int64`` — steps executed.
    """

    observations: npt.NDArray[np.float64]
    success: npt.NDArray[np.bool_]
    applicable: npt.NDArray[np.bool_]
    lengths: npt.NDArray[np.int64]

    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` atomically (a crash mid-write leaves any previous file intact)."""
        import io

        from skillstack.envs.fileio import atomic_write_bytes

        buf = io.BytesIO()
        np.savez(buf, **asdict(self))
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def concatenate(cls, parts: list[Outcomes]) -> Outcomes:
        """The executions of ``parts`` in order (e.g. a cached prefix and the starts collected after it)."""
        return cls(**{k: np.concatenate([getattr(o, k) for o in parts])
                      for k in ("observations", "success", "applicable", "lengths")})

    @classmethod
    def load(cls, path: str | Path) -> Outcomes:
        with np.load(path, allow_pickle=False) as z:
            return cls(**{k: z[k] for k in ("observations", "success", "applicable", "lengths")})


def collect_outcomes(
    skill: Skill, n: int, seed_base: int, n_parallel: int = 16, env_id: str | None = None, progress: bool = True,
    n_workers: int = 1,
) -> Outcomes:
    """Execute ``skill`` from ``n`` seeded starts and record (start observation, success).

    Start ``i`` uses seed ``seed_base + i`` and ``start="precondition"`` for even ``i``, ``"any"`` for odd
    ``i``. ``n_parallel`` envs are stepped in lock-step so the policy runs batched. The recorded start
    observation is ``info["decision_observation"]`` when the env's reset gives one (the state before a scene's
    setup for the skill, where a planner scores it; robosuite ``-v1`` picks), else the reset observation.

    Args:
        skill: a skill with a policy, acting in a ``tabletop/<skill>`` env (or ``env_id``).
        n: number of executions.
        seed_base: first seed.
        n_parallel: envs stepped together.
        env_id: env override (default ``skill.env_id``); must accept ``reset(options={"start": ...})``.
        progress: show a progress bar.
        n_workers: processes that execute blocks of starts (an even number of starts each, so start ``i`` keeps
            its seed and start type) and are concatenated in start order. An execution depends only on its seed
            and the policy, so the outcomes equal the one-process ones for chunked policies (each executor runs
            alone); a batched MLP policy may differ in float rounding with the batch's make-up.

    Raises:
        UnknownNameError: unknown env.
        ValueError: ``n_workers`` < 1.
    """
    env_id = env_id or skill.env_id
    if n_workers < 1:
        raise ValueError(f"n_workers must be ≥ 1, got {n_workers}")
    if n_workers > 1 and n > 2:
        return _collect_outcomes_parallel(skill, n, seed_base, n_parallel, env_id, progress, n_workers)
    envs = [make_env(env_id) for _ in range(min(n_parallel, n))]
    obs0 = np.zeros((n, skill.observation_space.shape[0]))
    success = np.zeros(n, dtype=bool)
    applicable = np.zeros(n, dtype=bool)
    already = np.zeros(n, dtype=bool)
    lengths = np.zeros(n, dtype=np.int64)
    job = [-1] * len(envs)
    cur = [None] * len(envs)
    nxt = 0
    # action-chunk policies keep a chunk per env (receding horizon); other policies are evaluated in one batch
    chunked = isinstance(skill.policy, ChunkedMLPActor)
    executors = [ActionChunkExecutor(skill.policy) for _ in envs] if chunked else []

    def start(k: int) -> None:
        nonlocal nxt
        i = nxt
        nxt += 1
        obs, info = envs[k].reset(seed=seed_base + i, options={"start": "precondition" if i % 2 == 0 else "any"})
        # the model scores the state a planner decides on: before a scene's setup for the skill, if it has one
        obs0[i] = info.get("decision_observation", obs)
        applicable[i], job[k], cur[k] = bool(info.get("applicable", True)), i, obs
        if chunked:
            executors[k].reset()
        already[i] = bool(info.get("satisfied_at_start", False))

    bar = tqdm(total=n, desc=f"outcomes {skill.name}", unit="ep", disable=not progress)
    for k in range(len(envs)):
        start(k)
    active = list(range(len(envs)))
    while active:
        acts = ([executors[k](cur[k]) for k in active] if chunked
                else skill.predict(np.stack([cur[k] for k in active])))
        still = []
        for a, k in zip(acts, active, strict=True):
            obs, _, terminated, truncated, info = envs[k].step(a)
            i = job[k]
            lengths[i] += 1
            cur[k] = obs
            if terminated or truncated:
                success[i] = bool(info.get("success", False))
                bar.update(1)
                if nxt < n:
                    start(k)
                    still.append(k)
            else:
                still.append(k)
        active = still
    bar.close()
    for e in envs:
        e.close()
    return Outcomes(obs0, success & ~already, applicable, lengths)


def _outcome_block(skill: Skill, start: int, stop: int, *, seed_base: int, n_parallel: int,
                   env_id: str) -> Outcomes:
    """Starts ``start … stop-1`` of :func:`collect_outcomes` (module level: it runs in a worker process)."""
    torch.set_num_threads(1)
    return collect_outcomes(skill, stop - start, seed_base + start, n_parallel, env_id, progress=False)


def _collect_outcomes_parallel(skill: Skill, n: int, seed_base: int, n_parallel: int, env_id: str, progress: bool,
                               n_workers: int) -> Outcomes:
    """:func:`collect_outcomes` over worker processes (the skill is sent to them in memory)."""
    job = partial(_outcome_block, skill, seed_base=seed_base, n_parallel=n_parallel, env_id=env_id)
    return concatenate(map_blocks(job, even_blocks(n, 4 * n_workers, step=2), n_workers, f"outcomes {skill.name}",
                                  progress))


@dataclass(frozen=True)
class AffordanceConfig:
    """Monte-Carlo affordance training (saved in the skill's manifest)."""

    n_train: int = 1500
    """Executions whose start observations/outcomes train the model (10 % of them validate)."""
    n_test: int = 500
    """Held-out executions for the reported metrics."""
    model: str = "trees"
    """``"trees"`` (gradient-boosted trees, :class:`~skillstack.skills.networks.TreeAffordance`) or ``"mlp"``."""
    n_trees: int = 300
    """trees: boosting iterations (fewer when scikit-learn's early stopping on 10 % of the data ends sooner)."""
    tree_learning_rate: float = 0.05
    """trees: shrinkage."""
    max_leaf_nodes: int = 31
    """trees: leaves per tree."""
    features: str = "raw"
    """trees: ``"raw"`` (the observation) or ``"relational"`` (also the pairwise offsets between the objects'
    absolute positions, :class:`~skillstack.skills.networks.TreeAffordance`; needs an env with an ``obs_layout``,
    :func:`object_position_blocks`)."""
    hidden_sizes: tuple[int, ...] = (128, 128)
    """mlp: classifier widths."""
    steps: int = 3000
    """Adam steps (the best validation-loss weights are kept)."""
    lr: float = 1e-3
    """Adam learning rate."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    batch_size: int = 256
    seed: int = 0
    """Seeds torch and the start-seed offset (``+ 100_000 · seed``) of the training starts, and of the held-out starts
    unless ``test_seed`` is given."""
    test_seed: int | None = None
    """First held-out start seed (starts ``test_seed + i``); ``None``: ``AFFORDANCE_TEST_SEED_BASE + 100_000 · seed``.
    Set it to measure on starts that no earlier report used (a fresh held-out set declared before the run)."""


AFFORDANCE_FEATURES = ("raw", "relational")


def object_position_blocks(env_id: str) -> list[int]:
    """Start indices of the objects' absolute 3-d positions in ``env_id``'s observation, for
    ``AffordanceConfig.features="relational"``: the ``obs_layout`` entries named ``<object>_pos`` of width 3
    (not the gripper-relative ``<object>_to_robot0_eef_pos`` nor the robot's own ``robot0_*``).

    Raises:
        ValueError: the env exposes no ``obs_layout`` (only the robosuite scene envs do), or fewer than two
            object positions.
    """
    env = make_env(env_id)  # an unknown id lists the valid ones
    try:
        layout = getattr(env.unwrapped, "obs_layout", None)
    finally:
        env.close()
    if not isinstance(layout, dict):
        raise ValueError(f"relational affordance features need an env with an obs_layout; {env_id} has none "
                         "(robosuite-pickplace/* envs have one)")
    blocks = [sl.start for name, sl in layout.items()
              if name.endswith("_pos") and "_to_" not in name and not name.startswith("robot")
              and sl.stop - sl.start == 3]
    if len(blocks) < 2:
        raise ValueError(f"relational affordance features need >= 2 object positions in {env_id}'s observation, "
                         f"found {len(blocks)} in {list(layout)}")
    return blocks


def fit_affordance(
    obs: npt.NDArray[np.float64], success: npt.NDArray[np.bool_], cfg: AffordanceConfig, progress: bool = True,
    position_blocks: list[int] | tuple[int, ...] = (),
) -> tuple[MLPAffordance | TreeAffordance, dict[str, float]]:
    """Fit ``P(success | obs)`` by binary cross-entropy on 90 % of the data; 10 % validate.

    ``model="trees"``: scikit-learn's ``HistGradientBoostingClassifier`` (log-loss, early stopping),
    exported to a :class:`TreeAffordance`. ``model="mlp"``: an :class:`MLPAffordance` trained with AdamW,
    keeping the best validation-loss weights. Measured on the tabletop skills, the MLP fit the training
    starts perfectly but generalised worse (held-out AUROC 0.83 vs 0.95 on ``open_drawer``): success depends
    on axis-aligned conditions (drawer opening above a threshold, block inside the bin's walls) that trees
    capture from a few thousand samples.

    Args:
        obs: ``(N, obs_dim)`` start observations.
        success: ``(N,)`` outcomes.
        cfg: hyper-parameters.
        position_blocks: trees only: start indices of object positions whose pairwise offsets the trees also
            see (:class:`~skillstack.skills.networks.TreeAffordance`; empty: the observation only).

    Returns:
        The model and ``{"train_loss", "val_loss", "val_auroc"}``.

    Raises:
        ValueError: fewer than 20 samples, only one class present, or ``position_blocks`` with the MLP model.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(success, dtype=np.float32)
    if len(y) < 20 or y.min() == y.max():
        raise ValueError(f"need >= 20 outcomes with both successes and failures, got {len(y)} with {int(y.sum())} "
                         "successes")
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    perm = torch.randperm(len(y), generator=g).numpy()
    n_val = max(len(y) // 10, 10)
    val, tr = perm[:n_val], perm[n_val:]
    if cfg.model not in ("trees", "mlp"):
        raise ValueError(f"unknown affordance model {cfg.model!r}; valid: trees, mlp")
    if cfg.model == "trees":
        from sklearn.ensemble import HistGradientBoostingClassifier

        x32 = np.asarray(obs, dtype=np.float32).astype(np.float64)  # thresholds consistent with float32 inference
        xf = x32
        if position_blocks:  # the same float64 features TreeAffordance computes at inference
            t64 = torch.as_tensor(x32)
            xf = torch.cat([t64, TreeAffordance.relational_features(t64, list(position_blocks))], dim=1).numpy()
        clf = HistGradientBoostingClassifier(
            max_iter=cfg.n_trees, learning_rate=cfg.tree_learning_rate, max_leaf_nodes=cfg.max_leaf_nodes,
            early_stopping=True, validation_fraction=0.1, random_state=cfg.seed,
        ).fit(xf[tr], y[tr])
        tree_model = TreeAffordance.from_sklearn(clf, obs.shape[1], list(position_blocks))
        with torch.no_grad():
            pt = tree_model(torch.as_tensor(x32[tr], dtype=torch.float32)).double().clamp(1e-7, 1 - 1e-7).numpy()
            pv = tree_model(torch.as_tensor(x32[val], dtype=torch.float32)).double().clamp(1e-7, 1 - 1e-7).numpy()

        def bce(p: np.ndarray, t: np.ndarray) -> float:
            return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))

        auroc = float(roc_auc_score(y[val], pv)) if y[val].min() != y[val].max() else float("nan")
        tree_model.eval()
        return tree_model, {"train_loss": bce(pt, y[tr]), "val_loss": bce(pv, y[val]), "val_auroc": auroc,
                            "n_trees": int(clf.n_iter_)}
    if position_blocks:
        raise ValueError("relational features (position_blocks) are for the trees model; the MLP sees the "
                         "observation only")
    x = torch.as_tensor(obs, dtype=torch.float32)
    t = torch.as_tensor(y)
    model = MLPAffordance(obs.shape[1], list(cfg.hidden_sizes))
    model.set_normalization(obs[tr].mean(0), obs[tr].std(0))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    best = (float("inf"), None, 0.0)
    for step in tqdm(range(cfg.steps), desc="affordance fit", disable=not progress):
        idx = torch.as_tensor(tr[torch.randint(len(tr), (cfg.batch_size,), generator=g).numpy()])
        loss = loss_fn(model.logits(x[idx]), t[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == cfg.steps - 1:
            with torch.no_grad():
                vl = float(loss_fn(model.logits(x[val]), t[val]))
            if vl < best[0]:
                best = (vl, {k: v.clone() for k, v in model.state_dict().items()}, float(loss.detach()))
    model.load_state_dict(best[1])
    model.eval()
    with torch.no_grad():
        pv = model(x[val]).numpy()
    auroc = float(roc_auc_score(y[val], pv)) if y[val].min() != y[val].max() else float("nan")
    return model, {"train_loss": best[2], "val_loss": best[0], "val_auroc": auroc}


def affordance_metrics(p: npt.ArrayLike, success: npt.ArrayLike, n_bins: int = 10) -> dict[str, Any]:
    """AUROC, Brier score, expected calibration error and reliability-curve points of predictions ``p``.

    ``ece = Σ_b (n_b / N) · |mean(y_b) − mean(p_b)|`` over ``n_bins`` equal-width bins (Guo et al. 2017).
    """
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss, roc_auc_score

    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(success, dtype=np.int64)
    both = y.min() != y.max()
    frac_pos, mean_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    counts = np.bincount(np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], p), minlength=n_bins)
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    ece = sum(abs(y[bins == b].mean() - p[bins == b].mean()) * (bins == b).mean()
              for b in range(n_bins) if (bins == b).any())
    return {
        "auroc": float(roc_auc_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "ece": float(ece),
        "n": int(len(y)),
        "base_rate": float(y.mean()),
        "calibration": {"mean_predicted": mean_pred.tolist(), "fraction_successful": frac_pos.tolist(),
                        "count": counts[counts > 0].tolist()},
    }


def _cached_prefix(cache_dir: Path, stem: str, suffix: str, n: int) -> tuple[int, Path] | None:
    """The largest cached outcome file ``<stem><m><suffix>`` with an even ``m < n``, as ``(m, path)``."""
    best = None
    for p in cache_dir.glob(f"{stem}*{suffix}") if cache_dir.is_dir() else ():
        count = p.name[len(stem):-len(suffix)]
        if count.isdigit() and int(count) < n and int(count) % 2 == 0 and (best is None or int(count) > best[0]):
            best = (int(count), p)
    return best


def _policy_digest(skill: Skill) -> str:
    """First 12 hex digits of the sha256 of the policy's tensors (names and bytes)."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(skill.policy.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def train_affordance(skill: Skill, cfg: AffordanceConfig, progress: bool = True,
                     cache_dir: str | Path | None = None, n_workers: int = 1,
                     env_id: str | None = None) -> tuple[MLPAffordance | TreeAffordance, dict[str, Any]]:
    """Collect outcomes of ``skill``'s policy, fit its affordance model and measure it on held-out starts.

    Args:
        skill: the skill (its policy is executed; its affordance model, if any, is ignored).
        cfg: data sizes and fitting hyper-parameters.
        progress: progress bars.
        cache_dir: if given, the outcome datasets are written there as npz (keyed by skill, policy digest, env, split,
            size, seed and explicit first held-out seed), and datasets already there are reused instead of being
            collected again; a smaller cached set of the same starts (an even count) is extended by the starts after
            it.
        n_workers: processes that collect the outcomes (:func:`collect_outcomes`).
        env_id: env whose starts the outcomes come from (default ``skill.env_id``), e.g. a place skill's ``-v2``
            env, whose starts include grasps made by the learned pick (the grasps a plan hands it).

    Returns:
        ``(model, metrics)``: metrics hold the held-out ``auroc``, ``brier``, ``ece``, ``base_rate``,
        the fit's validation numbers, the config and the ``env_id`` of the starts.

    Raises:
        ValueError: unknown ``cfg.features``, or held-out starts (``cfg.test_seed``) that overlap the training starts.
    """
    off = 100_000 * cfg.seed
    test_first = AFFORDANCE_TEST_SEED_BASE + off if cfg.test_seed is None else int(cfg.test_seed)
    train_first = AFFORDANCE_TRAIN_SEED_BASE + off
    if test_first < train_first + cfg.n_train and train_first < test_first + cfg.n_test:
        raise ValueError(f"held-out starts {test_first}..{test_first + cfg.n_test - 1} overlap the training starts "
                         f"{train_first}..{train_first + cfg.n_train - 1}")

    def outcomes(split: str, n: int, first_seed: int, tag: str = "") -> Outcomes:
        # keyed by the policy's weights too: a retrained skill of the same name must not reuse old outcomes
        env_tag = "" if env_id in (None, skill.env_id) else "_" + str(env_id).replace("/", "_")
        if cache_dir is None:
            return collect_outcomes(skill, n, first_seed, progress=progress, n_workers=n_workers, env_id=env_id)
        stem = f"{skill.name}_{_policy_digest(skill)}{env_tag}_{split}_n"
        path = Path(cache_dir) / f"{stem}{n}_s{cfg.seed}{tag}.npz"
        if path.exists():
            return Outcomes.load(path)
        # a cached prefix of the same starts (same first seed, an even number of them so that every later start
        # keeps its start type) is extended instead of collected again: start i depends only on its seed
        prefix = _cached_prefix(Path(cache_dir), stem, f"_s{cfg.seed}{tag}.npz", n)
        parts = [] if prefix is None else [Outcomes.load(prefix[1])]
        m = 0 if prefix is None else prefix[0]
        parts.append(collect_outcomes(skill, n - m, first_seed + m, progress=progress, n_workers=n_workers,
                                      env_id=env_id))
        o = Outcomes.concatenate(parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        o.save(path)
        return o

    if cfg.features not in AFFORDANCE_FEATURES:
        raise ValueError(f"unknown affordance features {cfg.features!r}; valid: {', '.join(AFFORDANCE_FEATURES)}")
    blocks = object_position_blocks(env_id or skill.env_id) if cfg.features == "relational" else []
    train = outcomes("train", cfg.n_train, train_first)
    default_test = test_first == AFFORDANCE_TEST_SEED_BASE + off  # --test-seed at its default: the same cache file
    test = outcomes("test", cfg.n_test, test_first, "" if default_test else f"_from{test_first}")
    model, fit = fit_affordance(train.observations, train.success, cfg, progress=progress, position_blocks=blocks)
    with torch.no_grad():
        p = model(torch.as_tensor(test.observations, dtype=torch.float32)).numpy()
    metrics = affordance_metrics(p, test.success)
    metrics.update({
        "fit": fit,
        "train_base_rate": float(train.success.mean()),
        "test_success_when_applicable": float(test.success[test.applicable].mean()) if test.applicable.any() else None,
        "config": {**asdict(cfg), "hidden_sizes": list(cfg.hidden_sizes)},
        "kind": model.kind,
        "env_id": env_id or skill.env_id,
        "test_seeds": f"{test_first}..{test_first + cfg.n_test - 1}",
    })
    return model, metrics


def plot_calibration(reports: dict[str, dict[str, Any]], path: str | Path) -> None:
    """Reliability diagrams (one panel per skill; marker area ∝ starts in the bin) with AUROC/Brier, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(reports)
    cols = min(5, max(len(names), 1))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        r = reports[name]
        c = r["calibration"]
        ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
        ax.plot(c["mean_predicted"], c["fraction_successful"], c="C0", lw=1)
        sizes = 8 + 400 * np.asarray(c.get("count", [1] * len(c["mean_predicted"]))) / max(r["n"], 1)
        ax.scatter(c["mean_predicted"], c["fraction_successful"], s=sizes, c="C0", zorder=3)
        ax.set_title(f"{name}\nAUROC {r['auroc']:.3f}  Brier {r['brier']:.3f}", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("predicted P(success)", fontsize=8)
        ax.set_ylabel("observed success rate", fontsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(reports: dict[str, dict[str, Any]], out_dir: str | Path) -> dict[str, Path]:
    """Write ``affordance_report.json``, ``affordance_report.md`` and ``calibration.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "affordance_report.json", "md": out / "affordance_report.md", "png": out / "calibration.png"}
    atomic_write_json(paths["json"], reports, sort_keys=True)
    lines = ["| skill | AUROC | Brier | ECE | held-out starts | success rate (held-out) |",
             "|---|---|---|---|---|---|"]
    for name, r in reports.items():
        lines.append(f"| `{name}` | {r['auroc']:.3f} | {r['brier']:.3f} | {r['ece']:.3f} | {r['n']} | "
                     f"{r['base_rate']:.2f} |")
    atomic_write_text(paths["md"], "\n".join(lines) + "\n")
    plot_calibration(reports, paths["png"])
    return paths


# ------------------------------------------------------------------------------------------ batched evaluation
class AffordanceSet:
    """Many skills' affordance models evaluated together: ``set(obs) -> (n_models,) float64`` in [0, 1].

    A planner scores every candidate skill at every decision; one model call each costs ≈ 1 ms of torch
    overhead (measured: 10 tree models ≈ 9 ms, 64 ≈ 60 ms). Here all :class:`TreeAffordance` models are stacked
    into one forest (trees padded to a common node count) and descended together in one vectorised loop, then
    each model's leaves are summed (bit-identical to the model's own forward); other model kinds (MLPs) are
    called one by one. The result for the last observation is memoised, so the candidates' per-skill callables
    (:meth:`member`) evaluate the whole set once per decision and read their entry.

    Args:
        models: affordance networks (``(B, obs_dim) float32 -> (B,) P(success)``), one per skill.
    """

    def __init__(self, models: list[torch.nn.Module]) -> None:
        self.models = list(models)
        # relational trees index their added features from the end of the observation, so the forest takes those
        # of one obs_dim only (others, never mixed into a scene, run alone); plain trees index the observation
        obs_dim = max((m.arch["obs_dim"] for m in self.models if isinstance(m, TreeAffordance) and m.position_blocks),
                      default=0)
        trees = [(i, m) for i, m in enumerate(self.models)
                 if isinstance(m, TreeAffordance) and (not m.position_blocks or m.arch["obs_dim"] == obs_dim)]
        in_forest = {i for i, _ in trees}
        self._others = [(i, m) for i, m in enumerate(self.models) if i not in in_forest]
        self._memo: tuple[bytes, npt.NDArray[np.float64]] | None = None
        self._forest: dict[str, torch.Tensor] | None = None
        if trees:
            width = max(m.feature.shape[1] for _, m in trees)

            def cat(name: str, fill: Any) -> torch.Tensor:
                parts = []
                for _, m in trees:
                    t = getattr(m, name)
                    pad = torch.full((t.shape[0], width - t.shape[1]), fill, dtype=t.dtype)
                    parts.append(torch.cat([t, pad], dim=1))
                return torch.cat(parts)

            self._forest = {name: cat(name, fill) for name, fill in (
                ("feature", 0), ("threshold", 0.0), ("left", 0), ("right", 0), ("is_leaf", True),
                ("missing_left", False), ("value", 0.0))}
            # relational features (TreeAffordance.position_blocks): the forest reads one long vector, the
            # observation followed by each distinct block list's added features; a model's indices past the
            # observation are shifted to its own segment
            self._block_lists: list[tuple[int, ...]] = []
            segment_start: dict[tuple[int, ...], int] = {}
            width_so_far = self._relational_obs_dim = obs_dim
            row = 0
            for _, m in trees:
                n_rows = m.feature.shape[0]
                blocks = tuple(m.position_blocks)
                if blocks:
                    if blocks not in segment_start:
                        self._block_lists.append(blocks)
                        segment_start[blocks] = width_so_far
                        width_so_far += 2 * len(blocks) * (len(blocks) - 1)  # 4 per pair
                    f = self._forest["feature"][row:row + n_rows]
                    self._forest["feature"][row:row + n_rows] = torch.where(
                        f >= obs_dim, f - obs_dim + segment_start[blocks], f)
                row += n_rows
            self._forest["baseline"] = torch.zeros(len(self.models), dtype=torch.float64)
            for i, m in trees:
                self._forest["baseline"][i] = m.baseline[0]
            self._tree_models = torch.as_tensor([i for i, _ in trees])
            ends = np.cumsum([m.feature.shape[0] for _, m in trees])
            self._segments = list(zip([0, *ends[:-1].tolist()], ends.tolist(), strict=True))
            self._depth = max(m.arch["max_depth"] for _, m in trees)

    def __len__(self) -> int:
        return len(self.models)

    @torch.no_grad()
    def __call__(self, obs: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``P(success)`` of every model for one observation ``(obs_dim,)``: ``(n_models,) float64``."""
        x = np.asarray(obs, dtype=np.float32).reshape(-1)
        key = x.tobytes()
        if self._memo is not None and self._memo[0] == key:
            return self._memo[1]
        out = np.zeros(len(self.models), dtype=np.float64)
        if self._forest is not None:
            f = self._forest
            xv64 = torch.from_numpy(x).to(torch.float64)
            if self._block_lists:
                if len(x) != self._relational_obs_dim:
                    raise ValueError(f"observation of size {len(x)}; the relational affordance models expect "
                                     f"{self._relational_obs_dim}")
                xv64 = torch.cat([xv64, *(TreeAffordance.relational_features(xv64[None], b)[0]
                                          for b in self._block_lists)])
            tree = torch.arange(f["feature"].shape[0])
            node = torch.zeros_like(tree)
            for _ in range(self._depth):
                xv = xv64[f["feature"][tree, node]]
                go_left = torch.where(torch.isnan(xv), f["missing_left"][tree, node], xv <= f["threshold"][tree, node])
                nxt = torch.where(go_left, f["left"][tree, node], f["right"][tree, node])
                node = torch.where(f["is_leaf"][tree, node], node, nxt)
            leaves = f["value"][tree, node]
            for i, (lo, hi) in zip(self._tree_models.tolist(), self._segments, strict=True):
                # the same float64 sum, baseline and float32 rounding as TreeAffordance.forward (bit-identical)
                logit = f["baseline"][i] + leaves[lo:hi][None].sum(dim=1)
                out[i] = float(torch.sigmoid(logit).to(torch.float32)[0])
        xt = torch.from_numpy(x)[None]
        for i, m in self._others:
            out[i] = float(m(xt)[0])
        self._memo = (key, out)
        return out

    def member(self, index: int) -> Callable[[npt.ArrayLike], float]:
        """The callable ``obs -> P(success)`` of model ``index`` (evaluates the whole set once per observation)."""
        if not 0 <= index < len(self.models):
            raise IndexError(f"model index {index} outside 0..{len(self.models) - 1}")
        return lambda obs: float(self(obs)[index])
