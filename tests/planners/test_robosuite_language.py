"""The robosuite PickPlace scene's templated language (the embedding scorer's exemplar bank there), the
``any_order`` plans of multi-object sub-goals, and the per-scene prompt settings (header, scorer settings).
Pure logic plus the offline MiniLM model: robosuite itself is not imported."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import astuple, replace

import numpy as np
import pytest

from skillstack.envs import get_scene
from skillstack.envs.robosuite_domain import PICKPLACE_DOMAIN, SCENE_OBJECTS
from skillstack.planners.lm import PROMPT_HEADER, build_prompt, scene_examples, scene_exemplars
from skillstack.planners.suite import SuiteError, scene_prompt_header, scene_scorer_settings
from skillstack.planners.symbolic import satisfies
from skillstack.planners.templates import generate

RS = get_scene("robosuite-pickplace")
TABLETOP = get_scene("tabletop")


def test_every_templated_plan_reaches_its_goal_and_no_task_instruction_is_an_exemplar():
    bank = generate(RS, all_orders=True)
    assert len(bank) > 100
    for t in bank:
        s = dict(t.initial)
        for name in t.plan:
            s = PICKPLACE_DOMAIN.actions[name].apply(s)  # raises if a precondition fails
        assert satisfies(PICKPLACE_DOMAIN, s, t.goal), t.instruction
    tasks = {" ".join(t.instruction.lower().split()) for t in RS.tasks.values()}
    assert not tasks & {" ".join(i.lower().split()) for i, _ in scene_exemplars(RS)}


def test_a_goal_over_every_object_is_shown_in_every_order():
    every = [t for t in generate(RS, all_orders=True) if set(t.goal) == {f"in_bin({o})" for o in SCENE_OBJECTS}]
    by_text: dict[str, list[tuple[str, ...]]] = {}
    for t in every:
        by_text.setdefault(t.instruction, []).append(tuple(p for p in t.plan if p.startswith("pick_")))
    assert len(by_text) == 2  # two phrasings
    orders = sorted(tuple(f"pick_{o}" for o in perm) for perm in itertools.permutations(SCENE_OBJECTS))
    assert all(sorted(v) == orders for v in by_text.values())  # all 24 orders, each exactly once per phrasing
    assert all(len(t.plan) == 8 for t in every)
    bank = scene_exemplars(RS)  # the embedding scorer's bank shows every order
    assert sum(i == "place all the objects in their bins" for i, _ in bank) == 24


def test_two_sub_goals_joined_by_a_plain_and_are_shown_in_both_orders():
    bank = generate(RS, all_orders=True)
    firsts: dict[str, set[str]] = {}
    for t in bank:
        if len(t.goal) == 2 and all(p.startswith("in_bin(") for p in t.goal):
            firsts.setdefault(t.instruction, set()).add(t.plan[0])
    plain_and = {i: f for i, f in firsts.items() if " and " in i and "then" not in i}
    ordered = {i: f for i, f in firsts.items() if "then" in i}
    assert plain_and and ordered
    assert all(len(f) == 2 for f in plain_and.values())  # "A and B": either object first
    assert all(len(f) == 1 for f in ordered.values())  # "A, then B": A first only
    for i, f in ordered.items():  # and that first object is A, the one named first
        first = min(SCENE_OBJECTS, key=lambda o: i.find(o) if o in i else len(i))
        assert f == {f"pick_{first}"}, i


def test_one_plan_per_text_unless_all_orders_are_asked_for():
    texts = [t.instruction for t in generate(RS)]  # training sets and goal retrieval: one plan per text
    assert len(texts) == len(set(texts))
    assert len(generate(RS)) < len(generate(RS, all_orders=True))
    lang = replace(RS.language, any_order=False)
    assert len(generate(replace(RS, language=lang), all_orders=True)) == len(texts)
    # the tabletop bank is exactly what it was before any_order existed (digest of every generated field)
    tab = generate(TABLETOP, all_orders=True)
    digest = hashlib.sha256(json.dumps([astuple(t) for t in tab], sort_keys=True, default=list).encode()).hexdigest()
    assert digest == "e23f8732b510cbb0b4d5dc0b0bf047fc5b6a1f8d44e33acf23f892d59a648de6"


def test_picks_are_goals_of_their_own_only():
    for t in generate(RS, all_orders=True):
        if len(t.plan) > 1:
            assert t.plan[-1].startswith("place_"), t.instruction


def test_scene_prompt_settings(tmp_path):
    assert scene_scorer_settings(RS) == {"content_weight": 0.0}
    assert scene_scorer_settings(TABLETOP) == {}
    header = scene_prompt_header(RS)
    assert header.startswith("Robot:") and "bins" in header and header.endswith("\n")
    assert scene_prompt_header(TABLETOP) is None

    class Likelihood:  # a likelihood backend: no exemplar bank
        pass

    kw = scene_examples(Likelihood, RS)
    assert kw["header"] == header and kw["examples"]
    assert "header" not in scene_examples(Likelihood, TABLETOP)
    prompt = build_prompt("put the can in its bin", [], kw["examples"], kw["header"])
    assert prompt.startswith(header) and "drawer" not in prompt
    assert build_prompt("x", [], [], PROMPT_HEADER).startswith(PROMPT_HEADER)

    data = json.loads(RS.prompt.read_text())
    for bad, match in (({"content_weight": 1.0, "beta": 2}, r"unknown setting 'beta'.*content_weight"),
                       ([1.0], "must be an object"), ({"top_k": "10"}, "top_k = '10' is not valid"),
                       ({"temperature": 0}, "temperature = 0 is not valid")):
        path = tmp_path / "prompt.json"
        path.write_text(json.dumps({**data, "embedding_scorer": bad}))
        with pytest.raises(SuiteError, match=match):
            scene_scorer_settings(replace(RS, prompt=path))
    path.write_text(json.dumps({**data, "header": 3}))
    with pytest.raises(SuiteError, match="'header' must be a string"):
        scene_prompt_header(replace(RS, prompt=path))


@pytest.fixture(scope="module")
def rs_scorer():
    from skillstack.planners.lm import EmbeddingScorer

    return EmbeddingScorer(**scene_examples(EmbeddingScorer, RS))


def _plan(scorer, instruction, goal, order_bias=None, eps=0.05, budget=14):
    """SayCan over the symbolic domain, with the preconditions standing in for affordances (1 or ``eps``)."""
    names = [*RS.skills, "done"]
    texts = [*RS.skills.values(), "done"]
    state, hist = dict(PICKPLACE_DOMAIN.default_state), []
    for _ in range(budget):
        p = scorer.probabilities(instruction, [RS.skills[h] for h in hist], texts, len(texts) - 1)
        aff = np.array([1.0 if n == "done" or PICKPLACE_DOMAIN.actions[n].applicable(state) else eps for n in names])
        if order_bias is not None:  # affordances that prefer another object order than the LM's
            aff *= np.array([order_bias.get(n, 1.0) for n in names])
        choice = names[int(np.argmax(p * aff))]
        if choice == "done":
            return satisfies(PICKPLACE_DOMAIN, state, goal), hist
        if PICKPLACE_DOMAIN.actions[choice].applicable(state):
            state = PICKPLACE_DOMAIN.actions[choice].apply(state)
            hist.append(choice)
    return False, hist


@pytest.mark.parametrize("instruction, objects", [
    ("put every object in its bin", SCENE_OBJECTS),
    ("put the can and the milk carton in their bins", ("can", "milk")),
    ("put the bread in its bin", ("bread",)),
])
def test_saycan_over_the_domain_reaches_the_task_goals_in_any_order(rs_scorer, instruction, objects):
    goal = {f"in_bin({o})": True for o in objects}
    ok, hist = _plan(rs_scorer, instruction, goal)
    assert ok and len(hist) == 2 * len(objects), hist
    # affordances that make the last object the first pick: the LM must follow the history that results
    bias = {f"pick_{objects[-1]}": 10.0}
    ok, hist = _plan(rs_scorer, instruction, goal, order_bias=bias)
    assert ok and len(hist) == 2 * len(objects), hist
    if len(objects) > 1:
        assert hist[0] == f"pick_{objects[-1]}"


class _Context:
    """A stand-in episode context whose state reader returns the discrete state the test sets."""

    def __init__(self, scene, state) -> None:
        self.scene, self.state = scene, dict(state)

    def state_reader(self, why):
        return lambda _obs: dict(self.state)


def _decide(planner, ctx, history, **state):
    """One decision: the state after ``history`` is ``state``; returns the LM's history."""
    ctx.state.update(state)
    return planner.language_history(history, np.zeros(3))


