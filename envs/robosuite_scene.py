"""A multi-object robosuite PickPlace scene for hierarchical rollouts, and its pick / place skill envs.

The scene is robosuite's full ``PickPlace`` task (``single_object_mode=0``): milk, bread, cereal and can start at
random places in the left bin; each object belongs to one quarter of the right bin (marked by a visual copy). A
long-horizon episode (``robosuite/PickPlaceScene``) moves several of them into their bins, one library skill at a
time — ``pick_<object>`` (grasp it and lift it clear) then ``place_<object>`` (carry it over its quarter of the
right bin, lower, release, back off) — chosen by the same executor and planners as the tabletop scene
(:mod:`skillstack.planners.executor`).

Predicates (read from the simulator after every step, for each object ``o`` in :data:`SCENE_OBJECTS`):

* ``holding(o)`` — robosuite's ``_check_grasp`` (both fingers' pads touch the object);
* ``lifted(o)`` — held, and its centre ≥ :data:`LIFT_HEIGHT` above its resting height in a bin;
* ``in_bin(o)`` — robosuite's own per-object success: inside its quarter of the right bin, below 10 cm above the
  bin floor, and the hand ≥ 4 cm away (``objects_in_bins`` after ``_check_success``);
* ``hand_empty`` — nothing held.

Skill envs ``robosuite-pickplace/pick_<o>`` and ``robosuite-pickplace/place_<o>`` are the same scene with the
episode ending when the skill's success predicate becomes true (``lifted(o)`` / ``in_bin(o)``). Their
``start="precondition"`` resets are the states a skill meets inside a plan: objects at robosuite's random layout,
each other object already in its bin with probability 1/2 (``-v1`` picks: :data:`PICK_OTHERS_IN_BIN`), the arm
moved with probability 1/2 (where the
previous skill left it: a random pose above the bins, or — for ``pick`` skills, :data:`PICK_AFTER_PLACE` of those
(``-v0``: half) — where a ``place`` leaves it: the scripted oracle picks and places another object first; measured
before this start existed, a cloned
``pick_milk`` lifted the milk in 0 of 10 layouts right after a scripted ``place_can``, 10 of 10 from home), and
for ``place_<o>`` the object grasped and lifted by the scripted oracle. In ``-v1`` every pick then begins with
the move to the ready pose when the arm is off it (:meth:`PickPlaceScene.begin_skill`), as inside a plan. The ``-v2``
place envs (``place_<o>-v2``) stage half of their starts with the shipped *learned* pick of the object instead
(:data:`STAGING_PICKS`, :data:`LEARNED_PICK_SHARE`): inside a plan a place receives the learned pick's grasp. The
``-v3`` place envs (``place_milk-v3``, ``place_can-v3``, ``place_bread-v3``) pin a newer pick instead, the one
the place ships with (:data:`PAIRED_STAGING_PICKS`); ``place_can-v4`` pins the next ``pick_can``
(:data:`PLACE_STAGING_PICKS`); ``place_can-v5`` stages every start with its pick, from a crowded source bin
(:data:`PLACE_STAGING_STARTS`); ``place_can-v6`` adds the others placed as often as not; ``place_cereal-v7`` has
the others put in their bins by the expert's pick and place instead of teleported (:data:`EXPERT_PLACED_STAGING_PICKS`);
``place_can-v8`` is ``-v6`` staged by the clearance-aware ``pick_can``, ``place_can-v9`` the same with the others placed
by the expert (:data:`CLEARANCE_STAGING_PICKS`).
``start="any"`` (affordance data) adds states where the skill cannot or need not act: the object already in its
bin, another object in the hand, nothing in the hand (``place``), the object already lifted. The ``-v2`` pick envs
(``pick_<o>-v2``) have the ``-v1`` starts and a stricter success predicate: ``lifted(o)`` with every other object
that stood when the policy took over still standing (:data:`TOPPLE_TILT_DEG`); the picks' affordances are trained there.
The ``-v3`` picks (the can, the bread) make half their starts a plan's first pick (:data:`FIRST_PICK_SHARE`);
``pick_can-v4`` a third first picks and a third later picks, after the expert moved one other object
(:data:`LATER_PICK_STARTS`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from skillstack.envs.make import EnvSpec, register_versioned, unversioned
from skillstack.envs.registry import Registry, UnknownNameError, unknown_name_message
from skillstack.envs.robosuite_control import (
    BIN_FLOOR_Z,
    BOX_POINTS_PER_AXIS,
    HAND_BOTTOM,
    HAND_HALF_LENGTH,
    HAND_HALF_WIDTH,
    REST_HEIGHT,
    Surroundings,
    approach_height,
    box_points,
    object_geometry,
    object_top,
    pick_place_action,
    vertical_hold,
)
from skillstack.envs.robosuite_domain import ACTIONS, PICKPLACE_DOMAIN, PICKPLACE_LANGUAGE, SCENE_OBJECTS
from skillstack.envs.robosuite_env import RobosuiteEnv
from skillstack.envs.scenes import Task

LIFT_HEIGHT = 0.1
"""``lifted(o)``: the held object's centre at least this far [m] above its resting height."""
PROPRIO = ("robot0_eef_pos", "robot0_eef_quat", "robot0_gripper_qpos", "robot0_gripper_qvel")
"""Proprioception in the scene's observation: robomimic's low-dimensional set (Mandlekar et al. 2021: end-effector
position and quaternion, finger positions) plus finger velocities. The arm's 7 joint angles are left out on purpose:
the OSC controller leaves the redundant arm's null space free, so joint configurations drift from skill to skill,
and policies cloned on them keyed on that nuisance (measured: a DAgger pick policy hovered above the can in arm
configurations it had not seen)."""
READY_TOLERANCE = 0.15
"""Before a ``pick`` (``-v1``), the arm moves to the ready pose if any joint is more than this [rad] off it."""
READY_STEPS = 40
"""Control steps (0.05 s each) of the joint-space move to the ready pose (:meth:`PickPlaceScene.move_to_ready`)."""
READY_KP, READY_KD = 100.0, 20.0
"""Joint-space PD gains of the ready move [1/s², 1/s]: critically damped at 10 rad/s (computed-torque control)."""
PICK_OTHERS_IN_BIN = 0.25
"""``-v1`` pick skill envs: probability that each other object starts already in its bin (else it is still in
the left bin, next to the object to pick). With 0.5 a cloned pick_milk lifted the milk in 0.91 of its own env's
starts but 0.71 inside the can-and-milk plan (development layouts), where bread and cereal always stay in the left
bin, so the clutter of a plan's early picks was rarer in the demonstrations than in the plan."""
SKILL_KINDS = ("pick", "place")
SKILL_PREFIX = "robosuite-pickplace/"
"""Registry prefix of the scene's skill envs (the executor accepts only skills trained in them)."""
PICK_AFTER_PLACE = 0.75
"""Of a pick skill env's moved-arm starts (half of all), the share that starts right after a scripted pick and
place of another object. A place into the can's far quarter leaves the hand at the edge of the arm's reach and
tilted ≈ 21°; with a share of 1/2 (≈ 1 in 12 pick_milk demonstrations after place_can) the cloned pick_milk
lifted the milk from there in 14 of 34 plan executions (development layouts)."""
SKILL_MAX_STEPS = {"pick": 120, "place": 150}
"""Step caps of the skill envs [control steps at 20 Hz]; the oracle needs ≈ 40 (pick) and ≈ 60 (place)."""
CARRY_MARGIN = 0.02
"""The place oracle's clearance [m] between the carried object's bottom and the tallest other object's height
(:class:`PickPlaceSkillController` ``clear_carry``)."""
STAGING_PICKS = {"can": ("pick_can", 11), "milk": ("pick_milk", 11), "bread": ("pick_bread", 6),
                 "cereal": ("pick_cereal", 4)}
