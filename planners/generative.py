"""Generative planner: the language model writes a whole plan, a symbolic checker validates it, the model repairs it.

In the style of ISR-LLM (Zhou et al. 2023, iterative self-refinement with a validator): the backend
generates the numbered skill list after SayCan's few-shot prompt (:func:`~skillstack.planners.lm.build_prompt`);
each item is translated to the nearest skill text (``difflib`` string similarity, as Huang et al. 2022
translate free-form steps to admissible actions); the plan is simulated over the discrete domain from the
current state (the skills' preconditions/effects in the scene's symbolic domain) and its first skill's
affordance is read. On the first violation the error is appended to the prompt ("Step 2 'put the block
in the drawer' is not possible: needs drawer_open.") and the model writes the plan again, up to
``max_repairs`` times. A plan that is still invalid is repaired by dropping its infeasible steps; if nothing
feasible is left it is rejected (the planner answers ``done`` and logs the rejection).

The validated plan is executed step by step; after a failed skill, or when the scene is not in the
state the plan predicted, the planner writes a new plan from the new state (closed loop).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from skillstack.envs.scenes import Scene, SymbolicDomain
from skillstack.planners.base import (
    DONE,
    Candidate,
    CandidateScore,
    Decision,
    EpisodeContext,
    PlannerSpec,
    Step,
    register_planner,
)
from skillstack.planners.lm import LM_BACKENDS, PROMPT_HEADER, build_prompt, scene_examples


def parse_plan(text: str, names: Sequence[str], descriptions: Sequence[str]) -> list[str]:
    """``"1. open the drawer, 2. pick up the red block, 3. done."`` → ``["open_drawer", "pick_red_block"]``.

    Items are split at their numbers; each maps to the skill whose description is closest (difflib ratio
    ≥ 0.6), or ends the plan if it says done; unmatched items are dropped.
    """
    items = [t.strip(" ,.;\n") for t in re.split(r"\d+\s*[.)]", text) if t.strip(" ,.;\n")]
    plan = []
    for item in items:
        if item.lower().startswith("done"):
            break
        match = difflib.get_close_matches(item.lower(), [d.lower() for d in descriptions], n=1, cutoff=0.6)
        if match:
            plan.append(names[[d.lower() for d in descriptions].index(match[0])])
    return plan


class GenerativePlanner:
    """Whole-plan generation with symbolic validation and LM self-repair (see the module docstring).

    Args:
        backend: an LM backend name (``hf-causal``, ``openai-compatible``) or object with ``generate(prompt)``.
        max_repairs: LM re-generations with error feedback before the drop-infeasible-steps repair.
        min_affordance: the first step must have at least this affordance (else it counts as a violation).
        scene: the scene (its symbolic domain validates plans; its prompt is the few-shot prompt).
        backend_kwargs: passed to the backend's constructor.

    Raises:
        ValueError: the backend cannot generate text (e.g. ``embedding``), or the scene has no symbolic domain.
    """

    def __init__(self, backend: Any = "hf-causal", max_repairs: int = 2, min_affordance: float = 0.3,
                 scene: Scene | None = None, **backend_kwargs: Any) -> None:
        self.domain: SymbolicDomain | None = scene.require_domain("the generative planner") if scene else None
        if isinstance(backend, str):
            cls = LM_BACKENDS.get(backend)
            if scene is not None and "examples" not in backend_kwargs and hasattr(cls, "generate"):
                backend_kwargs = {**scene_examples(cls, scene), **backend_kwargs}
            self.lm = cls(**backend_kwargs)
        else:
            self.lm = backend
        if not hasattr(self.lm, "generate"):
            raise ValueError(f"the generative planner needs a backend that generates text (hf-causal, "
                             f"openai-compatible); {type(self.lm).__name__} does not")
        self.max_repairs = max_repairs
        self.min_affordance = min_affordance
        self.examples = getattr(self.lm, "examples", None) or []
        self.state_fn: Any = None
        self._plan: list[str] | None = None  # None: no plan written yet in this episode
        self._expected: dict[str, Any] | None = None
        self._said: list[str] = []  # a person's corrections, fed back in the prompt

    def reset(self, context: EpisodeContext) -> None:
        """New episode: validate against the scene env's discrete state (the symbolic checker reads the
        predicates) and write a new plan at the first decision."""
        self.domain = context.scene.require_domain("the generative planner")
        if context.env is not None:
            self.state_fn = context.state_reader("the generative planner")
        self._plan, self._expected = None, None
        self._said = []

    def correct(self, corrections: Any) -> None:
        """A person's corrections trigger a new plan, written with the corrections fed back in the prompt (as
        feedback lines, like the validator's errors)."""
        self._said = [f"The person corrected: {a.text}" for a in corrections.amendments]
        self._plan, self._expected = None, None

    def _action(self, name: str) -> Any:
        assert self.domain is not None
        return self.domain.actions[name]

    def validate(self, plan: Sequence[str], sym: dict[str, Any], first_affordance: float | None) -> str | None:
        """The first violation as feedback text, or ``None`` if every step is feasible in sequence."""
        s = dict(sym)
        for i, name in enumerate(plan):
            spec = self._action(name)
            if not spec.applicable(s):
                needs = ", ".join(spec.preconditions)
                return f"Step {i + 1} '{spec.description}' is not possible then: it needs {needs}."
            s = spec.apply(s)
        if plan and first_affordance is not None and first_affordance < self.min_affordance:
            return (f"Step 1 '{self._action(plan[0]).description}' is unlikely to succeed now "
                    f"(affordance {first_affordance:.2f}).")
        return None

    def _write_plan(self, instruction: str, history: Sequence[Step], observation: npt.NDArray[np.float64],
                    candidates: Sequence[Candidate], sym: dict[str, Any]) -> dict[str, Any]:
        assert self.domain is not None
        known = [c for c in candidates if c.name in self.domain.actions]
        names, texts = [c.name for c in known], [c.description for c in known]
        aff = {c.name: c.affordance for c in known}
        base = build_prompt(instruction, [h.description for h in history if h.success], self.examples,
                            getattr(self.lm, "header", "") or PROMPT_HEADER)
        feedback: list[str] = list(self._said)
        log: dict[str, Any] = {"attempts": []}
        plan: list[str] = []
        for _ in range(self.max_repairs + 1):
            prompt = base if not feedback else base.rsplit("\nRobot:", 1)[0] + "\n" + " ".join(
                f"Feedback: {f}" for f in feedback) + "\nRobot:" + base.rsplit("\nRobot:", 1)[1]
            text = self.lm.generate(prompt)
            plan = parse_plan(text, names, texts)
            a0 = aff[plan[0]](observation) if plan and aff.get(plan[0]) else None
            err = self.validate(plan, sym, a0)
            log["attempts"].append({"text": text, "plan": plan, "error": err})
            if err is None:
                log["status"] = "valid" if len(log["attempts"]) == 1 else "repaired by the LM"
                return {**log, "plan": plan}
            feedback.append(err)
        s, kept = dict(sym), []  # last resort: drop infeasible steps
        for name in plan:
            if self._action(name).applicable(s):
                kept.append(name)
                s = self._action(name).apply(s)
        log["status"] = "repaired by dropping steps" if kept else "rejected"
        return {**log, "plan": kept}

    def plan_step(self, instruction: str, history: Sequence[Step], observation: npt.NDArray[np.float64],
                  candidates: Sequence[Candidate]) -> Decision:
        if self.state_fn is None or self.domain is None:
            raise RuntimeError("GenerativePlanner validates against the discrete state: call "
                               "reset(EpisodeContext(scene, env)) first")
        sym = self.state_fn(observation)
        info: dict[str, Any] = {"planner": "generative"}
        last_failed = bool(history) and not history[-1].success
        if self._plan is None or last_failed or (self._expected is not None and sym != self._expected):
            written = self._write_plan(instruction, history, observation, candidates, sym)
            self._plan = list(written["plan"])
            info.update(written)
        choice = self._plan.pop(0) if self._plan else DONE
        ok = choice != DONE and self._action(choice).applicable(sym)
        self._expected = self._action(choice).apply(sym) if ok else None
        scores = []
        for c in candidates:
            a = 1.0 if c.affordance is None else float(c.affordance(observation))
            chosen = float(c.name == choice)
            scores.append(CandidateScore(c.name, chosen, a, chosen * a))
        info["remaining_plan"] = list(self._plan)
        return Decision(choice, scores, info)


register_planner(PlannerSpec(
    "saycan-generative", GenerativePlanner, "the LM writes the whole plan; a symbolic checker validates it and the "
    "LM repairs it (ISR-LLM style)", needs_domain=True, language_model=True))
