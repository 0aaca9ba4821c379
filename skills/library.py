"""``Skill`` and the on-disk ``SkillLibrary``.

Layout (one directory per skill version)::

    <root>/<skill name>/v0001/manifest.json
                             policy.safetensors
                             affordance.safetensors   (optional)

``manifest.json`` holds the schema version, the skill's name and language description, the env it acts
in, each network's allow-listed kind and architecture, the observation/action spaces, provenance
(algorithm, env, seed, steps, git sha, package versions, command), evaluation metrics and the sha256 of
every other file in the directory.

Loading = read JSON → verify that the directory holds exactly the listed files with the listed sha256 →
build each network from its allow-listed kind in code → ``load_state_dict(strict=True)`` from
safetensors. Nothing is ever unpickled. Writes go to a hidden temp directory beside the target and are
published by one ``os.rename``, so a crash mid-write leaves the previous versions loadable and never a
half-written one. A killed write leaves only hidden ``.tmp-*`` entries, which listings ignore and
:meth:`SkillLibrary.remove_stale_temps` deletes. JSON goes through :mod:`skillstack.envs.fileio` (atomic, durable
writes; size- and depth-capped reads).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from gymnasium import spaces
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from skillstack.envs.fileio import _kind_of, atomic_write_json, fsync_dir, read_json_capped
from skillstack.envs.registry import UnknownNameError, unknown_name_message
from skillstack.skills.networks import (
    ActionChunkExecutor,
    ArchitectureError,
    ChunkedMLPActor,
    MLPActor,
    MLPAffordance,
    QProposalActor,
    TreeAffordance,
    build_network,
)

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_HASH_KEY = "manifest_sha256"
"""Manifest field holding the sha256 of the manifest itself (:func:`manifest_digest`): with the per-file
hashes in ``files`` it makes every byte of an artifact directory checked at load."""
SKILL_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")
"""A skill name: lower-case letters, digits, ``_`` and ``-``, 1–64 characters, matched whole (``fullmatch``: a
trailing newline is not accepted), so it is always a safe single path component."""


def check_skill_name(name: object) -> str:
    """Return ``name`` if it is a valid skill name (:data:`SKILL_NAME_RE`).

    Raises:
        ValueError: anything else (wrong type, characters, length, ``..``, a path, a trailing newline).
    """
    if not isinstance(name, str) or SKILL_NAME_RE.fullmatch(name) is None:
        raise ValueError(f"skill name {name!r} must be 1-64 characters of [a-z0-9_-], starting with a letter or digit")
    return name
_VERSION_RE = re.compile(r"^v(\d{4,})$")
_ROLES: dict[str, Any] = {"policy": (MLPActor, QProposalActor), "affordance": (MLPAffordance, TreeAffordance)}
_MAX_SAVE_ATTEMPTS = 1000
"""How many version numbers :meth:`SkillLibrary.save` tries (each lost to a concurrent writer) before giving up."""


class SkillLoadError(ValueError):
    """A skill directory is missing files, has extra files, fails its sha256 check or is malformed."""


def manifest_digest(manifest: dict[str, Any]) -> str:
    """Hex sha256 of ``manifest`` without its :data:`MANIFEST_HASH_KEY` field, over canonical JSON
    (sorted keys, no whitespace), so re-indenting the file does not change it but any value change does."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_HASH_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def write_manifest(path: Path, manifest: dict[str, Any], *, temp_dir: Path | None = None) -> None:
    """Write ``manifest`` (with its own sha256 added) atomically and durably (temp file, fsync, replace).

    Args:
        path: the manifest file.
        manifest: its content (without :data:`MANIFEST_HASH_KEY`, which is computed here).
        temp_dir: where the temp file goes (default: beside ``path``); see
            :func:`skillstack.envs.fileio.atomic_write_bytes`.

    Raises:
        OSError: the write failed (nothing is left behind).
        TypeError: ``manifest`` is not JSON-serialisable.
    """
    _write_json_durable(path, {**manifest, MANIFEST_HASH_KEY: manifest_digest(manifest)}, temp_dir=temp_dir)


