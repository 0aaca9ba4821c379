"""Every tabletop skill is solvable: its scripted oracle reaches >= 95 % over seeded starts (100 in the default
suite, 200 under ``slow``)."""

from __future__ import annotations

import numpy as np
import pytest

from skillstack.envs import make_env
from skillstack.envs.tabletop import SKILL_SPECS
from skillstack.skills.experts import make_expert


def _oracle_success_rate(name: str, n: int) -> float:
    env = make_env(f"tabletop/{name}")
    oracle = make_expert(f"tabletop/{name}")
    successes = 0
    for seed in range(n):
        obs, _ = env.reset(seed=seed)
        while True:
            act = oracle.predict(obs)
            assert act.shape == (4,) and act.dtype == np.float32 and np.all(np.abs(act) <= 1)
            obs, _, terminated, truncated, info = env.step(act)
            if terminated or truncated:
                successes += info["success"]
                break
    return successes / n


@pytest.mark.parametrize("name", sorted(SKILL_SPECS))
def test_oracle_success_rate_over_100_starts(name):
    assert (rate := _oracle_success_rate(name, 100)) >= 0.95, f"{name}: {rate:.2f}"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SKILL_SPECS))
def test_oracle_success_rate_over_200_starts(name):
    assert (rate := _oracle_success_rate(name, 200)) >= 0.95, f"{name}: {rate:.2f}"


def test_oracle_fails_where_preconditions_do_not_hold():
    """place_in_drawer from a state with a closed drawer cannot succeed (what affordances must learn)."""
    env = make_env("tabletop/place_in_drawer")
    oracle = make_expert("tabletop/place_in_drawer")
    state = {"drawer": "closed", "window": "closed", "button_pressed": False, "red": "hand", "blue": "table"}
    for seed in range(5):
        obs, info = env.reset(seed=seed, options={"state": state})
        assert not info["applicable"]
        while True:
            obs, _, terminated, truncated, info = env.step(oracle.predict(obs))
            if terminated or truncated:
                break
        assert not info["success"]
