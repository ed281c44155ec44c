/* query/search.h: asking a knowledge base a question: semantic (vector), lexical (FTS5 bm25) and hybrid
 * (a weighted fusion of both) search, with metadata filters, returning hits joined with their passage text,
 * document title and metadata.
 *
 * Usage:
 *     sem_error err;
 *     sem_search *s = sem_search_open("kb/faq", NULL, &err);   // opens the KB and loads its model
 *     sem_query_params q = sem_query_default_params();
 *     q.k = 5; q.mode = SEM_MODE_HYBRID;
 *     sem_search_result res;
 *     if (sem_search_query(s, "how does the virus spread?", &q, &res, &err) == SEM_OK) {
 *         for (int i = 0; i < res.n; i++) printf("%.3f %s\n", res.hits[i].score, res.hits[i].doc_id);
 *         sem_search_result_clear(&res);
 *     }
 *     sem_search_free(s);
 *
 * THREADS: a sem_search handle is THREAD-SAFE. Any number of threads may call sem_search_query /
 * sem_search_query_vector on the same handle at once (the KB handle is thread-safe, see store/kb.h; encoder
 * contexts come from the handle's sem_encoder_pool (encoder.h): one per concurrent caller, made on demand and
 * reused). Only sem_search_free must not overlap any other call.
 *
 * Ownership: sem_search_open owns the KB and model it opens; sem_search_new borrows them (they must outlive the
 * handle). A sem_search_result's strings and array are owned by it (sem_search_result_clear frees them).
 * Errors: SEM_OK or a negative SEM_E* code with err filled (common/error.h). Nothing here prints. */
#ifndef SEM_SEARCH_H
#define SEM_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "store/kb.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sem_search sem_search;
typedef struct sem_kb sem_kb;
typedef struct sem_model sem_model;

typedef enum sem_search_mode {
    SEM_MODE_SEMANTIC = 0, /* vector search with the KB's model (sem_query_default_params' mode; the CLI and
                              the HTTP API default to hybrid on a KB with a model) */
    SEM_MODE_LEXICAL = 1,  /* FTS5 bm25 over passage texts */
    SEM_MODE_HYBRID = 2    /* a weighted fusion of both rankings (sem_fusion_method) */
} sem_search_mode;

/* How hybrid search fuses the semantic and the lexical ranking. Both see the union of each side's top
 * max(100, 3k) candidates.
 *   SEM_FUSION_CC   convex combination: w * s' + (1 - w) * l', where s' and l' are the cosine and bm25 scores
 *                   min-max normalised to [0, 1] within each side's candidates (0 when absent from a side).
 *                   Uses the scores, not only the ranks, and is the default.
 *   SEM_FUSION_RRF  weighted reciprocal rank fusion: 2w / (60 + rank_s) + 2(1 - w) / (60 + rank_l)
 *                   (w = 0.5 is classic RRF). */
typedef enum sem_fusion_method { SEM_FUSION_CC = 0, SEM_FUSION_RRF = 1 } sem_fusion_method;

/* The weight w of the semantic side in hybrid search when neither the caller nor the KB gives one: a KB
 * calibrated at indexing time (sem_calibrate below, docs/query.md, "Calibrated hybrid weight") uses its own
 * weight; one never calibrated (made by an older build, or `index add --no-calibrate`) uses this. */
#define SEM_HYBRID_SEMANTIC_WEIGHT 0.3f

/* "cc" / "rrf" <-> enum; parse returns -1 if unknown. */
int sem_fusion_parse(const char *name);
const char *sem_fusion_name(int method);

/* "semantic" / "lexical" / "hybrid" <-> enum; parse returns -1 if unknown. */
int sem_search_mode_parse(const char *name);
const char *sem_search_mode_name(int mode);

#define SEM_RRF_K 60

/* The longest question (bytes of UTF-8) in every mode; longer is SEM_EINVAL. The one limit shared by the store
 * (lexical search), this layer, the HTTP API (POST /search) and its /stats ("max_query_bytes"). */
#define SEM_QUERY_MAX_BYTES SEM_KB_MAX_QUERY_BYTES
/* The most key=value pairs of a filter (n_filters); more is SEM_EINVAL. Shared with the store and the HTTP API. */
#define SEM_QUERY_MAX_FILTERS SEM_KB_MAX_FILTER_KEYS

