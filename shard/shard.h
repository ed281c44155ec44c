/* shard/shard.h: sharded knowledge bases: one KB split into N ordinary KBs by a stable hash of the document id,
 * built and searched from one process (the MPI steps of docs/scale.md build on this layout).
 *
 * Layout of a sharded KB folder (docs/scale.md):
 *     KB/shards.json      the manifest (SEM_SHARD_MANIFEST): format, shard count, routing, model identity, spec
 *     KB/shard-0000/ ...  shard i: a complete ordinary KB (store/kb.h), passing `kb check` on its own
 * Document id → shard: sem_fnv1a64_str(id) % n (common/hash.h; FNV-1a 64 never changes: the routing is stored).
 *
 * Usage (what `semsearch index add --shards N` and `semsearch query` do):
 *     sem_error err;
 *     sem_index_params p = sem_index_default_params();   // indexer/indexer.h; p.model for a new KB
 *     sem_index_stats st;
 *     sem_shard_index_add("kb/big", 3, inputs, n_inputs, &p, &st, &err);     // 0 shards: the manifest's count
 *     sem_shard_search *s = sem_shard_search_open("kb/big", NULL, &err);
 *     sem_shard_search_query(s, "question", &q, &res, &err);                  // as sem_search_query
 *     sem_search_result_clear(&res);
 *     sem_shard_search_free(s);
 *
 * Search: every shard is searched for the candidates one KB would be asked for (sem_search_gather: top k, or
 * max(100, 3k) per side for hybrid); the lists are merged by score into one global candidate list per side, and
 * ranking and hybrid fusion run ONCE on it (sem_search_rank), so that cc fusion's min-max normalisation is over
 * the global list. Semantic results equal a single KB's for an exact index (Flat): the global top k is among the
 * union of per-shard top k. Lexical scores are FTS5 bm25 computed per shard (IDF and mean length are each
 * shard's), so lexical and hybrid rankings match an unsharded KB's only approximately (docs/scale.md).
 *
 * Ownership: a sem_shard_search owns the shards' KB handles and the one model they share; results are the
 * caller's (sem_search_result_clear). Manifest JSON text from sem_shard_manifest_to_json is malloc'd (free).
 * Threads: sem_shard_search_query may run on several threads at once on one handle (each shard's sem_search is
 * thread-safe, query/search.h); open/free must not overlap other calls. sem_shard_index_add opens its own
 * handles (any thread; one writer per shard, as store/kb.h). The manifest functions are reentrant.
 * Errors: int functions return SEM_OK or a negative SEM_E* code and fill err (may be NULL); nothing prints. */
#ifndef SEM_SHARD_H
#define SEM_SHARD_H

#include <stddef.h>

#include "common/error.h"
#include "indexer/indexer.h"
#include "query/search.h"
#include "store/kb.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEM_SHARD_MANIFEST "shards.json"    /* the manifest's file name in a sharded KB folder */
#define SEM_SHARD_FORMAT 1                  /* the manifest format this build writes and reads */
#define SEM_SHARD_MAX 4096                  /* the most shards */
#define SEM_SHARD_ROUTING "fnv1a64-mod"     /* the one routing: FNV-1a 64 of the id's bytes, modulo the count */
#define SEM_SHARD_MANIFEST_MAX_BYTES 65536  /* a longer manifest file is refused (SEM_EFORMAT) */

typedef struct sem_shard_manifest {
    int format;           /* SEM_SHARD_FORMAT */
    int n_shards;         /* 1..SEM_SHARD_MAX */
    sem_kb_model model;   /* every shard's model identity (dim only, for a lexical-only KB) */
    int lexical_only;     /* 1: the shards are lexical-only KBs */
    char index_spec[128]; /* every shard's configured index spec ("auto", "Flat", "IVF1024,Flat", ...) */
} sem_shard_manifest;

/* The shard of a document id among n (n >= 1): sem_fnv1a64_str(id) % n. */
int sem_shard_of(const char *doc_id, int n);

/* 1 if dir holds a sharded KB's manifest, else 0. Any thread. */
int sem_shard_exists(const char *dir);

/* Writes "KB/shard-%04d" into out (cap bytes); SEM_ERANGE when it does not fit. */
int sem_shard_dir(const char *kb_dir, int i, char *out, size_t cap, sem_error *err);

/* Parses len bytes of manifest JSON (hostile: from a file). Checks the format, the routing, every field's type
 * and range and every string's length; SEM_OK or SEM_EFORMAT saying which field is wrong. */
int sem_shard_manifest_parse(const char *json, size_t len, sem_shard_manifest *out, sem_error *err);

/* The manifest as JSON text (malloc'd; NULL when out of memory). Parsing it gives m back. */
char *sem_shard_manifest_to_json(const sem_shard_manifest *m);

/* Reads and parses KB/shards.json: SEM_ENOTFOUND when missing, else as sem_shard_manifest_parse. */
int sem_shard_manifest_read(const char *kb_dir, sem_shard_manifest *out, sem_error *err);

/* Writes KB/shards.json atomically (sem_write_file_atomic). */
int sem_shard_manifest_write(const char *kb_dir, const sem_shard_manifest *m, sem_error *err);

/* Adds the inputs' documents to the sharded KB at kb_dir, each to the shard its id hashes to: one pass of
 * sem_index_add per shard over all inputs (params->keep routes; bad records are reported by shard 0's pass).
 * A new sharded KB (no manifest) needs n_shards >= 1 and gets every shard with params->model (NULL: lexical-only)
 * and params->index_spec; the manifest is written once every shard exists, from their identities (which must
 * all agree: SEM_EMISMATCH). Until then the folder is not a sharded KB; re-running with the same n_shards
 * completes it. An existing one routes by its manifest; n_shards must be 0 or its count (else SEM_EINVAL).
 * A folder holding an ordinary KB is SEM_EINVAL. Re-running is incremental per shard as sem_index_add is.
 * stats (may be NULL) sums the passes (created: the manifest was written by this call). params->progress gets
 * the whole job's fraction. params->keep must be NULL (this function sets it). */
int sem_shard_index_add(const char *kb_dir, int n_shards, const char *const *inputs, int n_inputs,
                        const sem_index_params *params, sem_index_stats *stats, sem_error *err);

typedef struct sem_shard_search sem_shard_search;

/* Opens every shard of the sharded KB at kb_dir (read-only unless params->read_only is 0) with ONE model: the
 * one shard 0 finds (sem_kbmodel_open, params->model overriding), checked against every shard. params may be
 * NULL. NULL on failure (err says which shard). */
sem_shard_search *sem_shard_search_open(const char *kb_dir, const sem_search_open_params *params, sem_error *err);

void sem_shard_search_free(sem_shard_search *s); /* NULL is a no-op */

int sem_shard_search_count(const sem_shard_search *s);            /* the number of shards */
const sem_model *sem_shard_search_model(const sem_shard_search *s); /* NULL for a lexical-only KB */

/* Searches every shard and merges (see the top): the same parameters, checks and result as sem_search_query
 * (hits' passage_id is the passage id in its own shard). The default hybrid weight is shard 0's
 * (sem_search_semantic_weight: calibrated on shard 0, else SEM_HYBRID_SEMANTIC_WEIGHT). */
int sem_shard_search_query(sem_shard_search *s, const char *query, const sem_query_params *params,
                           sem_search_result *out, sem_error *err);

#ifdef __cplusplus
}
#endif
#endif
