/* store/kb.h: a knowledge base (KB): SQLite as the record of truth, a FAISS index derived from it.
 *
 * On disk a KB is a DIRECTORY (e.g. kb/faq/) holding:
 *     kb.sqlite (+ kb.sqlite-wal, kb.sqlite-shm)  documents, passages, vectors, FTS5 index, change log, settings
 *     index.faiss                                  the vector index (our header + FAISS bytes), rebuildable
 *     LOCK                                         advisory lock held by the one read-write opener
 *     model_dir                                    (older KBs only) the model folder, now kept in kb.sqlite
 * The index file is derived data: when it is missing, truncated, corrupt, from another KB or behind SQLite, it
 * is repaired from SQLite on open (replaying the change log, or rebuilding) with a sem_log() warning.
 *
 * Usage (a writer and many readers in one process):
 *     sem_error err;
 *     sem_kb_create_params cp = sem_kb_default_create_params();
 *     cp.model.dim = 384;                              // or fill cp.model from sem_model_info (see below)
 *     sem_kb *kb = sem_kb_create("kb/faq", &cp, &err); // the handle is open read-write
 *     sem_kb_passage p = { "first passage", 0, 13, vec };              // vec: (dim) floats
 *     sem_kb_doc d = { "doc-1", "Title", "first passage", "{\"lang\":\"en\"}", &p, 1 };
 *     sem_kb_put(kb, &d, 1, &err);                     // one transaction; on return the doc is durable
 *     sem_kb_search_params sp = sem_kb_default_search_params(); sp.k = 10;
 *     sem_kb_hit hits[10]; int nh;
 *     sem_kb_search(kb, query_vec, 1, &sp, hits, &nh, &err);          // any thread
 *     sem_kb_passage_info info[10];
 *     sem_kb_get_passages(kb, ids_of(hits), nh, info, &err);  ...  sem_kb_passage_info_clear(info, nh);
 *     sem_kb_close(kb);                                // saves the index
 *
 * The store does not depend on the encoder: a KB records its model's identity (sem_kb_model) and folder as plain
 * data. Filling the identity from a loaded model, finding the folder and opening a KB with its model is the part
 * above, kbmodel/kbmodel.h.
 *
 * Threads: one sem_kb handle is shared by all threads of a process. Every function below may be called from
 * any thread at the same time as any other, EXCEPT sem_kb_close (no other call may be in flight or follow).
 * Internally: the FAISS index sits behind a pthread rwlock (searches shared; add/remove/train/save exclusive);
 * each call borrows a SQLite connection of its own from a per-KB pool (a connection is never used by two
 * threads at once; WAL lets readers run while the writer commits); write calls (put, delete, save, compact)
 * are serialized by a per-KB mutex, so concurrent writers simply wait for each other.
 * Processes: one process may open a KB read-write (LOCK, flock; a second gets SEM_EBUSY); any number may open
 * it read-only at the same time (they see committed data in SQLite; their in-memory vector index is caught up
 * with it when they open).
 *
 * Crash safety: every write is one SQLite transaction (synchronous=FULL): when sem_kb_put/sem_kb_delete
 * returns SEM_OK the change is durable, and a crash at any instant leaves either all of it or none of it.
 * The index file is written to a temp file, fsynced, renamed, and records the last change-log sequence it
 * covers; later changes are replayed on open.
 *
 * Errors: int functions return SEM_OK or a negative SEM_E* code (common/error.h) and fill err (may be NULL);
 * SQLite and FAISS messages are copied into err. No function prints or exits; warnings go to sem_log().
 * Ownership: the caller owns everything it passes in (nothing is kept after a call returns) and everything a
 * function fills for it (free with the matching *_clear / *_free function named at the declaration). */
#ifndef SEM_KB_H
#define SEM_KB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sem_kb sem_kb;

/* What this build writes. Opening a KB read-write migrates schema 1 to 2; a schema-2 KB keeps its full-text
 * index (unicode61, passage text only) and searches as before until sem_kb_compact (or sem_kb_set_stemming)
 * moves it to 3: the semsearch_cjk tokenizer (CJK bigrams, porter stemming or none) and a title column. */
