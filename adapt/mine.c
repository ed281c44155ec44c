/* adapt/mine.c: training data from a KB's own passages (sem_adapt_mine, adapt/adapt.h).
 *
 * Pairs (anchor ↔ positive), all from the KB's text, never from queries:
 *   title      a document's title ↔ its first passage; or, without a title, a short first paragraph (a heading
 *              or an FAQ question, ≤ 24 words) ↔ the rest of the passage
 *   sentence   a sentence (≥ 4 words) ↔ the rest of its passage (≥ 8 words), up to two per passage (the inverse
 *              cloze task)
 *   neighbour  a passage ↔ the next passage of the same document
 * Positives and negatives are passages as the KB encodes them ("title. text", sem_kbmodel_passage_text), except
 * the title pair's positive (the passage alone: with its title it would be a trivial match).
 * Hard negative: the KB's lexical search (bm25) for the anchor's first 32 words; among the hits from other
 * documents than the positive's, whose text is not that of the positive's passage (a repeated FAQ entry), one of
 * the first three (chosen by the seed).
 * Held-out documents (common/holdout.h, one in five) are left out of everything: pairs, negatives and the MLM
 * corpus, so that calibrating the hybrid weight on them afterwards is fair to the adapted model.
 * Tabs and line breaks in texts become spaces (the TSV format). */
#include <stdlib.h>
#include <string.h>

#include "adapt/adapt.h"
#include "common/fileio.h"
#include "common/holdout.h"
#include "common/strbuf.h"
#include "kbmodel/kbmodel.h"
#include "store/kb.h"

#define FETCH_BATCH 256
#define NEG_HITS 10
#define QUERY_WORDS 32

typedef struct psg {
    int64_t id;
    char *doc, *text, *title; /* text and title with tabs and line breaks as spaces */
    char *raw;                /* the text as stored (paragraph and sentence boundaries) */
    int no;
    int held;                 /* its document is held out (common/holdout.h) */
} psg;

typedef struct pair {
    char *a, *b;
    size_t doc_of; /* index (into the id-sorted passages) of a passage of the positive's document */
    int kind;      /* 0 title, 1 sentence, 2 neighbour */
} pair;

typedef struct miner {
    psg *p;
    size_t n, cap;
    pair *pairs;
    size_t n_pairs, cap_pairs;
    uint64_t seed;
} miner;

static char *flat_dup(const char *s, size_t len)
{
    char *o = malloc(len + 1);
    if (!o)
        return NULL;
    for (size_t i = 0; i < len; i++)
        o[i] = s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ? ' ' : s[i];
    o[len] = 0;
    return o;
}

static int count_words(const char *s, size_t len)
{
    int n = 0, in = 0;
    for (size_t i = 0; i < len; i++) {
        int sp = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r';
        n += !sp && !in;
        in = !sp;
    }
    return n;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b + 0x9E3779B97F4A7C15ULL + (a << 6) + (a >> 2));
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ULL;
    return x ^ (x >> 29);
}

static int collect_row(void *ud, const sem_kb_vec_row *row)
{
    miner *m = ud;
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        psg *p = realloc(m->p, cap * sizeof *p);
        if (!p)
            return SEM_ENOMEM;
        m->p = p;
        m->cap = cap;
    }
    psg *q = &m->p[m->n];
    memset(q, 0, sizeof *q);
    q->id = row->passage_id;
    q->no = row->passage_no;
    if (!(q->doc = strdup(row->doc_ext_id)))
        return SEM_ENOMEM;
    q->held = sem_holdout_doc(q->doc);
    m->n++;
    return 0;
}

/* Reads every passage (id order) with its text and title. */
static int read_passages(sem_kb *kb, miner *m, sem_error *err)
{
    int rc = sem_kb_foreach_vector(kb, collect_row, m, err);
    if (rc == SEM_ENOMEM)
        return sem_error_set(err, SEM_ENOMEM, "out of memory reading passages");
    if (rc)
        return rc;
    sem_kb_passage_info info[FETCH_BATCH];
    int64_t ids[FETCH_BATCH];
    for (size_t s = 0; s < m->n; s += FETCH_BATCH) {
        int k = (int)(m->n - s < FETCH_BATCH ? m->n - s : FETCH_BATCH);
        for (int i = 0; i < k; i++)
            ids[i] = m->p[s + i].id;
        if ((rc = sem_kb_get_passages(kb, ids, k, info, err)))
            return rc;
        for (int i = 0; i < k && rc == SEM_OK; i++) {
            psg *q = &m->p[s + i];
            const char *t = info[i].found && info[i].text ? info[i].text : "";
            const char *ti = info[i].found && info[i].title ? info[i].title : "";
            if (!(q->text = flat_dup(t, strlen(t))) || !(q->title = flat_dup(ti, strlen(ti))) ||
                !(q->raw = strdup(t)))
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory reading passages");
        }
        sem_kb_passage_info_clear(info, k);
        if (rc)
            return rc;
    }
    return SEM_OK;
}

