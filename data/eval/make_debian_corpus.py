#!/usr/bin/env python3
"""Build data/eval/debian-faq/corpus.jsonl (BEIR format) from the installed Debian FAQ.

Standard library only.  Needs the Debian package `debian-faq` (apt-get install -y debian-faq), which
installs the FAQ as plain text in /usr/share/doc/debian/FAQ/debian-faq.en.txt.gz.  The corpus
committed beside this script was built from debian-faq 11.1 (the FAQ's "Version 11.0", January 2021).

One document per numbered section or subsection of the FAQ that has its own text, in document order:
    {"_id": "dfaq-1.2", "title": "What is Debian GNU/Linux?", "text": ANSWER}
The id is the section number; the title is the heading without its number (wrapped lines joined); the
text is the section's own body up to the next numbered heading (a section whose body is empty because
it only introduces its subsections is skipped).  Lines inside a paragraph are joined, paragraphs are
separated by one newline, bullets keep their "* " marker.

Usage: python3 data/eval/make_debian_corpus.py [FAQ.txt(.gz)] [OUT]
"""
import gzip
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_SRC = "/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz"
HEADING = re.compile(r"^(\d+(?:\.\d+)+)\.\s+(\S.*)$")
CHAPTER = re.compile(r"^(Chapter \d+\.|Appendix [A-Z]\.)\s")


def join_lines(parts):
    """Join wrapped lines: the text wraps after '/' or before '/' (paths, URLs) without a space."""
    out = ""
    for p in parts:
        p = p.strip()
        if not p:
            continue
        if out and (out.endswith("/") == p.startswith("/")):  # "a/ /b" (two paths) keeps its space
            out += " "
        out += p
    return out


def body_to_text(lines, join=join_lines):
    paras, cur = [], []
    for ln in lines:
        s = ln.strip()
        if not s:
            if cur:
                paras.append(join(cur))
                cur = []
            continue
        if s.startswith("* ") and cur:  # a new bullet starts a new paragraph
            paras.append(join(cur))
            cur = []
        cur.append(s)
    if cur:
        paras.append(join(cur))
    return "\n".join(p for p in paras if p)


def read_lines(src, package):
    """The FAQ text as lines, no-break spaces made plain; exits with an install hint when it is missing."""
    opener = gzip.open if src.endswith(".gz") else open
    try:
        with opener(src, "rt", encoding="utf-8") as f:
            return f.read().replace("\u00a0", " ").split("\n")
    except OSError as e:
        sys.exit("%s: %s (install it with: apt-get install -y %s)" % (src, e, package))


def split_sections(lines, src, first_chapter, chapter_re):
    """[number, title lines, body lines] per numbered heading, from the line starting with first_chapter on
    (the table of contents before it is skipped); text under a chapter line (chapter_re) belongs to none."""
    start = next((i for i, ln in enumerate(lines) if ln.startswith(first_chapter)), None)
    if start is None:
        sys.exit("%s: no '%s' line: not the Debian FAQ text?" % (src, first_chapter.strip()))
    sections = []
    i = start
    while i < len(lines):
        ln = lines[i]
        m = HEADING.match(ln)
        if m:
            title = [m.group(2)]
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(" "):
                title.append(lines[i])  # wrapped heading
                i += 1
            sections.append([m.group(1), title, []])
            continue
        if chapter_re.match(ln):
            sections.append([None, [], []])  # chapter intro text belongs to no section
        elif sections:
            sections[-1][2].append(ln)
        i += 1
    return sections


def sections_to_docs(sections, src, prefix, join=join_lines):
    """(id, title, text) per section with its own text; exits if a number repeats."""
    docs, seen = [], set()
    for num, title, body in sections:
        if num is None:
            continue
        text = body_to_text(body, join)
        if not text:
            continue
        did = prefix + num
        if did in seen:
            sys.exit("%s: section %s appears twice" % (src, num))
        seen.add(did)
        docs.append((did, join(title), text))
    return docs


def write_lines(dst, out):
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, dst)
    print("%s: %d documents" % (dst, len(out)))


def main(argv):
    src = argv[1] if len(argv) > 1 else DEFAULT_SRC
    dst = argv[2] if len(argv) > 2 else os.path.join(ROOT, "data", "eval", "debian-faq", "corpus.jsonl")
    lines = read_lines(src, "debian-faq")
    docs = sections_to_docs(split_sections(lines, src, "Chapter 1. ", CHAPTER), src, "dfaq-")
    out = [json.dumps({"_id": d, "title": t, "text": x}, ensure_ascii=False) for d, t, x in docs]
    if len(out) < 100:
        sys.exit("%s: only %d sections found: format changed?" % (src, len(out)))
    write_lines(dst, out)


if __name__ == "__main__":
    main(sys.argv)
