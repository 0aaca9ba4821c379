"""The robosuite PickPlace scene's templated language (the embedding scorer's exemplar bank there), the
``any_order`` plans of multi-object sub-goals, and the per-scene prompt settings (header, scorer settings).
Pure logic plus the offline MiniLM model: robosuite itself is not imported."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

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
    bank = generate(RS)
    assert len(bank) > 100
    for t in bank:
        s = dict(t.initial)
        for name in t.plan:
            s = PICKPLACE_DOMAIN.actions[name].apply(s)  # raises if a precondition fails
        assert satisfies(PICKPLACE_DOMAIN, s, t.goal), t.instruction
    tasks = {" ".join(t.instruction.lower().split()) for t in RS.tasks.values()}
    assert not tasks & {" ".join(i.lower().split()) for i, _ in scene_exemplars(RS)}


def test_a_goal_over_every_object_is_shown_in_every_order():
    every = [t for t in generate(RS) if set(t.goal) == {f"in_bin({o})" for o in SCENE_OBJECTS}]
    by_text: dict[str, set[tuple[str, ...]]] = {}
    for t in every:
        by_text.setdefault(t.instruction, set()).add(tuple(p for p in t.plan if p.startswith("pick_")))
    assert len(by_text) == 2  # two phrasings
    orders = {tuple(f"pick_{o}" for o in perm) for perm in itertools.permutations(SCENE_OBJECTS)}
    assert all(v == orders for v in by_text.values())  # all 24 orders, each exactly once per phrasing
    assert all(len(t.plan) == 8 for t in every)


def test_any_order_off_keeps_one_plan_per_text():
    lang = replace(RS.language, any_order=False)
    bank = generate(replace(RS, language=lang))
    texts = [t.instruction for t in bank]
    assert len(texts) == len(set(texts))
    assert len(bank) < len(generate(RS))
    tab = [t.instruction for t in generate(TABLETOP)]
    assert len(tab) == len(set(tab))  # the tabletop language has no any_order: one plan per text


def test_picks_are_goals_of_their_own_only():
    for t in generate(RS):
        if len(t.plan) > 1:
            assert t.plan[-1].startswith("place_"), t.instruction


def test_scene_prompt_settings(tmp_path):
    assert scene_scorer_settings(RS) == {"content_weight": 1.0}
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
                       ([1.0], "must be an object")):
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


class _Predicates:
    """A stand-in scene env: only the predicates a state reader reads."""

    def __init__(self) -> None:
        self.predicates = {p: False for o in SCENE_OBJECTS for p in (f"in_bin({o})", f"holding({o})")}

    def set(self, **kw: bool) -> None:
        self.predicates.update({k.replace("__", "(") + ")": v for k, v in kw.items()})


def test_saycan_feedback_forgets_steps_a_failure_undid():
    from skillstack.planners.base import EpisodeContext, Step
    from skillstack.planners.saycan import SayCanPlanner

    def step(name, ok):
        return Step(name, RS.skills[name], ok)

    env, obs = _Predicates(), np.zeros(3)
    fb = SayCanPlanner(backend=object(), feedback=True)
    plain = SayCanPlanner(backend=object())
    fb.reset(EpisodeContext(RS, env))
    h = [step("pick_can", True), step("place_can", True)]
    env.set(in_bin__can=True)
    assert fb.language_history(h, obs) == [RS.skills["pick_can"], RS.skills["place_can"]]
    h += [step("pick_milk", True), step("place_milk", False)]  # the place dropped the carton
    assert fb.language_history(h, obs) == [RS.skills["pick_can"], RS.skills["place_can"]]
    assert plain.language_history(h, obs)[-1] == RS.skills["pick_milk"]  # plain SayCan: the pick still counts
    h += [step("pick_milk", True)]
    env.set(holding__milk=True)
    assert fb.language_history(h, obs)[-1] == RS.skills["pick_milk"] and len(fb.language_history(h, obs)) == 3
    h += [step("place_milk", False)]  # failed, carton still held: nothing undone, the place may be retried
    assert len(fb.language_history(h, obs)) == 3
    fb.reset(EpisodeContext(RS, env))  # a new episode forgets what was undone
    assert fb.language_history(h, obs)[-1] == RS.skills["pick_milk"] and len(fb.language_history(h, obs)) == 4
    with pytest.raises(RuntimeError, match="no env"):
        SayCanPlanner(backend=object(), feedback=True).reset(EpisodeContext(RS, None))
