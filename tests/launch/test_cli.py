from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from gymnasium import spaces
from typer.testing import CliRunner

from skillstack.launch.bench import SKILLS_BENCH_SEED_BASE
from skillstack.launch.cli import app
from skillstack.skills.library import Skill, SkillLibrary
from skillstack.skills.networks import MLPActor

runner = CliRunner()


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real console entry point (one-line errors and exit codes come from ``main``)."""
    return subprocess.run([sys.executable, "-c", "from skillstack.launch.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture()
def library(tmp_path):
    torch.manual_seed(0)
    skill = Skill("reach_goal", "reach the goal position", "metaworld/reach-v3", MLPActor(39, 4, [16]),
                  spaces.Box(-np.inf, np.inf, (39,), np.float64), spaces.Box(-1, 1, (4,), np.float32),
                  provenance={"algo": "bc", "steps": 1, "seed": 0}, metrics={"success_rate": 0.5, "n_episodes": 2})
    SkillLibrary(tmp_path / "lib").save(skill)
    return tmp_path / "lib"


def test_skills_list_shows_name_description_success_provenance(library):
    r = runner.invoke(app, ["skills", "list", "--library", str(library)], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert "reach_goal" in r.output and "reach the goal position" in r.output
    assert "0.50" in r.output and "bc" in r.output


def test_eval_writes_table_and_json(library, tmp_path):
    out = tmp_path / "res.json"
    r = runner.invoke(app, ["eval", "reach_goal", "-n", "2", "--json", str(out), "--library", str(library)],
                      terminal_width=200)
    assert r.exit_code == 0, r.output
    assert "success rate" in r.output
    d = json.loads(out.read_text())
    assert d["n_episodes"] == 2 and 0.0 <= d["success_rate"] <= 1.0 and len(d["episodes"]) == 2


def test_unknown_skill_one_line_error_no_traceback(library):
    r = _cli("eval", "reach_goel", "--library", str(library))
    assert r.returncode == 2
    assert "did you mean 'reach_goal'" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 3


def test_unknown_env_and_algo_at_train(tmp_path):
    r = _cli("train", "metaworld/drawer-opn-v3", "--algo", "bc", "--run-dir", str(tmp_path / "run"),
             "--no-register")
    assert r.returncode == 2 and "did you mean 'metaworld/drawer-open-v3'" in r.stderr
    assert "Traceback" not in r.stderr
    r = _cli("train", "metaworld/drawer-open-v3", "--algo", "sacd", "--run-dir", str(tmp_path / "run"),
             "--no-register")
    assert r.returncode == 2 and "did you mean 'sac'" in r.stderr
    assert not (tmp_path / "run").exists()


def test_train_into_existing_run_dir_refuses(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    r = _cli("train", "metaworld/reach-v3", "--algo", "bc", "--steps", "5", "--run-dir", str(run), "--no-register")
    assert r.returncode == 2 and "--resume" in r.stderr
    assert (run / "config.json").read_text() == "{}"


@pytest.mark.render
def test_eval_video_is_written(library, tmp_path):
    import imageio.v3 as iio

    video = tmp_path / "v.mp4"
    r = runner.invoke(app, ["eval", "reach_goal", "-n", "1", "--video", str(video), "--video-episodes", "1",
                            "--library", str(library)])
    assert r.exit_code == 0, r.output
    frames = iio.imread(video)
    assert frames.ndim == 4 and frames.shape[0] > 10 and frames.shape[-1] == 3
    assert frames[:, 40:, :, :].std() > 1.0  # the scene is rendered, not a blank frame


def test_rollout_instruction_with_the_oracle_logs_every_decision(tmp_path):
    out = tmp_path / "r.json"
    r = _cli("rollout", "--scene", "tabletop", "--instruction", "open the drawer, then press the button",
             "--planner", "oracle", "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "goal from instruction suite entry struct-02" in r.stdout
    d = json.loads(out.read_text())
    res = d["results"][0]
    assert d["goal"] == {"drawer_open": True, "button_pressed": True}
    choices = [x["choice"] for x in res["decisions"]]  # replanning may add a recovery step (e.g. drawer nudged)
    # both orders are 2-skill plans: the tie breaks by the first skill's affordance
    tied = res["decisions"][0]["info"]["tied_first_skills"]
    assert set(tied) == {"open_drawer", "press_button"} and choices[0] == max(tied, key=tied.get)
    assert f"→ {choices[0]}" in r.stdout
    assert {"open_drawer", "press_button"} <= set(choices) and choices[-1] == "done"
    assert all(len(x["scores"]) == 11 for x in res["decisions"]) and res["success"]
    # the log names the library and the version of every candidate skill it ran with (reproducing a table needs both)
    from skillstack.envs.scenes import ASSETS

    shipped = SkillLibrary(ASSETS / "skills")
    assert os.path.samefile(d["library"], ASSETS / "skills")
    assert len(d["skill_versions"]) == 10  # every tabletop skill (the 11th candidate is done)
    assert all(v == shipped.versions(n)[-1] for n, v in d["skill_versions"].items())


@pytest.mark.parametrize("args, message", [
    (["--instruction", "open the drawer", "--planner", "saycann"], "did you mean 'saycan'"),
    (["--instruction", "open the drawer", "--plan", "open_drawer"], "exactly one of --plan"),
    (["--instruction", "   "], "--instruction is empty"),
    (["--instruction", "do a dance", "--planner", "oracle"], "planner 'oracle' needs goal predicates"),
    (["--instruction", "open the drawer", "--backend", "hf-causal", "--model", "/nonexistent/model"],
     "local transformers model directory"),
    (["--instruction", "open the drawer", "--backend", "openai-compatible", "--base-url", "http://127.0.0.1:9/v1"],
     "cannot reach the language-model server"),
    (["--instruction", "open the drawer", "--planner", "learned", "--backend", "embedding"],
     "apply to planners with a language model"),
])
def test_rollout_instruction_bad_input_is_one_clear_line(tmp_path, args, message):
    out = tmp_path / "r.json"
    r = _cli("rollout", "--scene", "tabletop", *args, "--json", str(out))
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not out.exists()


@pytest.mark.render
def test_robosuite_skill_video_has_the_overlay_and_the_scene(tmp_path):
    """Video export of a shipped robosuite skill: robosuite's offscreen renderer, the same overlay as Meta-World
    videos (black text band with the skill name on top, success square turning green once the cube is lifted)."""
    pytest.importorskip("robosuite")
    import imageio.v3 as iio

    video = tmp_path / "lift.mp4"
    r = runner.invoke(app, ["eval", "lift_cube", "-n", "1", "--video", str(video), "--video-episodes", "1"])
    assert r.exit_code == 0, r.output
    frames = iio.imread(video)
    assert frames.ndim == 4 and frames.shape[0] > 10 and frames.shape[1:] == (480, 480, 3)
    band = frames[:, :30, : 400].astype(float)
    assert band.mean() < 60 and band.max() > 200  # black band with white text
    assert frames[:, 60:, :, :].std() > 10.0  # the robot and the table are rendered
    square = frames[-1, 8:18, -20:-10].reshape(-1, 3).mean(0)
    assert square[1] > 150 and square[0] < 120, square  # green: success at the last frame


def test_train_affordance_env_override_is_checked_before_any_execution(library):
    r = _cli("skills", "train-affordance", "reach_goal", "reach_goal", "--env", "metaworld/reach-v3",
             "--library", str(library))
    assert r.returncode == 2 and "--env sets the starts of one skill" in r.stderr, r.stderr
    r = _cli("skills", "train-affordance", "reach_goal", "--env", "metaworld/reach-v33", "--library", str(library))
    assert r.returncode == 2 and "did you mean 'metaworld/reach-v3'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    r = _cli("skills", "train-affordance", "reach_goal", "--env", "metaworld/push-v3", "--library", str(library))
    assert r.returncode == 2 and "is not a version of reach_goal's env metaworld/reach-v3" in r.stderr, r.stderr


def test_eval_env_override_runs_there_and_refuses_other_skills_envs_and_spaces(library, tmp_path):
    out = tmp_path / "res.json"
    r = runner.invoke(app, ["eval", "reach_goal", "-n", "1", "--env", "metaworld/reach-v3", "--json", str(out),
                            "--library", str(library)], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["env_id"] == "metaworld/reach-v3" and "(in metaworld/reach-v3)" in r.output
    r = _cli("eval", "reach_goal", "--env", "metaworld/push-v3", "--library", str(library))
    assert r.returncode == 2 and "is not a version of reach_goal's env metaworld/reach-v3" in r.stderr, r.stderr
    r = _cli("eval", "metaworld/reach-v3", "--expert", "--env", "metaworld/reach-v3")
    assert r.returncode == 2 and "with --expert NAME is the env" in r.stderr, r.stderr
    wide = Skill("reach_wide", "reach with a longer observation", "metaworld/reach-v3", MLPActor(40, 4, [8]),
                 spaces.Box(-np.inf, np.inf, (40,), np.float64), spaces.Box(-1, 1, (4,), np.float32),
                 provenance={"algo": "bc", "steps": 1, "seed": 0})
    SkillLibrary(library).save(wide)
    r = _cli("eval", "reach_wide", "--env", "metaworld/reach-v3", "--library", str(library))
    assert r.returncode == 2 and "observation shape (39,), but reach_wide v1 was trained on (40,)" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_bench_skills_train_eval_episodes_and_first_seed_reach_the_units(tmp_path):
    """``bench skills --train --eval-episodes N --seed S``: the stop rule and the kept best policy are judged on N
    episodes (the unit records it, so a finished unit with another N is never reused), training seed S with its
    own evaluation block, and N < 1 is refused before any run."""
    out = tmp_path / "b"
    args = ["bench", "skills", "--train", "--skills", "metaworld/reach-v3", "--algo", "bc", "--steps", "20",
            "--eval-every", "20", "--n-demos", "1", "--episodes", "1", "--seeds", "1", "--seed", "2",
            "--backend", "inline", "--stop-at-success", "2", "--out", str(out)]
    r = runner.invoke(app, [*args, "--eval-episodes", "3"])
    assert r.exit_code == 0, r.output
    run = out / "runs" / "metaworld_reach-v3" / "bc-s2"
    unit = json.loads((run / "bench_unit.json").read_text())
    assert unit["unit"]["eval_episodes"] == 3 and unit["unit"]["seed"] == 2
    assert unit["episodes"][0]["seed"] == SKILLS_BENCH_SEED_BASE + 200_000
    assert json.loads((run / "config.json").read_text())["eval_episodes"] == 3
    r = _cli(*args[:-1], str(tmp_path / "c"), "--eval-episodes", "0")
    assert r.returncode != 0 and "eval_episodes and final_eval_episodes must be ≥ 1" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "c").exists()


def test_bench_skills_train_passes_the_demo_filter_to_the_units(tmp_path):
    """``bench skills --train --demo-filter success`` reaches each unit's training config (and so its reuse key);
    an unknown filter is refused with the valid names."""
    out = tmp_path / "b"
    args = ["bench", "skills", "--train", "--skills", "metaworld/reach-v3", "--algo", "bc", "--steps", "20",
            "--eval-every", "20", "--n-demos", "2", "--episodes", "1", "--seeds", "1", "--eval-episodes", "1",
            "--backend", "inline", "--stop-at-success", "2", "--out", str(out)]
    r = runner.invoke(app, [*args, "--demo-filter", "success"])
    assert r.exit_code == 0, r.output
    run = out / "runs" / "metaworld_reach-v3" / "bc-s0"
    assert json.loads((run / "bench_unit.json").read_text())["unit"]["train_options"] == {"demo_filter": "success"}
    assert json.loads((run / "config.json").read_text())["demo_filter"] == "success"
    r = _cli(*args[:-1], str(tmp_path / "c"), "--demo-filter", "succes")
    assert r.returncode != 0 and "success" in r.stderr and "Traceback" not in r.stderr
