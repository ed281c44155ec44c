#!/usr/bin/env python3
"""Build data/eval/covid-faq/corpus.jsonl (BEIR format) from the bundled FAQ CSV.

Standard library only.  One line per CSV row, in CSV order:
    {"_id": "faq-N", "title": QUESTION, "text": ANSWER}
N is the 1-based data row number in data/covid-faq/faq_covidbert.csv (the header is not counted), so
faq-1 is the first question.  Duplicate rows are kept as separate ids (see covid-faq/README.md).

Normalisation: the question is stripped and its whitespace runs (including no-break spaces and the
stray newlines some questions end with) collapsed to one space; the answer keeps its line breaks
(CRLF -> LF), with no-break spaces turned into spaces, trailing spaces removed from each line, and
leading/trailing blank lines dropped.  Nothing else is changed.

Usage: python3 data/eval/make_covid_corpus.py [CSV] [OUT]
       (defaults: data/covid-faq/faq_covidbert.csv and data/eval/covid-faq/corpus.jsonl,
        relative to the project root, which is found from this script's location)
"""
import csv
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def norm_title(s):
    return " ".join(s.replace("\u00a0", " ").split())


def norm_text(s):
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [ln.rstrip() for ln in s.split("\n")]
    return "\n".join(lines).strip("\n").strip()


def main(argv):
    src = argv[1] if len(argv) > 1 else os.path.join(ROOT, "data", "covid-faq", "faq_covidbert.csv")
    dst = argv[2] if len(argv) > 2 else os.path.join(ROOT, "data", "eval", "covid-faq", "corpus.jsonl")
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0][:2] != ["question", "answer"]:
        sys.exit("%s: expected a header starting with question,answer" % src)
    out = []
    for n, row in enumerate(rows[1:], 1):
        if len(row) < 2:
            sys.exit("%s: data row %d has fewer than 2 columns" % (src, n))
        title, text = norm_title(row[0]), norm_text(row[1])
        if not title or not text:
            sys.exit("%s: data row %d has an empty question or answer" % (src, n))
        out.append(json.dumps({"_id": "faq-%d" % n, "title": title, "text": text}, ensure_ascii=False))
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, dst)
    print("%s: %d documents" % (dst, len(out)))


if __name__ == "__main__":
    main(sys.argv)
