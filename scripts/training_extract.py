#!/usr/bin/env python3
"""scripts/training_extract.py: turns installed Debian documentation packages into training data for
`semsearch train` (called by scripts/make_training_data.sh; Python standard library only).

Output (under --out):
  text/<source>.txt      one paragraph per line (masked-LM corpus), deduplicated across all sources
  heldout/text.txt       ~1 % of the paragraphs (chosen by hash), removed from text/: held-out MLM evaluation
  pairs/<source>.tsv     "text<TAB>positive" lines for contrastive training, deduplicated:
                           *-sections: section title <TAB> section text
                           *-faq:      FAQ question <TAB> its answer
                           wordnet-def-example: definition <TAB> example sentence
                           wordnet-word-def: the synset's words <TAB> its definition
                           wordnet-synonyms: two words of one synset
                           stsb-train: STS Benchmark TRAIN pairs scored >= 4.0 (never dev or test)
  LICENSES               every source, its Debian package and licence
  STATS                  counts per output file
"""
import argparse
import glob
import hashlib
import html.parser
import os
import re
import sys

MIN_PARA_CHARS = 40
MIN_PARA_WORDS = 6
MAX_SECTION_CHARS = 1200

GENERIC_TITLES = {
    "description", "synopsis", "parameters", "examples", "example", "notes", "note", "see also", "compatibility",
    "outputs", "options", "return value", "overview", "introduction", "footnotes", "table of contents", "contents",
    "navigation", "history", "environment", "files", "diagnostics", "bugs", "authors", "author", "usage",
}

SKIP_CLASSES = {"sphinxsidebar", "related", "footer", "navheader", "navfooter", "toc", "breadcrumbs", "nav",
                "menu", "header", "sidebar", "highlight", "literallayout", "synopsis", "programlisting",
                "screen", "funcsynopsis", "cmdsynopsis", "toctree-wrapper", "footnote"}
