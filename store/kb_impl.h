/* store/kb_impl.h (internal): the sem_kb struct and the helpers the store's files share: kb.c (lifecycle),
 * kb_create.c, kb_index.c (building, recovering and saving the vector index), kb_write.c, kb_read.c, db.c,
 * search.c, maint.c, settings.c, reencode.c. */
#ifndef SEM_KB_IMPL_H
#define SEM_KB_IMPL_H

#include <pthread.h>
#include <sqlite3.h>

#include "common/strbuf.h"
#include "store/kb.h"
#include "store/vindex.h"

struct sem_kb {
    char *dir, *db_path, *index_path, *lock_path;
    int read_only;
    sem_kb_model model;
    int metric;
    char spec[128]; /* configured: a factory string or "auto" */
    char uuid[40];
    int schema_version;    /* guarded by meta_mu (kb compact migrates 2 -> 3 while searches run) */
    char fts_tokenizer[64]; /* passages_fts's tokenize= (fts_tokenizer.h); guarded by meta_mu */
    int lexical_only; /* made without a model for FTS5 search only: vector search is refused */
    int lock_fd; /* flock'd LOCK file (read-write only), -1 otherwise */

    pthread_mutex_t write_mu; /* serializes put/delete/save/compact; guards wdb, dirty, saved_seq */
    sqlite3 *wdb;             /* the writer's connection (NULL when read-only) */
    int dirty;                /* the in-memory index differs from the file */
    int64_t saved_seq;        /* change-log seq covered by the index file */

    pthread_mutex_t pool_mu; /* guards the reader connection pool */
    sqlite3 **pool;
    int npool, pool_cap;

    pthread_rwlock_t ilock; /* guards vi: searches shared, changes exclusive */
    sem_vindex *vi;

    pthread_mutex_t meta_mu; /* lets sem_kb_get_info read spec and saved_seq without waiting for a writer
                                (a training can hold write_mu for a minute); writers take it to change them */
    pthread_mutex_t info_mu; /* guards the memory-estimate cache of sem_kb_get_info */
    const sem_vindex *mem_vi;
    int64_t mem_seq, mem_ntotal, mem_bytes;
};

/* ---- db.c ---- */
#define SEM_KB_DB_FILE "kb.sqlite"
#define SEM_KB_INDEX_FILE "index.faiss"
#define SEM_KB_LOCK_FILE "LOCK"

/* Opens a connection with our settings (busy timeout, foreign keys, synchronous=FULL). create: may create. */
int sem_db_open(const char *path, int read_only, int create, sqlite3 **out, sem_error *err);
/* Sets err from db's last error: code SEM_ESQLITE (or SEM_EFORMAT for "not a database"), prefixed by what. */
int sem_db_fail(sqlite3 *db, sem_error *err, const char *what);
/* Runs SQL with no results. */
int sem_db_exec(sqlite3 *db, const char *sql, sem_error *err);
/* Prepares one statement. */
int sem_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, sem_error *err);
/* A malloc'd copy of text column i ("" for NULL); NULL when out of memory. */
char *sem_db_text_dup(sqlite3_stmt *st, int i);
/* One integer from a query with optional one text parameter (NULL = none); *out = dflt when no row. */
int sem_db_int(sqlite3 *db, const char *sql, const char *param, int64_t dflt, int64_t *out, sem_error *err);
/* Meta table access; get returns SEM_ENOTFOUND when absent; out gets a NUL-terminated copy. */
int sem_db_meta_get(sqlite3 *db, const char *key, char *out, size_t out_size, sem_error *err);
int sem_db_meta_set(sqlite3 *db, const char *key, const char *value, sem_error *err);
/* Writes the v1 schema into an empty database (tests use it to make old KBs). */
int sem_db_create_v1(sqlite3 *db, sem_error *err);
/* Migrates db up to schema target (one transaction per step); *from_version (may be NULL) gets the version it
 * had. Opening migrates to SEM_KB_SCHEMA_AUTO; creating (and kb compact) to SEM_KB_SCHEMA_VERSION. */
#define SEM_KB_SCHEMA_AUTO 2
int sem_db_migrate(sqlite3 *db, int target, int *from_version, sem_error *err);
/* (Re)builds the schema-3 full-text index with tokenizer (SEM_FTS_TOKENIZER_PORTER or _NOSTEM), records it and
 * sets user_version 3. The caller holds a write transaction. */
