#!/usr/bin/env python3
"""Builds the contrastive training mix of the default model from make_training_data.sh's pairs/ folder.

Deterministic (fixed seed): the same input gives the same mix. Leaves out the Debian FAQ pairs, because the
Debian FAQ is one of our retrieval evaluation sets (data/eval/debian-faq); keeps every other documentation pair
(HTML sections and FAQs, man-page NAME line <-> DESCRIPTION, info-manual nodes), the STS Benchmark TRAIN pairs
--sts-repeat times (the only human-judged paraphrases we have), and samples of the large sources: package short
<-> long descriptions, WordNet definition/example pairs and GCIDE word/definition pairs. --word-def and
--synonyms add WordNet words/definition and synonym pairs (tried: lower STS and hybrid scores, see
docs/training.md). Round one's mix (models/semsearch-default before round two) is
--descriptions 0 --gcide 0 --sts-repeat 2 --exclude man info.

    scripts/training_mix.py out/training-data/pairs out/training-data/mix.tsv [--wordnet 16000] [--word-def 0]
        [--synonyms 0] [--descriptions 24000] [--gcide 4000] [--sts-repeat 3] [--seed 42]
"""
import argparse
import os
import random
import sys


def read_pairs(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if "\t" in line.strip("\n")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pairs_dir")
    ap.add_argument("out")
    ap.add_argument("--wordnet", type=int, default=16000, help="WordNet pairs to sample (default 16000)")
    ap.add_argument("--word-def", type=int, default=0, help="WordNet words/definition pairs (default 0)")
    ap.add_argument("--synonyms", type=int, default=0, help="WordNet synonym pairs (default 0)")
    ap.add_argument("--descriptions", type=int, default=24000, help="package description pairs (default 24000)")
    ap.add_argument("--gcide", type=int, default=4000, help="GCIDE word/definition pairs (default 4000)")
    ap.add_argument("--sts-repeat", type=int, default=3, help="copies of the STS train pairs (default 3)")
    ap.add_argument("--exclude", nargs="*", default=[], help="leave out pairs files whose name starts so")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    mix = []
    for name in sorted(os.listdir(a.pairs_dir)):
        if not name.endswith(".tsv") or name.startswith(tuple(["debian-faq"] + a.exclude)):
            continue
        rows = read_pairs(os.path.join(a.pairs_dir, name))
        sizes = {"wordnet-word-def": a.word_def, "wordnet-synonyms": a.synonyms, "descriptions": a.descriptions,
                 "gcide-word-def": a.gcide}
        if name.startswith(("wordnet", "descriptions", "gcide")):
            want = sizes.get(name[:-4], a.wordnet)
            if want == 0:
                continue
            rows = rng.sample(rows, min(want, len(rows)))
        elif name.startswith("stsb-train"):
            rows = rows * a.sts_repeat
        print(f"{name}: {len(rows)} pairs", file=sys.stderr)
        mix.extend(rows)
    rng.shuffle(mix)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(mix) + "\n")
    print(f"{a.out}: {len(mix)} pairs", file=sys.stderr)


if __name__ == "__main__":
    main()
