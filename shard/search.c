/* shard/search.c: searching a sharded KB from one process: prepare the query once (shard 0's handle: the model
 * is shared), gather each shard's candidates, merge them by score into global lists whose ids say the shard
 * (global id = passage id * n + shard), rank and fuse once (query/search.c), then fill each shard's hits. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "kbmodel/kbmodel.h"
#include "shard/shard.h"

struct sem_shard_search {
    int n;
    sem_kbmodel km;  /* shard 0's KB and the one model */
    sem_kb **kb;     /* (n) kb[0] is km.kb */
    sem_search **s;  /* (n) borrowing kb[i] and km.model */
};

void sem_shard_search_free(sem_shard_search *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++) {
        if (s->s)
            sem_search_free(s->s[i]);
        if (s->kb && i > 0)
            sem_kb_close(s->kb[i]);
    }
    free(s->s);
    free(s->kb);
    sem_kbmodel_close(&s->km);
    free(s);
}

/* Opens shard i (i > 0) as shard 0's model expects. */
static int open_shard(sem_shard_search *s, const char *kb_dir, int i, int read_only, sem_error *err)
{
    char dir[PATH_MAX];
    int rc = sem_shard_dir(kb_dir, i, dir, sizeof dir, err);
    if (rc)
        return rc;
    sem_kb_model expect;
    sem_kb_get_model(s->km.kb, &expect);
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = read_only;
    op.expect = &expect;
    if (!(s->kb[i] = sem_kb_open(dir, &op, err)))
        return err ? err->code : SEM_EIO;
    return SEM_OK;
}

sem_shard_search *sem_shard_search_open(const char *kb_dir, const sem_search_open_params *params, sem_error *err)
{
    sem_search_open_params p = params ? *params : sem_search_default_open_params();
    sem_shard_manifest m;
    if (sem_shard_manifest_read(kb_dir, &m, err) != SEM_OK)
        return NULL;
    sem_shard_search *s = calloc(1, sizeof *s);
    char dir0[PATH_MAX];
    int rc = s ? sem_shard_dir(kb_dir, 0, dir0, sizeof dir0, err) : sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (rc)
        goto fail;
    sem_kbmodel_params kp = sem_kbmodel_default_params();
    kp.read_only = p.read_only;
    kp.model = p.model;
    kp.n_threads = p.n_threads;
    if ((rc = sem_kbmodel_open(dir0, &kp, &s->km, err)))
        goto fail;
    s->kb = calloc((size_t)m.n_shards, sizeof *s->kb);
    s->s = calloc((size_t)m.n_shards, sizeof *s->s);
    if (!s->kb || !s->s) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    s->n = m.n_shards;
    s->kb[0] = s->km.kb;
    for (int i = 0; i < s->n && rc == SEM_OK; i++) {
        if (i > 0)
            rc = open_shard(s, kb_dir, i, p.read_only, err);
        if (rc == SEM_OK && !(s->s[i] = sem_search_new(s->kb[i], s->km.model, err)))
            rc = err ? err->code : SEM_ENOMEM;
    }
    if (rc == SEM_OK)
        return s;
fail:
    sem_shard_search_free(s);
    return NULL;
}

int sem_shard_search_count(const sem_shard_search *s)
{
    return s->n;
}

const sem_model *sem_shard_search_model(const sem_shard_search *s)
{
    return s->km.model;
}

static int by_score(const void *x, const void *y)
{
    const sem_kb_hit *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->passage_id < b->passage_id ? -1 : a->passage_id > b->passage_id;
}

/* Merges side (0 semantic, 1 lexical) of the n shards' candidates c into g's list: global ids, best first, at
 * most cap. */
static int merge_side(const sem_search_cands *c, int n, int side, int cap, sem_search_cands *g, sem_error *err)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += (size_t)(side ? c[i].n_lex : c[i].n_sem);
    sem_kb_hit *all = malloc((total + 1) * sizeof *all);
    if (!all)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        const sem_kb_hit *h = side ? c[i].lex : c[i].sem;
        for (int j = 0; j < (side ? c[i].n_lex : c[i].n_sem); j++, k++) {
            if (h[j].passage_id < 0 || h[j].passage_id > (INT64_MAX - n) / n) {
                free(all);
                return sem_error_set(err, SEM_ERANGE, "shard %d: passage id %lld is too large to merge", i,
                                     (long long)h[j].passage_id);
            }
            all[k] = (sem_kb_hit){h[j].passage_id * n + i, h[j].score};
        }
    }
    qsort(all, total, sizeof *all, by_score);
    int m = total < (size_t)cap ? (int)total : cap;
    if (side) {
        g->lex = all;
        g->n_lex = m;
    } else {
        g->sem = all;
        g->n_sem = m;
    }
    return SEM_OK;
}

