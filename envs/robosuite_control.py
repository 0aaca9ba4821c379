"""Scripted operational-space controllers for robosuite: the control math shared by the robosuite envs (which stage
skill start states with them, e.g. an object already grasped) and the skill layer (which registers them as
experts: demonstration sources, :mod:`skillstack.skills.experts`).

Stateless controllers in the style of Meta-World's scripted policies: each call reads the object and gripper
state from the flat observation and decides the phase — move above, descend, close, lift, carry, lower,
release — from that state alone, so they recover when a grasp slips. The arm action is a P-controller on the
end-effector position: ``a = clip(Δ / 0.05 m, -1, 1)`` (robosuite's OSC maps ±1 to ±0.05 m per 50 ms step);
orientation deltas are zero except the grasp yaw; gripper -1 opens, +1 closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

REST_HEIGHT = {"can": 0.06, "milk": 0.085, "bread": 0.045, "cereal": 0.1}
"""Height [m] of each PickPlace object's centre above the bin floor when it stands upright."""
BIN_FLOOR_Z = 0.8
"""World z [m] of both PickPlace bin floors (robosuite's ``bin1_pos``/``bin2_pos``)."""

OSC_POS_LIMIT = 0.05
"""robosuite's default OSC ``output_max`` for position [m per step at action 1]."""
OSC_ROT_LIMIT = 0.5
"""robosuite's default OSC ``output_max`` for orientation [rad per step at action 1]."""
MAX_OPENING = 0.08
"""Panda finger opening [m] when fully open (sum of the two finger joints)."""
OPEN, CLOSE = -1.0, 1.0
HAND_HALF_LENGTH = 0.105
"""Half length [m] of the Panda hand's collision mesh along the fingers' closing axis (read from the model: 0.104)."""
HAND_HALF_WIDTH = 0.035
"""Half width [m] of the Panda hand's collision mesh across the closing axis (0.032 as read, plus a margin)."""
HAND_BOTTOM = 0.03
"""Height [m] of the hand's collision mesh's lowest point above the end-effector site (read from the model:
0.031 with the hand vertical)."""
TURN_BIAS = np.deg2rad(20.0)
"""The free grasp yaw's turns are wrapped to [-90° + bias, 90° + bias) (:func:`clear_grasp_yaw_error`)."""
GRASP_CLEARANCE = 0.01
"""A grasp yaw whose hand footprint keeps this far [m] from every wall and neighbour needs no turn
(:func:`clear_grasp_yaw_error`)."""



@dataclass(frozen=True)
class ObjectGeometry:
    """A PickPlace object's collision box in its body frame: constants of the model, read from MuJoCo."""

    half_extent: npt.NDArray[np.float64]
    """Half sizes [m] along the body's x, y, z axes (the mesh geom's bounding box, rotated into the body frame)."""
    centre: npt.NDArray[np.float64]
    """Geom centre [m] in the body frame."""


def object_geometry(rs_env: Any, obj: Any) -> ObjectGeometry:
    """Collision box of a robosuite object (its first contact geom) in its body frame, read from the model."""
    import mujoco

    m = rs_env.sim.model._model
    gid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, obj.contact_geoms[0])
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, m.geom_quat[gid])
    return ObjectGeometry(np.abs(rot.reshape(3, 3)) @ m.geom_size[gid], m.geom_pos[gid].copy())



def move(eef: npt.NDArray[np.float64], target: npt.NDArray[np.float64], grip: float,
         gain: float = OSC_POS_LIMIT) -> npt.NDArray[np.float32]:
    """OSC action ``(7,) float32``: P-control of the end effector from ``eef`` to ``target`` [m], saturating at
    ``gain`` [m] from it (default: one full OSC step), gripper ``grip``."""
    a = np.zeros(7, dtype=np.float32)
    a[:3] = np.clip((target - eef) / gain, -1.0, 1.0)
    a[6] = grip
    return a