@pytest.mark.parametrize("scene", ["robosuite", "tabletop"])
def test_saycan_feedback_forgets_steps_a_failure_undid(scene):
    from skillstack.planners.base import Step
    from skillstack.planners.saycan import SayCanPlanner

    sc = RS if scene == "robosuite" else TABLETOP
    fb, plain = SayCanPlanner(backend=object(), feedback=True), SayCanPlanner(backend=object())
    ctx = _Context(sc, sc.domain.default_state)
    fb.reset(ctx)

    def step(name, ok):
        return Step(name, sc.skills[name], ok)

    def texts(*names):
        return [sc.skills[n] for n in names]

    if scene == "robosuite":
        h = []
        assert _decide(fb, ctx, h) == []
        h.append(step("pick_can", True))
        _decide(fb, ctx, h, can="hand")
        h.append(step("place_can", True))
        _decide(fb, ctx, h, can="bin")
        h.append(step("pick_milk", True))
        _decide(fb, ctx, h, milk="hand")
        h.append(step("place_milk", False))  # the place dropped the carton
        assert _decide(fb, ctx, h, milk="out") == texts("pick_can", "place_can")
        assert plain.language_history(h, None) == texts("pick_can", "place_can", "pick_milk")
        h.append(step("pick_milk", True))
        assert _decide(fb, ctx, h, milk="hand") == texts("pick_can", "place_can", "pick_milk")
        h.append(step("place_milk", False))  # failed, carton still held: nothing undone, the place may be retried
        assert _decide(fb, ctx, h) == texts("pick_can", "place_can", "pick_milk")
        h.append(step("pick_bread", False))  # a failure that changed nothing undoes nothing
        assert _decide(fb, ctx, h) == texts("pick_can", "place_can", "pick_milk")
    else:  # a failure after a successful place keeps the place and everything before it
        h = []
        _decide(fb, ctx, h)
        for name, change in (("open_drawer", {"drawer": "open"}), ("pick_red_block", {"red": "hand"}),
                             ("place_in_drawer", {"red": "drawer"})):
            h.append(step(name, True))
            _decide(fb, ctx, h, **change)
        h.append(step("pick_blue_block", False))
        assert _decide(fb, ctx, h) == texts("open_drawer", "pick_red_block", "place_in_drawer")
        h.append(step("pick_blue_block", True))
        _decide(fb, ctx, h, blue="hand")
        h.append(step("place_in_drawer", False))  # dropped the blue block on the table
        assert _decide(fb, ctx, h, blue="table") == texts("open_drawer", "pick_red_block", "place_in_drawer")
    fb.reset(_Context(sc, sc.domain.default_state))  # a new episode forgets what was undone and the states
    assert fb._undone == set() and fb._states == {}


def test_saycan_feedback_needs_an_env():
    from skillstack.planners.base import EpisodeContext
    from skillstack.planners.saycan import SayCanPlanner

    with pytest.raises(RuntimeError, match="no env"):
        SayCanPlanner(backend=object(), feedback=True).reset(EpisodeContext(RS, None))
