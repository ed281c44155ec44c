/* common/irmetrics.h: ranking quality for one query (trec_eval conventions): nDCG@k with graded relevance (gain =
 * rel, discount log2(rank + 1)), MRR@k, Recall@k, average precision; documents with relevance <= 0 are not
 * relevant. Used by eval/ (retrieval reports, eval/metrics.h) and query/ (the hybrid-weight calibration).
 * Threads: reentrant, touches only its arguments; allocates nothing. */
#ifndef SEM_IRMETRICS_H
#define SEM_IRMETRICS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ranked: doc ids best first (duplicates after the first occurrence are skipped, as when several passages of one
 * document are returned); rels: the graded relevance of each ranked id (0 if not judged), same length.
 * n_relevant: how many documents the qrels mark relevant (rel > 0) for this query; ideal: those relevances
 * sorted descending (length n_relevant), for nDCG's ideal ranking. Queries without any relevant document are
 * skipped by callers (trec_eval does the same); here they give NaN. */
typedef struct sem_ir_scores {
    double ndcg;      /* nDCG@k */
    double mrr;       /* MRR@k: reciprocal rank of the first relevant document within the first k, else 0 */
    double recall1;   /* relevant documents in the first 1 / n_relevant */
    double recall10;  /* ... first 10 */
    double recall100; /* ... first 100 */
    double ap;        /* average precision over the whole ranking (MAP when averaged over queries) */
} sem_ir_scores;

/* Scores one query with cut-off k for nDCG and MRR (10 in BEIR's reports). rels[i] is the relevance of the
 * i-th ranked entry after duplicates were removed by the caller. */
void sem_ir_score(const int *rels, size_t n_ranked, const int *ideal, size_t n_relevant, size_t k,
                  sem_ir_scores *out);

/* nDCG@k alone: DCG = sum over the first k of rel_i / log2(i + 2) (i from 0), divided by the ideal DCG. */
double sem_ndcg_at(const int *rels, size_t n_ranked, const int *ideal, size_t n_relevant, size_t k);

#ifdef __cplusplus
}
#endif
#endif
