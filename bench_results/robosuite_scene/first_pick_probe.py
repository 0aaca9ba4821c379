"""First-pick probe (twenty-second session): the first ``pick_can`` of a plan, from the scene's initial layout (all
four objects in the source bin, the arm at its ready pose), for the scripted pick expert or a library policy, on
development layouts (seeds 1000, 1001, ...; never a held-out set).

Usage: ``python first_pick_probe.py expert N`` or ``python first_pick_probe.py LIBRARY VERSION N``

Success: ``lifted(can)`` within the skill's 120 steps with every other object that stood at the start still standing
(tilt ≤ ``TOPPLE_TILT_DEG``), the ``pick_can-v2`` predicate. Also printed: in how many layouts the expert turns the hand
(grasp yaw clear of the neighbours, ``robosuite_control.clear_grasp_yaw_error``: the summed yaw command of its first 15
steps exceeds 1 in magnitude), and the policy's success and turn direction there. Measured (50 layouts): expert 48,
v0015 34, the 600-demonstration candidate 37, v0016 41 (README, robosuite scene, twenty-second session).
"""

import sys

import numpy as np

from skillstack.envs.robosuite_scene import SCENE_OBJECTS, TOPPLE_TILT_DEG, PickPlaceScene, PickPlaceSkillController
from skillstack.skills.library import SkillLibrary

SKILL_ENV = "robosuite-pickplace/pick_can-v1"  # begin_skill: the ready move and the vertical hold of a -v1+ pick


def run(env: PickPlaceScene, policy, reset, seed: int) -> tuple[bool, float]:
    """One first pick; returns (success, summed yaw command of the first 15 steps)."""
    obs, _ = env.reset(seed=seed)
    reset()
    standing = [o for o in SCENE_OBJECTS if o != "can" and env.object_tilt(o) <= TOPPLE_TILT_DEG]
    moved = env.begin_skill(SKILL_ENV)
    obs = obs if moved is None else moved
    start, turn, lifted = env.read_predicates(), 0.0, False
    for t in range(120):
        action = policy(obs)
        turn += float(action[5]) if t < 15 else 0.0
        obs = env._raw_step(action)
        if env.skill_succeeded(SKILL_ENV, start, env.read_predicates()):
            lifted = True
            break
    return lifted and all(env.object_tilt(o) <= TOPPLE_TILT_DEG for o in standing), turn


def main() -> None:
    env = PickPlaceScene()
    expert = PickPlaceSkillController("pick_can", env=env)
    if sys.argv[1] == "expert":
        policy, reset, n = expert.predict, (lambda: None), int(sys.argv[2])
    else:
        skill = SkillLibrary(sys.argv[1]).load("pick_can", int(sys.argv[2]))
        policy, reset, n = skill.predict, skill.reset, int(sys.argv[3])
    seeds = range(1000, 1000 + n)
    expert_turn = {s: run(env, expert.predict, lambda: None, s)[1] for s in seeds} if policy is not expert.predict \
        else None
    rows = {s: run(env, policy, reset, s) for s in seeds}
    expert_turn = expert_turn or {s: rows[s][1] for s in seeds}
    turning = [s for s in seeds if abs(expert_turn[s]) > 1.0]
    same_way = sum(abs(rows[s][1]) > 1.0 and np.sign(rows[s][1]) == np.sign(expert_turn[s]) for s in turning)
    print(f"success {sum(ok for ok, _ in rows.values())}/{n}; the expert turns in {len(turning)} layouts: success "
          f"there {sum(rows[s][0] for s in turning)}, turned its way {same_way}; elsewhere success "
          f"{sum(rows[s][0] for s in seeds if s not in turning)}/{n - len(turning)}")


if __name__ == "__main__":
    main()
