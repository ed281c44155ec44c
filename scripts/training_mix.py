#!/usr/bin/env python3
"""Builds the contrastive training mix of the default model from make_training_data.sh's pairs/ folder.

Deterministic (fixed seed): the same input gives the same mix. Leaves out the Debian FAQ pairs, because the
Debian FAQ is one of our retrieval evaluation sets (data/eval/debian-faq); keeps every other documentation pair,
the STS Benchmark TRAIN pairs twice (the only human-judged paraphrases we have), and a sample of WordNet
definition/example pairs. The defaults are the mix of models/semsearch-default; --word-def and --synonyms add
WordNet words/definition and synonym pairs (tried: lower STS and hybrid scores, see docs/training.md).

    scripts/training_mix.py out/training-data/pairs out/training-data/mix.tsv [--wordnet 16000] [--word-def 0]
        [--synonyms 0] [--seed 42]
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
    ap.add_argument("--sts-repeat", type=int, default=2, help="copies of the STS train pairs (default 2)")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    mix = []
    for name in sorted(os.listdir(a.pairs_dir)):
        if not name.endswith(".tsv") or name.startswith("debian-faq"):
            continue
        rows = read_pairs(os.path.join(a.pairs_dir, name))
        sizes = {"wordnet-word-def": a.word_def, "wordnet-synonyms": a.synonyms}
        if name.startswith("wordnet"):
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
