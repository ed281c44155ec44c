#!/usr/bin/env python3
"""scripts/training_extract_zh.py: turns Chinese (zh_CN) Debian documentation and message catalogues into training
data for `semsearch train` (called by scripts/make_training_data_zh.sh; Python standard library only).

Reuses the HTML sectioner of scripts/training_extract.py. Output (under --out):
  text/<source>.txt        one paragraph per line (masked-LM corpus), deduplicated across all sources; Chinese,
                           plus English: en-docs (the English originals of the aligned documents), mo-en (msgids)
  heldout/text.txt         ~1 % of the paragraphs (chosen by hash), removed from text/: held-out MLM evaluation
  pairs/<name>.tsv         "text<TAB>positive" lines for contrastive training, deduplicated:
                             <source>-sections: section title <TAB> section text (Chinese)
                             <source>-faq:      question <TAB> answer (never from the Debian FAQ: see below)
                             manpages-zh-name:  man page NAME line <TAB> its DESCRIPTION
                             xling-<source>:    English <TAB> Chinese (the same section, title or NAME line in
                                                both languages)
                             xling-mo:          msgid <TAB> msgstr from the zh_CN message catalogues
  heldout/pairs/<name>.tsv ~2 % of each pair file (chosen by hash), removed from pairs/: retrieval check
  LICENSES                 every source, its Debian package(s) and licence(s)
  STATS                    counts per output file

  scripts/training_extract_zh.py --mix PAIRS_DIR MIX.tsv   writes the contrastive mix (see write_mix)
  scripts/training_extract_zh.py --beir OUT_DIR PAIRS.tsv...  a BEIR retrieval check from held-out pairs

The Chinese Debian FAQ (debian-faq-zh-cn) is the corpus of the Chinese retrieval evaluation set
(data/eval/zh-faq): it is used as masked-LM text only and none of its pairs are written.
"""
import argparse
import glob
import gzip
import hashlib
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import training_extract as te  # noqa: E402  (the English extractor: HTML sectioner, clean(), key())

MAX_BODY_CHARS = 400         # Chinese section bodies for pairs: ~1 token per character, contrastive runs use 64-128
MIN_PARA_CHARS = 12
GENERIC_TITLES_ZH = {"描述", "说明", "简介", "概述", "注意", "例子", "示例", "范例", "参见", "另见", "选项", "目录",
                     "内容", "前言", "作者", "历史", "文件", "环境", "错误", "诊断", "返回值", "注释", "介绍",
                     "参数", "用法", "概要", "提示", "警告", "版权", "名称", "总览", "导航", "脚注"}
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def han_count(s):
    return len(HAN.findall(s))


def good_zh_paragraph(p):
    """A paragraph worth training on: long enough, mostly letters (Han counts as letters), some Chinese."""
    if len(p) < MIN_PARA_CHARS:
        return False
    letters = sum(c.isalpha() for c in p)
    return letters >= 0.5 * len(p) and han_count(p) >= 0.2 * letters


def clean_title_zh(s):
    s = te.clean(s)
    s = re.sub(r"^第\s*[0-9一二三四五六七八九十]+\s*[章节部分]\s*", "", s)
    s = re.sub(r"^附录\s*[A-Z]\.?\s*", "", s)
    return te.clean_title(s)


NUM_RE = re.compile(r"^(?:Chapter\s+|Appendix\s+|第\s*|附录\s*)?([0-9]+|[A-Z](?=\.))((?:\.[0-9]+)*)(?:\.\s*|\s+)")


class NumSectioner(te.Sectioner):
    """The English extractor's sectioner, plus each heading's number ("2.1.3", "A.1", "2" for "第 2 章"), so that
    a page and its translation can be aligned section by section. sections[i] = [level, title, paras, number]."""

    def handle_endtag(self, tag):
        if tag == self.in_heading and not self.skip_stack:
            raw = te.clean("".join(self.heading_buf))
            m = NUM_RE.match(raw)
            num = (m.group(1) + m.group(2)) if m else None
            super().handle_endtag(tag)
            self.sections[-1][1] = clean_title_zh(raw)
            self.sections[-1].append(num)
            return
        super().handle_endtag(tag)


