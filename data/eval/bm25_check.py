#!/usr/bin/env python3
"""Sanity check of a BEIR set with a plain BM25 (k1=0.9, b=0.4, title+text, lowercased \\w+ tokens; a run of
Han characters gives its single characters and overlapping bigrams, as Lucene's CJK analyzer does).

Standard library only.  Not semsearch's own lexical mode (that is SQLite FTS5 bm25 through
`semsearch eval retrieval`); this only shows how hard the queries are for pure word matching and how
little they share with the FAQ question they were written from.

Usage: python3 data/eval/bm25_check.py data/eval/covid-faq   (no argument: the three bundled sets)
"""
import collections
import json
import math
import os
import re
import sys

TOK = re.compile(r"\w+", re.UNICODE)
STOP = set("a an the is are was were be been am i you we my me our it its of to in on for and or with "
           "do does did can could should would will what which who whom how when where why if at by from "
           "this that these those there any some so as not no have has had about into than then them they "
           "he she his her your us".split())
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


def toks(s):
    out = []
    for w in TOK.findall(s.lower()):
        out.extend(part for part in HAN.split(w) if part)  # Latin/digit pieces around Han runs stay words
        for run in HAN.findall(w):
            out.extend(run)
            out.extend(run[k:k + 2] for k in range(len(run) - 1))
    return out


def main(d):
    docs = [json.loads(l) for l in open(os.path.join(d, "corpus.jsonl"), encoding="utf-8")]
    queries = [json.loads(l) for l in open(os.path.join(d, "queries.jsonl"), encoding="utf-8")]
    rel = collections.defaultdict(dict)
    with open(os.path.join(d, "qrels", "test.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            q, c, s = line.rstrip("\n").split("\t")
            rel[q][c] = int(s)
    title = {x["_id"]: x["title"] for x in docs}
    tf = [collections.Counter(toks(x["title"] + " " + x["text"])) for x in docs]
    dl = [sum(t.values()) for t in tf]
    avg = sum(dl) / len(dl)
    df = collections.Counter(w for t in tf for w in t)
    n, k1, b = len(docs), 0.9, 0.4
    r1 = mrr = overlap = 0.0
    low = 0
    for q in queries:
        qt = toks(q["text"])
        sc = []
        for i, t in enumerate(tf):
            s = 0.0
            for w in qt:
                if w in t:
                    idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                    s += idf * t[w] * (k1 + 1) / (t[w] + k1 * (1 - b + b * dl[i] / avg))
            sc.append((s, i))
        sc.sort(key=lambda x: -x[0])
        ranked = [docs[i]["_id"] for s, i in sc[:10] if s > 0]
        rr = next((1.0 / (k + 1) for k, c in enumerate(ranked) if rel[q["_id"]].get(c, 0) > 0), 0.0)
        mrr += rr
        r1 += 1.0 if rr == 1.0 else 0.0
        prim = max(rel[q["_id"]], key=lambda c: rel[q["_id"]][c])
        a = set(qt) - STOP
        t = set(toks(title[prim])) - STOP
        j = len(a & t) / max(1, len(a | t))
        overlap += j
        low += j <= 0.2
    m = len(queries)
    print("%s: %d queries, BM25 success@1 %.3f MRR@10 %.3f; content-word Jaccard with the primary "
          "question: mean %.2f, %d queries (%.0f%%) at <= 0.2" % (d, m, r1 / m, mrr / m, overlap / m, low,
                                                               100.0 * low / m))


if __name__ == "__main__":
    for d in sys.argv[1:] or ["data/eval/covid-faq", "data/eval/debian-faq", "data/eval/zh-faq"]:
        main(d)
