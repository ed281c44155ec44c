#!/usr/bin/env python3
"""Prints bench/quality.sh's Markdown tables from the JSON reports it wrote.

    quality_report.py OUT MODELNAME SET...
"""
import json
import os
import re
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def kb_weight(out, kbname):
    """The calibrated semantic weight `kb info` shows, or None."""
    try:
        text = open(os.path.join(out, f"kbinfo-{kbname}.txt")).read()
    except OSError:
        return None
    m = re.search(r"hybrid weight:\s*([0-9.]+)", text) or re.search(r"semantic weight[^0-9]*([0-9.]+)", text)
    return float(m.group(1)) if m else None


def read_text(path, default="?"):
    try:
        return open(path).read().strip()
    except OSError:
        return default


def main():
    out, name, sets = sys.argv[1], sys.argv[2], sys.argv[3:]
    s = load(os.path.join(out, "sts.json"))
    if s:
        print(f"STS Benchmark dev ({s['n']} pairs): model `{name}` Spearman {s['spearman']:.4f} "
              f"(Pearson {s['pearson']:.4f}); word-overlap baseline Spearman {s['baseline_spearman']:.4f} "
              f"(Pearson {s['baseline_pearson']:.4f})")
        print()

    print("nDCG@10 by set (hybrid at the weight each KB calibrated for itself; adapted = after `semsearch adapt`):")
    print()
    print("| set | model | lexical | semantic | hybrid (weight) | hybrid − lexical | adapted semantic | "
          "adapted hybrid (weight) | adapted hybrid − lexical |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for st in sets:
        r = load(os.path.join(out, f"retrieval-{st}.json"))
        if not r:
            continue
        md = r["modes"]
        lex, sem, hyb = (md[k]["ndcg@10"] for k in ("lexical", "semantic", "hybrid"))
        w = kb_weight(out, st)
        model = os.path.basename(read_text(os.path.join(out, f"model-{st}.txt")))
        row = [st, model, f"{lex:.3f}", f"{sem:.3f}", f"{hyb:.3f} ({w if w is not None else '?'})",
               f"{100 * (hyb - lex):+.1f}"]
        a = load(os.path.join(out, f"adapted-{st}.json"))
        if a:
            am = a["modes"]
            aw = kb_weight(out, f"{st}-adapted")
            row += [f"{am['semantic']['ndcg@10']:.3f}",
                    f"{am['hybrid']['ndcg@10']:.3f} ({aw if aw is not None else '?'})",
                    f"{100 * (am['hybrid']['ndcg@10'] - am['lexical']['ndcg@10']):+.1f}"]
        else:
            row += ["", "", ""]
        print("| " + " | ".join(row) + " |")
    print()

    print("| set | mode | nDCG@10 | MRR@10 | Recall@1 | Recall@10 | Recall@100 | MAP |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for st in sets:
        for tag, fname in (("", f"retrieval-{st}.json"), (" (adapted)", f"adapted-{st}.json")):
            r = load(os.path.join(out, fname))
            if not r:
                continue
            for mode in ("lexical", "semantic", "hybrid"):
                mm = r["modes"][mode]
                print(f"| {st} | {mode}{tag} | {mm['ndcg@10']:.3f} | {mm['mrr@10']:.3f} | {mm['recall@1']:.3f} | "
                      f"{mm['recall@10']:.3f} | {mm['recall@100']:.3f} | {mm['map']:.3f} |")
    print()

    sweeps = {st: load(os.path.join(out, f"sweep-{st}.json")) for st in sets}
    sweeps = {k: v for k, v in sweeps.items() if v}
    if sweeps:
        names = list(next(iter(sweeps.values()))["modes"])
        print("Hybrid search, nDCG@10 at fixed semantic weights (convex combination):")
        print()
        print("| set | " + " | ".join(n.split("@")[1] for n in names) + " |")
        print("|---|" + "---:|" * len(names))
        for st, sw in sweeps.items():
            print(f"| {st} | " + " | ".join(f"{sw['modes'][n]['ndcg@10']:.3f}" for n in names) + " |")
        print()

    print("| set | indexing (s) | adapt (s) |")
    print("|---|---:|---:|")
    for st in sets:
        print(f"| {st} | {read_text(os.path.join(out, f'index-seconds-{st}.txt'), '')} | "
              f"{read_text(os.path.join(out, f'adapt-seconds-{st}.txt'), '')} |")


if __name__ == "__main__":
    main()