#define SEM_KB_SCHEMA_VERSION 3

typedef enum sem_kb_metric {
    SEM_KB_METRIC_IP = 0, /* inner product (cosine for normalized vectors); score = <q, v> */
    SEM_KB_METRIC_L2 = 1  /* Euclidean; score = -||q - v||^2 so that higher is better everywhere */
} sem_kb_metric;

/* "ip" / "l2" <-> enum; parse returns -1 if unknown. */
int sem_kb_metric_parse(const char *name);
const char *sem_kb_metric_name(int metric);

/* The identity of the encoder whose vectors a KB holds. A raw-vector KB (no model) has empty strings and only
 * dim set. Two identities match when dim, config_hash, pooling and normalize are equal (name is informative:
 * the same model in another folder matches). */
typedef struct sem_kb_model {
    char name[256];       /* folder base name or hub name; "" for a raw-vector KB */
    char config_hash[80]; /* hex sha256 from sem_model_info.config_hash; "" for a raw-vector KB */
    char pooling[32];     /* sem_pooling_name() of the resolved pooling; "" for a raw-vector KB */
    int normalize;        /* 1 if vectors are L2-normalized by the model */
    int dim;              /* vector dimension, 1..65536; required */
} sem_kb_model;

/* 1 if a and b match as described above, else 0. */
int sem_kb_model_match(const sem_kb_model *a, const sem_kb_model *b);

/* SEM_OK if m matches the KB's model, else SEM_EMISMATCH with the one message every caller shows for a model
 * mismatch: "KB DIR was built with NAME [HASH] pooling P normalized, dim D, not ..." (the same as sem_kb_open's
 * expect). Any thread. */
int sem_kb_check_model(const sem_kb *kb, const sem_kb_model *m, sem_error *err);

/* ---- create / open / close ------------------------------------------------------------------------------ */

typedef struct sem_kb_create_params {
    sem_kb_model model;     /* required: at least model.dim */
    const char *index_spec; /* a faiss_index_factory string ("Flat", "IVF1024,Flat", "IVF1024,PQ48np",
                               "OPQ48,IVF1024,PQ48np", "HNSW32", "PCAW256,Flat", ...) or "auto"; NULL = "auto" */
    int metric;             /* SEM_KB_METRIC_IP (default) or SEM_KB_METRIC_L2 */
    int lexical_only;       /* 1: a KB for FTS5 search only (no model; passages carry placeholder vectors of
                               model.dim): sem_kb_search refuses it with SEM_EINVAL. KBs made before this flag
                               existed count as lexical-only when they have no model and dim 1. */
    const char *stemming;   /* English stemming of the full-text index: "porter" (NULL: the default) or "none";
                               anything else is SEM_EINVAL. Recorded in the KB (sem_kb_info.fts_tokenizer). */
} sem_kb_create_params;
sem_kb_create_params sem_kb_default_create_params(void);

/* Creates the KB directory dir (parents too) with an empty database and index, and returns it open
 * read-write. Fails with SEM_EINVAL if dir already holds a kb.sqlite, or if the spec is not a valid factory
 * string for model.dim (it is tried at once). The caller frees the handle with sem_kb_close. */
sem_kb *sem_kb_create(const char *dir, const sem_kb_create_params *params, sem_error *err);

typedef struct sem_kb_open_params {
    int read_only;                /* 1: never writes (no migration, no index save, no LOCK); default 0 */
    const sem_kb_model *expect;   /* NULL: any; else the KB's model must match it or open fails with
                                     SEM_EMISMATCH naming both (use this when opening for search or add) */
} sem_kb_open_params;
sem_kb_open_params sem_kb_default_open_params(void);

/* 1 if dir holds a KB (its database file exists; opening it may still fail), else 0. Any thread. */
int sem_kb_exists(const char *dir);

