/* web/search.c: POST /search
 *   {"query":"…","k":5,"kb":"name","mode":"hybrid|semantic|lexical","nprobe":16,"filter":{"key":"value"},
 *    "semantic_weight":0.3,"fusion":"cc|rrf"}
 *   or {"vector":[…],…} (semantic only)
 *   → {"hits":[{"id":"doc id","passage":12,"score":0.83,"text":"…","title":"…","metadata":{…}}],"took_ms":3.1,…}
 * The query layer (query/search.h) does the work; this file maps JSON to its parameters and back. */
#include "web/internal.h"

#include "common/fileio.h"
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

static cJSON *hit_json(const sem_search_hit *h)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", h->doc_id ? h->doc_id : "");
    cJSON_AddNumberToObject(o, "passage", h->passage_no);
    /* a float printed as a double shows noise digits (0.8300000429); round-trip precision is enough */
    char sc[32];
    snprintf(sc, sizeof sc, "%.9g", (double)h->score);
    cJSON_AddItemToObject(o, "score", cJSON_CreateNumber(strtod(sc, NULL)));
    cJSON_AddStringToObject(o, "text", h->text ? h->text : "");
    cJSON_AddStringToObject(o, "title", h->title ? h->title : "");
    cJSON *m = h->meta_json ? cJSON_Parse(h->meta_json) : NULL;
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        m = cJSON_CreateObject();
    }
    cJSON_AddItemToObject(o, "metadata", m);
    if (h->answer)
        cJSON_AddStringToObject(o, "answer", h->answer);
    cJSON_AddNumberToObject(o, "start", (double)h->start);
    cJSON_AddNumberToObject(o, "end", (double)h->end);
    if (h->semantic_rank)
        cJSON_AddNumberToObject(o, "semantic_rank", h->semantic_rank);
    if (h->lexical_rank)
        cJSON_AddNumberToObject(o, "lexical_rank", h->lexical_rank);
    return o;
}

