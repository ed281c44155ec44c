/* store/kb_index.c: the KB's vector index as derived data: building it from SQLite, recovering it on open (ONE
 * path, sem_kb_load_or_rebuild: load index.faiss, check it against the change log, replay what it misses,
 * compare counts, else rebuild), saving it and keeping it in shape after writes (sem_kb_maintain). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/kb_impl.h"

#define BATCH_ROWS 4096

/* ---- batches of vectors on their way into an index ----------------------------------------------------- */

typedef struct vec_batch {
    int64_t *ids; /* (BATCH_ROWS) */
    float *x;     /* (BATCH_ROWS, d) */
    int n, d;
} vec_batch;

static int batch_init(vec_batch *b, int d, sem_error *err)
{
    b->n = 0;
    b->d = d;
    b->x = malloc((size_t)BATCH_ROWS * (size_t)d * sizeof(float));
    b->ids = malloc(BATCH_ROWS * sizeof *b->ids);
    return b->x && b->ids ? SEM_OK : sem_error_set(err, SEM_ENOMEM, "out of memory");
}

static void batch_free(vec_batch *b)
{
    free(b->x);
    free(b->ids);
}

static int batch_flush(vec_batch *b, sem_vindex *v, sem_error *err)
{
    int rc = b->n ? sem_vindex_add(v, b->n, b->ids, b->x, err) : SEM_OK;
    b->n = 0;
    return rc;
}

/* Adds one stored vector blob (checked by the caller) and flushes a full batch into v. */
static int batch_push(vec_batch *b, sem_vindex *v, int64_t id, const void *blob, sem_error *err)
{
    b->ids[b->n] = id;
    memcpy(b->x + (size_t)b->n * (size_t)b->d, blob, (size_t)b->d * sizeof(float));
    return ++b->n == BATCH_ROWS ? batch_flush(b, v, err) : SEM_OK;
}

/* ---- building ---------------------------------------------------------------------------------------------- */

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

/* Trains the untrained v on an evenly spread sample of the n passages that st (id, vec in id order) walks:
 * every (n/ns)-th passage, deterministic. Resets st for the caller's full walk. */
static int train_on_sample(sem_kb *kb, sqlite3 *db, sqlite3_stmt *st, sem_vindex *v, int64_t n, sem_error *err)
{
    int d = kb->model.dim;
    int64_t ns = v->train_min > 65536 ? v->train_min : 65536;
    if (ns > n)
        ns = n;
    if ((uint64_t)ns > SIZE_MAX / sizeof(float) / (uint64_t)d)
        return sem_error_set(err, SEM_ENOMEM, "training sample too large");
    float *x = malloc((size_t)ns * (size_t)d * sizeof(float));
    int64_t *sids = malloc((size_t)ns * sizeof *sids); /* the sample's passage ids (nprobe tuning, vtune.c) */
    int rc = x && sids ? SEM_OK
                       : sem_error_set(err, SEM_ENOMEM, "out of memory for a %lld-vector training sample",
                                       (long long)ns);
    int64_t got = 0, r = 0;
    int s = SQLITE_DONE;
    while (!rc && got < ns && (s = sqlite3_step(st)) == SQLITE_ROW) {
        int take = (r * ns) / n != ((r + 1) * ns) / n;
        r++;
        const void *b = sqlite3_column_blob(st, 1);
        if (!take || !sem_kb_vec_ok(b, sqlite3_column_bytes(st, 1), d))
            continue;
        memcpy(x + (size_t)got * d, b, (size_t)d * sizeof(float));
        sids[got++] = sqlite3_column_int64(st, 0);
    }
    if (!rc && s != SQLITE_ROW && s != SQLITE_DONE)
        rc = sem_db_fail(db, err, "reading training vectors");
    sqlite3_reset(st);
    if (!rc) {
        sem_log(SEM_LOG_INFO, "KB %s: training %s on %lld of %lld vectors", kb->dir, v->spec, (long long)got,
                (long long)n);
        if (!(rc = sem_vindex_tune_begin(v, &got, sids, x, err)))
            rc = sem_vindex_train(v, got, x, err);
    }
    free(x);
    free(sids);
    return rc;
}

