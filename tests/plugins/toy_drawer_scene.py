"""A toy third scene, defined outside the skillstack package: it proves that a scene is one module plus one
registration (DEVELOPERS.md, "Adding a scene"). Loaded as a plugin: ``SKILLSTACK_PLUGINS=toy_drawer_scene`` with
this folder on ``PYTHONPATH``.

``toydrawer``: the tabletop's drawer alone — two skills (open/close the drawer) trained in their own skill envs
``toydrawer/<skill>-v0``, a two-predicate vocabulary, a three-state symbolic domain, named tasks with reference
plans (the few-shot prompt is built from them) and an instruction suite next to this file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skillstack.envs import EnvSpec, Scene, Task, register_env, register_scene, unversioned
from skillstack.envs.tabletop import DEFAULT_STATE, SKILL_SPECS, TabletopEnv, skill_success

PREFIX = "toydrawer/"
SKILLS = {"open_drawer": "open the drawer", "close_drawer": "close the drawer"}


@dataclass(frozen=True)
class _Action:
    name: str
    description: str
    target: str
    preconditions: tuple[str, ...]
    effects: tuple[str, ...]

    def applicable(self, state: Mapping[str, Any]) -> bool:
        return state["drawer"] != self.target

    def apply(self, state: Mapping[str, Any]) -> dict[str, Any]:
        if not self.applicable(state):
            raise ValueError(f"{self.name}: preconditions do not hold in {dict(state)}")
        return {**state, "drawer": self.target}


class DrawerDomain:
    """One variable (the drawer: closed/open/ajar), two actions."""

    variables = {"drawer": ("closed", "open", "ajar")}
    default_state = {"drawer": "closed"}
    actions = {"open_drawer": _Action("open_drawer", "open the drawer", "open", ("not drawer_open",), ("drawer_open",)),
               "close_drawer": _Action("close_drawer", "close the drawer", "closed", ("not drawer_closed",),
                                       ("drawer_closed",))}

    def valid(self, state: Mapping[str, Any]) -> bool:
        return set(state) == {"drawer"} and state["drawer"] in self.variables["drawer"]

    def holds(self, state: Mapping[str, Any], predicate: str) -> bool:
        if predicate == "drawer_open":
            return state["drawer"] == "open"
        if predicate == "drawer_closed":
            return state["drawer"] == "closed"
        raise KeyError(f"unknown predicate {predicate!r}")

    def is_noop(self, action: str, state: Mapping[str, Any]) -> bool:
        return state["drawer"] == self.actions[action].target

    def state_of(self, predicates: Mapping[str, bool]) -> dict[str, Any]:
        return {"drawer": "open" if predicates["drawer_open"] else "closed" if predicates["drawer_closed"] else "ajar"}

    def sample_state(self, rng: np.random.Generator,
                     require: Callable[[Mapping[str, Any]], bool] | None = None) -> dict[str, Any]:
        for _ in range(1000):
            s = {"drawer": str(rng.choice(self.variables["drawer"]))}
            if require is None or require(s):
                return s
        raise RuntimeError("no state satisfies the requirement")


class ToyDrawerEnv(TabletopEnv):
    """The tabletop scene, with this scene's tasks and skill envs; the domain's one-variable states are completed
    with the tabletop's defaults."""

    def __init__(self, task: Task | str | None = None, **kwargs: Any) -> None:
        super().__init__(task=None, **kwargs)
        self.task = TASKS[task] if isinstance(task, str) else task

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):  # noqa: ANN201
        options = dict(options or {})
        if isinstance(options.get("task"), str):
            options["task"] = TASKS[options["task"]]
        task = options.get("task", self.task)
        state = options.get("state") or (task.initial if task is not None and task.initial else None)
        if state is not None:
            options["state"] = {**DEFAULT_STATE, **state}
        return super().reset(seed=seed, options=options)

    def skill_succeeded(self, skill_env_id: str, start: Mapping[str, bool], p: Mapping[str, bool]) -> bool:
        from skillstack.envs.tabletop import symbolic_state

        spec = SKILL_SPECS[unversioned(skill_env_id).removeprefix(PREFIX)]
        return skill_success(spec, self.scene, p, symbolic_state(start))


TASKS = {
    "open": Task("open", "open the drawer", {"drawer_open": True}, plan=("open_drawer",)),
    "open_then_close": Task("open_then_close", "open the drawer and close it again", {"drawer_closed": True},
                            initial={"drawer": "ajar"}, plan=("close_drawer",)),
}

register_env(EnvSpec(name="toydrawer/Scene-v0", entry_point="toy_drawer_scene:ToyDrawerEnv", max_episode_steps=1000,
                     description="toy drawer scene (a test plugin)"))
for _skill in SKILLS:
    register_env(EnvSpec(name=f"{PREFIX}{_skill}-v0", entry_point="skillstack.envs.tabletop.envs:TabletopSkillEnv",
                         kwargs={"skill": _skill}, max_episode_steps=SKILL_SPECS[_skill].max_steps,
                         description=SKILLS[_skill]))

register_scene(Scene(
    name="toydrawer",
    env_id="toydrawer/Scene-v0",
    skill_env_prefix=PREFIX,
    description="the tabletop's drawer alone (a test plugin)",
    skills=SKILLS,
    tasks=TASKS,
    predicates={"drawer_open": "drawer pulled out by >= 0.12 m", "drawer_closed": "drawer pulled out by <= 0.02 m"},
    domain=DrawerDomain(),
    suites=(Path(__file__).with_name("toy_drawer_suite.json"),),
))
