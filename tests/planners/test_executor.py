from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from skillstack.envs import UnknownNameError
from skillstack.planners.executor import execute_plan, load_plan_skills
from skillstack.skills.library import SkillLibrary, default_library_path

LIB = SkillLibrary(default_library_path())
CHAIN = ["open_drawer", "pick_red_block", "place_in_drawer", "close_drawer"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skillstack.launch.cli", *args], capture_output=True, text=True,
                          timeout=600)


def test_unknown_skill_in_plan_lists_valid_names():
    with pytest.raises(UnknownNameError, match="did you mean 'pick_red_block'"):
        load_plan_skills(LIB, ["pick_red_blok"], "tabletop")
    with pytest.raises(ValueError, match="empty"):
        load_plan_skills(LIB, [], "tabletop")


def test_metaworld_skill_is_refused_in_the_tabletop_scene():
    with pytest.raises(ValueError, match="not in a tabletop"):
        load_plan_skills(LIB, ["mw_open_drawer"], "tabletop")


@pytest.mark.parametrize("args, msg", [
    (["--plan", "pick_red_blok"], "did you mean 'pick_red_block'"),
    (["--plan", "open_drawer", "--scene", "kitchen"], "valid scene names: robosuite-pickplace, tabletop"),
    (["--plan", "open_drawer", "--task", "nope"], "valid tabletop task names"),
])
def test_rollout_cli_bad_input_one_line(args, msg):
    r = _cli("rollout", *args)
    assert r.returncode == 2
    assert msg in r.stderr and "Traceback" not in r.stderr


def test_execution_stops_at_first_failed_skill():
    # nothing is held at the start, so place_in_bin cannot succeed; pick_red_block must not run
    r = execute_plan(["place_in_bin", "pick_red_block"], LIB, "tabletop", seed=0)
    assert not r.success and r.failed_skill == "place_in_bin"
    assert [e.skill for e in r.executions] == ["place_in_bin"]
    ex = r.executions[0]
    assert ex.steps == LIB.load("place_in_bin").max_steps and not ex.success
    assert ex.affordance is not None and ex.affordance < 0.5


def test_same_seed_same_execution():
    a = execute_plan(CHAIN[:2], LIB, "tabletop", seed=5)
    b = execute_plan(CHAIN[:2], LIB, "tabletop", seed=5)
    assert a.to_dict() == b.to_dict()


@pytest.mark.render
def test_rollout_cli_prints_affordances_and_writes_video(tmp_path):
    out = tmp_path / "chain.mp4"
    r = _cli("rollout", "--scene", "tabletop", "--plan", ",".join(CHAIN), "--task", "red_block_in_drawer",
             "--video", str(out), "--json", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    for name in CHAIN:
        assert f"→ {name}  affordance " in r.stdout
    assert out.stat().st_size > 10_000
    import imageio.v3 as iio

    frames = iio.imread(out)
    assert frames.shape[0] > 100 and frames[len(frames) // 2].std() > 10


class _Stubborn:
    """Chooses ``skill`` whenever it is offered, else done (close_drawer on a closed drawer: the loop the guard
    must stop; place_in_drawer with an empty hand: a failure that changes no predicate)."""

    def __init__(self, skill: str = "close_drawer") -> None:
        self.skill = skill

    def reset(self, context):
        self.offers = []

    def plan_step(self, instruction, history, observation, candidates):
        from skillstack.planners.base import CandidateScore, Decision

        names = [c.name for c in candidates]
        self.offers.append(names)
        choice = self.skill if self.skill in names else "done"
        return Decision(choice, [CandidateScore(n, float(n == choice), 1.0, float(n == choice)) for n in names])


def test_loop_guard_withholds_a_skill_that_changed_nothing():
    from skillstack.planners.executor import run_instruction

    planner = _Stubborn()
    r = run_instruction("close the drawer", planner, LIB, "tabletop", seed=0, task="red_block_in_drawer")
    # the drawer starts closed: close_drawer succeeds at once and changes nothing, so it is not offered again
    assert [e.skill for e in r.executions] == ["close_drawer"]
    assert r.ended_by == "done" and r.loops_prevented == 1
    assert "close_drawer" in planner.offers[0] and "close_drawer" not in planner.offers[1]
    assert r.decisions[1]["info"]["blocked"] == ["close_drawer"]


def test_a_failed_skill_is_retried_even_if_it_changed_nothing():
    from skillstack.planners.executor import run_instruction

    planner = _Stubborn("place_in_drawer")
    r = run_instruction("put the block in the drawer", planner, LIB, "tabletop", seed=0, max_retries=1)
    # a failure is not a no-op loop: it is offered again (one retry), then the retry budget ends the episode
    assert [(e.skill, e.success) for e in r.executions] == [("place_in_drawer", False)] * 2
    assert r.ended_by == "retries" and r.loops_prevented == 0


class _SetupEnv:
    """A scene-like env whose ``begin_skill`` runs ``setup`` control steps first (as the robosuite ready move)."""

    def __init__(self, setup: int) -> None:
        self.setup, self.setup_steps, self.predicates, self.seen = setup, 0, {"done": False}, []

    def begin_skill(self, env_id, on_step=None):
        self.setup_steps = self.setup
        for _ in range(self.setup):
            if on_step is not None:
                on_step()
        return np.full(3, 7.0) if self.setup else None

    def step(self, action):
        return np.zeros(3), 0.0, False, False, {"predicates": {"done": True}}

    def skill_succeeded(self, env_id, start, p):
        return p["done"]


class _RecordingSkill:
    """The part of a Skill that ``run_skill`` uses; records the observations its policy is given."""

    name, env_id, max_steps = "s", "x/s-v0", 5

    def __init__(self) -> None:
        self.seen: list[list[float]] = []

    def reset(self) -> None:
        pass

    def predict(self, obs):
        self.seen.append(np.asarray(obs).tolist())
        return np.zeros(2, dtype=np.float32)


def test_run_skill_begins_the_skill_in_the_scene_and_counts_its_setup():
    from skillstack.planners.executor import run_skill

    for setup, first_obs in ((4, 7.0), (0, 1.0)):
        skill, frames = _RecordingSkill(), []
        _, ex = run_skill(_SetupEnv(setup), skill, np.ones(3), None, on_frame=frames.append)
        assert ex.success and ex.steps == 1 and ex.setup_steps == setup
        assert skill.seen[0] == [first_obs] * 3  # the policy starts from the observation after the setup
        assert len(frames) == setup + 1  # the setup's control steps are filmed too


def test_scene_skills_are_described_by_the_scene_whatever_their_training_run_recorded(tmp_path):
    """A skill trained in a variant env records that env's description (``pick_can-v2``: "…, leaving the other
    objects standing"); the planner must still score it with the scene's own text for it."""
    from dataclasses import replace

    from skillstack.envs import get_scene
    from skillstack.planners.executor import library_candidates

    scene = get_scene("tabletop")
    lib = SkillLibrary(tmp_path / "lib")
    lib.save(replace(LIB.load("open_drawer"), description="pull the drawer open, gently", version=None))
    lib.save(replace(LIB.load("close_drawer"), version=None))
    candidates, skills = library_candidates(lib, scene)
    text = {c.name: c.description for c in candidates}
    assert text["open_drawer"] == scene.skills["open_drawer"] != "pull the drawer open, gently"
    assert text["close_drawer"] == scene.skills["close_drawer"]
    assert skills["open_drawer"].description == scene.skills["open_drawer"] and skills["open_drawer"].version == 1
    assert lib.load("open_drawer").description == "pull the drawer open, gently"  # the artifact is untouched
