/* store/kb_write.c: document writes (sem_kb_put, sem_kb_delete): validate everything, write ONE transaction,
 * then apply the committed change to the in-memory index (kb_index.c repairs it when that fails). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fileio.h"
#include "common/log.h"
#include "store/kb_impl.h"

#define MAX_EXT_ID 1024
#define MAX_PASSAGES_PER_DOC 1000000

/* ---- validation ---------------------------------------------------------------------------------------------- */

static int cmp_docptr(const void *a, const void *b)
{
    const sem_kb_doc *x = *(const sem_kb_doc *const *)a, *y = *(const sem_kb_doc *const *)b;
    return strcmp(x->ext_id, y->ext_id);
}

static int check_utf8(const char *what, const char *id, const char *s, sem_error *err)
{
    size_t bad;
    if (s && !sem_utf8_valid(s, strlen(s), &bad))
        return sem_error_set(err, SEM_EINVAL, "document \"%s\": %s is not valid UTF-8 (byte %zu)", id, what, bad);
    return SEM_OK;
}

static int check_passage(const sem_kb_doc *doc, int j, int64_t tlen, int d, sem_error *err)
{
    const sem_kb_passage *p = &doc->passages[j];
    if (!p->text)
        return sem_error_set(err, SEM_EINVAL, "document \"%s\": passage %d has no text", doc->ext_id, j);
    char what[48];
    snprintf(what, sizeof what, "passage %d", j);
    int rc = check_utf8(what, doc->ext_id, p->text, err);
    if (rc)
        return rc;
    if (p->start < 0 || p->end < p->start || p->end > tlen)
        return sem_error_set(err, SEM_EINVAL,
                             "document \"%s\": passage %d offsets [%lld, %lld) outside the text (%lld bytes)",
                             doc->ext_id, j, (long long)p->start, (long long)p->end, (long long)tlen);
    if (!p->vec)
        return sem_error_set(err, SEM_EINVAL, "document \"%s\": passage %d has no vector", doc->ext_id, j);
    if (sem_kb_vec_check(p->vec, d, "passage", j, err))
        return sem_error_prefix(err, "document \"%s\"", doc->ext_id);
    return SEM_OK;
}

/* Checks document i of a batch: external id, UTF-8 everywhere, passage count, offsets and vectors. */
static int check_doc(const sem_kb_doc *doc, int i, int d, sem_error *err)
{
    if (!doc->ext_id || !*doc->ext_id)
        return sem_error_set(err, SEM_EINVAL, "document %d has no external id", i);
    size_t idlen = strlen(doc->ext_id), bad;
    if (idlen > MAX_EXT_ID)
        return sem_error_set(err, SEM_EINVAL, "document %d: external id longer than %d bytes", i, MAX_EXT_ID);
    if (!sem_utf8_valid(doc->ext_id, idlen, &bad))
        return sem_error_set(err, SEM_EINVAL, "document %d: external id is not valid UTF-8 (byte %zu)", i, bad);
    int rc;
    if ((rc = check_utf8("title", doc->ext_id, doc->title, err)) ||
        (rc = check_utf8("text", doc->ext_id, doc->text, err)) ||
        (rc = check_utf8("metadata", doc->ext_id, doc->meta_json, err)))
        return rc;
    if (doc->n_passages < 0 || doc->n_passages > MAX_PASSAGES_PER_DOC || (doc->n_passages && !doc->passages))
        return sem_error_set(err, SEM_EINVAL, "document \"%s\": bad passage count %d", doc->ext_id, doc->n_passages);
    int64_t tlen = doc->text ? (int64_t)strlen(doc->text) : 0;
    for (int j = 0; j < doc->n_passages; j++)
        if ((rc = check_passage(doc, j, tlen, d, err)))
            return rc;
    return SEM_OK;
}

/* SEM_EINVAL when two documents of the batch share an ext_id. */
static int check_unique(const sem_kb_doc *docs, int n, sem_error *err)
{
    const sem_kb_doc **ptr = malloc((size_t)n * sizeof *ptr);
    if (!ptr)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        ptr[i] = &docs[i];
    qsort(ptr, (size_t)n, sizeof *ptr, cmp_docptr);
    int rc = SEM_OK;
    for (int i = 1; i < n && !rc; i++)
        if (strcmp(ptr[i - 1]->ext_id, ptr[i]->ext_id) == 0)
            rc = sem_error_set(err, SEM_EINVAL, "document \"%s\" appears twice in one batch", ptr[i]->ext_id);
    free(ptr);
    return rc;
}