/* Opens the KB in dir. params may be NULL (read-write, any model). Read-write: migrates an older schema, takes
 * LOCK (SEM_EBUSY if another process holds it), loads the index, replays changes it misses, and rebuilds it
 * from SQLite (sem_log warning) if it is missing or damaged. SEM_ENOTFOUND if dir holds no kb.sqlite;
 * SEM_EFORMAT if kb.sqlite is not a semsearch KB or is newer than this build. */
sem_kb *sem_kb_open(const char *dir, const sem_kb_open_params *params, sem_error *err);

/* The text sem_kb_open's SEM_EBUSY message holds ("KB DIR is already open for writing (...)"), for a program that
 * wants to add its own advice about who holds the KB. */
#define SEM_KB_BUSY_TEXT "is already open for writing"

/* Saves the index if it changed (temp file, fsync, rename), releases LOCK and frees everything. NULL is a
 * no-op. A failed save is logged with sem_log (the next open replays from SQLite, so nothing is lost). */
void sem_kb_close(sem_kb *kb);

/* Writes the index file now if it changed since the last save (read-write KBs only). Also happens on close
 * and automatically after many changes. */
int sem_kb_save(sem_kb *kb, sem_error *err);

/* The KB's model identity (copied into *out), dimension and metric. Cheap; any thread. */
void sem_kb_get_model(const sem_kb *kb, sem_kb_model *out);
int sem_kb_dim(const sem_kb *kb);
int sem_kb_get_metric(const sem_kb *kb);
int sem_kb_lexical_only(const sem_kb *kb); /* 1: FTS5 search only (see sem_kb_create_params.lexical_only) */
const char *sem_kb_dir(const sem_kb *kb);  /* the directory it was opened as (owned by the handle) */

/* The model folder recorded for the KB (by kbmodel/: the folder its vectors were made with), kept in the KB's
 * meta table. A KB made before the store kept it has it in the file DIR/model_dir instead (one line), which is
 * read when the table has none. get: writes it into out (cap bytes); SEM_ENOTFOUND when none is recorded,
 * SEM_ERANGE when it does not fit. set: folder is a non-empty UTF-8 path shorter than 4096 bytes (the caller
 * makes it absolute); unchanged content is not rewritten; read-write KBs only; durable on return. Any thread. */
int sem_kb_get_model_dir(sem_kb *kb, char *out, size_t cap, sem_error *err);
int sem_kb_set_model_dir(sem_kb *kb, const char *folder, sem_error *err);

/* ---- documents -------------------------------------------------------------------------------------------- */

typedef struct sem_kb_passage {
    const char *text;   /* UTF-8, NUL-terminated; indexed by FTS5 */
    int64_t start, end; /* UTF-8 byte offsets [start, end) of the passage in the document text; 0 <= start <=
                           end <= strlen(doc text) is checked (use 0, 0 when not meaningful) */
    const float *vec;   /* (dim) floats, all finite */
} sem_kb_passage;

typedef struct sem_kb_doc {
    const char *ext_id;                /* external id, non-empty UTF-8, unique in the KB */
    const char *title;                 /* UTF-8 or NULL ("") */
    const char *text;                  /* UTF-8 full text or NULL (""): stored for display and offsets */
    const char *meta_json;             /* a JSON object as text, or NULL ("{}") */
    const sem_kb_passage *passages;    /* n_passages entries (0 is allowed: the doc is stored, not searchable) */
    int n_passages;
} sem_kb_doc;

/* Stores n documents in ONE transaction. A document whose ext_id exists already is replaced (its old passages
 * are deleted, the new ones get new passage ids; passage ids are never reused). Everything is validated first
 * (UTF-8, JSON object, offsets, finite vectors, ext_id unique within the batch): on a validation or SQLite
 * error nothing is written. When it returns SEM_OK the documents are durable and searchable by every thread.
 * (The one error after the commit: the in-memory index could not be updated nor rebuilt, e.g. out of memory;
 * the message then says the change is committed, and the next open repairs the index.) Writers are
 * serialized. May train or rebuild the index (once enough vectors exist for an untrained spec, or when an
 * "auto" index should grow) and save it before returning; searches continue meanwhile. */
int sem_kb_put(sem_kb *kb, const sem_kb_doc *docs, int n, sem_error *err);

