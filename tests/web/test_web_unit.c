/* tests/web/test_web_unit.c: the web/ pieces that need no knowledge base: API-key checks, JSON field readers,
 * the response string builder, metrics text, error replies, routing of the page, 404 and 405. */
#include "test.h"
#include "web/internal.h"

#include <stdlib.h>

static web_http_req req_with(const char *auth, const char *key)
{
    web_http_req r = {0};
    r.method = "POST";
    r.path = "/documents";
    r.body = "";
    r.authorization = auth;
    r.api_key = key;
    return r;
}

static void test_auth(void)
{
    web_http_req r;
    r = req_with(NULL, NULL);
    CHECK(web_auth_ok(NULL, &r));
    CHECK(web_auth_ok("", &r));
    CHECK(!web_auth_ok("secret", &r));
    r = req_with("Bearer secret", NULL);
    CHECK(web_auth_ok("secret", &r));
    r = req_with("bearer   secret", NULL);
    CHECK(web_auth_ok("secret", &r));
    r = req_with("Bearer secret2", NULL);
    CHECK(!web_auth_ok("secret", &r));
    r = req_with("Bearer secre", NULL);
    CHECK(!web_auth_ok("secret", &r));
    r = req_with("Bearersecret", NULL);
    CHECK(!web_auth_ok("secret", &r));
    r = req_with("Basic secret", NULL);
    CHECK(!web_auth_ok("secret", &r));
    r = req_with(NULL, "secret");
    CHECK(web_auth_ok("secret", &r));
    r = req_with("Bearer wrong", "secret");
    CHECK(web_auth_ok("secret", &r));
    r = req_with(NULL, "");
    CHECK(!web_auth_ok("secret", &r));
}

static cJSON *parse(const char *body, web_reply *r)
{
    web_http_req q = {0};
    q.body = body;
    q.body_len = strlen(body);
    return web_parse_object(&q, r);
}

static int err_is(const web_reply *r, int status, const char *needle)
{
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    int ok = r->status == status && cJSON_IsNumber(code) && code->valueint == status && cJSON_IsString(msg) &&
             strstr(msg->valuestring, needle) != NULL;
    if (!ok)
        fprintf(stderr, "reply %d %.*s (want %d with '%s')\n", r->status, (int)r->len, r->body, status, needle);
    cJSON_Delete(j);
    return ok;
}

static void test_json(void)
{
    web_reply r = {0};
    CHECK(parse("", &r) == NULL && err_is(&r, 400, "empty"));
    CHECK(parse("{\"a\":", &r) == NULL && err_is(&r, 400, "malformed JSON near byte"));
    CHECK(parse("{} {}", &r) == NULL && err_is(&r, 400, "after the value"));
    CHECK(parse("\"s\"", &r) == NULL && err_is(&r, 400, "must be a JSON object"));
    CHECK(parse("{\"a\":\"\xff\"}", &r) == NULL && err_is(&r, 400, "UTF-8"));
    cJSON *o = parse(" {\"s\":\"x\",\"n\":3,\"f\":2.5,\"b\":true,\"big\":1e20,\"neg\":-4,\"arr\":[\"a\",\"b\"],"
                     "\"mixed\":[\"a\",1],\"nul\":null} \n",
                     &r);
    CHECK(o != NULL);
    const char *s = NULL;
    CHECK(web_get_string(o, "s", 1, &s, &r) == 0 && s && strcmp(s, "x") == 0);
    s = "default";
    CHECK(web_get_string(o, "absent", 0, &s, &r) == 0 && strcmp(s, "default") == 0);
    CHECK(web_get_string(o, "nul", 0, &s, &r) == 0 && strcmp(s, "default") == 0);
    CHECK(web_get_string(o, "absent", 1, &s, &r) == -1 && err_is(&r, 400, "missing field \"absent\""));
    CHECK(web_get_string(o, "n", 0, &s, &r) == -1 && err_is(&r, 400, "must be a string"));
    long v = 7;
    int present = -1;
    CHECK(web_get_int(o, "n", 1, 10, &v, &present, &r) == 0 && v == 3 && present == 1);
    CHECK(web_get_int(o, "absent", 1, 10, &v, &present, &r) == 0 && v == 3 && present == 0);
    CHECK(web_get_int(o, "f", 1, 10, &v, NULL, &r) == -1 && err_is(&r, 400, "must be an integer"));
    CHECK(web_get_int(o, "s", 1, 10, &v, NULL, &r) == -1 && err_is(&r, 400, "must be an integer"));
    CHECK(web_get_int(o, "big", 1, 10, &v, NULL, &r) == -1 && err_is(&r, 400, "out of range"));
    CHECK(web_get_int(o, "neg", 1, 10, &v, NULL, &r) == -1 && err_is(&r, 400, "out of range"));
    CHECK(web_get_int(o, "n", 4, 10, &v, NULL, &r) == -1 && err_is(&r, 400, "not in [4, 10]"));
    int b = 0;
    CHECK(web_get_bool(o, "b", &b, &r) == 0 && b == 1);
    CHECK(web_get_bool(o, "n", &b, &r) == -1 && err_is(&r, 400, "true or false"));
    const char **texts = NULL;
    int n = 0;
    CHECK(web_get_texts(o, "arr", 8, 100, &texts, &n, &r) == 0 && n == 2 && strcmp(texts[1], "b") == 0);
    free(texts);
    CHECK(web_get_texts(o, "s", 8, 100, &texts, &n, &r) == 0 && n == 1 && strcmp(texts[0], "x") == 0);
    free(texts);
    CHECK(web_get_texts(o, "arr", 1, 100, &texts, &n, &r) == -1 && err_is(&r, 400, "batch limit is 1"));
    CHECK(web_get_texts(o, "mixed", 8, 100, &texts, &n, &r) == -1 && err_is(&r, 400, "item 1"));
    CHECK(web_get_texts(o, "n", 8, 100, &texts, &n, &r) == -1 && err_is(&r, 400, "string or an array"));
    CHECK(web_get_texts(o, "s", 8, 0, &texts, &n, &r) == -1 && err_is(&r, 400, "too long"));
    CHECK(web_get_texts(o, "absent", 8, 100, &texts, &n, &r) == -1 && err_is(&r, 400, "missing"));
    cJSON_Delete(o);
    web_reply_free(&r);
}

