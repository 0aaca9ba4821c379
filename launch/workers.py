"""Fan benchmark work out to worker processes, keyed, with retries: no lost and no duplicated results.

A *work unit* is ``(key, fn, kwargs)``: ``fn`` is a top-level (picklable) function, ``key`` a hashable tuple
such as ``(skill, seed, chunk)``. :func:`run_units` returns ``{key: fn(**kwargs)}`` for every unit, exactly
once each, whatever the order of completion. When a worker process dies (killed, out of memory), the pool is
rebuilt and only the units without a result are submitted again, at most ``max_retries`` times.

Backends: ``local`` — a ``concurrent.futures.ProcessPoolExecutor`` over the machine's cores (``forkserver``
start method: workers do not inherit the parent's threads or OpenGL context); ``ray`` — one Ray task per unit
(``address`` of an existing cluster, else a local Ray instance started for the call and shut down after it);
a task whose worker process dies is re-run by Ray itself (``max_retries``; application exceptions are not
retried); ``inline`` — the calling process, for debugging and tiny runs.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import sys
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from skillstack.envs.registry import Registry

BACKENDS: Registry[str] = Registry("backend")
for _b in ("local", "ray", "inline"):
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
              max_tasks_per_worker: int | None = None, address: str | None = None) -> dict[Hashable, Any]:
    """Run every unit once and return ``{key: result}``.

    Args:
        units: the work; keys must be unique.
        backend: ``"local"`` (process pool), ``"ray"`` or ``"inline"``.
        workers: pool size (default: usable cores); for a local Ray instance its ``num_cpus``.
        max_retries: re-runs of the units whose worker died (local: pool rebuilds; ray: the task's
            ``max_retries``).
        on_result: called in the parent as each result arrives (progress bars, partial files).
        max_tasks_per_worker: recycle a worker after this many units (bounds memory growth of leaky code;
            local backend only).
        address: Ray cluster address (``"auto"``, ``"ray://host:10001"``); ``None`` starts a local instance.

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
    if backend == "ray":
        _run_ray(units, done, workers, max_retries, address)
        return results
    if address is not None:
        raise ValueError("--address is a Ray cluster address: use it with --backend ray")
    n = workers or default_workers()
    last_error: BaseException | None = None
    for _ in range(max_retries + 1):
        todo = [u for u in units if u.key not in results]
        if not todo:
            break
        kw: dict[str, Any] = {"max_workers": min(n, len(todo)), "mp_context": mp.get_context("forkserver"),
                              "initializer": _exit_with, "initargs": (os.getpid(),)}
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


def _exit_with(pid: int, period_s: float = 1.0) -> None:
    """Pool initializer: end this worker once process ``pid`` (the caller of :func:`run_units`) is gone.

    A killed caller would otherwise leave its workers running their units to the end (their parent is the
    forkserver, so ``PR_SET_PDEATHSIG`` does not help). A daemon thread polls ``os.kill(pid, 0)``.
    """
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(period_s)
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):  # gone (or its pid reused by another user)
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-caller").start()


def _call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    return fn(**kwargs)


def _run_ray(units: Sequence[WorkUnit], done: Callable[[Hashable, Any], None], workers: int | None,
             max_retries: int, address: str | None) -> None:
    """Ray backend of :func:`run_units`: one task per unit, ``ray.wait`` as they finish."""
    try:
        import ray
        from ray.exceptions import RayTaskError, WorkerCrashedError
    except ImportError as e:  # pragma: no cover - ray is a dependency
        raise RuntimeError("--backend ray needs the 'ray' package (pip install 'ray==2.58.0')") from e
    started = not ray.is_initialized()
    if started:
        # Workers import the units' functions by module name: give them the driver's import path.
        env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        kw: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False,
                              "runtime_env": {"env_vars": env}}
        if address is None:
            kw["num_cpus"] = workers or default_workers()
        ray.init(**kw)
    try:
        task = ray.remote(_call).options(num_cpus=1, max_retries=max_retries, retry_exceptions=False)
        refs = {task.remote(u.fn, u.kwargs): u.key for u in units}
        pending = list(refs)
        failed: list[tuple[Hashable, BaseException]] = []
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                try:
                    value = ray.get(ref)
                except WorkerCrashedError as e:  # the worker died on every attempt
                    failed.append((refs[ref], e))
                    continue
                except RayTaskError as e:  # a bug in the unit: raise the original exception type
                    raise e.as_instanceof_cause() from None
                done(refs[ref], value)
        if failed:
            raise WorkerFailure(f"{len(failed)} work unit(s) failed after {max_retries} retries "
                                f"(e.g. {[k for k, _ in failed[:3]]}): {failed[-1][1]}")
    finally:
        if started:
            ray.shutdown()