def vertical_hold(eef_quat: npt.NDArray[np.float64], gain: float = 1.0) -> npt.NDArray[np.float32]:
    """Roll and pitch OSC actions ``(2,) float32`` in [-1, 1] that turn the hand back to pointing straight down.

    The error is the rotation vector (world frame, the OSC's input frame for this Panda) that takes the hand's
    approach axis (the z axis of ``eef_quat``, robosuite's (x, y, z, w)) onto world -z: axis ``z_hand × (-z)``,
    angle ``atan2(|z_hand × (-z)|, -z_hand·z)``. It is horizontal, so it leaves the yaw free (the grasp yaw is the
    policy's). ``gain`` 1 commands the whole error in one step (saturating at :data:`OSC_ROT_LIMIT`); the OSC's
    tracking makes that a first-order decay — measured from the 9° tilt of robosuite's home pose: < 1° in 9 steps.
    """
    from robosuite.utils.transform_utils import quat2mat

    z = quat2mat(eef_quat)[:, 2]
    axis = np.array([-z[1], z[0], 0.0])  # z × (0, 0, -1)
    s = float(np.hypot(axis[0], axis[1]))
    if s < 1e-9:
        return np.zeros(2, dtype=np.float32)
    angle = float(np.arctan2(s, -z[2]))
    return np.clip(gain * angle * axis[:2] / s / OSC_ROT_LIMIT, -1.0, 1.0).astype(np.float32)


def funnel_grasp(eef: npt.NDArray[np.float64], grasp: npt.NDArray[np.float64],
                  opening: float, approach_z: float | None = None) -> npt.NDArray[np.float32]:
    """Approach ``grasp`` [m] down a funnel and close there: the hand's target height above the grasp point is a
    continuous function of the horizontal error (8 cm when ≥ 3 cm off, 0 when within 1 cm), so the action is a
    continuous function of the state except for the gripper command — a controller that behaviour cloning can
    imitate (threshold switches such as "rise if misaligned, else descend" average out to hovering in a cloned
    policy). The fingers close once within 2 cm horizontally and 1 cm above the grasp point (the OSC
    P-controller's steady-state error is ≈ 5 mm when the fingers straddle a box). The 2 cm capture radius is
    deliberate: the 8 cm finger opening leaves that margin around the can and the milk carton, and cloned policies
    were measured to stall 1–1.5 cm off (a pick_can DAgger policy: 0.36 success with a 1.2 cm radius).

    ``approach_z`` (world z [m], :func:`approach_height`): while ≥ 3 cm off horizontally the hand's target height is
    at least this (the descent ring, 1–3 cm off, is correspondingly steeper), and its sideways motion is scaled by
    how high it is: full speed from 1 cm below ``approach_z`` up, slowed linearly below that, none from 4 cm below —
    with :data:`APPROACH_MARGIN` (3 cm) the hand still moves sideways, slowly, down to 1 cm below the neighbour's
    top, and at full speed from 2 cm above it. It thus travels above its neighbours and comes down on the grasp
    point from above. For a fixed ``approach_z`` the action is continuous in the hand's position; ``approach_z``
    itself jumps when an object enters or leaves the bin (:func:`approach_height`). ``None``: the 8 cm funnel
    only."""
    xy = float(np.linalg.norm(grasp[:2] - eef[:2]))
    if opening < 0.02 and eef[2] < grasp[2] + 0.02:  # closed on nothing: open and back off upwards
        return move(eef, np.array([eef[0], eef[1], grasp[2] + 0.08]), OPEN)
    far = float(np.clip((xy - 0.01) / 0.02, 0.0, 1.0))
    hover = (0.08 if approach_z is None else max(0.08, approach_z - grasp[2])) * far
    close = xy < 0.02 and eef[2] < grasp[2] + 0.01
    a = move(eef, np.array([grasp[0], grasp[1], grasp[2] + hover]), CLOSE if close else OPEN)
    if approach_z is not None:  # below the travel height and far off: rise before moving sideways
        a[:2] *= max(1.0 - far, float(np.clip((eef[2] - approach_z + 0.04) / 0.03, 0.0, 1.0)))
    return a


