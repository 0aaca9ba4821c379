"""The hand's clearance profile as a policy input (``--policy-features clearance``): the torch port against the
numpy reference the expert decides with, its spec's validation, the actor's library round trip and training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from skillstack.envs import UnknownNameError
from skillstack.envs.robosuite_control import hand_clearance
from skillstack.envs.robosuite_scene import PickPlaceSkillController
from skillstack.skills.library import Skill, SkillLibrary
from skillstack.skills.networks import ArchitectureError, ClearanceProfile, GMMActor, build_network
from skillstack.skills.train import CLEARANCE_CLIP, CLEARANCE_YAWS, TrainConfig, clearance_spec

OBS_DIM = 67  # the robosuite PickPlace scene's observation


@pytest.fixture(scope="module")
def expert():
    return PickPlaceSkillController("pick_can")


def _random_quats(rng: np.random.Generator, n: int, upright: bool) -> np.ndarray:
    """``(n, 4)`` x y z w: a yaw about z only (an object standing) or any rotation."""
    if upright:
        yaw = rng.uniform(-np.pi, np.pi, n)
        return np.stack([np.zeros(n), np.zeros(n), np.sin(yaw / 2), np.cos(yaw / 2)], 1)
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _scene_like_observations(expert: PickPlaceSkillController, n: int, seed: int = 0) -> np.ndarray:
    """Observations with the hand, the can and the other objects in random poses around and in the source bin:
    grasps inside and outside the bin, above and below the walls' top, neighbours close and far, standing and
    tilted."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, OBS_DIM))
    x_min, x_max, y_min, y_max = expert.source_bin.inner
    lo, hi = np.array([x_min - 0.08, y_min - 0.08, 0.80]), np.array([x_max + 0.08, y_max + 0.08, 1.0])
    layout = expert.layout
    can = rng.uniform(lo, hi, size=(n, 3))
    obs[:, layout["Can_pos"]] = can
    obs[:, layout["robot0_eef_quat"]] = _random_quats(rng, n, upright=False)
    for prefix in expert.others:
        obs[:, layout[f"{prefix}_pos"]] = can + rng.uniform([-0.35, -0.35, -0.1], [0.35, 0.35, 0.05], size=(n, 3))
        obs[:, layout[f"{prefix}_quat"]] = np.where(rng.random((n, 1)) < 0.7, _random_quats(rng, n, True),
                                                    _random_quats(rng, n, False))
    return obs


def test_profile_matches_the_numpy_reference_the_expert_decides_with(expert):
    """The network's float64 profile equals ``hand_clearance`` over the expert's ``surroundings`` at the same yaws
    (the hand's own, then 15° steps), clipped; it varies (walls and neighbours both bind somewhere)."""
    from robosuite.utils.transform_utils import quat2mat

    spec = expert.clearance_spec(CLEARANCE_YAWS, CLEARANCE_CLIP)
    profile = ClearanceProfile(spec, OBS_DIM)
    obs = _scene_like_observations(expert, 300)
    got = profile(torch.as_tensor(obs)).numpy()
    eef, can = expert.layout["robot0_eef_quat"], expert.layout["Can_pos"]
    want = np.empty_like(got)
    for i, row in enumerate(obs):
        closing = quat2mat(row[eef])[:, 1]
        yaws = np.arctan2(closing[1], closing[0]) + np.arange(CLEARANCE_YAWS) * np.pi / CLEARANCE_YAWS
        want[i] = np.clip(hand_clearance(yaws, row[can], expert.surroundings(row)), -CLEARANCE_CLIP, CLEARANCE_CLIP)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert (got < 0).mean() > 0.05 and (np.abs(got) < CLEARANCE_CLIP).mean() > 0.3 and (got == CLEARANCE_CLIP).any()
    # float32 observations (what the skill executor passes) give the same profile to a few micrometres
    np.testing.assert_allclose(profile(torch.as_tensor(obs, dtype=torch.float32)).numpy(), want, atol=1e-5)


