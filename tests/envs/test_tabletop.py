from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from skillstack.envs import UnknownNameError, make_env
from skillstack.envs.tabletop import (
    BLOCK_REGION,
    BLOCKS,
    LAYOUT_JITTER,
    LAYOUT_NOMINAL,
    OBS_DIM,
    OBS_SLICES,
    PREDICATE_DOCS,
    SKILL_SPECS,
    SYMBOLIC_VALUES,
    TASKS,
    Layout,
    TabletopEnv,
    TabletopScene,
    TabletopSkillEnv,
    scene_mjcf,
    symbolic_state,
    valid_symbolic_state,
)


def test_scene_references_installed_metaworld_assets_and_has_enough_objects():
    import metaworld

    xml = scene_mjcf()
    mw = os.path.dirname(metaworld.__file__)
    for part in ("drawer.xml", "buttonbox.xml", "window_horiz.xml", "binA.xml", "xyz_base.xml"):
        assert f'{mw}/assets/objects/assets/{part}' in xml
    scene = TabletopScene()
    joints = {scene.model.joint(i).name for i in range(scene.model.njnt)}
    # 6 interactive things: drawer, button, window (articulated), bin, two free blocks
    assert {"goal_slidey", "btnbox_joint", "window_slide", "red_block", "blue_block"} <= joints
    assert scene.model.body("bin").id > 0
    # nothing of Meta-World is copied into the repository
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert not any(f.endswith(".stl") for _, _, fs in os.walk(os.path.join(repo, "..", "assets")) for f in fs)


def test_check_env_long_horizon_and_skill_envs():
    check_env(TabletopEnv(), skip_render_check=True)
    check_env(TabletopSkillEnv("place_in_drawer"), skip_render_check=True)


def test_observation_layout_and_predicates_in_info():
    env = make_env("skillstack/Tabletop-v0")
    obs, info = env.reset(seed=3)
    assert obs.shape == (OBS_DIM,) == (26,) and obs.dtype == np.float64 and np.isfinite(obs).all()
    grounded = set(info["predicates"])
    for name in PREDICATE_DOCS:
        if "(b)" in name:
            assert {name.replace("(b)", f"({b})") for b in BLOCKS} <= grounded
        else:
            assert name in grounded
    assert "window_open" in grounded and "window_closed" in grounded
    p = info["predicates"]
    assert p["drawer_closed"] and p["window_closed"] and not p["button_pressed"] and p["hand_empty"]
    assert p["block_on_table(red)"] and p["block_on_table(blue)"]
    np.testing.assert_allclose(obs[OBS_SLICES["hand_pos"]], (0.0, 0.6, 0.2), atol=0.02)


def test_same_seed_same_layout_and_trajectory_and_global_rng_untouched():
    state = np.random.get_state()[1].copy()
    a, b = TabletopEnv(), TabletopEnv()
    oa, _ = a.reset(seed=11)
    ob, _ = b.reset(seed=11)
    np.testing.assert_array_equal(oa, ob)
    oc, _ = a.reset(seed=12)
    assert not np.array_equal(oa, oc)
    b.reset(seed=12)
    rng = np.random.default_rng(0)
    for _ in range(20):
        act = rng.uniform(-1, 1, 4).astype(np.float32)
        oa, *_ = a.step(act)
        ob, *_ = b.step(act)
    np.testing.assert_array_equal(oa, ob)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_layouts_stay_in_documented_ranges():
    rng = np.random.default_rng(0)
    for _ in range(200):
        lay = Layout.sample(rng)
        for name, (x, y) in lay.static.items():
            nx, ny = LAYOUT_NOMINAL[name]
            jx, jy = LAYOUT_JITTER[name]
            assert abs(x - nx) <= jx + 1e-12 and abs(y - ny) <= jy + 1e-12
        (xlo, xhi), (ylo, yhi) = BLOCK_REGION
        for b in BLOCKS:
            x, y = lay.block_xy[b]
            assert xlo <= x <= xhi and ylo <= y <= yhi
        assert np.hypot(*(np.subtract(lay.block_xy["red"], lay.block_xy["blue"]))) >= 0.09


