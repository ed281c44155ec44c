/* store/db.c: SQLite connections, the schema and its migrations, the settings table.
 *
 * Schema history (PRAGMA user_version):
 *   1  meta, documents, passages (vectors as float32 BLOBs)
 *   2  + passages_fts (FTS5, external content over passages), + changes (the change log the index file is
 *        checked against), + triggers keeping both in step with passages
 *   3  passages_fts with a title column and the semsearch_cjk tokenizer (stemmed by porter or not: meta
 *        fts_tokenizer), over the view passages_fts_src (passages joined with their document's title); triggers
 *        keep it in step with passages and with title changes
 * A new KB is created as v1 and migrated to 3, so the migration path is exercised by every KB. Opening a KB
 * migrates it up to SEM_KB_SCHEMA_AUTO (2) only: 2 -> 3 rebuilds the full-text index and is `kb compact`'s
 * (sem_db_fts_setup), so that existing KBs keep opening and searching as they were. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/fts_tokenizer.h"
#include "store/kb_impl.h"

int sem_db_fail(sqlite3 *db, sem_error *err, const char *what)
{
    int ec = db ? sqlite3_errcode(db) : SQLITE_ERROR;
    const char *m = db ? sqlite3_errmsg(db) : "no connection";
    int code = (ec == SQLITE_NOTADB || ec == SQLITE_CORRUPT) ? SEM_EFORMAT
               : (ec == SQLITE_BUSY || ec == SQLITE_LOCKED) ? SEM_EBUSY
                                                            : SEM_ESQLITE;
    return sem_error_set(err, code, "%s: SQLite: %s", what, m);
}

int sem_db_exec(sqlite3 *db, const char *sql, sem_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int ec = sqlite3_errcode(db);
        int code = (ec == SQLITE_NOTADB || ec == SQLITE_CORRUPT) ? SEM_EFORMAT
                   : (ec == SQLITE_BUSY)                          ? SEM_EBUSY
                                                                  : SEM_ESQLITE;
        sem_error_set(err, code, "SQLite: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return code;
    }
    return SEM_OK;
}

int sem_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, sem_error *err)
{
    *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return sem_db_fail(db, err, "prepare");
    return SEM_OK;
}

int sem_db_int(sqlite3 *db, const char *sql, const char *param, int64_t dflt, int64_t *out, sem_error *err)
{
    sqlite3_stmt *st;
    int rc = sem_db_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    if (param)
        sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *out = sqlite3_column_type(st, 0) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, 0);
    } else if (s == SQLITE_DONE) {
        *out = dflt;
    } else {
        rc = sem_db_fail(db, err, "query");
    }
    sqlite3_finalize(st);
    return rc;
}

char *sem_db_text_dup(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return strdup(s ? s : "");
}

int sem_db_open(const char *path, int read_only, int create, sqlite3 **out, sem_error *err)
{
    *out = NULL;
    sqlite3 *db = NULL;
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (create && !read_only)
        flags |= SQLITE_OPEN_CREATE;
    flags |= SQLITE_OPEN_NOMUTEX; /* a connection is used by one thread at a time */
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        int rc = sem_error_set(err, SEM_EIO, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 30000);
    sqlite3_extended_result_codes(db, 0);
    int rc = sem_fts_tokenizer_register(db, err);
    if (rc) {
        sem_error_prefix(err, "%s", path);
        sqlite3_close(db);
        return rc;
    }
    rc = sem_db_exec(db, read_only ? "PRAGMA foreign_keys=ON;" : "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;",
                         err);
    if (rc) {
        sem_error_prefix(err, "%s", path);
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return SEM_OK;
}

int sem_db_meta_get(sqlite3 *db, const char *key, char *out, size_t out_size, sem_error *err)
{
    sqlite3_stmt *st;
    int rc = sem_db_prepare(db, "SELECT value FROM meta WHERE key = ?1", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        snprintf(out, out_size, "%s", v ? v : "");
        if (v && strlen(v) >= out_size)
            rc = sem_error_set(err, SEM_EFORMAT, "setting %s is too long", key);
    } else if (s == SQLITE_DONE) {
        rc = sem_error_set(err, SEM_ENOTFOUND, "setting %s is missing", key);
    } else {
        rc = sem_db_fail(db, err, "reading settings");
    }
    sqlite3_finalize(st);
    return rc;
}

int sem_db_meta_set(sqlite3 *db, const char *key, const char *value, sem_error *err)
{
    sqlite3_stmt *st;
    int rc = sem_db_prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sem_db_fail(db, err, "writing settings");
    sqlite3_finalize(st);
    return rc;
}

