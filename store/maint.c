/* store/maint.c: info, check, compact and export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/jsonstr.h"
#include "common/log.h"
#include "common/npy.h"
#include "store/fts_tokenizer.h"
#include "store/kb_impl.h"

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

int sem_kb_get_info(sem_kb *kb, sem_kb_info *out, sem_error *err)
{
    sem_error_clear(err);
    memset(out, 0, sizeof *out);
    out->model = kb->model;
    out->metric = kb->metric;
    pthread_mutex_lock(&kb->meta_mu);
    out->schema_version = kb->schema_version;
    snprintf(out->fts_tokenizer, sizeof out->fts_tokenizer, "%s", kb->fts_tokenizer);
    pthread_mutex_unlock(&kb->meta_mu);
    out->read_only = kb->read_only;
    out->lexical_only = kb->lexical_only;
    int rc = sem_kb_count(kb, &out->n_docs, &out->n_passages, err);
    if (rc)
        return rc;
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    int64_t cur = 0;
    rc = sem_db_current_seq(db, &cur, err);
    sem_kb_conn_put(kb, db);
    if (rc)
        return rc;
    pthread_mutex_lock(&kb->meta_mu); /* not write_mu: a training writer may hold that for a long time */
    int64_t saved = kb->saved_seq;
    snprintf(out->index_spec, sizeof out->index_spec, "%s", kb->spec);
    pthread_mutex_unlock(&kb->meta_mu);
    pthread_rwlock_rdlock(&kb->ilock);
    const sem_vindex *v = kb->vi;
    snprintf(out->index_built, sizeof out->index_built, "%s", v->spec);
    sem_vindex_type(v, out->index_type, sizeof out->index_type);
    out->trained = !sem_vindex_untrained(v);
    out->nlist = sem_vindex_nlist(v);
    out->ntotal = sem_vindex_ntotal(v);
    out->n_tombstones = (int64_t)v->ntomb;
    out->trained_on = v->trained_on;
    /* Serializing a large index to measure it is not free: reuse the last estimate while the index is the same
     * object with the same contents (a web status page may ask often). */
    pthread_mutex_lock(&kb->info_mu);
    if (kb->mem_vi != v || kb->mem_seq != v->last_seq || kb->mem_ntotal != out->ntotal) {
        kb->mem_bytes = sem_vindex_mem(v);
        kb->mem_vi = v;
        kb->mem_seq = v->last_seq;
        kb->mem_ntotal = out->ntotal;
    }
    out->mem_bytes = kb->mem_bytes;
    pthread_mutex_unlock(&kb->info_mu);
    out->default_nprobe = sem_vindex_default_nprobe(v);
    out->nprobe_recall = out->nlist > 0 && v->tuned_nprobe > 0 ? v->tuned_recall : -1;
    pthread_rwlock_unlock(&kb->ilock);
    out->changes_unsaved = saved < 0 ? cur : cur - saved;
    if (out->changes_unsaved < 0)
        out->changes_unsaved = 0;
    out->index_file_bytes = file_size(kb->index_path);
    size_t n = strlen(kb->db_path) + 8;
    char *wal = malloc(n);
    out->db_file_bytes = file_size(kb->db_path);
    if (wal) {
        snprintf(wal, n, "%s-wal", kb->db_path);
        out->db_file_bytes += file_size(wal);
        free(wal);
    }
    return SEM_OK;
}

void sem_kb_check_report_clear(sem_kb_check_report *r)
{
    if (!r)
        return;
    free(r->missing_ids);
    free(r->extra_ids);
    memset(r, 0, sizeof *r);
}

#define LIST_MAX 100

