#!/usr/bin/env bash
# Monte-Carlo affordances of the robosuite PickPlace scene's skills (after train_robosuite_scene.sh): per skill,
# 300 executions of its own policy from seeded starts (half where its precondition holds, half from any scene
# state: the object already in its bin, another object in the hand, nothing in the hand, the object already
# lifted) train gradient-boosted trees; 150 held-out executions measure them (AUROC, Brier, ECE in the manifest).
# ≈ 10 min per skill on one core. SKILLS selects a subset; N_TRAIN sets the training executions (the
# pick_can v0011 affordance: SKILLS=pick_can N_TRAIN=900, ≈ 30 min; held-out AUROC 0.884 against 0.836 with 300).
# Tenth session, for the picks cloned from the expert with approach clearance: SKILLS="pick_can pick_bread"
# N_TRAIN=900 WORKERS=2 (≈ 19 min per skill with 2 workers): held-out AUROC pick_can v0013 0.942 (v0011: 0.884),
# pick_bread v0008 0.833 (v0006: 0.805).
# Pick starts are recorded before the ready move (info["decision_observation"], where planners score them).
set -euo pipefail
cd "$(dirname "$0")/../.."
SKILLS=${SKILLS:-"pick_can place_can pick_milk place_milk pick_bread place_bread pick_cereal place_cereal"}
N_TRAIN=${N_TRAIN:-300}
WORKERS=${WORKERS:-1}  # processes that execute the skill (the same outcomes for any number)
# shellcheck disable=SC2086
skillstack skills train-affordance $SKILLS --scene robosuite-pickplace --n-train "$N_TRAIN" --n-test 150 --threads 1 \
    --workers "$WORKERS" --library assets/skills
# Place affordances from -v2 starts (half of them staged by the learned pick: the grasps a plan hands a place
# skill). place_cereal v0007 (ninth session): its -v1 affordance (v0006) read 0.002 on learned-pick grasps that
# the skill then placed, so SayCan chose "done" instead; from -v2 starts: held-out AUROC 1.000. place_bread v0004
# was trained in -v2 (its own env). Set PLACE_V2="" to skip.
PLACE_V2=${PLACE_V2-"place_cereal"}
for s in $PLACE_V2; do
    skillstack skills train-affordance "$s" --scene robosuite-pickplace --env "robosuite-pickplace/$s-v2" \
        --n-train "$N_TRAIN" --n-test 150 --threads 1 --workers "$WORKERS" --library assets/skills
done
