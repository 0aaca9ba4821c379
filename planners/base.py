"""The planner interface of the scheduling layer: one decision per call, with every candidate's scores.

A planner implements ``plan_step(instruction, history, observation, candidates) -> Decision``; the closed-loop
executor (:func:`skillstack.planners.executor.run_instruction`) calls it after every skill, so every decision can
be printed, logged as JSON and overlaid on video.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from skillstack.envs.registry import Registry

DONE = "done"
"""The terminating candidate; always offered to planners (SayCan's "done" skill)."""


@dataclass(frozen=True)
class Candidate:
    """A skill the planner may choose.

    Attributes:
        name: skill name (``"done"`` for termination).
        description: the language text scored by language models, e.g. ``"open the drawer"``.
        affordance: ``obs → P(success)`` of the skill (``None`` for ``done`` or skills without a model).
    """

    name: str
    description: str
    affordance: Callable[[npt.NDArray[np.float64]], float] | None = None


@dataclass
class CandidateScore:
    """One candidate's scores in one decision.

    Attributes:
        name: skill name.
        language: the language model's probability of the candidate, in [0, 1] (sums to 1 over candidates).
        affordance: the affordance in [0, 1] (1.0 when not used, e.g. ``done`` or the no-affordance ablation).
        combined: the quantity the planner maximised (SayCan: ``language × affordance``).
    """

    name: str
    language: float
    affordance: float
    combined: float


@dataclass
class Decision:
    """A planner's choice with the scores of every candidate (for printing, JSON logs and video overlays)."""

    choice: str
    scores: list[CandidateScore] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self, top: int | None = None) -> list[CandidateScore]:
        """Scores sorted by ``combined``, best first."""
        rows = sorted(self.scores, key=lambda s: -s.combined)
        return rows[:top] if top else rows


@dataclass(frozen=True)
class Step:
    """One executed skill in the history a planner sees."""

    skill: str
    description: str
    success: bool


class Planner(Protocol):
    """Chooses the next skill."""

    def plan_step(
        self, instruction: str, history: Sequence[Step], observation: npt.NDArray[np.float64],
        candidates: Sequence[Candidate],
    ) -> Decision: ...


PLANNERS: Registry[Callable[..., Planner]] = Registry("planner")
"""Planner factories by name (``saycan``, ``saycan-no-affordance``, ``saycan-generative``, ``learned``,
``oracle``); use :func:`planner_factory`, which imports the modules that register them."""


def planner_factory(name: str) -> Callable[..., Planner]:
    """The factory registered as ``name``.

    Raises:
        UnknownNameError: unknown planner (lists the valid ones, "did you mean").
    """
    import skillstack.planners.generative  # noqa: F401  (registers "saycan-generative")
    import skillstack.planners.learned  # noqa: F401  (registers "learned")
    import skillstack.planners.saycan  # noqa: F401  (registers "saycan*")
    import skillstack.planners.symbolic  # noqa: F401  (registers "oracle")

    return PLANNERS.get(name)
