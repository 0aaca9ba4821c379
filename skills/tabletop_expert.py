"""Scripted experts for the tabletop skills (privileged-state waypoint controllers).

Each expert maps the ``(26,)`` tabletop observation (:data:`skillstack.envs.tabletop.OBS_LAYOUT`) to a
``(4,) float32`` action with no internal state, like Meta-World's scripted policies
(``metaworld.policies``): the phase (approach, descend, grasp, carry, release, ...) is read from the
observation, and the hand is driven to the phase's waypoint with a clipped proportional law
``clip(p · (target − hand), −1, 1)``. They prove each skill is solvable (``tests/skills/test_oracles.py``:
≥ 95 % success over 200 seeded starts) and provide the demonstrations that bootstrap RL.

Geometry used (metres): the fingertip centre is 0.045 m below the hand body; the fingers open along y
(±0.05 m); the drawer's inner floor centre is 0.16 m behind the handle site and 0.044 m below it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from skillstack.envs.tabletop import BLOCKS, OBS_SLICES, TCP_BELOW_HAND, get_skill_spec

TCP_OFFSET = np.array([0.0, 0.0, -TCP_BELOW_HAND])
"""Fingertip centre relative to the hand body [m]."""

P_GAIN = 15.0
"""Proportional gain [1/m] of the waypoint law (action 1 = 0.01 m per step)."""

OPEN, CLOSE = -1.0, 1.0


def _o(obs: npt.NDArray[np.float64], key: str) -> npt.NDArray[np.float64]:
    return obs[OBS_SLICES[key]]


LANE_Y = 0.64
LANE_Z = 0.2
"""Lateral moves happen at y <= LANE_Y [m] (in front of the button box and the window) and at a fingertip
height of at least LANE_Z [m] (above the open drawer's walls, the bin and the blocks)."""


def _act(
    hand: npt.NDArray[np.float64], tcp_target: npt.ArrayLike, grip: float, p: float = P_GAIN, route: bool = True
) -> npt.NDArray[np.float32]:
    """Waypoint law; with ``route``, moves of more than 0.06 m in x go through the front lane."""
    target = np.asarray(tcp_target, dtype=np.float64)
    tcp = hand + TCP_OFFSET
    if route and abs(target[0] - tcp[0]) > 0.06:
        z = max(LANE_Z, target[2])
        if tcp[1] > LANE_Y + 0.02:
            target = np.array([tcp[0], LANE_Y, z])  # back out to the lane first
        else:
            target = np.array([target[0], min(target[1], LANE_Y), z])
    delta = np.clip(p * (target - TCP_OFFSET - hand), -1.0, 1.0)
    return np.array([*delta, grip], dtype=np.float32)


def _held(obs: npt.NDArray[np.float64]) -> str | None:
    tcp = _o(obs, "hand_pos") + TCP_OFFSET
    if _o(obs, "gripper_opening")[0] > 0.8:
        return None
    for b in BLOCKS:
        if np.linalg.norm(_o(obs, f"{b}_block_pos") - tcp) < 0.03:
            return b
    return None


class TabletopExpert:
    """Scripted controller of one tabletop skill; ``predict(obs) -> action``.

    Args:
        skill: a name in :data:`skillstack.envs.tabletop.SKILL_SPECS`.

    Raises:
        UnknownNameError: unknown skill (lists the valid ones).
    """

    def __init__(self, skill: str) -> None:
        self.spec = get_skill_spec(skill)
        self._fn = getattr(self, f"_{self.spec.kind}")

    def predict(self, obs: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """``(26,) float64`` observation → ``(4,) float32`` action in [-1, 1]."""
        return self._fn(np.asarray(obs, dtype=np.float64), self.spec.target)

    # -- articulated objects -----------------------------------------------------------------------
    @staticmethod
    def _open(obs: npt.NDArray[np.float64], target: str) -> npt.NDArray[np.float32]:
        hand = _o(obs, "hand_pos")
        tcp = hand + TCP_OFFSET
        if target == "drawer":
            h = _o(obs, "drawer_handle_pos")
            # open fingers (±0.05 m in y) straddle the handle bar: the rear finger drops into the 5 cm gap
            # between bar and drawer front (±2.5 cm tolerance in y); then the fingers close on the bar and pull
            # (the grip keeps the hand from sliding off the end of the bar)
            grasp = h + np.array([0.0, 0.0, -0.005])
            rel = tcp - grasp
            if np.linalg.norm(rel[[0, 2]]) < 0.02 and abs(rel[1]) < 0.025:
                return _act(hand, grasp + np.array([0.0, -0.15, 0.0]), CLOSE)  # grip and pull
            if np.linalg.norm(rel[:2]) < 0.015:
                return _act(hand, grasp, OPEN)  # descend
            hover = grasp + np.array([0.0, 0.0, 0.12])
            if tcp[2] < grasp[2] + 0.08 and np.linalg.norm(rel[:2]) > 0.03:
                return _act(hand, np.array([tcp[0], tcp[1], hover[2]]), OPEN)  # rise first
            return _act(hand, hover, OPEN)
        w = _o(obs, "window_handle_pos")
        push_from = w + np.array([-0.04, 0.03, 0.0])  # fingertips left of the handle
        return TabletopExpert._slide(hand, tcp, push_from, np.array([1.0, 0.0, 0.0]))

    @staticmethod
    def _close(obs: npt.NDArray[np.float64], target: str) -> npt.NDArray[np.float32]:
        hand = _o(obs, "hand_pos")
        tcp = hand + TCP_OFFSET
        if target == "drawer":
            h = _o(obs, "drawer_handle_pos")
            push_from = h + np.array([0.0, -0.07, 0.0])  # 7 cm in front: a learned copy may be off by 3 cm
            rel = tcp - push_from
            if tcp[1] > h[1] - 0.01 and tcp[2] < h[2] + 0.1:
                # over or behind the handle (e.g. left inside the open drawer by a place skill): rise first
                return _act(hand, np.array([tcp[0], tcp[1] - 0.02, h[2] + 0.16]), CLOSE)
            if abs(rel[0]) < 0.02 and abs(rel[2]) < 0.02 and rel[1] < 0.075:
                return _act(hand, push_from + np.array([0.0, 0.25, 0.0]), CLOSE)  # push
            if np.linalg.norm(rel[:2]) < 0.015:
                return _act(hand, push_from, CLOSE)  # descend in front of the handle
            return _act(hand, push_from + np.array([0.0, 0.0, 0.1]), CLOSE)
        w = _o(obs, "window_handle_pos")
        push_from = w + np.array([0.035, 0.03, 0.0])  # fingertips right of the handle
        return TabletopExpert._slide(hand, tcp, push_from, np.array([-1.0, 0.0, 0.0]))

    @staticmethod
    def _slide(hand: npt.NDArray[np.float64], tcp: npt.NDArray[np.float64], push_from: npt.NDArray[np.float64],
               direction: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        """Window: reach the side of the handle from the front at handle height, then push along ``direction``."""
        rel = tcp - push_from
        along = float(rel @ direction)
        if abs(rel[2]) < 0.02 and abs(rel[1]) < 0.02 and along > -0.02:
            return _act(hand, push_from + 0.25 * direction, CLOSE, route=False)  # push
        front = push_from + np.array([0.0, -0.09, 0.0])
        if abs(rel[2]) < 0.02 and abs(along) < 0.015 and rel[1] < 0.02:
            return _act(hand, push_from, CLOSE)  # move in (+y) beside the handle
        return _act(hand, front, CLOSE)  # in front of the handle, at its height

    @staticmethod
    def _press(obs: npt.NDArray[np.float64], target: str) -> npt.NDArray[np.float32]:
        hand = _o(obs, "hand_pos")
        tcp = hand + TCP_OFFSET
        top = _o(obs, "button_top_pos")
        rel = tcp - top
        if np.linalg.norm(rel[:2]) < 0.015:
            return _act(hand, top + np.array([0.0, 0.0, -0.06]), CLOSE)  # press down
        hover = top + np.array([0.0, 0.0, 0.04])
        if tcp[2] < top[2] + 0.03:
            return _act(hand, np.array([tcp[0], tcp[1], hover[2]]), CLOSE)
        return _act(hand, hover, CLOSE)

    # -- blocks ------------------------------------------------------------------------------------
    @staticmethod
    def _pick(obs: npt.NDArray[np.float64], target: str) -> npt.NDArray[np.float32]:
        hand = _o(obs, "hand_pos")
        tcp = hand + TCP_OFFSET
        p = _o(obs, f"{target}_block_pos")
        grip = _o(obs, "gripper_opening")[0]
        rel = tcp - p
        if np.linalg.norm(rel) < 0.03 and grip < 0.75:
            return _act(hand, np.array([p[0], p[1], 0.16]), CLOSE)  # lift
        if np.linalg.norm(rel[:2]) < 0.012 and rel[2] < 0.012:
            return _act(hand, p, CLOSE)  # grasp
        if np.linalg.norm(rel[:2]) < 0.015:
            return _act(hand, p, OPEN)  # descend
        hover = p + np.array([0.0, 0.0, 0.1])
        if rel[2] < 0.05 and np.linalg.norm(rel[:2]) > 0.03:
            return _act(hand, np.array([tcp[0], tcp[1], hover[2]]), OPEN)
        return _act(hand, hover, OPEN)

    @staticmethod
    def _place(obs: npt.NDArray[np.float64], target: str) -> npt.NDArray[np.float32]:
        hand = _o(obs, "hand_pos")
        tcp = hand + TCP_OFFSET
        b = _held(obs)
        if b is None:  # released (or nothing held): withdraw upwards with the gripper open
            return _act(hand, tcp + np.array([0.0, 0.0, 0.1]), OPEN)
        other = _o(obs, f"{'blue' if b == 'red' else 'red'}_block_pos")
        if target == "drawer":
            link = _o(obs, "drawer_handle_pos") + np.array([0.0, 0.16, 0.0])
            goal = link + np.array([0.0, -0.03, 0.0])
            if np.linalg.norm(other[:2] - goal[:2]) < 0.08:
                goal[0] += 0.045 if other[0] < goal[0] else -0.045
            release_z, carry_z = link[2] + 0.08, 0.24
        elif target == "bin":
            goal = _o(obs, "bin_pos").copy()
            if np.linalg.norm(other[:2] - goal[:2]) < 0.05:
                goal[0] += 0.045 if other[0] < goal[0] else -0.045
            release_z, carry_z = 0.09, 0.16
        else:
            spots = np.array([[-0.14, 0.52], [0.02, 0.52], [-0.06, 0.62]])
            goal = np.array([*spots[np.argmax(np.linalg.norm(spots - other[:2], axis=1))], 0.0])
            release_z, carry_z = 0.025, 0.14
        p = _o(obs, f"{b}_block_pos")
        off = p[:2] - tcp[:2]  # carry the block, not the fingertips, to the goal
        dxy = np.linalg.norm(p[:2] - goal[:2])
        if dxy < 0.015:
            if p[2] <= release_z + 0.01:
                return _act(hand, tcp, OPEN)  # release
            return _act(hand, np.array([goal[0] - off[0], goal[1] - off[1], release_z]), CLOSE)
        if tcp[2] < carry_z - 0.03 and dxy > 0.03:
            return _act(hand, np.array([tcp[0], tcp[1], carry_z]), CLOSE)  # rise before moving
        return _act(hand, np.array([goal[0] - off[0], goal[1] - off[1], carry_z]), CLOSE)
