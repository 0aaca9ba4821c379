"""What every benchmark shares: where and how results are written (JSON + Markdown, with provenance)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skillstack.envs.fileio import atomic_write_json, atomic_write_text
from skillstack.envs.provenance import git_sha, package_versions, utc_now


def write_result(out: Path, name: str, payload: dict[str, Any], md: str) -> None:
    """Write ``out/<name>.json`` (``payload`` + versions, git sha, creation time) and ``out/<name>.md``, each
    atomically (:mod:`skillstack.envs.fileio`)."""
    out.mkdir(parents=True, exist_ok=True)
    payload = {**payload, "versions": package_versions(), "git_sha": git_sha(), "created": utc_now()}
    atomic_write_json(out / f"{name}.json", payload)
    atomic_write_text(out / f"{name}.md", md)
