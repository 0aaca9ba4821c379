"""Network kinds that a skill library may contain — an allow-list, built in code, never unpickled.

A manifest names a kind (``"mlp_actor"``, ``"mlp_affordance"``) and a small JSON architecture; loading
looks the kind up in :data:`NETWORK_KINDS`, builds the module from the validated architecture and
loads a safetensors state dict with ``strict=True``. Anything else is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from skillstack.envs.registry import Registry, UnknownNameError, unknown_name_message

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "gelu": nn.GELU}
"""Allowed hidden activations (names in manifests map to these classes, nothing else)."""

MAX_LAYERS = 8
MAX_WIDTH = 4096


class ArchitectureError(ValueError):
    """A manifest's architecture is malformed or outside the allowed ranges."""


def _mlp(in_dim: int, hidden: list[int], out_dim: int, activation: str, layer_norm: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    last = in_dim
    for width in hidden:
        layers += [nn.Linear(last, width), *([nn.LayerNorm(width)] if layer_norm else []), ACTIVATIONS[activation]()]
        last = width
    layers.append(nn.Linear(last, out_dim))
    return nn.Sequential(*layers)


def validate_arch(arch: Any, required: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """Check an architecture dict from a manifest.

    Raises:
        ArchitectureError: missing/unknown keys, wrong types, sizes outside [1, 4096] or more than 8 layers,
            unknown activation.
    """
    if not isinstance(arch, dict):
        raise ArchitectureError(f"architecture must be a JSON object, got {type(arch).__name__}")
    missing = set(required) - set(arch)
    extra = set(arch) - set(required)
    if missing or extra:
        raise ArchitectureError(f"architecture keys: missing {sorted(missing)}, unexpected {sorted(extra)}")
    for key, typ in required.items():
        if not isinstance(arch[key], typ) or (isinstance(arch[key], bool) and typ is not bool):
            raise ArchitectureError(f"architecture[{key!r}] must be {typ}, got {arch[key]!r}")
    for key in ("obs_dim", "act_dim"):
        if key in arch and not 1 <= arch[key] <= MAX_WIDTH:
            raise ArchitectureError(f"architecture[{key!r}]={arch[key]} outside [1, {MAX_WIDTH}]")
    hidden = arch["hidden_sizes"]
    if len(hidden) > MAX_LAYERS or not all(isinstance(h, int) and 1 <= h <= MAX_WIDTH for h in hidden):
        raise ArchitectureError(f"hidden_sizes must be ≤ {MAX_LAYERS} ints in [1, {MAX_WIDTH}], got {hidden}")
    if arch["activation"] not in ACTIVATIONS:
        raise ArchitectureError(unknown_name_message("activation", arch["activation"], list(ACTIVATIONS)))
    return arch


class MLPActor(nn.Module):
    """Deterministic MLP policy: ``action = squash(MLP((obs - mean) / std))``.

    Holds the observation normalisation as buffers so a saved policy is self-contained. It can hold the
    deterministic part of a behaviour-cloned MLP, of an SB3 SAC actor (``latent_pi`` + ``mu``, tanh
    squashing) or of an SB3 PPO actor (``policy_net`` + ``action_net``, clipped).

    Args:
        obs_dim: observation size.
        act_dim: action size.
        hidden_sizes: widths of the hidden layers.
        activation: one of :data:`ACTIVATIONS`.
        squash: ``"tanh"`` (output in (-1, 1)) or ``"clip"`` (clipped to [-1, 1]).
    """

    kind = "mlp_actor"

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: list[int], activation: str = "relu",
                 squash: str = "tanh") -> None:
        super().__init__()
        if squash not in ("tanh", "clip"):
            raise ArchitectureError(f"squash must be 'tanh' or 'clip', got {squash!r}")
        if activation not in ACTIVATIONS:
            raise ArchitectureError(unknown_name_message("activation", activation, list(ACTIVATIONS)))
        self.arch = {"obs_dim": obs_dim, "act_dim": act_dim, "hidden_sizes": list(hidden_sizes),
                     "activation": activation, "squash": squash}
        self.net = _mlp(obs_dim, list(hidden_sizes), act_dim, activation)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))

    @classmethod
    def from_arch(cls, arch: Any) -> MLPActor:
        a = validate_arch(arch, {"obs_dim": int, "act_dim": int, "hidden_sizes": list, "activation": str,
                                 "squash": str})
        return cls(a["obs_dim"], a["act_dim"], a["hidden_sizes"], a["activation"], a["squash"])

    def set_normalization(self, mean: npt.ArrayLike, std: npt.ArrayLike, min_std: float = 1e-3) -> None:
        """Set the observation normalisation (std floored at ``min_std`` for constant features)."""
        self.obs_mean.copy_(torch.as_tensor(np.asarray(mean), dtype=torch.float32))
        self.obs_std.copy_(torch.as_tensor(np.maximum(np.asarray(std), min_std), dtype=torch.float32))

    def inputs(self, obs: torch.Tensor) -> torch.Tensor:
        """The network's inputs before normalisation: ``obs (B, obs_dim)`` itself (subclasses may append features
        computed from it; :meth:`set_normalization` takes these inputs' statistics)."""
        return obs

    def normalized_inputs(self, obs: torch.Tensor) -> torch.Tensor:
        """``(inputs(obs) - mean) / std``, what the first layer sees."""
        return (self.inputs(obs) - self.obs_mean) / self.obs_std

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim) float32`` → ``action (B, act_dim) float32`` in [-1, 1]."""
        out = self.net(self.normalized_inputs(obs))
        return torch.tanh(out) if self.arch["squash"] == "tanh" else out.clamp(-1.0, 1.0)


MAX_CHUNK = 64
"""Longest action chunk a manifest may declare [actions]."""
MAX_OUTPUTS = 4 * MAX_WIDTH
"""Most outputs a policy's last layer may have (chunk × action size, × 2 + 1 per mixture component): a manifest
cannot make the loader allocate a huge layer before any weight is checked."""


MAX_YAWS = 72
"""Most yaws a :class:`ClearanceProfile` may evaluate."""
MAX_OBSTACLES = 8
"""Most obstacles a :class:`ClearanceProfile` may describe."""


class ClearanceProfile(nn.Module):
    """The hand's clearance profile: for ``yaws`` world yaws of the hand's closing axis, starting at its own and
    ``π / yaws`` apart, the smallest signed gap [m] between the hand's footprint at the grasp point and the source
    bin's walls and the other objects, computed from the poses in the observation.

    A torch port of :func:`skillstack.envs.robosuite_control.hand_clearance` (the footprint rectangle, the walls
    counted while the grasp is inside the bin and the hand's bottom below their top, each object as a grid of
    points over its collision box in its observed pose, counted when its top is above the hand's bottom), evaluated
    in float64 and clipped to ``[-clip, clip]`` (``inf`` — nothing in reach — becomes ``clip``). It is the geometry
    the scripted pick's grasp-yaw turn decides on (:func:`~skillstack.envs.robosuite_control.clear_grasp_yaw_error`),
    given to a cloned policy as input features the way object-centric policies are given relations instead of
    having to infer them from raw poses (relational inductive bias; Battaglia et al. 2018) — twenty-eighth session:
    the turn was recalled far better from the observation with this profile than without it
    (docs/results/robosuite.md). Relative to the hand's own yaw, so the profile does not change when the whole
    scene is turned.

    The constants are the spec's (a JSON object, stored in the policy's manifest): nothing of the env is read at
    load time, and the module has no weights.

    Spec keys: ``grasp_pos`` (start index of the grasp point's 3 world coordinates [m] — the picked object's
    position), ``eef_quat`` (start index of the hand's quaternion, x y z w; its rotation's y column is the closing
    axis), ``yaws`` (1–:data:`MAX_YAWS`), ``clip`` [m] (> 0), ``hand`` ``[half_length, half_width, bottom]`` [m]
    (the footprint's half sizes along and across the closing axis, the hand's bottom above the grasp point),
    ``bin`` ``[x_min, x_max, y_min, y_max, wall_top]`` [m, world], ``grid`` (points per box axis, 2–9), and
    ``obstacles``: up to :data:`MAX_OBSTACLES` objects ``{"pos": start index, "quat": start index (x y z w),
    "half_extent": [3] m, "centre": [3] m}`` (the collision box in the body frame,
    :class:`~skillstack.envs.robosuite_control.ObjectGeometry`).

    Args:
        spec: the spec above.
        obs_dim: the observation's size (every index must fit in it).

    Raises:
        ArchitectureError: a missing or unknown key, a wrong type, or a value out of range.
    """

    KEYS = ("grasp_pos", "eef_quat", "yaws", "clip", "hand", "bin", "grid", "obstacles")

    def __init__(self, spec: Any, obs_dim: int) -> None:
        super().__init__()
        self.arch = self.validate(spec, obs_dim)
        a = self.arch
        g = torch.linspace(-1.0, 1.0, a["grid"], dtype=torch.float64)
        grid = torch.stack(torch.meshgrid(g, g, g, indexing="ij"), dim=-1).reshape(-1, 3)  # (n, 3)
        he = torch.tensor([o["half_extent"] for o in a["obstacles"]], dtype=torch.float64).reshape(-1, 3)
        self.register_buffer("grids", grid[None] * he[:, None], persistent=False)  # (m, n, 3) body frame [m]
        self.register_buffer("half_extents", he, persistent=False)
        self.register_buffer("centres", torch.tensor([o["centre"] for o in a["obstacles"]],
                                                     dtype=torch.float64).reshape(-1, 3), persistent=False)
        self.register_buffer("offsets", torch.arange(a["yaws"], dtype=torch.float64) * torch.pi / a["yaws"],
                             persistent=False)

    @staticmethod
    def validate(spec: Any, obs_dim: int) -> dict[str, Any]:
        """Check a spec (see the class); returns it as plain JSON values. Raises :class:`ArchitectureError`."""
        def fail(msg: str) -> ArchitectureError:
            return ArchitectureError(f"clearance spec: {msg}")

        def index(v: Any, width: int, key: str) -> int:
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= obs_dim - width:
                raise fail(f"{key}={v!r} must be an int in [0, obs_dim - {width}] = [0, {obs_dim - width}]")
            return v

        def numbers(v: Any, n: int, key: str, positive: bool = False) -> list[float]:
            if not isinstance(v, list) or len(v) != n or any(
                    isinstance(x, bool) or not isinstance(x, int | float) or not np.isfinite(x)
                    or (positive and x <= 0) for x in v):
                raise fail(f"{key}={v!r} must be a list of {n} finite{' positive' if positive else ''} numbers")
            return [float(x) for x in v]

        if not isinstance(spec, dict) or set(spec) != set(ClearanceProfile.KEYS):
            keys = sorted(spec) if isinstance(spec, dict) else type(spec).__name__
            raise fail(f"needs exactly the keys {', '.join(ClearanceProfile.KEYS)}; got {keys}")
        out: dict[str, Any] = {"grasp_pos": index(spec["grasp_pos"], 3, "grasp_pos"),
                               "eef_quat": index(spec["eef_quat"], 4, "eef_quat")}
        for key, lo, hi in (("yaws", 1, MAX_YAWS), ("grid", 2, 9)):
            v = spec[key]
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise fail(f"{key}={v!r} must be an int in [{lo}, {hi}]")
            out[key] = v
        out["clip"] = numbers([spec["clip"]], 1, "clip", positive=True)[0]
        out["hand"] = numbers(spec["hand"], 3, "hand", positive=True)
        out["bin"] = numbers(spec["bin"], 5, "bin")
        obstacles = spec["obstacles"]
        if not isinstance(obstacles, list) or len(obstacles) > MAX_OBSTACLES:
            raise fail(f"obstacles must be a list of at most {MAX_OBSTACLES} objects")
        out["obstacles"] = []
        for o in obstacles:
            if not isinstance(o, dict) or set(o) != {"pos", "quat", "half_extent", "centre"}:
                raise fail(f"an obstacle needs exactly the keys pos, quat, half_extent, centre; got {o!r}")
            out["obstacles"].append({"pos": index(o["pos"], 3, "obstacle pos"),
                                     "quat": index(o["quat"], 4, "obstacle quat"),
                                     "half_extent": numbers(o["half_extent"], 3, "half_extent", positive=True),
                                     "centre": numbers(o["centre"], 3, "centre")})
        return out

    @staticmethod
    def rotation(quat: torch.Tensor) -> torch.Tensor:
        """``quat (..., 4)`` (x, y, z, w; normalised here) → rotation matrices ``(..., 3, 3)``."""
        x, y, z, w = (quat / quat.norm(dim=-1, keepdim=True)).unbind(-1)
        return torch.stack([
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], dim=-1).reshape(*quat.shape[:-1], 3, 3)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim)`` → the profile ``(B, yaws) float64`` [m] in ``[-clip, clip]``."""
        a = self.arch
        x = obs.to(torch.float64)
        half_length, half_width, bottom = a["hand"]
        x_min, x_max, y_min, y_max, wall_top = a["bin"]
        grasp = x[:, a["grasp_pos"]:a["grasp_pos"] + 3]
        closing = self.rotation(x[:, a["eef_quat"]:a["eef_quat"] + 4])[:, :, 1]  # (B, 3): the rotation's y column
        angles = torch.atan2(closing[:, 1], closing[:, 0])[:, None] + self.offsets  # (B, K)
        c, s = torch.cos(angles), torch.sin(angles)
        hand_bottom = grasp[:, 2] + bottom
        inside = ((x_min < grasp[:, 0]) & (grasp[:, 0] < x_max) & (y_min < grasp[:, 1]) & (grasp[:, 1] < y_max)
                  & (hand_bottom < wall_top))[:, None]
        reach_x = half_length * c.abs() + half_width * s.abs()
        reach_y = half_length * s.abs() + half_width * c.abs()
        gx, gy = grasp[:, :1], grasp[:, 1:2]
        walls = torch.stack([gx - x_min - reach_x, x_max - gx - reach_x, gy - y_min - reach_y,
                             y_max - gy - reach_y]).amin(0)
        gap = torch.where(inside, walls, torch.inf)  # the walls count only while the hand is inside, below their top
        for j, o in enumerate(a["obstacles"]):
            pos, rot = x[:, o["pos"]:o["pos"] + 3], self.rotation(x[:, o["quat"]:o["quat"] + 4])  # (B, 3), (B, 3, 3)
            top = pos[:, 2] + (rot[:, 2] * self.centres[j]).sum(-1) + (rot[:, 2].abs() * self.half_extents[j]).sum(-1)
            centre = pos + torch.einsum("bij,j->bi", rot, self.centres[j])
            points = centre[:, None, :2] + torch.einsum("nj,bij->bni", self.grids[j], rot[:, :2])  # (B, n, 2)
            d = points - grasp[:, None, :2]
            u = (c[:, :, None] * d[:, None, :, 0] + s[:, :, None] * d[:, None, :, 1]).abs() - half_length  # (B, K, n)
            v = (-s[:, :, None] * d[:, None, :, 0] + c[:, :, None] * d[:, None, :, 1]).abs() - half_width
            outside = torch.hypot(u.clamp(min=0.0), v.clamp(min=0.0))
            near = torch.where((u < 0) & (v < 0), torch.maximum(u, v), outside).amin(-1)
            gap = torch.where((top >= hand_bottom)[:, None], torch.minimum(gap, near), gap)
        return gap.clamp(-a["clip"], a["clip"])


