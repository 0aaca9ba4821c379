"""Chain probe (twenty-third session): the reference plan ``pick_can``, ``place_can``, ``pick_milk``, ``place_milk``,
run through the executor's own ``run_skill`` (``planners/executor.py``), on development layouts (seeds 1000, 1001,
...; never a held-out set). For every chain that reaches ``pick_milk`` it prints the other objects' tilt [deg] at
that moment (and the milk's right after ``pick_can``) and whether the milk was lifted; where a learned skill fails,
the chain is run again (it is deterministic) with the scripted expert of that skill in its place, to tell a clone's
failure from a state its expert cannot handle either.

Usage: ``python chain_probe.py FIRST_SEED N [order=O1,O2,...] [expert=S1,...] [expert_yaw=S1,...]
[SKILL=LIBRARY:VERSION ...]`` — ``order`` sets the objects picked and placed in turn (default ``can,milk``;
twenty-sixth session: ``bread,can,milk,cereal``, the order of SayCan without affordances on all four, prints every
object's tilt before each pick); each pair names a skill of the chain to probe from another library (default: the
latest in ``assets/skills``); ``expert=S1,S2`` runs those skills' scripted experts in every chain (twenty-sixth
session: does a later learned skill fail less after the expert's bread pick and place than after the learned ones?);
``expert_yaw=S1,S2`` runs those learned skills with their yaw action (dimension 5) replaced by the expert's in the
same observation (twenty-eighth session). The twenty-third session's form ``FIRST_SEED N LIBRARY VERSION`` (a
``pick_milk`` candidate) is still read. ``place_milk`` was added as the chain's fourth skill in the twenty-fourth
session; the first three run as before.

Measured (1000–1049, with ``place_can`` v0012, shipped then): ``pick_can`` failed in 5 chains and ``place_can`` in
2, and the expert succeeded from all 7 of those states; ``pick_milk`` v0014 lifted the milk in 38 of the 43 chains
that reached it, and the expert in 4 of the 5 others; the 2 000-demonstration ``pick_milk`` candidate (not shipped)
in 40 of 43 (docs/results/robosuite.md, twenty-third session).
"""

import sys

from oracle_chain import OracleSkill  # this directory's scripted-skill adapter for the executor

from skillstack.envs.robosuite_scene import SCENE_OBJECTS, PickPlaceScene, PickPlaceSkillController
from skillstack.planners.executor import run_skill as executor_run_skill
from skillstack.skills.library import SkillLibrary


class ExpertYawSkill:
    """A learned skill whose yaw action (dimension 5) is replaced by its scripted expert's in the same observation
    (twenty-eighth session: would the expert's turn decision alone close the gap between clone and expert?)."""

    def __init__(self, skill, expert) -> None:
        self.skill, self.expert = skill, expert

    def __getattr__(self, name):
        return getattr(self.skill, name)

    def reset(self) -> None:
        self.skill.reset()

    def predict(self, obs):
        action = self.skill.predict(obs).copy()
        action[5] = self.expert.predict(obs)[5]
        return action


def run_skill(env: PickPlaceScene, obs, skill, expert=None):
    """Run one library skill (or its scripted ``expert`` in its place) through the executor's
    :func:`~skillstack.planners.executor.run_skill`; returns (observation, whether its success predicate holds)."""
    if isinstance(expert, ExpertYawSkill):
        skill = expert
    elif expert is not None:
        skill = OracleSkill(skill.name, skill.env_id, skill.max_steps, expert)
    obs, execution = executor_run_skill(env, skill, obs, affordance=None)
    return obs, execution.success


CHAIN = ("pick_can", "place_can", "pick_milk", "place_milk")


