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
each other object already in its bin with probability 1/2, the arm moved with probability 1/2 (where the
previous skill left it: a random pose above the bins, or — for ``pick`` skills, half of those — where a ``place``
leaves it: the scripted oracle picks and places another object first; measured before this start existed, a cloned
``pick_milk`` lifted the milk in 0 of 10 layouts right after a scripted ``place_can``, 10 of 10 from home), and
for ``place_<o>`` the object grasped and lifted by the scripted oracle. ``start="any"`` (affordance data) adds
states where the skill cannot or need not act: the object already in its bin, another object in the hand, nothing
in the hand (``place``), the object already lifted.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from skillstack.envs.make import EnvSpec, register_versioned, unversioned
from skillstack.envs.registry import Registry, UnknownNameError, unknown_name_message
from skillstack.envs.robosuite_control import BIN_FLOOR_Z, REST_HEIGHT, object_geometry, pick_place_action
from skillstack.envs.robosuite_env import RobosuiteEnv
from skillstack.envs.scenes import Task

SCENE_OBJECTS: tuple[str, ...] = ("milk", "bread", "cereal", "can")
"""Objects of the scene, in robosuite's order (object ``i`` belongs to quarter ``i`` of the right bin)."""
OBJECT_TEXT = {"milk": "the milk carton", "bread": "the bread", "cereal": "the cereal box", "can": "the can"}
"""How skill descriptions and instructions name each object."""
LIFT_HEIGHT = 0.1
"""``lifted(o)``: the held object's centre at least this far [m] above its resting height."""
PROPRIO = ("robot0_eef_pos", "robot0_eef_quat", "robot0_gripper_qpos", "robot0_gripper_qvel")
"""Proprioception in the scene's observation: robomimic's low-dimensional set (Mandlekar et al. 2021: end-effector
position and quaternion, finger positions) plus finger velocities. The arm's 7 joint angles are left out on purpose:
the OSC controller leaves the redundant arm's null space free, so joint configurations drift from skill to skill,
and policies cloned on them keyed on that nuisance (measured: a DAgger pick policy hovered above the can in arm
configurations it had not seen)."""
SKILL_KINDS = ("pick", "place")
SKILL_PREFIX = "robosuite-pickplace/"
"""Registry prefix of the scene's skill envs (the executor accepts only skills trained in them)."""
SKILL_MAX_STEPS = {"pick": 120, "place": 150}
"""Step caps of the skill envs [control steps at 20 Hz]; the oracle needs ≈ 40 (pick) and ≈ 60 (place)."""


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
    kind, obj = parse_skill(skill)
    return f"pick up {OBJECT_TEXT[obj]}" if kind == "pick" else f"put {OBJECT_TEXT[obj]} in its bin"


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
    Action: ``(7,) float32`` OSC end-effector Δpose and gripper, as :class:`RobosuiteEnv`.
    ``info["predicates"]`` holds the scene's predicates after every step (module docstring);
    ``info["success"]`` is the task's goal (or robosuite's "every object in its bin" without a task).

    Args:
        task: a :data:`SCENE_TASKS` name (its goal is ``info["success"]``); ``reset(options={"task": ...})``
            switches it.
        **kwargs: passed to :class:`RobosuiteEnv` (``render_mode``, ``width``, ``height``, ``camera_name``).

    Raises:
        UnknownNameError: unknown task.
    """

    def __init__(self, task: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("camera_name", "frontview")
        kwargs.setdefault("proprio", PROPRIO)
        super().__init__("PickPlace", single_object_mode=0, **kwargs)
        rs = self.rs_env
        self.objects = {o.name.lower(): o for o in rs.objects}
        if tuple(self.objects) != SCENE_OBJECTS:
            raise RuntimeError(f"robosuite's PickPlace objects changed: {list(self.objects)}")
        self.targets = {name: np.array(rs.target_bin_placements[i], dtype=float)
                        for i, name in enumerate(SCENE_OBJECTS)}
        """Centre [m] of each object's quarter of the right bin (at the bin floor)."""
        self.geometry = {name: object_geometry(rs, o) for name, o in self.objects.items()}
        self.task: Task | None = None
        self._set_task(task)
        self.predicates: dict[str, bool] = {}

    def _set_task(self, task: str | Task | None) -> None:
        self.task = task if task is None or isinstance(task, Task) else SCENE_TASKS.get(task)

    # ------------------------------------------------------------------------------------------ predicates
    def object_pos(self, name: str) -> npt.NDArray[np.float64]:
        """World position [m] of an object's body."""
        rs = self.rs_env
        return np.array(rs.sim.data.body_xpos[rs.obj_body_id[self.objects[name].name]])

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

        ``options={"task": name}`` sets the task whose goal is ``info["success"]``.
        """
        options = dict(options or {})
        if "task" in options:
            self._set_task(options.pop("task"))
        obs, info = super().reset(seed=seed, options=options)
        self.predicates = self.read_predicates()
        return obs, {**info, "success": self._success(), "predicates": dict(self.predicates)}

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

    def run_scripted(self, obs: npt.NDArray[np.float64], skill: str, max_steps: int) -> npt.NDArray[np.float64]:
        """Run the scripted controller of ``skill`` until its success predicate holds (at most ``max_steps``)."""
        oracle = PickPlaceSkillController(skill, env=self)
        start = self.read_predicates()
        for _ in range(max_steps):
            obs = self._raw_step(oracle.predict(obs))
            if self.skill_succeeded(skill, start, self.read_predicates()):
                break
        return obs


class PickPlaceSkillEnv(PickPlaceScene):
    """One skill of :class:`PickPlaceScene` as an episodic env (``robosuite-pickplace/<skill>``).

    ``info["success"]`` is the skill's success predicate (``lifted(o)`` for pick, ``in_bin(o)`` for place) and the
    episode terminates when it holds. ``reset(options={"start": "precondition" | "any"})``: see the module
    docstring; ``info["applicable"]`` says whether the skill's precondition holds at the start (pick: the object
    not in its bin, the hand empty; place: the object held), ``info["satisfied_at_start"]`` whether the success
    predicate already holds.

    Args:
        skill: ``pick_<o>`` or ``place_<o>``.
        **kwargs: passed to :class:`PickPlaceScene`.

    Raises:
        UnknownNameError: unknown skill.
    """

    def __init__(self, skill: str, **kwargs: Any) -> None:
        self.kind, self.obj = parse_skill(skill)
        self.skill = skill
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
        for o in others:
            if rng.random() < 0.5:
                obs = self.put_in_bin(o, rng)
        if rng.random() < 0.5:
            movable = [o for o in others if not self.read_predicates()[f"in_bin({o})"]]
            if self.kind == "pick" and rng.random() < 0.5 and movable:
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
            obs = self.run_scripted(obs, f"pick_{self.obj}", SKILL_MAX_STEPS["pick"])
        self._last_obs = obs
        self.predicates = p = self.read_predicates()
        applicable = (p["hand_empty"] and not p[f"in_bin({self.obj})"]) if self.kind == "pick" \
            else p[f"holding({self.obj})"]
        done = self.skill_succeeded(self.skill, p, p)
        return obs, {"success": done, "applicable": bool(applicable), "satisfied_at_start": done,
                     "predicates": dict(p)}

    def _success(self) -> bool:
        return self.skill_succeeded(self.skill, self.predicates, self.predicates)


# ------------------------------------------------------------------------------------------ scripted control
@functools.lru_cache(maxsize=1)
def _scene_info() -> tuple[dict[str, slice], dict[str, Any], dict[str, Any]]:
    """Observation layout, bin targets and object geometry of the multi-object PickPlace scene (constants)."""
    env = PickPlaceScene()
    info = dict(env.obs_layout), dict(env.targets), dict(env.geometry)
    env.close()
    return info


class PickPlaceSkillController:
    """Scripted controller of one skill of the multi-object PickPlace scene (:mod:`skillstack.envs.robosuite_scene`):
    ``pick_<o>`` grasps object ``o`` and lifts it clear, ``place_<o>`` carries the held ``o`` to its bin quarter and
    releases it (:func:`pick_place_action` with ``stage="pick"`` / ``"place"``).

    ``predict(obs)`` maps a ``(obs_dim,) float64`` scene observation to a ``(7,) float32`` action.

    Args:
        skill: ``pick_<o>`` or ``place_<o>``.
        env: a :class:`~skillstack.envs.robosuite_scene.PickPlaceScene` to read the constants from (default: a
            throwaway one, built once per process).

    Raises:
        UnknownNameError: unknown skill.
    """

    def __init__(self, skill: str, env: Any = None) -> None:
        self.kind, self.obj = parse_skill(skill)
        layout, targets, geometry = (env.obs_layout, env.targets, env.geometry) if env is not None else _scene_info()
        self.layout = layout
        self.target = targets[self.obj]
        self.geometry = geometry[self.obj]
        self.rest = REST_HEIGHT[self.obj]
        self.prefix = self.obj.capitalize()

    def predict(self, obs: npt.ArrayLike) -> npt.NDArray[np.float32]:
        obs = np.asarray(obs, dtype=np.float64)

        def get(name: str) -> npt.NDArray[np.float64]:
            return np.asarray(obs[self.layout[name]], dtype=np.float64)

        q = get("robot0_gripper_qpos")
        settled = float(np.abs(get("robot0_gripper_qvel")).max()) < 0.01
        return pick_place_action(get("robot0_eef_pos"), get("robot0_eef_quat"), float(q[0] - q[1]), settled,
                                 get(f"{self.prefix}_pos"), get(f"{self.prefix}_quat"), self.geometry, self.target,
                                 self.rest, stage=self.kind)


SCENE_ENV_ID = "robosuite/PickPlaceScene-v0"


def _register() -> None:
    from skillstack.envs.scenes import ASSETS, Scene, register_scene

    register_versioned(EnvSpec(name=SCENE_ENV_ID, entry_point="skillstack.envs.robosuite_scene:PickPlaceScene",
                               max_episode_steps=2000,
                               description="robosuite PickPlace scene: milk, bread, cereal and can to their bins"))
    for skill in skill_names():
        register_versioned(EnvSpec(
            name=f"{SKILL_PREFIX}{skill}-v0", entry_point="skillstack.envs.robosuite_scene:PickPlaceSkillEnv",
            kwargs={"skill": skill}, max_episode_steps=SKILL_MAX_STEPS[skill.partition("_")[0]],
            description=skill_description(skill)))
    register_scene(Scene(
        name="robosuite-pickplace",
        env_id=SCENE_ENV_ID,
        skill_env_prefix=SKILL_PREFIX,
        description="robosuite PickPlace (Panda, OSC): milk, bread, cereal and can to their bins (8 skills)",
        skills={s: skill_description(s) for s in skill_names()},
        tasks=SCENE_TASKS,
        predicates=PREDICATE_DOCS,
        domain=None,
        prompt=ASSETS / "planners" / "prompt_robosuite_pickplace.json",
    ))


_register()
