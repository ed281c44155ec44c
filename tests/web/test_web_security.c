/* tests/web/test_web_security.c: the checks on what a request carries, each a regression test.
 *  1. In-process, through web_dispatch on KBs built here (bert-tiny-uncased, bert-tiny-chinese, a lexical-only
 *     one): NULs in JSON strings are refused, replies are valid UTF-8, the token budget (413), cancellation
 *     between encoder chunks, non-finite or overflowing query vectors (400), vector queries on a KB without
 *     vectors, OpenAI model names (any name while one model is served, 404 listing the names otherwise), and
 *     /v1/embeddings and /encode vectors normalized as the KB's are.
 *  2. Over HTTP against `semsearch serve`: writes closed without a key (403) and open on loopback with
 *     --allow-unauthenticated-writes (but not for a foreign Host: DNS rebinding), 415 for a POST that is not
 *     application/json, 403 for a foreign Origin, valid UTF-8 for bytes 0xFF in paths, the default token budget.
 * Every reply body is checked to be valid UTF-8 JSON. */
#include "test.h"
#include "web_test_util.h"

#include "common/fileio.h"
#include "indexer/indexer.h"
#include "web/internal.h"

#define ZH_MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-chinese"

static const char *const DOCS =
    "{\"id\":\"p\",\"title\":\"Plants\",\"text\":\"Photosynthesis turns light into sugar.\"}\n"
    "{\"id\":\"v\",\"text\":\"Volcanoes erupt when magma rises.\"}\n"
    "{\"id\":\"b\",\"text\":\"Yeast makes bread dough rise.\"}\n";

/* Builds a KB at tmp/name with model (NULL: lexical-only) and opens it as the server does. */
static web_kb *make_kb(const char *tmp, const char *name, const char *model)
{
    char *in = wt_strdupf("%s/%s.jsonl", tmp, name), *dir = wt_strdupf("%s/%s", tmp, name);
    wt_write_file(in, DOCS);
    sem_index_params ip = sem_index_default_params();
    ip.model = model;
    ip.threads = 1;
    const char *inputs[] = {in};
    sem_error err = {0};
    if (sem_index_add(dir, inputs, 1, &ip, NULL, &err) != SEM_OK)
        wt_die("indexing %s: %s", name, err.msg);
    web_kb *k = web_kb_open(dir, NULL, -1, &err);
    if (!k)
        wt_die("opening %s: %s", name, err.msg);
    free(in);
    free(dir);
    return k;
}

static web_state state_of(web_kb **kbs, int n, web_metrics *m)
{
    web_state st = {0};
    st.p = sem_server_default_params();
    st.p.api_key = "k";
    st.kbs = kbs;
    st.n_kbs = n;
    st.metrics = m;
    return st;
}

static web_http_req req_of(const char *method, const char *path, const char *body)
{
    web_http_req q = {0};
    q.method = method;
    q.path = path;
    q.body = body ? body : "";
    q.body_len = strlen(q.body);
    q.authorization = "Bearer k";
    q.content_type = "application/json";
    q.host = "127.0.0.1:8080";
    q.loopback_only = 1;
    return q;
}

/* Dispatches q; checks that the reply is valid UTF-8 JSON; *out (may be NULL) receives it parsed. */
static int run(const web_state *st, const web_http_req *q, cJSON **out)
{
    web_reply r = {0};
    web_dispatch(st, q, &r);
    cJSON *j = cJSON_ParseWithLength(r.body, r.len);
    CHECK_MSG(j && sem_utf8_valid(r.body, r.len, NULL), "%s %.60s: reply %d is not valid UTF-8 JSON: %.200s",
              q->method, q->path, r.status, r.body);
    int status = r.status;
    web_reply_free(&r);
    if (out)
        *out = j;
    else
        cJSON_Delete(j);
    return status;
}

static int post(const web_state *st, const char *path, const char *body, cJSON **out)
{
    web_http_req q = req_of("POST", path, body);
    return run(st, &q, out);
}

static const char *err_msg(const cJSON *j)
{
    return wt_str(cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
}

/* The L2 norm of a JSON array of numbers (-1 if it is not one). */
static double norm_of(const cJSON *a)
{
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0)
        return -1;
    double s = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a) s += x->valuedouble * x->valuedouble;
    return sqrt(s);
}

