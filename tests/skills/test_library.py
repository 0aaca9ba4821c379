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


# ------------------------------------------------------------------ an artifact is tied to its path
def _write_manifest_raw(d: Path, edit) -> None:  # noqa: ANN001
    """Apply ``edit`` to ``d``'s manifest and re-sign it (file hashes untouched); ``edit`` may return a
    replacement value (e.g. a list), written as is."""
    import json

    from skillstack.skills.library import MANIFEST_HASH_KEY, manifest_digest

    path = d / "manifest.json"
    m = json.loads(path.read_text())
    m.pop(MANIFEST_HASH_KEY)
    new = edit(m)
    if new is not None:
        m = new
    if isinstance(m, dict):
        m[MANIFEST_HASH_KEY] = manifest_digest(m)
    path.write_text(json.dumps(m))


@pytest.mark.parametrize("name", ["..", "../x", "/etc", "a/b", "open_drawer\n", "x/../open_drawer", ".", "",
                                  f"{'a' * 65}", "Open_drawer", None, 7])
def test_names_that_are_not_skill_names_never_resolve(tmp_path, name):
    SkillLibrary(tmp_path).save(make_skill("x"))  # a complete skill just outside the library: <tmp>/x/v0001
    lib = SkillLibrary(tmp_path / "lib")
    lib.save(make_skill())
    assert lib.versions(name) == []
    for call in (lib.path, lib.load, lib.manifest):
        with pytest.raises(UnknownNameError):
            call(name)
    assert lib.names() == ["open_drawer"]


def test_symlinked_skill_directory_is_never_listed_nor_loaded(tmp_path):
    other = SkillLibrary(tmp_path / "other")
    other.save(make_skill("close_drawer"))
    lib = SkillLibrary(tmp_path / "lib")
    lib.save(make_skill())
    (tmp_path / "lib" / "close_drawer").symlink_to(tmp_path / "other" / "close_drawer")
    assert lib.names() == ["open_drawer"] and lib.versions("close_drawer") == []
    for call in (lib.path, lib.load, lib.manifest):
        with pytest.raises(SkillLoadError, match="close_drawer: is a symbolic link"):
            call("close_drawer")
    rows = dict(lib.manifests())
    assert "symbolic link" in rows["close_drawer"] and isinstance(rows["open_drawer"], dict)


def test_symlinked_version_directory_is_never_latest_nor_loaded(tmp_path):
    other = SkillLibrary(tmp_path / "other")
    other.save(make_skill(seed=5))
    target = other.save(make_skill(seed=6))  # a valid open_drawer v0002, elsewhere
    lib = SkillLibrary(tmp_path / "lib")
    lib.save(make_skill())
    link = tmp_path / "lib" / "open_drawer" / "v0002"
    link.symlink_to(target)
    assert lib.versions("open_drawer") == [1]
    assert lib.load("open_drawer").version == 1 and lib.path("open_drawer") == tmp_path / "lib/open_drawer/v0001"
    for call in (lib.path, lib.load, lib.manifest):
        with pytest.raises(SkillLoadError, match="v0002: is a symbolic link"):
            call("open_drawer", 2)
    with pytest.raises(SkillLoadError, match="symbolic link"):
        load_skill_dir(link)
    # a link inside the library is refused as well
    (tmp_path / "lib" / "open_drawer" / "v0003").symlink_to("v0001")
    assert lib.versions("open_drawer") == [1]
    # so is a version named non-canonically (v00004 would be a second "version 4")
    (tmp_path / "lib" / "open_drawer" / "v00004").mkdir()
    assert lib.versions("open_drawer") == [1]


def test_symlinked_manifest_is_not_a_version(tmp_path):
    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    real = tmp_path / "manifest-elsewhere.json"
    (d / "manifest.json").rename(real)
    (d / "manifest.json").symlink_to(real)
    assert lib.versions("open_drawer") == []
    with pytest.raises(SkillLoadError, match="manifest.json: is a symbolic link"):
        load_skill_dir(d)


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _zero_link(p: Path) -> None:
    p.symlink_to("/dev/zero")


def _char_device(p: Path) -> None:
    try:
        os.mknod(p, 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 5))  # like /dev/zero
    except (PermissionError, OSError) as e:
        pytest.skip(f"cannot create a device node here ({e})")


def _subdir(p: Path) -> None:
    p.mkdir()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("make,what", [(_zero_link, "is a symbolic link"), (_fifo, "is a FIFO"),
                                       (_char_device, "is a character device"), (_subdir, "is a directory")])
@pytest.mark.parametrize("fname", ["policy.safetensors", "affordance.safetensors"])
def test_listed_file_that_is_not_a_regular_file_fails_at_once(tmp_path, make, what, fname):
    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    (d / fname).unlink()
    make(d / fname)
    with pytest.raises(SkillLoadError, match=f"{fname}: {what}"):
        lib.load("open_drawer")


