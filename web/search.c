/* web/search.c: POST /search
 *   {"query":"…","k":5,"kb":"name","mode":"hybrid|semantic|lexical","nprobe":16,"filter":{"key":"value"},
 *    "semantic_weight":0.3,"fusion":"cc|rrf"}
 *   or {"vector":[…],…} (semantic only)
 *   → {"hits":[{"id":"doc id","passage":12,"score":0.83,"text":"…","title":"…","metadata":{…}}],"took_ms":3.1,…}
 * The query layer (query/search.h) does the work and writes the result (query/resultjson.h, the format `semsearch
 * query --json` prints too); this file maps JSON to its parameters and adds "kb" and "terms". */
#include "web/internal.h"

#include "common/fileio.h"
#include "query/resultjson.h"
#include "query/search.h"
#include "store/kb.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads "filter": an object of scalar values; each value becomes the text the store compares with (strings as
 * they are, integers in decimal, true/false as 1/0, as SQLite's CAST(... AS TEXT) of json_extract shows them).
 * keys/values (malloc'd arrays, caller frees; strings in vals_buf, caller frees) of *n entries. */
static int read_filter(const cJSON *o, const char ***keys, const char ***values, char **vals_buf, int *n,
                       web_reply *r)
{
    *keys = *values = NULL;
    *vals_buf = NULL;
    *n = 0;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "filter");
    if (!f || cJSON_IsNull(f))
        return 0;
    if (!cJSON_IsObject(f))
        return web_error(r, 400, "field \"filter\" must be an object of key: value");
    int count = cJSON_GetArraySize(f);
    if (count == 0)
        return 0;
    if (count > SEM_QUERY_MAX_FILTERS)
        return web_error(r, 400, "field \"filter\" has %d keys; at most %d are allowed", count,
                         SEM_QUERY_MAX_FILTERS);
    const char **ks = calloc((size_t)count, sizeof *ks), **vs = calloc((size_t)count, sizeof *vs);
    char *buf = calloc((size_t)count, 40); /* numbers and booleans as text, 40 bytes each */
    if (!ks || !vs || !buf) {
        free(ks);
        free(vs);
        free(buf);
        return web_error(r, 500, "out of memory");
    }
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, f)
    {
        char *slot = buf + (size_t)i * 40;
        ks[i] = e->string;
        if (cJSON_IsString(e)) {
            vs[i] = e->valuestring;
        } else if (cJSON_IsBool(e)) {
            snprintf(slot, 40, "%d", cJSON_IsTrue(e) ? 1 : 0);
            vs[i] = slot;
        } else if (cJSON_IsNumber(e) && isfinite(e->valuedouble)) {
            double d = e->valuedouble;
            if (d == floor(d) && fabs(d) < 9e15)
                snprintf(slot, 40, "%.0f", d);
            else
                snprintf(slot, 40, "%.17g", d);
            vs[i] = slot;
        } else {
            free(ks);
            free(vs);
            free(buf);
            return web_error(r, 400, "filter \"%s\" must be a string, number or boolean", e->string);
        }
        i++;
    }
    *keys = ks;
    *values = vs;
    *vals_buf = buf;
    *n = i;
    return 0;
}

/* The largest norm a query vector may have: its squared norm (1e30) and its dot products with the KB's vectors
 * then stay far from float overflow, where scores would turn into inf/NaN (printed as null). Real embeddings
 * have norms near 1 (normalized) or in the tens. */
#define WEB_MAX_VECTOR_NORM 1e15

/* Reads "vector": an array of exactly dim finite numbers (each a finite float, the norm at most
 * WEB_MAX_VECTOR_NORM) into a new array (*out, caller frees). */
