"""IBRL (issue 19): the proposal logic, the deployed policy in the skill library, and a seeded smoke run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skillstack.envs import UnknownNameError
from skillstack.skills.algorithms import ALGORITHMS
from skillstack.skills.networks import ArchitectureError, MLPActor, QProposalActor, build_network
from skillstack.skills.train import TrainConfig, train

TINY = dict(env_id="metaworld/reach-v3", seed=0, eval_every=10_000, final_eval_episodes=1, max_episode_steps=30,
            n_demos=1, bc_pretrain_steps=20, actor_warmup_updates=10, hidden_sizes=(32, 32), batch_size=32)


def _model(beta: float | None = None, selection: str = "min"):  # noqa: ANN202
    from skillstack.envs import make_env
    from skillstack.skills.algorithms import build_ibrl

    cfg = TrainConfig(algo="ibrl", steps=64, proposal_beta=beta, proposal_selection=selection, **TINY)
    return build_ibrl(cfg, make_env("metaworld/reach-v3"), None)


def test_registered_with_its_source():
    spec = ALGORITHMS.get("ibrl")
    assert "arXiv:2311.02198" in spec.description and spec.uses_demonstrations and spec.off_policy


def test_before_freezing_it_is_sac():
    model = _model()
    assert not model.bc_ready
    from skillstack.skills.networks import MLPActor as _A

    assert isinstance(ALGORITHMS.get("ibrl").actor_from_model(model), _A)


def test_proposal_with_the_higher_q_is_chosen_in_acting_and_in_the_target():
    model = _model()
    model.freeze_bc_policy()
    goal = torch.tensor([0.5, -0.5, 0.2, 0.0])

    def q(obs, actions, target=False):  # noqa: ANN001, ANN202 - a known critic: closer to goal is better
        return -((actions - goal) ** 2).sum(-1)

    model.q_value = q
    obs = torch.zeros(6, 39)
    a_bc = model.bc_actor(obs)
    near = goal.expand(3, 4)
    far = -goal.expand(3, 4)
    a_rl = torch.cat([near, far])  # RL is better in the first three states, worse in the last three
    chosen, use_bc, value = model.select(obs, a_rl)
    bc_better = q(obs, a_bc) > q(obs, a_rl)
    assert torch.equal(use_bc, bc_better)
    assert torch.equal(chosen, torch.where(bc_better.unsqueeze(-1), a_bc, a_rl))
    assert torch.allclose(value, torch.maximum(q(obs, a_bc), q(obs, a_rl)))
    assert not use_bc[:3].any()  # the RL action at the goal beats anything else


def test_deployed_policy_takes_the_higher_valued_proposal_and_round_trips():
    rl = MLPActor(3, 2, [4], "relu", "tanh")
    bc = MLPActor(3, 2, [4], "relu", "tanh")
    with torch.no_grad():
        for net, bias in ((rl, 2.0), (bc, -2.0)):
            for p in net.parameters():
                p.zero_()
            net.net[-1].bias.fill_(bias)  # rl → tanh(2) ≈ 0.96, bc → -0.96 on both dims
    policy = QProposalActor(rl, bc, [2], "relu", 2)
    with torch.no_grad():  # Q = relu(a0) - relu(-a0): prefers a positive first action dimension
        for c in policy.critics:
            for p in c.parameters():
                p.zero_()
            c[0].weight[0, 3], c[0].weight[1, 3] = 1.0, -1.0
            c[2].weight[0, 0], c[2].weight[0, 1] = 1.0, -1.0
    obs = torch.zeros(5, 3)
    assert torch.allclose(policy(obs), rl(obs))
    with torch.no_grad():
        for c in policy.critics:
            c[2].weight.mul_(-1)  # now the BC proposal is worth more
    assert torch.allclose(policy(obs), bc(obs))
    copy = build_network(QProposalActor.kind, policy.arch)
    copy.load_state_dict(policy.state_dict())
    assert torch.equal(copy(obs), policy(obs))


def _two_constant_proposals() -> tuple[MLPActor, MLPActor]:
    rl, bc = MLPActor(3, 1, [4], "relu", "tanh"), MLPActor(3, 1, [4], "relu", "tanh")
    with torch.no_grad():
        for net, bias in ((rl, 2.0), (bc, -2.0)):
            for p in net.parameters():
                p.zero_()
            net.net[-1].bias.fill_(bias)  # rl → 0.96, bc → -0.96
    return rl, bc


def _set_linear_critic(critic: torch.nn.Sequential, slope: float, offset: float = 0.0) -> None:
    """``Q(obs, a) = slope · a + offset`` for a one-dimensional action (through one ReLU pair)."""
    with torch.no_grad():
        for p in critic.parameters():
            p.zero_()
        critic[0].weight[0, 3], critic[0].weight[1, 3] = 1.0, -1.0
        critic[2].weight[0, 0], critic[2].weight[0, 1] = slope, -slope
        critic[2].bias[0] = offset


def test_cautious_selections_fall_back_to_the_bc_proposal_where_the_critics_are_not_sure():
    rl, bc = _two_constant_proposals()
    obs = torch.zeros(4, 3)
    for slopes, offsets, expected in (
        ((1.0, 2.0), (0.0, 0.0), {"min": "rl", "unanimous": "rl", "dominant": "rl"}),  # both critics prefer RL
        ((-1.0, -0.5), (0.0, 0.0), {"min": "bc", "unanimous": "bc", "dominant": "bc"}),  # both prefer BC
        # the critics disagree on the ranking: min Q_rl = -0.0096 > min Q_bc = -2.88 (IBRL: RL); the others: BC
        ((3.0, -0.01), (0.0, 0.0), {"min": "rl", "unanimous": "bc", "dominant": "bc"}),
        # both prefer RL by ≈ 1.9, but critic 1 reads everything 10 higher: only "dominant" is swayed by the offset
        ((1.0, 1.0), (10.0, 0.0), {"min": "rl", "unanimous": "rl", "dominant": "bc"}),
    ):
        for selection in QProposalActor.SELECTIONS:
            policy = QProposalActor(rl, bc, [2], "relu", 2, selection=selection)
            for critic, slope, offset in zip(policy.critics, slopes, offsets, strict=True):
                _set_linear_critic(critic, slope, offset)
            want = (rl if expected[selection] == "rl" else bc)(obs)
            assert torch.allclose(policy(obs), want), (slopes, offsets, selection)
            copy = build_network(QProposalActor.kind, policy.arch)  # the rule is part of the saved architecture
            copy.load_state_dict(policy.state_dict())
            assert torch.equal(copy(obs), policy(obs))


def test_proposal_selection_is_validated_and_old_architectures_load_as_min(tmp_path):
    from skillstack.skills.train import Run

    rl, bc = _two_constant_proposals()
    with pytest.raises(ArchitectureError, match="unanimous"):
        QProposalActor(rl, bc, [2], "relu", 2, selection="optimistic")
    arch = QProposalActor(rl, bc, [2], "relu", 2).arch
    old = {k: v for k, v in arch.items() if k != "selection"}  # a skill saved before the option existed
    assert QProposalActor.from_arch(old).selection == "min"
    assert QProposalActor.from_arch({**arch, "selection": "unanimous"}).selection == "unanimous"
    with pytest.raises(UnknownNameError, match="unanimous"):
        TrainConfig(env_id="metaworld/reach-v3", algo="ibrl", steps=64, proposal_selection="optimistic").resolved()
    for selection in QProposalActor.SELECTIONS:  # the training config reaches the deployed policy
        model = _model(selection=selection)
        model.freeze_bc_policy()
        assert ALGORITHMS.get("ibrl").actor_from_model(model).selection == selection
    # a resumed run keeps its rule (periodic evaluations, keep_best and the regression metric all deploy it)
    cfg = TrainConfig(algo="ibrl", steps=64, run_dir=str(tmp_path / "run"), **TINY)
    Run(cfg, resume=False, progress=False)
    Run(cfg, resume=True, progress=False)
    with pytest.raises(ValueError, match="proposal_selection differs"):
        Run(TrainConfig(**{**cfg.__dict__, "proposal_selection": "unanimous"}), resume=True, progress=False)


def test_short_run_saves_a_q_proposal_skill_that_loads(tmp_path):
    from skillstack.skills.library import SkillLibrary

    res = train(TrainConfig(algo="ibrl", steps=64, run_dir=str(tmp_path / "run"), **TINY), progress=False)
    assert res.skill.policy.kind == QProposalActor.kind
    lib = SkillLibrary(tmp_path / "lib")
    lib.save(res.skill)
    again = lib.load(res.skill.name)
    obs = np.random.default_rng(0).normal(size=(4, 39))
    np.testing.assert_array_equal(again.predict(obs), res.skill.predict(obs))


@pytest.mark.slow
def test_seeded_smoke_run_on_drawer_open_reaches_90_percent(tmp_path):
    cfg = TrainConfig(env_id="metaworld/drawer-open-v3", algo="ibrl", steps=6000, seed=0, n_demos=25,
                      eval_every=3000, final_eval_episodes=20, run_dir=str(tmp_path / "run"))
    res = train(cfg, progress=False)
    assert res.final_eval.success_rate >= 0.9, res.final_eval


def test_bc_dagger_rounds_are_refused_where_nothing_is_pretrained():
    with pytest.raises(ValueError, match="bc_dagger_rounds"):
        TrainConfig(algo="bc", steps=10, bc_dagger_rounds=1, **TINY).resolved()
    with pytest.raises(ValueError, match="bc_dagger_rounds"):
        TrainConfig(algo="ibrl", steps=10, bc_dagger_rounds=-1, **TINY).resolved()
    assert TrainConfig(algo="sac-demos", steps=10, bc_dagger_rounds=2, **TINY).resolved().bc_dagger_rounds == 2


def test_dagger_pretraining_aggregates_expert_labels_of_the_cloned_actors_visits(monkeypatch):
    """Each DAgger round adds the cloned actor's own visits, labelled by the scripted expert, to the BC data, and
    the frozen BC proposal is the actor after the last round."""
    from skillstack.skills import sb3_extras
    from skillstack.skills.algorithms import actor_from_sac
    from skillstack.skills.demos import collect_demonstrations
    from skillstack.skills.experts import make_expert

    calls = []
    real = sb3_extras.pretrain_actor_bc

    def recording(model, observations, actions, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append((np.array(observations), np.array(actions)))
        return real(model, observations, actions, *args, **kwargs)

    monkeypatch.setattr(sb3_extras, "pretrain_actor_bc", recording)
    cfg = TrainConfig(algo="ibrl", steps=64, bc_dagger_rounds=2, dagger_episodes=1, **TINY)
    model = _model()
    demos = collect_demonstrations(cfg.env_id, cfg.n_demos, seed=cfg.seed, max_episode_steps=30, progress=False)
    ALGORITHMS.get("ibrl").pretrain(model, cfg, demos, False)

    assert [len(o) for o, _ in calls] == [len(demos), len(demos) + 30, len(demos) + 60]
    np.testing.assert_array_equal(calls[0][0], demos.observations)
    expert = make_expert(cfg.env_id)
    new_obs, new_act = calls[2][0][len(demos):], calls[2][1][len(demos):]
    assert not np.allclose(new_obs[:30], demos.observations[:30])  # the actor's own visits, not the demo's
    np.testing.assert_allclose(new_act, np.stack([expert.predict(o) for o in new_obs]), atol=1e-6)
    obs = torch.as_tensor(new_obs[:8], dtype=torch.float32)
    with torch.no_grad():
        assert torch.allclose(model.bc_actor(obs), actor_from_sac(model)(obs))


def _critic_gap(conservatism: float) -> float:
    """Mean over critics of Q(s, a_π) − Q(s, a_demo) on the demonstrations after 150 updates from one seed."""
    from stable_baselines3.common.logger import configure

    from skillstack.envs import make_env
    from skillstack.skills.algorithms import build_ibrl
    from skillstack.skills.demos import collect_demonstrations

    cfg = TrainConfig(algo="ibrl", steps=64, ibrl_conservatism=conservatism, **TINY)
    torch.manual_seed(0)
    model = build_ibrl(cfg, make_env("metaworld/reach-v3"), None)
    demos = collect_demonstrations(cfg.env_id, 2, seed=0, max_episode_steps=30, progress=False)
    ALGORITHMS.get("ibrl").attach_demonstrations(model, cfg, demos)
    model.set_logger(configure(None, []))
    model.train(gradient_steps=150, batch_size=32)
    obs = torch.as_tensor(demos.observations, dtype=torch.float32)
    with torch.no_grad():
        a_pi = model.actor(obs, deterministic=True)
        q_pi = torch.cat(model.critic(obs, a_pi), dim=1)
        q_d = torch.cat(model.critic(obs, torch.as_tensor(demos.actions)), dim=1)
    return float((q_pi - q_d).mean())


def test_conservatism_lowers_the_value_of_the_actors_actions_below_the_datas():
    """The CQL-style term (``ibrl_conservatism``) must open a gap Q(s, a_demo) > Q(s, a_π) that plain IBRL
    critics do not have; negative weights are refused."""
    plain, conservative = _critic_gap(0.0), _critic_gap(1.0)
    assert conservative < plain - 0.05 and conservative < 0
    with pytest.raises(ValueError, match="conservatism must be"):
        from skillstack.envs import make_env
        from skillstack.skills.algorithms import build_ibrl

        build_ibrl(TrainConfig(algo="ibrl", steps=64, ibrl_conservatism=-1.0, **TINY), make_env("metaworld/reach-v3"),
                   None)
