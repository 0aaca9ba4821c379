"""Gymnasium envs of the tabletop scene: :class:`TabletopEnv` (``skillstack/Tabletop-v0``, long-horizon tasks) and
:class:`TabletopSkillEnv` (``tabletop/<skill>-v0``, one skill's training env)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from skillstack.envs.checks import check_action
from skillstack.envs.make import unversioned
from skillstack.envs.registry import UnknownNameError, unknown_name_message
from skillstack.envs.scenes import Task
from skillstack.envs.tabletop.domain import (
    DEFAULT_STATE,
    SKILL_SPECS,
    get_skill_spec,
    held_block,
    sample_symbolic_state,
    symbolic_state,
)
from skillstack.envs.tabletop.scene import OBS_DIM, TabletopScene, sample_hand_pos
from skillstack.envs.tabletop.skills import skill_potential, skill_success
from skillstack.envs.tabletop.tasks import TASKS


def _as_task(task: str | Task | None) -> Task | None:
    return task if task is None or isinstance(task, Task) else TASKS.get(task)


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
        spec = SKILL_SPECS[unversioned(skill_env_id).removeprefix("tabletop/")]
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
    (conjunction of predicates, :class:`Task`) plus an instruction, e.g. "put the red block in
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
        task: name in :data:`TASKS` or a :class:`Task` (e.g. an instruction-suite entry;
            ``None``: no goal, ``info["success"]`` is always false).
        render_mode: ``None`` or ``"rgb_array"``.
        width, height: render size [px].
        camera: one of :data:`CAMERAS`.
        terminate_on_success: end the episode once the goal holds.
        fast_render: cheaper shadows for software rendering (default: on under ``MUJOCO_GL=osmesa``).

    Reset options: ``{"task": name or Task}`` switches task; ``{"state": {...}}`` overrides the discrete
    start state (a valid :data:`SYMBOLIC_VALUES` assignment); ``{"hand": "random"}`` starts the hand where skills
    start (:func:`sample_hand_pos`) instead of at :data:`HAND_INIT` (the learned planner's training states).

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
        state = options.get("state") or (self.task.initial if self.task and self.task.initial else DEFAULT_STATE)
        hand = options.get("hand", "home")
        if hand not in ("home", "random"):
            raise ValueError(f"reset option 'hand' must be 'home' or 'random', got {hand!r}")
        rng = self.np_random
        held = held_block(state) is not None
        self.scene.reset(rng, state=state, hand_pos=None if hand == "home" else
                         (lambda scene: sample_hand_pos(scene, rng, free_only=held)))
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
