/* query/search.c: semantic, lexical and hybrid search over a KB (see search.h).
 * Hybrid search asks both rankings for more candidates than k (3k, at least 100), fuses them (fuse.c) and keeps
 * the best k; hit details (text, title, metadata) are read in one store call at the end. */
#include "query/search.h"
#include "query/search_impl.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/log.h"
#include "encoder/encoder.h"
#include "kbmodel/kbmodel.h"
#include "store/kb.h"

#define MAX_K 10000

struct sem_search {
    sem_kb *kb;
    const sem_model *model;
    int owns; /* 1: kb and model were opened here */
    int dim;
    float kb_weight; /* hybrid cc weight when a query gives none: the KB's calibrated one, else the default */
    int calibrated;
    char *query_prefix;
    sem_encoder_pool *pool; /* contexts for the query threads; NULL without a model */
};

sem_search_open_params sem_search_default_open_params(void)
{
    sem_search_open_params p = {NULL, 1, 0, -1};
    return p;
}

/* The KB's calibrated hybrid weight, if it has one for its model (a damaged record is logged and ignored). */
static void read_weight(sem_search *s)
{
    sem_calibration c;
    sem_error e;
    sem_error_clear(&e);
    if (sem_calibration_read(s->kb, &c, &e) != SEM_OK)
        sem_log(SEM_LOG_WARN, "%s; using the default hybrid weight %.2f", e.msg, (double)SEM_HYBRID_SEMANTIC_WEIGHT);
    else if (c.present)
        sem_search_set_semantic_weight(s, c.semantic_weight);
}

void sem_search_set_semantic_weight(sem_search *s, float w)
{
    s->kb_weight = w;
    s->calibrated = 1;
}

float sem_search_semantic_weight(const sem_search *s, int *calibrated)
{
    if (calibrated)
        *calibrated = s->calibrated;
    return s->kb_weight;
}

static sem_search *wrap(sem_kb *kb, const sem_model *model, int owns, sem_error *err)
{
    sem_search *s = calloc(1, sizeof *s);
    if (!s) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    s->kb = kb;
    s->model = model;
    s->owns = owns;
    s->dim = sem_kb_dim(kb);
    s->kb_weight = SEM_HYBRID_SEMANTIC_WEIGHT;
    if (model)
        read_weight(s);
    if (model) {
        sem_model_info mi;
        sem_model_get_info(model, &mi);
        s->query_prefix = strdup(mi.query_prefix ? mi.query_prefix : "");
        if (!s->query_prefix)
            sem_error_set(err, SEM_ENOMEM, "out of memory");
        if (!s->query_prefix || !(s->pool = sem_encoder_pool_new(model, err))) {
            s->owns = 0;
            sem_search_free(s);
            return NULL;
        }
    }
    return s;
}

sem_search *sem_search_new(sem_kb *kb, const sem_model *model, sem_error *err)
{
    if (!kb) {
        sem_error_set(err, SEM_EINVAL, "sem_search_new: no KB");
        return NULL;
    }
    if (model && sem_kbmodel_check(kb, model, NULL, err) != SEM_OK)
        return NULL;
    return wrap(kb, model, 0, err);
}

sem_search *sem_search_open(const char *kb_dir, const sem_search_open_params *params, sem_error *err)
{
    sem_search_open_params p = params ? *params : sem_search_default_open_params();
    sem_kbmodel_params kp = sem_kbmodel_default_params();
    kp.read_only = p.read_only;
    kp.model = p.model;
    kp.n_threads = p.n_threads;
    kp.precision = p.precision;
    sem_kbmodel km;
    if (sem_kbmodel_open(kb_dir, &kp, &km, err) != SEM_OK)
        return NULL;
    sem_search *s = wrap(km.kb, km.model, 1, err); /* takes km's handles over */
    if (!s)
        sem_kbmodel_close(&km);
    return s;
}

void sem_search_free(sem_search *s)
{
    if (!s)
        return;
    sem_encoder_pool_free(s->pool);
    free(s->query_prefix);
    if (s->owns) {
        sem_kb_close(s->kb);
        sem_model_free((sem_model *)s->model);
    }
    free(s);
}

sem_kb *sem_search_kb(const sem_search *s)
{
    return s->kb;
}

const sem_model *sem_search_model(const sem_search *s)
{
    return s->model;
}

void sem_search_result_clear(sem_search_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++) {
        free(r->hits[i].doc_id);
        free(r->hits[i].text);
        free(r->hits[i].title);
        free(r->hits[i].meta_json);
        free(r->hits[i].answer);
    }
    free(r->hits);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------------------------------ helpers */