"""``-v2`` place skill envs: the shipped learned pick skill (name, library version in ``assets/skills``, pinned so the
env's starts stay fixed when a newer pick ships) that stages half of their starts. Inside a plan a place receives
the grasp of the learned pick, not of the scripted one its ``-v1`` demonstrations started from; the two differ
(measured on development layouts 1000–1029, all four objects, symbolic oracle planner: ``place_bread`` -v0
succeeded in 11 of 33 executions in the chain against 0.94 in its own env with the bread held; in 13 of its 22
failures the bread fell from the hand within the first 10 steps — in the 6 inspected the policy commanded the
fingers open from its first step)."""
PAIRED_STAGING_PICKS = {"milk": ("pick_milk", 14), "can": ("pick_can", 15), "bread": ("pick_bread", 11)}
"""``-v3`` place skill envs (registered for these objects only): the ``-v2`` starts with the staging pick pinned to a
newer learned pick (name, version in ``assets/skills``), so that the place is cloned on the hand-overs of the pick
it ships with. Skills in a chain are trained and measured as a pair: on development layouts 1000–1049 the
``pick_milk`` v0014 policy (GMM head, DART noise) lifted the milk in 50 of 51 plan executions against 47 of 51 for
v0011, but the ``-v1`` ``place_milk`` after it stalled in 16 of 41 executions against 1 of 28 after v0011 — v0014
ends with the hand turned > 20° about the vertical in 8 of 36 successes, a hand-over that place had never seen
(``bench_results/robosuite_scene/grasp_yaw_probe.py``). ``place_can`` and ``place_bread`` have the same pairing with the
shipped ``pick_can`` and ``pick_bread`` (their earlier clones predate both the pick expert those picks imitate and the
place expert's carry clearance)."""
REPAIRED_STAGING_PICKS = {"can": ("pick_can", 16)}
"""``-v4`` place skill envs (the can only): the ``-v3`` starts staged by the ``pick_can`` cloned on 2026-12-06 in
``pick_can-v2`` from 2 000 demonstrations (v0016: the first pick of a plan from a full source bin, development
layouts 1000–1049, 41 of 50 against v0015's 34 of 50)."""
CROWDED_STAGING_PICKS = {"can": ("pick_can", 16), "milk": ("pick_milk", 14)}
"""``-v5`` place skill envs (the can and the milk carton): every place start staged by this learned pick, from the
pick envs' crowding (:data:`PLACE_STAGING_STARTS`). Measured on development layouts 1000–1099, ``pick_can`` then
``place_can`` v0012 from the scene's first layout: the pick handed the can over with the hand turned > 25° about the
vertical (the expert's clearance yaw) in 39 of 91 chains, and the place failed in 8 of those against 1 of the other
52; ``-v4`` stages half its starts with the scripted pick, which never turns, and the other half from a sparser bin.
``place_milk-v5`` (twenty-fourth session) tests the same explanation for the milk: the shipped ``place_milk`` v0009
placed it at 94 of the 95 starts where it was held, as did a clone trained there (not shipped), so its failures in
plans are not these hand-overs."""
FIRST_PICK_SHARE = 0.5
"""``-v3`` pick skill envs (:data:`FIRST_PICK_OBJECTS`): share of starts that are a plan's first pick (every other
object in the source bin, the arm as the scene's reset left it); the rest are the ``-v2`` starts. Measured on
development layouts 1000–1099 (``chain_probe.py``, twenty-fourth session): ``pick_can`` v0016 (0.95 in ``-v2``,
where ≈ 1 start in 5 is such a first pick) failed 9 of those first picks, and in 5 of the 91 where it lifted the can
it knocked the milk carton over (``pick_milk`` then failed in 3) — together the largest share of the reference
plan's failures there."""
FIRST_PICK_OBJECTS = ("can", "bread")
"""The objects with a ``-v3`` pick env (:data:`FIRST_PICK_SHARE`): a plan's first pick from the full source bin. The
bread joined in the twenty-fifth session: SayCan without affordances takes it first in every all-four layout, where
``pick_bread`` v0011 (cloned in ``-v1``) lifted it in 48 of 55 executions on development layouts 1000–1049 (first
picks and their retries) and 94 of 123 on the (then already evaluated) layouts 10150–10249."""
LATER_PICK_STARTS = {"can": {"first_pick_share": 1 / 3, "later_pick_share": 1 / 3}}
"""``-v4`` pick skill envs (the can only): start options (:class:`PickPlaceSkillEnv`) — a third of the starts a plan's
first pick (as ``-v3``), a third a plan's *later* pick from the crowded source bin (every object in the source bin,
then one other, drawn uniformly, picked and placed by the expert, the arm where its place left it), the rest the
``-v2`` starts. Measured on development layouts 1000–1049 (``chain_probe.py order=bread,can,milk,cereal``,
twenty-sixth session): SayCan without affordances takes the can second, after the bread, and there ``pick_can`` v0018
(0.94 in ``-v3``) stalled in 6 of 44 executions and knocked the milk carton over in 7 of 38 lifts; with the bread
picked and placed by the expert, 5 of 49 and 5 — the largest share of that plan's failures. ``pick_can-v3`` holds
that state at about 1 start in 14."""
PICK_START_OPTIONS: dict[str, dict[str, dict[str, float]]] = {
    "v2": {o: {} for o in SCENE_OBJECTS},
    "v3": {o: {"first_pick_share": FIRST_PICK_SHARE} for o in FIRST_PICK_OBJECTS},
    "v4": LATER_PICK_STARTS}
"""Pick env version (``-v2`` and later) → object → its start options beyond the ``-v2`` ones; an object without an
entry has no env of that version."""
PLACED_OTHERS_STAGING_PICKS = {"can": ("pick_can", 18)}
"""``-v6`` place skill envs (the can only): every place start staged by this learned pick, each other object already
in its bin with probability 1/2 (:data:`PLACE_STAGING_STARTS`). With ``pick_can`` v0018 SayCan's all-four plans put
the can last more often, and ``place_can`` v0013 (cloned in ``-v5``, where all three others are placed at 1 start in
64) stalled holding the can in 6 of 20 such executions on development layouts 1000–1049 (0 of 33 otherwise)."""
EXPERT_PLACED_STAGING_PICKS = {"cereal": ("pick_cereal", 6)}
"""``-v7`` place skill envs (the cereal box only): every place start staged by this learned pick, each other object
in its bin with probability 1/2, put there by the expert's pick and place rather than teleported
(:data:`PLACE_STAGING_STARTS`). Measured (twenty-fifth session): SayCan without affordances orders all four bread, can,
milk, cereal, and on development layouts 1000–1049 ``place_cereal`` v0007 placed the box in 15 of 34 executions,
every failure a 150-step run to the cap with the other three placed, 13 of 19 still holding it (the expert placed it
from each of the 6 such states probed); in ``place_cereal-v1`` with the others teleported into their bins it placed
it at 40 of 40 starts, with them put there by the expert at 43 of 57 (``stage_others``). The teleport stands each
object upright within 2 cm of its quarter's centre; a place leaves it wherever it lands, and the policy observes
every object's pose."""
CLEARANCE_STAGING_PICKS = {"can": ("pick_can", 20)}
"""``-v8`` place skill envs (the can only): ``-v6``'s starts staged by ``pick_can`` v0020, the pick that observes the
hand's clearance profile (twenty-ninth session). It turns the hand where v0018 did not, and with it ``place_can``
v0015 (cloned in ``-v6``) became the most frequent first failure of the can+milk plans on the fresh layouts
10450–10549 (8 of 21, 7 of 16 and 9 of 14 failures for SayCan, the reference plan and SayCan without
affordances). ``-v9`` has the same pin with the others put in their bins by the expert's pick and place, as ``-v7``:
the affordance fitted in ``-v8`` (trees on the raw observation, held-out AUROC 1.000 there) read < 0.005 for
``place_can`` with the can held in 9 of 28 development layouts (1000–1049) where SayCan had placed the milk carton
first, and SayCan stopped; the policy placed the can in all 41 of its executions there."""
PLACE_STAGING_PICKS = {"v2": STAGING_PICKS, "v3": PAIRED_STAGING_PICKS, "v4": REPAIRED_STAGING_PICKS,
                       "v5": CROWDED_STAGING_PICKS, "v6": PLACED_OTHERS_STAGING_PICKS,
                       "v7": EXPERT_PLACED_STAGING_PICKS, "v8": CLEARANCE_STAGING_PICKS, "v9": CLEARANCE_STAGING_PICKS}
