"""Closed-loop execution of skill sequences in a scene (the executor of the scheduling layer).

:func:`execute_plan` runs library skills one after another in one episode of a scene (any registered
:class:`~skillstack.envs.scenes.Scene`, by name or object): before each skill it reads the skill's affordance on
the current observation, then runs the skill's policy until the skill's success predicate (the scene env's
``skill_succeeded``) holds or its step cap is reached, re-reads the predicates, and stops at the first failed
skill. :func:`run_instruction` puts a planner in the loop. Every frame of the optional video carries the plan or
the decision table, the running skill, its affordance and the outcomes so far. What a scene env provides is
listed in :mod:`skillstack.envs.scenes`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from skillstack.envs import make_env
from skillstack.envs.registry import UnknownNameError, unknown_name_message
from skillstack.envs.scenes import Scene, Task, as_task, get_scene
from skillstack.planners.base import DONE, Candidate, Decision, EpisodeContext, Planner, Step
from skillstack.skills.affordance import AffordanceSet
from skillstack.skills.evaluate import open_video, overlay_text
from skillstack.skills.library import Skill, SkillLibrary


def _scene(scene: str | Scene) -> Scene:
    """``scene`` as a :class:`Scene` (a name is looked up in the registry; raises ``UnknownNameError``)."""
    return scene if isinstance(scene, Scene) else get_scene(scene)


def _scene_env(scene: Scene, task: Task | None, video_path: Any, render_size: tuple[int, int]) -> Any:
    kwargs: dict[str, Any] = {"task": task}
    if video_path is not None:
        kwargs.update(render_mode="rgb_array", width=render_size[0], height=render_size[1])
    return make_env(scene.env_id, **kwargs).unwrapped  # no TimeLimit: skills carry their caps


@dataclass
class SkillExecution:
    """One executed skill.

    Attributes:
        skill: skill name.
        affordance: the skill's affordance on the observation before it ran (``None`` without a model).
        success: its success predicate held before the step cap.
        steps: control steps used.
        predicates: all predicates after the skill.
        sim_unstable: MuJoCo instability warning names if the simulation faulted, else ``None``.
    """

    skill: str
    affordance: float | None
    success: bool
    steps: int
    predicates: dict[str, bool]
    sim_unstable: str | None = None


@dataclass
class PlanResult:
    """Outcome of a plan execution.

    Attributes:
        plan: the requested skill names.
        executions: the skills that ran, in order (stops after the first failure).
        success: every skill succeeded (and the task goal holds, if the env has a task).
        failed_skill: name of the first failed skill, else ``None``.
        goal_satisfied: the task goal at the end (``None`` without a task).
        seed: the episode seed.
        steps: total control steps.
    """

    plan: list[str]
    executions: list[SkillExecution] = field(default_factory=list)
    success: bool = False
    failed_skill: str | None = None
    goal_satisfied: bool | None = None
    seed: int | None = None
    steps: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_plan_skills(library: SkillLibrary, plan: Sequence[str], scene: str | Scene) -> list[Skill]:
    """Load every skill of ``plan`` before anything runs.

    Raises:
        ValueError: empty plan, or a skill not trained for ``scene``.
        UnknownNameError: a name is not in the library (lists the valid ones, "did you mean"), or unknown scene.
        SkillLoadError: a skill's files fail verification.
    """
    scene = _scene(scene)
    if not plan:
        raise ValueError("the plan is empty; give skill names separated by commas")
    names = library.names()
    skills = []
    for name in plan:
        if name not in names:
            raise UnknownNameError(unknown_name_message("skill", name, names))
        skill = library.load(name)
        if not scene.owns(skill.env_id):
            raise ValueError(f"skill {name!r} acts in {skill.env_id!r}, not in a {scene.skill_env_prefix}<skill> env "
                             f"of scene {scene.name!r}")
        skills.append(skill)
    return skills


def _overlay_lines(plan: Sequence[str], done: Sequence[SkillExecution], current: str | None,
                   affordance: float | None, step: int, instruction: str | None) -> list[str]:
    lines = [f"instruction: {instruction}"] if instruction else []
    marks = []
    for i, name in enumerate(plan):
        if i < len(done):
            marks.append(f"{name} [{'ok' if done[i].success else 'FAIL'}]")
        elif name == current and i == len(done):
            marks.append(f">{name}<")
        else:
            marks.append(name)
    lines.append("plan: " + ", ".join(marks))
    if current is not None:
        aff = "n/a" if affordance is None else f"{affordance:.2f}"
        lines.append(f"running {current}  affordance {aff}  step {step}")
    return lines


def run_skill(env: Any, skill: Skill, obs: Any, affordance: float | None,
              on_frame: Callable[[int], None] | None = None) -> tuple[Any, SkillExecution]:
    """Run ``skill``'s policy from ``obs`` until its success predicate holds, its step cap, or a sim fault.

    Args:
        env: a scene env, unwrapped.

    Returns:
        The last observation and the :class:`SkillExecution`.
    """
    start = dict(env.predicates)
    ok, fault, t = False, None, 0
    p = start
    while t < skill.max_steps:
        if on_frame is not None:
            on_frame(t)
        obs, _, _, _, info = env.step(skill.predict(obs))
        t += 1
        p = info["predicates"]
        if "sim_unstable" in info:
            fault = info["sim_unstable"]
            break
        if env.skill_succeeded(skill.env_id, start, p):
            ok = True
            break
    return obs, SkillExecution(skill.name, affordance, ok, t, dict(p), fault)


def execute_plan(
    plan: Sequence[str],
    library: SkillLibrary,
    scene: str | Scene,
    seed: int = 0,
    task: str | None = None,
    env: Any = None,
    video_path: str | Path | None = None,
    render_size: tuple[int, int] = (480, 480),
    fps: int = 40,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
    skills: Sequence[Skill] | None = None,
) -> PlanResult:
    """Execute ``plan`` (library skill names) closed-loop in one seeded episode of ``scene``.

    Args:
        plan: skill names, e.g. ``["open_drawer", "pick_red_block", "place_in_drawer", "close_drawer"]``.
        library: where the skills are loaded from (all are loaded and verified first).
        seed: episode seed (layout and start state).
        task: optional task of the scene (a name in ``scene.tasks`` or a :class:`Task`) whose goal is checked at
            the end.
        env: an existing scene env to reuse (must have ``render_mode="rgb_array"`` for video).
        video_path: write an H.264 mp4 with the decision overlay (imageio-ffmpeg).
        render_size: ``(width, height)`` [px].
        fps: video frame rate (the control rate is 80 Hz, so 40 fps plays at half speed).
        on_event: callback ``(event, data)`` with events ``"skill_start"`` (skill, affordance) and
            ``"skill_end"`` (a :class:`SkillExecution` as dict) — the CLI prints from it.
        skills: pre-loaded skills matching ``plan`` (skips loading).
        scene: the scene (registered name or :class:`Scene`).

    Returns:
        A :class:`PlanResult`.

    Raises:
        See :func:`load_plan_skills`.
    """
    scene = _scene(scene)
    task = as_task(scene, task)
    skills = list(skills) if skills is not None else load_plan_skills(library, plan, scene)
    own_env = env is None
    if env is None:
        env = _scene_env(scene, task, video_path, render_size)
    writer = None
    if video_path is not None:
        writer = open_video(video_path, fps)
    result = PlanResult(plan=list(plan), seed=seed)
    try:
        obs, info = env.reset(seed=seed, options={"task": task} if task is not None else None)
        instruction = env.task.instruction if env.task is not None else None

        def frame(current: str | None, aff: float | None, step: int, ok: bool) -> None:
            if writer is not None:
                lines = _overlay_lines(plan, result.executions, current, aff, step, instruction)
                writer.append_data(overlay_text(env.render(), lines, ok))

        for skill in skills:
            aff = float(skill.affordance(obs)) if skill.affordance_model is not None else None
            if on_event:
                on_event("skill_start", {"skill": skill.name, "affordance": aff})
            obs, ex = run_skill(env, skill, obs, aff, lambda t, name=skill.name, a=aff: frame(name, a, t, False))
            result.executions.append(ex)
            result.steps += ex.steps
            if on_event:
                on_event("skill_end", asdict(ex))
            if not ex.success:
                result.failed_skill = skill.name
                break
        p = env.predicates
        result.goal_satisfied = env.task.satisfied(p) if env.task is not None else None
        result.success = result.failed_skill is None and result.goal_satisfied is not False
        if writer is not None:
            last = overlay_text(env.render(), _overlay_lines(plan, result.executions, None, None, 0, instruction)
                            + ["SUCCESS" if result.success else f"FAILED at {result.failed_skill or 'goal'}"],
                            result.success)
            for _ in range(fps):
                writer.append_data(last)
    finally:
        if writer is not None:
            writer.close()
        if own_env:
            env.close()
    return result



@dataclass
class InstructionResult:
    """Outcome of a closed-loop, planner-driven episode.

    Attributes:
        instruction: the instruction text.
        decisions: every decision as a dict (choice, all candidates' language/affordance/combined scores).
        executions: the skills that ran.
        ended_by: ``"done"`` (planner chose done), ``"retries"`` (a skill failed more than allowed),
            ``"decisions"`` (decision budget) or ``"steps"`` (control-step budget).
        goal_satisfied: the goal at the end (``None`` without one).
        success: ``goal_satisfied`` if a goal was given, else the planner ended with ``done``.
        seed: episode seed.
        steps: control steps used.
        loops_prevented: decisions at which skills that had just run without changing any predicate were
            withheld from the planner (the loop guard; such a skill is offered again once something changes).
    """

    instruction: str
    decisions: list[dict[str, Any]] = field(default_factory=list)
    executions: list[SkillExecution] = field(default_factory=list)
    ended_by: str = ""
    goal_satisfied: bool | None = None
    success: bool = False
    seed: int | None = None
    steps: int = 0
    loops_prevented: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def library_candidates(library: SkillLibrary, scene: str | Scene) -> tuple[list[Candidate], dict[str, Skill]]:
    """Every skill of ``library`` that acts in ``scene`` as a planner candidate, plus ``done``. The candidates'
    affordances are members of one :class:`~skillstack.skills.affordance.AffordanceSet` (all models evaluated in
    one batched pass per observation).

    Raises:
        UnknownNameError: unknown scene.
    """
    scene = _scene(scene)
    skills = {}
    for name in library.names():
        if scene.owns(str(library.manifest(name).get("env_id", ""))):
            skills[name] = library.load(name)
    with_model = [n for n, s in skills.items() if s.affordance_model is not None]
    batch = AffordanceSet([skills[n].affordance_model for n in with_model])  # one evaluation per decision
    member = {n: batch.member(i) for i, n in enumerate(with_model)}
    cands = [Candidate(n, s.description, member.get(n)) for n, s in skills.items()]
    return [*cands, Candidate(DONE, "done")], skills


def _decision_lines(instruction: str, decision: Decision) -> list[str]:
    return [f"instruction: {instruction}"] + [
        f"{'>' if s.name == decision.choice else ' '} {s.name:16s} LM {s.language:.2f} aff {s.affordance:.2f} "
        f"= {s.combined:.3f}" for s in decision.table(top=5)]


@dataclass
class _Budget:
    """The closed loop's budgets and the failures counted against them."""

    max_decisions: int
    max_retries: int
    step_budget: int
    failures: dict[str, int] = field(default_factory=dict)

    def after_skill(self, result: InstructionResult, ex: SkillExecution) -> str | None:
        """Why the episode ends after ``ex`` (``"retries"``, ``"steps"``), or ``None``."""
        if not ex.success:
            self.failures[ex.skill] = self.failures.get(ex.skill, 0) + 1
            if self.failures[ex.skill] > self.max_retries:
                return "retries"
        return "steps" if result.steps >= self.step_budget else None


def run_instruction(
    instruction: str,
    planner: Planner,
    library: SkillLibrary,
    scene: str | Scene,
    seed: int = 0,
    task: str | Task | None = None,
    max_decisions: int = 12,
    max_retries: int = 1,
    step_budget: int = 3000,
    video_path: str | Path | None = None,
    render_size: tuple[int, int] = (480, 480),
    fps: int = 40,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
    loaded: tuple[list[Candidate], dict[str, Skill]] | None = None,
    env: Any = None,
) -> InstructionResult:
    """Carry out ``instruction`` closed-loop: decide, execute, re-read the predicates, decide again.

    The planner is first reset with the episode's context (scene, env, goal if known). After each skill it sees
    the new observation and the history (skill, success). A failed skill may be chosen again (a retry) at most
    ``max_retries`` times; the episode ends when the planner chooses ``done`` or a budget runs out. Loop guard:
    a skill that ran without changing any predicate (its success predicate already held, or it did nothing) is
    not offered to the planner again until some predicate changes, so a planner cannot burn the budget
    repeating it (``InstructionResult.loops_prevented`` counts such decisions). Every decision is recorded with
    the scores of the candidates offered.

    Args:
        instruction: natural-language instruction.
        planner: a :class:`~skillstack.planners.base.Planner`.
        library: skills to choose from (every skill of ``scene``, plus ``done``).
        scene: the scene (registered name or :class:`Scene`).
        seed: layout seed.
        task: optional task (name in ``scene.tasks`` or a :class:`Task`): start state and the goal checked at
            the end.
        max_decisions: decision budget.
        max_retries: extra attempts allowed per failed skill.
        step_budget: control-step budget.
        video_path: mp4 with the decision table overlaid.
        on_event: callback ``(event, data)``: ``"decision"`` (a decision dict) and ``"skill_end"``.
        loaded: ``library_candidates(library, scene)`` computed once (benchmarks loop over many instructions).
        env: an existing scene env to reuse (``render_mode="rgb_array"`` for video); not closed.

    Returns:
        An :class:`InstructionResult`.
    """
    scene = _scene(scene)
    task = as_task(scene, task)
    candidates, skills = loaded if loaded is not None else library_candidates(library, scene)
    own_env = env is None
    if env is None:
        env = _scene_env(scene, task, video_path, render_size)
    writer = open_video(video_path, fps) if video_path is not None else None
    result = InstructionResult(instruction=instruction, seed=seed)
    budget = _Budget(max_decisions, max_retries, step_budget)
    history: list[Step] = []
    blocked: set[str] = set()  # skills that ran and changed no predicate, offered again only after a change
    try:
        obs, _ = env.reset(seed=seed, options={"task": task} if task is not None else None)
        planner.reset(EpisodeContext(scene=scene, env=env, goal=task.goal if task is not None else None))
        lines: list[str] = [f"instruction: {instruction}"]
        while True:
            if len(result.decisions) >= max_decisions:
                result.ended_by = "decisions"
                break
            offered = [c for c in candidates if c.name not in blocked]
            decision = planner.plan_step(instruction, history, obs, offered)
            d = decision.to_dict()
            if blocked:
                d["info"]["blocked"] = sorted(blocked)
                result.loops_prevented += 1
            result.decisions.append(d)
            if on_event:
                on_event("decision", d)
            lines = _decision_lines(instruction, decision)
            if decision.choice == DONE:
                result.ended_by = "done"
                break
            skill = skills[decision.choice]
            aff = float(skill.affordance(obs)) if skill.affordance_model is not None else None

            def on_frame(t: int, lines: list[str] = lines, name: str = skill.name) -> None:
                if writer is not None:
                    writer.append_data(overlay_text(env.render(), [*lines, f"running {name} step {t}"], False))

            before = dict(env.predicates)
            obs, ex = run_skill(env, skill, obs, aff, on_frame)
            result.executions.append(ex)
            result.steps += ex.steps
            history.append(Step(skill.name, skill.description, ex.success))
            if ex.predicates == before:  # no effect (e.g. closing a closed drawer): not offered again until a change
                blocked.add(skill.name)
            else:
                blocked.clear()
            if on_event:
                on_event("skill_end", asdict(ex))
            ended = budget.after_skill(result, ex)
            if ended is not None:
                result.ended_by = ended
                break
        p = env.predicates
        result.goal_satisfied = env.task.satisfied(p) if env.task is not None else None
        result.success = bool(result.goal_satisfied) if env.task is not None else result.ended_by == "done"
        if writer is not None:
            last = overlay_text(env.render(), [*lines, "SUCCESS" if result.success else f"FAILED ({result.ended_by})"],
                                result.success)
            for _ in range(fps):
                writer.append_data(last)
    finally:
        if writer is not None:
            writer.close()
        if own_env:
            env.close()
    return result
