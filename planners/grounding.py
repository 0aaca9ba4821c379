"""Goal-grounding planner: the language model translates the instruction into a goal, a symbolic planner plans.

In the style of LLM+P (Liu et al. 2023) and Text2Motion (Lin et al. 2023): instead of choosing skills by text
likelihood, the LM writes the *goal* — a conjunction over the scene's grounded predicates, e.g.
``block_in_drawer(red), drawer_closed`` — which is validated against the predicate vocabulary of the scene's
symbolic domain; an invalid goal gets one repair round with the error fed back (ISR-LLM style), and a goal that is
still invalid or unreachable is a clear failure (the planner answers ``done`` and logs why). The plan comes from
breadth-first search over the domain from the *current* discrete state at every decision (closed loop: a failed
or surprising skill leads to a new plan), restricted to the candidates offered, and every decision carries the
candidates' affordances.

Few-shot examples: the ``n_examples`` templated instructions (:mod:`skillstack.planners.templates`, the scene's
suites excluded) nearest to the instruction in the sentence-embedding space (retrieval-augmented prompting, as in
LLM-Planner, Song et al. 2023), each with its goal. The LM is any generating backend (``hf-causal``: default the
shipped SmolLM2-135M-Instruct; ``openai-compatible``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from skillstack.envs.scenes import Scene
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
from skillstack.planners.lm import LM_BACKENDS, sentence_model
from skillstack.planners.suite import suite_instructions
from skillstack.planners.symbolic import shortest_plan, shortest_plan_by_affordance
from skillstack.planners.templates import generate

_ATOM = re.compile(r"^(not\s+)?([a-z_]+(\([a-z0-9_]+\))?)$")


def goal_text(goal: Mapping[str, bool]) -> str:
    """``{"block_in_bin(red)": True, "drawer_open": False}`` → ``"block_in_bin(red), not drawer_open"``."""
    return ", ".join(k if v else f"not {k}" for k, v in goal.items())


def parse_goal(text: str, vocabulary: Sequence[str]) -> tuple[dict[str, bool], list[str]]:
    """Parse a goal line into ``{predicate: value}`` and the list of problems (unknown or malformed atoms).

    Atoms are comma- or ``and``-separated; ``not p`` requires ``p`` false; a trailing period is ignored.
    """
    goal: dict[str, bool] = {}
    problems = []
    for raw in re.split(r",|\band\b|;", text.strip().rstrip(".")):
        atom = " ".join(raw.strip().lower().split())
        if not atom:
            continue
        m = _ATOM.match(atom)
        if m is None or m.group(2) not in vocabulary:
            problems.append(atom)
            continue
        goal[m.group(2)] = m.group(1) is None
    return goal, problems


class GoalGroundingPlanner:
    """LM → goal over predicates → breadth-first plan → execute, replanning at every decision (module docstring).

    Args:
        scene: the scene (needs a symbolic domain and a templated language for the examples).
        backend: a generating LM backend name (``hf-causal``, ``openai-compatible``) or an object with
            ``generate(prompt) -> str``.
        n_examples: retrieved few-shot examples.
        max_repairs: LM re-generations with the validation error fed back.
        backend_kwargs: passed to the backend (e.g. ``model_path``, ``base_url``).

    Raises:
        ValueError: the scene has no symbolic domain or language, or the backend cannot generate text.
    """

    name = "goal-grounding"

    def __init__(self, scene: Scene, backend: Any = "hf-causal", n_examples: int = 8, max_repairs: int = 1,
                 **backend_kwargs: Any) -> None:
        self.scene = scene
        self.domain = scene.require_domain("the goal-grounding planner")
        if isinstance(backend, str):
            self.lm = LM_BACKENDS.get(backend)(**{"examples": [], **backend_kwargs})
        else:
            self.lm = backend
        if not hasattr(self.lm, "generate"):
            raise ValueError(f"the goal-grounding planner needs a backend that generates text (hf-causal, "
                             f"openai-compatible); {type(self.lm).__name__} does not")
        self.n_examples, self.max_repairs = n_examples, max_repairs
        bank = generate(scene, exclude=suite_instructions(scene))
        self._bank = [(t.instruction, t.goal) for t in bank]
        self.vocabulary = self._grounded_predicates()
        self._embedder: Any = None
        self._bank_emb: npt.NDArray[np.float32] | None = None
        self._grounded: dict[str, dict[str, Any]] = {}
        self.state_fn: Any = None
        self.corrections: Any = None

    def _grounded_predicates(self) -> list[str]:
        names = set()
        for _, goal in self._bank:
            names.update(goal)
        for task in self.scene.tasks.values():
            names.update(task.goal)
        d = self.domain
        return sorted(n for n in names if _holds_ok(d, n))

    def reset(self, context: EpisodeContext) -> None:
        """New episode: read the discrete state from the scene env (the goal is grounded from the instruction, the
        context's goal is never used)."""
        self.domain = context.scene.require_domain("the goal-grounding planner")
        if context.env is not None:
            self.state_fn = context.state_reader("the goal-grounding planner")
        self.corrections = None

    def correct(self, corrections: Any) -> None:
        """A person's corrections amend the grounded goal (:meth:`Corrections.amend_goal
        <skillstack.planners.corrections.Corrections.amend_goal>`: referent swapped in, requirements on top)."""
        self.corrections = corrections

    def _examples(self, instruction: str) -> list[tuple[str, dict[str, bool]]]:
        if self._embedder is None:
            self._embedder = sentence_model()
            self._bank_emb = self._embedder.encode([i for i, _ in self._bank], normalize_embeddings=True,
                                                   convert_to_numpy=True, show_progress_bar=False, batch_size=128)
        q = self._embedder.encode([instruction or " "], normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=False)[0]
        assert self._bank_emb is not None
        best = np.argsort(-(self._bank_emb @ q), kind="stable")[: self.n_examples]
        return [self._bank[i] for i in best[::-1]]  # nearest last, right before the query

    def _prompt(self, instruction: str, feedback: list[str]) -> str:
        lines = ["Translate each instruction for a robot into its goal: the predicates that must hold at the end, "
                 f"comma-separated. Predicates: {', '.join(self.vocabulary)}.\n"]
        for ins, goal in self._examples(instruction):
            lines.append(f"Instruction: {ins}\nGoal: {goal_text(goal)}\n")
        lines += [f"Note: {f}\n" for f in feedback]
        lines.append(f"Instruction: {instruction}\nGoal:")
        return "".join(lines)

    def ground(self, instruction: str, state: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The goal of ``instruction``: ``{"goal": {...} or None, "status", "attempts": [...]}``.

        ``status`` is ``"valid"``, ``"repaired by the LM"`` or ``"rejected: <why>"``; a goal is rejected when it
        is empty, names predicates outside the vocabulary after the repair rounds, or is unreachable from
        ``state``.
        """
        if instruction in self._grounded:
            return self._grounded[instruction]
        feedback: list[str] = []
        attempts = []
        result: dict[str, Any] = {"goal": None, "status": "rejected: no goal", "attempts": attempts}
        for k in range(self.max_repairs + 1):
            text = self.lm.generate(self._prompt(instruction, feedback)).strip()
            goal, problems = parse_goal(text, self.vocabulary)
            error = None
            if problems:
                error = (f"'{', '.join(problems)}' are not predicates; use only: {', '.join(self.vocabulary)}")
            elif not goal:
                error = "the goal was empty; name at least one predicate"
            elif state is not None and shortest_plan(self.domain, state, goal) is None:
                error = f"the goal {goal_text(goal)} cannot be reached"
            attempts.append({"text": text, "goal": goal, "error": error})
            if error is None:
                result = {"goal": goal, "status": "valid" if k == 0 else "repaired by the LM", "attempts": attempts}
                break
            feedback.append(error)
            result = {"goal": None, "status": f"rejected: {error}", "attempts": attempts}
        self._grounded[instruction] = result
        return result

    def plan_step(self, instruction: str, history: Sequence[Step], observation: npt.NDArray[np.float64],
                  candidates: Sequence[Candidate]) -> Decision:
        if self.state_fn is None:
            raise RuntimeError("GoalGroundingPlanner reads the discrete state: call reset(EpisodeContext(scene, "
                               "env)) first")
        sym = self.state_fn(observation)
        grounded = self.ground(instruction, sym)
        goal = grounded["goal"]
        info: dict[str, Any] = {"planner": self.name, "goal": goal, "grounding": grounded["status"]}
        if self.corrections:
            goal = self.corrections.amend_goal(goal, sym)
            info["corrected_goal"] = goal
        plan, tied = None, {}
        if goal is not None:
            plan, tied = shortest_plan_by_affordance(self.domain, sym, goal, candidates, observation)
        choice = plan[0] if plan else DONE
        info["plan"] = plan
        info["tied_first_skills"] = tied
        scores = []
        for c in candidates:
            a = tied[c.name] if c.name in tied else 1.0 if c.affordance is None else float(c.affordance(observation))
            chosen = float(c.name == choice)
            scores.append(CandidateScore(c.name, chosen, a, chosen * a))
        return Decision(choice, scores, info)


def _holds_ok(domain: Any, predicate: str) -> bool:
    try:
        domain.holds(domain.default_state, predicate)
        return True
    except KeyError:
        return False


register_planner(PlannerSpec(
    "goal-grounding", GoalGroundingPlanner, "the LM translates the instruction into a goal over the scene's "
    "predicates (validated, one repair round), breadth-first search plans it (LLM+P / Text2Motion style)",
    needs_domain=True, language_model=True))
