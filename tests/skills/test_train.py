from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from skillstack.envs import UnknownNameError
from skillstack.skills.algorithms import ALGORITHMS, ENV_STEPS, GRADIENT_STEPS, STEP_UNITS
from skillstack.skills.demos import collect_demonstrations
from skillstack.skills.library import Skill, SkillLibrary
from skillstack.skills.networks import (
    NETWORK_KINDS,
    BinnedActor,
    ChunkedMLPActor,
    GMMActor,
    MLPActor,
    MLPAffordance,
    QProposalActor,
    TreeAffordance,
)
from skillstack.skills.train import TrainConfig, train

OBS = np.random.default_rng(0).normal(size=(8, 39))

TINY = dict(env_id="metaworld/reach-v3", seed=0, eval_every=10_000, final_eval_episodes=1, max_episode_steps=30,
            n_demos=1, bc_pretrain_steps=20, actor_warmup_updates=10, hidden_sizes=(32, 32), batch_size=32,
            dagger_rounds=1, dagger_episodes=1)
"""A run of any algorithm in about a second (PPO: one 2048-step rollout, a few seconds)."""
TINY_STEPS = {ENV_STEPS: 64, GRADIENT_STEPS: 40}


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
    from skillstack.skills.demos import Demonstrations
    from skillstack.skills.experts import make_expert

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


def test_train_accepts_an_env_alias_and_records_the_registered_name(tmp_path):
    """The shipped recipes train ``tabletop/<skill>`` and ``robosuite/Lift`` (aliases that ``eval`` accepts); ``train``
    refused them with "unknown env" until the thirty-second session."""
    from skillstack.envs import ENV_ALIASES

    assert ENV_ALIASES["tabletop/open_drawer"] == "tabletop/open_drawer-v0"
    run = tmp_path / "r"
    res = train(TrainConfig(algo="bc", steps=TINY_STEPS[GRADIENT_STEPS], run_dir=str(run),
                            library=str(tmp_path / "lib"), **{**TINY, "env_id": "tabletop/open_drawer"}),
                progress=False)
    assert json.loads((run / "config.json").read_text())["env_id"] == "tabletop/open_drawer-v0"
    assert res.skill.env_id == "tabletop/open_drawer-v0"


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


# ---------------------------------------------------------------------------------------------- every algorithm
@pytest.mark.parametrize("algo", ALGORITHMS.names())
def test_every_algorithm_spec_names_its_source_and_is_consistent(algo):
    spec = ALGORITHMS.get(algo)
    assert spec.name == algo
    assert re.search(r"\b(19|20)\d\d\b", spec.description), "the description cites its paper (author year)"
    assert "Stable-Baselines3" in spec.description or "skills/" in spec.description, "and names its implementation"
    assert spec.step_unit in STEP_UNITS and spec.default_eval_every > 0
    assert (spec.build_model is None) == (spec.actor_from_model is None)
    assert not spec.off_policy or spec.build_model is not None, "off-policy algorithms are SB3 models"
    assert not spec.vectorised or spec.step_unit == ENV_STEPS, "parallel envs only make sense for env steps"
    assert spec.warmup_steps(TrainConfig(env_id="metaworld/reach-v3", algo=algo, steps=1)) >= 0


def test_imitation_algorithms_are_not_vectorised():
    assert {"bc", "dagger"} <= {n for n in ALGORITHMS.names() if not ALGORITHMS.get(n).vectorised}


@pytest.mark.parametrize("algo", [n for n in ALGORITHMS.names() if not ALGORITHMS.get(n).vectorised])
def test_non_vectorised_algorithms_refuse_parallel_envs(tmp_path, algo):
    with pytest.raises(ValueError, match="--n-envs"):
        train(TrainConfig(algo=algo, steps=10, n_envs=2, run_dir=str(tmp_path / "r"), **TINY), progress=False)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("algo", ALGORITHMS.names())
