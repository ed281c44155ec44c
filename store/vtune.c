/* store/vtune.c: picks the nprobe of a freshly built IVF index (see vindex.h, "nprobe tuning").
 *
 * While kb.c builds an index (sem_kb_build_index): sem_vindex_tune_begin takes up to SEM_VINDEX_TUNE_QUERIES
 * evenly spread rows of the training sample as queries (held out of training when enough rows remain);
 * sem_vindex_add then feeds every batch it adds to the exact ground truth (the true 10 nearest neighbours of each
 * query among all vectors, the query itself excluded); sem_vindex_tune_finish measures 10-recall@10 of the IVF
 * search at doubling nprobe, then bisects, for the smallest nprobe whose recall reaches SEM_VINDEX_TUNE_RECALL
 * with 95% confidence (the mean minus 1.645 standard errors over the queries: the sample's mean alone would
 * land right at the target, and half of the KB's other queries below it). Ground truth costs one pass of
 * (queries x vectors) inner products, done by a FAISS flat index per batch (BLAS). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/error_c.h>

#include "store/vindex.h"

#define TK SEM_VINDEX_TUNE_K

struct sem_vtune {
    int nq, d;
    float *q;        /* (nq, d) the held-out queries */
    int64_t *qid;    /* (nq) their passage ids (excluded from their own neighbours) */
    int64_t *gt;     /* (nq, TK) true neighbours, best first, -1 = none yet */
    float *gs;       /* (nq, TK) their scores, higher is better */
};

static void vtune_free(sem_vtune *t)
{
    if (!t)
        return;
    free(t->q);
    free(t->qid);
    free(t->gt);
    free(t->gs);
    free(t);
}

void sem_vindex_tune_drop(sem_vindex *v)
{
    vtune_free(v->tune);
    v->tune = NULL;
}

/* Moves row i of (x, ids) to row j (the rows are d floats). */
static void move_row(float *x, int64_t *ids, int d, int64_t i, int64_t j)
{
    if (i != j) {
        memmove(x + (size_t)j * d, x + (size_t)i * d, (size_t)d * sizeof *x);
        ids[j] = ids[i];
    }
}

int sem_vindex_tune_begin(sem_vindex *v, int64_t *n, int64_t *ids, float *x, sem_error *err)
{
    sem_vindex_tune_drop(v);
    if (!strstr(v->spec, "IVF") || *n < 2 * TK || !ids)
        return SEM_OK; /* nothing to tune (or too few vectors to say anything) */
    int64_t nq = *n / 10 < SEM_VINDEX_TUNE_QUERIES ? *n / 10 : SEM_VINDEX_TUNE_QUERIES;
    int hold = *n - nq >= v->train_min; /* hold the queries out of training when enough rows remain */
    sem_vtune *t = calloc(1, sizeof *t);
    if (!t || !(t->q = malloc((size_t)nq * (size_t)v->d * sizeof *t->q)) || !(t->qid = malloc((size_t)nq * 8)) ||
        !(t->gt = malloc((size_t)nq * TK * sizeof *t->gt)) || !(t->gs = malloc((size_t)nq * TK * sizeof *t->gs))) {
        vtune_free(t);
        return sem_error_set(err, SEM_ENOMEM, "out of memory for %lld tuning queries", (long long)nq);
    }
    t->nq = (int)nq;
    t->d = v->d;
    int64_t w = 0, k = 0;
    for (int64_t i = 0; i < *n; i++) {
        int pick = k < nq && (i * nq) / *n != ((i + 1) * nq) / *n; /* every (n/nq)-th row */
        if (pick) {
            memcpy(t->q + (size_t)k * v->d, x + (size_t)i * v->d, (size_t)v->d * sizeof *x);
            t->qid[k++] = ids[i];
        }
        if (!pick || !hold)
            move_row(x, ids, v->d, i, w++);
    }
    t->nq = (int)k;
    for (size_t i = 0; i < (size_t)k * TK; i++) {
        t->gt[i] = -1;
        t->gs[i] = -INFINITY;
    }
    *n = w;
    v->tune = t;
    return SEM_OK;
}

/* Inserts (id, s) into the sorted top-TK list (ids, sc) of one query. */
static void top_insert(int64_t *ids, float *sc, int64_t id, float s)
{
    if (!(s > sc[TK - 1]))
        return;
    int p = TK - 1;
    while (p > 0 && sc[p - 1] < s) {
        sc[p] = sc[p - 1];
        ids[p] = ids[p - 1];
        p--;
    }
    sc[p] = s;
    ids[p] = id;
}

int sem_vindex_tune_feed(sem_vindex *v, int64_t n, const int64_t *ids, const float *x, sem_error *err)
{
    sem_vtune *t = v->tune;
    if (!t || n <= 0)
        return SEM_OK;
    int64_t kk = n < TK + 1 ? n : TK + 1; /* one more than needed: the query itself may be among them */
    FaissIndexFlat *flat = NULL;
    float *D = malloc((size_t)t->nq * (size_t)kk * sizeof *D);
    int64_t *I = malloc((size_t)t->nq * (size_t)kk * sizeof *I);
    int rc = SEM_OK;
    if (!D || !I) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    } else if (faiss_IndexFlat_new_with(&flat, t->d, v->metric == SEM_KB_METRIC_L2 ? METRIC_L2
                                                                                    : METRIC_INNER_PRODUCT) != 0 ||
               faiss_Index_add((FaissIndex *)flat, n, x) != 0 ||
               faiss_Index_search((FaissIndex *)flat, t->nq, t->q, kk, D, I) != 0) {
        const char *m = faiss_get_last_error();
        rc = sem_error_set(err, SEM_EFAISS, "FAISS (nprobe tuning): %s", m ? m : "unknown error");
    } else {
        for (int q = 0; q < t->nq; q++)
            for (int64_t j = 0; j < kk; j++) {
                int64_t l = I[(size_t)q * kk + j];
                if (l < 0 || l >= n || ids[l] == t->qid[q])
                    continue;
                float s = D[(size_t)q * kk + j];
                top_insert(t->gt + (size_t)q * TK, t->gs + (size_t)q * TK, ids[l],
                           v->metric == SEM_KB_METRIC_L2 ? -s : s);
            }
    }
    if (flat)
        faiss_Index_free((FaissIndex *)flat);
    free(D);
    free(I);
    if (rc)
        sem_vindex_tune_drop(v);
    return rc;
}

