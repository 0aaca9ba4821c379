"""The fine-tuned LM planner: LoRA adapters of the shipped SmolLM2 saved as safetensors in the hashed artifact
format, loaded back exactly, and refused when tampered with."""

from __future__ import annotations

import pytest
import torch

from skillstack.envs import get_scene
from skillstack.planners.finetune import LMPlannerConfig, corpus, load_lm_planner, train_lm_planner
from skillstack.skills.library import SkillLoadError
from tests.artifact_tools import rehash

pytest.importorskip("peft")
TABLETOP = get_scene("tabletop")


def test_corpus_is_saycan_format_and_leaves_out_every_suite_instruction():
    from skillstack.planners.suite import suite_instructions

    pairs = corpus(TABLETOP)
    assert len(pairs) > 1000
    prompt, completion = pairs[0]
    assert prompt.startswith("Human: ") and prompt.endswith("\nRobot:") and completion.endswith("done.")
    banned = {" ".join(t.lower().split()) for t in suite_instructions(TABLETOP)}
    assert not banned & {" ".join(p.removeprefix("Human: ").split("\n")[0].lower().split()) for p, _ in pairs}


@pytest.fixture(scope="module")
def tiny_adapter(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm_planner")
    cfg = LMPlannerConfig(steps=2, batch_size=2, max_examples=8, rank=2, alpha=4)
    model, tok, metrics = train_lm_planner(cfg, TABLETOP, out=root, progress=False)
    return root, model, tok, metrics


def test_adapter_round_trip_is_exact(tiny_adapter):
    root, model, tok, metrics = tiny_adapter
    assert metrics["examples"] == 8 and metrics["wall_clock_s"] > 0
    loaded, tok2, manifest = load_lm_planner(root)
    assert manifest["kind"] == "lora_adapter" and manifest["scene"] == "tabletop"
    ids = torch.as_tensor([tok("Human: open the drawer\nRobot: 1. open the drawer", add_special_tokens=False)
                           ["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model(ids).logits, rtol=1e-5, atol=1e-5)


def test_tampered_adapters_are_refused(tiny_adapter):
    root = tiny_adapter[0]
    v = sorted(root.glob("v*"))[-1]
    rehash(v, lambda m: m["lora"].update(target_modules=["q_proj", "os.system"]))
    with pytest.raises(SkillLoadError, match="target modules"):
        load_lm_planner(root)
    rehash(v, lambda m: m["lora"].update(target_modules=["q_proj", "v_proj"], rank=4))
    with pytest.raises(SkillLoadError, match="do not match the LoRA configuration"):
        load_lm_planner(root)
    rehash(v, lambda m: m["lora"].update(rank=2))
    raw = bytearray((v / "adapter.safetensors").read_bytes())
    raw[-5] ^= 0xFF
    (v / "adapter.safetensors").write_bytes(bytes(raw))
    with pytest.raises(SkillLoadError, match="sha256 mismatch"):
        load_lm_planner(root)
    assert not list(root.glob(".tmp-*"))
