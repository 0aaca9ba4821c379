from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces

from skillstack.envs import UnknownNameError
from skillstack.skills.library import Skill, SkillLibrary, SkillLoadError
from skillstack.skills.networks import MLPActor, MLPAffordance
from tests.artifact_tools import Payload, rehash

OBS = spaces.Box(-np.inf, np.inf, shape=(39,), dtype=np.float64)
ACT = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)


def make_skill(name="open_drawer", hidden=(32, 32), seed=0, affordance=True) -> Skill:
    torch.manual_seed(seed)
    pol = MLPActor(39, 4, list(hidden), "relu", "tanh")
    pol.set_normalization(np.arange(39) * 0.1, np.linspace(0.5, 2, 39))
    aff = MLPAffordance(39, [16], "tanh") if affordance else None
    return Skill(name=name, description="open the drawer", env_id="metaworld/drawer-open-v3", policy=pol,
                 observation_space=OBS, action_space=ACT, affordance_model=aff,
                 provenance={"algo": "bc"}, metrics={"success_rate": 1.0})


FIXED_OBS = np.random.default_rng(0).normal(size=(16, 39))


@pytest.mark.parametrize("hidden,squash,activation", [((32, 32), "tanh", "relu"), ((64,), "clip", "tanh"),
                                                      ((8, 8, 8), "tanh", "elu")])
def test_round_trip_bit_identical(tmp_path, hidden, squash, activation):
    torch.manual_seed(1)
    pol = MLPActor(39, 4, list(hidden), activation, squash)
    skill = Skill("s", "d", "metaworld/drawer-open-v3", pol, OBS, ACT, MLPAffordance(39, [16]))
    lib = SkillLibrary(tmp_path)
    lib.save(skill)
    loaded = lib.load("s")
    np.testing.assert_array_equal(skill.predict(FIXED_OBS), loaded.predict(FIXED_OBS))
    np.testing.assert_array_equal(skill.affordance(FIXED_OBS), loaded.affordance(FIXED_OBS))
    assert loaded.predict(FIXED_OBS[0]).shape == (4,) and loaded.predict(FIXED_OBS[0]).dtype == np.float32
    assert loaded.observation_space == OBS and loaded.action_space == ACT
    assert loaded.version == 1 and loaded.provenance == skill.provenance


def test_versions_and_latest(tmp_path):
    lib = SkillLibrary(tmp_path)
    lib.save(make_skill(seed=0))
    lib.save(make_skill(seed=1))
    assert lib.versions("open_drawer") == [1, 2]
    v1, latest = lib.load("open_drawer", 1), lib.load("open_drawer")
    assert latest.version == 2
    assert not np.array_equal(v1.predict(FIXED_OBS), latest.predict(FIXED_OBS))
    with pytest.raises(UnknownNameError, match="versions"):
        lib.load("open_drawer", 7)


def test_unknown_skill_suggests(tmp_path):
    lib = SkillLibrary(tmp_path)
    lib.save(make_skill())
    with pytest.raises(UnknownNameError, match="did you mean 'open_drawer'"):
        lib.load("open_drawr")


@pytest.mark.parametrize("fname", ["policy.safetensors", "affordance.safetensors"])
def test_flipped_byte_is_refused_naming_file(tmp_path, fname):
    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    p = d / fname
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    with pytest.raises(SkillLoadError, match=f"{fname}: sha256 mismatch"):
        lib.load("open_drawer")


_Payload = Payload


def _rehash(d: Path) -> None:
    rehash(d)


def test_pickle_payload_in_safetensors_named_file_never_runs(tmp_path):
    canary = tmp_path / "canary"
    lib = SkillLibrary(tmp_path / "lib")
    d = lib.save(make_skill())
    (d / "policy.safetensors").write_bytes(pickle.dumps(_Payload(canary)))
    _rehash(d)  # an attacker controls the manifest too: the hash check alone must not be the defence
    with pytest.raises(SkillLoadError, match="not a valid safetensors"):
        lib.load("open_drawer")
    assert not canary.exists()


def test_extra_pickle_file_is_refused(tmp_path):
    canary = tmp_path / "canary"
    lib = SkillLibrary(tmp_path / "lib")
    d = lib.save(make_skill())
    torch.save({"x": _Payload(canary)}, d / "policy.pth")
    with pytest.raises(SkillLoadError, match="unexpected \\['policy.pth'\\]"):
        lib.load("open_drawer")
    assert not canary.exists()


def test_pickle_in_json_field_is_just_data(tmp_path):
    canary = tmp_path / "canary"
    lib = SkillLibrary(tmp_path / "lib")
    d = lib.save(make_skill())
    rehash(d, lambda m: m["provenance"].update(blob=pickle.dumps(_Payload(canary)).hex()))
    lib.load("open_drawer")
    assert not canary.exists()


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "torch.nn.Module", 42])
def test_kind_outside_allow_list_is_refused(tmp_path, kind):
    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    rehash(d, lambda m: m["networks"]["policy"].update(kind=kind))
    with pytest.raises(UnknownNameError, match="network kind"):
        lib.load("open_drawer")


def test_bad_architecture_is_refused(tmp_path):
    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    rehash(d, lambda m: m["networks"]["policy"]["architecture"].update(activation="__import__('os')"))
    with pytest.raises(SkillLoadError, match="activation"):
        lib.load("open_drawer")


def test_missing_tensor_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    t = load_file(str(d / "policy.safetensors"))
    t.pop("net.2.bias")
    save_file(t, str(d / "policy.safetensors"))
    _rehash(d)
    with pytest.raises(SkillLoadError, match="missing \\['net.2.bias'\\]"):
        lib.load("open_drawer")


def test_crash_mid_write_leaves_previous_version_loadable(tmp_path, monkeypatch):
    lib = SkillLibrary(tmp_path)
    lib.save(make_skill(seed=0))
    before = lib.load("open_drawer").predict(FIXED_OBS)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "rename", boom)
    with pytest.raises(OSError):
        lib.save(make_skill(seed=1))
    monkeypatch.undo()
    assert lib.versions("open_drawer") == [1]
    np.testing.assert_array_equal(lib.load("open_drawer").predict(FIXED_OBS), before)
    assert not list((tmp_path / "open_drawer").glob(".tmp-*"))


def test_stale_temp_dir_is_never_listed(tmp_path):
    lib = SkillLibrary(tmp_path)
    lib.save(make_skill())
    stale = tmp_path / "open_drawer" / ".tmp-dead-xyz"
    stale.mkdir()
    (stale / "manifest.json").write_text("{}")
    assert lib.versions("open_drawer") == [1]
    assert lib.names() == ["open_drawer"]
    assert lib.remove_stale_temps() == 1


def test_predict_rejects_bad_observations():
    s = make_skill()
    with pytest.raises(ValueError, match="shape"):
        s.predict(np.zeros(10))
    with pytest.raises(ValueError, match="NaN"):
        s.predict(np.full(39, np.nan))


def test_skill_without_affordance(tmp_path):
    lib = SkillLibrary(tmp_path)
    lib.save(make_skill(affordance=False))
    s = lib.load("open_drawer")
    with pytest.raises(LookupError):
        s.affordance(FIXED_OBS[0])