"""Place env version → the learned pick (name, version in ``assets/skills``) that stages its learned-pick starts
(:data:`PLACE_STAGING_STARTS`), for the objects that have that version. A new pin is a new version; every earlier
version keeps its starts."""
LEARNED_PICK_SHARE = 0.5
"""``-v2`` to ``-v4`` place skill envs: share of starts staged by the learned pick (:data:`STAGING_PICKS`); the rest
keep the scripted pick of ``-v1`` (a DAgger-style aggregate of both start distributions)."""
_OTHERS_PLACED_HALF = {"learned_pick_share": 1.0, "others_in_bin": 0.5}
PLACE_STAGING_STARTS: dict[str, dict[str, float]] = {
    "v5": {"learned_pick_share": 1.0, "others_in_bin": PICK_OTHERS_IN_BIN},
    "v6": _OTHERS_PLACED_HALF, "v7": _OTHERS_PLACED_HALF | {"stage_others": "expert"},
    "v8": _OTHERS_PLACED_HALF, "v9": _OTHERS_PLACED_HALF | {"stage_others": "expert"}}
"""Place env version → its start options where they differ from ``-v2``'s (``learned_pick_share``
:data:`LEARNED_PICK_SHARE`, each other object in its bin with probability 1/2): ``-v5`` stages every place start with
its learned pick, from the crowding of the pick envs the pick was cloned in (:data:`PICK_OTHERS_IN_BIN`), so that the
place sees the pick's hand-overs as often as a plan's first pick from the full source bin makes them; ``-v6`` stages
every start with its learned pick at ``-v2``'s crowding, so that "the others already placed" is as common as "none
placed" (1 start in 8 each); ``-v7`` is ``-v6`` with the others placed by the expert's pick and place
(:data:`EXPERT_PLACED_STAGING_PICKS`); ``-v8`` is ``-v6`` pinned to a newer pick (:data:`CLEARANCE_STAGING_PICKS`);
``-v9`` is ``-v8`` with the others placed by the expert (``place_can`` v0017/v0018 cloned and fitted there)."""

TOPPLE_TILT_DEG = 20.0
"""An object counts as knocked over when its body's z axis is more than this [deg] off the world's vertical (every
object of the scene rests with its z axis vertical). The ``-v2`` pick envs' success predicate requires every other
object that stood when the skill's policy took over to still stand (:class:`PickPlaceSkillEnv` ``spare_others``).
Measured on 30 ``pick_can-v2`` starts (development seeds 1000–1029): the other objects the skill left alone read
≤ 0.8°, those it knocked over 49–90°; some starts already hold a fallen neighbour (a staging pick or place of
another object knocked it, up to 148°), and a few neighbours were still falling at the decision (1.6–3.7°, then
37–53° after the 2 s ready move), so standing is read after the ready move."""

PREDICATE_DOCS: dict[str, str] = {
    "holding(o)": "robosuite's _check_grasp: both fingers' pads touch object o",
    "lifted(o)": f"o held and its centre >= {LIFT_HEIGHT} m above its resting height in a bin",
    "in_bin(o)": ("robosuite's per-object success: o inside its quarter of the right bin, < 0.1 m above the bin "
                  "floor, the hand >= 0.04 m away"),
    "hand_empty": "nothing held",
}
"""The scene's predicate vocabulary (module docstring)."""


def skill_names() -> list[str]:
    """Every skill of the scene: ``pick_<o>`` and ``place_<o>`` for each object."""
    return [f"{k}_{o}" for o in SCENE_OBJECTS for k in SKILL_KINDS]


def skill_description(skill: str) -> str:
    """Language text of a skill, e.g. ``"pick up the can"``, ``"put the can in its bin"``."""
    parse_skill(skill)
    return ACTIONS[skill].description


def parse_skill(skill: str) -> tuple[str, str]:
    """``"pick_can"`` → ``("pick", "can")``.

    Raises:
        UnknownNameError: not a skill of the scene (lists the valid ones).
    """
    kind, _, obj = skill.partition("_")
    if kind not in SKILL_KINDS or obj not in SCENE_OBJECTS:
        raise UnknownNameError(unknown_name_message("PickPlace scene skill", skill, skill_names()))
    return kind, obj


def bin_task(name: str, instruction: str, objects: tuple[str, ...]) -> Task:
    """A task of the scene: ``objects`` in their bins (others may stay where they are), with the reference plan
    pick and place each object in turn."""
    return Task(name, instruction, {f"in_bin({o})": True for o in objects},
                plan=tuple(s for o in objects for s in (f"pick_{o}", f"place_{o}")))


SCENE_TASKS: Registry[Task] = Registry("robosuite-pickplace task")
"""Named long-horizon tasks of the scene."""
for _t in (
    bin_task("can", "put the can in its bin", ("can",)),
    bin_task("milk", "put the milk carton in its bin", ("milk",)),
    bin_task("bread", "put the bread in its bin", ("bread",)),
    bin_task("cereal", "put the cereal box in its bin", ("cereal",)),
    bin_task("can_milk", "put the can and the milk carton in their bins", ("can", "milk")),
    bin_task("milk_bread", "put the milk and the bread away in their bins", ("milk", "bread")),
    bin_task("can_milk_bread", "sort the can, the milk and the bread into their bins", ("can", "milk", "bread")),
    bin_task("all", "put every object in its bin", ("milk", "bread", "cereal", "can")),
):
    SCENE_TASKS.register(_t.name, _t)
del _t