/* Adds every vector that st walks to v; damaged ones are counted in *bad and left out. */
static int add_all(sem_kb *kb, sqlite3 *db, sqlite3_stmt *st, sem_vindex *v, int64_t *bad, sem_error *err)
{
    vec_batch b;
    int rc = batch_init(&b, kb->model.dim, err), s = SQLITE_DONE;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(st, 1);
        if (sem_kb_vec_ok(blob, sqlite3_column_bytes(st, 1), kb->model.dim))
            rc = batch_push(&b, v, sqlite3_column_int64(st, 0), blob, err);
        else
            ++*bad;
    }
    if (!rc && s != SQLITE_DONE)
        rc = sem_db_fail(db, err, "reading vectors");
    if (!rc)
        rc = batch_flush(&b, v, err);
    batch_free(&b);
    return rc;
}

int sem_kb_build_index(sem_kb *kb, sqlite3 *db, const char *spec, sem_vindex **out, sem_error *err)
{
    *out = NULL;
    sem_vindex *v = NULL;
    sqlite3_stmt *st = NULL;
    int64_t seq = 0, n = 0, bad = 0;
    char resolved[128];
    int rc = sem_db_exec(db, "BEGIN", err);
    if (rc)
        return rc;
    if ((rc = sem_db_current_seq(db, &seq, err)) ||
        (rc = sem_db_int(db, "SELECT count(*) FROM passages", NULL, 0, &n, err)) ||
        (rc = sem_kb_resolve_spec(spec, n, kb->model.dim, resolved, sizeof resolved, err)) ||
        (rc = sem_vindex_new(resolved, kb->model.dim, kb->metric, &v, err)) ||
        (rc = sem_db_prepare(db, "SELECT id, vec FROM passages ORDER BY id", &st, err)))
        goto out;
    if (sem_vindex_untrained(v) && n >= v->train_min && (rc = train_on_sample(kb, db, st, v, n, err)))
        goto out;
    if ((rc = add_all(kb, db, st, v, &bad, err)))
        goto out;
    tune_nprobe(kb, v);
    if (bad)
        sem_log(SEM_LOG_WARN, "KB %s: %lld passages have damaged vectors and are not in the index", kb->dir,
                (long long)bad);
    v->last_seq = seq;
out:
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc) {
        sem_vindex_free(v);
        return rc;
    }
    *out = v;
    return SEM_OK;
}

/* ---- recovery ---------------------------------------------------------------------------------------------- */

/* Reads the change log after v->last_seq into the passage ids removed (op 2) and added (other ops). */
static int read_changes(sqlite3 *db, const sem_vindex *v, sem_kb_ids *rm, sem_kb_ids *add, sem_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sem_db_prepare(db, "SELECT op, passage_id FROM changes WHERE seq > ?1 ORDER BY seq", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, v->last_seq);
    int s;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW)
        if (sem_kb_ids_push(sqlite3_column_int(st, 0) == 2 ? rm : add, sqlite3_column_int64(st, 1)))
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (!rc && s != SQLITE_DONE)
        rc = sem_db_fail(db, err, "reading the change log");
    sqlite3_finalize(st);
    return rc;
}

/* Adds the stored vectors of the passages ids that still exist to v. */
static int add_existing(sem_kb *kb, sqlite3 *db, sem_vindex *v, const sem_kb_ids *ids, sem_error *err)
{
    sqlite3_stmt *vs = NULL;
    vec_batch b = {0};
    int rc = sem_db_prepare(db, "SELECT vec FROM passages WHERE id = ?1", &vs, err);
    if (!rc)
        rc = batch_init(&b, kb->model.dim, err);
    for (size_t i = 0; !rc && i < ids->n; i++) {
        sqlite3_bind_int64(vs, 1, ids->v[i]);
        int s = sqlite3_step(vs);
        if (s == SQLITE_ROW) {
            const void *blob = sqlite3_column_blob(vs, 0);
            if (sem_kb_vec_ok(blob, sqlite3_column_bytes(vs, 0), kb->model.dim))
                rc = batch_push(&b, v, ids->v[i], blob, err);
        } else if (s != SQLITE_DONE) {
            rc = sem_db_fail(db, err, "reading vectors");
        }
        sqlite3_reset(vs);
    }
    if (!rc)
        rc = batch_flush(&b, v, err);
    batch_free(&b);
    sqlite3_finalize(vs);
    return rc;
}

