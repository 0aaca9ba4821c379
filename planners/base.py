"""The planner interface of the scheduling layer: one decision per call, with every candidate's scores.

A planner implements ``plan_step(instruction, history, observation, candidates) -> Decision``; the closed-loop
executor (:func:`skillstack.planners.executor.run_instruction`) calls it after every skill, so every decision can
be printed, logged as JSON and overlaid on video.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from skillstack.envs.registry import Registry, parse_options
from skillstack.envs.scenes import Scene

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


@dataclass(frozen=True)
class EpisodeContext:
    """What a planner may know about the episode it is about to plan, passed to :meth:`Planner.reset`.

    Attributes:
        scene: the :class:`~skillstack.envs.scenes.Scene` (its symbolic domain, if any).
        env: the scene env, unwrapped (privileged state: planners that declare ``reads_state`` read its
            ``predicates``).
        goal: the goal predicates if known (``None``: only the instruction is known).
    """

    scene: Scene
    env: Any = None
    goal: Mapping[str, bool] | None = None

    def state_reader(self, why: str) -> Callable[[Any], dict[str, Any]]:
        """``observation -> discrete state`` read from the env's predicates through the scene's symbolic domain
        (privileged state; the observation argument is ignored).

        Raises:
            ValueError: the scene has no symbolic domain (``why`` names what needed it).
            RuntimeError: the context has no env.
        """
        domain = self.scene.require_domain(why)
        if self.env is None:
            raise RuntimeError(f"{why} reads the scene env's predicates: the episode context has no env")
        env = self.env
        return lambda _obs: domain.state_of(env.predicates)


class Planner(Protocol):
    """Chooses the next skill."""

    def reset(self, context: EpisodeContext) -> None:
        """Start a new episode (forget per-episode state; read what the planner needs from ``context``)."""
        ...

    def plan_step(
        self, instruction: str, history: Sequence[Step], observation: npt.NDArray[np.float64],
        candidates: Sequence[Candidate],
    ) -> Decision: ...


@dataclass(frozen=True)
class PlannerSpec:
    """A registered planner.

    Attributes:
        name: registry name, e.g. ``"saycan"``.
        factory: ``(scene=..., **kwargs) -> Planner``.
        description: one line (paper or method).
        needs_domain: plans over the scene's symbolic domain (refused for scenes without one).
        needs_goal: needs the goal predicates (refused when no goal is known for the instruction).
        language_model: accepts ``backend`` / ``model_path`` / ``base_url`` keyword arguments (an LM backend).
    """

    name: str
    factory: Callable[..., Planner]
    description: str
    needs_domain: bool = False
    needs_goal: bool = False
    language_model: bool = False


PLANNERS: Registry[PlannerSpec] = Registry("planner")
"""Registered planners (``saycan``, ``saycan-no-affordance``, ``saycan-embedding``, ``saycan-generative``,
``learned``, ``oracle``); use :func:`planner_spec` / :func:`make_planner`, which import the built-in modules."""


def register_planner(spec: PlannerSpec) -> PlannerSpec:
    """Register a planner.

    Raises:
        ValueError: the name is already registered.
    """
    PLANNERS.register(spec.name, spec)
    return spec


def _load_builtin_planners() -> None:
    import skillstack.planners.finetune  # noqa: F401  (registers "saycan-finetuned")
    import skillstack.planners.generative  # noqa: F401  (registers "saycan-generative")
    import skillstack.planners.grounding  # noqa: F401  (registers "goal-grounding")
    import skillstack.planners.learned  # noqa: F401  (registers "learned")
    import skillstack.planners.parse  # noqa: F401  (registers "goal-grounding-parse")
    import skillstack.planners.saycan  # noqa: F401  (registers "saycan*")
    import skillstack.planners.symbolic  # noqa: F401  (registers "oracle")


def planner_spec(name: str) -> PlannerSpec:
    """The registered planner ``name`` (options after a ``:`` are ignored here, see :func:`make_planner`).

    Raises:
        UnknownNameError: unknown planner (lists the valid ones, "did you mean").
    """
    _load_builtin_planners()
    return PLANNERS.get(parse_options(name)[0])


def planner_names() -> list[str]:
    """Every registered planner name, sorted."""
    _load_builtin_planners()
    return PLANNERS.names()


def check_planner(name: str, scene: Scene, has_goal: bool | None = None) -> PlannerSpec:
    """The spec of ``name`` after checking that it can plan in ``scene`` (and with/without a goal).

    Args:
        has_goal: whether a goal is known (``None``: not checked yet).

    Raises:
        UnknownNameError: unknown planner.
        ValueError: the planner needs a symbolic domain the scene lacks, or a goal that is not known.
    """
    spec = planner_spec(name)
    if spec.needs_domain:
        scene.require_domain(f"planner {name!r}")
    if spec.needs_goal and has_goal is False:
        raise ValueError(f"planner {name!r} needs goal predicates: pass --task, or an instruction of one of the "
                         f"scene's instruction suites or tasks")
    return spec


def make_planner(name: str, scene: Scene, **kwargs: Any) -> Planner:
    """Build the planner ``name`` for ``scene`` (checked with :func:`check_planner`).

    ``name`` may carry options for the planner's factory, ``NAME[:key=value...]``
    (:func:`~skillstack.envs.registry.parse_options`; they override ``kwargs``), e.g.
    ``saycan-causal:dtype=bfloat16`` — the whole string then names the planner in benchmark tables.

    Raises:
        UnknownNameError: unknown planner.
        ValueError: the planner cannot plan in ``scene``, a malformed option, or options the planner does not
            accept.
    """
    spec = check_planner(name, scene)
    base, options = parse_options(name)
    kwargs = {**kwargs, **options}
    if not spec.language_model and any(k in kwargs for k in ("backend", "model_path", "model", "base_url")):
        raise ValueError(f"--backend/--model/--base-url apply to planners with a language model, not {name!r}")
    try:
        return spec.factory(scene=scene, **kwargs)
    except TypeError as e:
        if not options:
            raise
        raise ValueError(f"planner {base!r} does not accept the options {sorted(options)} ({e})") from e

