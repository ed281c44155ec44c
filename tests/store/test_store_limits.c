/* tests/store/test_store_limits.c: the store's input limits and checks:
 *  - the FTS5 query builder (store/fts_query.h) on many one-letter words (a heap overflow before: the buffer was
 *    sized n*3+16 while "x" became "x" OR ), long words, quotes, the word cap, the byte limit, bad UTF-8; and the
 *    same query through sem_kb_search_text;
 *  - filters: SEM_KB_MAX_FILTER_KEYS pairs of the longest keys work (a 2 KiB SQL buffer and a limit of 16
 *    before), one more is SEM_EINVAL;
 *  - vectors: non-finite or overflowing values are refused in put and search, so scores are always finite;
 *    nprobe / ef_search bounds;
 *  - lexical-only KBs refuse vector search (the flag, and the rule for KBs made before it);
 *  - a missing setting gives a readable SEM_EFORMAT message (it was printed over itself);
 *  - index specs: the grammar sem_kb_check_spec accepts, and what it refuses before FAISS sees it. */
#include "test.h"

#include <float.h>
#include <sqlite3.h>

#include "store/fts_query.h"
#include "store/kb.h"
#include "store_test_util.h"

#define D 4

static void test_fts_builder(void)
{
    sem_error err;
    char *q = NULL;
    char in[200], want[1000];
    /* 64 one-letter words: the old buffer (n*3+16 = 397 bytes) was 48 bytes short of the 444-byte query */
    size_t o = 0, w = 0;
    for (int i = 0; i < 64; i++) {
        o += (size_t)snprintf(in + o, sizeof in - o, i ? " x" : "x");
        w += (size_t)snprintf(want + w, sizeof want - w, i ? " OR \"x\"" : "\"x\"");
    }
    CHECK_EQ_INT(sem_fts_query(in, 1, &q, &err), SEM_OK);
    CHECK(q && strcmp(q, want) == 0);
    free(q);
    /* 100 words: only the first SEM_FTS_MAX_WORDS are searched */
    char many[400];
    o = 0;
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(many + o, sizeof many - o, "%c%d ", 'a' + i % 26, i); /* no stopword */
    CHECK_EQ_INT(sem_fts_query(many, 1, &q, &err), SEM_OK);
    int quotes = 0;
    for (char *p = q; p && *p; p++)
        quotes += *p == '"';
    CHECK_EQ_INT(quotes, 2 * SEM_FTS_MAX_WORDS);
    free(q);
    /* punctuation and FTS5 syntax are separators; non-ASCII stays inside words; stopwords (a, d) only score */
    CHECK_EQ_INT(sem_fts_query("NEAR(a* \"b\") -c:d ^e caf\xc3\xa9", 1, &q, &err), SEM_OK);
    CHECK_STREQ(q, "(\"NEAR\" OR \"b\" OR \"c\" OR \"e\" OR \"caf\xc3\xa9\") AND "
                   "(\"NEAR\" OR \"a\" OR \"b\" OR \"c\" OR \"d\" OR \"e\" OR \"caf\xc3\xa9\")");
    free(q);
    CHECK_EQ_INT(sem_fts_query(" ,;()* ", 1, &q, &err), SEM_OK);
    CHECK_STREQ(q, "");
    free(q);
    /* the limit: SEM_KB_MAX_QUERY_BYTES bytes (one long word) pass, one more byte does not */
    char *big = malloc(SEM_KB_MAX_QUERY_BYTES + 2);
    memset(big, 'y', SEM_KB_MAX_QUERY_BYTES + 1);
    big[SEM_KB_MAX_QUERY_BYTES] = 0;
    CHECK_EQ_INT(sem_fts_query(big, 1, &q, &err), SEM_OK);
    CHECK(q && strlen(q) == SEM_KB_MAX_QUERY_BYTES + 2);
    free(q);
    big[SEM_KB_MAX_QUERY_BYTES] = 'y';
    big[SEM_KB_MAX_QUERY_BYTES + 1] = 0;
    CHECK_EQ_INT(sem_fts_query(big, 1, &q, &err), SEM_EINVAL);
    CHECK(strstr(err.msg, "65536") != NULL);
    free(big);
    CHECK_EQ_INT(sem_fts_query("bad \xff utf8", 1, &q, &err), SEM_EINVAL);
    /* quotes inside a string are doubled (words never hold one today; a future tokenizer might) */
    sem_strbuf b = {0};
    sem_fts_put_string(&b, "a\"b\"", 4);
    char *s = sem_strbuf_finish(&b);
    CHECK_STREQ(s, "\"a\"\"b\"\"\"");
    free(s);
}

static sem_kb *make_kb(const char *dir, int lexical_only, int dim)
{
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = dim;
    cp.index_spec = "Flat";
    cp.lexical_only = lexical_only;
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    CHECK_MSG(kb != NULL, "%s", err.msg);
    return kb;
}