/* 10-recall@10 of the index at nprobe: the mean over queries of the fraction of each one's true 10 nearest
 * neighbours (itself excluded) found among its first 10 results (itself excluded) into *mean, and that mean's
 * one-sided 95% lower confidence bound (mean - 1.645 standard errors) into *low. */
static int recall_at(const sem_vindex *v, const sem_vtune *t, int nprobe, sem_kb_hit *h, int *nh, double *mean,
                     double *low, sem_error *err)
{
    int rc = sem_vindex_search(v, t->nq, t->q, TK + 1, nprobe, 0, h, nh, err);
    if (rc)
        return rc;
    double sum = 0, sum2 = 0;
    int counted = 0;
    for (int q = 0; q < t->nq; q++) {
        const int64_t *g = t->gt + (size_t)q * TK;
        int ng = 0, found = 0, seen = 0;
        while (ng < TK && g[ng] >= 0)
            ng++;
        if (!ng)
            continue;
        for (int j = 0; j < nh[q] && seen < ng; j++) {
            int64_t id = h[(size_t)q * (TK + 1) + j].passage_id;
            if (id == t->qid[q])
                continue;
            seen++;
            for (int i = 0; i < ng; i++)
                found += g[i] == id;
        }
        double r = (double)found / ng;
        sum += r;
        sum2 += r * r;
        counted++;
    }
    *mean = counted ? sum / counted : 1.0;
    double var = counted > 1 ? (sum2 - sum * sum / counted) / (counted - 1) : 0;
    *low = *mean - 1.645 * sqrt((var > 0 ? var : 0) / (counted ? counted : 1));
    return SEM_OK;
}

/* The smallest nprobe in (lo, hi] whose lower bound reaches target, knowing that hi's does (recall grows with
 * nprobe); *r_hi gets its mean recall. */
static int bisect(const sem_vindex *v, const sem_vtune *t, int lo, int hi, double *r_hi, double target,
                  sem_kb_hit *h, int *nh, sem_error *err)
{
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        double r, low;
        int rc = recall_at(v, t, mid, h, nh, &r, &low, err);
        if (rc)
            return rc;
        if (low >= target) {
            hi = mid;
            *r_hi = r;
        } else {
            lo = mid;
        }
    }
    return hi;
}

int sem_vindex_tune_finish(sem_vindex *v, sem_error *err)
{
    sem_vtune *t = v->tune;
    int64_t nlist = sem_vindex_nlist(v);
    if (!t || nlist <= 0 || t->nq == 0) {
        sem_vindex_tune_drop(v);
        return SEM_OK;
    }
    int cap = nlist > SEM_VINDEX_TUNE_MAX_NPROBE ? SEM_VINDEX_TUNE_MAX_NPROBE : (int)nlist;
    sem_kb_hit *h = malloc((size_t)t->nq * (TK + 1) * sizeof *h);
    int *nh = malloc((size_t)t->nq * sizeof *nh);
    int rc = h && nh ? SEM_OK : sem_error_set(err, SEM_ENOMEM, "out of memory");
    double r_max = 0, low_max = 0, r = 0, low = 0, target = SEM_VINDEX_TUNE_RECALL;
    if (rc == SEM_OK)
        rc = recall_at(v, t, cap, h, nh, &r_max, &low_max, err);
    /* a compressed index (PQ) may never reach the target: then settle within a point of what it can reach */
    if (rc == SEM_OK && low_max - 0.01 < target)
        target = low_max - 0.01;
    int lo = 0, hi = 1;
    while (rc == SEM_OK && hi < cap && (rc = recall_at(v, t, hi, h, nh, &r, &low, err)) == SEM_OK && low < target) {
        lo = hi;
        hi = hi * 2 < cap ? hi * 2 : cap;
    }
    if (rc == SEM_OK && hi >= cap)
        r = r_max;
    if (rc == SEM_OK) {
        int np = bisect(v, t, lo, hi, &r, target, h, nh, err);
        if (np < 0) {
            rc = np;
        } else {
            v->tuned_nprobe = np;
            v->tuned_recall = r;
        }
    }
    free(h);
    free(nh);
    sem_vindex_tune_drop(v);
    return rc;
}

int sem_vindex_default_nprobe(const sem_vindex *v)
{
    int64_t nl = sem_vindex_nlist(v);
    if (nl <= 0)
        return 0;
    if (v->tuned_nprobe > 0)
        return v->tuned_nprobe < nl ? v->tuned_nprobe : (int)nl;
    int64_t np = nl / 64; /* an index built before tuning existed: the old rule */
    if (np < 8)
        np = 8;
    return (int)(np > nl ? nl : np);
}
