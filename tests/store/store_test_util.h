/* tests/store/store_test_util.h: helpers shared by the store tests (header-only, static). */
#ifndef SEM_STORE_TEST_UTIL_H
#define SEM_STORE_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "store/kb.h"

static inline double sem_now_test(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A small deterministic PRNG (xorshift64*), so tests are reproducible. */
static uint64_t tu_rng = 88172645463325252ull;
static inline uint64_t tu_next(void)
{
    tu_rng ^= tu_rng >> 12;
    tu_rng ^= tu_rng << 25;
    tu_rng ^= tu_rng >> 27;
    return tu_rng * 2685821657736338717ull;
}
static inline double tu_unif(void)
{
    return (double)(tu_next() >> 11) / 9007199254740992.0;
}
static inline float tu_gauss(void)
{
    double u = tu_unif(), v = tu_unif();
    if (u < 1e-12)
        u = 1e-12;
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}
static inline void tu_normalize(float *v, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += (double)v[i] * v[i];
    s = sqrt(s) + 1e-12;
    for (int i = 0; i < d; i++)
        v[i] = (float)(v[i] / s);
}

/* Clustered unit vectors: n vectors around nc random centres. x is (n, d). */
static inline void tu_clustered(float *x, int64_t n, int d, int nc, float spread)
{
    float *c = malloc((size_t)nc * d * sizeof *c);
    for (int i = 0; i < nc * d; i++)
        c[i] = tu_gauss();
    for (int i = 0; i < nc; i++)
        tu_normalize(c + (size_t)i * d, d);
    for (int64_t i = 0; i < n; i++) {
        int k = (int)(tu_next() % (uint64_t)nc);
        for (int j = 0; j < d; j++)
            x[(size_t)i * d + j] = c[(size_t)k * d + j] + spread * tu_gauss();
        tu_normalize(x + (size_t)i * d, d);
    }
    free(c);
}

/* A fresh, empty temporary directory path (not created) under TMPDIR or /tmp. */
static inline void tu_tmpdir(char *out, size_t cap, const char *tag)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, cap, "%s/semstore-%s-%d-%llu", t && *t ? t : "/tmp", tag, (int)getpid(),
             (unsigned long long)(tu_next() % 1000000));
}

static inline void tu_rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Counts warnings logged (and keeps the last one) so tests can assert a rebuild was announced. */
static int tu_warnings;
static char tu_last_warning[1024];
static inline void tu_log(int level, const char *msg, void *ud)
{
    (void)ud;
    if (level >= SEM_LOG_WARN) {
        tu_warnings++;
        snprintf(tu_last_warning, sizeof tu_last_warning, "%s", msg);
    }
    if (getenv("SEM_TEST_VERBOSE"))
        fprintf(stderr, "[log %d] %s\n", level, msg);
}

/* Puts one document with np passages whose vectors are x (np, d); texts "text of ID passage J". */
static inline int tu_put(sem_kb *kb, const char *id, const float *x, int np, const char *meta, sem_error *err)
{
    int d = sem_kb_dim(kb);
    char text[4096] = "";
    char ptext[64][96];
    sem_kb_passage ps[64];
    if (np > 64)
        np = 64;
    for (int j = 0; j < np; j++) {
        size_t off = strlen(text);
        snprintf(ptext[j], sizeof ptext[j], "text of %s passage %d", id, j);
        size_t pl = strlen(ptext[j]);
        if (off + pl + 2 > sizeof text) {
            np = j;
            break;
        }
        memcpy(text + off, ptext[j], pl);
        text[off + pl] = '\n';
        text[off + pl + 1] = 0;
        ps[j].text = ptext[j];
        ps[j].start = (int64_t)off;
        ps[j].end = (int64_t)(off + strlen(ptext[j]));
        ps[j].vec = x + (size_t)j * d;
    }
    sem_kb_doc doc = {id, "title", text, meta, ps, np};
    return sem_kb_put(kb, &doc, 1, err);
}

/* The tables of a schema-1 KB as the first builds wrote them: tests make old KBs from this SQL, written here
 * independently of store/db.c, then add their own meta rows, documents and passages. */
#define TU_SCHEMA_V1_TABLES                                                                                      \
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"                                              \
    "CREATE TABLE documents(id INTEGER PRIMARY KEY AUTOINCREMENT, ext_id TEXT NOT NULL UNIQUE,"                  \
    " title TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '',"                                            \
    " meta TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta)), created_at INTEGER NOT NULL,"                    \
    " updated_at INTEGER NOT NULL);"                                                                             \
    "CREATE TABLE passages(id INTEGER PRIMARY KEY AUTOINCREMENT,"                                                \
    " doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE, passage_no INTEGER NOT NULL,"          \
    " start_off INTEGER NOT NULL, end_off INTEGER NOT NULL, text TEXT NOT NULL, vec BLOB NOT NULL,"              \
    " UNIQUE (doc_id, passage_no));"

/* Makes the folder dir and runs sql (WAL mode first) on a new kb.sqlite there: an old KB for migration tests.
 * Returns the open database (the caller closes it) or NULL, with a failed CHECK, on an error. */
#ifdef SQLITE_OK
static inline sqlite3 *tu_old_kb(const char *dir, const char *sql)
{
    char cmd[2100], p[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    CHECK(system(cmd) == 0);
    snprintf(p, sizeof p, "%s/kb.sqlite", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(p, &db) == SQLITE_OK);
    char *msg = NULL;
    int ok = sqlite3_exec(db, "PRAGMA journal_mode=WAL;", NULL, NULL, &msg) == SQLITE_OK &&
             sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK;
    CHECK_MSG(ok, "%s", msg ? msg : "");
    sqlite3_free(msg);
    if (!ok) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}
#endif

#endif
