/* tests/store/test_store_corrupt.c: damaged files give clear errors or a rebuild from SQLite, never a crash:
 * truncated / empty / random / bit-flipped / missing index files, an index from another KB, a database that
 * is not SQLite or not a KB, a database from another model, a newer schema, a damaged vector row. */
#include "test.h"
#include "test_util.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "store/fts_tokenizer.h"
#include "store/kb.h"
#include "store_test_util.h"

#define D 16
#define N 1000

static float X[N * D];
static char A[1024], B[1024];

static void path_of(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static sem_kb *make(const char *dir, const char *hash)
{
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = D;
    cp.index_spec = "IVF16,Flat";
    snprintf(cp.model.config_hash, sizeof cp.model.config_hash, "%s", hash);
    snprintf(cp.model.name, sizeof cp.model.name, "model-%s", hash);
    snprintf(cp.model.pooling, sizeof cp.model.pooling, "mean");
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    CHECK_MSG(kb != NULL, "create %s: %s", dir, err.msg);
    if (!kb)
        return NULL;
    char id[32];
    sem_kb_passage ps[100];
    sem_kb_doc docs[100];
    char ids[100][32];
    for (int s = 0; s < N; s += 100) {
        for (int i = 0; i < 100; i++) {
            snprintf(ids[i], sizeof ids[i], "doc-%d", s + i);
            ps[i] = (sem_kb_passage){"some words here", 0, 0, X + (size_t)(s + i) * D};
            docs[i] = (sem_kb_doc){ids[i], "t", "", NULL, &ps[i], 1};
        }
        CHECK_EQ_INT(sem_kb_put(kb, docs, 100, &err), SEM_OK);
    }
    (void)id;
    return kb;
}

/* Opens dir, expects success and a healthy, searchable KB; returns the number of warnings logged. */
static int open_and_verify(const char *dir, const char *what)
{
    sem_error err;
    int w0 = tu_warnings;
    sem_kb *kb = sem_kb_open(dir, NULL, &err);
    CHECK_MSG(kb != NULL, "%s: open failed: %s", what, err.msg);
    if (!kb)
        return -1;
    int warned = tu_warnings - w0;
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = 1;
    sp.nprobe = 16;
    sem_kb_hit h;
    int nh = 0;
    CHECK_EQ_INT(sem_kb_search(kb, X + 123 * D, 1, &sp, &h, &nh, &err), SEM_OK);
    CHECK_MSG(nh == 1 && h.passage_id == 124, "%s: self search gave %lld", what, (long long)h.passage_id);
    sem_kb_check_report r;
    CHECK_EQ_INT(sem_kb_check(kb, &r, &err), SEM_OK);
    CHECK_MSG(r.missing_in_index == 0 && r.extra_in_index == 0 && r.n_index == N, "%s: index != SQLite", what);
    sem_kb_check_report_clear(&r);
    sem_kb_info inf;
    CHECK_EQ_INT(sem_kb_get_info(kb, &inf, &err), SEM_OK);
    CHECK_MSG(inf.trained, "%s: index not trained", what);
    sem_kb_close(kb);
    return warned;
}

/* The index must be rebuilt (with a warning), saved, and a second open must be quiet. */
static void expect_rebuild(const char *what, const char *needle)
{
    tu_last_warning[0] = 0;
    int w = open_and_verify(A, what);
    CHECK_MSG(w >= 1, "%s: no warning logged", what);
    CHECK_MSG(strstr(tu_last_warning, "rebuilding") != NULL, "%s: warning was \"%s\"", what, tu_last_warning);
    if (needle)
        CHECK_MSG(strstr(tu_last_warning, needle) != NULL, "%s: warning \"%s\" lacks \"%s\"", what,
                  tu_last_warning, needle);
    CHECK_MSG(open_and_verify(A, what) == 0, "%s: second open still warns: %s", what, tu_last_warning);
}

static void write_bytes(const char *path, const unsigned char *b, size_t n)
{
    CHECK_MSG(tst_write_file(path, b, n) == 0, "cannot write %s", path);
}

static int sql(const char *dir, const char *stmt)
{
    char p[2048];
    path_of(p, sizeof p, dir, "kb.sqlite");
    sqlite3 *db;
    if (sqlite3_open(p, &db) != SQLITE_OK || sem_fts_tokenizer_register(db, NULL) != SEM_OK) /* passages_fts's */
        return -1;
    char *msg = NULL;
    int rc = sqlite3_exec(db, stmt, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sql: %s\n", msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc;
}

int main(void)
{
    sem_log_set(tu_log, NULL);
    tu_clustered(X, N, D, 20, 0.2f);
    char base[512];
    tu_tmpdir(base, sizeof base, "corrupt");
    snprintf(A, sizeof A, "%s/a", base);
    snprintf(B, sizeof B, "%s/b", base);
    sem_kb *ka = make(A, "hash-a"), *kb_b = make(B, "hash-b");
    sem_kb_close(ka);
    sem_kb_close(kb_b);
    CHECK_EQ_INT(open_and_verify(A, "pristine"), 0);

    char idx[2048], idxb[2048], dbp[2048];
    path_of(idx, sizeof idx, A, "index.faiss");
    path_of(idxb, sizeof idxb, B, "index.faiss");
    path_of(dbp, sizeof dbp, A, "kb.sqlite");
    size_t n = 0;
    unsigned char *good = (unsigned char *)tst_slurp(idx, &n);
    CHECK(good != NULL && n > 1000);
    if (!good)
        TEST_END();

    /* Truncated index. */
    write_bytes(idx, good, n / 2);
    expect_rebuild("truncated index", "truncat");
    write_bytes(idx, good, 100); /* shorter than our header */
    expect_rebuild("header-only index", "truncat");
    write_bytes(idx, good, 0);
    expect_rebuild("empty index", NULL);
    /* Random bytes, with and without our magic. */
    unsigned char *rnd = malloc(n);
    for (size_t i = 0; i < n; i++)
        rnd[i] = (unsigned char)tu_next();
    write_bytes(idx, rnd, n);
    expect_rebuild("random index", "magic");
    memcpy(rnd, good, 256); /* our valid header, random FAISS bytes */
    write_bytes(idx, rnd, n);
    expect_rebuild("random payload", "checksum");
    free(rnd);
    /* One flipped bit in the middle of the FAISS bytes, and one in the header. */
    unsigned char *flip = malloc(n);
    memcpy(flip, good, n);
    flip[n / 2] ^= 0x10;
    write_bytes(idx, flip, n);
    expect_rebuild("bit flip in payload", "checksum");
    memcpy(flip, good, n);
    flip[60] ^= 0x01;
    write_bytes(idx, flip, n);
    expect_rebuild("bit flip in header", NULL);
    free(flip);
    /* Missing index. */
    unlink(idx);
    expect_rebuild("missing index", "missing");
    /* An index from another KB (same dimension and metric). */
    size_t nb = 0;
    unsigned char *other = (unsigned char *)tst_slurp(idxb, &nb);
    CHECK(other != NULL && nb > 1000);
    write_bytes(idx, other, nb);
    free(other);
    expect_rebuild("index of another KB", "another KB");
    /* A stale index: an older file than the database (the change log has been trimmed past it). */
    write_bytes(idx, good, n);
    {
        sem_error err;
        sem_kb *kb = sem_kb_open(A, NULL, &err);
        CHECK(kb != NULL);
        if (kb) {
            float v[D] = {1};
            sem_kb_passage p = {"extra", 0, 0, v};
            sem_kb_doc doc = {"extra", NULL, NULL, NULL, &p, 1};
            CHECK_EQ_INT(sem_kb_put(kb, &doc, 1, &err), SEM_OK);
            CHECK_EQ_INT(sem_kb_delete(kb, "extra", &err), SEM_OK);
            sem_kb_close(kb); /* saves and trims the log */
        }
        write_bytes(idx, good, n); /* the old file comes back (e.g. restored from a backup) */
        expect_rebuild("stale index", "older than the change log");
    }
    /* Random mutations (bit flips anywhere, truncation, appended bytes): every one is detected before FAISS
     * reads the file, and the KB comes back whole. */
    for (int it = 0; it < 60; it++) {
        unsigned char *m = malloc(n + 64);
        memcpy(m, good, n);
        size_t len = n;
        int kind = it % 3;
        if (kind == 0) {
            int flips = 1 + (int)(tu_next() % 4);
            for (int f = 0; f < flips; f++)
                m[tu_next() % n] ^= (unsigned char)(1u << (tu_next() % 8));
        } else if (kind == 1) {
            len = (size_t)(tu_next() % n);
        } else {
            size_t extra = 1 + (size_t)(tu_next() % 64);
            for (size_t i = 0; i < extra; i++)
                m[n + i] = (unsigned char)tu_next();
            len = n + extra;
        }
        if (kind == 0 && memcmp(m, good, n) == 0) {
            free(m);
            continue; /* two flips of the same bit cancelled out */
        }
        write_bytes(idx, m, len);
        free(m);
        char what[64];
        snprintf(what, sizeof what, "mutation %d (kind %d)", it, kind);
        int w = open_and_verify(A, what);
        CHECK_MSG(w >= 1, "%s went undetected", what);
    }
    free(good);

    /* A database from another model. */
    {
        sem_error err;
        sem_kb_model m;
        memset(&m, 0, sizeof m);
        m.dim = D;
        snprintf(m.config_hash, sizeof m.config_hash, "hash-b");
        snprintf(m.pooling, sizeof m.pooling, "mean");
        sem_kb_open_params op = sem_kb_default_open_params();
        op.expect = &m;
        CHECK(sem_kb_open(A, &op, &err) == NULL);
        CHECK_EQ_INT(err.code, SEM_EMISMATCH);
        CHECK(strstr(err.msg, "model-hash-a") != NULL);
        sem_kb *kbb = sem_kb_open(B, &op, &err);
        CHECK_MSG(kbb != NULL, "B with its own model: %s", err.msg);
        sem_kb_close(kbb);
    }

    /* A damaged vector row: reported by check, skipped by rebuilds, never a crash. */
    CHECK_EQ_INT(sql(A, "DROP TRIGGER passages_au; UPDATE passages SET vec = x'0102' WHERE id = 7;"
                        "CREATE TRIGGER passages_au BEFORE UPDATE ON passages BEGIN"
                        " SELECT RAISE(ABORT, 'passages are immutable: delete and insert'); END;"),
                 SQLITE_OK);
    {
        sem_error err;
        sem_kb *kb = sem_kb_open(A, NULL, &err);
        CHECK(kb != NULL);
        if (kb) {
            sem_kb_check_report r;
            CHECK_EQ_INT(sem_kb_check(kb, &r, &err), SEM_OK);
            CHECK_EQ_INT(r.bad_vectors, 1);
            sem_kb_check_report_clear(&r);
            CHECK_EQ_INT(sem_kb_compact(kb, NULL, &err), SEM_OK);
            CHECK_EQ_INT(sem_kb_check(kb, &r, &err), SEM_OK);
            CHECK_EQ_INT(r.missing_in_index, 1);
            CHECK(r.n_missing_ids == 1 && r.missing_ids[0] == 7);
            sem_kb_check_report_clear(&r);
            sem_kb_doc_out *d = NULL;
            CHECK_EQ_INT(sem_kb_get_doc(kb, "doc-6", 1, &d, &err), SEM_EFORMAT);
            CHECK(d == NULL);
            FILE *devnull = fopen("/dev/null", "w");
            CHECK_EQ_INT(sem_kb_export_npy(kb, devnull, NULL, NULL, &err), SEM_EFORMAT);
            fclose(devnull);
            sem_kb_close(kb);
        }
    }

    /* A damaged FTS index (tokens removed that the content still has): found by check (read-write: FTS5's
     * integrity-check) and by the row count (read-only) when a row goes missing. */
    CHECK_EQ_INT(sql(A, "INSERT INTO passages_fts(passages_fts, rowid, text, title) "
                        "VALUES ('delete', 5, 'some words here', 't');"),
                 SQLITE_OK);
    {
        sem_error err;
        sem_kb *kb = sem_kb_open(A, NULL, &err);
        CHECK(kb != NULL);
        if (kb) {
            sem_kb_check_report r;
            CHECK_EQ_INT(sem_kb_check(kb, &r, &err), SEM_OK);
            CHECK_MSG(r.fts_mismatch >= 1, "FTS damage not found");
            sem_kb_check_report_clear(&r);
            sem_kb_close(kb);
        }
        sem_kb_open_params op = sem_kb_default_open_params();
        op.read_only = 1;
        kb = sem_kb_open(A, &op, &err);
        CHECK(kb != NULL);
        if (kb) {
            sem_kb_check_report r;
            CHECK_EQ_INT(sem_kb_check(kb, &r, &err), SEM_OK);
            CHECK_MSG(r.fts_mismatch >= 1, "FTS row loss not found read-only");
            sem_kb_check_report_clear(&r);
            sem_kb_close(kb);
        }
    }

    /* Databases that are not KBs. */
    {
        sem_error err;
        CHECK(sem_kb_open(base, NULL, &err) == NULL); /* no kb.sqlite */
        CHECK_EQ_INT(err.code, SEM_ENOTFOUND);
        char nb_path[1100];
        snprintf(nb_path, sizeof nb_path, "%s/nonexistent", base);
        CHECK(sem_kb_open(nb_path, NULL, &err) == NULL);
        CHECK_EQ_INT(err.code, SEM_ENOTFOUND);
        /* A newer schema than this build. */
        CHECK_EQ_INT(sql(B, "PRAGMA user_version = 99;"), SQLITE_OK);
        CHECK(sem_kb_open(B, NULL, &err) == NULL);
        CHECK_EQ_INT(err.code, SEM_EFORMAT);
        CHECK(strstr(err.msg, "newer") != NULL);
        /* A bad setting. */
        CHECK_EQ_INT(sql(B, "PRAGMA user_version = 2; UPDATE meta SET value = '-3' WHERE key = 'dim';"), SQLITE_OK);
        CHECK(sem_kb_open(B, NULL, &err) == NULL);
        CHECK_EQ_INT(err.code, SEM_EFORMAT);
        /* An empty SQLite file, then random bytes (remove the WAL files so SQLite sees only the junk). */
        char p[2048];
        path_of(p, sizeof p, B, "kb.sqlite-wal");
        unlink(p);
        path_of(p, sizeof p, B, "kb.sqlite-shm");
        unlink(p);
        path_of(p, sizeof p, B, "kb.sqlite");
        write_bytes(p, (const unsigned char *)"", 0);
        CHECK(sem_kb_open(B, NULL, &err) == NULL);
        CHECK_EQ_INT(err.code, SEM_EFORMAT);
        unsigned char junk[8192];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (unsigned char)tu_next();
        write_bytes(p, junk, sizeof junk);
        CHECK(sem_kb_open(B, NULL, &err) == NULL);
        CHECK_EQ_INT(err.code, SEM_EFORMAT);
        sem_kb_open_params op = sem_kb_default_open_params();
        op.read_only = 1;
        CHECK(sem_kb_open(B, &op, &err) == NULL);
        CHECK(err.code == SEM_EFORMAT || err.code == SEM_EIO);
        /* A plain SQLite database of someone else. */
        unlink(p);
        sqlite3 *db;
        CHECK(sqlite3_open(p, &db) == SQLITE_OK);
        sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 2;", NULL, NULL, NULL);
        sqlite3_close(db);
        CHECK(sem_kb_open(B, NULL, &err) == NULL);
        CHECK_EQ_INT(err.code, SEM_EFORMAT);
        CHECK(err.msg[0] != 0);
    }
    tu_rm_rf(base);
    TEST_END();
}