/* Adds a pair: a[0..la) and the text the KB encodes for passage b (NUL-terminated) of a document titled
 * title (NULL: b alone), copied with tabs and line breaks flattened. */
static int add_pair(miner *m, const char *a, size_t la, const char *b, const char *title, size_t doc_of, int kind)
{
    if (m->n_pairs == m->cap_pairs) {
        size_t cap = m->cap_pairs ? 2 * m->cap_pairs : 1024;
        pair *p = realloc(m->pairs, cap * sizeof *p);
        if (!p)
            return SEM_ENOMEM;
        m->pairs = p;
        m->cap_pairs = cap;
    }
    pair *p = &m->pairs[m->n_pairs];
    char *owned = NULL;
    const char *bt = sem_kbmodel_passage_text(title, b, &owned);
    p->a = flat_dup(a, la);
    p->b = bt ? flat_dup(bt, strlen(bt)) : NULL;
    free(owned);
    p->doc_of = doc_of;
    p->kind = kind;
    if (!p->a || !p->b) {
        free(p->a);
        free(p->b);
        return SEM_ENOMEM;
    }
    m->n_pairs++;
    return SEM_OK;
}

/* Trimmed span [*s, *e) of text. */
static void trim(const char *t, size_t *s, size_t *e)
{
    while (*s < *e && (t[*s] == ' ' || t[*s] == '\n' || t[*s] == '\t' || t[*s] == '\r'))
        (*s)++;
    while (*e > *s && (t[*e - 1] == ' ' || t[*e - 1] == '\n' || t[*e - 1] == '\t' || t[*e - 1] == '\r'))
        (*e)--;
}

/* The rest of t without [s, e): what comes before and after, joined by a space, into a new string. */
static char *without(const char *t, size_t len, size_t s, size_t e)
{
    size_t a0 = 0, a1 = s, b0 = e, b1 = len;
    trim(t, &a0, &a1);
    trim(t, &b0, &b1);
    char *o = malloc((a1 - a0) + (b1 - b0) + 2);
    if (!o)
        return NULL;
    size_t k = 0;
    memcpy(o, t + a0, a1 - a0);
    k += a1 - a0;
    if (k && b1 > b0)
        o[k++] = ' ';
    memcpy(o + k, t + b0, b1 - b0);
    o[k + (b1 - b0)] = 0;
    return o;
}

/* A short first paragraph (heading, FAQ question) ↔ the rest of the passage. */
static int heading_pair(miner *m, size_t i)
{
    const char *t = m->p[i].raw;
    const char *br = strstr(t, "\n\n");
    if (!br)
        return SEM_OK;
    size_t s = 0, e = (size_t)(br - t), len = strlen(t);
    trim(t, &s, &e);
    int wh = count_words(t + s, e - s), wr = count_words(br, len - (size_t)(br - t));
    if (wh < 2 || wh > 24 || wr < 8)
        return SEM_OK;
    char *rest = without(t, len, 0, (size_t)(br - t));
    if (!rest)
        return SEM_ENOMEM;
    int rc = add_pair(m, t + s, e - s, rest, m->p[i].title, i, 0);
    free(rest);
    return rc;
}

/* Sentences of a passage: boundaries after . ! ? followed by white space, and at line breaks. */
static size_t sentences(const char *t, size_t len, size_t (*sp)[2], size_t cap)
{
    size_t n = 0, st = 0;
    for (size_t i = 0; i <= len && n < cap; i++) {
        int end = i == len || t[i] == '\n' ||
                  ((t[i] == '.' || t[i] == '!' || t[i] == '?') && i + 1 < len && (t[i + 1] == ' ' || t[i + 1] == '\n'));
        if (!end)
            continue;
        size_t s = st, e = i < len && t[i] != '\n' ? i + 1 : i;
        trim(t, &s, &e);
        if (e > s) {
            sp[n][0] = s;
            sp[n][1] = e;
            n++;
        }
        st = i + 1;
    }
    return n;
}

