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
                           descriptions: package short description <TAB> long description (apt's
                             Translation-en lists, --apt-lists; one pair per distinct long description)
                           man-name-description: man page NAME line (what follows "name - ") <TAB> DESCRIPTION
                           info-nodes: GNU info manual node title <TAB> node text (manuals whose copying
                             notice is GFDL without invariant sections/cover texts, or GPL; others skipped)
                           gcide-word-def: GCIDE headword <TAB> its first definition
Texts equal to an evaluation query or to a question/answer of the bundled COVID FAQ (--exclude-queries), and
texts that mention COVID-19 or coronaviruses, are never written.
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


# ---- Debian package descriptions, man pages, GNU info manuals, GCIDE (round two) ----

APT_HELPER = "/usr/lib/apt/apt-helper"


def apt_cat(path):
    """Text of an apt list file, decompressed by apt itself (lists are .lz4/.gz/.xz as apt fetched them)."""
    import subprocess
    return subprocess.run([APT_HELPER, "cat-file", path], check=True, capture_output=True).stdout.decode(
        "utf-8", "replace")


def apt_descriptions(lists_dir):
    """Yields (package, short description, [long description paragraphs]) from apt's Translation-en lists."""
    for path in sorted(glob.glob(os.path.join(lists_dir, "*_i18n_Translation-en*"))):
        pkg, short, paras, cur = None, None, [], []
        for line in apt_cat(path).split("\n") + [""]:
            if line.startswith("Package:"):
                pkg = line.split(":", 1)[1].strip()
            elif line.startswith("Description-en:"):
                short, paras, cur = line.split(":", 1)[1].strip(), [], []
            elif line.startswith(" ") and short is not None:
                if line.strip() == ".":
                    paras.append(" ".join(cur))
                    cur = []
                else:
                    cur.append(line.strip())
            elif not line.strip() and short is not None:
                paras.append(" ".join(cur))
                yield pkg, short, [clean(p) for p in paras if p.strip()]
                pkg, short = None, None


def descriptions(lists_dir):
    """(paragraphs, short <TAB> long pairs); one pair per distinct first long paragraph, so that the many
    binary packages of one source (libfoo1, libfoo-dev, libfoo-doc) do not become each other's negatives."""
    paras, pairs, seen_first = [], [], set()
    for pkg, short, long_paras in apt_descriptions(lists_dir):
        if not long_paras:
            continue
        paras.extend(p for p in long_paras if good_paragraph(p))
        first = key(long_paras[0])
        if first in seen_first or len(short.split()) < 2:
            continue
        seen_first.add(first)
        body = ""
        for p in long_paras:
            if len(body) + len(p) > MAX_SECTION_CHARS and body:
                break
            body = (body + " " + p).strip()
        if len(body.split()) >= 6:
            pairs.append((short, body))
    return paras, pairs


MAN_PROSE_SKIP = {"SYNOPSIS", "EXAMPLES", "EXAMPLE", "SEE ALSO", "COLOPHON", "FILES", "VERSIONS", "STANDARDS",
                  "HISTORY", "AUTHORS", "AUTHOR", "LIBRARY", "ATTRIBUTES", "COPYRIGHT", "REPORTING BUGS",
                  "CONFORMING TO"}