typedef struct sem_search_open_params {
    const char *model; /* a model folder or cached hub name; NULL = the folder recorded in the KB by
                          `semsearch index add`, else the KB's model name in the hub cache */
    int read_only;     /* 1 (default): open the KB read-only, so that an indexer may hold it read-write */
    int n_threads;     /* threads of one query's forward pass (sem_model_params.n_threads); 0 = the encoder's
                          default */
    int precision;     /* a sem_precision for the model; -1 (default) = the one the KB records (kbmodel/kbmodel.h:
                          sem_kbmodel_params.precision) */
} sem_search_open_params;
sem_search_open_params sem_search_default_open_params(void);

/* Opens the KB directory kb_dir and loads its model (unless the KB has none: then only lexical search works).
 * params may be NULL. Fails with SEM_EMISMATCH when the model is not the one the KB was made with. */
sem_search *sem_search_open(const char *kb_dir, const sem_search_open_params *params, sem_error *err);

/* Wraps a KB and model the caller holds (model may be NULL: lexical only). Both are borrowed and must outlive
 * the handle; the model must be the KB's (checked: SEM_EMISMATCH). */
sem_search *sem_search_new(sem_kb *kb, const sem_model *model, sem_error *err);

/* Frees the handle (and what sem_search_open opened). NULL is a no-op. */
void sem_search_free(sem_search *s);

/* The KB and model behind the handle (model NULL for a lexical-only KB). */
sem_kb *sem_search_kb(const sem_search *s);
const sem_model *sem_search_model(const sem_search *s);

typedef struct sem_query_params {
    int k;                           /* hits wanted, 1..10000; default 10 */
    int nprobe;                      /* IVF lists to visit; 0 = the KB's default */
    sem_search_mode mode;            /* default SEM_MODE_SEMANTIC */
    sem_fusion_method fusion;        /* hybrid: default SEM_FUSION_CC */
    float semantic_weight;           /* hybrid: the weight w of the semantic side, in (0, 1]; 0 (the default,
                                        also of a zero-initialised struct) = the KB's: its calibrated weight for
                                        cc fusion (sem_search_semantic_weight), else SEM_HYBRID_SEMANTIC_WEIGHT */
    const char *const *filter_keys;  /* n_filters metadata keys; a hit's document must have metadata */
    const char *const *filter_values;/*   keys[i] equal (as text) to values[i], for every i */
    int n_filters;
} sem_query_params;
sem_query_params sem_query_default_params(void);

typedef struct sem_search_hit {
    char *doc_id;       /* the document's external id */
    int64_t passage_id; /* the store's passage id */
    int passage_no;     /* 0-based within the document */
    int64_t start, end; /* UTF-8 byte offsets of the passage in the document text */
    float score;        /* semantic: similarity; lexical: -bm25 (higher is better); hybrid: the fused score */
    int semantic_rank;  /* 1-based rank in the vector ranking, 0 if absent from it (or not searched) */
    int lexical_rank;   /* 1-based rank in the bm25 ranking, 0 if absent */
    char *text;         /* the passage text */
    char *title;        /* the document title (NULL if none) */
    char *meta_json;    /* the document metadata, a JSON object as text */
    char *answer;       /* FAQ documents: the answer (metadata "answer"), else NULL */
} sem_search_hit;

typedef struct sem_search_result {
    sem_search_hit *hits; /* n entries, best first */
    int n;
    double took_ms;
    float semantic_weight; /* hybrid: the weight the fusion used (given, or the KB's); 0 in the other modes */
} sem_search_result;
void sem_search_result_clear(sem_search_result *r); /* frees; NULL is a no-op */

/* Searches for the UTF-8 question text (the model's query_prefix is prepended for semantic search). An empty
 * or all-blank query is SEM_EINVAL; semantic and hybrid modes on a KB without a model are SEM_EINVAL. */
int sem_search_query(sem_search *s, const char *query, const sem_query_params *params, sem_search_result *out,
                     sem_error *err);

/* Semantic search with a vector the caller computed ((dim) floats); mode must be semantic. */
int sem_search_query_vector(sem_search *s, const float *vec, int dim, const sem_query_params *params,
                            sem_search_result *out, sem_error *err);

/* ---- search in phases: prepare → gather → rank → fill (what sem_search_query does; shard/ gathers the
 * candidates of several KBs, merges them and ranks once, so that fusion normalises over the global list) ----
 * Threads: as sem_search_query (any thread, on a shared handle). Outputs are caller-owned (the _clear functions
 * free them; clearing a zeroed struct is a no-op). */

