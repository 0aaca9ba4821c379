"""The robosuite PickPlace scene: predicates, skill envs and their start distributions, scripted skill oracles."""

from __future__ import annotations

import numpy as np
import pytest

from skillstack.envs import UnknownNameError, env_spec, make_env
from skillstack.skills.experts import make_expert

pytest.importorskip("robosuite")

from skillstack.envs.robosuite_scene import (  # noqa: E402
    SCENE_OBJECTS,
    SCENE_TASKS,
    SKILL_PREFIX,
    PickPlaceScene,
    parse_skill,
    skill_description,
    skill_names,
)


@pytest.fixture(scope="module")
def scene():
    env = PickPlaceScene(task="can_milk")
    yield env
    env.close()


def test_skills_and_tasks_are_registered_with_clear_errors():
    for s in skill_names():
        assert env_spec(f"{SKILL_PREFIX}{s}").description == skill_description(s)
    assert skill_description("place_milk") == "put the milk carton in its bin"
    with pytest.raises(UnknownNameError, match="did you mean 'pick_can'"):
        parse_skill("pick_cam")
    with pytest.raises(UnknownNameError, match="valid robosuite-pickplace task names"):
        PickPlaceScene(task="everything")
    assert SCENE_TASKS["can_milk"].plan == ("pick_can", "place_can", "pick_milk", "place_milk")


def test_reset_predicates_and_goal(scene):
    obs, info = scene.reset(seed=0)
    p = info["predicates"]
    assert p["hand_empty"] and not any(p[f"in_bin({o})"] or p[f"holding({o})"] for o in SCENE_OBJECTS)
    assert info["success"] is False and scene.task.instruction == "put the can and the milk carton in their bins"
    scene.put_in_bin("can")
    assert scene.read_predicates()["in_bin(can)"] and not scene.task.satisfied(scene.read_predicates())
    scene.put_in_bin("milk")
    p = scene.read_predicates()
    assert scene.task.satisfied(p)
    assert scene.skill_succeeded(f"{SKILL_PREFIX}place_milk", p, p)
    assert not scene.skill_succeeded(f"{SKILL_PREFIX}pick_milk", p, p)
    a, _ = scene.reset(seed=4)
    b, _ = scene.reset(seed=4)
    np.testing.assert_array_equal(a, b)


def test_oracle_picks_and_places_the_can_in_the_scene(scene):
    """Small version of the oracle plan: pick_can then place_can from a seeded layout."""
    obs, _ = scene.reset(seed=1)
    for skill, cap in (("pick_can", 120), ("place_can", 150)):
        expert = make_expert(f"{SKILL_PREFIX}{skill}")
        start = dict(scene.predicates)
        for _ in range(cap):
            obs, _, _, truncated, info = scene.step(expert.predict(obs))
            assert not truncated
            if scene.skill_succeeded(skill, start, info["predicates"]):
                break
        assert scene.skill_succeeded(skill, start, info["predicates"]), skill
    assert info["predicates"]["in_bin(can)"] and info["predicates"]["hand_empty"]


def test_place_skill_env_starts_with_the_object_in_the_hand_and_any_starts_vary():
    env = make_env(f"{SKILL_PREFIX}place_milk")
    obs, info = env.reset(seed=0)
    assert info["applicable"] and info["predicates"]["holding(milk)"] and not info["satisfied_at_start"]
    again, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, again)
    seen = set()
    for seed in range(12):
        _, info = env.reset(seed=seed, options={"start": "any"})
        p = info["predicates"]
        seen.add("held" if p["holding(milk)"] else "placed" if p["in_bin(milk)"] else "other")
    assert {"held", "other"} <= seen and "placed" in seen
    env.close()


def test_observation_holds_each_object_relative_to_the_gripper(scene):
    """The skills' object-relative input: ``<Obj>_to_robot0_eef_pos`` is the object's position in the gripper
    frame, ``R(eef_quat)ᵀ (p_obj − p_eef)`` [m] (robosuite's ``world_pose_in_gripper``), for every object."""
    from scipy.spatial.transform import Rotation

    layout = scene.obs_layout
    for seed in (0, 1):
        obs, _ = scene.reset(seed=seed)
        eef, quat = obs[layout["robot0_eef_pos"]], obs[layout["robot0_eef_quat"]]  # quaternion (x, y, z, w)
        for o in SCENE_OBJECTS:
            name = o.capitalize()
            np.testing.assert_allclose(obs[layout[f"{name}_pos"]], scene.object_pos(o), atol=1e-9)
            rel = Rotation.from_quat(quat).inv().apply(scene.object_pos(o) - eef)
            np.testing.assert_allclose(obs[layout[f"{name}_to_robot0_eef_pos"]], rel, atol=1e-3)
