"""The algorithm registry (``skills/algorithms.py``): spec validation, the warm-up rule, and the SB3 training-rate
measurement built from the same model builders as training."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from skillstack.skills.algorithms import (
    ALGORITHMS,
    ENV_STEPS,
    GRADIENT_STEPS,
    RATE_WARMUP_STEPS,
    AlgorithmSpec,
    _rate_algorithm,
    _rate_model,
    build_sac,
    register_algorithm,
    sb3_training_rate,
)
from skillstack.skills.train import TrainConfig


def _dummy_train(run, resume, progress=True):  # noqa: ANN001, ANN202 - never called
    raise AssertionError("not called")


def _spec(**kw) -> AlgorithmSpec:  # noqa: ANN003
    base = dict(name="x", description="x (nobody 2024)", train=_dummy_train, step_unit=ENV_STEPS,
                default_eval_every=10)
    return AlgorithmSpec(**{**base, **kw})


def test_the_documented_algorithms_are_registered():
    assert {"bc", "dagger", "sac", "ppo", "sac-demos"} <= set(ALGORITHMS.names())


@pytest.mark.parametrize("bad,match", [
    (dict(step_unit="episodes"), "step_unit"),
    (dict(description=" "), "description"),
    (dict(default_eval_every=0), "default_eval_every"),
    (dict(build_model=build_sac), "actor_from_model"),
    (dict(off_policy=True), "off_policy needs build_model"),
    (dict(vectorised=True), "vectorised needs build_model"),
    (dict(expert_relabelling=True), "expert_relabelling needs uses_demonstrations"),
])
def test_inconsistent_specs_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        _spec(**bad)


def test_specs_are_frozen_and_names_unique():
    spec = ALGORITHMS.get("sac")
    with pytest.raises(AttributeError):
        spec.off_policy = False  # type: ignore[misc]
    with pytest.raises(ValueError, match="already registered"):
        register_algorithm(_spec(name="sac"))
    assert ALGORITHMS.get("sac") is spec


def test_rl_starts_after_the_sac_demos_warmup_only():
    cfg = TrainConfig(env_id="metaworld/reach-v3", algo="sac-demos", steps=10, batch_size=32, actor_warmup_updates=10)
    sac_demos, sac = ALGORITHMS.get("sac-demos"), ALGORITHMS.get("sac")
    assert sac_demos.warmup_steps(cfg) == 42 and sac.warmup_steps(cfg) == 0
    at = lambda steps: SimpleNamespace(cfg=cfg, state=SimpleNamespace(steps=steps))  # noqa: E731
    assert not sac_demos.rl_started(at(42)) and sac_demos.rl_started(at(43))
    assert sac.rl_started(at(1)) and ALGORITHMS.get("bc").rl_started(at(1))


def test_default_eval_interval_comes_from_the_spec():
    for name in ALGORITHMS.names():
        cfg = TrainConfig(env_id="metaworld/reach-v3", algo=name, steps=10).resolved()
        assert cfg.eval_every == cfg.checkpoint_every == ALGORITHMS.get(name).default_eval_every
    assert ALGORITHMS.get("bc").step_unit == GRADIENT_STEPS and ALGORITHMS.get("ppo").step_unit == ENV_STEPS


@pytest.mark.parametrize("algo", ["sac", "ppo"])
def test_rate_model_has_the_settings_bench_always_used(algo):
    """``bench throughput`` built ``SAC("MlpPolicy", env, batch_size=256, learning_starts=256, seed, device="cpu",
    policy_kwargs={"net_arch": [256, 256]})`` and ``PPO("MlpPolicy", env, seed, device="cpu")``: the builder-made
    model must be the same (same initial weights, same hyperparameters), so throughput numbers stay comparable."""
    from stable_baselines3 import PPO, SAC

    from skillstack.envs import make_env

    ours = _rate_model(_rate_algorithm(algo), make_env("metaworld/reach-v3"), seed=5)
    if algo == "sac":
        ref = SAC("MlpPolicy", make_env("metaworld/reach-v3"), batch_size=256, learning_starts=RATE_WARMUP_STEPS,
                  seed=5, device="cpu", policy_kwargs={"net_arch": [256, 256]})
        keys = ("batch_size", "learning_starts", "buffer_size", "train_freq", "gradient_steps", "ent_coef", "tau")
    else:
        ref = PPO("MlpPolicy", make_env("metaworld/reach-v3"), seed=5, device="cpu")
        keys = ("n_steps", "batch_size", "n_epochs", "gamma", "ent_coef")
    assert type(ours) is type(ref)
    for k in (*keys, "tensorboard_log", "verbose", "device"):
        assert getattr(ours, k) == getattr(ref, k), k
    a, b = ours.policy.state_dict(), ref.policy.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_sb3_training_rate_is_positive_and_refuses_other_algorithms():
    assert 0 < sb3_training_rate("metaworld/reach-v3", "sac", 20) < 1e5
    timed = [n for n in ALGORITHMS.names()
             if ALGORITHMS.get(n).build_model is not None and not ALGORITHMS.get(n).uses_demonstrations]
    assert {"sac", "ppo"} <= set(timed)
    for algo in ("bc", "sac-demos", "td3"):
        with pytest.raises(ValueError, match="must be one of") as e:
            sb3_training_rate("metaworld/reach-v3", algo, 10)
        assert all(repr(n) in str(e.value) for n in timed) and repr(algo) in str(e.value)
    with pytest.raises(ValueError, match="steps must be positive"):
        sb3_training_rate("metaworld/reach-v3", "ppo", 0)
