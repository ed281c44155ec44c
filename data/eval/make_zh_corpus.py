#!/usr/bin/env python3
"""Build the Chinese FAQ (data/zh-faq/debian-faq-zh.jsonl) and its BEIR corpus (data/eval/zh-faq/corpus.jsonl)
from the installed Simplified Chinese translation of the Debian GNU/Linux FAQ.

Standard library only.  Needs the Debian package `debian-faq-zh-cn` (apt-get install -y debian-faq-zh-cn),
which installs the FAQ as plain text in /usr/share/doc/debian/FAQ/debian-faq.zh-cn.txt.gz.  The files
committed beside this script were built from debian-faq-zh-cn 11.1 (the FAQ's "版本 11.0", January 2021).

One document per numbered section or subsection that has its own text, in document order, with the section
numbers of the English FAQ (data/eval/debian-faq uses the same numbers with the prefix "dfaq-"):
    data/zh-faq/debian-faq-zh.jsonl   {"id": "zhfaq-1.2", "title": "什么是 Debian GNU/Linux？", "text": ANSWER}
    data/eval/zh-faq/corpus.jsonl     {"_id": "zhfaq-1.2", "title": ..., "text": ...}
The title is the heading without its number (the question), the text the section's own body up to the next
numbered heading.  The sectioning is that of make_debian_corpus.py; only the joining of wrapped lines differs:
Chinese text is wrapped anywhere, so a line break between two Chinese characters or next to full-width
punctuation is removed, while one between a Chinese character and a Latin word stands for a space (see join_zh).

Usage: python3 data/eval/make_zh_corpus.py [FAQ.txt(.gz)] [FAQ_OUT] [CORPUS_OUT]
"""
import json
import os
import re
import sys
import unicodedata

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_debian_corpus as deb  # noqa: E402  (the shared sectioning of the Debian FAQ text)

ROOT = deb.ROOT
DEFAULT_SRC = "/usr/share/doc/debian/FAQ/debian-faq.zh-cn.txt.gz"
CHAPTER = re.compile(r"^(第 \d+ 章|附录 [A-Z])\s")
# Quotes and dashes are "ambiguous" width in Unicode but set as full-width characters in Chinese text.
WIDE_AMBIGUOUS = set("“”‘’…—·")


def wide(ch):
    return unicodedata.east_asian_width(ch) in ("W", "F") or ch in WIDE_AMBIGUOUS


def wide_punct(ch):
    return wide(ch) and (unicodedata.category(ch)[0] in "PS" or ch in WIDE_AMBIGUOUS)


def join_zh(parts):
    """Join wrapped lines.  Chinese text is wrapped anywhere, so a break next to full-width punctuation or
    between two Chinese characters stands for nothing; one between a Chinese character and a Latin word stands
    for the space that the text puts there; between two Latin words the English rule applies (a space, but none
    around a '/' break in a path or URL)."""
    out = ""
    for p in parts:
        p = p.strip()
        if not p:
            continue
        if out:
            a, b = out[-1], p[0]
            if wide_punct(a) or wide_punct(b) or (wide(a) and wide(b)):
                pass
            elif wide(a) or wide(b) or out.endswith("/") == p.startswith("/"):
                out += " "
        out += p
    return out


def main(argv):
    src = argv[1] if len(argv) > 1 else DEFAULT_SRC
    faq_out = argv[2] if len(argv) > 2 else os.path.join(ROOT, "data", "zh-faq", "debian-faq-zh.jsonl")
    corpus_out = argv[3] if len(argv) > 3 else os.path.join(ROOT, "data", "eval", "zh-faq", "corpus.jsonl")
    lines = deb.read_lines(src, "debian-faq-zh-cn")
    sections = deb.split_sections(lines, src, "第 1 章 ", CHAPTER)
    docs = deb.sections_to_docs(sections, src, "zhfaq-", join_zh)
    if len(docs) < 100:
        sys.exit("%s: only %d sections found: format changed?" % (src, len(docs)))
    deb.write_lines(faq_out, [json.dumps({"id": d, "title": t, "text": x}, ensure_ascii=False) for d, t, x in docs])
    deb.write_lines(corpus_out, [json.dumps({"_id": d, "title": t, "text": x}, ensure_ascii=False)
                                 for d, t, x in docs])


if __name__ == "__main__":
    main(sys.argv)
