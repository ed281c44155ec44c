/* store/kb.c: a KB's lifecycle: the handle, open (lock, migrate, read the settings, recover the index through
 * kb_index.c), close, and the small accessors. Making a KB is kb_create.c; writes kb_write.c; reads kb_read.c;
 * search search.c; maintenance maint.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <faiss/c_api/utils/distances_c.h>

#include "common/fileio.h"
#include "common/log.h"
#include "store/kb_impl.h"

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

const char *sem_kb_dir(const sem_kb *kb)
{
    return kb->dir;
}

int sem_kb_exists(const char *dir)
{
    char *p = dir ? sem_path_join(dir, SEM_KB_DB_FILE) : NULL;
    int yes = p && sem_path_exists(p);
    free(p);
    return yes;
}

static void describe_model(const sem_kb_model *m, char *buf, size_t len)
{
    if (!m->config_hash[0])
        snprintf(buf, len, "raw vectors (dim %d)", m->dim);
    else
        snprintf(buf, len, "%s [%.12s] pooling %s%s, dim %d", m->name, m->config_hash, m->pooling,
                 m->normalize ? " normalized" : "", m->dim);
}

int sem_kb_check_model(const sem_kb *kb, const sem_kb_model *m, sem_error *err)
{
    if (sem_kb_model_match(m, &kb->model))
        return SEM_OK;
    char a[512], b[512];
    describe_model(&kb->model, a, sizeof a);
    describe_model(m, b, sizeof b);
    return sem_error_set(err, SEM_EMISMATCH, "KB %s was built with %s, not %s", kb->dir, a, b);
}

int sem_kb_ids_push(sem_kb_ids *l, int64_t id)
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

/* Takes LOCK for the one read-write opener of the KB (flock; SEM_EBUSY when another handle holds it). */
static int take_lock(sem_kb *kb, sem_error *err)
{
    kb->lock_fd = open(kb->lock_path, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (kb->lock_fd < 0)
        return sem_error_set(err, SEM_EIO, "cannot open %s: %s", kb->lock_path, strerror(errno));
    if (flock(kb->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return SEM_OK;
    if (errno == EWOULDBLOCK)
        return sem_error_set(err, SEM_EBUSY, "KB %s " SEM_KB_BUSY_TEXT " (by another process, or by another handle "
                                             "of this one)", kb->dir);
    return sem_error_set(err, SEM_EIO, "cannot lock %s: %s", kb->lock_path, strerror(errno));
}

/* A read-only opener reads a KB of the schemas this build searches (a read-write open migrates older ones). */
static int check_schema_ro(sem_kb *kb, sqlite3 *db, sem_error *err)
{
    int64_t v;
    int rc = sem_db_int(db, "PRAGMA user_version", NULL, 0, &v, err);
    if (rc || (v >= SEM_KB_SCHEMA_AUTO && v <= SEM_KB_SCHEMA_VERSION))
        return rc;
    const char *fmt = v < 1 ? "%s is not a semsearch KB (schema %lld)"
                      : v > SEM_KB_SCHEMA_VERSION ? "%s has schema %lld, newer than this build"
                                                  : "%s has the old schema %lld: open it read-write once to migrate it";
    return sem_error_set(err, SEM_EFORMAT, fmt, kb->dir, (long long)v);
}

/* Opens the database: read-write (LOCK, the writer's connection, migration; *from gets the schema it had) or
 * read-only (a pooled connection, schema check). *db: the connection to read the settings through. */
static int open_db(sem_kb *kb, sqlite3 **db, int *from, sem_error *err)
{
    int rc;
    *db = NULL;
    if (!sem_path_exists(kb->db_path))
        return sem_error_set(err, SEM_ENOTFOUND, "no KB at %s (%s is missing)", kb->dir, kb->db_path);
    if (kb->read_only) {
        if (!(*db = sem_kb_conn_get(kb, err)))
            return err ? err->code : SEM_EIO;
        return check_schema_ro(kb, *db, err);
    }
    if ((rc = take_lock(kb, err)) || (rc = sem_db_open(kb->db_path, 0, 0, &kb->wdb, err)) ||
        (rc = sem_db_migrate(kb->wdb, SEM_KB_SCHEMA_AUTO, from, err)))
        return rc;
    *db = kb->wdb;
    return SEM_OK;
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
    int64_t ntab = 0;
    int from = SEM_KB_SCHEMA_VERSION;
    if (open_db(kb, &db, &from, err) ||
        sem_db_int(db, "SELECT count(*) FROM sqlite_master WHERE type IN ('table') AND name IN "
                       "('meta', 'documents', 'passages', 'passages_fts', 'changes')",
                   NULL, 0, &ntab, err))
        goto fail;
    if (ntab != 5) {
        sem_error_set(err, SEM_EFORMAT, "%s is not a semsearch KB (its tables are missing)", kb->db_path);
        goto fail;
    }
    if (read_settings(kb, db, err) || sem_kb_read_fts(kb, db, err) ||
        (p.expect && sem_kb_check_model(kb, p.expect, err)) || sem_kb_load_or_rebuild(kb, db, from, err))
        goto fail;
    if (!kb->read_only)
        sem_kb_maintain(kb);
    else
        sem_kb_conn_put(kb, db);
    return kb;
fail:
    if (kb->read_only && db)
        sem_kb_conn_put(kb, db);
    kb_free(kb);
    return NULL;
}