def test_version_directory_copied_under_another_name_or_number_is_refused(tmp_path):
    import shutil

    lib = SkillLibrary(tmp_path)
    src = lib.save(make_skill("open_drawer"))
    lib.save(make_skill("close_drawer"))
    shutil.copytree(src, tmp_path / "close_drawer" / "v0002")  # becomes close_drawer's "latest"
    assert lib.versions("close_drawer") == [1, 2]
    for call in (lib.load, lib.manifest):
        with pytest.raises(SkillLoadError, match="skill 'open_drawer' version 1, but it lies in close_drawer/v0002"):
            call("close_drawer")
    assert lib.load("close_drawer", 1).name == "close_drawer"
    shutil.copytree(src, tmp_path / "open_drawer" / "v0003")  # an old version re-published as the newest
    with pytest.raises(SkillLoadError, match="version 1, but it lies in open_drawer/v0003"):
        lib.load("open_drawer")
    with pytest.raises(SkillLoadError, match="version 1, but it lies in open_drawer/v0003"):
        load_skill_dir(tmp_path / "open_drawer" / "v0003")


_BAD_SHAPES = {
    "list": lambda m: [1, 2],
    "string": lambda m: "manifest",
    "networks str": lambda m: m.update(networks="x"),
    "networks without policy": lambda m: m.update(networks={"affordance": m["networks"]["affordance"]}),
    "network spec str": lambda m: m["networks"].update(policy="x"),
    "files list": lambda m: m.update(files=[]),
    "files values": lambda m: m.update(files=dict.fromkeys(m["files"], 1)),
    "name null": lambda m: m.update(name=None),
    "version str": lambda m: m.update(version="1"),
    "version missing": lambda m: m.pop("version"),
    "description int": lambda m: m.update(description=5),
    "env_id list": lambda m: m.update(env_id=["x"]),
    "max_steps bool": lambda m: m.update(max_steps=True),
    "max_steps float": lambda m: m.update(max_steps=1.5),
    "max_steps negative": lambda m: m.update(max_steps=-1),
    "space list": lambda m: m.update(observation_space=[]),
    "provenance str": lambda m: m.update(provenance="x"),
    "metrics list": lambda m: m.update(metrics=[1]),
    "success_rate str": lambda m: m["metrics"].update(success_rate="high"),
    "success int": lambda m: m.update(success=1),
}


@pytest.mark.parametrize("case", sorted(_BAD_SHAPES))
def test_manifest_of_the_wrong_shape_is_a_load_error(tmp_path, case):
    lib = SkillLibrary(tmp_path)
    d = lib.save(make_skill())
    _write_manifest_raw(d, _BAD_SHAPES[case])
    with pytest.raises(SkillLoadError, match="manifest"):
        lib.load("open_drawer")
    with pytest.raises(SkillLoadError, match="manifest"):
        lib.manifest("open_drawer")  # the cheap listing read checks the shape too


def test_manifests_lists_a_broken_skill_as_an_error_row(tmp_path):
    lib = SkillLibrary(tmp_path)
    lib.save(make_skill("open_drawer"))
    _write_manifest_raw(lib.save(make_skill("close_drawer")), lambda m: [1, 2])
    bad = lib.save(make_skill("press_button"))
    (bad / "manifest.json").write_text("{not json")
    lib.save(make_skill("open_window"))
    assert lib.names() == ["close_drawer", "open_drawer", "open_window", "press_button"]
    rows = list(lib.manifests())
    assert [n for n, _ in rows] == lib.names()
    by_name = dict(rows)
    assert "must be a JSON object" in by_name["close_drawer"]
    assert "not valid JSON" in by_name["press_button"]
    assert by_name["open_drawer"]["name"] == "open_drawer" and by_name["open_window"]["version"] == 1
    assert list(SkillLibrary(tmp_path / "missing").manifests()) == []


def test_every_shipped_skill_version_still_loads():
    from skillstack.skills import library

    root = Path(library.__file__).resolve().parent.parent / "assets" / "skills"
    if not root.is_dir():
        pytest.skip("no shipped skills in this installation")
    lib = SkillLibrary(root)
    assert lib.names()
    for name in lib.names():
        assert lib.load(name).name == name
        for v in lib.versions(name):
            assert lib.manifest(name, v)["version"] == v
    assert all(isinstance(m, dict) for _, m in lib.manifests())


def test_upgrade_never_writes_through_a_symlinked_directory(tmp_path):
    import json

    from skillstack.skills.library import MANIFEST_HASH_KEY, upgrade_manifests

    outside = SkillLibrary(tmp_path / "outside")
    d = outside.save(make_skill())
    m = json.loads((d / "manifest.json").read_text())
    del m[MANIFEST_HASH_KEY]
    (d / "manifest.json").write_text(json.dumps(m))
    before = (d / "manifest.json").read_bytes()
    (tmp_path / "lib" / "close_drawer").mkdir(parents=True)
    (tmp_path / "lib" / "open_drawer").symlink_to(tmp_path / "outside" / "open_drawer")
    (tmp_path / "lib" / "close_drawer" / "v0001").symlink_to(d)
    assert upgrade_manifests(tmp_path / "lib") == []
    assert (d / "manifest.json").read_bytes() == before
    assert upgrade_manifests(tmp_path / "outside") == [d / "manifest.json"]


def test_saved_versions_get_the_default_permissions_not_the_temp_dirs_owner_only_ones(tmp_path):
    """A published version is readable as a plain mkdir/open would make it (0o777 / 0o666 less the umask), not
    0o700 / 0o600 as its temp directory and temp files were: a group's shared library stays readable."""
    import stat

    old = os.umask(0o022)
    try:
        d = SkillLibrary(tmp_path).save(make_skill())
    finally:
        os.umask(old)
    assert stat.S_IMODE(d.stat().st_mode) == 0o755
    files = list(d.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o644 for f in files), [
        (f.name, oct(f.stat().st_mode)) for f in files]
