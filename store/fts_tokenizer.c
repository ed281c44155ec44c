/* store/fts_tokenizer.c: semsearch_cjk, unicode61 with CJK bigrams (see fts_tokenizer.h). */
#include "store/fts_tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "common/jsonstr.h"

typedef int (*token_fn)(void *ctx, int tflags, const char *token, int n, int start, int end);

/* One instance: a unicode61 instance made with the same options, for everything that is not CJK. */
typedef struct cjk_tokenizer {
    fts5_tokenizer u61; /* unicode61's methods */
    Fts5Tokenizer *u61_tok;
} cjk_tokenizer;

int sem_fts_is_cjk(uint32_t c)
{
    if (c < 0x1100)
        return 0;
    if (c < 0x3000)
        return c <= 0x11FF; /* Hangul Jamo */
    if (c < 0x3100) /* ideographic marks and numerals, Hiragana, Katakana (not ゠ nor the middle dot ・) */
        return c == 0x3005 || c == 0x3007 || (c >= 0x3021 && c <= 0x3029) || (c >= 0x3038 && c <= 0x303B) ||
               (c >= 0x3041 && c <= 0x309F) || (c >= 0x30A1 && c <= 0x30FF && c != 0x30FB);
    return (c >= 0x3131 && c <= 0x318E) ||                     /* Hangul compatibility Jamo */
           (c >= 0x31F0 && c <= 0x31FF) ||                     /* Katakana phonetic extensions */
           (c >= 0x3400 && c <= 0x4DBF) ||                     /* CJK extension A */
           (c >= 0x4E00 && c <= 0x9FFF) ||                     /* CJK unified ideographs */
           (c >= 0xA960 && c <= 0xA97F) ||                     /* Hangul Jamo extended A */
           (c >= 0xAC00 && c <= 0xD7A3) ||                     /* Hangul syllables */
           (c >= 0xD7B0 && c <= 0xD7FF) ||                     /* Hangul Jamo extended B */
           (c >= 0xF900 && c <= 0xFAFF) ||                     /* CJK compatibility ideographs */
           (c >= 0xFF66 && c <= 0xFF9F) ||                     /* halfwidth Katakana */
           (c >= 0xFFA0 && c <= 0xFFDC) ||                     /* halfwidth Hangul */
           (c >= 0x1B000 && c <= 0x1B16F) ||                   /* Kana supplement and extensions */
           (c >= 0x20000 && c <= 0x2FA1F) || (c >= 0x30000 && c <= 0x323AF); /* extensions B-H */
}

size_t sem_fts_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = sem_utf8_seq_len(s, n);
    if (len == 0) {
        *cp = 0xFFFFFFFFu;
        return 1;
    }
    static const unsigned char lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    uint32_t c = u[0] & lead_mask[len];
    for (size_t k = 1; k < len; k++)
        c = (c << 6) | (u[k] & 0x3F);
    *cp = c;
    return len;
}

static int cjk_create(void *api_ptr, const char **args, int nargs, Fts5Tokenizer **out)
{
    fts5_api *api = api_ptr;
    *out = NULL;
    cjk_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return SQLITE_NOMEM;
    void *u61_ctx = NULL;
    int rc = api->xFindTokenizer(api, "unicode61", &u61_ctx, &t->u61);
    if (rc == SQLITE_OK)
        rc = t->u61.xCreate(u61_ctx, args, nargs, &t->u61_tok); /* unicode61 checks the options */
    if (rc != SQLITE_OK) {
        free(t);
        return rc;
    }
    *out = (Fts5Tokenizer *)t;
    return SQLITE_OK;
}

static void cjk_delete(Fts5Tokenizer *tok)
{
    cjk_tokenizer *t = (cjk_tokenizer *)tok;
    if (!t)
        return;
    t->u61.xDelete(t->u61_tok);
    free(t);
}

