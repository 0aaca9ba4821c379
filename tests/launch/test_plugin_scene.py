"""A third scene registered from a module outside the package (``tests/plugins/toy_drawer_scene.py``) runs through
the CLI — rollout with a plan, rollout with a planner, and the long-horizon benchmark — without any edit to the
package (issue 15's proof that a scene is one folder plus one registration)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skillstack.skills.library import SkillLibrary, default_library_path

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


@pytest.fixture(scope="module")
def toy_library(tmp_path_factory) -> Path:
    """The shipped drawer skills, registered again as skills of the toy scene's own skill envs."""
    root = tmp_path_factory.mktemp("toylib")
    shipped, lib = SkillLibrary(default_library_path()), SkillLibrary(root)
    for name in ("open_drawer", "close_drawer"):
        skill = shipped.load(name)
        lib.save(dataclasses.replace(skill, env_id=f"toydrawer/{name}-v0", version=None))
    return root


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]),
           "SKILLSTACK_PLUGINS": "toy_drawer_scene"}
    return subprocess.run([sys.executable, "-m", "skillstack.launch.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env)


def test_plugin_scene_is_listed_and_unknown_plugins_fail_clearly():
    r = _cli("envs", "--scenes")
    assert r.returncode == 0, r.stderr
    assert "toydrawer" in r.stdout and "tabletop" in r.stdout
    bad = subprocess.run([sys.executable, "-m", "skillstack.launch.cli", "envs", "--scenes"], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "SKILLSTACK_PLUGINS": "no_such_plugin_module"})
    assert bad.returncode == 2 and "no_such_plugin_module" in bad.stderr and "Traceback" not in bad.stderr


def test_rollout_plan_and_instruction_in_the_plugin_scene(toy_library, tmp_path):
    r = _cli("rollout", "--scene", "toydrawer", "--plan", "open_drawer,close_drawer", "--task", "open",
             "--library", str(toy_library), "--json", str(tmp_path / "plan.json"))
    # the plan ends with the drawer closed, so the task "open" does not hold: every skill ran and the goal is read
    out = json.loads((tmp_path / "plan.json").read_text())
    assert r.returncode == 0, r.stderr
    assert out["scene"] == "toydrawer"
    assert os.path.samefile(out["library"], toy_library)  # the plan's log names its library and skill versions
    lib = SkillLibrary(toy_library)
    assert out["skill_versions"] == {n: lib.versions(n)[-1] for n in ("open_drawer", "close_drawer")}
    assert [e["skill"] for e in out["results"][0]["executions"]] == ["open_drawer", "close_drawer"]
    assert all(e["success"] for e in out["results"][0]["executions"])
    assert out["results"][0]["goal_satisfied"] is False
    r = _cli("rollout", "--scene", "toydrawer", "--instruction", "open the drawer", "--planner", "oracle",
             "--library", str(toy_library), "--json", str(tmp_path / "ins.json"))
    assert r.returncode == 0, r.stderr
    log = json.loads((tmp_path / "ins.json").read_text())
    assert log["goal"] == {"drawer_open": True} and log["success_rate"] == 1.0
    assert [d["choice"] for d in log["results"][0]["decisions"]] == ["open_drawer", "done"]
    # the tabletop's skills are not candidates in the toy scene: the shipped library has none of it
    r = _cli("rollout", "--scene", "toydrawer", "--instruction", "open the drawer")
    assert r.returncode == 2 and "no skills of scene toydrawer" in r.stderr


def test_long_horizon_benchmark_in_the_plugin_scene(toy_library, tmp_path):
    r = _cli("bench", "long-horizon", "--scene", "toydrawer", "--planners", "oracle,saycan",
             "--library", str(toy_library), "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "long_horizon.json").read_text())
    assert res["config"]["scene"] == "toydrawer" and len(res["rows"]) == 6
    oracle = res["summary"]["oracle"]
    assert oracle["n"] == 3 and oracle["plan_success"] == 1.0 and oracle["execution_success"] == 1.0
    assert res["summary"]["saycan"]["plan_success"] is not None