static const cJSON *openai_vec(const cJSON *j, int i)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), i),
                                            "embedding");
}

/* "model" may be any name while one model is served; exact names pick among several. */
static void test_openai_names(web_kb *kb, web_kb *zh, web_kb *lex, web_metrics *m)
{
    web_kb *one[] = {lex, kb}, *two[] = {kb, zh};
    web_state st1 = state_of(one, 2, m), st2 = state_of(two, 2, m);
    const char *ada = "{\"input\":\"photosynthesis\",\"model\":\"text-embedding-ada-002\"}";
    cJSON *j = NULL, *a = NULL, *b = NULL;
    CHECK_EQ_INT(post(&st1, "/v1/embeddings", ada, &j), 200);
    CHECK_STREQ(wt_str(j, "model"), "text-embedding-ada-002");
    CHECK_EQ_INT(cJSON_GetArraySize(openai_vec(j, 0)), 64);
    cJSON_Delete(j);
    /* two different models: an unknown name is a 404 that lists the names */
    CHECK_EQ_INT(post(&st2, "/v1/embeddings", ada, &j), 404);
    const char *msg = err_msg(j);
    CHECK_MSG(msg && strstr(msg, "kb (model bert-tiny-uncased)") && strstr(msg, "zh (model bert-tiny-chinese)"),
              "%s", msg ? msg : "(none)");
    cJSON_Delete(j);
    /* a KB's name and a model's name pick that KB: two different vectors */
    CHECK_EQ_INT(post(&st2, "/v1/embeddings", "{\"input\":\"photosynthesis\",\"model\":\"zh\"}", &a), 200);
    CHECK_EQ_INT(post(&st2, "/v1/embeddings", "{\"input\":\"photosynthesis\",\"model\":\"bert-tiny-uncased\"}", &b),
                 200);
    char *ta = cJSON_PrintUnformatted(openai_vec(a, 0)), *tb = cJSON_PrintUnformatted(openai_vec(b, 0));
    CHECK(ta && tb && strcmp(ta, tb) != 0);
    free(ta);
    free(tb);
    cJSON_Delete(a);
    cJSON_Delete(b);
    CHECK_EQ_INT(post(&st2, "/v1/embeddings", "{\"input\":\"x\",\"model\":\"bert-tiny-chinese\"}", NULL), 200);
}

/* /v1/embeddings and /encode give unit vectors for an inner-product KB, as the indexer stores them. */
static void test_normalized(const web_state *st)
{
    cJSON *j = NULL;
    CHECK_EQ_INT(post(st, "/v1/embeddings", "{\"input\":[\"bread rises\",\"magma\"]}", &j), 200);
    CHECK_NEAR(norm_of(openai_vec(j, 0)), 1.0, 1e-4);
    CHECK_NEAR(norm_of(openai_vec(j, 1)), 1.0, 1e-4);
    cJSON_Delete(j);
    CHECK_EQ_INT(post(st, "/encode", "{\"texts\":[\"bread rises\"]}", &j), 200);
    CHECK_NEAR(norm_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "results"), 0)), 1.0, 1e-4);
    cJSON_Delete(j);
    CHECK_EQ_INT(post(st, "/encode", "{\"texts\":[[\"bread\",\"rises\"]],\"is_tokenized\":true}", &j), 200);
    CHECK_NEAR(norm_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "results"), 0)), 1.0, 1e-4);
    cJSON_Delete(j);
    /* the model alone does not normalize (else this test would prove nothing); TEI's flag still rules /embed */
    CHECK_EQ_INT(post(st, "/embed", "{\"inputs\":\"bread rises\",\"normalize\":false}", &j), 200);
    CHECK(fabs(norm_of(cJSON_GetArrayItem(j, 0)) - 1.0) > 0.01);
    cJSON_Delete(j);
}

