/* eval/metrics.h: the numbers semsearch's offline evaluation reports, as pure functions over arrays.
 *
 *  - nearest-neighbour recall (ANN): 1-recall@R ("recall@R": is the true nearest neighbour among the first R
 *    results?) and k-recall@k (what fraction of the true k nearest are among the first k results?), either by id
 *    or tie-aware by exact distance (a result counts when its exact distance is as good as the true neighbour's,
 *    so that equidistant points never cost recall);
 *  - ranking quality (retrieval, trec_eval conventions): nDCG@k with graded relevance (gain = rel, discount
 *    log2(rank + 1)), MRR@k, Recall@k, average precision; documents with relevance <= 0 are not relevant;
 *  - correlation: Pearson, and Spearman = Pearson of the ranks, tied values getting the average of their ranks.
 *
 * Threads: every function is reentrant and touches only its arguments. Nothing here allocates except
 * sem_spearman (scratch, freed before return). Undefined values (a correlation of constant data, fewer than two
 * points, a recall over zero queries) are NaN, never a crash. */
#ifndef SEM_EVAL_METRICS_H
#define SEM_EVAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/irmetrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- nearest-neighbour recall ----
 * res: (nq, res_stride) result ids, best first, -1 for "no result"; only the first min(r, res_stride) count.
 * gt:  (nq, gt_stride) true neighbour ids, nearest first. */

/* Fraction of queries whose true nearest neighbour gt[q][0] is among their first r results. NaN if nq == 0. */
double sem_recall_at(const int64_t *res, size_t res_stride, const int64_t *gt, size_t gt_stride, size_t nq,
                     size_t r);

/* k-recall@k: mean over queries of |first k results ∩ first k true neighbours| / k. Needs res_stride >= k and
 * gt_stride >= k (else NaN). Duplicate result ids count once. */
double sem_k_recall_at(const int64_t *res, size_t res_stride, const int64_t *gt, size_t gt_stride, size_t nq,
                       size_t k);

/* Tie-aware versions by exact distance. res_d: (nq, res_stride) exact distances of the returned ids (entries
 * whose id is -1 are ignored; pass res ids for that); gt_d: (nq, gt_stride) exact distances of the true
 * neighbours, best first. larger_is_better: 1 for inner product, 0 for L2. A result is a hit when it is as close
 * as the reference true neighbour within a relative tolerance of 1e-5 (float rounding).
 *  - sem_recall_at_dist: the reference is the nearest neighbour gt_d[q][0];
 *  - sem_k_recall_at_dist: the reference is the k-th neighbour gt_d[q][k-1]; hits among the first k results. */
double sem_recall_at_dist(const int64_t *res, const float *res_d, size_t res_stride, const float *gt_d,
                          size_t gt_stride, size_t nq, size_t r, int larger_is_better);
double sem_k_recall_at_dist(const int64_t *res, const float *res_d, size_t res_stride, const float *gt_d,
                            size_t gt_stride, size_t nq, size_t k, int larger_is_better);

/* ---- ranking quality for one query: sem_ir_score, sem_ndcg_at (common/irmetrics.h, included above; they
 * live there because query/ scores its hybrid calibration with them too) ---- */

/* ---- correlation ---- (n values each; NaN if n < 2 or either side is constant) */
double sem_pearson(const double *x, const double *y, size_t n);
double sem_spearman(const double *x, const double *y, size_t n);

/* Fills ranks (n) with 1-based ranks of x ascending, ties getting the average of their ranks. 0, or -1 when
 * x holds a NaN or scratch memory cannot be allocated. */
int sem_rank_average(const double *x, size_t n, double *ranks);

#ifdef __cplusplus
}
#endif
#endif