/* Each shard's sub-list of r (local ids) filled from its KB, then the hits put back in r's order into out. */
static int fill_all(sem_shard_search *s, const sem_search_ranked *r, sem_search_result *out, sem_error *err)
{
    sem_search_result *part = calloc((size_t)s->n, sizeof *part);
    int *at = calloc((size_t)s->n, sizeof *at);
    sem_search_ranked sub = {0};
    size_t cap = (size_t)r->n + 1;
    sub.ids = malloc(cap * sizeof *sub.ids);
    sub.scores = malloc(cap * sizeof *sub.scores);
    sub.ra = malloc(cap * sizeof *sub.ra);
    sub.rb = malloc(cap * sizeof *sub.rb);
    out->hits = calloc(cap, sizeof *out->hits);
    int rc = part && at && sub.ids && sub.scores && sub.ra && sub.rb && out->hits
                 ? SEM_OK : sem_error_set(err, SEM_ENOMEM, "out of memory");
    for (int i = 0; i < s->n && rc == SEM_OK; i++) {
        sub.n = 0;
        for (int j = 0; j < r->n; j++)
            if (r->ids[j] % s->n == i) {
                sub.ids[sub.n] = r->ids[j] / s->n;
                sub.scores[sub.n] = r->scores[j];
                sub.ra[sub.n] = r->ra[j];
                sub.rb[sub.n++] = r->rb[j];
            }
        rc = sem_search_fill(s->s[i], &sub, &part[i], err);
    }
    for (int j = 0; rc == SEM_OK && j < r->n; j++) { /* r's order; a passage deleted meanwhile is absent */
        int i = (int)(r->ids[j] % s->n);
        sem_search_result *pr = &part[i];
        if (at[i] < pr->n && pr->hits[at[i]].passage_id == r->ids[j] / s->n)
            out->hits[out->n++] = pr->hits[at[i]++];
    }
    for (int i = 0; part && i < s->n; i++) {
        if (rc == SEM_OK) /* the hits' strings moved to out */
            part[i].n = 0;
        sem_search_result_clear(&part[i]);
    }
    out->semantic_weight = r->weight;
    free(part);
    free(at);
    sub.n = 0;
    sem_search_ranked_clear(&sub);
    return rc;
}

int sem_shard_search_query(sem_shard_search *s, const char *query, const sem_query_params *params,
                           sem_search_result *out, sem_error *err)
{
    memset(out, 0, sizeof *out);
    double t0 = sem_now();
    sem_query_params p = params ? *params : sem_query_default_params();
    float *vec = NULL;
    char *words = NULL;
    sem_search_cands *c = calloc((size_t)s->n, sizeof *c), g = {0};
    sem_search_ranked r = {0};
    int rc = c ? sem_search_prepare(s->s[0], query, &p, &vec, &words, err)
               : sem_error_set(err, SEM_ENOMEM, "out of memory");
    for (int i = 0; i < s->n && rc == SEM_OK; i++)
        if ((rc = sem_search_gather(s->s[i], vec, words, &p, &c[i], err)))
            sem_error_prefix(err, "shard %d", i);
    int cap = sem_search_candidates(&p);
    if (rc == SEM_OK)
        rc = merge_side(c, s->n, 0, cap, &g, err);
    if (rc == SEM_OK)
        rc = merge_side(c, s->n, 1, cap, &g, err);
    if (rc == SEM_OK)
        rc = sem_search_rank(s->s[0], &p, &g, &r, err);
    if (rc == SEM_OK)
        rc = fill_all(s, &r, out, err);
    for (int i = 0; c && i < s->n; i++)
        sem_search_cands_clear(&c[i]);
    free(c);
    sem_search_cands_clear(&g);
    sem_search_ranked_clear(&r);
    free(vec);
    free(words);
    if (rc)
        sem_search_result_clear(out);
    else
        out->took_ms = (sem_now() - t0) * 1000.0;
    return rc;
}