def _read_manifest_json(mpath: Path) -> dict[str, Any]:
    """A manifest file as a JSON object (size/depth-capped read, regular files only).

    Raises:
        SkillLoadError: unreadable, not JSON, too large or too deep, or not an object.
    """
    try:
        if os.path.islink(mpath):
            raise SkillLoadError(f"{mpath}: is a symbolic link; a manifest must be a regular file in its directory")
        m = read_json_capped(mpath)
    except (OSError, ValueError) as e:
        if isinstance(e, SkillLoadError):
            raise
        raise SkillLoadError(f"{mpath}: cannot read manifest ({e})") from None
    if not isinstance(m, dict):
        raise SkillLoadError(f"{mpath}: manifest must be a JSON object, got {_json_type(m)}")
    return m


def _json_type(value: object) -> str:
    """The JSON name of ``value``'s type, for error messages."""
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "an array", str: "a string", int: "an integer", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def publish_version(root: str | os.PathLike[str], fill: Callable[[Path], dict[str, Any]]) -> Path:
    """Publish a new artifact version ``root/vNNNN`` atomically: ``fill(tmp)`` writes the files into a hidden temp
    directory beside the versions and returns the manifest (without ``version``); the manifest is written with its
    own sha256 and the directory renamed to the next free version number (above every ``v<digits>`` entry, complete
    or not). A crash at any point leaves no partial version; the temp directory is removed on error.

    Used by planner artifacts (learned planner, LoRA adapters); skills use :meth:`SkillLibrary.save`.

    Raises:
        FileExistsError: no free version number after :data:`_MAX_SAVE_ATTEMPTS` attempts.
        OSError: a write failed.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{uuid.uuid4().hex[:8]}-", dir=root))
    try:
        manifest = fill(tmp)
        for _ in range(_MAX_SAVE_ATTEMPTS):
            # one above every vNNNN entry, complete or not (a directory without manifest, a plain file, a dangling
            # link all occupy their number)
            version = 1 + max((int(m.group(1)) for p in root.iterdir() if (m := _VERSION_RE.match(p.name))),
                              default=0)
            target = root / f"v{version:04d}"
            manifest["version"] = version
            write_manifest(tmp / MANIFEST, manifest)
            _apply_default_modes(tmp)
            try:
                os.rename(tmp, target)  # atomic; fails if another writer took this version
                break
            except OSError:
                if not os.path.lexists(target):
                    raise
        else:
            raise FileExistsError(errno.EEXIST, f"{root}: no free version number after {_MAX_SAVE_ATTEMPTS} "
                                  "attempts (other writers keep taking them)")
        fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _apply_default_modes(d: Path) -> None:
    """Give a published version the permissions a plain ``mkdir`` / ``open`` would (``0o777`` / ``0o666`` less the
    umask) instead of the owner-only ``0o700`` / ``0o600`` of :func:`tempfile.mkdtemp` and temp files, so a library
    shared by a group stays readable by it."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(d, 0o777 & ~mask)
    for f in d.iterdir():
        if f.is_file() and not f.is_symlink():
            os.chmod(f, 0o666 & ~mask)


def read_verified_manifest(d: Path) -> dict[str, Any]:
    """Read ``d/manifest.json`` and verify the artifact directory against it.

    Checks, in order: the manifest is a JSON object whose ``manifest_sha256`` matches its content; ``files``
    maps plain file names to sha256 strings; the directory holds exactly those files (plus the manifest);
    each file's sha256 matches. Nothing is deserialised beyond JSON.

    Returns:
        The manifest.

    Raises:
        SkillLoadError: naming the file and the check that failed.
    """
    mpath = d / MANIFEST
    m = _read_manifest_json(mpath)
    stored = m.get(MANIFEST_HASH_KEY)
    if not isinstance(stored, str):
        raise SkillLoadError(f"{mpath}: no {MANIFEST_HASH_KEY!r} field (written by an older skillstack; "
                             "`skillstack skills upgrade --library <dir>` adds it after checking every file)")
    actual = manifest_digest(m)
    if actual != stored:
        raise SkillLoadError(f"{mpath}: sha256 mismatch (manifest says {stored[:16]}…, content {actual[:16]}…); "
                             "the manifest is corrupted or was modified")
    _verify_files(d, m)
    return m