/* Applies the change log after v->last_seq to v (a read snapshot through db). *n_applied counts entries. */
static int replay_changes(sem_kb *kb, sqlite3 *db, sem_vindex *v, int64_t *n_applied, sem_error *err)
{
    sem_kb_ids rm = {0}, add = {0};
    int64_t seq = 0;
    *n_applied = 0;
    int rc = sem_db_exec(db, "BEGIN", err);
    if (rc)
        return rc;
    if ((rc = sem_db_current_seq(db, &seq, err)) || (rc = read_changes(db, v, &rm, &add, err)))
        goto out;
    /* Ids are never reused, so deletes and adds commute: remove first, then add what still exists. */
    if (rm.n && (rc = sem_vindex_remove(v, (int64_t)rm.n, rm.v, err)))
        goto out;
    if (add.n && (rc = add_existing(kb, db, v, &add, err)))
        goto out;
    v->last_seq = seq;
    *n_applied = (int64_t)(rm.n + add.n);
out:
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    free(rm.v);
    free(add.v);
    return rc;
}

/* Why the loaded index v cannot be used as it is (writes reason, "" when it can): schema migrated, ahead of
 * the database, older than the change log's floor, or built from another spec. */
static void stale_reason(const sem_kb *kb, const sem_vindex *v, int from_version, int64_t cur, int64_t floor_seq,
                         char *reason, size_t cap)
{
    if (from_version < SEM_KB_SCHEMA_AUTO) /* the change log came with schema 2 */
        snprintf(reason, cap, "the schema was migrated from version %d", from_version);
    else if (v->last_seq > cur)
        snprintf(reason, cap, "the index file is ahead of the database (change %lld > %lld)",
                 (long long)v->last_seq, (long long)cur);
    else if (v->last_seq < floor_seq)
        snprintf(reason, cap, "the index file is older than the change log (change %lld < %lld)",
                 (long long)v->last_seq, (long long)floor_seq);
    else if (strcmp(kb->spec, "auto") != 0 && strcmp(kb->spec, v->spec) != 0)
        snprintf(reason, cap, "the index file was built as \"%s\", the KB says \"%s\"", v->spec, kb->spec);
}

/* Replays the change log into the loaded v and checks that it then holds every passage; sets saved_seq and
 * dirty. A failed replay or a count mismatch is a reason (rebuild); only a failing SQLite read is returned. */
static int catch_up(sem_kb *kb, sqlite3 *db, sem_vindex *v, char *reason, size_t cap, sem_error *err)
{
    sem_error e;
    sem_error_clear(&e);
    int64_t applied = 0, file_seq = v->last_seq, np = 0;
    if (replay_changes(kb, db, v, &applied, &e) != SEM_OK) {
        snprintf(reason, cap, "replaying the change log failed: %s", e.msg);
        return SEM_OK;
    }
    int rc = sem_db_int(db, "SELECT count(*) FROM passages", NULL, 0, &np, err);
    if (rc)
        return rc;
    if (sem_vindex_nlive(v) != np)
        snprintf(reason, cap, "the index holds %lld vectors but the database %lld passages",
                 (long long)sem_vindex_nlive(v), (long long)np);
    else if (applied)
        sem_log(SEM_LOG_INFO, "KB %s: replayed %lld changes into the index", kb->dir, (long long)applied);
    kb->saved_seq = file_seq;
    kb->dirty = applied > 0;
    return SEM_OK;
}

/* Loads index.faiss into *out when it is usable and caught up; else *out = NULL and reason says why ("" when
 * there is neither a file nor a passage: nothing to warn about). Returns only errors reading SQLite. */
