"""Language corrections and the correction memory (issue 20)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skillstack.envs import get_scene
from skillstack.planners.base import DONE, Candidate
from skillstack.planners.corrections import (
    Amendment,
    CorrectionError,
    CorrectionInterpreter,
    CorrectionMemory,
    Corrections,
    Embedder,
    MemoryEntry,
    ScheduledCorrection,
    ScriptedCorrections,
    is_stop,
    load_corrections,
    parse_corrections,
)

SCENE = get_scene("tabletop")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="module")
def interpreter(embedder: Embedder) -> CorrectionInterpreter:
    return CorrectionInterpreter(SCENE, embedder)


# ------------------------------------------------------------------------------------------- interpretation
@pytest.mark.parametrize("text, instruction, held, require, referent", [
    ("put it in the bin, not the drawer", "put the red block away", (),
     {"block_in_bin(red)": True, "block_in_drawer(red)": False}, None),
    ("in the bin, not the drawer", "put the blue block away", (),
     {"block_in_bin(blue)": True, "block_in_drawer(blue)": False}, None),
    ("leave the drawer open", "put the red block in the drawer", (), {"drawer_open": True}, None),
    ("keep the window closed", "tidy up", (), {"window_closed": True}, None),
    ("don't close the drawer", "put the blue block in the drawer", (), {"drawer_closed": False}, None),
    ("close the drawer, not the window", "close it", (), {"drawer_closed": True, "window_closed": False}, None),
    ("I meant the blue block", "put the block in the bin", (), {}, "blue"),
    ("cobalt means the blue block", "grab the cobalt cube", (), {}, "blue"),
    ("I mean the blue block, and it goes in the bin", "put the block away", (),
     {"block_in_bin(blue)": True}, "blue"),
    ("put it in the bin", "put that away", ("red",), {"block_in_bin(red)": True}, None),
    ("also close the window", "tidy up", (), {"window_closed": True}, None),
    ("close the window and close the drawer", "get ready", (), {"window_closed": True, "drawer_closed": True}, None),
])
def test_interpretation(interpreter: CorrectionInterpreter, text: str, instruction: str, held: tuple,
                        require: dict, referent: str | None) -> None:
    a = interpreter.interpret(text, instruction, held)
    assert a.require == require, a.clauses
    assert a.referent == referent
    assert not a.stop and a.understood


def test_stop_and_not_understood(interpreter: CorrectionInterpreter) -> None:
    for t in ("stop", "Stop!", "halt now", "wait please"):
        assert is_stop(t) and interpreter.interpret(t).stop
    assert not is_stop("stop putting blocks in the drawer")
    a = interpreter.interpret("the weather is lovely today")
    assert not a.understood and a.clauses and a.clauses[0]["read"] == "not understood"


def test_additive_correction_accepts_the_proposal(interpreter: CorrectionInterpreter) -> None:
    state = dict(SCENE.domain.default_state)
    a = interpreter.interpret("also open the drawer", "air out the room")
    assert a.additive and a.require == {"drawer_open": True}
    interpreter.accept_proposal(a, "open_window", state)
    assert a.require == {"drawer_open": True, "window_open": True}
    b = interpreter.interpret("open the drawer", "air out the room")  # not additive: the proposal is replaced
    interpreter.accept_proposal(b, "open_window", state)
    assert b.require == {"drawer_open": True}
    c = interpreter.interpret("also put the red block in the bin", "tidy")
    interpreter.accept_proposal(c, "pick_blue_block", state)  # holding a block is not a fixture state
    assert c.require == {"block_in_bin(red)": True}


# --------------------------------------------------------------------------------------------- constraints
def _cands(*names: str) -> list[Candidate]:
    return [Candidate(n, n) for n in names]


def _predicates(state: dict) -> dict[str, bool]:
    from skillstack.envs.tabletop.domain import holds

    names = ["drawer_open", "drawer_closed", "window_open", "window_closed", "button_pressed", "hand_empty"]
    names += [f"{p}({b})" for p in ("holding", "block_on_table", "block_in_drawer", "block_in_bin")
              for b in ("red", "blue")]
    return {n: holds(state, n) for n in names}


def test_done_withheld_and_undo_vetoed() -> None:
    state = {**SCENE.domain.default_state, "drawer": "open", "red": "drawer"}
    fix = Corrections(SCENE)
    fix.add(Amendment("leave the drawer open", require={"drawer_open": True}), state)
    offered, why = fix.filter(_cands("close_drawer", "open_window", DONE), _predicates(state))
    assert [c.name for c in offered] == ["open_window", DONE]
    assert "drawer_open" in why["close_drawer"]
    # a requirement that needs the drawer closed first is not blocked by protection it cannot keep
    fix2 = Corrections(SCENE)
    fix2.add(Amendment("x", require={"block_in_drawer(blue)": True, "drawer_closed": True}), state)
    offered, why = fix2.filter(_cands("pick_blue_block", "close_drawer", DONE), _predicates(state))
    assert DONE in why and "pick_blue_block" not in why


def test_dead_end_vetoed() -> None:
    state = {**SCENE.domain.default_state, "drawer": "open", "blue": "hand"}
    fix = Corrections(SCENE)
    fix.add(Amendment("blue goes in the bin", require={"block_in_bin(blue)": True}), state)
    offered, why = fix.filter(_cands("place_in_drawer", "place_in_bin", "place_on_table", DONE), _predicates(state))
    assert why.get("place_in_drawer") == "dead end for the requirement"  # a block in the drawer cannot be picked
    assert {c.name for c in offered} == {"place_in_bin", "place_on_table"}


def test_amend_goal_referent_and_conflicts() -> None:
    state = dict(SCENE.domain.default_state)
    fix = Corrections(SCENE)
    fix.add(Amendment("I meant blue", referent="blue", context=["the blue block"]), state)
    assert fix.amend_goal({"block_in_drawer(red)": True, "drawer_closed": True}, state) == {
        "block_in_drawer(blue)": True, "drawer_closed": True}
    fix.add(Amendment("bin, not drawer", require={"block_in_bin(blue)": True}), state)
    assert fix.amend_goal({"block_in_drawer(red)": True, "drawer_closed": True}, state) == {
        "drawer_closed": True, "block_in_bin(blue)": True}  # the drawer goal cannot hold with the bin goal
    assert fix.instruction("put the block away") == "put the block away. the blue block"
    # a later requirement replaces a conflicting earlier one
    fix.add(Amendment("drawer after all", require={"block_in_drawer(blue)": True}), state)
    assert fix.require == {"block_in_drawer(blue)": True}


# ------------------------------------------------------------------------------------------- scripts
def test_scripted_delivery_once_and_in_order() -> None:
    src = ScriptedCorrections([ScheduledCorrection("a", after_skill=0), ScheduledCorrection("b", at_step=10),
                               ScheduledCorrection("c", after_skill=2)])
    assert src.at_decision(0, []) == ["a"] and src.at_decision(0, []) == []
    assert src.during_skill(9) == [] and src.during_skill(12) == ["b"] and src.during_skill(13) == []
    assert src.at_decision(3, []) == ["c"]  # a skipped count still delivers


@pytest.mark.parametrize("bad, why", [
    ({"text": "x"}, "exactly one"),
    ({"text": "x", "after_skill": 1, "at_step": 2}, "exactly one"),
    ({"text": "", "after_skill": 0}, "non-empty"),
    ({"text": "x", "after_skill": -1}, ">= 0"),
    ({"text": "x", "after_skill": True}, ">= 0"),
    ({"text": "x", "at_step": 1, "exec": "rm -rf /"}, "expected an object"),
    ({"text": "x" * 600, "at_step": 1}, "more than"),
])
def test_malformed_script_refused(bad: dict, why: str, tmp_path: Path) -> None:
    with pytest.raises(CorrectionError, match=why):
        parse_corrections([bad])
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"corrections": [bad]}))
    with pytest.raises(CorrectionError) as e:
        load_corrections(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)
    p.write_text("[{")
    with pytest.raises(CorrectionError, match="not valid JSON"):
        load_corrections(p)


# ------------------------------------------------------------------------------------------------ memory
def _entry(instruction: str, correction: str, require: dict) -> MemoryEntry:
    return MemoryEntry.make("tabletop", instruction, {"drawer_open": False}, "pick_red_block", correction,
                            Amendment(correction, require=require), "pick_blue_block")


def test_memory_round_trip_and_forget(tmp_path: Path, embedder: Embedder) -> None:
    p = tmp_path / "mem.json"
    mem = CorrectionMemory(p, embedder)
    assert mem.entries == []
    e = _entry("put the block away", "the blue one, in the bin", {"block_in_bin(blue)": True})
    mem.add(e)
    again = CorrectionMemory(p, embedder)
    assert again.entries == [e]
    assert again.get(e.id[:5]) == e
    with pytest.raises(KeyError, match="ids"):
        again.get("ffff")
    again.forget(e.id)
    assert CorrectionMemory(p, embedder).entries == []


def test_retrieval_deterministic_and_clause_level(tmp_path: Path, embedder: Embedder) -> None:
    mem = CorrectionMemory(tmp_path / "m.json", embedder)
    a = _entry("put the block away", "blue, bin", {"block_in_bin(blue)": True})
    b = _entry("air out the room", "also the drawer", {"drawer_open": True})
    c = _entry("put the block away", "red, drawer", {"block_in_drawer(red)": True})  # same instruction as a
    for e in (a, b, c):
        mem.add(e, save=False)
    hits = mem.retrieve("put the block away and open the window", "tabletop")
    assert [h.id for h, _ in hits] == sorted([a.id, c.id], reverse=True)  # equal similarity: ties by id
    assert hits == mem.retrieve("put the block away and open the window", "tabletop")
    assert mem.retrieve("put the block away", "other-scene") == []
    assert mem.retrieve("press the button", "tabletop", threshold=0.95) == []


@pytest.mark.parametrize("content, why", [
    ("[]", "not a skillstack correction memory"),
    ('{"schema": "skillstack.correction-memory", "schema_version": 99, "entries": []}', "schema_version"),
    ('{"schema": "skillstack.correction-memory", "schema_version": 1, "entries": [{"id": 1}]}', "exactly the keys"),
    ('{"schema": "skillstack.correction-memory", "schema_version": 1, "entries": {}}', "must be a list"),
    ("{" * 100 + "}" * 100, "nested"),
    ("not json", "not valid JSON"),
])
def test_hostile_memory_refused(content: str, why: str, tmp_path: Path) -> None:
    p = tmp_path / "mem.json"
    p.write_text(content)
    with pytest.raises(CorrectionError, match=why) as e:
        CorrectionMemory(p)
    assert "\n" not in str(e.value)


def test_memory_entry_fields_checked(tmp_path: Path, embedder: Embedder) -> None:
    p = tmp_path / "mem.json"
    mem = CorrectionMemory(p, embedder)
    mem.add(_entry("x y", "z w", {"drawer_open": True}))
    data = json.loads(p.read_text())
    for field, value in (("state", {"drawer_open": "__import__('os').system('x')"}), ("id", "../../etc"),
                         ("amendment", {"require": {"drawer_open": "yes"}}), ("fix", ["a"])):
        bad = json.loads(json.dumps(data))
        bad["entries"][0][field] = value
        p.write_text(json.dumps(bad))
        with pytest.raises(CorrectionError, match=field):
            CorrectionMemory(p, embedder)


def test_memory_survives_kill_mid_write(tmp_path: Path) -> None:
    """A writer killed at a random point of its loop of atomic rewrites leaves a loadable memory."""
    p = tmp_path / "mem.json"
    script = f"""