def _all_states():
    keys = list(SYMBOLIC_VALUES)
    for values in itertools.product(*SYMBOLIC_VALUES.values()):
        s = dict(zip(keys, values, strict=True))
        if valid_symbolic_state(s):
            yield s


def test_reset_builds_every_discrete_state_that_predicates_read_back():
    scene = TabletopScene()
    rng = np.random.default_rng(0)
    states = list(_all_states())
    assert len(states) == 3 * 3 * 2 * (4 * 4 - 1)
    for s in states[::7]:
        scene.reset(rng, state=s)
        for _ in range(10):  # settle
            scene.step(np.zeros(4, np.float32) + np.array([0, 0, 0, 1.0 if "hand" in s.values() else -1.0]))
        assert symbolic_state(scene.predicates()) == s


def test_invalid_state_and_unknown_names_raise():
    scene = TabletopScene()
    with pytest.raises(ValueError, match="invalid symbolic state"):
        scene.reset(np.random.default_rng(0), state={"drawer": "open", "window": "closed", "button_pressed": False,
                                                     "red": "hand", "blue": "hand"})
    with pytest.raises(UnknownNameError, match="did you mean 'open_drawer'"):
        TabletopSkillEnv("open_drawr")
    with pytest.raises(UnknownNameError, match="valid tabletop task"):
        TabletopEnv(task="nope")


@pytest.mark.parametrize("bad", [np.array([np.nan, 0, 0, 0]), np.array([0, np.inf, 0, 0]), np.zeros(3)])
def test_bad_actions_raise_before_the_simulator(bad):
    env = TabletopEnv()
    env.reset(seed=0)
    qpos = env.scene.data.qpos.copy()
    with pytest.raises(ValueError):
        env.step(bad)
    np.testing.assert_array_equal(env.scene.data.qpos, qpos)


def test_button_pressed_is_latched():
    scene = TabletopScene()
    scene.reset(np.random.default_rng(0))
    scene.data.qpos[scene._jnt_qpos["btnbox_joint"]] = -0.05
    scene.step(np.zeros(4, np.float32))
    assert scene.predicates()["button_pressed"]
    for _ in range(200):  # the spring returns the plunger; the predicate stays true
        scene.step(np.zeros(4, np.float32))
    assert scene.button_depression < 0.03 and scene.predicates()["button_pressed"]


@pytest.mark.parametrize("name", sorted(SKILL_SPECS))
def test_skill_env_starts_where_preconditions_hold(name):
    env = make_env(f"tabletop/{name}")
    spec = SKILL_SPECS[name]
    n_app = 0
    for seed in range(8):
        _, info = env.reset(seed=seed)
        assert info["applicable"] and spec.applicable(info["symbolic_state"])
        _, info = env.reset(seed=seed, options={"start": "any"})
        n_app += info["applicable"]
    assert n_app < 8  # "any" starts include states where the skill cannot succeed


def test_skill_effects_are_consistent_with_preconditions():
    for s in _all_states():
        for spec in SKILL_SPECS.values():
            if spec.applicable(s):
                after = spec.apply(s)
                assert valid_symbolic_state(after) and after != s
            else:
                with pytest.raises(ValueError):
                    spec.apply(s)


def test_tasks_have_goals_over_known_predicates():
    p = TabletopScene()
    p.reset(np.random.default_rng(0))
    names = set(p.predicates())
    for t in TASKS:
        task = TASKS.get(t)
        assert task.instruction and set(task.goal) <= names


def test_open_skills_overshoot_the_predicate_threshold():
    from skillstack.envs.tabletop import DRAWER_OPEN_MIN, OPEN_MARGIN, skill_success

    scene = TabletopScene()
    scene.reset(np.random.default_rng(0))
    start = symbolic_state(scene.predicates())
    spec = SKILL_SPECS["open_drawer"]
    cases = [(DRAWER_OPEN_MIN + 0.005, True, False), (DRAWER_OPEN_MIN + OPEN_MARGIN + 0.005, True, True)]
    for opening, pred, ok in cases:
        scene.data.qpos[scene._jnt_qpos["goal_slidey"]] = -opening
        scene.step(np.zeros(4, np.float32))
        p = scene.predicates()
        assert p["drawer_open"] is pred and skill_success(spec, scene, p, start) is ok
