/* eval/anninput.c: the inputs of an ANN benchmark (see ann.h, "Inputs"): queries held out of a base, the exact
 * ground truth loaded, verified, computed and cached, and the default index specs. */
#include "eval/ann.h"

#include "common/fileio.h"
#include "common/hash.h"
#include "common/log.h"
#include "store/kb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t sem_ann_default_sample(size_t n)
{
    size_t s = n / 10;
    return s > 1000 ? 1000 : s < 1 ? 1 : s;
}

int sem_vecs_hold_out(sem_vecs *v, size_t nq, uint64_t seed, sem_vecs *q, sem_error *err)
{
    if (nq == 0 || nq >= v->n)
        return sem_error_set(err, SEM_EINVAL, "cannot hold out %zu queries from %zu vectors", nq, v->n);
    size_t d = v->d, n = v->n;
    q->data = malloc(nq * d * sizeof(float));
    float *tmp = malloc(d * sizeof(float));
    if (!q->data || !tmp) {
        free(q->data);
        free(tmp);
        q->data = NULL;
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    /* partial Fisher-Yates over rows (splitmix64): the last nq rows become the queries */
    uint64_t s = seed;
    for (size_t i = 0; i < nq; i++) {
        size_t last = n - 1 - i;
        size_t j = (size_t)(sem_rng_next(&s) % (last + 1));
        memcpy(tmp, v->data + j * d, d * sizeof(float));
        memmove(v->data + j * d, v->data + last * d, d * sizeof(float));
        memcpy(v->data + last * d, tmp, d * sizeof(float));
    }
    free(tmp);
    memcpy(q->data, v->data + (n - nq) * d, nq * d * sizeof(float));
    q->n = nq;
    q->d = d;
    v->n = n - nq; /* the tail stays allocated, unused */
    return SEM_OK;
}

/* The given ground truth file (TEXMEX groundtruth), checked against the number of queries. */
static int read_gt(const char *path, size_t nq, int64_t **gt, size_t *gt_k, sem_error *err)
{
    size_t rows, cols;
    int rc = sem_ivecs_read(path, gt, &rows, &cols, err);
    if (rc)
        return rc;
    if (rows != nq) {
        free(*gt);
        *gt = NULL;
        return sem_error_set(err, SEM_EMISMATCH, "%s has %zu rows but there are %zu queries", path, rows, nq);
    }
    *gt_k = cols;
    return SEM_OK;
}

/* The cache file's name: p->cache_path, else beside the queries, named after the metric, depth and a hash of
 * the vectors; "" when there is none. */
static void cache_name(const sem_vecs *base, const sem_vecs *q, const sem_ann_gt_params *p, char *out, size_t cap)
{
    out[0] = 0;
    if (p->cache_path) {
        snprintf(out, cap, "%s", p->cache_path);
    } else if (p->queries_path) {
        uint64_t h = sem_fnv1a64(SEM_FNV1A64_INIT, base->data, base->n * base->d * sizeof(float));
        h = sem_fnv1a64(h ^ SEM_SPLITMIX64_GAMMA, q->data, q->n * q->d * sizeof(float));
        if ((size_t)snprintf(out, cap, "%s.gt-%s-k%zu-%016llx.ivecs", p->queries_path, p->metric_ip ? "ip" : "l2",
                             p->k, (unsigned long long)h) >= cap)
            out[0] = 0;
    }
}

/* The cached ground truth if the file exists, is deep enough and its first neighbours check out; 1 if used. */
static int read_cache(const char *cache, const sem_vecs *base, const sem_vecs *q, const sem_ann_gt_params *p,
                      int64_t **gt, size_t *gt_k)
{
    sem_error e2;
    size_t rows, cols;
    if (sem_ivecs_read(cache, gt, &rows, &cols, &e2) == SEM_OK && rows == q->n && cols >= p->k) {
        sem_ann_bench *b = sem_ann_bench_new(base->data, base->n, q->data, q->n, base->d, p->metric_ip, *gt, cols,
                                             &e2);
        int ok = b && sem_ann_bench_verify_gt(b, 8, &e2) == SEM_OK;
        sem_ann_bench_free(b);
        if (ok) {
            sem_log(SEM_LOG_INFO, "ground truth from cache %s", cache);
            *gt_k = cols;
            return 1;
        }
    }
    sem_log(SEM_LOG_WARN, "ground-truth cache %s does not match these vectors; recomputing", cache);
    free(*gt);
    *gt = NULL;
    return 0;
}

int sem_ann_ground_truth_cached(const sem_vecs *base, const sem_vecs *q, const sem_ann_gt_params *p, int64_t **gt,
                                size_t *gt_k, sem_error *err)
{
    *gt = NULL;
    if (p->gt_path)
        return read_gt(p->gt_path, q->n, gt, gt_k, err);
    char cache[4096];
    cache_name(base, q, p, cache, sizeof cache);
    if (cache[0] && sem_path_exists(cache) && read_cache(cache, base, q, p, gt, gt_k))
        return SEM_OK;
    if (!(*gt = malloc(q->n * p->k * sizeof(int64_t))))
        return sem_error_set(err, SEM_ENOMEM, "out of memory for the ground truth");
    sem_log(SEM_LOG_INFO, "computing exact ground truth: %zu queries x %zu base vectors", q->n, base->n);
    double t0 = sem_now();
    int rc = sem_ann_ground_truth(base->data, base->n, q->data, q->n, base->d, p->metric_ip, p->k, *gt, err);
    if (rc) {
        free(*gt);
        *gt = NULL;
        return rc;
    }
    sem_log(SEM_LOG_INFO, "ground truth in %.1f s", sem_now() - t0);
    *gt_k = p->k;
    sem_error e2;
    if (cache[0] && sem_ivecs_write(cache, *gt, q->n, p->k, &e2) != SEM_OK)
        sem_log(SEM_LOG_WARN, "could not cache the ground truth: %s", e2.msg);
    else if (cache[0])
        sem_log(SEM_LOG_INFO, "ground truth cached in %s", cache);
    return SEM_OK;
}

size_t sem_ann_default_specs(size_t n, const char *kb_spec, char specs[2][SEM_ANN_SPEC_MAX + 1])
{
    snprintf(specs[0], SEM_ANN_SPEC_MAX + 1, "Flat");
    if (kb_spec && kb_spec[0] && strcmp(kb_spec, "Flat") != 0) { /* a KB: its own index against exact search */
        snprintf(specs[1], SEM_ANN_SPEC_MAX + 1, "%s", kb_spec);
        return 2;
    }
    int64_t nlist = sem_kb_auto_nlist((int64_t)n); /* the store's auto sizing, whatever the size of the base */
    if (nlist < 4)
        return 1;
    snprintf(specs[1], SEM_ANN_SPEC_MAX + 1, "IVF%lld,Flat", (long long)nlist);
    return 2;
}
