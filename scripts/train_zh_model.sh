#!/usr/bin/env bash
# How models/semsearch-zh is made, as one script: training data (scripts/make_training_data_zh.sh), masked-LM
# pretraining from random weights, contrastive training, then the float16 folder. Every step resumes or skips
# what is done, so the script can be re-run after an interruption (the MLM stage checkpoints every 5 minutes).
#
#   scripts/train_zh_model.sh [OUT_DIR]        (default out/zh-model; needs a build: BIN or build/cli/semsearch)
#
# Environment (defaults = the recipe; see models/semsearch-zh/README.md or models/resume/semsearch-zh/RESUME.md):
#   MLM_STEPS     length of the MLM learning-rate schedule (updates of 16 x 128 tokens)   default 20000
#   MLM_STOP      stop the MLM run after this update                                       default 20000
#   MLM_WARMUP    warm-up updates                                                          default 300
#   MLM_FROM      start the MLM stage from this model folder (e.g. the f16 resume point
#                 models/resume/semsearch-zh) instead of random weights: a new run with fresh AdamW
#                 moments (the resume point has none), so give it its own MLM_STEPS and a short MLM_WARMUP
#   CON_STEPS     contrastive updates                                                      default 1000
#   CON_BATCH     pairs per contrastive update (in-batch negatives)                        default 64
#   CON_LR        contrastive peak learning rate                                           default 6e-4
#   THREADS       OpenBLAS threads                                                         default 1
#   BIN           the semsearch binary                                                     default build/cli/semsearch
# Cost on one free core: MLM ≈ 0.7 s per update (16 x 128 tokens); contrastive ≈ 1 s per update (64 pairs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/zh-model}
bin=${BIN:-$root/build/cli/semsearch}
vocab=$root/../shared/data/vocab/bert-base-chinese.txt
[ -f "$vocab" ] || vocab=$root/models/resume/semsearch-zh/vocab.txt
mlm_steps=${MLM_STEPS:-20000}
mlm_stop=${MLM_STOP:-$mlm_steps}
con_steps=${CON_STEPS:-1000}
threads=${THREADS:-1}
[ -x "$bin" ] || { echo "train_zh_model: build semsearch first (scripts/build.sh)" >&2; exit 1; }
mkdir -p "$out"

D=$out/training-data
[ -f "$D/STATS" ] || "$root/scripts/make_training_data_zh.sh" "$D"
[ -f "$D/mix.tsv" ] || python3 "$root/scripts/training_extract_zh.py" --mix "$D/pairs" "$D/mix.tsv"

# 1. masked-LM pretraining (train/configs/semsearch-zh-mini.json: 4 layers, hidden 256, bert-base-chinese
#    vocabulary, lower-cased: the vocabulary's Latin pieces are all lower case)
start=(--config "$root/train/configs/semsearch-zh-mini.json" --vocab "$vocab")
[ -n "${MLM_FROM:-}" ] && start=(--model "$MLM_FROM")
resume=()
[ -f "$out/mlm/checkpoint.bin" ] && resume=(--resume)
"$bin" train mlm "${start[@]}" --corpus "$D"/text/*.txt --eval "$D/heldout/text.txt" --out "$out/mlm" \
  --steps "$mlm_steps" --batch 16 --seq 128 --lr 5e-4 --warmup "${MLM_WARMUP:-300}" --seed 42 --threads "$threads" \
  --checkpoint-minutes 5 --stop-at "$mlm_stop" "${resume[@]}"

# 2. contrastive training (InfoNCE, in-batch negatives) on the mix, from the MLM weights
# (skipped once its log reaches CON_STEPS: the trainer keeps checkpoint.bin after the last update)
con_done=$(tail -n 1 "$out/contrastive/train_log.tsv" 2>/dev/null | cut -f1)
if [ ! -f "$out/contrastive/model.safetensors" ] || ! [ "${con_done:-0}" -ge "$con_steps" ] 2>/dev/null; then
  resume=()
  [ -f "$out/contrastive/checkpoint.bin" ] && resume=(--resume)
  "$bin" train contrastive --model "$out/mlm" --pairs "$D/mix.tsv" --out "$out/contrastive" \
    --steps "$con_steps" --batch "${CON_BATCH:-64}" --seq 64 --lr "${CON_LR:-6e-4}" --temperature 0.05 --seed 42 \
    --threads "$threads" \
    --checkpoint-minutes 5 "${resume[@]}"
fi

# 3. the shipped folder: float16 weights, no checkpoint, no log
final=$out/semsearch-zh
rm -rf "$final"
mkdir -p "$final"
cp -r "$out/contrastive/." "$final/"
rm -f "$final/checkpoint.bin" "$final/train_log.tsv" "$final/README.md"
python3 "$root/scripts/safetensors_f16.py" "$out/contrastive/model.safetensors" "$final/model.safetensors"
cp "$root/models/semsearch-zh/README.md" "$final/" 2>/dev/null || true
echo "train_zh_model: done: $final"
