/* store/kb.c: KB lifecycle (create, open, close, save), index building and recovery, document writes/reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <faiss/c_api/utils/distances_c.h>

#include "common/fileio.h"
#include "common/log.h"
#include "store/kb_impl.h"

#define BATCH_ROWS 4096
#define MAX_EXT_ID 1024
#define MAX_PASSAGES_PER_DOC 1000000

/* ---- small public helpers ---------------------------------------------------------------------------------- */

int sem_kb_metric_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "ip") == 0)
        return SEM_KB_METRIC_IP;
    if (strcmp(name, "l2") == 0)
        return SEM_KB_METRIC_L2;
    return -1;
}

const char *sem_kb_metric_name(int metric)
{
    return metric == SEM_KB_METRIC_L2 ? "l2" : metric == SEM_KB_METRIC_IP ? "ip" : "?";
}

int sem_kb_model_match(const sem_kb_model *a, const sem_kb_model *b)
{
    return a->dim == b->dim && strcmp(a->config_hash, b->config_hash) == 0 && strcmp(a->pooling, b->pooling) == 0 &&
           (a->normalize != 0) == (b->normalize != 0);
}

sem_kb_create_params sem_kb_default_create_params(void)
{
    sem_kb_create_params p;
    memset(&p, 0, sizeof p);
    p.index_spec = "auto";
    p.metric = SEM_KB_METRIC_IP;
    return p;
}

sem_kb_open_params sem_kb_default_open_params(void)
{
    sem_kb_open_params p;
    memset(&p, 0, sizeof p);
    return p;
}

void sem_kb_get_model(const sem_kb *kb, sem_kb_model *out)
{
    *out = kb->model;
}

int sem_kb_dim(const sem_kb *kb)
{
    return kb->model.dim;
}

int sem_kb_get_metric(const sem_kb *kb)
{
    return kb->metric;
}

int sem_kb_lexical_only(const sem_kb *kb)
{
    return kb->lexical_only;
}

int sem_kb_vec_ok(const void *blob, int bytes, int dim)
{
    if (!blob || bytes != dim * (int)sizeof(float))
        return 0;
    const unsigned char *p = blob;
    for (int i = 0; i < dim; i++) {
        float f;
        memcpy(&f, p + (size_t)i * sizeof f, sizeof f);
        if (!isfinite(f))
            return 0;
    }
    return 1;
}

int sem_kb_vec_check(const float *v, int d, const char *what, int no, sem_error *err)
{
    double norm2 = 0;
    for (int i = 0; i < d; i++) {
        if (!isfinite(v[i]))
            return sem_error_set(err, SEM_EINVAL, "%s %d: vector[%d] is not finite", what, no, i);
        norm2 += (double)v[i] * v[i];
    }
    if (!(norm2 <= SEM_KB_MAX_VEC_NORM2))
        return sem_error_set(err, SEM_EINVAL, "%s %d: the vector is too large (squared norm %.3g, the limit is %.3g)",
                             what, no, norm2, SEM_KB_MAX_VEC_NORM2);
    return SEM_OK;
}

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_init(void)
{
    faiss_set_distance_compute_blas_threshold(1);
}

/* ---- the handle ------------------------------------------------------------------------------------------- */

static sem_kb *kb_alloc(const char *dir, sem_error *err)
{
    sem_kb *kb = calloc(1, sizeof *kb);
    if (!kb) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    kb->lock_fd = -1;
    pthread_mutex_init(&kb->write_mu, NULL);
    pthread_mutex_init(&kb->pool_mu, NULL);
    pthread_rwlock_init(&kb->ilock, NULL);
    pthread_mutex_init(&kb->info_mu, NULL);
    pthread_mutex_init(&kb->meta_mu, NULL);
    kb->dir = strdup(dir);
    kb->db_path = sem_path_join(dir, SEM_KB_DB_FILE);
    kb->index_path = sem_path_join(dir, SEM_KB_INDEX_FILE);
    kb->lock_path = sem_path_join(dir, SEM_KB_LOCK_FILE);
    if (!kb->dir || !kb->db_path || !kb->index_path || !kb->lock_path) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        sem_kb_close(kb);
        return NULL;
    }
    return kb;
}

static void kb_free(sem_kb *kb)
{
    for (int i = 0; i < kb->npool; i++)
        sqlite3_close(kb->pool[i]);
    free(kb->pool);
    if (kb->wdb)
        sqlite3_close(kb->wdb);
    sem_vindex_free(kb->vi);
    if (kb->lock_fd >= 0)
        close(kb->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&kb->write_mu);
    pthread_mutex_destroy(&kb->pool_mu);
    pthread_rwlock_destroy(&kb->ilock);
    pthread_mutex_destroy(&kb->info_mu);
    pthread_mutex_destroy(&kb->meta_mu);
    free(kb->dir);
    free(kb->db_path);
    free(kb->index_path);
    free(kb->lock_path);
    free(kb);
}

void sem_kb_close(sem_kb *kb)
{
    if (!kb)
        return;
    if (!kb->read_only && kb->wdb && kb->vi) {
        sem_error e;
        sem_error_clear(&e);
        pthread_mutex_lock(&kb->write_mu);
        if (sem_kb_save_locked(kb, &e) != SEM_OK)
            sem_log(SEM_LOG_WARN, "KB %s: saving the index on close failed (%s); it will be repaired from SQLite "
                                  "on the next open", kb->dir, e.msg);
        pthread_mutex_unlock(&kb->write_mu);
    }
    kb_free(kb);
}

/* ---- index building ------------------------------------------------------------------------------------------ */

/* Picks the nprobe of a new IVF index on its held-out vectors (store/vtune.c). A failure leaves the index valid
 * with the old default nprobe, so it is logged, not returned. */
static void tune_nprobe(sem_kb *kb, sem_vindex *v)
{
    sem_error e;
    sem_error_clear(&e);
    if (sem_vindex_tune_finish(v, &e) != SEM_OK)
        sem_log(SEM_LOG_WARN, "KB %s: tuning nprobe failed (%s); using the default", kb->dir, e.msg);
    else if (v->tuned_nprobe > 0)
        sem_log(SEM_LOG_INFO, "KB %s: nprobe %d reaches 10-recall@10 %.3f on held-out vectors", kb->dir,
                v->tuned_nprobe, v->tuned_recall);
}