static int encode_query(sem_search *s, const char *q, float *vec, sem_error *err)
{
    size_t np = strlen(s->query_prefix), nq = strlen(q);
    char *text = malloc(np + nq + 1);
    if (!text)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    memcpy(text, s->query_prefix, np);
    memcpy(text + np, q, nq + 1);
    sem_encoder_ctx *c = sem_encoder_pool_borrow(s->pool, err);
    int rc = c ? SEM_OK : (err ? err->code : SEM_ENOMEM);
    if (c) {
        const char *t[1] = {text};
        sem_encode_params ep = sem_encode_default_params();
        if (sem_kb_get_metric(s->kb) == SEM_KB_METRIC_IP)
            ep.normalize = 1; /* as the indexer: inner product of unit vectors = cosine similarity */
        rc = sem_encode(c, t, 1, &ep, vec, err);
        sem_encoder_pool_return(s->pool, c);
    }
    free(text);
    return rc;
}

static char *meta_answer(const char *meta)
{
    if (!meta || !strstr(meta, "\"answer\""))
        return NULL;
    cJSON *o = cJSON_Parse(meta);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "answer");
    char *r = cJSON_IsString(a) ? strdup(a->valuestring) : NULL;
    cJSON_Delete(o);
    return r;
}

/* Joins ids (n, best first) with their details into out. */
static int fill(sem_search *s, const int64_t *ids, const float *scores, const int *ra, const int *rb, int n,
                sem_search_result *out, sem_error *err)
{
    if (n == 0)
        return SEM_OK;
    sem_kb_passage_info *info = calloc((size_t)n, sizeof *info);
    out->hits = calloc((size_t)n, sizeof *out->hits);
    if (!info || !out->hits) {
        free(info);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    int rc = sem_kb_get_passages(s->kb, ids, n, info, err);
    if (rc) {
        free(info);
        return rc;
    }
    for (int i = 0; i < n; i++) {
        if (!info[i].found)
            continue; /* deleted since the search */
        sem_search_hit *h = &out->hits[out->n++];
        h->doc_id = info[i].doc_ext_id;
        h->text = info[i].text;
        h->title = info[i].title && info[i].title[0] ? info[i].title : NULL;
        if (!h->title)
            free(info[i].title);
        h->meta_json = info[i].meta_json;
        info[i].doc_ext_id = info[i].text = info[i].title = info[i].meta_json = NULL;
        h->passage_id = ids[i];
        h->passage_no = info[i].passage_no;
        h->start = info[i].start;
        h->end = info[i].end;
        h->score = scores[i];
        h->semantic_rank = ra ? ra[i] : 0;
        h->lexical_rank = rb ? rb[i] : 0;
        h->answer = meta_answer(h->meta_json);
    }
    sem_kb_passage_info_clear(info, n);
    free(info);
    return SEM_OK;
}

static int check_params(const sem_search *s, const sem_query_params *p, sem_error *err)
{
    if (p->k < 1 || p->k > MAX_K)
        return sem_error_set(err, SEM_ERANGE, "k must be in 1..%d (got %d)", MAX_K, p->k);
    if (p->nprobe < 0)
        return sem_error_set(err, SEM_ERANGE, "nprobe must be >= 0 (got %d)", p->nprobe);
    if (p->mode != SEM_MODE_SEMANTIC && p->mode != SEM_MODE_LEXICAL && p->mode != SEM_MODE_HYBRID)
        return sem_error_set(err, SEM_EINVAL, "unknown search mode %d", (int)p->mode);
    if (!(p->semantic_weight >= 0 && p->semantic_weight <= 1))
        return sem_error_set(err, SEM_ERANGE, "the semantic weight must be in (0, 1] (got %g)", p->semantic_weight);
    if (p->fusion != SEM_FUSION_CC && p->fusion != SEM_FUSION_RRF)
        return sem_error_set(err, SEM_EINVAL, "unknown fusion method %d", (int)p->fusion);
    if (p->n_filters < 0 || p->n_filters > SEM_QUERY_MAX_FILTERS ||
        (p->n_filters && (!p->filter_keys || !p->filter_values)))
        return sem_error_set(err, SEM_EINVAL, "a filter has at most %d key=value pairs (got %d)",
                             SEM_QUERY_MAX_FILTERS, p->n_filters);
    if (p->mode != SEM_MODE_LEXICAL && !s->model)
        return sem_error_set(err, SEM_EINVAL,
                             "this KB has no model: only --mode lexical works (index it with --model for %s search)",
                             sem_search_mode_name(p->mode));
    return SEM_OK;
}

int sem_search_candidates(const sem_query_params *p)
{
    int cand = p->mode == SEM_MODE_HYBRID ? (p->k * 3 < 100 ? 100 : p->k * 3) : p->k;
    return cand > MAX_K ? MAX_K : cand;
}

void sem_search_cands_clear(sem_search_cands *c)
{
    if (!c)
        return;
    free(c->sem);
    free(c->lex);
    memset(c, 0, sizeof *c);
}

int sem_search_gather(sem_search *s, const float *vec, const char *words, const sem_query_params *p,
                      sem_search_cands *out, sem_error *err)
{
    memset(out, 0, sizeof *out);
    sem_kb_filter f = {p->filter_keys, p->filter_values, p->n_filters};
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.nprobe = p->nprobe;
    sp.filter = p->n_filters ? &f : NULL;
    sp.k = sem_search_candidates(p);
    int rc = SEM_OK;
    if (vec && !(out->sem = malloc((size_t)sp.k * sizeof *out->sem)))
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (rc == SEM_OK && vec)
        rc = sem_kb_search(s->kb, vec, 1, &sp, out->sem, &out->n_sem, err);
    if (rc == SEM_OK && words && words[0] && !(out->lex = malloc((size_t)sp.k * sizeof *out->lex)))
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (rc == SEM_OK && out->lex)
        rc = sem_kb_search_text(s->kb, words, &sp, out->lex, &out->n_lex, err);
    if (rc)
        sem_search_cands_clear(out);
    return rc;
}

void sem_search_ranked_clear(sem_search_ranked *r)
{
    if (!r)
        return;
    free(r->ids);
    free(r->scores);
    free(r->ra);
    free(r->rb);
    memset(r, 0, sizeof *r);
}

/* Hybrid: fuses c's two lists (fuse.c) into r (allocated for ns + nl entries). */
static int rank_hybrid(const sem_query_params *p, float w, const sem_search_cands *c, sem_search_ranked *r,
                       sem_error *err)
{
    size_t ns = (size_t)c->n_sem, nl = (size_t)c->n_lex;
    int64_t *ia = malloc((ns + 1) * sizeof *ia), *ib = malloc((nl + 1) * sizeof *ib);
    float *ss = malloc((ns + 1) * sizeof *ss), *sl = malloc((nl + 1) * sizeof *sl);
    double *fs = malloc((ns + nl + 1) * sizeof *fs);
    int n = SEM_ENOMEM;
    if (ia && ib && ss && sl && fs) {
        for (size_t i = 0; i < ns; i++) {
            ia[i] = c->sem[i].passage_id;
            ss[i] = c->sem[i].score;
        }
        for (size_t i = 0; i < nl; i++) {
            ib[i] = c->lex[i].passage_id;
            sl[i] = c->lex[i].score;
        }
        sem_fusion_params fp = {p->fusion, w, SEM_RRF_K};
        n = sem_fuse(&fp, ia, ss, c->n_sem, ib, sl, c->n_lex, p->k, r->ids, fs, r->ra, r->rb);
    }
    for (int i = 0; i < n; i++)
        r->scores[i] = (float)fs[i];
    r->n = n > 0 ? n : 0;
    free(ia);
    free(ib);
    free(ss);
    free(sl);
    free(fs);
    return n < 0 ? sem_error_set(err, n, "out of memory") : SEM_OK;
}

int sem_search_rank(const sem_search *s, const sem_query_params *p, const sem_search_cands *c,
                    sem_search_ranked *r, sem_error *err)
{
    memset(r, 0, sizeof *r);
    size_t n_max = (size_t)c->n_sem + (size_t)c->n_lex + 1;
    r->ids = malloc(n_max * sizeof *r->ids);
    r->scores = malloc(n_max * sizeof *r->scores);
    r->ra = calloc(n_max, sizeof *r->ra);
    r->rb = calloc(n_max, sizeof *r->rb);
    int rc = SEM_OK;
    if (!r->ids || !r->scores || !r->ra || !r->rb) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    } else if (p->mode == SEM_MODE_HYBRID) {
        /* the KB's calibrated weight is the cc fusion's; rrf weighs ranks, not scores, and keeps the default */
        r->weight = p->semantic_weight > 0         ? p->semantic_weight
                    : p->fusion == SEM_FUSION_CC ? s->kb_weight
                                                 : SEM_HYBRID_SEMANTIC_WEIGHT;
        rc = rank_hybrid(p, r->weight, c, r, err);
    } else {
        int sem = p->mode == SEM_MODE_SEMANTIC;
        const sem_kb_hit *h = sem ? c->sem : c->lex;
        r->n = sem ? c->n_sem : c->n_lex;
        if (r->n > p->k)
            r->n = p->k;
        for (int i = 0; i < r->n; i++) {
            r->ids[i] = h[i].passage_id;
            r->scores[i] = h[i].score;
            (sem ? r->ra : r->rb)[i] = i + 1;
        }
    }
    for (int i = 0; rc == SEM_OK && i < r->n; i++)
        if (!isfinite(r->scores[i])) /* only a KB written before vectors were bounded can hold such vectors */
            rc = sem_error_set(err, SEM_ERANGE, "a score is not finite: the KB holds vectors too large to compare");
    if (rc)
        sem_search_ranked_clear(r);
    return rc;
}

