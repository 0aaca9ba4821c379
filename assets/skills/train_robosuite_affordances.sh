#!/usr/bin/env bash
# Monte-Carlo affordances of the robosuite PickPlace scene's skills (after train_robosuite_scene.sh): per skill,
# 300 executions of its own policy from seeded starts (half where its precondition holds, half from any scene
# state: the object already in its bin, another object in the hand, nothing in the hand, the object already
# lifted) train gradient-boosted trees; 150 held-out executions measure them (AUROC, Brier, ECE in the manifest).
# ≈ 10 min per skill on one core. SKILLS selects a subset.
set -euo pipefail
cd "$(dirname "$0")/../.."
SKILLS=${SKILLS:-"pick_can place_can pick_milk place_milk pick_bread place_bread pick_cereal place_cereal"}
# shellcheck disable=SC2086
skillstack skills train-affordance $SKILLS --scene robosuite-pickplace --n-train 300 --n-test 150 --threads 1 \
    --library assets/skills
