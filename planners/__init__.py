"""Scheduling layer: planners choose skills, the executor runs them closed-loop in the tabletop scene.

* :mod:`~skillstack.planners.base` — the interface: ``plan_step(instruction, history, observation, candidates)
  -> Decision`` with every candidate's language score, affordance and combined score.
* :mod:`~skillstack.planners.executor` — :func:`execute_plan` (a given skill sequence) and
  :func:`run_instruction` (planner in the loop: decide, execute, re-read the predicates, decide again).
* :mod:`~skillstack.planners.symbolic` — the symbolic oracle: shortest plans by breadth-first search over the
  skills' preconditions/effects.
* :mod:`~skillstack.planners.saycan` and :mod:`~skillstack.planners.lm` — SayCan scoring with the offline
  sentence-embedding backend (work in progress: not yet tuned or evaluated on an instruction suite).
"""
