"""Staging probe (twenty-sixth session): a pick skill's success in its ``-v2`` env (a lift counts only with every
other object left standing) when the other objects drawn to start in their bins are teleported there
(``stage_others="teleport"``, every pick env so far) against put there by the expert's pick and place
(``"expert"``, as ``place_cereal-v7``), on development seeds (5000, 5001, ...; never a held-out set), split by how
many others start in their bins (``k``). Starts whose precondition fails are skipped.

Usage (repository root): ``python bench_results/robosuite_scene/stage_probe.py SKILL ENV_VERSION N SEED0
[OTHERS_IN_BIN]``; the last line printed is JSON.

Measured (80 seeds from 5000, others in their bins with probability 1/2, shipped library): ``pick_can`` v0019 77/80
teleported, 74/79 expert-placed; ``pick_milk`` v0014 75/80, 74/80; ``pick_cereal`` v0006 71/80, 67/80
(``stage_probe_dev5000_s26.jsonl``). Unlike ``place_cereal`` v0007 (40/40 against 43/57), the picks do not depend
on how their neighbours were placed (docs/results/robosuite.md, twenty-sixth session).
"""

import collections
import json
import sys

from skillstack.envs import make_env
from skillstack.envs.robosuite_scene import SCENE_OBJECTS
from skillstack.skills.library import SkillLibrary


def probe(policy, env_id: str, mode: str, seeds: range, others_in_bin: float) -> dict[str, list[int]]:
    """``{"all": [successes, starts], "k=<n>": [...]}`` over the applicable starts of ``seeds``."""
    env = make_env(env_id, stage_others=mode, others_in_bin=others_in_bin)
    obj = env.unwrapped.obj
    by_k: dict[int, list[int]] = collections.defaultdict(lambda: [0, 0])
    for seed in seeds:
        obs, info = env.reset(seed=seed)
        if not info["applicable"]:
            continue
        k = sum(info["predicates"][f"in_bin({o})"] for o in SCENE_OBJECTS if o != obj)
        policy.reset()
        success = False
        while True:
            obs, _, terminated, truncated, info = env.step(policy(obs))
            success = success or bool(info.get("success"))
            if terminated or truncated:
                break
        by_k[k][0] += success
        by_k[k][1] += 1
    env.close()
    total = [sum(v[0] for v in by_k.values()), sum(v[1] for v in by_k.values())]
    return {"all": total, **{f"k={k}": v for k, v in sorted(by_k.items())}}


def main() -> None:
    skill, version, n, seed0 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    others_in_bin = float(sys.argv[5]) if len(sys.argv) > 5 else 0.5
    policy = SkillLibrary("assets/skills").load(skill)
    out = {}
    for mode in ("teleport", "expert"):
        out[mode] = probe(policy, f"robosuite-pickplace/{skill}-{version}", mode, range(seed0, seed0 + n),
                          others_in_bin)
        print(skill, version, mode, out[mode], flush=True)
    print(json.dumps({"skill": skill, "version": policy.version, "env": version, "seeds": [seed0, seed0 + n - 1],
                      "others_in_bin": others_in_bin, **out}))


if __name__ == "__main__":
    main()