int sem_kb_build_index(sem_kb *kb, sqlite3 *db, const char *spec, sem_vindex **out, sem_error *err)
{
    *out = NULL;
    int d = kb->model.dim;
    sem_vindex *v = NULL;
    sqlite3_stmt *st = NULL;
    float *buf = NULL;
    int64_t *ids = NULL, *sids = NULL; /* sids: the training sample's passage ids (nprobe tuning, vtune.c) */
    int64_t seq = 0, n = 0, bad = 0;
    char resolved[128];
    int rc = sem_db_exec(db, "BEGIN", err);
    if (rc)
        return rc;
    if ((rc = sem_db_current_seq(db, &seq, err)) || (rc = sem_db_int(db, "SELECT count(*) FROM passages", NULL, 0,
                                                                     &n, err)))
        goto out;
    if ((rc = sem_kb_resolve_spec(spec, n, d, resolved, sizeof resolved, err)))
        goto out;
    if ((rc = sem_vindex_new(resolved, d, kb->metric, &v, err)))
        goto out;
    if ((rc = sem_db_prepare(db, "SELECT id, vec FROM passages ORDER BY id", &st, err)))
        goto out;
    if (sem_vindex_untrained(v) && n >= v->train_min) {
        /* Train on an evenly spread sample (deterministic: every (n/ns)-th passage by id). */
        int64_t ns = v->train_min > 65536 ? v->train_min : 65536;
        if (ns > n)
            ns = n;
        if ((uint64_t)ns > SIZE_MAX / sizeof(float) / (uint64_t)d) {
            rc = sem_error_set(err, SEM_ENOMEM, "training sample too large");
            goto out;
        }
        buf = malloc((size_t)ns * (size_t)d * sizeof(float));
        sids = malloc((size_t)ns * sizeof *sids);
        if (!buf || !sids) {
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory for a %lld-vector training sample", (long long)ns);
            goto out;
        }
        int64_t got = 0, r = 0;
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW && got < ns) {
            int take = (r * ns) / n != ((r + 1) * ns) / n;
            r++;
            if (!take)
                continue;
            const void *b = sqlite3_column_blob(st, 1);
            if (!sem_kb_vec_ok(b, sqlite3_column_bytes(st, 1), d))
                continue;
            memcpy(buf + (size_t)got * d, b, (size_t)d * sizeof(float));
            sids[got++] = sqlite3_column_int64(st, 0);
        }
        if (s != SQLITE_ROW && s != SQLITE_DONE) {
            rc = sem_db_fail(db, err, "reading training vectors");
            goto out;
        }
        sqlite3_reset(st);
        sem_log(SEM_LOG_INFO, "KB %s: training %s on %lld of %lld vectors", kb->dir, resolved, (long long)got,
                (long long)n);
        if ((rc = sem_vindex_tune_begin(v, &got, sids, buf, err)) || (rc = sem_vindex_train(v, got, buf, err)))
            goto out;
        free(buf);
        buf = NULL;
    }
    buf = malloc((size_t)BATCH_ROWS * (size_t)d * sizeof(float));
    ids = malloc(BATCH_ROWS * sizeof *ids);
    if (!buf || !ids) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto out;
    }
    int nb = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(st, 1);
        if (!sem_kb_vec_ok(b, sqlite3_column_bytes(st, 1), d)) {
            bad++;
            continue;
        }
        ids[nb] = sqlite3_column_int64(st, 0);
        memcpy(buf + (size_t)nb * d, b, (size_t)d * sizeof(float));
        if (++nb == BATCH_ROWS) {
            if ((rc = sem_vindex_add(v, nb, ids, buf, err)))
                goto out;
            nb = 0;
        }
    }
    if (s != SQLITE_DONE) {
        rc = sem_db_fail(db, err, "reading vectors");
        goto out;
    }
    if (nb && (rc = sem_vindex_add(v, nb, ids, buf, err)))
        goto out;
    tune_nprobe(kb, v);
    if (bad)
        sem_log(SEM_LOG_WARN, "KB %s: %lld passages have damaged vectors and are not in the index", kb->dir,
                (long long)bad);
    v->last_seq = seq;
out:
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    free(buf);
    free(ids);
    free(sids);
    if (rc) {
        sem_vindex_free(v);
        return rc;
    }
    *out = v;
    return SEM_OK;
}

/* Applies the change log after v->last_seq to v (a read snapshot through db). *n_applied counts entries. */
static int replay_changes(sem_kb *kb, sqlite3 *db, sem_vindex *v, int64_t *n_applied, sem_error *err)
{
    int d = kb->model.dim;
    sqlite3_stmt *st = NULL, *vs = NULL;
    int64_t *rm = NULL, *add = NULL, *ids = NULL;
    size_t nrm = 0, nadd = 0, cap_rm = 0, cap_add = 0;
    float *buf = NULL;
    int64_t seq = 0;
    *n_applied = 0;
    int rc = sem_db_exec(db, "BEGIN", err);
    if (rc)
        return rc;
    if ((rc = sem_db_current_seq(db, &seq, err)))
        goto out;
    if ((rc = sem_db_prepare(db, "SELECT op, passage_id FROM changes WHERE seq > ?1 ORDER BY seq", &st, err)))
        goto out;
    sqlite3_bind_int64(st, 1, v->last_seq);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int op = sqlite3_column_int(st, 0);
        int64_t id = sqlite3_column_int64(st, 1);
        int64_t **arr = op == 2 ? &rm : &add;
        size_t *cnt = op == 2 ? &nrm : &nadd, *cap = op == 2 ? &cap_rm : &cap_add;
        if (*cnt == *cap) {
            size_t nc = *cap ? *cap * 2 : 1024;
            int64_t *p = realloc(*arr, nc * sizeof *p);
            if (!p) {
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
                goto out;
            }
            *arr = p;
            *cap = nc;
        }
        (*arr)[(*cnt)++] = id;
    }
    if (s != SQLITE_DONE) {
        rc = sem_db_fail(db, err, "reading the change log");
        goto out;
    }
    /* Ids are never reused, so deletes and adds commute: remove first, then add what still exists. */
    if (nrm && (rc = sem_vindex_remove(v, (int64_t)nrm, rm, err)))
        goto out;
    if (nadd) {
        if ((rc = sem_db_prepare(db, "SELECT vec FROM passages WHERE id = ?1", &vs, err)))
            goto out;
        buf = malloc((size_t)BATCH_ROWS * (size_t)d * sizeof(float));
        ids = malloc(BATCH_ROWS * sizeof *ids);
        if (!buf || !ids) {
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
            goto out;
        }
        int nb = 0;
        for (size_t i = 0; i < nadd; i++) {
            sqlite3_bind_int64(vs, 1, add[i]);
            s = sqlite3_step(vs);
            if (s == SQLITE_ROW) {
                const void *b = sqlite3_column_blob(vs, 0);
                if (sem_kb_vec_ok(b, sqlite3_column_bytes(vs, 0), d)) {
                    ids[nb] = add[i];
                    memcpy(buf + (size_t)nb * d, b, (size_t)d * sizeof(float));
                    nb++;
                }
            } else if (s != SQLITE_DONE) {
                rc = sem_db_fail(db, err, "reading vectors");
                goto out;
            }
            sqlite3_reset(vs);
            if (nb == BATCH_ROWS || (i + 1 == nadd && nb)) {
                if ((rc = sem_vindex_add(v, nb, ids, buf, err)))
                    goto out;
                nb = 0;
            }
        }
    }
    v->last_seq = seq;
    *n_applied = (int64_t)(nrm + nadd);
