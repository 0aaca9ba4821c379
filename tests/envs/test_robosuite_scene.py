"""The robosuite PickPlace scene: predicates, skill envs and their start distributions, scripted skill oracles."""

from __future__ import annotations

import numpy as np
import pytest

from skillstack.envs import UnknownNameError, env_names, env_spec, make_env
from skillstack.skills.experts import make_expert

pytest.importorskip("robosuite")

from skillstack.envs.robosuite_scene import (  # noqa: E402
    PICK_OTHERS_IN_BIN,
    READY_TOLERANCE,
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


def _tilt_deg(quat) -> float:
    """Angle [deg] between the hand's approach axis (z of the (x, y, z, w) quaternion) and straight down."""
    from scipy.spatial.transform import Rotation

    return float(np.degrees(np.arccos(-Rotation.from_quat(quat).as_matrix()[2, 2])))


def test_hold_is_per_skill_and_version():
    from skillstack.envs.robosuite_scene import SCENE_ENV_ID

    assert SCENE_ENV_ID.endswith("-v1") and env_spec(f"{SKILL_PREFIX}pick_can").name.endswith("-v1")
    old = make_env(f"{SKILL_PREFIX}pick_can-v0").unwrapped
    new = make_env(f"{SKILL_PREFIX}pick_can-v1").unwrapped
    assert (old.others_in_bin, new.others_in_bin) == (0.5, PICK_OTHERS_IN_BIN)
    place = make_env(f"{SKILL_PREFIX}place_can-v1")
    assert place.unwrapped.others_in_bin == 0.5
    place.close()
    for env in (old, new):
        env.reset(seed=0)
    act = np.array([0.0, 0.0, 0.0, 0.3, -0.2, 0.1, -1.0])
    np.testing.assert_array_equal(old._controller_action(act), act)  # -v0: the policy's roll and pitch
    held = new._controller_action(act)
    assert held[3:5].tolist() != act[3:5].tolist() and held[[0, 1, 2, 5, 6]].tolist() == act[[0, 1, 2, 5, 6]].tolist()
    new.begin_skill(f"{SKILL_PREFIX}place_can")  # place skills keep theirs
    np.testing.assert_array_equal(new._controller_action(act), act)
    assert new.begin_skill(f"{SKILL_PREFIX}pick_can") is None  # already at the ready pose: nothing moves
    with pytest.raises(UnknownNameError):
        new.begin_skill(f"{SKILL_PREFIX}open_can")
    old.close()
    new.close()


def test_vertical_hold_turns_the_approach_axis_down_and_leaves_yaw():
    from scipy.spatial.transform import Rotation

    from skillstack.envs.robosuite_control import OSC_ROT_LIMIT, vertical_hold

    down = Rotation.from_rotvec([np.pi, 0.0, 0.0])
    np.testing.assert_allclose(vertical_hold(down.as_quat()), 0.0, atol=1e-6)
    yawed = Rotation.from_rotvec([0.0, 0.0, 0.7]) * down  # yaw alone is not a tilt
    np.testing.assert_allclose(vertical_hold(yawed.as_quat()), 0.0, atol=1e-6)
    for rotvec in ([0.2, 0.0, 0.0], [0.0, -0.1, 0.0], [0.1, 0.15, 0.0]):
        tilted = Rotation.from_rotvec(rotvec) * yawed
        np.testing.assert_allclose(vertical_hold(tilted.as_quat()), -np.asarray(rotvec[:2]) / OSC_ROT_LIMIT,
                                   atol=1e-5)
    assert np.all(np.abs(vertical_hold((Rotation.from_rotvec([1.2, 0.0, 0.0]) * down).as_quat())) <= 1.0)


def test_oracle_plan_can_then_milk_in_the_scene(scene):
    """Small version of the oracle plan pick_can, place_can, pick_milk from a seeded layout, begun as the executor
    begins skills. The place into the can's far quarter leaves the hand tilted and the arm stretched (the arm
    trades orientation for reach); before the next pick the arm moves to the ready pose without disturbing the
    placed can, and during picks the scene holds the hand vertical, so the pick grasps top-down again."""
    obs, _ = scene.reset(seed=1)
    layout = scene.obs_layout["robot0_eef_quat"]
    for skill, cap in (("pick_can", 120), ("place_can", 150), ("pick_milk", 120)):
        expert = make_expert(f"{SKILL_PREFIX}{skill}")
        moved = scene.begin_skill(f"{SKILL_PREFIX}{skill}-v1")
        if skill == "place_can":
            assert moved is None  # places start where the pick left the arm
        elif skill == "pick_milk":  # after the far-quarter place: the joint-space move to the ready pose
            robot = scene.rs_env.robots[0]
            q = scene.rs_env.sim.data.qpos[robot._ref_joint_pos_indexes]
            np.testing.assert_allclose(q, robot.init_qpos, atol=READY_TOLERANCE)
            assert moved is not None and scene.predicates["in_bin(can)"] and scene.predicates["hand_empty"]
            obs = moved
        start = dict(scene.predicates)
        for _ in range(cap):
            obs, _, _, truncated, info = scene.step(expert.predict(obs))
            assert not truncated
            if scene.skill_succeeded(skill, start, info["predicates"]):
                break
        assert scene.skill_succeeded(skill, start, info["predicates"]), skill
        if skill == "place_can":
            assert info["predicates"]["in_bin(can)"] and info["predicates"]["hand_empty"]
            assert _tilt_deg(obs[layout]) > 10.0  # the reach-limited tilt that the hold is there for
        else:
            assert _tilt_deg(obs[layout]) < 3.0, skill


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


def test_a_pick_begun_with_an_object_in_the_hand_keeps_it(scene):
    """The ready move opens the fingers, so it must not run while something is held (a pick cannot apply there;
    before this fix a pick chosen while holding dropped the object, and so did the ``start="any"`` affordance
    starts "lifted" and "other_held")."""
    obs, _ = scene.reset(seed=3)
    obs = scene.run_scripted(obs, "pick_can", 120)
    obs = scene.move_arm_randomly(obs, np.random.default_rng(0), grip=1.0)
    robot = scene.rs_env.robots[0]
    q = scene.rs_env.sim.data.qpos[robot._ref_joint_pos_indexes]
    assert np.max(np.abs(q - robot.init_qpos)) > READY_TOLERANCE  # off the ready pose: an empty hand would move
    assert scene.read_predicates()["holding(can)"]
    assert scene.begin_skill(f"{SKILL_PREFIX}pick_milk-v1") is None and scene.setup_steps == 0
    assert scene._holding_vertical and scene.read_predicates()["holding(can)"]
    assert scene.begin_skill(f"{SKILL_PREFIX}pick_milk-v0") is None and not scene._holding_vertical  # as trained
    scene.move_to_ready()  # called directly: the fingers stay closed on what they hold
    assert scene.read_predicates()["holding(can)"]


def test_affordance_starts_are_recorded_before_the_ready_move():
    env = make_env(f"{SKILL_PREFIX}pick_milk-v1")
    moved = 0
    for seed in range(12):
        obs, info = env.reset(seed=seed, options={"start": "precondition"})
        if env.unwrapped.setup_steps:
            moved += 1
            assert not np.allclose(info["decision_observation"], obs)
        else:
            np.testing.assert_array_equal(info["decision_observation"], obs)
    env.close()
    assert moved > 0


def test_reset_builds_a_discrete_state_of_the_domain(scene):
    from skillstack.envs.robosuite_domain import PICKPLACE_DOMAIN

    want = {"milk": "out", "bread": "out", "cereal": "bin", "can": "hand"}
    _, info = scene.reset(seed=5, options={"state": want})
    assert info["state_built"] and PICKPLACE_DOMAIN.state_of(info["predicates"]) == want
    assert info["predicates"]["lifted(can)"]  # the scripted pick ends lifted
    _, info = scene.reset(seed=5, options={"state": want, "hand": "random"})  # then carried somewhere (maybe low)
    assert info["state_built"] and PICKPLACE_DOMAIN.state_of(info["predicates"]) == want
    with pytest.raises(ValueError, match="at most one 'hand'"):
        scene.reset(seed=5, options={"state": {**want, "milk": "hand"}})
    with pytest.raises(ValueError, match="valid: 'random'"):
        scene.reset(seed=5, options={"hand": "left"})


def test_source_bin_is_read_from_the_model(scene):
    inner, top = scene.source_bin.inner, scene.source_bin.wall_top
    np.testing.assert_allclose(inner, (-0.09, 0.29, -0.49, -0.01), atol=1e-9)  # bin1 at (0.1, -0.25), 1 cm walls
    assert top == pytest.approx(0.9)


def test_pick_oracle_turns_the_hand_off_the_wall_for_bread_near_it():
    """Seed 0 of pick_bread: the bread 8 cm from the bin's wall at y = -0.49. With the fingers closing along y the
    hand's end lands on the wall's top edge and the pick stalls 1.6 cm too high (the oracle without surroundings);
    the oracle turns the hand along the wall and lifts the bread."""
    from skillstack.envs.robosuite_control import pick_place_action
    from skillstack.envs.robosuite_scene import PickPlaceSkillController

    env = make_env(f"{SKILL_PREFIX}pick_bread")
    base = env.unwrapped
    oracle = PickPlaceSkillController("pick_bread", env=base, clear_approach=False)  # the yaw turn alone
    results = []
    for surroundings in (True, False):
        obs, _ = env.reset(seed=0)
        assert base.object_pos("bread")[1] - base.source_bin.inner[2] < 0.1
        for _ in range(60):
            action = oracle.predict(obs)
            if not surroundings:  # the same call without the walls and neighbours: the yaw is left as it is
                get = {k: obs[v] for k, v in base.obs_layout.items()}
                q = get["robot0_gripper_qpos"]
                action = pick_place_action(get["robot0_eef_pos"], get["robot0_eef_quat"], float(q[0] - q[1]),
                                           float(np.abs(get["robot0_gripper_qvel"]).max()) < 0.01,
                                           get["Bread_pos"], get["Bread_quat"], oracle.geometry, oracle.target,
                                           oracle.rest, stage="pick")
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        results.append(info["success"])
    env.close()
    assert results == [True, False]


def test_start_staging_keeps_the_oracle_the_skill_envs_were_versioned_with(monkeypatch):
    """The skill envs stage their starts (the object picked for a place start) with the pick oracle as it was when
    their versions were fixed: the clearance turn is the expert's (demonstrations), never the env's."""
    import skillstack.envs.robosuite_control as control
    from skillstack.envs.robosuite_scene import PickPlaceSkillController

    def refuse(*args, **kwargs):
        raise AssertionError("start staging used the clearance-aware grasp yaw")

    monkeypatch.setattr(control, "clear_grasp_yaw_error", refuse)
    env = make_env(f"{SKILL_PREFIX}place_bread")
    obs, _ = env.reset(seed=0)  # a place start: the scripted pick of the bread ran inside reset
    with pytest.raises(AssertionError, match="clearance-aware"):
        PickPlaceSkillController("pick_bread", env=env.unwrapped).predict(obs)  # the expert does turn
    env.close()


def test_v2_place_starts_are_staged_by_the_pinned_learned_pick(monkeypatch):
    """``place_<o>-v2`` stages a share of its starts with the shipped learned pick (the grasp a place meets inside a
    plan), the rest with the scripted pick of ``-v1``; both seeded, and the choice is reproducible."""
    from skillstack.envs.robosuite_scene import LEARNED_PICK_SHARE, STAGING_PICKS, PickPlaceSkillEnv

    assert env_spec(f"{SKILL_PREFIX}place_bread-v2").kwargs["learned_pick_share"] == LEARNED_PICK_SHARE
    assert set(STAGING_PICKS) == set(SCENE_OBJECTS)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        PickPlaceSkillEnv("place_bread", learned_pick_share=1.5)
    with pytest.raises(ValueError, match="place skills only"):
        PickPlaceSkillEnv("pick_bread", learned_pick_share=0.5)
    env = make_env(f"{SKILL_PREFIX}place_bread-v2")
    u = env.unwrapped
    calls = []
    original = type(u).run_learned_pick

    def spy(self, obs):
        calls.append(self.staging_pick)
        return original(self, obs)

    monkeypatch.setattr(type(u), "run_learned_pick", spy)
    staged, scripted = [], []
    held = []
    for seed in range(6):
        n = len(calls)
        obs, info = env.reset(seed=seed)
        (staged if len(calls) > n else scripted).append((seed, obs))
        if len(calls) > n:
            held.append(info["applicable"])
    assert staged and scripted  # both start distributions occur in a handful of seeds
    assert any(held)  # the learned pick really grasped the bread (a pick that did nothing would leave it unheld)
    name, version = STAGING_PICKS["bread"]
    assert u._staging_skill.name == name and u._staging_skill.version == version
    seed, obs = staged[0]
    again, _ = env.reset(seed=seed)
    np.testing.assert_array_equal(obs, again)
    env.close()


def test_v3_and_later_place_envs_pin_their_picks():
    """``place_<o>-vN`` (N ≥ 3) exists only for the objects of its :data:`PLACE_STAGING_PICKS` entry and stages with
    that pick: present in ``assets/skills`` and cloned for the same object; each version differs from every earlier
    one of its object in its pin or its start options (:data:`PLACE_STAGING_STARTS`, else ``-v2``'s); a staging pick
    of another object, or on a pick env, is refused."""
    from skillstack.envs.robosuite_scene import (
        PICK_OTHERS_IN_BIN,
        PLACE_STAGING_PICKS,
        PLACE_STAGING_STARTS,
        STAGING_PICKS,
        PickPlaceSkillEnv,
    )
    from skillstack.envs.scenes import ASSETS
    from skillstack.skills.library import SkillLibrary

    assert PLACE_STAGING_PICKS["v2"] is STAGING_PICKS
    assert list(PLACE_STAGING_PICKS) == ["v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"]
    assert PLACE_STAGING_STARTS == {
        "v5": {"learned_pick_share": 1.0, "others_in_bin": PICK_OTHERS_IN_BIN},
        "v6": {"learned_pick_share": 1.0, "others_in_bin": 0.5},
        "v7": {"learned_pick_share": 1.0, "others_in_bin": 0.5, "stage_others": "expert"},
        "v8": {"learned_pick_share": 1.0, "others_in_bin": 0.5},
        "v9": {"learned_pick_share": 1.0, "others_in_bin": 0.5, "stage_others": "expert"}}
    lib = SkillLibrary(ASSETS / "skills")
    start_keys = ("staging_pick", "learned_pick_share", "others_in_bin", "stage_others")
    for i, (version, pins) in enumerate(list(PLACE_STAGING_PICKS.items())[1:]):
        for obj in SCENE_OBJECTS:
            assert (f"{SKILL_PREFIX}place_{obj}-{version}" in env_names()) == (obj in pins)
        for obj, (name, pick_version) in pins.items():
            spec = env_spec(f"{SKILL_PREFIX}place_{obj}-{version}")
            v2 = env_spec(f"{SKILL_PREFIX}place_{obj}-v2").kwargs
            assert spec.kwargs["staging_pick"] == (name, pick_version)
            assert {k: spec.kwargs.get(k, v2.get(k)) for k in start_keys[1:]} == {
                k: PLACE_STAGING_STARTS.get(version, {}).get(k, v2.get(k)) for k in start_keys[1:]}
            starts = {k: spec.kwargs.get(k) for k in start_keys}
            for old in list(PLACE_STAGING_PICKS)[1:i + 1]:
                if obj in PLACE_STAGING_PICKS[old]:
                    assert starts != {k: env_spec(f"{SKILL_PREFIX}place_{obj}-{old}").kwargs.get(k) for k in start_keys}
            assert STAGING_PICKS.get(obj) != (name, pick_version)  # -v2's pin
            assert lib.manifest(name, pick_version)["env_id"].startswith(f"{SKILL_PREFIX}pick_{obj}-")
    assert PickPlaceSkillEnv("place_bread").staging_pick == STAGING_PICKS["bread"]
    with pytest.raises(ValueError, match="pick_bread version"):
        PickPlaceSkillEnv("place_bread", staging_pick=("pick_milk", 14))
    with pytest.raises(ValueError, match="pick_milk version"):
        PickPlaceSkillEnv("pick_milk", staging_pick=("pick_milk", 14))


def test_expert_staging_puts_the_others_in_their_bins_by_pick_and_place(monkeypatch):
    """``stage_others="expert"`` (the ``-v7`` place envs): an other object drawn to start in its bin gets there by the
    registered expert's pick and place (never :meth:`put_in_bin`'s teleport), so it lands where a place leaves it;
    an unknown mode is refused with the valid ones."""
    from skillstack.envs.robosuite_scene import PickPlaceScene, PickPlaceSkillEnv

    with pytest.raises(ValueError, match="'teleport', 'expert'"):
        PickPlaceSkillEnv("place_cereal", stage_others="drop")

    def refuse(*args, **kwargs):
        raise AssertionError("expert staging teleported an object")

    staged = []
    original = PickPlaceScene.run_policy

    def record(self, obs, policy, skill_env_id, max_steps):
        staged.append(skill_env_id)
        return original(self, obs, policy, skill_env_id, max_steps)

    monkeypatch.setattr(PickPlaceScene, "put_in_bin", refuse)
    monkeypatch.setattr(PickPlaceScene, "run_policy", record)
    env = PickPlaceSkillEnv("place_cereal", others_in_bin=1.0, stage_others="expert")
    _, info = env.reset(seed=3)
    others = [o for o in SCENE_OBJECTS if o != "cereal"]
    assert staged[:2 * len(others)] == [f"{k}_{o}" for o in others for k in ("pick", "place")]
    assert all(info["predicates"][f"in_bin({o})"] for o in others)  # the expert placed all three on this seed
    assert info["applicable"]  # then the staging pick grasped the cereal box
    env.close()


def test_v3_pick_can_starts_half_a_plans_first_pick():
    """``pick_can-v3``: a start is a plan's first pick (every other object in the source bin, the arm where the scene's
    reset left it) with probability :data:`FIRST_PICK_SHARE`, drawn from its own stream; every other start is the
    ``-v2`` start of the same seed, observation for observation. Only the can and the bread have a ``-v3`` pick env."""
    from skillstack.envs.robosuite_scene import FIRST_PICK_OBJECTS, FIRST_PICK_SHARE, PickPlaceScene, PickPlaceSkillEnv

    assert FIRST_PICK_OBJECTS == ("can", "bread")
    assert env_spec(f"{SKILL_PREFIX}pick_can-v3").kwargs["first_pick_share"] == FIRST_PICK_SHARE
    for obj in SCENE_OBJECTS:  # -v3 picks exist for FIRST_PICK_OBJECTS only, with the same start option
        assert (f"{SKILL_PREFIX}pick_{obj}-v3" in env_names()) == (obj in FIRST_PICK_OBJECTS)
    assert env_spec(f"{SKILL_PREFIX}pick_bread-v3").kwargs["first_pick_share"] == FIRST_PICK_SHARE
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        PickPlaceSkillEnv("pick_can", first_pick_share=-0.1)
    with pytest.raises(ValueError, match="pick skills only"):
        PickPlaceSkillEnv("place_can", first_pick_share=0.5)
    v2, v3 = make_env(f"{SKILL_PREFIX}pick_can-v2"), make_env(f"{SKILL_PREFIX}pick_can-v3")
    scene = PickPlaceScene()
    first, other = 0, 0
    for seed in range(6):
        obs3, info = v3.reset(seed=seed)
        coin = np.random.default_rng([seed, 3]).random() < FIRST_PICK_SHARE
        if coin:
            first += 1
            assert info["applicable"] and not any(info["predicates"][f"in_bin({o})"] for o in SCENE_OBJECTS)
            reset_obs, _ = scene.reset(seed=seed)  # the scene's own reset: same layout, same arm
            np.testing.assert_allclose(info["decision_observation"], reset_obs)
        else:
            other += 1
            np.testing.assert_array_equal(obs3, v2.reset(seed=seed)[0])
    assert first and other  # both kinds occur in a handful of seeds
    for env in (v2, v3, scene):
        env.close()


def test_v4_pick_can_starts_a_third_later_picks():
    """``pick_can-v4``: from one stream, a start is a plan's first pick below ``first_pick_share``, a plan's later pick
    (one other object taken from the full source bin and placed by the expert, the hand empty) below the sum of the
    shares, and otherwise the ``-v2`` start of the same seed. Only the can has a ``-v4`` pick env."""
    from skillstack.envs.robosuite_scene import LATER_PICK_STARTS, PickPlaceScene, PickPlaceSkillEnv

    for obj in SCENE_OBJECTS:
        assert (f"{SKILL_PREFIX}pick_{obj}-v4" in env_names()) == (obj in LATER_PICK_STARTS)
    shares = LATER_PICK_STARTS["can"]
    assert env_spec(f"{SKILL_PREFIX}pick_can-v4").kwargs["later_pick_share"] == shares["later_pick_share"]
    with pytest.raises(ValueError, match="later_pick_share must be"):
        PickPlaceSkillEnv("pick_can", first_pick_share=0.5, later_pick_share=0.6)
    with pytest.raises(ValueError, match="pick skills only"):
        PickPlaceSkillEnv("place_can", later_pick_share=0.5)
    v2, v4 = make_env(f"{SKILL_PREFIX}pick_can-v2"), make_env(f"{SKILL_PREFIX}pick_can-v4")
    scene = PickPlaceScene()
    kinds = set()
    for seed in (0, 1, 2):  # draws 0.895, 0.014, 0.351 on the [seed, 3] stream: -v2, first, later
        obs4, info = v4.reset(seed=seed)
        u = np.random.default_rng([seed, 3]).random()
        p = info["predicates"]
        if u < shares["first_pick_share"]:
            kinds.add("first")
            assert info["applicable"] and not any(p[f"in_bin({o})"] for o in SCENE_OBJECTS)
            np.testing.assert_allclose(info["decision_observation"], scene.reset(seed=seed)[0])
        elif u < shares["first_pick_share"] + shares["later_pick_share"]:
            kinds.add("later")
            placed = [o for o in SCENE_OBJECTS if p[f"in_bin({o})"]]
            assert info["applicable"] and p["hand_empty"] and placed and "can" not in placed and len(placed) == 1
            # the arm is where the expert's place left it, not at the scene's reset
            assert np.abs(info["decision_observation"] - scene.reset(seed=seed)[0]).max() > 0.01
        else:
            kinds.add("v2")
            np.testing.assert_array_equal(obs4, v2.reset(seed=seed)[0])
    assert kinds == {"first", "later", "v2"}
    for env in (v2, v4, scene):
        env.close()


def test_start_staging_places_without_the_experts_carry_clearance(monkeypatch):
    """A pick env's start right after a place is staged by the place oracle as versioned (no ``lift_clear``); the
    expert (demonstrations) lifts a tall object clear of its neighbours."""
    import skillstack.envs.robosuite_control as control
    from skillstack.envs.robosuite_scene import PickPlaceScene, PickPlaceSkillController

    def refuse(*args, **kwargs):
        raise AssertionError("start staging used the carry clearance")

    places = []
    original = PickPlaceScene.run_scripted

    def count(self, obs, skill, max_steps):
        places.append(skill.startswith("place_"))
        return original(self, obs, skill, max_steps)

    monkeypatch.setattr(control, "object_bottom", refuse)
    monkeypatch.setattr(PickPlaceScene, "run_scripted", count)
    env = make_env(f"{SKILL_PREFIX}pick_bread")
    seed = 0
    while not any(places):  # a start staged by a scripted pick and place of another object
        env.reset(seed=seed)
        seed += 1
        assert seed < 20
    assert PickPlaceSkillController("place_cereal").lift_clear == pytest.approx(2 * 0.085 + 0.02)
    assert PickPlaceSkillController("place_cereal", clear_carry=False).lift_clear is None
    env.close()


def test_pick_expert_approaches_above_the_tallest_neighbour_and_staging_does_not(monkeypatch):
    """The pick expert (demonstrations) travels above the tallest neighbour in the source bin (``approach_z``; at
    this reset the cereal box); the skill envs' start staging keeps the oracle they were versioned with (no
    ``approach_z``), also through a real skill-env reset that stages a pick."""
    import skillstack.envs.robosuite_control as control
    from skillstack.envs.robosuite_scene import PickPlaceScene, PickPlaceSkillController

    seen = []
    original = control.funnel_grasp

    def spy(eef, grasp, opening, approach_z=None):
        seen.append(approach_z)
        return original(eef, grasp, opening, approach_z)

    monkeypatch.setattr(control, "funnel_grasp", spy)
    scene = make_env("robosuite/PickPlaceScene", task="can_milk").unwrapped
    obs, _ = scene.reset(seed=0)
    PickPlaceSkillController("pick_can", env=scene).predict(obs)
    top = max(control.object_top(scene.object_pos(o), scene.rs_env.sim.data.body_xquat[
        scene.rs_env.obj_body_id[scene.objects[o].name]][[1, 2, 3, 0]], scene.geometry[o])
        for o in ("milk", "bread", "cereal"))
    assert seen[-1] == pytest.approx(top + control.APPROACH_MARGIN, abs=1e-3)
    seen.clear()
    PickPlaceScene.run_scripted(scene, obs, "pick_can", 3)
    assert seen and all(z is None for z in seen)
    scene.close()
    seen.clear()
    env = make_env(f"{SKILL_PREFIX}place_can")
    env.reset(seed=0)  # a place start: the scripted pick of the can ran inside reset
    assert seen and all(z is None for z in seen)
    env.close()


def _pick_with_the_expert(env, seed: int, knock_over: str | None = None):
    """Reset ``env`` (a pick skill env) and run the scripted expert until the episode ends; with ``knock_over``,
    lay that object on its side in its own quarter of the right bin first (as if the pick had struck it)."""
    from skillstack.envs.robosuite_scene import PickPlaceSkillController

    u = env.unwrapped
    obs, info = env.reset(seed=seed, options={"start": "precondition"})
    assert info["applicable"] and not info["success"]
    if knock_over is not None:
        pos = u.targets[knock_over] + np.array([0.0, 0.0, 0.06])
        u.rs_env.sim.data.set_joint_qpos(u.objects[knock_over].joints[0],
                                         np.r_[pos, np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0])
        u.rs_env.sim.forward()
    expert = PickPlaceSkillController(u.skill, env=u)
    for _ in range(env.spec.max_episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.predict(obs))
        if terminated or truncated:
            break
    return terminated, info


def test_v2_pick_succeeds_only_if_it_leaves_the_others_standing():
    """``pick_<o>-v2``: the ``-v1`` starts, success = ``lifted(o)`` and every other object that stood when the
    policy took over still standing; the episode ends on ``lifted(o)`` either way. ``-v1`` counts the lift alone."""
    from skillstack.envs.robosuite_scene import TOPPLE_TILT_DEG

    v2 = make_env(f"{SKILL_PREFIX}pick_can-v2")
    terminated, info = _pick_with_the_expert(v2, seed=2)
    assert set(v2.unwrapped._standing) == {"milk", "bread", "cereal"}  # this start: every neighbour stands
    assert terminated and info["predicates"]["lifted(can)"]
    assert info["others_standing"] and info["success"]
    terminated, info = _pick_with_the_expert(v2, seed=2, knock_over="milk")
    assert v2.unwrapped.object_tilt("milk") > TOPPLE_TILT_DEG
    assert terminated and info["predicates"]["lifted(can)"]  # the skill's own predicate ends the episode
    assert not info["others_standing"] and not info["success"]
    v2.close()
    v1 = make_env(f"{SKILL_PREFIX}pick_can-v1")
    terminated, info = _pick_with_the_expert(v1, seed=2, knock_over="milk")
    assert terminated and info["success"] and "others_standing" not in info
    v1.close()
    with pytest.raises(ValueError, match="pick skills only"):
        from skillstack.envs.robosuite_scene import PickPlaceSkillEnv

        PickPlaceSkillEnv("place_can", spare_others=True)


def test_make_env_silences_gymnasiums_out_of_date_warning():
    """An earlier skill env version is a fixed benchmark, not a stale release: ``make_env`` builds
    ``pick_bread-v2`` (``-v3`` exists) without gymnasium's "out of date" warning, which ``gymnasium.make`` gives."""
    import warnings

    import gymnasium as gym

    from skillstack.envs.make import resolve_env_id

    name = f"{SKILL_PREFIX}pick_bread-v2"
    for build, warns in ((lambda: gym.make(resolve_env_id(name)), True), (lambda: make_env(name), False)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            env = build()
        env.close()
        assert any("is out of date" in str(w.message) for w in caught) == warns
