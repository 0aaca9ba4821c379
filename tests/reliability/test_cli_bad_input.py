"""Bad input at the CLI (issue 6, item 6): non-zero exit, exactly one clear line on stderr (with "did you mean"
where it applies), no traceback, and no partial output left behind. Runs the real console entry point.

(Further cases live next to their commands: ``tests/launch/test_cli.py`` — planner names, empty instruction,
missing ``hf-causal`` model, unreachable ``openai-compatible`` server, existing run directory;
``tests/planners/test_executor.py`` — unknown skills/scenes/tasks in ``rollout --plan``.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

VALID_ENTRY = {"id": "a", "family": "single_primitive", "instruction": "open the drawer", "goal": {"drawer_open": True}}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from skillstack.launch.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={**os.environ, "COLUMNS": "400"})


def _suite(tmp: Path, content: object | str) -> str:
    p = tmp / "suite.json"
    p.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(p)


def _entries(**override: object) -> dict:
    return {"schema_version": 1, "instructions": [{**VALID_ENTRY, **override}]}


CASES = {
    "eval unknown skill": (lambda t: ["eval", "open_drawr", "--json", str(t / "out" / "e.json")],
                           "did you mean 'open_drawer'"),
    "eval env name as skill": (lambda t: ["eval", "tabletop/open_drawr", "-n", "2"], "--expert"),
    "eval expert unknown env": (lambda t: ["eval", "metaworld/drawer-opn-v3", "--expert", "-n", "2"],
                                "did you mean 'metaworld/drawer-open-v3'"),
    "eval zero episodes": (lambda t: ["eval", "open_drawer", "-n", "0"], "--episodes must be positive"),
    "video unknown skill": (lambda t: ["video", "pick_red", str(t / "out" / "v.mp4")], "did you mean"),
    "skills show unknown": (lambda t: ["skills", "show", "press_buton"], "did you mean 'press_button'"),
    "train unknown algo": (lambda t: ["train", "metaworld/reach-v3", "--algo", "sacc", "--run-dir", str(t / "out")],
                           "did you mean 'sac'"),
    "bench unknown planner": (lambda t: ["bench", "long-horizon", "--planners", "saycan,learnd",
                                         "--out", str(t / "out")], "did you mean 'learned'"),
    "suite not JSON": (lambda t: ["bench", "long-horizon", "--suite", _suite(t, '{"instructions": [}'),
                                  "--out", str(t / "out")], "not valid JSON"),
    "suite missing file": (lambda t: ["bench", "long-horizon", "--suite", str(t / "nope.json"),
                                      "--out", str(t / "out")], "nope.json"),
    "suite unknown predicate": (lambda t: ["bench", "long-horizon", "--suite",
                                           _suite(t, _entries(goal={"drawer_opne": True})),
                                           "--out", str(t / "out")], "unknown goal predicate 'drawer_opne'"),
    "suite unknown family": (lambda t: ["bench", "long-horizon", "--suite",
                                        _suite(t, _entries(family="long_horizn")),
                                        "--out", str(t / "out")], "did you mean 'long_horizon'"),
    "suite unreachable goal": (lambda t: ["bench", "long-horizon", "--suite",
                                          _suite(t, _entries(goal={"drawer_open": True, "drawer_closed": True})),
                                          "--out", str(t / "out")], "unreachable"),
    "bench unknown task suite": (lambda t: ["bench", "skills", "--train", "--suite", "mt11", "--out", str(t / "out")],
                                 "did you mean 'mt10'"),
    "bench unknown backend": (lambda t: ["bench", "skills", "--backend", "rey", "--out", str(t / "out")],
                              "did you mean 'ray'"),
    "bench address without ray": (lambda t: ["bench", "skills", "--address", "auto", "--out", str(t / "out")],
                                  "--backend ray"),
    "rollout unknown task": (lambda t: ["rollout", "--scene", "tabletop", "--plan", "open_drawer", "--task",
                                        "red_blok_in_drawer", "--json", str(t / "out" / "r.json")],
                             "did you mean 'red_block_in_drawer'"),
    "rollout robosuite unknown task": (lambda t: ["rollout", "--scene", "robosuite-pickplace", "--plan", "pick_can",
                                                  "--task", "can_mlk", "--json", str(t / "out" / "r.json")],
                                       "did you mean 'can_milk'"),
    "rollout robosuite tabletop planner": (lambda t: ["rollout", "--scene", "robosuite-pickplace", "--instruction",
                                                      "put the can in its bin", "--planner", "goal-grounding-parse",
                                                      "--json", str(t / "out" / "r.json")],
                                           "scene 'robosuite-pickplace' has no templated language for parsing"),
    "rollout robosuite untrained planner": (lambda t: ["rollout", "--scene", "robosuite-pickplace", "--instruction",
                                                       "put the can in its bin", "--planner", "saycan-finetuned",
                                                       "--json", str(t / "out" / "r.json")],
                                            "no fine-tuned LM planner under"),
    "rollout robosuite tabletop skill": (lambda t: ["rollout", "--scene", "robosuite-pickplace", "--plan",
                                                    "open_drawer", "--json", str(t / "out" / "r.json")],
                                         "not in a robosuite-pickplace/<skill> env"),
    "rollout unknown scene": (lambda t: ["rollout", "--scene", "kitchen", "--plan", "open_drawer"],
                              "valid scene names: robosuite-pickplace, tabletop"),
    # output locations are checked before any work starts (issue 17): nothing trained or evaluated is lost
    "train into an unwritable library": (lambda t: ["train", "metaworld/reach-v3", "--algo", "bc", "--steps", "10",
                                                     "--library", "/proc/skillstack-no-such-dir"],
                                         "cannot create files in /proc"),
    "eval json into a directory": (lambda t: ["eval", "metaworld/reach-v3", "--expert", "-n", "1", "--json", "/tmp"],
                                   "is a directory"),
    "instruction with console markup": (lambda t: ["rollout", "--plan", "open_drawr[/x]"], "open_drawr[/x]"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_clear_line_without_traceback_or_output(tmp_path, case):
    make_args, message = CASES[case]
    args = make_args(tmp_path)
    r = _cli(*args, cwd=tmp_path)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert len(lines) == 1, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and message in lines[0], lines[0]
    assert not (tmp_path / "out").exists(), "bad input must not leave partial output"
    leftovers = {p.name for p in tmp_path.iterdir()} - {"suite.json"}
    assert not leftovers, leftovers


def test_writing_results_into_a_device_keeps_the_device_and_fails_in_one_line(tmp_path):
    import stat

    r = _cli("eval", "metaworld/reach-v3", "--expert", "-n", "1", "--json", "/dev/full", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error:") and "/dev/full" in r.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # the device node was written into, never replaced
