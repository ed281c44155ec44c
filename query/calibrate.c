/* query/calibrate.c: the hybrid weight of a KB, calibrated on pseudo-queries drawn from the KB itself (see
 * search.h, "calibrated hybrid weight", and docs/query.md for why the pseudo-queries look like this).
 *
 * Steps: (1) sample passages (reservoir over every passage, seeded); (2) make a pseudo-query of each usable one:
 * a sentence s (the query) and the passage without it (the target); (3) encode the queries and targets in
 * batches; (4) for each, build the semantic and the lexical candidate list as hybrid search would (top 100 per
 * side) with the target scored fairly and the rest of its document left out; (5) score lexical, semantic and
 * hybrid at each grid weight by nDCG@10 and choose. Cost: per pseudo-query two encodings, two bm25 queries and
 * one document read; the vector searches of all pseudo-queries are one batched call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/hash.h"
#include "common/irmetrics.h"
#include "encoder/encoder.h"
#include "kbmodel/kbmodel.h"
#include "query/search.h"
#include "query/search_impl.h"
#include "store/kb.h"

#define CAND 100         /* candidates per side: what hybrid search with k = 10 fuses */
#define CUT 10           /* nDCG@10 */
#define REDUCED_K 1000   /* how deep the target is looked for under its supported words */
#define ENC_BATCH 32
#define SENT_MIN_WORDS 4
#define SENT_MAX_WORDS 64
#define REST_MIN_WORDS 8
#define MAX_SENTENCES 256

typedef struct pseudo_q {
    char *query;   /* the sentence s */
    char *target;  /* the model's text of the passage without s, plus the words of reduced (see try_sentence) */
    char *support; /* title + passage without s: what the lexical side may match */
    char *reduced; /* the words of s that support holds too: the target's lexical query */
    char *doc;     /* the document's external id */
    int64_t pid;   /* the passage */
} pseudo_q;

typedef struct ranked {
    int64_t id[CAND];
    float sc[CAND];
    int n;
} ranked;

typedef struct pq_lists {
    ranked sem, lex;
    int64_t target;
} pq_lists;

/* ------------------------------------------------------------------------------------------ sampling */

typedef struct reservoir {
    int64_t *ids;
    int cap, n;
    int64_t seen;
    uint64_t rng;
} reservoir;

static int reservoir_add(void *ud, const sem_kb_vec_row *row)
{
    reservoir *r = ud;
    r->seen++;
    if (r->n < r->cap) {
        r->ids[r->n++] = row->passage_id;
    } else {
        uint64_t j = sem_rng_next(&r->rng) % (uint64_t)r->seen;
        if (j < (uint64_t)r->cap)
            r->ids[j] = row->passage_id;
    }
    return 0;
}

/* Up to cap passage ids drawn uniformly (and then shuffled) with the seed; *n_total: passages in the KB. */
static int sample_ids(sem_kb *kb, int cap, uint64_t seed, int64_t **ids, int *n, int64_t *n_total, sem_error *err)
{
    reservoir r = {malloc((size_t)cap * sizeof(int64_t)), cap, 0, 0, seed};
    if (!r.ids)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int rc = sem_kb_foreach_vector(kb, reservoir_add, &r, err);
    if (rc) {
        free(r.ids);
        return rc;
    }
    for (int i = r.n - 1; i > 0; i--) { /* Fisher-Yates: the order pseudo-queries are taken in */
        int j = (int)(sem_rng_next(&r.rng) % (uint64_t)(i + 1));
        int64_t t = r.ids[i];
        r.ids[i] = r.ids[j];
        r.ids[j] = t;
    }
    *ids = r.ids;
    *n = r.n;
    *n_total = r.seen;
    return SEM_OK;
}

/* ------------------------------------------------------------------------------------------ pseudo-queries */

/* Words as lexical search sees them, roughly: each run of letters and digits (ASCII, or other non-CJK
 * characters) counts one, every CJK character (3-byte UTF-8 from U+3000 up) counts one. */
static int count_words(const char *t, size_t n)
{
    int w = 0, in = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)t[i];
        size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        int cjk = c >= 0xE3 && c < 0xF0;
        int letter = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= 0x80 && !cjk);
        w += cjk || (letter && !in);
        in = letter && !cjk;
        i += len;
    }
    return w;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Sentence ranges [s, e) of t: ending after . ! ? (and closing quotes/brackets) before whitespace or the end,
 * after 。！？, or at a line break. Returns how many (at most cap). */
