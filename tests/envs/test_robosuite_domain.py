"""The robosuite PickPlace scene's symbolic domain (pure logic: no robosuite needed)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from skillstack.envs.robosuite_domain import ACTIONS, PICKPLACE_DOMAIN, PLACES, SCENE_OBJECTS
from skillstack.planners.symbolic import shortest_plan

D = PICKPLACE_DOMAIN


def _state(**where: str) -> dict[str, str]:
    return {o: where.get(o, "out") for o in SCENE_OBJECTS}


def test_valid_states_and_actions():
    states = [dict(zip(SCENE_OBJECTS, s, strict=True)) for s in itertools.product(PLACES, repeat=4)]
    assert sum(D.valid(s) for s in states) == 48  # at most one object in the hand
    assert not D.valid(_state(can="hand", milk="hand")) and not D.valid({"can": "out"})
    assert not D.valid(_state(can="floor"))
    s = _state(milk="bin")
    assert ACTIONS["pick_can"].applicable(s) and not ACTIONS["place_can"].applicable(s)
    assert not ACTIONS["pick_milk"].applicable(s) and D.is_noop("place_milk", s)
    held = ACTIONS["pick_can"].apply(s)
    assert held == _state(milk="bin", can="hand") and D.holds(held, "lifted(can)") and not D.holds(held, "hand_empty")
    assert not ACTIONS["pick_bread"].applicable(held)  # one object at a time
    with pytest.raises(ValueError, match="preconditions"):
        ACTIONS["place_bread"].apply(held)
    with pytest.raises(KeyError):
        D.holds(s, "in_drawer(can)")
    rng = np.random.default_rng(0)
    assert all(D.valid(D.sample_state(rng)) for _ in range(50))
    assert D.sample_state(rng, lambda s: s["can"] == "hand")["can"] == "hand"


def test_state_read_from_predicates():
    p = {f"{k}({o})": False for o in SCENE_OBJECTS for k in ("holding", "lifted", "in_bin")} | {"hand_empty": True}
    assert D.state_of(p) == D.default_state
    p |= {"in_bin(can)": True, "holding(milk)": True, "hand_empty": False}  # held low (not lifted): in the hand
    assert D.state_of(p) == _state(can="bin", milk="hand")


def test_shortest_plans_replan_after_failures():
    goal = {"in_bin(can)": True, "in_bin(milk)": True}
    assert shortest_plan(D, D.default_state, goal) == ["pick_milk", "place_milk", "pick_can", "place_can"]
    # a place that dropped the milk beside its bin: pick it up again
    assert shortest_plan(D, _state(can="bin"), goal) == ["pick_milk", "place_milk"]
    # holding the wrong object: it has to go somewhere first (only its own bin is a place)
    assert shortest_plan(D, _state(bread="hand"), {"in_bin(can)": True}) == ["place_bread", "pick_can", "place_can"]
    assert shortest_plan(D, _state(can="bin", milk="bin"), goal) == []


def test_ties_between_shortest_plans_break_by_affordance():
    from skillstack.planners.base import Candidate
    from skillstack.planners.symbolic import shortest_plan_by_affordance

    goal = {"in_bin(can)": True, "in_bin(milk)": True}
    aff = {"pick_can": 0.4, "pick_milk": 0.9, "place_can": 0.95}
    names = ["pick_can", "place_can", "pick_milk", "place_milk", "place_bread"]  # the can first in candidate order
    plain = [Candidate(n, ACTIONS[n].description) for n in names]
    plan, tied = shortest_plan_by_affordance(D, D.default_state, goal, plain, np.zeros(3))
    assert plan == shortest_plan(D, D.default_state, goal, [ACTIONS[n] for n in names]) == \
        ["pick_can", "place_can", "pick_milk", "place_milk"]  # without models: the candidates' order
    assert tied == {"pick_can": 1.0, "pick_milk": 1.0}
    scored = [Candidate(n, ACTIONS[n].description, lambda _o, a=aff.get(n, 0.99): a) for n in names]
    plan, tied = shortest_plan_by_affordance(D, D.default_state, goal, scored, np.zeros(3))
    assert plan == ["pick_milk", "place_milk", "pick_can", "place_can"] and tied == {"pick_can": 0.4, "pick_milk": 0.9}
    # a high affordance never buys a longer plan: holding the bread, place_bread (0.99) is the only shortest start
    start = _state(bread="hand")
    plan, tied = shortest_plan_by_affordance(D, start, {"in_bin(can)": True}, scored, np.zeros(3))
    assert plan == ["place_bread", "pick_can", "place_can"] and list(tied) == ["place_bread"]
    assert shortest_plan_by_affordance(D, _state(can="bin", milk="bin"), goal, scored, np.zeros(3)) == ([], {})


def test_an_object_in_its_bin_still_touched_by_the_fingers_reads_as_in_the_bin():
    p = {f"{k}({o})": False for o in SCENE_OBJECTS for k in ("holding", "lifted", "in_bin")} | {"hand_empty": False}
    p |= {"holding(milk)": True, "in_bin(milk)": True}  # a place ended with the carton pinched near its top
    s = D.state_of(p)
    assert s == _state(milk="bin") and D.holds(s, "hand_empty")
    assert shortest_plan(D, s, {"in_bin(can)": True, "in_bin(milk)": True}) == ["pick_can", "place_can"]
