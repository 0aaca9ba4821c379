from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces

from skillstack.envs import UnknownNameError
from skillstack.skills.library import Skill, SkillLibrary, SkillLoadError, load_skill_dir
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


# ------------------------------------------------------------------ incomplete version slots, killed saves
@pytest.mark.timeout(30)
def test_save_skips_a_version_directory_without_manifest(tmp_path):
    lib = SkillLibrary(tmp_path)
    lib.save(make_skill(seed=0))
    junk = tmp_path / "open_drawer" / "v0002"
    junk.mkdir()
    (junk / "notes.txt").write_text("half-copied by hand")
    assert lib.versions("open_drawer") == [1]
    d = lib.save(make_skill(seed=1))  # used to spin at 100 % CPU: versions() ignored v0002, rename kept failing
    assert d.name == "v0003" and lib.versions("open_drawer") == [1, 3]
    assert lib.load("open_drawer").version == 3
    assert (junk / "notes.txt").read_text() == "half-copied by hand"  # never overwritten


@pytest.mark.timeout(30)
def test_save_skips_a_plain_file_named_like_a_version(tmp_path):
    lib = SkillLibrary(tmp_path)
    lib.save(make_skill(seed=0))
    (tmp_path / "open_drawer" / "v0002").write_text("not a version")
    (tmp_path / "open_drawer" / "v0005").symlink_to(tmp_path / "nowhere")  # a dangling link occupies v0005
    d = lib.save(make_skill(seed=1))
    assert d.name == "v0006" and lib.versions("open_drawer") == [1, 6]
    assert (tmp_path / "open_drawer" / "v0002").read_text() == "not a version"


@pytest.mark.timeout(30)
def test_save_gives_up_after_a_bounded_number_of_lost_races(tmp_path, monkeypatch):
    import skillstack.skills.library as library

    lib = SkillLibrary(tmp_path)
    lib.save(make_skill(seed=0))
    calls = []

    def always_taken(src, dst):  # another writer always publishes the number first
        calls.append(dst)
        Path(dst).mkdir(exist_ok=True)
        (Path(dst) / "x").write_text("other writer")
        raise OSError(39, "Directory not empty")

    monkeypatch.setattr(library, "_MAX_SAVE_ATTEMPTS", 5)
    monkeypatch.setattr(os, "rename", always_taken)
    with pytest.raises(FileExistsError, match="no free version number after 5 attempts"):
        lib.save(make_skill(seed=1))
    monkeypatch.undo()
    assert len(calls) == 5
    assert not list((tmp_path / "open_drawer").glob(".tmp-*"))
    assert lib.versions("open_drawer") == [1]


def test_leftovers_of_killed_writes_are_ignored_and_removed(tmp_path):
    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    skill_dir = tmp_path / "open_drawer"
    killed_save = skill_dir / ".tmp-0123abcd-xyz"  # a save killed after writing its manifest
    killed_save.mkdir()
    (killed_save / "manifest.json").write_text('{"version": 2}')
    (killed_save / ".manifest.json.tmp-abc").write_text("{")
    (skill_dir / ".manifest.json.tmp-0a1b2c").write_text("{")  # an upgrade killed mid-write
    (skill_dir / ".v0001-manifest.json.tmp").write_text("{")  # the same, by an older skillstack
    orphan = tmp_path / "half_saved"  # a skill whose first save was killed
    (orphan / ".tmp-deadbeef-q").mkdir(parents=True)
    assert lib.names() == ["open_drawer"] and lib.versions("open_drawer") == [1]
    assert lib.versions("half_saved") == []
    assert lib.load("open_drawer").version == 1
    assert lib.save(make_skill(seed=1)).name == "v0002"
    assert lib.remove_stale_temps() == 4
    assert sorted(p.name for p in skill_dir.iterdir()) == ["v0001", "v0002"]
    assert sorted(p.name for p in d.iterdir()) == ["affordance.safetensors", "manifest.json", "policy.safetensors"]


# ------------------------------------------------------------------ manifests are read within caps
def test_deeply_nested_manifest_is_a_load_error_not_a_recursion_error(tmp_path):
    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    (d / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SkillLoadError, match="nested 100000 levels deep"):
        lib.load("open_drawer")
    with pytest.raises(SkillLoadError, match="nested 100000 levels deep"):
        lib.manifest("open_drawer")


@pytest.mark.timeout(30)
def test_fifo_manifest_is_refused_without_hanging(tmp_path):
    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    (d / "manifest.json").unlink()
    os.mkfifo(d / "manifest.json")
    assert lib.versions("open_drawer") == []  # a version needs a regular manifest file
    with pytest.raises(SkillLoadError, match="FIFO"):
        load_skill_dir(d)  # reading the directory directly (as the planners and CLI can) does not block


def test_upgrade_rewrites_in_place_and_leaves_no_temp(tmp_path):
    import json

    from skillstack.skills.library import MANIFEST_HASH_KEY, upgrade_manifests

    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    m = json.loads((d / "manifest.json").read_text())
    del m[MANIFEST_HASH_KEY]
    (d / "manifest.json").write_text(json.dumps(m))
    assert upgrade_manifests(tmp_path) == [d / "manifest.json"]
    assert lib.load("open_drawer").version == 1
    assert sorted(p.name for p in (tmp_path / "open_drawer").iterdir()) == ["v0001"]
    assert (d / "manifest.json").read_text().endswith("}\n")