static int load_checked(sem_kb *kb, sqlite3 *db, int from_version, sem_vindex **out, char *reason, size_t cap,
                        sem_error *err)
{
    sem_error e;
    sem_error_clear(&e);
    int64_t cur = 0, floor_seq = 0, npass = 0;
    char buf[64];
    *out = NULL;
    int rc;
    if ((rc = sem_db_current_seq(db, &cur, err)) ||
        (rc = sem_db_int(db, "SELECT count(*) FROM passages", NULL, 0, &npass, err)))
        return rc;
    if (sem_db_meta_get(db, "log_floor", buf, sizeof buf, NULL) == SEM_OK)
        floor_seq = strtoll(buf, NULL, 10);
    sem_vindex *v = NULL;
    rc = sem_vindex_load(kb->index_path, kb->uuid, kb->model.dim, kb->metric, &v, &e);
    if (rc == SEM_ENOTFOUND && npass > 0)
        snprintf(reason, cap, "the index file is missing");
    else if (rc && rc != SEM_ENOTFOUND)
        snprintf(reason, cap, "%s", e.msg);
    if (!rc)
        stale_reason(kb, v, from_version, cur, floor_seq, reason, cap);
    if (!rc && !reason[0] && (rc = catch_up(kb, db, v, reason, cap, err)) != SEM_OK) {
        sem_vindex_free(v);
        return rc;
    }
    if (v && !reason[0])
        *out = v;
    else
        sem_vindex_free(v);
    return SEM_OK;
}

int sem_kb_load_or_rebuild(sem_kb *kb, sqlite3 *db, int from_version, sem_error *err)
{
    char reason[1200] = "";
    sem_vindex *v = NULL;
    int rc = load_checked(kb, db, from_version, &v, reason, sizeof reason, err);
    if (rc)
        return rc;
    if (v) {
        kb->vi = v;
        return SEM_OK;
    }
    if (reason[0])
        sem_log(SEM_LOG_WARN, "KB %s: %s; rebuilding the index from SQLite", kb->dir, reason);
    if ((rc = sem_kb_build_index(kb, db, kb->spec, &kb->vi, err)))
        return sem_error_prefix(err, "rebuilding the index of %s", kb->dir);
    kb->dirty = 1;
    kb->saved_seq = -1;
    return SEM_OK;
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

/* ---- saving ---------------------------------------------------------------------------------------------------- */

/* The index file covers everything up to seq: the log before it is no longer needed. Failures are logged (the
 * log is only longer than it need be). */
static void trim_log(sem_kb *kb, int64_t seq)
{
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
}

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
    trim_log(kb, seq);
    return SEM_OK;
}

int sem_kb_save(sem_kb *kb, sem_error *err)
{
    pthread_mutex_lock(&kb->write_mu);
    int rc = sem_kb_save_locked(kb, err);
    pthread_mutex_unlock(&kb->write_mu);
    return rc;
}

/* ---- upkeep after writes ----------------------------------------------------------------------------------- */

static int64_t spec_nlist(const char *spec)
{
    const char *p = strstr(spec, "IVF");
    return p ? strtoll(p + 3, NULL, 10) : 0;
}

/* Why the index v should be rebuilt now (NULL: it should not): enough vectors to train, an "auto" index the
 * corpus outgrew, or many tombstones. */
static const char *rebuild_reason(const sem_kb *kb, const sem_vindex *v)
{
    int64_t live = sem_vindex_nlive(v);
    char r[128];
    if (sem_vindex_untrained(v) && live >= v->train_min)
        return "enough vectors to train";
    if (strcmp(kb->spec, "auto") == 0 &&
        sem_kb_resolve_spec("auto", live, kb->model.dim, r, sizeof r, NULL) == SEM_OK && strcmp(r, v->spec) != 0) {
        int64_t nb = spec_nlist(v->spec), nr = spec_nlist(r);
        if ((nb == 0 && nr > 0) || (nb > 0 && nr >= 4 * nb) || (strstr(r, "PQ") && !strstr(v->spec, "PQ")))
            return "the corpus outgrew the automatic index";
        return NULL;
    }
    if (v->ntomb > 1000 && (int64_t)v->ntomb > live / 4)
        return "many deleted vectors";
    return NULL;
}

void sem_kb_maintain(sem_kb *kb)
{
    int64_t live = sem_vindex_nlive(kb->vi);
    const char *why = rebuild_reason(kb, kb->vi);
    sem_error e;
    sem_error_clear(&e);
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
