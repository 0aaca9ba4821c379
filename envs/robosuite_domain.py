"""The robosuite PickPlace scene's symbolic domain: where each object is, and the pick / place skills' preconditions
and effects (pure logic, no physics; no robosuite import).

Each object ``o`` of :data:`SCENE_OBJECTS` is one state variable with values ``"out"`` (not held and not in its
bin: in the left bin where it started, or wherever a failed skill dropped it), ``"hand"`` (held) and ``"bin"`` (in
its quarter of the right bin). ``pick_<o>`` needs an empty hand and ``o`` out, and puts ``o`` in the hand;
``place_<o>`` needs ``o`` in the hand and puts it in its bin. With four objects: 3⁴ = 81 assignments, 48 valid (at
most one object held), 8 skills.

Reading the scene's predicates (:meth:`PickPlaceDomain.state_of`): ``in_bin(o)`` → ``"bin"``, else ``holding(o)``
→ ``"hand"`` (held, lifted or not: a place can start from a low grasp), else ``"out"``. ``in_bin`` comes first
because robosuite's per-object success only needs the gripper more than 4.2 cm from the object's centre, which a
tall carton still pinched near its top satisfies: a place ends (its success predicate fires) with the milk in its
bin and the fingers still on it, and reading that as "in the hand" made the oracle place it again, a no-op, then
give up. In a discrete state ``lifted(o)`` is read as ``holding(o)`` (a successful pick ends lifted).

The oracle planner searches this domain from the state read after every skill, so inside the closed loop it is
the symbolic reference plan with replanning: a failed pick is picked again, an object a failed place dropped is
picked up again from where it lies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from skillstack.envs.scenes import Atom, TemplateLanguage

SCENE_OBJECTS: tuple[str, ...] = ("milk", "bread", "cereal", "can")
"""Objects of the scene, in robosuite's order (object ``i`` belongs to quarter ``i`` of the right bin)."""
OBJECT_TEXT = {"milk": "the milk carton", "bread": "the bread", "cereal": "the cereal box", "can": "the can"}
"""How skill descriptions and instructions name each object."""
PLACES: tuple[str, ...] = ("out", "hand", "bin")
"""Values of each object's state variable (module docstring)."""


@dataclass(frozen=True)
class PickPlaceAction:
    """One skill of the scene as a symbolic action (:class:`~skillstack.envs.scenes.SymbolicAction`).

    Attributes:
        name: ``pick_<o>`` or ``place_<o>``.
        description: its language description, e.g. ``"pick up the can"``.
        kind: ``"pick"`` or ``"place"``.
        obj: the object.
        preconditions: human-readable preconditions (encoded in :meth:`applicable`).
        effects: human-readable effects (encoded in :meth:`apply`).
    """

    name: str
    description: str
    kind: str
    obj: str
    preconditions: tuple[str, ...]
    effects: tuple[str, ...]

    def applicable(self, state: Mapping[str, Any]) -> bool:
        """Whether the preconditions hold in discrete state ``state``."""
        if self.kind == "pick":
            return state[self.obj] == "out" and all(state[o] != "hand" for o in SCENE_OBJECTS)
        return state[self.obj] == "hand"

    def apply(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Discrete state after a successful execution from ``state``.

        Raises:
            ValueError: the preconditions do not hold in ``state``.
        """
        if not self.applicable(state):
            raise ValueError(f"{self.name}: preconditions {self.preconditions} do not hold in {dict(state)}")
        return {**state, self.obj: "hand" if self.kind == "pick" else "bin"}

    def is_noop(self, state: Mapping[str, Any]) -> bool:
        """The success predicate already holds: picking the object in the hand, placing the object in its bin."""
        return state[self.obj] == ("hand" if self.kind == "pick" else "bin")


def _description(kind: str, obj: str) -> str:
    return f"pick up {OBJECT_TEXT[obj]}" if kind == "pick" else f"put {OBJECT_TEXT[obj]} in its bin"


def _actions() -> dict[str, PickPlaceAction]:
    out: dict[str, PickPlaceAction] = {}
    for o in SCENE_OBJECTS:
        out[f"pick_{o}"] = PickPlaceAction(f"pick_{o}", _description("pick", o), "pick", o,
                                           ("hand_empty", f"not in_bin({o})"), (f"holding({o})", f"lifted({o})"))
        out[f"place_{o}"] = PickPlaceAction(f"place_{o}", _description("place", o), "place", o,
                                            (f"holding({o})",), (f"in_bin({o})", "hand_empty"))
    return out


ACTIONS: dict[str, PickPlaceAction] = _actions()
"""The scene's 8 skills as symbolic actions, by name (pick then place for each object, robosuite's order)."""


class PickPlaceDomain:
    """The PickPlace scene's :class:`~skillstack.envs.scenes.SymbolicDomain` (module docstring): 48 valid states,
    8 skills."""

    variables: Mapping[str, tuple[Any, ...]] = {o: PLACES for o in SCENE_OBJECTS}
    default_state: Mapping[str, Any] = {o: "out" for o in SCENE_OBJECTS}
    actions: Mapping[str, PickPlaceAction] = ACTIONS

    def valid(self, state: Mapping[str, Any]) -> bool:
        """Every object has a legal place and at most one is held."""
        if set(state) != set(SCENE_OBJECTS) or any(state[o] not in PLACES for o in SCENE_OBJECTS):
            return False
        return sum(state[o] == "hand" for o in SCENE_OBJECTS) <= 1

    def holds(self, state: Mapping[str, Any], predicate: str) -> bool:
        """Truth of a grounded predicate (``holding(o)``, ``lifted(o)``, ``in_bin(o)``, ``hand_empty``).

        Raises:
            KeyError: unknown predicate.
        """
        if predicate == "hand_empty":
            return all(state[o] != "hand" for o in SCENE_OBJECTS)
        for o in SCENE_OBJECTS:
            if predicate in (f"holding({o})", f"lifted({o})"):
                return state[o] == "hand"
            if predicate == f"in_bin({o})":
                return state[o] == "bin"
        raise KeyError(f"unknown predicate {predicate!r}")

    def is_noop(self, action: str, state: Mapping[str, Any]) -> bool:
        return ACTIONS[action].is_noop(state)

    def state_of(self, predicates: Mapping[str, bool]) -> dict[str, Any]:
        """The discrete state read from the scene's predicates (module docstring)."""
        return {o: "bin" if predicates[f"in_bin({o})"] else ("hand" if predicates[f"holding({o})"] else "out")
                for o in SCENE_OBJECTS}

    def sample_state(self, rng: np.random.Generator,
                     require: Callable[[Mapping[str, Any]], bool] | None = None,
                     max_tries: int = 10_000) -> dict[str, Any]:
        """A uniformly drawn valid state (rejection sampling), optionally satisfying ``require``.

        Raises:
            RuntimeError: no state satisfying ``require`` in ``max_tries`` draws.
        """
        for _ in range(max_tries):
            state = {o: PLACES[int(rng.integers(len(PLACES)))] for o in SCENE_OBJECTS}
            if self.valid(state) and (require is None or require(state)):
                return state
        raise RuntimeError("no symbolic state satisfies the requirement")