def _verify_files(d: Path, m: dict[str, Any]) -> None:
    """Check that ``d`` holds exactly the files ``m["files"]`` lists (plus the manifest), with their sha256."""
    mpath = d / MANIFEST
    files = m.get("files")
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise SkillLoadError(f"{mpath}: 'files' must map file names to sha256 strings")
    for fname in files:
        if "/" in fname or "\\" in fname or fname.startswith(".") or fname == MANIFEST:
            raise SkillLoadError(f"{mpath}: illegal file name {fname!r}")
    present = {p.name for p in d.iterdir()} - {MANIFEST}
    listed = set(files)
    if present != listed:
        raise SkillLoadError(f"{d}: files on disk do not match the manifest: missing {sorted(listed - present)}, "
                             f"unexpected {sorted(present - listed)}")
    for fname, digest in files.items():
        actual = _sha256_regular(d / fname)
        if actual != digest:
            raise SkillLoadError(f"{d / fname}: sha256 mismatch (manifest {digest[:16]}…, file {actual[:16]}…); "
                                 "the artifact is corrupted or was modified")


def space_to_json(space: spaces.Space) -> dict[str, Any]:
    """Serialise a ``Box`` space to JSON (infinite bounds as the strings ``"inf"``/``"-inf"``).

    Raises:
        TypeError: the space is not a ``Box``.
    """
    if not isinstance(space, spaces.Box):
        raise TypeError(f"only Box spaces are supported, got {type(space).__name__}")

    def enc(a: np.ndarray) -> list[Any]:
        return [float(x) if np.isfinite(x) else str(float(x)) for x in a.reshape(-1)]

    return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype),
            "low": enc(space.low), "high": enc(space.high)}


def space_from_json(d: Any) -> spaces.Box:
    """Inverse of :func:`space_to_json`.

    Raises:
        SkillLoadError: malformed space.
    """
    try:
        if d["type"] != "Box" or d["dtype"] not in ("float32", "float64"):
            raise ValueError(f"unsupported space {d.get('type')}/{d.get('dtype')}")
        shape = tuple(int(s) for s in d["shape"])
        low = np.array([float(x) for x in d["low"]], dtype=d["dtype"]).reshape(shape)
        high = np.array([float(x) for x in d["high"]], dtype=d["dtype"]).reshape(shape)
        return spaces.Box(low, high, shape=shape, dtype=d["dtype"])
    except (KeyError, TypeError, ValueError) as e:
        raise SkillLoadError(f"malformed space in manifest: {e}") from None


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sha256_regular(path: Path) -> str:
    """Hex sha256 of ``path``, which must be a regular file and not a symlink (checked before anything is read).

    The file is examined with ``os.lstat``, then opened with ``O_NOFOLLOW | O_NONBLOCK`` and examined again with
    ``fstat``, so a symlink (e.g. to ``/dev/zero``), a FIFO or a device fails at once instead of hanging or
    reading without end, also when the entry is swapped between the two checks.

    Raises:
        SkillLoadError: naming the file: a symlink, not a regular file, or unreadable.
    """
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            raise SkillLoadError(f"{path}: is a symbolic link; artifact files must be regular files")
        if not stat.S_ISREG(st.st_mode):
            raise SkillLoadError(f"{path}: is {_kind_of(st.st_mode)}, not a regular file; refusing to read it")
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except SkillLoadError:
        raise
    except OSError as e:
        raise SkillLoadError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SkillLoadError(f"{path}: is {_kind_of(st.st_mode)}, not a regular file; refusing to read it")
        h = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            h.update(chunk)
    except OSError as e:
        raise SkillLoadError(f"{path}: cannot read ({e.strerror or e})") from None
    finally:
        os.close(fd)
    return h.hexdigest()