out:
    sqlite3_finalize(st);
    sqlite3_finalize(vs);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    free(rm);
    free(add);
    free(ids);
    free(buf);
    return rc;
}

/* Loads index.faiss, replays what it misses, or rebuilds it; sets kb->vi, dirty, saved_seq. */
static int load_index(sem_kb *kb, sqlite3 *db, int from_version, sem_error *err)
{
    sem_error e;
    sem_error_clear(&e);
    int64_t cur = 0, floor_seq = 0, npass = 0;
    char buf[64];
    int rc;
    if ((rc = sem_db_current_seq(db, &cur, err)) ||
        (rc = sem_db_int(db, "SELECT count(*) FROM passages", NULL, 0, &npass, err)))
        return rc;
    if (sem_db_meta_get(db, "log_floor", buf, sizeof buf, NULL) == SEM_OK)
        floor_seq = strtoll(buf, NULL, 10);
    sem_vindex *v = NULL;
    char reason[1200] = "";
    rc = sem_vindex_load(kb->index_path, kb->uuid, kb->model.dim, kb->metric, &v, &e);
    if (rc == SEM_ENOTFOUND) {
        if (npass > 0)
            snprintf(reason, sizeof reason, "the index file is missing");
    } else if (rc) {
        snprintf(reason, sizeof reason, "%s", e.msg);
    } else if (from_version < SEM_KB_SCHEMA_AUTO) { /* the change log came with schema 2 */
        snprintf(reason, sizeof reason, "the schema was migrated from version %d", from_version);
    } else if (v->last_seq > cur) {
        snprintf(reason, sizeof reason, "the index file is ahead of the database (change %lld > %lld)",
                 (long long)v->last_seq, (long long)cur);
    } else if (v->last_seq < floor_seq) {
        snprintf(reason, sizeof reason, "the index file is older than the change log (change %lld < %lld)",
                 (long long)v->last_seq, (long long)floor_seq);
    } else if (strcmp(kb->spec, "auto") != 0 && strcmp(kb->spec, v->spec) != 0) {
        snprintf(reason, sizeof reason, "the index file was built as \"%s\", the KB says \"%s\"", v->spec,
                 kb->spec);
    } else {
        int64_t applied = 0, file_seq = v->last_seq;
        rc = replay_changes(kb, db, v, &applied, &e);
        if (rc) {
            snprintf(reason, sizeof reason, "replaying the change log failed: %s", e.msg);
        } else {
            int64_t np2 = 0;
            if ((rc = sem_db_int(db, "SELECT count(*) FROM passages", NULL, 0, &np2, err))) {
                sem_vindex_free(v);
                return rc;
            }
            if (sem_vindex_nlive(v) != np2)
                snprintf(reason, sizeof reason, "the index holds %lld vectors but the database %lld passages",
                         (long long)sem_vindex_nlive(v), (long long)np2);
            else if (applied)
                sem_log(SEM_LOG_INFO, "KB %s: replayed %lld changes into the index", kb->dir, (long long)applied);
            kb->saved_seq = file_seq;
            kb->dirty = applied > 0;
        }
    }
    if (rc == SEM_OK && !reason[0] && v) {
        kb->vi = v;
        return SEM_OK;
    }
    sem_vindex_free(v);
    if (reason[0])
        sem_log(SEM_LOG_WARN, "KB %s: %s; rebuilding the index from SQLite", kb->dir, reason);
    rc = sem_kb_build_index(kb, db, kb->spec, &kb->vi, err);
    if (rc)
        return sem_error_prefix(err, "rebuilding the index of %s", kb->dir);
    kb->dirty = 1;
    kb->saved_seq = -1;
    return SEM_OK;
}

