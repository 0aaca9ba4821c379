"""``skillstack rollout --corrections / --interactive`` and ``skillstack memory`` through the command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _env(memory: Path) -> dict[str, str]:
    return {**os.environ, "SKILLSTACK_MEMORY": str(memory), "COLUMNS": "200", "TQDM_DISABLE": "1"}


def _cli(*args: str, memory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skillstack.launch.cli", *args], capture_output=True, text=True,
                          timeout=600, env=_env(memory))


def test_scripted_correction_logged_learned_and_inspectable(tmp_path: Path) -> None:
    mem, log, script = tmp_path / "mem.json", tmp_path / "log.json", tmp_path / "c.json"
    script.write_text(json.dumps([{"after_skill": 0, "text": "put it in the bin, not the drawer"}]))
    r = _cli("rollout", "--instruction", "put the red block away", "--corrections", str(script), "--json", str(log),
             memory=mem)
    assert r.returncode == 0, r.stderr
    assert "correction 'put it in the bin, not the drawer' → block_in_bin(red), not block_in_drawer(red)" in r.stdout
    assert "table before the correction" in r.stdout and "table after the correction" in r.stdout
    (res,) = json.loads(log.read_text())["results"]
    (c,) = res["corrections"]
    assert c["amendment"]["require"]["block_in_bin(red)"] is True
    assert res["executions"][-1]["predicates"]["block_in_bin(red)"]
    (entry_id,) = res["learned"]
    listed = _cli("memory", "list", memory=mem)
    assert entry_id in listed.stdout and "put the red block away" in listed.stdout
    shown = json.loads(_cli("memory", "show", entry_id[:6], memory=mem).stdout)
    assert shown["correction"] == "put it in the bin, not the drawer" and shown["state"]["block_on_table(red)"]
    # the next rollout of a similar instruction retrieves it
    r2 = _cli("rollout", "--instruction", "put the red block away, then press the button", memory=mem)
    assert f"memory {entry_id}" in r2.stdout
    assert _cli("memory", "forget", entry_id, memory=mem).returncode == 0
    assert "no corrections stored" in _cli("memory", "list", memory=mem).stdout
    bad = _cli("memory", "forget", "abc", memory=mem)
    assert bad.returncode == 2 and "no memory entry with id 'abc'" in bad.stderr


@pytest.mark.parametrize("args, message", [
    (["--plan", "open_drawer", "--interactive"], "give --instruction"),
    (["--instruction", "x", "--interactive", "--corrections", "c.json"], "one of --interactive"),
    (["--instruction", "x", "--corrections", "c.json", "-n", "2"], "--episodes 1"),
    (["--instruction", "x", "--no-memory", "--memory", "m.json"], "--memory PATH or --no-memory"),
    (["--instruction", "x", "--corrections", "missing.json"], "corrections script missing.json"),
])
def test_bad_correction_options_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    r = _cli("rollout", *args, memory=tmp_path / "m.json")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_hostile_memory_file_refused_in_one_line(tmp_path: Path) -> None:
    mem = tmp_path / "m.json"
    mem.write_text(json.dumps({"schema": "skillstack.correction-memory", "schema_version": 1,
                               "entries": [{"id": "__import__('os').system('touch pwned')"}]}))
    r = _cli("rollout", "--instruction", "open the drawer", memory=mem)
    assert r.returncode == 2 and "exactly the keys" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (Path.cwd() / "pwned").exists()


@pytest.mark.skipif(shutil.which("skillstack") is None, reason="the skillstack console script is not installed")
def test_interactive_correction_in_a_real_terminal(tmp_path: Path) -> None:
    """Drive ``rollout --interactive`` in a pseudo-terminal: type a correction at the first decision; the decision
    log shows it and the goal changes (the red block ends in the bin, not the drawer)."""
    pexpect = pytest.importorskip("pexpect")
    log = tmp_path / "log.json"
    env = {**_env(tmp_path / "mem.json"), "NO_COLOR": "1", "TERM": "dumb"}  # plain text, no escape codes
    child = pexpect.spawn("skillstack", ["rollout", "--instruction", "put the red block away", "--interactive",
                                         "--json", str(log)], env=env, encoding="utf-8", timeout=300,
                          dimensions=(50, 200))
    child.expect_exact("correction> ")
    child.sendline("put it in the bin, not the drawer")
    child.expect(r"correction 'put it in the bin, not the drawer' → block_in_bin\(red\), not block_in_drawer\(red\)")
    answered = 0
    while child.expect_exact(["correction> ", pexpect.EOF]) == 0:
        child.sendline("")  # Enter: go on
        answered += 1
    child.close()
    assert child.exitstatus == 0 and answered >= 2
    (res,) = json.loads(log.read_text())["results"]
    assert res["corrections"][0]["text"] == "put it in the bin, not the drawer"
    assert all(d["info"]["require"] == {"block_in_bin(red)": True, "block_in_drawer(red)": False}
               for d in res["decisions"][1:])
    assert res["executions"][-1]["predicates"]["block_in_bin(red)"] and res["ended_by"] == "done"