def test_tiny_run_of_every_algorithm_round_trips_through_the_library(tmp_path, algo):
    """The spec's flags describe what the run does: demonstrations collected ⇔ ``uses_demonstrations``, replay
    buffer checkpointed ⇔ ``off_policy``, SB3 checkpoint ⇔ ``build_model``, aggregated data ⇔ DAgger's
    ``expert_relabelling``; ``steps`` counts ``step_unit``. The registered skill loads with identical outputs."""
    spec = ALGORITHMS.get(algo)
    steps = TINY_STEPS[spec.step_unit]
    run = tmp_path / "run"
    res = train(TrainConfig(algo=algo, steps=steps, run_dir=str(run), library=str(tmp_path / "lib"), **TINY),
                progress=False)
    assert (run / "demos.npz").exists() == spec.uses_demonstrations
    ckpt = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
    assert (ckpt / "replay_buffer.npz").exists() == spec.off_policy
    assert (ckpt / "model.zip").exists() == (spec.build_model is not None)
    assert (ckpt / "dagger_data.npz").exists() == spec.expert_relabelling
    if spec.step_unit == GRADIENT_STEPS:
        assert res.state.steps == steps
    else:  # SB3 finishes its iteration (PPO: a whole rollout)
        assert res.state.steps >= steps
    loaded = SkillLibrary(tmp_path / "lib").load("reach-v3")
    np.testing.assert_array_equal(loaded.predict(OBS), res.skill.predict(OBS))
    assert loaded.provenance["algo"] == algo and loaded.provenance["steps"] == res.state.steps
    assert loaded.provenance["versions"]["torch"] and loaded.provenance["created"].endswith("Z")


def test_same_seed_sac_demos_gives_identical_weights(tmp_path):
    states = []
    for i in range(2):
        res = train(TrainConfig(algo="sac-demos", steps=64, run_dir=str(tmp_path / f"r{i}"), **TINY), progress=False)
        states.append(res.skill.policy.state_dict())
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_sac_demos_never_stops_on_success_during_its_warmup(tmp_path):
    """A success stop waits until the policy has had RL updates (the spec's ``warmup_steps``: learning starts +
    critic-only updates = 32 + 10 env steps here), else the registered policy would be the BC initialisation."""
    cfg = TrainConfig(algo="sac-demos", steps=128, run_dir=str(tmp_path / "r"), stop_at_success=0.0,
                      **{**TINY, "eval_every": 20, "eval_episodes": 1})
    warmup = ALGORITHMS.get("sac-demos").warmup_steps(cfg)
    assert warmup == 42
    res = train(cfg, progress=False)
    assert res.state.steps == 60 and res.state.stop_reason.startswith("success")


def test_a_finished_run_resumed_with_the_same_stops_trains_no_further(tmp_path):
    """Rerunning a resumable benchmark resumes its finished runs: a run that stopped at success or at its
    wall-clock budget stays stopped under the same config (it used to train one more evaluation interval), and
    continues when the budget it stopped at is raised."""
    import dataclasses

    cfg = TrainConfig(algo="sac-demos", steps=128, run_dir=str(tmp_path / "r"), stop_at_success=0.0,
                      **{**TINY, "eval_every": 20, "eval_episodes": 1})
    assert train(cfg, progress=False).state.steps == 60
    again = train(cfg, resume=True, progress=False)
    assert again.state.steps == 60 and again.state.stop_reason.startswith("success")
    more = train(dataclasses.replace(cfg, stop_at_success=None), resume=True, progress=False)
    assert more.state.steps == 128 and more.state.stop_reason is None

    budget = TrainConfig(algo="sac", steps=64, run_dir=str(tmp_path / "b"), max_minutes=1e-9,
                         **{**TINY, "eval_every": 1000})
    first = train(budget, progress=False)
    assert first.state.stop_reason.startswith("wall-clock") and first.state.steps < 64
    assert train(budget, resume=True, progress=False).state.steps == first.state.steps
    assert train(dataclasses.replace(budget, max_minutes=None), resume=True, progress=False).state.steps == 64


# ---------------------------------------------------------------------------------------------- network kinds
def _tree_affordance() -> TreeAffordance:
    """Two depth-1 trees: split on feature 3 (tree 0) and 7 (tree 1) at 0.0, random leaf values."""
    net = TreeAffordance(39, n_trees=2, max_nodes=3, max_depth=1)
    with torch.no_grad():
        net.feature[:, 0] = torch.tensor([3, 7])
        net.left[:, 0], net.right[:, 0] = 1, 2
        net.is_leaf[:, 0] = False
        net.value.copy_(torch.randn(2, 3, dtype=torch.float64))
        net.baseline[0] = 0.25
    return net


