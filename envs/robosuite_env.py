"""robosuite tasks (Zhu et al. 2020, "robosuite") as seeded Gymnasium environments: a second backend.

Every task in :data:`ROBOSUITE_TASKS` is registered as ``robosuite/<Task>`` (e.g. ``robosuite/Lift``), in
skillstack's registry and as a Gymnasium id, as a *skill env*: the episode terminates on success (like the
tabletop skill envs), so demonstrations and evaluations end where the skill's job ends. The env is robosuite's
own ``GymWrapper`` (flat state observation:
``object-state`` then ``robot0_proprio-state``) around ``robosuite.make`` with a Panda arm and robosuite's default
controller (operational-space control of the end effector, 20 Hz), plus what every skillstack env adds: seeded
reproducible resets, ``info["success"]`` from the task's own ``_check_success()``, NaN/inf/shape checks on actions,
and truncation (never a silent reset) on a MuJoCo instability.

Measured here (robosuite 1.5.2, mujoco 3.3.0, one core): a Lift step costs ≈ 22 ms, dominated by robosuite's
Python controller — plan on demonstrations and offline/BC-first training rather than millions of online steps.
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from skillstack.envs.checks import InstabilityMonitor, check_action
from skillstack.envs.robosuite_control import (
    CLOSE,
    MAX_OPENING,
    OPEN,
    OSC_ROT_LIMIT,
    REST_HEIGHT,
    ObjectGeometry,
    funnel_grasp,
    move,
    object_geometry,
    pick_place_action,
)

# Data, not code: robosuite environment name → (description, horizon [steps at 20 Hz]).
ROBOSUITE_TASKS: dict[str, tuple[str, int]] = {
    "Lift": ("lift the cube", 200),
    "Stack": ("stack the red cube on the green cube", 300),
    "PickPlace": ("put every object in its bin", 1600),
    "PickPlaceCan": ("put the can in its bin", 400),
    "PickPlaceMilk": ("put the milk carton in its bin", 400),
    "PickPlaceBread": ("put the bread in its bin", 400),
    "PickPlaceCereal": ("put the cereal box in its bin", 400),
    "Door": ("open the door", 300),
    "NutAssemblySquare": ("fit the square nut onto its peg", 400),
}
"""Registered robosuite tasks (PickPlace with all four objects and its single-object variants) with their skill
text and episode horizon."""

SCRIPTED_TASKS: tuple[str, ...] = ("Lift", "Stack", "PickPlaceCan", "PickPlaceMilk", "PickPlaceBread",
                                 "PickPlaceCereal", "Door", "NutAssemblySquare")
"""Tasks with a scripted controller (:class:`RobosuiteController`; registered as their expert in
:mod:`skillstack.skills.experts`)."""


def observation_layout(rs_env: Any, keys: list[str]) -> dict[str, slice]:
    """Slices of the named observables inside ``GymWrapper``'s flat observation.

    ``GymWrapper`` concatenates ``keys`` (modalities such as ``object-state``); robosuite builds each modality from
    its enabled and active observables in registration order (``robosuite.utils.observables``).

    Raises:
        RuntimeError: the layout does not add up to the modality sizes (a robosuite change).
    """
    layout: dict[str, slice] = {}
    obs = rs_env._get_observations(force_update=True)
    i = 0
    for key in keys:
        modality = key.removesuffix("-state")
        start = i
        for name, o in rs_env._observables.items():
            if o.modality == modality and o.is_enabled() and o.is_active():
                n = int(np.asarray(obs[name]).size)
                layout[name] = slice(i, i + n)
                i += n
        if i - start != int(np.asarray(obs[key]).size):
            raise RuntimeError(f"observation layout of {key!r} does not match robosuite's ({i - start} values)")
    return layout


class RobosuiteEnv(gym.Env[npt.NDArray[np.float64], npt.NDArray[np.float32]]):
    """One robosuite manipulation task with a Panda arm, through ``robosuite.wrappers.GymWrapper``.

    **Randomizations:** robosuite's own object placement samplers and robot initial-joint noise, which draw from
    the task's ``rng``; ``reset(seed=s)`` re-seeds that generator in place (the samplers hold a reference to it),
    so the same ``s`` gives the same layout. robosuite's ``GymWrapper.reset(seed)`` only seeds NumPy's global RNG,
    which robosuite 1.5 no longer uses for placements — hence the in-place re-seed. Resets are soft
    (``hard_reset=False``: the model is not recompiled).

    **Success Conditions:** ``info["success"]`` is the task's ``_check_success()`` (e.g. Lift: cube ≥ 4 cm above
    the table). The episode is not terminated on success unless ``terminate_on_success=True``; the Gymnasium
    ``TimeLimit`` of the registration truncates it (:data:`ROBOSUITE_TASKS`).

    Observation: ``(obs_dim,) float64`` — robosuite's ``object-state`` (task-specific: object positions [m],
    quaternions (x, y, z, w), relative positions to the gripper [m]) followed by ``robot0_proprio-state`` (joint
    cos/sin and velocities [rad/s], end-effector position [m] and quaternion, gripper finger positions [m] and
    velocities). ``obs_dim`` is 60 for Lift, 73 for Stack. :attr:`obs_keys` names the parts.

    Action: ``(7,) float32`` in [-1, 1] — end-effector Δposition and Δorientation (axis-angle) scaled by the OSC
    controller's output limits (0.05 m, 0.5 rad per step), gripper (-1 open, +1 close). NaN/inf or wrong shapes
    raise ``ValueError``.

    Args:
        task: robosuite environment name, one of :data:`ROBOSUITE_TASKS`.
        robot: robosuite robot name.
        render_mode: ``None`` or ``"rgb_array"`` (offscreen renderer; ``MUJOCO_GL`` as chosen by skillstack).
        width: render width [px].
        height: render height [px].
        camera_name: robosuite camera (``agentview``, ``frontview``, ``birdview``, ...).
        terminate_on_success: end the episode (``terminated=True``) on the first successful step.
        reward_shaping: robosuite's dense staged reward (else sparse 0/1).
        proprio: keep only these ``robot0_*`` observables in ``robot0_proprio-state`` (``None``: all of
            robosuite's). :class:`~skillstack.envs.robosuite_scene.PickPlaceScene` keeps robomimic's low-dimensional
            set (end-effector pose and gripper), without the arm's joint angles, velocities and accelerations.
        **task_kwargs: passed to ``robosuite.make`` (e.g. ``placement_initializer``).

    Raises:
        UnknownNameError: ``task`` is not one of :data:`ROBOSUITE_TASKS`.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, task: str, robot: str = "Panda", render_mode: str | None = None, width: int = 480,
                 height: int = 480, camera_name: str = "agentview", terminate_on_success: bool = False,
                 reward_shaping: bool = True, proprio: tuple[str, ...] | None = None, **task_kwargs: Any) -> None:
        if task not in ROBOSUITE_TASKS:
            from skillstack.envs.registry import UnknownNameError, unknown_name_message

            raise UnknownNameError(unknown_name_message("robosuite task", task, list(ROBOSUITE_TASKS)))
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        os.environ.setdefault("ROBOSUITE_LOG_LEVEL", "WARNING")
        import robosuite
        from robosuite.wrappers import GymWrapper

        self.task = task
        self.render_mode = render_mode
        self.terminate_on_success = terminate_on_success
        self._size = (width, height)
        self._camera = camera_name
        env = robosuite.make(
            task, robots=robot, has_renderer=False, has_offscreen_renderer=render_mode is not None,
            use_camera_obs=False, use_object_obs=True, reward_shaping=reward_shaping, control_freq=20,
            horizon=10**9, ignore_done=True, hard_reset=False, seed=0, render_camera=camera_name,
            **task_kwargs)
        if proprio is not None:
            for name, o in env._observables.items():
                if o.modality == "robot0_proprio" and name not in proprio:
                    env.modify_observable(name, "enabled", False)
        with warnings.catch_warnings():  # GymWrapper builds float32 Boxes from float64 bounds
            warnings.simplefilter("ignore", UserWarning)
            self._gym = GymWrapper(env)
        self.rs_env = env
        """The underlying robosuite environment (privileged state for scripted controllers)."""
        self.obs_keys: list[str] = list(self._gym.keys)
        self.obs_layout: dict[str, slice] = observation_layout(env, self.obs_keys)
        """Where each robosuite observable lies in the flat observation, e.g. ``obs[layout["cube_pos"]]``."""
        self.model = env.sim.model._model
        self.data = env.sim.data._data
        dim = int(self._gym.obs_dim)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(dim,), dtype=np.float64)
        low, high = env.action_spec
        self.action_space = spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        self._faults = InstabilityMonitor(self.model, self.data)
        self._last_obs: npt.NDArray[np.float64] | None = None

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[npt.NDArray[np.float64], dict[str, Any]]:
        """Seeded reset.

        ``options={"start": "precondition"}`` (the default) is robosuite's own initial distribution.
        ``options={"start": "any"}`` (affordance data, :mod:`skillstack.skills.affordance`) then moves the scene to
        another state the task can be in, drawn from the same seed: the arm moved to a random pose with the
        fingers open or closed, the object already lifted in the hand (Lift), cube A already on cube B, cube B
        stacked on cube A, or cube A held (Stack). ``info["satisfied_at_start"]`` says whether the success check
        already holds, ``info["applicable"]`` whether the start is one of robosuite's own.

        Raises:
            ValueError: unknown ``start``.
        """
        super().reset(seed=seed)
        start = (options or {}).get("start", "precondition")
        if start not in ("precondition", "any"):
            raise ValueError(f"unknown start {start!r}; valid: 'precondition', 'any'")
        # Re-seed robosuite's generator in place: placement samplers and robot init noise hold this object. Without
        # a seed, continue from this env's own np_random (itself seeded by the first seeded reset).
        draw = seed if seed is not None else int(self.np_random.integers(2**63 - 1))
        self.rs_env.rng.bit_generator.state = np.random.default_rng(draw).bit_generator.state
        self._gym.reset()
        # robosuite computes the object-to-gripper observables from the gripper pose cached by the *previous*
        # observation update, which a reset clears: its first observation holds zeros for every
        # <obj>_to_robot0_eef_pos/quat (every object at the gripper). A second update reads the now-cached pose.
        obs = self._gym._flatten_obs(self.rs_env._get_observations(force_update=True))
        self._faults.reset()
        obs = np.asarray(obs, dtype=np.float64)
        if start == "any":
            obs = self._any_start(obs, np.random.default_rng([draw, 1]))
        self._last_obs = obs
        return obs, {"success": False, "applicable": start == "precondition",
                     "satisfied_at_start": bool(self.rs_env._check_success())}

    # ------------------------------------------------------------------------------------- start="any"
    def _raw_step(self, action: npt.ArrayLike) -> npt.NDArray[np.float64]:
        obs, *_ = self._gym.step(self._controller_action(np.asarray(action, dtype=np.float64)))
        return np.asarray(obs, dtype=np.float64)

    def _controller_action(self, action: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
        """The action sent to robosuite's controller for ``action`` (``(7,)``): itself here; a subclass may take
        over part of it (:class:`~skillstack.envs.robosuite_scene.PickPlaceScene` holds the hand vertical during
        pick skills). Every step goes through it — the agent's and the scripted ones that stage a start state."""
        return action

    def _move_eef(self, obs: npt.NDArray[np.float64], target: npt.NDArray[np.float64], grip: float,
                  steps: int) -> npt.NDArray[np.float64]:
        """P-control the end effector towards ``target`` [m] for ``steps`` control steps."""
        for _ in range(steps):
            a = np.zeros(7)
            a[:3] = np.clip((target - obs[self.obs_layout["robot0_eef_pos"]]) / 0.05, -1, 1)
            a[6] = grip
            obs = self._raw_step(a)
        return obs

    def _set_object(self, obj: Any, pos: npt.ArrayLike, settle: int = 5) -> npt.NDArray[np.float64]:
        """Teleport a free-jointed robosuite object to ``pos`` [m] (upright), then let it settle."""
        self.rs_env.sim.data.set_joint_qpos(obj.joints[0], np.concatenate([np.asarray(pos, float), [1, 0, 0, 0]]))
        self.rs_env.sim.forward()
        obs = self._last_obs if self._last_obs is not None else None
        for _ in range(settle):
            obs = self._raw_step(np.r_[np.zeros(6), -1.0])
        assert obs is not None
        return obs

    def _any_start(self, obs: npt.NDArray[np.float64], rng: np.random.Generator) -> npt.NDArray[np.float64]:
        rs = self.rs_env
        kind = rng.choice(["arm", "arm", "oracle"] + (["on_b", "b_on_a"] if self.task == "Stack" else []))
        if kind == "arm":  # random arm pose above the table, fingers open or closed
            eef = obs[self.obs_layout["robot0_eef_pos"]]
            target = eef + rng.uniform([-0.15, -0.2, -0.12], [0.15, 0.2, 0.1])
            target[2] = max(target[2], 0.83)
            return self._move_eef(obs, target, float(rng.choice([-1.0, 1.0])), int(rng.integers(8, 20)))
        if kind == "oracle" and self.task in SCRIPTED_TASKS:  # part of the way (or all of it) through the task
            oracle = RobosuiteController(self.task)
            for _ in range(int(rng.integers(10, 90))):
                obs = self._raw_step(oracle.predict(obs))
            return obs
        if kind in ("on_b", "b_on_a"):
            a, b = rs.cubeA, rs.cubeB
            lower, upper = (b, a) if kind == "on_b" else (a, b)
            base = rs.sim.data.body_xpos[rs.sim.model.body_name2id(lower.root_body)]
            return self._set_object(upper, base + np.array([0.0, 0.0, 0.05]), settle=10)
        return obs

    def step(self, action: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], float, bool, bool, dict[str, Any]]:
        act = check_action(action, self.action_space)
        self._faults.snapshot()
        obs, reward, _, _, info = self._gym.step(self._controller_action(act))
        info = dict(info)
        success = bool(self.rs_env._check_success())
        info["success"] = success
        fault = self._faults.check()
        truncated = fault is not None
        if truncated:
            self._faults.restore()
            info["sim_unstable"] = fault
            info["success"] = success = False
            obs, reward = self._last_obs, 0.0
        self._last_obs = obs = np.asarray(obs, dtype=np.float64)
        return obs, float(reward), success and self.terminate_on_success, truncated, info

    def render(self) -> npt.NDArray[np.uint8] | None:
        """RGB frame ``(height, width, 3) uint8`` from :attr:`camera_name` (``render_mode="rgb_array"`` only)."""
        if self.render_mode is None:
            return None
        w, h = self._size
        frame = self.rs_env.sim.render(width=w, height=h, camera_name=self._camera)
        return np.ascontiguousarray(frame[::-1])  # MuJoCo's offscreen buffer is bottom-up

    def close(self) -> None:
        self.rs_env.close()


