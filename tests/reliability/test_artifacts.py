"""Untrusted artifacts cannot run code, and every byte of an artifact is integrity-checked (issue 6, items 1–2).

Every payload below unpickles to ``os.system("touch <canary>")``; each test asserts the load is refused with a
clear error *and* that the canary file was never created. The attacker is assumed to control the whole
directory, manifest hashes included (``rehash``): the hash check alone is not the defence.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces

from skillstack.envs import UnknownNameError
from skillstack.skills.library import Skill, SkillLibrary, SkillLoadError
from skillstack.skills.networks import MLPActor, MLPAffordance
from skillstack.skills.train import TrainConfig, train
from tests.artifact_tools import Payload, rehash

OBS = spaces.Box(-np.inf, np.inf, shape=(39,), dtype=np.float64)
ACT = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)


def _skill() -> Skill:
    torch.manual_seed(0)
    return Skill("open_drawer", "open the drawer", "metaworld/drawer-open-v3", MLPActor(39, 4, [16]), OBS, ACT,
                 MLPAffordance(39, [8]), provenance={"algo": "bc"}, metrics={"success_rate": 1.0})


def _sb3_zip_with_payload(canary: Path) -> bytes:
    """An SB3-format archive whose every part carries the payload: the cloudpickle-serialised ``data`` entry
    (SB3's ``:serialized:`` field) and the torch-pickled ``policy.pth`` / ``pytorch_variables.pth``."""
    blob = base64.b64encode(pickle.dumps(Payload(canary))).decode()
    data = {"policy_class": {":type:": "<class 'abc.ABCMeta'>", ":serialized:": blob},
            "observation_space": {":type:": "<class 'gymnasium.spaces.box.Box'>", ":serialized:": blob}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data", json.dumps(data))
        for name in ("policy.pth", "pytorch_variables.pth", "policy.optimizer.pth"):
            pth = io.BytesIO()
            torch.save({"weight": Payload(canary)}, pth)
            z.writestr(name, pth.getvalue())
        z.writestr("_stable_baselines3_version", "2.9.2")
    return buf.getvalue()


def _write_payload(kind: str, d: Path, canary: Path) -> None:
    """Plant the payload ``kind`` in skill directory ``d`` and re-hash everything."""
    if kind == "safetensors-named pickle":
        (d / "policy.safetensors").write_bytes(pickle.dumps(Payload(canary)))
    elif kind == "torch .pth":
        torch.save({"x": Payload(canary)}, d / "policy.pth")
    elif kind == "sb3 zip":
        (d / "model.zip").write_bytes(_sb3_zip_with_payload(canary))
    elif kind == "sb3 zip as policy.safetensors":
        (d / "policy.safetensors").write_bytes(_sb3_zip_with_payload(canary))
    elif kind == "pickle protocol 0 as affordance":
        (d / "affordance.safetensors").write_bytes(pickle.dumps(Payload(canary), protocol=0))
    extra = {"torch .pth": "policy.pth", "sb3 zip": "model.zip"}.get(kind)

    def edit(m: dict) -> None:
        if extra:  # the attacker lists the planted file, so the directory matches its manifest
            m["files"][extra] = ""

    rehash(d, edit)


PAYLOAD_KINDS = ["safetensors-named pickle", "torch .pth", "sb3 zip", "sb3 zip as policy.safetensors",
                 "pickle protocol 0 as affordance"]


@pytest.mark.parametrize("kind", PAYLOAD_KINDS)
def test_payload_in_skill_directory_is_refused_and_never_runs(tmp_path, kind):
    canary = tmp_path / "canary"
    lib = SkillLibrary(tmp_path / "lib")
    d = lib.save(_skill())
    _write_payload(kind, d, canary)
    with pytest.raises(SkillLoadError, match="not a valid safetensors|not used by any network"):
        lib.load("open_drawer")
    assert not canary.exists()


def test_payload_in_json_field_is_inert_data(tmp_path):
    canary = tmp_path / "canary"
    lib = SkillLibrary(tmp_path / "lib")
    d = lib.save(_skill())
    blob = pickle.dumps(Payload(canary))
    rehash(d, lambda m: m["provenance"].update(hex=blob.hex(), latin1=blob.decode("latin1")))
    s = lib.load("open_drawer")
    assert s.provenance["hex"] == blob.hex()
    assert not canary.exists()


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "subprocess.Popen", "torch.load", "", None,
                                  ["mlp_actor"], {"kind": "mlp_actor"}])
def test_network_kind_outside_the_allow_list_is_refused(tmp_path, kind):
    lib = SkillLibrary(tmp_path)
    d = lib.save(_skill())
    rehash(d, lambda m: m["networks"]["policy"].update(kind=kind))
    with pytest.raises((UnknownNameError, SkillLoadError), match="network kind|kind"):
        lib.load("open_drawer")


