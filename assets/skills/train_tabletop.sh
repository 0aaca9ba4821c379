#!/usr/bin/env bash
# Reproduces the shipped tabletop skills in assets/skills (run from the repository root; ≈40 min on 2 cores).
# Each skill: 100 oracle demonstrations, sac-demos (RL with the demonstrations in the replay buffer) for up
# to 20 000 env steps (stops early once a 20-episode periodic evaluation is 100 %), seed 0, 1 torch thread,
# then a 200-episode evaluation on seeds 0..199 whose success rate is registered in the manifest.
# Afterwards the affordance models: bash assets/skills/train_affordances.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
JOBS=${JOBS:-2}
STEPS=${STEPS:-20000}
SKILLS=${SKILLS:-"pick_red_block pick_blue_block place_in_drawer place_in_bin place_on_table open_drawer close_drawer press_button open_window close_window"}
printf '%s\n' $SKILLS | xargs -P "$JOBS" -I{} sh -c \
  "skillstack train tabletop/{} --algo sac-demos --steps $STEPS --seed 0 --n-demos 100 --eval-every 5000 \
     --stop-at-success 1.0 --final-eval-episodes 200 --threads 1 --skill-name {} --library assets/skills \
     --run-dir runs/shipped/{} > runs/shipped/{}.log 2>&1 && echo 'done {}' || echo 'FAILED {}'"
