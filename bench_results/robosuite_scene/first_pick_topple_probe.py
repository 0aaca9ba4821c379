"""First-pick topple probe (thirty-first session; ``first_pick_probe.py`` beside it is the twenty-second session's
``pick_can`` probe with the expert's turn): a pick skill's first pick from the full source bin (the scene's reset
layout, every object in the source bin), run through the executor's own ``run_skill`` (``planners/executor.py``), and
whether it knocked a neighbour over (any other object tilted > 30° after the pick). Development layouts only (the
thirty-first session used 20000–20099, which no rule or table reads).

Usage (from the repository root): ``python bench_results/robosuite_scene/first_pick_topple_probe.py FIRST N MODES
[SKILL=LIBRARY:VERSION]`` — ``MODES`` is a comma-separated list of ``e1``, ``e2``, ``e4`` (the learned skill with
that many actions of each chunk executed before predicting again; the shipped skills execute 4) and ``expert`` (the
skill's scripted expert); the skill is the latest ``pick_bread`` in ``assets/skills`` unless one is named.

Measured (``first_pick_topple_probe_s31.txt``, layouts 20000–20099): ``pick_bread`` v0012 (shipped then as v0013 with
its affordance) lifted the bread at 90 of 100 and knocked a neighbour over at 26 (e2: 89/27, e1: 88/25); its expert
100 and 6; the twenty-ninth session's clearance-profile candidate (shipped in the thirty-first session as
v0014/v0015) 95 and 6. On 1000–1049, v0013 knocked a neighbour over at 4 of 50.
"""

import collections
import sys

from chain_probe import load_skills, run_skill  # this directory's skill loader and executor adapter

from skillstack.envs.robosuite_scene import SCENE_OBJECTS, PickPlaceScene, PickPlaceSkillController

TOPPLED_DEG = 30.0
"""A neighbour counts as knocked over when its tilt [deg] exceeds this after the pick (the skill envs' predicate,
``TOPPLE_TILT_DEG``, uses 20°; the thirty-first session's readings were taken at 30°)."""


def main() -> None:
    first, n, modes = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
    name = sys.argv[4].partition("=")[0] if len(sys.argv) > 4 else "pick_bread"
    skill = load_skills((name,), sys.argv[4:])[name]
    env = PickPlaceScene()
    expert = PickPlaceSkillController(name, env=env)
    target = name.split("_", 1)[1]
    print(f"{name} v{skill.version}", flush=True)
    for mode in modes:
        if mode != "expert":
            skill.policy.arch["execute_steps"] = int(mode.removeprefix("e"))
        counts = collections.Counter()
        for seed in range(first, first + n):
            obs, _ = env.reset(seed=seed)
            _, lifted = run_skill(env, obs, skill, expert if mode == "expert" else None)
            toppled = any(env.object_tilt(o) > TOPPLED_DEG for o in SCENE_OBJECTS if o != target)
            counts["lifted"] += lifted
            counts["toppled"] += toppled
            counts["lifted_clean"] += lifted and not toppled
        print(mode, f"layouts {first}-{first + n - 1}", dict(counts), flush=True)


if __name__ == "__main__":
    main()
