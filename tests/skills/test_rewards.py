"""The ``reward="success"`` MDP (IBRL's sparse, success-terminal Meta-World setting) and its wiring into training."""

from __future__ import annotations

from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest

from skillstack.envs import UnknownNameError, make_env
from skillstack.envs.rewards import REWARDS, SuccessReward, with_reward
from skillstack.skills.demos import collect_demonstrations
from skillstack.skills.train import TrainConfig, _make_vec, train

from .test_train import TINY


class _FakeEnv(gym.Env):
    """Succeeds on the third step; reports ``success`` only if ``report``."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,))
    action_space = gym.spaces.Box(-1.0, 1.0, (1,))

    def __init__(self, report: bool = True) -> None:
        self.report, self.t = report, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        info = {"success": self.t >= 3} if self.report else {}
        return np.zeros(2, dtype=np.float32), 5.0 + self.t, False, False, info


def test_success_reward_is_one_at_success_and_ends_the_episode():
    env = SuccessReward(_FakeEnv())
    env.reset(seed=0)
    steps = [env.step(np.zeros(1)) for _ in range(3)]
    assert [s[1] for s in steps] == [0.0, 0.0, 1.0]
    assert [s[2] for s in steps] == [False, False, True]
    assert [s[4]["env_reward"] for s in steps] == [6.0, 7.0, 8.0]
    assert with_reward(_FakeEnv(), "env").__class__ is _FakeEnv
    with pytest.raises(UnknownNameError, match="valid reward names: env, success"):
        with_reward(_FakeEnv(), "sparse")
    bad = SuccessReward(_FakeEnv(report=False))
    bad.reset()
    with pytest.raises(KeyError, match="no 'success' entry"):
        bad.step(np.zeros(1))


def test_success_reward_demonstrations_end_at_the_first_success():
    kw = dict(max_episode_steps=300, progress=False)
    shaped = collect_demonstrations("metaworld/drawer-open-v3", 2, **kw)
    sparse = collect_demonstrations("metaworld/drawer-open-v3", 2, reward="success", **kw)
    assert shaped.episode_success.all() and sparse.episode_success.all()
    assert shaped.terminals.sum() == 0 and len(shaped) == 600  # run to the horizon, time limits are not terminals
    for ep in range(2):
        r = sparse.rewards[sparse.episode_ids == ep]
        term = sparse.terminals[sparse.episode_ids == ep]
        assert r[-1] == 1.0 and term[-1] == 1.0 and r[:-1].sum() == 0 and term[:-1].sum() == 0
        # the same seeded expert episode, cut where the success signal first fires
        first = int(np.argmax(_success_steps(ep)))
        assert len(r) == first + 1
    assert len(sparse) < len(shaped)


def _success_steps(ep: int) -> np.ndarray:
    """Per-step success flags of expert episode ``ep`` (seeded as ``collect_demonstrations`` seeds it)."""
    from skillstack.skills.demos import DEMO_SEED_BASE
    from skillstack.skills.experts import make_expert

    env, expert = make_env("metaworld/drawer-open-v3", max_episode_steps=300), make_expert("metaworld/drawer-open-v3")
    obs, _ = env.reset(seed=DEMO_SEED_BASE + ep)
    flags = []
    for _ in range(300):
        obs, _, _, _, info = env.step(expert.predict(obs))
        flags.append(float(info["success"]))
    return np.asarray(flags)


def test_train_config_validates_reward_and_the_training_env_uses_it(tmp_path):
    assert REWARDS == ("env", "success")
    with pytest.raises(UnknownNameError, match="valid reward names"):
        TrainConfig(env_id="metaworld/reach-v3", algo="ibrl", steps=10, reward="sparse").resolved()
    with pytest.raises(ValueError, match="for the RL algorithms"):
        TrainConfig(env_id="metaworld/reach-v3", algo="bc", steps=10, reward="success").resolved()
    cfg = TrainConfig(algo="sac", steps=64, reward="success", run_dir=str(tmp_path / "r"), **TINY).resolved()
    venv = _make_vec(cfg)
    chain, env = [], venv.envs[0]
    while isinstance(env, gym.Wrapper):
        chain.append(type(env).__name__)
        env = env.env
    assert chain[0] == "ResetRNGRecorder" and "SuccessReward" in chain  # the recorder stays outermost (resume.py)
    venv.reset()
    _, rewards, _, _ = venv.step(np.zeros((1, 4), dtype=np.float32))
    assert rewards[0] in (0.0, 1.0)
    venv.close()


def test_ibrl_trains_on_the_success_reward_and_resume_refuses_another(tmp_path):
    cfg = TrainConfig(algo="ibrl", steps=64, reward="success", run_dir=str(tmp_path / "run"), **TINY)
    res = train(cfg, progress=False)
    assert res.state.steps >= 64
    from skillstack.skills.demos import Demonstrations

    demos = Demonstrations.load(tmp_path / "run" / "demos.npz")
    assert set(np.unique(demos.rewards)) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="reward differs"):
        train(replace(cfg, reward="env", steps=128), resume=True, progress=False)
