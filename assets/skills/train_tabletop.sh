#!/usr/bin/env bash
# Reproduces the shipped tabletop skills in assets/skills (run from the repository root; ≈40 min on 2 cores).
# Each skill: 100 oracle demonstrations, sac-demos (SAC with the demonstrations in the replay buffer, RLPD-style)
# for up to 20 000 env steps, seed 0, 1 torch thread; it stops early once a 20-episode
# periodic evaluation is 100 % *after* the actor has had RL updates (never on the BC initialisation), then a
# 200-episode evaluation on seeds 0..199 is registered in the manifest.
# Afterwards the affordance models: bash assets/skills/train_affordances.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
JOBS=${JOBS:-2}
# open_drawer and close_window ship from ibrl + DAgger since the thirty-second session (issue 19 item 5; open_drawer
# v0008/v0009, close_window v0007/v0008; ship rules in bench_results/tabletop/SHIP_RULE_*_s32.md): the IBRL_SKILLS
# loop below. SKILLS="... open_drawer close_window" IBRL_SKILLS= gives the earlier sac-demos versions. place_in_bin
# was retrained the same way and not shipped (0.93 against 0.95).
SKILLS=${SKILLS:-"pick_red_block pick_blue_block place_in_drawer place_in_bin place_on_table close_drawer press_button open_window"}
IBRL_SKILLS=${IBRL_SKILLS:-"open_drawer close_window"}
mkdir -p runs/shipped
steps_for() { echo "${STEPS:-20000}"; }
for s in $SKILLS; do echo "$s $(steps_for "$s")"; done | xargs -P "$JOBS" -L 1 sh -c \
  'skillstack train "tabletop/$0" --algo sac-demos --steps "$1" --seed 0 --n-demos 100 --eval-every 5000 \
     --stop-at-success 1.0 --final-eval-episodes 200 --threads 1 --skill-name "$0" --library assets/skills \
     --run-dir "runs/shipped/$0" > "runs/shipped/$0.log" 2>&1 && echo "done $0" || echo "FAILED $0"'
for s in $IBRL_SKILLS; do echo "$s"; done | xargs -P "$JOBS" -L 1 sh -c \
  'skillstack train "tabletop/$0" --algo ibrl --steps 15000 --seed 0 --n-demos 100 --bc-pretrain-steps 8000 \
     --bc-dagger-rounds 4 --dagger-episodes 25 --eval-every 2500 --eval-episodes 50 --stop-at-success 1.0 \
     --final-eval-episodes 200 --threads 1 --skill-name "$0" --library assets/skills \
     --run-dir "runs/shipped/$0" > "runs/shipped/$0.log" 2>&1 && echo "done $0" || echo "FAILED $0"'
