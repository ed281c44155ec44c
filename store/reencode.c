/* store/reencode.c: switching a KB to another model (sem_kb_set_model_vectors, store/kb.h).
 *
 * Passages are immutable rows (a trigger refuses UPDATE), so the switch rewrites them: inside ONE write
 * transaction every passage row is copied to a temporary table (all columns, whatever the schema holds), given
 * its new vector, deleted from passages and inserted again under a new id. The ordinary triggers keep the
 * full-text index and the change log in step, so a crash after the commit is repaired like any other write (the
 * index file replays the log: old ids removed, new ids added with the new vectors), and a crash before it
 * leaves the KB exactly as it was, with the old model. The model identity is rewritten in the same
 * transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/kb_impl.h"

/* Copies the passages into temp.sem_reencode in id order and checks that ids[] are exactly their ids. */
static int stage_rows(sqlite3 *db, const int64_t *ids, int64_t n, sem_error *err)
{
    int rc = sem_db_exec(db, "DROP TABLE IF EXISTS temp.sem_reencode;"
                             "CREATE TEMP TABLE sem_reencode AS SELECT * FROM main.passages ORDER BY id;",
                         err);
    if (rc)
        return rc;
    int64_t cnt = 0;
    if ((rc = sem_db_int(db, "SELECT count(*) FROM temp.sem_reencode", NULL, 0, &cnt, err)))
        return rc;
    if (cnt != n)
        return sem_error_set(err, SEM_EMISMATCH, "the KB has %lld passages, %lld new vectors were given",
                             (long long)cnt, (long long)n);
    return SEM_OK;
}

/* Sets the new vectors in the staged rows: row k (rowid k + 1, id order) must be passage ids[k]. */
static int set_vectors(sqlite3 *db, int dim, const int64_t *ids, const float *vecs, int64_t n, sem_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sem_db_prepare(db, "UPDATE temp.sem_reencode SET vec = ?1 WHERE rowid = ?2 AND id = ?3", &st, err);
    for (int64_t k = 0; rc == SEM_OK && k < n; k++) {
        sqlite3_bind_blob(st, 1, vecs + (size_t)k * (size_t)dim, dim * (int)sizeof(float), SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, k + 1);
        sqlite3_bind_int64(st, 3, ids[k]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sem_db_fail(db, err, "staging new vectors");
        else if (sqlite3_changes(db) != 1)
            rc = sem_error_set(err, SEM_EMISMATCH, "passage %lld is not the KB's passage number %lld (ids must be "
                                                   "every passage id in ascending order)",
                               (long long)ids[k], (long long)k + 1);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int write_identity(sqlite3 *db, const sem_kb_model *m, sem_error *err)
{
    int rc;
    if ((rc = sem_db_meta_set(db, "model_name", m->name, err)) ||
        (rc = sem_db_meta_set(db, "model_hash", m->config_hash, err)) ||
        (rc = sem_db_meta_set(db, "model_pooling", m->pooling, err)) ||
        (rc = sem_db_meta_set(db, "model_normalize", m->normalize ? "1" : "0", err)))
        return rc;
    return SEM_OK;
}

static int check_args(sem_kb *kb, const sem_kb_model *model, const float *vecs, int64_t n, sem_error *err)
{
    if (kb->read_only)
        return sem_error_set(err, SEM_EINVAL, "KB %s is open read-only", kb->dir);
    if (kb->lexical_only || !kb->model.config_hash[0])
        return sem_error_set(err, SEM_EINVAL, "KB %s has no model (lexical-only or raw vectors): there is no model "
                                              "to replace", kb->dir);
    if (!model->config_hash[0] || !model->pooling[0] || strlen(model->config_hash) >= sizeof model->config_hash)
        return sem_error_set(err, SEM_EINVAL, "the new model's identity is incomplete");
    if (model->dim != kb->model.dim)
        return sem_error_set(err, SEM_EMISMATCH, "the new model makes %d-dimensional vectors, the KB holds %d",
                             model->dim, kb->model.dim);
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(float) / (uint64_t)model->dim)
        return sem_error_set(err, SEM_EINVAL, "bad passage count %lld", (long long)n);
    for (int64_t k = 0; k < n; k++) {
        int rc = sem_kb_vec_check(vecs + (size_t)k * (size_t)model->dim, model->dim, "passage", (int)k, err);
        if (rc)
            return rc;
    }
    return SEM_OK;
}

int sem_kb_set_model_vectors(sem_kb *kb, const sem_kb_model *model, const int64_t *ids, const float *vecs,
                             int64_t n, sem_error *err)
{
    sem_error_clear(err);
    if (!kb || !model || (n > 0 && (!ids || !vecs)))
        return sem_error_set(err, SEM_EINVAL, "sem_kb_set_model_vectors: bad arguments");
    int rc = check_args(kb, model, vecs, n, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&kb->write_mu);
    sqlite3 *db = kb->wdb;
    int in_txn = 0;
    if ((rc = sem_db_exec(db, "BEGIN IMMEDIATE", err)))
        goto out;
    in_txn = 1;
    if ((rc = stage_rows(db, ids, n, err)) || (rc = set_vectors(db, kb->model.dim, ids, vecs, n, err)) ||
        (rc = sem_db_exec(db, "UPDATE temp.sem_reencode SET id = NULL;"
                              "DELETE FROM main.passages;"
                              "INSERT INTO main.passages SELECT * FROM temp.sem_reencode ORDER BY rowid;"
                              "DROP TABLE temp.sem_reencode;",
                          err)) ||
        (rc = write_identity(db, model, err)))
        goto out;
    if ((rc = sem_db_exec(db, "COMMIT", err)))
        goto out;
    in_txn = 0;
    pthread_mutex_lock(&kb->meta_mu);
    kb->model = *model;
    pthread_mutex_unlock(&kb->meta_mu);
    /* Committed: from here on a failure leaves a KB that the next open repairs from the change log. */
    if ((rc = sem_kb_rebuild_swap(kb, kb->spec, err)) || (rc = sem_kb_save_locked(kb, err)))
        sem_error_prefix(err, "the new vectors are committed, but the index was not rebuilt (the next open "
                              "repairs it)");
out:
    if (in_txn) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_exec(db, "DROP TABLE IF EXISTS temp.sem_reencode", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&kb->write_mu);
    return rc;
}
