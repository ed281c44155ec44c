#!/usr/bin/env bash
# How models/semsearch-default was made, as one script: training data, masked-LM pretraining, contrastive
# training, then a float16 copy with its model card. Every step resumes or skips what is done, so the script can
# be re-run after an interruption (the MLM stage checkpoints every 5 minutes; its --resume continues it).
#
#   scripts/train_default_model.sh [OUT_DIR]        (default out/default-model; needs a build in build/)
#
# Environment (defaults = the recipe of the committed model; see models/semsearch-default/README.md):
#   MLM_STOP      stop the MLM run after this update (of a 20000-update schedule)         default 7073
#   CON_STEPS     contrastive updates                                                      default 800
#   THREADS       OpenBLAS threads                                                         default 2
# Hours on 2 cores: MLM ≈ 1 h per 4,000 updates; contrastive ≈ 20 min per 1,000 updates.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/default-model}
bin=$root/build/cli/semsearch
vocab=$root/../shared/data/vocab/bert-base-uncased.txt
[ -f "$vocab" ] || vocab=$root/models/semsearch-default/vocab.txt
mlm_stop=${MLM_STOP:-7073}
con_steps=${CON_STEPS:-800}
threads=${THREADS:-2}
[ -x "$bin" ] || { echo "train_default_model: build semsearch first (scripts/build.sh)" >&2; exit 1; }
mkdir -p "$out"

D=$out/training-data
if [ ! -f "$D/STATS" ]; then
  "$root/scripts/make_training_data.sh" "$D"
fi
[ -f "$D/mix.tsv" ] || python3 "$root/scripts/training_mix.py" "$D/pairs" "$D/mix.tsv"

# 1. masked-LM pretraining from random weights (train/configs/semsearch-mini.json: 4 layers, hidden 256)
resume=()
[ -f "$out/mlm/checkpoint.bin" ] && resume=(--resume)
"$bin" train mlm --config "$root/train/configs/semsearch-mini.json" --vocab "$vocab" \
  --corpus "$D"/text/*.txt --eval "$D/heldout/text.txt" --out "$out/mlm" \
  --steps 20000 --batch 32 --seq 128 --lr 5e-4 --warmup 1000 --seed 42 --threads "$threads" \
  --checkpoint-minutes 5 --stop-at "$mlm_stop" "${resume[@]}"

# 2. contrastive training (InfoNCE, in-batch negatives) on the pairs, from the MLM weights
if [ ! -f "$out/contrastive/model.safetensors" ] || [ -f "$out/contrastive/checkpoint.bin" ]; then
  resume=()
  [ -f "$out/contrastive/checkpoint.bin" ] && resume=(--resume)
  "$bin" train contrastive --model "$out/mlm" --pairs "$D/mix.tsv" --out "$out/contrastive" \
    --steps "$con_steps" --batch 64 --seq 64 --lr 6e-4 --temperature 0.05 --seed 42 --threads "$threads" \
    --checkpoint-minutes 5 "${resume[@]}"
fi

# 3. the shipped folder: float16 weights, no checkpoint, no log
final=$out/semsearch-default
rm -rf "$final"
mkdir -p "$final"
cp -r "$out/contrastive/." "$final/"
rm -f "$final/checkpoint.bin" "$final/train_log.tsv" "$final/README.md"
python3 "$root/scripts/safetensors_f16.py" "$out/contrastive/model.safetensors" "$final/model.safetensors"
cp "$root/models/semsearch-default/README.md" "$final/" 2>/dev/null || true
echo "train_default_model: done: $final (measure it with bench/quality.sh $final)"