static void test_text_search_and_filters(const char *base)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/text", base);
    sem_kb *kb = make_kb(dir, 0, D);
    if (!kb)
        return;
    sem_error err;
    float x[D] = {1, 0, 0, 0};
    CHECK_EQ_INT(tu_put(kb, "x1", x, 1, "{\"lang\":\"en\"}", &err), SEM_OK);
    CHECK_EQ_INT(tu_put(kb, "x2", x, 1, "{\"lang\":\"de\"}", &err), SEM_OK);
    char q[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(q, i ? " x" : "x"); /* 40 one-letter words overflowed the query buffer */
    strcat(q, " x1");
    sem_kb_search_params sp = sem_kb_default_search_params();
    sem_kb_hit hits[10];
    int nh = -1;
    CHECK_EQ_INT(sem_kb_search_text(kb, q, &sp, hits, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 1); /* "text of x1 passage 0" */

    /* SEM_KB_MAX_FILTER_KEYS pairs (all lang=en, so x1 passes): ~3 KiB of SQL through every filtered path */
    const char *keys[SEM_KB_MAX_FILTER_KEYS + 1], *vals[SEM_KB_MAX_FILTER_KEYS + 1];
    for (int i = 0; i <= SEM_KB_MAX_FILTER_KEYS; i++) {
        keys[i] = "lang";
        vals[i] = "en";
    }
    sem_kb_filter f = {keys, vals, SEM_KB_MAX_FILTER_KEYS};
    sp.filter = &f;
    CHECK_EQ_INT(sem_kb_search_text(kb, "text", &sp, hits, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 1);
    CHECK_EQ_INT(sem_kb_search(kb, x, 1, &sp, hits, &nh, &err), SEM_OK); /* exact over the matches */
    CHECK_EQ_INT(nh, 1);
    sp.filter_exact_max = -1; /* over-fetch from the index, checking each hit with its own SQL */
    CHECK_EQ_INT(sem_kb_search(kb, x, 1, &sp, hits, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 1);
    sp.filter_exact_max = 0;
    f.n = SEM_KB_MAX_FILTER_KEYS + 1;
    CHECK_EQ_INT(sem_kb_search_text(kb, "text", &sp, hits, &nh, &err), SEM_EINVAL);
    /* keys: SEM_KB_MAX_FILTER_KEY_BYTES bytes pass, one more does not */
    char longkey[SEM_KB_MAX_FILTER_KEY_BYTES + 2];
    memset(longkey, 'k', sizeof longkey);
    longkey[SEM_KB_MAX_FILTER_KEY_BYTES] = 0;
    keys[0] = longkey;
    f.n = 1;
    CHECK_EQ_INT(sem_kb_search_text(kb, "text", &sp, hits, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 0);
    longkey[SEM_KB_MAX_FILTER_KEY_BYTES] = 'k';
    longkey[SEM_KB_MAX_FILTER_KEY_BYTES + 1] = 0;
    CHECK_EQ_INT(sem_kb_search_text(kb, "text", &sp, hits, &nh, &err), SEM_EINVAL);
    sp.filter = NULL;

    /* vectors: a float near FLT_MAX used to give inf scores ("score": null over HTTP) */
    float huge[D] = {3.3e38f, 0, 0, 0}, nan_[D] = {NAN, 0, 0, 0}, big[D] = {1e17f, 1e17f, 0, 0};
    CHECK_EQ_INT(sem_kb_search(kb, huge, 1, &sp, hits, &nh, &err), SEM_EINVAL);
    CHECK(strstr(err.msg, "too large") != NULL);
    CHECK_EQ_INT(sem_kb_search(kb, nan_, 1, &sp, hits, &nh, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_kb_search(kb, big, 1, &sp, hits, &nh, &err), SEM_OK);
    for (int i = 0; i < nh; i++)
        CHECK(isfinite(hits[i].score));
    CHECK_EQ_INT(tu_put(kb, "huge", huge, 1, NULL, &err), SEM_EINVAL);
    CHECK(strstr(err.msg, "huge") != NULL && strstr(err.msg, "too large") != NULL);
    sp.ef_search = 1 << 21;
    CHECK_EQ_INT(sem_kb_search(kb, x, 1, &sp, hits, &nh, &err), SEM_EINVAL);
    sp.ef_search = 0;
    sp.nprobe = -1;
    CHECK_EQ_INT(sem_kb_search(kb, x, 1, &sp, hits, &nh, &err), SEM_EINVAL);
    sem_kb_info info;
    CHECK_EQ_INT(sem_kb_get_info(kb, &info, &err), SEM_OK);
    CHECK_EQ_INT(info.lexical_only, 0);
    sem_kb_close(kb);
}

static int exec_sql(const char *dir, const char *sql)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kb.sqlite", dir);
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static void test_lexical_only(const char *base)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/lex", base);
    sem_kb *kb = make_kb(dir, 1, 1);
    if (!kb)
        return;
    sem_error err;
    float zero[1] = {0};
    CHECK_EQ_INT(tu_put(kb, "a", zero, 1, NULL, &err), SEM_OK);
    sem_kb_search_params sp = sem_kb_default_search_params();
    sem_kb_hit hits[10];
    int nh = -1;
    CHECK_EQ_INT(sem_kb_search(kb, zero, 1, &sp, hits, &nh, &err), SEM_EINVAL); /* was: 1 hit scored 0 */
    CHECK(strstr(err.msg, "lexical-only") != NULL);
    CHECK_EQ_INT(sem_kb_search_text(kb, "text", &sp, hits, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 1);
    sem_kb_info info;
    CHECK_EQ_INT(sem_kb_get_info(kb, &info, &err), SEM_OK);
    CHECK_EQ_INT(info.lexical_only, 1);
    sem_kb_close(kb);
    /* a KB from before the flag: no model and dim 1 counts as lexical-only */
    CHECK_EQ_INT(exec_sql(dir, "DELETE FROM meta WHERE key = 'lexical_only'"), SQLITE_OK);
    kb = sem_kb_open(dir, NULL, &err);
    CHECK_MSG(kb != NULL, "%s", err.msg);
    if (kb) {
        CHECK_EQ_INT(sem_kb_search(kb, zero, 1, &sp, hits, &nh, &err), SEM_EINVAL);
        sem_kb_close(kb);
    }
    /* a missing setting: one readable message (it used to be formatted over itself: "...: ound: ...") */
    CHECK_EQ_INT(exec_sql(dir, "DELETE FROM meta WHERE key = 'model_pooling'"), SQLITE_OK);
    kb = sem_kb_open(dir, NULL, &err);
    CHECK(kb == NULL);
    sem_kb_close(kb);
    CHECK_EQ_INT(err.code, SEM_EFORMAT);
    CHECK_MSG(strstr(err.msg, "kb.sqlite: the setting \"model_pooling\" is missing") != NULL, "%s", err.msg);
}

static void test_specs(void)
{
    sem_error err;
    static const char *good[] = {"Flat",          "IVF16,Flat",  "IVF1024,PQ48np",     "OPQ48,IVF1024,PQ48np",
                                 "HNSW32",        "HNSW8,Flat",  "HNSW16_SQ8",         "PCAW256,Flat",
                                 "PCA16,IVF16,Flat", "PQ8x4np",  "IVF64,PQ8x4fs",      "SQ8",
                                 "IVF4,SQfp16",   "RR384,Flat",  "L2norm,IVF4,Flat",   "OPQ8_64,IVF4,PQ8"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK_MSG(sem_kb_check_spec(good[i], 384, &err) == SEM_OK, "%s: %s", good[i], err.msg);
    static const char *bad[] = {"",          "NoSuchIndex", "IVF0,Flat",     "IVF999999,Flat", "IVF16",
                                "HNSW1",     "HNSW0",       "HNSW999",       "PQ5",            "PQ8x17",
                                "PQ8x20",    "PCA999,Flat", "PCA16",         "IDMap,Flat",     "Flat,IDMap2",
                                "Flat,RFlat", "IVF16,Flat ", "IVF16,PQ8,Flat", "OPQ7,Flat",    "LSH",
                                "IVF99999999999999999999,Flat", "IVF16_HNSW32,Flat", "RR9999999,Flat",
                                "IVF4,PQ8x16" /* FAISS throws and leaks */, "PQ8x4fsr"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(sem_kb_check_spec(bad[i], 384, &err) == SEM_EINVAL, "%s accepted", bad[i]);
    CHECK_EQ_INT(sem_kb_check_spec(NULL, 384, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_kb_check_spec("Flat", 0, &err), SEM_EINVAL);
    /* a 16-bit codebook for 65536 dimensions is 2^32 floats: refused before FAISS would allocate 16 GiB */
    char out[128];
    CHECK_EQ_INT(sem_kb_resolve_spec("PQ64x16", 0, 65536, out, sizeof out, &err), SEM_EINVAL);
    CHECK(strstr(err.msg, "too large") != NULL);
    CHECK_EQ_INT(sem_kb_resolve_spec("IVF16,PQ8x4np", 0, 64, out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, "IVF16,PQ8x4np");
}

int main(void)
{
    sem_log_set(tu_log, NULL);
    char base[512];
    tu_tmpdir(base, sizeof base, "limits");
    test_fts_builder();
    test_text_search_and_filters(base);
    test_lexical_only(base);
    test_specs();
    tu_rm_rf(base);
    TEST_END();
}
