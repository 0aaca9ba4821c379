"""Success predicates and dense shaping rewards of the tabletop skills (the MDP of each skill env).

One function per skill kind in each of :data:`SUCCESS` and :data:`POTENTIAL` (the kinds of
:data:`~skillstack.envs.tabletop.domain.KINDS`); the controllers that execute the skills live in the skill layer
(:mod:`skillstack.skills.experts` and the skill library).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from skillstack.envs.tabletop.domain import SkillSpec, held_block
from skillstack.envs.tabletop.scene import (
    BLOCK_HALF,
    BUTTON_PRESS_MIN,
    DRAWER_OPEN_MIN,
    DRAWER_TRAVEL,
    TABLE_Z_MAX,
    WINDOW_OPEN_MIN,
    WINDOW_TRAVEL,
    TabletopScene,
)

OPEN_MARGIN = 0.02
"""``open_*`` succeeds only 0.02 m past the ``*_open`` threshold: measured, the next skill's first moves
(fingers opening next to the handle) pushed a just-opened drawer back below the threshold in 3 of 10 layouts."""

PICK_LIFT_MIN = 0.08
"""``pick_*`` succeeds once the held block's centre is at least this high [m]."""

PLACE_CLEAR_MIN = 0.05
"""``place_*`` succeeds once the released block is in place and the fingertips are this far from it [m]."""


def _tol(d: float, scale: float = 0.05) -> float:
    """Shaping kernel in (0, 1]: 1 at distance 0, 0.37 at ``scale`` [m]."""
    return float(np.exp(-d / scale))


def _opening(scene: TabletopScene, t: str) -> float:
    return scene.drawer_opening if t == "drawer" else scene.window_opening


# ------------------------------------------------------------------------------------------ success
def _open_success(t: str, scene: TabletopScene, p: Mapping[str, bool], start: Mapping[str, Any]) -> bool:
    # overshoot the predicate's threshold so that later skills' nudges keep it true
    return p[f"{t}_open"] and _opening(scene, t) >= (DRAWER_OPEN_MIN if t == "drawer" else WINDOW_OPEN_MIN) \
        + OPEN_MARGIN


def _pick_success(t: str, scene: TabletopScene, p: Mapping[str, bool], start: Mapping[str, Any]) -> bool:
    return p[f"holding({t})"] and scene.block_pos(t)[2] >= PICK_LIFT_MIN


def _place_success(t: str, scene: TabletopScene, p: Mapping[str, bool], start: Mapping[str, Any]) -> bool:
    b = held_block(start)
    if b is None:
        return False
    where = {"drawer": f"block_in_drawer({b})", "bin": f"block_in_bin({b})", "table": f"block_on_table({b})"}[t]
    return p[where] and np.linalg.norm(scene.tcp - scene.block_pos(b)) >= PLACE_CLEAR_MIN


SUCCESS: dict[str, Callable[[str, TabletopScene, Mapping[str, bool], Mapping[str, Any]], bool]] = {
    "open": _open_success,
    "close": lambda t, scene, p, start: p[f"{t}_closed"],
    "press": lambda t, scene, p, start: p["button_pressed"],
    "pick": _pick_success,
    "place": _place_success,
}
"""Skill kind → success predicate ``(target, scene, predicates now, discrete state at skill start) -> bool``."""


def skill_success(spec: SkillSpec, scene: TabletopScene, p: Mapping[str, bool], start: Mapping[str, Any]) -> bool:
    """Success predicate of ``spec`` given current predicates ``p`` and the discrete state at skill start."""
    return SUCCESS[spec.kind](spec.target, scene, p, start)


# ------------------------------------------------------------------------------------------ shaping
def _open_close_potential(close: bool) -> Callable[[str, TabletopScene, Mapping[str, Any]], float]:
    def potential(t: str, scene: TabletopScene, start: Mapping[str, Any]) -> float:
        handle = scene.site(f"{t}_handle")
        amount = scene.drawer_opening / DRAWER_TRAVEL if t == "drawer" else scene.window_opening / WINDOW_TRAVEL
        progress = 1.0 - amount if close else amount
        return 0.3 * _tol(float(np.linalg.norm(scene.tcp - handle)), 0.1) + 0.7 * float(np.clip(progress, 0, 1))

    return potential


def _press_potential(t: str, scene: TabletopScene, start: Mapping[str, Any]) -> float:
    top = scene.site("button_top")
    return 0.4 * _tol(float(np.linalg.norm(scene.tcp - top)), 0.1) + 0.6 * float(
        np.clip(scene.button_depression / BUTTON_PRESS_MIN, 0, 1) if not scene.button_latched else 1.0)


def _pick_potential(t: str, scene: TabletopScene, start: Mapping[str, Any]) -> float:
    pos = scene.block_pos(t)
    held = scene.holding(t)
    lift = float(np.clip((pos[2] - BLOCK_HALF) / (PICK_LIFT_MIN - BLOCK_HALF), 0, 1))
    return 0.3 * _tol(float(np.linalg.norm(scene.tcp - pos)), 0.05) + 0.2 * held + 0.5 * lift * held


def _place_potential(t: str, scene: TabletopScene, start: Mapping[str, Any]) -> float:
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


POTENTIAL: dict[str, Callable[[str, TabletopScene, Mapping[str, Any]], float]] = {
    "open": _open_close_potential(close=False),
    "close": _open_close_potential(close=True),
    "press": _press_potential,
    "pick": _pick_potential,
    "place": _place_potential,
}
"""Skill kind → shaping potential ``(target, scene, discrete state at skill start) -> [0, 1]``."""


def skill_potential(spec: SkillSpec, scene: TabletopScene, start: Mapping[str, Any]) -> float:
    """Dense shaping term in [0, 1] for RL (reward = potential − 1 per step; see
    :class:`~skillstack.envs.tabletop.envs.TabletopSkillEnv`)."""
    return POTENTIAL[spec.kind](spec.target, scene, start)
