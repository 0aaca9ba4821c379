"""Benchmark runners behind ``skillstack bench`` — one module per benchmark, results as JSON + Markdown (+ PNG)
with the config, package versions and git sha (:func:`~skillstack.launch.bench.common.write_result`).

* :mod:`.throughput` — env steps/s, SB3 training steps/s, planner decision latency;
* :mod:`.skills` — skill success rates, evaluate-only or train-and-evaluate (MT10/MT50/scene skill suites);
* :mod:`.long_horizon` — plan and execution success of planners on a scene's instruction suite;
* :mod:`.sample_efficiency` — wall-clock and env steps to a success threshold.
"""

from __future__ import annotations

from skillstack.launch.bench.long_horizon import run_long_horizon
from skillstack.launch.bench.sample_efficiency import run_sample_efficiency
from skillstack.launch.bench.skills import (
    SKILLS_BENCH_SEED_BASE,
    eval_skill_unit,
    run_skills_bench,
    run_train_bench,
    task_suite,
    train_eval_unit,
)
from skillstack.launch.bench.throughput import planner_latency, run_throughput, training_rate

__all__ = [
    "SKILLS_BENCH_SEED_BASE", "eval_skill_unit", "planner_latency", "run_long_horizon", "run_sample_efficiency",
    "run_skills_bench", "run_throughput", "run_train_bench", "task_suite", "train_eval_unit", "training_rate",
]