static int sentences(const char *t, size_t n, size_t (*out)[2], int cap)
{
    int k = 0;
    size_t a = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        size_t j = i + 1;
        int end = t[i] == '\n';
        if (t[i] == '.' || t[i] == '!' || t[i] == '?') {
            while (j < n && t[j] && strchr("\"')]", t[j]))
                j++;
            end = j == n || is_space(t[j]);
        } else if (i + 2 < n && (!memcmp(t + i, "\xE3\x80\x82", 3) || !memcmp(t + i, "\xEF\xBC\x81", 3) ||
                                 !memcmp(t + i, "\xEF\xBC\x9F", 3))) {
            j = i + 3;
            end = 1;
        }
        if (!end)
            continue;
        while (a < j && is_space(t[a]))
            a++;
        if (j > a)
            out[k][0] = a, out[k++][1] = j;
        a = j;
        i = j - 1;
    }
    while (a < n && is_space(t[a]))
        a++;
    if (a < n && k < cap)
        out[k][0] = a, out[k++][1] = n;
    return k;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* 1 if hay contains needle[0..m) ignoring ASCII case. */
static int ci_contains(const char *hay, const char *needle, size_t m)
{
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < m && hay[i] && lower(hay[i]) == lower(needle[i]))
            i++;
        if (i == m)
            return 1;
    }
    return 0;
}

/* "a" + sep + "b" in a new string (NULL on ENOMEM). */
static char *join3(const char *a, const char *sep, const char *b)
{
    size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
    char *s = malloc(na + ns + nb + 1);
    if (s) {
        memcpy(s, a, na);
        memcpy(s + na, sep, ns);
        memcpy(s + na + ns, b, nb + 1);
    }
    return s;
}

/* The text the model saw for a passage of a document with this title, as the indexer composes it (a new string;
 * NULL on ENOMEM). */
static char *model_text(const char *title, const char *text)
{
    char *owned = NULL;
    const char *t = sem_kbmodel_passage_text(title, text, &owned);
    return owned ? owned : t ? strdup(t) : NULL;
}

static void pq_clear(pseudo_q *q)
{
    free(q->query);
    free(q->target);
    free(q->support);
    free(q->reduced);
    free(q->doc);
    memset(q, 0, sizeof *q);
}

static char *supported_words(const char *s, const char *support);

/* Tries sentence [a, b) of passage text t: fills q when s is long enough, the rest is long enough, and s does
 * not occur verbatim in the rest or the title (a question repeated as the title, a sentence repeated in the
 * passage). The lexical side cannot take s out of the target's index row: the words of s it is allowed to match
 * (reduced) count once more there than in the real rest. The semantic side gets the same: those words are
 * appended to the text it encodes, so that neither retriever knows more of s than the other. Returns 1 if
 * usable, 0 if not, SEM_ENOMEM. */
static int try_sentence(const char *t, size_t n, size_t a, size_t b, const char *title, pseudo_q *q)
{
    int ws = count_words(t + a, b - a);
    if (ws < SENT_MIN_WORDS || ws > SENT_MAX_WORDS || count_words(t, n) - ws < REST_MIN_WORDS)
        return 0;
    q->query = strndup(t + a, b - a);
    char *head = strndup(t, a), *rest = head ? join3(head, " ", t + b) : NULL, *seen = NULL;
    q->support = rest ? join3(title ? title : "", "\n", rest) : NULL;
    if (q->query && q->support && ci_contains(q->support, q->query, strlen(q->query))) {
        free(head);
        free(rest);
        return 0; /* the caller clears q */
    }
    q->reduced = q->query && q->support ? supported_words(q->query, q->support) : NULL;
    seen = q->reduced ? join3(rest, " ", q->reduced) : NULL;
    q->target = seen ? model_text(title, seen) : NULL;
    free(head);
    free(rest);
    free(seen);
    return q->target ? 1 : SEM_ENOMEM;
}