/* More tokens than --max-tokens in one request: 413 before encoding, on every embedding route. */
static void test_token_budget(const web_state *st0)
{
    web_state st = *st0;
    st.p.max_tokens = 20;
    /* each text: 10 words + [CLS]/[SEP] = 12 tokens; two are 24 > 20 */
    const char *ten = "\"one two three four five six seven eight nine ten\"";
    char *two = wt_strdupf("[%s,%s]", ten, ten);
    char *b1 = wt_strdupf("{\"inputs\":%s}", two), *b2 = wt_strdupf("{\"input\":%s}", two),
         *b3 = wt_strdupf("{\"texts\":%s}", two), *ok = wt_strdupf("{\"inputs\":[%s]}", ten);
    const char *tok = "{\"is_tokenized\":true,\"texts\":[[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\"],"
                      "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\"]]}";
    cJSON *j = NULL;
    CHECK_EQ_INT(post(&st, "/embed", b1, &j), 413);
    CHECK(err_msg(j) && strstr(err_msg(j), "--max-tokens") && strstr(err_msg(j), "20"));
    cJSON_Delete(j);
    CHECK_EQ_INT(post(&st, "/v1/embeddings", b2, NULL), 413);
    CHECK_EQ_INT(post(&st, "/encode", b3, NULL), 413);
    CHECK_EQ_INT(post(&st, "/encode", tok, NULL), 413);
    CHECK_EQ_INT(post(&st, "/embed", ok, NULL), 200);
    st.p.max_tokens = 24; /* at the limit is fine */
    CHECK_EQ_INT(post(&st, "/embed", b1, NULL), 200);
    /* the default, 65536, shows in /stats */
    st.p.max_tokens = 0;
    web_http_req q = req_of("GET", "/stats", NULL);
    CHECK_EQ_INT(run(&st, &q, &j), 200);
    CHECK_EQ_INT(wt_num(cJSON_GetObjectItemCaseSensitive(j, "limits"), "max_tokens"), 65536);
    CHECK_STREQ(wt_str(j, "writes"), "api_key");
    cJSON_Delete(j);
    free(two);
    free(b1);
    free(b2);
    free(b3);
    free(ok);
}

typedef struct cancel_probe {
    int calls, cancel_at; /* cancelled() answers 1 from call number cancel_at on (0: never) */
} cancel_probe;

static int probe_cancelled(void *ud)
{
    cancel_probe *p = ud;
    p->calls++;
    return p->cancel_at && p->calls >= p->cancel_at;
}

/* A long request checks between chunks whether its client is gone, and stops. */
static void test_cancel(const web_state *st)
{
    sem_strbuf b = {0};
    sem_strbuf_puts(&b, "{\"inputs\":[");
    for (int i = 0; i < 100; i++)
        sem_strbuf_printf(&b, "%s\"text number %d about bread\"", i ? "," : "", i);
    sem_strbuf_puts(&b, "]}");
    web_state s = *st;
    s.p.max_batch = 256;
    static const char *const paths[] = {"/embed", "/encode"};
    for (int r = 0; r < 2; r++) {
        char *body = r == 0 ? wt_strdupf("%s", b.s) : wt_strdupf("{\"texts\"%s", strchr(b.s, ':'));
        cancel_probe p = {0, 2};
        web_http_req q = req_of("POST", paths[r], body);
        q.cancelled = probe_cancelled;
        q.cancel_ud = &p;
        CHECK_EQ_INT(run(&s, &q, NULL), 503);
        CHECK_MSG(p.calls == 2, "%s: %d checks (want 2: stopped after the first chunk)", paths[r], p.calls);
        p = (cancel_probe){0, 0};
        CHECK_EQ_INT(run(&s, &q, NULL), 200);
        CHECK_MSG(p.calls == 4, "%s: %d checks for 100 texts (want 4 chunks)", paths[r], p.calls);
        free(body);
    }
    sem_strbuf_free(&b);
}