def has_fixed_grasp_axis(rot: npt.NDArray[np.float64], geometry: ObjectGeometry) -> bool:
    """Whether an object's grasp yaw is fixed by its shape: it stands on a face (``rot``, its ``(3, 3)`` rotation
    matrix, has a body axis within 26° of vertical; a leaning object has no clear footprint) and its footprint's
    diagonal does not fit between the open fingers (the cereal box, a milk carton lying down)."""
    if np.abs(rot[2, :]).max() < 0.9:  # leaning (e.g. against a wall or another object): no clear footprint
        return False
    flat = np.argsort(np.abs(rot[2, :]))[:2]  # the two box axes closest to horizontal
    return bool(np.hypot(*geometry.half_extent[flat]) > MAX_OPENING / 2 - 0.002)  # the can's box (2.6 cm) passes


def grasp_yaw_error(eef_quat: npt.NDArray[np.float64], obj_quat: npt.NDArray[np.float64],
                    geometry: ObjectGeometry) -> float:
    """Rotation [rad] about world z that lines the fingers up across the object's narrow side.

    The Panda's fingers close along the end effector's y axis and open to 8 cm. The object's box is rotated into
    the world frame; its two most horizontal axes span its footprint. A footprint whose diagonal fits between the
    fingers at any yaw (can, milk or bread standing) needs no rotation (0); otherwise (cereal box, a milk carton
    lying down) the closing axis is turned parallel to the footprint's narrow axis. The gripper is symmetric, so
    the error is wrapped to (-π/2, π/2]. Quaternions are robosuite's (x, y, z, w).
    """
    from robosuite.utils.transform_utils import quat2mat

    rot = quat2mat(obj_quat)
    if not has_fixed_grasp_axis(rot, geometry):
        return 0.0
    flat = np.argsort(np.abs(rot[2, :]))[:2]  # the two box axes closest to horizontal
    half = geometry.half_extent[flat]
    narrow = rot[:, flat[int(np.argmin(half))]]
    closing = quat2mat(eef_quat)[:, 1]
    err = np.arctan2(narrow[1], narrow[0]) - np.arctan2(closing[1], closing[0])
    return float((err + np.pi / 2) % np.pi - np.pi / 2)


def _box_z(obj: npt.NDArray[np.float64], obj_quat: npt.NDArray[np.float64], geometry: ObjectGeometry,
           side: float) -> float:
    from robosuite.utils.transform_utils import quat2mat

    rot = quat2mat(obj_quat)
    return float(obj[2] + rot[2] @ geometry.centre + side * (np.abs(rot[2]) @ geometry.half_extent))


def object_top(obj: npt.NDArray[np.float64], obj_quat: npt.NDArray[np.float64], geometry: ObjectGeometry) -> float:
    """World z [m] of the top of the object's box in its current pose (standing or lying)."""
    return _box_z(obj, obj_quat, geometry, 1.0)


def object_bottom(obj: npt.NDArray[np.float64], obj_quat: npt.NDArray[np.float64], geometry: ObjectGeometry) -> float:
    """World z [m] of the bottom of the object's box in its current pose (standing or lying)."""
    return _box_z(obj, obj_quat, geometry, -1.0)


@dataclass(frozen=True)
class Surroundings:
    """What the hand may hit while it descends on an object in a bin: the bin's walls and the other objects.

    Used by :func:`clear_grasp_yaw_error` to turn a free grasp yaw (an object whose footprint fits between the
    fingers at any yaw) away from them: the Panda hand is 21 cm long along the closing axis, so with the fingers
    across a wall a low object (the bread, 4.8 cm tall) closer than ≈ 10 cm to the wall cannot be reached — the hand
    lands on the wall's top edge (measured on 30 ``pick_bread-v1`` starts: 6 of the oracle's 8 failures).
    """

    inner: tuple[float, float, float, float]
    """The bin's inner faces ``(x_min, x_max, y_min, y_max)`` [m, world]."""
    wall_top: float
    """World z [m] of the walls' top edge."""
    obstacles: tuple[tuple[npt.NDArray[np.float64], float], ...] = ()
    """Other objects: ``(points, top)`` — ``(n, 2)`` world xy [m] sampled over the object's box in its current pose
    (:func:`box_points`) and the world z [m] of its top."""


APPROACH_MARGIN = 0.03
"""Clearance [m] of the hand's grasp point (between the fingertips) above the tallest neighbour while a pick
approaches its object (:func:`approach_height`)."""


