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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from skillstack.envs import make_env
from skillstack.envs.registry import UnknownNameError, unknown_name_message
from skillstack.envs.scenes import Scene, Task, as_task, get_scene
from skillstack.planners.base import DONE, Candidate, Decision, EpisodeContext, Planner, Step
from skillstack.planners.corrections import (
    Amendment,
    CorrectionInterpreter,
    CorrectionMemory,
    Corrections,
    CorrectionSource,
    MemoryEntry,
    is_stop,
)
from skillstack.skills.affordance import AffordanceSet
from skillstack.skills.evaluate import open_video, overlay_text
from skillstack.skills.library import Skill, SkillLibrary

EXPLICIT_SIMILARITY = 0.8
"""Clause–atom similarity above which a clause of the instruction counts as an explicit request that overrides a
remembered correction (an instruction is read like a correction, but only its clear clauses count)."""


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
        interrupted: a person stopped the skill (a ``stop`` correction).
        setup_steps: control steps the scene ran before the policy to set up its low-level control
            (``begin_skill``: the robosuite ready move), not counted in ``steps`` (the skill's step cap).
    """

    skill: str
    affordance: float | None
    success: bool
    steps: int
    predicates: dict[str, bool]
    sim_unstable: str | None = None
    interrupted: bool = False
    setup_steps: int = 0


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
              on_frame: Callable[[int], None] | None = None,
              interrupt: Callable[[int], bool] | None = None) -> tuple[Any, SkillExecution]:
    """Run ``skill``'s policy from ``obs`` until its success predicate holds, its step cap, a sim fault, or an
    interruption.

    Args:
        env: a scene env, unwrapped.
        on_frame: called with the skill's step index before each control step (video frames); during the
            scene's setup (``begin_skill``) with index 0 after each of its control steps.
        interrupt: called with the skill's step index before each control step; ``True`` stops the skill there
            (``SkillExecution.interrupted``).

    Returns:
        The last observation and the :class:`SkillExecution`.
    """
    start = dict(env.predicates)
    ok, fault, t, stopped = False, None, 0, False
    p = start
    skill.reset()  # an action-chunk skill starts with a fresh chunk; a chunk cut by success leaves nothing behind
    begin = getattr(env, "begin_skill", None)
    setup = 0
    if begin is not None:  # the scene's low-level control for this skill (envs/scenes.py), e.g. a ready move
        moved = begin(skill.env_id, on_step=None if on_frame is None else lambda: on_frame(0))
        setup = int(getattr(env, "setup_steps", 0))
        if moved is not None:
            obs = moved
    while t < skill.max_steps:
        if interrupt is not None and interrupt(t):
            stopped = True
            break
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
    return obs, SkillExecution(skill.name, affordance, ok, t, dict(p), fault, stopped, setup)


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
            result.steps += ex.steps + ex.setup_steps
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
        corrections: every correction received, in order: its text, when (``after_skill``, ``step``), the
            :class:`~skillstack.planners.corrections.Amendment` read from it, and the decision before and after it
            (``stop`` corrections name the skill they interrupted).
        memory: the correction-memory entries retrieved and applied before the first decision (id, similarity,
            correction).
        learned: ids of the memory entries written from this episode's corrections.
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
    corrections: list[dict[str, Any]] = field(default_factory=list)
    memory: list[dict[str, Any]] = field(default_factory=list)
    learned: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def library_candidates(library: SkillLibrary, scene: str | Scene) -> tuple[list[Candidate], dict[str, Skill]]:
    """Every skill of ``library`` that acts in ``scene`` as a planner candidate, plus ``done``. The candidates'
    affordances are members of one :class:`~skillstack.skills.affordance.AffordanceSet` (all models evaluated in
    one batched pass per observation).

    A skill that the scene names (:attr:`Scene.skills`) is described by the scene's text for it — the language its
    planners' prompts, exemplars and templates are written in — whatever description its training run recorded: a
    ``pick_can`` trained in ``pick_can-v2`` recorded that env's "pick up the can, leaving the other objects
    standing", and the embedding LM scored it like an unknown skill (SayCan can+milk 0/50 on development layouts,
    2026-12-06). The returned skills carry the scene's text too (history, overlays).

    Raises:
        UnknownNameError: unknown scene.
    """
    scene = _scene(scene)
    skills = {}
    for name in library.names():
        if scene.owns(str(library.manifest(name).get("env_id", ""))):
            skill = library.load(name)
            if name in scene.skills and skill.description != scene.skills[name]:
                skill = replace(skill, description=scene.skills[name])
            skills[name] = skill
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
        """Why the episode ends after ``ex`` (``"retries"``, ``"steps"``), or ``None``. A skill a person
        interrupted is not a failure."""
        if not ex.success and not ex.interrupted:
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
    corrections: CorrectionSource | None = None,
    memory: CorrectionMemory | None = None,
    learn: bool = True,
    interpreter: CorrectionInterpreter | None = None,
) -> InstructionResult:
    """Carry out ``instruction`` closed-loop: decide, execute, re-read the predicates, decide again.

    The planner is first reset with the episode's context (scene, env, goal if known). After each skill it sees
    the new observation and the history (skill, success). A failed skill may be chosen again (a retry) at most
    ``max_retries`` times, even if it changed no predicate (a failed grasp moves the object even when nothing
    symbolic changes); the episode ends when the planner chooses ``done`` or a budget runs out. Loop guard: a
    skill that succeeded without changing any predicate (its success predicate already held) is not offered to
    the planner again until some predicate changes, so a planner cannot burn the budget repeating it
    (``InstructionResult.loops_prevented`` counts such decisions); failures are bounded by ``max_retries``.
    Every decision is recorded with the scores of the candidates offered.

    Corrections (:mod:`skillstack.planners.corrections`): at each decision the planner first proposes, then
    ``corrections`` may deliver texts; each is read into an amendment, applied (:class:`Corrections`) and the
    planner decides again — both decision tables are logged. Texts arriving while a skill runs are applied at
    the next decision, except ``stop``, which interrupts the skill at the next control step (a ``stop`` at a
    decision ends the episode, ``ended_by="stopped"``). Planners with a ``correct(corrections)`` method
    (goal-grounding, generative, oracle) amend their goal or replan; the others score the instruction with the
    corrections' canonical phrasings appended; for every planner ``done`` is withheld until the required
    predicates hold and skills that would undo them are vetoed. ``memory`` entries similar to the instruction are
    applied before the first decision, and (with ``learn``) each understood correction is stored in it.

    Args:
        instruction: natural-language instruction.
        planner: a :class:`~skillstack.planners.base.Planner`.
        library: skills to choose from (every skill of ``scene``, plus ``done``).
        scene: the scene (registered name or :class:`Scene`).
        seed: layout seed.
        task: optional task (name in ``scene.tasks`` or a :class:`Task`): start state and the goal checked at
            the end.
        max_decisions: decision budget (decisions superseded by a correction do not count).
        max_retries: extra attempts allowed per failed skill.
        step_budget: control-step budget.
        video_path: mp4 with the decision table (and corrections) overlaid.
        on_event: callback ``(event, data)``: ``"decision"`` (a decision dict), ``"correction"`` (a correction
            record) and ``"skill_end"``.
        loaded: ``library_candidates(library, scene)`` computed once (benchmarks loop over many instructions).
        env: an existing scene env to reuse (``render_mode="rgb_array"`` for video); not closed.
        corrections: where corrections come from (a script or the terminal), or ``None``.
        memory: a correction memory to retrieve from (and, with ``learn``, to store new corrections in).
        learn: store this episode's understood corrections in ``memory``.
        interpreter: reads corrections (default: a :class:`CorrectionInterpreter` of ``scene``, built when
            needed).

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
    fix = Corrections(scene)
    structural = callable(getattr(planner, "correct", None))  # amends its own goal / replans
    pending: list[str] = []  # texts that arrived while a skill ran
    new_entries: list[MemoryEntry] = []
    stopped_at: list[int] = []
    n_decisions = 0

    def state() -> dict[str, Any] | None:
        return scene.domain.state_of(env.predicates) if scene.domain is not None else None

    def held() -> list[str]:
        return [k[len("holding("):-1] for k, v in env.predicates.items() if v and k.startswith("holding(")]

    def interp() -> CorrectionInterpreter:
        nonlocal interpreter
        if interpreter is None:
            interpreter = CorrectionInterpreter(scene)
        return interpreter

    def read(text: str, about: str | None = None, threshold: float | None = None) -> Amendment:
        return interp().interpret(text, instruction if about is None else about, held(), fix.referent, threshold)

    def decide(obs: Any) -> dict[str, Any]:
        offered = [c for c in candidates if c.name not in blocked]
        offered, vetoed = fix.filter(offered, env.predicates)
        text = instruction if structural else fix.instruction(instruction)
        decision = planner.plan_step(text, history, obs, offered)
        d = decision.to_dict()
        d["lines"] = _decision_lines(instruction, decision)
        if blocked:
            d["info"]["blocked"] = sorted(blocked)
        if vetoed:
            d["info"]["vetoed"] = vetoed
        if fix:
            d["info"]["require"] = dict(fix.require)
            if not structural:
                d["info"]["scored_instruction"] = text
        return d

    def correct(a: Amendment) -> None:
        fix.add(a, state())
        if structural:
            planner.correct(fix)

    try:
        obs, _ = env.reset(seed=seed, options={"task": task} if task is not None else None)
        planner.reset(EpisodeContext(scene=scene, env=env, goal=task.goal if task is not None else None))
        if memory is not None:
            hits = memory.retrieve(instruction, scene.name)
            # what the instruction itself asks for (read like a correction) overrides remembered preferences
            explicit = read(instruction, "", EXPLICIT_SIMILARITY).require if hits else {}
            for entry, sim in hits:
                a = entry.to_amendment()
                if a.referent is not None and interp().mentioned(instruction):
                    a = a.without_referent()  # a remembered referent resolves vague wording, not a named object
                overridden = fix.conflicts(a.require, explicit, state())
                a = a.without(overridden)
                correct(a)
                result.memory.append({"id": entry.id, "similarity": round(sim, 4), "correction": entry.correction,
                                      "instruction": entry.instruction, "require": a.require,
                                      "referent": a.referent, "overridden_by_instruction": overridden})
        lines: list[str] = [f"instruction: {instruction}"]
        while True:
            if n_decisions >= max_decisions:
                result.ended_by = "decisions"
                break
            d = decide(obs)
            texts = pending + (corrections.at_decision(len(result.executions), d["lines"]) if corrections else [])
            pending.clear()
            stop = False
            while texts and not stop:
                for text in texts:
                    a = read(text)
                    record: dict[str, Any] = {"text": text, "after_skill": len(result.executions),
                                              "step": result.steps, "amendment": a.to_dict()}
                    if a.stop:
                        stop = True
                        record["stopped"] = "episode"
                        result.corrections.append(record)
                        if on_event:
                            on_event("correction", record)
                        break
                    before = d
                    before["info"]["superseded_by_correction"] = text
                    result.decisions.append({k: v for k, v in before.items() if k != "lines"})
                    snapshot = dict(env.predicates)
                    if a.additive and before["choice"] != DONE:
                        interp().accept_proposal(a, before["choice"], state())
                        record["amendment"] = a.to_dict()
                    correct(a)
                    d = decide(obs)
                    record.update(before=before["choice"], after=d["choice"], table_before=before["lines"],
                                  table_after=d["lines"])
                    result.corrections.append(record)
                    if on_event:
                        on_event("correction", record)
                    if a.understood:
                        new_entries.append(MemoryEntry.make(
                            scene.name, instruction, snapshot,
                            before["choice"] if before["choice"] != d["choice"] else None, text, a, d["choice"]))
                texts = [] if stop or corrections is None else corrections.at_decision(len(result.executions),
                                                                                      d["lines"])
            if stop:
                result.ended_by = "stopped"
                break
            lines = list(d.pop("lines"))
            if fix:
                lines.append("corrections: " + " | ".join(a.text for a in fix.amendments)[:200])
            if blocked:
                result.loops_prevented += 1
            result.decisions.append(d)
            n_decisions += 1
            if on_event:
                on_event("decision", d)
            if d["choice"] == DONE:
                result.ended_by = "done"
                break
            skill = skills[d["choice"]]
            aff = float(skill.affordance(obs)) if skill.affordance_model is not None else None

            def on_frame(t: int, lines: list[str] = lines, name: str = skill.name) -> None:
                if writer is not None:
                    writer.append_data(overlay_text(env.render(), [*lines, f"running {name} step {t}"], False))

            def interrupt(t: int, name: str = skill.name) -> bool:
                if corrections is None:
                    return False
                for text in corrections.during_skill(result.steps + t):
                    if is_stop(text):
                        record = {"text": text, "after_skill": len(result.executions), "step": result.steps + t,
                                  "stopped": name}
                        result.corrections.append(record)
                        stopped_at.append(result.steps + t)
                        if on_event:
                            on_event("correction", record)
                        return True
                    pending.append(text)
                return False

            before = dict(env.predicates)
            obs, ex = run_skill(env, skill, obs, aff, on_frame, interrupt)
            result.executions.append(ex)
            result.steps += ex.steps + ex.setup_steps
            history.append(Step(skill.name, skill.description, ex.success))
            if ex.predicates == before and ex.success:  # a no-op (e.g. closing a closed drawer): not offered
                blocked.add(skill.name)  # again until a change; a failure is a retry, bounded by max_retries
            elif ex.predicates != before:
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
    if memory is not None and learn and new_entries:
        for e in new_entries:
            memory.add(e, save=False)
        memory.save()
        result.learned = [e.id for e in new_entries]
    return result
