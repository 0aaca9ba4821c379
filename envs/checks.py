"""Input checks shared by every skillstack env."""

from __future__ import annotations

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