class PickPlaceScene(RobosuiteEnv):
    """robosuite ``PickPlace`` with all four objects: the scene of robosuite hierarchical rollouts.

    Observation: ``(67,) float64`` — robosuite's ``object-state`` (for each object: position [m],
    quaternion (x, y, z, w), position and quaternion relative to the gripper) then ``robot0_proprio-state``
    restricted to :data:`PROPRIO` (end-effector position [m] and quaternion, finger positions [m] and velocities).
    Action: ``(7,) float32`` OSC end-effector Δpose and gripper, as :class:`RobosuiteEnv`. With
    ``hold_orientation`` (the default; ``-v1`` ids), while a ``pick`` skill runs (:meth:`begin_skill`; a pick skill
    env always) the roll and pitch components (``action[3:5]``) are not the policy's: the env replaces them by
    :func:`~skillstack.envs.robosuite_control.vertical_hold`, which turns the hand back to pointing straight down —
    a top-down grasp, as usual for bin picking. ``place`` skills keep their own roll and pitch, so the arm may
    tilt the hand to reach the far quarter of the right bin (with the hold on there too, the place oracle reached
    it in 0 of 12 layouts; holding only while the fingers open tilted the hand up to 49° against the bin during
    the release). Why: robosuite's OSC re-targets the orientation it has reached (its ``"achieved"`` goal mode),
    so nothing turns a tilted hand back unless the policy commands it exactly; a place into the far quarter ends
    ≈ 21° tilted, and cloned pick policies, whose roll and pitch outputs are imprecise, then drifted to 20–30° and
    failed (pick_milk after place_can: 14 of 34 plan executions on development layouts, with the hold only in the
    oracle's demonstrations). ``hold_orientation=False`` (``-v0`` ids) is the earlier behaviour, kept so that
    skills trained there re-evaluate unchanged.
    ``info["predicates"]`` holds the scene's predicates after every step (module docstring);
    ``info["success"]`` is the task's goal (or robosuite's "every object in its bin" without a task).

    Args:
        task: a :data:`SCENE_TASKS` name (its goal is ``info["success"]``); ``reset(options={"task": ...})``
            switches it.
        hold_orientation: hold the hand vertical during pick skills (see Action).
        **kwargs: passed to :class:`RobosuiteEnv` (``render_mode``, ``width``, ``height``, ``camera_name``).

    Raises:
        UnknownNameError: unknown task.
    """

    def __init__(self, task: str | None = None, hold_orientation: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("camera_name", "frontview")
        kwargs.setdefault("proprio", PROPRIO)
        self.hold_orientation = hold_orientation
        self._holding_vertical = False
        self.setup_steps = 0
        """Control steps the last :meth:`begin_skill` ran (the ready move), 0 if none."""
        super().__init__("PickPlace", single_object_mode=0, **kwargs)
        rs = self.rs_env
        robot = rs.robots[0]
        self._eef_body = rs.sim.model.body_name2id(robot.robot_model.eef_name["right"])
        self._arm_qpos = np.asarray(robot._ref_joint_pos_indexes)
        self._arm_qvel = np.asarray(robot._ref_joint_vel_indexes)
        self._arm_actuators = np.asarray(robot._ref_actuators_indexes_dict["right"])
        self.objects = {o.name.lower(): o for o in rs.objects}
        if tuple(self.objects) != SCENE_OBJECTS:
            raise RuntimeError(f"robosuite's PickPlace objects changed: {list(self.objects)}")
        self.targets = {name: np.array(rs.target_bin_placements[i], dtype=float)
                        for i, name in enumerate(SCENE_OBJECTS)}
        """Centre [m] of each object's quarter of the right bin (at the bin floor)."""
        self.geometry = {name: object_geometry(rs, o) for name, o in self.objects.items()}
        self.source_bin = bin_interior(rs, "bin1")
        """The left bin's inner faces and wall top: the :class:`Surroundings` of a pick (without the objects)."""
        self.task: Task | None = None
        self._set_task(task)
        self.predicates: dict[str, bool] = {}

    def _set_task(self, task: str | Task | None) -> None:
        self.task = task if task is None or isinstance(task, Task) else SCENE_TASKS.get(task)

    def begin_skill(self, skill_env_id: str,
                    on_step: Callable[[], None] | None = None) -> npt.NDArray[np.float64] | None:
        """Set up the low-level control for the skill trained in ``skill_env_id`` (``robosuite-pickplace/<skill>``):
        before a ``pick`` (with ``hold_orientation``, the ``-v1`` scene, and a skill not trained in a ``-v0`` env)
        the arm first moves to the ready pose (:meth:`move_to_ready`) if the hand carries nothing
        (:meth:`carrying`) and any joint is more than :data:`READY_TOLERANCE` off it, and the vertical hold is on
        while the pick runs (class docstring). A ``-v0`` skill (``…/pick_can-v0``) runs as it was trained: no ready
        move, no hold. With an object carried nothing moves (a pick cannot apply there; the ready move would open
        the fingers and drop it); an object in its bin that the fingers still touch is let go, as before. The
        executor calls it before every skill execution; :attr:`setup_steps` says how many control steps it ran.

        Args:
            skill_env_id: the skill's env id; a bare ``pick_<o>`` / ``place_<o>`` counts as the current version.
            on_step: called after each control step of the ready move (video frames).

        Returns:
            The observation ``(67,) float64`` after the ready move, or ``None`` if the arm did not move.

        Raises:
            UnknownNameError: not a skill env of this scene.
        """
        kind, _ = parse_skill(unversioned(skill_env_id).removeprefix(SKILL_PREFIX))
        self._holding_vertical = False
        self.setup_steps = 0
        obs = None
        if self.hold_orientation and kind == "pick" and not skill_env_id.endswith("-v0"):
            q = self.rs_env.sim.data.qpos[self._arm_qpos]
            off = np.max(np.abs(q - self.rs_env.robots[0].init_qpos)) > READY_TOLERANCE
            if off and not self.carrying():
                obs = self.move_to_ready(on_step=on_step)
                self.setup_steps = READY_STEPS
            self._holding_vertical = True
        return obs

    def carrying(self) -> bool:
        """Whether the hand holds an object that is not in its bin — the symbolic domain's reading
        (:meth:`~skillstack.envs.robosuite_domain.PickPlaceDomain.state_of`): an object already in its bin may still
        be pinched when its place skill ends, since robosuite's ``in_bin`` only needs the gripper 4.2 cm from the
        object's centre, which a tall carton gripped near its top satisfies."""
        return not PICKPLACE_DOMAIN.holds(PICKPLACE_DOMAIN.state_of(self.read_predicates()), "hand_empty")

    def move_to_ready(self, steps: int = READY_STEPS,
                      on_step: Callable[[], None] | None = None) -> npt.NDArray[np.float64]:
        """Move the arm in joint space to robosuite's start configuration (the ready pose: hand above the table
        centre, pointing down) in ``steps`` control steps (0.05 s each); returns the observation. The fingers are
        commanded closed if the hand carries an object (:meth:`carrying`; so nothing is dropped), else open.

        The OSC cannot do it from where a ``place`` into the far quarter of the right bin leaves the arm: there the
        elbow is stretched to its joint limit (q4 ≈ -0.07 rad) — a singular configuration in which no end-effector
        force bends the elbow, so every later Cartesian command toward the robot stalls (measured on development
        layouts: the scripted pick oracle itself stalled for 120 steps in 3 of 4 such starts). The move bypasses
        the OSC for the arm: computed-torque control (inverse dynamics, Siciliano et al., *Robotics: Modelling,
        Planning and Control*, §8.5.2), ``τ = M(q) (k_p (q_d - q) - k_d q̇) + b(q, q̇)``, clipped to the actuator
        range, with ``q_d`` interpolated linearly from the start configuration to the ready pose over the first
        3/4 of the steps (robosuite still runs the gripper; its ``_pre_action`` is wrapped for the duration).

        Args:
            steps: control steps.
            on_step: called after each control step (video frames).
        """
        import mujoco

        rs = self.rs_env
        model, data = rs.sim.model._model, rs.sim.data._data
        arm_q, arm_v, arm_u = self._arm_qpos, self._arm_qvel, self._arm_actuators
        q0, q1 = data.qpos[arm_q].copy(), np.asarray(rs.robots[0].init_qpos, dtype=float)
        lo, hi = model.actuator_ctrlrange[arm_u, 0], model.actuator_ctrlrange[arm_u, 1]
        full_m = np.zeros((model.nv, model.nv))
        progress = [0.0]
        pre_action = rs._pre_action

        def joint_space_pre_action(action: Any, policy_step: bool = False) -> None:
            pre_action(action, policy_step)  # the gripper's control (and robosuite's bookkeeping)
            q_d = q0 + min(1.0, progress[0]) * (q1 - q0)
            mujoco.mj_fullM(model, full_m, data.qM)
            acc = READY_KP * (q_d - data.qpos[arm_q]) - READY_KD * data.qvel[arm_v]
            tau = full_m[np.ix_(arm_v, arm_v)] @ acc + data.qfrc_bias[arm_v]
            data.ctrl[arm_u] = np.clip(tau, lo, hi)

        held = self._holding_vertical
        self._holding_vertical = False
        action = np.zeros(7)
        action[6] = 1.0 if self.carrying() else -1.0  # fingers: keep what is carried
        rs._pre_action = joint_space_pre_action  # instance attribute shadows the method until deleted
        try:
            obs = self._last_obs
            ramp = max(1, int(0.75 * steps))
            for k in range(steps):
                progress[0] = (k + 1) / ramp
                obs = self._raw_step(action)
                if on_step is not None:
                    on_step()
        finally:
            del rs._pre_action
            self._holding_vertical = held
        self._last_obs = obs
        self.predicates = self.read_predicates()
        return obs

    def _controller_action(self, action: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
        if not self._holding_vertical:
            return action
        a = np.array(action, dtype=np.float64)
        w, x, y, z = self.rs_env.sim.data.body_xquat[self._eef_body]  # the body robosuite's eef_quat reads
        a[3:5] = vertical_hold(np.array([x, y, z, w]))
        return a

    # ------------------------------------------------------------------------------------------ predicates
    def object_pos(self, name: str) -> npt.NDArray[np.float64]:
        """World position [m] of an object's body."""
        rs = self.rs_env
        return np.array(rs.sim.data.body_xpos[rs.obj_body_id[self.objects[name].name]])

    def object_tilt(self, name: str) -> float:
        """Angle [deg] between an object's body z axis and the world's vertical (0 when it stands as placed)."""
        rs = self.rs_env
        w, x, y, _ = rs.sim.data.body_xquat[rs.obj_body_id[self.objects[name].name]]  # MuJoCo order (w, x, y, z)
        return float(np.degrees(np.arccos(np.clip(1.0 - 2.0 * (x * x + y * y), -1.0, 1.0))))

    def read_predicates(self) -> dict[str, bool]:
        """Evaluate every predicate of the scene now (module docstring)."""
        rs = self.rs_env
        rs._check_success()  # fills rs.objects_in_bins with robosuite's per-object success
        gripper = rs.robots[0].gripper
        p: dict[str, bool] = {}
        for i, name in enumerate(SCENE_OBJECTS):
            held = bool(rs._check_grasp(gripper=gripper, object_geoms=self.objects[name].contact_geoms))
            z = self.object_pos(name)[2]
            p[f"holding({name})"] = held
            p[f"lifted({name})"] = bool(held and z >= BIN_FLOOR_Z + REST_HEIGHT[name] + LIFT_HEIGHT)
            p[f"in_bin({name})"] = bool(rs.objects_in_bins[i])
        p["hand_empty"] = not any(p[f"holding({o})"] for o in SCENE_OBJECTS)
        return p

    def skill_succeeded(self, skill_env_id: str, start: Mapping[str, bool], p: Mapping[str, bool]) -> bool:
        """Success predicate of the skill trained in ``skill_env_id`` (``robosuite-pickplace/<skill>``) given the
        predicates ``start`` at its start and ``p`` now: ``lifted(o)`` for ``pick_<o>``, ``in_bin(o)`` for
        ``place_<o>``.

        Raises:
            UnknownNameError: not a skill env of this scene.
        """
        kind, obj = parse_skill(unversioned(skill_env_id).removeprefix(SKILL_PREFIX))
        return bool(p[f"lifted({obj})"] if kind == "pick" else p[f"in_bin({obj})"])

    # ------------------------------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[npt.NDArray[np.float64], dict[str, Any]]:
        """Seeded reset to robosuite's random layout (all objects in the left bin, arm at home).

        ``options``:

        * ``"task"``: the task (name or :class:`Task`) whose goal is ``info["success"]``;
        * ``"state"``: a discrete state of :data:`~skillstack.envs.robosuite_domain.PICKPLACE_DOMAIN` to build
          (symbolic plan evaluation): objects ``"bin"`` are put in their bins, the object ``"hand"`` is picked by
          its scripted oracle (``info["state_built"]`` says whether the built state reads back as asked: a scripted
          pick can fail in clutter);
        * ``"hand": "random"``: then the arm moves to a random pose above the bins (fingers kept as they are).

        Raises:
            ValueError: an invalid ``"state"`` or ``"hand"`` value.
            UnknownNameError: unknown task.
        """
        options = dict(options or {})
        if "task" in options:
            self._set_task(options.pop("task"))
        state, hand = options.pop("state", None), options.pop("hand", None)
        if state is not None and not PICKPLACE_DOMAIN.valid(state):
            raise ValueError(f"invalid state {state!r}: every object of {list(SCENE_OBJECTS)} needs one of "
                             f"{list(PICKPLACE_DOMAIN.variables[SCENE_OBJECTS[0]])}, at most one 'hand'")
        if hand not in (None, "random"):
            raise ValueError(f"unknown hand option {hand!r}; valid: 'random'")
        self._holding_vertical = False
        obs, info = super().reset(seed=seed, options=options)
        extra: dict[str, Any] = {}
        if state is not None or hand is not None:
            where = dict(state or {})
            rng = np.random.default_rng([seed if seed is not None else int(self.np_random.integers(2**63 - 1)), 3])
            for o in SCENE_OBJECTS:
                if where.get(o) == "bin":
                    obs = self.put_in_bin(o, rng)
            held = [o for o in SCENE_OBJECTS if where.get(o) == "hand"]
            if held:
                obs = self.run_scripted(obs, f"pick_{held[0]}", SKILL_MAX_STEPS["pick"])
            if hand == "random":
                obs = self.move_arm_randomly(obs, rng, grip=1.0 if held else -1.0)
            self._last_obs = obs
        self.predicates = self.read_predicates()
        if state is not None:
            extra["state_built"] = PICKPLACE_DOMAIN.state_of(self.predicates) == dict(state)
        return obs, {**info, **extra, "success": self._success(), "predicates": dict(self.predicates)}

    def _success(self) -> bool:
        if self.task is None:
            return all(self.predicates[f"in_bin({o})"] for o in SCENE_OBJECTS)
        return self.task.satisfied(self.predicates)

    def step(self, action: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        self.predicates = self.read_predicates()
        info["predicates"] = dict(self.predicates)
        info["success"] = self._success() and "sim_unstable" not in info
        return obs, reward, bool(info["success"] and self.terminate_on_success), truncated, info

    # ------------------------------------------------------------------------------------------ state edits
    def put_in_bin(self, name: str, rng: np.random.Generator | None = None) -> npt.NDArray[np.float64]:
        """Teleport an object upright into its quarter of the right bin (± 2 cm) and let it settle."""
        jitter = np.zeros(3) if rng is None else np.r_[rng.uniform(-0.02, 0.02, 2), 0.0]
        pos = self.targets[name] + jitter
        pos[2] = BIN_FLOOR_Z + REST_HEIGHT[name] + 0.005
        return self._set_object(self.objects[name], pos, settle=8)

    def move_arm_randomly(self, obs: npt.NDArray[np.float64], rng: np.random.Generator,
                          grip: float = -1.0) -> npt.NDArray[np.float64]:
        """Move the end effector to a random point above the bins (where a previous skill may have left it)."""
        target = rng.uniform([-0.05, -0.4, 0.95], [0.2, 0.4, 1.1])
        return self._move_eef(obs, target, grip, 15)

    def run_scripted(self, obs: npt.NDArray[np.float64], skill: str, max_steps: int,
                     clearances: bool = False) -> npt.NDArray[np.float64]:
        """Run the scripted controller of ``skill`` until its success predicate holds (at most ``max_steps``);
        ``clearances``: as the registered expert (:class:`PickPlaceSkillController`'s defaults, the demonstrations),
        else without its clearance turn, carry clearance and approach height."""
        # by default staged with the oracle every shipped scene skill was trained and evaluated on before the expert
        # had its clearances: the skill envs' start states stay those of their versions
        off = {} if clearances else {"clear_grasp": False, "clear_carry": False, "clear_approach": False}
        oracle = PickPlaceSkillController(skill, env=self, **off)
        return self.run_policy(obs, oracle.predict, skill, max_steps)

    def run_policy(self, obs: npt.NDArray[np.float64], policy: Callable[[Any], Any], skill_env_id: str,
                   max_steps: int) -> npt.NDArray[np.float64]:
        """Stage a start as the executor runs a skill: :meth:`begin_skill`, then ``policy`` until the skill's success
        predicate holds (at most ``max_steps``); the vertical-hold mode is restored afterwards."""
        start = self.read_predicates()
        mode = self._holding_vertical
        moved = self.begin_skill(skill_env_id)
        obs = obs if moved is None else moved
        for _ in range(max_steps):
            obs = self._raw_step(policy(obs))
            if self.skill_succeeded(skill_env_id, start, self.read_predicates()):
                break
        self._holding_vertical = mode
        return obs


class PickPlaceSkillEnv(PickPlaceScene):
    """One skill of :class:`PickPlaceScene` as an episodic env (``robosuite-pickplace/<skill>``).

    ``info["success"]`` is the skill's success predicate (``lifted(o)`` for pick, ``in_bin(o)`` for place) and the
    episode terminates when it holds. ``reset(options={"start": "precondition" | "any"})``: see the module
    docstring; ``info["applicable"]`` says whether the skill's precondition holds at the start (pick: the object
    not in its bin, the hand empty; place: the object held), ``info["satisfied_at_start"]`` whether the success
    predicate already holds. ``info["decision_observation"]`` is the observation before
    the scene's setup for the skill (:meth:`begin_skill`: the ready move of a ``-v1`` pick) — the state a planner
    decides on, so affordance data is taken there (:func:`~skillstack.skills.affordance.collect_outcomes`); the
    returned observation is the one after it, where the policy starts.

    Args:
        skill: ``pick_<o>`` or ``place_<o>``.
        pick_after_place: of the moved-arm starts of a pick skill, the share right after a scripted place
            (:data:`PICK_AFTER_PLACE`; the ``-v0`` ids keep their 0.5).
        others_in_bin: probability that each other object starts already in its bin (0.5; the ``-v1`` pick
            envs :data:`PICK_OTHERS_IN_BIN`).
        learned_pick_share: ``place`` skills: share of precondition starts staged by the shipped learned pick
            (:data:`LEARNED_PICK_SHARE` in the ``-v2`` to ``-v4`` place envs, 1 in ``-v5`` and ``-v6``:
            :data:`PLACE_STAGING_STARTS`; 0 elsewhere).
        staging_pick: ``(name, version)`` of the learned pick in ``assets/skills`` that stages those starts;
            ``None``: the object's :data:`STAGING_PICKS` entry (the ``-v3`` and later envs pass theirs:
            :data:`PLACE_STAGING_PICKS`).
        stage_others: how an other object drawn to start in its bin gets there: ``"teleport"`` (every env before
            ``-v7``: :meth:`put_in_bin`, upright within ± 2 cm of its quarter's centre) or ``"expert"`` (the ``-v7``
            place envs, :data:`PLACE_STAGING_STARTS`): the registered expert picks and places it, as an earlier
            skill of a plan would, so it lands where a place leaves it (a failed staging place drops it).
        first_pick_share: ``pick`` skills (the ``-v3`` pick envs, :data:`FIRST_PICK_SHARE`): share of starts that are
            a plan's first pick — every other object in the source bin and the arm where the scene's reset left it
            (drawn from its own random stream, so the other starts are those of the same env with 0).
        later_pick_share: ``pick`` skills (the ``-v4`` pick env, :data:`LATER_PICK_STARTS`): share of starts that are
            a plan's later pick — every other object in the source bin, then one of them (uniform) picked and placed
            by the expert (:meth:`place_with_expert`), the arm where its place left it; drawn from the same stream as
            ``first_pick_share`` (a start is a first pick below ``first_pick_share``, a later pick below the sum).
        spare_others: ``pick`` skills (the ``-v2`` pick envs): success also requires every other object that stood
            when its policy took over (after the ready move) to still stand (:data:`TOPPLE_TILT_DEG`;
            ``info["others_standing"]``); the episode still ends when ``lifted(o)`` holds, then as a failure if a
            neighbour went over. A pick that knocks over the milk carton while it lifts the can has not done its
            part of a plan that needs the carton next; pick affordances trained on this predicate let a planner
            see that risk.
        **kwargs: passed to :class:`PickPlaceScene`.

    Raises:
        UnknownNameError: unknown skill.
        ValueError: ``learned_pick_share`` or ``first_pick_share`` outside [0, 1], ``later_pick_share`` outside
            [0, 1 - first_pick_share], or any of them set for the other kind of skill; ``spare_others`` set for a
            place; ``stage_others`` not ``"teleport"`` or ``"expert"``;
            ``staging_pick`` not a pick of the place's object.
    """

    def __init__(self, skill: str, pick_after_place: float = PICK_AFTER_PLACE, others_in_bin: float = 0.5,
                 learned_pick_share: float = 0.0, spare_others: bool = False,
                 staging_pick: tuple[str, int] | None = None, first_pick_share: float = 0.0,
                 stage_others: str = "teleport", later_pick_share: float = 0.0, **kwargs: Any) -> None:
        self.kind, self.obj = parse_skill(skill)
        self.skill = skill
        self.pick_after_place = pick_after_place
        self.others_in_bin = others_in_bin
        if not 0.0 <= learned_pick_share <= 1.0:
            raise ValueError(f"learned_pick_share must be in [0, 1], got {learned_pick_share}")
        if learned_pick_share and self.kind != "place":
            raise ValueError(f"learned_pick_share stages place skills only, not {skill!r}")
        self.learned_pick_share = learned_pick_share
        if not 0.0 <= first_pick_share <= 1.0:
            raise ValueError(f"first_pick_share must be in [0, 1], got {first_pick_share}")
        if first_pick_share and self.kind != "pick":
            raise ValueError(f"first_pick_share stages pick skills only, not {skill!r}")
        self.first_pick_share = first_pick_share
        if not 0.0 <= later_pick_share <= 1.0 - first_pick_share:
            raise ValueError(f"later_pick_share must be in [0, 1 - first_pick_share], got {later_pick_share}")
        if later_pick_share and self.kind != "pick":
            raise ValueError(f"later_pick_share stages pick skills only, not {skill!r}")
        self.later_pick_share = later_pick_share
        if stage_others not in ("teleport", "expert"):
            raise ValueError(f"unknown stage_others {stage_others!r}; valid: 'teleport', 'expert'")
        self.stage_others = stage_others
        if staging_pick is not None and (self.kind != "place" or staging_pick[0] != f"pick_{self.obj}"):
            raise ValueError(f"staging_pick must be a pick_{self.obj} version for {skill!r}, got {staging_pick!r}")
        self.staging_pick = (staging_pick if staging_pick is not None
                             else STAGING_PICKS[self.obj] if self.kind == "place" else None)
        if spare_others and self.kind != "pick":
            raise ValueError(f"spare_others applies to pick skills only, not {skill!r}")
        self.spare_others = spare_others
        self._standing: tuple[str, ...] = ()
        self._staging_skill: Any = None
        kwargs.setdefault("terminate_on_success", True)
        super().__init__(**kwargs)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[npt.NDArray[np.float64], dict[str, Any]]:
        start = (options or {}).get("start", "precondition")
        if start not in ("precondition", "any"):
            raise ValueError(f"unknown start {start!r}; valid: 'precondition', 'any'")
        obs, _ = super().reset(seed=seed)
        draw = seed if seed is not None else int(self.np_random.integers(2**63 - 1))
        rng = np.random.default_rng([draw, 2])
        others = [o for o in SCENE_OBJECTS if o != self.obj]
        plan_draw = np.random.default_rng([draw, 3]).random() if self.first_pick_share or self.later_pick_share else 1.0
        first_pick = plan_draw < self.first_pick_share
        later_pick = not first_pick and plan_draw < self.first_pick_share + self.later_pick_share
        if later_pick:  # a plan's later pick: one other object taken from the full source bin and placed first
            obs = self.place_with_expert(obs, others[int(rng.integers(len(others)))], rng)
        for o in others:
            if rng.random() < self.others_in_bin and not (first_pick or later_pick):
                teleport = self.stage_others == "teleport"
                obs = self.put_in_bin(o, rng) if teleport else self.place_with_expert(obs, o, rng)
        if rng.random() < 0.5 and not (first_pick or later_pick):
            movable = [o for o in others if not self.read_predicates()[f"in_bin({o})"]]
            if self.kind == "pick" and rng.random() < self.pick_after_place and movable:
                # right after a place inside a plan: the scripted oracle picks and places another object
                o = movable[int(rng.integers(len(movable)))]
                obs = self.run_scripted(obs, f"pick_{o}", SKILL_MAX_STEPS["pick"])
                obs = self.run_scripted(obs, f"place_{o}", SKILL_MAX_STEPS["place"])
            else:
                obs = self.move_arm_randomly(obs, rng)
        variant = "precondition"
        if start == "any":
            variant = str(rng.choice(["precondition", "in_bin", "other_held"]
                                     + (["lifted"] if self.kind == "pick" else ["empty"])))
        if variant == "in_bin":
            obs = self.put_in_bin(self.obj, rng)
        elif variant == "other_held":
            movable = [o for o in others if not self.read_predicates()[f"in_bin({o})"]]
            if movable:
                obs = self.run_scripted(obs, f"pick_{rng.choice(movable)}", SKILL_MAX_STEPS["pick"])
        elif variant == "lifted" or (self.kind == "place" and variant == "precondition"):
            if self.learned_pick_share and rng.random() < self.learned_pick_share:
                obs = self.run_learned_pick(obs)
            else:
                obs = self.run_scripted(obs, f"pick_{self.obj}", SKILL_MAX_STEPS["pick"])
        self._last_obs = decision_obs = obs
        moved = self.begin_skill(self.skill)
        self._last_obs = obs = obs if moved is None else moved
        # read after the ready move: an object that a staging pick or place had set falling is down by then
        self._standing = tuple(o for o in others if self.object_tilt(o) <= TOPPLE_TILT_DEG)
        self.predicates = p = self.read_predicates()
        applicable = (p["hand_empty"] and not p[f"in_bin({self.obj})"]) if self.kind == "pick" \
            else p[f"holding({self.obj})"]
        done = self._success()
        info = {"success": done, "applicable": bool(applicable), "satisfied_at_start": done,
                "predicates": dict(p), "decision_observation": decision_obs}
        if self.spare_others:
            info["others_standing"] = self.others_standing()
        return obs, info

    def step(self, action: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        if self.spare_others:
            # the skill ends when its own predicate holds, whether or not it spared the others
            terminated = self.terminate_on_success and self._own_predicate()
            info["others_standing"] = self.others_standing()
        return obs, reward, terminated, truncated, info

    def _own_predicate(self) -> bool:
        """The skill's success predicate as the executor reads it (``lifted(o)`` / ``in_bin(o)``), now."""
        return self.skill_succeeded(self.skill, self.predicates, self.predicates)

    def others_standing(self) -> bool:
        """Whether every other object that stood (tilt ≤ :data:`TOPPLE_TILT_DEG`) when the policy took over still
        stands."""
        return all(self.object_tilt(o) <= TOPPLE_TILT_DEG for o in self._standing)

    def place_with_expert(self, obs: npt.NDArray[np.float64], name: str,
                          rng: np.random.Generator) -> npt.NDArray[np.float64]:
        """Stage another object in its bin as a plan's earlier skills would: the registered expert
        (:class:`PickPlaceSkillController`, as the demonstrations) picks it, then places it; if it is still held after
        the place's step cap, the hand opens and moves away (:meth:`move_arm_randomly`), dropping it where it is.
        Draws two uniforms from ``rng``, as :meth:`put_in_bin` does, and three more when it has to drop the
        object."""
        rng.uniform(-1.0, 1.0, 2)  # the two draws of put_in_bin's jitter, so that the later draws stay aligned
        for skill in (f"pick_{name}", f"place_{name}"):
            obs = self.run_scripted(obs, skill, SKILL_MAX_STEPS[skill.partition("_")[0]], clearances=True)
        if not self.read_predicates()["hand_empty"]:
            obs = self.move_arm_randomly(obs, rng)
        return obs

    def run_learned_pick(self, obs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Stage a place start with the pinned learned pick of the object (``staging_pick``), run as the
        executor runs it inside a plan (:meth:`begin_skill`, then its policy until ``lifted(o)`` or its step cap).

        Raises:
            SkillLoadError: the pinned pick skill is missing from ``assets/skills`` or fails its hash check.
        """
        if self._staging_skill is None:
            from skillstack.envs.scenes import ASSETS
            from skillstack.skills.library import SkillLibrary  # lazy: skills import envs

            name, version = self.staging_pick
            self._staging_skill = SkillLibrary(ASSETS / "skills").load(name, version)
        pick = self._staging_skill
        pick.reset()
        return self.run_policy(obs, pick.predict, pick.env_id, pick.max_steps)

    def _success(self) -> bool:
        return self._own_predicate() and (not self.spare_others or self.others_standing())


# ------------------------------------------------------------------------------------------ scripted control
def bin_interior(rs_env: Any, body: str) -> Surroundings:
    """The inner faces ``(x_min, x_max, y_min, y_max)`` [m] and the wall top [m] of a robosuite bin, read from its
    box geoms (the floor is the one whose centre is lowest; each wall's inner face is the side facing the floor's
    centre), as :class:`~skillstack.envs.robosuite_control.Surroundings` without obstacles. Dividers through the
    floor's centre (PickPlace's target bin has two) are left out: the result is the bin's outer box only."""
    import mujoco

    m, d = rs_env.sim.model._model, rs_env.sim.data._data
    bid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, body)
    boxes = [g for g in range(m.ngeom) if m.geom_bodyid[g] == bid and m.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX
             and m.geom_contype[g] | m.geom_conaffinity[g]]
    floor = min(boxes, key=lambda g: d.geom_xpos[g][2])
    centre = d.geom_xpos[floor][:2]
    x_min, x_max, y_min, y_max = -np.inf, np.inf, -np.inf, np.inf
    top = -np.inf
    for g in boxes:
        if g == floor:
            continue
        pos, size = d.geom_xpos[g], m.geom_size[g]
        axis = int(np.argmin(size[:2]))  # a wall is thin across the bin
        if abs(pos[axis] - centre[axis]) < 1e-3:  # a divider through the centre (the target bin's): not a wall
            continue
        top = max(top, pos[2] + size[2])
        face = pos[axis] - np.sign(pos[axis] - centre[axis]) * size[axis]
        if axis == 0:
            x_min, x_max = (max(x_min, face), x_max) if face < centre[0] else (x_min, min(x_max, face))
        else:
            y_min, y_max = (max(y_min, face), y_max) if face < centre[1] else (y_min, min(y_max, face))
    return Surroundings(inner=(float(x_min), float(x_max), float(y_min), float(y_max)), wall_top=float(top))


@functools.lru_cache(maxsize=1)
def _scene_info() -> tuple[dict[str, slice], dict[str, Any], dict[str, Any], Surroundings]:
    """Observation layout, bin targets, object geometry and the source bin of the multi-object PickPlace scene
    (constants)."""
    env = PickPlaceScene()
    info = dict(env.obs_layout), dict(env.targets), dict(env.geometry), env.source_bin
    env.close()
    return info


class PickPlaceSkillController:
    """Scripted controller of one skill of the multi-object PickPlace scene (:mod:`skillstack.envs.robosuite_scene`):
    ``pick_<o>`` grasps object ``o`` and lifts it clear, ``place_<o>`` carries the held ``o`` to its bin quarter and
    releases it (:func:`pick_place_action` with ``stage="pick"`` / ``"place"``).

    ``predict(obs)`` maps a ``(obs_dim,) float64`` scene observation to a ``(7,) float32`` action. With
    ``clear_grasp`` (the default: the registered expert, demonstrations and DAgger labels) a pick turns a free grasp
    yaw (can, milk, bread standing) so that the hand clears the source bin's walls and the other objects
    (:func:`~skillstack.envs.robosuite_control.clear_grasp_yaw_error`); without it the yaw is left as it is, as
    before 2026-12-04 — the env's own start staging (:meth:`PickPlaceScene.run_scripted`) keeps that, so the skill
    envs' start states are unchanged.

    Args:
        skill: ``pick_<o>`` or ``place_<o>``.
        env: a :class:`~skillstack.envs.robosuite_scene.PickPlaceScene` to read the constants from (default: a
            throwaway one, built once per process).
        clear_grasp: turn a free grasp yaw clear of walls and neighbours (above).
        clear_carry: a place carries the object with its bottom :data:`CARRY_MARGIN` above the tallest other object
            (``lift_clear`` of :func:`~skillstack.envs.robosuite_control.pick_place_action`); the expert does
            (demonstrations from 2026-12-04, eighth session on), the env's start staging does not.
        clear_approach: a pick travels toward its object with the hand
            :data:`~skillstack.envs.robosuite_control.APPROACH_MARGIN` above the tallest other object in the source
            bin, then comes down on it (:func:`~skillstack.envs.robosuite_control.approach_height`); the expert does
            (demonstrations from 2026-12-04, tenth session on), the env's start staging does not (its starts stay
            those of their versions).

    Raises:
        UnknownNameError: unknown skill.
    """

    def __init__(self, skill: str, env: Any = None, clear_grasp: bool = True, clear_carry: bool = True,
                 clear_approach: bool = True) -> None:
        self.kind, self.obj = parse_skill(skill)
        self.clear_grasp = clear_grasp
        self.clear_approach = clear_approach
        self.lift_clear = (max(2 * REST_HEIGHT[o] for o in SCENE_OBJECTS if o != self.obj) + CARRY_MARGIN
                           if clear_carry else None)
        layout, targets, geometry, source_bin = ((env.obs_layout, env.targets, env.geometry, env.source_bin)
                                                 if env is not None else _scene_info())
        self.layout = layout
        self.target = targets[self.obj]
        self.geometry = geometry[self.obj]
        self.others = {o.capitalize(): geometry[o] for o in SCENE_OBJECTS if o != self.obj}
        self.source_bin = source_bin
        self.rest = REST_HEIGHT[self.obj]
        self.prefix = self.obj.capitalize()

    def surroundings(self, obs: npt.ArrayLike) -> Surroundings:
        """The source bin and the other objects in the poses ``obs`` (a ``(obs_dim,)`` scene observation) gives them:
        what the hand may hit on its way down (:func:`~skillstack.envs.robosuite_control.hand_clearance`)."""
        obs = np.asarray(obs, dtype=np.float64)
        obstacles = []
        for prefix, geometry in self.others.items():
            pos, quat = obs[self.layout[f"{prefix}_pos"]], obs[self.layout[f"{prefix}_quat"]]
            obstacles.append((box_points(pos, quat, geometry), object_top(pos, quat, geometry)))
        return dataclasses.replace(self.source_bin, obstacles=tuple(obstacles))

    def clearance_spec(self, yaws: int = 12, clip: float = 0.2) -> dict[str, Any]:
        """The spec of a policy input :class:`~skillstack.skills.networks.ClearanceProfile` for this pick: the
        hand's clearance at ``yaws`` yaws relative to its own (``π / yaws`` apart) with the grasp at the picked
        object's position, against the source bin and the other objects — what :meth:`surroundings` and
        :func:`~skillstack.envs.robosuite_control.hand_clearance` give the expert's turn decision —, clipped to
        ``±clip`` [m]. A JSON object of the scene's constants (observation indices, the bin's inner faces, the
        objects' collision boxes, the hand's footprint).

        Raises:
            ValueError: a place skill (its hand holds the object; no grasp to clear).
        """
        if self.kind != "pick":
            raise ValueError(f"the clearance profile describes a pick's grasp; {self.kind}_{self.obj} is a place")
        b = self.source_bin
        return {"grasp_pos": self.layout[f"{self.prefix}_pos"].start,
                "eef_quat": self.layout["robot0_eef_quat"].start, "yaws": yaws, "clip": clip,
                "hand": [HAND_HALF_LENGTH, HAND_HALF_WIDTH, HAND_BOTTOM], "bin": [*map(float, b.inner), b.wall_top],
                "grid": BOX_POINTS_PER_AXIS,
                "obstacles": [{"pos": self.layout[f"{prefix}_pos"].start, "quat": self.layout[f"{prefix}_quat"].start,
                               "half_extent": [float(v) for v in g.half_extent], "centre": [float(v) for v in g.centre]}
                              for prefix, g in self.others.items()]}

    def predict(self, obs: npt.ArrayLike) -> npt.NDArray[np.float32]:
        obs = np.asarray(obs, dtype=np.float64)

        def get(name: str) -> npt.NDArray[np.float64]:
            return np.asarray(obs[self.layout[name]], dtype=np.float64)

        q = get("robot0_gripper_qpos")
        settled = float(np.abs(get("robot0_gripper_qvel")).max()) < 0.01
        surroundings, approach_z = None, None
        if self.kind == "pick" and (self.clear_grasp or self.clear_approach):
            surroundings = self.surroundings(obs)
            if self.clear_approach:
                approach_z = approach_height(surroundings)
        return pick_place_action(get("robot0_eef_pos"), get("robot0_eef_quat"), float(q[0] - q[1]), settled,
                                 get(f"{self.prefix}_pos"), get(f"{self.prefix}_quat"), self.geometry, self.target,
                                 self.rest, stage=self.kind, surroundings=surroundings if self.clear_grasp else None,
                                 lift_clear=self.lift_clear, approach_z=approach_z)


SCENE_ENV_ID = "robosuite/PickPlaceScene-v1"
"""The scene's current version. ``-v1`` (``hold_orientation``) moves the arm to its ready pose before a pick and
holds the hand vertical while the pick runs (:meth:`PickPlaceScene.begin_skill`); ``-v0`` (still registered,
without the unversioned alias) does neither."""


def _register() -> None:
    from skillstack.envs.make import register_env
    from skillstack.envs.scenes import ASSETS, Scene, register_scene

    for version, hold, after_place, register in (("v0", False, 0.5, register_env),
                                                 ("v1", True, PICK_AFTER_PLACE, register_versioned)):
        register(EnvSpec(name=f"{unversioned(SCENE_ENV_ID)}-{version}",
                         entry_point="skillstack.envs.robosuite_scene:PickPlaceScene",
                         kwargs={"hold_orientation": hold}, max_episode_steps=2000,
                         description="robosuite PickPlace scene: milk, bread, cereal and can to their bins"))
        for skill in skill_names():
            in_bin = PICK_OTHERS_IN_BIN if version == "v1" and skill.startswith("pick_") else 0.5
            register(EnvSpec(
                name=f"{SKILL_PREFIX}{skill}-{version}",
                entry_point="skillstack.envs.robosuite_scene:PickPlaceSkillEnv",
                kwargs={"skill": skill, "hold_orientation": hold, "pick_after_place": after_place,
                        "others_in_bin": in_bin},
                max_episode_steps=SKILL_MAX_STEPS[skill.partition("_")[0]], description=skill_description(skill)))
    for obj in SCENE_OBJECTS:
        # -v2 pick envs: the -v1 starts; success also requires the other objects left standing (affordance data);
        # -v3 (the can, the bread): half of those starts a plan's first pick (FIRST_PICK_SHARE);
        # -v4 (the can): a third first picks, a third a plan's later pick (LATER_PICK_STARTS)
        for version, options in PICK_START_OPTIONS.items():
            if obj not in options:
                continue
            extra = options[obj]
            register_env(EnvSpec(
                name=f"{SKILL_PREFIX}pick_{obj}-{version}",
                entry_point="skillstack.envs.robosuite_scene:PickPlaceSkillEnv",
                kwargs={"skill": f"pick_{obj}", "hold_orientation": True, "pick_after_place": PICK_AFTER_PLACE,
                        "others_in_bin": PICK_OTHERS_IN_BIN, "spare_others": True} | extra,
                max_episode_steps=SKILL_MAX_STEPS["pick"],
                description=skill_description(f"pick_{obj}") + ", leaving the other objects standing"))
        # -v2 place envs: half the starts from the shipped learned pick (STAGING_PICKS); -v3 and later: the same
        # starts staged by a newer pick the place ships with (PLACE_STAGING_PICKS)
        for version, pins in PLACE_STAGING_PICKS.items():
            if obj not in pins:
                continue
            register_env(EnvSpec(
                name=f"{SKILL_PREFIX}place_{obj}-{version}",
                entry_point="skillstack.envs.robosuite_scene:PickPlaceSkillEnv",
                kwargs={"skill": f"place_{obj}", "hold_orientation": True, "learned_pick_share": LEARNED_PICK_SHARE}
                | ({"staging_pick": pins[obj]} if version != "v2" else {}) | PLACE_STAGING_STARTS.get(version, {}),
                max_episode_steps=SKILL_MAX_STEPS["place"], description=skill_description(f"place_{obj}")))
    register_scene(Scene(
        name="robosuite-pickplace",
        env_id=SCENE_ENV_ID,
        skill_env_prefix=SKILL_PREFIX,
        description="robosuite PickPlace (Panda, OSC): milk, bread, cereal and can to their bins (8 skills)",
        skills={s: skill_description(s) for s in skill_names()},
        tasks=SCENE_TASKS,
        predicates=PREDICATE_DOCS,
        domain=PICKPLACE_DOMAIN,
        language=PICKPLACE_LANGUAGE,
        prompt=ASSETS / "planners" / "prompt_robosuite_pickplace.json",
    ))


_register()