int sem_kb_refresh(sem_kb *kb, int64_t *n_applied, sem_error *err)
{
    sem_error_clear(err);
    if (n_applied)
        *n_applied = 0;
    if (!kb->read_only)
        return SEM_OK;
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    int64_t cur = 0, floor_seq = 0;
    char buf[64];
    pthread_mutex_lock(&kb->write_mu); /* one refresher at a time */
    int rc = sem_kb_read_fts(kb, db, err); /* a writer's kb compact may have moved the KB to schema 3 */
    if (!rc)
        rc = sem_db_current_seq(db, &cur, err);
    if (rc || cur == kb->vi->last_seq)
        goto out;
    if (sem_db_meta_get(db, "log_floor", buf, sizeof buf, NULL) == SEM_OK)
        floor_seq = strtoll(buf, NULL, 10);
    char spec[sizeof kb->spec];
    if (sem_db_meta_get(db, "index_spec", spec, sizeof spec, NULL) == SEM_OK) { /* a writer may have compacted */
        pthread_mutex_lock(&kb->meta_mu);
        memcpy(kb->spec, spec, sizeof spec);
        pthread_mutex_unlock(&kb->meta_mu);
    }
    if (kb->vi->last_seq >= floor_seq && kb->vi->last_seq < cur) {
        /* The log still holds what we miss: apply it to a copy-free index under the exclusive lock (the
         * delta is small; searches wait for it). */
        int64_t applied = 0;
        sem_error e;
        sem_error_clear(&e);
        pthread_rwlock_wrlock(&kb->ilock);
        int r = replay_changes(kb, db, kb->vi, &applied, &e);
        pthread_rwlock_unlock(&kb->ilock);
        if (r == SEM_OK) {
            if (n_applied)
                *n_applied = applied;
            goto out;
        }
        sem_log(SEM_LOG_WARN, "KB %s: refreshing the index failed (%s); reloading it", kb->dir, e.msg);
    }
    /* The writer saved and trimmed the log past us (or we are ahead): load its file and replay, or rebuild. */
    sem_vindex *nv = NULL;
    sem_error e;
    sem_error_clear(&e);
    int64_t applied = 0, np = 0;
    if (sem_vindex_load(kb->index_path, kb->uuid, kb->model.dim, kb->metric, &nv, &e) != SEM_OK ||
        nv->last_seq < floor_seq || nv->last_seq > cur || replay_changes(kb, db, nv, &applied, &e) != SEM_OK ||
        sem_db_int(db, "SELECT count(*) FROM passages", NULL, 0, &np, &e) != SEM_OK || sem_vindex_nlive(nv) != np) {
        sem_vindex_free(nv);
        nv = NULL;
        if ((rc = sem_kb_build_index(kb, db, kb->spec, &nv, err)))
            goto out;
    }
    pthread_rwlock_wrlock(&kb->ilock);
    sem_vindex *old = kb->vi;
    kb->vi = nv;
    pthread_rwlock_unlock(&kb->ilock);
    sem_vindex_free(old);
    if (n_applied)
        *n_applied = -1;
out:
    pthread_mutex_unlock(&kb->write_mu);
    sem_kb_conn_put(kb, db);
    return rc;
}

/* ---- save ------------------------------------------------------------------------------------------------- */

int sem_kb_save_locked(sem_kb *kb, sem_error *err)
{
    if (kb->read_only)
        return sem_error_set(err, SEM_EINVAL, "KB %s is open read-only", kb->dir);
    if (!kb->dirty)
        return SEM_OK;
    pthread_rwlock_rdlock(&kb->ilock);
    int rc = sem_vindex_save(kb->vi, kb->index_path, kb->uuid, err);
    int64_t seq = kb->vi->last_seq;
    pthread_rwlock_unlock(&kb->ilock);
    if (rc)
        return sem_error_prefix(err, "saving the index of %s", kb->dir);
    kb->dirty = 0;
    pthread_mutex_lock(&kb->meta_mu);
    kb->saved_seq = seq;
    pthread_mutex_unlock(&kb->meta_mu);
    /* The file covers everything up to seq: the log before it is no longer needed. */
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)seq);
    sem_error e;
    sem_error_clear(&e);
    sqlite3_stmt *st = NULL;
    if (sem_db_exec(kb->wdb, "BEGIN IMMEDIATE", &e) == SEM_OK) {
        int ok = sem_db_prepare(kb->wdb, "DELETE FROM changes WHERE seq <= ?1", &st, &e) == SEM_OK;
        if (ok) {
            sqlite3_bind_int64(st, 1, seq);
            ok = sqlite3_step(st) == SQLITE_DONE;
            if (!ok)
                sem_db_fail(kb->wdb, &e, "trimming the change log");
        }
        sqlite3_finalize(st);
        if (ok)
            ok = sem_db_meta_set(kb->wdb, "log_floor", num, &e) == SEM_OK;
        if (ok)
            ok = sem_db_exec(kb->wdb, "COMMIT", &e) == SEM_OK;
        if (!ok)
            sqlite3_exec(kb->wdb, "ROLLBACK", NULL, NULL, NULL);
    }
    if (e.code)
        sem_log(SEM_LOG_WARN, "KB %s: trimming the change log failed: %s", kb->dir, e.msg);
    return SEM_OK;
}

int sem_kb_save(sem_kb *kb, sem_error *err)
{
    pthread_mutex_lock(&kb->write_mu);
    int rc = sem_kb_save_locked(kb, err);
    pthread_mutex_unlock(&kb->write_mu);
    return rc;
}

int sem_kb_rebuild_swap(sem_kb *kb, const char *spec, sem_error *err)
{
    sem_vindex *nv = NULL;
    int rc = sem_kb_build_index(kb, kb->wdb, spec, &nv, err);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&kb->ilock);
    sem_vindex *old = kb->vi;
    kb->vi = nv;
    pthread_rwlock_unlock(&kb->ilock);
    sem_vindex_free(old);
    kb->dirty = 1;
    return SEM_OK;
}

static int64_t spec_nlist(const char *spec)
{
    const char *p = strstr(spec, "IVF");
    return p ? strtoll(p + 3, NULL, 10) : 0;
}

/* After a write (caller holds write_mu): train when enough vectors wait, grow an "auto" index, drop many
 * tombstones, and save now and then so that the replay on open stays short. Never fails the caller: the write
 * is committed and the current index stays valid, so problems here are logged (the next open repairs). */
static void maintain(sem_kb *kb)
{
    sem_vindex *v = kb->vi;
    int64_t live = sem_vindex_nlive(v);
    const char *why = NULL;
    char r[128];
    sem_error e;
    sem_error_clear(&e);
    if (sem_vindex_untrained(v) && live >= v->train_min) {
        why = "enough vectors to train";
    } else if (strcmp(kb->spec, "auto") == 0 && sem_kb_resolve_spec("auto", live, kb->model.dim, r, sizeof r,
                                                                     NULL) == SEM_OK &&
               strcmp(r, v->spec) != 0) {
        int64_t nb = spec_nlist(v->spec), nr = spec_nlist(r);
        if ((nb == 0 && nr > 0) || (nb > 0 && nr >= 4 * nb) || (strstr(r, "PQ") && !strstr(v->spec, "PQ")))
            why = "the corpus outgrew the automatic index";
    } else if (v->ntomb > 1000 && (int64_t)v->ntomb > live / 4) {
        why = "many deleted vectors";
    }
    if (why) {
        sem_log(SEM_LOG_INFO, "KB %s: rebuilding the index (%s)", kb->dir, why);
        if (sem_kb_rebuild_swap(kb, kb->spec, &e) != SEM_OK) {
            sem_log(SEM_LOG_WARN, "KB %s: rebuilding the index failed (%s); keeping the current one", kb->dir,
                    e.msg);
            return;
        }
    }
    int64_t pending = kb->vi->last_seq - kb->saved_seq;
    int64_t lim = live / 4 > 1000 ? live / 4 : 1000;
    if (kb->dirty && (why || kb->saved_seq < 0 || pending >= lim) && sem_kb_save_locked(kb, &e) != SEM_OK)
        sem_log(SEM_LOG_WARN, "KB %s: saving the index failed (%s); it will be repaired on the next open", kb->dir,
                e.msg);
}

