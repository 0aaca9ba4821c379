"""GMM mode probe (twenty-seventh session): does the cloned ``pick_can`` topple the milk carton when its mixture head
switches components? Development layouts only (seeds 1000, 1001, ...; never a held-out set).

Each layout runs the plan of SayCan without affordances up to the can: ``pick_bread``, ``place_bread``, then
``pick_can`` — every skill through the executor's own ``run_skill`` (``planners/executor.py``), as ``chain_probe.py``.
While ``pick_can`` runs, every chunk its policy plans is recorded with the mixture weights (softmax of the head's
logits, :class:`~skillstack.skills.networks.GMMActor`); the policy acts on the most probable component's mean. For
each layout that lifts the can with the carton standing before, it prints whether the carton went over (> 20°), the
number of chunks, the smallest top weight and the number of times the most probable component changed.

Usage: ``python gmm_mode_probe.py FIRST_SEED N [LIBRARY:VERSION]`` — the ``pick_can`` to probe (default: the latest in
``assets/skills``); run from the repository root.
"""

import sys

import numpy as np
import torch

from skillstack.envs.robosuite_scene import PickPlaceScene
from skillstack.planners.executor import run_skill
from skillstack.skills.library import SkillLibrary

TOPPLED_DEG = 20.0


def main() -> None:
    first, n = int(sys.argv[1]), int(sys.argv[2])
    shipped = SkillLibrary("assets/skills")
    skills = {name: shipped.load(name) for name in ("pick_bread", "place_bread", "pick_can")}
    if len(sys.argv) > 3:
        library, _, version = sys.argv[3].rpartition(":")
        skills["pick_can"] = SkillLibrary(library).load("pick_can", int(version))
    policy = skills["pick_can"].policy
    plain = policy.forward_chunk
    weights: list[np.ndarray] = []

    def recorded(obs: torch.Tensor) -> torch.Tensor:
        _, _, logits = policy._heads(obs)
        weights.append(torch.softmax(logits, -1)[0].detach().numpy())
        return plain(obs)

    policy.forward_chunk = recorded
    print({name: skill.version for name, skill in skills.items()}, flush=True)
    env = PickPlaceScene()
    rows = {True: [], False: []}
    for seed in range(first, first + n):
        obs, _ = env.reset(seed=seed)
        ok = True
        for name in ("pick_bread", "place_bread"):
            obs, execution = run_skill(env, skills[name], obs, affordance=None)
            ok = ok and execution.success
        if not ok or env.object_tilt("milk") > TOPPLED_DEG:
            print(f"{seed} skipped (bread not placed or carton already down)", flush=True)
            continue
        weights.clear()
        obs, execution = run_skill(env, skills["pick_can"], obs, affordance=None)
        if not execution.success:
            print(f"{seed} pick_can failed", flush=True)
            continue
        toppled = env.object_tilt("milk") > TOPPLED_DEG
        w = np.array(weights)
        top = w.argmax(-1)
        switches = int((top[1:] != top[:-1]).sum())
        rows[toppled].append((w.max(-1).min(), switches))
        print(f"{seed} toppled={toppled} chunks={len(w)} min_top_weight={w.max(-1).min():.2f} switches={switches} "
              f"components={top.tolist()}", flush=True)
    for toppled, r in rows.items():
        if r:
            a = np.array(r)
            print(f"toppled={toppled}: {len(r)} lifts, median smallest top weight {np.median(a[:, 0]):.2f}, "
                  f"mean switches {a[:, 1].mean():.2f}, lifts with a switch {(a[:, 1] > 0).sum()}/{len(r)}")


if __name__ == "__main__":
    main()