/* Passes unicode61's tokens of one segment on with their offsets moved to the whole text's. An empty token
 * (unicode61 gives one for a word of combining marks that remove_diacritics folds away) matches nothing and is
 * left out. */
typedef struct shifted {
    void *ctx;
    token_fn emit;
    int base;
} shifted;

static int shift_token(void *p, int tflags, const char *token, int n, int start, int end)
{
    shifted *s = p;
    if (n <= 0)
        return SQLITE_OK;
    return s->emit(s->ctx, tflags, token, n, start + s->base, end + s->base);
}

/* The text [from, to) holds no CJK character: unicode61 tokenizes it. */
static int plain_segment(cjk_tokenizer *t, void *ctx, int flags, const char *text, int from, int to, token_fn emit)
{
    if (from >= to)
        return SQLITE_OK;
    shifted s = {ctx, emit, from};
    return t->u61.xTokenize(t->u61_tok, &s, flags, text + from, to - from, shift_token);
}

/* The CJK character at [a, a + na) is followed in its run by the one at [a + na, a + na + nb). */
static int cjk_pair(void *ctx, int query, const char *text, int a, int na, int nb, token_fn emit)
{
    if (query) /* a query's phrase: its bigrams, then its last character (cjk_last) */
        return emit(ctx, 0, text + a, na + nb, a, a + na + nb);
    int rc = emit(ctx, 0, text + a, na, a, a + na);
    return rc != SQLITE_OK ? rc : emit(ctx, FTS5_TOKEN_COLOCATED, text + a, na + nb, a, a + na + nb);
}

/* The last character of a run (the only one of a one-character run). */
static int cjk_last(void *ctx, const char *text, int a, int na, token_fn emit)
{
    return emit(ctx, 0, text + a, na, a, a + na);
}

static int cjk_tokenize(Fts5Tokenizer *tok, void *ctx, int flags, const char *text, int n, token_fn emit)
{
    cjk_tokenizer *t = (cjk_tokenizer *)tok;
    int query = (flags & (FTS5_TOKENIZE_QUERY | FTS5_TOKENIZE_PREFIX)) != 0;
    int seg = 0;              /* start of the text not yet tokenized */
    int prev = -1, nprev = 0; /* the previous character of the current CJK run, if any */
    int rc = SQLITE_OK;
    if (!text || n <= 0)
        return SQLITE_OK;
    for (int i = 0; i < n && rc == SQLITE_OK;) {
        uint32_t cp;
        int len = (int)sem_fts_utf8_next(text + i, (size_t)(n - i), &cp);
        if (!sem_fts_is_cjk(cp)) {
            if (prev >= 0) { /* a run ends */
                rc = cjk_last(ctx, text, prev, nprev, emit);
                prev = -1;
                seg = i;
            }
            i += len;
            continue;
        }
        if (prev < 0) /* a run starts: the text before it first */
            rc = plain_segment(t, ctx, flags, text, seg, i, emit);
        else
            rc = cjk_pair(ctx, query, text, prev, nprev, len, emit);
        prev = i;
        nprev = len;
        i += len;
    }
    if (rc != SQLITE_OK)
        return rc;
    return prev >= 0 ? cjk_last(ctx, text, prev, nprev, emit) : plain_segment(t, ctx, flags, text, seg, n, emit);
}

int sem_fts_tokenizer_register(sqlite3 *db, sem_error *err)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (!api || api->iVersion < 2)
        return sem_error_set(err, SEM_ESQLITE, "this SQLite library has no FTS5 (needed for text search)");
    fts5_tokenizer methods = {cjk_create, cjk_delete, cjk_tokenize};
    if (api->xCreateTokenizer(api, SEM_FTS_CJK_TOKENIZER, api, &methods, NULL) != SQLITE_OK)
        return sem_error_set(err, SEM_ESQLITE, "registering the %s tokenizer: %s", SEM_FTS_CJK_TOKENIZER,
                             sqlite3_errmsg(db));
    return SEM_OK;
}
