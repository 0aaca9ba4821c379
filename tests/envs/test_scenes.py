"""Every registered scene, parametrised over the scene registry: its envs build, its tasks' goals use its predicate
vocabulary, its suites and prompt load against it, and its domain (if any) is consistent with its skills."""

from __future__ import annotations

import numpy as np
import pytest

from skillstack.envs import SCENES, UnknownNameError, env_spec, get_scene, make_env, resolve_env_id
from skillstack.planners.suite import load_suite, scene_prompt

NAMES = SCENES.names()


def test_builtin_scenes_are_registered_on_import():
    assert {"tabletop", "robosuite-pickplace"} <= set(NAMES)
    with pytest.raises(UnknownNameError, match="did you mean 'tabletop'"):
        get_scene("tabeltop")


@pytest.mark.parametrize("name", NAMES)
def test_scene_declarations_are_consistent(name):
    scene = get_scene(name)
    env_spec(scene.env_id)  # registered
    heads = {p.split("(")[0] for p in scene.predicates}
    for task in scene.tasks.values():
        assert task.instruction.strip()
        assert {k.split("(")[0] for k in task.goal} <= heads, (task.name, task.goal)
        assert set(task.plan) <= set(scene.skills)
    for skill in scene.skills:  # every skill of the family has its registered skill env
        assert scene.owns(resolve_env_id(f"{scene.skill_env_prefix}{skill}"))
    texts = set(scene.skills.values())
    assert all(set(e.steps) <= texts for e in scene_prompt(scene))
    for path in scene.suites:
        assert load_suite(path, scene)
    if scene.domain is not None:
        d = scene.domain
        assert set(d.actions) == set(scene.skills)
        assert d.valid(d.default_state)
        rng = np.random.default_rng(0)
        for _ in range(20):
            s = d.sample_state(rng)
            assert d.valid(s)
            for a in d.actions.values():
                if a.applicable(s):
                    assert d.valid(a.apply(s))


@pytest.mark.parametrize("name", [n for n in NAMES if n == "tabletop"])
def test_scene_env_reads_predicates_and_tasks(name):
    scene = get_scene(name)
    env = make_env(scene.env_id, task=None).unwrapped
    try:
        for task in list(scene.tasks.values())[:2]:
            _, info = env.reset(seed=0, options={"task": task})
            p = env.predicates
            assert set(task.goal) <= set(p) and info["success"] == task.satisfied(p)
            if scene.domain is not None:
                assert scene.domain.valid(scene.domain.state_of(p))
    finally:
        env.close()


def test_versioned_ids_and_old_aliases():
    assert resolve_env_id("tabletop/open_drawer") == "tabletop/open_drawer-v0"
    assert resolve_env_id("robosuite/Lift") == "robosuite/Lift-v0"
    assert resolve_env_id("metaworld/drawer-open-v3") == "metaworld/drawer-open-v3"
    env = make_env("tabletop/open_drawer")  # an old id still builds the env (skills registered under it load)
    assert env.spec.id == "tabletop/open_drawer-v0"
    env.close()
    with pytest.raises(UnknownNameError, match="did you mean 'tabletop/open_drawer-v0'"):
        resolve_env_id("tabletop/open_drawr")
