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
skillstack train metaworld/pick-place-v3 "${common[@]}" --skill-name mw_pick_place --run-dir runs/shipped_mw/mw_pick_place