int sem_search_fill(sem_search *s, const sem_search_ranked *r, sem_search_result *out, sem_error *err)
{
    out->semantic_weight = r->weight;
    return fill(s, r->ids, r->scores, r->ra, r->rb, r->n, out, err);
}

/* The core: vec (semantic/hybrid, may be NULL for lexical) and words (lexical/hybrid). */
static int run_query(sem_search *s, const float *vec, const char *words, const sem_query_params *p,
                     sem_search_result *out, sem_error *err)
{
    sem_search_cands c;
    sem_search_ranked r = {0};
    int rc = sem_search_gather(s, vec, words, p, &c, err);
    if (rc == SEM_OK)
        rc = sem_search_rank(s, p, &c, &r, err);
    if (rc == SEM_OK)
        rc = sem_search_fill(s, &r, out, err);
    sem_search_cands_clear(&c);
    sem_search_ranked_clear(&r);
    return rc;
}

int sem_search_prepare(sem_search *s, const char *query, const sem_query_params *p, float **vec, char **words,
                       sem_error *err)
{
    *vec = NULL;
    *words = NULL;
    if (!query)
        return sem_error_set(err, SEM_EINVAL, "empty query");
    size_t bad, qn = strlen(query);
    if (qn > SEM_QUERY_MAX_BYTES) /* first: the same answer in every mode */
        return sem_error_set(err, SEM_EINVAL, "the query is too long: %zu bytes, the limit is %d", qn,
                             SEM_QUERY_MAX_BYTES);
    int rc = check_params(s, p, err);
    if (rc)
        return rc;
    if (!sem_utf8_valid(query, qn, &bad))
        return sem_error_set(err, SEM_EINVAL, "the query is not valid UTF-8 (byte %zu)", bad);
    int blank = 1;
    for (size_t i = 0; i < qn && blank; i++)
        blank = query[i] == ' ' || query[i] == '\t' || query[i] == '\n' || query[i] == '\r';
    if (blank)
        return sem_error_set(err, SEM_EINVAL, "empty query");
    if (p->mode != SEM_MODE_LEXICAL) {
        if (!(*vec = malloc((size_t)s->dim * sizeof **vec)))
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        rc = encode_query(s, query, *vec, err);
    }
    if (rc == SEM_OK && p->mode != SEM_MODE_SEMANTIC && !(*words = sem_fts_words(query)))
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (rc) {
        free(*vec);
        *vec = NULL;
    }
    return rc;
}

