#!/usr/bin/env bash
# The robosuite PickPlace scene's 8 skills (pick_<o> / place_<o> for milk, bread, cereal, can), as shipped in
# assets/skills: behaviour cloning of the scripted oracles with action chunking (predict 8 actions, execute 4;
# the best arm of assets/skills/ablation_pick_can.sh); place skills 100 demonstrations and 6 000 gradient steps,
# pick skills 200 and 8 000 (their starts include the hand low in the right bin where a place leaves it; with 100
# demonstrations pick_milk reached 0.69 there, with 200 0.88, DAgger 0.65); evaluated on 100 seeded starts of the
# skill's own env (registered in the manifest). ≈ 4-7 min per skill on one core.
# Then the affordances: ./assets/skills/train_robosuite_affordances.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SKILLS=${SKILLS:-"pick_can place_can pick_milk place_milk pick_bread place_bread pick_cereal place_cereal"}
for s in $SKILLS; do
  if [[ $s == pick_* ]]; then data=(--n-demos 200 --steps 8000 --eval-every 8000); else
    data=(--n-demos 100 --steps 6000 --eval-every 6000); fi
  skillstack train "robosuite-pickplace/$s-v0" --algo bc "${data[@]}" --chunk-size 8 \
      --execute-steps 4 --eval-episodes 10 --final-eval-episodes 100 --skill-name "$s" \
      --threads 1 --library assets/skills --run-dir "runs/robosuite_scene/$s"
done
