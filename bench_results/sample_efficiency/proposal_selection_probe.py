"""Re-evaluate an IBRL checkpoint of ``bench sample-efficiency`` under each deployed proposal rule.

Usage: python bench_results/sample_efficiency/proposal_selection_probe.py RUN_DIR STEP [N_EPISODES]

Loads ``RUN_DIR/checkpoints/step_<STEP>/model.zip`` (weights only, as ``--resume`` does) and evaluates, on
``N_EPISODES`` seeded episodes from seed 7 000 000 (disjoint from the periodic and final evaluation seeds), the
deployed policy under each ``proposal_selection`` ("min" = IBRL, "unanimous", "dominant"), and the BC and RL
proposals alone; prints the success rates and, for the cautious rules, the share of steps on which the RL proposal
was executed. Checkpoints stay local (only the last two of a run are kept), so this reproduces the numbers in
docs/results/metaworld_rl.md only on a machine that ran those units.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from skillstack.skills.algorithms import ALGORITHMS
from skillstack.skills.evaluate import evaluate
from skillstack.skills.ibrl import actor_from_ibrl
from skillstack.skills.train import TrainConfig, _make_vec, _policy_fn


def main(run_dir: Path, step: int, n: int) -> None:
    torch.set_num_threads(1)
    raw = json.loads((run_dir / "config.json").read_text())
    cfg = TrainConfig(**{k: v for k, v in raw.items() if k in TrainConfig.__dataclass_fields__}).resolved()
    model = ALGORITHMS.get(cfg.algo).build_model(cfg, _make_vec(cfg), None)
    model.set_parameters(str(run_dir / "checkpoints" / f"step_{step:012d}" / "model.zip"), exact_match=True,
                         device=model.device)
    for name in ("min", "unanimous", "dominant", "bc", "rl"):
        shares: list[float] = []
        model.proposal_selection = name if name not in ("bc", "rl") else "min"
        policy = actor_from_ibrl(model)
        if name in ("unanimous", "dominant"):
            use_rl = policy.use_rl

            def counting(obs, a_rl, a_bc, _f=use_rl, _shares=shares):  # noqa: ANN001, ANN202
                out = _f(obs, a_rl, a_bc)
                _shares.append(float(out.float().mean()))
                return out

            policy.use_rl = counting
        elif name in ("bc", "rl"):
            policy = policy.bc if name == "bc" else policy.rl
        res = evaluate(_policy_fn(policy), cfg.env_id, n, seed_base=7_000_000,
                       max_episode_steps=cfg.max_episode_steps)
        extra = f" (RL proposal on {100 * sum(shares) / len(shares):.1f} % of steps)" if shares else ""
        print(f"{run_dir.parent.name} {run_dir.name[-2:]} step {step} {name}: {res.success_rate:.2f}{extra}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 50)
