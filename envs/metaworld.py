"""Meta-World v3 tasks as seeded Gymnasium environments.

Every one of the 50 Meta-World v3 tasks is registered as ``metaworld/<task>`` (for example
``metaworld/drawer-open-v3``), both in skillstack's registry and as a Gymnasium id, so
``gymnasium.make("metaworld/drawer-open-v3")`` works once ``skillstack.envs`` is imported.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from metaworld.env_dict import ALL_V3_ENVIRONMENTS

from skillstack.envs.checks import InstabilityMonitor, check_action

TASKS: tuple[str, ...] = tuple(ALL_V3_ENVIRONMENTS)
"""The 50 Meta-World v3 task names, e.g. ``"drawer-open-v3"``."""

# Data, not code: one natural-language description per task (used as skill text by planners).
TASK_DESCRIPTIONS: dict[str, str] = {
    "assembly-v3": "pick up the nut and place it onto the peg",
    "basketball-v3": "dunk the basketball into the basket",
    "bin-picking-v3": "grasp the puck from one bin and place it into the other bin",
    "box-close-v3": "grasp the cover and close the box with it",
    "button-press-topdown-v3": "press the button from the top",
    "button-press-topdown-wall-v3": "press the button from the top, behind a short wall",
    "button-press-v3": "press the button",
    "button-press-wall-v3": "press the button behind a short wall",
    "coffee-button-v3": "push the button on the coffee machine",
    "coffee-pull-v3": "pull the mug from the coffee machine",
    "coffee-push-v3": "push the mug under the coffee machine",
    "dial-turn-v3": "rotate the dial 180 degrees",
    "disassemble-v3": "pick the nut out of the peg",
    "door-close-v3": "close the door with a revolving joint",
    "door-lock-v3": "lock the door by rotating the lock clockwise",
    "door-open-v3": "open the door with a revolving joint",
    "door-unlock-v3": "unlock the door by rotating the lock counter-clockwise",
    "drawer-close-v3": "close the drawer",
    "drawer-open-v3": "open the drawer",
    "faucet-close-v3": "rotate the faucet clockwise",
    "faucet-open-v3": "rotate the faucet counter-clockwise",
    "hammer-v3": "hammer the screw on the wall",
    "hand-insert-v3": "insert the gripper into the hole",
    "handle-press-side-v3": "press the handle down sideways",
    "handle-press-v3": "press the handle down",
    "handle-pull-side-v3": "pull the handle up sideways",
    "handle-pull-v3": "pull the handle up",
    "lever-pull-v3": "pull the lever down 90 degrees",
    "peg-insert-side-v3": "insert the peg sideways into the hole",
    "peg-unplug-side-v3": "unplug the peg sideways",
    "pick-out-of-hole-v3": "pick up the peg from the hole",
    "pick-place-v3": "pick up the puck and place it at the goal",
    "pick-place-wall-v3": "pick up the puck, bypass the wall and place it at the goal",
    "plate-slide-back-side-v3": "slide the plate back sideways into the cabinet",
    "plate-slide-back-v3": "slide the plate back into the cabinet",
    "plate-slide-side-v3": "slide the plate sideways into the cabinet",
    "plate-slide-v3": "slide the plate into the cabinet",
    "push-back-v3": "push the puck back to the goal",
    "push-v3": "push the puck to the goal",
    "push-wall-v3": "push the puck around the wall to the goal",
    "reach-v3": "reach the goal position",
    "reach-wall-v3": "reach the goal position behind a wall",
    "shelf-place-v3": "pick up the puck and place it onto the shelf",
    "soccer-v3": "kick the soccer ball into the goal",
    "stick-pull-v3": "grasp the stick and pull the box with it",
    "stick-push-v3": "grasp the stick and push the box with it",
    "sweep-into-v3": "sweep the puck into the hole",
    "sweep-v3": "sweep the puck off the table",
    "window-close-v3": "push and close the window",
    "window-open-v3": "push and open the window",
}



class MetaWorldEnv(gym.Env[npt.NDArray[np.float64], npt.NDArray[np.float32]]):
    """One Meta-World v3 task with goal-observable, seeded, reproducible resets.

    **Task Description:** the Meta-World v3 task ``task`` (Yu et al. 2019, "Meta-World"), e.g.
    ``drawer-open-v3``: a Sawyer arm with a mocap-driven hand and a two-finger gripper.

    **Randomizations:** object and goal positions are drawn uniformly from the task's own
    ``_random_reset_space`` using this env's ``np_random`` (never the global NumPy RNG), so
    ``reset(seed=s)`` gives the same layout for the same ``s``. Calling ``reset()`` without a seed
    continues the RNG stream, giving a new layout each episode.

    **Success Conditions:** ``info["success"]`` is Meta-World's own task check (e.g. drawer open by
    ≥ 0.03 m of its target travel); the episode is *not* terminated on success unless
    ``terminate_on_success=True``. Episodes are truncated after ``max_episode_steps`` (the Gymnasium
    ``TimeLimit`` from the registration, 500 by default, Meta-World's horizon).

    Observation: ``(39,) float64`` — hand xyz [m] (0:3), gripper opening [0, 1] (3), object 1 xyz [m]
    (4:7) and quaternion wxyz (7:11), object 2 xyz [m] (11:14) and quaternion (14:18), the same 18 values
    from the previous step (18:36), goal xyz [m] (36:39).

    Action: ``(4,) float32`` in [-1, 1] — hand displacement Δxyz (× 0.01 m per step), gripper effort
    (-1 open, +1 close). Actions outside [-1, 1] are clipped by Meta-World; NaN/inf or wrong shapes
    raise ``ValueError`` before they reach MuJoCo.

    Simulation faults: when MuJoCo raises an instability warning (BADQACC, BADQVEL, ...) during a step
    it silently resets the state; this env then returns ``truncated=True`` with
    ``info["sim_unstable"]`` naming the warning.

    Args:
        task: Meta-World v3 task name, e.g. ``"drawer-open-v3"``.
        render_mode: ``None`` or ``"rgb_array"``.
        width: render width [px].
        height: render height [px].
        camera_name: Meta-World camera (``corner``, ``corner2``, ``corner3``, ``topview``, ...).
        terminate_on_success: end the episode (``terminated=True``) on the first successful step.
        fast_render: lower shadow-map size (1024) and no multisampling: ≈2.5× faster software rendering.
            ``None`` (default) turns it on when ``MUJOCO_GL=osmesa``.

    Raises:
        UnknownNameError: ``task`` is not a Meta-World v3 task.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 80}

    def __init__(
        self,
        task: str,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
        camera_name: str = "corner2",
        terminate_on_success: bool = False,
        fast_render: bool | None = None,
    ) -> None:
        if task not in ALL_V3_ENVIRONMENTS:
            from skillstack.envs.registry import UnknownNameError, unknown_name_message

            raise UnknownNameError(unknown_name_message("Meta-World task", task, list(TASKS)))
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.task = task
        self.render_mode = render_mode
        self.terminate_on_success = terminate_on_success
        env = ALL_V3_ENVIRONMENTS[task](
            render_mode=render_mode, camera_name=camera_name, width=width, height=height
        )
        # Goal-observable single-task setup as in Meta-World's MT1 (`_MT_OVERRIDE`), but every
        # random draw comes from the env's own seeded generator (`seeded_rand_vec`).
        if env._partially_observable:
            env._partially_observable = False
            env.__dict__.pop("sawyer_observation_space", None)  # cached_property, recomputed
        env._set_task_called = True
        env._freeze_rand_vec = False
        env.seeded_rand_vec = True
        env.max_path_length = np.iinfo(np.int64).max  # the Gymnasium TimeLimit truncates instead
        env.seed(0)
        if fast_render is None:
            import os

            fast_render = os.environ.get("MUJOCO_GL") == "osmesa"
        if fast_render:
            env.model.vis.quality.shadowsize = 1024
            env.model.vis.quality.offsamples = 0
        self._env = env
        self.model: mujoco.MjModel = env.model
        self.data: mujoco.MjData = env.data
        obs_space = env.sawyer_observation_space
        self.observation_space = spaces.Box(
            obs_space.low.astype(np.float64), obs_space.high.astype(np.float64), dtype=np.float64
        )
        self.action_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        self._faults = InstabilityMonitor(self.model, self.data)
        self._last_obs: npt.NDArray[np.float64] | None = None

    @property
    def unwrapped_metaworld(self) -> Any:
        """The underlying Meta-World ``SawyerXYZEnv`` (for scripted experts and state access)."""
        return self._env

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float64], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._env.seed(int(seed))
        obs, info = self._env.reset()
        self._faults.reset()
        info = dict(info)
        info["success"] = False
        self._last_obs = obs.astype(np.float64, copy=False)
        return self._last_obs, info

    def step(
        self, action: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], float, bool, bool, dict[str, Any]]:
        act = check_action(action, self.action_space)
        self._faults.snapshot()
        obs, reward, _, _, info = self._env.step(act)
        success = bool(info.get("success", 0.0))
        info["success"] = success
        fault = self._faults.check()
        truncated = fault is not None
        if truncated:  # MuJoCo reset the state mid-step: end the episode at the last good state
            self._faults.restore()
            info["sim_unstable"] = fault
            info["success"] = success = False
            obs, reward = self._last_obs, 0.0
        if obs.dtype != np.float64:
            obs = obs.astype(np.float64)
        self._last_obs = obs
        terminated = success and self.terminate_on_success
        return obs, float(reward), terminated, truncated, info

    def render(self) -> npt.NDArray[np.uint8] | None:
        """Render an RGB frame ``(height, width, 3) uint8`` (``render_mode="rgb_array"`` only)."""
        if self.render_mode is None:
            return None
        # Meta-World v3's cameras come out vertically flipped from MuJoCo's renderer.
        return np.ascontiguousarray(self._env.render()[::-1])

    def close(self) -> None:
        self._env.close()


def _register() -> None:
    from skillstack.envs.make import EnvSpec, register_env

    for task in TASKS:
        register_env(EnvSpec(name=f"metaworld/{task}", entry_point="skillstack.envs.metaworld:MetaWorldEnv",
                             kwargs={"task": task}, max_episode_steps=500,
                             description=TASK_DESCRIPTIONS.get(task, task.removesuffix("-v3").replace("-", " "))))


_register()
