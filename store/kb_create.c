/* store/kb_create.c: making a new KB (sem_kb_create): check the parameters, write an empty database with the
 * KB's settings (uuid, dimension, metric, index spec, model identity, full-text tokenizer), migrate it to the
 * current schema and open it. A failure removes what the call created. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "store/kb_impl.h"

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

/* Checks the parameters of a new KB; *fts_tok receives the full-text tokenizer of its stemming. */
static int check_params(const char *dir, const sem_kb_create_params *params, const char **fts_tok, sem_error *err)
{
    if (!dir || !*dir || !params)
        return sem_error_set(err, SEM_EINVAL, "sem_kb_create: no directory or parameters");
    const sem_kb_model *m = &params->model;
    if (m->dim < 1 || m->dim > 65536)
        return sem_error_set(err, SEM_EINVAL, "vector dimension %d out of range 1..65536", m->dim);
    if (params->metric != SEM_KB_METRIC_IP && params->metric != SEM_KB_METRIC_L2)
        return sem_error_set(err, SEM_EINVAL, "unknown metric %d", params->metric);
    if (memchr(m->name, 0, sizeof m->name) == NULL || memchr(m->config_hash, 0, sizeof m->config_hash) == NULL ||
        memchr(m->pooling, 0, sizeof m->pooling) == NULL)
        return sem_error_set(err, SEM_EINVAL, "model identity strings are not terminated");
    int rc;
    if ((rc = check_name("name", m->name, sizeof m->name, err)) ||
        (rc = check_name("hash", m->config_hash, sizeof m->config_hash, err)) ||
        (rc = check_name("pooling", m->pooling, sizeof m->pooling, err)))
        return rc;
    if (!(*fts_tok = sem_kb_stemming_tokenizer(params->stemming)))
        return sem_error_set(err, SEM_EINVAL, "unknown stemming \"%s\": use porter or none", params->stemming);
    char resolved[128];
    return sem_kb_resolve_spec(params->index_spec && *params->index_spec ? params->index_spec : "auto", 0, m->dim,
                               resolved, sizeof resolved, err);
}

/* Writes the settings of a new KB into db (one transaction). */
static int write_settings(sqlite3 *db, const sem_kb_create_params *params, const char *fts_tok, sem_error *err)
{
    const sem_kb_model *m = &params->model;
    char uuid[40], dim[32], now[32];
    int rc = random_hex(uuid, 16, err);
    if (rc || (rc = sem_db_exec(db, "BEGIN IMMEDIATE", err)))
        return rc;
    snprintf(dim, sizeof dim, "%d", m->dim);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *kv[][2] = {
        {"uuid", uuid},
        {"dim", dim},
        {"metric", sem_kb_metric_name(params->metric)},
        {"index_spec", params->index_spec && *params->index_spec ? params->index_spec : "auto"},
        {"model_name", m->name},
        {"model_hash", m->config_hash},
        {"model_pooling", m->pooling},
        {"model_normalize", m->normalize ? "1" : "0"},
        {"lexical_only", params->lexical_only ? "1" : "0"},
        {"fts_tokenizer", fts_tok}, /* read by the 2 -> 3 migration */
        {"created_at", now},
    };
    for (size_t i = 0; i < sizeof kv / sizeof *kv && !rc; i++)
        rc = sem_db_meta_set(db, kv[i][0], kv[i][1], err);
    if (rc) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return sem_db_exec(db, "COMMIT", err);
}

/* Removes the database files at dbp (and its WAL and shared-memory files) so that a retry starts clean. */
static void remove_db_files(const char *dbp)
{
    static const char *const sfx[] = {"", "-wal", "-shm"};
    size_t n = strlen(dbp) + 8;
    char *p = malloc(n);
    unlink(dbp);
    for (size_t i = 1; p && i < sizeof sfx / sizeof *sfx; i++) {
        snprintf(p, n, "%s%s", dbp, sfx[i]);
        unlink(p);
    }
    free(p);
}

sem_kb *sem_kb_create(const char *dir, const sem_kb_create_params *params, sem_error *err)
{
    sem_error_clear(err);
    const char *fts_tok = NULL;
    if (check_params(dir, params, &fts_tok, err) || sem_mkdir_p(dir, err))
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
    sem_kb *kb = NULL;
    if (sem_db_open(dbp, 0, 1, &db, err) == SEM_OK && sem_db_exec(db, "PRAGMA journal_mode=WAL;", err) == SEM_OK &&
        sem_db_create_v1(db, err) == SEM_OK && write_settings(db, params, fts_tok, err) == SEM_OK &&
        sem_db_migrate(db, SEM_KB_SCHEMA_VERSION, NULL, err) == SEM_OK) {
        sqlite3_close(db);
        db = NULL;
        kb = sem_kb_open(dir, NULL, err);
    }
    sqlite3_close(db);
    if (!kb)
        remove_db_files(dbp);
    free(dbp);
    return kb;
}