int sem_kb_check(sem_kb *kb, sem_kb_check_report *r, sem_error *err)
{
    sem_error_clear(err);
    memset(r, 0, sizeof *r);
    r->missing_ids = malloc(LIST_MAX * sizeof(int64_t));
    r->extra_ids = malloc(LIST_MAX * sizeof(int64_t));
    if (!r->missing_ids || !r->extra_ids) {
        sem_kb_check_report_clear(r);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db) {
        sem_kb_check_report_clear(r);
        return err ? err->code : SEM_EIO;
    }
    int64_t *ids = NULL;
    size_t nids = 0;
    sqlite3_stmt *st = NULL;
    int rc;
    /* Hold the writer out so that SQLite and the index are compared at the same point. */
    pthread_mutex_lock(&kb->write_mu);
    pthread_rwlock_rdlock(&kb->ilock);
    rc = sem_vindex_list_ids(kb->vi, &ids, &nids, err);
    pthread_rwlock_unlock(&kb->ilock);
    if (rc)
        goto out;
    r->n_index = (int64_t)nids;
    if ((rc = sem_db_exec(db, "BEGIN", err)))
        goto out;
    if ((rc = sem_db_prepare(db, "SELECT id, length(vec), vec FROM passages ORDER BY id", &st, err)))
        goto out;
    size_t j = 0;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        r->n_passages++;
        if (!sem_kb_vec_ok(sqlite3_column_blob(st, 2), sqlite3_column_bytes(st, 2), kb->model.dim))
            r->bad_vectors++;
        while (j < nids && ids[j] < id) {
            if (r->n_extra_ids < LIST_MAX)
                r->extra_ids[r->n_extra_ids++] = ids[j];
            r->extra_in_index++;
            j++;
        }
        if (j < nids && ids[j] == id) {
            j++;
        } else {
            if (r->n_missing_ids < LIST_MAX)
                r->missing_ids[r->n_missing_ids++] = id;
            r->missing_in_index++;
        }
    }
    if (s != SQLITE_DONE) {
        rc = sem_db_fail(db, err, "reading passages");
        goto out;
    }
    for (; j < nids; j++) {
        if (r->n_extra_ids < LIST_MAX)
            r->extra_ids[r->n_extra_ids++] = ids[j];
        r->extra_in_index++;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* An external-content FTS5 table counts its content table; its docsize shadow table has one row per indexed
     * passage. */
    int64_t nfts = 0;
    if ((rc = sem_db_int(db, "SELECT count(*) FROM passages_fts_docsize", NULL, 0, &nfts, err)))
        goto out;
    r->fts_mismatch = nfts > r->n_passages ? nfts - r->n_passages : r->n_passages - nfts;
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    /* FTS5's own check compares the index with the content (rank 1): it is an INSERT, so it needs the writer's
     * connection (we hold write_mu); read-only handles rely on the count above. */
    if (kb->wdb && sqlite3_exec(kb->wdb, "INSERT INTO passages_fts(passages_fts, rank) VALUES ('integrity-check', 1)",
                                NULL, NULL, NULL) != SQLITE_OK &&
        r->fts_mismatch == 0)
        r->fts_mismatch = 1;
    if ((rc = sem_db_prepare(db, "PRAGMA integrity_check", &st, err)))
        goto out;
    s = sqlite3_step(st);
    r->sqlite_ok = s == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
out:
    pthread_mutex_unlock(&kb->write_mu);
    sqlite3_finalize(st);
    sem_kb_conn_put(kb, db);
    free(ids);
    if (rc)
        sem_kb_check_report_clear(r);
    return rc;
}

/* Rebuilds the full-text index as schema 3's with stemming (NULL: the KB's own, porter for schema 2), in one
 * transaction of the writer (caller holds write_mu). */
