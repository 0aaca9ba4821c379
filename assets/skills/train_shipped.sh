#!/usr/bin/env bash
# Reproduces the shipped Meta-World skills in assets/skills (run from the repository root).
# Each run: 25 scripted-expert demonstrations, sac-demos for 15 000 env steps (seed 0, 1 torch thread),
# then a 100-episode evaluation on seeds 0..99 whose success rate is registered in the manifest.
set -euo pipefail
cd "$(dirname "$0")/../.."
common=(--algo sac-demos --steps 15000 --seed 0 --eval-every 5000 --threads 1 --library assets/skills)
skillstack train metaworld/drawer-open-v3 "${common[@]}" --skill-name mw_open_drawer --run-dir runs/shipped_mw/mw_open_drawer
skillstack train metaworld/drawer-close-v3 "${common[@]}" --skill-name mw_close_drawer --run-dir runs/shipped_mw/mw_close_drawer
skillstack train metaworld/button-press-topdown-v3 "${common[@]}" --skill-name mw_press_button_topdown \
  --run-dir runs/shipped_mw/mw_press_button_topdown
# mw_pick_place ships from ibrl + DAgger since the thirty-second session (v0002; issue 19 item 5, rule declared first in
# assets/skills/SHIP_RULE_mw_pick_place_s32.md); "${common[@]}" with --skill-name mw_pick_place gives v0001.
skillstack train metaworld/pick-place-v3 --algo ibrl --steps 15000 --seed 0 --n-demos 100 --bc-pretrain-steps 8000 \
  --bc-dagger-rounds 4 --dagger-episodes 25 --eval-every 2500 --eval-episodes 50 --stop-at-success 1.0 \
  --final-eval-episodes 100 --threads 1 --library assets/skills --skill-name mw_pick_place \
  --run-dir runs/shipped_mw/mw_pick_place
