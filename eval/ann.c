/* eval/ann.c: FAISS index benchmarks: ground truth, build, timed searches, recall, reports (see ann.h). */
#define _GNU_SOURCE /* fopencookie: measure an index's serialized size without a temp file */
#include "eval/ann.h"

#include "common/fileio.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "eval/metrics.h"
#include "eval/svgplot.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/IndexPreTransform_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <faiss/c_api/utils/distances_c.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

struct sem_ann_bench {
    const float *base;    /* (nb, d) */
    const float *queries; /* (nq, d) */
    size_t nb, nq, d;
    int metric_ip;
    const int64_t *gt; /* (nq, gt_k) */
    size_t gt_k;
    float *gt_d; /* (nq, gt_k) exact distances of gt, owned */
};

sem_ann_params sem_ann_default_params(void)
{
    sem_ann_params p = {0};
    p.k = 10;
    p.threads = 1;
    p.blas_threshold = 1;
    return p;
}

static int faiss_fail(sem_error *err, const char *what)
{
    const char *m = faiss_get_last_error();
    return sem_error_set(err, SEM_EFAISS, "%s: %s", what, m && *m ? m : "FAISS error");
}

void sem_ann_set_threads(int n)
{
    if (n < 1)
        n = 1;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

/* Exact distance of query q to base vector id: squared L2 or inner product, accumulated in double. */
static float exact_dist(const float *q, const float *x, size_t d, int ip)
{
    double s = 0;
    if (ip) {
        for (size_t j = 0; j < d; j++)
            s += (double)q[j] * (double)x[j];
    } else {
        for (size_t j = 0; j < d; j++) {
            double t = (double)q[j] - (double)x[j];
            s += t * t;
        }
    }
    return (float)s;
}

/* out (nq, stride): exact distances of the ids in ids (nq, stride); entries of id -1 get +-inf. */
static void exact_dists(const sem_ann_bench *b, const int64_t *ids, size_t stride, float *out)
{
    for (size_t q = 0; q < b->nq; q++)
        for (size_t i = 0; i < stride; i++) {
            int64_t id = ids[q * stride + i];
            out[q * stride + i] = id >= 0 && (size_t)id < b->nb
                                      ? exact_dist(b->queries + q * b->d, b->base + (size_t)id * b->d, b->d,
                                                   b->metric_ip)
                                      : (b->metric_ip ? -INFINITY : INFINITY);
        }
}

int sem_ann_ground_truth(const float *base, size_t nb, const float *queries, size_t nq, size_t d, int metric_ip,
                         size_t k, int64_t *ids, sem_error *err)
{
    if (nb == 0 || nq == 0 || d == 0 || k == 0 || d > INT32_MAX || nb > INT64_MAX || nq > SIZE_MAX / k)
        return sem_error_set(err, SEM_EINVAL, "ground truth: empty or oversized input");
    FaissIndexFlat *idx = NULL;
    int rc = metric_ip ? faiss_IndexFlatIP_new_with((FaissIndexFlatIP **)&idx, (idx_t)d)
                       : faiss_IndexFlatL2_new_with((FaissIndexFlatL2 **)&idx, (idx_t)d);
    if (rc)
        return faiss_fail(err, "ground truth: creating a Flat index");
    float *dist = malloc(sizeof(float) * 1024 * k);
    if (!dist) {
        faiss_Index_free(idx);
        return sem_error_set(err, SEM_ENOMEM, "ground truth: out of memory");
    }
    rc = SEM_OK;
    if (faiss_Index_add(idx, (idx_t)nb, base))
        rc = faiss_fail(err, "ground truth: adding the base vectors");
    for (size_t q = 0; q < nq && rc == SEM_OK; q += 1024) {
        size_t m = nq - q < 1024 ? nq - q : 1024;
        if (faiss_Index_search(idx, (idx_t)m, queries + q * d, (idx_t)k, dist, ids + q * k))
            rc = faiss_fail(err, "ground truth: searching");
    }
    free(dist);
    faiss_Index_free(idx);
    return rc;
}

sem_ann_bench *sem_ann_bench_new(const float *base, size_t nb, const float *queries, size_t nq, size_t d,
                                 int metric_ip, const int64_t *gt, size_t gt_k, sem_error *err)
{
    if (nb == 0 || nq == 0 || d == 0 || gt_k == 0 || nq > SIZE_MAX / sizeof(float) / gt_k) {
        sem_error_set(err, SEM_EINVAL, "ann bench: empty base, queries or ground truth");
        return NULL;
    }
    for (size_t i = 0; i < nq * gt_k; i++)
        if (gt[i] < -1 || gt[i] >= (int64_t)nb) {
            sem_error_set(err, SEM_EMISMATCH,
                          "ground truth id %lld (query %zu) is outside the base's %zu vectors: the ground truth "
                          "belongs to another base",
                          (long long)gt[i], i / gt_k, nb);
            return NULL;
        }
    for (size_t q = 0; q < nq; q++)
        if (gt[q * gt_k] < 0) {
            sem_error_set(err, SEM_EMISMATCH, "ground truth of query %zu has no nearest neighbour", q);
            return NULL;
        }
    sem_ann_bench *b = calloc(1, sizeof *b);
    float *gd = malloc(sizeof(float) * nq * gt_k);
    if (!b || !gd) {
        free(b);
        free(gd);
        sem_error_set(err, SEM_ENOMEM, "ann bench: out of memory");
        return NULL;
    }
    *b = (sem_ann_bench){base, queries, nb, nq, d, metric_ip ? 1 : 0, gt, gt_k, gd};
    exact_dists(b, gt, gt_k, gd);
    return b;
}

void sem_ann_bench_free(sem_ann_bench *b)
{
    if (!b)
        return;
    free(b->gt_d);
    free(b);
}

int sem_ann_bench_verify_gt(const sem_ann_bench *b, size_t n_check, sem_error *err)
{
    if (n_check > b->nq)
        n_check = b->nq;
    for (size_t c = 0; c < n_check; c++) {
        size_t q = n_check == b->nq ? c : c * (b->nq / n_check); /* spread over the queries */
        const float *qv = b->queries + q * b->d;
        float best = b->metric_ip ? -INFINITY : INFINITY;
        for (size_t i = 0; i < b->nb; i++) {
            float dd = exact_dist(qv, b->base + i * b->d, b->d, b->metric_ip);
            if (b->metric_ip ? dd > best : dd < best)
                best = dd;
        }
        float have = b->gt_d[q * b->gt_k];
        double tol = 1e-5 * fmax(1.0, fabs((double)best));
        if (fabs((double)have - (double)best) > tol)
            return sem_error_set(err, SEM_EMISMATCH,
                                 "ground truth does not match the vectors: query %zu's listed nearest neighbour is "
                                 "at distance %g, the true one at %g",
                                 q, (double)have, (double)best);
    }
    return SEM_OK;
}

int sem_ann_check_spec(const char *spec, size_t d, int metric_ip, sem_error *err)
{
    if (!spec || !*spec || strlen(spec) > SEM_ANN_SPEC_MAX)
        return sem_error_set(err, SEM_EINVAL, "index spec empty or longer than %d characters", SEM_ANN_SPEC_MAX);
    if (d == 0 || d > INT32_MAX)
        return sem_error_set(err, SEM_EINVAL, "bad dimension %zu", d);
    FaissIndex *idx = NULL;
    if (faiss_index_factory(&idx, (int)d, spec, metric_ip ? METRIC_INNER_PRODUCT : METRIC_L2))
        return faiss_fail(err, spec);
    faiss_Index_free(idx);
    return SEM_OK;
}

/* ---- index size without a temp file: a FILE whose writes only count bytes ---- */

static ssize_t count_write(void *cookie, const char *buf, size_t size)
{
    (void)buf;
    *(uint64_t *)cookie += size;
    return (ssize_t)size;
}

static int index_size(const FaissIndex *idx, uint64_t *bytes, sem_error *err)
{
    *bytes = 0;
    cookie_io_functions_t fns = {NULL, count_write, NULL, NULL};
    FILE *f = fopencookie(bytes, "w", fns);
    if (!f)
        return sem_error_set(err, SEM_ENOMEM, "measuring the index size: fopencookie failed");
    int rc = faiss_write_index(idx, f) ? faiss_fail(err, "measuring the index size") : SEM_OK;
    fclose(f);
    return rc;
}

/* nlist of an IVF index (through a pre-transform), or 0. */
static size_t ivf_nlist(FaissIndex *idx)
{
    FaissIndexPreTransform *pt = faiss_IndexPreTransform_cast(idx);
    if (pt)
        idx = faiss_IndexPreTransform_index(pt);
    FaissIndexIVF *ivf = idx ? faiss_IndexIVF_cast(idx) : NULL;
    return ivf ? faiss_IndexIVF_nlist(ivf) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Percentile p (0..100) of sorted v (n > 0), nearest rank. */
static double percentile(const double *v, size_t n, double p)
{
    size_t r = (size_t)ceil(p / 100.0 * (double)n);
    return v[r == 0 ? 0 : r - 1];
}

/* Wall time, or the calling thread's CPU time (robust against other processes on a shared machine; exact only
 * when the work runs on this one thread). */
static double now(int cpu)
{
    if (cpu) {
        struct timespec ts;
        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
            return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    }
    return sem_now();
}

static double round_to(double x, double unit)
{
    return isfinite(x) ? round(x / unit) * unit : x;
}

/* Runs the searches of one setting and fills r's search fields. */
static int measure(sem_ann_bench *b, FaissIndex *idx, const sem_ann_params *p, sem_ann_result *r, sem_error *err)
{
    size_t k = (size_t)p->k, nq = b->nq;
    size_t kx = 100 > k ? 100 : k; /* results for recall@100 */
    size_t nlat = p->latency_queries && p->latency_queries < nq ? p->latency_queries : nq;
    int64_t *ids = malloc(sizeof(int64_t) * nq * kx);
    float *dist = malloc(sizeof(float) * nq * kx);
    float *ex = malloc(sizeof(float) * nq * kx);
    double *lat = malloc(sizeof(double) * nlat), *lat_pass = malloc(sizeof(double) * nlat);
    int rc = SEM_OK;
    if (!ids || !dist || !ex || !lat || !lat_pass) {
        rc = sem_error_set(err, SEM_ENOMEM, "ann bench: out of memory");
        goto done;
    }
    sem_ann_set_threads(p->threads);
    faiss_set_distance_compute_blas_threshold(p->blas_threshold > 0 ? p->blas_threshold : 20);
    /* warm-up (first-touch of the index memory, OpenMP pool start) */
    if (faiss_Index_search(idx, 1, b->queries, (idx_t)k, dist, ids)) {
        rc = faiss_fail(err, "searching");
        goto done;
    }
    /* batched: every query in one call; the best of up to 3 passes while a pass is short (< 0.3 s), since
     * other processes on a shared machine only ever make a pass slower */
    double tb = INFINITY;
    for (int pass = 0; pass < 3; pass++) {
        double t0 = now(p->cpu_clock);
        if (faiss_Index_search(idx, (idx_t)nq, b->queries, (idx_t)k, dist, ids)) {
            rc = faiss_fail(err, "searching");
            goto done;
        }
        double t = now(p->cpu_clock) - t0;
        tb = t < tb ? t : tb;
        if (t > 0.3)
            break;
    }
    r->qps_batch = tb > 0 ? (double)nq / tb : INFINITY;
    exact_dists(b, ids, k, ex);
    r->recall1 = sem_recall_at_dist(ids, ex, k, b->gt_d, b->gt_k, nq, 1, b->metric_ip);
    r->recall10 = k >= 10 ? sem_recall_at_dist(ids, ex, k, b->gt_d, b->gt_k, nq, 10, b->metric_ip) : NAN;
    r->k_recall = sem_k_recall_at_dist(ids, ex, k, b->gt_d, b->gt_k, nq, k, b->metric_ip);
    r->recall100 = k >= 100 ? sem_recall_at_dist(ids, ex, k, b->gt_d, b->gt_k, nq, 100, b->metric_ip) : NAN;
    /* single queries, one after another; the pass with the smallest total (same rule as above) gives qps and
     * the latency percentiles */
    double best = INFINITY;
    for (int pass = 0; pass < 3; pass++) {
        double total = 0;
        for (size_t q = 0; q < nlat; q++) {
            double t0 = now(p->cpu_clock);
            if (faiss_Index_search(idx, 1, b->queries + q * b->d, (idx_t)k, dist, ids)) {
                rc = faiss_fail(err, "searching");
                goto done;
            }
            lat_pass[q] = now(p->cpu_clock) - t0;
            total += lat_pass[q];
        }
        if (total < best) {
            best = total;
            memcpy(lat, lat_pass, nlat * sizeof *lat);
        }
        if (total > 0.5)
            break;
    }
    r->qps = best > 0 ? (double)nlat / best : INFINITY;
    qsort(lat, nlat, sizeof *lat, cmp_double);
    r->p50_ms = percentile(lat, nlat, 50) * 1e3;
    r->p99_ms = percentile(lat, nlat, 99) * 1e3;
    if (kx > k) { /* untimed: recall at depths beyond k */
        if (faiss_Index_search(idx, (idx_t)nq, b->queries, (idx_t)kx, dist, ids)) {
            rc = faiss_fail(err, "searching");
            goto done;
        }
        exact_dists(b, ids, kx, ex);
        if (k < 10)
            r->recall10 = sem_recall_at_dist(ids, ex, kx, b->gt_d, b->gt_k, nq, 10, b->metric_ip);
        r->recall100 = sem_recall_at_dist(ids, ex, kx, b->gt_d, b->gt_k, nq, 100, b->metric_ip);
    }
done:
    free(ids);
    free(dist);
    free(ex);
    free(lat);
    free(lat_pass);
    return rc;
}

static const int default_nprobe[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
static const int default_ef[] = {16, 32, 64, 128, 256};

int sem_ann_bench_run(sem_ann_bench *b, const char *spec, const sem_ann_params *params, sem_ann_result **results,
                      size_t *n_results, sem_error *err)
{
    sem_ann_params p = params ? *params : sem_ann_default_params();
    if (p.k < 1 || p.k > 4096)
        return sem_error_set(err, SEM_EINVAL, "k must be 1..4096");
    if (!spec || !*spec || strlen(spec) > SEM_ANN_SPEC_MAX)
        return sem_error_set(err, SEM_EINVAL, "index spec empty or longer than %d characters", SEM_ANN_SPEC_MAX);
    if (b->d > INT32_MAX)
        return sem_error_set(err, SEM_EINVAL, "dimension too large");
    FaissIndex *idx = NULL;
    FaissParameterSpace *ps = NULL;
    sem_ann_set_threads(p.build_threads > 0 ? p.build_threads : p.threads);
    if (faiss_index_factory(&idx, (int)b->d, spec, b->metric_ip ? METRIC_INNER_PRODUCT : METRIC_L2))
        return faiss_fail(err, spec);
    sem_ann_result base = {0};
    snprintf(base.index, sizeof base.index, "%s", spec);
    base.nprobe = base.ef_search = -1;
    base.k = p.k;
    int rc = SEM_OK;
    double t0 = now(p.cpu_clock);
    if (!faiss_Index_is_trained(idx)) {
        sem_log(SEM_LOG_INFO, "%s: training on %zu vectors", spec, b->nb);
        if (faiss_Index_train(idx, (idx_t)b->nb, b->base)) {
            rc = faiss_fail(err, spec);
            goto done;
        }
    }
    base.train_s = now(p.cpu_clock) - t0;
    sem_log(SEM_LOG_INFO, "%s: adding %zu vectors", spec, b->nb);
    t0 = now(p.cpu_clock);
    if (faiss_Index_add(idx, (idx_t)b->nb, b->base)) {
        rc = faiss_fail(err, spec);
        goto done;
    }
    base.add_s = now(p.cpu_clock) - t0;
    sem_log(SEM_LOG_INFO, "%s: trained in %.2f s, added %zu vectors in %.2f s", spec, base.train_s, b->nb,
            base.add_s);
    if ((rc = index_size(idx, &base.index_bytes, err)) != SEM_OK)
        goto done;
    base.bytes_per_vector = (double)base.index_bytes / (double)b->nb;

    /* which search parameter does this index have? */
    if (faiss_ParameterSpace_new(&ps)) {
        rc = faiss_fail(err, "ParameterSpace");
        goto done;
    }
    const int *vals = NULL;
    size_t nvals = 0;
    const char *pname = NULL;
    if (faiss_ParameterSpace_set_index_parameter(ps, idx, "nprobe", 1) == 0) {
        pname = "nprobe";
        vals = p.nprobe ? p.nprobe : default_nprobe;
        nvals = p.nprobe ? p.n_nprobe : sizeof default_nprobe / sizeof *default_nprobe;
    } else if (faiss_ParameterSpace_set_index_parameter(ps, idx, "efSearch", 16) == 0) {
        pname = "efSearch";
        vals = p.ef_search ? p.ef_search : default_ef;
        nvals = p.ef_search ? p.n_ef_search : sizeof default_ef / sizeof *default_ef;
    }
    size_t nlist = ivf_nlist(idx);
    size_t runs = pname ? nvals : 1;
    for (size_t i = 0; i < runs; i++) {
        sem_ann_result r = base;
        if (pname) {
            /* default nprobe values stop at nlist (beyond it every list is scanned already) */
            if (!p.nprobe && !strcmp(pname, "nprobe") && nlist && (size_t)vals[i] > nlist &&
                (i == 0 || (size_t)vals[i - 1] >= nlist))
                break;
            int v = vals[i];
            if (!p.nprobe && !strcmp(pname, "nprobe") && nlist && (size_t)v > nlist)
                v = (int)nlist;
            if (faiss_ParameterSpace_set_index_parameter(ps, idx, pname, v)) {
                rc = faiss_fail(err, spec);
                goto done;
            }
            if (!strcmp(pname, "nprobe"))
                r.nprobe = v;
            else
                r.ef_search = v;
        }
        if ((rc = measure(b, idx, &p, &r, err)) != SEM_OK) {
            sem_error_prefix(err, "%s", spec);
            goto done;
        }
        if (pname)
            sem_log(SEM_LOG_INFO, "%s %s=%d: %d-recall@%d %.4f, %.0f QPS", spec, pname,
                    r.nprobe >= 0 ? r.nprobe : r.ef_search, p.k, p.k, r.k_recall, r.qps);
        else
            sem_log(SEM_LOG_INFO, "%s: %d-recall@%d %.4f, %.0f QPS", spec, p.k, p.k, r.k_recall, r.qps);
        sem_ann_result *nr = realloc(*results, (*n_results + 1) * sizeof *nr);
        if (!nr) {
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
            goto done;
        }
        nr[(*n_results)++] = r;
        *results = nr;
    }
done:
    faiss_ParameterSpace_free(ps);
    faiss_Index_free(idx);
    return rc;
}

const sem_ann_result *sem_ann_fastest(const sem_ann_result *r, size_t n, double target)
{
    const sem_ann_result *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (r[i].k_recall >= target && (!best || r[i].qps > best->qps))
            best = &r[i];
    return best;
}

/* ---- reports ---- */

static void add_num(cJSON *o, const char *key, double v, double unit)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, round_to(v, unit));
    else
        cJSON_AddNullToObject(o, key);
}

static void add_int_or_null(cJSON *o, const char *key, int v)
{
    if (v >= 0)
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *result_json(const sem_ann_result *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "index", r->index);
    add_int_or_null(o, "nprobe", r->nprobe);
    add_num(o, "recall@1", r->recall1, 1e-4);
    add_num(o, "recall@10", r->recall10, 1e-4);
    add_num(o, "recall@100", r->recall100, 1e-4);
    add_num(o, "qps", r->qps, 0.1);
    add_num(o, "qps_batch", r->qps_batch, 0.1);
    add_num(o, "p50_ms", r->p50_ms, 1e-4);
    add_num(o, "p99_ms", r->p99_ms, 1e-4);
    add_num(o, "train_s", r->train_s, 1e-3);
    add_num(o, "add_s", r->add_s, 1e-3);
    add_num(o, "bytes_per_vector", r->bytes_per_vector, 0.01);
    add_int_or_null(o, "efSearch", r->ef_search);
    cJSON_AddNumberToObject(o, "k", r->k);
    add_num(o, "k-recall@k", r->k_recall, 1e-4);
    cJSON_AddNumberToObject(o, "index_bytes", (double)r->index_bytes);
    return o;
}

char *sem_ann_report_json(const sem_ann_result *r, size_t n, const sem_ann_report_info *info)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "results");
    if (!root || !arr) {
        cJSON_Delete(root);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        cJSON *o = result_json(&r[i]);
        if (!o) {
            cJSON_Delete(root);
            return NULL;
        }
        cJSON_AddItemToArray(arr, o);
    }
    if (info) {
        cJSON *ds = cJSON_AddObjectToObject(root, "dataset");
        if (ds) {
            cJSON_AddStringToObject(ds, "base", info->base ? info->base : "");
            cJSON_AddStringToObject(ds, "queries", info->queries ? info->queries : "");
            cJSON_AddNumberToObject(ds, "nb", (double)info->nb);
            cJSON_AddNumberToObject(ds, "nq", (double)info->nq);
            cJSON_AddNumberToObject(ds, "d", (double)info->d);
            cJSON_AddStringToObject(ds, "metric", info->metric_ip ? "ip" : "l2");
            cJSON_AddNumberToObject(ds, "k", info->k);
            cJSON_AddNumberToObject(ds, "threads", info->threads);
            cJSON_AddStringToObject(ds, "clock", info->cpu_clock ? "cpu" : "wall");
        }
        if (!isnan(info->target_recall)) {
            const sem_ann_result *f = sem_ann_fastest(r, n, info->target_recall);
            cJSON *t = cJSON_AddObjectToObject(root, "target");
            if (t) {
                cJSON_AddNumberToObject(t, "k-recall@k", info->target_recall);
                if (f)
                    cJSON_AddItemToObject(t, "fastest", result_json(f));
                else
                    cJSON_AddNullToObject(t, "fastest");
            }
        }
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

static void fmt_num(char *buf, size_t n, double v, const char *fmt)
{
    if (isfinite(v))
        snprintf(buf, n, fmt, v);
    else
        snprintf(buf, n, "-");
}

static void table_row(sem_strbuf *sb, const sem_ann_result *r)
{
    char param[32], c[9][24];
    if (r->nprobe >= 0)
        snprintf(param, sizeof param, "nprobe=%d", r->nprobe);
    else if (r->ef_search >= 0)
        snprintf(param, sizeof param, "efSearch=%d", r->ef_search);
    else
        snprintf(param, sizeof param, "-");
    fmt_num(c[0], 24, r->recall1, "%.4f");
    fmt_num(c[1], 24, r->recall10, "%.4f");
    fmt_num(c[2], 24, r->recall100, "%.4f");
    fmt_num(c[3], 24, r->k_recall, "%.4f");
    fmt_num(c[4], 24, r->qps, "%.0f");
    fmt_num(c[5], 24, r->qps_batch, "%.0f");
    fmt_num(c[6], 24, r->p50_ms, "%.3f");
    fmt_num(c[7], 24, r->p99_ms, "%.3f");
    fmt_num(c[8], 24, r->bytes_per_vector, "%.1f");
    sem_strbuf_printf(sb, "%-22s %-13s %7s %7s %7s %7s %9s %9s %8s %8s %8.2f %7.2f %8s\n", r->index, param, c[0], c[1],
                      c[2], c[3], c[4], c[5], c[6], c[7], r->train_s, r->add_s, c[8]);
}

char *sem_ann_report_table(const sem_ann_result *r, size_t n, const sem_ann_report_info *info)
{
    sem_strbuf sb = {0};
    int k = info ? info->k : (n ? r[0].k : 10);
    if (info)
        sem_strbuf_printf(&sb,
                          "base %s (%zu x %zu), queries %s (%zu), metric %s, k %d, %d search thread%s, %s time\n\n",
                          info->base ? info->base : "?", info->nb, info->d, info->queries ? info->queries : "?",
                          info->nq, info->metric_ip ? "ip" : "l2", info->k, info->threads,
                          info->threads == 1 ? "" : "s", info->cpu_clock ? "CPU" : "wall");
    char kr[24];
    snprintf(kr, sizeof kr, "%d-R@%d", k, k);
    sem_strbuf_printf(&sb, "%-22s %-13s %7s %7s %7s %7s %9s %9s %8s %8s %8s %7s %8s\n", "index", "param", "R@1", "R@10",
                      "R@100", kr, "QPS", "QPS-batch", "p50 ms", "p99 ms", "train s", "add s", "B/vec");
    for (size_t i = 0; i < n; i++)
        table_row(&sb, &r[i]);
    if (info && !isnan(info->target_recall)) {
        const sem_ann_result *f = sem_ann_fastest(r, n, info->target_recall);
        if (f) {
            sem_strbuf_printf(&sb, "\nfastest setting with %d-recall@%d >= %g:\n", k, k, info->target_recall);
            table_row(&sb, f);
        } else {
            sem_strbuf_printf(&sb, "\nno setting reaches %d-recall@%d >= %g\n", k, k, info->target_recall);
        }
    }
    return sem_strbuf_finish(&sb);
}

char *sem_ann_report_svg(const sem_ann_result *r, size_t n, const sem_ann_report_info *info)
{
    /* group results by spec in order of first appearance */
    sem_plot_series *ser = calloc(n ? n : 1, sizeof *ser);
    double *xs = malloc(sizeof(double) * (n ? n : 1)), *ys = malloc(sizeof(double) * (n ? n : 1));
    char *label = malloc((SEM_ANN_SPEC_MAX + 32) * (n ? n : 1));
    char *svg = NULL;
    if (!ser || !xs || !ys || !label)
        goto done;
    size_t ns = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(r[j].index, r[i].index) == 0;
        if (seen)
            continue;
        sem_plot_series *s = &ser[ns++];
        char *lab = label + (ns - 1) * (SEM_ANN_SPEC_MAX + 32);
        snprintf(lab, SEM_ANN_SPEC_MAX + 32, "%s", r[i].index);
        s->name = lab;
        s->x = xs + used;
        s->y = ys + used;
        for (size_t j = i; j < n; j++)
            if (strcmp(r[j].index, r[i].index) == 0 && isfinite(r[j].k_recall) && r[j].qps > 0 &&
                isfinite(r[j].qps)) {
                xs[used] = r[j].k_recall;
                ys[used] = r[j].qps;
                used++;
                s->n++;
            }
    }
    char title[256], xl[64];
    int k = info ? info->k : (n ? r[0].k : 10);
    if (info)
        snprintf(title, sizeof title, "%zu x %zu, %zu queries, %s, %d thread%s%s", info->nb, info->d, info->nq,
                 info->metric_ip ? "inner product" : "L2", info->threads, info->threads == 1 ? "" : "s",
                 info->cpu_clock ? ", CPU time" : "");
    else
        snprintf(title, sizeof title, "recall vs queries per second");
    snprintf(xl, sizeof xl, "%d-recall@%d", k, k);
    sem_plot_opts o = sem_plot_default_opts();
    o.title = title;
    o.xlabel = xl;
    o.ylabel = "queries per second (single query, log scale)";
    o.ylog = 1;
    o.xmax = 1.0; /* recall never exceeds 1 */
    svg = sem_svg_plot(ser, ns, &o);
done:
    free(ser);
    free(xs);
    free(ys);
    free(label);
    return svg;
}

