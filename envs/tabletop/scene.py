"""The tabletop scene's simulator: MJCF generation from Meta-World's installed assets, layouts, the physics
scene with its symbolic-state setter, grounded predicates and the observation layout.

The scene is generated as MJCF that ``<include>``\\ s Meta-World's asset files from the installed
``metaworld`` package by absolute path (nothing is copied into this repository), then edited with
``mujoco.MjSpec`` (sites that name the handles). Per-episode layouts move the static bodies through
``model.body_pos``, so one compiled model serves every layout.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
import numpy.typing as npt

from skillstack.envs.checks import InstabilityMonitor
from skillstack.envs.tabletop.domain import BLOCKS, DEFAULT_STATE, SYMBOLIC_VALUES, valid_symbolic_state

# --------------------------------------------------------------------------------------------------
# Scene geometry (metres). Nominal positions and uniform jitter half-widths of the static objects.
# --------------------------------------------------------------------------------------------------

BLOCK_HALF = 0.02
"""Block half edge [m]."""

LAYOUT_NOMINAL: dict[str, tuple[float, float]] = {
    "drawer": (-0.40, 0.87),
    "button": (-0.13, 0.84),
    "window": (0.26, 0.92),
    "bin": (0.25, 0.56),
}
"""Nominal xy [m] of the static objects' bases (the table top is z = 0)."""

LAYOUT_JITTER: dict[str, tuple[float, float]] = {
    "drawer": (0.015, 0.02),
    "button": (0.015, 0.02),
    "window": (0.01, 0.02),
    "bin": (0.03, 0.03),
}
"""Half-widths [m] of the uniform xy jitter added to :data:`LAYOUT_NOMINAL` at every reset."""

BLOCK_REGION = ((-0.18, 0.06), (0.48, 0.66))
"""``((x_lo, x_hi), (y_lo, y_hi))`` [m]: blocks on the table start uniformly in this rectangle."""

BLOCK_MIN_SEPARATION = 0.09
"""Minimum xy distance [m] between block centres when both are on the table."""

BLOCK_MAX_YAW = np.pi / 8
"""Blocks start with a uniform yaw in ``[-BLOCK_MAX_YAW, BLOCK_MAX_YAW]`` [rad]."""

HAND_INIT = (0.0, 0.6, 0.2)
"""Hand start of a fresh long-horizon episode [m] (Meta-World's ``hand_init_pos``)."""

HAND_REGION = ((-0.25, 0.25), (0.45, 0.66), (0.12, 0.3))
"""Skill-training resets draw the hand position uniformly in this free-space box [m] with probability 0.6..."""

HAND_AT_OBJECT_PROB = 0.4
"""...and otherwise where another skill leaves it: at the drawer handle, above the button, or beside the
window handle (±0.01 m noise) — the states a skill meets inside a chain."""

MOCAP_LOW = np.array([-0.5, 0.40, 0.05])
MOCAP_HIGH = np.array([0.5, 1.0, 0.45])
"""Bounds of the commanded hand (mocap) position [m]."""

ACTION_SCALE = 0.01
"""Hand displacement per unit action per control step [m] (Meta-World's ``action_scale``)."""

FRAME_SKIP = 5
"""MuJoCo steps (2.5 ms each) per control step: 12.5 ms, 80 Hz, as in Meta-World."""

DRAWER_TRAVEL = 0.16
"""Drawer slide range [m] (Meta-World drawer ``goal_slidey``: [-0.16, 0])."""

WINDOW_TRAVEL = 0.2
"""Window slide range [m] (Meta-World ``window_horiz``: [0, 0.2] along +x)."""

SLIDE_FRICTIONLOSS = 0.3
"""Dry friction [N] added to the drawer and window slide joints (see :func:`build_model`)."""

BUTTON_TRAVEL = 0.06
"""Button plunger travel [m] (Meta-World ``btnbox_joint``)."""

# Predicate thresholds — documented in PREDICATE_DOCS.
DRAWER_OPEN_MIN = 0.12
DRAWER_CLOSED_MAX = 0.02
WINDOW_OPEN_MIN = 0.15
WINDOW_CLOSED_MAX = 0.03
BUTTON_PRESS_MIN = 0.03
HOLD_DIST_MAX = 0.035
HOLD_GRIPPER_MAX = 0.75
HOLD_LIFT_MIN = 0.035
TABLE_Z_MAX = 0.035
BIN_HALF_INNER = 0.09