def approach_height(surroundings: Surroundings, margin: float = APPROACH_MARGIN) -> float | None:
    """Height (world z [m]) a pick travels at toward its object (:func:`funnel_grasp` ``approach_z``): ``margin``
    above the top of the tallest other object inside the bin (:attr:`Surroundings.inner`); ``None`` when none is.

    Without it the hand moved toward the grasp at 8 cm above the grasp point, below the top of a standing milk
    carton (17 cm tall) next to the can: the scripted pick_can knocked the milk carton over (tilted > 20°) in 9 of
    50 development layouts (1000–1049) of the multi-object scene, 1 of 50 with it; the cloned v0011 in 12 (2026-12-04,
    tenth session).
    """
    x_min, x_max, y_min, y_max = surroundings.inner
    tops = [top for points, top in surroundings.obstacles
            if bool(np.any((points[:, 0] > x_min) & (points[:, 0] < x_max)
                           & (points[:, 1] > y_min) & (points[:, 1] < y_max)))]
    return max(tops) + margin if tops else None


BOX_POINTS_PER_AXIS = 5
"""Grid points per axis of an object's box in :func:`box_points` (125 points)."""


def box_points(obj: npt.NDArray[np.float64], obj_quat: npt.NDArray[np.float64], geometry: ObjectGeometry,
               per_axis: int = BOX_POINTS_PER_AXIS) -> npt.NDArray[np.float64]:
    """``(per_axis³, 2)`` world xy [m] of a grid over an object's collision box in its current pose (position
    ``obj`` [m], quaternion (x, y, z, w)): the points whose distance to the hand's footprint
    :func:`hand_clearance` takes."""
    from robosuite.utils.transform_utils import quat2mat

    g = np.linspace(-1.0, 1.0, per_axis)
    grid = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3) * geometry.half_extent
    rot = quat2mat(obj_quat)
    return (obj + rot @ geometry.centre)[:2] + grid @ rot[:2, :].T


def hand_clearance(angles: npt.ArrayLike, grasp: npt.NDArray[np.float64],
                   surroundings: Surroundings) -> npt.NDArray[np.float64]:
    """Smallest signed gap [m] between the hand's footprint — a ``2·HAND_HALF_LENGTH × 2·HAND_HALF_WIDTH``
    rectangle centred on ``grasp`` (world, [m]) with its long side along the closing axis at world yaw ``angles``
    [rad], shape ``(k,)`` — and the walls (if the grasp is inside the bin and the hand's bottom, :data:`HAND_BOTTOM`
    above the grasp, is below their top) and the obstacles whose top is above the hand's bottom; negative when they
    overlap (then minus the depth). Not modelled: the fingers below the hand (an obstacle whose top lies in the
    3 cm between the fingertips and the hand's bottom is not counted) and a tilted hand.

    Returns:
        ``(k,) float64`` [m]; ``inf`` where nothing is in reach.
    """
    angles = np.atleast_1d(np.asarray(angles, dtype=np.float64))
    c, s = np.cos(angles), np.sin(angles)
    hand_bottom = grasp[2] + HAND_BOTTOM
    gap = np.full(angles.shape, np.inf)
    x_min, x_max, y_min, y_max = surroundings.inner
    inside = x_min < grasp[0] < x_max and y_min < grasp[1] < y_max
    if inside and hand_bottom < surroundings.wall_top:
        reach_x = HAND_HALF_LENGTH * np.abs(c) + HAND_HALF_WIDTH * np.abs(s)
        reach_y = HAND_HALF_LENGTH * np.abs(s) + HAND_HALF_WIDTH * np.abs(c)
        for wall_gap in (grasp[0] - x_min - reach_x, x_max - grasp[0] - reach_x,
                         grasp[1] - y_min - reach_y, y_max - grasp[1] - reach_y):
            gap = np.minimum(gap, wall_gap)
    for points, top in surroundings.obstacles:
        if top < hand_bottom:
            continue
        d = points - grasp[:2]  # (n, 2)
        u = np.abs(np.outer(c, d[:, 0]) + np.outer(s, d[:, 1])) - HAND_HALF_LENGTH  # (k, n), > 0: beyond the ends
        v = np.abs(np.outer(-s, d[:, 0]) + np.outer(c, d[:, 1])) - HAND_HALF_WIDTH
        outside = np.hypot(np.maximum(u, 0.0), np.maximum(v, 0.0))
        gap = np.minimum(gap, np.where((u < 0) & (v < 0), np.maximum(u, v), outside).min(axis=1))
    return gap