/* Query vectors: every value a finite float, the norm bounded; a KB without vectors refuses them. */
static void test_vectors(const web_state *st, const web_state *st_lex)
{
    sem_strbuf b = {0};
    for (int kind = 0; kind < 4; kind++) {
        b.len = 0;
        sem_strbuf_puts(&b, "{\"k\":3,\"vector\":[");
        for (int i = 0; i < 64; i++) {
            const char *v = kind == 0 ? "3.3e38" : kind == 1 ? (i ? "0" : "1e20") : kind == 2 ? (i ? "0" : "-4e38")
                                                                                              : "0.125";
            sem_strbuf_printf(&b, "%s%s", i ? "," : "", v);
        }
        sem_strbuf_puts(&b, "]}");
        cJSON *j = NULL;
        int status = post(st, "/search", b.s, &j);
        if (kind < 3) {
            CHECK_MSG(status == 400, "vector kind %d -> %d", kind, status);
        } else {
            CHECK_EQ_INT(status, 200);
            const cJSON *h;
            cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(j, "hits"))
                CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(h, "score")));
            CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "hits")) == 3);
            /* the same vector on a lexical-only KB: 400, whatever its length */
            CHECK_EQ_INT(post(st_lex, "/search", b.s, NULL), 400);
        }
        cJSON_Delete(j);
    }
    CHECK_EQ_INT(post(st_lex, "/search", "{\"vector\":[]}", NULL), 400);
    CHECK_EQ_INT(post(st_lex, "/search", "{\"vector\":[0.5]}", NULL), 400);
    sem_strbuf_free(&b);
}

/* \u0000 is refused everywhere, never cut; an escaped backslash before "u0000" is just text. */
static void test_nul(const web_state *st)
{
    cJSON *j = NULL;
    CHECK_EQ_INT(post(st, "/search", "{\"query\":\"bread\\u0000anything\"}", NULL), 400);
    CHECK_EQ_INT(post(st, "/embed", "{\"inputs\":[\"ok\",\"x\\u0000\"]}", NULL), 400);
    CHECK_EQ_INT(post(st, "/documents", "{\"documents\":[{\"id\":\"nul\\u0000id\",\"text\":\"t\"}]}", &j), 400);
    CHECK(err_msg(j) && strstr(err_msg(j), "NUL"));
    cJSON_Delete(j);
    CHECK_EQ_INT(post(st, "/documents", "{\"documents\":[{\"id\":\"nul2\",\"text\":\"before\\u0000after\"}]}", NULL),
                 400);
    web_http_req q = req_of("GET", "/documents/nul", NULL);
    CHECK_EQ_INT(run(st, &q, NULL), 404); /* nothing was stored under the cut id */
    CHECK_EQ_INT(post(st, "/documents", "{\"documents\":[{\"id\":\"bs\\\\u0000\",\"text\":\"t\"}]}", NULL), 200);
    q = req_of("GET", "/documents/bs\\u0000", NULL);
    CHECK_EQ_INT(run(st, &q, &j), 200);
    CHECK_STREQ(wt_str(j, "id"), "bs\\u0000");
    cJSON_Delete(j);
}

/* Bytes that are not UTF-8 in paths, ids and KB names come back as U+FFFD; long messages are cut between
 * characters (run() checks every body). */
static void test_utf8_replies(const web_state *st)
{
    static const char *const paths[] = {"/documents/\xff\xfe", "/\xff", "/documents/\xc3(", "/documents/\xed\xa0\x80"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        web_http_req q = req_of("GET", paths[i], NULL);
        CHECK_EQ_INT(run(st, &q, NULL), 404);
        q.method = "DELETE";
        CHECK_EQ_INT(run(st, &q, NULL), 404);
    }
    web_http_req q = req_of("GET", "/documents/p", NULL);
    q.kb_arg = "\xff\xff";
    CHECK_EQ_INT(run(st, &q, NULL), 404);
    for (int shift = 0; shift < 4; shift++) {
        sem_strbuf b = {0};
        sem_strbuf_printf(&b, "/documents/%.*s", shift, "xxx");
        for (int i = 0; i < 700; i++)
            sem_strbuf_puts(&b, i % 2 ? "\xc3\xa9" : "\xe2\x82\xac");
        q = req_of("GET", b.s, NULL);
        CHECK_EQ_INT(run(st, &q, NULL), 404);
        sem_strbuf_free(&b);
    }
}

