"""The long-horizon tabletop scene: a Meta-World Sawyer with a drawer, a button box, a sliding window, a bin and
two blocks, built from Meta-World's installed MJCF files — one folder, one scene registration.

* :mod:`.scene` — MJCF generation, layouts, the physics scene (:class:`TabletopScene`), predicates, observation.
* :mod:`.domain` — the symbolic domain: discrete states, the ten skills' preconditions/effects (:data:`SKILL_SPECS`).
* :mod:`.skills` — each skill's success predicate and dense shaping reward (the MDP of its training env).
* :mod:`.tasks` — named long-horizon tasks (:data:`TASKS`).
* :mod:`.language` — templated instructions (sub-goals and their phrasings).
* :mod:`.envs` — :class:`TabletopEnv` (``skillstack/Tabletop-v0``) and :class:`TabletopSkillEnv`
  (``tabletop/<skill>-v0``).

Importing this package registers the envs and the ``tabletop`` scene (:data:`skillstack.envs.scenes.SCENES`).
"""

from __future__ import annotations

from skillstack.envs.make import EnvSpec, register_env, register_versioned
from skillstack.envs.scenes import ASSETS, Scene, Task, register_scene
from skillstack.envs.tabletop.domain import (
    BLOCKS,
    DEFAULT_STATE,
    KINDS,
    SKILL_SPECS,
    SYMBOLIC_VALUES,
    TABLETOP_DOMAIN,
    SkillSpec,
    TabletopDomain,
    get_skill_spec,
    held_block,
    holds,
    sample_symbolic_state,
    symbolic_state,
    valid_symbolic_state,
)
from skillstack.envs.tabletop.envs import (
    CAMERAS,
    EMPTY_GRIP_PROB,
    EMPTY_GRIP_STEPS,
    TabletopEnv,
    TabletopSkillEnv,
)
from skillstack.envs.tabletop.language import TABLETOP_LANGUAGE
from skillstack.envs.tabletop.scene import *  # noqa: F403  (constants: geometry, thresholds, layout)
from skillstack.envs.tabletop.scene import (
    OBS_DIM,
    OBS_LAYOUT,
    OBS_SLICES,
    PREDICATE_DOCS,
    TCP_BELOW_HAND,
    Layout,
    TabletopScene,
    build_model,
    sample_hand_pos,
    scene_mjcf,
)
from skillstack.envs.tabletop.skills import (
    OPEN_MARGIN,
    PICK_LIFT_MIN,
    PLACE_CLEAR_MIN,
    skill_potential,
    skill_success,
)
from skillstack.envs.tabletop.tasks import TASKS

SCENE_ENV_ID = "skillstack/Tabletop-v0"
SKILL_ENV_PREFIX = "tabletop/"


def skill_env_id(skill: str) -> str:
    """Registered training env of a tabletop skill, e.g. ``"tabletop/open_drawer-v0"``."""
    return f"{SKILL_ENV_PREFIX}{skill}-v0"


register_env(EnvSpec(
    name=SCENE_ENV_ID, entry_point="skillstack.envs.tabletop.envs:TabletopEnv", max_episode_steps=3000,
    description="long-horizon tabletop tasks: drawer, button, window, bin, red and blue blocks"))
for _skill, _spec in SKILL_SPECS.items():
    register_versioned(EnvSpec(
        name=skill_env_id(_skill), entry_point="skillstack.envs.tabletop.envs:TabletopSkillEnv",
        kwargs={"skill": _skill}, max_episode_steps=_spec.max_steps, description=_spec.description))
del _skill, _spec

TABLETOP = register_scene(Scene(
    name="tabletop",
    env_id=SCENE_ENV_ID,
    skill_env_prefix=SKILL_ENV_PREFIX,
    description="Meta-World Sawyer at a table: drawer, button, window, bin, red and blue blocks (10 skills)",
    skills={name: spec.description for name, spec in SKILL_SPECS.items()},
    tasks=TASKS,
    predicates=PREDICATE_DOCS,
    domain=TABLETOP_DOMAIN,
    suites=(ASSETS / "instructions" / "tabletop.json", ASSETS / "instructions" / "tabletop_heldout.json",
            ASSETS / "instructions" / "tabletop_unseen.json"),
    prompt=ASSETS / "planners" / "prompt_tabletop.json",
    language=TABLETOP_LANGUAGE,
    # everything after hand xyz (0:3) and gripper opening (3): the next skill depends on the scene's state,
    # not on where the arm stopped
    state_features=tuple(range(4, OBS_DIM)),
    lexicon=ASSETS / "planners" / "lexicon_tabletop.json",
))
"""The registered ``tabletop`` scene."""

__all__ = [
    "BLOCKS", "CAMERAS", "DEFAULT_STATE", "EMPTY_GRIP_PROB", "EMPTY_GRIP_STEPS", "KINDS", "OBS_DIM", "OBS_LAYOUT",
    "OBS_SLICES", "OPEN_MARGIN", "PICK_LIFT_MIN", "PLACE_CLEAR_MIN", "PREDICATE_DOCS", "SKILL_SPECS",
    "SYMBOLIC_VALUES", "TABLETOP", "TABLETOP_DOMAIN", "TASKS", "TCP_BELOW_HAND", "Layout", "SkillSpec",
    "TabletopDomain", "TabletopEnv", "TabletopScene", "TabletopSkillEnv", "Task", "build_model", "get_skill_spec",
    "held_block", "holds", "sample_hand_pos", "sample_symbolic_state", "scene_mjcf", "skill_env_id",
    "skill_potential", "skill_success", "symbolic_state", "valid_symbolic_state",
]
