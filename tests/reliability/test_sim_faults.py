"""Simulation faults surface (issue 6, item 5).

A model made unstable (negative joint damping) blows up on an ordinary action: MuJoCo raises BADQACC and
silently resets ``data`` (time back to 0). The env must end the episode with ``truncated=True`` and
``info["sim_unstable"]`` naming the warning, restore the last good state (time never runs backwards inside a
recorded episode), and refuse NaN/inf/wrong-shape actions with ``ValueError`` before MuJoCo sees them.
"""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from skillstack.envs import make_env
from skillstack.envs.tabletop import TabletopEnv, TabletopSkillEnv


def _physics(env):  # noqa: ANN001, ANN202
    u = env.unwrapped
    return (u.scene.model, u.scene.data) if hasattr(u, "scene") else (u.model, u.data)


ENVS = {
    "metaworld/drawer-open-v3": lambda: make_env("metaworld/drawer-open-v3"),
    "tabletop long-horizon": lambda: TabletopEnv(),
    "tabletop/pick_red_block": lambda: TabletopSkillEnv("pick_red_block"),
}


@pytest.mark.parametrize("name", list(ENVS))
@pytest.mark.parametrize("blow_up_at", [0, 7])
def test_blow_up_truncates_names_the_warning_and_time_never_runs_backwards(name, blow_up_at):
    env = ENVS[name]()
    env.reset(seed=0)
    model, data = _physics(env)
    times = [data.time]
    rng = np.random.default_rng(0)
    truncated, info, t = False, {}, 0
    while not truncated and t < 50:
        if t == blow_up_at:
            model.dof_damping[:] = -1e6  # an unstable model: the next ordinary action blows it up
        action = rng.uniform(-1, 1, size=env.action_space.shape).astype(np.float32)
        qpos_before = data.qpos.copy()
        obs, reward, terminated, truncated, info = env.step(action)
        times.append(data.time)
        t += 1
    assert truncated and not terminated, "the blow-up must end the episode as truncated"
    assert t == blow_up_at + 1
    assert "BADQACC" in info["sim_unstable"]
    assert info.get("success", False) is False
    assert np.all(np.diff(times) >= 0), f"time ran backwards: {times[-3:]}"
    assert times[-1] > 0 or blow_up_at == 0
    np.testing.assert_allclose(data.qpos, qpos_before)  # the last good state, not MuJoCo's reset state
    assert np.isfinite(obs).all()


def test_clean_steps_after_reset_do_not_report_old_warnings():
    env = make_env("metaworld/drawer-open-v3")
    env.reset(seed=0)
    model, data = _physics(env)
    damping = model.dof_damping.copy()
    model.dof_damping[:] = -1e6
    *_, truncated, info = env.step(np.zeros(4, np.float32))
    assert truncated and "sim_unstable" in info
    model.dof_damping[:] = damping
    env.reset(seed=1)
    for _ in range(5):
        *_, truncated, info = env.step(np.zeros(4, np.float32))
        assert not truncated and "sim_unstable" not in info


@pytest.mark.parametrize("name", list(ENVS))
@pytest.mark.parametrize("bad", [np.array([np.nan, 0, 0, 0]), np.array([0, 0, np.inf, 0]),
                                 np.array([0, -np.inf, 0, 0]), np.zeros(3), np.zeros((1, 4)), np.zeros(5),
                                 "left", None, [[0.0, 0.0], [0.0, 0.0]]])
def test_bad_actions_raise_and_leave_the_state_untouched(name, bad):
    env = ENVS[name]()
    env.reset(seed=0)
    model, data = _physics(env)
    qpos, time_ = data.qpos.copy(), data.time
    with pytest.raises(ValueError):
        env.step(bad)
    np.testing.assert_array_equal(data.qpos, qpos)
    assert data.time == time_


REPEAT_ENVS = {
    "skillstack/Tabletop-v0": lambda: make_env("skillstack/Tabletop-v0"),
    "metaworld/drawer-open-v3": lambda: make_env("metaworld/drawer-open-v3"),
}


@pytest.mark.parametrize("name", list(REPEAT_ENVS))
def test_every_blow_up_in_an_episode_is_reported_not_only_the_first(name):
    """After MuJoCo's reset the BADQACC counter reads 1 again: a monitor comparing with the previous count
    missed the second blow-up (no truncation, time jumped back to ~0)."""
    env = REPEAT_ENVS[name]()
    env.reset(seed=0)
    model, data = _physics(env)
    damping = model.dof_damping.copy()
    rng = np.random.default_rng(0)
    times = [data.time]
    for fault in range(3):
        for _ in range(3):  # ordinary steps between the faults: no report
            *_, truncated, info = env.step(rng.uniform(-1, 1, size=env.action_space.shape).astype(np.float32))
            times.append(data.time)
            assert not truncated and "sim_unstable" not in info, f"spurious report before fault {fault + 1}"
        model.dof_damping[:] = -1e6
        qpos_before = data.qpos.copy()
        obs, _, terminated, truncated, info = env.step(np.zeros(env.action_space.shape, np.float32))
        times.append(data.time)
        model.dof_damping[:] = damping
        assert truncated and not terminated, f"blow-up {fault + 1} went undetected"
        assert "BADQACC" in info["sim_unstable"]
        np.testing.assert_allclose(data.qpos, qpos_before)
        assert np.isfinite(obs).all()
        assert np.all(np.diff(times) >= 0), f"time ran backwards after blow-up {fault + 1}: {times[-4:]}"
    assert times[-1] > times[0]


def test_monitor_reports_a_reset_that_raised_no_warning():
    """Second signal: time falling below the snapshot's means the state was reset mid-step."""
    from skillstack.envs.checks import InstabilityMonitor

    env = make_env("metaworld/drawer-open-v3")
    env.reset(seed=0)
    model, data = _physics(env)
    env.step(np.zeros(4, np.float32))
    monitor = InstabilityMonitor(model, data)
    assert monitor.check() is None
    monitor.snapshot()
    t = data.time
    data.time = 0.0  # what a silent reset does
    assert monitor.check() == "TIME_REVERSED"
    monitor.restore()
    assert data.time == t
    monitor.snapshot()
    data.warning[int(mujoco.mjtWarning.mjWARN_BADQVEL)].number = 1
    assert monitor.check() == "BADQVEL"
    assert monitor.check() is None  # counted once; the counter was cleared