static int fts_rebuild_locked(sem_kb *kb, const char *stemming, sem_error *err)
{
    const char *tok = sem_kb_stemming_tokenizer(stemming);
    if (!tok)
        return sem_error_set(err, SEM_EINVAL, "unknown stemming \"%s\": use porter or none", stemming);
    if (!stemming && strcmp(kb->fts_tokenizer, SEM_FTS_TOKENIZER_NOSTEM) == 0)
        tok = SEM_FTS_TOKENIZER_NOSTEM; /* keep the KB's "none" */
    sem_log(SEM_LOG_INFO, "KB %s: building the full-text index (%s)", kb->dir, tok);
    int rc = sem_db_exec(kb->wdb, "BEGIN IMMEDIATE", err);
    if (rc)
        return rc;
    if ((rc = sem_db_fts_setup(kb->wdb, tok, err)) || (rc = sem_db_exec(kb->wdb, "COMMIT", err))) {
        sqlite3_exec(kb->wdb, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return sem_kb_read_fts(kb, kb->wdb, err);
}

int sem_kb_set_stemming(sem_kb *kb, const char *stemming, sem_error *err)
{
    sem_error_clear(err);
    if (!kb)
        return sem_error_set(err, SEM_EINVAL, "sem_kb_set_stemming: no KB");
    if (kb->read_only)
        return sem_error_set(err, SEM_EINVAL, "KB %s is open read-only", kb->dir);
    pthread_mutex_lock(&kb->write_mu);
    int rc = fts_rebuild_locked(kb, stemming, err);
    pthread_mutex_unlock(&kb->write_mu);
    return rc;
}

int sem_kb_compact(sem_kb *kb, const char *index_spec, sem_error *err)
{
    sem_error_clear(err);
    if (kb->read_only)
        return sem_error_set(err, SEM_EINVAL, "KB %s is open read-only", kb->dir);
    char spec[128], tmp[128];
    const char *want = index_spec && *index_spec ? index_spec : kb->spec;
    if (strlen(want) >= sizeof spec) /* a truncated spec could be another valid one */
        return sem_error_set(err, SEM_EINVAL, "index spec too long (max %zu bytes)", sizeof spec - 1);
    snprintf(spec, sizeof spec, "%s", want);
    int rc = sem_kb_resolve_spec(spec, 0, kb->model.dim, tmp, sizeof tmp, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&kb->write_mu);
    if (kb->schema_version < SEM_KB_SCHEMA_VERSION && (rc = fts_rebuild_locked(kb, NULL, err)))
        goto out;
    if ((rc = sem_kb_rebuild_swap(kb, spec, err)))
        goto out;
    /* The spec is recorded before the file is saved: a crash in between makes the next open see a file built
     * from another spec than the KB's, and rebuild it. */
    if (strcmp(spec, kb->spec) != 0) {
        if ((rc = sem_db_meta_set(kb->wdb, "index_spec", spec, err)))
            goto out;
        pthread_mutex_lock(&kb->meta_mu);
        snprintf(kb->spec, sizeof kb->spec, "%s", spec);
        pthread_mutex_unlock(&kb->meta_mu);
    }
    rc = sem_kb_save_locked(kb, err);
out:
    pthread_mutex_unlock(&kb->write_mu);
    return rc;
}

/* ---- export ------------------------------------------------------------------------------------------------- */

int sem_kb_export_jsonl(sem_kb *kb, FILE *out, int64_t *n_out, sem_error *err)
{
    sem_error_clear(err);
    if (n_out)
        *n_out = 0;
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    sqlite3_stmt *st = NULL;
    int d = kb->model.dim, s, rc;
    int64_t n = 0;
    float *v = malloc((size_t)d * sizeof *v);
    if (!v) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = sem_db_exec(db, "BEGIN", err)))
        goto out;
    if ((rc = sem_db_prepare(db, "SELECT p.id, d.ext_id, p.passage_no, p.start_off, p.end_off, p.text, p.vec "
                                 "FROM passages p JOIN documents d ON d.id = p.doc_id ORDER BY p.id",
                             &st, err)))
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const void *b = sqlite3_column_blob(st, 6);
        if (!sem_kb_vec_ok(b, sqlite3_column_bytes(st, 6), d)) {
            rc = sem_error_set(err, SEM_EFORMAT, "passage %lld has a damaged vector", (long long)id);
            goto out;
        }
        memcpy(v, b, (size_t)d * sizeof *v);
        fprintf(out, "{\"id\":%lld,\"doc\":", (long long)id);
        sem_json_write_string(out, (const char *)sqlite3_column_text(st, 1));
        fprintf(out, ",\"passage\":%d,\"start\":%lld,\"end\":%lld,\"text\":", sqlite3_column_int(st, 2),
                (long long)sqlite3_column_int64(st, 3), (long long)sqlite3_column_int64(st, 4));
        sem_json_write_string(out, (const char *)sqlite3_column_text(st, 5));
        fputs(",\"vector\":[", out);
        for (int j = 0; j < d; j++)
            fprintf(out, j ? ",%.9g" : "%.9g", (double)v[j]);
        fputs("]}\n", out);
        n++;
    }
    if (s != SQLITE_DONE) {
        rc = sem_db_fail(db, err, "reading passages");
        goto out;
    }
    if (ferror(out) || fflush(out) != 0)
        rc = sem_error_set(err, SEM_EIO, "writing the export failed");