PICKPLACE_DOMAIN = PickPlaceDomain()
"""The robosuite PickPlace scene's symbolic domain (registered with the scene)."""


# ------------------------------------------------------------------------------------------ templated language
def _language_atoms() -> tuple[Atom, ...]:
    atoms = []
    for o in SCENE_OBJECTS:
        t = OBJECT_TEXT[o]
        atoms.append(Atom(f"{o}_bin", (f"place {t} in its bin", f"move {t} into its bin"), ((f"in_bin({o})", True),)))
        atoms.append(Atom(f"pick_{o}", (f"pick up {t}", f"grasp {t}"), ((f"holding({o})", True),)))
    atoms.append(Atom("all_bin", ("place all the objects in their bins", "move each object into its bin"),
                      tuple((f"in_bin({o})", True) for o in SCENE_OBJECTS)))
    return tuple(atoms)


def _language_compatible(seq: Sequence[Atom]) -> bool:
    """One goal per object ("all" alone); holding an object only as a goal of its own (an exemplar that ends
    holding after placing others would teach "done" right after a pick)."""
    keys = [a.key for a in seq]
    if len(keys) > 1 and any(k == "all_bin" or k.startswith("pick_") for k in keys):
        return False
    objs = [k.removeprefix("pick_").removesuffix("_bin") for k in keys]
    return len(set(objs)) == len(objs)


PICKPLACE_LANGUAGE = TemplateLanguage(
    atoms=_language_atoms(), joiners=(" and ", ", then ", " and then "), compatible=_language_compatible,
    initial_state=lambda seq: dict(PICKPLACE_DOMAIN.default_state), any_order=True, parseable=False)
"""The scene's templated language (the embedding scorer's exemplar bank; registered with the scene): per object
*place X in its bin* and *pick up X* (only as a sub-goal of its own), and *place all the objects in their bins*,
whose exemplars in the embedding scorer's bank show every order of the objects (``any_order``: a plan's history
can start with any object). Not read by the goal-parsing planner or corrections (``parseable=False``: the parser
misreads "put the can and the milk carton in their bins" as the milk alone). The
phrasings differ from every instruction of the scene's named tasks (tested), so no task the benchmarks run is an
exemplar."""
