"""Top-level functions for worker-process tests (must be importable by ``forkserver`` workers)."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def square_or_die(x: int, die_marker: str | None = None) -> dict:
    """``x²``; if ``die_marker`` names a file that does not exist yet, create it and SIGKILL this worker."""
    if die_marker is not None and not Path(die_marker).exists():
        Path(die_marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return {"value": x * x, "pid": os.getpid()}


def always_die(x: int) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def raise_value_error(x: int) -> None:
    raise ValueError(f"bug in unit {x}")


def sleep_and_report(seconds: float, pid_file: str) -> int:
    """Write this worker's pid to ``pid_file``, then sleep ``seconds``."""
    import time

    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()
