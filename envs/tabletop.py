"""The long-horizon tabletop scene: a Meta-World Sawyer with a drawer, a button box, a sliding window,
a bin and two blocks, built from Meta-World's installed MJCF files.

The scene is generated as MJCF that ``<include>``\\ s Meta-World's asset files from the installed
``metaworld`` package by absolute path (nothing is copied into this repository), then edited with
``mujoco.MjSpec`` (sites that name the handles). Per-episode layouts move the static bodies through
``model.body_pos``, so one compiled model serves every layout.

Three things live here, all data-driven:

* :class:`TabletopScene` — the simulator: layouts, symbolic-state setter, predicates, observation.
* :data:`SKILL_SPECS` — the grounded skills of the scene: language description, preconditions,
  effects, success predicate, step cap and dense reward (the MDP of each skill; the controllers are in
  :mod:`skillstack.skills.oracles` and in the skill library).
* :class:`TabletopEnv` (``skillstack/Tabletop-v0``, long-horizon tasks of :data:`TASKS`) and
  :class:`TabletopSkillEnv` (``tabletop/<skill>``, one skill's training env).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from skillstack.envs.checks import InstabilityMonitor, check_action
from skillstack.envs.registry import Registry, UnknownNameError, unknown_name_message

# --------------------------------------------------------------------------------------------------
# Scene geometry (metres). Nominal positions and uniform jitter half-widths of the static objects.
# --------------------------------------------------------------------------------------------------

BLOCKS: tuple[str, ...] = ("red", "blue")
"""Block colours; each block is a 4 cm cube (0.1 kg) named ``<colour>_block``."""

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


def _tol(d: float, scale: float = 0.05) -> float:
    """Shaping kernel in (0, 1]: 1 at distance 0, 0.37 at ``scale`` [m]."""
    return float(np.exp(-d / scale))


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

SYMBOLIC_VALUES: dict[str, tuple[Any, ...]] = {
    "drawer": ("closed", "open", "ajar"),
    "window": ("closed", "open", "ajar"),
    "button_pressed": (False, True),
    "red": ("table", "drawer", "bin", "hand"),
    "blue": ("table", "drawer", "bin", "hand"),
}
"""Discrete scene states that :meth:`TabletopScene.reset` can build (``ajar`` = neither open nor closed)."""


def valid_symbolic_state(state: Mapping[str, Any]) -> bool:
    """At most one block in the hand; every key of :data:`SYMBOLIC_VALUES` has a legal value."""
    if set(state) != set(SYMBOLIC_VALUES) or any(state[k] not in v for k, v in SYMBOLIC_VALUES.items()):
        return False
    return sum(state[b] == "hand" for b in BLOCKS) <= 1


def sample_symbolic_state(
    rng: np.random.Generator, require: Callable[[Mapping[str, Any]], bool] | None = None, max_tries: int = 10_000
) -> dict[str, Any]:
    """Uniform over valid discrete states (rejection sampling), optionally restricted by ``require``.

    Raises:
        RuntimeError: no state satisfying ``require`` found in ``max_tries`` draws.
    """
    keys = list(SYMBOLIC_VALUES)
    for _ in range(max_tries):
        state = {k: SYMBOLIC_VALUES[k][rng.integers(len(SYMBOLIC_VALUES[k]))] for k in keys}
        if valid_symbolic_state(state) and (require is None or require(state)):
            return state
    raise RuntimeError("no symbolic state satisfies the requirement")


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


def symbolic_state(p: Mapping[str, bool]) -> dict[str, Any]:
    """Discrete scene state (the keys of :data:`SYMBOLIC_VALUES`) read from grounded predicates.

    A block that is in none of hand/drawer/bin/table (e.g. in flight, or resting on another object) reads
    as ``"table"`` only if ``block_on_table`` holds; otherwise as ``"other"``.
    """
    def opening(open_: bool, closed: bool) -> str:
        return "open" if open_ else ("closed" if closed else "ajar")

    s: dict[str, Any] = {
        "drawer": opening(p["drawer_open"], p["drawer_closed"]),
        "window": opening(p["window_open"], p["window_closed"]),
        "button_pressed": bool(p["button_pressed"]),
    }
    for b in BLOCKS:
        if p[f"holding({b})"]:
            s[b] = "hand"
        elif p[f"block_in_drawer({b})"]:
            s[b] = "drawer"
        elif p[f"block_in_bin({b})"]:
            s[b] = "bin"
        elif p[f"block_on_table({b})"]:
            s[b] = "table"
        else:
            s[b] = "other"
    return s


def held_block(sym: Mapping[str, Any]) -> str | None:
    """The block in the hand in symbolic state ``sym``, or ``None``."""
    return next((b for b in BLOCKS if sym.get(b) == "hand"), None)


# --------------------------------------------------------------------------------------------------
# Grounded skills: preconditions, effects, success, dense reward. Controllers live in skills/.
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SkillSpec:
    """One grounded skill of the tabletop scene (data; see :data:`SKILL_SPECS`).

    Attributes:
        name: skill name, e.g. ``"open_drawer"``.
        description: language description used by planners, e.g. ``"open the drawer"``.
        kind: which table row of :func:`skill_success`/:func:`skill_potential` applies.
        target: the object the skill acts on (``"drawer"``, ``"red"``, ``"bin"``, ...).
        max_steps: step cap of one execution [control steps of 12.5 ms].
        preconditions: human-readable preconditions (also encoded in :meth:`applicable`).
        effects: human-readable effects (also encoded in :meth:`apply`).
    """

    name: str
    description: str
    kind: str
    target: str
    max_steps: int
    preconditions: tuple[str, ...]
    effects: tuple[str, ...]

    def applicable(self, sym: Mapping[str, Any]) -> bool:
        """Whether the symbolic preconditions hold in discrete state ``sym``."""
        empty = held_block(sym) is None
        k, t = self.kind, self.target
        if k == "open":
            return empty and sym[t] in ("closed", "ajar")
        if k == "close":
            return empty and sym[t] in ("open", "ajar")
        if k == "press":
            return empty and not sym["button_pressed"]
        if k == "pick":
            return empty and sym[t] == "table"
        if k == "place":
            if held_block(sym) is None:
                return False
            return sym["drawer"] == "open" if t == "drawer" else True
        raise AssertionError(k)

    def apply(self, sym: Mapping[str, Any]) -> dict[str, Any]:
        """Discrete state after a successful execution from ``sym`` (the skill's effects).

        Raises:
            ValueError: the preconditions do not hold in ``sym``.
        """
        if not self.applicable(sym):
            raise ValueError(f"{self.name}: preconditions {self.preconditions} do not hold in {dict(sym)}")
        out = dict(sym)
        k, t = self.kind, self.target
        if k == "open":
            out[t] = "open"
        elif k == "close":
            out[t] = "closed"
        elif k == "press":
            out["button_pressed"] = True
        elif k == "pick":
            out[t] = "hand"
        else:
            out[held_block(sym)] = t  # type: ignore[index]
        return out


def _skill_table() -> dict[str, SkillSpec]:
    specs = [
        SkillSpec("open_drawer", "open the drawer", "open", "drawer", 200,
                  ("hand_empty", "not drawer_open"), ("drawer_open",)),
        SkillSpec("close_drawer", "close the drawer", "close", "drawer", 200,
                  ("hand_empty", "not drawer_closed"), ("drawer_closed",)),
        SkillSpec("press_button", "press the button", "press", "button", 200,
                  ("hand_empty", "not button_pressed"), ("button_pressed",)),
        SkillSpec("open_window", "open the window", "open", "window", 200,
                  ("hand_empty", "not window_open"), ("window_open",)),
        SkillSpec("close_window", "close the window", "close", "window", 200,
                  ("hand_empty", "not window_closed"), ("window_closed",)),
    ]
    for b in BLOCKS:
        specs.append(SkillSpec(f"pick_{b}_block", f"pick up the {b} block", "pick", b, 150,
                               ("hand_empty", f"block_on_table({b})"), (f"holding({b})",)))
    specs += [
        SkillSpec("place_in_drawer", "put the block in the drawer", "place", "drawer", 200,
                  ("holding(b)", "drawer_open"), ("block_in_drawer(b)", "hand_empty")),
        SkillSpec("place_in_bin", "put the block in the bin", "place", "bin", 200,
                  ("holding(b)",), ("block_in_bin(b)", "hand_empty")),
        SkillSpec("place_on_table", "put the block down on the table", "place", "table", 160,
                  ("holding(b)",), ("block_on_table(b)", "hand_empty")),
    ]
    return {s.name: s for s in specs}


SKILL_SPECS: dict[str, SkillSpec] = _skill_table()
"""The grounded skills of the tabletop scene, by name (10: drawer ×2, button, window ×2, pick ×2, place ×3)."""

OPEN_MARGIN = 0.02
"""``open_*`` succeeds only 0.02 m past the ``*_open`` threshold: measured, the next skill's first moves
(fingers opening next to the handle) pushed a just-opened drawer back below the threshold in 3 of 10 layouts."""

PICK_LIFT_MIN = 0.08
"""``pick_*`` succeeds once the held block's centre is at least this high [m]."""

PLACE_CLEAR_MIN = 0.05
"""``place_*`` succeeds once the released block is in place and the fingertips are this far from it [m]."""


def get_skill_spec(name: str) -> SkillSpec:
    """Raises :class:`UnknownNameError` (valid names + did-you-mean) for unknown skills."""
    if name not in SKILL_SPECS:
        raise UnknownNameError(unknown_name_message("tabletop skill", name, list(SKILL_SPECS)))
    return SKILL_SPECS[name]


def skill_success(spec: SkillSpec, scene: TabletopScene, p: Mapping[str, bool], start: Mapping[str, Any]) -> bool:
    """Success predicate of ``spec`` given current predicates ``p`` and the discrete state at skill start."""
    k, t = spec.kind, spec.target
    if k == "open":  # overshoot the predicate's threshold so that later skills' nudges keep it true
        amount = scene.drawer_opening if t == "drawer" else scene.window_opening
        return p[f"{t}_open"] and amount >= (DRAWER_OPEN_MIN if t == "drawer" else WINDOW_OPEN_MIN) + OPEN_MARGIN
    if k == "close":
        return p[f"{t}_closed"]
    if k == "press":
        return p["button_pressed"]
    if k == "pick":
        return p[f"holding({t})"] and scene.block_pos(t)[2] >= PICK_LIFT_MIN
    b = held_block(start)
    if b is None:
        return False
    where = {"drawer": f"block_in_drawer({b})", "bin": f"block_in_bin({b})", "table": f"block_on_table({b})"}[t]
    return p[where] and np.linalg.norm(scene.tcp - scene.block_pos(b)) >= PLACE_CLEAR_MIN


def skill_potential(spec: SkillSpec, scene: TabletopScene, start: Mapping[str, Any]) -> float:
    """Dense shaping term in [0, 1] for RL (reward = potential − 1 per step; see :class:`TabletopSkillEnv`)."""
    k, t = spec.kind, spec.target
    tcp = scene.tcp
    if k in ("open", "close"):
        handle = scene.site(f"{t}_handle")
        amount = scene.drawer_opening / DRAWER_TRAVEL if t == "drawer" else scene.window_opening / WINDOW_TRAVEL
        progress = amount if k == "open" else 1.0 - amount
        return 0.3 * _tol(float(np.linalg.norm(tcp - handle)), 0.1) + 0.7 * float(np.clip(progress, 0, 1))
    if k == "press":
        top = scene.site("button_top")
        return 0.4 * _tol(float(np.linalg.norm(tcp - top)), 0.1) + 0.6 * float(
            np.clip(scene.button_depression / BUTTON_PRESS_MIN, 0, 1) if not scene.button_latched else 1.0)
    if k == "pick":
        pos = scene.block_pos(t)
        held = scene.holding(t)
        lift = float(np.clip((pos[2] - BLOCK_HALF) / (PICK_LIFT_MIN - BLOCK_HALF), 0, 1))
        return 0.3 * _tol(float(np.linalg.norm(tcp - pos)), 0.05) + 0.2 * held + 0.5 * lift * held
    b = held_block(start)
    if b is None:
        return 0.0
    pos = scene.block_pos(b)
    if t == "drawer":
        goal = scene.drawer_inner_center() + np.array([0.0, 0.0, BLOCK_HALF])
    elif t == "bin":
        goal = scene.bin_center() + np.array([0.0, 0.0, BLOCK_HALF])
    else:
        goal = np.array([pos[0], pos[1], BLOCK_HALF])
    placed = {"drawer": scene.in_drawer, "bin": scene.in_bin}.get(t, lambda _b: pos[2] <= TABLE_Z_MAX)(b)
    released = not scene.holding(b)
    return 0.5 * _tol(float(np.linalg.norm(pos - goal)), 0.1) + 0.3 * placed + 0.2 * (placed and released)


# --------------------------------------------------------------------------------------------------
# Long-horizon tasks
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LongHorizonTask:
    """A goal (conjunction of grounded predicates) with an instruction text and a start state.

    Attributes:
        name: task name.
        instruction: natural-language instruction.
        goal: predicate name → required truth value, e.g. ``{"block_in_drawer(red)": True, "drawer_closed": True}``.
        initial: discrete start state (keys of :data:`SYMBOLIC_VALUES`); default all closed, blocks on table.
    """

    name: str
    instruction: str
    goal: dict[str, bool]
    initial: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_STATE))

    def satisfied(self, p: Mapping[str, bool]) -> bool:
        return all(p[k] == v for k, v in self.goal.items())


