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

/* The core: vec (semantic/hybrid, may be NULL for lexical) and words (lexical/hybrid). */
static int run_query(sem_search *s, const float *vec, const char *words, const sem_query_params *p,
                     sem_search_result *out, sem_error *err)
{
    sem_kb_filter f = {p->filter_keys, p->filter_values, p->n_filters};
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.nprobe = p->nprobe;
    sp.filter = p->n_filters ? &f : NULL;
    int cand = p->mode == SEM_MODE_HYBRID ? (p->k * 3 < 100 ? 100 : p->k * 3) : p->k;
    if (cand > MAX_K)
        cand = MAX_K;
    sp.k = cand;
    sem_kb_hit *hs = NULL, *hl = NULL;
    int ns = 0, nl = 0, rc = SEM_OK;
    int64_t *ids = NULL, *ia = NULL, *ib = NULL;
    float *sc = NULL;
    int *ra = NULL, *rb = NULL;
    double *fs = NULL;
    if (vec) {
        if (!(hs = malloc((size_t)cand * sizeof *hs))) {
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = sem_kb_search(s->kb, vec, 1, &sp, hs, &ns, err)))
            goto done;
    }
    if (words && words[0]) {
        if (!(hl = malloc((size_t)cand * sizeof *hl))) {
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = sem_kb_search_text(s->kb, words, &sp, hl, &nl, err)))
            goto done;
    }
    int n_max = ns + nl;
    ids = malloc(((size_t)n_max + 1) * sizeof *ids);
    sc = malloc(((size_t)n_max + 1) * sizeof *sc);
    ra = calloc((size_t)n_max + 1, sizeof *ra);
    rb = calloc((size_t)n_max + 1, sizeof *rb);
    if (!ids || !sc || !ra || !rb) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto done;
    }
    int n = 0;
    if (p->mode == SEM_MODE_HYBRID) {
        ia = malloc(((size_t)ns + 1) * sizeof *ia);
        ib = malloc(((size_t)nl + 1) * sizeof *ib);
        fs = malloc(((size_t)n_max + 1) * sizeof *fs);
        if (!ia || !ib || !fs) {
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < ns; i++)
            ia[i] = hs[i].passage_id;
        for (int i = 0; i < nl; i++)
            ib[i] = hl[i].passage_id;
        float *ss = malloc(((size_t)ns + 1) * sizeof *ss), *sl = malloc(((size_t)nl + 1) * sizeof *sl);
        if (!ss || !sl) {
            free(ss);
            free(sl);
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < ns; i++)
            ss[i] = hs[i].score;
        for (int i = 0; i < nl; i++)
            sl[i] = hl[i].score;
        /* the KB's calibrated weight is the cc fusion's; rrf weighs ranks, not scores, and keeps the default */
        float w = p->semantic_weight > 0            ? p->semantic_weight
                  : p->fusion == SEM_FUSION_CC ? s->kb_weight
                                               : SEM_HYBRID_SEMANTIC_WEIGHT;
        out->semantic_weight = w;
        sem_fusion_params fp = {p->fusion, w, SEM_RRF_K};
        n = sem_fuse(&fp, ia, ss, ns, ib, sl, nl, p->k, ids, fs, ra, rb);
        free(ss);
        free(sl);
        if (n < 0) {
            rc = sem_error_set(err, n, "out of memory");
            goto done;
        }
        for (int i = 0; i < n; i++)
            sc[i] = (float)fs[i];
    } else {
        const sem_kb_hit *h = vec ? hs : hl;
        n = vec ? ns : nl;
        if (n > p->k)
            n = p->k;
        for (int i = 0; i < n; i++) {
            ids[i] = h[i].passage_id;
            sc[i] = h[i].score;
            if (vec)
                ra[i] = i + 1;
            else
                rb[i] = i + 1;
        }
    }
    for (int i = 0; i < n; i++)
        if (!isfinite(sc[i])) { /* only a KB written before vectors were bounded can hold such vectors */
            rc = sem_error_set(err, SEM_ERANGE, "a score is not finite: the KB holds vectors too large to compare");
            goto done;
        }
    rc = fill(s, ids, sc, ra, rb, n, out, err);
done:
    free(hs);
    free(hl);
    free(ids);
    free(ia);
    free(ib);
    free(sc);
    free(ra);
    free(rb);
    free(fs);
    return rc;
}

int sem_search_query(sem_search *s, const char *query, const sem_query_params *params, sem_search_result *out,
                     sem_error *err)
{
    memset(out, 0, sizeof *out);
    double t0 = sem_now();
    sem_query_params p = params ? *params : sem_query_default_params();
    if (!query)
        return sem_error_set(err, SEM_EINVAL, "empty query");
    size_t bad, qn = strlen(query);
    if (qn > SEM_QUERY_MAX_BYTES) /* first: the same answer in every mode */
        return sem_error_set(err, SEM_EINVAL, "the query is too long: %zu bytes, the limit is %d", qn,
                             SEM_QUERY_MAX_BYTES);
    int rc = check_params(s, &p, err);
    if (rc)
        return rc;
    if (!sem_utf8_valid(query, qn, &bad))
        return sem_error_set(err, SEM_EINVAL, "the query is not valid UTF-8 (byte %zu)", bad);
    int blank = 1;
    for (size_t i = 0; i < qn && blank; i++)
        blank = query[i] == ' ' || query[i] == '\t' || query[i] == '\n' || query[i] == '\r';
    if (blank)
        return sem_error_set(err, SEM_EINVAL, "empty query");
    float *vec = NULL;
    char *words = NULL;
    if (p.mode != SEM_MODE_LEXICAL) {
        if (!(vec = malloc((size_t)s->dim * sizeof *vec)))
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        if ((rc = encode_query(s, query, vec, err))) {
            free(vec);
            return rc;
        }
    }
    if (p.mode != SEM_MODE_SEMANTIC && !(words = sem_fts_words(query))) {
        free(vec);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
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
