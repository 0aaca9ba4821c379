from __future__ import annotations

import numpy as np
import pytest

from skillstack.envs import get_scene
from skillstack.envs.tabletop import DEFAULT_STATE, SKILL_SPECS, TABLETOP_DOMAIN, TASKS, holds
from skillstack.planners.base import DONE, Candidate, EpisodeContext, Step, check_planner, make_planner
from skillstack.planners.executor import run_instruction
from skillstack.planners.symbolic import SymbolicPlanner, shortest_plan
from skillstack.skills.library import SkillLibrary, default_library_path

LIB = SkillLibrary(default_library_path())
TABLETOP = get_scene("tabletop")


@pytest.mark.parametrize("task, n", [("red_block_in_drawer", 4), ("blocks_in_bin", 4), ("open_everything", 2),
                                     ("press_then_bin", 3), ("tidy_up", 6)])
def test_shortest_plans_of_builtin_tasks(task, n):
    plan = shortest_plan(TABLETOP_DOMAIN, DEFAULT_STATE, TASKS.get(task).goal)
    assert plan is not None and len(plan) == n
    sym = dict(DEFAULT_STATE)
    for name in plan:  # every step is applicable and the goal holds at the end
        sym = SKILL_SPECS[name].apply(sym)
    assert all(holds(sym, k) == v for k, v in TASKS.get(task).goal.items())


def test_unreachable_goal_and_unknown_predicate():
    no_drawer = [s for s in SKILL_SPECS.values() if s.name != "open_drawer"]
    assert shortest_plan(TABLETOP_DOMAIN, DEFAULT_STATE, {"block_in_drawer(red)": True}, no_drawer) is None
    assert shortest_plan(TABLETOP_DOMAIN, DEFAULT_STATE, {"drawer_closed": True}) == []
    with pytest.raises(KeyError, match="unknown predicate"):
        holds(DEFAULT_STATE, "lamp_on")
    with pytest.raises(RuntimeError, match="reset"):
        SymbolicPlanner(TABLETOP, {"drawer_open": True}).plan_step("", [], np.zeros(26), [Candidate(DONE, "done")])


def test_symbolic_planner_executes_closed_loop_in_simulation():
    task = TASKS.get("red_block_in_drawer")
    planner = make_planner("oracle", TABLETOP)  # the goal comes from the episode's task
    r = run_instruction(task.instruction, planner, LIB, TABLETOP, seed=0, task=task.name)
    choices = [d["choice"] for d in r.decisions]
    # the optimal plan from the start; replanning may insert recovery steps (e.g. the pick nudged the drawer)
    assert choices[:2] == ["open_drawer", "pick_red_block"] and choices[-2:] == ["close_drawer", DONE]
    assert r.decisions[0]["info"]["plan"] == ["open_drawer", "pick_red_block", "place_in_drawer", "close_drawer"]
    assert r.success and r.goal_satisfied and r.ended_by == "done"
    for d in r.decisions:  # every decision logs every candidate
        assert len(d["scores"]) == 11


class _FixedScorer:
    def __init__(self, p):
        self.p = np.asarray(p, dtype=float)

    def probabilities(self, instruction, history, candidates, done_index=None):
        return self.p[: len(candidates)] / self.p[: len(candidates)].sum()


def test_saycan_multiplies_language_and_affordance_and_ablation_ignores_affordance():
    from skillstack.planners.saycan import SayCanPlanner

    cands = [Candidate("a", "do a", lambda o: 0.01), Candidate("b", "do b", lambda o: 0.9), Candidate(DONE, "done")]
    scorer = _FixedScorer([0.6, 0.3, 0.1])
    d = SayCanPlanner(backend=scorer).plan_step("x", [], np.zeros(26), cands)
    assert d.choice == "b"
    s = {c.name: c for c in d.scores}
    assert s["a"].combined == pytest.approx(0.6 * 0.01) and s[DONE].affordance == 1.0
    d2 = SayCanPlanner(backend=scorer, use_affordance=False).plan_step("x", [], np.zeros(26), cands)
    assert d2.choice == "a" and all(c.affordance == 1.0 for c in d2.scores)


@pytest.fixture()
def embedding(embedding_scorer):
    return embedding_scorer


@pytest.mark.parametrize("instruction", ["put the red block in the drawer", "", "x" * 5000,
                                         "ponga el bloque rojo en el cajón 🤖", "open the window, then press it"])
