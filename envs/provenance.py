"""Provenance of every artifact and result: the git commit and the versions of the packages that determine it.

One helper used by training (skill manifests), benchmarks and planner artifacts, so every JSON result says
where it came from in the same words. It lives in the lowest layer (``skillstack.envs``) so that every layer
above can use it; it imports no heavy package (versions come from ``importlib.metadata``).
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

RESULT_PACKAGES: tuple[str, ...] = ("numpy", "torch", "mujoco", "gymnasium", "stable_baselines3", "metaworld",
                                    "robosuite", "skillstack")
"""Distributions whose versions can change a result (reported by :func:`package_versions`)."""


def git_sha(where: str | Path | None = None) -> str | None:
    """The commit of the skillstack checkout (``git rev-parse HEAD``), or ``None`` outside a git checkout.

    Args:
        where: a directory inside the checkout (default: this package's source folder).
    """
    cwd = Path(where) if where is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions(packages: tuple[str, ...] = RESULT_PACKAGES) -> dict[str, str]:
    """``{"python": "3.11.7", "torch": "2.13.0", ...}``; ``"unknown"`` for a distribution that is not installed."""

    def v(pkg: str) -> str:
        try:
            return version(pkg.replace("_", "-"))
        except PackageNotFoundError:
            try:
                return version(pkg)
            except PackageNotFoundError:
                return "unknown"

    return {"python": platform.python_version(), **{p: v(p) for p in packages}}


def utc_now() -> str:
    """Current time as ISO 8601 UTC, e.g. ``"2026-12-02T05:30:00Z"``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def command_line() -> str:
    """The command that is running, as typed (``skillstack train ...``)."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def provenance(**extra: Any) -> dict[str, Any]:
    """The common provenance block: ``git_sha``, ``versions``, ``created``, ``command``, plus ``extra`` fields."""
    return {"git_sha": git_sha(), "versions": package_versions(), "created": utc_now(), "command": command_line(),
            **extra}