def render_man(path):
    """A man page as plain text, rendered by Debian's man/groff (no hyphenation, no justification)."""
    import subprocess
    env = dict(os.environ, MANWIDTH="1000", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8")
    r = subprocess.run(["man", "--nh", "--nj", "-E", "UTF-8", "-l", path], capture_output=True, env=env)
    return r.stdout.decode("utf-8", "replace")


def man_sections(text):
    """{SECTION NAME: [paragraphs]} of a rendered man page (headers are unindented upper-case lines)."""
    sections, name, cur = {}, None, []
    for line in text.split("\n") + [""]:
        if line and not line[0].isspace() and line.strip().upper() == line.strip() and len(line) < 60:
            if name and cur:
                sections.setdefault(name, []).append(" ".join(cur))
            name, cur = line.strip(), []
            continue
        if not line.strip():
            if name and cur:
                sections.setdefault(name, []).append(" ".join(cur))
            cur = []
        elif name:
            cur.append(line.strip())
    return {k: [clean(p) for p in v] for k, v in sections.items()}


def man_pages(packages):
    """(paragraphs, NAME-line <TAB> DESCRIPTION pairs) from the English man pages the packages install."""
    import subprocess
    files = subprocess.run(["dpkg", "-L"] + packages, capture_output=True, text=True).stdout.split("\n")
    files = sorted(f for f in files if re.match(r"^/usr/share/man/man[1-8]/[^/]+\.[1-8][a-z]*(\.gz)?$", f)
                   and os.path.isfile(f) and not os.path.islink(f))
    paras, pairs = [], []
    for f in files:
        secs = man_sections(render_man(f))
        name = " ".join(secs.get("NAME", []))
        desc = [p for p in secs.get("DESCRIPTION", []) if good_paragraph(p)]
        for sec, ps in secs.items():
            if sec not in MAN_PROSE_SKIP and sec != "NAME":
                paras.extend(p for p in ps if good_paragraph(p))
        if not name or not desc:
            continue
        what = name.split(" - ", 1)[1].strip() if " - " in name else name
        if len(what.split()) < 3:
            what = name.replace(" - ", ": ", 1)
        body = ""
        for p in desc:
            if len(body) + len(p) > MAX_SECTION_CHARS and body:
                break
            body = (body + " " + p).strip()
        pairs.append((what, body))
    return paras, pairs, len(files)


def info_licence(text):
    """The licence a GNU info manual states in its copying notice, or None when it is not one we take
    (GFDL with invariant sections or cover texts, or no clear notice)."""
    head = re.sub(r"\s+", " ", text[:20000])
    m = re.search(r"Permission is granted to copy, distribute and/or modify this document under the terms of "
                  r"the (GNU [A-Za-z ]+License)([^;]*); ([^.]*(?:\.[0-9][^.]*)?)", head)
    if not m:
        return None
    terms = m.group(2) + " " + m.group(3)
    version = re.search(r"[Vv]ersion ([0-9]+(?:\.[0-9]+)*)", terms)
    name = m.group(1) + (f" {version.group(1)}{'+' if 'any later version' in terms else ''}" if version else "")
    if "Free Documentation" in m.group(1):
        if re.match(r"with no Invariant Sections, (with )?no Front-Cover Texts, and (with )?no Back-Cover",
                    m.group(3)):
            return name + ", no Invariant Sections, no Cover Texts"
        return None
    return name


def info_manual(files):
    """(paragraphs, node title <TAB> node text pairs, licence) of one info manual (its .info and .info-N)."""
    import gzip
    text = ""
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8", errors="replace") as fh:
            text += fh.read()
    lic = info_licence(text)
    if lic is None:
        return [], [], None
    paras, pairs = [], []
    for node in text.split("\x1f")[1:]:
        lines = node.split("\n")
        if not lines or not lines[1:] or not lines[1].startswith("File:") or "Node: Top" in lines[1]:
            continue
        title, body_lines = "", lines[2:]
        for i in range(len(body_lines) - 1):
            if body_lines[i].strip() and re.fullmatch(r"[*=\-.]{3,}", body_lines[i + 1].strip()):
                title, body_lines = clean_title(body_lines[i]), body_lines[i + 2:]
                break
        if re.search(r"(licen[cs]e|copying|index|concept|history)", title, re.I):
            continue
        ps, cur = [], []
        for line in body_lines + [""]:
            if line.strip() and not line.startswith("* "):
                cur.append(line.strip())
            else:
                if cur:
                    ps.append(clean(" ".join(cur)))
                cur = []
        ps = [p for p in ps if good_paragraph(p) and not p.startswith(("Next:", "Up:", "Prev:"))]
        paras.extend(ps)
        if title and ps and len(title.split()) >= 2:
            body = ""
            for p in ps:
                if len(body) + len(p) > MAX_SECTION_CHARS and body:
                    break
                body = (body + " " + p).strip()
            pairs.append((title.replace("‘", "").replace("’", ""), body))
    return paras, pairs, lic


def gcide(path):
    """(paragraphs, headword <TAB> definition pairs) from dict-gcide's gcide.dict.dz (1913 Webster + GCIDE)."""
    import gzip
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        data = f.read()
    paras, pairs = [], []
    for entry in re.split(r"\n\n(?=\S)", data):
        lines = entry.split("\n")
        m = re.match(r"^([A-Za-z][A-Za-z' -]*?) \\", lines[0])
        if not m:
            continue
        word = m.group(1).strip().lower()
        rest = " ".join(l.strip() for l in lines[1:] if not re.fullmatch(r"\s*\[[^\]]*\]\s*", l))
        rest = re.sub(r"\[[^\]]*\]", " ", rest)
        senses = [s for s in re.split(r"\s\d+\.\s", " " + rest) if s.strip()]
        definition = ""
        for s in senses:
            s = re.sub(r"^\s*(\([A-Za-z. ]+\)\s*)+", "", s)
            s = re.sub(r"--[A-Z][A-Za-z. ]*", " ", s)
            s = re.sub(r"Syn:.*", "", s)
            s = re.sub(r"\{[^}]*\}\.?\]?|^[^\[]*\]", " ", s)
            s = clean(s).strip(" ;,")
            if len(s.split()) >= 4 and not re.search(r"[*\\{}\[\]]|^\(", s):
                definition = s
                break
        if not definition:
            continue
        definition = re.split(r"(?<=[.;])\s(?=[A-Z])", definition, 1)[0].strip(" ;")
        if len(definition.split()) < 4:
            continue
        paras.append(f"{word}: {definition}")
        pairs.append((word, definition))
    return paras, pairs


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
    "descriptions": ("(apt lists) Translation-en of the configured Debian sources, component main",
                     "Debian package descriptions: short description and long description of every package",
                     "each description is part of its source package's debian/control and is under that package's "
                     "own licence (it varies by package: GPL, LGPL, BSD, MIT, Apache and others); every package "
                     "comes from Debian main, so every licence is DFSG-free; not checked package by package"),
    "man": ("manpages, manpages-dev", "Linux man-pages project: sections 1-8 (NAME line, DESCRIPTION and prose)",
            "per page: Linux-man-pages-copyleft (verbatim copying/modification with the notice), GPL-1+/GPL-2/"
            "GPL-2+, BSD-2/3/4-clause, Expat; see /usr/share/doc/manpages/copyright"),
    "gcide": ("dict-gcide", "GCIDE, the GNU Collaborative International Dictionary of English (1913 Webster "
              "plus additions): headword and first definition", "GPL-2+; see /usr/share/doc/dict-gcide/copyright"),
    "stsb-train": ("(not a package) ../shared/data/stsbenchmark/sts-train.csv",
                   "STS Benchmark TRAIN split only (pairs scored >= 4.0 of 5); dev and test never used",
                   "sentences from their original sources, scores CC BY-SA 4.0; see the LICENSE.txt beside it"),
}


