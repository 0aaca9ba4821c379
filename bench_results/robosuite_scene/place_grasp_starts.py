"""``place_bread`` v0002 (trained in ``-v0``) against v0003 (trained in ``-v2``) on 100 starts each with the bread
held (``require_applicable``), staged by the scripted pick of ``-v0`` / ``-v1`` or by the shipped learned pick
(``learned_pick_share=1.0``). Usage: ``python bench_results/robosuite_scene/place_grasp_starts.py out.json``."""

import json
import sys
from dataclasses import replace

from skillstack.envs.make import env_spec, register_env
from skillstack.skills.evaluate import evaluate
from skillstack.skills.library import SkillLibrary

spec = env_spec("robosuite-pickplace/place_bread-v2")
register_env(replace(spec, name="diag/place_bread-learnedpick-v0", aliases=(),
                     kwargs={**spec.kwargs, "learned_pick_share": 1.0}))
library = SkillLibrary("assets/skills")
out = {}
for version in (2, 3):
    skill = library.load("place_bread", version)
    for env_id in ("robosuite-pickplace/place_bread-v0", "robosuite-pickplace/place_bread-v1",
                   "diag/place_bread-learnedpick-v0"):
        r = evaluate(skill, env_id, 100, require_applicable=True, progress=False, label=f"v{version}")
        d = r.to_dict(with_episodes=False)
        out[f"v{version} {env_id}"] = {k: d.get(k) for k in ("success_rate", "success_ci95", "n_applicable")}
        print(version, env_id, out[f"v{version} {env_id}"], flush=True)
with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