DEFAULT_STATE: dict[str, Any] = {"drawer": "closed", "window": "closed", "button_pressed": False,
                                 "red": "table", "blue": "table"}
"""Start of a fresh long-horizon episode: drawer and window closed, button not pressed, blocks on the table."""

TASKS: Registry[LongHorizonTask] = Registry("tabletop task")
"""Built-in long-horizon tasks (the instruction suite under ``assets/instructions`` adds more)."""

for _t in (
    LongHorizonTask("red_block_in_drawer", "put the red block in the drawer and close it",
                    {"block_in_drawer(red)": True, "drawer_closed": True}),
    LongHorizonTask("blue_block_in_drawer", "put the blue block in the drawer and close it",
                    {"block_in_drawer(blue)": True, "drawer_closed": True}),
    LongHorizonTask("blocks_in_bin", "put both blocks in the bin",
                    {"block_in_bin(red)": True, "block_in_bin(blue)": True}),
    LongHorizonTask("open_everything", "open the drawer and the window",
                    {"drawer_open": True, "window_open": True}),
    LongHorizonTask("press_then_bin", "press the button, then put the red block in the bin",
                    {"button_pressed": True, "block_in_bin(red)": True}),
    LongHorizonTask("tidy_up", "put the red block in the drawer, the blue block in the bin, and close the drawer",
                    {"block_in_drawer(red)": True, "block_in_bin(blue)": True, "drawer_closed": True}),
):
    TASKS.register(_t.name, _t)
