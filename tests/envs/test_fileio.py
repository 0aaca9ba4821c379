"""Safe writes and capped reads (``skillstack.envs.fileio``)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from skillstack.envs.fileio import (
    JSONReadError,
    OutputPathError,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_output_path,
    fsync_dir,
    read_json_capped,
)


def _temps(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if ".tmp-" in p.name)


# ---------------------------------------------------------------------------------------------- writing
def test_json_round_trip_ends_with_newline_and_leaves_no_temp(tmp_path):
    p = tmp_path / "sub" / "out.json"  # missing parents are created
    atomic_write_json(p, {"b": 1, "a": [1, 2]}, sort_keys=True)
    text = p.read_text()
    assert text.endswith("}\n") and text.index('"a"') < text.index('"b"')
    assert json.loads(text) == {"a": [1, 2], "b": 1}
    atomic_write_text(p, "second\n")
    assert p.read_text() == "second\n"
    assert _temps(p.parent) == []


def test_existing_file_keeps_its_permissions(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("old")
    p.chmod(0o640)
    atomic_write_text(p, "new")
    assert p.read_text() == "new" and stat.S_IMODE(p.stat().st_mode) == 0o640


def test_new_file_gets_umask_permissions_not_temp_file_permissions(tmp_path):
    p = tmp_path / "out.txt"
    old = os.umask(0o022)
    try:
        atomic_write_text(p, "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644


def test_symlink_stays_a_symlink_and_its_target_is_updated(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "results.json"
    target.write_text("{}\n")
    link = tmp_path / "results.json"
    link.symlink_to(target)
    atomic_write_json(link, {"x": 1})
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text()) == {"x": 1}
    assert _temps(tmp_path) == [] and _temps(real_dir) == []


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "later.json")
    atomic_write_json(link, [1])
    assert link.is_symlink() and json.loads((tmp_path / "later.json").read_text()) == [1]


@pytest.mark.parametrize("via_link", [False, True])
def test_dev_null_stays_a_character_device(tmp_path, via_link):
    path = Path("/dev/null")
    if via_link:
        path = tmp_path / "out.json"
        path.symlink_to("/dev/null")
    before = os.stat("/dev/null")
    atomic_write_json(path, {"x": 1})
    check_output_path(path)
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert not via_link or path.is_symlink()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_dev_full_raises_oserror_and_the_node_is_untouched():
    before = os.stat("/dev/full")
    with pytest.raises(OSError, match="cannot write /dev/full: No space left on device") as e:
        atomic_write_bytes("/dev/full", b"x" * 10)
    assert e.value.errno == 28
    after = os.stat("/dev/full")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


def test_directory_target_is_refused_before_writing(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    with pytest.raises(OutputPathError, match="is a directory"):
        atomic_write_json(d, {"x": 1})
    with pytest.raises(OutputPathError, match="is a directory"):
        check_output_path(d)
    assert list(d.iterdir()) == [] and _temps(tmp_path) == []


def test_failed_write_removes_the_temp_and_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "out.json"
    p.write_text("old")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match=f"cannot write {p}: No space left on device"):
        atomic_write_text(p, "new")
    monkeypatch.undo()
    assert p.read_text() == "old" and _temps(tmp_path) == []


def test_unserialisable_json_writes_nothing(tmp_path):
    with pytest.raises(TypeError):
        atomic_write_json(tmp_path / "out.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_temp_dir_keeps_the_target_directory_clean(tmp_path, monkeypatch):
    d = tmp_path / "v0001"
    d.mkdir()
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(Path(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write_text(d / "manifest.json", "{}\n", temp_dir=tmp_path)
    assert seen[0].parent == tmp_path and seen[0].name.startswith(".manifest.json.tmp-")
    assert [p.name for p in d.iterdir()] == ["manifest.json"] and _temps(tmp_path) == []


def test_fsync_dir(tmp_path):
    fsync_dir(tmp_path)
    with pytest.raises(FileNotFoundError):
        fsync_dir(tmp_path / "missing")


# ---------------------------------------------------------------------------------------------- check_output_path
def test_check_output_path_accepts_new_and_existing_locations(tmp_path):
    assert check_output_path(tmp_path / "a" / "b" / "out.json") == tmp_path / "a" / "b" / "out.json"
    assert not (tmp_path / "a").exists()  # validation creates nothing
    (tmp_path / "old.json").write_text("{}")
    check_output_path(tmp_path / "old.json")
    check_output_path(tmp_path / "new_dir", kind="dir")
    check_output_path(tmp_path, kind="dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]  # the probe file is gone


def test_file_as_parent_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputPathError, match="is not a directory"):
        check_output_path(f / "out.json")
    with pytest.raises(OutputPathError, match="is not a directory"):
        check_output_path(f / "deeper" / "out.json")
    with pytest.raises(OutputPathError, match="not a directory"):
        check_output_path(f, kind="dir")


def test_read_only_directory_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # root: permission bits do not stop it; use a place nobody can create files
            bad, bad_dir = Path("/proc/skillstack-out.json"), Path("/proc/skillstack-results")
        else:
            bad, bad_dir = ro / "out.json", ro / "results"
        with pytest.raises(OutputPathError, match="skillstack-out.json|out.json") as e:
            check_output_path(bad)
        assert "\n" not in str(e.value)
        with pytest.raises(OutputPathError):
            check_output_path(bad_dir, kind="dir")
    finally:
        ro.chmod(0o700)


def test_symlink_is_validated_through_its_target(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    link = tmp_path / "out.json"
    link.symlink_to(d)  # a link to a directory is a directory target
    with pytest.raises(OutputPathError, match="is a directory"):
        check_output_path(link)
    f = tmp_path / "file"
    f.write_text("x")
    link2 = tmp_path / "out2.json"
    link2.symlink_to(f / "x.json")
    with pytest.raises(OutputPathError, match="is not a directory"):
        check_output_path(link2)


def test_check_output_path_rejects_bad_kind(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        check_output_path(tmp_path / "x", kind="socket")


# ---------------------------------------------------------------------------------------------- read_json_capped
def test_read_json_capped_reads_ordinary_json(tmp_path):
    p = tmp_path / "m.json"
    obj = {"a": [1, {"b": "[[[{{{ \\\" ]"}], "c": "\u00fc["}
    p.write_text(json.dumps(obj, ensure_ascii=False))
    assert read_json_capped(p) == obj


def test_deep_json_is_refused_before_parsing(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(JSONReadError, match="nested 100000 levels deep, more than the limit of 64"):
        read_json_capped(p)
    p.write_text("[" * 64 + "]" * 64)
    read_json_capped(p)
    p.write_text('{"a": "' + "[" * 1000 + '"}')  # brackets inside strings do not count
    assert read_json_capped(p) == {"a": "[" * 1000}


def test_oversized_json_is_refused(tmp_path):
    p = tmp_path / "big.json"
    p.write_text('"' + "x" * 2000 + '"')
    with pytest.raises(JSONReadError, match="more than the 1000-byte limit"):
        read_json_capped(p, max_bytes=1000)
    assert read_json_capped(p, max_bytes=3000) == "x" * 2000


def test_invalid_json_is_one_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"a": ')
    with pytest.raises(JSONReadError, match="not valid JSON") as e:
        read_json_capped(p)
    assert "\n" not in str(e.value)
    p.write_bytes(b'"\xff"')
    with pytest.raises(JSONReadError, match="not UTF-8"):
        read_json_capped(p)


@pytest.mark.timeout(30)
def test_fifo_is_refused_without_hanging(tmp_path):
    p = tmp_path / "m.json"
    os.mkfifo(p)
    with pytest.raises(JSONReadError, match="FIFO, not a regular file"):
        read_json_capped(p)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("dev", ["/dev/zero", "/dev/null"])
def test_device_is_refused(dev):
    with pytest.raises(JSONReadError, match="character device"):
        read_json_capped(dev)


def test_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_json_capped(tmp_path / "missing.json")
