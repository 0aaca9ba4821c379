"""Fan benchmark work out to worker processes, keyed, with retries: no lost and no duplicated results.

A *work unit* is ``(key, fn, kwargs)``: ``fn`` is a top-level (picklable) function, ``key`` a hashable tuple
such as ``(skill, seed, chunk)``. :func:`run_units` returns ``{key: fn(**kwargs)}`` for every unit, exactly
once each, whatever the order of completion. When a worker process dies (killed, out of memory), the pool is
rebuilt and only the units without a result are submitted again, at most ``max_retries`` times.

Backends: ``local`` — a ``concurrent.futures.ProcessPoolExecutor`` over the machine's cores (``forkserver``
start method: workers do not inherit the parent's threads or OpenGL context); ``inline`` — the calling
process, for debugging and tiny runs.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from skillstack.envs.registry import Registry

BACKENDS: Registry[str] = Registry("backend")
for _b in ("local", "inline"):
    BACKENDS.register(_b, _b)


@dataclass(frozen=True)
class WorkUnit:
    """One independent piece of work: ``fn(**kwargs)`` in a worker, its result stored under ``key``."""

    key: Hashable
    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)


class WorkerFailure(RuntimeError):
    """Units still without a result after every retry (the message lists their keys and the last error)."""


def peak_rss_mb() -> float:
    """Peak resident set size of the calling process so far [MiB] (``getrusage``; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def default_workers() -> int:
    """Usable cores (``os.sched_getaffinity``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def run_units(units: Sequence[WorkUnit], backend: str = "local", workers: int | None = None,
              max_retries: int = 2, on_result: Callable[[Hashable, Any], None] | None = None,
              max_tasks_per_worker: int | None = None) -> dict[Hashable, Any]:
    """Run every unit once and return ``{key: result}``.

    Args:
        units: the work; keys must be unique.
        backend: ``"local"`` (process pool) or ``"inline"``.
        workers: pool size (default: usable cores).
        max_retries: pool rebuilds after a worker died.
        on_result: called in the parent as each result arrives (progress bars, partial files).
        max_tasks_per_worker: recycle a worker after this many units (bounds memory growth of leaky code).

    Raises:
        ValueError: duplicate keys.
        UnknownNameError: unknown backend.
        WorkerFailure: units still failing after ``max_retries`` rebuilds.
        Exception: an exception raised by ``fn`` itself is re-raised as is (a bug is not retried).
    """
    BACKENDS.get(backend)
    keys = [u.key for u in units]
    if len(set(keys)) != len(keys):
        raise ValueError("work unit keys must be unique")
    results: dict[Hashable, Any] = {}

    def done(key: Hashable, value: Any) -> None:
        if key in results:  # cannot happen with one submission per key; guards the no-duplicates promise
            raise RuntimeError(f"duplicate result for {key!r}")
        results[key] = value
        if on_result is not None:
            on_result(key, value)

    if backend == "inline":
        for u in units:
            done(u.key, u.fn(**u.kwargs))
        return results
    n = workers or default_workers()
    last_error: BaseException | None = None
    for _ in range(max_retries + 1):
        todo = [u for u in units if u.key not in results]
        if not todo:
            break
        kw: dict[str, Any] = {"max_workers": min(n, len(todo)), "mp_context": mp.get_context("forkserver")}
        if max_tasks_per_worker:
            kw["max_tasks_per_child"] = max_tasks_per_worker
        with ProcessPoolExecutor(**kw) as pool:
            futures = {pool.submit(u.fn, **u.kwargs): u.key for u in todo}
            pending = set(futures)
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        err = f.exception()
                        if isinstance(err, BrokenProcessPool):
                            last_error = err
                            continue
                        if err is not None:
                            raise err
                        done(futures[f], f.result())
            except BrokenProcessPool as e:  # noqa: PERF203
                last_error = e
    missing = [u.key for u in units if u.key not in results]
    if missing:
        raise WorkerFailure(f"{len(missing)} work unit(s) failed after {max_retries} retries "
                            f"(e.g. {missing[:3]}): {last_error}")
    return results
