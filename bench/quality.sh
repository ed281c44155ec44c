#!/usr/bin/env bash
# Measures a model's search quality side by side with the lexical baseline, in one run:
#   - STS Benchmark dev: Spearman/Pearson of cosine similarity vs. the word-overlap (Jaccard) baseline
#   - retrieval on data/eval/covid-faq and data/eval/debian-faq (BEIR): nDCG@10, MRR@10, Recall@1/10/100 and MAP
#     for lexical (bm25), semantic and hybrid search (at the default semantic weight), and nDCG@10 of hybrid
#     search over a sweep of semantic weights (WEIGHTS, default 0.1,0.2,0.3,0.4,0.5,0.7)
# Prints a Markdown table and writes the JSON reports to OUT (default out/quality/MODELNAME).
#   bench/quality.sh MODEL_DIR [SEMSEARCH_BINARY]
# Reads ../shared/data/stsbenchmark (a development tool, not part of the product).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:?usage: bench/quality.sh MODEL_DIR [SEMSEARCH_BINARY]}
bin=${2:-$root/build/cli/semsearch}
sts=${STS_DEV:-$root/../shared/data/stsbenchmark/sts-dev.csv}
name=$(basename "$model")
out=${OUT:-$root/out/quality/$name}
rm -rf "$out"
mkdir -p "$out"

"$bin" eval sts --model "$model" --pairs "$sts" --json > "$out/sts.json"
for set in covid-faq debian-faq; do
  d="$root/data/eval/$set"
  "$bin" index add "$out/kb-$set" "$d/corpus.jsonl" --format beir --model "$model" > /dev/null
  "$bin" eval retrieval --kb "$out/kb-$set" --queries "$d/queries.jsonl" --qrels "$d/qrels/test.tsv" \
    --mode all --json "$out/retrieval-$set.json" > "$out/retrieval-$set.txt" 2>&1
  "$bin" eval retrieval --kb "$out/kb-$set" --queries "$d/queries.jsonl" --qrels "$d/qrels/test.tsv" \
    --mode hybrid --semantic-weight "${WEIGHTS:-0.1,0.2,0.3,0.4,0.5,0.7}" --json "$out/sweep-$set.json" \
    > "$out/sweep-$set.txt" 2>&1
done

python3 - "$out" "$name" <<'PY'
import json, sys, os
out, name = sys.argv[1], sys.argv[2]
s = json.load(open(os.path.join(out, "sts.json")))
print(f"STS Benchmark dev ({s['n']} pairs): model `{name}` Spearman {s['spearman']:.4f} (Pearson {s['pearson']:.4f}); "
      f"word-overlap baseline Spearman {s['baseline_spearman']:.4f} (Pearson {s['baseline_pearson']:.4f})")
print()
print("| set | mode | nDCG@10 | MRR@10 | Recall@1 | Recall@10 | Recall@100 | MAP |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for st in ("covid-faq", "debian-faq"):
    r = json.load(open(os.path.join(out, f"retrieval-{st}.json")))
    for m in r["modes"] if "modes" in r else r["results"]:
        mm = m if isinstance(m, dict) else r["modes"][m]
        def g(*keys):
            for k in keys:
                if k in mm: return mm[k]
            return float("nan")
        print(f"| {st} | {mm.get('mode', m)} | {g('ndcg@10','nDCG@10'):.3f} | {g('mrr@10','MRR@10'):.3f} | "
              f"{g('recall@1','Recall@1'):.3f} | {g('recall@10','Recall@10'):.3f} | {g('recall@100','Recall@100'):.3f} | {g('map','MAP'):.3f} |")
print()
print("Hybrid search, nDCG@10 by semantic weight (convex combination):")
print()
sw = {st: json.load(open(os.path.join(out, f"sweep-{st}.json")))["modes"] for st in ("covid-faq", "debian-faq")}
names = list(sw["covid-faq"])
print("| set | " + " | ".join(n.split("@")[1] for n in names) + " |")
print("|---|" + "---:|" * len(names))
for st in ("covid-faq", "debian-faq"):
    print(f"| {st} | " + " | ".join(f"{sw[st][n]['ndcg@10']:.3f}" for n in names) + " |")
PY