/* Deletes the document with ext_id and its passages in one transaction. SEM_ENOTFOUND if there is none. */
int sem_kb_delete(sem_kb *kb, const char *ext_id, sem_error *err);

/* A document read back. Every string is malloc'd and owned by the struct (free with sem_kb_doc_out_free). */
typedef struct sem_kb_passage_out {
    int64_t id;         /* passage id = FAISS id */
    int passage_no;     /* 0-based position within the document */
    int64_t start, end; /* byte offsets as stored */
    char *text;
    float *vec;         /* (dim) floats, or NULL unless vectors were asked for */
} sem_kb_passage_out;

typedef struct sem_kb_doc_out {
    int64_t id; /* internal document id */
    char *ext_id, *title, *text, *meta_json;
    int64_t created_at, updated_at; /* unix seconds */
    sem_kb_passage_out *passages;   /* n_passages, in passage_no order */
    int n_passages;
} sem_kb_doc_out;

/* Reads the document ext_id into *out (set to a new object, caller frees with sem_kb_doc_out_free).
 * with_vectors = 1 also reads the vectors. SEM_ENOTFOUND if there is none (*out = NULL). */
int sem_kb_get_doc(sem_kb *kb, const char *ext_id, int with_vectors, sem_kb_doc_out **out, sem_error *err);
void sem_kb_doc_out_free(sem_kb_doc_out *d); /* NULL is a no-op */

/* Numbers of documents and passages (either pointer may be NULL). */
int sem_kb_count(sem_kb *kb, int64_t *n_docs, int64_t *n_passages, sem_error *err);

/* One passage as seen by sem_kb_foreach_vector. Pointers are valid only during the callback. */
typedef struct sem_kb_vec_row {
    int64_t passage_id;
    const char *doc_ext_id;
    int passage_no;
    const float *vec; /* (dim) */
} sem_kb_vec_row;

/* Calls cb for every passage in passage-id order, inside one read transaction (a consistent snapshot).
 * A non-zero return from cb stops the walk and is returned. Do not call write functions from cb. */
int sem_kb_foreach_vector(sem_kb *kb, int (*cb)(void *user_data, const sem_kb_vec_row *row), void *user_data,
                          sem_error *err);

/* ---- search ----------------------------------------------------------------------------------------------- */

/* Limits shared by every layer that takes a search (store, query/, the HTTP API, its /stats): */
#define SEM_KB_MAX_QUERY_BYTES 65536 /* longest text query, in bytes of UTF-8 (longer: SEM_EINVAL) */
#define SEM_KB_MAX_FILTER_KEYS 64    /* most key=value pairs in one filter (more: SEM_EINVAL) */
#define SEM_KB_MAX_FILTER_KEY_BYTES 64
/* Largest squared L2 norm of a stored or query vector (2^120, about 1.3e36): with both below it, inner products
 * and squared distances (at most 4 * 2^120) stay far inside float range, so scores are always finite. Larger
 * vectors are SEM_EINVAL (normalized model vectors have norm 1). */
#define SEM_KB_MAX_VEC_NORM2 1.329227995784916e36

/* Checks a vector given to put or search: (d) finite floats whose squared norm is at most SEM_KB_MAX_VEC_NORM2.
 * what and no name it in the message ("query 0: ...", "passage 3: ..."). SEM_OK or SEM_EINVAL. Any thread. */
int sem_kb_vec_check(const float *v, int d, const char *what, int no, sem_error *err);

/* A metadata filter: a passage passes when for every i, its document's metadata has
 * CAST(json_extract(meta, '$."keys[i]"') AS TEXT) = values[i] (so true matches "1", 3 matches "3"). Keys are
 * top-level names: letters, digits, '_', '-', '.', at most SEM_KB_MAX_FILTER_KEY_BYTES bytes; at most
 * SEM_KB_MAX_FILTER_KEYS pairs. */
typedef struct sem_kb_filter {
    const char *const *keys;
    const char *const *values;
    int n;
} sem_kb_filter;