SKIP_TAGS = {"script", "style", "pre", "nav", "head", "table"}
BLOCK_TAGS = {"p", "li", "dd", "dt", "blockquote", "td", "th", "div", "section", "br", "tr", "ul", "ol", "dl"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5"}


class Sectioner(html.parser.HTMLParser):
    """Collects (level, title, [paragraphs]) sections from an HTML page, skipping navigation and code."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections = []  # [level, title, paragraphs]
        self.skip_stack = []  # tag names whose content is skipped (nesting counted per name)
        self.in_heading = None
        self.buf = []
        self.heading_buf = []
        self.page_title = ""

    def _flush(self):
        text = clean("".join(self.buf))
        self.buf = []
        if text:
            if not self.sections:
                self.sections.append([0, self.page_title, []])
            self.sections[-1][2].append(text)

    def handle_starttag(self, tag, attrs):
        if self.skip_stack:
            if tag == self.skip_stack[-1][0]:
                self.skip_stack[-1][1] += 1
            return
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag in SKIP_TAGS or classes & SKIP_CLASSES or a.get("role") == "navigation":
            self.skip_stack.append([tag, 1])
            return
        if tag in HEADINGS:
            self._flush()
            self.in_heading = tag
            self.heading_buf = []
        elif tag in BLOCK_TAGS:
            self._flush()
        elif tag == "a" and "headerlink" in classes:
            self.skip_stack.append([tag, 1])

    def handle_endtag(self, tag):
        if self.skip_stack:
            if tag == self.skip_stack[-1][0]:
                self.skip_stack[-1][1] -= 1
                if self.skip_stack[-1][1] == 0:
                    self.skip_stack.pop()
            return
        if tag == self.in_heading:
            title = clean_title("".join(self.heading_buf))
            level = int(tag[1])
            if level == 1 and not self.page_title:
                self.page_title = title
            self.sections.append([level, title, []])
            self.in_heading = None
        elif tag in BLOCK_TAGS:
            self._flush()

    def handle_data(self, data):
        if self.skip_stack:
            return
        if self.in_heading:
            self.heading_buf.append(data)
        else:
            self.buf.append(data)

    def close(self):
        super().close()
        self._flush()


def clean(s):
    s = s.replace("\u00b6", " ").replace("\u00a0", " ")
    s = re.sub(r"\s+", " ", s).strip()
    return s


def clean_title(s):
    s = clean(s)
    s = re.sub(r"^(Chapter|Appendix|Section)\s+[0-9A-Z]+(\.[0-9]+)*\.?\s*", "", s)
    s = re.sub(r"^[0-9A-Z]{1,2}(\.[0-9]+)+\.?\s+", "", s)  # "5.3.2. Title", "A.1. Title"
    s = re.sub(r"^[0-9]+\.\s+", "", s)
    return s.strip()


def good_paragraph(p):
    if len(p) < MIN_PARA_CHARS or len(p.split()) < MIN_PARA_WORDS:
        return False
    letters = sum(c.isalpha() for c in p)
    return letters >= 0.6 * len(p)


def key(s):
    return re.sub(r"\s+", " ", s.lower()).strip()


def parse_html(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        data = f.read()
    p = Sectioner()
    try:
        p.feed(data)
        p.close()
    except Exception as e:  # a page the parser cannot read is skipped, not fatal
        print(f"warning: {path}: {e}", file=sys.stderr)
        return "", []
    return p.page_title, p.sections


def html_source(files):
    """Yields (paragraphs, section pairs, faq pairs) per page."""
    for path in files:
        page_title, sections = parse_html(path)
        paras, sec_pairs, faq_pairs = [], [], []
        for level, title, ps in sections:
            ps = [p for p in ps if good_paragraph(p)]
            paras.extend(ps)
            if not ps or not title:
                continue
            body = ""
            for p in ps:
                if len(body) + len(p) > MAX_SECTION_CHARS and body:
                    break
                body = (body + " " + p).strip()
            t = title
            if t.lower().rstrip(".:") in GENERIC_TITLES:
                if not page_title or page_title == title:
                    continue
                t = f"{page_title}: {title}"
            if t.endswith("?"):
                faq_pairs.append((t, body))
            elif len(t.split()) >= 2 or level <= 2:
                sec_pairs.append((t, body))
        yield paras, sec_pairs, faq_pairs


def wordnet(dirpath):
    """Yields (paragraph, [(definition, example)], words, definition) per synset from WordNet's data.* files."""
    for pos in ("noun", "verb", "adj", "adv"):
        path = os.path.join(dirpath, "data." + pos)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                head, gloss = line.split("|", 1)
                fields = head.split()
                try:
                    n = int(fields[3], 16)
                    words = [fields[4 + 2 * i].replace("_", " ") for i in range(n)]
                except (IndexError, ValueError):
                    continue
                examples = [clean(e) for e in re.findall(r'"([^"]+)"', gloss)]
                definition = clean(re.sub(r'"[^"]*"', "", gloss)).strip(" ;:")
                if not definition:
                    continue
                para = f"{', '.join(words)}: {definition}."
                if examples:
                    para += " " + " ".join(e if e.endswith((".", "!", "?")) else e + "." for e in examples)
                yield para, [(definition, e) for e in examples if len(e.split()) >= 3], words, definition


def sts_train(path):
    pairs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 7:
                continue
            try:
                score = float(cols[4])
            except ValueError:
                continue
            if score >= 4.0:
                pairs.append((clean(cols[5]), clean(cols[6])))
    return pairs


LICENSES = {
    "python": ("python3.11-doc", "Python 3.11 documentation, including the Python FAQs",
               "PSF License Agreement (Python Software Foundation); see /usr/share/doc/python3.11-doc/copyright"),
    "postgresql": ("postgresql-doc-15", "PostgreSQL 15 documentation",
                   "PostgreSQL Licence (permissive, BSD-like); see /usr/share/doc/postgresql-doc-15/copyright"),
    "sqlite": ("sqlite3-doc", "SQLite documentation", "public domain; see /usr/share/doc/sqlite3-doc/copyright"),
    "wordnet": ("wordnet-base", "WordNet 3.0 definitions and example sentences",
                "WordNet 3.0 licence (Princeton University; permissive, attribution); see "
                "/usr/share/doc/wordnet-base/copyright"),
    "debian-faq": ("debian-faq", "The Debian GNU/Linux FAQ",
                   "verbatim and modified copies permitted with the notice (Software in the Public Interest); see "
                   "/usr/share/doc/debian-faq/copyright"),
    "debian-reference": ("debian-reference-en", "Debian Reference (English)",
                         "GPL-2+ (Osamu Aoki); see /usr/share/doc/debian-reference-en/copyright"),
    "stsb-train": ("(not a package) ../shared/data/stsbenchmark/sts-train.csv",
                   "STS Benchmark TRAIN split only (pairs scored >= 4.0 of 5); dev and test never used",
                   "sentences from their original sources, scores CC BY-SA 4.0; see the LICENSE.txt beside it"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sts", default="", help="sts-train.csv (the STS Benchmark TRAIN split)")
    ap.add_argument("--heldout-per-mille", type=int, default=10)
    args = ap.parse_args()
    out = args.out
    for d in ("text", "pairs", "heldout"):
        os.makedirs(os.path.join(out, d), exist_ok=True)

    seen_para, seen_pair = set(), set()
    stats, used = [], []
    heldout = []

    def write_text(name, paras):
        kept = []
        for p in paras:
            k = key(p)
            if k in seen_para:
                continue
            seen_para.add(k)
            if int(hashlib.sha1(k.encode()).hexdigest(), 16) % 1000 < args.heldout_per_mille:
                heldout.append(p)
            else:
                kept.append(p)
        with open(os.path.join(out, "text", name + ".txt"), "w", encoding="utf-8") as f:
            for p in kept:
                f.write(p.replace("\t", " ") + "\n")
        stats.append(f"text/{name}.txt\t{len(kept)} paragraphs")

    def write_pairs(name, pairs):
        kept = []
        for a, b in pairs:
            a, b = clean(a).replace("\t", " "), clean(b).replace("\t", " ")
            if not a or not b or key(a) == key(b):
                continue
            k = (key(a), key(b))
            if k in seen_pair:
                continue
            seen_pair.add(k)
            kept.append((a, b))
        if not kept:
            return
        with open(os.path.join(out, "pairs", name + ".tsv"), "w", encoding="utf-8") as f:
            for a, b in kept:
                f.write(f"{a}\t{b}\n")
        stats.append(f"pairs/{name}.tsv\t{len(kept)} pairs")

    html_sources = [
        ("python", [p for p in glob.glob("/usr/share/doc/python3.11/html/**/*.html", recursive=True)
                    if "/_" not in p and not re.search(r"(genindex|py-modindex|search|changelog)", p)]),
        ("postgresql", [p for p in glob.glob("/usr/share/doc/postgresql-doc-15/html/*.html")
                        if not re.search(r"/(release-|bookindex|biblio)", p)]),
        ("sqlite", [p for p in glob.glob("/usr/share/doc/sqlite3/**/*.html", recursive=True)
                    if "/releaselog/" not in p and not p.endswith(("changes.html", "chronology.html"))]),
        ("debian-faq", glob.glob("/usr/share/doc/debian/FAQ/*.en.html")),
        ("debian-reference", glob.glob("/usr/share/debian-reference/*.en.html")),
    ]
    for name, files in html_sources:
        files = sorted(files)
        if not files:
            print(f"warning: no files for {name} (package not installed?)", file=sys.stderr)
            continue
        paras, secs, faqs = [], [], []
        for ps, sp, fp in html_source(files):
            paras += ps
            secs += sp
            faqs += fp
        write_text(name, paras)
        write_pairs(name + "-faq", faqs)
        write_pairs(name + "-sections", secs)
        used.append(name)
        print(f"{name}: {len(files)} pages, {len(paras)} paragraphs, {len(secs)} sections, {len(faqs)} FAQ",
              file=sys.stderr)

    if os.path.exists("/usr/share/wordnet/data.noun"):
        paras, pairs, word_def, synonyms = [], [], [], []
        for para, ex, words, definition in wordnet("/usr/share/wordnet"):
            paras.append(para)
            pairs += ex
            word_def.append((", ".join(words), definition))
            distinct = list(dict.fromkeys(w.lower() for w in words))
            if len(distinct) >= 2:
                synonyms.append((distinct[0], distinct[1]))
        write_text("wordnet", paras)
        write_pairs("wordnet-def-example", pairs)
        write_pairs("wordnet-word-def", word_def)
        write_pairs("wordnet-synonyms", synonyms)
        used.append("wordnet")
    else:
        print("warning: WordNet not installed", file=sys.stderr)

    if args.sts:
        if os.path.basename(args.sts) != "sts-train.csv":
            sys.exit("error: --sts must be the TRAIN split (sts-train.csv); dev and test are never trained on")
        write_pairs("stsb-train", sts_train(args.sts))
        used.append("stsb-train")

    with open(os.path.join(out, "heldout", "text.txt"), "w", encoding="utf-8") as f:
        for p in heldout:
            f.write(p.replace("\t", " ") + "\n")
    stats.append(f"heldout/text.txt\t{len(heldout)} paragraphs")

    with open(os.path.join(out, "LICENSES"), "w", encoding="utf-8") as f:
        f.write("Sources of this training data (made by scripts/make_training_data.sh)\n\n")
        for name in used:
            pkg, what, lic = LICENSES[name]
            f.write(f"{name}\n  package: {pkg}\n  content: {what}\n  licence: {lic}\n\n")
    with open(os.path.join(out, "STATS"), "w", encoding="utf-8") as f:
        f.write("\n".join(stats) + "\n")
    print("\n".join(stats), file=sys.stderr)


if __name__ == "__main__":
    main()