static int read_vector(const cJSON *v, int dim, float **out, web_reply *r)
{
    if (!cJSON_IsArray(v))
        return web_error(r, 400, "field \"vector\" must be an array of numbers");
    int n = cJSON_GetArraySize(v);
    if (n != dim)
        return web_error(r, 400, "field \"vector\" has %d numbers; the knowledge base's vectors have %d", n, dim);
    float *x = malloc(sizeof(float) * (size_t)(dim > 0 ? dim : 1));
    if (!x)
        return web_error(r, 500, "out of memory");
    int i = 0;
    double norm2 = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || fabs(e->valuedouble) > FLT_MAX) {
            free(x);
            return web_error(r, 400, "vector[%d] must be a finite number that fits a 32-bit float", i);
        }
        x[i++] = (float)e->valuedouble;
        norm2 += (double)x[i - 1] * (double)x[i - 1]; /* |x| <= FLT_MAX: finite in double */
    }
    if (!(norm2 <= WEB_MAX_VECTOR_NORM * WEB_MAX_VECTOR_NORM)) {
        free(x);
        return web_error(r, 400, "field \"vector\" is too large: its norm is %.3g, at most %g is allowed (scores "
                                 "would overflow)",
                         sqrt(norm2), WEB_MAX_VECTOR_NORM);
    }
    *out = x;
    return 0;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '\f' && *s != '\v')
            return 0;
    return 1;
}

/* "terms": what lexical search looks for in the query (no stopwords, CJK runs as bigrams; sem_kb_text_terms),
 * for the search page to highlight. Left out if they cannot be made. */
static void add_terms(cJSON *out, sem_kb *kb, const char *query)
{
    char **t = NULL;
    int n = 0;
    if (sem_kb_text_terms(kb, query, &t, &n, NULL) != SEM_OK)
        return;
    cJSON *arr = cJSON_AddArrayToObject(out, "terms");
    for (int i = 0; arr && i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(t[i]));
    sem_kb_text_terms_free(t, n);
}

/* The fields of a POST /search body. */
typedef struct search_req {
    const char *query, *kb_name, *mode_name, *fusion_name;
    const cJSON *vector; /* NULL when absent or null */
    double weight;
    long k, nprobe;
    const char **fkeys, **fvals;
    char *fbuf;
    int nf, mode, fusion; /* mode -1: not given */
} search_req;

static void search_req_free(search_req *q)
{
    free(q->fkeys);
    free(q->fvals);
    free(q->fbuf);
}

/* Reads and checks the body's fields into q; 0, or -1 after setting the error reply. */
static int read_request(const web_state *st, const cJSON *o, search_req *q, web_reply *r)
{
    q->vector = cJSON_GetObjectItemCaseSensitive(o, "vector");
    if (q->vector && cJSON_IsNull(q->vector))
        q->vector = NULL;
    if (web_get_string(o, "query", 0, &q->query, r) || web_get_string(o, "kb", 0, &q->kb_name, r)
        || web_get_string(o, "mode", 0, &q->mode_name, r) || web_get_int(o, "k", 1, st->p.max_k, &q->k, NULL, r)
        || web_get_int(o, "nprobe", 1, 1 << 16, &q->nprobe, NULL, r)
        || read_filter(o, &q->fkeys, &q->fvals, &q->fbuf, &q->nf, r)
        || web_get_number(o, "semantic_weight", 0, 1, &q->weight, r)
        || web_get_string(o, "fusion", 0, &q->fusion_name, r))
        return -1;
    q->fusion = q->fusion_name ? sem_fusion_parse(q->fusion_name) : SEM_FUSION_CC;
    if (q->fusion < 0)
        return web_error(r, 400, "unknown fusion \"%s\": use cc or rrf", q->fusion_name);
    const cJSON *wj = cJSON_GetObjectItemCaseSensitive(o, "semantic_weight");
    if (wj && !cJSON_IsNull(wj) && q->weight <= 0)
        return web_error(r, 400, "field \"semantic_weight\" must be in (0, 1]");
    if (q->query && q->vector)
        return web_error(r, 400, "give either \"query\" or \"vector\", not both");
    if (!q->query && !q->vector)
        return web_error(r, 400, "missing field \"query\" (or \"vector\")");
    if (q->query && blank(q->query))
        return web_error(r, 400, "the query is empty");
    if (q->query && strlen(q->query) > (size_t)web_max_query_bytes(st)) /* /stats: max_query_bytes */
        return web_error(r, 400, "the query is too long: %zu bytes, the limit is %d", strlen(q->query),
                         web_max_query_bytes(st));
    q->mode = -1; /* not given: hybrid, semantic for a vector, lexical on a KB without a model */
    if (q->mode_name && (q->mode = sem_search_mode_parse(q->mode_name)) < 0)
        return web_error(r, 400, "unknown mode \"%s\": use semantic, lexical or hybrid", q->mode_name);
    if (q->vector && q->mode_name && q->mode != SEM_MODE_SEMANTIC)
        return web_error(r, 400, "a \"vector\" query searches in semantic mode only");
    return 0;
}

