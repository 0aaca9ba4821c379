"""Retry probe (twenty-fourth session): for the development chains of ``chain_probe.py`` whose first failure is a
pick, rerun the chain to that failure and give the pick one more attempt from the state it left, as the executor's
retry does (:func:`chain_probe.run_skill`: the ready move, then the policy) — once with the policy as shipped (the
most probable mixture component's mean, deterministic) and ``TRIALS`` times with the component sampled from the
mixture weights (robomimic's evaluation of a GMM policy samples the component; Mandlekar et al. 2021).

Usage: ``python retry_probe.py FIRST_SEED N TRIALS`` (development layouts only).

Measured (1000–1099, shipped library with ``pick_can`` v0016): the retry lifted the object in 8 of the 15 failed
first picks (``pick_can`` 6 of 9, ``pick_milk`` 2 of 6); sampled components 27 of 45 tries (``pick_can`` 21 of 27,
``pick_milk`` 6 of 18). The ``pick_milk`` retries that failed started with the carton already knocked over.
"""

import sys
import types

import torch
from chain_probe import CHAIN, load_skills, run_skill

from skillstack.envs.robosuite_scene import PickPlaceScene


def sampled_forward_chunk(actor, generator: torch.Generator):
    """``GMMActor.forward_chunk`` with the component drawn from the mixture weights instead of the argmax."""

    def forward_chunk(self, obs: torch.Tensor) -> torch.Tensor:
        means, _, logits = self._heads(obs)
        k = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[:, 0]
        best = means[torch.arange(obs.shape[0]), k]
        return best.reshape(obs.shape[0], self.arch["chunk_size"], self.arch["act_dim"])

    return types.MethodType(forward_chunk, actor)


def main() -> None:
    first, n, trials = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    skills = load_skills([])
    env = PickPlaceScene()

    def chain_to_failure(seed: int):
        obs, _ = env.reset(seed=seed)
        for name in CHAIN:
            obs, ok = run_skill(env, obs, skills[name])
            if not ok:
                return name, obs
        return None, obs

    totals: dict[str, list[int]] = {}
    for seed in range(first, first + n):
        failed, _ = chain_to_failure(seed)
        if failed is None or not failed.startswith("pick"):
            continue
        lifted = []
        for trial in range(trials + 1):
            _, obs = chain_to_failure(seed)  # deterministic: the same state every time
            skill = skills[failed]
            shipped = skill.policy.forward_chunk
            if trial:
                skill.policy.forward_chunk = sampled_forward_chunk(skill.policy, torch.Generator().manual_seed(trial))
            lifted.append(int(run_skill(env, obs, skill)[1]))
            skill.policy.forward_chunk = shipped
        print(seed, failed, "retry", lifted[0], "sampled-component retries", lifted[1:], flush=True)
        t = totals.setdefault(failed, [0, 0, 0, 0])
        t[0] += 1
        t[1] += lifted[0]
        t[2] += sum(lifted[1:])
        t[3] += trials
    print("per skill [failed first picks, retry lifted, sampled lifted, sampled tries]", totals)


if __name__ == "__main__":
    main()
