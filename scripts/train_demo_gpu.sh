#!/usr/bin/env bash
# Trains the bundled demo model (assets/demo.safetensors) on one GPU from data the factory renders there.
#
#   scripts/train_demo_gpu.sh OUT_DIR [MINUTES] [SUBJECTS]
#
# The shipped assets/demo.safetensors was made on one NVIDIA H100 (torch 2.11 + CUDA 13) with
#   python main.py synth --preset demo --subjects 2 --out /tmp/demo --workers 14 --no-meshes
#   python main.py train --data /tmp/demo --preset demo --stage all --out /tmp/run --device cuda \
#                        --max-minutes 8 --workers 10
# i.e. SUBJECTS=2, MINUTES=8 below (2,777 steps: stage 1 to step 1,795, stage 2 to 2,053, then stage 3).
# The demo preset's 12 subjects (the default here) give more varied codes and all nine hairstyles.
set -euo pipefail
OUT=${1:?usage: scripts/train_demo_gpu.sh OUT_DIR [MINUTES] [SUBJECTS]}
MINUTES=${2:-8}
SUBJECTS=${3:-12}
DATA="$OUT/data-demo-$SUBJECTS"   # a fresh folder per subject count (synth refuses to mix settings)
cd "$(dirname "$0")/.."
python main.py synth --preset demo --subjects "$SUBJECTS" --out "$DATA" --workers "$(nproc)" --no-meshes --quiet
python main.py train --data "$DATA" --preset demo --stage all --out "$OUT/run" --device cuda \
    --max-minutes "$MINUTES" --workers 10
echo "checkpoint: $OUT/run/checkpoint.safetensors (copy it to assets/demo.safetensors)"