import sys
from skillstack.planners.corrections import Amendment, CorrectionMemory, MemoryEntry
mem = CorrectionMemory({str(p)!r}, embedder=object())
i = 0
while True:
    mem.add(MemoryEntry.make("tabletop", "instruction %d" % i, {{}}, None, "c" * 900, Amendment("c"), None))
    i += 1
    if i == 3:
        print("ready", flush=True)
"""
    for delay in (0.05, 0.2, 0.5):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        mem = CorrectionMemory(p, embedder=object())  # loads: the previous or the new file, never a torn one
        assert len(mem.entries) >= 3
        assert not list(tmp_path.glob("*.tmp*")) or all(x.name != "mem.json" for x in tmp_path.glob("*.tmp*"))


# ------------------------------------------------------------------------------------- in the closed loop
@pytest.fixture(scope="module")
def loaded():
    from skillstack.planners.executor import library_candidates
    from skillstack.skills.library import SkillLibrary, default_library_path

    lib = SkillLibrary(default_library_path())
    return lib, library_candidates(lib, SCENE)


def _task(goal: dict, **initial: str):
    from skillstack.envs.scenes import Task

    return Task("t", "x", goal, {**SCENE.domain.default_state, **initial})


def test_oracle_goal_amended_by_a_correction(loaded, interpreter) -> None:
    """The person's correction changes the oracle's goal: it was told red→drawer, the person says bin."""
    from skillstack.planners.base import make_planner
    from skillstack.planners.executor import run_instruction

    lib, cands = loaded
    planner = make_planner("oracle", SCENE)
    task = _task({"block_in_drawer(red)": True}, drawer="open")
    r = run_instruction("put the red block away", planner, lib, SCENE, seed=3, task=task, loaded=cands,
                        interpreter=interpreter,
                        corrections=ScriptedCorrections([ScheduledCorrection("put it in the bin, not the drawer",
                                                                             after_skill=1)]))
    assert [e.skill for e in r.executions] == ["pick_red_block", "place_in_bin"]
    (c,) = r.corrections
    assert c["after_skill"] == 1 and c["before"] == "place_in_drawer" and c["after"] == "place_in_bin"
    assert c["amendment"]["require"] == {"block_in_bin(red)": True, "block_in_drawer(red)": False}
    superseded = [d for d in r.decisions if "superseded_by_correction" in d["info"]]
    assert len(superseded) == 1 and superseded[0]["info"]["plan"][0] == "place_in_drawer"
    assert r.decisions[-2]["info"]["corrected_goal"] == {"block_in_bin(red)": True, "block_in_drawer(red)": False}
    assert r.goal_satisfied is False  # the task's goal was the drawer; the person changed their mind
    assert r.executions[-1].predicates["block_in_bin(red)"]


def test_stop_interrupts_and_text_during_a_skill_waits_for_the_decision(loaded, interpreter, tmp_path) -> None:
    from skillstack.planners.base import make_planner
    from skillstack.planners.executor import run_instruction

    lib, cands = loaded
    planner = make_planner("oracle", SCENE)
    task = _task({"window_open": True})
    mem = CorrectionMemory(tmp_path / "m.json", interpreter.embed)
    script = [ScheduledCorrection("also press the button", at_step=3), ScheduledCorrection("stop", at_step=7)]
    r = run_instruction("open the window", planner, lib, SCENE, seed=1, task=task, loaded=cands,
                        interpreter=interpreter, corrections=ScriptedCorrections(script), memory=mem)
    first = r.executions[0]
    assert first.skill == "open_window" and first.interrupted and first.steps == 7 and not first.success
    stop, text = r.corrections
    assert stop["stopped"] == "open_window" and stop["step"] == 7
    # "also press the button" arrived at step 3, during the skill; it is applied at the next decision
    assert text["text"] == "also press the button" and text["after_skill"] == 1 and text["step"] == 7
    assert r.decisions[-1]["choice"] == DONE and r.decisions[-1]["info"]["require"]["button_pressed"] is True
    names = [e.skill for e in r.executions]
    assert "press_button" in names and names.count("open_window") == 2  # the stopped skill stays on offer
    assert r.success and r.executions[-1].predicates["button_pressed"]
    assert r.learned and CorrectionMemory(tmp_path / "m.json", interpreter.embed).entries[0].fix is not None


def test_memory_applied_to_a_new_instruction(loaded, interpreter, tmp_path) -> None:
    """A correction stored in one episode is retrieved for a similar instruction and changes SayCan's plan."""
    from skillstack.planners.base import make_planner
    from skillstack.planners.executor import run_instruction

    lib, cands = loaded
    planner = make_planner("saycan", SCENE)
    mem = CorrectionMemory(tmp_path / "m.json", interpreter.embed)
    a = interpreter.interpret("I mean the blue block, and it goes in the bin", "put the block away")
    mem.add(MemoryEntry.make("tabletop", "put the block away", {}, "pick_red_block", a.text, a, "pick_blue_block"))
    task = _task({"block_in_bin(blue)": True, "window_open": True})
    r = run_instruction("put the block away and open the window", planner, lib, SCENE, seed=101, task=task,
                        loaded=cands, interpreter=interpreter, memory=mem, learn=False)
    assert [m["id"] for m in r.memory] == [mem.entries[0].id]
    assert r.decisions[0]["info"]["require"] == {"block_in_bin(blue)": True}
    assert "the blue block" in r.decisions[0]["info"]["scored_instruction"]
    assert "pick_red_block" not in [e.skill for e in r.executions]
    r0 = run_instruction("put the block away and open the window", planner, lib, SCENE, seed=101, task=task,
                         loaded=cands, interpreter=interpreter)
    assert r0.memory == [] and "require" not in r0.decisions[0]["info"]


def test_correction_suites_load() -> None:
    from skillstack.envs.scenes import ASSETS
    from skillstack.planners.suite import load_correction_suite

    ev = load_correction_suite(ASSETS / "corrections" / "tabletop_corrections.json", SCENE)
    dev = load_correction_suite(ASSETS / "corrections" / "tabletop_corrections_dev.json", SCENE)
    assert len(ev) >= 24 and len(dev) >= 8
    assert not {s.first.instruction for s in ev} & {s.first.instruction for s in dev}
    assert all(s.first.corrections and not s.second.corrections for s in ev)
