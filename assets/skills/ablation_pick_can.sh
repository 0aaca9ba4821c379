#!/usr/bin/env bash
# Issue 18 ablation on the robosuite scene skill pick_can: plain BC, + action chunking, + DART noise-injected
# demonstrations, + both. Same 100 demonstrations (seed 0; DART arms: the same starts with noisy execution),
# 6000 gradient steps, evaluated on 100 seeded starts (seeds 0-99, never demonstrated). Each arm is a separate
# `skillstack train` run; an arm whose final_eval.json exists is skipped (re-run to resume). Summary:
# bench_results/robosuite_ablation/pick_can.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/../.."
ENV=robosuite-pickplace/pick_can-v0
OUT=${OUT:-runs/ablation_pick_can}
COMMON=(--algo bc --n-demos 100 --steps 6000 --eval-every 6000 --eval-episodes 10 --final-eval-episodes 100
        --threads 1 --no-register)
declare -A ARMS=(
  [bc]=""
  [bc_chunk]="--chunk-size 8 --execute-steps 4"
  [bc_dart]="--demo-noise 0.1"
  [bc_dart_chunk]="--demo-noise 0.1 --chunk-size 8 --execute-steps 4"
)
for arm in bc bc_chunk bc_dart bc_dart_chunk; do
  dir="$OUT/$arm"
  if [ -f "$dir/final_eval.json" ]; then echo "$arm: done"; continue; fi
  resume=(); [ -f "$dir/config.json" ] && resume=(--resume)
  # shellcheck disable=SC2086
  start=$SECONDS
  skillstack train "$ENV" "${COMMON[@]}" ${ARMS[$arm]} --run-dir "$dir" "${resume[@]}"
  echo $((SECONDS - start)) > "$OUT.$arm.wall"   # whole command: demonstrations, training, evaluations
done
python3 - "$OUT" <<'PY'
import json, sys
from pathlib import Path
from skillstack.envs.fileio import atomic_write_json, atomic_write_text
from skillstack.skills.evaluate import wilson_interval
out = Path(sys.argv[1]); rows = []
for arm in ("bc", "bc_chunk", "bc_dart", "bc_dart_chunk"):
    ev = json.loads((out / arm / "final_eval.json").read_text())
    cfg = json.loads((out / arm / "config.json").read_text())
    n = ev["n_episodes"]; k = round(ev["success_rate"] * n)
    wall = Path(f"{out}.{arm}.wall")
    rows.append({"arm": arm, "chunk_size": cfg["chunk_size"], "execute_steps": cfg["execute_steps"],
                 "demo_noise": cfg["demo_noise"], "n_demos": cfg["n_demos"], "grad_steps": cfg["steps"],
                 "episodes": n, "success_rate": ev["success_rate"], "wilson95": wilson_interval(k, n),
                 "mean_length": ev["mean_length"],
                 "wall_s": float(wall.read_text().split()[-1]) if wall.exists() else None})
dst = Path("bench_results/robosuite_ablation")
atomic_write_json(dst / "pick_can.json", {"env": "robosuite-pickplace/pick_can-v0", "rows": rows}, indent=1)
md = ["| arm | chunk / executed | DART σ | success (100 starts) | Wilson 95 % | mean length | wall [s] |",
      "|---|---|---|---|---|---|---|"]
for r in rows:
    lo, hi = r["wilson95"]
    md.append(f"| {r['arm']} | {r['chunk_size']} / {r['execute_steps']} | {r['demo_noise']} | "
              f"{r['success_rate']:.2f} | {lo:.2f}–{hi:.2f} | {r['mean_length']:.1f} | {r['wall_s'] or '–'} |")
atomic_write_text(dst / "pick_can.md", "\n".join(md) + "\n")
print("\n".join(md))
PY