COVID_RE = re.compile(r"covid|coronavirus|sars-cov|2019-ncov", re.I)


def load_forbidden(paths):
    """Normalised texts that must never be trained on: evaluation queries (BEIR queries.jsonl) and the
    questions and answers of FAQ CSV files (the bundled COVID FAQ)."""
    import csv
    import json
    out = set()
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            if path.endswith(".jsonl"):
                out.update(key(json.loads(line).get("text", "")) for line in f if line.strip())
            else:
                out.update(key(cell) for row in csv.reader(f) for cell in row if len(cell) > 20)
    out.discard("")
    return out


def package_of(path):
    import subprocess
    r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    return r.stdout.split(":", 1)[0] if r.returncode == 0 else "(unknown package)"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sts", default="", help="sts-train.csv (the STS Benchmark TRAIN split)")
    ap.add_argument("--heldout-per-mille", type=int, default=10)
    ap.add_argument("--apt-lists", default="", help="apt lists folder holding *_i18n_Translation-en* files")
    ap.add_argument("--man-packages", default="manpages,manpages-dev", help="packages whose man pages are used")
    ap.add_argument("--info-dir", default="/usr/share/info", help="GNU info manuals (licence checked each)")
    ap.add_argument("--gcide", default="/usr/share/dictd/gcide.dict.dz")
    ap.add_argument("--exclude-queries", nargs="*", default=[],
                    help="JSONL query files (BEIR) and CSV FAQs whose texts must never be trained on")
    args = ap.parse_args()
    out = args.out
    for d in ("text", "pairs", "heldout"):
        os.makedirs(os.path.join(out, d), exist_ok=True)

    seen_para, seen_pair = set(), set()
    stats, used = [], []
    heldout = []

    forbidden = load_forbidden(args.exclude_queries)

    def allowed(*texts):
        return not any(key(t) in forbidden or COVID_RE.search(t) for t in texts)

    def write_text(name, paras):
        kept = []
        for p in paras:
            k = key(p)
            if k in seen_para or not allowed(p):
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
            if not a or not b or key(a) == key(b) or not allowed(a, b):
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

    if args.apt_lists:
        paras, pairs = descriptions(args.apt_lists)
        if pairs:
            write_text("descriptions", paras)
            write_pairs("descriptions", pairs)
            used.append("descriptions")
            print(f"descriptions: {len(paras)} paragraphs, {len(pairs)} pairs", file=sys.stderr)
        else:
            print(f"warning: no Translation-en lists in {args.apt_lists}", file=sys.stderr)

    if args.man_packages:
        paras, pairs, n = man_pages(args.man_packages.split(","))
        if n:
            write_text("man", paras)
            write_pairs("man-name-description", pairs)
            used.append("man")
            print(f"man: {n} pages, {len(paras)} paragraphs, {len(pairs)} pairs", file=sys.stderr)

    info_used = []
    manuals = {}
    for f in sorted(glob.glob(os.path.join(args.info_dir, "*.info*.gz"))):
        manuals.setdefault(re.sub(r"\.info(-[0-9]+)?\.gz$", "", os.path.basename(f)), []).append(f)
    info_paras, info_pairs = [], []
    for manual, files in sorted(manuals.items()):
        paras, pairs, lic = info_manual(files)
        if lic is None:
            print(f"info: {manual}: skipped (licence notice not GFDL without invariant sections or GPL)",
                  file=sys.stderr)
            continue
        info_paras += paras
        info_pairs += pairs
        info_used.append((manual, package_of(files[0]), lic))
    if info_used:
        write_text("info", info_paras)
        write_pairs("info-nodes", info_pairs)
        print(f"info: {len(info_used)} manuals, {len(info_paras)} paragraphs, {len(info_pairs)} pairs",
              file=sys.stderr)

    if args.gcide and os.path.exists(args.gcide):
        paras, pairs = gcide(args.gcide)
        write_text("gcide", paras)
        write_pairs("gcide-word-def", pairs)
        used.append("gcide")

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
        for manual, pkg, lic in info_used:
            f.write(f"info-{manual}\n  package: {pkg}\n  content: the GNU info manual {manual} (node title, "
                    f"node text)\n  licence: {lic} (as its copying notice states)\n\n")
    with open(os.path.join(out, "STATS"), "w", encoding="utf-8") as f:
        f.write("\n".join(stats) + "\n")
    print("\n".join(stats), file=sys.stderr)


if __name__ == "__main__":
    main()