def _sac_run(tmp_path: Path) -> tuple[TrainConfig, Path]:
    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="sac", steps=64, seed=0, eval_every=10_000,
                      checkpoint_every=32, final_eval_episodes=1, max_episode_steps=30, hidden_sizes=(16, 16),
                      batch_size=16, run_dir=str(tmp_path / "run"))
    train(cfg, progress=False)
    ptr = tmp_path / "run" / "checkpoints" / "latest"
    return cfg, tmp_path / "run" / "checkpoints" / ptr.read_text().strip()


def test_resume_from_a_checkpoint_zip_with_payloads_is_refused(tmp_path):
    canary = tmp_path / "canary"
    cfg, ckpt = _sac_run(tmp_path)
    (ckpt / "model.zip").write_bytes(_sb3_zip_with_payload(canary))
    with pytest.raises(ValueError, match="model.zip"):
        train(dataclasses.replace(cfg, steps=96), resume=True, progress=False)
    assert not canary.exists()


def test_resume_from_a_replay_buffer_with_pickled_objects_is_refused(tmp_path):
    canary = tmp_path / "canary"
    cfg, ckpt = _sac_run(tmp_path)
    obj = np.empty(1, dtype=object)
    obj[0] = Payload(canary)
    np.savez(ckpt / "replay_buffer.npz", observations=obj, pos=np.int64(0), full=np.bool_(False))
    with pytest.raises(ValueError, match="replay_buffer.npz"):
        train(dataclasses.replace(cfg, steps=96), resume=True, progress=False)
    assert not canary.exists()


# ------------------------------------------------------------------------------------------------ integrity
def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("fname", ["policy.safetensors", "affordance.safetensors", "manifest.json"])
@pytest.mark.parametrize("where", [0, 7, 0.5, -2])
def test_one_flipped_byte_anywhere_fails_naming_the_file(tmp_path, fname, where):
    lib = SkillLibrary(tmp_path)
    d = lib.save(_skill())
    size = (d / fname).stat().st_size
    _flip(d / fname, int(where * size) if isinstance(where, float) else where)
    with pytest.raises(SkillLoadError) as e:
        lib.load("open_drawer")
    msg = str(e.value)
    assert fname in msg
    # a flipped manifest byte may break the JSON itself; otherwise the hash check names the mismatch
    assert "sha256 mismatch" in msg or (fname == "manifest.json" and "cannot read manifest" in msg), msg


def test_every_byte_of_a_small_manifest_is_covered(tmp_path):
    """Exhaustive: flipping any single byte of a manifest is detected (not just sampled offsets)."""
    lib = SkillLibrary(tmp_path)
    d = lib.save(_skill())
    path = d / "manifest.json"
    original = path.read_bytes()
    undetected = []
    for i in range(len(original)):
        data = bytearray(original)
        data[i] ^= 0x01
        path.write_bytes(bytes(data))
        try:
            lib.load("open_drawer")
            undetected.append(i)
        except (SkillLoadError, UnknownNameError):
            pass
    path.write_bytes(original)
    lib.load("open_drawer")
    assert not undetected, [original[i - 10:i + 10] for i in undetected[:5]]


def test_missing_tensor_fails_strictly(tmp_path):
    from safetensors.torch import load_file, save_file

    lib = SkillLibrary(tmp_path)
    d = lib.save(_skill())
    for fname in ("policy.safetensors", "affordance.safetensors"):
        t = load_file(str(d / fname))
        dropped = sorted(t)[-1]
        t.pop(dropped)
        save_file(t, str(d / fname))
        rehash(d)
        with pytest.raises(SkillLoadError, match=f"missing \\['{dropped}'\\]"):
            lib.load("open_drawer")
        d = lib.save(_skill())


def test_learned_planner_artifact_flipped_byte_and_payload(tmp_path):
    from skillstack.envs import get_scene
    from skillstack.planners.learned import LearnedPlanner, PlannerConfig, PlannerMLP, load_planner, save_planner

    torch.manual_seed(0)
    net = PlannerMLP(4, 3, [8])
    planner = LearnedPlanner(net, ["a", "b", "done"], np.zeros(2, np.float32), np.ones(2, np.float32),
                             obs_indices=[0, 1])
    root = tmp_path / "planner"
    d = save_planner(planner, root, PlannerConfig(), {"val_accuracy": 1.0}, get_scene("tabletop"))
    load_planner(root)
    for fname in ("model.safetensors", "manifest.json"):
        original = (d / fname).read_bytes()
        _flip(d / fname, len(original) // 2)
        with pytest.raises(SkillLoadError, match=fname):
            load_planner(root)
        (d / fname).write_bytes(original)
    canary = tmp_path / "canary"
    (d / "model.safetensors").write_bytes(pickle.dumps(Payload(canary)))
    rehash(d)
    with pytest.raises(SkillLoadError, match="not a valid safetensors"):
        load_planner(root)
    assert not canary.exists()