static void test_sb(void)
{
    sem_strbuf b = {0};
    static const float vals[] = {0.1f, -1.5f, 3.4028235e38f, 1.17549435e-38f, 1e-45f, 123456789.0f, 0.0f};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        b.len = 0;
        web_sb_float(&b, vals[i]);
        CHECK_MSG(strtof(b.s, NULL) == vals[i], "%s does not round-trip %g", b.s, (double)vals[i]);
        CHECK(strlen(b.s) <= 15);
    }
    b.len = 0;
    web_sb_float(&b, NAN);
    CHECK_STREQ(b.s, "0");
    /* growth through many appends and a long printf */
    b.len = 0;
    for (int i = 0; i < 10000; i++)
        sem_strbuf_printf(&b, "%d,", i);
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    sem_strbuf_printf(&b, "%s", big);
    CHECK(!b.oom && b.len == strlen(b.s) && strncmp(b.s, "0,1,2,", 6) == 0 && b.s[b.len - 1] == 'x');
    web_reply r = {0};
    CHECK(web_sb_reply(&b, &r, "text/plain") == 0 && r.status == 200 && r.len > 40000 && b.s == NULL);
    web_reply_free(&r);
}

static void test_metrics(void)
{
    web_metrics *m = web_metrics_new();
    CHECK(m != NULL);
    web_metrics_observe(m, WEB_R_SEARCH, 200, 0.0004);
    web_metrics_observe(m, WEB_R_SEARCH, 200, 0.003);
    web_metrics_observe(m, WEB_R_SEARCH, 400, 20.0);
    web_metrics_observe(m, WEB_R_DOC_GET, 404, 0.001);
    web_metrics_observe(m, 99, 418, 0.001); /* out of range: counted as other */
    web_metrics_encoded(m, 3, 42);
    sem_strbuf b = {0};
    web_metrics_write(m, &b);
    CHECK(b.s != NULL);
    const char *t = b.s ? b.s : "";
    CHECK(strstr(t, "semsearch_http_requests_total{method=\"POST\",route=\"/search\",status=\"200\"} 2\n"));
    CHECK(strstr(t, "semsearch_http_requests_total{method=\"POST\",route=\"/search\",status=\"400\"} 1\n"));
    CHECK(strstr(t, "semsearch_http_requests_total{method=\"GET\",route=\"/documents/{id}\",status=\"404\"} 1\n"));
    CHECK(strstr(t, "semsearch_http_requests_total{method=\"*\",route=\"other\",status=\"other\"} 1\n"));
    /* cumulative buckets: 1 at 0.5 ms, 2 at 5 ms, 2 at 10 s, 3 at +Inf */
    CHECK(strstr(t, "_bucket{method=\"POST\",route=\"/search\",le=\"0.0005\"} 1\n"));
    CHECK(strstr(t, "_bucket{method=\"POST\",route=\"/search\",le=\"0.005\"} 2\n"));
    CHECK(strstr(t, "_bucket{method=\"POST\",route=\"/search\",le=\"10\"} 2\n"));
    CHECK(strstr(t, "_bucket{method=\"POST\",route=\"/search\",le=\"+Inf\"} 3\n"));
    CHECK(strstr(t, "semsearch_http_request_duration_seconds_count{method=\"POST\",route=\"/search\"} 3\n"));
    CHECK(strstr(t, "semsearch_http_request_duration_seconds_sum{method=\"POST\",route=\"/search\"} 20.003400\n"));
    CHECK(strstr(t, "semsearch_encode_tokens_total 42\n") && strstr(t, "semsearch_encode_texts_total 3\n"));
    CHECK(strstr(t, "route=\"/embed\"") == NULL); /* no samples for routes never used */
    free(b.s);
    web_metrics_free(m);
}