int sem_search_query(sem_search *s, const char *query, const sem_query_params *params, sem_search_result *out,
                     sem_error *err)
{
    memset(out, 0, sizeof *out);
    double t0 = sem_now();
    sem_query_params p = params ? *params : sem_query_default_params();
    float *vec;
    char *words;
    int rc = sem_search_prepare(s, query, &p, &vec, &words, err);
    if (rc)
        return rc;
    rc = run_query(s, vec, words, &p, out, err);
    free(vec);
    free(words);
    if (rc)
        sem_search_result_clear(out);
    else
        out->took_ms = (sem_now() - t0) * 1000.0;
    return rc;
}

int sem_search_query_vector(sem_search *s, const float *vec, int dim, const sem_query_params *params,
                            sem_search_result *out, sem_error *err)
{
    memset(out, 0, sizeof *out);
    double t0 = sem_now();
    sem_query_params p = params ? *params : sem_query_default_params();
    if (p.mode != SEM_MODE_SEMANTIC)
        return sem_error_set(err, SEM_EINVAL, "a query vector needs semantic mode");
    if (p.k < 1 || p.k > MAX_K)
        return sem_error_set(err, SEM_ERANGE, "k must be in 1..%d (got %d)", MAX_K, p.k);
    if (!vec || dim != s->dim)
        return sem_error_set(err, SEM_EINVAL, "the vector has %d dimensions, the KB %d", dim, s->dim);
    /* a lexical-only KB refuses vector search in the store (SEM_EINVAL) */
    int rc = sem_kb_vec_check(vec, dim, "query", 0, err);
    if (rc)
        return rc;
    rc = run_query(s, vec, NULL, &p, out, err);
    if (rc)
        sem_search_result_clear(out);
    else
        out->took_ms = (sem_now() - t0) * 1000.0;
    return rc;
}