PREDICATE_DOCS: dict[str, str] = {
    "drawer_open": f"drawer pulled out by >= {DRAWER_OPEN_MIN} m (of {DRAWER_TRAVEL} m travel)",
    "drawer_closed": f"drawer pulled out by <= {DRAWER_CLOSED_MAX} m",
    "window_open": f"window pane slid by >= {WINDOW_OPEN_MIN} m (of {WINDOW_TRAVEL} m travel)",
    "window_closed": f"window pane slid by <= {WINDOW_CLOSED_MAX} m",
    "button_pressed": (
        f"the button plunger has been pushed down by >= {BUTTON_PRESS_MIN} m at some step of this episode "
        "(latched: the spring returns the plunger, the predicate stays true until reset)"
    ),
    "hand_empty": "no block is held",
    "holding(b)": (
        f"block b's centre within {HOLD_DIST_MAX} m of the fingertip centre, gripper opening <= {HOLD_GRIPPER_MAX} "
        f"(normalised, 1 = fully open), and block b's centre higher than {HOLD_LIFT_MIN} m (lifted off the table)"
    ),
    "block_in_drawer(b)": (
        "block b's centre inside the drawer's inner box (|x| <= 0.085 m, |y| <= 0.075 m, -0.05 m <= z <= 0.06 m in "
        "the frame of the sliding drawer) and b not held"
    ),
    "block_in_bin(b)": (
        f"block b's centre within {BIN_HALF_INNER} m of the bin centre in x and y, below 0.08 m, not held"
    ),
    "block_on_table(b)": (
        f"block b's centre lower than {TABLE_Z_MAX} m (resting on the table top), not in the bin, not held"
    ),
}
"""Every predicate and its threshold, in metres (printed by ``skillstack envs --predicates``)."""


def _metaworld_assets() -> str:
    import metaworld

    return os.path.join(os.path.dirname(metaworld.__file__), "assets")


def scene_mjcf() -> str:
    """The scene's MJCF text; Meta-World's files are included from the installed package by path."""
    mw = _metaworld_assets()
    blocks = []
    for colour, rgba in (("red", "0.85 0.1 0.1 1"), ("blue", "0.1 0.25 0.85 1")):
        blocks.append(
            f'<body name="{colour}_block" pos="0 0.6 0.02"><freejoint name="{colour}_block"/>'
            '<inertial pos="0 0 0" mass="0.1" diaginertia="2.7e-5 2.7e-5 2.7e-5"/>'
            f'<geom name="{colour}_block" type="box" size="{BLOCK_HALF} {BLOCK_HALF} {BLOCK_HALF}" rgba="{rgba}" '
            'condim="4" friction="1 0.1 0.002" solimp="0.99 0.99 0.01" solref="0.01 1"/></body>'
        )
    inc = f"{mw}/objects/assets"
    return f"""<mujoco model="skillstack_tabletop">
  <compiler meshdir="{mw}/sawyer_xyz" texturedir="{mw}/sawyer_xyz"/>
  <include file="{mw}/scene/basic_scene.xml"/>
  <include file="{inc}/xyz_base_dependencies.xml"/>
  <include file="{inc}/drawer_dependencies.xml"/>
  <include file="{inc}/buttonbox_dependencies.xml"/>
  <include file="{inc}/window_dependencies.xml"/>
  <include file="{inc}/bin_dependencies.xml"/>
  <worldbody>
    <include file="{inc}/xyz_base.xml"/>
    <body name="drawer" pos="-0.40 0.87 0"><include file="{inc}/drawer.xml"/></body>
    <body name="box" euler="-1.57 0 0" pos="-0.13 0.84 0.12"><include file="{inc}/buttonbox.xml"/></body>
    <body name="window" pos="0.26 0.92 0.202"><include file="{inc}/window_horiz.xml"/></body>
    <body name="bin" pos="0.25 0.56 0"><include file="{inc}/binA.xml"/></body>
    {"".join(blocks)}
  </worldbody>
  <actuator>
    <position ctrllimited="true" ctrlrange="-1 1" joint="r_close" kp="400" user="1"/>
    <position ctrllimited="true" ctrlrange="-1 1" joint="l_close" kp="400" user="1"/>
  </actuator>
  <equality><weld body1="mocap" body2="hand" solref="0.02 1"/></equality>
</mujoco>"""