/* Up to two sentence ↔ rest pairs from passage i. */
static int sentence_pairs(miner *m, size_t i)
{
    const char *t = m->p[i].raw;
    size_t len = strlen(t), sp[64][2];
    size_t ns = sentences(t, len, sp, 64);
    if (ns < 2)
        return SEM_OK;
    size_t ok[64], nok = 0;
    for (size_t k = 0; k < ns; k++)
        if (count_words(t + sp[k][0], sp[k][1] - sp[k][0]) >= 4 &&
            count_words(t, len) - count_words(t + sp[k][0], sp[k][1] - sp[k][0]) >= 8)
            ok[nok++] = k;
    for (int pick = 0; pick < 2 && nok > 0; pick++) {
        size_t j = (size_t)(mix(m->seed, (uint64_t)m->p[i].id * 2 + (uint64_t)pick) % nok);
        size_t k = ok[j];
        ok[j] = ok[--nok];
        char *rest = without(t, len, sp[k][0], sp[k][1]);
        if (!rest)
            return SEM_ENOMEM;
        int rc = add_pair(m, t + sp[k][0], sp[k][1] - sp[k][0], rest, m->p[i].title, i, 1);
        free(rest);
        if (rc)
            return rc;
    }
    return SEM_OK;
}

static int by_doc(const void *x, const void *y)
{
    const psg *a = *(const psg *const *)x, *b = *(const psg *const *)y;
    int c = strcmp(a->doc, b->doc);
    return c ? c : (a->no > b->no) - (a->no < b->no);
}

/* All pairs of the KB, walking documents in order of their passages. */
static int make_pairs(miner *m, long *docs, long *held)
{
    psg **ord = malloc((m->n ? m->n : 1) * sizeof *ord);
    if (!ord)
        return SEM_ENOMEM;
    for (size_t i = 0; i < m->n; i++)
        ord[i] = &m->p[i];
    qsort(ord, m->n, sizeof *ord, by_doc); /* documents together, passages in order */
    int rc = SEM_OK;
    *docs = *held = 0;
    for (size_t k = 0; k < m->n && rc == SEM_OK; k++) {
        size_t i = (size_t)(ord[k] - m->p);
        int first = k == 0 || strcmp(ord[k - 1]->doc, m->p[i].doc) != 0;
        *docs += first;
        *held += first && m->p[i].held;
        if (m->p[i].held)
            continue;
        if (first && count_words(m->p[i].title, strlen(m->p[i].title)) >= 1 && m->p[i].text[0])
            rc = add_pair(m, m->p[i].title, strlen(m->p[i].title), m->p[i].text, NULL, i, 0);
        else if (first)
            rc = heading_pair(m, i);
        if (rc == SEM_OK)
            rc = sentence_pairs(m, i);
        if (rc == SEM_OK && k + 1 < m->n && strcmp(ord[k + 1]->doc, m->p[i].doc) == 0 &&
            count_words(m->p[i].text, strlen(m->p[i].text)) >= 8)
            rc = add_pair(m, m->p[i].text, strlen(m->p[i].text), ord[k + 1]->text, m->p[i].title, i, 2);
    }
    free(ord);
    return rc;
}

static int by_id(const void *key, const void *elt)
{
    int64_t a = *(const int64_t *)key, b = ((const psg *)elt)->id;
    return (a > b) - (a < b);
}

/* The hard negative of pair pr (an index into m->p), or -1. */
static long negative_of(sem_kb *kb, const miner *m, const pair *pr, size_t pno)
{
    char q[1024];
    size_t k = 0;
    int words = 0, in = 0;
    for (const char *s = pr->a; *s && k + 1 < sizeof q; s++) { /* the first QUERY_WORDS words */
        int sp = *s == ' ';
        if (!sp && !in && ++words > QUERY_WORDS)
            break;
        in = !sp;
        q[k++] = *s;
    }
    while (k > 0 && ((unsigned char)q[k - 1] & 0xC0) == 0x80) /* never cut a character */
        k--;
    if (k > 0 && (unsigned char)q[k - 1] >= 0xC0)
        k--;
    q[k] = 0;
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = NEG_HITS;
    sem_kb_hit hits[NEG_HITS];
    int nh = 0;
    if (sem_kb_search_text(kb, q, &sp, hits, &nh, NULL) != SEM_OK)
        return -1;
    long ok[3];
    int nok = 0;
    const char *pdoc = m->p[pr->doc_of].doc;
    for (int h = 0; h < nh && nok < 3; h++) {
        const psg *c = bsearch(&hits[h].passage_id, m->p, m->n, sizeof *m->p, by_id);
        if (c && !c->held && strcmp(c->doc, pdoc) != 0 && strcmp(c->text, m->p[pr->doc_of].text) != 0 &&
            c->text[0]) /* not the positive's document, nor a copy of it (FAQs repeat entries) */
            ok[nok++] = (long)(c - m->p);
    }
    return nok ? ok[mix(m->seed ^ 0x4E4547ULL, pno) % (uint64_t)nok] : -1;
}