static const char *SCHEMA_V1 =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE documents("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  ext_id TEXT NOT NULL UNIQUE,"
    "  title TEXT NOT NULL DEFAULT '',"
    "  text TEXT NOT NULL DEFAULT '',"
    "  meta TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE passages("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
    "  passage_no INTEGER NOT NULL,"
    "  start_off INTEGER NOT NULL,"
    "  end_off INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  vec BLOB NOT NULL,"
    "  UNIQUE (doc_id, passage_no));"
    "PRAGMA user_version = 1;";

static const char *MIGRATE_1_2 =
    "CREATE VIRTUAL TABLE passages_fts USING fts5("
    "  text, content='passages', content_rowid='id', tokenize='" SEM_FTS_TOKENIZER_V2 "');"
    "INSERT INTO passages_fts(passages_fts) VALUES ('rebuild');"
    "CREATE TABLE changes("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  op INTEGER NOT NULL," /* 1 add, 2 delete */
    "  passage_id INTEGER NOT NULL);"
    "CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN"
    "  INSERT INTO passages_fts(rowid, text) VALUES (new.id, new.text);"
    "  INSERT INTO changes(op, passage_id) VALUES (1, new.id);"
    "END;"
    "CREATE TRIGGER passages_ad AFTER DELETE ON passages BEGIN"
    "  INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    "  INSERT INTO changes(op, passage_id) VALUES (2, old.id);"
    "END;"
    "CREATE TRIGGER passages_au BEFORE UPDATE ON passages BEGIN"
    "  SELECT RAISE(ABORT, 'passages are immutable: delete and insert');"
    "END;"
    /* An index file written before the change log existed cannot be trusted: force a rebuild. */
    "INSERT OR REPLACE INTO meta(key, value) VALUES ('log_floor', '0');"
    "PRAGMA user_version = 2;";

int sem_db_create_v1(sqlite3 *db, sem_error *err)
{
    int rc = sem_db_exec(db, "BEGIN IMMEDIATE;", err);
    if (rc)
        return rc;
    rc = sem_db_exec(db, SCHEMA_V1, err);
    if (rc) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return sem_db_exec(db, "COMMIT;", err);
}

/* Schema 3's full-text index; %s is the tokenizer (one of the fixed SEM_FTS_TOKENIZER_* strings). */
static const char *FTS_V3_FMT =
    "DROP TRIGGER IF EXISTS passages_ai; DROP TRIGGER IF EXISTS passages_ad;"
    "DROP TRIGGER IF EXISTS documents_bd; DROP TRIGGER IF EXISTS documents_au;"
    "DROP TABLE IF EXISTS passages_fts; DROP VIEW IF EXISTS passages_fts_src;"
    "CREATE VIEW passages_fts_src AS SELECT p.id AS id, p.text AS text, d.title AS title "
    "  FROM passages p JOIN documents d ON d.id = p.doc_id;"
    "CREATE VIRTUAL TABLE passages_fts USING fts5("
    "  text, title, content='passages_fts_src', content_rowid='id', tokenize='%s');"
    "INSERT INTO passages_fts(passages_fts) VALUES ('rebuild');"
    "CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN"
    "  INSERT INTO passages_fts(rowid, text, title)"
    "    VALUES (new.id, new.text, (SELECT title FROM documents WHERE id = new.doc_id));"
    "  INSERT INTO changes(op, passage_id) VALUES (1, new.id);"
    "END;"
    /* the 'delete' must give the indexed values: the document (and its title) is still there, because a
     * document's passages are deleted before it (documents_bd) and a title change re-indexes (documents_au) */
    "CREATE TRIGGER passages_ad AFTER DELETE ON passages BEGIN"
    "  INSERT INTO passages_fts(passages_fts, rowid, text, title)"
    "    VALUES ('delete', old.id, old.text, (SELECT title FROM documents WHERE id = old.doc_id));"
    "  INSERT INTO changes(op, passage_id) VALUES (2, old.id);"
    "END;"
    "CREATE TRIGGER documents_bd BEFORE DELETE ON documents BEGIN"
    "  DELETE FROM passages WHERE doc_id = old.id;"
    "END;"
    "CREATE TRIGGER documents_au AFTER UPDATE OF title ON documents WHEN new.title IS NOT old.title BEGIN"
    "  INSERT INTO passages_fts(passages_fts, rowid, text, title)"
    "    SELECT 'delete', id, text, old.title FROM passages WHERE doc_id = old.id;"
    "  INSERT INTO passages_fts(rowid, text, title) SELECT id, text, new.title FROM passages WHERE doc_id = new.id;"
    "END;"
    "INSERT OR REPLACE INTO meta(key, value) VALUES ('fts_tokenizer', '%s');"
    "PRAGMA user_version = 3;";

const char *sem_db_fts_tokenizer_check(const char *t)
{
    static const char *const known[] = {SEM_FTS_TOKENIZER_PORTER, SEM_FTS_TOKENIZER_NOSTEM, SEM_FTS_TOKENIZER_V2};
    for (size_t i = 0; t && i < sizeof known / sizeof *known; i++)
        if (strcmp(t, known[i]) == 0)
            return known[i];
    return NULL;
}

int sem_db_fts_setup(sqlite3 *db, const char *tokenizer, sem_error *err)
{
    const char *t = sem_db_fts_tokenizer_check(tokenizer);
    if (!t || strcmp(t, SEM_FTS_TOKENIZER_V2) == 0)
        return sem_error_set(err, SEM_EINVAL, "unknown full-text tokenizer \"%s\"", tokenizer ? tokenizer : "");
    char *sql = sqlite3_mprintf(FTS_V3_FMT, t, t);
    if (!sql)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int rc = sem_db_exec(db, sql, err);
    sqlite3_free(sql);
    return rc ? sem_error_prefix(err, "building the full-text index") : SEM_OK;
}

const char *sem_kb_stemming_tokenizer(const char *stemming)
{
    if (!stemming || strcmp(stemming, "porter") == 0)
        return SEM_FTS_TOKENIZER_PORTER;
    return strcmp(stemming, "none") == 0 ? SEM_FTS_TOKENIZER_NOSTEM : NULL;
}

int sem_kb_read_fts(sem_kb *kb, sqlite3 *db, sem_error *err)
{
    int64_t v;
    char tok[64];
    int rc = sem_db_int(db, "PRAGMA user_version", NULL, 0, &v, err);
    if (rc)
        return rc;
    if (v < 3) {
        snprintf(tok, sizeof tok, "%s", SEM_FTS_TOKENIZER_V2);
    } else {
        rc = sem_db_meta_get(db, "fts_tokenizer", tok, sizeof tok, err);
        if (rc == SEM_ENOTFOUND || (rc == SEM_OK && (!sem_db_fts_tokenizer_check(tok) ||
                                                     strcmp(tok, SEM_FTS_TOKENIZER_V2) == 0)))
            return sem_error_set(err, SEM_EFORMAT, "%s: the full-text tokenizer setting is missing or unknown",
                                 kb->db_path);
        if (rc)
            return rc;
    }
    pthread_mutex_lock(&kb->meta_mu);
    kb->schema_version = (int)v;
    memcpy(kb->fts_tokenizer, tok, sizeof tok);
    pthread_mutex_unlock(&kb->meta_mu);
    return SEM_OK;
}

/* One migration step from version v, in a transaction. */
static int migrate_step(sqlite3 *db, int64_t v, sem_error *err)
{
    char tok[64];
    int rc = sem_db_exec(db, "BEGIN IMMEDIATE;", err);
    if (rc)
        return rc;
    if (v == 1) {
        rc = sem_db_exec(db, MIGRATE_1_2, err);
    } else if (v == 2) { /* the tokenizer sem_kb_create recorded, else the default */
        if (sem_db_meta_get(db, "fts_tokenizer", tok, sizeof tok, NULL) != SEM_OK)
            snprintf(tok, sizeof tok, "%s", SEM_FTS_TOKENIZER_PORTER);
        rc = sem_db_fts_setup(db, tok, err);
    } else {
        rc = sem_error_set(err, SEM_EINTERNAL, "no migration from schema %lld", (long long)v);
    }
    if (rc) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return sem_error_prefix(err, "migrating schema %lld -> %lld", (long long)v, (long long)v + 1);
    }
    return sem_db_exec(db, "COMMIT;", err);
}