typedef struct sem_kb_search_params {
    int k;                       /* hits wanted per query, 1..10000; default 10 */
    int nprobe;                  /* IVF lists to visit for this call; 0 = the KB's default */
    int ef_search;               /* HNSW efSearch for this call; 0 = FAISS's default */
    const sem_kb_filter *filter; /* NULL or n == 0: no filter */
    int filter_exact_max;        /* filters matching at most this many passages are scanned exactly from SQLite,
                                    broader ones over-fetch from the index; 0 = 20000, -1 = always over-fetch */
} sem_kb_search_params;
sem_kb_search_params sem_kb_default_search_params(void);

typedef struct sem_kb_hit {
    int64_t passage_id; /* = FAISS id = passages.id */
    float score;        /* higher is better: IP for ip, -squared L2 for l2, -bm25 for text search */
} sem_kb_hit;

/* Vector search for nq queries (nq, dim) row-major. hits is (nq, k) row-major; n_hits[q] (nq entries) receives
 * how many of row q are filled (fewer than k when the KB or the filter has fewer passages), best first.
 * With a filter, the filter is applied exactly: selective filters are searched exactly over the matching
 * passages' stored vectors; broad ones by over-fetching from the index. Passages whose delete returned before
 * the call never appear (one deleted while the search runs may; sem_kb_get_passages then says found = 0).
 * Before the index is trained (an IVF/PQ spec with too few vectors), search is exact over all vectors. */
int sem_kb_search(sem_kb *kb, const float *queries, int nq, const sem_kb_search_params *params, sem_kb_hit *hits,
                  int *n_hits, sem_error *err);

/* Lexical search with FTS5 bm25 over passage texts and their document titles (schema 3: the title column
 * weighs SEM_KB_TITLE_WEIGHT times the text). query is free text (UTF-8): its terms (sem_kb_text_terms) are
 * matched with OR (FTS5 query syntax in it is treated as plain words, so any input is safe). hits has params->k
 * entries; *n_hits receives how many are filled, best first. nprobe/ef_search are ignored; the filter applies. */
#define SEM_KB_TITLE_WEIGHT 2.0
int sem_kb_search_text(sem_kb *kb, const char *query, const sem_kb_search_params *params, sem_kb_hit *hits,
                       int *n_hits, sem_error *err);

/* The terms lexical search looks for in query, for a page to highlight: its words without English stopwords
 * (unless the query has nothing else), and on a schema-3 KB the CJK runs as their bigrams (a one-character run
 * as that character); at most 64. *terms is a malloc'd array of *n_terms malloc'd strings (free with
 * sem_kb_text_terms_free); SEM_EINVAL for invalid UTF-8 or an over-long query. Any thread. */
int sem_kb_text_terms(sem_kb *kb, const char *query, char ***terms, int *n_terms, sem_error *err);
void sem_kb_text_terms_free(char **terms, int n_terms); /* NULL is a no-op */

/* The words of free text as lexical search splits them (store/fts_query.c: runs of ASCII letters and digits and
 * non-ASCII characters), separated by single spaces; all punctuation (FTS5 operators, quotes, parentheses, '*',
 * '^', ':', '-') is dropped. Returns a malloc'd string (caller frees; "" when the text has no words) or NULL on
 * ENOMEM. Any thread. */
char *sem_fts_words(const char *text);

/* What a hit shows. Strings are malloc'd and owned by the struct (free with sem_kb_passage_info_clear). */
typedef struct sem_kb_passage_info {
    int64_t passage_id;
    int found;          /* 0 if the passage no longer exists (deleted since the search); strings are NULL then */
    int64_t doc_id;     /* internal document id */
    char *doc_ext_id;
    int passage_no;     /* 0-based within the document */
    int64_t start, end; /* byte offsets in the document text */
    char *text;         /* the passage text */
    char *title;        /* the document title */
    char *meta_json;    /* the document metadata */
} sem_kb_passage_info;

/* Fills out[i] (n entries, caller-allocated) for ids[i], in one read transaction. Missing ids give found = 0.
 * On error every out[i] is left cleared (nothing to free). */
