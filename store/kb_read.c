/* store/kb_read.c: reading documents and vectors back (sem_kb_get_doc, sem_kb_count, sem_kb_foreach_vector), each
 * call on a borrowed reader connection inside one read transaction. Hit details are in search.c. */
#include <stdlib.h>
#include <string.h>

#include "store/kb_impl.h"

static char *dup_col(sqlite3_stmt *st, int i, int *oom)
{
    char *d = sem_db_text_dup(st, i);
    if (!d)
        *oom = 1;
    return d;
}

void sem_kb_doc_out_free(sem_kb_doc_out *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n_passages; i++) {
        free(d->passages[i].text);
        free(d->passages[i].vec);
    }
    free(d->passages);
    free(d->ext_id);
    free(d->title);
    free(d->text);
    free(d->meta_json);
    free(d);
}

/* Reads the passages of d (qp: its passages in passage_no order) into d->passages, with their vectors when
 * with_vectors. */
static int read_passages(sem_kb *kb, sqlite3 *db, sqlite3_stmt *qp, sem_kb_doc_out *d, int with_vectors,
                         sem_error *err)
{
    int cap = 0, oom = 0, s;
    size_t vbytes = (size_t)kb->model.dim * sizeof(float);
    sqlite3_bind_int64(qp, 1, d->id);
    while ((s = sqlite3_step(qp)) == SQLITE_ROW) {
        if (d->n_passages == cap) {
            int nc = cap ? cap * 2 : 8;
            sem_kb_passage_out *p = realloc(d->passages, (size_t)nc * sizeof *p);
            if (!p) {
                oom = 1;
                break;
            }
            d->passages = p;
            cap = nc;
        }
        sem_kb_passage_out *p = &d->passages[d->n_passages++];
        memset(p, 0, sizeof *p);
        p->id = sqlite3_column_int64(qp, 0);
        p->passage_no = sqlite3_column_int(qp, 1);
        p->start = sqlite3_column_int64(qp, 2);
        p->end = sqlite3_column_int64(qp, 3);
        p->text = dup_col(qp, 4, &oom);
        if (!with_vectors)
            continue;
        const void *b = sqlite3_column_blob(qp, 5);
        if (!sem_kb_vec_ok(b, sqlite3_column_bytes(qp, 5), kb->model.dim))
            return sem_error_set(err, SEM_EFORMAT, "passage %lld has a damaged vector", (long long)p->id);
        if ((p->vec = malloc(vbytes)))
            memcpy(p->vec, b, vbytes);
        else
            oom = 1;
    }
    if (oom)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (s != SQLITE_DONE && s != SQLITE_ROW)
        return sem_db_fail(db, err, "reading passages");
    return SEM_OK;
}

int sem_kb_get_doc(sem_kb *kb, const char *ext_id, int with_vectors, sem_kb_doc_out **out, sem_error *err)
{
    sem_error_clear(err);
    *out = NULL;
    if (!ext_id)
        return sem_error_set(err, SEM_EINVAL, "no external id");
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    sqlite3_stmt *qd = NULL, *qp = NULL;
    sem_kb_doc_out *d = NULL;
    int oom = 0, rc = sem_db_exec(db, "BEGIN", err);
    if (rc)
        goto out;
    if ((rc = sem_db_prepare(db, "SELECT id, ext_id, title, text, meta, created_at, updated_at FROM documents "
                                 "WHERE ext_id = ?1",
                             &qd, err)) ||
        (rc = sem_db_prepare(db, "SELECT id, passage_no, start_off, end_off, text, vec FROM passages "
                                 "WHERE doc_id = ?1 ORDER BY passage_no",
                             &qp, err)))
        goto out;
    sqlite3_bind_text(qd, 1, ext_id, -1, SQLITE_STATIC);
    int s = sqlite3_step(qd);
    if (s == SQLITE_DONE) {
        rc = sem_error_set(err, SEM_ENOTFOUND, "no document \"%s\" in %s", ext_id, kb->dir);
        goto out;
    }
    if (s != SQLITE_ROW) {
        rc = sem_db_fail(db, err, "reading a document");
        goto out;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto out;
    }
    d->id = sqlite3_column_int64(qd, 0);
    d->ext_id = dup_col(qd, 1, &oom);
    d->title = dup_col(qd, 2, &oom);
    d->text = dup_col(qd, 3, &oom);
    d->meta_json = dup_col(qd, 4, &oom);
    d->created_at = sqlite3_column_int64(qd, 5);
    d->updated_at = sqlite3_column_int64(qd, 6);
    rc = read_passages(kb, db, qp, d, with_vectors, err);
    if (!rc && oom)
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
out:
    sqlite3_finalize(qd);
    sqlite3_finalize(qp);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sem_kb_conn_put(kb, db);
    if (rc) {
        sem_kb_doc_out_free(d);
        return rc;
    }
    *out = d;
    return SEM_OK;
}

int sem_kb_count(sem_kb *kb, int64_t *n_docs, int64_t *n_passages, sem_error *err)
{
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    int64_t a = 0, b = 0;
    int rc = sem_db_int(db, "SELECT count(*) FROM documents", NULL, 0, &a, err);
    if (!rc)
        rc = sem_db_int(db, "SELECT count(*) FROM passages", NULL, 0, &b, err);
    sem_kb_conn_put(kb, db);
    if (n_docs)
        *n_docs = a;
    if (n_passages)
        *n_passages = b;
    return rc;
}

int sem_kb_foreach_vector(sem_kb *kb, int (*cb)(void *user_data, const sem_kb_vec_row *row), void *user_data,
                          sem_error *err)
{
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    sqlite3_stmt *st = NULL;
    float *v = malloc((size_t)kb->model.dim * sizeof(float));
    int rc = v ? sem_db_exec(db, "BEGIN", err) : sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (rc)
        goto out;
    if ((rc = sem_db_prepare(db, "SELECT p.id, d.ext_id, p.passage_no, p.vec FROM passages p "
                                 "JOIN documents d ON d.id = p.doc_id ORDER BY p.id",
                             &st, err)))
        goto out;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        sem_kb_vec_row row;
        row.passage_id = sqlite3_column_int64(st, 0);
        row.doc_ext_id = (const char *)sqlite3_column_text(st, 1);
        row.passage_no = sqlite3_column_int(st, 2);
        const void *b = sqlite3_column_blob(st, 3);
        if (!sem_kb_vec_ok(b, sqlite3_column_bytes(st, 3), kb->model.dim)) {
            rc = sem_error_set(err, SEM_EFORMAT, "passage %lld has a damaged vector", (long long)row.passage_id);
            goto out;
        }
        memcpy(v, b, (size_t)kb->model.dim * sizeof(float)); /* blobs need not be float-aligned */
        row.vec = v;
        if (!row.doc_ext_id)
            row.doc_ext_id = "";
        int r = cb(user_data, &row);
        if (r) {
            rc = r;
            goto out;
        }
    }
    if (s != SQLITE_DONE)
        rc = sem_db_fail(db, err, "reading vectors");
out:
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sem_kb_conn_put(kb, db);
    free(v);
    return rc;
}