_EXAMPLE_NETWORKS = {
    "mlp_actor": lambda: MLPActor(39, 4, [16, 8], "elu", "clip"),
    "mlp_chunk_actor": lambda: ChunkedMLPActor(39, 4, [16], "relu", 6, 3),
    "gmm_actor": lambda: GMMActor(39, 4, [16], "relu", 6, 3, 4),
    "binned_actor": lambda: BinnedActor(39, 4, [16], "relu", 6, 3, 11),
    "mlp_affordance": lambda: MLPAffordance(39, [16], "tanh"),
    "tree_affordance": _tree_affordance,
    "q_proposal_actor": lambda: QProposalActor(MLPActor(39, 4, [16], "relu", "tanh"),
                                               MLPActor(39, 4, [16], "relu", "tanh"), [8, 8], "relu", 3, True),
}


@pytest.mark.parametrize("kind", NETWORK_KINDS.names())
def test_every_network_kind_round_trips_through_the_library(tmp_path, kind):
    """Every allow-listed network kind a skill can hold (policy or affordance) saves and loads bit-identically."""
    from gymnasium import spaces

    assert kind in _EXAMPLE_NETWORKS, f"add an example {kind!r} network to _EXAMPLE_NETWORKS"
    torch.manual_seed(0)
    net = _EXAMPLE_NETWORKS[kind]()
    assert net.kind == kind
    policy = net if isinstance(net, (MLPActor, QProposalActor)) else MLPActor(39, 4, [8], "relu", "tanh")
    skill = Skill("net_kind", "round trip", "metaworld/reach-v3", policy,
                  spaces.Box(-np.inf, np.inf, (39,), np.float64), spaces.Box(-1.0, 1.0, (4,), np.float32),
                  affordance_model=None if net is policy else net)
    lib = SkillLibrary(tmp_path)
    lib.save(skill)
    loaded = lib.load("net_kind")
    np.testing.assert_array_equal(loaded.predict(OBS), skill.predict(OBS))
    if net is not policy:
        assert type(loaded.affordance_model) is type(net)
        np.testing.assert_array_equal(loaded.affordance(OBS), skill.affordance(OBS))
    assert lib.manifest("net_kind")["networks"]["policy" if net is policy else "affordance"]["kind"] == kind


@pytest.mark.parametrize("keep_best", [True, False])
def test_keep_best_deploys_the_best_periodic_policy_when_the_last_one_is_worse(tmp_path, monkeypatch, keep_best):
    """Periodic evaluations scripted to 0.9 at step 100 and 0.2 at step 200: with keep_best the skill registered is
    the step-100 policy (the file written atomically at that evaluation), without it the last one."""
    import dataclasses

    import skillstack.skills.train as T

    real, scripted, seen = T.evaluate, iter([0.9, 0.2]), {}

    def fake(policy, env_id, n, seed_base=0, **kw):
        res = real(policy, env_id, n, seed_base=seed_base, **kw)
        if seed_base != T.PERIODIC_EVAL_SEED_BASE:
            return res
        seen[len(seen)] = np.stack([policy(o) for o in OBS])  # what the policy evaluated at this point does
        return dataclasses.replace(res, success_rate=next(scripted))

    monkeypatch.setattr(T, "evaluate", fake)
    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=200, n_demos=2, seed=0, eval_every=100,
                      eval_episodes=1, final_eval_episodes=1, max_episode_steps=30, run_dir=str(tmp_path / "r"),
                      keep_best=keep_best, library=str(tmp_path / "lib"))
    res = train(cfg, progress=False)
    assert len(seen) == 2 and np.abs(seen[0] - seen[1]).max() > 1e-3  # two distinguishable policies
    deployed = res.skill.provenance["deployed"]
    if keep_best:
        np.testing.assert_allclose(res.skill.predict(OBS), seen[0], atol=1e-5)
        assert deployed == {"steps": 100, "periodic_success": 0.9, "selection": "best periodic evaluation"}
        assert (tmp_path / "r" / T.BEST_POLICY).exists()
    else:
        np.testing.assert_allclose(res.skill.predict(OBS), seen[1], atol=1e-5)
        assert deployed["selection"] == "last" and deployed["steps"] == 200
    reloaded = SkillLibrary(tmp_path / "lib").load("reach-v3")  # what is registered is what was deployed
    np.testing.assert_array_equal(reloaded.predict(OBS), res.skill.predict(OBS))


