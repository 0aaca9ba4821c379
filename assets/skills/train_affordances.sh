#!/usr/bin/env bash
# Fits the Monte-Carlo affordance model of every shipped tabletop skill and writes the held-out report
# (run from the repository root after train_tabletop.sh; ≈15 min on 2 cores).
# Per skill: 3 000 executions of the skill's own policy from seeded starts (half where its preconditions hold,
# half from any valid scene state) train a gradient-boosted tree classifier (scikit-learn, exported to
# safetensors arrays); 400 held-out executions measure it.
# The skill is re-saved as a new library version with affordance.safetensors and the metrics in its manifest.
set -euo pipefail
cd "$(dirname "$0")/../.."
A="pick_red_block pick_blue_block place_in_drawer place_in_bin place_on_table"
B="open_drawer close_drawer press_button open_window close_window"
skillstack skills train-affordance $A --n-train 3000 --n-test 400 --threads 1 --library assets/skills &
skillstack skills train-affordance $B --n-train 3000 --n-test 400 --threads 1 --library assets/skills &
wait
skillstack skills affordance-report --n-test 400 --library assets/skills --out bench_results/affordance