/* ---- create / open -------------------------------------------------------------------------------------- */

static int check_name(const char *what, const char *s, size_t cap, sem_error *err)
{
    size_t n = strlen(s);
    if (n >= cap)
        return sem_error_set(err, SEM_EINVAL, "model %s too long (max %zu bytes)", what, cap - 1);
    if (!sem_utf8_valid(s, n, NULL))
        return sem_error_set(err, SEM_EINVAL, "model %s is not valid UTF-8", what);
    return SEM_OK;
}

static int random_hex(char *out, size_t nbytes, sem_error *err)
{
    unsigned char b[32];
    if (nbytes > sizeof b)
        return sem_error_set(err, SEM_EINTERNAL, "uuid too long");
    FILE *f = fopen("/dev/urandom", "rbe");
    size_t got = f ? fread(b, 1, nbytes, f) : 0;
    if (f)
        fclose(f);
    if (got != nbytes) {
        /* No /dev/urandom: time and address mix is still unique enough to tell KBs apart. */
        uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)(uintptr_t)out << 16) ^ (uint64_t)getpid() << 40;
        for (size_t i = 0; i < nbytes; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b[i] = (unsigned char)x;
        }
    }
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return SEM_OK;
}

sem_kb *sem_kb_create(const char *dir, const sem_kb_create_params *params, sem_error *err)
{
    sem_error_clear(err);
    if (!dir || !*dir || !params) {
        sem_error_set(err, SEM_EINVAL, "sem_kb_create: no directory or parameters");
        return NULL;
    }
    const sem_kb_model *m = &params->model;
    if (m->dim < 1 || m->dim > 65536) {
        sem_error_set(err, SEM_EINVAL, "vector dimension %d out of range 1..65536", m->dim);
        return NULL;
    }
    if (params->metric != SEM_KB_METRIC_IP && params->metric != SEM_KB_METRIC_L2) {
        sem_error_set(err, SEM_EINVAL, "unknown metric %d", params->metric);
        return NULL;
    }
    if (memchr(m->name, 0, sizeof m->name) == NULL || memchr(m->config_hash, 0, sizeof m->config_hash) == NULL ||
        memchr(m->pooling, 0, sizeof m->pooling) == NULL) {
        sem_error_set(err, SEM_EINVAL, "model identity strings are not terminated");
        return NULL;
    }
    if (check_name("name", m->name, sizeof m->name, err) || check_name("hash", m->config_hash,
                                                                       sizeof m->config_hash, err) ||
        check_name("pooling", m->pooling, sizeof m->pooling, err))
        return NULL;
    const char *spec = params->index_spec && *params->index_spec ? params->index_spec : "auto";
    const char *fts_tok = sem_kb_stemming_tokenizer(params->stemming);
    if (!fts_tok) {
        sem_error_set(err, SEM_EINVAL, "unknown stemming \"%s\": use porter or none", params->stemming);
        return NULL;
    }
    char resolved[128];
    if (sem_kb_resolve_spec(spec, 0, m->dim, resolved, sizeof resolved, err))
        return NULL;
    if (sem_mkdir_p(dir, err))
        return NULL;
    char *dbp = sem_path_join(dir, SEM_KB_DB_FILE);
    if (!dbp) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    if (sem_path_exists(dbp)) {
        sem_error_set(err, SEM_EINVAL, "%s already holds a KB (%s exists)", dir, dbp);
        free(dbp);
        return NULL;
    }
    sqlite3 *db = NULL;
    char uuid[40], num[32];
    int rc = sem_db_open(dbp, 0, 1, &db, err);
    if (rc)
        goto fail;
    if ((rc = sem_db_exec(db, "PRAGMA journal_mode=WAL;", err)) || (rc = sem_db_create_v1(db, err)))
        goto fail;
    if ((rc = random_hex(uuid, 16, err)))
        goto fail;
    if ((rc = sem_db_exec(db, "BEGIN IMMEDIATE", err)))
        goto fail;
    snprintf(num, sizeof num, "%d", m->dim);
    rc = sem_db_meta_set(db, "uuid", uuid, err);
    if (!rc)
        rc = sem_db_meta_set(db, "dim", num, err);
    if (!rc)
        rc = sem_db_meta_set(db, "metric", sem_kb_metric_name(params->metric), err);
    if (!rc)
        rc = sem_db_meta_set(db, "index_spec", spec, err);
    if (!rc)
        rc = sem_db_meta_set(db, "model_name", m->name, err);
    if (!rc)
        rc = sem_db_meta_set(db, "model_hash", m->config_hash, err);
    if (!rc)
        rc = sem_db_meta_set(db, "model_pooling", m->pooling, err);
    if (!rc)
        rc = sem_db_meta_set(db, "model_normalize", m->normalize ? "1" : "0", err);
    if (!rc)
        rc = sem_db_meta_set(db, "lexical_only", params->lexical_only ? "1" : "0", err);
    if (!rc) /* read by the 2 -> 3 migration below */
        rc = sem_db_meta_set(db, "fts_tokenizer", fts_tok, err);
    snprintf(num, sizeof num, "%lld", (long long)time(NULL));
    if (!rc)
        rc = sem_db_meta_set(db, "created_at", num, err);
    if (rc) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    if ((rc = sem_db_exec(db, "COMMIT", err)) || (rc = sem_db_migrate(db, SEM_KB_SCHEMA_VERSION, NULL, err)))
        goto fail;
    sqlite3_close(db);
    db = NULL;
    sem_kb *kb = sem_kb_open(dir, NULL, err);
    if (!kb)
        goto fail_files;
    free(dbp);
    return kb;
fail:
    sqlite3_close(db);
fail_files:
    /* Remove what this call created so that a retry starts clean. */
    {
        size_t n = strlen(dbp) + 8;
        char *p = malloc(n);
        unlink(dbp);
        if (p) {
            snprintf(p, n, "%s-wal", dbp);
            unlink(p);
            snprintf(p, n, "%s-shm", dbp);
            unlink(p);
            free(p);
        }
    }
    free(dbp);
    return NULL;
}