/* Validates a batch and gathers its vectors into X (total, d). */
static int validate_docs(sem_kb *kb, const sem_kb_doc *docs, int n, float **X, int64_t *total, sem_error *err)
{
    int d = kb->model.dim, rc;
    int64_t tot = 0;
    *X = NULL;
    for (int i = 0; i < n; i++) {
        if ((rc = check_doc(&docs[i], i, d, err)))
            return rc;
        tot += docs[i].n_passages;
    }
    if ((rc = check_unique(docs, n, err)))
        return rc;
    if ((uint64_t)tot > SIZE_MAX / sizeof(float) / (uint64_t)d)
        return sem_error_set(err, SEM_ENOMEM, "batch too large");
    float *x = malloc(((size_t)tot * (size_t)d + 1) * sizeof(float));
    if (!x)
        return sem_error_set(err, SEM_ENOMEM, "out of memory for %lld vectors", (long long)tot);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < docs[i].n_passages; j++) {
            memcpy(x + o, docs[i].passages[j].vec, (size_t)d * sizeof(float));
            o += (size_t)d;
        }
    }
    *X = x;
    *total = tot;
    return SEM_OK;
}

/* ---- writing ------------------------------------------------------------------------------------------------- */

/* Collects the passage ids of document doc_id into l. */
static int collect_passages(sqlite3 *db, sqlite3_stmt *st, int64_t doc_id, sem_kb_ids *l, sem_error *err)
{
    sqlite3_bind_int64(st, 1, doc_id);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (sem_kb_ids_push(l, sqlite3_column_int64(st, 0))) {
            sqlite3_reset(st);
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
    }
    sqlite3_reset(st);
    return s == SQLITE_DONE ? SEM_OK : sem_db_fail(db, err, "reading passages");
}

/* Applies a committed change to the in-memory index (caller holds write_mu). If that fails the committed data
 * is safe in SQLite; the index is rebuilt from it. */
static int apply_to_index(sem_kb *kb, const sem_kb_ids *removed, const sem_kb_ids *added, const float *X,
                          int64_t seq, sem_error *err)
{
    sem_error e;
    sem_error_clear(&e);
    pthread_rwlock_wrlock(&kb->ilock);
    int rc = sem_vindex_remove(kb->vi, (int64_t)removed->n, removed->v, &e);
    if (!rc)
        rc = sem_vindex_add(kb->vi, (int64_t)added->n, added->v, X, &e);
    if (!rc)
        kb->vi->last_seq = seq;
    pthread_rwlock_unlock(&kb->ilock);
    kb->dirty = 1;
    if (rc) {
        sem_log(SEM_LOG_WARN, "KB %s: updating the index failed (%s); rebuilding it from SQLite", kb->dir, e.msg);
        rc = sem_kb_rebuild_swap(kb, kb->spec, err);
        if (rc)
            return sem_error_prefix(err, "the change is committed (durable), but the index could not be updated; "
                                         "it will be rebuilt on the next open");
    }
    sem_kb_maintain(kb);
    return SEM_OK;
}

/* The statements of sem_kb_put, prepared on the writer's connection. */
typedef struct put_stmts {
    sqlite3_stmt *find, *pass, *chk, *upd, *ins, *delp, *insp;
} put_stmts;

