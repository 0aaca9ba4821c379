from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from skillstack.envs import UnknownNameError
from skillstack.skills.demos import collect_demonstrations
from skillstack.skills.library import SkillLibrary
from skillstack.skills.train import TrainConfig, train

OBS = np.random.default_rng(0).normal(size=(8, 39))


def test_tiny_bc_drawer_open_succeeds(tmp_path):
    """Correctness, not speed: wall-clock targets are measured by ``bench``, not asserted in tests."""
    cfg = TrainConfig(env_id="metaworld/drawer-open-v3", algo="bc", steps=1500, n_demos=10, seed=0,
                      run_dir=str(tmp_path / "run"), eval_every=10_000, final_eval_episodes=10,
                      library=str(tmp_path / "lib"))
    res = train(cfg, progress=False)
    assert res.final_eval.success_rate > 0.5
    skill = SkillLibrary(tmp_path / "lib").load("drawer-open-v3")
    np.testing.assert_array_equal(skill.predict(OBS), res.skill.predict(OBS))
    assert skill.metrics["success_rate"] == res.final_eval.success_rate
    assert skill.provenance["algo"] == "bc" and skill.provenance["steps"] == 1500


def test_same_seed_bc_is_deterministic(tmp_path):
    outs = []
    for i in range(2):
        cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=200, n_demos=2, seed=3,
                          run_dir=str(tmp_path / f"r{i}"), eval_every=10_000, final_eval_episodes=1,
                          max_episode_steps=60)
        outs.append(train(cfg, progress=False).skill.predict(OBS))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_bc_resume_continues_step_count_and_matches_straight_run(tmp_path):
    base = dict(env_id="metaworld/reach-v3", algo="bc", n_demos=2, seed=1, eval_every=10_000,
                checkpoint_every=100, final_eval_episodes=1, max_episode_steps=60)
    straight = train(TrainConfig(steps=300, run_dir=str(tmp_path / "a"), **base), progress=False)
    train(TrainConfig(steps=150, run_dir=str(tmp_path / "b"), **base), progress=False)
    resumed = train(TrainConfig(steps=300, run_dir=str(tmp_path / "b"), **base), resume=True, progress=False)
    assert resumed.state.steps == 300
    np.testing.assert_array_equal(straight.skill.predict(OBS), resumed.skill.predict(OBS))


def test_dagger_aggregates_expert_labelled_policy_states_and_resumes(tmp_path):
    """DAgger: each round adds the observations the policy visited, labelled with the expert's action; the data
    set is part of the checkpoint, and a resumed run continues from it to the same policy as a straight run."""
    from skillstack.envs import make_expert
    from skillstack.skills.demos import Demonstrations

    base = dict(env_id="metaworld/reach-v3", algo="dagger", n_demos=2, seed=2, eval_every=150, eval_episodes=1,
                final_eval_episodes=1, max_episode_steps=40, dagger_rounds=2, dagger_episodes=2, steps=300)
    straight = train(TrainConfig(run_dir=str(tmp_path / "a"), **base), progress=False)
    ckpt = tmp_path / "a" / "checkpoints" / (tmp_path / "a" / "checkpoints" / "latest").read_text().strip()
    demos = Demonstrations.load(tmp_path / "a" / "demos.npz")
    with np.load(ckpt / "dagger_data.npz") as z:
        obs, act = z["observations"], z["actions"]
    assert len(obs) == len(demos) + 2 * 2 * 40  # two rounds of two 40-step policy episodes
    np.testing.assert_array_equal(obs[: len(demos)], demos.observations)
    expert = make_expert("metaworld/reach-v3")
    new = slice(len(demos), None)
    assert not np.allclose(obs[new][:40], demos.observations[:40])  # the policy's own states, not the demos'
    np.testing.assert_allclose(np.stack([expert.predict(o) for o in obs[new]]), act[new], atol=1e-6)
    # stop at the first periodic evaluation (step 150, after round 1 at step 100), then resume to the end
    b = tmp_path / "b"
    first = train(TrainConfig(run_dir=str(b), **{**base, "stop_at_success": 0.0}), progress=False)
    assert first.state.steps == 150
    resumed = train(TrainConfig(run_dir=str(b), **base), resume=True, progress=False)
    assert resumed.state.steps == 300
    np.testing.assert_array_equal(straight.skill.predict(OBS), resumed.skill.predict(OBS))


@pytest.mark.parametrize("algo", ["sac", "sac-demos", "ppo"])
def test_rl_resume_continues_step_count(tmp_path, algo):
    base = dict(env_id="metaworld/reach-v3", algo=algo, seed=0, eval_every=10_000, final_eval_episodes=1,
                max_episode_steps=50, n_demos=1, bc_pretrain_steps=20, actor_warmup_updates=10,
                hidden_sizes=(32, 32), batch_size=32)
    n1 = 128 if algo != "ppo" else 2048
    train(TrainConfig(steps=n1, run_dir=str(tmp_path / "r"), checkpoint_every=64, **base), progress=False)
    ckpts = sorted((tmp_path / "r" / "checkpoints").glob("step_*"))
    assert ckpts and json.loads((ckpts[-1] / "state.json").read_text())["steps"] == n1
    res = train(TrainConfig(steps=2 * n1, run_dir=str(tmp_path / "r"), checkpoint_every=64, **base),
                resume=True, progress=False)
    assert res.state.steps == 2 * n1
    assert res.skill.provenance["steps"] == 2 * n1


def test_existing_run_dir_without_resume_refuses(tmp_path):
    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=10, n_demos=1, run_dir=str(tmp_path),
                      final_eval_episodes=1, max_episode_steps=20)
    (tmp_path / "something").write_text("x")
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, progress=False)
    assert (tmp_path / "something").read_text() == "x"


def test_unknown_algo_and_env(tmp_path):
    with pytest.raises(UnknownNameError, match="did you mean 'sac'"):
        train(TrainConfig(env_id="metaworld/reach-v3", algo="sacc", steps=10, run_dir=str(tmp_path / "x")))
    with pytest.raises(UnknownNameError, match="did you mean"):
        train(TrainConfig(env_id="metaworld/reach-v4", algo="sac", steps=10, run_dir=str(tmp_path / "y")))
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_demo_mix_buffer_sampling(tmp_path):
    from gymnasium import spaces

    from skillstack.skills.sb3_extras import DemoMixReplayBuffer

    demos = collect_demonstrations("metaworld/reach-v3", 1, max_episode_steps=30, progress=False)
    obs_space = spaces.Box(-np.inf, np.inf, (39,), np.float64)
    buf = DemoMixReplayBuffer(100, obs_space, spaces.Box(-1, 1, (4,), np.float32), device="cpu",
                              demo_fraction=0.5, demo_seed=0)
    buf.set_demonstrations(demos)
    # only demonstrations before any online data
    s = buf.sample(16)
    assert s.observations.shape == (16, 39)
    online_obs = np.full((1, 39), 7.0)
    for _ in range(10):
        buf.add(online_obs, online_obs, np.zeros((1, 4)), np.zeros(1), np.zeros(1), [{}])
    s = buf.sample(16)
    from_online = (s.observations == 7.0).all(dim=1)
    assert int(from_online.sum()) == 8
    assert torch.isfinite(s.rewards).all()