class ChunkedMLPActor(MLPActor):
    """Action-chunking MLP policy: one forward pass predicts the next ``chunk_size`` actions.

    Action chunks with a receding horizon (ACT, Zhao et al. 2023, "Learning Fine-Grained Bimanual Manipulation
    with Low-Cost Hardware", RSS: chunk size 1 → 100 raised success from 1 % to 44 %; Diffusion Policy, Chi et al.
    2023, RSS, §3.2: predict 16, execute 8) counter the "pausing" a single-step cloned policy falls into near
    the object: the policy commits to a short open-loop sequence, so small corrective motions of the
    demonstrations are reproduced instead of averaged away. :class:`ActionChunkExecutor` executes it.

    ``forward(obs)`` returns the first action of each chunk, so the actor is a drop-in single-step policy wherever
    no executor keeps state (batched calls); :meth:`forward_chunk` returns the whole chunk.

    Args:
        obs_dim: observation size.
        act_dim: size of one action.
        hidden_sizes: widths of the hidden layers.
        activation: one of :data:`ACTIVATIONS`.
        chunk_size: actions predicted per forward pass, ``1 ≤ chunk_size ≤`` :data:`MAX_CHUNK`.
        execute_steps: actions of each chunk executed before predicting again, ``1 ≤ execute_steps ≤
            chunk_size``.

    Raises:
        ArchitectureError: sizes outside those ranges.
    """

    kind = "mlp_chunk_actor"

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: list[int], activation: str = "relu",
                 chunk_size: int = 8, execute_steps: int = 4, clearance: dict[str, Any] | None = None) -> None:
        if not (isinstance(chunk_size, int) and 1 <= chunk_size <= MAX_CHUNK):
            raise ArchitectureError(f"chunk_size must be an int in [1, {MAX_CHUNK}], got {chunk_size!r}")
        if not (isinstance(execute_steps, int) and 1 <= execute_steps <= chunk_size):
            raise ArchitectureError(f"execute_steps must be an int in [1, chunk_size={chunk_size}], got "
                                    f"{execute_steps!r}")
        if not isinstance(act_dim, int) or act_dim * chunk_size > MAX_OUTPUTS:
            raise ArchitectureError(f"act_dim × chunk_size = {act_dim!r} × {chunk_size} exceeds {MAX_OUTPUTS}")
        profile = ClearanceProfile(clearance, obs_dim) if clearance is not None else None
        self.input_dim = obs_dim + (profile.arch["yaws"] if profile is not None else 0)
        """Width of the first layer's input: the observation and the appended features."""
        super().__init__(self.input_dim, act_dim * chunk_size, hidden_sizes, activation, "tanh")
        self.clearance = profile
        self.arch = {"obs_dim": obs_dim, "act_dim": act_dim, "hidden_sizes": list(hidden_sizes),
                     "activation": activation, "chunk_size": chunk_size, "execute_steps": execute_steps}
        if profile is not None:  # only then in the manifest: policies saved before this option load and hash unchanged
            self.arch["clearance"] = profile.arch

    HEAD_ARCH: dict[str, type] = {}
    """Architecture keys a subclass's head adds (its constructor's keyword arguments of the same names)."""

    @classmethod
    def from_arch(cls, arch: Any) -> ChunkedMLPActor:
        clearance = None
        if isinstance(arch, dict) and "clearance" in arch:  # optional; ClearanceProfile validates it
            arch = dict(arch)
            clearance = arch.pop("clearance")
        a = validate_arch(arch, {"obs_dim": int, "act_dim": int, "hidden_sizes": list, "activation": str,
                                 "chunk_size": int, "execute_steps": int, **cls.HEAD_ARCH})
        return cls(**a, clearance=clearance)

    def inputs(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim)``, with the hand's clearance profile ``(B, yaws)`` [m] appended when the actor has one
        (:class:`ClearanceProfile`) → ``(B, input_dim)``. Rows that already have ``input_dim`` values are taken as
        computed inputs and returned as they are: training computes the (deterministic) profile of its dataset once
        instead of at every gradient step (≈ 27 ms per batch of 256 on one core).

        Raises:
            ValueError: ``obs`` has neither ``obs_dim`` nor ``input_dim`` columns.
        """
        if self.clearance is None or obs.shape[-1] == self.input_dim:
            return obs
        if obs.shape[-1] != self.arch["obs_dim"]:
            raise ValueError(f"observations of width {obs.shape[-1]}; this actor takes {self.arch['obs_dim']} "
                             f"(or {self.input_dim} with its clearance profile appended)")
        return torch.cat([obs, self.clearance(obs).to(obs.dtype)], dim=1)

    def forward_chunk(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim) float32`` → ``actions (B, chunk_size, act_dim) float32`` in (-1, 1)."""
        out = torch.tanh(self.net(self.normalized_inputs(obs)))
        return out.reshape(obs.shape[0], self.arch["chunk_size"], self.arch["act_dim"])

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim) float32`` → the first action of each chunk ``(B, act_dim) float32``."""
        return self.forward_chunk(obs)[:, 0]


class GMMActor(ChunkedMLPActor):
    """Behaviour-cloning policy with a Gaussian-mixture head over (a chunk of) actions.

    A regression head trained with MSE averages the modes of a multimodal expert — e.g. a grasp yaw that wraps at
    ±90° gives targets near +1 and −1 for nearly the same observation, and the MSE optimum ≈ 0 turns the hand
    nowhere. robomimic (Mandlekar et al. 2021, CoRL, "What Matters in Learning from Offline Human
    Demonstrations", §5 and Table 10) found a GMM head uniformly better than a deterministic one; this is its
    head: ``modes`` diagonal Gaussians with means ``tanh(μ_k)`` and scales in [:data:`GMM_MIN_STD`,
    :data:`GMM_MAX_STD`] (a sigmoid; robomimic: softplus + 10⁻⁴, uncapped), trained by negative log-likelihood
    (:meth:`nll`, ``torch.distributions.MixtureSameFamily``). Acting is deterministic: the mean of the most probable
    component (robomimic's low-noise evaluation samples the component; taking the argmax makes a rollout a
    function of its observations).

    ``chunk_size`` > 1 models the whole chunk ``(chunk_size · act_dim)`` as one mixture (each component is one
    coherent chunk), executed like :class:`ChunkedMLPActor`'s.

    Args:
        obs_dim, act_dim, hidden_sizes, activation, chunk_size, execute_steps, clearance: as
            :class:`ChunkedMLPActor`.
        modes: mixture components, ``1 ≤ modes ≤`` :data:`MAX_MODES` (robomimic's default: 5).

    Raises:
        ArchitectureError: sizes outside those ranges.
    """

    kind = "gmm_actor"
    HEAD_ARCH = {"modes": int}

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: list[int], activation: str = "relu",
                 chunk_size: int = 1, execute_steps: int = 1, modes: int = 5,
                 clearance: dict[str, Any] | None = None) -> None:
        if not (isinstance(modes, int) and 1 <= modes <= MAX_MODES):
            raise ArchitectureError(f"modes must be an int in [1, {MAX_MODES}], got {modes!r}")
        if isinstance(act_dim, int) and isinstance(chunk_size, int) and \
                modes * (2 * act_dim * chunk_size + 1) > MAX_OUTPUTS:
            raise ArchitectureError(f"modes × (2 · act_dim · chunk_size + 1) = {modes} × (2 · {act_dim} · "
                                    f"{chunk_size} + 1) exceeds {MAX_OUTPUTS} outputs")
        super().__init__(obs_dim, act_dim, hidden_sizes, activation, chunk_size, execute_steps, clearance)
        width = act_dim * chunk_size
        self.net = _mlp(self.input_dim, list(hidden_sizes), modes * (2 * width + 1), activation)
        self.arch = {**self.arch, "modes": modes}
        # Spread the components before training: component k's means start at the same value c_k in every
        # dimension, c evenly spaced in [-0.5, 0.5], with equal weights. From a common start one component can take
        # all the weight as a single broad Gaussian and the others stop receiving gradient (measured: the
        # two-mode test collapsed to one component, weights 1.00 / 0.00 / 0.00, mean 0 between the modes).
        with torch.no_grad():
            last = self.net[-1]
            bias = last.bias.view(-1)
            bias[: modes * width] = torch.atanh(torch.linspace(-0.5, 0.5, modes)).repeat_interleave(width) \
                if modes > 1 else 0.0
            bias[2 * modes * width:] = 0.0
            last.weight[: modes * width].mul_(0.1)
            last.weight[2 * modes * width:].mul_(0.1)

    def _heads(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(means (B, K, D) in (-1, 1), scales (B, K, D) > 0, logits (B, K))``, D = chunk_size · act_dim."""
        k, d = self.arch["modes"], self.arch["act_dim"] * self.arch["chunk_size"]
        out = self.net(self.normalized_inputs(obs))
        mu, sigma, logits = out[:, :k * d], out[:, k * d:2 * k * d], out[:, 2 * k * d:]
        shape = (obs.shape[0], k, d)
        scale = GMM_MIN_STD + (GMM_MAX_STD - GMM_MIN_STD) * torch.sigmoid(sigma.reshape(shape))
        return torch.tanh(mu.reshape(shape)), scale, logits

    def nll(self, obs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of ``target (B, chunk_size · act_dim)`` under the mixture (nats)."""
        from torch import distributions as D

        means, scales, logits = self._heads(obs)
        mix = D.MixtureSameFamily(D.Categorical(logits=logits), D.Independent(D.Normal(means, scales), 1))
        return -mix.log_prob(target).mean()

    def forward_chunk(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim) float32`` → the most probable component's mean ``(B, chunk_size, act_dim)``."""
        means, _, logits = self._heads(obs)
        best = means[torch.arange(obs.shape[0]), logits.argmax(-1)]
        return best.reshape(obs.shape[0], self.arch["chunk_size"], self.arch["act_dim"])


class BinnedActor(ChunkedMLPActor):
    """Behaviour-cloning policy with a categorical head per action dimension (discretised actions).

    Each dimension of each action of the chunk gets a distribution over ``bins`` values evenly spaced on [-1, 1]
    (ends included, so the saturated ±1 and the 0 that scripted experts emit are exact), trained by cross-entropy
    against a *two-hot* target (the label's weight split between its two nearest bins in proportion to closeness;
    MuZero's value head, Schrittwieser et al. 2020, Appendix F; DreamerV3, Hafner et al. 2023) — so a unimodal label
    is recovered exactly, not rounded. Discretised per-dimension action heads are RT-1's (Brohan et al. 2022, 256
    bins, no two-hot). Acting takes, per dimension, the most probable bin and the probability-weighted mean of it
    and its two neighbours: labels split between distant values (a turn of −1 or +1 in nearly the same state, or
    a turn against no turn) give the more probable one, not their average. That is what a mixture over whole
    chunks (:class:`GMMActor`) does only if a component is free for the split; measured on ``pick_can`` v0018 the
    components act as phases of the lift instead (docs/results/robosuite.md, twenty-seventh/twenty-eighth
    sessions).
    The dimensions are predicted independently given the observation (no joint modes across dimensions).

    Args:
        obs_dim, act_dim, hidden_sizes, activation, chunk_size, execute_steps, clearance: as
            :class:`ChunkedMLPActor`.
        bins: values per dimension, an odd int in [3, :data:`MAX_BINS`] (odd: 0 is a bin).

    Raises:
        ArchitectureError: sizes outside those ranges.
    """

    kind = "binned_actor"
    HEAD_ARCH = {"bins": int}

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: list[int], activation: str = "relu",
                 chunk_size: int = 1, execute_steps: int = 1, bins: int = 21,
                 clearance: dict[str, Any] | None = None) -> None:
        if not (isinstance(bins, int) and 3 <= bins <= MAX_BINS and bins % 2 == 1):
            raise ArchitectureError(f"bins must be an odd int in [3, {MAX_BINS}], got {bins!r}")
        if isinstance(act_dim, int) and isinstance(chunk_size, int) and act_dim * chunk_size * bins > MAX_OUTPUTS:
            raise ArchitectureError(f"act_dim × chunk_size × bins = {act_dim} × {chunk_size} × {bins} exceeds "
                                    f"{MAX_OUTPUTS} outputs")
        super().__init__(obs_dim, act_dim, hidden_sizes, activation, chunk_size, execute_steps, clearance)
        self.net = _mlp(self.input_dim, list(hidden_sizes), act_dim * chunk_size * bins, activation)
        self.arch = {**self.arch, "bins": bins}
        self.register_buffer("centres", torch.linspace(-1.0, 1.0, bins), persistent=False)

    def logits(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim)`` → ``(B, chunk_size · act_dim, bins)`` float32 logits."""
        out = self.net(self.normalized_inputs(obs))
        return out.reshape(obs.shape[0], self.arch["chunk_size"] * self.arch["act_dim"], self.arch["bins"])

    def two_hot(self, target: torch.Tensor) -> torch.Tensor:
        """``target (..., D)`` in [-1, 1] → ``(..., D, bins)`` two-hot weights (sum 1; clipped to [-1, 1])."""
        bins = self.arch["bins"]
        pos = (target.clamp(-1.0, 1.0) + 1.0) * (bins - 1) / 2.0  # fractional bin index in [0, bins - 1]
        lo = pos.floor().clamp(max=bins - 2).long()
        frac = (pos - lo).unsqueeze(-1)
        weights = torch.zeros(*target.shape, bins, dtype=target.dtype, device=target.device)
        weights.scatter_(-1, lo.unsqueeze(-1), 1.0 - frac)
        weights.scatter_add_(-1, (lo + 1).unsqueeze(-1), frac)
        return weights

    def nll(self, obs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy (nats per dimension) of the two-hot ``target (B, chunk_size · act_dim)``."""
        log_p = torch.log_softmax(self.logits(obs), dim=-1)
        return -(self.two_hot(target) * log_p).sum(-1).mean()

    def forward_chunk(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim)`` → ``(B, chunk_size, act_dim)``: per dimension the mean over the most probable bin
        and its two neighbours, weighted by their probabilities."""
        p = torch.softmax(self.logits(obs), dim=-1)
        best = p.argmax(-1, keepdim=True)
        # one empty bin beyond each end, so the best bin and its two neighbours are always three columns
        padded = torch.nn.functional.pad(p, (1, 1))
        centres = torch.nn.functional.pad(self.centres, (1, 1))
        window = best + torch.arange(3, device=p.device)  # (B, D, 3), indices into the padded bins
        pw = padded.gather(-1, window)
        action = (pw * centres[window]).sum(-1) / pw.sum(-1)
        return action.reshape(obs.shape[0], self.arch["chunk_size"], self.arch["act_dim"])


MAX_BINS = 255
"""Most bins per action dimension a manifest may declare (:class:`BinnedActor`)."""

MAX_MODES = 32
"""Most mixture components a manifest may declare."""

GMM_MAX_STD = 0.25
"""Cap of the components' scales: one component can then not cover two modes farther apart than ≈ 2 × 0.25 (a
broad single Gaussian over both was a stable local optimum: the other components' weights fell to 0 and stopped
learning; measured on the two-mode test with modes ±0.8 — 1 of 3 seeds collapsed on 6 of 16 observations without
the cap). Scripted experts' labels are exact, so no demonstration needs a broader component."""

GMM_MIN_STD = 0.01
"""Floor of the mixture components' scales (actions in [-1, 1]). robomimic uses 10⁻⁴ with learning rate 10⁻⁴; a
scripted expert's labels are exact, so the scales collapse to the floor, and at 10⁻⁴ the means' gradients (∝ 1/σ²)
made training with BC's learning rate 10⁻³ oscillate (measured on the two-mode test: the constant dimension
drifted from 0.30 to 0.41 between 400 and 600 steps)."""


class ActionChunkExecutor:
    """Receding-horizon execution of a policy, one observation at a time: ``executor(obs) → action``.

    For a :class:`ChunkedMLPActor`, a chunk is predicted when the queue is empty and its first ``execute_steps``
    actions are queued; :meth:`reset` drops the rest of a chunk (call it at the start of every episode or skill
    execution — a skill stopped because its success predicate fired leaves no actions behind for the next one).
    Any other actor is called every step.

    Args:
        actor: the policy module (``(B, obs_dim) → (B, act_dim)``).
    """

    def __init__(self, actor: nn.Module) -> None:
        self.actor = actor
        self.chunked = isinstance(actor, ChunkedMLPActor)
        self._queue: list[npt.NDArray[np.float32]] = []
        self.predictions = 0
        """Forward passes so far (chunks predicted)."""

    def reset(self) -> None:
        """Forget the queued actions."""
        self._queue = []

    @torch.no_grad()
    def __call__(self, obs: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """``obs (obs_dim,)`` → ``action (act_dim,) float32``."""
        x = torch.as_tensor(np.asarray(obs, dtype=np.float32)).reshape(1, -1)
        if not self.chunked:
            self.predictions += 1
            return self.actor(x)[0].numpy()
        if not self._queue:
            self.predictions += 1
            chunk = self.actor.forward_chunk(x)[0].numpy()
            self._queue = list(chunk[: self.actor.arch["execute_steps"]])
        return self._queue.pop(0)


class MLPAffordance(nn.Module):
    """Value-based affordance: ``P(success | obs) = sigmoid(MLP((obs - mean) / std))`` (SayCan's value function).

    Args:
        obs_dim: observation size.
        hidden_sizes: widths of the hidden layers.
        activation: one of :data:`ACTIVATIONS`.
    """

    kind = "mlp_affordance"

    def __init__(self, obs_dim: int, hidden_sizes: list[int], activation: str = "relu") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ArchitectureError(unknown_name_message("activation", activation, list(ACTIVATIONS)))
        self.arch = {"obs_dim": obs_dim, "hidden_sizes": list(hidden_sizes), "activation": activation}
        self.net = _mlp(obs_dim, list(hidden_sizes), 1, activation)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))

    @classmethod
    def from_arch(cls, arch: Any) -> MLPAffordance:
        a = validate_arch(arch, {"obs_dim": int, "hidden_sizes": list, "activation": str})
        return cls(a["obs_dim"], a["hidden_sizes"], a["activation"])

    set_normalization = MLPActor.set_normalization

    def logits(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim)`` → logits ``(B,)``."""
        return self.net((obs - self.obs_mean) / self.obs_std).squeeze(-1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim) float32`` → ``P(success) (B,) float32`` in [0, 1]."""
        return torch.sigmoid(self.logits(obs))