/* Keeps at most max pairs (a seeded shuffle picks them) and writes the TSV. */
static int write_pairs(sem_kb *kb, miner *m, long max, const char *path, sem_adapt_report *rep, sem_error *err)
{
    for (size_t i = m->n_pairs; i > 1 && (long)m->n_pairs > max; i--) {
        size_t j = (size_t)(mix(m->seed, i) % i);
        pair t = m->pairs[i - 1];
        m->pairs[i - 1] = m->pairs[j];
        m->pairs[j] = t;
    }
    size_t keep = (long)m->n_pairs > max ? (size_t)max : m->n_pairs;
    sem_strbuf b = {0};
    for (size_t i = 0; i < keep; i++) {
        const pair *p = &m->pairs[i];
        long neg = negative_of(kb, m, p, i);
        char *owned = NULL, *nt = NULL;
        if (neg >= 0) { /* as the KB encodes it, flattened */
            const char *t = sem_kbmodel_passage_text(m->p[neg].title, m->p[neg].text, &owned);
            nt = t ? flat_dup(t, strlen(t)) : NULL;
            free(owned);
            if (!nt)
                neg = -1;
        }
        sem_strbuf_printf(&b, "%s\t%s%s%s\n", p->a, p->b, neg >= 0 ? "\t" : "", neg >= 0 ? nt : "");
        free(nt);
        rep->negatives += neg >= 0;
        rep->pairs_title += p->kind == 0;
        rep->pairs_sentence += p->kind == 1;
        rep->pairs_neighbour += p->kind == 2;
    }
    rep->pairs = (long)keep;
    char *s = sem_strbuf_finish(&b);
    if (!s)
        return sem_error_set(err, SEM_ENOMEM, "out of memory writing pairs");
    int rc = sem_write_file_atomic(path, s, strlen(s), err);
    free(s);
    return rc;
}

static int write_corpus(const miner *m, const char *path, sem_error *err)
{
    sem_strbuf b = {0};
    for (size_t i = 0; i < m->n; i++) {
        if (m->p[i].held)
            continue;
        if (m->p[i].no == 0 && m->p[i].title[0])
            sem_strbuf_printf(&b, "%s\n", m->p[i].title);
        if (m->p[i].text[0])
            sem_strbuf_printf(&b, "%s\n", m->p[i].text);
    }
    char *s = sem_strbuf_finish(&b);
    if (!s)
        return sem_error_set(err, SEM_ENOMEM, "out of memory writing the corpus");
    int rc = sem_write_file_atomic(path, s, strlen(s), err);
    free(s);
    return rc;
}

static void miner_free(miner *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->p[i].doc);
        free(m->p[i].text);
        free(m->p[i].title);
        free(m->p[i].raw);
    }
    for (size_t i = 0; i < m->n_pairs; i++) {
        free(m->pairs[i].a);
        free(m->pairs[i].b);
    }
    free(m->p);
    free(m->pairs);
}

int sem_adapt_mine(const char *kb_dir, const char *corpus_path, const char *pairs_path, long max_pairs,
                   uint64_t seed, sem_adapt_report *rep, sem_error *err)
{
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *kb = sem_kb_open(kb_dir, &op, err);
    if (!kb)
        return err ? err->code : SEM_EIO;
    miner m = {0};
    m.seed = seed;
    long docs = 0, held = 0;
    int rc = read_passages(kb, &m, err);
    if (rc == SEM_OK && (rc = make_pairs(&m, &docs, &held)) != SEM_OK)
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory mining pairs");
    rep->passages = (long)m.n;
    rep->docs = docs;
    rep->docs_held_out = held;
    if (rc == SEM_OK && (long)m.n_pairs < SEM_ADAPT_MIN_PAIRS)
        rc = sem_error_set(err, SEM_EINVAL,
                           "%s is too small to adapt on: %zu passages in %ld documents gave %zu training pairs "
                           "(titles, sentences, neighbouring passages); at least %d are needed",
                           kb_dir, m.n, docs, m.n_pairs, SEM_ADAPT_MIN_PAIRS);
    if (rc == SEM_OK)
        rc = write_corpus(&m, corpus_path, err);
    if (rc == SEM_OK)
        rc = write_pairs(kb, &m, max_pairs > 0 ? max_pairs : 20000, pairs_path, rep, err);
    miner_free(&m);
    sem_kb_close(kb);
    return rc;
}