def clear_grasp_yaw_error(eef_quat: npt.NDArray[np.float64], obj_quat: npt.NDArray[np.float64],
                          geometry: ObjectGeometry, grasp: npt.NDArray[np.float64],
                          surroundings: Surroundings, steps: int = 36) -> float:
    """:func:`grasp_yaw_error`, but an object that fits between the fingers at any yaw (can, milk, bread standing)
    turns the hand only where its footprint would hit the bin's walls or a neighbour (:func:`hand_clearance`): no
    turn while the current yaw clears them by :data:`GRASP_CLEARANCE`; else a turn toward the world yaw (of
    ``steps`` over 180°) with the largest clearance, which stops once the current yaw clears them. An object with
    a fixed grasp axis (the cereal box) or leaning is left to :func:`grasp_yaw_error`.

    Written to be imitated: the target is 0 wherever no turn is needed; the yaw turned to does not depend on the
    hand's current yaw (the nearest clear yaw would: two of them, either side, for a wall across the fingers); and
    the turn is wrapped to [-70°, 110°) rather than [-90°, 90°), so the 90° turn that a wall across the fingers
    asks for always has the same sign — the gripper's symmetry would otherwise make it +88° or -88° depending on a
    few degrees of the hand's yaw, two modes that a regressed policy averages to no turn at all. This moves the
    sign flip, it does not remove it: a neighbour whose clearest yaw lies ≈ 70° below the hand's still gets -70°
    or +110° by a fraction of a degree (the hand starts a pick closing along world y, so walls never fall there).
    A leaning object gets no turn (:func:`grasp_yaw_error` returns 0 there).

    Returns:
        Rotation [rad] about world z from the fingers' closing axis to the chosen one, in [-70°, 110°).
    """
    from robosuite.utils.transform_utils import quat2mat

    rot = quat2mat(obj_quat)
    if np.abs(rot[2, :]).max() < 0.9 or has_fixed_grasp_axis(rot, geometry):  # leaning, or fixed by the shape
        return grasp_yaw_error(eef_quat, obj_quat, geometry)
    closing = quat2mat(eef_quat)[:, 1]
    current = float(np.arctan2(closing[1], closing[0]))
    if hand_clearance([current], grasp, surroundings)[0] >= GRASP_CLEARANCE:
        return 0.0
    grid = np.arange(steps) * np.pi / steps
    turns = (grid - current + np.pi / 2 - TURN_BIAS) % np.pi - np.pi / 2 + TURN_BIAS
    return float(turns[int(np.argmax(hand_clearance(grid, grasp, surroundings)))])