del _t


def _as_task(task: str | LongHorizonTask | None) -> LongHorizonTask | None:
    return task if task is None or isinstance(task, LongHorizonTask) else TASKS.get(task)


# --------------------------------------------------------------------------------------------------
# Gymnasium envs
# --------------------------------------------------------------------------------------------------

CAMERAS: dict[str, dict[str, Any]] = {
    "front": {"lookat": (0.0, 0.72, 0.1), "distance": 1.6, "azimuth": 60.0, "elevation": -45.0},
    "behind_robot": {"lookat": (0.0, 0.72, 0.12), "distance": 1.35, "azimuth": 90.0, "elevation": -38.0},
    "side": {"lookat": (0.0, 0.72, 0.12), "distance": 1.45, "azimuth": 150.0, "elevation": -30.0},
    "top": {"lookat": (0.0, 0.70, 0.0), "distance": 1.3, "azimuth": 90.0, "elevation": -89.0},
}
"""Free cameras for rendering (MuJoCo ``MjvCamera`` parameters; distances in m, angles in degrees)."""


class _TabletopBase(gym.Env[npt.NDArray[np.float64], npt.NDArray[np.float32]]):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 80}

    def __init__(self, render_mode: str | None, width: int, height: int, camera: str, fast_render: bool | None) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if camera not in CAMERAS:
            raise UnknownNameError(unknown_name_message("camera", camera, list(CAMERAS)))
        self.render_mode = render_mode
        self.scene = TabletopScene()
        self.observation_space = spaces.Box(-2.0, 2.0, shape=(OBS_DIM,), dtype=np.float64)  # metres
        self.action_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        self._width, self._height, self._camera = width, height, camera
        if fast_render is None:
            fast_render = os.environ.get("MUJOCO_GL") == "osmesa"
        if fast_render:
            self.scene.model.vis.quality.shadowsize = 1024
            self.scene.model.vis.quality.offsamples = 0
        self._renderer: mujoco.Renderer | None = None

    @property
    def predicates(self) -> dict[str, bool]:
        """Current grounded predicates (see :data:`PREDICATE_DOCS`)."""
        return self.scene.predicates()

    def skill_succeeded(self, skill_env_id: str, start: Mapping[str, bool], p: Mapping[str, bool]) -> bool:
        """Success predicate of the skill trained in ``skill_env_id`` (``tabletop/<skill>``), given the predicates
        ``start`` at its start and ``p`` now (:func:`skill_success`; the executor's interface to a scene).

        Raises:
            UnknownNameError: not a tabletop skill.
        """
        spec = SKILL_SPECS[skill_env_id.removeprefix("tabletop/")]
        return skill_success(spec, self.scene, p, symbolic_state(start))

    def _step_scene(self, action: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], dict[str, bool], dict[str, Any]]:
        act = check_action(action, self.action_space)
        fault = self.scene.step(act)
        info: dict[str, Any] = {}
        if fault is not None:
            info["sim_unstable"] = fault
        p = self.scene.predicates()
        info["predicates"] = p
        return self.scene.observation(), p, info

    def render(self) -> npt.NDArray[np.uint8] | None:
        """RGB frame ``(height, width, 3) uint8`` from the free camera ``camera`` (``rgb_array`` mode only)."""
        if self.render_mode is None:
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.scene.model, self._height, self._width)
            cam = mujoco.MjvCamera()
            c = CAMERAS[self._camera]
            cam.lookat[:] = c["lookat"]
            cam.distance, cam.azimuth, cam.elevation = c["distance"], c["azimuth"], c["elevation"]
            self._cam = cam
        self._renderer.update_scene(self.scene.data, self._cam)
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


