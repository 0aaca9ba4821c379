"""Input checks and simulation-fault detection shared by every skillstack env."""

from __future__ import annotations

import mujoco
import numpy as np
import numpy.typing as npt
from gymnasium import spaces


def check_action(action: npt.ArrayLike, space: spaces.Box) -> npt.NDArray[np.float32]:
    """Validate an action before it reaches the simulator.

    Args:
        action: array-like of shape ``space.shape``.
        space: the env's action space.

    Returns:
        The action as a float array of ``space.shape`` (a copy only when a conversion was needed).

    Raises:
        ValueError: wrong shape, non-numeric, NaN or inf entries.
    """
    try:
        act = np.asarray(action, dtype=space.dtype)
    except (TypeError, ValueError) as e:
        raise ValueError(f"action must be numeric with shape {space.shape}: {e}") from None
    if act.shape != space.shape:
        raise ValueError(f"action must have shape {space.shape}, got {act.shape}")
    if not np.isfinite(act).all():
        raise ValueError(f"action contains NaN or inf: {act.tolist()}")
    return act


UNSTABLE_WARNINGS: dict[str, int] = {
    "BADQACC": int(mujoco.mjtWarning.mjWARN_BADQACC),
    "BADQVEL": int(mujoco.mjtWarning.mjWARN_BADQVEL),
    "BADQPOS": int(mujoco.mjtWarning.mjWARN_BADQPOS),
    "BADCTRL": int(mujoco.mjtWarning.mjWARN_BADCTRL),
}
"""MuJoCo warnings after which the simulator silently resets its state (the physics blew up)."""

_UNSTABLE_IDX = np.array(list(UNSTABLE_WARNINGS.values()))


class InstabilityMonitor:
    """Reports the MuJoCo instability warnings raised in ``data`` since the previous :meth:`check`.

    MuJoCo counts warnings in ``data.warning`` and auto-resets the state on BADQACC & co., so without this a
    blown-up episode would silently continue from a reset state. One NumPy read per call (cheap on a step).
    """

    def __init__(self, data: mujoco.MjData) -> None:
        self.data = data
        self.reset()

    def reset(self) -> None:
        """Forget the warnings raised so far (call after an env reset)."""
        self._counts = self.data.warning.number[_UNSTABLE_IDX].copy()

    def check(self) -> str | None:
        """Comma-separated names of the warnings raised since the last call, or ``None``."""
        counts = self.data.warning.number[_UNSTABLE_IDX].copy()
        changed = counts != self._counts
        self._counts = counts
        if not changed.any():
            return None
        return ",".join(n for n, c in zip(UNSTABLE_WARNINGS, changed, strict=True) if c)
