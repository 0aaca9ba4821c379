"""Named long-horizon tasks of the tabletop scene (the instruction suites under ``assets/instructions`` add more)."""

from __future__ import annotations

from skillstack.envs.registry import Registry
from skillstack.envs.scenes import Task

TASKS: Registry[Task] = Registry("tabletop task")
"""Built-in long-horizon tasks of the tabletop scene (start: the domain's default state)."""

for _t in (
    Task("red_block_in_drawer", "put the red block in the drawer and close it",
         {"block_in_drawer(red)": True, "drawer_closed": True}),
    Task("blue_block_in_drawer", "put the blue block in the drawer and close it",
         {"block_in_drawer(blue)": True, "drawer_closed": True}),
    Task("blocks_in_bin", "put both blocks in the bin",
         {"block_in_bin(red)": True, "block_in_bin(blue)": True}),
    Task("open_everything", "open the drawer and the window",
         {"drawer_open": True, "window_open": True}),
    Task("press_then_bin", "press the button, then put the red block in the bin",
         {"button_pressed": True, "block_in_bin(red)": True}),
    Task("tidy_up", "put the red block in the drawer, the blue block in the bin, and close the drawer",
         {"block_in_drawer(red)": True, "block_in_bin(blue)": True, "drawer_closed": True}),
):
    TASKS.register(_t.name, _t)
del _t