/* Checks the query and params as sem_search_query does and makes what the store needs: *vec ((dim) floats, the
 * encoded query; NULL in lexical mode) and *words (sem_fts_words; NULL in semantic mode), both malloc'd. On
 * failure both are NULL. */
int sem_search_prepare(sem_search *s, const char *query, const sem_query_params *p, float **vec, char **words,
                       sem_error *err);

/* How many candidates each side asks the store for: k, or max(100, 3k) (at most 10000) for hybrid. */
int sem_search_candidates(const sem_query_params *p);

/* The candidate lists of one query on one KB, best first (sem_kb_hit scores: higher is better). */
typedef struct sem_search_cands {
    sem_kb_hit *sem; /* n_sem semantic candidates (NULL when vec was NULL) */
    int n_sem;
    sem_kb_hit *lex; /* n_lex lexical candidates (NULL when words were NULL or empty) */
    int n_lex;
} sem_search_cands;
void sem_search_cands_clear(sem_search_cands *c);

/* Searches s's KB with vec and/or words for sem_search_candidates(p) candidates per side (filters, nprobe). */
int sem_search_gather(sem_search *s, const float *vec, const char *words, const sem_query_params *p,
                      sem_search_cands *out, sem_error *err);

/* The final ranking: the best p->k of c (semantic or lexical mode) or their fusion (hybrid, with p's weight,
 * else s's: sem_search_semantic_weight). ids are c's passage ids (any int64: shard/ passes global ones). */
typedef struct sem_search_ranked {
    int n;
    int64_t *ids;   /* (n) best first */
    float *scores;  /* (n) */
    int *ra, *rb;   /* (n) 1-based semantic / lexical ranks, 0 = absent */
    float weight;   /* hybrid: the semantic weight used; else 0 */
} sem_search_ranked;
void sem_search_ranked_clear(sem_search_ranked *r);
int sem_search_rank(const sem_search *s, const sem_query_params *p, const sem_search_cands *c,
                    sem_search_ranked *r, sem_error *err);

/* Joins r's ids (passage ids of s's KB) with their text, title and metadata into out (whose hits it allocates;
 * out must be zeroed). Passages deleted since the search are left out. */
int sem_search_fill(sem_search *s, const sem_search_ranked *r, sem_search_result *out, sem_error *err);

/* Reciprocal rank fusion: score(id) = sum over the two lists of 1 / (k0 + rank), rank 1-based. a (na ids) and
 * b (nb ids) are rankings best first (an id appears at most once in each). Writes at most cap fused ids, best
 * first (ties: the better best rank, then the smaller id), with their scores and ranks (0 = absent) into
 * out_ids / out_scores / ranks_a / ranks_b (the last three may be NULL); returns how many, or SEM_ENOMEM. */
int sem_rrf_fuse(const int64_t *a, int na, const int64_t *b, int nb, int k0, int cap, int64_t *out_ids,
                 double *out_scores, int *ranks_a, int *ranks_b);

/* Fusion of ranking a (ids with scores sa, higher better; na entries, best first) with ranking b, as
 * sem_fusion_method describes, weight_a being w (a's side). Scores may be NULL for RRF. Outputs as for
 * sem_rrf_fuse (ties: the better best rank, then the smaller id). Returns how many ids were written (at most
 * cap), SEM_EINVAL for bad arguments (weight outside [0, 1], unknown method) or SEM_ENOMEM. */
typedef struct sem_fusion_params {
    sem_fusion_method method;
    double weight_a; /* in [0, 1] */
    int rrf_k;       /* RRF's k0 (SEM_RRF_K) */
} sem_fusion_params;
int sem_fuse(const sem_fusion_params *fp, const int64_t *a, const float *sa, int na, const int64_t *b,
             const float *sb, int nb, int cap, int64_t *out_ids, double *out_scores, int *ranks_a, int *ranks_b);

/* The weight hybrid cc search uses when the query gives none: the KB's calibrated weight (then *calibrated = 1;
 * may be NULL) or SEM_HYBRID_SEMANTIC_WEIGHT. Read from the KB when the handle is made. Any thread. */
float sem_search_semantic_weight(const sem_search *s, int *calibrated);

