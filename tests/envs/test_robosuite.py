"""robosuite backend: registered tasks are seeded Gymnasium envs with the skillstack checks."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from skillstack.envs import ENVS, UnknownNameError, make_env
from skillstack.envs.robosuite_env import ROBOSUITE_TASKS, RobosuiteEnv

pytest.importorskip("robosuite")


@pytest.fixture(scope="module")
def lift():
    env = make_env("robosuite/Lift")
    yield env
    env.close()


def test_every_task_is_registered_with_description_and_horizon():
    for task, (description, horizon) in ROBOSUITE_TASKS.items():
        spec = ENVS.get(f"robosuite/{task}-v0")
        assert spec.description == description and spec.max_episode_steps == horizon
    assert {"Lift", "Stack", "PickPlaceCan", "Door", "NutAssemblySquare"} <= set(ROBOSUITE_TASKS)
    with pytest.raises(UnknownNameError, match="did you mean 'robosuite/Lift-v0'"):
        make_env("robosuite/Lfit")
    with pytest.raises(UnknownNameError, match="did you mean 'Stack'"):
        RobosuiteEnv("Stak")


def test_seeded_resets_are_reproducible_and_seeds_differ(lift):
    a, info = lift.reset(seed=3)
    b, _ = lift.reset(seed=3)
    c, _ = lift.reset(seed=4)
    assert info == {"success": False, "applicable": True, "satisfied_at_start": False}
    assert a.dtype == np.float64 and a.shape == lift.observation_space.shape == (60,)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[:3], c[:3])  # cube position moved
    # unseeded resets continue the env's own stream: reproducible after a seeded reset, and not all equal
    lift.reset(seed=5)
    first = [lift.reset()[0] for _ in range(2)]
    lift.reset(seed=5)
    second = [lift.reset()[0] for _ in range(2)]
    np.testing.assert_array_equal(np.stack(first), np.stack(second))
    assert not np.array_equal(first[0], first[1])


def test_steps_report_success_and_bad_actions_raise(lift):
    obs, _ = lift.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(10):
        obs, reward, terminated, truncated, info = lift.step(rng.uniform(-1, 1, 7).astype(np.float32))
        assert np.isfinite(obs).all() and np.isfinite(reward)
        assert isinstance(info["success"], bool) and not terminated and not truncated
    before = obs.copy()
    for bad in (np.full(7, np.nan), np.array([np.inf, 0, 0, 0, 0, 0, 0]), np.zeros(4)):
        with pytest.raises(ValueError):
            lift.step(bad)
    np.testing.assert_array_equal(lift.unwrapped._last_obs, before)


def test_gymnasium_env_checker_passes():
    env = RobosuiteEnv("Stack")
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (73,)
    env.close()


def test_observation_layout_matches_robosuites_observables(lift):
    env = lift.unwrapped
    obs, _ = env.reset(seed=1)
    named = env.rs_env._get_observations()
    assert sum(s.stop - s.start for s in env.obs_layout.values()) == obs.size
    for name, s in env.obs_layout.items():
        np.testing.assert_allclose(obs[s], named[name], err_msg=name)


@pytest.mark.parametrize(("task", "seeds"), [("Lift", range(4)), ("Stack", range(2)), ("PickPlaceCan", range(1)),
                                             ("PickPlaceMilk", range(1)), ("PickPlaceCereal", range(1)),
                                             ("Door", range(2)), ("NutAssemblySquare", range(2))])
def test_scripted_oracles_solve_seeded_starts(task, seeds):
    """Small version of the 100-start oracle benchmark (``skillstack eval robosuite/<Task> --expert -n 100``)."""
    from skillstack.skills.evaluate import evaluate
    from skillstack.skills.experts import make_expert

    expert = make_expert(f"robosuite/{task}")
    res = evaluate(expert.predict, f"robosuite/{task}", len(seeds), seed_base=seeds[0])
    assert res.success_rate == 1.0, [e.success for e in res.episodes]


def test_any_start_is_seeded_and_covers_satisfied_and_impossible_states():
    """start="any" (affordance data): reproducible per seed, and it reaches states where Stack's success already
    holds and where cube B sits on cube A (stacking A on B impossible)."""
    env = make_env("robosuite/Stack")
    u = env.unwrapped
    a, info = env.reset(seed=5, options={"start": "any"})
    b, _ = env.reset(seed=5, options={"start": "any"})
    np.testing.assert_array_equal(a, b)
    assert info["applicable"] is False
    _, info = env.reset(seed=5)
    assert info["applicable"] is True and info["satisfied_at_start"] is False
    kinds = set()
    for seed in range(40):
        obs, info = env.reset(seed=seed, options={"start": "any"})
        za, zb = obs[u.obs_layout["cubeA_pos"]][2], obs[u.obs_layout["cubeB_pos"]][2]
        kinds.add("b_on_a" if zb > za + 0.03 else "satisfied" if info["satisfied_at_start"] else "other")
        if len(kinds) == 3:
            break
    assert kinds == {"b_on_a", "satisfied", "other"}
    with pytest.raises(ValueError, match="unknown start"):
        env.reset(seed=0, options={"start": "sometimes"})
    env.close()


def test_grasp_yaw_error_turns_the_fingers_across_a_long_box_only():
    from robosuite.utils.transform_utils import axisangle2quat

    from skillstack.envs.robosuite_control import ObjectGeometry, grasp_yaw_error

    down = np.array([1.0, 0.0, 0.0, 0.0])  # eef pointing down, fingers closing along world y
    box = ObjectGeometry(np.array([0.05, 0.015, 0.075]), np.zeros(3))  # long along body x
    square = ObjectGeometry(np.array([0.02, 0.02, 0.08]), np.zeros(3))
    upright = np.array([0.0, 0.0, 0.0, 1.0])
    assert grasp_yaw_error(down, upright, square) == 0.0
    assert abs(grasp_yaw_error(down, upright, box)) < 1e-6  # narrow axis (body y) already along the fingers
    turned = axisangle2quat(np.array([0.0, 0.0, 0.3]))
    assert abs(abs(grasp_yaw_error(down, turned, box)) - 0.3) < 1e-6
    lying = axisangle2quat(np.array([np.pi / 2, 0.0, 0.0]))  # a milk carton on its side: footprint 4 x 16 cm
    # body x (2 cm half width) stays along world x: the fingers (closing along world y) must turn by 90 degrees
    assert abs(grasp_yaw_error(down, lying, square)) == pytest.approx(np.pi / 2)


def test_hand_clearance_sees_walls_below_their_top_and_tall_neighbours_only():
    from skillstack.envs.robosuite_control import HAND_HALF_LENGTH, HAND_HALF_WIDTH, Surroundings, hand_clearance

    bin_ = Surroundings(inner=(-0.1, 0.3, -0.5, 0.0), wall_top=0.9)
    near_y_wall = np.array([0.1, -0.42, 0.85])  # 8 cm from the wall at y = -0.5
    across, along = hand_clearance([np.pi / 2, 0.0], near_y_wall, bin_)  # closing axis along y, then along x
    assert across == pytest.approx(0.08 - HAND_HALF_LENGTH)  # the hand's end is over the wall
    assert along == pytest.approx(0.08 - HAND_HALF_WIDTH)
    high = near_y_wall + np.array([0.0, 0.0, 0.1])  # the hand stays above the wall's top: walls do not count
    assert np.isinf(hand_clearance([np.pi / 2], high, bin_)).all()
    outside = np.array([0.05, 0.2, 0.85])  # an object outside this bin (in the other one): its walls do not count
    assert np.isinf(hand_clearance([0.0, np.pi / 2], outside, bin_)).all()
    middle = np.array([0.1, -0.25, 0.85])
    neighbour = np.array([[0.1 + 0.09, -0.25]])  # 9 cm along x
    tall = Surroundings(bin_.inner, bin_.wall_top, obstacles=((neighbour, 1.0),))
    low = Surroundings(bin_.inner, bin_.wall_top, obstacles=((neighbour, 0.86),))  # top below the hand's bottom
    x_gap, y_gap = hand_clearance([0.0, np.pi / 2], middle, tall)
    assert x_gap == pytest.approx(0.09 - HAND_HALF_LENGTH)  # the point is 1.5 cm inside the hand's footprint
    assert y_gap == pytest.approx(0.09 - HAND_HALF_WIDTH)
    assert hand_clearance([0.0], middle, low)[0] == pytest.approx(0.2 - HAND_HALF_LENGTH)  # the x walls only


def _compose(q_world, q):
    """Quaternion (x, y, z, w) of rotation ``q`` followed by ``q_world`` (a world-frame rotation)."""
    from robosuite.utils.transform_utils import mat2quat, quat2mat

    return mat2quat(quat2mat(q_world) @ quat2mat(q))


def test_clear_grasp_yaw_turns_a_free_grasp_away_from_walls_and_keeps_fixed_axes():
    from robosuite.utils.transform_utils import axisangle2quat

    from skillstack.envs.robosuite_control import (
        ObjectGeometry,
        Surroundings,
        box_points,
        clear_grasp_yaw_error,
        grasp_yaw_error,
    )

    down = np.array([1.0, 0.0, 0.0, 0.0])  # fingers closing along world y
    bread = ObjectGeometry(np.array([0.02, 0.024, 0.024]), np.zeros(3))
    cereal = ObjectGeometry(np.array([0.05, 0.015, 0.075]), np.zeros(3))
    upright = np.array([0.0, 0.0, 0.0, 1.0])
    bin_ = Surroundings(inner=(-0.1, 0.3, -0.5, 0.0), wall_top=0.9)
    middle = np.array([0.1, -0.25, 0.85])
    turned = axisangle2quat(np.array([0.0, 0.0, 0.3]))
    for quat in (upright, turned):  # nothing in reach: no turn, whatever the box's yaw
        assert clear_grasp_yaw_error(down, quat, bread, middle, bin_) == 0.0
    near_y_wall = np.array([0.1, -0.42, 0.85])
    assert clear_grasp_yaw_error(down, upright, bread, near_y_wall, bin_) == pytest.approx(np.pi / 2)
    # the same wall with the hand 5 degrees either side of closing along y: the turn keeps its sign
    for yaw in (-0.087, 0.087):
        hand = axisangle2quat(np.array([0.0, 0.0, yaw]))
        hand = _compose(hand, down)
        assert 1.2 < clear_grasp_yaw_error(hand, upright, bread, near_y_wall, bin_) < 1.92
    # a tall neighbour 9 cm along y (where the hand's ends are): turn to close along x
    neighbour = box_points(middle + np.array([0.0, 0.09, 0.05]), upright, bread)
    crowded = Surroundings(bin_.inner, bin_.wall_top, obstacles=((neighbour, 1.0),))
    assert clear_grasp_yaw_error(down, upright, bread, middle, crowded) == pytest.approx(np.pi / 2)
    # the cereal box's axis is fixed by its shape: the walls do not change it
    for quat in (upright, turned):
        assert clear_grasp_yaw_error(down, quat, cereal, near_y_wall, bin_) == grasp_yaw_error(down, quat, cereal)


def test_place_lifts_a_tall_object_until_its_bottom_clears_the_neighbours():
    """``lift_clear``: a held cereal box grasped 3.5 cm below its top must rise until its bottom clears the tallest
    neighbour before the carry moves sideways; without it the hand's 25 cm carry height lets it sweep sideways with
    its bottom ≈ 8 cm above the floor."""
    from skillstack.envs.robosuite_control import (
        BIN_FLOOR_Z,
        MAX_OPENING,
        REST_HEIGHT,
        ObjectGeometry,
        object_bottom,
        pick_place_action,
    )

    cereal = ObjectGeometry(np.array([0.04, 0.08, 0.1]), np.zeros(3))
    upright = np.array([0.0, 0.0, 0.0, 1.0])
    down = np.array([1.0, 0.0, 0.0, 0.0])
    target = np.array([0.2, 0.3, BIN_FLOOR_Z])
    obj = np.array([0.0, -0.25, BIN_FLOOR_Z + 0.23])  # lifted: centre 23 cm above the floor, bottom at 13 cm
    eef = np.array([obj[0], obj[1], obj[2] + 0.1 - 0.035])  # grasped 3.5 cm below the top: hand at 29.5 cm
    assert object_bottom(obj, upright, cereal) == pytest.approx(BIN_FLOOR_Z + 0.13)
    args = (eef, down, 0.05, True, obj, upright, cereal, target, REST_HEIGHT["cereal"])
    assert 0.02 < 0.05 < MAX_OPENING - 0.005  # the fingers read as holding
    before = pick_place_action(*args, stage="place")
    assert abs(before[0]) + abs(before[1]) > 0.1  # hand above 25 cm: carries sideways at once
    lifted = pick_place_action(*args, stage="place", lift_clear=0.19)
    assert lifted[2] > 0.1 and abs(lifted[0]) + abs(lifted[1]) < 1e-6  # straight up first
    high = obj + [0, 0, 0.06]  # bottom at 19 cm: a 17 cm milk carton + 2 cm
    carried = pick_place_action(eef + [0, 0, 0.06], down, 0.05, True, high, upright, cereal, target,
                                REST_HEIGHT["cereal"], stage="place", lift_clear=0.19)
    assert abs(carried[0]) + abs(carried[1]) > 0.1 and abs(carried[2]) < 0.05  # sideways at that height


def test_pick_approach_travels_above_the_tallest_neighbour_in_the_bin():
    """``approach_z``: far from its object a pick keeps the hand above the tallest neighbour in the source bin and
    rises before moving sideways; close to the grasp point it comes down as the plain funnel does. Objects outside
    the bin (already placed) do not raise it."""
    from skillstack.envs.robosuite_control import APPROACH_MARGIN, Surroundings, approach_height, funnel_grasp

    inside = np.array([[0.05, -0.2], [0.07, -0.22]])
    outside = np.array([[0.05, 0.3], [0.07, 0.32]])
    bin_ = Surroundings(inner=(-0.1, 0.3, -0.5, 0.0), wall_top=0.9)
    assert approach_height(bin_) is None
    assert approach_height(Surroundings(bin_.inner, bin_.wall_top, ((outside, 1.1),))) is None
    clear = approach_height(Surroundings(bin_.inner, bin_.wall_top, ((inside, 0.97), (outside, 1.1))))
    assert clear == pytest.approx(0.97 + APPROACH_MARGIN)
    grasp = np.array([0.0, -0.2, 0.87])
    high = np.array([0.1, -0.05, clear])  # at the travel height, 18 cm off: sideways, no descent
    a = funnel_grasp(high, grasp, 0.08, approach_z=clear)
    plain = funnel_grasp(high, grasp, 0.08)
    assert abs(a[2]) < 1e-6 and a[0] < -0.9 and a[1] < -0.9
    assert plain[2] < -0.5  # the plain funnel descends toward 8 cm above the grasp point (0.95 < the milk's top)
    low = np.array([0.1, -0.05, clear - 0.05])  # below the travel height and far: straight up
    a = funnel_grasp(low, grasp, 0.08, approach_z=clear)
    assert a[2] > 0.9 and abs(a[0]) + abs(a[1]) < 1e-6
    low_neighbours = grasp[2] + 0.05  # travel height below the funnel's 8 cm: the plain funnel, wherever the hand is
    for eef in (high, low, np.array([0.02, -0.19, 0.9])):
        np.testing.assert_allclose(funnel_grasp(eef + [0, 0, 0.1], grasp, 0.08, approach_z=low_neighbours),
                                   funnel_grasp(eef + [0, 0, 0.1], grasp, 0.08))
    xs = np.linspace(0.0, 0.05, 501)  # continuous across the 1-3 cm ring and the gate band, for a fixed approach_z
    for z in (clear - 0.045, clear - 0.02, clear):
        actions = np.array([funnel_grasp(np.array([grasp[0] + x, grasp[1], z]), grasp, 0.08, approach_z=clear)
                            for x in xs])
        assert np.abs(np.diff(actions[:, :3], axis=0)).max() < 0.05
    above = np.array([grasp[0] + 0.005, grasp[1], clear])  # within 1 cm: down onto the grasp point
    a = funnel_grasp(above, grasp, 0.08, approach_z=clear)
    np.testing.assert_allclose(a, funnel_grasp(above, grasp, 0.08))
    assert a[2] == -1.0
