"""Safe writing and capped reading of user-visible files: one helper module for every writer.

Writers validate their output location with :func:`check_output_path` before any work starts, then write
with :func:`atomic_write_bytes` / :func:`atomic_write_text` / :func:`atomic_write_json`: the data goes to a
hidden temp file (``.<name>.tmp-<random>``) in the target's directory, is flushed and fsynced, replaces the
target with one ``os.replace`` and the directory is fsynced, so a crash leaves either the old file or the
new one, never a torn one.

Targets that are not plain files are treated as the user meant them:

* a symlink stays a symlink; its resolved target is what is written (atomically);
* an existing character/block device or FIFO (``/dev/null``, ``/dev/stdout``, a named pipe) is written into
  directly, never replaced, so the node is untouched and write errors (``ENOSPC`` from ``/dev/full``) surface
  as :class:`OSError` naming the path (opening a FIFO waits for its reader, as a shell redirection does);
* an existing directory is refused with :class:`OutputPathError` before anything is written.

Readers of untrusted JSON (manifests of downloaded artifacts) use :func:`read_json_capped`, which refuses
files that are not regular files (without blocking on a FIFO), larger than a size cap or nested deeper than a
depth cap (so a 100 000-deep document is a clear :class:`JSONReadError`, not a ``RecursionError``).

This module lives in the lowest layer (``skillstack.envs``) and imports only the standard library and NumPy,
so every layer above can use it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_MAX_JSON_BYTES",
    "DEFAULT_MAX_JSON_DEPTH",
    "JSONReadError",
    "OutputPathError",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_path",
    "fsync_dir",
    "read_json_capped",
]

DEFAULT_MAX_JSON_BYTES = 16 * 1024 * 1024
"""Default size cap of :func:`read_json_capped` [bytes] (16 MiB)."""
DEFAULT_MAX_JSON_DEPTH = 64
"""Default nesting-depth cap of :func:`read_json_capped` (arrays + objects)."""

_TEMP_MARK = ".tmp-"
_MAX_TEMP_NAME = 200  # keep ".<name>.tmp-<hex>" under NAME_MAX (255)


class OutputPathError(ValueError):
    """An output location cannot be written (one line naming the path and the reason)."""


class JSONReadError(ValueError):
    """A JSON file was refused or could not be parsed (one line naming the path and the reason)."""


# ---------------------------------------------------------------------------------------------- helpers
def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _resolve(path: Path) -> Path:
    """``path`` itself, or the final target of a symlink (which need not exist).

    Raises:
        OutputPathError: a symlink loop.
    """
    if not path.is_symlink():
        return path
    try:
        return path.resolve(strict=False)
    except (OSError, RuntimeError) as e:  # RuntimeError: symlink loop (Python < 3.13)
        raise OutputPathError(f"{path}: cannot resolve symlink ({e})") from None


def _stat(path: Path) -> os.stat_result | None:
    """``os.stat`` (following symlinks), or ``None`` when nothing is there.

    Raises:
        OutputPathError: the path cannot be examined (e.g. a parent is not searchable).
    """
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise OutputPathError(f"{path}: cannot examine ({e.strerror or e})") from None


def _existing_ancestor(d: Path) -> Path:
    """The nearest existing entry among ``d`` and its parents (``d`` may not exist yet)."""
    d = Path(os.path.abspath(d))
    while not os.path.lexists(d) and d != d.parent:
        d = d.parent
    return d


def _probe_dir(d: Path, path: Path) -> None:
    """Check that files can be created in the existing directory ``d`` by creating and removing one.

    Raises:
        OutputPathError: ``d`` is not a directory or not writable (naming ``path``, the location asked for).
    """
    st = _stat(d)
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise OutputPathError(f"{path}: {d} is not a directory")
    if not os.access(d, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: directory {d} is not writable")
    probe = d / f".skillstack-probe{_TEMP_MARK}{secrets.token_hex(6)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise OutputPathError(f"{path}: cannot create files in {d} ({e.strerror or e})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _wrap_write_error(e: OSError, path: Path) -> OSError:
    """An ``OSError`` of the same errno (hence the same subclass) whose message names ``path``."""
    reason = e.strerror or str(e)
    return OSError(e.errno, f"cannot write {path}: {reason}") if e.errno else OSError(f"cannot write {path}: {reason}")


# ---------------------------------------------------------------------------------------------- validation
def check_output_path(path: str | os.PathLike[str], *, kind: str = "file") -> Path:
    """Validate an output location before any work starts; nothing is created.

    ``kind="file"``: the target is not an existing directory; if it exists and is not a regular file (a device,
    a FIFO) it must be writable; otherwise its directory must exist or be creatable (the nearest existing
    ancestor is a directory) and files must be creatable there (checked by creating and removing a hidden
    probe file). An existing regular file must be writable. ``kind="dir"`` (an output directory, e.g.
    benchmark results or a skill library): the directory exists and is writable, or can be created. A symlink
    is validated through its resolved target.

    Args:
        path: the output file or directory.
        kind: ``"file"`` or ``"dir"``.

    Returns:
        ``path`` as a :class:`~pathlib.Path` (unchanged; the writers resolve symlinks themselves).

    Raises:
        OutputPathError: one line naming the path and why it cannot be written.
        ValueError: ``kind`` is neither ``"file"`` nor ``"dir"``.
    """
    if kind not in ("file", "dir"):
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    p = Path(path)
    if not str(path):
        raise OutputPathError("output path is empty")
    target = _resolve(p)
    st = _stat(target)
    if kind == "dir":
        if st is not None:
            if not stat.S_ISDIR(st.st_mode):
                raise OutputPathError(f"{p}: exists and is {_kind_of(st.st_mode)}, not a directory")
            _probe_dir(target, p)
        else:
            _probe_dir(_existing_ancestor(target), p)
        return p
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputPathError(f"{p}: is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        if not os.access(target, os.W_OK):
            raise OutputPathError(f"{p}: {_kind_of(st.st_mode)} that is not writable")
        return p
    if st is not None and not os.access(target, os.W_OK):
        raise OutputPathError(f"{p}: file is not writable")
    _probe_dir(_existing_ancestor(target.parent), p)
    return p


# ---------------------------------------------------------------------------------------------- writing
def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a directory so that entries created, renamed or removed in it survive a crash.

    Filesystems that cannot fsync a directory (``EINVAL``) are tolerated.

    Raises:
        OSError: the directory cannot be opened or fsynced.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno != errno.EINVAL:
            raise
    finally:
        os.close(fd)


def _write_into(target: Path, data: bytes, shown: Path) -> None:
    """Write ``data`` into an existing non-regular file (device, FIFO) without replacing it."""
    try:
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise _wrap_write_error(e, shown) from e
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError as e:
        raise _wrap_write_error(e, shown) from e
    finally:
        os.close(fd)


def _create_temp(d: Path, name: str) -> tuple[int, Path]:
    """Create ``d/.<name>.tmp-<random>`` exclusively (mode 0666 minus the umask, like a plain ``open``)."""
    for _ in range(100):
        tmp = d / f".{name[:_MAX_TEMP_NAME]}{_TEMP_MARK}{secrets.token_hex(6)}"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"cannot create a temp file in {d}")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, temp_dir: str | os.PathLike[str] | None = None
                       ) -> None:
    """Write ``data`` to ``path`` atomically and durably (see the module docstring for symlinks and devices).

    Missing parent directories are created. An existing file keeps its permission bits.

    Args:
        path: the file to write.
        data: its new content.
        temp_dir: where to create the temp file (default: the target's directory; must be on the same
            filesystem). Used where a stray temp file must not appear beside the target, e.g. inside a
            hashed artifact directory.

    Raises:
        OutputPathError: the target is an existing directory (nothing is written, no temp file left).
        OSError: the write failed (message names the path; the temp file is removed, the target unchanged).
    """
    p = Path(path)
    target = _resolve(p)
    st = _stat(target)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputPathError(f"{p}: is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_into(target, bytes(data), p)
        return
    parent = target.parent
    tdir = Path(temp_dir) if temp_dir is not None else parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(tdir, target.name)
    except OSError as e:
        raise _wrap_write_error(e, p) from e
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if st is not None:
                with contextlib.suppress(OSError):
                    os.chmod(tmp, stat.S_IMODE(st.st_mode))
            os.replace(tmp, target)
        except OSError as e:
            raise _wrap_write_error(e, p) from e
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(parent)
    if tdir.resolve() != parent.resolve():
        fsync_dir(tdir)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8",
                      temp_dir: str | os.PathLike[str] | None = None) -> None:
    """:func:`atomic_write_bytes` of ``text`` encoded with ``encoding``.

    Raises:
        OutputPathError: the target is an existing directory.
        OSError: the write failed.
        UnicodeEncodeError: ``text`` cannot be encoded (nothing is written).
    """
    atomic_write_bytes(path, text.encode(encoding), temp_dir=temp_dir)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2, sort_keys: bool = False,
                      temp_dir: str | os.PathLike[str] | None = None) -> None:
    """:func:`atomic_write_bytes` of ``obj`` as JSON (UTF-8, ending with a newline).

    ``obj`` is serialised before anything is touched, so an unserialisable object leaves no file.

    Raises:
        OutputPathError: the target is an existing directory.
        OSError: the write failed.
        TypeError: ``obj`` is not JSON-serialisable (nothing is written).
        ValueError: ``obj`` contains a circular reference (nothing is written).
    """
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"), temp_dir=temp_dir)


# ---------------------------------------------------------------------------------------------- reading
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_BRACKET_STEP = np.zeros(256, dtype=np.int32)
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1
_IS_BRACKET = _BRACKET_STEP != 0


def _max_depth(data: bytes) -> int:
    """Deepest bracket nesting of the JSON text ``data`` outside strings, in linear time.

    Works on the UTF-8 bytes (no multi-byte character contains an ASCII byte). A quote is escaped when an odd
    number of backslashes precedes it; a bracket is inside a string when an odd number of unescaped quotes
    precedes it. For malformed text the result is only an estimate (the parser then reports the error).
    """
    b = np.frombuffer(data, dtype=np.uint8)
    brackets = np.flatnonzero(_IS_BRACKET[b])
    if brackets.size == 0:
        return 0
    quotes = np.flatnonzero(b == _QUOTE)
    if quotes.size:
        bs = np.flatnonzero(b == _BACKSLASH)
        if bs.size:
            # for every backslash, the index (into bs) where its run of consecutive backslashes starts
            run_start = np.ones(bs.size, dtype=bool)
            run_start[1:] = np.diff(bs) != 1
            start_of = np.maximum.accumulate(np.where(run_start, np.arange(bs.size), 0))
            k = np.minimum(np.searchsorted(bs, quotes - 1), bs.size - 1)
            after_bs = bs[k] == quotes - 1
            run_len = np.where(after_bs, k - start_of[k] + 1, 0)
            quotes = quotes[run_len % 2 == 0]
        outside = np.searchsorted(quotes, brackets) % 2 == 0
        brackets = brackets[outside]
    if brackets.size == 0:
        return 0
    return int(np.cumsum(_BRACKET_STEP[b[brackets]], dtype=np.int32).max())


def read_json_capped(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_JSON_BYTES,
                     max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> Any:
    """Read and parse a JSON file that may come from an untrusted source, within a size and a depth cap.

    Only regular files are read: the file is opened with ``O_NONBLOCK`` and examined with ``fstat`` first, so a
    FIFO or device is refused without blocking. At most ``max_bytes + 1`` bytes are read. The bracket nesting
    outside strings is measured before parsing.

    Args:
        path: the JSON file.
        max_bytes: size cap [bytes].
        max_depth: nesting cap (each array or object is one level).

    Returns:
        The parsed value.

    Raises:
        JSONReadError: not a regular file, larger than ``max_bytes``, nested deeper than ``max_depth``, not
            UTF-8 or not valid JSON (one line naming the path).
        OSError: the file cannot be opened (e.g. ``FileNotFoundError``, ``PermissionError``).
    """
    p = Path(path)
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb", buffering=0) as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise JSONReadError(f"{p}: is {_kind_of(st.st_mode)}, not a regular file; refusing to read it")
        if st.st_size > max_bytes:
            raise JSONReadError(f"{p}: {st.st_size} bytes, more than the {max_bytes}-byte limit for a JSON file")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = f.read(max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    if len(data) > max_bytes:
        raise JSONReadError(f"{p}: more than the {max_bytes}-byte limit for a JSON file (it grew while read)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JSONReadError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    depth = _max_depth(data)
    if depth > max_depth:
        raise JSONReadError(f"{p}: JSON nested {depth} levels deep, more than the limit of {max_depth}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise JSONReadError(f"{p}: not valid JSON ({e})") from None
    except RecursionError:  # unreachable within a sane depth cap; kept so the message stays one line
        raise JSONReadError(f"{p}: JSON nested too deeply to parse") from None
