/* eval/ann.h: nearest-neighbour benchmarks over FAISS indexes (what `semsearch eval ann` runs).
 *
 * Usage:
 *     int64_t *gt = malloc(nq * 100 * sizeof *gt);                    // (nq, 100)
 *     sem_ann_ground_truth(base, nb, queries, nq, d, 0, 100, gt, &err); // exact, FAISS Flat
 *     sem_ann_bench *b = sem_ann_bench_new(base, nb, queries, nq, d, 0, gt, 100, &err);
 *     sem_ann_params p = sem_ann_default_params();
 *     sem_ann_result *res = NULL; size_t nres = 0;
 *     sem_ann_bench_run(b, "IVF1024,Flat", &p, &res, &nres, &err);  // one result per search setting
 *     char *json = sem_ann_report_json(res, nres, &info);
 *
 * What is measured for each index spec (any faiss_index_factory string) and each value of its search parameter
 * (nprobe for IVF indexes, efSearch for HNSW, none for Flat and others):
 *  - recall@1/@10/@100: the fraction of queries whose exact nearest neighbour is among the first 1/10/100 results
 *    (FAISS's 1-recall@R), and k-recall@k (the fraction of the true k nearest found among the first k results,
 *    ann-benchmarks' "recall"). Both are tie-aware: a result counts when its exact distance equals the true
 *    neighbour's (relative 1e-5), so equidistant points never cost recall. The timed searches ask for k results;
 *    recall@R with R > k comes from one more, untimed, search for R results.
 *  - qps: single queries one after another (p50/p99 latency from the same loop); qps_batch: all queries in one
 *    faiss search call.
 *  - train and add time (once per spec), index size (the bytes faiss_write_index writes) and bytes per vector.
 * Threads: FAISS's OpenMP and OpenBLAS thread counts are process-wide; sem_ann_bench_run sets them (params) and
 * restores nothing, so run one bench at a time. A sem_ann_bench is used by one thread at a time.
 * Ownership: the bench keeps pointers to base, queries and gt (the caller keeps them alive until
 * sem_ann_bench_free); result arrays are malloc'd for the caller (free()). */
#ifndef SEM_EVAL_ANN_H
#define SEM_EVAL_ANN_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "eval/vecio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEM_ANN_SPEC_MAX 200 /* longest index spec */

typedef struct sem_ann_params {
    int k;                 /* results per timed query, and the k of k-recall@k (default 10) */
    int threads;           /* OpenMP + OpenBLAS threads while searching (default 1: honest latency) */
    int build_threads;     /* ... while training and adding (default 0: same as threads) */
    const int *nprobe;     /* nprobe values tried on IVF indexes (NULL: 1,2,4,…,256 up to nlist) */
    size_t n_nprobe;
    const int *ef_search;  /* efSearch values tried on HNSW indexes (NULL: 16,32,64,128,256) */
    size_t n_ef_search;
    size_t latency_queries; /* single-query timing over the first this many queries (0: all) */
    int blas_threshold;     /* FAISS's distance_compute_blas_threshold while searching: from how many queries
                               on exhaustive distances go through BLAS (default 1, as store/ sets it; FAISS's own
                               default is 20, which makes single Flat queries 2-2.4x slower here) */
    int cpu_clock;          /* 1: time with the calling thread's CPU clock instead of wall time, so that other
                               processes on a shared machine do not inflate latencies; exact only when threads
                               and build_threads are 1 (default 0: wall time) */
} sem_ann_params;
sem_ann_params sem_ann_default_params(void);

typedef struct sem_ann_result {
    char index[SEM_ANN_SPEC_MAX + 1]; /* the factory string */
    int nprobe;                       /* -1 when the index has no nprobe */
    int ef_search;                    /* -1 when the index has no efSearch */
    int k;                            /* the k of k_recall */
    double recall1, recall10, recall100; /* (a base of fewer than R vectors: among all of them) */
    double k_recall;
    double qps, qps_batch;
    double p50_ms, p99_ms;
    double train_s, add_s;
    double bytes_per_vector;
    uint64_t index_bytes;
} sem_ann_result;

/* Exact k nearest neighbours of each query by brute force with a FAISS Flat index (IndexFlatL2 or IndexFlatIP):
 * ids (nq, k) row-major, nearest first (-1 where the base has fewer than k vectors). metric_ip: 1 inner
 * product, 0 squared L2. */
int sem_ann_ground_truth(const float *base, size_t nb, const float *queries, size_t nq, size_t d, int metric_ip,
                         size_t k, int64_t *ids, sem_error *err);

/* Checks that spec is a factory string FAISS accepts for dimension d (builds and frees an empty index), so a
 * typo fails before minutes of work. SEM_EFAISS with FAISS's message otherwise. */
int sem_ann_check_spec(const char *spec, size_t d, int metric_ip, sem_error *err);

/* Sets FAISS's OpenMP and OpenBLAS thread counts (process-wide; n < 1 means 1). */
void sem_ann_set_threads(int n);

typedef struct sem_ann_bench sem_ann_bench;

/* base (nb, d), queries (nq, d), gt (nq, gt_k) true neighbour ids (e.g. from sem_ann_ground_truth or a TEXMEX
 * groundtruth file). Checks that gt ids are in range and computes their exact distances. */
sem_ann_bench *sem_ann_bench_new(const float *base, size_t nb, const float *queries, size_t nq, size_t d,
                                 int metric_ip, const int64_t *gt, size_t gt_k, sem_error *err);