def test_embedding_scores_are_a_distribution_and_choice_is_a_candidate(embedding, instruction):
    from skillstack.planners.saycan import SayCanPlanner

    cands = [Candidate(n, s.description, lambda o: 0.5) for n, s in SKILL_SPECS.items()] + [Candidate(DONE, "done")]
    history = [Step("open_drawer", "open the drawer", True)]
    d = SayCanPlanner(backend=embedding).plan_step(instruction, history, np.zeros(26), cands)
    lang = np.array([s.language for s in d.scores])
    assert np.isfinite(lang).all() and lang.min() >= 0 and lang.sum() == pytest.approx(1.0)
    assert d.choice in {c.name for c in cands}
    again = SayCanPlanner(backend=embedding).plan_step(instruction, history, np.zeros(26), cands)
    assert again.to_dict() == d.to_dict()


def test_unknown_backend_lists_valid_names():
    from skillstack.envs import UnknownNameError
    from skillstack.planners.saycan import SayCanPlanner

    with pytest.raises(UnknownNameError, match="embedding"):
        SayCanPlanner(backend="gpt-17")


def test_planner_registry_refuses_symbolic_planners_without_a_domain_or_goal():
    from dataclasses import replace

    rs = get_scene("robosuite-pickplace")
    bare = replace(rs, domain=None)
    for name in ("oracle", "saycan-generative", "learned", "goal-grounding-parse"):
        with pytest.raises(ValueError, match="needs a symbolic domain"):
            check_planner(name, bare)
        check_planner(name, rs)  # the PickPlace scene has a domain
    check_planner("saycan", bare)
    with pytest.raises(ValueError, match="needs goal predicates"):
        check_planner("oracle", TABLETOP, has_goal=False)
    with pytest.raises(ValueError, match="language model"):
        make_planner("oracle", TABLETOP, backend="embedding")


def test_oracle_reset_takes_goal_and_state_from_the_episode():
    from skillstack.envs import make_env

    env = make_env(TABLETOP.env_id, task=None).unwrapped
    env.reset(seed=0)
    planner = make_planner("oracle", TABLETOP)
    planner.reset(EpisodeContext(TABLETOP, env, {"drawer_open": True}))
    d = planner.plan_step("", [], np.zeros(26), [Candidate("open_drawer", "open the drawer"), Candidate(DONE, "done")])
    assert d.choice == "open_drawer"
    planner.reset(EpisodeContext(TABLETOP, env, {"drawer_closed": True}))
    d = planner.plan_step("", [], np.zeros(26), [Candidate("open_drawer", "open the drawer"), Candidate(DONE, "done")])
    assert d.choice == DONE
    env.close()


def test_goal_parsing_refuses_unknown_predicates():
    from skillstack.planners.grounding import goal_text, parse_goal

    vocab = ["drawer_open", "drawer_closed", "block_in_bin(red)", "holding(blue)"]
    goal, problems = parse_goal(" block_in_bin(red), not drawer_open.", vocab)
    assert goal == {"block_in_bin(red)": True, "drawer_open": False} and problems == []
    assert goal_text(goal) == "block_in_bin(red), not drawer_open"
    goal, problems = parse_goal("block_in_bin(green) and lamp_on, drawer_closed", vocab)
    assert goal == {"drawer_closed": True} and problems == ["block_in_bin(green)", "lamp_on"]


class _ScriptedLM:
    def __init__(self, replies):
        self.replies, self.prompts = list(replies), []

    def generate(self, prompt):
        self.prompts.append(prompt)
        return self.replies.pop(0)


def test_goal_grounding_repairs_then_plans_and_rejects_clearly():
    from skillstack.envs import make_env
    from skillstack.planners.grounding import GoalGroundingPlanner

    lm = _ScriptedLM([" block_in_drawer(crimson), drawer_closed", " block_in_drawer(red), drawer_closed"])
    planner = GoalGroundingPlanner(TABLETOP, backend=lm)
    env = make_env(TABLETOP.env_id, task=None).unwrapped
    obs, _ = env.reset(seed=0)
    planner.reset(EpisodeContext(TABLETOP, env, goal={"window_open": True}))  # the context's goal is never used
    cands = [Candidate(n, s.description) for n, s in SKILL_SPECS.items()] + [Candidate(DONE, "done")]
    d = planner.plan_step("hide the red block in the drawer", [], obs, cands)
    assert d.info["grounding"] == "repaired by the LM" and d.info["goal"] == {"block_in_drawer(red)": True,
                                                                              "drawer_closed": True}
    assert d.choice == "open_drawer" and d.info["plan"][-1] == "close_drawer"
    assert "'block_in_drawer(crimson)' are not predicates" in lm.prompts[1]
    assert "Instruction: hide the red block in the drawer\nGoal:" in lm.prompts[0]
    bad = GoalGroundingPlanner(TABLETOP, backend=_ScriptedLM([" lamp_on", " lamp_on"]))
    bad.reset(EpisodeContext(TABLETOP, env))
    d = bad.plan_step("turn on the lamp", [], obs, cands)
    assert d.choice == DONE and d.info["grounding"].startswith("rejected") and d.info["goal"] is None
    env.close()