static void test_routes(void)
{
    web_state st = {0};
    st.p = sem_server_default_params();
    st.p.api_key = "k";
    web_http_req q = {0};
    q.body = "";
    web_reply r = {0};
    static const struct {
        const char *method, *path;
        int status;
        const char *allow;
    } cases[] = {
        {"GET", "/", 200, NULL},           {"HEAD", "/index.html", 200, NULL},
        {"GET", "/app.js", 200, NULL},     {"GET", "/style.css", 200, NULL},
        {"POST", "/", 405, "GET, HEAD"},   {"GET", "/search", 405, "POST"},
        {"PUT", "/embed", 405, "POST"},    {"POST", "/health", 405, "GET, HEAD"},
        {"PUT", "/documents/x", 405, "GET, HEAD, DELETE"},
        {"GET", "/nope", 404, NULL},       {"GET", "/documents/", 404, NULL},
        {"GET", "/static/../etc/passwd", 404, NULL},
        {"POST", "/documents", 401, NULL}, {"DELETE", "/documents/x", 401, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        q.method = cases[i].method;
        q.path = cases[i].path;
        memset(&r, 0, sizeof r);
        web_dispatch(&st, &q, &r);
        CHECK_MSG(r.status == cases[i].status, "%s %s -> %d, want %d", q.method, q.path, r.status, cases[i].status);
        if (cases[i].allow)
            CHECK_MSG(r.hdr_name && strcmp(r.hdr_name, "Allow") == 0 && strcmp(r.hdr_value, cases[i].allow) == 0,
                      "%s %s: Allow %s", q.method, q.path, r.hdr_value ? r.hdr_value : "(none)");
        if (r.status == 401)
            CHECK(r.hdr_name && strcmp(r.hdr_name, "WWW-Authenticate") == 0);
        if (r.status == 200)
            CHECK(r.body_static && r.len > 100 && r.content_type && strstr(r.content_type, "charset=utf-8"));
        else
            CHECK(r.content_type && strcmp(r.content_type, "application/json") == 0);
        web_reply_free(&r);
    }
    /* the routes' metric labels */
    CHECK_STREQ(web_route_path(WEB_R_DOC_DEL), "/documents/{id}");
    CHECK_STREQ(web_route_method(WEB_R_DOC_DEL), "DELETE");
    CHECK_STREQ(web_route_path(-1), "other");
}

static void test_errors(void)
{
    web_reply r = {0};
    web_error(&r, 413, "too big: %d", 5);
    CHECK(err_is(&r, 413, "too big: 5"));
    CHECK(strstr(r.body, "\"type\":\"payload_too_large\""));
    sem_error e;
    sem_error_set(&e, SEM_ENOTFOUND, "no such \"thing\"");
    web_error_from(&r, &e);
    CHECK(err_is(&r, 404, "no such \"thing\""));
    sem_error_set(&e, SEM_EBUSY, "busy");
    web_error_from(&r, &e);
    CHECK(err_is(&r, 503, "busy") && strstr(r.body, "unavailable"));
    sem_error_set(&e, SEM_EIO, "disk");
    web_error_from(&r, &e);
    CHECK(err_is(&r, 500, "disk") && strstr(r.body, "internal_error"));
    web_reply_free(&r);
    CHECK_STREQ(web_error_type(401), "unauthorized");
    CHECK_STREQ(web_error_type(405), "method_not_allowed");
}

int main(void)
{
    test_auth();
    test_json();
    test_sb();
    test_metrics();
    test_routes();
    test_errors();
    TEST_END();
}
