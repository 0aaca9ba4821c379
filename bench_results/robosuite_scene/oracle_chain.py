"""Reference: the scripted oracles (not the cloned skills) run the can-and-milk plan in the robosuite scene.

Each skill runs through the executor's ``run_skill`` (``begin_skill``: the ready move and the vertical hold before
picks; until its success predicate holds, its step cap or a sim fault); the plan stops at the first failed skill.
It bounds what cloning these oracles can reach on the same layouts.

Usage (from the repository root; ≈ 10 min per 50 layouts on one core)::

    python3 bench_results/robosuite_scene/oracle_chain.py --seed 2000 -n 50 \
        --json bench_results/robosuite_scene/oracle_chain_can_milk.json
    python3 bench_results/robosuite_scene/oracle_chain.py --seed 1000 -n 20 --task all \
        --plan pick_bread,place_bread,pick_cereal,place_cereal,pick_milk,place_milk,pick_can,place_can \
        --json bench_results/robosuite_scene/oracle_chain_all_dev.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillstack.envs import make_env
from skillstack.envs.robosuite_scene import SCENE_ENV_ID, SKILL_MAX_STEPS, SKILL_PREFIX, PickPlaceSkillController
from skillstack.planners.executor import run_skill
from skillstack.skills.evaluate import wilson_interval

PLAN = ("pick_can", "place_can", "pick_milk", "place_milk")


@dataclass
class OracleSkill:
    """The scripted controller of one scene skill, shaped like a library skill for the executor's ``run_skill``."""

    name: str
    env_id: str
    max_steps: int
    oracle: Any

    def predict(self, obs: Any) -> Any:
        return self.oracle.predict(obs)

    def reset(self) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2000, help="first layout seed")
    ap.add_argument("-n", type=int, default=50, help="number of layouts")
    ap.add_argument("--json", type=Path, required=True, help="output file")
    ap.add_argument("--plan", default=",".join(PLAN), help="comma-separated skills, run in this order")
    ap.add_argument("--task", default="can_milk", help="scene task (its goal is the episode's success)")
    args = ap.parse_args()
    plan = tuple(args.plan.split(","))
    env = make_env(SCENE_ENV_ID, task=args.task).unwrapped
    failed_at = {s: 0 for s in plan}
    ran = {s: 0 for s in plan}
    episodes = []
    for seed in range(args.seed, args.seed + args.n):
        obs, _ = env.reset(seed=seed)
        failed = None
        for skill in plan:
            executor_skill = OracleSkill(skill, f"{SKILL_PREFIX}{skill}-v1", SKILL_MAX_STEPS[skill.partition("_")[0]],
                                         PickPlaceSkillController(skill, env=env))
            ran[skill] += 1
            obs, execution = run_skill(env, executor_skill, obs, affordance=None)
            if not execution.success:
                failed = skill
                failed_at[skill] += 1
                break
        episodes.append({"seed": seed, "success": failed is None, "failed_skill": failed})
        print(seed, "success" if failed is None else f"failed at {failed}", flush=True)
    env.close()
    k = sum(e["success"] for e in episodes)
    lo, hi = wilson_interval(k, args.n)
    out = {"plan": list(plan), "task": args.task, "skills": "scripted oracles",
           "seeds": f"{args.seed}..{args.seed + args.n - 1}",
           "success_rate": k / args.n, "success_ci95": [lo, hi], "ran": ran, "failed_at": failed_at,
           "episodes": episodes}
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(f"plan success {k}/{args.n} = {k / args.n:.2f} (95% CI {lo:.2f}-{hi:.2f}) → {args.json}")


if __name__ == "__main__":
    main()
