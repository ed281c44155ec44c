/* tests/store/fuzz_fts_tokenizer.c: libFuzzer target for the semsearch_cjk FTS5 tokenizer (store/fts_tokenizer.h).
 * The input is any bytes (a document or a query string as FTS5 would hand them over). It is tokenized in document,
 * query and aux (highlight) mode by semsearch_cjk alone and under porter (as schema-3 KBs use it). Invariants: no
 * crash (ASan); every token is non-empty and at most 4 bytes per input byte plus 8 (case folding never grows more);
 * its offsets lie within the input with start < end, both on UTF-8 boundaries (never inside a valid multi-byte
 * sequence); in document and aux mode the tokens that open a position (not colocated) come in order without
 * overlapping, which is what highlight() and snippet() need (a query's bigrams overlap, which is fine: FTS5 only
 * matches their positions), and a colocated token never comes first; the number of tokens is linear in the
 * input. Replayed in ctest by test_fts_tokenizer_fuzz (fuzz_replay.c) over tests/store/corpus/fts_tokenizer;
 * under clang, build-dir/tests/store/fuzz_fts_tokenizer -max_total_time=60 tests/store/corpus/fts_tokenizer
 * grows the corpus. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/fts_tokenizer.h"

typedef struct tok_inst {
    fts5_tokenizer m;
    Fts5Tokenizer *t;
} tok_inst;

static sqlite3 *db;
static tok_inst cjk, porter;

static void make(fts5_api *api, const char *name, const char **args, int nargs, tok_inst *out)
{
    void *ctx = NULL;
    if (api->xFindTokenizer(api, name, &ctx, &out->m) != SQLITE_OK ||
        out->m.xCreate(ctx, args, nargs, &out->t) != SQLITE_OK)
        abort();
}

static void setup(void)
{
    if (db)
        return;
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK || sem_fts_tokenizer_register(db, NULL) != SEM_OK ||
        sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
        abort();
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api)
        abort();
    const char *a1[] = {"remove_diacritics", "2"};
    const char *a2[] = {SEM_FTS_CJK_TOKENIZER, "remove_diacritics", "2"};
    make(api, SEM_FTS_CJK_TOKENIZER, a1, 2, &cjk);
    make(api, "porter", a2, 3, &porter);
}

typedef struct check {
    const unsigned char *boundary; /* (n + 1) flags: 1 where a character (or an invalid byte) starts, and at n */
    int n;
    int query;     /* query mode: positions may overlap */
    int last_end;  /* end of the last token that opened a position */
    long n_tokens;
} check;

static int on_token(void *p, int tflags, const char *token, int len, int start, int end)
{
    check *c = p;
    if (!token || len <= 0 || start < 0 || end > c->n || start >= end)
        abort();
    if ((size_t)len > 4 * (size_t)(end - start) + 8) /* folding: one character gives at most 4 bytes */
        abort();
    if (!c->boundary[start] || !c->boundary[end])
        abort(); /* an offset inside a UTF-8 sequence */
    if (!(tflags & FTS5_TOKEN_COLOCATED)) {
        if (start < c->last_end && !c->query)
            abort(); /* positions overlap: highlight() would copy text backwards */
        c->last_end = end;
    } else if (c->n_tokens == 0) {
        abort(); /* colocated with nothing */
    }
    if (++c->n_tokens > 2L * c->n + 2)
        abort(); /* more than linear */
    return SQLITE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size > 1 << 20)
        size = 1 << 20;
    unsigned char *boundary = calloc(size + 1, 1);
    if (!boundary)
        return 0;
    for (size_t i = 0; i < size;) {
        uint32_t cp;
        boundary[i] = 1;
        i += sem_fts_utf8_next((const char *)data + i, size - i, &cp);
    }
    boundary[size] = 1;
    const int modes[] = {FTS5_TOKENIZE_DOCUMENT, FTS5_TOKENIZE_QUERY, FTS5_TOKENIZE_AUX};
    for (int m = 0; m < 3; m++) {
        for (int which = 0; which < 2; which++) {
            tok_inst *ti = which ? &porter : &cjk;
            check c = {boundary, (int)size, modes[m] == FTS5_TOKENIZE_QUERY, 0, 0};
            if (ti->m.xTokenize(ti->t, &c, modes[m], (const char *)data, (int)size, on_token) != SQLITE_OK)
                abort();
        }
    }
    free(boundary);
    return 0;
}
