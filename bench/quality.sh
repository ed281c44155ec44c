#!/usr/bin/env bash
# Measures search quality side by side with the lexical baseline, in one run:
#   - STS Benchmark dev: Spearman/Pearson of cosine similarity vs. the word-overlap (Jaccard) baseline
#   - retrieval on every BEIR set under data/eval/ (covid-faq, debian-faq, zh-faq, ...): nDCG@10, MRR@10,
#     Recall@1/10/100 and MAP for lexical (bm25), semantic and hybrid search; hybrid at the weight the KB
#     calibrated for itself at indexing time (docs/query.md), plus a sweep of fixed weights (WEIGHTS)
#   - the same after `semsearch adapt` on each KB (ADAPT_MINUTES per set; 0 leaves it out). Adaptation sees
#     only the KB's passages, never the evaluation queries.
# Prints Markdown tables and writes the JSON reports to OUT (default out/quality/MODELNAME).
#
#   bench/quality.sh MODEL_DIR [SEMSEARCH_BINARY]
#
# Environment:
#   SETS           sets to measure (default: every data/eval/*/ with a corpus.jsonl)
#   ZH_MODEL       model for Chinese sets (zh-*) (default models/semsearch-zh when it exists, else MODEL_DIR)
#   ADAPT_MINUTES  `semsearch adapt --minutes` per set (default 3; 0 = no adaptation rows)
#   WEIGHTS        fixed semantic weights of the sweep (default 0.1,0.2,0.3,0.5,0.7)
#   THREADS        encoder threads (default 2)
# Reads ../shared/data/stsbenchmark (a development tool, not part of the product).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:?usage: bench/quality.sh MODEL_DIR [SEMSEARCH_BINARY]}
bin=${2:-$root/build/cli/semsearch}
sts=${STS_DEV:-$root/../shared/data/stsbenchmark/sts-dev.csv}
name=$(basename "$model")
out=${OUT:-$root/out/quality/$name}
adapt_minutes=${ADAPT_MINUTES:-3}
threads=${THREADS:-2}
zh_model=${ZH_MODEL:-}
if [ -z "$zh_model" ]; then
  if [ -f "$root/models/semsearch-zh/config.json" ]; then zh_model=$root/models/semsearch-zh; else zh_model=$model; fi
fi
sets=${SETS:-$(for d in "$root"/data/eval/*/; do [ -f "$d/corpus.jsonl" ] && basename "$d"; done | tr '\n' ' ')}
rm -rf "$out"
mkdir -p "$out"

if [ -f "$sts" ]; then
  "$bin" eval sts --model "$model" --pairs "$sts" --threads "$threads" --json > "$out/sts.json"
else
  echo "quality: $sts not found; STS left out" >&2
fi

evaluate() { # KB SETDIR JSON: lexical, semantic and hybrid at the KB's own weight
  "$bin" eval retrieval --kb "$1" --queries "$2/queries.jsonl" --qrels "$2/qrels/test.tsv" --threads "$threads" \
    --mode all --json "$3" > "${3%.json}.txt" 2>&1
}

for set in $sets; do
  d="$root/data/eval/$set"
  m=$model
  case "$set" in zh-*) m=$zh_model ;; esac
  echo "$m" > "$out/model-$set.txt"
  start=$(date +%s)
  "$bin" index add "$out/kb-$set" "$d/corpus.jsonl" --format beir --model "$m" --threads "$threads" -q
  echo $(( $(date +%s) - start )) > "$out/index-seconds-$set.txt"
  "$bin" kb info "$out/kb-$set" > "$out/kbinfo-$set.txt"
  evaluate "$out/kb-$set" "$d" "$out/retrieval-$set.json"
  "$bin" eval retrieval --kb "$out/kb-$set" --queries "$d/queries.jsonl" --qrels "$d/qrels/test.tsv" \
    --threads "$threads" --mode hybrid --semantic-weight "${WEIGHTS:-0.1,0.2,0.3,0.5,0.7}" \
    --json "$out/sweep-$set.json" > "$out/sweep-$set.txt" 2>&1
  if [ "$adapt_minutes" != 0 ]; then
    cp -r "$out/kb-$set" "$out/kb-$set-adapted"
    start=$(date +%s)
    "$bin" adapt "$out/kb-$set-adapted" --minutes "$adapt_minutes" --threads "$threads" -q
    echo $(( $(date +%s) - start )) > "$out/adapt-seconds-$set.txt"
    "$bin" kb info "$out/kb-$set-adapted" > "$out/kbinfo-$set-adapted.txt"
    evaluate "$out/kb-$set-adapted" "$d" "$out/adapted-$set.json"
  fi
done

python3 "$root/bench/quality_report.py" "$out" "$name" $sets
