"""SayCan planner (Ahn et al. 2022): choose ``argmax_c p_LM(c | instruction, history) × affordance_c(obs)``."""

from __future__ import annotations

from collections.abc import Sequence
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
from skillstack.planners.lm import LM_BACKENDS, scene_examples


class SayCanPlanner:
    """SayCan scoring over the candidates (``done`` included, with affordance 1).

    Args:
        backend: name in :data:`~skillstack.planners.lm.LM_BACKENDS` (default ``embedding``) or a scorer object.
        use_affordance: ``False`` is the paper's "no value function" ablation (language score only).
        scene: the scene whose few-shot prompt (and templated exemplars) the backend uses unless
            ``backend_kwargs`` give ``exemplars`` / ``examples``.
        backend_kwargs: passed to the backend's constructor.

    Raises:
        UnknownNameError: unknown backend (lists the valid ones).
    """

    def __init__(self, backend: Any = "embedding", use_affordance: bool = True, scene: Scene | None = None,
                 feedback: bool = False, **backend_kwargs: Any) -> None:
        if isinstance(backend, str):
            cls = LM_BACKENDS.get(backend)
            if scene is not None:
                backend_kwargs = {**scene_examples(cls, scene), **backend_kwargs}
            self.scorer = cls(**backend_kwargs)
        else:
            self.scorer = backend
        self.use_affordance = use_affordance
        self.feedback = feedback
        self._read_state: Any = None
        self._undone: set[int] = set()
        self._checked: set[int] = set()
        self._states: dict[int, dict[str, Any]] = {}

    def reset(self, context: EpisodeContext) -> None:
        """Plain SayCan keeps no per-episode state (the language scores are cached by text); with ``feedback`` the
        planner reads the scene's predicates (privileged, as Inner Monologue's simulated feedback) and forgets
        which steps were undone."""
        self._undone, self._checked, self._states = set(), set(), {}
        if self.feedback:
            self._read_state = context.state_reader("saycan-feedback")

    def language_history(self, history: Sequence[Step], observation: npt.NDArray[np.float64]) -> list[str]:
        """The skill texts the language model conditions on: the successful steps; with ``feedback``, minus the
        successful steps that a later failure undid.

        With ``feedback`` the discrete state is read at every decision (the state after each step is recorded).
        After a failed execution, the latest successful steps are walked back: a step whose changes (the state
        variables it set, from the states recorded before and after it) no longer hold is undone; the walk stops at
        the first step whose changes still hold, or whose states were not recorded. A place that dropped the object
        undoes its pick, so the history reads as if the pick had not happened and the LM proposes it again.
        """
        if not self.feedback:
            return [s.description for s in history if s.success]
        n = len(history)
        state = self._read_state(observation)
        self._states.setdefault(n, dict(state))
        if n and not history[-1].success and n - 1 not in self._checked:
            self._checked.add(n - 1)
            for i in range(n - 2, -1, -1):
                if not history[i].success or i in self._undone:
                    continue
                before, after = self._states.get(i), self._states.get(i + 1)
                if before is None or after is None:
                    break
                changed = {k: v for k, v in after.items() if before.get(k) != v}
                if not changed:  # changed nothing: neither undone nor evidence for earlier steps
                    continue
                if all(state.get(k) == v for k, v in changed.items()):  # still in effect: earlier steps stand
                    break
                self._undone.add(i)
        return [s.description for i, s in enumerate(history) if s.success and i not in self._undone]

    def plan_step(self, instruction: str, history: Sequence[Step], observation: npt.NDArray[np.float64],
                  candidates: Sequence[Candidate]) -> Decision:
        if not candidates:
            raise ValueError("no candidate skills")
        names = [c.name for c in candidates]
        done_index = names.index(DONE) if DONE in names else None
        done_texts = self.language_history(history, observation)
        lang = self.scorer.probabilities(instruction, done_texts, [c.description for c in candidates], done_index)
        aff = np.array([
            1.0 if (not self.use_affordance or c.affordance is None) else float(c.affordance(observation))
            for c in candidates
        ])
        combined = lang * aff
        best = int(np.argmax(combined))
        scores = [CandidateScore(c.name, float(lp), float(a), float(s))
                  for c, lp, a, s in zip(candidates, lang, aff, combined, strict=True)]
        info: dict[str, Any] = {"use_affordance": self.use_affordance}
        if self.feedback:
            info["undone"] = sorted(self._undone)
        return Decision(candidates[best].name, scores, info)


register_planner(PlannerSpec(
    "saycan", lambda **kw: SayCanPlanner(use_affordance=True, **kw),
    "SayCan (Ahn et al. 2022): argmax p_LM(skill | instruction, history) x affordance", language_model=True))
register_planner(PlannerSpec(
    "saycan-no-affordance", lambda **kw: SayCanPlanner(use_affordance=False, **kw),
    "SayCan without value functions (the paper's ablation): language score only", language_model=True))
register_planner(PlannerSpec(
    "saycan-causal", lambda **kw: SayCanPlanner(use_affordance=True, **{"backend": "hf-causal", **kw}),
    "SayCan with true log-likelihoods of a causal LM (default: the shipped SmolLM2-135M-Instruct, offline)",
    language_model=True))
register_planner(PlannerSpec(
    "saycan-causal-no-affordance",
    lambda **kw: SayCanPlanner(use_affordance=False, **{"backend": "hf-causal", **kw}),
    "SayCan without value functions, causal-LM log-likelihoods only (default: the shipped SmolLM2)",
    language_model=True))
register_planner(PlannerSpec(
    "saycan-feedback", lambda **kw: SayCanPlanner(use_affordance=True, feedback=True, **kw),
    "SayCan with success and state feedback (Inner Monologue, Huang et al. 2022; privileged predicates): a failure "
    "that undid earlier steps removes them from the LM's history", language_model=True, needs_domain=True))
# The name used in benchmark tables: SayCan with the offline embedding language model (``saycan``'s default).
register_planner(PlannerSpec(
    "saycan-embedding", lambda **kw: SayCanPlanner(use_affordance=True, **{"backend": "embedding", **kw}),
    "SayCan with the offline sentence-embedding language model", language_model=True))