void sem_ann_bench_free(sem_ann_bench *b); /* NULL is a no-op */

/* Checks up to n_check queries of the bench's ground truth against a brute-force scan (tie-aware): SEM_OK, or
 * SEM_EMISMATCH when the ground truth does not belong to these base and query vectors. */
int sem_ann_bench_verify_gt(const sem_ann_bench *b, size_t n_check, sem_error *err);

/* Builds the index spec (train + add over the whole base), measures it for each search setting and appends
 * one result per setting to *results (realloc'd; *n_results updated). params may be NULL (defaults). On failure
 * (bad spec, FAISS error) returns a negative code with FAISS's message, leaving earlier results in place. */
int sem_ann_bench_run(sem_ann_bench *b, const char *spec, const sem_ann_params *params, sem_ann_result **results,
                      size_t *n_results, sem_error *err);

/* The result with the highest single-query qps whose k_recall >= target, or NULL if none reaches it. */
const sem_ann_result *sem_ann_fastest(const sem_ann_result *r, size_t n, double target);

/* What the report says about the data set. */
typedef struct sem_ann_report_info {
    const char *base, *queries; /* file names (or descriptions) */
    size_t nb, nq, d;
    int metric_ip;
    int k;
    int threads;
    int cpu_clock;        /* what sem_ann_params.cpu_clock was */
    double target_recall; /* NaN: none asked */
} sem_ann_report_info;

/* The JSON report: {"results":[{"index":…,"nprobe":…|null,"recall@1":…,"recall@10":…,"recall@100":…,
 * "qps":…,"qps_batch":…,"p50_ms":…,"p99_ms":…,"train_s":…,"add_s":…,"bytes_per_vector":…, "efSearch":…|null,
 * "k":…,"k-recall@k":…,"index_bytes":…},…], "dataset":{…}, "target":{"k-recall@k":…,"fastest":{…}|null}}
 * ("target" only when info->target_recall is set). NaN values are null.
 * Returns a malloc'd string (caller frees) or NULL when out of memory. */
char *sem_ann_report_json(const sem_ann_result *r, size_t n, const sem_ann_report_info *info);

/* A fixed-width table for people, one row per result; malloc'd (caller frees), NULL when out of memory. */
char *sem_ann_report_table(const sem_ann_result *r, size_t n, const sem_ann_report_info *info);

/* The recall (x, k-recall@k) / QPS (y, log scale) plot as an SVG document, one curve per index spec in the
 * order they first appear; malloc'd (caller frees), NULL when out of memory. */
char *sem_ann_report_svg(const sem_ann_result *r, size_t n, const sem_ann_report_info *info);

/* Synthetic clustered vectors, L2-normalised: n_centers centres drawn uniformly on the unit sphere (from
 * center_seed), each point a random centre plus Gaussian noise of total norm about `spread`, then normalised
 * (points drawn from point_seed). Same center_seed + different point_seed = queries from the same
 * distribution. out: (n, d). Deterministic across machines (own PRNG). */
int sem_ann_make_clustered(size_t n, size_t d, size_t n_centers, double spread, uint64_t center_seed,
                           uint64_t point_seed, float *out, sem_error *err);

/* ---- Inputs (anninput.c): held-out queries, the ground truth, the default specs ---- */

/* Moves nq rows of v, sampled without replacement (seeded xorshift, the same rows on every machine), into q
 * (malloc'd, free with sem_vecs_free); v keeps the other rows (its tail stays allocated). SEM_EINVAL unless
 * 0 < nq < v->n. */
int sem_vecs_hold_out(sem_vecs *v, size_t nq, uint64_t seed, sem_vecs *q, sem_error *err);

/* The default number of queries held out of a base of n vectors: a tenth, at most 1000, at least 1. */
size_t sem_ann_default_sample(size_t n);

typedef struct sem_ann_gt_params {
    const char *gt_path;      /* a ground-truth .ivecs to use as it is (nearest first), or NULL */
    const char *cache_path;   /* where to cache computed ground truth, or NULL: beside queries_path */
    const char *queries_path; /* the query file; NULL (queries held out of a KB): no default cache */
    int metric_ip;
    size_t k;                 /* neighbours per query to compute (at most the base's size) */
} sem_ann_gt_params;

/* The exact ground truth (nq, *gt_k) into *gt (malloc'd, caller frees): p->gt_path as it is (its rows must be
 * the queries), else the cache when it exists, is deep enough and its first neighbours check out (a stale one is
 * logged and recomputed), else computed (sem_ann_ground_truth) and cached (a failure to cache is a warning).
 * The cache file's default name holds the metric, k and a hash of the vectors. */
int sem_ann_ground_truth_cached(const sem_vecs *base, const sem_vecs *q, const sem_ann_gt_params *p, int64_t **gt,
                                size_t *gt_k, sem_error *err);

/* The specs benchmarked when none are given, into specs; returns how many (1 or 2): Flat and kb_spec (a KB's
 * own, when not Flat), else Flat and IVF{nlist},Flat with the store's auto nlist for n vectors
 * (sem_kb_auto_nlist) when that is at least 4. */
size_t sem_ann_default_specs(size_t n, const char *kb_spec, char specs[2][SEM_ANN_SPEC_MAX + 1]);

#ifdef __cplusplus
}
#endif
#endif