out:
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sem_kb_conn_put(kb, db);
    free(v);
    if (n_out)
        *n_out = n;
    return rc;
}

/* The .npy header (common/npy.h) of a C-order array. */
static int npy_header(FILE *f, const char *descr, int64_t rows, int cols)
{
    char h[SEM_NPY_HEADER_MAX];
    size_t n = sem_npy_header(h, sizeof h, descr, (uint64_t)rows, (uint64_t)cols);
    return n && fwrite(h, 1, n, f) == n ? 0 : -1;
}

int sem_kb_export_npy(sem_kb *kb, FILE *vectors_out, FILE *ids_out, int64_t *n_out, sem_error *err)
{
    sem_error_clear(err);
    if (n_out)
        *n_out = 0;
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    sqlite3_stmt *st = NULL;
    int d = kb->model.dim, s, rc;
    int64_t n = 0, total = 0;
    if ((rc = sem_db_exec(db, "BEGIN", err)))
        goto out;
    if ((rc = sem_db_int(db, "SELECT count(*) FROM passages", NULL, 0, &total, err)))
        goto out;
    if (npy_header(vectors_out, "<f4", total, d) || (ids_out && npy_header(ids_out, "<i8", total, 0))) {
        rc = sem_error_set(err, SEM_EIO, "writing the npy header failed");
        goto out;
    }
    if ((rc = sem_db_prepare(db, "SELECT id, vec FROM passages ORDER BY id", &st, err)))
        goto out;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const void *b = sqlite3_column_blob(st, 1);
        if (!sem_kb_vec_ok(b, sqlite3_column_bytes(st, 1), d)) {
            rc = sem_error_set(err, SEM_EFORMAT, "passage %lld has a damaged vector", (long long)id);
            goto out;
        }
        /* The platform is little-endian (x86-64/aarch64), as '<f4' / '<i8' say. */
        if (fwrite(b, sizeof(float), (size_t)d, vectors_out) != (size_t)d ||
            (ids_out && fwrite(&id, sizeof id, 1, ids_out) != 1)) {
            rc = sem_error_set(err, SEM_EIO, "writing the export failed");
            goto out;
        }
        n++;
    }
    if (s != SQLITE_DONE) {
        rc = sem_db_fail(db, err, "reading passages");
        goto out;
    }
    if (n != total) {
        rc = sem_error_set(err, SEM_EINTERNAL, "passage count changed during export");
        goto out;
    }
    if (fflush(vectors_out) != 0 || (ids_out && fflush(ids_out) != 0))
        rc = sem_error_set(err, SEM_EIO, "writing the export failed");
out:
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sem_kb_conn_put(kb, db);
    if (n_out)
        *n_out = n;
    return rc;
}