def build_model() -> mujoco.MjModel:
    """Compile the scene (≈50 ms)."""
    spec = mujoco.MjSpec.from_string(scene_mjcf())
    spec.body("drawer_link").add_site(name="drawer_handle", pos=[0.0, -0.16, 0.0], size=[0.01, 0, 0])
    spec.body("button").add_site(name="button_top", pos=[0.0, -0.193, 0.0], size=[0.01, 0, 0])
    spec.body("windowb_a").add_site(name="window_handle", pos=[-0.014, -0.095, 0.0], size=[0.01, 0, 0])
    # Dry friction on the drawer and window slides: without it the soft-contact creep of a block resting in
    # the drawer slides a closed drawer open at ~1 cm/s (measured). 0.3 N is far below what the hand exerts.
    for joint in ("goal_slidey", "window_slide"):
        spec.joint(joint).frictionloss = SLIDE_FRICTIONLOSS
    return spec.compile()


def _quat_yaw(yaw: float) -> npt.NDArray[np.float64]:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


OBS_LAYOUT: tuple[tuple[str, int], ...] = (
    ("hand_pos", 3),
    ("gripper_opening", 1),
    ("red_block_pos", 3),
    ("blue_block_pos", 3),
    ("drawer_handle_pos", 3),
    ("drawer_opening", 1),
    ("button_top_pos", 3),
    ("button_depression", 1),
    ("button_pressed", 1),
    ("window_handle_pos", 3),
    ("window_opening", 1),
    ("bin_pos", 3),
)
"""Named slices of the ``(26,) float64`` observation, in order (positions in metres, world frame)."""

OBS_SLICES: dict[str, slice] = {}
_o = 0
for _name, _n in OBS_LAYOUT:
    OBS_SLICES[_name] = slice(_o, _o + _n)
    _o += _n
OBS_DIM = _o
del _o, _name, _n


@dataclass
class Layout:
    """One randomised arrangement of the scene (all in metres / radians)."""

    static: dict[str, tuple[float, float]]
    """xy of ``drawer``, ``button``, ``window``, ``bin`` bases."""
    block_xy: dict[str, tuple[float, float]]
    """Table-top xy of each block (used when the block starts on the table)."""
    block_yaw: dict[str, float]
    """Yaw of each block [rad]."""

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Layout:
        """Uniform jitter around :data:`LAYOUT_NOMINAL`; blocks uniform in :data:`BLOCK_REGION`, separated."""
        static = {}
        for name, (x, y) in LAYOUT_NOMINAL.items():
            jx, jy = LAYOUT_JITTER[name]
            static[name] = (float(x + rng.uniform(-jx, jx)), float(y + rng.uniform(-jy, jy)))
        (xlo, xhi), (ylo, yhi) = BLOCK_REGION
        while True:
            xy = {b: (float(rng.uniform(xlo, xhi)), float(rng.uniform(ylo, yhi))) for b in BLOCKS}
            if np.hypot(xy["red"][0] - xy["blue"][0], xy["red"][1] - xy["blue"][1]) >= BLOCK_MIN_SEPARATION:
                break
        yaw = {b: float(rng.uniform(-BLOCK_MAX_YAW, BLOCK_MAX_YAW)) for b in BLOCKS}
        return cls(static=static, block_xy=xy, block_yaw=yaw)




