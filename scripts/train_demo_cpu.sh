#!/usr/bin/env bash
# Trains a demo model on this 2-core CPU with the reconstruction recipe: factory data, training, eval.
#
#   scripts/train_demo_cpu.sh OUT_DIR [MINUTES] [SUBJECTS] [HAIR_VARIANTS] [INIT_OR_RESUME]
#
# SUBJECTS procedural subjects (default 4; the last is held out and evaluated with a fitted code) at the
# demo preset's 14 expressions x 72 views x hair/bald with depth maps; HAIR_VARIANTS other hairstyles per
# subject (default 0). INIT_OR_RESUME: "resume" continues OUT_DIR/run where it stopped (a session that
# ran out of time), a checkpoint path fine-tunes that model, empty starts from random weights.
# Training runs one process per core (PROCS, default: all cores; torchrun + DistributedDataParallel over
# gloo when more than one), one torch thread each: measured faster than threads on this 2-core CPU.
# Writes OUT_DIR/run (checkpoints, log.jsonl with face-region PSNR against minutes, samples) and
# OUT_DIR/eval.json. docs/TRAINING.md quotes this script's figures ("The CPU recipe").
set -euo pipefail
OUT=${1:?usage: scripts/train_demo_cpu.sh OUT_DIR [MINUTES] [SUBJECTS] [HAIR_VARIANTS] [INIT_OR_RESUME]}
MINUTES=${2:-60}
SUBJECTS=${3:-4}
VARIANTS=${4:-0}
FROM=${5:-}
DATA="$OUT/data-demo-$SUBJECTS-v$VARIANTS"  # a fresh folder per setting (synth refuses to mix settings)
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1   # one thread per process measured fastest on 2 shared cores
start=$(date +%s)
"$PY" main.py synth --preset demo --subjects "$SUBJECTS" --hair-variants "$VARIANTS" --out "$DATA" --workers 2 --quiet
synth_done=$(date +%s)
case "$FROM" in
  resume) extra=(--resume) ;;
  "") extra=() ;;
  *) extra=(--init "$FROM") ;;
esac
PROCS=${PROCS:-$(nproc)}
if [ "$PROCS" -gt 1 ]; then
  launch=("$(dirname "$PY")/torchrun" --standalone --nproc_per_node "$PROCS" main.py)
else
  launch=("$PY" main.py)
fi
"${launch[@]}" train --data "$DATA" --preset demo --stage all --out "$OUT/run" --device cpu \
    --max-minutes "$MINUTES" --workers 1 --quiet "${extra[@]}"
train_done=$(date +%s)
"$PY" main.py eval --checkpoint "$OUT/run" --data "$DATA" --max-images 120 --fit-steps 150 --device cpu \
    --out "$OUT/eval.json" > /dev/null
end=$(date +%s)
echo "synth $((synth_done - start)) s, train $((train_done - synth_done)) s, eval $((end - train_done)) s"
echo "checkpoint: $OUT/run/checkpoint.safetensors; figures: $OUT/eval.json"