def _version_of(d: Path) -> int | None:
    """The version number of a directory named like one (``v0001`` → 1; canonical ``v{n:04d}`` only), else None."""
    m = _VERSION_RE.match(d.name)
    if m is None or d.name != f"v{int(m.group(1)):04d}":
        return None
    return int(m.group(1))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_skill_manifest(m: dict[str, Any], d: Path) -> None:
    """Check the shape of a skill manifest and that it belongs to the version directory ``d``
    (``<root>/<name>/v<version:04d>``): its ``name`` and ``version`` fields must match the path, so a version
    directory copied under another skill's name or number is refused.

    Args:
        m: the manifest (already a JSON object).
        d: the version directory it was read from.

    Raises:
        SkillLoadError: a field is missing or has the wrong type, the schema version is unsupported, or the
            ``name``/``version`` fields do not match ``d``.
    """
    mpath = d / MANIFEST
    if m.get("schema_version") != SCHEMA_VERSION:
        raise SkillLoadError(f"{mpath}: schema_version {m.get('schema_version')!r} unsupported "
                             f"(this skillstack reads {SCHEMA_VERSION})")
    required: dict[str, tuple[type, ...]] = {
        "name": (str,), "version": (int,), "description": (str,), "env_id": (str,), "max_steps": (int,),
        "observation_space": (dict,), "action_space": (dict,), "networks": (dict,), "files": (dict,)}
    optional: dict[str, tuple[type, ...]] = {"success": (str,), "provenance": (dict,), "metrics": (dict,)}
    for key, types in (*required.items(), *optional.items()):
        if key not in m:
            if key in required:
                raise SkillLoadError(f"{mpath}: malformed manifest: no {key!r} field")
            continue
        value = m[key]
        if key in optional and value is None:
            continue
        if not isinstance(value, types) or (types == (int,) and isinstance(value, bool)):
            want = {str: "a string", int: "an integer", dict: "an object"}[types[0]]
            raise SkillLoadError(f"{mpath}: malformed manifest: {key!r} must be {want}, got {_json_type(value)}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in m["files"].items()):
        raise SkillLoadError(f"{mpath}: malformed manifest: 'files' must map file names to sha256 strings")
    if "policy" not in m["networks"] or not all(isinstance(v, dict) for v in m["networks"].values()):
        raise SkillLoadError(f"{mpath}: malformed manifest: 'networks' must map roles (at least 'policy') to objects")
    if m["max_steps"] <= 0:
        raise SkillLoadError(f"{mpath}: malformed manifest: 'max_steps' must be positive, got {m['max_steps']}")
    sr = (m.get("metrics") or {}).get("success_rate")
    if sr is not None and (isinstance(sr, bool) or not isinstance(sr, (int, float))):
        raise SkillLoadError(f"{mpath}: malformed manifest: 'metrics.success_rate' must be a number, "
                             f"got {_json_type(sr)}")
    expected_version = _version_of(d)
    if expected_version is None:
        raise SkillLoadError(f"{d}: not a skill version directory (expected a name like v0001)")
    if m["name"] != d.parent.name or m["version"] != expected_version:
        raise SkillLoadError(f"{mpath}: the manifest is skill {m['name']!r} version {m['version']}, but it lies in "
                             f"{d.parent.name}/{d.name}; a version directory must not be copied or renamed "
                             "(save the skill under its own name instead)")


@dataclass
class Skill:
    """A named, language-described policy with an optional value-based affordance.

    Attributes:
        name: identifier, ``[a-z0-9_-]``, e.g. ``"open_drawer"``.
        description: natural-language text, e.g. ``"open the drawer"`` (what a planner scores).
        env_id: registered env the skill acts in, e.g. ``"metaworld/drawer-open-v3"``.
        policy: deterministic actor, ``obs (B, obs_dim) → action (B, act_dim)`` in [-1, 1].
        observation_space: the env's observation space.
        action_space: the env's action space.
        affordance_model: optional ``obs → P(success)`` network (SayCan value function).
        max_steps: step cap when the skill is executed [env steps].
        success: the success predicate, e.g. ``"info.success"``.
        provenance: how it was made (algo, env, seed, steps, git sha, versions, command).
        metrics: evaluation metrics (success_rate, n_episodes, mean_return, mean_length).
        version: library version number once saved/loaded, else ``None``.
    """

    name: str
    description: str
    env_id: str
    policy: MLPActor | QProposalActor
    observation_space: spaces.Box
    action_space: spaces.Box
    affordance_model: MLPAffordance | TreeAffordance | None = None
    max_steps: int = 500
    success: str = "info.success"
    provenance: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    version: int | None = None
    _executor: ActionChunkExecutor | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_skill_name(self.name)

    def reset(self) -> None:
        """Start a new execution: drop the actions left of an action chunk (:class:`ChunkedMLPActor` policies;
        a no-op otherwise). The executor, evaluation and affordance rollouts call it before every execution."""
        if self._executor is not None:
            self._executor.reset()

    def __call__(self, obs: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Same as :meth:`predict` (a skill is a policy; :meth:`reset` marks episode starts)."""
        return self.predict(obs)

    @torch.no_grad()
    def predict(self, obs: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Deterministic action for ``obs``.

        A single observation of a skill with an action-chunk policy is answered from the current chunk (receding
        horizon, :class:`~skillstack.skills.networks.ActionChunkExecutor`; call :meth:`reset` at the start of
        every execution); a batch is answered statelessly with the first action of each row's chunk.

        Args:
            obs: ``(obs_dim,)`` or ``(B, obs_dim)`` observation (any float dtype).

        Returns:
            ``(act_dim,)`` or ``(B, act_dim)`` float32 action in [-1, 1].

        Raises:
            ValueError: wrong observation size or non-finite values.
        """
        x = np.asarray(obs, dtype=np.float32)
        single = x.ndim == 1
        x2 = x[None] if single else x
        if x2.ndim != 2 or x2.shape[1] != self.policy.arch["obs_dim"]:
            raise ValueError(f"observation must have shape ({self.policy.arch['obs_dim']},) or (B, "
                             f"{self.policy.arch['obs_dim']}), got {x.shape}")
        if not np.isfinite(x2).all():
            raise ValueError("observation contains NaN or inf")
        if single and isinstance(self.policy, ChunkedMLPActor):
            if self._executor is None:
                self._executor = ActionChunkExecutor(self.policy)
            return self._executor(x2[0])
        act = self.policy(torch.from_numpy(x2)).numpy()
        return act[0] if single else act

    @torch.no_grad()
    def affordance(self, obs: npt.ArrayLike) -> float | npt.NDArray[np.float32]:
        """Estimated ``P(success | obs)`` in [0, 1] (SayCan's value function, Ahn et al. 2022).

        Args:
            obs: ``(obs_dim,)`` or ``(B, obs_dim)`` observation.

        Returns:
            A float, or ``(B,)`` float32.

        Raises:
            LookupError: the skill has no affordance model.
        """
        if self.affordance_model is None:
            raise LookupError(f"skill {self.name!r} has no affordance model")
        x = np.asarray(obs, dtype=np.float32)
        p = self.affordance_model(torch.from_numpy(np.atleast_2d(x))).numpy()
        return float(p[0]) if x.ndim == 1 else p


def _check_state_dict_keys(role: str, net: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    expected = set(net.state_dict())
    if set(tensors) != expected:
        raise SkillLoadError(f"{role}.safetensors tensors do not match the {role} architecture: "
                             f"missing {sorted(expected - set(tensors))}, unexpected {sorted(set(tensors) - expected)}")


class SkillLibrary:
    """A directory of versioned skills.

    Args:
        root: library directory (created on first save).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ queries
    def names(self) -> list[str]:
        """Names of skills with at least one complete version, sorted (symlinked skill directories are not
        skills)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if not p.name.startswith(".") and self.versions(p.name))

    def versions(self, name: str) -> list[int]:
        """Complete versions of ``name`` (a version is complete once its manifest exists), ascending.

        Hidden entries (temp directories of interrupted writes) and ``vNNNN`` entries without a manifest are
        not versions; a string that is not a valid skill name (e.g. ``..`` or a path) has none. Only real
        directories count: a symlinked skill or version directory (even one pointing at a valid version
        elsewhere) and a symlinked manifest are never listed, so they never become ``latest``. Version
        directories are named ``v{n:04d}`` exactly (``v00001`` is not version 1).
        """
        if not isinstance(name, str) or SKILL_NAME_RE.fullmatch(name) is None:
            return []
        d = self.root / name
        if not _is_real_dir(d):
            return []
        out = []
        for p in d.iterdir():
            v = _version_of(p)
            if v is not None and _is_real_dir(p) and _is_regular_file(p / MANIFEST):
                out.append(v)
        return sorted(out)

    def _check_inside(self, *dirs: Path) -> None:
        """Check that each of ``dirs`` is a real directory (not a symlink) whose resolved path lies under the
        resolved library root.

        Raises:
            SkillLoadError: naming the offending directory.
        """
        root = self.root.resolve()
        for d in dirs:
            if d.is_symlink():
                raise SkillLoadError(f"{d}: is a symbolic link; skill and version directories must be real "
                                     f"directories inside the library {self.root}")
            resolved = d.resolve()
            if resolved == root or not resolved.is_relative_to(root):
                raise SkillLoadError(f"{d}: resolves to {resolved}, outside the library {self.root}")

    def path(self, name: str, version: int | str = "latest") -> Path:
        """Directory of ``name`` at ``version`` (an int or ``"latest"``), always ``<root>/<name>/v<NNNN>``.

        ``name`` must be a valid skill name (:func:`check_skill_name`): ``..``, a path or a trailing newline
        never resolve to anything.

        Raises:
            UnknownNameError: no such skill or version (lists the valid ones).
            SkillLoadError: the skill or version directory is a symlink or resolves outside the library root.
        """
        valid = isinstance(name, str) and SKILL_NAME_RE.fullmatch(name) is not None
        if valid and (self.root / name).is_symlink():
            self._check_inside(self.root / name)  # raises, naming the link
        versions = self.versions(name)
        if not versions:
            raise UnknownNameError(unknown_name_message("skill", str(name), self.names()) +
                                   f" (library {self.root})")
        if version == "latest":
            v = versions[-1]
        else:
            try:
                v = int(str(version).lstrip("v"))
            except ValueError:
                v = -1
            if v not in versions:
                link = self.root / name / f"v{v:04d}"
                if v >= 0 and link.is_symlink():
                    self._check_inside(link)  # raises, naming the link
                raise UnknownNameError(f"skill {name!r} has no version {version!r}; versions: {versions}")
        d = self.root / name / f"v{v:04d}"
        self._check_inside(self.root / name, d)
        return d

    def manifest(self, name: str, version: int | str = "latest") -> dict[str, Any]:
        """The parsed manifest (no hash check, no network built): cheap, for listings. Its shape is checked
        (:func:`check_skill_manifest`): field types, and ``name``/``version`` matching the directory.

        Raises:
            UnknownNameError: no such skill or version.
            SkillLoadError: the manifest is not valid JSON, not a JSON object, not a regular file, over the
                size/depth caps of :func:`skillstack.envs.fileio.read_json_capped`, malformed, or does not
                match its directory; the skill or version directory is a symlink.
        """
        d = self.path(name, version)
        m = _read_manifest_json(d / MANIFEST)
        check_skill_manifest(m, d)
        return m

    def manifests(self) -> Iterator[tuple[str, dict[str, Any] | str]]:
        """Every skill's latest manifest, for listings that must not stop at one broken skill.

        Yields ``(name, manifest)`` for each skill of :meth:`names` whose latest manifest reads and has the
        right shape (:meth:`manifest`), ``(name, error message)`` for one that does not, and also an error row
        for each symlinked skill directory (never loaded), in name order.

        Yields:
            ``(skill name, manifest dict or one-line error string)``.
        """
        if not self.root.is_dir():
            return
        names = set(self.names())
        links = {p.name for p in self.root.iterdir()
                 if p.is_symlink() and SKILL_NAME_RE.fullmatch(p.name) is not None and p.is_dir()}
        for name in sorted(names | links):
            try:
                yield name, self.manifest(name)
            except (SkillLoadError, UnknownNameError, OSError) as e:
                yield name, str(e)

    # ------------------------------------------------------------------ load
    def load(self, name: str, version: int | str = "latest") -> Skill:
        """Load and verify a skill.

        Raises:
            UnknownNameError: unknown skill/version, or a network kind outside the allow-list.
            SkillLoadError: missing/extra files, sha256 mismatch, malformed manifest or tensors, a manifest whose
                name/version do not match its directory, a symlinked skill/version directory or file.
        """
        d = self.path(name, version)
        return load_skill_dir(d)

    # ------------------------------------------------------------------ save
    def save(self, skill: Skill) -> Path:
        """Write ``skill`` as the next version, atomically.

        The version number is one above every ``vNNNN`` entry of the skill's directory, complete or not, so a
        stray ``v0002`` file or a manifest-less ``v0002`` directory is skipped, never overwritten. When another
        writer publishes the same number first, the next one is tried, at most :data:`_MAX_SAVE_ATTEMPTS`
        times.

        Returns:
            The new version directory.

        Raises:
            FileExistsError: no free version number after :data:`_MAX_SAVE_ATTEMPTS` attempts.
            OSError: the write failed (the hidden temp directory is removed; existing versions are untouched).
        """
        target = publish_version(self.root / skill.name, lambda tmp: _write_skill_files(skill, tmp))
        skill.version = int(target.name[1:])
        return target

    def remove_stale_temps(self) -> int:
        """Delete what interrupted writes left in the skill directories: hidden ``.tmp-*`` directories of
        :meth:`save` and hidden ``.<name>.tmp-*`` / ``.<name>.tmp`` files of manifest rewrites. Only call it
        when no other process is writing to the library.

        Returns:
            How many entries were deleted.
        """
        n = 0
        if self.root.is_dir():
            stale = {*self.root.glob("*/.tmp-*"), *self.root.glob("*/.*.tmp-*"), *self.root.glob("*/.*.tmp")}
            for tmp in sorted(stale):
                if tmp.is_dir() and not tmp.is_symlink():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)
                n += 1
        return n




def _write_json_durable(path: Path, obj: Any, *, temp_dir: Path | None = None) -> None:
    atomic_write_json(path, obj, indent=2, sort_keys=True, temp_dir=temp_dir)


def _write_skill_files(skill: Skill, d: Path) -> dict[str, Any]:
    networks: dict[str, Any] = {}
    files: dict[str, str] = {}
    for role, net in (("policy", skill.policy), ("affordance", skill.affordance_model)):
        if net is None:
            continue
        fname = f"{role}.safetensors"
        state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
        save_file(state, str(d / fname), metadata={"skill": skill.name, "role": role, "kind": net.kind})
        with open(d / fname, "rb+") as f:
            os.fsync(f.fileno())
        networks[role] = {"kind": net.kind, "architecture": net.arch, "file": fname}
        files[fname] = sha256_file(d / fname)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": skill.name,
        "description": skill.description,
        "env_id": skill.env_id,
        "max_steps": skill.max_steps,
        "success": skill.success,
        "observation_space": space_to_json(skill.observation_space),
        "action_space": space_to_json(skill.action_space),
        "networks": networks,
        "provenance": skill.provenance,
        "metrics": skill.metrics,
        "files": files,
    }