/* A pseudo-query from passage info p: its sentences are tried in a random order. 1, 0 or SEM_ENOMEM. */
static int make_pseudo(const sem_kb_passage_info *p, uint64_t *rng, pseudo_q *q)
{
    size_t sent[MAX_SENTENCES][2];
    size_t n = strlen(p->text);
    int ns = sentences(p->text, n, sent, MAX_SENTENCES);
    if (ns < 2)
        return 0; /* one sentence: nothing would be left to find */
    int first = (int)(sem_rng_next(rng) % (uint64_t)ns);
    for (int k = 0; k < ns; k++) {
        int i = (first + k) % ns;
        int r = try_sentence(p->text, n, sent[i][0], sent[i][1], p->title, q);
        if (r == 1) {
            q->pid = p->passage_id;
            if (!(q->doc = strdup(p->doc_ext_id)))
                return SEM_ENOMEM;
        }
        if (r != 0)
            return r;
        pq_clear(q); /* what an unusable sentence left */
    }
    return 0;
}

/* Pseudo-queries from the sampled ids, in order, until max are made. */
static int make_all(sem_kb *kb, const int64_t *ids, int n_ids, int max, uint64_t *rng, pseudo_q *out, int *n_out,
                    sem_error *err)
{
    sem_kb_passage_info info[32];
    int n = 0;
    for (int at = 0; at < n_ids && n < max; at += 32) {
        int m = n_ids - at < 32 ? n_ids - at : 32;
        int rc = sem_kb_get_passages(kb, ids + at, m, info, err);
        if (rc)
            return rc;
        for (int i = 0; i < m && n < max && rc == SEM_OK; i++) {
            if (!info[i].found || !info[i].text || !info[i].doc_ext_id)
                continue;
            int r = make_pseudo(&info[i], rng, &out[n]);
            if (r == 1) {
                n++;
            } else {
                pq_clear(&out[n]);
                if (r < 0)
                    rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
            }
        }
        sem_kb_passage_info_clear(info, m);
        *n_out = n;
        if (rc)
            return rc;
    }
    *n_out = n;
    return SEM_OK;
}

/* ------------------------------------------------------------------------------------------ candidate lists */

/* Inserts (id, s) into r, best first, keeping at most CAND. */
static void ranked_insert(ranked *r, int64_t id, float s)
{
    int p = r->n < CAND ? r->n : CAND - 1;
    if (r->n == CAND && !(s > r->sc[CAND - 1]))
        return;
    while (p > 0 && r->sc[p - 1] < s) {
        r->id[p] = r->id[p - 1];
        r->sc[p] = r->sc[p - 1];
        p--;
    }
    r->id[p] = id;
    r->sc[p] = s;
    if (r->n < CAND)
        r->n++;
}

static int is_excluded(const sem_kb_doc_out *d, int64_t id)
{
    for (int i = 0; i < d->n_passages; i++)
        if (d->passages[i].id == id)
            return 1;
    return 0;
}

/* Hits to ask for so that CAND remain without the document's passages (a huge document: some of its passages
 * may remain, which only makes the pseudo-query harder for both sides). */
static int cand_k(const sem_kb_doc_out *d)
{
    return d->n_passages < REDUCED_K ? CAND + d->n_passages : CAND + REDUCED_K;
}

/* Copies hits into r, leaving out the document's passages. */
static void take_hits(ranked *r, const sem_kb_hit *h, int nh, const sem_kb_doc_out *d)
{
    r->n = 0;
    for (int i = 0; i < nh && r->n < CAND; i++)
        if (!is_excluded(d, h[i].passage_id)) {
            r->id[r->n] = h[i].passage_id;
            r->sc[r->n++] = h[i].score;
        }
}

/* The target's similarity as the KB's metric scores it (higher is better). */
static float vec_score(const float *q, const float *v, int dim, int metric)
{
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += metric == SEM_KB_METRIC_L2 ? -(double)(q[i] - v[i]) * (q[i] - v[i]) : (double)q[i] * v[i];
    return (float)s;
}

/* The words of s that the target (its rest and title) holds too: an ASCII word when a word of support equals
 * it, shares its first max(5, shorter length - 3) letters, or is it plus at most 3 letters (a stemmer's reach:
 * infected/infection, mask/masks), other words (accented, CJK) when support contains them. Space-separated into a
 * new string. */