int sem_db_migrate(sqlite3 *db, int target, int *from_version, sem_error *err)
{
    int64_t v;
    int rc = sem_db_int(db, "PRAGMA user_version", NULL, 0, &v, err);
    if (rc)
        return rc;
    if (from_version)
        *from_version = (int)v;
    if (v < 1)
        return sem_error_set(err, SEM_EFORMAT, "not a semsearch KB (schema version %lld)", (long long)v);
    if (v > SEM_KB_SCHEMA_VERSION)
        return sem_error_set(err, SEM_EFORMAT, "KB schema version %lld is newer than this build (%d)",
                             (long long)v, SEM_KB_SCHEMA_VERSION);
    for (; v < target; v++)
        if ((rc = migrate_step(db, v, err)))
            return rc;
    return SEM_OK;
}

int sem_db_current_seq(sqlite3 *db, int64_t *seq, sem_error *err)
{
    return sem_db_int(db, "SELECT seq FROM sqlite_sequence WHERE name = 'changes'", NULL, 0, seq, err);
}

sqlite3 *sem_kb_conn_get(sem_kb *kb, sem_error *err)
{
    sqlite3 *db = NULL;
    pthread_mutex_lock(&kb->pool_mu);
    if (kb->npool > 0)
        db = kb->pool[--kb->npool];
    pthread_mutex_unlock(&kb->pool_mu);
    if (db)
        return db;
    if (sem_db_open(kb->db_path, 1, 0, &db, err) != SEM_OK)
        return NULL;
    return db;
}

void sem_kb_conn_put(sem_kb *kb, sqlite3 *db)
{
    if (!db)
        return;
    /* A connection goes back clean: no transaction left open by an error path. */
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_lock(&kb->pool_mu);
    if (kb->npool == kb->pool_cap) {
        int cap = kb->pool_cap ? kb->pool_cap * 2 : 8;
        sqlite3 **p = realloc(kb->pool, (size_t)cap * sizeof *p);
        if (p) {
            kb->pool = p;
            kb->pool_cap = cap;
        }
    }
    if (kb->npool < kb->pool_cap) {
        kb->pool[kb->npool++] = db;
        db = NULL;
    }
    pthread_mutex_unlock(&kb->pool_mu);
    if (db)
        sqlite3_close(db);
}
