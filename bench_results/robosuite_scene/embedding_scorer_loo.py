"""Leave-one-out planning on the robosuite PickPlace scene's templated exemplar bank: how the embedding scorer's
settings were chosen for this scene (``assets/planners/prompt_robosuite_pickplace.json``, ``embedding_scorer``).

For every distinct templated instruction, the scorer is built on the bank without that instruction's exemplars
(the other phrasing of the same sub-goals stays) and plans it SayCan-style over the symbolic domain, with the
skills' preconditions standing in for affordances: 1 where a skill's preconditions hold, ``eps`` elsewhere
(``eps`` = 0.05, 0.3, 0.5: sharp to blurred affordances). A plan succeeds when the scorer chooses ``done`` in a goal
state within 14 decisions. No layout, env or evaluation seed is involved.

    python bench_results/robosuite_scene/embedding_scorer_loo.py   # ≈ 5 min on one core
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from skillstack.envs import get_scene
from skillstack.planners.lm import EmbeddingScorer, scene_exemplars
from skillstack.planners.symbolic import satisfies
from skillstack.planners.templates import generate

SCENE = get_scene("robosuite-pickplace")
DOMAIN = SCENE.domain
NAMES = [*SCENE.skills, "done"]
TEXTS = [*SCENE.skills.values(), "done"]


def plan(scorer: EmbeddingScorer, instruction: str, goal: dict, start: dict, eps: float) -> tuple[bool, str]:
    state, hist = dict(start), []
    for _ in range(14):
        p = scorer.probabilities(instruction, [SCENE.skills[h] for h in hist], TEXTS, len(TEXTS) - 1)
        aff = np.array([1.0 if n == "done" or DOMAIN.actions[n].applicable(state) else eps for n in NAMES])
        choice = NAMES[int(np.argmax(p * aff))]
        if choice == "done":
            return satisfies(DOMAIN, state, goal), "done"
        if DOMAIN.actions[choice].applicable(state):
            state = DOMAIN.actions[choice].apply(state)
            hist.append(choice)
    return False, "budget"


def main() -> None:
    bank = scene_exemplars(SCENE)
    templated = {t.instruction: t for t in generate(SCENE)}
    scorer = EmbeddingScorer(exemplars=bank)
    full = (scorer.exemplars, scorer._instr, scorer._lengths)
    rows = []
    for beta in (0.0, 1.0, 2.0, 4.0, 8.0):
        for eps in (0.05, 0.3, 0.5):
            scorer.content_weight = beta  # other settings: the defaults (k 10, tau_r 0.02, lambda 1, T 0.2)
            ok, failed = 0, []
            for text, t in templated.items():
                keep = np.array([i != text for i, _ in full[0]])
                scorer.exemplars = [e for e, m in zip(full[0], keep, strict=True) if m]
                scorer._instr, scorer._lengths = full[1][keep], full[2][keep]
                success, why = plan(scorer, text, t.goal, t.initial, eps)
                ok += success
                if not success:
                    failed.append([text, why])
            scorer.exemplars, scorer._instr, scorer._lengths = full
            rows.append({"content_weight": beta, "eps": eps, "plan_success": ok / len(templated),
                         "n": len(templated), "failed_examples": failed[:5]})
            print(f"beta={beta} eps={eps}: {ok}/{len(templated)}", flush=True)
    out = Path(__file__).with_suffix(".json")
    out.write_text(json.dumps({"bank_size": len(bank), "instructions": len(templated), "rows": rows}, indent=1) + "\n")
    print(f"→ {out}")


if __name__ == "__main__":
    main()