class TabletopEnv(_TabletopBase):
    """Long-horizon tabletop tasks (``skillstack/Tabletop-v0``).

    **Task Description:** a Meta-World Sawyer (mocap hand, two-finger gripper) at a table with a drawer,
    a top-down button box, a sliding window, a bin and a red and a blue 4 cm block. A task is a goal
    (conjunction of predicates, :class:`LongHorizonTask`) plus an instruction, e.g. "put the red block in
    the drawer and close it". Meant to be solved by sequencing skills (see ``skillstack rollout``).

    **Randomizations:** every reset draws a :class:`Layout` — drawer, button box and window bases
    jittered by ±0.01–0.02 m (:data:`LAYOUT_JITTER`), bin by ±0.03 m around :data:`LAYOUT_NOMINAL`; blocks uniform in
    :data:`BLOCK_REGION` at least :data:`BLOCK_MIN_SEPARATION` apart with yaw in ±π/8 — and the
    continuous amounts of the task's discrete start state (e.g. a closed drawer is 0–0.01 m out).

    **Success Conditions:** ``info["success"]`` is true when every goal predicate has its required
    value; ``info["predicates"]`` carries all predicates (thresholds in :data:`PREDICATE_DOCS`).
    Episodes never terminate on their own (``terminate_on_success=False``); the registration's
    ``TimeLimit`` truncates at 3 000 steps.

    Observation: ``(26,) float64`` laid out as :data:`OBS_LAYOUT` — hand xyz [m], gripper opening [0, 1],
    red and blue block xyz [m], drawer handle xyz [m] and opening [m], button top xyz [m], depression [m]
    and latched pressed flag {0, 1}, window handle xyz [m] and opening [m], bin xyz [m].

    Action: ``(4,) float32`` in [-1, 1] — hand Δxyz (× 0.01 m per 12.5 ms step), gripper effort
    (-1 open, +1 close), exactly Meta-World's. NaN/inf/wrong shape raise ``ValueError``.

    Args:
        task: name in :data:`TASKS` or a :class:`LongHorizonTask` (e.g. an instruction-suite entry;
            ``None``: no goal, ``info["success"]`` is always false).
        render_mode: ``None`` or ``"rgb_array"``.
        width, height: render size [px].
        camera: one of :data:`CAMERAS`.
        terminate_on_success: end the episode once the goal holds.
        fast_render: cheaper shadows for software rendering (default: on under ``MUJOCO_GL=osmesa``).

    Reset options: ``{"task": name or LongHorizonTask}`` switches task; ``{"state": {...}}`` overrides the discrete
    start state (a valid :data:`SYMBOLIC_VALUES` assignment).

    Raises:
        UnknownNameError: unknown task or camera.
    """

    def __init__(
        self,
        task: str | None = "red_block_in_drawer",
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
        camera: str = "front",
        terminate_on_success: bool = False,
        fast_render: bool | None = None,
    ) -> None:
        super().__init__(render_mode, width, height, camera, fast_render)
        self.task = _as_task(task)
        self.terminate_on_success = terminate_on_success

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float64], dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        if "task" in options:
            self.task = _as_task(options["task"])
        state = options.get("state") or (self.task.initial if self.task else DEFAULT_STATE)
        self.scene.reset(self.np_random, state=state)
        p = self.scene.predicates()
        return self.scene.observation(), {"predicates": p, "success": self._success(p)}

    def _success(self, p: Mapping[str, bool]) -> bool:
        return self.task is not None and self.task.satisfied(p)

    def step(self, action: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], float, bool, bool, dict[str, Any]]:
        obs, p, info = self._step_scene(action)
        success = self._success(p) and "sim_unstable" not in info
        info["success"] = success
        return obs, float(success), success and self.terminate_on_success, "sim_unstable" in info, info