/* /stats shows the precision each KB's model runs at: the KB's (f32: it records none) or the server's. */
static void test_stats_precision(const web_state *st, const char *zh_dir, web_metrics *m)
{
    sem_error err = {0};
    web_kb *zh = web_kb_open(zh_dir, NULL, SEM_PRECISION_INT8, &err);
    CHECK_MSG(zh != NULL, "%s", err.msg);
    web_kb *kbs[] = {zh};
    web_state st_zh = state_of(kbs, 1, m);
    const web_state *sts[] = {st, &st_zh};
    const char *want[] = {"f32", "int8"};
    for (int i = 0; i < 2 && zh; i++) {
        cJSON *j = NULL;
        web_http_req q = req_of("GET", "/stats", NULL);
        CHECK_EQ_INT(run(sts[i], &q, &j), 200);
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
                                 cJSON_GetObjectItemCaseSensitive(j, "kbs"), 0), "model");
        CHECK_STREQ(wt_str(model, "precision"), want[i]);
        cJSON_Delete(j);
    }
    web_kb_close(zh);
}

static void in_process(const char *tmp)
{
    web_kb *kb = make_kb(tmp, "kb", WT_MODEL), *zh = make_kb(tmp, "zh", ZH_MODEL), *lex = make_kb(tmp, "lex", NULL);
    web_metrics *m = web_metrics_new();
    web_kb *main_kbs[] = {kb}, *lex_kbs[] = {lex};
    web_state st = state_of(main_kbs, 1, m), st_lex = state_of(lex_kbs, 1, m);
    test_openai_names(kb, zh, lex, m);
    web_kb_close(zh); /* reopened at int8 (one read-write handle per KB) */
    zh = NULL;
    char *zh_dir = wt_strdupf("%s/zh", tmp);
    test_stats_precision(&st, zh_dir, m);
    free(zh_dir);
    test_normalized(&st);
    test_token_budget(&st);
    test_cancel(&st);
    test_vectors(&st, &st_lex);
    test_nul(&st);
    test_utf8_replies(&st);
    web_kb_close(kb);
    web_kb_close(zh);
    web_kb_close(lex);
    web_metrics_free(m);
}

/* ---- over HTTP ---- */

static int http_status(const char *base, const char *method, const char *path, const char *body,
                       const char *const *headers, cJSON **out)
{
    wt_resp r;
    int rc = wt_http(base, method, path, body, headers, &r);
    cJSON *j = cJSON_Parse(r.body);
    CHECK_MSG(rc == 0 && j && sem_utf8_valid(r.body, r.len, NULL), "%s %s: not valid UTF-8 JSON: %.200s", method,
              path, r.body);
    long st = rc == 0 ? r.status : 0;
    free(r.body);
    if (out)
        *out = j;
    else
        cJSON_Delete(j);
    return (int)st;
}

static const char *const ADD = "{\"documents\":[{\"id\":\"w1\",\"text\":\"written over HTTP\"}]}";

