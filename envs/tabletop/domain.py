"""The tabletop scene's symbolic domain: discrete state variables, the ten grounded skills' preconditions and
effects, and the grounded predicates read in a discrete state.

Pure data and logic, no physics: the planners (breadth-first search, plan validation, symbolic plan evaluation,
templated instructions) use it through :data:`TABLETOP_DOMAIN` (the :class:`~skillstack.envs.scenes.SymbolicDomain`
interface); :class:`~skillstack.envs.tabletop.scene.TabletopScene` builds physical states from it.

Each skill *kind* (open, close, press, pick, place) is one row of :data:`KINDS`: its preconditions, effects and
no-op test together, instead of one if-chain per question.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from skillstack.envs.registry import UnknownNameError, unknown_name_message

BLOCKS: tuple[str, ...] = ("red", "blue")
"""Block colours; each block is a 4 cm cube (0.1 kg) named ``<colour>_block``."""

SYMBOLIC_VALUES: dict[str, tuple[Any, ...]] = {
    "drawer": ("closed", "open", "ajar"),
    "window": ("closed", "open", "ajar"),
    "button_pressed": (False, True),
    "red": ("table", "drawer", "bin", "hand"),
    "blue": ("table", "drawer", "bin", "hand"),
}
"""Discrete scene states that :meth:`TabletopScene.reset` can build (``ajar`` = neither open nor closed)."""

DEFAULT_STATE: dict[str, Any] = {"drawer": "closed", "window": "closed", "button_pressed": False,
                                 "red": "table", "blue": "table"}
"""Start of a fresh long-horizon episode: drawer and window closed, button not pressed, blocks on the table."""


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
# Skill kinds: one row each (preconditions, effects, no-op), shared by every skill of that kind
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """The symbolic semantics of one skill kind, for a skill acting on ``target``.

    Attributes:
        applicable: ``(target, state) -> bool`` — the preconditions.
        effect: ``(target, state) -> {variable: value}`` — what a successful execution sets.
        noop: ``(target, state) -> bool`` — the success predicate already holds (the skill would change nothing).
    """

    applicable: Callable[[str, Mapping[str, Any]], bool]
    effect: Callable[[str, Mapping[str, Any]], dict[str, Any]]
    noop: Callable[[str, Mapping[str, Any]], bool]


def _empty(sym: Mapping[str, Any]) -> bool:
    return held_block(sym) is None


KINDS: dict[str, Kind] = {
    "open": Kind(lambda t, s: _empty(s) and s[t] in ("closed", "ajar"), lambda t, s: {t: "open"},
                 lambda t, s: s[t] == "open"),
    "close": Kind(lambda t, s: _empty(s) and s[t] in ("open", "ajar"), lambda t, s: {t: "closed"},
                  lambda t, s: s[t] == "closed"),
    "press": Kind(lambda t, s: _empty(s) and not s["button_pressed"], lambda t, s: {"button_pressed": True},
                  lambda t, s: bool(s["button_pressed"])),
    "pick": Kind(lambda t, s: _empty(s) and s[t] == "table", lambda t, s: {t: "hand"},
                 lambda t, s: s[t] == "hand"),
    "place": Kind(lambda t, s: not _empty(s) and (s["drawer"] == "open" if t == "drawer" else True),
                  lambda t, s: {held_block(s): t}, lambda t, s: False),
}
"""Skill kind → its symbolic semantics (see :class:`Kind`)."""


@dataclass(frozen=True)
class SkillSpec:
    """One grounded skill of the tabletop scene (data; see :data:`SKILL_SPECS`).

    Attributes:
        name: skill name, e.g. ``"open_drawer"``.
        description: language description used by planners, e.g. ``"open the drawer"``.
        kind: its row of :data:`KINDS` (and of the success/shaping tables in
            :mod:`skillstack.envs.tabletop.skills`).
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
        return KINDS[self.kind].applicable(self.target, sym)

    def apply(self, sym: Mapping[str, Any]) -> dict[str, Any]:
        """Discrete state after a successful execution from ``sym`` (the skill's effects).

        Raises:
            ValueError: the preconditions do not hold in ``sym``.
        """
        if not self.applicable(sym):
            raise ValueError(f"{self.name}: preconditions {self.preconditions} do not hold in {dict(sym)}")
        return {**sym, **KINDS[self.kind].effect(self.target, sym)}

    def is_noop(self, sym: Mapping[str, Any]) -> bool:
        """Whether the skill would succeed without changing anything in ``sym``: opening/closing something
        already open/closed, pressing a pressed button, picking the block already held (the success predicate
        already holds, so the executor reports success at once)."""
        return KINDS[self.kind].noop(self.target, sym)


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


def get_skill_spec(name: str) -> SkillSpec:
    """Raises :class:`UnknownNameError` (valid names + did-you-mean) for unknown skills."""
    if name not in SKILL_SPECS:
        raise UnknownNameError(unknown_name_message("tabletop skill", name, list(SKILL_SPECS)))
    return SKILL_SPECS[name]


def holds(sym: Mapping[str, Any], predicate: str) -> bool:
    """Truth of a grounded predicate (e.g. ``block_in_drawer(red)``) in discrete state ``sym``.

    Raises:
        KeyError: unknown predicate.
    """
    simple = {
        "drawer_open": sym["drawer"] == "open",
        "drawer_closed": sym["drawer"] == "closed",
        "window_open": sym["window"] == "open",
        "window_closed": sym["window"] == "closed",
        "button_pressed": bool(sym["button_pressed"]),
        "hand_empty": all(sym[b] != "hand" for b in BLOCKS),
    }
    if predicate in simple:
        return simple[predicate]
    for b in BLOCKS:
        where = {f"holding({b})": "hand", f"block_in_drawer({b})": "drawer", f"block_in_bin({b})": "bin",
                 f"block_on_table({b})": "table"}
        if predicate in where:
            return sym[b] == where[predicate]
    raise KeyError(f"unknown predicate {predicate!r}")


class TabletopDomain:
    """The tabletop's :class:`~skillstack.envs.scenes.SymbolicDomain`: 3 × 3 × 2 × 15 = 270 valid states, 10 skills."""

    variables = SYMBOLIC_VALUES
    default_state = DEFAULT_STATE
    actions = SKILL_SPECS

    def valid(self, state: Mapping[str, Any]) -> bool:
        return valid_symbolic_state(state)

    def holds(self, state: Mapping[str, Any], predicate: str) -> bool:
        return holds(state, predicate)

    def is_noop(self, action: str, state: Mapping[str, Any]) -> bool:
        return SKILL_SPECS[action].is_noop(state)

    def state_of(self, predicates: Mapping[str, bool]) -> dict[str, Any]:
        return symbolic_state(predicates)

    def sample_state(self, rng: np.random.Generator,
                     require: Callable[[Mapping[str, Any]], bool] | None = None) -> dict[str, Any]:
        return sample_symbolic_state(rng, require)


TABLETOP_DOMAIN = TabletopDomain()
"""The tabletop scene's symbolic domain (registered with the scene)."""
