"""Hand-over yaw probe (twenty-third session): how often ``place_can`` receives the can with the hand turned about
the vertical (the pick expert's clearance yaw, which ``pick_can`` v0016 reproduces), inside a plan and in a place
env's starts, and how the place fares there. Development layouts only (seeds 1000, 1001, ...; never a held-out set).

Usage:
    ``python handover_yaw_probe.py chain FIRST_SEED N [LIBRARY VERSION]`` — the shipped ``pick_can`` from the scene's
    first layout (all four objects in the source bin), then ``place_can`` (default: the latest in ``assets/skills``;
    or the given library version), as the executor runs them; prints the hand's yaw [deg] at the hand-over and
    whether the can reached its bin.
    ``python handover_yaw_probe.py env ENV_ID FIRST_SEED N`` — the hand's yaw at the start of a place env's episodes.

Turned: |yaw| > 25° (the ready pose reads within ±6°). Measured: in the chain on 1000–1099 the pick failed in 9
layouts and turned the hand in 39 of the other 91; ``place_can`` v0012 placed the can in 31 of those 39 and 51 of the
other 52, the ``-v5`` clone (v0013) in 39 and 51; the hand was turned at 6 of the 100 starts 0–99 of
``place_can-v4`` and at 16 of ``place_can-v5``'s (docs/results/robosuite.md, twenty-third session).
"""

import sys

import numpy as np
from chain_probe import run_skill  # this directory's chain probe: a skill run as the executor runs it

from skillstack.envs.make import make_env
from skillstack.envs.robosuite_scene import PickPlaceScene, _scene_info
from skillstack.skills.library import SkillLibrary

TURNED_DEG = 25.0


def hand_yaw(obs: np.ndarray) -> float:
    """Yaw [deg] of the hand about the world's vertical, from the observation's ``robot0_eef_quat`` (x, y, z, w)."""
    x, y, z, w = obs[_scene_info()[0]["robot0_eef_quat"]]
    return float(np.degrees(np.arctan2(2 * (x * y + z * w), 1 - 2 * (y * y + z * z))))


def main() -> None:
    if sys.argv[1] == "env":
        env, first, n = make_env(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        turned = 0
        for seed in range(first, first + n):
            obs, info = env.reset(seed=seed)
            turned += abs(hand_yaw(obs)) > TURNED_DEG
            print(seed, "held" if info["applicable"] else "not held", round(hand_yaw(obs), 1), flush=True)
        print(f"turned at {turned} of {n} starts")
        return
    first, n = int(sys.argv[2]), int(sys.argv[3])
    shipped = SkillLibrary("assets/skills")
    pick = shipped.load("pick_can")
    place = SkillLibrary(sys.argv[4]).load("place_can", int(sys.argv[5])) if len(sys.argv) > 5 \
        else shipped.load("place_can")
    env = PickPlaceScene()
    placed = {True: [0, 0], False: [0, 0]}  # turned → [placed, hand-overs]
    for seed in range(first, first + n):
        obs, _ = env.reset(seed=seed)
        obs, ok = run_skill(env, obs, pick)
        if not ok:
            print(seed, "pick failed", flush=True)
            continue
        yaw = hand_yaw(obs)
        _, ok = run_skill(env, obs, place)
        turned = abs(yaw) > TURNED_DEG
        placed[turned][0] += ok
        placed[turned][1] += 1
        print(seed, "placed" if ok else "not placed", "hand-over yaw", round(yaw, 1), flush=True)
    print(f"turned hand-overs: placed {placed[True][0]}/{placed[True][1]}; the others: "
          f"{placed[False][0]}/{placed[False][1]}")


if __name__ == "__main__":
    main()
