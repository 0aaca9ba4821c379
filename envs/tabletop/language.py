"""The tabletop scene's templated language: sub-goals ("atoms") with their phrasings, and which combine.

Sub-goals (e.g. *put the red block in the drawer*) are phrased with a small fixed vocabulary (the scene's own
nouns and verbs: drawer, window, button, red/blue block, bin; open, close, press, pick up, put) and joined in
order with "and", ", then", "and then" by :func:`skillstack.planners.templates.generate`, which also computes
each instruction's plan. The evaluation suites (``assets/instructions``) use other wording (synonyms such as
"crimson cube" or "wastebasket", casual requests); a test checks that no suite instruction is generated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from skillstack.envs.scenes import Atom, TemplateLanguage
from skillstack.envs.tabletop.domain import BLOCKS, DEFAULT_STATE


def _atoms() -> list[Atom]:
    atoms = [
        Atom("open_drawer", ("open the drawer", "pull the drawer open"), (("drawer_open", True),)),
        Atom("close_drawer", ("close the drawer", "push the drawer closed"), (("drawer_closed", True),),
             (("drawer", "open"),)),
        Atom("open_window", ("open the window", "slide the window open"), (("window_open", True),)),
        Atom("close_window", ("close the window", "slide the window closed"), (("window_closed", True),),
             (("window", "open"),)),
        Atom("press_button", ("press the button", "push the button"), (("button_pressed", True),)),
    ]
    atoms += [
        Atom("both_drawer", ("put both blocks in the drawer", "place both blocks inside the drawer"),
             tuple((f"block_in_drawer({b})", True) for b in BLOCKS)),
        Atom("both_bin", ("put both blocks in the bin", "place both blocks into the bin"),
             tuple((f"block_in_bin({b})", True) for b in BLOCKS)),
    ]
    for b in BLOCKS:
        atoms += [
            Atom(f"pick_{b}", (f"pick up the {b} block", f"grasp the {b} block"), ((f"holding({b})", True),)),
            Atom(f"{b}_drawer", (f"put the {b} block in the drawer", f"place the {b} block inside the drawer"),
                 ((f"block_in_drawer({b})", True),)),
            Atom(f"{b}_bin", (f"put the {b} block in the bin", f"place the {b} block into the bin"),
                 ((f"block_in_bin({b})", True),)),
        ]
    return atoms


ATOMS: tuple[Atom, ...] = tuple(_atoms())
JOINERS = (" and ", ", then ", " and then ")


def compatible(seq: Sequence[Atom]) -> bool:
    """One goal per block; holding a block only as the final goal; not both open and close of one thing."""
    keys = [a.key for a in seq]
    blocks_used = [b for k in keys for b in (BLOCKS if k.startswith("both_") else [k.split("_")[0]]) if b in BLOCKS]
    if len(set(blocks_used)) != len(blocks_used):  # one goal per block
        return False
    if any(k.startswith("pick_") for k in keys[:-1]):  # holding is only a final goal
        return False
    # one of open/close per thing
    return all(not (f"open_{thing}" in keys and f"close_{thing}" in keys) for thing in ("drawer", "window"))


def initial_state(seq: Sequence[Atom]) -> dict[str, Any]:
    """Start state of an atom sequence: "close X" starts with X open unless an earlier atom opens X anyway."""
    initial = dict(DEFAULT_STATE)
    for i, a in enumerate(seq):
        thing = a.key.removeprefix("close_") if a.key.startswith("close_") else None
        touched = any(b.key == f"open_{thing}" or b.key.endswith(f"_{thing}") for b in seq[:i])
        if not touched:
            initial.update(dict(a.needs))
    return initial


TABLETOP_LANGUAGE = TemplateLanguage(atoms=ATOMS, joiners=JOINERS, compatible=compatible, initial_state=initial_state)
"""The tabletop scene's templated language (registered with the scene)."""
