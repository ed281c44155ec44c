#!/usr/bin/env bash
# How models/semsearch-default is made, as one script: training data, masked-LM pretraining, contrastive
# training (round one), contrastive continuation on the round-two data with BM25-mined hard negatives (round two),
# then a float16 copy with its model card. Every step resumes or skips what is done, so the script can be re-run
# after an interruption (the training stages checkpoint every 5 minutes; their --resume continues them).
#
#   scripts/train_default_model.sh [OUT_DIR]        (default out/default-model; needs a build in build/)
#
# Environment (defaults = the recipe of the committed model; see models/semsearch-default/README.md):
#   MLM_STOP      stop the MLM run after this update (of a 20000-update schedule)         default 7073
#   CON_STEPS     round-one contrastive updates (batch 64)                                 default 800
#   CON2_STEPS    round-two contrastive updates (0 = stop after round one)                 default 800
#   CON2_STOP     stop round two after this update (of CON2_STEPS; spread it over sessions) default CON2_STEPS
#   CON2_BATCH    round-two pairs per batch (in-batch negatives scale with it)              default 128
#   CON2_LR       round-two peak learning rate (2e-4 lifted STS dev to 0.698 by update 46,
#                 then lost it: 0.663 at update 100)                                       default 5e-5
#   BASE_MODEL    start round two from this model folder instead of running MLM + round one (e.g. a resume point,
#                 models/resume/semsearch-default)
#   NEGATIVES     1: train round two on 3-column pairs with hard negatives (needs a trainer that reads them),
#                 0: 2-column pairs, auto: 1 when `semsearch train contrastive --help` mentions negatives  default auto
#   THREADS       OpenBLAS threads                                                         default 2
#   SEMSEARCH     the semsearch binary                                                     default build/cli/semsearch
# Hours on 2 free cores: MLM ≈ 1 h per 4,000 updates; contrastive ≈ 20 min per 1,000 updates of 64 pairs (twice
# that at 128).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/default-model}
bin=${SEMSEARCH:-$root/build/cli/semsearch}
vocab=$root/../shared/data/vocab/bert-base-uncased.txt
[ -f "$vocab" ] || vocab=$root/models/semsearch-default/vocab.txt
mlm_stop=${MLM_STOP:-7073}
con_steps=${CON_STEPS:-800}
threads=${THREADS:-2}
con2_steps=${CON2_STEPS:-800}
con2_stop=${CON2_STOP:-$con2_steps}
con2_batch=${CON2_BATCH:-128}
con2_lr=${CON2_LR:-5e-5}
base=${BASE_MODEL:-}
[ -x "$bin" ] || { echo "train_default_model: build semsearch first (scripts/build.sh)" >&2; exit 1; }
mkdir -p "$out"

D=$out/training-data
if [ ! -f "$D/STATS" ]; then
  "$root/scripts/make_training_data.sh" "$D"
fi
# round one's mix (its own recipe), round two's mix and round two's hard negatives
[ -f "$D/mix1.tsv" ] || python3 "$root/scripts/training_mix.py" "$D/pairs" "$D/mix1.tsv" \
  --descriptions 0 --gcide 0 --sts-repeat 2 --exclude man info
[ -f "$D/mix2.tsv" ] || python3 "$root/scripts/training_mix.py" "$D/pairs" "$D/mix2.tsv"
[ -f "$D/mix2-neg.tsv" ] || python3 "$root/scripts/mine_negatives.py" "$D/mix2.tsv" "$D/mix2-neg.tsv"
negatives=${NEGATIVES:-auto}
if [ "$negatives" = auto ]; then
  negatives=0
  "$bin" train contrastive --help 2>&1 | grep -qi negative && negatives=1
fi
mix2=$D/mix2.tsv
[ "$negatives" = 1 ] && mix2=$D/mix2-neg.tsv

# round one: 1. masked-LM pretraining from random weights (train/configs/semsearch-mini.json: 4 layers, hidden
# 256) on round one's corpus, 2. contrastive training (InfoNCE, in-batch negatives) on round one's mix
round_one() {
  local resume=() corpus=()
  for s in python postgresql sqlite debian-faq debian-reference wordnet; do corpus+=("$D/text/$s.txt"); done
  [ -f "$out/mlm/checkpoint.bin" ] && resume=(--resume)
  "$bin" train mlm --config "$root/train/configs/semsearch-mini.json" --vocab "$vocab" \
    --corpus "${corpus[@]}" --eval "$D/heldout/text.txt" --out "$out/mlm" \
    --steps 20000 --batch 32 --seq 128 --lr 5e-4 --warmup 1000 --seed 42 --threads "$threads" \
    --checkpoint-minutes 5 --stop-at "$mlm_stop" "${resume[@]}"
  if [ ! -f "$out/contrastive/model.safetensors" ] || [ -f "$out/contrastive/checkpoint.bin" ]; then
    resume=()
    [ -f "$out/contrastive/checkpoint.bin" ] && resume=(--resume)
    "$bin" train contrastive --model "$out/mlm" --pairs "$D/mix1.tsv" --out "$out/contrastive" \
      --steps "$con_steps" --batch 64 --seq 64 --lr 6e-4 --temperature 0.05 --seed 42 --threads "$threads" \
      --checkpoint-minutes 5 "${resume[@]}"
  fi
}
if [ -z "$base" ]; then
  round_one
  base=$out/contrastive
fi

# round two: contrastive continuation on the larger mix, bigger batch, hard negatives where supported
last=$base
if [ "$con2_steps" -gt 0 ]; then
  if [ ! -f "$out/contrastive2/model.safetensors" ] || [ -f "$out/contrastive2/checkpoint.bin" ]; then
    "$bin" train contrastive --model "$base" --pairs "$mix2" --out "$out/contrastive2" \
      --steps "$con2_steps" --warmup 50 --batch "$con2_batch" --seq 64 --lr "$con2_lr" --temperature 0.05 \
      --seed 42 --threads "$threads" --checkpoint-minutes 5 --stop-at "$con2_stop" --resume
  fi
  last=$out/contrastive2
fi

# the shipped folder: float16 weights, no checkpoint, no log
final=$out/semsearch-default
rm -rf "$final"
mkdir -p "$final"
cp -r "$last/." "$final/"
rm -f "$final/checkpoint.bin" "$final/train_log.tsv" "$final/README.md"
python3 "$root/scripts/safetensors_f16.py" "$last/model.safetensors" "$final/model.safetensors"
cp "$root/models/semsearch-default/README.md" "$final/" 2>/dev/null || true
echo "train_default_model: done: $final (measure it with bench/quality.sh $final)"