def parse_options(args: list[str]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], list[str]]:
    """``(chain, skills always run by their expert, skills whose yaw action is always the expert's, the
    SKILL=LIBRARY:VERSION arguments)`` from the command line."""
    chain, always_expert, expert_yaw, rest = CHAIN, (), (), []
    for arg in args:
        if arg.startswith("order="):
            chain = tuple(f"{kind}_{o}" for o in arg.removeprefix("order=").split(",") for kind in ("pick", "place"))
        elif arg.startswith("expert="):
            always_expert = tuple(arg.removeprefix("expert=").split(","))
        elif arg.startswith("expert_yaw="):
            expert_yaw = tuple(arg.removeprefix("expert_yaw=").split(","))
        else:
            rest.append(arg)
    return chain, always_expert, expert_yaw, rest


def load_skills(chain: tuple[str, ...], args: list[str]) -> dict:
    """The chain's skills: the latest shipped version of each, except those named ``SKILL=LIBRARY:VERSION``."""
    if len(args) == 2 and "=" not in args[0]:  # the twenty-third session's LIBRARY VERSION of pick_milk
        args = [f"pick_milk={args[0]}:{args[1]}"]
    shipped = SkillLibrary("assets/skills")
    skills = {name: shipped.load(name) for name in chain}
    for arg in args:
        name, _, where = arg.partition("=")
        library, _, version = where.rpartition(":")
        if name not in chain or not library or not version.isdigit():
            raise SystemExit(f"expected SKILL=LIBRARY:VERSION with SKILL one of {chain}, got {arg!r}")
        skills[name] = SkillLibrary(library).load(name, int(version))
    return skills


def main() -> None:
    first, n = int(sys.argv[1]), int(sys.argv[2])
    order, always_expert, expert_yaw, rest = parse_options(sys.argv[3:])
    can_milk = order[:2] == CHAIN[:2]  # the can+milk chain keeps its earlier tilt record
    skills = load_skills(order, rest)
    print({name: skill.version for name, skill in skills.items()}, flush=True)
    env = PickPlaceScene()
    experts = {name: PickPlaceSkillController(name, env=env) for name in skills}

    def chain(seed: int, expert_for: str | None = None) -> tuple[str, dict[str, float]]:
        obs, _ = env.reset(seed=seed)
        tilt: dict[str, float] = {}
        for name in order:
            if can_milk and name == "pick_milk":
                tilt |= {o: round(env.object_tilt(o), 1) for o in SCENE_OBJECTS if o != "can"}
            elif not can_milk and name.startswith("pick_"):
                tilt[name] = {o: round(env.object_tilt(o)) for o in SCENE_OBJECTS}
            use_expert = name == expert_for or name in always_expert
            expert = (experts[name] if use_expert
                      else ExpertYawSkill(skills[name], experts[name]) if name in expert_yaw else None)
            obs, ok = run_skill(env, obs, skills[name], expert)
            if not ok:
                return name, tilt
            if name == "pick_can":  # which skill knocked the carton over, if one did
                tilt["milk_after_pick_can"] = round(env.object_tilt("milk"), 1)
        return "ok", tilt

    failed = dict.fromkeys(skills, 0)
    expert_ok = dict.fromkeys(skills, 0)
    reached = 0
    for seed in range(first, first + n):
        outcome, tilt = chain(seed)
        reached += "milk" in tilt or "pick_milk" in tilt
        row = f"{seed} {outcome} tilt {tilt}"
        if outcome != "ok":
            failed[outcome] += 1
            # the expert gets past the failed skill if the rerun fails later or not at all
            rerun = chain(seed, outcome)[0]
            passed = rerun == "ok" or order.index(rerun) > order.index(outcome)
            expert_ok[outcome] += passed
            row += f" expert {'succeeds' if passed else 'fails'}"
        print(row, flush=True)
    lifted = reached - failed["pick_milk"]
    print(f"first failures {failed}; the expert succeeded in {expert_ok} of them; pick_milk lifted the milk in "
          f"{lifted}/{reached} chains that reached it; place_milk placed it in {lifted - failed['place_milk']}/"
          f"{lifted}")

if __name__ == "__main__":
    main()