/* No key: writes are refused; the JSON routes want application/json and the server's own origin. */
static void http_no_key(const char *base)
{
    cJSON *j = NULL;
    CHECK_EQ_INT(http_status(base, "POST", "/documents", ADD, NULL, &j), 403);
    CHECK(wt_is_error(j, 403, "forbidden") && strstr(err_msg(j), "--api-key") &&
          strstr(err_msg(j), "--allow-unauthenticated-writes"));
    cJSON_Delete(j);
    CHECK_EQ_INT(http_status(base, "DELETE", "/documents/p", NULL, NULL, NULL), 403);
    static const char *const plain[] = {"Content-Type: text/plain", NULL};
    static const char *const none[] = {"Content-Type:", NULL};
    static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    static const char *const json_cs[] = {"Content-Type: application/json; charset=UTF-8", NULL};
    static const char *const evil_plain[] = {"Content-Type: text/plain", "Origin: http://evil.example", NULL};
    const char *q = "{\"query\":\"bread\",\"mode\":\"lexical\"}";
    CHECK_EQ_INT(http_status(base, "POST", "/search", q, plain, &j), 415);
    CHECK(wt_is_error(j, 415, "unsupported_media_type"));
    cJSON_Delete(j);
    CHECK_EQ_INT(http_status(base, "POST", "/search", q, none, NULL), 415);
    CHECK_EQ_INT(http_status(base, "POST", "/embed", "{\"inputs\":\"x\"}", form, NULL), 415);
    CHECK_EQ_INT(http_status(base, "POST", "/search", q, json_cs, NULL), 200);
    CHECK_EQ_INT(http_status(base, "POST", "/embed", "{\"inputs\":\"x\"}", evil_plain, &j), 403);
    CHECK(wt_is_error(j, 403, "forbidden"));
    cJSON_Delete(j);
    char *own = wt_strdupf("Origin: %s", base);
    const char *own_h[] = {own, NULL}, *evil_h[] = {"Origin: http://evil.example", NULL};
    CHECK_EQ_INT(http_status(base, "POST", "/search", q, own_h, NULL), 200);
    CHECK_EQ_INT(http_status(base, "POST", "/search", q, evil_h, NULL), 403);
    free(own);
    /* 0xFF in paths (a valid UTF-8 reply, whoever answers); the OpenAI default model name; the default token
     * budget (200 texts of 512 tokens) */
    int st = http_status(base, "GET", "/documents/%FF%FE", NULL, NULL, NULL); /* the transport may refuse it */
    CHECK_MSG(st == 404 || st == 400, "%d", st);
    st = http_status(base, "GET", "/%FF/%C3", NULL, NULL, NULL);
    CHECK_MSG(st == 404 || st == 400, "%d", st);
    CHECK_EQ_INT(http_status(base, "POST", "/v1/embeddings", "{\"input\":\"x\",\"model\":\"text-embedding-3-small\"}",
                             NULL, NULL),
                 200);
    sem_strbuf b = {0};
    sem_strbuf_puts(&b, "{\"truncate\":true,\"inputs\":[");
    for (int i = 0; i < 200; i++) {
        sem_strbuf_puts(&b, i ? ",\"" : "\"");
        for (int w = 0; w < 600; w++)
            sem_strbuf_puts(&b, "cat ");
        sem_strbuf_puts(&b, "\"");
    }
    sem_strbuf_puts(&b, "]}");
    CHECK_EQ_INT(http_status(base, "POST", "/embed", b.s, NULL, &j), 413);
    CHECK(wt_is_error(j, 413, "payload_too_large"));
    cJSON_Delete(j);
    sem_strbuf_free(&b);
}

/* --allow-unauthenticated-writes on a loopback listener: writes work, unless the Host is not a loopback one. */
static void http_open_writes(const char *base)
{
    static const char *const rebind[] = {"Host: rebind.example", NULL};
    CHECK_EQ_INT(http_status(base, "POST", "/documents", ADD, rebind, NULL), 403);
    CHECK_EQ_INT(http_status(base, "POST", "/documents", ADD, NULL, NULL), 200);
    CHECK_EQ_INT(http_status(base, "GET", "/documents/w1", NULL, NULL, NULL), 200);
    CHECK_EQ_INT(http_status(base, "DELETE", "/documents/w1", NULL, rebind, NULL), 403);
    CHECK_EQ_INT(http_status(base, "DELETE", "/documents/w1", NULL, NULL, NULL), 200);
}

static void over_http(const char *tmp)
{
    char *kb = wt_strdupf("%s/kb", tmp), *log = wt_strdupf("%s/serve.log", tmp);
    const char *args1[] = {kb, "--quiet", NULL};
    const char *args2[] = {kb, "--quiet", "--allow-unauthenticated-writes", NULL};
    wt_server s;
    if (wt_server_start(&s, log, args1) == 0) {
        http_no_key(s.url);
        CHECK_EQ_INT(wt_server_stop(&s, SIGTERM, 30), 0);
    } else {
        CHECK(0);
    }
    if (wt_server_start(&s, log, args2) == 0) {
        http_open_writes(s.url);
        CHECK_EQ_INT(wt_server_stop(&s, SIGTERM, 30), 0);
    } else {
        CHECK(0);
    }
    free(kb);
    free(log);
}

int main(void)
{
    TEST_REQUIRE_FILE(WT_MODEL "/model.safetensors");
    TEST_REQUIRE_FILE(ZH_MODEL "/model.safetensors");
    curl_global_init(CURL_GLOBAL_ALL);
    srandom((unsigned)getpid());
    char *tmp = wt_tmpdir("web-security");
    in_process(tmp);
    over_http(tmp);
    if (test_fail_)
        fprintf(stderr, "KBs and server log kept in %s\n", tmp);
    else
        wt_rmrf(tmp);
    free(tmp);
    curl_global_cleanup();
    TEST_END();
}