MAX_TREES = 2000
MAX_TREE_NODES = 4096
MAX_TREE_DEPTH = 64
MAX_POSITION_BLOCKS = 16


class TreeAffordance(nn.Module):
    """Value-based affordance as boosted decision trees: ``P(success | obs) = sigmoid(b + Σ_t leaf_t(obs))``.

    The trees of a scikit-learn ``HistGradientBoostingClassifier`` (binary log-loss) exported to plain
    arrays (:meth:`from_sklearn`), so they live in safetensors like every other network and are evaluated
    here in torch; nothing of scikit-learn is pickled. Node ``i`` of tree ``t`` sends ``obs[feature]``
    ``<= threshold`` (or NaN when ``missing_left``) to ``left``, otherwise to ``right``; leaves hold
    additive raw scores ``value``.

    *Relational features* (optional, ``position_blocks``): axis-aligned splits cannot compare two coordinates of
    the observation, so a condition such as "the neighbour stands within 5 cm of the object" needs many splits. With
    ``position_blocks = [i_1, ..., i_k]`` (start indices of ``k`` absolute 3-d positions [m] in the observation,
    e.g. robosuite's ``<obj>_pos``) the trees also see, for every pair ``a < b``, the offset ``p_a - p_b``
    (3 values, m) and its horizontal length ``‖(p_a - p_b)_xy‖`` (m): ``obs_dim + 4·k(k-1)/2`` features, computed
    in float64 (:meth:`features`). The pairwise-relation inputs of object-centric models (e.g. Battaglia et al.
    2018, "Relational inductive biases...") reduced to the two quantities a pick's success turned on here
    (docs/results/robosuite.md, issue 18).

    Args:
        obs_dim: observation size.
        n_trees: number of trees.
        max_nodes: nodes per tree (shorter trees are padded with leaves).
        max_depth: the deepest leaf's depth (number of descent steps evaluated).
        position_blocks: start indices of absolute 3-d positions whose pairwise offsets are added as features
            (empty: the raw observation only, as before).
    """

    kind = "tree_affordance"

    def __init__(self, obs_dim: int, n_trees: int, max_nodes: int, max_depth: int,
                 position_blocks: tuple[int, ...] | list[int] = ()) -> None:
        super().__init__()
        self.arch = {"obs_dim": obs_dim, "n_trees": n_trees, "max_nodes": max_nodes, "max_depth": max_depth}
        blocks = [int(i) for i in position_blocks]
        if blocks:  # only then in the manifest: models saved before this option load and hash unchanged
            self.arch["position_blocks"] = blocks
        shape = (n_trees, max_nodes)
        self.register_buffer("feature", torch.zeros(shape, dtype=torch.int64))
        self.register_buffer("threshold", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("left", torch.zeros(shape, dtype=torch.int64))
        self.register_buffer("right", torch.zeros(shape, dtype=torch.int64))
        self.register_buffer("is_leaf", torch.ones(shape, dtype=torch.bool))
        self.register_buffer("missing_left", torch.zeros(shape, dtype=torch.bool))
        self.register_buffer("value", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("baseline", torch.zeros(1, dtype=torch.float64))

    @classmethod
    def from_arch(cls, arch: Any) -> TreeAffordance:
        base = {"obs_dim", "n_trees", "max_nodes", "max_depth"}
        if not isinstance(arch, dict) or not base <= set(arch) <= base | {"position_blocks"}:
            raise ArchitectureError("tree architecture needs keys obs_dim, n_trees, max_nodes, max_depth (and "
                                    f"optionally position_blocks): {arch!r}")
        limits = {"obs_dim": MAX_WIDTH, "n_trees": MAX_TREES, "max_nodes": MAX_TREE_NODES, "max_depth": MAX_TREE_DEPTH}
        for k, hi in limits.items():
            v = arch[k]
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= hi:
                raise ArchitectureError(f"architecture[{k!r}]={v!r} must be an int in [1, {hi}]")
        blocks = arch.get("position_blocks", [])
        if "position_blocks" in arch and (
                not isinstance(blocks, list) or not 2 <= len(blocks) <= MAX_POSITION_BLOCKS
                or any(not isinstance(i, int) or isinstance(i, bool) or not 0 <= i <= arch["obs_dim"] - 3
                       for i in blocks)):
            raise ArchitectureError(f"architecture['position_blocks']={blocks!r} must list 2..{MAX_POSITION_BLOCKS} "
                                    f"start indices in [0, obs_dim - 3]")
        return cls(arch["obs_dim"], arch["n_trees"], arch["max_nodes"], arch["max_depth"], blocks)

    @property
    def position_blocks(self) -> list[int]:
        return list(self.arch.get("position_blocks", []))

    @staticmethod
    def relational_features(x: torch.Tensor, position_blocks: list[int] | tuple[int, ...]) -> torch.Tensor:
        """The added features alone: ``x (B, obs_dim) float64`` → ``(B, 4·k(k-1)/2) float64``, for each pair
        ``a < b`` of blocks ``[p_a - p_b (3), ‖(p_a - p_b)_xy‖ (1)]`` [m]."""
        cols = []
        for j, a in enumerate(position_blocks):
            for b in position_blocks[j + 1:]:
                d = x[:, a:a + 3] - x[:, b:b + 3]
                cols += [d, torch.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2)[:, None]]
        return torch.cat(cols, dim=1) if cols else x[:, :0]

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim)`` → the trees' inputs ``(B, n_features) float64`` (the observation, then the
        relational features of :meth:`relational_features` when ``position_blocks`` is set)."""
        x = obs.to(torch.float64)
        blocks = self.position_blocks
        return torch.cat([x, self.relational_features(x, blocks)], dim=1) if blocks else x

    @classmethod
    def from_sklearn(cls, clf: Any, obs_dim: int, position_blocks: list[int] | tuple[int, ...] = ()) -> TreeAffordance:
        """Export a fitted binary ``HistGradientBoostingClassifier`` (numerical features only), fitted on
        :meth:`features` of the observations (with ``position_blocks``: the same blocks).

        Raises:
            ValueError: not a binary classifier, or categorical splits present.
        """
        predictors = [p[0] for p in clf._predictors]
        if len(clf.classes_) != 2 or any(len(p) != 1 for p in clf._predictors):
            raise ValueError("only binary classifiers can be exported")
        nodes = [p.nodes for p in predictors]
        if any(n["is_categorical"].any() for n in nodes):
            raise ValueError("categorical splits are not supported")
        m = cls(obs_dim, len(nodes), max(len(n) for n in nodes), max(int(n["depth"].max()) for n in nodes) or 1,
                position_blocks)
        with torch.no_grad():
            for t, n in enumerate(nodes):
                k = len(n)
                m.feature[t, :k] = torch.as_tensor(n["feature_idx"].astype(np.int64))
                m.threshold[t, :k] = torch.as_tensor(n["num_threshold"].astype(np.float64))
                m.left[t, :k] = torch.as_tensor(n["left"].astype(np.int64))
                m.right[t, :k] = torch.as_tensor(n["right"].astype(np.int64))
                m.is_leaf[t, :k] = torch.as_tensor(n["is_leaf"].astype(bool))
                m.missing_left[t, :k] = torch.as_tensor(n["missing_go_to_left"].astype(bool))
                m.value[t, :k] = torch.as_tensor(n["value"].astype(np.float64))
            m.baseline[0] = float(np.asarray(clf._baseline_prediction).ravel()[0])
        return m

    def logits(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim)`` → raw scores ``(B,)`` float64."""
        x = self.features(obs)
        b, n_trees = x.shape[0], self.feature.shape[0]
        tree = torch.arange(n_trees).expand(b, n_trees)
        node = torch.zeros(b, n_trees, dtype=torch.int64)
        rows = torch.arange(b)[:, None].expand(b, n_trees)
        for _ in range(self.arch["max_depth"]):
            feat = self.feature[tree, node]
            xv = x[rows, feat]
            go_left = torch.where(torch.isnan(xv), self.missing_left[tree, node], xv <= self.threshold[tree, node])
            nxt = torch.where(go_left, self.left[tree, node], self.right[tree, node])
            node = torch.where(self.is_leaf[tree, node], node, nxt)
        return self.baseline[0] + self.value[tree, node].sum(dim=1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim) float32`` → ``P(success) (B,) float32`` in [0, 1]."""
        return torch.sigmoid(self.logits(obs)).to(torch.float32)


class QProposalActor(nn.Module):
    """IBRL's deployed policy (Hu et al. 2023, "Imitation Bootstrapped Reinforcement Learning", RSS 2024, §4):
    two deterministic proposals — the RL actor's and the frozen imitation (BC) policy's — and one of them is executed
    (by default the one with the higher value ``min_i Q_i(obs, a)``).

    With ``selection="min"``: ``action = a_bc if Q(obs, a_bc) > Q(obs, a_rl) else a_rl`` with ``a_rl = rl(obs)``,
    ``a_bc = bc(obs)`` (both :class:`MLPActor`) and ``Q_i`` MLPs over ``[obs, action]`` (SB3's critic layout, raw
    observations).

    ``selection`` chooses how the two values are compared:

    * ``"min"`` — IBRL's rule: ``Q = min_i Q_i`` for both proposals.
    * ``"unanimous"`` — the RL proposal only where *each* critic prefers it, ``Q_i(obs, a_rl) > Q_i(obs, a_bc)``
      for every ``i``; elsewhere the BC proposal. Where the ensemble disagrees about the ranking — typically on
      the RL actor's own Q-maximising actions, whose values are over-estimated — the policy falls back to the
      imitation policy it started from, as safe policy improvement does with its baseline (SPIBB, Laroche,
      Trichelair & Tachet des Combes, ICML 2019). Each critic compares the two actions itself, so a constant
      offset between critics does not decide.
    * ``"dominant"`` — stricter: ``min_i Q_i(obs, a_rl) > max_i Q_i(obs, a_bc)``. Offsets between critics count
      against the RL proposal, so with a spread-out ensemble this is close to the BC policy (kept because it was
      measured first, docs/results/metaworld_rl.md).

    Both were added because with ``"min"`` the deployed policy fell ≥ 20 points below the BC start in 3 of 9 IBRL
    runs of ``bench sample-efficiency``; neither fixes that (docs/results/metaworld_rl.md: the critics agree on the
    worse actions), so ``"min"`` stays the default.

    Args:
        rl: the RL policy.
        bc: the imitation policy (same observation and action sizes).
        critic_hidden: hidden widths of each Q network (``arch["hidden_sizes"]``).
        activation: one of :data:`ACTIVATIONS` (the critics').
        n_critics: number of Q networks (their minimum is the value under ``"min"``).
        layer_norm: ``LayerNorm`` after each hidden layer of the critics (as trained by ``ibrl``).
        selection: ``"min"``, ``"unanimous"`` or ``"dominant"`` (above).

    Raises:
        ArchitectureError: mismatched proposals, ``n_critics`` outside [1, 10], an unknown ``selection``.
    """

    kind = "q_proposal_actor"
    SELECTIONS = ("min", "unanimous", "dominant")

    def __init__(self, rl: MLPActor, bc: MLPActor, critic_hidden: list[int], activation: str = "relu",
                 n_critics: int = 2, layer_norm: bool = False, selection: str = "min") -> None:
        super().__init__()
        if (rl.arch["obs_dim"], rl.arch["act_dim"]) != (bc.arch["obs_dim"], bc.arch["act_dim"]):
            raise ArchitectureError("the RL and BC proposals must have the same observation and action sizes")
        if not 1 <= n_critics <= 10:
            raise ArchitectureError(f"n_critics must be in [1, 10], got {n_critics}")
        if selection not in self.SELECTIONS:
            raise ArchitectureError(unknown_name_message("proposal selection", selection, list(self.SELECTIONS)))
        self.selection = selection
        validate_arch({"hidden_sizes": list(critic_hidden), "activation": activation},
                      {"hidden_sizes": list, "activation": str})
        obs_dim, act_dim = rl.arch["obs_dim"], rl.arch["act_dim"]
        self.rl, self.bc = rl, bc
        self.critics = nn.ModuleList(_mlp(obs_dim + act_dim, list(critic_hidden), 1, activation, layer_norm)
                                     for _ in range(n_critics))
        self.arch = {"obs_dim": obs_dim, "act_dim": act_dim, "rl": rl.arch, "bc": bc.arch,
                     "hidden_sizes": list(critic_hidden), "activation": activation, "n_critics": n_critics,
                     "layer_norm": layer_norm, "selection": selection}

    @classmethod
    def from_arch(cls, arch: Any) -> QProposalActor:
        required: dict[str, type | tuple[type, ...]] = {
            "obs_dim": int, "act_dim": int, "rl": dict, "bc": dict, "hidden_sizes": list, "activation": str,
            "n_critics": int, "layer_norm": bool}
        if isinstance(arch, dict) and "selection" in arch:  # absent in skills saved before the option: "min"
            required["selection"] = str
        a = validate_arch(arch, required)
        return cls(MLPActor.from_arch(a["rl"]), MLPActor.from_arch(a["bc"]), a["hidden_sizes"], a["activation"],
                   a["n_critics"], a["layer_norm"], a.get("selection", "min"))

    def values(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Every critic's ``Q_i(obs, action)`` → ``(n_critics, B)`` float32."""
        x = torch.cat([obs, action], dim=-1)
        return torch.stack([q(x).squeeze(-1) for q in self.critics])

    def value(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """``min_i Q_i(obs, action)`` → ``(B,)`` float32."""
        return self.values(obs, action).min(dim=0).values

    def use_rl(self, obs: torch.Tensor, a_rl: torch.Tensor, a_bc: torch.Tensor) -> torch.Tensor:
        """``(B,)`` bool: where the RL proposal ``a_rl`` is executed rather than ``a_bc`` (``selection``, class
        docstring)."""
        q_rl, q_bc = self.values(obs, a_rl), self.values(obs, a_bc)
        if self.selection == "unanimous":
            return (q_rl > q_bc).all(dim=0)
        if self.selection == "dominant":
            return q_rl.min(dim=0).values > q_bc.max(dim=0).values
        return q_bc.min(dim=0).values <= q_rl.min(dim=0).values

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs (B, obs_dim) float32`` → ``action (B, act_dim) float32`` in [-1, 1]: the selected proposal."""
        a_rl, a_bc = self.rl(obs), self.bc(obs)
        return torch.where(self.use_rl(obs, a_rl, a_bc).unsqueeze(-1), a_rl, a_bc)


NETWORK_KINDS: Registry[type[nn.Module]] = Registry("network kind")
NETWORK_KINDS.register(QProposalActor.kind, QProposalActor)
NETWORK_KINDS.register(MLPActor.kind, MLPActor)
NETWORK_KINDS.register(ChunkedMLPActor.kind, ChunkedMLPActor)
NETWORK_KINDS.register(GMMActor.kind, GMMActor)
NETWORK_KINDS.register(BinnedActor.kind, BinnedActor)
NETWORK_KINDS.register(MLPAffordance.kind, MLPAffordance)
NETWORK_KINDS.register(TreeAffordance.kind, TreeAffordance)


def build_network(kind: Any, arch: Any) -> nn.Module:
    """Build a network of an allow-listed ``kind`` from a manifest architecture.

    Raises:
        UnknownNameError: ``kind`` is not in :data:`NETWORK_KINDS`.
        ArchitectureError: the architecture is malformed.
    """
    if not isinstance(kind, str):
        raise UnknownNameError(f"network kind must be a string, got {kind!r}")
    return NETWORK_KINDS.get(kind).from_arch(arch)  # type: ignore[attr-defined]
