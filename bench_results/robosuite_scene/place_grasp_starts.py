"""``place_bread`` on 100 starts each with the bread held (``require_applicable``), staged by the scripted pick of
``-v0`` / ``-v1`` or by a learned pick (``learned_pick_share=1.0``).

Usage: ``python bench_results/robosuite_scene/place_grasp_starts.py out.json [PLACE_VERSIONS [PICK_VERSION]]`` —
``PLACE_VERSIONS`` a comma-separated list of ``place_bread`` versions in ``assets/skills`` (default ``2,3``: v0002,
trained in ``-v0``, against v0003, trained in ``-v2``); ``PICK_VERSION`` the ``pick_bread`` version that stages the
learned-pick starts (default: ``-v2``'s pin, v0006). The thirty-first session's reading, ``6 14`` (the shipped
``place_bread`` after the newly shipped ``pick_bread`` v0014), is in
``precondition_evals/place_bread_grasp_starts_s31.json``.
"""

import json
import sys
from dataclasses import replace

from skillstack.envs.make import env_spec, register_env
from skillstack.skills.evaluate import evaluate
from skillstack.skills.library import SkillLibrary

place_versions = [int(v) for v in (sys.argv[2] if len(sys.argv) > 2 else "2,3").split(",")]
spec = env_spec("robosuite-pickplace/place_bread-v2")
kwargs = {**spec.kwargs, "learned_pick_share": 1.0}
if len(sys.argv) > 3:
    kwargs["staging_pick"] = ("pick_bread", int(sys.argv[3]))
register_env(replace(spec, name="diag/place_bread-learnedpick-v0", aliases=(), kwargs=kwargs))
env_ids = ["robosuite-pickplace/place_bread-v1", "diag/place_bread-learnedpick-v0"]
if place_versions == [2, 3]:  # the nineteenth-session table also read the -v0 scene's scripted grasps
    env_ids.insert(0, "robosuite-pickplace/place_bread-v0")
library = SkillLibrary("assets/skills")
out = {"staging_pick": list(kwargs["staging_pick"])}
for version in place_versions:
    skill = library.load("place_bread", version)
    for env_id in env_ids:
        r = evaluate(skill, env_id, 100, require_applicable=True, progress=False, label=f"v{version}")
        d = r.to_dict(with_episodes=False)
        out[f"v{version} {env_id}"] = {k: d.get(k) for k in ("success_rate", "success_ci95", "n_applicable")}
        print(version, env_id, out[f"v{version} {env_id}"], flush=True)
with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