/* The search with a vector; 0, or -1 after setting the error reply. */
static int search_vector(web_kb *kb, const search_req *q, const sem_query_params *qp, sem_search_result *res,
                         web_reply *r)
{
    int dim = sem_kb_dim(web_kb_store(kb));
    if (!web_kb_model(kb) && dim <= 0)
        return web_error(r, 400, "knowledge base '%s' has no vectors (it was built without an encoder model): use "
                                 "\"query\" with \"mode\": \"lexical\"", web_kb_name(kb));
    float *vec = NULL;
    if (read_vector(q->vector, dim, &vec, r))
        return -1;
    sem_error err = {0};
    int rc = sem_search_query_vector(web_kb_search(kb), vec, dim, qp, res, &err);
    free(vec);
    return rc == SEM_OK ? 0 : web_error_from(r, &err);
}

/* The search with the query text (the tokens it encoded count in /metrics); 0, or -1 after the error reply. */
static int search_text(const web_state *st, web_kb *kb, const search_req *q, const sem_query_params *qp,
                       sem_search_result *res, web_reply *r)
{
    if (qp->mode != SEM_MODE_LEXICAL && !web_kb_model(kb))
        return web_error(r, 400, "knowledge base '%s' has no encoder model: use \"mode\": \"lexical\"",
                         web_kb_name(kb));
    sem_error err = {0};
    if (sem_search_query(web_kb_search(kb), q->query, qp, res, &err) != SEM_OK)
        return web_error_from(r, &err);
    if (qp->mode != SEM_MODE_LEXICAL) {
        sem_model_info mi;
        sem_model_get_info(web_kb_model(kb), &mi);
        int t = sem_model_count_tokens(web_kb_model(kb), q->query, -1);
        long toks = t < 0 ? 0 : (long)t + 2 > mi.max_tokens ? mi.max_tokens : (long)t + 2;
        web_metrics_encoded(st->metrics, 1, toks);
    }
    return 0;
}

int web_h_search(const web_state *st, const web_http_req *req, web_reply *r)
{
    double t0 = sem_now();
    cJSON *o = web_parse_object(req, r);
    if (!o)
        return -1;
    search_req q = {.k = 10};
    sem_search_result res = {0};
    web_kb *kb = NULL;
    int rc = -1;
    if (read_request(st, o, &q, r) || !(kb = web_kb_pick(st, q.kb_name, r)))
        goto done;
    sem_query_params qp = sem_query_default_params();
    qp.k = (int)q.k;
    qp.nprobe = (int)q.nprobe;
    qp.mode = (sem_search_mode)(q.mode >= 0 ? q.mode
                                : q.vector ? SEM_MODE_SEMANTIC
                                : web_kb_model(kb) ? SEM_MODE_HYBRID : SEM_MODE_LEXICAL);
    qp.fusion = (sem_fusion_method)q.fusion;
    if (q.weight > 0)
        qp.semantic_weight = (float)q.weight;
    qp.filter_keys = q.fkeys;
    qp.filter_values = q.fvals;
    qp.n_filters = q.nf;
    if (q.vector ? search_vector(kb, &q, &qp, &res, r) : search_text(st, kb, &q, &qp, &res, r))
        goto done;
    cJSON *out = sem_search_result_json(&res, qp.mode, (sem_now() - t0) * 1e3);
    if (!out || !cJSON_AddStringToObject(out, "kb", web_kb_name(kb))) {
        cJSON_Delete(out);
        web_error(r, 500, "out of memory");
        goto done;
    }
    if (q.query)
        add_terms(out, web_kb_store(kb), q.query);
    rc = web_reply_json(r, 200, out);
done:
    sem_search_result_clear(&res);
    search_req_free(&q);
    cJSON_Delete(o);
    return rc;
}