int sem_db_fts_setup(sqlite3 *db, const char *tokenizer, sem_error *err);
/* The tokenize= string for a stemming name: NULL or "porter" -> SEM_FTS_TOKENIZER_PORTER, "none" ->
 * SEM_FTS_TOKENIZER_NOSTEM, anything else -> NULL. */
const char *sem_kb_stemming_tokenizer(const char *stemming);
/* The known tokenize= string equal to t (the static copy), or NULL if t is none of them. */
const char *sem_db_fts_tokenizer_check(const char *t);
/* Reads the schema version and the full-text tokenizer of db into kb (under meta_mu). SEM_EFORMAT if the
 * recorded tokenizer is not one this build knows. */
int sem_kb_read_fts(sem_kb *kb, sqlite3 *db, sem_error *err);
/* The last change-log sequence (0 if none). */
int sem_db_current_seq(sqlite3 *db, int64_t *seq, sem_error *err);

/* Borrow / return a reader connection (any thread). */
sqlite3 *sem_kb_conn_get(sem_kb *kb, sem_error *err);
void sem_kb_conn_put(sem_kb *kb, sqlite3 *db);

/* ---- kb.c ---- */
/* Decodes a vector blob; 0 if its size is wrong or a value is not finite. */
int sem_kb_vec_ok(const void *blob, int bytes, int dim);

/* A growing list of passage ids (free v when done). push: 0, or -1 when out of memory. */
typedef struct sem_kb_ids {
    int64_t *v;
    size_t n, cap;
} sem_kb_ids;
int sem_kb_ids_push(sem_kb_ids *l, int64_t id);

/* ---- kb_index.c ---- */
/* Builds a fresh index from SQLite through db (a read snapshot): resolves spec for the current size, trains on
 * a sample when there are enough vectors, adds every vector. *out caller-owned. */
int sem_kb_build_index(sem_kb *kb, sqlite3 *db, const char *spec, sem_vindex **out, sem_error *err);

/* Sets kb->vi, dirty and saved_seq on open: loads index.faiss, checks it against the database (schema migrated
 * from from_version, change-log window, spec), replays the changes it misses and compares counts; when any of
 * that fails, logs why and builds the index from SQLite. Errors only when SQLite cannot be read or the rebuild
 * fails. */
int sem_kb_load_or_rebuild(sem_kb *kb, sqlite3 *db, int from_version, sem_error *err);

/* Saves the index (caller holds write_mu). */
int sem_kb_save_locked(sem_kb *kb, sem_error *err);

/* Builds a fresh index from SQLite with spec and swaps it in (caller holds write_mu); searches go on with the
 * old one until the swap. Marks the KB dirty (the new index is not saved yet). */
int sem_kb_rebuild_swap(sem_kb *kb, const char *spec, sem_error *err);

/* After a write or a read-write open (caller holds write_mu, or is the opener): trains the index once enough
 * vectors wait, grows an "auto" index, drops many tombstones, and saves now and then so that the replay on open
 * stays short. Never fails: the data is committed and the current index stays valid, so problems are logged. */
void sem_kb_maintain(sem_kb *kb);

/* ---- search.c ---- */
/* Validates a filter (NULL or n == 0: none): key count, key syntax, UTF-8 values. SEM_EINVAL with a message. */
int sem_kb_filter_check(const sem_kb_filter *f, sem_error *err);
/* Validates a filter and appends " AND CAST(json_extract(d.meta, ?N) AS TEXT) = ?M ..." to sql, numbering
 * parameters from first_param (1..1000). */
int sem_kb_filter_sql(const sem_kb_filter *f, int first_param, sem_strbuf *sql, sem_error *err);
/* Binds the filter's parameters (paths and values) from first_param; returns an SQLITE_* code. */
int sem_kb_filter_bind(sqlite3_stmt *st, const sem_kb_filter *f, int first_param);
/* Prepares head + the filter's conditions + tail (NULL: none) on db and binds the filter: *st caller-owned. */
int sem_kb_filter_prepare(sqlite3 *db, const char *head, const sem_kb_filter *f, int first_param, const char *tail,
                          sqlite3_stmt **st, sem_error *err);

#endif
