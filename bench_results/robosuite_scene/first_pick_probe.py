"""First-pick probe (twenty-second session): the first ``pick_can`` of a plan, from the scene's initial layout (all
four objects in the source bin, the arm at its ready pose), for the scripted pick expert or a library policy, on
development layouts (seeds 1000, 1001, ...; never a held-out set).

Usage: ``python first_pick_probe.py expert N`` or ``python first_pick_probe.py LIBRARY VERSION N``

Success: ``lifted(can)`` within the skill's 120 steps with every other object that stood at the start still standing
(tilt ≤ ``TOPPLE_TILT_DEG``), the ``pick_can-v2`` predicate. Also printed: in how many layouts the expert turns the hand
(grasp yaw clear of the neighbours, ``robosuite_control.clear_grasp_yaw_error``: the summed yaw command of its first 15
steps exceeds 1 in magnitude), and the policy's success and turn direction there. Measured (50 layouts): expert 48,
v0015 34, the 600-demonstration candidate 37, v0016 41 (docs/results/robosuite.md, twenty-second session).
"""

import sys

import numpy as np

from skillstack.envs.robosuite_scene import SCENE_OBJECTS, TOPPLE_TILT_DEG, PickPlaceScene, PickPlaceSkillController
from skillstack.skills.library import SkillLibrary

SKILL_ENV = "robosuite-pickplace/pick_can-v1"  # begin_skill: the ready move and the vertical hold of a -v1+ pick


def run(env: PickPlaceScene, policy, reset, seed: int) -> tuple[bool, float]:
    """One first pick, run as the executor runs a skill (:meth:`PickPlaceScene.run_policy`: the ready move, then the
    policy until ``lifted(can)`` or 120 steps); returns (success, summed yaw command of the first 15 steps)."""
    obs, _ = env.reset(seed=seed)
    reset()
    standing = [o for o in SCENE_OBJECTS if o != "can" and env.object_tilt(o) <= TOPPLE_TILT_DEG]
    start, yaw = env.read_predicates(), []

    def recorded(o):
        action = policy(o)
        yaw.append(float(action[5]))
        return action

    env.run_policy(obs, recorded, SKILL_ENV, 120)
    lifted = env.skill_succeeded(SKILL_ENV, start, env.read_predicates())
    return lifted and all(env.object_tilt(o) <= TOPPLE_TILT_DEG for o in standing), sum(yaw[:15])


def main() -> None:
    env = PickPlaceScene()
    expert = PickPlaceSkillController("pick_can", env=env)
    is_expert = sys.argv[1] == "expert"
    if is_expert:
        policy, reset, n = expert.predict, (lambda: None), int(sys.argv[2])
    else:
        skill = SkillLibrary(sys.argv[1]).load("pick_can", int(sys.argv[2]))
        policy, reset, n = skill.predict, skill.reset, int(sys.argv[3])
    seeds = range(1000, 1000 + n)
    rows = {s: run(env, policy, reset, s) for s in seeds}
    expert_turn = {s: (rows[s] if is_expert else run(env, expert.predict, lambda: None, s))[1] for s in seeds}
    turning = [s for s in seeds if abs(expert_turn[s]) > 1.0]
    same_way = sum(abs(rows[s][1]) > 1.0 and np.sign(rows[s][1]) == np.sign(expert_turn[s]) for s in turning)
    print(f"success {sum(ok for ok, _ in rows.values())}/{n}; the expert turns in {len(turning)} layouts: success "
          f"there {sum(rows[s][0] for s in turning)}, turned its way {same_way}; elsewhere success "
          f"{sum(rows[s][0] for s in seeds if s not in turning)}/{n - len(turning)}")


if __name__ == "__main__":
    main()