/* ---- synthetic data ---- */

static double unif(uint64_t *s) /* (0, 1) */
{
    return ((double)(sem_rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(uint64_t *s)
{
    return sqrt(-2.0 * log(unif(s))) * cos(6.283185307179586 * unif(s));
}

static void normalize(float *x, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++)
        s += (double)x[j] * x[j];
    double inv = s > 0 ? 1.0 / sqrt(s) : 0;
    for (size_t j = 0; j < d; j++)
        x[j] = (float)(x[j] * inv);
}

int sem_ann_make_clustered(size_t n, size_t d, size_t n_centers, double spread, uint64_t center_seed,
                           uint64_t point_seed, float *out, sem_error *err)
{
    if (d == 0 || n_centers == 0 || n_centers > SIZE_MAX / sizeof(float) / d || !(spread >= 0))
        return sem_error_set(err, SEM_EINVAL, "clustered data: bad parameters");
    float *c = malloc(sizeof(float) * n_centers * d);
    double *w = malloc(sizeof(double) * n_centers);
    if (!c || !w) {
        free(c);
        free(w);
        return sem_error_set(err, SEM_ENOMEM, "clustered data: out of memory");
    }
    uint64_t s = center_seed;
    double wsum = 0;
    for (size_t i = 0; i < n_centers; i++) {
        for (size_t j = 0; j < d; j++)
            c[i * d + j] = (float)gauss(&s);
        normalize(c + i * d, d);
        w[i] = wsum += -log(unif(&s)); /* exponential weights: clusters of uneven size, as real data */
    }
    s = point_seed ^ 0x5bd1e995u;
    double sd = spread / sqrt((double)d);
    for (size_t i = 0; i < n; i++) {
        double u = unif(&s) * wsum;
        size_t lo = 0, hi = n_centers - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (w[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        float *x = out + i * d;
        for (size_t j = 0; j < d; j++)
            x[j] = c[lo * d + j] + (float)(sd * gauss(&s));
        normalize(x, d);
    }
    free(c);
    free(w);
    return SEM_OK;
}