/* One required setting: a missing one makes the file "not a complete KB" (SEM_EFORMAT). */
static int setting(sem_kb *kb, sqlite3 *db, const char *key, char *out, size_t cap, sem_error *err)
{
    int rc = sem_db_meta_get(db, key, out, cap, err);
    if (rc == SEM_ENOTFOUND)
        return sem_error_set(err, SEM_EFORMAT, "%s: the setting \"%s\" is missing: not a complete semsearch KB",
                             kb->db_path, key);
    return rc;
}

static int read_settings(sem_kb *kb, sqlite3 *db, sem_error *err)
{
    char buf[256];
    int rc;
    if ((rc = sem_db_meta_get(db, "uuid", kb->uuid, sizeof kb->uuid, err)))
        return rc == SEM_ENOTFOUND ? sem_error_set(err, SEM_EFORMAT, "%s is not a semsearch KB (no uuid)",
                                                   kb->db_path)
                                   : rc;
    if (strlen(kb->uuid) != SEM_VINDEX_UUID_LEN)
        return sem_error_set(err, SEM_EFORMAT, "%s: malformed KB uuid", kb->db_path);
    if ((rc = setting(kb, db, "dim", buf, sizeof buf, err)))
        return rc;
    char *end;
    long dim = strtol(buf, &end, 10);
    if (*end || dim < 1 || dim > 65536)
        return sem_error_set(err, SEM_EFORMAT, "%s: bad dimension \"%s\"", kb->db_path, buf);
    kb->model.dim = (int)dim;
    if ((rc = setting(kb, db, "metric", buf, sizeof buf, err)))
        return rc;
    kb->metric = sem_kb_metric_parse(buf);
    if (kb->metric < 0)
        return sem_error_set(err, SEM_EFORMAT, "%s: bad metric \"%s\"", kb->db_path, buf);
    if ((rc = setting(kb, db, "index_spec", kb->spec, sizeof kb->spec, err)) ||
        (rc = setting(kb, db, "model_name", kb->model.name, sizeof kb->model.name, err)) ||
        (rc = setting(kb, db, "model_hash", kb->model.config_hash, sizeof kb->model.config_hash, err)) ||
        (rc = setting(kb, db, "model_pooling", kb->model.pooling, sizeof kb->model.pooling, err)) ||
        (rc = setting(kb, db, "model_normalize", buf, sizeof buf, err)))
        return rc;
    kb->model.normalize = strcmp(buf, "1") == 0;
    /* KBs made before the setting existed: the indexer made lexical-only KBs as dim 1 without a model */
    rc = sem_db_meta_get(db, "lexical_only", buf, sizeof buf, NULL);
    kb->lexical_only = rc == SEM_OK ? strcmp(buf, "1") == 0 : !kb->model.config_hash[0] && kb->model.dim == 1;
    return SEM_OK;
}

static void describe_model(const sem_kb_model *m, char *buf, size_t len)
{
    if (!m->config_hash[0])
        snprintf(buf, len, "raw vectors (dim %d)", m->dim);
    else
        snprintf(buf, len, "%s [%.12s] pooling %s%s, dim %d", m->name, m->config_hash, m->pooling,
                 m->normalize ? " normalized" : "", m->dim);
}