int web_h_search(const web_state *st, const web_http_req *req, web_reply *r)
{
    double t0 = sem_now();
    cJSON *o = web_parse_object(req, r);
    if (!o)
        return -1;
    const char *query = NULL, *kb_name = NULL, *mode_name = NULL, *fusion_name = NULL;
    double weight = 0;
    const char **fkeys = NULL, **fvals = NULL;
    char *fbuf = NULL;
    float *vec = NULL;
    int rc = -1, nf = 0, mode_given = 0;
    long k = 10, nprobe = 0;
    sem_search_result res = {0};
    const cJSON *vj = cJSON_GetObjectItemCaseSensitive(o, "vector");
    if (vj && cJSON_IsNull(vj))
        vj = NULL;
    if (web_get_string(o, "query", 0, &query, r) || web_get_string(o, "kb", 0, &kb_name, r)
        || web_get_string(o, "mode", 0, &mode_name, r) || web_get_int(o, "k", 1, st->p.max_k, &k, NULL, r)
        || web_get_int(o, "nprobe", 1, 1 << 16, &nprobe, NULL, r) || read_filter(o, &fkeys, &fvals, &fbuf, &nf, r)
        || web_get_number(o, "semantic_weight", 0, 1, &weight, r) || web_get_string(o, "fusion", 0, &fusion_name, r))
        goto done;
    int fusion = fusion_name ? sem_fusion_parse(fusion_name) : SEM_FUSION_CC;
    if (fusion < 0) {
        web_error(r, 400, "unknown fusion \"%s\": use cc or rrf", fusion_name);
        goto done;
    }
    const cJSON *wj = cJSON_GetObjectItemCaseSensitive(o, "semantic_weight");
    if (wj && !cJSON_IsNull(wj) && weight <= 0) {
        web_error(r, 400, "field \"semantic_weight\" must be in (0, 1]");
        goto done;
    }
    if (query && vj) {
        web_error(r, 400, "give either \"query\" or \"vector\", not both");
        goto done;
    }
    if (!query && !vj) {
        web_error(r, 400, "missing field \"query\" (or \"vector\")");
        goto done;
    }
    if (query && blank(query)) {
        web_error(r, 400, "the query is empty");
        goto done;
    }
    if (query && strlen(query) > (size_t)web_max_query_bytes(st)) { /* /stats: max_query_bytes */
        web_error(r, 400, "the query is too long: %zu bytes, the limit is %d", strlen(query),
                  web_max_query_bytes(st));
        goto done;
    }
    int mode = -1; /* not given: hybrid, semantic for a vector, lexical on a KB without a model */
    if (mode_name) {
        mode = sem_search_mode_parse(mode_name);
        mode_given = 1;
        if (mode < 0) {
            web_error(r, 400, "unknown mode \"%s\": use semantic, lexical or hybrid", mode_name);
            goto done;
        }
    }
    web_kb *kb = web_kb_pick(st, kb_name, r);
    if (!kb)
        goto done;
    if (mode < 0)
        mode = vj ? SEM_MODE_SEMANTIC : web_kb_model(kb) ? SEM_MODE_HYBRID : SEM_MODE_LEXICAL;
    sem_query_params qp = sem_query_default_params();
    qp.k = (int)k;
    qp.nprobe = (int)nprobe;
    qp.mode = (sem_search_mode)mode;
    qp.fusion = (sem_fusion_method)fusion;
    if (weight > 0)
        qp.semantic_weight = (float)weight;
    qp.filter_keys = fkeys;
    qp.filter_values = fvals;
    qp.n_filters = nf;
    sem_error err = {0};
    int src;
    if (vj) {
        if (mode_given && mode != SEM_MODE_SEMANTIC) {
            web_error(r, 400, "a \"vector\" query searches in semantic mode only");
            goto done;
        }
        int dim = sem_kb_dim(web_kb_store(kb));
        if (!web_kb_model(kb) && dim <= 0) {
            web_error(r, 400, "knowledge base '%s' has no vectors (it was built without an encoder model): use "
                              "\"query\" with \"mode\": \"lexical\"",
                      web_kb_name(kb));
            goto done;
        }
        if (read_vector(vj, dim, &vec, r))
            goto done;
        src = sem_search_query_vector(web_kb_search(kb), vec, dim, &qp, &res, &err);
    } else {
        if (mode != SEM_MODE_LEXICAL && !web_kb_model(kb)) {
            web_error(r, 400, "knowledge base '%s' has no encoder model: use \"mode\": \"lexical\"",
                      web_kb_name(kb));
            goto done;
        }
        src = sem_search_query(web_kb_search(kb), query, &qp, &res, &err);
        if (src == SEM_OK && mode != SEM_MODE_LEXICAL) {
            sem_model_info mi;
            sem_model_get_info(web_kb_model(kb), &mi);
            int t = sem_model_count_tokens(web_kb_model(kb), query, -1);
            long toks = t < 0 ? 0 : (long)t + 2 > mi.max_tokens ? mi.max_tokens : (long)t + 2;
            web_metrics_encoded(st->metrics, 1, toks);
        }
    }
    if (src != SEM_OK) {
        web_error_from(r, &err);
        goto done;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON *hits = cJSON_AddArrayToObject(out, "hits");
    for (int i = 0; hits && i < res.n; i++) {
        cJSON *h = hit_json(&res.hits[i]);
        if (!h || !cJSON_AddItemToArray(hits, h)) {
            cJSON_Delete(h);
            cJSON_Delete(out);
            web_error(r, 500, "out of memory");
            goto done;
        }
    }
    cJSON_AddStringToObject(out, "kb", web_kb_name(kb));
    cJSON_AddStringToObject(out, "mode", sem_search_mode_name(mode));
    if (mode == SEM_MODE_HYBRID) /* given, or the KB's calibrated weight (docs/query.md) */
        cJSON_AddNumberToObject(out, "semantic_weight", round(res.semantic_weight * 1000.0) / 1000.0);
    if (query)
        add_terms(out, web_kb_store(kb), query);
    cJSON_AddNumberToObject(out, "took_ms", round((sem_now() - t0) * 1e6) / 1e3);
    rc = web_reply_json(r, 200, out);
done:
    sem_search_result_clear(&res);
    free(vec);
    free(fkeys);
    free(fvals);
    free(fbuf);
    cJSON_Delete(o);
    return rc;
}
