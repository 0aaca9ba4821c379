"""Helpers for the artifact-safety tests: a pickle payload with a canary, and re-hashing a tampered directory
(an attacker who can write the files can also rewrite the manifest's hashes)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from skillstack.skills.library import MANIFEST_HASH_KEY, manifest_digest, sha256_file


class Payload:
    """Unpickling this runs ``touch <canary>``: if the canary file ever exists, a pickle was loaded."""

    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.canary}",))


def rehash(d: Path, edit=None) -> None:  # noqa: ANN001
    """Re-hash every listed file of the artifact directory ``d`` and the manifest itself, after ``edit(manifest)``."""
    path = d / "manifest.json"
    m = json.loads(path.read_text())
    if edit is not None:
        edit(m)
    m["files"] = {f: sha256_file(d / f) for f in m["files"]}
    m[MANIFEST_HASH_KEY] = manifest_digest(m)
    path.write_text(json.dumps(m))
