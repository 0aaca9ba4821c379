"""Instruction suite and prompt files, templated instructions, symbolic plan evaluation, the embedding scorer
and the learned planner (artifact safety, save/load round trip)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from skillstack.envs import get_scene
from skillstack.envs.tabletop import SKILL_SPECS, TABLETOP_DOMAIN, TabletopEnv
from skillstack.planners.base import DONE, Candidate, make_planner
from skillstack.planners.evaluate import plan_symbolically
from skillstack.planners.suite import (
    FAMILIES,
    SuiteError,
    family_counts,
    load_prompt,
    load_suite,
    scene_prompt,
    suite_instructions,
)
from skillstack.planners.templates import generate
from tests.artifact_tools import rehash

TABLETOP = get_scene("tabletop")
SUITE = load_suite(TABLETOP.default_suite, TABLETOP)
TEXTS = [s.description for s in SKILL_SPECS.values()]


def test_shipped_suite_covers_saycan_families_and_is_disjoint_from_planner_inputs():
    assert len(SUITE) >= 40
    assert all(n >= 5 for n in family_counts(SUITE).values()) and set(family_counts(SUITE)) == set(FAMILIES)
    assert all(len(s.optimal_plan) >= 4 for s in SUITE if s.family == "long_horizon")
    every = suite_instructions(TABLETOP)
    assert len(every) >= len(SUITE) + 21  # both suites (some texts repeat with other start states)
    norm = {" ".join(t.lower().split()) for t in every}
    prompt = {" ".join(e.instruction.lower().split()) for e in scene_prompt(TABLETOP)}
    assert not norm & prompt
    bank = generate(TABLETOP, exclude=every)
    assert len(bank) > 1000 and not norm & {" ".join(t.instruction.lower().split()) for t in bank}
    assert len(generate(TABLETOP)) > len(bank)  # the exclusion did remove suite instructions


def test_templated_plans_reach_their_goals():
    from skillstack.planners.symbolic import satisfies

    for t in generate(TABLETOP)[::37]:
        s = dict(t.initial)
        for name in t.plan:
            s = SKILL_SPECS[name].apply(s)
        assert satisfies(TABLETOP_DOMAIN, s, t.goal), t.instruction


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d["instructions"][0].update(family="nl_noun"), "did you mean 'nl_nouns'"),
    (lambda d: d["instructions"][0].update(goal={"drawer_opened": True}), "unknown goal predicate"),
    (lambda d: d["instructions"][0].update(initial={"red": "drawer", "drawer": "closed"},
                                           goal={"holding(red)": True}), "unreachable"),
    (lambda d: d["instructions"][1].update(id=d["instructions"][0]["id"]), "duplicate id"),
    (lambda d: d["instructions"][0].update(initial={"lamp": "on"}), "unknown state variable"),
])
def test_malformed_suites_fail_with_the_entry_named(tmp_path, mutate, match):
    d = json.loads(TABLETOP.default_suite.read_text())
    mutate(d)
    p = tmp_path / "suite.json"
    p.write_text(json.dumps(d))
    with pytest.raises(SuiteError, match=match):
        load_suite(p, TABLETOP)
    p.write_text("{not json")
    with pytest.raises(SuiteError, match="not valid JSON"):
        load_suite(p, TABLETOP)


def test_prompt_steps_must_be_skill_texts(tmp_path):
    p = tmp_path / "prompt.json"
    p.write_text(json.dumps({"schema_version": 1, "examples": [{"instruction": "x", "steps": ["open the drawr"]}]}))
    with pytest.raises(SuiteError, match="did you mean 'open the drawer'"):
        load_prompt(p, TEXTS)


def test_symbolic_oracle_plans_every_suite_instruction_optimally():
    env = TabletopEnv(task=None)
    oracle = make_planner("oracle", TABLETOP)
    for spec in SUITE:
        out = plan_symbolically(oracle, spec, [Candidate(n, s.description) for n, s in
                                               SKILL_SPECS.items()] + [Candidate(DONE, "done")],
                                env, TABLETOP, seed=0)
        assert out.success and tuple(out.plan) == spec.optimal_plan, (spec.id, out.plan)
    env.close()


@pytest.fixture()
def scorer(embedding_scorer):
    return embedding_scorer


@pytest.mark.parametrize("instruction", ["", "put the red block in the drawer and close it", "x" * 5000,
                                         "mets le bloc rouge dans le tiroir ✓ 赤いブロック"])
def test_embedding_scores_are_a_distribution_for_any_text(scorer, instruction):
    texts = [s.description for s in SKILL_SPECS.values()] + ["done"]
    for hist in ([], ["open the drawer"], ["open the drawer"] * 7):
        p = scorer.probabilities(instruction, hist, texts, done_index=len(texts) - 1)
        assert p.shape == (11,) and np.all(np.isfinite(p)) and np.all(p >= 0) and math.isclose(p.sum(), 1.0)


def test_embedding_scorer_follows_exemplars_and_stops(scorer):
    texts = [s.description for s in SKILL_SPECS.values()] + ["done"]
    ex = [("stash the green thing", ("open the drawer", "pick up the red block")), ("wave", ("press the button",))]
    from skillstack.planners.lm import EmbeddingScorer

    small = EmbeddingScorer(exemplars=ex, content_weight=0.0)
    p0 = small.probabilities("stash the green thing", [], texts, 10)
    p1 = small.probabilities("stash the green thing", ["open the drawer"], texts, 10)
    p2 = small.probabilities("stash the green thing", ["open the drawer", "pick up the red block"], texts, 10)
    assert texts[int(np.argmax(p0))] == "open the drawer"
    assert texts[int(np.argmax(p1))] == "pick up the red block"
    assert texts[int(np.argmax(p2))] == "done"


@pytest.fixture(scope="module")
def tiny_planner(tmp_path_factory):
    from skillstack.planners.learned import PlannerConfig, train_planner

    root = tmp_path_factory.mktemp("planner")
    planner, metrics = train_planner(PlannerConfig(steps=30, layouts_per_state=1, hidden=(32,)), TABLETOP,
                                     out=root, progress=False)
    return root, planner, metrics


def test_learned_planner_round_trip_and_integrity(tiny_planner):
    from skillstack.planners.learned import load_planner
    from skillstack.skills.library import SkillLoadError

    root, planner, metrics = tiny_planner
    assert metrics["train_rows"] > 1000 and 0.0 <= metrics["val_accuracy"] <= 1.0
    loaded = load_planner(root)
    obs = np.random.default_rng(0).normal(size=26)
    np.testing.assert_allclose(loaded.probabilities("open the drawer", obs),
                               planner.probabilities("open the drawer", obs), rtol=1e-6)
    cands = [Candidate("open_drawer", "open the drawer"), Candidate("lamp_on", "turn on the lamp"),
             Candidate(DONE, "done")]
    d = loaded.plan_step("open the drawer", [], obs, cands)
    assert d.choice in {"open_drawer", DONE} and d.scores[1].language == 0.0
    v = sorted(root.glob("v*"))[-1]
    rehash(v, lambda m: m.update(kind="os.system"))
    with pytest.raises(SkillLoadError, match="not one of"):
        load_planner(root)
    rehash(v, lambda m: m.update(kind="planner_mlp"))
    raw = bytearray((v / "model.safetensors").read_bytes())
    raw[-3] ^= 0xFF
    (v / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(SkillLoadError, match="sha256 mismatch"):
        load_planner(root)
    assert not list(root.glob(".tmp-*"))


def test_shipped_learned_planner_loads_and_solves_a_suite_instruction():
    planner = make_planner("learned", TABLETOP)
    assert planner.manifest["metrics"]["val_accuracy"] > 0.9
    spec = next(s for s in SUITE if s.id == "long-01")
    env = TabletopEnv(task=None)
    cands = [Candidate(n, s.description) for n, s in SKILL_SPECS.items()] + [Candidate(DONE, "done")]
    out = plan_symbolically(planner, spec, cands, env, TABLETOP, seed=0)
    env.close()
    assert out.success and tuple(out.plan) == spec.optimal_plan


def test_noop_steps_are_allowed_but_infeasible_steps_end_the_plan():
    from skillstack.planners.base import CandidateScore, Decision

    class Scripted:
        def __init__(self, choices):
            self.choices = list(choices)

        def reset(self, context):
            pass

        def plan_step(self, instruction, history, observation, candidates):
            c = self.choices.pop(0)
            return Decision(c, [CandidateScore(x.name, float(x.name == c), 1.0, float(x.name == c))
                                for x in candidates])

    cands = [Candidate(n, s.description) for n, s in SKILL_SPECS.items()] + [Candidate(DONE, "done")]
    spec = next(s for s in SUITE if s.id == "single-01")  # open the drawer, from everything closed
    env = TabletopEnv(task=None)
    ok = plan_symbolically(Scripted(["close_window", "open_drawer", DONE]), spec, cands, env, TABLETOP)
    assert ok.success and ok.noops == 1 and ok.plan == ["close_window", "open_drawer"]
    bad = plan_symbolically(Scripted(["place_in_bin", DONE]), spec, cands, env, TABLETOP)
    assert not bad.success and bad.ended_by == "infeasible:place_in_bin"
    early = plan_symbolically(Scripted([DONE]), spec, cands, env, TABLETOP)
    assert not early.success and early.ended_by == "done"
    env.close()


def test_evaluate_planners_reports_plan_and_execution_per_family():
    from skillstack.planners.evaluate import evaluate_planners, markdown_table
    from skillstack.skills.library import SkillLibrary, default_library_path

    sub = [s for s in SUITE if s.id in ("single-03", "embod-04")]
    r = evaluate_planners(["oracle"], sub, SkillLibrary(default_library_path()), TABLETOP, progress=False)
    assert [row["id"] for row in r["rows"]] == ["single-03", "embod-04"]
    assert all(row["plan_success"] and row["execution_success"] for row in r["rows"])
    assert r["rows"][1]["plan"] == [] and r["rows"][1]["executed"] == []  # already pressed: done at once
    s = r["summary"]["oracle"]
    assert s["plan_success"] == 1.0 and set(s["families"]) == {"single_primitive", "embodiment"}
    assert "| oracle | 2 | 100 % | 100 % |" in markdown_table(r["summary"])
