"""Property tests (issue 6, item 7), with hypothesis.

- Random action arrays, NaN/inf and wrong shapes included, never corrupt an env's state: an action either
  raises ``ValueError`` with the physics untouched, or steps to a finite state.
- Save/load round trips hold for random network sizes, activations and squashing.
- Planner scores are finite and the chosen skill is always one of the offered candidates, for random
  instructions: empty, very long, non-ASCII, control characters.
"""

from __future__ import annotations

import math
import tempfile

import numpy as np
import pytest
import torch
from gymnasium import spaces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skillstack.envs import make_env
from skillstack.envs.tabletop import TabletopEnv
from skillstack.skills.library import Skill, SkillLibrary
from skillstack.skills.networks import ACTIVATIONS, MLPActor, MLPAffordance

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)

_ENVS = {"tabletop": TabletopEnv(), "metaworld": make_env("metaworld/reach-v3")}

floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
actions = st.one_of(
    hnp.arrays(np.float32, (4,), elements=floats),  # right shape, any float (most are out of [-1, 1])
    hnp.arrays(np.float32, (4,), elements=st.floats(-1, 1, width=32)),  # valid
    hnp.arrays(np.float64, st.sampled_from([(3,), (5,), (1, 4), (2, 2), ()]), elements=floats),  # wrong shapes
)


def _physics(env):  # noqa: ANN001, ANN202
    u = env.unwrapped
    return (u.scene.model, u.scene.data) if hasattr(u, "scene") else (u.model, u.data)


@pytest.mark.parametrize("name", list(_ENVS))
@SETTINGS
@given(seq=st.lists(actions, min_size=1, max_size=8), seed=st.integers(0, 2**16))
def test_random_actions_never_corrupt_the_env(name, seq, seed):
    env = _ENVS[name]
    env.reset(seed=seed)
    _, data = _physics(env)
    for a in seq:
        before = (data.qpos.copy(), data.qvel.copy(), data.time)
        valid = a.shape == (4,) and np.isfinite(a).all()
        if not valid:
            with pytest.raises(ValueError):
                env.step(a)
            np.testing.assert_array_equal(data.qpos, before[0])
            np.testing.assert_array_equal(data.qvel, before[1])
            assert data.time == before[2]
        else:
            obs, reward, terminated, truncated, info = env.step(a)  # out-of-range values are clipped
            assert np.isfinite(obs).all() and math.isfinite(reward)
            assert np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()
            assert data.time > before[2] and "sim_unstable" not in info


@SETTINGS
@given(obs_dim=st.integers(1, 48), act_dim=st.integers(1, 8), hidden=st.lists(st.integers(1, 64), max_size=3),
       activation=st.sampled_from(sorted(ACTIVATIONS)), squash=st.sampled_from(["tanh", "clip"]),
       aff_hidden=st.none() | st.lists(st.integers(1, 32), max_size=2), seed=st.integers(0, 2**31 - 1))
def test_save_load_round_trip_for_random_networks(obs_dim, act_dim, hidden, activation, squash, aff_hidden, seed):
    torch.manual_seed(seed)
    policy = MLPActor(obs_dim, act_dim, hidden, activation, squash)
    rng = np.random.default_rng(seed)
    policy.set_normalization(rng.normal(size=obs_dim), rng.uniform(0.1, 3.0, size=obs_dim))
    aff = None if aff_hidden is None else MLPAffordance(obs_dim, aff_hidden, activation)
    skill = Skill("s", "a skill", "metaworld/reach-v3", policy, spaces.Box(-np.inf, np.inf, (obs_dim,), np.float64),
                  spaces.Box(-1, 1, (act_dim,), np.float32), aff)
    x = rng.normal(size=(5, obs_dim))
    with tempfile.TemporaryDirectory() as d:
        lib = SkillLibrary(d)
        lib.save(skill)
        loaded = lib.load("s")
    np.testing.assert_array_equal(loaded.predict(x), skill.predict(x))
    if aff is not None:
        np.testing.assert_array_equal(loaded.affordance(x), skill.affordance(x))
    assert loaded.policy.arch == policy.arch


# ------------------------------------------------------------------------------------------------ planners
@pytest.fixture(scope="module")
def planning(embedding_scorer):  # noqa: ANN001, ANN201
    from skillstack.envs import get_scene
    from skillstack.planners.base import make_planner
    from skillstack.planners.executor import library_candidates
    from skillstack.planners.saycan import SayCanPlanner
    from skillstack.skills.library import default_library_path

    candidates, _ = library_candidates(SkillLibrary(default_library_path()), get_scene("tabletop"))
    env = TabletopEnv()
    obs, _ = env.reset(seed=0)
    planners = {"saycan": SayCanPlanner(backend=embedding_scorer),
                "saycan-no-affordance": SayCanPlanner(backend=embedding_scorer, use_affordance=False),
                "learned": make_planner("learned", get_scene("tabletop"))}
    return candidates, obs, planners


instructions = st.one_of(
    st.just(""), st.just(" \t\n"),
    st.text(max_size=200),  # any unicode: CJK, emoji, combining marks, control characters, surrogates excluded
    st.text(alphabet=st.characters(codec="ascii"), min_size=2000, max_size=6000),  # very long
    st.sampled_from(["put the red block in the drawer", "ouvre le tiroir", "把红色方块放进抽屉", "🟥➡️🗄️",
                     "done", "DONE DONE DONE", "\x00\x01\x02"]),
)


@SETTINGS
@given(instruction=instructions, history_len=st.integers(0, 3), seed=st.integers(0, 1000))
def test_planner_scores_are_finite_and_the_choice_is_a_candidate(planning, instruction, history_len, seed):
    from skillstack.planners.base import Step

    candidates, obs, planners = planning
    names = [c.name for c in candidates]
    rng = np.random.default_rng(seed)
    history = [Step(c.name, c.description, bool(rng.integers(2)))
               for c in (candidates[int(i)] for i in rng.integers(0, len(candidates) - 1, size=history_len))]
    for name, planner in planners.items():
        d = planner.plan_step(instruction, history, obs, candidates)
        assert d.choice in names, (name, d.choice)
        assert [s.name for s in d.scores] == names
        for s in d.scores:
            assert math.isfinite(s.language) and math.isfinite(s.affordance) and math.isfinite(s.combined), (name, s)
            assert 0.0 <= s.affordance <= 1.0
