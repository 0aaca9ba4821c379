"""Topple trace (twenty-eighth session): ``pick_can`` step by step in the chain bread, can on development layouts.

Usage (from the repository root): ``python bench_results/robosuite_scene/topple_trace.py [pick_can=LIBRARY:VERSION]
SEED [SEED ...]`` (default: the latest ``pick_can`` in ``assets/skills``). For each
seed the learned ``pick_bread`` and ``place_bread`` run through the executor's ``run_skill``, then the learned
``pick_can``; at each of its steps the script records the hand's position, the can's
and the milk carton's, the carton's tilt [deg], the clone's action and the scripted expert's action in the same
observation (what the expert would do in the clone's state). It prints the step at which the carton first tilts
> 3° (``onset``) and the steps around it (every 10th elsewhere). Action: OSC deltas (x, y, z, roll, pitch, yaw) and
the gripper, in [-1, 1]. Run on the five layouts where v0018 toppled the carton in the twenty-sixth session's
probe (1007 1014 1015 1020 1043): ``topple_trace_dev1000_s28.txt`` (v0018) and
``topple_trace_dev1000_s28_binned.txt`` (the binned candidate, this session's v0020).
"""

import sys

import numpy as np

from skillstack.envs.robosuite_scene import PickPlaceScene, PickPlaceSkillController
from skillstack.planners.executor import run_skill
from skillstack.skills.library import SkillLibrary


class Logged:
    """A skill whose every action is recorded beside the expert's."""

    def __init__(self, skill, env, expert) -> None:
        self.skill, self.env, self.expert, self.rows = skill, env, expert, []

    def __getattr__(self, name):
        return getattr(self.skill, name)

    def reset(self) -> None:
        self.skill.reset()

    def predict(self, obs):
        action, env = self.skill.predict(obs), self.env
        self.rows.append(dict(a=np.round(action, 2), e=np.round(self.expert.predict(obs), 2),
                              eef=np.round(obs[env.obs_layout["robot0_eef_pos"]], 3),
                              can=np.round(env.object_pos("can"), 3), milk=np.round(env.object_pos("milk"), 3),
                              tilt=round(env.object_tilt("milk"), 1)))
        return action


def main() -> None:
    library = SkillLibrary("assets/skills")
    env = PickPlaceScene()
    skills = {name: library.load(name) for name in ("pick_bread", "place_bread", "pick_can")}
    args = sys.argv[1:]
    if args and args[0].startswith("pick_can="):
        where, _, version = args.pop(0).removeprefix("pick_can=").rpartition(":")
        skills["pick_can"] = SkillLibrary(where).load("pick_can", int(version))
    print("pick_can", skills["pick_can"].version, skills["pick_can"].policy.kind)
    expert = PickPlaceSkillController("pick_can", env=env)
    for seed in map(int, args):
        obs, _ = env.reset(seed=seed)
        ok = True
        for name in ("pick_bread", "place_bread"):
            obs, execution = run_skill(env, skills[name], obs, affordance=None)
            ok &= execution.success
        logged = Logged(skills["pick_can"], env, expert)
        obs, execution = run_skill(env, logged, obs, affordance=None)
        onset = next((i for i, r in enumerate(logged.rows) if r["tilt"] > 3), None)
        print(f"seed {seed} bread ok {ok} pick_can {execution.success} steps {len(logged.rows)} "
              f"tilt_end {env.object_tilt('milk'):.0f} onset {onset}")
        for i, r in enumerate(logged.rows):
            near = onset is not None and onset - 25 <= i <= onset + 8
            if near or i % 10 == 0:
                print(" ", i, "eef", r["eef"], "can", r["can"], "milk", r["milk"], "tilt", r["tilt"], "a", r["a"],
                      "exp", r["e"])


if __name__ == "__main__":
    main()
