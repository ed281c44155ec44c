/* eval/kbsource.c: KB vectors and KB search for the evaluation commands (see kbsource.h). */
#include "eval/kbsource.h"

#include "common/array.h"
#include "query/search.h"
#include "store/kb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct collect {
    float *data;
    size_t n, cap, d;
};

static int collect_row(void *user, const sem_kb_vec_row *row)
{
    struct collect *c = user;
    if (c->n == c->cap) {
        float *nd = c->d <= SIZE_MAX / sizeof(float) ? sem_array_grow(c->data, &c->cap, c->d * sizeof(float), 4096)
                                                     : NULL;
        if (!nd)
            return SEM_ENOMEM;
        c->data = nd;
    }
    memcpy(c->data + c->n * c->d, row->vec, c->d * sizeof(float));
    c->n++;
    return 0;
}

int sem_eval_kb_vectors(const char *kb_dir, sem_vecs *out, int *metric_ip, char *spec, size_t cap,
                        sem_error *err)
{
    out->data = NULL;
    out->n = out->d = 0;
    if (spec && cap)
        spec[0] = 0;
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *kb = sem_kb_open(kb_dir, &op, err);
    if (!kb)
        return err ? err->code : SEM_EIO;
    struct collect c = {NULL, 0, 0, (size_t)sem_kb_dim(kb)};
    sem_kb_info info;
    int rc = sem_kb_get_info(kb, &info, err);
    if (rc == SEM_OK) {
        *metric_ip = info.metric == SEM_KB_METRIC_IP;
        if (spec && cap)
            snprintf(spec, cap, "%s", info.index_built);
        rc = sem_kb_foreach_vector(kb, collect_row, &c, err);
    }
    sem_kb_close(kb);
    if (rc == SEM_ENOMEM)
        rc = sem_error_set(err, SEM_ENOMEM, "%s: out of memory reading the vectors", kb_dir);
    if (rc == SEM_OK && c.n == 0)
        rc = sem_error_set(err, SEM_EINVAL, "%s: the knowledge base has no passages", kb_dir);
    if (rc != SEM_OK) {
        free(c.data);
        return rc;
    }
    out->data = c.data;
    out->n = c.n;
    out->d = c.d;
    return SEM_OK;
}

struct sem_eval_kb_searcher {
    sem_search *s;
};

sem_eval_kb_searcher *sem_eval_kb_searcher_open(const char *kb_dir, const char *model, int n_threads,
                                                sem_error *err)
{
    sem_search_open_params p = sem_search_default_open_params();
    p.model = model;
    p.n_threads = n_threads;
    p.read_only = 1;
    sem_eval_kb_searcher *es = calloc(1, sizeof *es);
    if (!es) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    es->s = sem_search_open(kb_dir, &p, err);
    if (!es->s) {
        free(es);
        return NULL;
    }
    return es;
}

void sem_eval_kb_searcher_free(sem_eval_kb_searcher *s)
{
    if (!s)
        return;
    sem_search_free(s->s);
    free(s);
}

int sem_eval_kb_searcher_has_model(const sem_eval_kb_searcher *s)
{
    return s && sem_search_model(s->s) != NULL;
}

/* "semantic", "lexical", "hybrid", "hybrid-rrf", each hybrid optionally "@W" (the semantic weight). */
static int parse_mode(const char *mode, sem_query_params *q)
{
    char name[64];
    const char *at = strchr(mode, '@');
    size_t len = at ? (size_t)(at - mode) : strlen(mode);
    if (len >= sizeof name)
        return SEM_EINVAL;
    memcpy(name, mode, len);
    name[len] = 0;
    if (!strcmp(name, "hybrid-rrf")) {
        q->mode = SEM_MODE_HYBRID;
        q->fusion = SEM_FUSION_RRF;
    } else {
        int m = sem_search_mode_parse(name);
        if (m < 0)
            return SEM_EINVAL;
        q->mode = (sem_search_mode)m;
    }
    if (at) {
        char *end;
        double w = strtod(at + 1, &end);
        if (q->mode != SEM_MODE_HYBRID || *end || !(w > 0 && w <= 1))
            return SEM_EINVAL;
        q->semantic_weight = (float)w;
    }
    return SEM_OK;
}

int sem_eval_kb_search(void *user, const char *query_id, const char *query_text, const char *mode, int k,
                       sem_ranking *out, sem_error *err)
{
    (void)query_id;
    sem_eval_kb_searcher *es = user;
    sem_query_params base = sem_query_default_params();
    if (parse_mode(mode, &base) != SEM_OK)
        return sem_error_set(err, SEM_EINVAL, "unknown search mode '%s'", mode);
    /* hits are passages; ask for more so that k distinct documents remain after merging passages of one
     * document (capped by the search's own limit) */
    int want = k;
    for (int attempt = 0; attempt < 3; attempt++) {
        sem_query_params q = base;
        q.k = want;
        sem_search_result res;
        int rc = sem_search_query(es->s, query_text, &q, &res, err);
        if (rc != SEM_OK)
            return rc;
        /* distinct documents, best first */
        int distinct = 0;
        for (int i = 0; i < res.n; i++) {
            int dup = 0;
            for (int j = 0; j < i && !dup; j++)
                dup = strcmp(res.hits[i].doc_id, res.hits[j].doc_id) == 0;
            distinct += !dup;
        }
        if (distinct >= k || res.n < want || want >= 10000 || attempt == 2) {
            int added = 0;
            for (int i = 0; i < res.n && added < k; i++) {
                int dup = 0;
                for (int j = 0; j < i && !dup; j++)
                    dup = strcmp(res.hits[i].doc_id, res.hits[j].doc_id) == 0;
                if (dup)
                    continue;
                if (sem_ranking_add(out, res.hits[i].doc_id) != SEM_OK) {
                    sem_search_result_clear(&res);
                    return sem_error_set(err, SEM_ENOMEM, "out of memory");
                }
                added++;
            }
            sem_search_result_clear(&res);
            return SEM_OK;
        }
        sem_search_result_clear(&res);
        want = want * 4 > 10000 ? 10000 : want * 4;
    }
    return SEM_OK;
}
