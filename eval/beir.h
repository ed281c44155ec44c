/* eval/beir.h: retrieval evaluation in the BEIR format (what `semsearch eval retrieval` runs).
 *
 * Inputs (BEIR layout):
 *  - queries.jsonl: one JSON object per line with "_id" (string or number) and "text";
 *  - qrels TSV: "query-id <TAB> corpus-id <TAB> score" per line, an optional header line, score an integer
 *    graded relevance (> 0 relevant); TREC qrels lines "qid iter docid rel" (whitespace) are accepted too;
 *  - rankings come from a search callback (sem_eval_search_fn: a knowledge base searched in some mode) or from a
 *    TREC run file ("qid Q0 docid rank score tag", ordered by score) for systems outside semsearch.
 * Metrics per query and averaged (eval/metrics.h): nDCG@k, MRR@k (k = 10 by default), Recall@1/10/100 and MAP.
 * Each query is searched for max(k, 100) results; repeated doc ids in a ranking (several passages of one
 * document) count once, at their best rank. Queries without any relevant document in the qrels are skipped
 * and counted, as trec_eval does; a judged query with no results scores 0.
 * Threads: reentrant; the callback is called from the calling thread only. Ownership: sets and reports own
 * their strings; free them with the matching _free function. */
#ifndef SEM_EVAL_BEIR_H
#define SEM_EVAL_BEIR_H

#include <stddef.h>

#include "common/error.h"
#include "eval/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sem_beir_query {
    char *id, *text;
} sem_beir_query;

typedef struct sem_beir_qrel {
    char *query_id, *doc_id;
    int rel;
} sem_beir_qrel;

typedef struct sem_beir_set {
    sem_beir_query *queries; /* in file order */
    size_t n_queries;
    sem_beir_qrel *qrels; /* sorted by (query_id, doc_id) */
    size_t n_qrels;
} sem_beir_set;

/* Reads queries.jsonl into set (appending). Malformed JSON, a missing _id/text, invalid UTF-8 or a repeated
 * _id is SEM_EFORMAT naming the line. */
int sem_beir_read_queries(const char *path, sem_beir_set *set, sem_error *err);

/* Reads a qrels file into set (appending; a doc judged twice for one query keeps the last score). */
int sem_beir_read_qrels(const char *path, sem_beir_set *set, sem_error *err);

void sem_beir_set_free(sem_beir_set *set); /* frees and empties; NULL is a no-op */

/* A ranking the search callback fills, best first. */
typedef struct sem_ranking sem_ranking;
/* Appends a copy of doc_id; SEM_OK or SEM_ENOMEM. */
int sem_ranking_add(sem_ranking *r, const char *doc_id);

/* Searches for query (id and text) in mode ("semantic", "lexical", "hybrid", or any name the callback knows),
 * appending up to k doc ids best first to out. Returns SEM_OK or a negative code with err filled. */
typedef int (*sem_eval_search_fn)(void *user, const char *query_id, const char *query_text, const char *mode,
                                  int k, sem_ranking *out, sem_error *err);

typedef struct sem_retrieval_query {
    const char *id;      /* points into the set */
    size_t n_relevant;   /* relevant documents in the qrels */
    size_t n_returned;   /* distinct documents returned */
    size_t first_rank;   /* 1-based rank of the first relevant document, 0 if none returned */
    sem_ir_scores s;
} sem_retrieval_query;

typedef struct sem_retrieval_report {
    char mode[64];
    int k;
    size_t n_scored;   /* queries with at least one relevant document */
    size_t n_skipped;  /* queries without qrels (not in the means) */
    size_t n_unknown_qrels; /* qrels whose query id is not among the queries (ignored) */
    sem_ir_scores mean;
    sem_retrieval_query *per_query; /* n_scored entries, in query order */
    double seconds;                 /* time spent in the callback */
} sem_retrieval_report;

/* Runs every query of set through fn in mode and scores it. k: nDCG/MRR cut-off (>= 1). */
int sem_retrieval_eval(const sem_beir_set *set, const char *mode, int k, sem_eval_search_fn fn, void *user,
                       sem_retrieval_report *out, sem_error *err);
void sem_retrieval_report_free(sem_retrieval_report *r); /* NULL is a no-op */

/* JSON {"k":…,"modes":{MODE:{"n":…,"skipped":…,"ndcg@k":…,"mrr@k":…,"recall@1":…,"recall@10":…,
 * "recall@100":…,"map":…,"seconds":…,"per_query":[…]}}} (per_query only when per_query is 1) and a table
 * with one row per mode; malloc'd strings (caller frees), NULL when out of memory. */
char *sem_retrieval_report_json(const sem_retrieval_report *r, size_t n_modes, int per_query);
char *sem_retrieval_report_table(const sem_retrieval_report *r, size_t n_modes);

/* TREC run files as a search callback: load one, then pass sem_trec_run_search with the run as user. */
typedef struct sem_trec_run sem_trec_run;
sem_trec_run *sem_trec_run_read(const char *path, sem_error *err);
void sem_trec_run_free(sem_trec_run *run); /* NULL is a no-op */
int sem_trec_run_search(void *run, const char *query_id, const char *query_text, const char *mode, int k,
                        sem_ranking *out, sem_error *err);

#ifdef __cplusplus
}
#endif
#endif
