"""Blocks of independent seeded episodes in worker processes, joined in order (demonstrations, affordance outcomes).

Every episode of these collectors depends only on its own seed, so splitting the index range into blocks and
running them in a :class:`~concurrent.futures.ProcessPoolExecutor` gives the one-process result. Workers start with
``forkserver`` (as SB3's ``SubprocVecEnv``; ``spawn`` where it is missing) and import the scene plugins loaded in
this process (:func:`~skillstack.envs.scenes.load_plugins`) with this process's ``sys.path``; an env registered at run
time in this process by other means is unknown to them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

import numpy as np
from tqdm.auto import tqdm

T = TypeVar("T")


def even_blocks(n: int, n_blocks: int, step: int = 1) -> list[tuple[int, int]]:
    """Split ``0 … n-1`` into at most ``n_blocks`` contiguous, non-empty ``(start, stop)`` blocks whose starts are
    multiples of ``step`` (so an episode's parity, e.g. its start type, is the same inside any block).

    Raises:
        ValueError: ``n``, ``n_blocks`` or ``step`` < 1.
    """
    if n < 1 or n_blocks < 1 or step < 1:
        raise ValueError(f"n, n_blocks and step must be ≥ 1, got {n}, {n_blocks}, {step}")
    units = -(-n // step)  # blocks are cut at multiples of step
    cuts = {min(n, step * int(round(x))) for x in np.linspace(0, units, min(n_blocks, units) + 1)}
    bounds = sorted(cuts | {0, n})
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=False) if b > a]


def _init_worker(paths: list[str], plugins: list[str]) -> None:
    from skillstack.envs.scenes import load_plugins

    sys.path.extend(p for p in paths if p not in sys.path)
    for module in plugins:  # one by one: a plugin that no longer imports must not take the others (or the pool)
        with contextlib.suppress(ImportError):  # down; a block that needs it fails with the unknown env's name
            load_plugins([module])


def map_blocks(job: Callable[[int, int], T], blocks: Sequence[tuple[int, int]], n_workers: int, desc: str,
               progress: bool = True) -> list[T]:
    """``job(start, stop)`` for every block, in ``n_workers`` processes; results in block order.

    A failing block cancels the blocks not yet started and raises at once (nothing is returned, so nothing
    half-collected is saved).

    Raises:
        RuntimeError: a block failed or a worker died (the message names the block; the cause is chained).
    """
    from skillstack.envs.scenes import _loaded_plugins

    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    parts: dict[int, T] = {}
    total = sum(b - a for a, b in blocks)
    with ProcessPoolExecutor(max_workers=max(1, min(n_workers, len(blocks))), mp_context=ctx,
                             initializer=_init_worker, initargs=(list(sys.path), sorted(_loaded_plugins))) as pool, \
            tqdm(total=total, desc=f"{desc} ({n_workers} workers)", unit="ep", disable=not progress) as bar:
        futures = {pool.submit(job, a, b): (a, b) for a, b in blocks}
        try:
            for fut in as_completed(futures):
                a, b = futures[fut]
                try:
                    parts[a] = fut.result()
                except Exception as e:
                    raise RuntimeError(f"{desc}: episodes {a}–{b - 1} failed in a worker process: {e}") from e
                bar.update(b - a)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [parts[a] for a, _ in blocks]


def concatenate(parts: Sequence[Any]) -> Any:
    """One dataclass of arrays from the per-block ones (every field concatenated along axis 0, in order)."""
    return type(parts[0])(**{f.name: np.concatenate([getattr(x, f.name) for x in parts])
                             for f in dataclasses.fields(parts[0])})