sem_kb *sem_kb_open(const char *dir, const sem_kb_open_params *params, sem_error *err)
{
    sem_error_clear(err);
    sem_kb_open_params p = params ? *params : sem_kb_default_open_params();
    if (!dir || !*dir) {
        sem_error_set(err, SEM_EINVAL, "no KB directory");
        return NULL;
    }
    pthread_once(&blas_once, blas_init);
    sem_kb *kb = kb_alloc(dir, err);
    if (!kb)
        return NULL;
    kb->read_only = p.read_only != 0;
    sqlite3 *db = NULL;
    int rc, from = SEM_KB_SCHEMA_VERSION;
    struct stat st;
    if (stat(kb->db_path, &st) != 0) {
        sem_error_set(err, SEM_ENOTFOUND, "no KB at %s (%s is missing)", dir, kb->db_path);
        goto fail;
    }
    if (!kb->read_only) {
        kb->lock_fd = open(kb->lock_path, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
        if (kb->lock_fd < 0) {
            sem_error_set(err, SEM_EIO, "cannot open %s: %s", kb->lock_path, strerror(errno));
            goto fail;
        }
        if (flock(kb->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK)
                sem_error_set(err, SEM_EBUSY,
                              "KB %s is already open for writing (by a running 'semsearch serve' or 'index add', "
                              "or named twice): stop that process first, or add documents through the "
                              "server's POST /documents",
                              dir);
            else
                sem_error_set(err, SEM_EIO, "cannot lock %s: %s", kb->lock_path, strerror(errno));
            goto fail;
        }
        if ((rc = sem_db_open(kb->db_path, 0, 0, &kb->wdb, err)))
            goto fail;
        if ((rc = sem_db_migrate(kb->wdb, SEM_KB_SCHEMA_AUTO, &from, err)))
            goto fail;
        db = kb->wdb;
    } else {
        db = sem_kb_conn_get(kb, err);
        if (!db)
            goto fail;
        int64_t v;
        if ((rc = sem_db_int(db, "PRAGMA user_version", NULL, 0, &v, err)))
            goto fail;
        if (v < SEM_KB_SCHEMA_AUTO || v > SEM_KB_SCHEMA_VERSION) {
            sem_error_set(err, SEM_EFORMAT,
                          v < 1 ? "%s is not a semsearch KB (schema %lld)"
                          : v > SEM_KB_SCHEMA_VERSION
                              ? "%s has schema %lld, newer than this build"
                              : "%s has the old schema %lld: open it read-write once to migrate it",
                          dir, (long long)v);
            goto fail;
        }
    }
    int64_t ntab = 0;
    if ((rc = sem_db_int(db, "SELECT count(*) FROM sqlite_master WHERE type IN ('table') AND name IN "
                             "('meta', 'documents', 'passages', 'passages_fts', 'changes')",
                         NULL, 0, &ntab, err)))
        goto fail;
    if (ntab != 5) {
        sem_error_set(err, SEM_EFORMAT, "%s is not a semsearch KB (its tables are missing)", kb->db_path);
        goto fail;
    }
    if ((rc = read_settings(kb, db, err)) || (rc = sem_kb_read_fts(kb, db, err)))
        goto fail;
    if (p.expect && !sem_kb_model_match(p.expect, &kb->model)) {
        char a[512], b[512];
        describe_model(&kb->model, a, sizeof a);
        describe_model(p.expect, b, sizeof b);
        sem_error_set(err, SEM_EMISMATCH, "KB %s was built with %s, not %s", dir, a, b);
        goto fail;
    }
    if ((rc = load_index(kb, db, from, err)))
        goto fail;
    if (!kb->read_only)
        maintain(kb);
    else
        sem_kb_conn_put(kb, db);
    return kb;
fail:
    if (kb->read_only && db)
        sem_kb_conn_put(kb, db);
    kb_free(kb);
    return NULL;
}

/* ---- writes ------------------------------------------------------------------------------------------------ */

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

/* Validates a batch and gathers its vectors into X (total, d). */
static int validate_docs(sem_kb *kb, const sem_kb_doc *docs, int n, float **X, int64_t *total, sem_error *err)
{
    int d = kb->model.dim;
    int64_t tot = 0;
    *X = NULL;
    for (int i = 0; i < n; i++) {
        const sem_kb_doc *doc = &docs[i];
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
            return sem_error_set(err, SEM_EINVAL, "document \"%s\": bad passage count %d", doc->ext_id,
                                 doc->n_passages);
        int64_t tlen = doc->text ? (int64_t)strlen(doc->text) : 0;
        for (int j = 0; j < doc->n_passages; j++) {
            const sem_kb_passage *p = &doc->passages[j];
            if (!p->text)
                return sem_error_set(err, SEM_EINVAL, "document \"%s\": passage %d has no text", doc->ext_id, j);
            char what[48];
            snprintf(what, sizeof what, "passage %d", j);
            if ((rc = check_utf8(what, doc->ext_id, p->text, err)))
                return rc;
            if (p->start < 0 || p->end < p->start || p->end > tlen)
                return sem_error_set(err, SEM_EINVAL,
                                     "document \"%s\": passage %d offsets [%lld, %lld) outside the text (%lld bytes)",
                                     doc->ext_id, j, (long long)p->start, (long long)p->end, (long long)tlen);
            if (!p->vec)
                return sem_error_set(err, SEM_EINVAL, "document \"%s\": passage %d has no vector", doc->ext_id, j);
            if ((rc = sem_kb_vec_check(p->vec, d, "passage", j, err)))
                return sem_error_prefix(err, "document \"%s\"", doc->ext_id);
        }
        tot += doc->n_passages;
    }
    /* Unique ext_ids within the batch. */
    const sem_kb_doc **ptr = malloc((size_t)n * sizeof *ptr);
    if (!ptr)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        ptr[i] = &docs[i];
    qsort(ptr, (size_t)n, sizeof *ptr, cmp_docptr);
    for (int i = 1; i < n; i++) {
        if (strcmp(ptr[i - 1]->ext_id, ptr[i]->ext_id) == 0) {
            int rc = sem_error_set(err, SEM_EINVAL, "document \"%s\" appears twice in one batch", ptr[i]->ext_id);
            free(ptr);
            return rc;
        }
    }
    free(ptr);
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

typedef struct id_list {
    int64_t *v;
    size_t n, cap;
} id_list;

static int id_push(id_list *l, int64_t id)
{
    if (l->n == l->cap) {
        size_t c = l->cap ? l->cap * 2 : 64;
        int64_t *p = realloc(l->v, c * sizeof *p);
        if (!p)
            return -1;
        l->v = p;
        l->cap = c;
    }
    l->v[l->n++] = id;
    return 0;
}

/* Collects the passage ids of document doc_id into l. */
static int collect_passages(sqlite3 *db, sqlite3_stmt *st, int64_t doc_id, id_list *l, sem_error *err)
{
    sqlite3_bind_int64(st, 1, doc_id);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (id_push(l, sqlite3_column_int64(st, 0))) {
            sqlite3_reset(st);
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
    }
    sqlite3_reset(st);
    return s == SQLITE_DONE ? SEM_OK : sem_db_fail(db, err, "reading passages");
}

/* Applies a committed change to the in-memory index (caller holds write_mu). If that fails the committed data
 * is safe in SQLite; the index is rebuilt from it. */
static int apply_to_index(sem_kb *kb, const id_list *removed, const id_list *added, const float *X, int64_t seq,
                          sem_error *err)
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
    maintain(kb);
    return SEM_OK;
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
    int64_t total = 0;
    int rc = validate_docs(kb, docs, n, &X, &total, err);
    if (rc)
        return rc;
    id_list removed = {0}, added = {0};
    sqlite3_stmt *q_find = NULL, *q_pass = NULL, *q_chk = NULL, *q_upd = NULL, *q_ins = NULL, *q_delp = NULL,
                 *q_insp = NULL;
    int in_txn = 0;
    int64_t seq = 0;
    pthread_mutex_lock(&kb->write_mu);
    sqlite3 *db = kb->wdb;
    if ((rc = sem_db_prepare(db, "SELECT id FROM documents WHERE ext_id = ?1", &q_find, err)) ||
        (rc = sem_db_prepare(db, "SELECT id FROM passages WHERE doc_id = ?1", &q_pass, err)) ||
        (rc = sem_db_prepare(db, "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END", &q_chk,
                             err)) ||
        (rc = sem_db_prepare(db, "UPDATE documents SET title = ?2, text = ?3, meta = ?4, updated_at = ?5 WHERE id = ?1",
                             &q_upd, err)) ||
        (rc = sem_db_prepare(db, "INSERT INTO documents(ext_id, title, text, meta, created_at, updated_at) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                             &q_ins, err)) ||
        (rc = sem_db_prepare(db, "DELETE FROM passages WHERE doc_id = ?1", &q_delp, err)) ||
        (rc = sem_db_prepare(db, "INSERT INTO passages(doc_id, passage_no, start_off, end_off, text, vec) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                             &q_insp, err)))
        goto out;
    for (int i = 0; i < n; i++) {
        const char *meta = docs[i].meta_json ? docs[i].meta_json : "{}";
        sqlite3_bind_text(q_chk, 1, meta, -1, SQLITE_STATIC);
        int ok = sqlite3_step(q_chk) == SQLITE_ROW && sqlite3_column_int(q_chk, 0) == 1;
        sqlite3_reset(q_chk);
        sqlite3_clear_bindings(q_chk);
        if (!ok) {
            rc = sem_error_set(err, SEM_EINVAL, "document \"%s\": metadata is not a JSON object", docs[i].ext_id);
            goto out;
        }
    }
    if ((rc = sem_db_exec(db, "BEGIN IMMEDIATE", err)))
        goto out;
    in_txn = 1;
    int64_t now = (int64_t)time(NULL);
    size_t xo = 0;
    for (int i = 0; i < n; i++) {
        const sem_kb_doc *doc = &docs[i];
        int64_t doc_id = -1;
        sqlite3_bind_text(q_find, 1, doc->ext_id, -1, SQLITE_STATIC);
        int s = sqlite3_step(q_find);
        if (s == SQLITE_ROW)
            doc_id = sqlite3_column_int64(q_find, 0);
        sqlite3_reset(q_find);
        if (s != SQLITE_ROW && s != SQLITE_DONE) {
            rc = sem_db_fail(db, err, "looking up a document");
            goto out;
        }
        const char *title = doc->title ? doc->title : "", *text = doc->text ? doc->text : "";
        const char *meta = doc->meta_json ? doc->meta_json : "{}";
        if (doc_id >= 0) {
            if ((rc = collect_passages(db, q_pass, doc_id, &removed, err)))
                goto out;
            sqlite3_bind_int64(q_delp, 1, doc_id);
            s = sqlite3_step(q_delp);
            sqlite3_reset(q_delp);
            if (s != SQLITE_DONE) {
                rc = sem_db_fail(db, err, "deleting old passages");
                goto out;
            }
            sqlite3_bind_int64(q_upd, 1, doc_id);
            sqlite3_bind_text(q_upd, 2, title, -1, SQLITE_STATIC);
            sqlite3_bind_text(q_upd, 3, text, -1, SQLITE_STATIC);
            sqlite3_bind_text(q_upd, 4, meta, -1, SQLITE_STATIC);
            sqlite3_bind_int64(q_upd, 5, now);
            s = sqlite3_step(q_upd);
            sqlite3_reset(q_upd);
            if (s != SQLITE_DONE) {
                rc = sem_db_fail(db, err, "updating a document");
                goto out;
            }
        } else {
            sqlite3_bind_text(q_ins, 1, doc->ext_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(q_ins, 2, title, -1, SQLITE_STATIC);
            sqlite3_bind_text(q_ins, 3, text, -1, SQLITE_STATIC);
            sqlite3_bind_text(q_ins, 4, meta, -1, SQLITE_STATIC);
            sqlite3_bind_int64(q_ins, 5, now);
            s = sqlite3_step(q_ins);
            sqlite3_reset(q_ins);
            if (s != SQLITE_DONE) {
                rc = sem_db_fail(db, err, "inserting a document");
                goto out;
            }
            doc_id = sqlite3_last_insert_rowid(db);
        }
        for (int j = 0; j < doc->n_passages; j++) {
            const sem_kb_passage *p = &doc->passages[j];
            sqlite3_bind_int64(q_insp, 1, doc_id);
            sqlite3_bind_int(q_insp, 2, j);
            sqlite3_bind_int64(q_insp, 3, p->start);
            sqlite3_bind_int64(q_insp, 4, p->end);
            sqlite3_bind_text(q_insp, 5, p->text, -1, SQLITE_STATIC);
            sqlite3_bind_blob(q_insp, 6, X + xo, kb->model.dim * (int)sizeof(float), SQLITE_STATIC);
            s = sqlite3_step(q_insp);
            sqlite3_reset(q_insp);
            if (s != SQLITE_DONE) {
                rc = sem_db_fail(db, err, "inserting a passage");
                goto out;
            }
            if (id_push(&added, sqlite3_last_insert_rowid(db))) {
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
                goto out;
            }
            xo += (size_t)kb->model.dim;
        }
    }
    if ((rc = sem_db_current_seq(db, &seq, err)))
        goto out;
    if ((rc = sem_db_exec(db, "COMMIT", err)))
        goto out;
    in_txn = 0;
    rc = apply_to_index(kb, &removed, &added, X, seq, err);
out:
    if (in_txn)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(q_find);
    sqlite3_finalize(q_pass);
    sqlite3_finalize(q_chk);
    sqlite3_finalize(q_upd);
    sqlite3_finalize(q_ins);
    sqlite3_finalize(q_delp);
    sqlite3_finalize(q_insp);
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
    id_list removed = {0}, none = {0};
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

/* ---- reads ---------------------------------------------------------------------------------------------- */

static char *dup_col(sqlite3_stmt *st, int i, int *oom)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    char *d = strdup(s ? s : "");
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
    sqlite3_bind_int64(qp, 1, d->id);
    int cap = 0;
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
        if (with_vectors) {
            const void *b = sqlite3_column_blob(qp, 5);
            if (!sem_kb_vec_ok(b, sqlite3_column_bytes(qp, 5), kb->model.dim)) {
                rc = sem_error_set(err, SEM_EFORMAT, "passage %lld has a damaged vector", (long long)p->id);
                goto out;
            }
            p->vec = malloc((size_t)kb->model.dim * sizeof(float));
            if (!p->vec)
                oom = 1;
            else
                memcpy(p->vec, b, (size_t)kb->model.dim * sizeof(float));
        }
    }
    if (oom) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto out;
    }
    if (s != SQLITE_DONE && s != SQLITE_ROW) {
        rc = sem_db_fail(db, err, "reading passages");
        goto out;
    }
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