def load_skill_dir(d: Path) -> Skill:
    """Load and verify the skill version directory ``d`` = ``<root>/<name>/v<NNNN>`` (see
    :meth:`SkillLibrary.load`): the manifest's ``name`` and ``version`` must match that path.

    Raises:
        UnknownNameError: a network kind outside the allow-list.
        SkillLoadError: ``d`` is a symlink; missing/extra/non-regular files, sha256 mismatch, malformed manifest
            or tensors; the manifest belongs to another skill or version.
    """
    mpath = d / MANIFEST
    if d.is_symlink():
        raise SkillLoadError(f"{d}: is a symbolic link; a skill version directory must be a real directory")
    m = read_verified_manifest(d)
    check_skill_manifest(m, d)
    files = m["files"]
    nets: dict[str, nn.Module] = {}
    networks = m["networks"]
    used = {spec.get("file") for spec in networks.values() if isinstance(spec, dict)}
    if set(files) - used:
        raise SkillLoadError(f"{d}: files not used by any network: {sorted(set(files) - used)} (a skill directory "
                             "holds only its networks' safetensors files and the manifest)")
    for role, spec in networks.items():
        if role not in _ROLES:
            raise SkillLoadError(f"{mpath}: unknown network role {role!r} (valid: {sorted(_ROLES)})")
        if not isinstance(spec, dict) or spec.get("file") not in files:
            raise SkillLoadError(f"{mpath}: network {role!r} must name a listed file")
        try:
            net = build_network(spec.get("kind"), spec.get("architecture"))
        except ArchitectureError as e:
            raise SkillLoadError(f"{mpath}: {role}: {e}") from None
        if not isinstance(net, _ROLES[role]):
            raise SkillLoadError(f"{mpath}: network kind {spec.get('kind')!r} cannot be used as {role}")
        try:
            tensors = load_file(str(d / spec["file"]))
        except (SafetensorError, OSError, ValueError) as e:
            raise SkillLoadError(f"{d / spec['file']}: not a valid safetensors file ({e})") from None
        _check_state_dict_keys(role, net, tensors)
        try:
            net.load_state_dict(tensors, strict=True)
        except RuntimeError as e:
            raise SkillLoadError(f"{d / spec['file']}: {e}") from None
        net.eval()
        nets[role] = net
    try:
        return Skill(
            name=str(m["name"]),
            description=str(m["description"]),
            env_id=str(m["env_id"]),
            policy=nets["policy"],  # type: ignore[arg-type]
            affordance_model=nets.get("affordance"),  # type: ignore[arg-type]
            observation_space=space_from_json(m["observation_space"]),
            action_space=space_from_json(m["action_space"]),
            max_steps=int(m["max_steps"]),
            success=m.get("success") or "info.success",
            provenance=dict(m.get("provenance") or {}),
            metrics=dict(m.get("metrics") or {}),
            version=int(m["version"]) if "version" in m else None,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise SkillLoadError(f"{mpath}: malformed manifest ({type(e).__name__}: {e})") from None


def _is_real_dir(p: Path) -> bool:
    """``p`` is a directory and not a symlink (``os.lstat``)."""
    try:
        return stat.S_ISDIR(os.lstat(p).st_mode)
    except OSError:
        return False


def _is_regular_file(p: Path) -> bool:
    """``p`` is a regular file and not a symlink (``os.lstat``)."""
    try:
        return stat.S_ISREG(os.lstat(p).st_mode)
    except OSError:
        return False


def upgrade_manifests(root: str | os.PathLike[str]) -> list[Path]:
    """Add :data:`MANIFEST_HASH_KEY` to every manifest under ``root`` that lacks it (written by skillstack before
    manifests hashed themselves), after verifying its exact file set and every file's sha256.

    Manifests reached through a symlink (a linked directory or a linked manifest) are skipped, never written
    through.

    Returns:
        The manifests rewritten.

    Raises:
        SkillLoadError: a manifest cannot be read, or a directory fails its file checks (nothing is rewritten for
            it).
    """
    changed = []
    root = Path(root)
    for mpath in sorted(root.glob("**/v[0-9][0-9][0-9][0-9]/" + MANIFEST)):
        rel = mpath.relative_to(root)
        if any(os.path.islink(root.joinpath(*rel.parts[:i + 1])) for i in range(len(rel.parts))):
            continue  # reached through a symlink: not an artifact of this tree, and never written through
        m = _read_manifest_json(mpath)
        if MANIFEST_HASH_KEY in m:
            continue
        _verify_files(mpath.parent, m)
        # the temp file goes outside the version directory, whose exact file set is checked at load
        write_manifest(mpath, m, temp_dir=mpath.parent.parent)
        changed.append(mpath)
    return changed


def default_library_path() -> Path:
    """Where ``skillstack`` commands look for skills when ``--library`` is not given.

    Order: ``$SKILLSTACK_LIBRARY``; the shipped ``assets/skills`` of a source checkout (editable install);
    ``~/.local/share/skillstack/skills``.
    """
    env = os.environ.get("SKILLSTACK_LIBRARY")
    if env:
        return Path(env)
    shipped = Path(__file__).resolve().parent.parent / "assets" / "skills"
    if shipped.is_dir():
        return shipped
    return Path.home() / ".local" / "share" / "skillstack" / "skills"