/* ---- calibrated hybrid weight (calibrate.c: pseudo-queries and scores; calib_record.c: the record) ----
 * At indexing time, the weight of hybrid (cc) search is calibrated on pseudo-queries drawn from the KB itself:
 * a sentence s of a sampled passage P is the query, and the target is P WITHOUT s (so that neither retriever can
 * find it by the words of s alone): the lexical side scores the target by bm25 of P for only those words of s
 * that also occur in the rest of P or its title (they count once more in P's index row than in the rest: the
 * semantic side gets the same, by the model's vector of P minus s with those words appended, composed with the
 * title as the indexer composes passages); the other passages of P's document are left out of both lists. Lexical, semantic and hybrid search at weights 0, 0.1, ..., 0.7 are scored by nDCG@10;
 * the best weight is shrunk towards SEM_CALIBRATION_PRIOR as if the prior were worth
 * SEM_CALIBRATION_PRIOR_QUERIES pseudo-queries, and stepped down the grid until hybrid is not below lexical on
 * the pseudo-queries (weight 0 is hybrid ranking as lexical). Deterministic for a KB and a seed.
 * docs/query.md says why the pseudo-queries look like this. */
#define SEM_CALIBRATION_KEY "ext.hybrid_calibration" /* the KB setting (sem_kb_set_setting) holding the record */
#define SEM_CALIBRATION_GRID 8                        /* weights 0, 0.1, ..., 0.7 */
#define SEM_CALIBRATION_PRIOR 0.1f
#define SEM_CALIBRATION_PRIOR_QUERIES 40
#define SEM_CALIBRATION_MAX_QUERIES 1000

typedef struct sem_calibrate_params {
    int max_queries; /* pseudo-queries at most, 1..SEM_CALIBRATION_MAX_QUERIES; default 200 */
    uint64_t seed;   /* the sampling seed; default 1 */
} sem_calibrate_params;
sem_calibrate_params sem_calibrate_default_params(void);

typedef struct sem_calibration {
    int present;           /* 1: the KB holds a calibration made with its current model */
    float semantic_weight; /* the weight hybrid cc search uses by default, in [0, 1] */
    float best_weight;     /* the grid weight that scored best, before shrinking */
    int n_queries;         /* pseudo-queries scored */
    int n_passages;        /* passages in the KB then */
    double lexical, semantic, hybrid;  /* mean nDCG@10 on the pseudo-queries; hybrid at semantic_weight */
    double grid[SEM_CALIBRATION_GRID]; /* mean nDCG@10 of hybrid at weight 0.1 * i */
    double seconds;                    /* how long it took */
    char model_hash[80];               /* sem_kb_model.config_hash of the model it was made with */
} sem_calibration;

/* Encodes n texts into out (n, dim) as the KB's vectors were made (is_query: a query, with the model's query
 * prefix; else a passage). Returns SEM_OK or a SEM_E* code with err filled. */
typedef int (*sem_calibrate_encode_fn)(void *user_data, const char *const *texts, int n, int is_query, float *out,
                                       sem_error *err);

/* Calibrates the weight of s's KB with s's model and records it in the KB (which must be open read-write; the
 * handle then uses the new weight: no other call may overlap this one on s). A KB without a model is skipped:
 * SEM_OK with out->present = 0 and nothing recorded. Too few usable passages (no pseudo-query at all) record
 * the prior. out may be NULL. */
int sem_calibrate(sem_search *s, const sem_calibrate_params *params, sem_calibration *out, sem_error *err);

/* The same over any read-write KB whose vectors encode() reproduces (tests use their own encoders). */
int sem_calibrate_kb(sem_kb *kb, sem_calibrate_encode_fn encode, void *user_data, const sem_calibrate_params *params,
                     sem_calibration *out, sem_error *err);

/* Reads the KB's calibration into *out: present = 0 when there is none or it was made with another model than
 * the KB's current one. SEM_OK, or SEM_EFORMAT for a damaged record (out->present = 0). Any thread. */
int sem_calibration_read(sem_kb *kb, sem_calibration *out, sem_error *err);

/* The record as JSON text (malloc'd, caller frees; NULL on ENOMEM) and back. parse checks every field and its
 * range (the text comes from a KB file: hostile); SEM_OK (present = 1) or SEM_EFORMAT. */
char *sem_calibration_to_json(const sem_calibration *c);
int sem_calibration_parse(const char *json, sem_calibration *out, sem_error *err);

/* The words of free text for lexical search are the store's: sem_fts_words (store/kb.h). */

#ifdef __cplusplus
}
#endif
#endif
