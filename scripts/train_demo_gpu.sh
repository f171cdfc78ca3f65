#!/usr/bin/env bash
# Trains the bundled demo model (assets/demo.safetensors) on one GPU from data the factory renders there.
#
#   scripts/train_demo_gpu.sh OUT_DIR [MINUTES] [SUBJECTS] [INIT_CHECKPOINT]
#
# SUBJECTS (default 12, the demo preset) procedural subjects, each also rendered wearing 3 other
# hairstyles of the dataset (--hair-variants 3: clean hair swaps); INIT_CHECKPOINT (optional, e.g.
# assets/demo.safetensors) fine-tunes that model instead of starting from random weights.
#
# It trains with the demo preset's recipe (`reconstruction`, docs/TRAINING.md "The CPU recipe"; it runs on a
# GPU too); add `--recipe gan` to the train line for the paper's adversarial recipe.
#
# The first bundled model came from one NVIDIA H100 (torch 2.11 + CUDA 13), SUBJECTS=2, MINUTES=8, no hair
# variants, no init, with the adversarial recipe (then the demo preset's default):
#   python main.py synth --preset demo --subjects 2 --out /tmp/demo --workers 14 --no-meshes
#   python main.py train --data /tmp/demo --preset demo --stage all --out /tmp/run --device cuda \
#                        --max-minutes 8 --workers 10
# (2,777 steps: stage 1 to step 1,795, stage 2 to 2,053, then stage 3).
set -euo pipefail
OUT=${1:?usage: scripts/train_demo_gpu.sh OUT_DIR [MINUTES] [SUBJECTS] [INIT_CHECKPOINT]}
MINUTES=${2:-8}
SUBJECTS=${3:-12}
INIT=${4:-}
DATA="$OUT/data-demo-$SUBJECTS"   # a fresh folder per subject count (synth refuses to mix settings)
cd "$(dirname "$0")/.."
python main.py synth --preset demo --subjects "$SUBJECTS" --hair-variants 3 --out "$DATA" --workers "$(nproc)" \
    --no-meshes --quiet
python main.py train --data "$DATA" --preset demo --stage all --out "$OUT/run" --device cuda \
    --max-minutes "$MINUTES" --workers 10 ${INIT:+--init "$INIT"}
echo "checkpoint: $OUT/run/checkpoint.safetensors (copy it to assets/demo.safetensors)"