static int put_prepare(sqlite3 *db, put_stmts *q, sem_error *err)
{
    int rc;
    if ((rc = sem_db_prepare(db, "SELECT id FROM documents WHERE ext_id = ?1", &q->find, err)) ||
        (rc = sem_db_prepare(db, "SELECT id FROM passages WHERE doc_id = ?1", &q->pass, err)) ||
        (rc = sem_db_prepare(db, "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END", &q->chk,
                             err)) ||
        (rc = sem_db_prepare(db, "UPDATE documents SET title = ?2, text = ?3, meta = ?4, updated_at = ?5 WHERE id = ?1",
                             &q->upd, err)) ||
        (rc = sem_db_prepare(db, "INSERT INTO documents(ext_id, title, text, meta, created_at, updated_at) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                             &q->ins, err)) ||
        (rc = sem_db_prepare(db, "DELETE FROM passages WHERE doc_id = ?1", &q->delp, err)) ||
        (rc = sem_db_prepare(db, "INSERT INTO passages(doc_id, passage_no, start_off, end_off, text, vec) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                             &q->insp, err)))
        return rc;
    return SEM_OK;
}

static void put_finalize(put_stmts *q)
{
    sqlite3_stmt *all[] = {q->find, q->pass, q->chk, q->upd, q->ins, q->delp, q->insp};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        sqlite3_finalize(all[i]);
}

/* SEM_EINVAL unless every document's metadata is a JSON object (SQLite's json_valid decides). */
static int check_metas(put_stmts *q, const sem_kb_doc *docs, int n, sem_error *err)
{
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(q->chk, 1, docs[i].meta_json ? docs[i].meta_json : "{}", -1, SQLITE_STATIC);
        int ok = sqlite3_step(q->chk) == SQLITE_ROW && sqlite3_column_int(q->chk, 0) == 1;
        sqlite3_reset(q->chk);
        sqlite3_clear_bindings(q->chk);
        if (!ok)
            return sem_error_set(err, SEM_EINVAL, "document \"%s\": metadata is not a JSON object", docs[i].ext_id);
    }
    return SEM_OK;
}

/* Steps a bound INSERT/UPDATE/DELETE once and resets it; SEM_OK or the SQLite error prefixed by what. */
static int step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, sem_error *err)
{
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    return s == SQLITE_DONE ? SEM_OK : sem_db_fail(db, err, what);
}

/* Writes the document row of doc (updating the stored one of its ext_id, whose passages are deleted and listed
 * in removed, or inserting it) and sets *doc_id. */
static int put_doc_row(sqlite3 *db, put_stmts *q, const sem_kb_doc *doc, int64_t now, int64_t *doc_id,
                       sem_kb_ids *removed, sem_error *err)
{
    *doc_id = -1;
    sqlite3_bind_text(q->find, 1, doc->ext_id, -1, SQLITE_STATIC);
    int s = sqlite3_step(q->find), rc;
    if (s == SQLITE_ROW)
        *doc_id = sqlite3_column_int64(q->find, 0);
    sqlite3_reset(q->find);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return sem_db_fail(db, err, "looking up a document");
    sqlite3_stmt *w = *doc_id >= 0 ? q->upd : q->ins;
    if (*doc_id >= 0) {
        if ((rc = collect_passages(db, q->pass, *doc_id, removed, err)))
            return rc;
        sqlite3_bind_int64(q->delp, 1, *doc_id);
        if ((rc = step_done(db, q->delp, "deleting old passages", err)))
            return rc;
        sqlite3_bind_int64(w, 1, *doc_id);
    } else {
        sqlite3_bind_text(w, 1, doc->ext_id, -1, SQLITE_STATIC);
    }
    sqlite3_bind_text(w, 2, doc->title ? doc->title : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(w, 3, doc->text ? doc->text : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(w, 4, doc->meta_json ? doc->meta_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(w, 5, now);
    if ((rc = step_done(db, w, *doc_id >= 0 ? "updating a document" : "inserting a document", err)))
        return rc;
    if (*doc_id < 0)
        *doc_id = sqlite3_last_insert_rowid(db);
    return SEM_OK;
}

/* Writes doc (its row and its passages with vectors X (n_passages, d)); new passage ids go to added. */
static int put_doc(sem_kb *kb, put_stmts *q, const sem_kb_doc *doc, int64_t now, const float *X,
                   sem_kb_ids *removed, sem_kb_ids *added, sem_error *err)
{
    sqlite3 *db = kb->wdb;
    int64_t doc_id;
    int rc = put_doc_row(db, q, doc, now, &doc_id, removed, err);
    for (int j = 0; !rc && j < doc->n_passages; j++) {
        const sem_kb_passage *p = &doc->passages[j];
        sqlite3_bind_int64(q->insp, 1, doc_id);
        sqlite3_bind_int(q->insp, 2, j);
        sqlite3_bind_int64(q->insp, 3, p->start);
        sqlite3_bind_int64(q->insp, 4, p->end);
        sqlite3_bind_text(q->insp, 5, p->text, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q->insp, 6, X + (size_t)j * (size_t)kb->model.dim, kb->model.dim * (int)sizeof(float),
                          SQLITE_STATIC);
        if (!(rc = step_done(db, q->insp, "inserting a passage", err)) &&
            sem_kb_ids_push(added, sqlite3_last_insert_rowid(db)))
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    return rc;
}

int sem_kb_put(sem_kb *kb, const sem_kb_doc *docs, int n, sem_error *err)
{
    sem_error_clear(err);
    if (!kb || (n > 0 && !docs) || n < 0)
        return sem_error_set(err, SEM_EINVAL, "sem_kb_put: bad arguments");
    if (n == 0)
        return SEM_OK;
    if (kb->read_only)
        return sem_error_set(err, SEM_EINVAL, "KB %s is open read-only", kb->dir);
    float *X = NULL;
    int64_t total = 0, seq = 0;
    int rc = validate_docs(kb, docs, n, &X, &total, err), in_txn = 0;
    if (rc)
        return rc;
    sem_kb_ids removed = {0}, added = {0};
    put_stmts q = {0};
    pthread_mutex_lock(&kb->write_mu);
    if ((rc = put_prepare(kb->wdb, &q, err)) || (rc = check_metas(&q, docs, n, err)) ||
        (rc = sem_db_exec(kb->wdb, "BEGIN IMMEDIATE", err)))
        goto out;
    in_txn = 1;
    int64_t now = (int64_t)time(NULL);
    size_t xo = 0;
    for (int i = 0; i < n && !rc; i++) {
        rc = put_doc(kb, &q, &docs[i], now, X + xo, &removed, &added, err);
        xo += (size_t)docs[i].n_passages * (size_t)kb->model.dim;
    }
    if (rc || (rc = sem_db_current_seq(kb->wdb, &seq, err)) || (rc = sem_db_exec(kb->wdb, "COMMIT", err)))
        goto out;
    in_txn = 0;
    rc = apply_to_index(kb, &removed, &added, X, seq, err);
out:
    if (in_txn)
        sqlite3_exec(kb->wdb, "ROLLBACK", NULL, NULL, NULL);
    put_finalize(&q);
    pthread_mutex_unlock(&kb->write_mu);
    free(removed.v);
    free(added.v);
    free(X);
    return rc;
}

int sem_kb_delete(sem_kb *kb, const char *ext_id, sem_error *err)
{
    sem_error_clear(err);
    if (!kb || !ext_id)
        return sem_error_set(err, SEM_EINVAL, "sem_kb_delete: bad arguments");
    if (kb->read_only)
        return sem_error_set(err, SEM_EINVAL, "KB %s is open read-only", kb->dir);
    sem_kb_ids removed = {0}, none = {0};
    sqlite3_stmt *q_find = NULL, *q_pass = NULL, *q_del = NULL;
    int in_txn = 0, rc;
    int64_t seq = 0;
    pthread_mutex_lock(&kb->write_mu);
    sqlite3 *db = kb->wdb;
    if ((rc = sem_db_prepare(db, "SELECT id FROM documents WHERE ext_id = ?1", &q_find, err)) ||
        (rc = sem_db_prepare(db, "SELECT id FROM passages WHERE doc_id = ?1", &q_pass, err)) ||
        (rc = sem_db_prepare(db, "DELETE FROM documents WHERE id = ?1", &q_del, err)))
        goto out;
    if ((rc = sem_db_exec(db, "BEGIN IMMEDIATE", err)))
        goto out;
    in_txn = 1;
    sqlite3_bind_text(q_find, 1, ext_id, -1, SQLITE_STATIC);
    int s = sqlite3_step(q_find);
    if (s == SQLITE_DONE) {
        rc = sem_error_set(err, SEM_ENOTFOUND, "no document \"%s\" in %s", ext_id, kb->dir);
        goto out;
    }
    if (s != SQLITE_ROW) {
        rc = sem_db_fail(db, err, "looking up a document");
        goto out;
    }
    int64_t doc_id = sqlite3_column_int64(q_find, 0);
    if ((rc = collect_passages(db, q_pass, doc_id, &removed, err)))
        goto out;
    sqlite3_bind_int64(q_del, 1, doc_id);
    if (sqlite3_step(q_del) != SQLITE_DONE) {
        rc = sem_db_fail(db, err, "deleting a document");
        goto out;
    }
    if ((rc = sem_db_current_seq(db, &seq, err)) || (rc = sem_db_exec(db, "COMMIT", err)))
        goto out;
    in_txn = 0;
    rc = apply_to_index(kb, &removed, &none, NULL, seq, err);
out:
    if (in_txn)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(q_find);
    sqlite3_finalize(q_pass);
    sqlite3_finalize(q_del);
    pthread_mutex_unlock(&kb->write_mu);
    free(removed.v);
    return rc;
}
