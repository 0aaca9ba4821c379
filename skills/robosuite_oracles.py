"""Scripted oracles for robosuite tasks: operational-space waypoints over the privileged state observation.

Stateless controllers in the style of Meta-World's scripted policies: each call reads the object and gripper
state from the flat observation (through :func:`skillstack.envs.robosuite_env.observation_layout`) and decides the
phase — move above, descend, close, lift, carry, lower, release — from that state alone, so they recover when a
grasp slips. The arm action is a P-controller on the end-effector position: ``a = clip(Δ / 0.05 m, -1, 1)``
(robosuite's OSC maps ±1 to ±0.05 m per 50 ms step); orientation deltas are zero; gripper -1 opens, +1 closes.
They are demonstration sources (``skillstack train robosuite/Lift --algo bc``) and solvability proofs.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from skillstack.envs.robosuite_env import ORACLE_TASKS

OSC_POS_LIMIT = 0.05
"""robosuite's default OSC ``output_max`` for position [m per step at action 1]."""
OPEN, CLOSE = -1.0, 1.0


PICK_PLACE_REST_HEIGHT = {"Can": 0.06, "Milk": 0.085, "Bread": 0.045, "Cereal": 0.1}
"""Height [m] of each PickPlace object's centre above the bin floor when it stands upright."""
BIN_FLOOR_Z = 0.8
"""World z [m] of both PickPlace bin floors (robosuite's ``bin1_pos``/``bin2_pos``)."""


@functools.lru_cache(maxsize=16)
def _task_info(task: str) -> tuple[dict[str, slice], npt.NDArray[np.float64] | None]:
    """Observation layout and (PickPlace) the object's target placement in its bin: constants of the task, read
    once from a throwaway env (robosuite does not put the bin targets in the observation)."""
    from skillstack.envs.robosuite_env import RobosuiteEnv

    env = RobosuiteEnv(task)
    layout = dict(env.obs_layout)
    rs = env.rs_env
    target = np.array(rs.target_bin_placements[rs.object_id], dtype=float) if task.startswith("PickPlace") else None
    env.close()
    return layout, target


def _move(eef: npt.NDArray[np.float64], target: npt.NDArray[np.float64], grip: float) -> npt.NDArray[np.float32]:
    a = np.zeros(7, dtype=np.float32)
    a[:3] = np.clip((target - eef) / OSC_POS_LIMIT, -1.0, 1.0)
    a[6] = grip
    return a


