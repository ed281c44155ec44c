/* tests/query/test_query_limits.c: the query layer's limits and checks, on KBs without a model:
 *  - 40 one-letter words in lexical mode (crashed the server: heap overflow in the FTS5 query builder);
 *  - the one query limit SEM_QUERY_MAX_BYTES in every mode, the one filter limit SEM_QUERY_MAX_FILTERS;
 *  - query vectors: non-finite and overflowing values are SEM_EINVAL (3.3e38 answered "score": null), scores
 *    are finite; a vector query on a lexical-only KB is SEM_EINVAL (it answered hits scored 0);
 *  - the indexer: a whitespace-only document is refused by itself (the others are indexed), and a JSONL record
 *    with 200k top-level fields keeps them all as metadata, first occurrence winning (the merge was quadratic:
 *    40k fields took 8 s, 200k would take minutes; this test's ctest TIMEOUT is the guard). */
#include "test.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "common/fileio.h"
#include "indexer/indexer.h"
#include "query/search.h"
#include "store/kb.h"
#include "../store/store_test_util.h"

#define D 4
#define WIDE 200000

static void test_raw_kb(const char *base)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/raw", base);
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = D;
    cp.index_spec = "Flat";
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    CHECK_MSG(kb != NULL, "%s", err.msg);
    if (!kb)
        return;
    float x[D] = {0.5f, 0.5f, 0.5f, 0.5f};
    CHECK_EQ_INT(tu_put(kb, "x1", x, 1, "{\"lang\":\"en\"}", &err), SEM_OK);
    sem_search *s = sem_search_new(kb, NULL, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (!s) {
        sem_kb_close(kb);
        return;
    }
    sem_query_params qp = sem_query_default_params();
    qp.mode = SEM_MODE_LEXICAL;
    sem_search_result r;
    char q[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(q, i ? " x" : "x");
    strcat(q, " x1");
    CHECK_EQ_INT(sem_search_query(s, q, &qp, &r, &err), SEM_OK);
    CHECK_EQ_INT(r.n, 1);
    sem_search_result_clear(&r);

    /* the query limit, in every mode (semantic and hybrid fail on the length before the missing model) */
    char *big = malloc(SEM_QUERY_MAX_BYTES + 2);
    memset(big, 'x', SEM_QUERY_MAX_BYTES + 1);
    big[SEM_QUERY_MAX_BYTES] = 0;
    CHECK_EQ_INT(sem_search_query(s, big, &qp, &r, &err), SEM_OK);
    sem_search_result_clear(&r);
    big[SEM_QUERY_MAX_BYTES] = 'x';
    big[SEM_QUERY_MAX_BYTES + 1] = 0;
    for (int m = 0; m < 3; m++) {
        qp.mode = (sem_search_mode)m;
        CHECK_EQ_INT(sem_search_query(s, big, &qp, &r, &err), SEM_EINVAL);
        CHECK_MSG(strstr(err.msg, "too long") != NULL, "%s", err.msg);
    }
    free(big);
    qp.mode = SEM_MODE_LEXICAL;

    /* the filter limit: SEM_QUERY_MAX_FILTERS pairs work (the store allowed 16 while the HTTP API allowed 64) */
    const char *keys[SEM_QUERY_MAX_FILTERS + 1], *vals[SEM_QUERY_MAX_FILTERS + 1];
    for (int i = 0; i <= SEM_QUERY_MAX_FILTERS; i++) {
        keys[i] = "lang";
        vals[i] = "en";
    }
    qp.filter_keys = keys;
    qp.filter_values = vals;
    qp.n_filters = SEM_QUERY_MAX_FILTERS;
    CHECK_EQ_INT(sem_search_query(s, "text", &qp, &r, &err), SEM_OK);
    CHECK_EQ_INT(r.n, 1);
    sem_search_result_clear(&r);
    qp.n_filters = SEM_QUERY_MAX_FILTERS + 1;
    CHECK_EQ_INT(sem_search_query(s, "text", &qp, &r, &err), SEM_EINVAL);
    qp.n_filters = 0;

    /* query vectors */
    qp.mode = SEM_MODE_SEMANTIC;
    float huge[D] = {3.3e38f, 3.3e38f, 3.3e38f, 3.3e38f}, nan_[D] = {0, NAN, 0, 0}, inf_[D] = {0, 0, INFINITY, 0};
    CHECK_EQ_INT(sem_search_query_vector(s, huge, D, &qp, &r, &err), SEM_EINVAL);
    CHECK_MSG(strstr(err.msg, "too large") != NULL, "%s", err.msg);
    CHECK_EQ_INT(sem_search_query_vector(s, nan_, D, &qp, &r, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_search_query_vector(s, inf_, D, &qp, &r, &err), SEM_EINVAL);
    float ok[D] = {1e17f, -1e17f, 1e17f, 1e17f};
    CHECK_EQ_INT(sem_search_query_vector(s, ok, D, &qp, &r, &err), SEM_OK);
    CHECK_EQ_INT(r.n, 1);
    for (int i = 0; i < r.n; i++)
        CHECK(isfinite(r.hits[i].score));
    sem_search_result_clear(&r);
    sem_search_free(s);
    sem_kb_close(kb);
}

/* Writes the test's JSONL: a plain doc, a whitespace-only doc, and a doc with WIDE top-level fields. */
static int write_docs(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"id\":\"a\",\"text\":\"alpha document\"}\n");
    fprintf(f, "{\"id\":\"blank\",\"text\":\"   \\t  \"}\n");
    fprintf(f, "{\"id\":\"wide\",\"text\":\"wide document\",\"metadata\":{\"f1\":\"meta\"}");
    for (int i = 0; i < WIDE; i++)
        fprintf(f, ",\"f%d\":%d", i, i);
    fprintf(f, ",\"f2\":\"second\"}\n");
    return fclose(f);
}

static void test_indexed(const char *base)
{
    char dir[600], in[600];
    snprintf(dir, sizeof dir, "%s/lex", base);
    snprintf(in, sizeof in, "%s/docs.jsonl", base);
    sem_error err;
    CHECK_EQ_INT(sem_mkdir_p(base, &err), SEM_OK);
    CHECK_EQ_INT(write_docs(in), 0);
    sem_index_params ip = sem_index_default_params(); /* no model: a lexical-only KB */
    sem_index_stats st;
    const char *inputs[1] = {in};
    CHECK_EQ_INT(sem_index_add(dir, inputs, 1, &ip, &st, &err), SEM_OK);
    CHECK_EQ_INT((int)st.docs_added, 2);  /* a and wide */
    CHECK_EQ_INT((int)st.docs_failed, 1); /* blank: refused (it was stored with 0 passages) */
    CHECK_EQ_INT(st.lexical_only, 1);
    sem_search *s = sem_search_open(dir, NULL, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (!s)
        return;
    sem_kb_doc_out *d = NULL;
    CHECK_EQ_INT(sem_kb_get_doc(sem_search_kb(s), "blank", 0, &d, &err), SEM_ENOTFOUND);
    CHECK_EQ_INT(sem_kb_get_doc(sem_search_kb(s), "wide", 0, &d, &err), SEM_OK);
    cJSON *m = d ? cJSON_Parse(d->meta_json) : NULL;
    CHECK_EQ_INT(cJSON_GetArraySize(m), WIDE); /* f0..f{WIDE-1}, each once */
    const cJSON *f1 = cJSON_GetObjectItemCaseSensitive(m, "f1"), *f2 = cJSON_GetObjectItemCaseSensitive(m, "f2");
    CHECK(cJSON_IsString(f1) && strcmp(f1->valuestring, "meta") == 0); /* "metadata" wins over a field */
    CHECK(cJSON_IsNumber(f2) && f2->valueint == 2);                      /* the first of a repeated field */
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(m, "f199999");
    CHECK(cJSON_IsNumber(last) && last->valueint == WIDE - 1);
    cJSON_Delete(m);
    sem_kb_doc_out_free(d);

    sem_query_params qp = sem_query_default_params();
    qp.mode = SEM_MODE_LEXICAL;
    sem_search_result r;
    CHECK_EQ_INT(sem_search_query(s, "wide", &qp, &r, &err), SEM_OK);
    CHECK(r.n == 1 && strcmp(r.hits[0].doc_id, "wide") == 0);
    sem_search_result_clear(&r);
    qp.mode = SEM_MODE_SEMANTIC;
    float v[1] = {1};
    CHECK_EQ_INT(sem_search_query_vector(s, v, 1, &qp, &r, &err), SEM_EINVAL); /* answered hits scored 0 */
    CHECK_MSG(strstr(err.msg, "lexical-only") != NULL, "%s", err.msg);
    sem_search_free(s);
}

int main(void)
{
    setenv("SEMSEARCH_MODEL", "none", 1);
    sem_log_set(tu_log, NULL);
    char base[512];
    tu_tmpdir(base, sizeof base, "qlimits");
    test_raw_kb(base);
    test_indexed(base);
    tu_rm_rf(base);
    TEST_END();
}
