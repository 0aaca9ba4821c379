"""Action chunking (receding-horizon execution, library round trip, cut at success), DART demonstrations and the
Gaussian-mixture policy head."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from skillstack.envs import UnknownNameError
from skillstack.planners.executor import run_skill
from skillstack.skills.demos import collect_demonstrations
from skillstack.skills.experts import make_expert
from skillstack.skills.library import Skill, SkillLibrary
from skillstack.skills.networks import (
    ActionChunkExecutor,
    ArchitectureError,
    BinnedActor,
    ChunkedMLPActor,
    GMMActor,
    MLPActor,
    build_network,
)
from skillstack.skills.train import TrainConfig, chunk_targets

OBS = spaces.Box(-np.inf, np.inf, shape=(6,), dtype=np.float64)
ACT = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)


def chunk_actor(chunk=4, execute=3, seed=0) -> ChunkedMLPActor:
    torch.manual_seed(seed)
    return ChunkedMLPActor(6, 2, [16], "relu", chunk, execute)


def test_chunk_targets_stay_inside_each_episode():
    acts = np.arange(10, dtype=np.float32).reshape(5, 2)  # rows 0..4, actions (0,1), (2,3), ...
    ep = np.array([0, 0, 0, 1, 1])
    t = chunk_targets(acts, ep, 3)
    assert t.shape == (5, 3, 2)
    np.testing.assert_array_equal(t[0, :, 0], [0, 2, 4])
    np.testing.assert_array_equal(t[1, :, 0], [2, 4, 4])  # the episode's last action repeated
    np.testing.assert_array_equal(t[2, :, 0], [4, 4, 4])
    np.testing.assert_array_equal(t[3, :, 0], [6, 8, 8])  # never the previous episode's actions
    np.testing.assert_array_equal(chunk_targets(acts, ep, 1)[:, 0], acts)


def test_executor_runs_a_chunk_open_loop_then_predicts_again():
    actor = chunk_actor(chunk=4, execute=3)
    ex = ActionChunkExecutor(actor)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(7, 6))
    with torch.no_grad():
        chunk0 = actor.forward_chunk(torch.as_tensor(obs[:1], dtype=torch.float32))[0].numpy()
        chunk3 = actor.forward_chunk(torch.as_tensor(obs[3:4], dtype=torch.float32))[0].numpy()
    acts = [ex(o) for o in obs[:4]]
    # steps 0-2 are the first chunk's first three actions, whatever the observations; step 3 predicts anew
    np.testing.assert_allclose(np.stack(acts[:3]), chunk0[:3], atol=1e-6)
    np.testing.assert_allclose(acts[3], chunk3[0], atol=1e-6)
    assert ex.predictions == 2
    ex.reset()
    np.testing.assert_allclose(ex(obs[5]), actor(torch.as_tensor(obs[5:6], dtype=torch.float32))[0].detach().numpy(),
                               atol=1e-6)
    assert ex.predictions == 3


@pytest.mark.parametrize("chunk, execute", [(0, 1), (4, 5), (65, 4), (4, 0)])
def test_bad_chunk_architectures_refused(chunk, execute):
    with pytest.raises(ArchitectureError):
        build_network("mlp_chunk_actor", {"obs_dim": 6, "act_dim": 2, "hidden_sizes": [8], "activation": "relu",
                                          "chunk_size": chunk, "execute_steps": execute})


def test_chunked_skill_round_trip_and_batch_is_stateless(tmp_path):
    actor = chunk_actor()
    skill = Skill("chunky", "do it", "metaworld/reach-v3", actor, OBS, ACT)
    lib = SkillLibrary(tmp_path / "lib")
    lib.save(skill)
    loaded = lib.load("chunky")
    assert isinstance(loaded.policy, ChunkedMLPActor) and loaded.policy.arch == actor.arch
    obs = np.random.default_rng(1).normal(size=(5, 6))
    np.testing.assert_allclose(loaded.predict(obs), skill.predict(obs), atol=1e-6)  # batch: first actions
    np.testing.assert_allclose(loaded.predict(obs), loaded.predict(obs), atol=0)
    seq_a = [loaded(o) for o in obs]
    loaded.reset()
    seq_b = [loaded(o) for o in obs]
    np.testing.assert_allclose(seq_a, seq_b, atol=0)  # reset → the same execution again


class _CountingEnv:
    """A scene-like env whose skill succeeds at the ``succeed_at``-th step of each execution."""

    def __init__(self, succeed_at: int) -> None:
        self.succeed_at, self.t, self.predicates = succeed_at, 0, {"done": False}

    def step(self, action):
        self.t += 1
        p = {"done": self.t >= self.succeed_at}
        return np.full(6, self.t, dtype=np.float64), 0.0, False, False, {"predicates": p}

    def skill_succeeded(self, env_id, start, p):
        return p["done"]


def test_a_chunk_is_cut_when_the_success_predicate_fires():
    actor = chunk_actor(chunk=6, execute=6)
    skill = Skill("chunky", "do it", "metaworld/reach-v3", actor, OBS, ACT, max_steps=50)
    env = _CountingEnv(succeed_at=2)
    _, ex = run_skill(env, skill, np.zeros(6), None)
    assert ex.success and ex.steps == 2  # stopped after 2 of the chunk's 6 actions
    assert len(skill._executor._queue) == 4 and skill._executor.predictions == 1
    env.t = 0
    obs = np.full(6, 0.5)
    _, ex = run_skill(env, skill, obs, None)  # the next execution starts with a new chunk for its own observation
    assert skill._executor.predictions == 2 and len(skill._executor._queue) == 4
    np.testing.assert_allclose(skill._executor.actor.forward_chunk(torch.as_tensor(obs[None], dtype=torch.float32))
                               [0, 2:].detach().numpy(), np.stack(skill._executor._queue), atol=1e-6)


def test_dart_demonstrations_are_seeded_and_labelled_by_the_clean_expert():
    env_id = "metaworld/reach-v3"
    a = collect_demonstrations(env_id, 2, seed=3, max_episode_steps=30, progress=False, action_noise=0.3)
    b = collect_demonstrations(env_id, 2, seed=3, max_episode_steps=30, progress=False, action_noise=0.3)
    clean = collect_demonstrations(env_id, 2, seed=3, max_episode_steps=30, progress=False)
    np.testing.assert_array_equal(a.observations, b.observations)  # reproducible
    np.testing.assert_array_equal(a.actions, b.actions)
    assert not np.allclose(a.observations, clean.observations)  # the noise was executed
    expert = make_expert(env_id)
    labels = np.stack([expert.predict(o) for o in a.observations])
    np.testing.assert_allclose(a.actions, labels, atol=1e-6)  # ... but the labels are the expert's own actions
    with pytest.raises(ValueError, match="action_noise"):
        collect_demonstrations(env_id, 1, action_noise=-0.1, progress=False)


@pytest.mark.parametrize("kw, match", [({"algo": "sac", "chunk_size": 4}, "'dagger' only"),
                                       ({"algo": "ibrl", "chunk_size": 4}, "'dagger' only"),
                                       ({"algo": "bc", "chunk_size": 4, "execute_steps": 5}, "execute_steps"),
                                       ({"algo": "sac-demos", "demo_noise": 0.1}, "DART"),
                                       ({"algo": "bc", "demo_noise": float("nan")}, "demo_noise")])
def test_config_refuses_unsupported_combinations(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(env_id="metaworld/reach-v3", steps=10, **kw).resolved()


def test_bc_trains_a_chunked_skill(tmp_path):
    from skillstack.skills.train import train

    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=60, n_demos=2, chunk_size=4, demo_noise=0.1,
                      eval_every=60, eval_episodes=1, final_eval_episodes=1, max_episode_steps=40,
                      run_dir=str(tmp_path / "run"), library=str(tmp_path / "lib"), torch_threads=1, device="cpu")
    res = train(cfg, progress=False)
    assert res.skill.policy.kind == "mlp_chunk_actor"
    assert res.skill.policy.arch["chunk_size"] == 4 and res.skill.policy.arch["execute_steps"] == 2
    loaded = SkillLibrary(tmp_path / "lib").load(res.skill.name)
    assert isinstance(loaded.policy, ChunkedMLPActor)


def test_dagger_labels_chunks_along_its_rollouts_and_trains_a_chunked_skill(tmp_path):
    from skillstack.skills.train import _dagger_round, train

    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="dagger", steps=60, n_demos=2, chunk_size=4,
                      dagger_rounds=1, dagger_episodes=2, eval_every=60, eval_episodes=1, final_eval_episodes=1,
                      max_episode_steps=12, run_dir=str(tmp_path / "run"), library=str(tmp_path / "lib"),
                      torch_threads=1, device="cpu")
    actor = ChunkedMLPActor(39, 4, [16], "relu", 4, 2)
    obs, single, _ = _dagger_round(actor, cfg, 1, progress=False, chunk_size=1)
    obs4, chunks, _ = _dagger_round(actor, cfg, 1, progress=False)  # the config's chunk size
    np.testing.assert_array_equal(obs, obs4)  # same seeded rollouts
    assert single.shape == (24, 4) and chunks.shape == (24, 16)
    chunks = chunks.reshape(24, 4, 4)
    np.testing.assert_array_equal(chunks[0], single[0:4])  # the expert's labels at the next visited steps
    np.testing.assert_array_equal(chunks[10], single[[10, 11, 11, 11]])  # padded at the end of episode 0
    np.testing.assert_array_equal(chunks[12], single[12:16])  # episode 1 starts a new chunk
    res = train(cfg, progress=False)
    assert res.skill.policy.kind == "mlp_chunk_actor" and res.skill.policy.arch["chunk_size"] == 4


def _fit(net, obs, target, steps):
    """Full-batch Adam (lr 3e-3): the head's negative log-likelihood where it has one, else MSE."""
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(steps):
        loss = net.nll(obs, target) if hasattr(net, "nll") else ((net(obs) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_gmm_head_keeps_the_modes_that_mse_averages():
    """A bimodal expert (the same observations labelled +0.8 or -0.8 on the first action dimension, like a grasp
    yaw that wraps at ±90°): MSE regression answers ≈ 0, the mixture head answers one of the modes."""
    rng = np.random.default_rng(0)
    obs = torch.as_tensor(np.repeat(rng.normal(size=(16, 6)), 32, axis=0), dtype=torch.float32)
    sign = torch.as_tensor(np.tile(np.repeat([-1.0, 1.0], 16), 16), dtype=torch.float32)  # each obs: 16 +, 16 -
    target = torch.stack([0.8 * sign, torch.full((512,), 0.3)], 1)
    torch.manual_seed(0)
    mse, gmm = MLPActor(6, 2, [64, 64]), GMMActor(6, 2, [64, 64], modes=3)
    for net in (mse, gmm):
        _fit(net, obs, target, 600)
    with torch.no_grad():
        a_mse, a_gmm = mse(obs[::32]).numpy(), gmm(obs[::32]).numpy()
    assert np.abs(a_mse[:, 0]).mean() < 0.3  # the average of the modes
    assert np.abs(np.abs(a_gmm[:, 0]) - 0.8).max() < 0.1  # a mode, never the average
    np.testing.assert_allclose(a_gmm[:, 1], 0.3, atol=0.08)
    assert gmm.nll(obs, target).item() < -1.0  # sharp components, not one broad Gaussian over both modes


def test_gmm_chunk_is_one_coherent_component():
    torch.manual_seed(0)
    actor = GMMActor(6, 2, [16], "relu", chunk_size=4, execute_steps=2, modes=3)
    x = torch.as_tensor(np.random.default_rng(2).normal(size=(5, 6)), dtype=torch.float32)
    means, scales, logits = actor._heads(x)
    assert means.shape == scales.shape == (5, 3, 8) and logits.shape == (5, 3) and (scales > 0).all()
    chunk = actor.forward_chunk(x)
    assert chunk.shape == (5, 4, 2)
    np.testing.assert_allclose(chunk.detach().reshape(5, 8), means[torch.arange(5), logits.argmax(-1)].detach(),
                               atol=0)
    with pytest.raises(ArchitectureError, match="modes"):
        build_network("gmm_actor", {**actor.arch, "modes": 0})
    # a manifest cannot declare a last layer of 32 × (2 · 4096 · 64 + 1) outputs (≈ 69 G parameters behind a
    # 4096-wide layer): refused before anything is allocated
    with pytest.raises(ArchitectureError, match="exceeds"):
        build_network("gmm_actor", {**actor.arch, "act_dim": 4096, "chunk_size": 64, "execute_steps": 1,
                                    "modes": 32, "hidden_sizes": [4096]})
    with pytest.raises(ArchitectureError, match="exceeds"):
        build_network("mlp_chunk_actor", {"obs_dim": 6, "act_dim": 4096, "hidden_sizes": [8], "activation": "relu",
                                          "chunk_size": 64, "execute_steps": 1})


def test_policy_head_options_are_checked():
    with pytest.raises(UnknownNameError, match="binned, deterministic, gmm"):
        TrainConfig(env_id="metaworld/reach-v3", steps=10, algo="bc", policy_head="mdn").resolved()
    with pytest.raises(ValueError, match="imitation algorithms"):
        TrainConfig(env_id="metaworld/reach-v3", steps=10, algo="sac", policy_head="gmm").resolved()
    with pytest.raises(ValueError, match="gmm_modes"):
        TrainConfig(env_id="metaworld/reach-v3", steps=10, algo="bc", policy_head="gmm", gmm_modes=0).resolved()
    with pytest.raises(ValueError, match="action_bins"):
        TrainConfig(env_id="metaworld/reach-v3", steps=10, algo="bc", policy_head="binned", action_bins=20).resolved()


def test_bc_trains_a_gmm_skill_and_resume_refuses_another_head(tmp_path):
    from dataclasses import replace

    from skillstack.skills.train import train

    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=40, n_demos=2, chunk_size=4, policy_head="gmm",
                      gmm_modes=3, eval_every=40, eval_episodes=1, final_eval_episodes=1, max_episode_steps=40,
                      run_dir=str(tmp_path / "run"), library=str(tmp_path / "lib"), torch_threads=1, device="cpu")
    res = train(cfg, progress=False)
    assert res.skill.policy.kind == "gmm_actor" and res.skill.policy.arch["modes"] == 3
    loaded = SkillLibrary(tmp_path / "lib").load(res.skill.name)
    assert isinstance(loaded.policy, GMMActor)
    obs = np.random.default_rng(1).normal(size=(3, 39))
    np.testing.assert_allclose(loaded.predict(obs), res.skill.predict(obs), atol=0)
    with pytest.raises(ValueError, match="policy_head differs"):
        train(replace(cfg, steps=80, policy_head="deterministic"), resume=True, progress=False)


def test_binned_head_recovers_a_label_exactly_and_keeps_a_mode_that_mse_averages():
    """Two-hot targets: a unimodal label (0.3, between two bins) is recovered, not rounded to a bin; a split label
    (like the expert's turn: -1 in 20 of 32 visits of an observation, no turn in the other 12) gives the more
    frequent value, where MSE gives their average (≈ -0.6)."""
    rng = np.random.default_rng(0)
    obs = torch.as_tensor(np.repeat(rng.normal(size=(16, 6)), 32, axis=0), dtype=torch.float32)
    turn = torch.as_tensor(np.tile(np.r_[np.full(20, -1.0), np.zeros(12)], 16), dtype=torch.float32)
    target = torch.stack([turn, torch.full((512,), 0.33)], 1)
    torch.manual_seed(0)
    mse, binned = MLPActor(6, 2, [64, 64]), BinnedActor(6, 2, [64, 64], bins=21)
    for net in (mse, binned):
        _fit(net, obs, target, 400)
    with torch.no_grad():
        a_mse, a_binned = mse(obs[::32]).numpy(), binned(obs[::32]).numpy()
    np.testing.assert_allclose(a_mse[:, 0], -0.625, atol=0.1)  # the average
    np.testing.assert_allclose(a_binned[:, 0], -1.0, atol=0.02)  # the more frequent label
    np.testing.assert_allclose(a_binned[:, 1], 0.33, atol=0.02)  # between the bins 0.3 and 0.4, not rounded


def test_binned_two_hot_and_decoding_are_exact_and_its_manifest_is_checked():
    actor = BinnedActor(6, 2, [16], "relu", chunk_size=3, execute_steps=2, bins=21)
    labels = torch.tensor([[0.33, -1.0, 1.0, 0.0, 0.05, -0.97]])
    weights = actor.two_hot(labels)
    assert weights.shape == (1, 6, 21)
    np.testing.assert_allclose(weights.sum(-1).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose((weights * actor.centres).sum(-1).numpy(), labels.numpy(), atol=1e-6)
    assert int((weights > 0).sum()) == 3 * 2 + 3  # two bins each for 0.33, 0.05, -0.97; one each for -1, 1, 0
    # logits that are the log of those weights decode to the labels, the ends included
    actor.logits = lambda obs: torch.log(weights + 1e-12)  # type: ignore[method-assign]
    np.testing.assert_allclose(actor.forward_chunk(torch.zeros(1, 6)).reshape(1, 6).numpy(), labels.numpy(),
                               atol=1e-5)
    with pytest.raises(ArchitectureError, match="odd"):
        build_network("binned_actor", {**actor.arch, "bins": 20})
    with pytest.raises(ArchitectureError, match="exceeds"):
        build_network("binned_actor", {**actor.arch, "act_dim": 512, "chunk_size": 64, "bins": 255})


def test_bc_trains_a_binned_skill_and_resume_refuses_other_bins(tmp_path):
    from dataclasses import replace

    from skillstack.skills.train import train

    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=40, n_demos=2, chunk_size=4,
                      policy_head="binned", action_bins=11, eval_every=40, eval_episodes=1, final_eval_episodes=1,
                      max_episode_steps=40, run_dir=str(tmp_path / "run"), library=str(tmp_path / "lib"),
                      torch_threads=1, device="cpu")
    res = train(cfg, progress=False)
    assert res.skill.policy.kind == "binned_actor" and res.skill.policy.arch["bins"] == 11
    loaded = SkillLibrary(tmp_path / "lib").load(res.skill.name)
    assert isinstance(loaded.policy, BinnedActor)
    obs = np.random.default_rng(1).normal(size=(3, 39))
    np.testing.assert_allclose(loaded.predict(obs), res.skill.predict(obs), atol=0)
    with pytest.raises(ValueError, match="action_bins differs"):
        train(replace(cfg, steps=80, action_bins=21), resume=True, progress=False)