static char *supported_words(const char *s, const char *support)
{
    char *w = sem_fts_words(s), *sw = sem_fts_words(support);
    char *out = w ? calloc(strlen(w) + 2, 1) : NULL;
    if (!out || !sw) {
        free(w);
        free(sw);
        free(out);
        return NULL;
    }
    size_t k = 0;
    for (char *a = w; *a;) {
        size_t la = strcspn(a, " ");
        int ok = 0, ascii = 1;
        for (size_t i = 0; i < la; i++)
            ascii &= (unsigned char)a[i] < 0x80;
        for (const char *b = sw; *b && !ok && ascii;) {
            size_t lb = strcspn(b, " "), lo = la < lb ? la : lb, need = lo > 8 ? lo - 3 : 5, c = 0;
            while (c < lo && lower(a[c]) == lower(b[c]))
                c++;
            ok = (la == lb && c == la) || (la >= 5 && lb >= 5 && c >= need) ||
                 (c == lo && lo >= 3 && la + lb - 2 * lo <= 3); /* mask / masks */
            b += lb + (b[lb] == ' ');
        }
        if (!ascii)
            ok = ci_contains(support, a, la);
        if (ok) {
            if (k)
                out[k++] = ' ';
            memcpy(out + k, a, la);
            k += la;
        }
        a += la + (a[la] == ' ');
    }
    free(w);
    free(sw);
    return out;
}

/* The lexical list: bm25 of the whole sentence over the other documents, and the target's bm25 under only the
 * words it holds outside s (looked for among the first REDUCED_K hits of those words). */
static int lexical_list(sem_kb *kb, const pseudo_q *q, const sem_kb_doc_out *d, sem_kb_hit *h, ranked *r,
                        sem_error *err)
{
    sem_kb_search_params sp = sem_kb_default_search_params();
    int nh = 0, rc;
    sp.k = cand_k(d);
    if ((rc = sem_kb_search_text(kb, q->query, &sp, h, &nh, err)))
        return rc;
    take_hits(r, h, nh, d);
    if (q->reduced[0]) {
        sp.k = REDUCED_K;
        rc = sem_kb_search_text(kb, q->reduced, &sp, h, &nh, err);
        for (int i = 0; rc == SEM_OK && i < nh; i++)
            if (h[i].passage_id == q->pid) {
                ranked_insert(r, q->pid, h[i].score);
                break;
            }
    }
    return rc;
}

/* The semantic lists of all n pseudo-queries in one batched vector search (one FAISS call, not n): each gets the
 * hits outside its document and its target scored by the target's vector tv. */
static int semantic_lists(sem_kb *kb, const pseudo_q *q, sem_kb_doc_out *const *docs, int n, const float *qv,
                          const float *tv, pq_lists *l, sem_error *err)
{
    int k = CAND, dim = sem_kb_dim(kb), metric = sem_kb_get_metric(kb);
    for (int i = 0; i < n; i++)
        if (cand_k(docs[i]) > k)
            k = cand_k(docs[i]);
    sem_kb_hit *h = malloc(((size_t)n * (size_t)k + 1) * sizeof *h);
    int *nh = malloc(((size_t)n + 1) * sizeof *nh);
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = k;
    int rc = h && nh ? sem_kb_search(kb, qv, n, &sp, h, nh, err) : sem_error_set(err, SEM_ENOMEM, "out of memory");
    for (int i = 0; rc == SEM_OK && i < n; i++) {
        take_hits(&l[i].sem, h + (size_t)i * k, nh[i], docs[i]);
        ranked_insert(&l[i].sem, q[i].pid, vec_score(qv + (size_t)i * dim, tv + (size_t)i * dim, dim, metric));
        l[i].target = q[i].pid;
    }
    free(h);
    free(nh);
    return rc;
}

/* ------------------------------------------------------------------------------------------ scoring */

static int rank_of(const int64_t *ids, int n, int64_t t)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == t)
            return i + 1;
    return 0;
}

/* nDCG@10 of a ranking whose one relevant entry stands at rank (1-based; 0 = absent). */
static double ndcg_rank(int rank)
{
    int rels[CUT] = {0}, ideal[1] = {1};
    if (rank >= 1 && rank <= CUT)
        rels[rank - 1] = 1;
    return sem_ndcg_at(rels, CUT, ideal, 1, CUT);
}

/* nDCG@10 of hybrid cc search at weight w over the lists. */
static double ndcg_hybrid(const pq_lists *l, double w)
{
    sem_fusion_params fp = {SEM_FUSION_CC, w, SEM_RRF_K};
    int64_t ids[CUT];
    int n = sem_fuse(&fp, l->sem.id, l->sem.sc, l->sem.n, l->lex.id, l->lex.sc, l->lex.n, CUT, ids, NULL, NULL, NULL);
    return n < 0 ? 0 : ndcg_rank(rank_of(ids, n, l->target));
}

