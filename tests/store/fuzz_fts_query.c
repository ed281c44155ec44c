/* tests/store/fuzz_fts_query.c: libFuzzer target for the FTS5 query builder (store/fts_query.h).
 * The input is a query text. Invariants: the builder never crashes (ASan) and either refuses the text (SEM_EINVAL:
 * not UTF-8, too long) or builds a query that (1) has the shape "w" OR "w" ... with at most SEM_FTS_MAX_WORDS
 * strings and (2) runs as MATCH on a real FTS5 table without any SQLite error: built with cjk = 1 on a table
 * like schema 3's (text and title, tokenize='porter semsearch_cjk remove_diacritics 2', with bm25 column weights),
 * and with cjk = 0 on one like schema 2's (unicode61).
 * Replayed in ctest by test_fts_query_fuzz (fuzz_replay.c) over tests/store/corpus/fts_query; under clang,
 * build-dir/tests/store/fuzz_fts_query -max_total_time=60 tests/store/corpus/fts_query grows the corpus. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/fts_query.h"
#include "store/fts_tokenizer.h"
#include "store/kb.h"

static sqlite3 *db;
static sqlite3_stmt *st[2]; /* [cjk]: the schema-2 table, the schema-3 table */

#define ROWS                                                                                                      \
    " VALUES ('the quick brown fox', 'a title'), ('caf\xc3\xa9 na\xc3\xafve x', ''),"                                \
    "('\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e text \xe6\x96\xb0\xe5\x86\xa0\xe7\x97\x85\xe6\xaf\x92', '\xe7\x97\x85'), ('AND OR NOT NEAR', 'infection');"

static void setup(void)
{
    if (db)
        return;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK || sem_fts_tokenizer_register(db, NULL) != SEM_OK ||
        sqlite3_exec(db,
                     "CREATE VIRTUAL TABLE t2 USING fts5(text, title, tokenize='" SEM_FTS_TOKENIZER_V2 "');"
                     "CREATE VIRTUAL TABLE t3 USING fts5(text, title, tokenize='" SEM_FTS_TOKENIZER_PORTER "');"
                     "INSERT INTO t2(text, title)" ROWS "INSERT INTO t3(text, title)" ROWS,
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT rowid, bm25(t2) FROM t2 WHERE t2 MATCH ?1 ORDER BY bm25(t2)", -1, &st[0],
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT rowid, highlight(t3, 0, '[', ']'), bm25(t3, 1.0, 2.0) FROM t3 "
                               "WHERE t3 MATCH ?1 ORDER BY bm25(t3, 1.0, 2.0)", -1, &st[1], NULL) != SQLITE_OK)
        abort();
}

/* Parses one or more "..." strings (a '"' inside doubled) separated by exactly " OR " at *pp; returns how many,
 * 0 if malformed. */
static int or_list(const char **pp)
{
    const char *p = *pp;
    int words = 0;
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
        if (strncmp(p, " OR ", 4) != 0)
            break;
        p += 4;
    }
    *pp = p;
    return words;
}

/* The shape: "" or an OR list of at most SEM_FTS_MAX_WORDS strings, or "(C) AND (T)" with C and T such lists
 * (the content terms, and all the terms). */
static int well_formed(const char *q)
{
    if (!*q)
        return 1;
    if (*q != '(') {
        int n = or_list(&q);
        return n > 0 && n <= SEM_FTS_MAX_WORDS && !*q;
    }
    q++;
    int c = or_list(&q);
    if (c == 0 || strncmp(q, ") AND (", 7) != 0)
        return 0;
    q += 7;
    int t = or_list(&q);
    return t > c && t <= SEM_FTS_MAX_WORDS && q[0] == ')' && q[1] == 0;
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
    for (int cjk = 0; cjk < 2; cjk++) {
        sem_error err;
        char *q = NULL;
        int rc = sem_fts_query(text, cjk, &q, &err);
        if (rc != SEM_OK && rc != SEM_EINVAL)
            abort();
        if (rc == SEM_OK) {
            if (!q || !well_formed(q))
                abort();
            if (q[0]) {
                sqlite3_bind_text(st[cjk], 1, q, -1, SQLITE_STATIC);
                int s;
                while ((s = sqlite3_step(st[cjk])) == SQLITE_ROW)
                    ;
                if (s != SQLITE_DONE)
                    abort(); /* an FTS5 syntax error: the builder let syntax through */
                sqlite3_reset(st[cjk]);
            }
        }
        free(q);
    }
    free(text);
    return 0;
}