# ------------------------------------------------------------------------------------------ scripted control
@functools.lru_cache(maxsize=16)
def _task_info(task: str) -> tuple[dict[str, slice], npt.NDArray[np.float64] | None, ObjectGeometry | None]:
    """Observation layout and (PickPlace) the object's target placement in its bin and its collision box:
    constants of the task, read once from a throwaway env (robosuite does not put the bin targets in the
    observation)."""
    from skillstack.envs.robosuite_env import RobosuiteEnv

    env = RobosuiteEnv(task)
    layout = dict(env.obs_layout)
    rs = env.rs_env
    target = geometry = None
    if task.startswith("PickPlace"):
        target = np.array(rs.target_bin_placements[rs.object_id], dtype=float)
        geometry = object_geometry(rs, rs.objects[rs.object_id])
    env.close()
    return layout, target, geometry



class RobosuiteController:
    """Scripted controller for ``Lift`` (grasp the cube, lift it), ``Stack`` (grasp cube A, carry it over cube B,
    lower it onto B, release, retreat) and the single-object ``PickPlace{Can,Milk,Bread,Cereal}`` (grasp the object
    with the fingers across its narrow side, lift it clear of the bin walls, carry it over its target quarter of the
    second bin, lower, release, retreat: :func:`pick_place_action`).

    ``Door`` (latched): grasp the lever handle from above (fingers across the bar, a continuous funnel approach),
    press it down until the latch clears (``|handle_qpos|`` > :attr:`UNLATCH` rad), then pull the hand along the
    circle about the door's hinge until the door is open (``hinge_qpos`` > 0.3 rad, robosuite's success). The
    door's yaw (randomised by robosuite by up to 0.25 rad) and the hinge position are recovered from the
    observation each step (``door_pos``, ``handle_pos``), so the controller is a function of the observation
    (no internal phase): what behaviour cloning can imitate.

    ``NutAssemblySquare``: grasp the nut's handle with the fingers across it (yawed to the nut), lift the nut
    clear of the peg's top, carry its centre over the square peg while turning it to the peg's yaw (modulo 90°),
    lower it onto the peg and release it once it is on the peg (it slides down), then retreat upwards (robosuite
    counts the nut as placed only with the hand away from it).

    ``predict(obs)`` maps a ``(obs_dim,) float64`` observation of ``robosuite/<task>`` to a ``(7,) float32``
    action in [-1, 1].

    Raises:
        ValueError: no oracle for ``task``.
    """

    TASKS = SCRIPTED_TASKS
    GRASP_OPENING = (0.02, 0.07)
    """Finger opening [m] (sum of the two finger joints) that means "holding the object": between closed on
    nothing and fully open (0.08)."""

    UNLATCH = 0.8
    """Handle rotation [rad] after which the Door controller pulls (the latch is clear of the frame by then)."""
    DOOR_LATCH = (-0.175, -0.025)
    """The lever's pivot (latch body) [m] along the door body's x and z axes (robosuite's ``door_lock.xml``)."""
    DOOR_LEVER = 0.125
    """Pivot to the lever's tip (the ``handle`` site) [m] along the lever (``door_lock.xml``)."""
    DOOR_LEVER_OFFSET = -0.10
    """The lever's offset [m] along the door body's y axis (out of the panel, towards the robot)."""
    DOOR_HINGE = 0.255
    """Hinge position [m] along the door body's x axis (``door_lock.xml``)."""

    SQUARE_PEG = np.array([0.23, 0.10, 0.95])
    """The square peg's axis (x, y) and top (z) [m] (robosuite's ``pegs_arena.xml``: a 3.2 cm box at
    (0.23, 0.1, 0.85), 10 cm half height)."""
    NUT_HANDLE = 0.054
    """Square nut centre to its handle's centre [m] along the nut's x axis (robosuite's ``square-nut.xml``)."""
    NUT_TABLE_Z = 0.82
    """Table top [m] of NutAssembly (robosuite's ``table_offset``)."""
    NUT_CARRY_Z = 1.0
    """Height [m] of the nut's centre while it is carried (clear of the peg's top)."""

    def __init__(self, task: str) -> None:
        if task not in self.TASKS:
            from skillstack.envs.registry import unknown_name_message

            raise ValueError(unknown_name_message("robosuite scripted controller", task, list(self.TASKS)))
        self.task = task
        self.layout, self.target, self.geometry = _task_info(task)
        self.object = task.removeprefix("PickPlace") if task.startswith("PickPlace") else None

    def _get(self, obs: npt.NDArray[np.float64], name: str) -> npt.NDArray[np.float64]:
        return np.asarray(obs[self.layout[name]], dtype=np.float64)

    def predict(self, obs: npt.ArrayLike) -> npt.NDArray[np.float32]:
        obs = np.asarray(obs, dtype=np.float64)
        eef = self._get(obs, "robot0_eef_pos")
        q = self._get(obs, "robot0_gripper_qpos")
        opening = float(q[0] - q[1])
        settled = float(np.abs(self._get(obs, "robot0_gripper_qvel")).max()) < 0.01
        if self.object is not None:
            return self._pick_place(obs, eef, opening, settled)
        if self.task == "Door":
            return self._door(obs, eef, opening, settled)
        if self.task == "NutAssemblySquare":
            return self._square_nut(obs, eef, opening, settled)
        obj = self._get(obs, "cube_pos" if self.task == "Lift" else "cubeA_pos")
        near = np.linalg.norm(obj - eef) < 0.02
        held = near and settled and self.GRASP_OPENING[0] < opening < self.GRASP_OPENING[1]
        if self.task == "Lift":
            if held:
                return move(eef, np.array([obj[0], obj[1], obj[2] + 0.2]), CLOSE)
            return self._reach_and_grasp(eef, obj, opening)
        base = self._get(obs, "cubeB_pos")
        above_b = np.linalg.norm(obj[:2] - base[:2])
        on_b = above_b < 0.015 and abs(obj[2] - base[2] - 0.045) < 0.01
        if on_b:  # placed: release, then retreat upwards
            if opening < 0.075:
                return move(eef, eef, OPEN)
            return move(eef, np.array([eef[0], eef[1], base[2] + 0.2]), OPEN)
        if held:
            carry_z = base[2] + 0.1
            if above_b > 0.01:
                # lift first, then carry horizontally at a safe height
                z = carry_z if obj[2] > base[2] + 0.06 else obj[2] + 0.1
                tgt = np.array([base[0], base[1], z]) if obj[2] > base[2] + 0.06 else np.array([eef[0], eef[1], z])
                return move(eef, tgt + (eef - obj) * np.array([1, 1, 0]), CLOSE)
            return move(eef, np.array([base[0], base[1], base[2] + 0.047]) + (eef - obj), CLOSE)
        return self._reach_and_grasp(eef, obj, opening)

    def _pick_place(self, obs: npt.NDArray[np.float64], eef: npt.NDArray[np.float64], opening: float,
                    settled: bool) -> npt.NDArray[np.float32]:
        assert self.object is not None and self.target is not None and self.geometry is not None
        return pick_place_action(
            eef, self._get(obs, "robot0_eef_quat"), opening, settled, self._get(obs, f"{self.object}_pos"),
            self._get(obs, f"{self.object}_quat"), self.geometry, self.target, REST_HEIGHT[self.object.lower()])

    def _door(self, obs: npt.NDArray[np.float64], eef: npt.NDArray[np.float64], opening: float,
              settled: bool) -> npt.NDArray[np.float32]:
        tip, door = self._get(obs, "handle_pos"), self._get(obs, "door_pos")
        turned, opened = abs(float(self._get(obs, "handle_qpos")[0])), float(self._get(obs, "hinge_qpos")[0])
        # the lever's tip in the door frame, the lever turned by `turned` about the door's normal
        tip_local = np.array([self.DOOR_LATCH[0] + self.DOOR_LEVER * np.cos(turned), self.DOOR_LEVER_OFFSET])
        rel = (tip - door)[:2]
        yaw = np.arctan2(rel[1], rel[0]) - np.arctan2(tip_local[1], tip_local[0])
        rot = np.array([[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]])
        hinge = door[:2] + rot @ np.array([self.DOOR_HINGE, 0.0])
        pivot = np.r_[door[:2] + rot @ np.array([self.DOOR_LATCH[0], self.DOOR_LEVER_OFFSET]),
                      door[2] + self.DOOR_LATCH[1]]
        grasp = tip - 0.02 * (tip - pivot) / self.DOOR_LEVER  # 2 cm in from the lever's tip
        # fingers closed on the bar (3-4 cm thick; on nothing they close to < 1 cm) with the hand still at it
        near = float(np.linalg.norm(grasp - eef)) < 0.05
        holding = near and 0.01 < opening < 0.06 and (settled or turned > 0.15 or opened > 0.02)
        if not holding:  # funnel approach from above, fingers closing around the bar
            xy = float(np.linalg.norm(grasp[:2] - eef[:2]))
            if opening < 0.01 and eef[2] < grasp[2] + 0.02:  # closed on nothing: open and back off upwards
                return move(eef, np.array([eef[0], eef[1], grasp[2] + 0.08]), OPEN, DOOR_GAIN)
            hover = 0.08 * float(np.clip((xy - 0.01) / 0.02, 0.0, 1.0))
            close = xy < 0.015 and eef[2] < grasp[2] + 0.01
            return move(eef, grasp + np.array([0.0, 0.0, hover]), CLOSE if close else OPEN, DOOR_GAIN)
        if turned < self.UNLATCH and opened < 0.05:  # press the lever down
            return move(eef, eef + np.array([0.0, 0.0, -0.05]), CLOSE, DOOR_GAIN)
        radial = eef[:2] - hinge  # pull along the circle about the hinge (opening is +yaw about world z) ...
        tangent = np.array([-radial[1], radial[0]]) / max(float(np.linalg.norm(radial)), 1e-6)
        if opened < 0.1:  # ... but straight out of the panel while the latch is still in the frame
            tangent = rot @ np.array([0.0, -1.0])
        target = eef.copy()
        target[:2] += 0.05 * tangent
        target[2] -= 0.02 if opened < 0.1 else 0.0  # keep the lever down until the latch is past the frame
        return move(eef, target, CLOSE, DOOR_GAIN)

    def _square_nut(self, obs: npt.NDArray[np.float64], eef: npt.NDArray[np.float64], opening: float,
                    settled: bool) -> npt.NDArray[np.float32]:
        from robosuite.utils.transform_utils import quat2mat

        nut, rot = self._get(obs, "SquareNut_pos"), quat2mat(self._get(obs, "SquareNut_quat"))
        handle = nut + self.NUT_HANDLE * rot[:, 0]
        peg = self.SQUARE_PEG
        to_peg = float(np.linalg.norm(peg[:2] - nut[:2]))
        table = self.NUT_TABLE_Z
        if to_peg < 0.015 and nut[2] < peg[2] - 0.01:  # on the peg: let go (it slides down), retreat upwards
            if opening < MAX_OPENING - 0.005 and eef[2] < table + 0.12:
                return move(eef, eef, OPEN)
            return move(eef, np.array([eef[0], eef[1], table + 0.25]), OPEN)
        held = (float(np.linalg.norm(handle - eef)) < 0.03 and 0.015 < opening < 0.06
                and (settled or nut[2] > table + 0.03))
        if held:
            if to_peg > 0.01 and nut[2] < self.NUT_CARRY_Z - 0.03:  # lift clear of the peg first
                a = move(eef, eef + np.array([0.0, 0.0, self.NUT_CARRY_Z - nut[2]]), CLOSE)
            else:  # over the peg at the carry height, then down onto it once centred within 5 mm
                z = self.NUT_CARRY_Z if to_peg > 0.005 else table + 0.02
                a = move(eef, eef + np.r_[peg[:2] - nut[:2], z - nut[2]], CLOSE)
            yaw = float((np.arctan2(rot[1, 0], rot[0, 0]) + np.pi / 4) % (np.pi / 2) - np.pi / 4)
            a[5] = np.clip(-yaw / OSC_ROT_LIMIT, -1.0, 1.0)  # the peg is axis-aligned: square up the nut
            return a
        a = funnel_grasp(eef, handle, opening)  # fingers close along the hand's y axis: across the handle
        closing = quat2mat(self._get(obs, "robot0_eef_quat"))[:, 1]
        err = np.arctan2(rot[1, 1], rot[0, 1]) - np.arctan2(closing[1], closing[0])
        err = float((err + np.pi / 2) % np.pi - np.pi / 2)
        a[5] = np.clip(err / OSC_ROT_LIMIT, -1.0, 1.0)
        if abs(err) > 0.1 and a[6] == CLOSE:  # do not close before the fingers are across the handle
            a[6] = OPEN
            a[2] = max(a[2], 0.0)
        return a

    @staticmethod
    def _reach_and_grasp(eef: npt.NDArray[np.float64], obj: npt.NDArray[np.float64], opening: float,
                         close_within: float = 0.005) -> npt.NDArray[np.float32]:
        """Move above ``obj`` [m], descend with open fingers, close once within ``close_within`` [m] above it."""
        xy = float(np.linalg.norm(obj[:2] - eef[:2]))
        if opening < 0.02 and eef[2] < obj[2] + 0.02:  # closed on nothing: open and back off upwards
            return move(eef, np.array([eef[0], eef[1], obj[2] + 0.08]), OPEN)
        if xy > 0.01:
            if eef[2] < obj[2] + 0.03:  # low and misaligned: rise before moving sideways
                return move(eef, np.array([eef[0], eef[1], obj[2] + 0.06]), OPEN)
            return move(eef, np.array([obj[0], obj[1], obj[2] + 0.06]), OPEN)
        if eef[2] > obj[2] + close_within:
            return move(eef, obj, OPEN)
        return move(eef, obj, CLOSE)


DOOR_GAIN = 0.02
"""Distance [m] from the target at which the Door controller's P-control saturates: stiffer than the other tasks'
(:data:`~skillstack.envs.robosuite_control.OSC_POS_LIMIT`), because the lever's spring and the hinge resist."""


def _register() -> None:
    from skillstack.envs.make import EnvSpec, register_versioned

    for task, (description, horizon) in ROBOSUITE_TASKS.items():
        register_versioned(EnvSpec(name=f"robosuite/{task}-v0",
                                   entry_point="skillstack.envs.robosuite_env:RobosuiteEnv",
                                   kwargs={"task": task, "terminate_on_success": True}, max_episode_steps=horizon,
                                   description=description))


_register()