EMPTY_GRIP_PROB = 0.5
"""``start="any"`` resets (the affordance data) close the empty gripper with this probability: skills that
end holding a handle leave it closed, and affordances fitted only on open empty grippers read a closed one as
"holding a block" (measured: place_in_bin 0.997 on an empty closed gripper)."""
EMPTY_GRIP_STEPS = (5, 31)
"""Closing steps drawn from ``[5, 31)``: 10 steps leave the fingers at opening ≈0.59 (where a held block also
leaves them), 20 close them fully (≈0.29, as a skill that ended squeezing a handle leaves them)."""


class TabletopSkillEnv(_TabletopBase):
    """Training env of one grounded skill (``tabletop/<skill>``, e.g. ``tabletop/open_drawer``).

    **Task Description:** execute the skill ``skill`` of :data:`SKILL_SPECS` (e.g. "open the drawer")
    in the tabletop scene of :class:`TabletopEnv` (same observation and action spaces).

    **Randomizations:** a :class:`Layout` as in :class:`TabletopEnv`; the hand from
    :func:`sample_hand_pos`; a discrete scene state drawn
    uniformly among those where the skill's preconditions hold (``start="precondition"``, including
    states other skills leave behind: other block held/in the drawer/in the bin, window/drawer open or
    ajar, button pressed) or among all valid states (``start="any"``, used to train affordances; there the
    empty gripper is closed with probability :data:`EMPTY_GRIP_PROB`).

    **Success Conditions:** :func:`skill_success` — e.g. ``drawer_open`` with a 0.02 m margin (:data:`OPEN_MARGIN`)
    for ``open_drawer``; pick:
    holding the block with its centre ≥ :data:`PICK_LIFT_MIN` high; place: the block that was held is in
    the target and the fingertips ≥ :data:`PLACE_CLEAR_MIN` away. Terminates on success
    (``terminate_on_success``); the registration's ``TimeLimit`` is the skill's step cap.

    Reward: ``potential − 1`` per step with :func:`skill_potential` in [0, 1] (reach + progress
    shaping), so finishing sooner is always better; the sparse success signal is ``info["success"]``.

    Raises:
        UnknownNameError: unknown skill or camera.
        ValueError: ``start`` not in ``("precondition", "any")``.
    """

    def __init__(
        self,
        skill: str,
        start: str = "precondition",
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
        camera: str = "front",
        terminate_on_success: bool = True,
        fast_render: bool | None = None,
    ) -> None:
        super().__init__(render_mode, width, height, camera, fast_render)
        self.spec_skill = get_skill_spec(skill)
        if start not in ("precondition", "any"):
            raise ValueError(f"start must be 'precondition' or 'any', got {start!r}")
        self.start = start
        self.terminate_on_success = terminate_on_success
        self._start_sym: dict[str, Any] = {}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float64], dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        rng = self.np_random
        start = options.get("start", self.start)
        state = options.get("state")
        require = self.spec_skill.applicable if start == "precondition" and state is None else None
        for _ in range(20):  # a reset can disturb the state (e.g. the hand nudging a drawer): redraw
            s = state if state is not None else sample_symbolic_state(rng, require)
            held = held_block(s) is not None
            self.scene.reset(rng, state=s, hand_pos=lambda scene, h=held: sample_hand_pos(scene, rng, free_only=h))
            p = self.scene.predicates()
            self._start_sym = symbolic_state(p)
            if require is None or require(self._start_sym):
                break
        if start == "any" and state is None and held_block(self._start_sym) is None and rng.uniform() < EMPTY_GRIP_PROB:
            for _ in range(int(rng.integers(*EMPTY_GRIP_STEPS))):  # fingers (partly) closed on nothing
                self.scene.step(np.array([0.0, 0.0, 0.0, 1.0]))
            p = self.scene.predicates()
            self._start_sym = symbolic_state(p)
        info = {"predicates": p, "success": False, "symbolic_state": dict(self._start_sym),
                "applicable": self.spec_skill.applicable(self._start_sym),
                # e.g. open_drawer on an open drawer: "succeeds" at once without doing anything
                "satisfied_at_start": skill_success(self.spec_skill, self.scene, p, self._start_sym)}
        return self.scene.observation(), info

    def step(self, action: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], float, bool, bool, dict[str, Any]]:
        obs, p, info = self._step_scene(action)
        success = skill_success(self.spec_skill, self.scene, p, self._start_sym) and "sim_unstable" not in info
        info["success"] = success
        reward = skill_potential(self.spec_skill, self.scene, self._start_sym) - 1.0
        return obs, float(reward), success and self.terminate_on_success, "sim_unstable" in info, info
