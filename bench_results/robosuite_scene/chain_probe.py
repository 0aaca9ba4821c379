"""Chain probe (twenty-third session): the reference plan's first three skills, ``pick_can``, ``place_can``,
``pick_milk``, run as the executor runs them (:meth:`PickPlaceScene.run_policy`), on development layouts (seeds
1000, 1001, ...; never a held-out set). For every chain that reaches ``pick_milk`` it prints the other objects' tilt
[deg] at that moment and whether the milk was lifted; where a learned skill fails, the chain is run again (it is
deterministic) with the scripted expert of that skill in its place, to tell a clone's failure from a state its expert
cannot handle either.

Usage: ``python chain_probe.py FIRST_SEED N [LIBRARY VERSION]`` — the optional pair names the ``pick_milk`` to probe
(default: the latest in ``assets/skills``); ``pick_can`` and ``place_can`` are always the shipped ones.

Measured (1000–1049, with ``place_can`` v0012, shipped then): ``pick_can`` failed in 5 chains and ``place_can`` in
2, and the expert succeeded from all 7 of those states; ``pick_milk`` v0014 lifted the milk in 38 of the 43 chains
that reached it, and the expert in 4 of the 5 others; the 2 000-demonstration ``pick_milk`` candidate (not shipped)
in 40 of 43 (README, robosuite scene, twenty-third session).
"""

import sys

from skillstack.envs.robosuite_scene import SCENE_OBJECTS, SKILL_MAX_STEPS, PickPlaceScene, PickPlaceSkillController
from skillstack.skills.library import SkillLibrary


def run_skill(env: PickPlaceScene, obs, skill, policy=None):
    """Run one library skill (or ``policy`` in its place) as the executor does (:meth:`PickPlaceScene.run_policy`);
    returns (observation, whether its success predicate holds)."""
    skill.reset()
    start = env.read_predicates()
    obs = env.run_policy(obs, policy or skill.predict, skill.env_id, SKILL_MAX_STEPS[skill.name.split("_")[0]])
    return obs, env.skill_succeeded(skill.env_id, start, env.read_predicates())


def main() -> None:
    first, n = int(sys.argv[1]), int(sys.argv[2])
    shipped = SkillLibrary("assets/skills")
    skills = {name: shipped.load(name) for name in ("pick_can", "place_can")}
    skills["pick_milk"] = (SkillLibrary(sys.argv[3]).load("pick_milk", int(sys.argv[4])) if len(sys.argv) > 4
                           else shipped.load("pick_milk"))
    env = PickPlaceScene()
    experts = {name: PickPlaceSkillController(name, env=env) for name in skills}

    def chain(seed: int, expert_for: str | None = None) -> tuple[str, dict[str, float]]:
        obs, _ = env.reset(seed=seed)
        tilt: dict[str, float] = {}
        for name in ("pick_can", "place_can", "pick_milk"):
            if name == "pick_milk":
                tilt = {o: round(env.object_tilt(o), 1) for o in SCENE_OBJECTS if o != "can"}
            obs, ok = run_skill(env, obs, skills[name], experts[name].predict if name == expert_for else None)
            if not ok:
                return name, tilt
        return "ok", tilt

    failed = dict.fromkeys(skills, 0)
    expert_ok = dict.fromkeys(skills, 0)
    reached = 0
    for seed in range(first, first + n):
        outcome, tilt = chain(seed)
        reached += bool(tilt)
        row = f"{seed} {outcome} tilt {tilt}"
        if outcome != "ok":
            failed[outcome] += 1
            # the expert gets past the failed skill if the rerun fails later or not at all
            rerun = chain(seed, outcome)[0]
            passed = rerun == "ok" or list(skills).index(rerun) > list(skills).index(outcome)
            expert_ok[outcome] += passed
            row += f" expert {'succeeds' if passed else 'fails'}"
        print(row, flush=True)
    print(f"first failures {failed}; the expert succeeded in {expert_ok} of them; pick_milk lifted the milk in "
          f"{reached - failed['pick_milk']}/{reached} chains that reached it")


if __name__ == "__main__":
    main()