def test_mcnemar_improvement_is_the_exact_one_sided_binomial_test():
    from skillstack.skills.train import mcnemar_improvement

    assert mcnemar_improvement([True] * 8, [False] * 8) == (8, 0, 1 / 256)
    # 5 wins, 1 loss: P(X >= 5), X ~ Bin(6, 1/2) = (6 + 1) / 64; concordant pairs do not count
    w, loss, p = mcnemar_improvement([1, 1, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 1, 1, 0])
    assert (w, loss) == (5, 1) and p == pytest.approx(7 / 64)
    assert mcnemar_improvement([True, False], [True, False]) == (0, 0, 1.0)
    assert mcnemar_improvement([False] * 4, [True] * 4)[2] == 1.0
    with pytest.raises(ValueError, match="differ in number"):
        mcnemar_improvement([True], [True, False])


@pytest.mark.parametrize("last_is_better", [True, False])
def test_improvement_gate_deploys_only_significantly_better_policies(tmp_path, monkeypatch, last_is_better):
    """Three periodic evaluations of a bc run (steps 100, 200, 300) with the gate's validation outcomes scripted:
    the step-100 policy is the baseline (2/10); step 200 (3/10, one win) is refused, so its periodic evaluation
    measures the baseline; step 300 is deployed only when it is significantly better (10/10: 8 wins, p = 1/256).
    The registered skill is the deployed policy, and metrics.jsonl says what the gate did."""
    import dataclasses

    import skillstack.skills.train as T
    from skillstack.skills.evaluate import EpisodeResult

    real = T.evaluate
    gate_script = iter([[True] * 2 + [False] * 8, [True] * 3 + [False] * 7,
                        [True] * 10 if last_is_better else [False] * 10])
    offered, periodic = [], []

    def fake(policy, env_id, n, seed_base=0, **kw):
        res = real(policy, env_id, n, seed_base=seed_base, **kw)
        if seed_base == T.GATE_SEED_BASE:
            offered.append(np.stack([policy(o) for o in OBS]))
            eps = [EpisodeResult(seed=seed_base + i, success=s, episode_return=0.0, length=7,
                                 first_success_step=None) for i, s in enumerate(next(gate_script))]
            return dataclasses.replace(res, episodes=eps, success_rate=float(np.mean([e.success for e in eps])))
        if seed_base == T.PERIODIC_EVAL_SEED_BASE:
            periodic.append(np.stack([policy(o) for o in OBS]))
        return res

    monkeypatch.setattr(T, "evaluate", fake)
    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=300, n_demos=2, seed=0, eval_every=100,
                      eval_episodes=1, final_eval_episodes=1, max_episode_steps=30, run_dir=str(tmp_path / "r"),
                      gate_episodes=10, library=str(tmp_path / "lib"))
    res = train(cfg, progress=False)
    assert len(offered) == 3 and len(periodic) == 3
    assert np.abs(offered[0] - offered[1]).max() > 1e-3 and np.abs(offered[1] - offered[2]).max() > 1e-3
    np.testing.assert_allclose(periodic[0], offered[0], atol=1e-6)
    np.testing.assert_allclose(periodic[1], offered[0], atol=1e-6)  # refused: the baseline is still measured
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["learner_validation_success"] for r in rows] == [0.2, 0.3, 1.0 if last_is_better else 0.0]
    assert [r["gate_accepted"] for r in rows] == [True, False, last_is_better]
    assert rows[1]["gate_wins"] == 1 and rows[1]["gate_losses"] == 0 and rows[1]["gate_p_value"] == 0.5
    assert rows[-1]["gate_env_steps"] == 3 * 10 * 7
    deployed = res.skill.provenance["deployed"]
    assert deployed["selection"] == "improvement gate"
    expected = offered[2] if last_is_better else offered[0]
    assert deployed["steps"] == (300 if last_is_better else 100)
    np.testing.assert_allclose(periodic[2], expected, atol=1e-6)
    np.testing.assert_allclose(res.skill.predict(OBS), expected, atol=1e-5)
    assert sorted(p.name for p in (tmp_path / "r" / T.GATE_DIR).iterdir()) == (
        [f"step_{s:012d}.safetensors" for s in ((100, 300) if last_is_better else (100,))])
    reloaded = SkillLibrary(tmp_path / "lib").load("reach-v3")
    np.testing.assert_array_equal(reloaded.predict(OBS), res.skill.predict(OBS))


def test_improvement_gate_settings_are_checked(tmp_path):
    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=10, run_dir=str(tmp_path / "r"), gate_delta=0.0)
    with pytest.raises(ValueError, match="gate_delta"):
        train(cfg, progress=False)
