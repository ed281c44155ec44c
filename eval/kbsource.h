/* eval/kbsource.h: knowledge bases as evaluation inputs: a KB's stored passage vectors for `eval ann --kb`, and
 * a KB searched through query/ as the search callback of `eval retrieval --kb`.
 * Threads: one caller at a time per searcher. Ownership: vectors and searchers belong to the caller (free with
 * sem_vecs_free / sem_eval_kb_searcher_free). */
#ifndef SEM_EVAL_KBSOURCE_H
#define SEM_EVAL_KBSOURCE_H

#include "common/error.h"
#include "eval/beir.h"
#include "eval/vecio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads every passage vector of the KB directory kb_dir (read-only open) into *out (n, dim); *metric_ip
 * receives 1 for an inner-product KB, 0 for L2; spec (cap bytes, may be NULL) the factory string the KB's index
 * was built from ("" when unknown). */
int sem_eval_kb_vectors(const char *kb_dir, sem_vecs *out, int *metric_ip, char *spec, size_t cap,
                        sem_error *err);

typedef struct sem_eval_kb_searcher sem_eval_kb_searcher;

/* Opens kb_dir for searching (read-only) with its model (model: a folder or NULL for the KB's own); n_threads:
 * threads of one query's forward pass (0 = the encoder's default). */
sem_eval_kb_searcher *sem_eval_kb_searcher_open(const char *kb_dir, const char *model, int n_threads,
                                                sem_error *err);
void sem_eval_kb_searcher_free(sem_eval_kb_searcher *s); /* NULL is a no-op */

/* 1 if the KB has a model (semantic and hybrid search work), 0 for a lexical-only KB. */
int sem_eval_kb_searcher_has_model(const sem_eval_kb_searcher *s);

/* A sem_eval_search_fn over a searcher (user = the searcher): mode "semantic", "lexical", "hybrid" or
 * "hybrid-rrf", a hybrid mode optionally followed by "@W" (its semantic weight, e.g. "hybrid@0.3"); returns
 * up to k distinct document ids (external ids) best first. */
int sem_eval_kb_search(void *user, const char *query_id, const char *query_text, const char *mode, int k,
                       sem_ranking *out, sem_error *err);

#ifdef __cplusplus
}
#endif
#endif
