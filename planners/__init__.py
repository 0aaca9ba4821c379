"""Scheduling layer: planners choose skills, the executor runs them closed-loop in the tabletop scene.

* :mod:`~skillstack.planners.base` — the interface: ``plan_step(instruction, history, observation, candidates)
  -> Decision`` with every candidate's language score, affordance and combined score; :func:`make_planner`
  (checked against the scene by the planner registry).
* :mod:`~skillstack.planners.executor` — :func:`execute_plan` (a given skill sequence) and
  :func:`run_instruction` (planner in the loop: decide, execute, re-read the predicates, decide again).
* :mod:`~skillstack.planners.saycan` and :mod:`~skillstack.planners.lm` — SayCan (language × affordance) with
  the ``embedding`` (offline MiniLM, exemplar retrieval), ``hf-causal`` and ``openai-compatible`` backends.
* :mod:`~skillstack.planners.generative` — whole-plan generation, symbolic validation, LM self-repair.
* :mod:`~skillstack.planners.learned` — a policy over skills trained by imitation of the symbolic oracle.
* :mod:`~skillstack.planners.symbolic` — the symbolic oracle: shortest plans by breadth-first search over the
  skills' preconditions/effects.
* :mod:`~skillstack.planners.suite`, :mod:`~skillstack.planners.templates`, :mod:`~skillstack.planners.evaluate`
  — the instruction suite, templated exemplars/training instructions, plan and execution success.
"""