class TabletopScene:
    """The simulator of the tabletop scene: reset into layouts and symbolic states, step, read predicates.

    Not a Gymnasium env itself (see :class:`TabletopEnv` and :class:`TabletopSkillEnv`); every random
    draw comes from the generator passed in.
    """

    def __init__(self) -> None:
        self.model = build_model()
        self.data = mujoco.MjData(self.model)
        m = self.model
        self._body = {n: m.body(n).id for n in ("drawer", "box", "window", "bin", "drawer_link", "mocap", "hand")}
        self._mocap = int(m.body_mocapid[self._body["mocap"]])
        self._jnt_qpos = {n: int(m.jnt_qposadr[m.joint(n).id]) for n in
                          ("goal_slidey", "btnbox_joint", "window_slide", "red_block", "blue_block")}
        self._jnt_dof = {n: int(m.jnt_dofadr[m.joint(n).id]) for n in ("red_block", "blue_block")}
        self._site = {n: m.site(n).id for n in
                      ("drawer_handle", "button_top", "window_handle", "rightEndEffector", "leftEndEffector")}
        self._claw = (m.body("rightclaw").id, m.body("leftclaw").id)
        self._block_body = {b: m.body(f"{b}_block").id for b in BLOCKS}
        for i in range(m.eq_data.shape[0]):  # Meta-World's reset_mocap_welds
            if m.eq_type[i] == mujoco.mjtEq.mjEQ_WELD:
                m.eq_data[i] = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 5.0])
        self.button_latched = False
        self.layout: Layout | None = None
        self._faults = InstabilityMonitor(self.model, self.data)

    # -- low level ---------------------------------------------------------------------------------
    def _do_sim(self, grip: float, n: int = FRAME_SKIP) -> None:
        self.data.ctrl[:] = (grip, -grip)
        mujoco.mj_step(self.model, self.data, nstep=n)

    def _set_mocap(self, pos: npt.ArrayLike) -> None:
        self.data.mocap_pos[self._mocap] = np.clip(pos, MOCAP_LOW, MOCAP_HIGH)
        self.data.mocap_quat[self._mocap] = (1.0, 0.0, 1.0, 0.0)

    def _set_block(self, b: str, pos: npt.ArrayLike, yaw: float = 0.0) -> None:
        a = self._jnt_qpos[f"{b}_block"]
        self.data.qpos[a : a + 3] = pos
        self.data.qpos[a + 3 : a + 7] = _quat_yaw(yaw)
        d = self._jnt_dof[f"{b}_block"]
        self.data.qvel[d : d + 6] = 0.0

    @property
    def hand_pos(self) -> npt.NDArray[np.float64]:
        """Hand (end-effector body) position ``(3,)`` [m], Meta-World's ``get_endeff_pos``."""
        return self.data.xpos[self._body["hand"]].copy()

    @property
    def tcp(self) -> npt.NDArray[np.float64]:
        """Fingertip centre ``(3,)`` [m] (Meta-World's ``tcp_center``)."""
        xs = self.data.site_xpos
        return (xs[self._site["rightEndEffector"]] + xs[self._site["leftEndEffector"]]) / 2

    def block_pos(self, b: str) -> npt.NDArray[np.float64]:
        return self.data.xpos[self._block_body[b]].copy()

    @property
    def gripper_opening(self) -> float:
        """Finger separation normalised by 0.1 m, clipped to [0, 1] (Meta-World's observation entry 3)."""
        r, left = self._claw
        return float(np.clip(np.linalg.norm(self.data.xpos[r] - self.data.xpos[left]) / 0.1, 0.0, 1.0))

    @property
    def drawer_opening(self) -> float:
        return float(-self.data.qpos[self._jnt_qpos["goal_slidey"]])

    @property
    def window_opening(self) -> float:
        return float(self.data.qpos[self._jnt_qpos["window_slide"]])

    @property
    def button_depression(self) -> float:
        return float(-self.data.qpos[self._jnt_qpos["btnbox_joint"]])

    def site(self, name: str) -> npt.NDArray[np.float64]:
        return self.data.site_xpos[self._site[name]].copy()

    def drawer_inner_center(self) -> npt.NDArray[np.float64]:
        """Centre of the drawer's floor top surface ``(3,)`` [m] (drawer frame offset z = -0.044 m)."""
        return self.data.xpos[self._body["drawer_link"]] + np.array([0.0, 0.0, -0.044])

    def bin_center(self) -> npt.NDArray[np.float64]:
        """Centre of the bin's floor top surface ``(3,)`` [m]."""
        return self.data.xpos[self._body["bin"]] + np.array([0.0, 0.0, 0.01])

    # -- reset -------------------------------------------------------------------------------------
    def reset(
        self,
        rng: np.random.Generator,
        layout: Layout | None = None,
        state: Mapping[str, Any] | None = None,
        hand_pos: npt.ArrayLike | Callable[[TabletopScene], npt.ArrayLike] | None = None,
    ) -> None:
        """Reset the simulation to ``layout`` (sampled if ``None``) in the discrete ``state``.

        Args:
            rng: the only source of randomness (continuous amounts within each discrete state).
            layout: object arrangement; ``Layout.sample(rng)`` if ``None``.
            state: a valid :data:`SYMBOLIC_VALUES` assignment; default everything closed/unpressed,
                blocks on the table.
            hand_pos: hand start [m], or a function of the scene (objects placed) returning it;
                :data:`HAND_INIT` if ``None``.

        Raises:
            ValueError: invalid ``state``.
        """
        if state is None:
            state = DEFAULT_STATE
        if not valid_symbolic_state(state):
            raise ValueError(f"invalid symbolic state {dict(state)}; values must come from {SYMBOLIC_VALUES}")
        layout = Layout.sample(rng) if layout is None else layout
        self.layout = layout
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        for name, body in (("drawer", "drawer"), ("button", "box"), ("window", "window"), ("bin", "bin")):
            m.body_pos[self._body[body], :2] = layout.static[name]
        ranges = {"closed": (0.0, 0.01), "open": (0.13, 0.16), "ajar": (0.04, 0.10)}
        drawer = rng.uniform(*ranges[state["drawer"]])
        wranges = {"closed": (0.0, 0.015), "open": (0.17, 0.2), "ajar": (0.05, 0.13)}
        window = rng.uniform(*wranges[state["window"]])
        d.qpos[self._jnt_qpos["goal_slidey"]] = -drawer
        d.qpos[self._jnt_qpos["window_slide"]] = window
        self.button_latched = bool(state["button_pressed"])
        mujoco.mj_forward(m, d)
        if callable(hand_pos):
            hand_pos = hand_pos(self)
        target = np.asarray(HAND_INIT if hand_pos is None else hand_pos, dtype=np.float64)
        # Hand: Meta-World's _reset_hand (50 control steps towards the target, gripper open), with contacts
        # off so the arm's swing from its home pose cannot move the objects; the objects are placed after.
        m.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_CONTACT)
        try:
            for _ in range(50):
                self._set_mocap(target)
                self._do_sim(-1.0)
        finally:
            m.opt.disableflags &= ~int(mujoco.mjtDisableBit.mjDSBL_CONTACT)
        d.qvel[:] = 0.0
        d.qpos[self._jnt_qpos["goal_slidey"]] = -drawer
        d.qpos[self._jnt_qpos["window_slide"]] = window
        d.qpos[self._jnt_qpos["btnbox_joint"]] = 0.0
        mujoco.mj_forward(m, d)
        in_drawer = [b for b in BLOCKS if state[b] == "drawer"]
        in_bin = [b for b in BLOCKS if state[b] == "bin"]
        for b in BLOCKS:
            yaw = layout.block_yaw[b]
            if state[b] == "table" or state[b] == "hand":  # held blocks are parked on the table first
                self._set_block(b, (*layout.block_xy[b], BLOCK_HALF), yaw)
            elif state[b] == "drawer":
                k = in_drawer.index(b)
                dx = 0.0 if len(in_drawer) == 1 else (-0.04 if k == 0 else 0.04)
                c = self.drawer_inner_center()
                off = np.array([dx + rng.uniform(-0.02, 0.02), rng.uniform(-0.03, 0.03), BLOCK_HALF + 0.002])
                self._set_block(b, c + off, yaw)
            else:
                k = in_bin.index(b)
                dx = 0.0 if len(in_bin) == 1 else (-0.045 if k == 0 else 0.045)
                c = self.bin_center()
                off = np.array([dx + rng.uniform(-0.02, 0.02), rng.uniform(-0.04, 0.04), BLOCK_HALF + 0.002])
                self._set_block(b, c + off, yaw)
        mujoco.mj_forward(m, d)
        held = [b for b in BLOCKS if state[b] == "hand"]
        if held:
            b = held[0]
            yaw = layout.block_yaw[b]
            for _ in range(25):  # close the fingers on a block held kinematically at the fingertips
                self._set_block(b, self.tcp, yaw)
                self._set_mocap(target)
                self._do_sim(1.0)
        for _ in range(5):  # let everything settle under contact
            self._set_mocap(target)
            self._do_sim(1.0 if held else -1.0)
        self._faults.reset()

    # -- step --------------------------------------------------------------------------------------
    def step(self, action: npt.NDArray[np.float32]) -> str | None:
        """Apply one 4-D action (Δxyz × :data:`ACTION_SCALE`, gripper effort) for :data:`FRAME_SKIP` steps.

        Returns:
            ``None``, or the names of the MuJoCo instability warnings raised during the step; then the
            pre-step physics state has been restored (MuJoCo had silently reset it).
        """
        a = np.clip(action, -1.0, 1.0)
        self._faults.snapshot()
        self._set_mocap(self.data.mocap_pos[self._mocap] + a[:3] * ACTION_SCALE)
        self._do_sim(float(a[3]))
        fault = self._faults.check()
        if fault is not None:
            self._faults.restore()
            return fault
        if self.button_depression >= BUTTON_PRESS_MIN:
            self.button_latched = True
        return None

    # -- reading -----------------------------------------------------------------------------------
    def observation(self) -> npt.NDArray[np.float64]:
        """The ``(26,) float64`` observation laid out as :data:`OBS_LAYOUT`."""
        return np.concatenate([
            self.hand_pos, [self.gripper_opening], self.block_pos("red"), self.block_pos("blue"),
            self.site("drawer_handle"), [self.drawer_opening],
            self.site("button_top"), [self.button_depression], [float(self.button_latched)],
            self.site("window_handle"), [self.window_opening],
            self.data.xpos[self._body["bin"]],
        ])

    def holding(self, b: str) -> bool:
        p = self.block_pos(b)
        return bool(
            np.linalg.norm(p - self.tcp) <= HOLD_DIST_MAX
            and self.gripper_opening <= HOLD_GRIPPER_MAX
            and p[2] > HOLD_LIFT_MIN
        )

    def in_drawer(self, b: str) -> bool:
        rel = self.block_pos(b) - self.data.xpos[self._body["drawer_link"]]
        return bool(abs(rel[0]) <= 0.085 and abs(rel[1]) <= 0.075 and -0.05 <= rel[2] <= 0.06)

    def in_bin(self, b: str) -> bool:
        rel = self.block_pos(b) - self.data.xpos[self._body["bin"]]
        return bool(abs(rel[0]) <= BIN_HALF_INNER and abs(rel[1]) <= BIN_HALF_INNER and rel[2] <= 0.08)

    def predicates(self) -> dict[str, bool]:
        """Every predicate of :data:`PREDICATE_DOCS`, grounded for each block (e.g. ``holding(red)``)."""
        p: dict[str, bool] = {
            "drawer_open": self.drawer_opening >= DRAWER_OPEN_MIN,
            "drawer_closed": self.drawer_opening <= DRAWER_CLOSED_MAX,
            "window_open": self.window_opening >= WINDOW_OPEN_MIN,
            "window_closed": self.window_opening <= WINDOW_CLOSED_MAX,
            "button_pressed": self.button_latched,
        }
        held = {b: self.holding(b) for b in BLOCKS}
        p["hand_empty"] = not any(held.values())
        for b in BLOCKS:
            z = self.block_pos(b)[2]
            p[f"holding({b})"] = held[b]
            p[f"block_in_drawer({b})"] = not held[b] and self.in_drawer(b)
            in_bin = not held[b] and self.in_bin(b)
            p[f"block_in_bin({b})"] = in_bin
            p[f"block_on_table({b})"] = bool(not held[b] and not in_bin and z <= TABLE_Z_MAX)
        return p


TCP_BELOW_HAND = 0.045
"""The fingertip centre is this far below the hand body [m]."""


def sample_hand_pos(scene: TabletopScene, rng: np.random.Generator, free_only: bool = False) -> npt.NDArray[np.float64]:
    """Hand start for skill training (see :data:`HAND_REGION`, :data:`HAND_AT_OBJECT_PROB`), objects placed.

    ``free_only`` (used when a block is to be held) always draws from :data:`HAND_REGION`.
    """
    if free_only or rng.uniform() >= HAND_AT_OBJECT_PROB:
        return np.array([rng.uniform(lo, hi) for lo, hi in HAND_REGION])
    where = rng.integers(3)
    if where == 0:
        tcp = scene.site("drawer_handle") + np.array([0.0, 0.045, -0.01])
    elif where == 1:
        tcp = scene.site("button_top") + np.array([0.0, 0.0, rng.uniform(0.0, 0.06)])
    else:
        tcp = scene.site("window_handle") + np.array([rng.choice([-0.04, 0.035]), 0.03, 0.0])
    return tcp + rng.uniform(-0.01, 0.01, size=3) + np.array([0.0, 0.0, TCP_BELOW_HAND])