def test_profile_spec_is_validated_and_only_picks_have_one(expert):
    spec = expert.clearance_spec()
    assert ClearanceProfile.validate(spec, OBS_DIM) == spec
    for bad, match in (({**spec, "extra": 1}, "exactly the keys"),
                       ({**spec, "grasp_pos": 65}, "grasp_pos=65"),
                       ({**spec, "yaws": 0}, "yaws=0"),
                       ({**spec, "clip": float("nan")}, "clip"),
                       ({**spec, "hand": [0.1, 0.03]}, "hand"),
                       ({**spec, "obstacles": [{"pos": 7}]}, "an obstacle needs"),
                       ({**spec, "obstacles": spec["obstacles"] * 3}, "at most 8")):
        with pytest.raises(ArchitectureError, match=match):
            ClearanceProfile(bad, OBS_DIM)
    with pytest.raises(ValueError, match="is a place"):
        PickPlaceSkillController("place_can").clearance_spec()
    with pytest.raises(ValueError, match="robosuite-pickplace/pick_"):
        clearance_spec("metaworld/reach-v3")
    with pytest.raises(UnknownNameError, match="clearance, raw"):
        TrainConfig(env_id="metaworld/reach-v3", steps=10, algo="bc", policy_features="relational").resolved()
    with pytest.raises(ValueError, match="imitation algorithms"):
        TrainConfig(env_id="metaworld/reach-v3", steps=10, algo="sac", policy_features="clearance").resolved()


def test_actor_with_the_profile_round_trips_and_takes_computed_inputs(tmp_path, expert):
    """The spec lives in the manifest's architecture (an actor without one keeps its old architecture, so saved
    policies hash unchanged); a saved and loaded actor acts identically; rows with the profile already appended
    give the same actions as raw observations; any other width is refused."""
    torch.manual_seed(0)
    spec = expert.clearance_spec()
    actor = GMMActor(OBS_DIM, 7, [32], "relu", 4, 2, 3, clearance=spec)
    plain = GMMActor(OBS_DIM, 7, [32], "relu", 4, 2, 3)
    assert actor.arch["clearance"] == spec and "clearance" not in plain.arch
    assert actor.input_dim == OBS_DIM + CLEARANCE_YAWS and actor.obs_mean.shape == (OBS_DIM + CLEARANCE_YAWS,)
    obs = _scene_like_observations(expert, 8, seed=1)
    x = torch.as_tensor(obs, dtype=torch.float32)
    with torch.no_grad():
        inputs = actor.inputs(x)
        np.testing.assert_array_equal(actor.forward_chunk(inputs).numpy(), actor.forward_chunk(x).numpy())
    with pytest.raises(ValueError, match="width 66"):
        actor.inputs(x[:, :66])
    rebuilt = build_network("gmm_actor", actor.arch)
    assert rebuilt.arch == actor.arch and isinstance(rebuilt.clearance, ClearanceProfile)
    box = spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float64)
    skill = Skill("pick_can", "pick up the can", "robosuite-pickplace/pick_can-v4", actor, box,
                  spaces.Box(-1.0, 1.0, (7,), np.float32))
    lib = SkillLibrary(tmp_path)
    lib.save(skill)
    loaded = lib.load("pick_can")
    assert lib.manifest("pick_can")["networks"]["policy"]["architecture"]["clearance"] == spec
    np.testing.assert_array_equal(loaded.predict(obs), skill.predict(obs))


def test_bc_trains_a_skill_with_the_profile_and_resume_refuses_raw_inputs(tmp_path):
    from dataclasses import replace

    from skillstack.skills.train import train

    cfg = TrainConfig(env_id="robosuite-pickplace/pick_can-v4", algo="bc", steps=30, n_demos=1, chunk_size=4,
                      policy_head="gmm", gmm_modes=2, policy_features="clearance", eval_every=30, eval_episodes=1,
                      final_eval_episodes=1, max_episode_steps=20, run_dir=str(tmp_path / "run"),
                      library=str(tmp_path / "lib"), torch_threads=1, device="cpu")
    res = train(cfg, progress=False)
    arch = res.skill.policy.arch
    assert arch["clearance"]["yaws"] == CLEARANCE_YAWS and arch["clearance"]["grasp_pos"] == 49  # Can_pos
    # the normalisation covers the profile: its columns are not the untouched defaults (mean 0, std 1)
    assert not torch.allclose(res.skill.policy.obs_std[-CLEARANCE_YAWS:], torch.ones(CLEARANCE_YAWS))
    loaded = SkillLibrary(tmp_path / "lib").load(res.skill.name)
    obs = np.asarray(res.skill.observation_space.sample(), dtype=np.float64)[None]
    np.testing.assert_array_equal(loaded.predict(obs), res.skill.predict(obs))
    with pytest.raises(ValueError, match="policy_features differs"):
        train(replace(cfg, steps=60, policy_features="raw"), resume=True, progress=False)