def parse_sections(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        data = f.read()
    p = NumSectioner()
    try:
        p.feed(data)
        p.close()
    except Exception as e:  # a page the parser cannot read is skipped, not fatal
        print(f"warning: {path}: {e}", file=sys.stderr)
        return []
    return [s if len(s) == 4 else s + [None] for s in p.sections]


def join_zh(pieces):
    """Joins text pieces: no space between two Han characters, one space otherwise."""
    out = ""
    for p in pieces:
        out = out + p if not out or (HAN.match(out[-1]) and HAN.match(p[0])) else out + " " + p
    return te.clean(out)


def body_of(paras, limit=MAX_BODY_CHARS):
    """The first paragraphs of a section, up to about limit characters."""
    taken = []
    for p in paras:
        if taken and sum(map(len, taken)) + len(p) > limit:
            break
        taken.append(p)
    return join_zh(taken)[: limit * 2]


def html_zh(files):
    """(paragraphs, section pairs, faq pairs) over Chinese HTML pages."""
    paras, secs, faqs = [], [], []
    for path in files:
        for level, title, ps, _num in parse_sections(path):
            ps = [p for p in ps if good_zh_paragraph(p)]
            paras += ps
            if not ps or not title or title.rstrip("：:.") in GENERIC_TITLES_ZH:
                continue
            if title.lower().rstrip(".:") in te.GENERIC_TITLES or len(title) < 2:
                continue
            body = body_of(ps)
            (faqs if title.endswith(("?", "？")) else secs).append((title, body))
    return paras, secs, faqs


def aligned_sections(en_files, zh_files):
    """English <-> Chinese pairs from a document and its translation: same file name stem, same section number.
    Pairs: title <-> title, first paragraph <-> first paragraph (when both exist and the Chinese one is Chinese),
    English title <-> Chinese body and Chinese title <-> English body."""
    pairs = []
    for en, zh in zip(en_files, zh_files):
        en_secs = {s[3]: s for s in parse_sections(en) if s[3]}
        for level, title, ps, num in parse_sections(zh):
            if not num or num not in en_secs or not han_count(title):
                continue
            en_title, en_raw = en_secs[num][1], en_secs[num][2]
            pairs.append((en_title, title))
            # first paragraphs only where both are good: filtering first could pair paragraphs of different places
            if en_raw and ps and te.good_paragraph(en_raw[0]) and good_zh_paragraph(ps[0]):
                pairs.append((en_raw[0], ps[0]))
            en_ps, zh_ps = [p for p in en_raw if te.good_paragraph(p)], [p for p in ps if good_zh_paragraph(p)]
            if en_ps and zh_ps:
                pairs.append((en_title, body_of(zh_ps)))
                pairs.append((body_of(en_ps, 600), title))
    return pairs


ROFF_FONT = re.compile(r"\\f(?:\[[^\]]*\]|\([A-Za-z]{2}|[A-Za-z0-9])")
ROFF_ESC = [(re.compile(r"\\[-\u2010]"), "-"), (re.compile(r"\\\(em|\\\(en"), "—"),
            (re.compile(r"\\\(lq|\\\(rq"), '"'),
            (re.compile(r"\\[&/,|^%]|\\:"), ""), (re.compile(r"\\e"), "\\"), (re.compile(r"\\ "), " "),
            (re.compile(r"\\\*\(?[A-Za-z]{1,2}"), ""), (re.compile(r"\\\([a-z]{2}"), "")]


def roff_text(s):
    s = ROFF_FONT.sub("", s)
    for r, t in ROFF_ESC:
        s = r.sub(lambda _m, t=t: t, s)
    return te.clean(s.replace('"', " ") if s.startswith('"') else s)


def man_page(path):
    """{section name: [paragraphs]} from a man page's roff source (the usual man macros; others are dropped)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except (OSError, EOFError) as e:
        print(f"warning: {path}: {e}", file=sys.stderr)
        return {}
    secs, cur, buf = {}, None, []

    def flush():
        if cur is not None and buf:
            secs.setdefault(cur, []).append(join_zh(buf))
        buf.clear()

    for ln in lines:
        if ln.startswith(('.\\"', "'\\\"")) or ln.startswith(".so "):
            continue
        if ln.startswith((".SH", ".SS")):
            flush()
            name = roff_text(ln[3:].strip().strip('"'))
            if ln.startswith(".SH"):
                cur = name
            continue
        if ln.startswith((".PP", ".P ", ".LP", ".TP", ".IP", ".HP", ".br", ".sp")) or ln in (".P", ".RS", ".RE"):
            flush()
            continue
        if ln.startswith((".B ", ".I ", ".BR ", ".IR ", ".RB ", ".RI ", ".BI ", ".IB ", ".SM ")):
            ln = ln.split(" ", 1)[1]
        elif ln.startswith((".", "'")):
            continue
        t = roff_text(ln)
        if t:
            buf.append(t)
    flush()
    return secs


NAME_SECS = ("名称", "名字", "NAME", "名稱", "名 称")
DESC_SECS = ("描述", "说明", "DESCRIPTION", "描 述", "详述", "介绍")


def first_of(secs, names):
    for n in names:
        if secs.get(n):
            return secs[n]
    return []


def manpages(zh_root, en_root):
    """(paragraphs, NAME <-> DESCRIPTION pairs, English NAME <-> Chinese NAME pairs) from manpages-zh."""
    paras, name_desc, xling = [], [], []
    for path in sorted(glob.glob(os.path.join(zh_root, "man*", "*.gz"))):
        secs = man_page(path)
        for name, ps in secs.items():
            paras += [p for p in ps if good_zh_paragraph(p)]
        name = " ".join(first_of(secs, NAME_SECS))
        desc = [p for p in first_of(secs, DESC_SECS) if good_zh_paragraph(p)]
        if not han_count(name):
            continue
        if desc:
            name_desc.append((name, body_of(desc)))
        rel = os.path.relpath(path, zh_root)
        en_path = os.path.join(en_root, rel)
        if os.path.exists(en_path):
            en_name = " ".join(first_of(man_page(en_path), ("NAME",)))
            if en_name and not han_count(en_name):
                xling.append((en_name, name))
    return paras, name_desc, xling


PO_STR = re.compile(r'"((?:[^"\\]|\\.)*)"')
PO_ESC = {"n": " ", "t": " ", '"': '"', "\\": "\\", "r": ""}


def po_unquote(lines):
    s = "".join(m.group(1) for ln in lines for m in [PO_STR.search(ln)] if m)
    return re.sub(r"\\(.)", lambda m: PO_ESC.get(m.group(1), ""), s)


def po_entries(path):
    """(msgid, msgstr) from a .po file as msgunfmt writes it (msgstr[0] for plural entries; msgctxt ignored)."""
    entries, cur, field = [], {}, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for ln in f:
            ln = ln.rstrip("\n")
            m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[0\])?|msgstr\[\d+\])\s+(".*)$', ln)
            if m:
                if m.group(1) == "msgid" and cur:
                    entries.append(cur)
                    cur = {}
                field = m.group(1)
                cur.setdefault(field, []).append(m.group(2))
            elif ln.startswith('"') and field:
                cur[field].append(ln)
    if cur:
        entries.append(cur)
    out = []
    for e in entries:
        msgid, msgstr = po_unquote(e.get("msgid", [])), po_unquote(e.get("msgstr", e.get("msgstr[0]", [])))
        if msgid and msgstr:
            out.append((msgid, msgstr))
    return out


UI_NOISE = re.compile(r"(\(_[A-Za-z0-9]\)|\(&[A-Za-z0-9]\)|_(?=\w)|&(?=\w))")


def ui_clean(s):
    return te.clean(UI_NOISE.sub("", s))


def catalogues(po_dir):
    """(Chinese paragraphs, English paragraphs, msgid <-> msgstr pairs, catalogue names) from the .po files
    msgunfmt wrote."""
    paras, en_paras, pairs, names = [], [], [], []
    for path in sorted(glob.glob(os.path.join(po_dir, "*.po"))):
        n = 0
        for msgid, msgstr in po_entries(path):
            en, zh = ui_clean(msgid), ui_clean(msgstr)
            if not han_count(zh) or han_count(en) or len(en) < 4 or sum(c.isalpha() for c in en) < 3:
                continue
            if len(zh) >= MIN_PARA_CHARS and good_zh_paragraph(zh):
                paras.append(zh)
            if te.good_paragraph(en):
                en_paras.append(en)
            if len(en) <= 600:
                pairs.append((en, zh[:600]))
                n += 1
        if n:
            names.append(os.path.basename(path)[:-3])
    return paras, en_paras, pairs, names


DOC_LICENCES = {
    "debian-reference-zh": ("debian-reference-zh-cn", "Debian Reference, Simplified Chinese translation",
                            "GPL-2+ (Osamu Aoki and translators)"),
    "debian-reference-en": ("debian-reference-en", "Debian Reference (English), aligned with the Chinese one",
                            "GPL-2+ (Osamu Aoki)"),
    "gimp-help-zh": ("gimp-help-zh-cn", "GIMP user manual, Simplified Chinese",
                     "GFDL-NIV-1.2+ (GNU Free Documentation License 1.2 or later, no invariant sections)"),
    "debian-edu-zh": ("debian-edu-doc-zh-cn", "Debian Edu / Skolelinux manuals (bookworm, bullseye), Chinese",
                      "GPL-2+ (Holger Levsen and contributors)"),
    "debian-edu-en": ("debian-edu-doc-en", "Debian Edu manuals (English), aligned with the Chinese ones",
                      "GPL-2+ (Holger Levsen and contributors)"),
    "maint-guide-zh": ("maint-guide-zh-cn", "Debian New Maintainers' Guide, Chinese",
                       "GPL-2+ (Josip Rodin, Osamu Aoki and translators; some files MIT / public domain)"),
    "maint-guide-en": ("maint-guide", "Debian New Maintainers' Guide (English), aligned with the Chinese one",
                       "GPL-2+ (Josip Rodin, Osamu Aoki)"),
    "debian-faq-zh": ("debian-faq-zh-cn", "The Debian GNU/Linux FAQ, Chinese: MLM TEXT ONLY (it is the corpus of "
                      "the Chinese retrieval evaluation set data/eval/zh-faq; no pairs from it)",
                      "verbatim and modified copies permitted with the notice (Software in the Public Interest)"),
    "manpages-zh": ("manpages-zh", "Chinese manual pages (zh_CN)",
                    "GFDL-1.2+, GPL-2, BSD-2-Clause / CC0-1.0 (Chinese Man Pages Project; per file)"),
    "en-docs": ("debian-reference-en, maint-guide, debian-edu-doc-en",
                "English originals of the aligned documents (MLM text)", "GPL-2+ (see those packages above)"),
    "manpages-en": ("manpages, man-db and the installed packages' own man pages",
                    "English man pages: NAME lines only, aligned with the Chinese ones",
                    "per package (see /usr/share/doc/<package>/copyright)"),
}


def sha_mod(k, m=1000):
    return int(hashlib.sha1(k.encode()).hexdigest(), 16) % m


class Writer:
    """Deduplicating writer for text and pairs, with hash-chosen held-out shares."""

    def __init__(self, out, text_pm, pair_pm):
        self.out, self.text_pm, self.pair_pm = out, text_pm, pair_pm
        self.seen_para, self.seen_pair, self.stats, self.heldout = set(), set(), [], []
        for d in ("text", "pairs", "heldout", "heldout/pairs"):
            os.makedirs(os.path.join(out, d), exist_ok=True)

    def text(self, name, paras):
        kept = []
        for p in paras:
            p = te.clean(p.replace("\t", " "))
            k = te.key(p)
            if not p or k in self.seen_para:
                continue
            self.seen_para.add(k)
            (self.heldout if sha_mod(k) < self.text_pm else kept).append(p)
        with open(os.path.join(self.out, "text", name + ".txt"), "w", encoding="utf-8") as f:
            f.writelines(p + "\n" for p in kept)
        self.stats.append(f"text/{name}.txt\t{len(kept)} paragraphs\t{sum(map(len, kept))} characters")

    def pairs(self, name, pairs):
        kept, held = [], []
        for a, b in pairs:
            a, b = te.clean(a.replace("\t", " ")), te.clean(b.replace("\t", " "))
            k = (te.key(a), te.key(b))
            if not a or not b or k[0] == k[1] or k in self.seen_pair:
                continue
            self.seen_pair.add(k)
            (held if sha_mod(k[0] + "\t" + k[1]) < self.pair_pm else kept).append((a, b))
        for sub, rows in (("pairs", kept), ("heldout/pairs", held)):
            with open(os.path.join(self.out, sub, name + ".tsv"), "w", encoding="utf-8") as f:
                f.writelines(f"{a}\t{b}\n" for a, b in rows)
        self.stats.append(f"pairs/{name}.tsv\t{len(kept)} pairs\t(+{len(held)} held out)")

    def finish(self):
        with open(os.path.join(self.out, "heldout", "text.txt"), "w", encoding="utf-8") as f:
            f.writelines(p + "\n" for p in self.heldout)
        self.stats.append(f"heldout/text.txt\t{len(self.heldout)} paragraphs")


def html_files(pattern, exclude=None):
    files = sorted(glob.glob(pattern, recursive=True))
    return [f for f in files if not (exclude and re.search(exclude, f))]


def en_twins(zh_files, to_en):
    """The English file of each Chinese one (to_en maps a path), keeping only the pairs where both exist."""
    twins = [(to_en(z), z) for z in zh_files]
    twins = [(e, z) for e, z in twins if os.path.exists(e)]
    return [e for e, _ in twins], [z for _, z in twins]


def read_pairs(path):
    with open(path, encoding="utf-8") as f:
        return [tuple(ln.rstrip("\n").split("\t", 1)) for ln in f if "\t" in ln]


def write_mix(pairs_dir, out, mo_pairs=8000, repeat_zh=3, seed=42):
    """The contrastive mix (deterministic): every Chinese section / FAQ / NAME pair repeat_zh times, every aligned
    English <-> Chinese document pair once, and mo_pairs msgid <-> msgstr pairs sampled; half of the English <->
    Chinese pairs (chosen at random) are turned round, so that both directions are trained. Never a Debian FAQ pair
    (there are none in pairs/: the FAQ is the evaluation set's corpus)."""
    rng = random.Random(seed)
    mix = []
    for name in sorted(os.listdir(pairs_dir)):
        if not name.endswith(".tsv") or "debian-faq" in name:
            continue
        rows = read_pairs(os.path.join(pairs_dir, name))
        if name == "xling-mo.tsv":
            rows = rng.sample(rows, min(mo_pairs, len(rows)))
        elif not name.startswith("xling-"):
            rows = rows * repeat_zh
        if name.startswith("xling-"):
            rows = [(b, a) if rng.random() < 0.5 else (a, b) for a, b in rows]
        print(f"{name}: {len(rows)} pairs", file=sys.stderr)
        mix += rows
    rng.shuffle(mix)
    with open(out, "w", encoding="utf-8") as f:
        f.writelines(f"{a}\t{b}\n" for a, b in mix)
    print(f"{out}: {len(mix)} pairs", file=sys.stderr)


def write_beir(out_dir, files, limit=500, seed=42):
    """A BEIR retrieval check from held-out pair files: queries = the first sides, corpus = the second sides
    (deduplicated), each query relevant to its own second side; at most limit queries (sampled)."""
    rows = [r for f in files for r in read_pairs(f)]
    rows = random.Random(seed).sample(rows, min(limit, len(rows)))
    os.makedirs(os.path.join(out_dir, "qrels"), exist_ok=True)
    doc_ids = {}
    with open(os.path.join(out_dir, "corpus.jsonl"), "w", encoding="utf-8") as corpus, \
            open(os.path.join(out_dir, "queries.jsonl"), "w", encoding="utf-8") as queries, \
            open(os.path.join(out_dir, "qrels", "test.tsv"), "w", encoding="utf-8") as qrels:
        qrels.write("query-id\tcorpus-id\tscore\n")
        for i, (q, d) in enumerate(rows):
            if d not in doc_ids:
                doc_ids[d] = f"d{len(doc_ids)}"
                corpus.write(json.dumps({"_id": doc_ids[d], "title": "", "text": d}, ensure_ascii=False) + "\n")
            queries.write(json.dumps({"_id": f"q{i}", "text": q}, ensure_ascii=False) + "\n")
            qrels.write(f"q{i}\t{doc_ids[d]}\t1\n")
    print(f"{out_dir}: {len(rows)} queries, {len(doc_ids)} documents", file=sys.stderr)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--mix":
        write_mix(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) >= 4 and sys.argv[1] == "--beir":
        write_beir(sys.argv[2], sys.argv[3:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--po-dir", required=True, help="the .po files msgunfmt wrote from the zh_CN catalogues")
    ap.add_argument("--mo-licences", default="", help="TSV: catalogue, package, version, licences")
    ap.add_argument("--heldout-per-mille", type=int, default=10, help="paragraphs held out for MLM evaluation")
    ap.add_argument("--heldout-pairs-per-mille", type=int, default=20, help="pairs held out for retrieval checks")
    args = ap.parse_args()
    w = Writer(args.out, args.heldout_per_mille, args.heldout_pairs_per_mille)
    used = []

    dr = "/usr/share/debian-reference"
    mg = "/usr/share/doc/maint-guide-zh-cn/html"
    edu = "/usr/share/doc/debian-edu-doc-zh-cn"
    docs = [
        ("debian-reference-zh", html_files(f"{dr}/*.zh-cn.html"),
         lambda z: z.replace(".zh-cn.html", ".en.html"), "debian-reference-en"),
        ("maint-guide-zh", html_files(f"{mg}/*.zh-cn.html"),
         lambda z: z.replace("maint-guide-zh-cn/html", "maint-guide/html").replace(".zh-cn.", ".en."),
         "maint-guide-en"),
        ("debian-edu-zh", html_files(f"{edu}/debian-edu-*-manual.html"),
         lambda z: z.replace("debian-edu-doc-zh-cn", "debian-edu-doc-en"), "debian-edu-en"),
        ("gimp-help-zh", html_files("/usr/share/gimp/2.0/help/zh_CN/*.html"), None, None),
    ]
    xling, en_paras = [], []
    for name, files, to_en, en_name in docs:
        if not files:
            print(f"warning: no files for {name} (package not installed?)", file=sys.stderr)
            continue
        paras, secs, faqs = html_zh(files)
        w.text(name, paras)
        w.pairs(name + "-sections", secs)
        w.pairs(name + "-faq", faqs)
        used.append(name)
        if to_en:
            en, zh = en_twins(files, to_en)
            if en:
                xling.append((name, aligned_sections(en, zh)))
                en_paras += [p for ps, _, _ in te.html_source(en) for p in ps]
                used.append(en_name)
        print(f"{name}: {len(files)} pages, {len(paras)} paragraphs, {len(secs)} sections, {len(faqs)} FAQ",
              file=sys.stderr)

    # The Chinese Debian FAQ: masked-LM text only (the evaluation set's corpus).
    faq = html_files("/usr/share/doc/debian/FAQ/zh-cn/*.html")
    if faq:
        w.text("debian-faq-zh", html_zh(faq)[0])
        used.append("debian-faq-zh")

    if os.path.isdir("/usr/share/man/zh_CN"):
        paras, name_desc, man_x = manpages("/usr/share/man/zh_CN", "/usr/share/man")
        w.text("manpages-zh", paras)
        w.pairs("manpages-zh-name", name_desc)
        xling.append(("manpages", man_x))
        used += ["manpages-zh", "manpages-en"]
        print(f"manpages-zh: {len(paras)} paragraphs, {len(name_desc)} NAME pairs, {len(man_x)} en-zh",
              file=sys.stderr)

    paras, mo_en, mo_pairs, cats = catalogues(args.po_dir)
    w.text("mo-zh", paras)
    # English text (the originals of the translated documents, the catalogues' msgids): the English side of the
    # English <-> Chinese pairs is then not new to the masked-LM stage
    w.text("en-docs", en_paras)
    used.append("en-docs")
    w.text("mo-en", mo_en)
    xling.append(("mo", mo_pairs))
    print(f"catalogues: {len(cats)} with pairs, {len(paras)} paragraphs, {len(mo_pairs)} pairs", file=sys.stderr)
    for name, pairs in xling:
        w.pairs("xling-" + name.replace("-zh", ""), pairs)
    w.finish()

    with open(os.path.join(args.out, "LICENSES"), "w", encoding="utf-8") as f:
        f.write("Sources of this training data (made by scripts/make_training_data_zh.sh)\n\n")
        for name in used:
            pkg, what, lic = DOC_LICENCES[name]
            f.write(f"{name}\n  package: {pkg}\n  content: {what}\n  licence: {lic}\n\n")
        f.write("mo-zh, xling-mo: zh_CN gettext message catalogues (.mo, converted with msgunfmt); msgstr text as MLM "
                "text, msgid <-> msgstr as English <-> Chinese pairs. Per catalogue: package, version, licence(s) "
                "from the package's copyright file:\n")
        if args.mo_licences and os.path.exists(args.mo_licences):
            with open(args.mo_licences, encoding="utf-8") as lic:
                for ln in lic:
                    cols = ln.rstrip("\n").split("\t")
                    if len(cols) >= 4 and cols[0] in cats:
                        f.write(f"  {cols[0]}: {cols[1]} {cols[2]}: {cols[3]}\n")
    with open(os.path.join(args.out, "STATS"), "w", encoding="utf-8") as f:
        f.write("\n".join(w.stats) + "\n")
    print("\n".join(w.stats), file=sys.stderr)


if __name__ == "__main__":
    main()