int sem_kb_get_passages(sem_kb *kb, const int64_t *ids, int n, sem_kb_passage_info *out, sem_error *err);
void sem_kb_passage_info_clear(sem_kb_passage_info *infos, int n); /* frees the strings; NULL is a no-op */

/* ---- maintenance -------------------------------------------------------------------------------------------- */

typedef struct sem_kb_info {
    sem_kb_model model;
    int metric;
    int schema_version;
    char fts_tokenizer[64]; /* the full-text index's FTS5 tokenize= option (schema 2: unicode61 remove_diacritics 2) */
    int read_only;
    int lexical_only;      /* 1: FTS5 search only (see sem_kb_create_params.lexical_only) */
    char index_spec[128];  /* as configured: a factory string or "auto" */
    char index_built[128]; /* the factory string the current index was built from ("auto" resolved) */
    char index_type[64];   /* e.g. "IndexIVFPQ", "IndexIDMap(IndexFlat)", "exact (untrained)" */
    int trained;           /* 0 while vectors wait in the exact buffer for training */
    int64_t nlist;         /* IVF lists, 0 if not IVF */
    int default_nprobe;    /* nprobe used when a search asks for 0: picked when the IVF index was trained (the
                              smallest reaching 10-recall@10 >= 0.95 on held-out KB vectors, docs/store.md) */
    double nprobe_recall;  /* the 10-recall@10 measured at default_nprobe; -1 when not measured (no IVF, or an
                              index built before this was measured: default_nprobe is then max(8, nlist/64)) */
    int64_t n_docs, n_passages;
    int64_t ntotal;           /* vectors in the index (trained part + exact buffer) */
    int64_t n_tombstones;     /* deleted vectors still in an index that cannot remove (HNSW) */
    int64_t trained_on;       /* number of vectors the index was trained on (0 if none) */
    int64_t changes_unsaved;  /* change-log entries newer than the index file */
    int64_t index_file_bytes; /* size of index.faiss (0 if missing) */
    int64_t db_file_bytes;    /* size of kb.sqlite + its WAL */
    int64_t mem_bytes;        /* estimated memory of the in-memory index */
} sem_kb_info;

/* Fills *out (plain data, nothing to free). */
int sem_kb_get_info(sem_kb *kb, sem_kb_info *out, sem_error *err);

/* What sem_kb_check found. id lists are malloc'd (free with sem_kb_check_report_clear); at most 100 of each
 * are listed, the counts are complete. */
typedef struct sem_kb_check_report {
    int64_t n_passages;       /* in SQLite */
    int64_t n_index;          /* live ids in the index */
    int64_t missing_in_index; /* passages in SQLite absent from the index */
    int64_t extra_in_index;   /* ids in the index with no passage in SQLite */
    int64_t fts_mismatch;     /* |FTS rows - passages|, +1 if FTS5's integrity-check fails (read-write only) */
    int64_t bad_vectors;      /* passage vectors of the wrong size or not finite */
    int sqlite_ok;            /* 1 if PRAGMA integrity_check said ok */
    int64_t *missing_ids, *extra_ids;
    int n_missing_ids, n_extra_ids;
} sem_kb_check_report;

/* Verifies the in-memory index against SQLite (and SQLite's own integrity). Returns SEM_OK when it could run;
 * the report says whether they agree: all the mismatch counts 0 and sqlite_ok 1. */
int sem_kb_check(sem_kb *kb, sem_kb_check_report *out, sem_error *err);
void sem_kb_check_report_clear(sem_kb_check_report *r);

/* Rebuilds the index from SQLite: resolves "auto" for the current size, retrains on a sample, adds every
 * vector, drops tombstones, swaps it in and saves it. Searches keep running on the old index meanwhile.
 * index_spec NULL keeps the configured spec; otherwise it becomes the KB's spec. Read-write KBs only. */
int sem_kb_compact(sem_kb *kb, const char *index_spec, sem_error *err);