static double mean_hybrid(const pq_lists *l, int n, double w)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += ndcg_hybrid(&l[i], w);
    return n ? s / n : 0;
}

/* Fills c from the lists: means, the grid, the chosen weight (see search.h). */
static void choose(const pq_lists *l, int n, sem_calibration *c)
{
    double lex = 0, sem = 0;
    for (int i = 0; i < n; i++) {
        lex += ndcg_rank(rank_of(l[i].lex.id, l[i].lex.n, l[i].target));
        sem += ndcg_rank(rank_of(l[i].sem.id, l[i].sem.n, l[i].target));
    }
    c->lexical = n ? lex / n : 0;
    c->semantic = n ? sem / n : 0;
    int best = 0;
    for (int g = 0; g < SEM_CALIBRATION_GRID; g++) {
        c->grid[g] = mean_hybrid(l, n, 0.1 * g);
        if (c->grid[g] > c->grid[best] + 1e-12)
            best = g; /* ties keep the smaller weight */
    }
    c->best_weight = (float)(0.1 * best);
    double lam = (double)n / (n + SEM_CALIBRATION_PRIOR_QUERIES);
    double w = lam * c->best_weight + (1 - lam) * SEM_CALIBRATION_PRIOR;
    w = round(w * 100) / 100; /* two decimals: what kb info shows is what search uses */
    double h = mean_hybrid(l, n, w);
    for (int g = (int)ceil(w * 10 - 1e-9) - 1; n && h < c->lexical && g >= 0; g--) {
        w = 0.1 * g; /* never below lexical: step down the grid (weight 0 ranks as lexical) */
        h = c->grid[g];
    }
    c->semantic_weight = (float)w;
    c->hybrid = n ? h : 0;
    c->n_queries = n;
}

/* ------------------------------------------------------------------------------------------ driver */

/* Encodes queries (is_query) or targets of q[0..n) into out (n, dim), ENC_BATCH at a time. */
static int encode_pq(sem_calibrate_encode_fn enc, void *ud, const pseudo_q *q, int n, int is_query, int dim,
                     float *out, sem_error *err)
{
    const char *t[ENC_BATCH];
    for (int at = 0; at < n; at += ENC_BATCH) {
        int m = n - at < ENC_BATCH ? n - at : ENC_BATCH;
        for (int i = 0; i < m; i++)
            t[i] = is_query ? q[at + i].query : q[at + i].target;
        int rc = enc(ud, t, m, is_query, out + (size_t)at * dim, err);
        if (rc)
            return rc;
    }
    return SEM_OK;
}

/* Encodes the pseudo-queries and builds every candidate list into l (n entries). */
static int score_all(sem_kb *kb, sem_calibrate_encode_fn enc, void *ud, const pseudo_q *q, int n, pq_lists *l,
                     sem_error *err)
{
    int dim = sem_kb_dim(kb);
    float *qv = malloc(((size_t)n + 1) * (size_t)dim * sizeof *qv);
    float *tv = malloc(((size_t)n + 1) * (size_t)dim * sizeof *tv);
    sem_kb_hit *h = malloc((REDUCED_K + CAND) * sizeof *h);
    sem_kb_doc_out **docs = calloc((size_t)n + 1, sizeof *docs); /* each pseudo-query's document */
    int rc = qv && tv && h && docs ? SEM_OK : sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (rc == SEM_OK)
        rc = encode_pq(enc, ud, q, n, 1, dim, qv, err);
    if (rc == SEM_OK)
        rc = encode_pq(enc, ud, q, n, 0, dim, tv, err);
    for (int i = 0; i < n && rc == SEM_OK; i++)
        rc = sem_kb_get_doc(kb, q[i].doc, 0, &docs[i], err);
    if (rc == SEM_OK)
        rc = semantic_lists(kb, q, docs, n, qv, tv, l, err);
    for (int i = 0; i < n && rc == SEM_OK; i++)
        rc = lexical_list(kb, &q[i], docs[i], h, &l[i].lex, err);
    for (int i = 0; docs && i < n; i++)
        sem_kb_doc_out_free(docs[i]);
    free(docs);
    free(qv);
    free(tv);
    free(h);
    return rc;
}

