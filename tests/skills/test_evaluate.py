"""Seeded evaluation: success given the skill's precondition, and runs restricted to starts where it holds."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import skillstack.skills.evaluate as ev


class _StagedEnv(gym.Env):
    """A place-like skill env whose scripted staging fails on seeds divisible by 3 (``info["applicable"]`` False);
    the policy succeeds at once on even seeds."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.seed_ = seed
        return np.zeros(1), {"applicable": seed % 3 != 0}

    def step(self, action):
        ok = self.seed_ % 2 == 0 and self.seed_ % 3 != 0
        return np.zeros(1), 0.0, True, False, {"success": ok}


@pytest.fixture
def staged(monkeypatch):
    monkeypatch.setattr(ev, "make_env", lambda name, **kw: _StagedEnv())


def _policy(obs):
    return np.zeros(1, np.float32)


def test_success_given_the_precondition_is_reported_beside_the_overall_rate(staged):
    r = ev.evaluate(_policy, "staged", 12)
    assert [e.seed for e in r.episodes] == list(range(12)) and r.skipped_seeds == []
    applicable = [s for s in range(12) if s % 3]
    assert r.n_applicable == len(applicable) == 8
    assert r.success_rate == pytest.approx(4 / 12)  # seeds 2, 4, 8, 10
    assert r.success_rate_applicable == pytest.approx(4 / 8)
    assert r.success_ci95_applicable == ev.wilson_interval(4, 8)


def test_require_applicable_skips_violating_starts_and_draws_more_seeds(staged):
    r = ev.evaluate(_policy, "staged", 8, require_applicable=True)
    assert r.n_episodes == r.n_applicable == 8
    assert [e.seed for e in r.episodes] == [1, 2, 4, 5, 7, 8, 10, 11]
    assert r.skipped_seeds == [0, 3, 6, 9]
    assert r.success_rate == r.success_rate_applicable == pytest.approx(4 / 8)


def test_require_applicable_refuses_an_env_whose_starts_rarely_hold(monkeypatch):
    class Never(_StagedEnv):
        def reset(self, *, seed=None, options=None):
            obs, _ = super().reset(seed=seed)
            return obs, {"applicable": False}

    monkeypatch.setattr(ev, "make_env", lambda name, **kw: Never())
    with pytest.raises(RuntimeError, match="violate the skill's precondition"):
        ev.evaluate(_policy, "never", 2, require_applicable=True)