def pick_place_action(eef: npt.NDArray[np.float64], eef_quat: npt.NDArray[np.float64], opening: float,
                      settled: bool, obj: npt.NDArray[np.float64], obj_quat: npt.NDArray[np.float64],
                      geometry: ObjectGeometry, target: npt.NDArray[np.float64], rest_height: float,
                      stage: str = "pick_place",
                      surroundings: Surroundings | None = None,
                      lift_clear: float | None = None,
                      approach_z: float | None = None) -> npt.NDArray[np.float32]:
    """One OSC action of the pick-and-place oracle for one object (positions [m] in the world frame).

    Grasp, with the fingers yawed across the object's narrow side (:func:`grasp_yaw_error`), 1 cm above the
    object's centre or 3.5 cm below its top for tall objects (in the object's current pose: the hand would hit
    the top of a standing milk carton);
    lift clear of the bin walls to a carry height 25 cm above the bin floor; carry over ``target``; lower until
    the object's centre is < 4 cm above its resting height ``rest_height`` [m above the bin floor] and release
    (the hand may not get lower: it meets the bin's dividers);
    retreat upwards (robosuite counts an object as placed only with the hand ≥ 7 cm away).

    ``stage``: ``"pick_place"`` (the whole task), ``"pick"`` (grasp and lift to the carry height, then hold) or
    ``"place"`` (carry a held object to ``target`` and release; when nothing is held it moves up and opens).
    ``surroundings``: the bin and the other objects; with them a free grasp yaw turns the hand clear of them
    (:func:`clear_grasp_yaw_error`), without them it is left as it is.
    ``lift_clear``: height [m above the bin floor] the held object's *bottom* reaches (to within 1 cm) before the
    carry moves sideways, and keeps while it does (the carry height is raised where needed, never lowered). A tall
    object grasped 3.5 cm below its top otherwise hangs low enough at the 25 cm carry height to sweep through its
    neighbours: the cereal box's bottom is ≈ 8 cm above the floor there. Measured on 40 ``place_cereal-v1``
    starts (5000–5039) with the scripted place: a neighbour knocked over (tilted > 20°) in 21 without, 0 with
    ``lift_clear`` = 0.19 m; success 32 → 40. (In the all-four-objects plan the cloned ``place_cereal`` knocked the
    milk carton over in 6 of 30 development layouts, 1000–1029.) ``None``: the hand's 25 cm carry height only.
    ``approach_z``: the height [m, world] a pick travels at toward its object (:func:`funnel_grasp`,
    :func:`approach_height`); ``None``: the funnel's 8 cm above the grasp point.

    Returns:
        ``(7,) float32`` action in [-1, 1].
    """
    top = object_top(obj, obj_quat, geometry)
    grasp = np.array([obj[0], obj[1], max(obj[2] + 0.01, top - 0.035)])
    rest = BIN_FLOOR_Z + rest_height
    carry_z = BIN_FLOOR_Z + 0.25
    to_target = float(np.linalg.norm(obj[:2] - target[:2]))
    in_bin = to_target < 0.05 and obj[2] < rest + 0.03
    near = np.linalg.norm(grasp - eef) < 0.025
    # "settled" fingers tell the pick that the grasp has closed; once carrying, a finger still moving must not read
    # as "nothing held" (the place oracle would release mid-carry on a cloned policy's states)
    held = near and (settled or stage == "place") and 0.02 < opening < MAX_OPENING - 0.005
    if stage != "pick" and in_bin:  # placed: open, then retreat upwards
        if opening < MAX_OPENING - 0.005 and near:
            return move(eef, eef, OPEN)
        return move(eef, np.array([eef[0], eef[1], carry_z]), OPEN)
    if held:
        grip_offset = eef - grasp
        grip_offset[2] = 0.0
        low = eef[2] < carry_z - 0.05
        if lift_clear is not None and stage != "pick":  # the object's bottom, not the hand, clears the neighbours
            hang = eef[2] - object_bottom(obj, obj_quat, geometry)
            carry_z = max(carry_z, BIN_FLOOR_Z + lift_clear + hang)
            low = low or eef[2] < carry_z - 0.01
        if stage == "pick" or to_target > 0.01:
            if stage == "pick" or (low and to_target > 0.05):  # lift clear first
                return move(eef, np.array([eef[0], eef[1], carry_z]), CLOSE)
            return move(eef, np.array([target[0], target[1], carry_z]) + grip_offset, CLOSE)
        if obj[2] < rest + 0.04:  # low enough to drop: the hand may not reach lower over the bin's dividers
            return move(eef, eef, OPEN)
        return move(eef, np.array([target[0], target[1], eef[2] - (obj[2] - rest) + 0.01]) + grip_offset, CLOSE)
    if stage == "place":  # nothing held: nothing to place
        return move(eef, np.array([eef[0], eef[1], carry_z]), OPEN)
    a = funnel_grasp(eef, grasp, opening, approach_z)
    yaw = (grasp_yaw_error(eef_quat, obj_quat, geometry) if surroundings is None
           else clear_grasp_yaw_error(eef_quat, obj_quat, geometry, grasp, surroundings))
    a[5] = np.clip(yaw / OSC_ROT_LIMIT, -1.0, 1.0)
    if abs(yaw) > 0.1 and a[6] == CLOSE:  # do not close before the fingers are across the narrow side
        a[6] = OPEN
        a[2] = max(a[2], 0.0)
    return a
