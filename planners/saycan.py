"""SayCan planner (Ahn et al. 2022): choose ``argmax_c p_LM(c | instruction, history) × affordance_c(obs)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from skillstack.planners.base import DONE, PLANNERS, Candidate, CandidateScore, Decision, Step
from skillstack.planners.lm import LM_BACKENDS


class SayCanPlanner:
    """SayCan scoring over the candidates (``done`` included, with affordance 1).

    Args:
        backend: name in :data:`~skillstack.planners.lm.LM_BACKENDS` (default ``embedding``) or a scorer object.
        use_affordance: ``False`` is the paper's "no value function" ablation (language score only).
        backend_kwargs: passed to the backend's constructor.

    Raises:
        UnknownNameError: unknown backend (lists the valid ones).
    """

    def __init__(self, backend: Any = "embedding", use_affordance: bool = True, **backend_kwargs: Any) -> None:
        self.scorer = LM_BACKENDS.get(backend)(**backend_kwargs) if isinstance(backend, str) else backend
        self.use_affordance = use_affordance

    def plan_step(self, instruction: str, history: Sequence[Step], observation: npt.NDArray[np.float64],
                  candidates: Sequence[Candidate]) -> Decision:
        if not candidates:
            raise ValueError("no candidate skills")
        names = [c.name for c in candidates]
        done_index = names.index(DONE) if DONE in names else None
        done_texts = [s.description for s in history if s.success]
        lang = self.scorer.probabilities(instruction, done_texts, [c.description for c in candidates], done_index)
        aff = np.array([
            1.0 if (not self.use_affordance or c.affordance is None) else float(c.affordance(observation))
            for c in candidates
        ])
        combined = lang * aff
        best = int(np.argmax(combined))
        scores = [CandidateScore(c.name, float(lp), float(a), float(s))
                  for c, lp, a, s in zip(candidates, lang, aff, combined, strict=True)]
        return Decision(candidates[best].name, scores, {"use_affordance": self.use_affordance})


PLANNERS.register("saycan", lambda **kw: SayCanPlanner(use_affordance=True, **kw))
PLANNERS.register("saycan-no-affordance", lambda **kw: SayCanPlanner(use_affordance=False, **kw))
# The name used in benchmark tables: SayCan with the offline embedding language model (``saycan``'s default).
PLANNERS.register("saycan-embedding",
                  lambda **kw: SayCanPlanner(use_affordance=True, **{"backend": "embedding", **kw}))