static int record(sem_kb *kb, const sem_calibration *c, sem_error *err)
{
    char *json = sem_calibration_to_json(c);
    if (!json)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int rc = sem_kb_set_setting(kb, SEM_CALIBRATION_KEY, json, err);
    free(json);
    if (rc)
        sem_error_prefix(err, "recording the hybrid calibration");
    return rc;
}

sem_calibrate_params sem_calibrate_default_params(void)
{
    sem_calibrate_params p = {200, 1};
    return p;
}

int sem_calibrate_kb(sem_kb *kb, sem_calibrate_encode_fn encode, void *user_data, const sem_calibrate_params *params,
                     sem_calibration *out, sem_error *err)
{
    sem_calibrate_params p = params ? *params : sem_calibrate_default_params();
    if (p.max_queries < 1 || p.max_queries > SEM_CALIBRATION_MAX_QUERIES || !encode)
        return sem_error_set(err, SEM_EINVAL, "calibration wants 1..%d pseudo-queries and an encoder",
                             SEM_CALIBRATION_MAX_QUERIES);
    double t0 = sem_now();
    sem_calibration c;
    memset(&c, 0, sizeof c);
    int64_t *ids = NULL, total = 0;
    int n_ids = 0, n = 0;
    uint64_t rng = p.seed ^ 0x5EC0CA1Bull;
    pseudo_q *q = calloc((size_t)p.max_queries, sizeof *q);
    pq_lists *l = calloc((size_t)p.max_queries, sizeof *l);
    int rc = q && l ? SEM_OK : sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (rc == SEM_OK)
        rc = sample_ids(kb, 3 * p.max_queries, p.seed, &ids, &n_ids, &total, err);
    if (rc == SEM_OK)
        rc = make_all(kb, ids, n_ids, p.max_queries, &rng, q, &n, err);
    if (rc == SEM_OK)
        rc = score_all(kb, encode, user_data, q, n, l, err);
    if (rc == SEM_OK) {
        choose(l, n, &c);
        sem_kb_model km;
        sem_kb_get_model(kb, &km);
        snprintf(c.model_hash, sizeof c.model_hash, "%s", km.config_hash);
        c.n_passages = total > 2000000000 ? 2000000000 : (int)total;
        c.seconds = sem_now() - t0;
        c.present = 1;
        rc = record(kb, &c, err);
    }
    for (int i = 0; q && i < n; i++)
        pq_clear(&q[i]);
    free(q);
    free(l);
    free(ids);
    if (out)
        *out = c;
    return rc;
}

/* ------------------------------------------------------------------------------------------ with a model */

typedef struct model_enc {
    sem_encoder_ctx *ctx;
    const char *prefix;
    sem_encode_params ep;
} model_enc;

static int model_encode(void *ud, const char *const *texts, int n, int is_query, float *out, sem_error *err)
{
    model_enc *m = ud;
    if (!is_query || !m->prefix[0])
        return sem_encode(m->ctx, texts, n, &m->ep, out, err);
    char *t[ENC_BATCH] = {0};
    int k = 0, rc = n <= ENC_BATCH ? SEM_OK : sem_error_set(err, SEM_EINVAL, "at most %d texts at once", ENC_BATCH);
    for (; k < n && rc == SEM_OK; k++)
        if (!(t[k] = join3(m->prefix, "", texts[k])))
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (rc == SEM_OK)
        rc = sem_encode(m->ctx, (const char *const *)t, n, &m->ep, out, err);
    while (k > 0)
        free(t[--k]);
    return rc;
}

int sem_calibrate(sem_search *s, const sem_calibrate_params *params, sem_calibration *out, sem_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    const sem_model *model = sem_search_model(s);
    if (!model)
        return SEM_OK; /* lexical only: nothing to weigh */
    sem_model_info mi;
    sem_model_get_info(model, &mi);
    model_enc m = {sem_encoder_ctx_new(model, err), mi.query_prefix ? mi.query_prefix : "",
                   sem_kbmodel_encode_params(sem_search_kb(s))}; /* as indexing and search encode */
    if (!m.ctx)
        return err ? err->code : SEM_ENOMEM;
    sem_calibration c;
    int rc = sem_calibrate_kb(sem_search_kb(s), model_encode, &m, params, &c, err);
    sem_encoder_ctx_free(m.ctx);
    if (rc == SEM_OK)
        sem_search_set_semantic_weight(s, c.semantic_weight);
    if (out)
        *out = c;
    return rc;
}
