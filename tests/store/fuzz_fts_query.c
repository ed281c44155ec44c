/* tests/store/fuzz_fts_query.c: libFuzzer target for the FTS5 query builder (store/fts_query.h).
 * The input is a query text. Invariants: the builder never crashes (ASan) and either refuses the text (SEM_EINVAL:
 * not UTF-8, too long) or builds a query that (1) has the shape "w" OR "w" ... with at most SEM_FTS_MAX_WORDS
 * strings and (2) runs as MATCH on a real FTS5 table with the store's tokenizer without any SQLite error.
 * Replayed in ctest by test_fts_query_fuzz (fuzz_replay.c) over tests/store/corpus/fts_query; under clang,
 * build-dir/tests/store/fuzz_fts_query -max_total_time=60 tests/store/corpus/fts_query grows the corpus. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/fts_query.h"
#include "store/kb.h"

static sqlite3 *db;
static sqlite3_stmt *st;

static void setup(void)
{
    if (db)
        return;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "CREATE VIRTUAL TABLE t USING fts5(text, tokenize='" SEM_FTS_TOKENIZER "');"
                     "INSERT INTO t VALUES ('the quick brown fox'), ('caf\xc3\xa9 na\xc3\xafve x'),"
                     "('\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e text'), ('AND OR NOT NEAR');",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT rowid, bm25(t) FROM t WHERE t MATCH ?1 ORDER BY bm25(t)", -1, &st, NULL) !=
            SQLITE_OK)
        abort();
}

/* The shape: one or more "..." strings (a '"' inside doubled) separated by exactly " OR ". */
static int well_formed(const char *q)
{
    int words = 0;
    const char *p = q;
    if (!*p)
        return 1;
    for (;;) {
        if (*p++ != '"')
            return 0;
        for (;;) {
            if (!*p)
                return 0;
            if (*p == '"' && p[1] == '"') {
                p += 2;
                continue;
            }
            if (*p++ == '"')
                break;
        }
        words++;
        if (!*p)
            return words <= SEM_FTS_MAX_WORDS;
        if (strncmp(p, " OR ", 4) != 0)
            return 0;
        p += 4;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size > SEM_KB_MAX_QUERY_BYTES + 16)
        size = SEM_KB_MAX_QUERY_BYTES + 16;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0; /* an embedded NUL ends the text, as in C callers */
    sem_error err;
    char *q = NULL;
    int rc = sem_fts_query(text, &q, &err);
    if (rc != SEM_OK && rc != SEM_EINVAL)
        abort();
    if (rc == SEM_OK) {
        if (!q || !well_formed(q))
            abort();
        if (q[0]) {
            sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
            int s;
            while ((s = sqlite3_step(st)) == SQLITE_ROW)
                ;
            if (s != SQLITE_DONE)
                abort(); /* an FTS5 syntax error: the builder let syntax through */
            sqlite3_reset(st);
        }
    }
    free(q);
    free(text);
    return 0;
}