class RobosuiteOracle:
    """Scripted controller for ``Lift`` (grasp the cube, lift it), ``Stack`` (grasp cube A, carry it over cube B,
    lower it onto B, release, retreat) and ``PickPlaceCan`` (grasp the can, lift it
    clear of the bin walls, carry it over its target quarter of the second bin, lower, release, retreat).

    ``predict(obs)`` maps a ``(obs_dim,) float64`` observation of ``robosuite/<task>`` to a ``(7,) float32``
    action in [-1, 1].

    Raises:
        ValueError: no oracle for ``task``.
    """

    TASKS = ORACLE_TASKS
    """Milk and bread need the gripper yawed to the object (not done yet: 0/3 and 2/3 on the first seeds)."""
    GRASP_OPENING = (0.02, 0.07)
    """Finger opening [m] (sum of the two finger joints) that means "holding the object": between closed on
    nothing and fully open (0.08)."""

    def __init__(self, task: str) -> None:
        if task not in self.TASKS:
            from skillstack.envs.registry import unknown_name_message

            raise ValueError(unknown_name_message("robosuite oracle", task, list(self.TASKS)))
        self.task = task
        self.layout, self.target = _task_info(task)
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
        obj = self._get(obs, "cube_pos" if self.task == "Lift" else "cubeA_pos")
        near = np.linalg.norm(obj - eef) < 0.02
        held = near and settled and self.GRASP_OPENING[0] < opening < self.GRASP_OPENING[1]
        if self.task == "Lift":
            if held:
                return _move(eef, np.array([obj[0], obj[1], obj[2] + 0.2]), CLOSE)
            return self._reach_and_grasp(eef, obj, opening)
        base = self._get(obs, "cubeB_pos")
        above_b = np.linalg.norm(obj[:2] - base[:2])
        on_b = above_b < 0.015 and abs(obj[2] - base[2] - 0.045) < 0.01
        if on_b:  # placed: release, then retreat upwards
            if opening < 0.075:
                return _move(eef, eef, OPEN)
            return _move(eef, np.array([eef[0], eef[1], base[2] + 0.2]), OPEN)
        if held:
            carry_z = base[2] + 0.1
            if above_b > 0.01:
                # lift first, then carry horizontally at a safe height
                z = carry_z if obj[2] > base[2] + 0.06 else obj[2] + 0.1
                tgt = np.array([base[0], base[1], z]) if obj[2] > base[2] + 0.06 else np.array([eef[0], eef[1], z])
                return _move(eef, tgt + (eef - obj) * np.array([1, 1, 0]), CLOSE)
            return _move(eef, np.array([base[0], base[1], base[2] + 0.047]) + (eef - obj), CLOSE)
        return self._reach_and_grasp(eef, obj, opening)

    def _pick_place(self, obs: npt.NDArray[np.float64], eef: npt.NDArray[np.float64], opening: float,
                    settled: bool) -> npt.NDArray[np.float32]:
        assert self.object is not None and self.target is not None
        obj = self._get(obs, f"{self.object}_pos")
        rest = BIN_FLOOR_Z + PICK_PLACE_REST_HEIGHT[self.object]
        carry_z = BIN_FLOOR_Z + 0.25
        to_target = float(np.linalg.norm(obj[:2] - self.target[:2]))
        in_bin = to_target < 0.05 and obj[2] < rest + 0.03
        near = np.linalg.norm(obj - eef) < 0.025
        held = near and settled and 0.02 < opening < 0.075
        if in_bin:  # placed: open, then retreat upwards (success needs the hand ≥ 7 cm away)
            if opening < 0.075 and near:
                return _move(eef, eef, OPEN)
            return _move(eef, np.array([eef[0], eef[1], carry_z]), OPEN)
        if held:
            grip_offset = (eef - obj) * np.array([1.0, 1.0, 0.0])
            if to_target > 0.01:
                if obj[2] < carry_z - 0.05 and eef[2] < carry_z - 0.05 and to_target > 0.05:  # lift clear first
                    return _move(eef, np.array([eef[0], eef[1], carry_z]), CLOSE)
                return _move(eef, np.array([self.target[0], self.target[1], carry_z]) + grip_offset, CLOSE)
            return _move(eef, np.array([self.target[0], self.target[1], eef[2] - (obj[2] - rest) + 0.01])
                         + grip_offset, CLOSE)
        # grasp 1 cm above the centre: the fingers stop short of the bin floor under tall objects
        return self._reach_and_grasp(eef, obj + np.array([0.0, 0.0, 0.01]), opening)

    @staticmethod
    def _reach_and_grasp(eef: npt.NDArray[np.float64], obj: npt.NDArray[np.float64],
                         opening: float) -> npt.NDArray[np.float32]:
        xy = float(np.linalg.norm(obj[:2] - eef[:2]))
        if opening < 0.02 and eef[2] < obj[2] + 0.02:  # closed on nothing: open and back off upwards
            return _move(eef, np.array([eef[0], eef[1], obj[2] + 0.08]), OPEN)
        if xy > 0.01:
            if eef[2] < obj[2] + 0.03:  # low and misaligned: rise before moving sideways
                return _move(eef, np.array([eef[0], eef[1], obj[2] + 0.06]), OPEN)
            return _move(eef, np.array([obj[0], obj[1], obj[2] + 0.06]), OPEN)
        if eef[2] > obj[2] + 0.005:
            return _move(eef, obj, OPEN)
        return _move(eef, obj, CLOSE)