/* Rebuilds the full-text index with stemming "porter" or "none" (NULL: keep the KB's, porter for a schema-2
 * KB), which moves a schema-2 KB to schema 3 (title column, CJK tokenizer). sem_kb_compact does it for schema-2
 * KBs. One transaction; searches see the old index until it commits. Read-write KBs only. */
int sem_kb_set_stemming(sem_kb *kb, const char *stemming, sem_error *err);

/* Switches the KB to another model of the same dimension (store/reencode.c): in ONE transaction every passage
 * gets its new vector (vecs (n, dim): row k for ids[k], where ids are every passage id in ascending order, as
 * sem_kb_foreach_vector lists them; anything else is SEM_EMISMATCH and nothing changes) and the KB records
 * *model as its model. Passages get new ids; the index is rebuilt and saved. Until the commit every reader sees
 * the old vectors and model; a crash before it changes nothing, after it the next open repairs the index from
 * the change log. Read-write KBs with a model only (SEM_EINVAL otherwise). Writers wait meanwhile. */
int sem_kb_set_model_vectors(sem_kb *kb, const sem_kb_model *model, const int64_t *ids, const float *vecs,
                             int64_t n, sem_error *err);

/* Settings of the layers above the store, kept in the KB (its meta table) with the data they describe (e.g. the
 * hybrid-search calibration of query/). key: "ext." then 1..60 of [a-z0-9_.] (the store's own settings cannot be
 * reached); value: UTF-8 text of at most 65536 bytes. get: SEM_ENOTFOUND when absent; out (cap bytes) receives a
 * NUL-terminated copy (SEM_EFORMAT when it does not fit). set: read-write KBs only; durable on return. Any
 * thread. */
int sem_kb_get_setting(sem_kb *kb, const char *key, char *out, size_t cap, sem_error *err);
int sem_kb_set_setting(sem_kb *kb, const char *key, const char *value, sem_error *err);

/* Exports every passage (one read snapshot, passage-id order).
 * jsonl: one line per passage: {"id":P,"doc":"EXT","passage":N,"start":S,"end":E,"text":"...","vector":[...]}.
 * npy: vectors_out gets a NumPy v1.0 array '<f4' (n, dim); ids_out (may be NULL) gets '<i8' (n,) passage ids.
 * *n_out (may be NULL) receives the number of passages written. */
int sem_kb_export_jsonl(sem_kb *kb, FILE *out, int64_t *n_out, sem_error *err);
int sem_kb_export_npy(sem_kb *kb, FILE *vectors_out, FILE *ids_out, int64_t *n_out, sem_error *err);

/* Checks that spec is an index spec this store accepts for dimension d (docs/store.md, "Index specs": a bounded
 * subset of faiss_index_factory strings: {PCA[W][R]n, OPQm[_n], RR[n], L2norm ","} then Flat, IVFn,(Flat|code),
 * HNSWm[,Flat|,SQx] or code, where code is PQm[xb][np], PQmx4fs[r], SQ4, SQ6, SQ8 or SQfp16; numbers bounded).
 * Pure: FAISS is not called (sem_kb_resolve_spec also tries the factory). SEM_EINVAL with the reason. Any thread. */
int sem_kb_check_spec(const char *spec, int d, sem_error *err);

/* Resolves "auto" (or checks a factory string) for n vectors of dim d: writes the factory string into out.
 * auto: Flat below 10000 vectors; IVF{nlist},Flat with nlist = 4*sqrt(n) rounded to a power of two and at most
 * n/39; IVF{nlist},PQ{m}np (m = d/8 bytes per vector, or the nearest divisor of d) when the flat vectors would
 * exceed 2 GiB. Exposed for tools and tests. */
int sem_kb_resolve_spec(const char *spec, int64_t n, int d, char *out, size_t out_size, sem_error *err);

/* The nlist of auto's IVF for n vectors: the power of two nearest 4*sqrt(n), halved until it is at most n/39
 * (FAISS wants 39 training vectors per list); 1 for tiny n. Pure; `eval ann` sizes its default IVF with it. */
int64_t sem_kb_auto_nlist(int64_t n);

#ifdef __cplusplus
}
#endif
#endif
