/* tests/store/fuzz_filter_sql.c: libFuzzer target for the metadata filter -> SQL builder (sem_kb_filter_check,
 * sem_kb_filter_sql, sem_kb_filter_bind through sem_kb_filter_prepare, store/kb_impl.h).
 * Input: byte 0 = number of pairs (0..255, so past SEM_KB_MAX_FILTER_KEYS), byte 1 = first parameter number,
 * then keys and values separated by '\n' (key, value, key, value...). Invariants: no crash; the filter is either
 * refused with SEM_EINVAL or its statement prepares, binds and runs to the end against a real schema without an
 * SQLite error; the user's text only ever reaches SQLite as bound parameters (the SQL text itself is the same for
 * every filter with the same number of pairs).
 * Replayed in ctest by test_filter_sql_fuzz over tests/store/corpus/filter_sql. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/kb_impl.h"

#define MAX_PAIRS 255

static sqlite3 *db;

static void setup(void)
{
    if (db)
        return;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "CREATE TABLE documents(id INTEGER PRIMARY KEY, meta TEXT NOT NULL);"
                     "CREATE TABLE passages(id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL);"
                     "INSERT INTO documents VALUES (1, '{\"lang\":\"en\",\"n\":3,\"ok\":true}'),"
                     "(2, '{\"a.b\":\"x\"}'),"
                     "(3, '{}'), (4, '{\"k\":[1,2],\"o\":{\"p\":1}}');"
                     "INSERT INTO passages VALUES (1, 1), (2, 1), (3, 2), (4, 3), (5, 4);",
                     NULL, NULL, NULL) != SQLITE_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 2 || size > 1 << 16)
        return 0;
    int n = data[0], first = 1 + data[1] % 8;
    char *buf = malloc(size - 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 2, size - 2);
    buf[size - 2] = 0;
    const char *items[2 * MAX_PAIRS];
    int n_items = 0;
    for (char *p = buf; n_items < 2 * MAX_PAIRS;) {
        items[n_items++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = 0;
        p = nl + 1;
    }
    if (n > n_items / 2)
        n = n_items / 2;
    const char *keys[MAX_PAIRS], *vals[MAX_PAIRS];
    for (int i = 0; i < n; i++) {
        keys[i] = items[2 * i];
        vals[i] = items[2 * i + 1];
    }
    sem_kb_filter f = {keys, vals, n};
    sem_error err;
    int check = sem_kb_filter_check(&f, &err);
    if (check != SEM_OK && check != SEM_EINVAL)
        abort();
    sqlite3_stmt *st = NULL;
    const char *head = first == 1 ? "SELECT count(*) FROM passages p JOIN documents d ON d.id = p.doc_id WHERE 1"
                                  : "SELECT count(*) FROM passages p JOIN documents d ON d.id = p.doc_id WHERE "
                                    "?1 IS NOT NULL OR 1";
    int rc = sem_kb_filter_prepare(db, head, &f, first, " LIMIT 5", &st, &err);
    if (rc != check) /* the builder accepts exactly what the check accepts */
        abort();
    if (rc == SEM_OK) {
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (s != SQLITE_DONE)
            abort();
        /* user text never becomes SQL: the statement's text does not depend on the keys or values */
        const char *sql = sqlite3_sql(st);
        for (int i = 0; sql && i < n; i++)
            if (strlen(keys[i]) > 3 && strstr(sql, keys[i]) && !strstr(head, keys[i]) &&
                !strstr(" AND CAST(json_extract(d.meta, ?) AS TEXT) = ? LIMIT 5", keys[i]))
                abort();
    }
    sqlite3_finalize(st);
    free(buf);
    return 0;
}
