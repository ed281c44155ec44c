/* tests/web/test_web_unit.c: the web/ pieces that need no knowledge base: API-key checks, the request policy
 * (Origin, Content-Type, writes without a key), JSON field readers and the NUL scanner, the response string
 * builder, metrics text, error replies (valid UTF-8, cut at a character), routing of the page, 404 and 405. */
#include "test.h"
#include "common/fileio.h"
#include "common/jsonstr.h"
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
    /* no key configured is never "open": the policy (web_check_write) decides, not a match on "" */
    CHECK(!web_auth_ok(NULL, &r));
    CHECK(!web_auth_ok("", &r));
    r = req_with("Bearer ", "");
    CHECK(!web_auth_ok("", &r));
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
    q.content_type = "application/json";
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


/* The body of r parses as JSON and is valid UTF-8. */
static int reply_valid(const web_reply *r)
{
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    int ok = j && sem_utf8_valid(r->body, r->len, NULL);
    if (!ok)
        fprintf(stderr, "reply %d is not valid UTF-8 JSON: %.*s\n", r->status, (int)r->len, r->body);
    cJSON_Delete(j);
    return ok;
}

/* Dispatches one request on st (no KB: the handlers are reached only with an empty body, a 400). */
static int status_of(const web_state *st, const char *method, const char *path, const char *ctype,
                     const char *origin, const char *host, int loopback)
{
    web_http_req q = {0};
    q.method = method;
    q.path = path;
    q.body = "";
    q.content_type = ctype;
    q.origin = origin;
    q.host = host;
    q.loopback_only = loopback;
    web_reply r = {0};
    web_dispatch(st, &q, &r);
    int status = r.status;
    if (!reply_valid(&r))
        status = -1;
    web_reply_free(&r);
    return status;
}

/* The request policy: writes are closed without a key, JSON routes need application/json, browsers must come
 * from the server's own origin. */
static void test_policy(void)
{
    web_state st = {0};
    st.p = sem_server_default_params();
    const char *J = "application/json", *H = "127.0.0.1:8080";
    /* no key: writes refused (403), also on loopback unless the operator allowed them */
    CHECK_EQ_INT(status_of(&st, "POST", "/documents", J, NULL, H, 1), 403);
    CHECK_EQ_INT(status_of(&st, "DELETE", "/documents/x", NULL, NULL, H, 1), 403);
    st.p.allow_unauthenticated_writes = 1;
    CHECK_EQ_INT(status_of(&st, "POST", "/documents", J, NULL, H, 0), 403); /* not loopback-only */
    CHECK_EQ_INT(status_of(&st, "POST", "/documents", J, NULL, H, 1), 400); /* allowed: the handler's 400 */
    CHECK_EQ_INT(status_of(&st, "POST", "/documents", J, NULL, "localhost:8080", 1), 400);
    CHECK_EQ_INT(status_of(&st, "POST", "/documents", J, NULL, "[::1]:8080", 1), 400);
    CHECK_EQ_INT(status_of(&st, "POST", "/documents", J, NULL, "rebind.example:8080", 1), 403); /* DNS rebinding */
    CHECK_EQ_INT(status_of(&st, "DELETE", "/documents/x", NULL, NULL, "rebind.example", 1), 403);
    /* a key: 401 without it, whatever the flag says */
    st.p.api_key = "k";
    CHECK_EQ_INT(status_of(&st, "POST", "/documents", J, NULL, H, 1), 401);
    st.p.api_key = ""; /* an empty key is no key (the server refuses one at start anyway) */
    st.p.allow_unauthenticated_writes = 0;
    CHECK_EQ_INT(status_of(&st, "POST", "/documents", J, NULL, H, 1), 403);

    /* Content-Type on every JSON POST route: 415 unless application/json (parameters, any case) */
    static const char *const posts[] = {"/search", "/embed", "/v1/embeddings", "/encode", "/documents"};
    for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++) {
        CHECK_MSG(status_of(&st, "POST", posts[i], "text/plain", NULL, H, 1) == 415, "%s text/plain", posts[i]);
        CHECK_MSG(status_of(&st, "POST", posts[i], NULL, NULL, H, 1) == 415, "%s no content type", posts[i]);
        CHECK_MSG(status_of(&st, "POST", posts[i], J, "http://evil.example", H, 1) == 403, "%s origin", posts[i]);
        /* a simple cross-site request: both wrong; refused either way */
        CHECK_MSG(status_of(&st, "POST", posts[i], "text/plain", "http://evil.example", H, 1) == 403, "%s", posts[i]);
    }
    CHECK_EQ_INT(status_of(&st, "POST", "/search", "application/json; charset=utf-8", NULL, H, 1), 400);
    CHECK_EQ_INT(status_of(&st, "POST", "/search", "Application/JSON ;charset=UTF-8", NULL, H, 1), 400);
    CHECK_EQ_INT(status_of(&st, "POST", "/search", "application/jsonx", NULL, H, 1), 415);
    CHECK_EQ_INT(status_of(&st, "POST", "/search", "application/json-patch+json", NULL, H, 1), 415);
    CHECK_EQ_INT(status_of(&st, "POST", "/search", "application/x-www-form-urlencoded", NULL, H, 1), 415);
    CHECK_EQ_INT(status_of(&st, "POST", "/search", "multipart/form-data; boundary=x", NULL, H, 1), 415);
    /* GET routes need neither */
    CHECK_EQ_INT(status_of(&st, "GET", "/health", NULL, "http://evil.example", H, 1), 200);
    CHECK_EQ_INT(status_of(&st, "POST", "/search", J, "http://127.0.0.1:8080", H, 1), 400); /* same origin */

    /* Origin vs Host */
    CHECK(web_origin_matches_host(NULL, NULL));
    CHECK(web_origin_matches_host("http://127.0.0.1:8080", "127.0.0.1:8080"));
    CHECK(web_origin_matches_host("http://Search.Example.COM", "search.example.com"));
    CHECK(web_origin_matches_host("http://search.example.com", "search.example.com:80"));
    CHECK(web_origin_matches_host("https://search.example.com", "search.example.com:443"));
    CHECK(web_origin_matches_host("https://search.example.com:443", "search.example.com"));
    CHECK(web_origin_matches_host("http://[::1]:8080", "[::1]:8080"));
    CHECK(!web_origin_matches_host("https://search.example.com", "search.example.com:80"));
    CHECK(!web_origin_matches_host("http://127.0.0.1:8081", "127.0.0.1:8080"));
    CHECK(!web_origin_matches_host("http://127.0.0.1", "127.0.0.1:8080"));
    CHECK(!web_origin_matches_host("http://evil.example", "127.0.0.1:8080"));
    CHECK(!web_origin_matches_host("http://127.0.0.1:8080.evil.example", "127.0.0.1:8080"));
    CHECK(!web_origin_matches_host("null", "127.0.0.1:8080"));
    CHECK(!web_origin_matches_host("http://127.0.0.1:8080/path", "127.0.0.1:8080"));
    CHECK(!web_origin_matches_host("127.0.0.1:8080", "127.0.0.1:8080"));
    CHECK(!web_origin_matches_host("://127.0.0.1:8080", "127.0.0.1:8080"));
    CHECK(!web_origin_matches_host("http://", ""));
    CHECK(!web_origin_matches_host("http://127.0.0.1:8080", NULL));
    /* loopback Host names */
    CHECK(web_host_is_loopback(NULL));
    CHECK(web_host_is_loopback("localhost") && web_host_is_loopback("LOCALHOST:80"));
    CHECK(web_host_is_loopback("127.0.0.1:8080") && web_host_is_loopback("127.1.2.3"));
    CHECK(web_host_is_loopback("[::1]:8080") && web_host_is_loopback("[::1]"));
    CHECK(!web_host_is_loopback("128.0.0.1") && !web_host_is_loopback("localhost.evil.example:8080"));
    CHECK(!web_host_is_loopback("[::2]:80") && !web_host_is_loopback("[::1") && !web_host_is_loopback(""));
    CHECK(!web_host_is_loopback("10.0.0.1:8080") && !web_host_is_loopback("127.0.0.1.evil.example"));
    CHECK(web_content_type_is_json(" application/json") && !web_content_type_is_json(""));
}

/* A NUL inside a JSON string is refused, never truncated. */
static void test_nul(void)
{
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
        int has;
        size_t at;
    } cases[] = {
        {"{\"id\":\"a\\u0000b\"}", 0, 1, 8},
        {"{\"a\\u0000\":1}", 0, 1, 3},
        {"{\"id\":\"a\\\\u0000b\"}", 0, 0, 0},     /* an escaped backslash, then the text u0000 */
        {"{\"id\":\"a\\\\\\u0000b\"}", 0, 1, 10}, /* an escaped backslash, then \u0000 */
        {"{\"id\":\"\\\"\\u0000\"}", 0, 1, 9},      /* an escaped quote does not end the string */
        {"{\"id\":\"\\u00000\"}", 0, 1, 7},
        {"{\"id\":\"\\u0001\\u1000\\U0000\"}", 0, 0, 0},
        {"{\"id\":\"a\"}\\u0000", 0, 0, 0}, /* outside a string: not one (and malformed JSON anyway) */
        {"{\"id\":\"\\u000", 0, 0, 0},     /* cut short */
        {"{\"id\":\"\\", 0, 0, 0},
        {"{\"id\":\"a\0b\"}", 11, 1, 8}, /* a raw NUL byte */
        {"{}\0", 3, 1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text), at = 99;
        int has = web_json_has_nul(cases[i].text, len, &at);
        CHECK_MSG(has == cases[i].has && (!has || at == cases[i].at), "case %zu: has %d at %zu", i, has, at);
    }
    web_reply r = {0};
    CHECK(parse("{\"query\":\"ab\\u0000cd\"}", &r) == NULL && err_is(&r, 400, "NUL"));
    CHECK(parse("{\"ids\":[\"x\",\"\\u0000\"]}", &r) == NULL && err_is(&r, 400, "NUL"));
    web_http_req q = {0};
    q.body = "{\"a\":\"x\0y\"}";
    q.body_len = 11;
    CHECK(web_parse_object(&q, &r) == NULL && err_is(&r, 400, "NUL"));
    cJSON *o = parse("{\"query\":\"ab\\\\u0000cd\"}", &r);
    CHECK(o && strcmp(cJSON_GetObjectItem(o, "query")->valuestring, "ab\\u0000cd") == 0);
    cJSON_Delete(o);
    web_reply_free(&r);
}

/* Every reply is valid UTF-8 JSON: bytes that are not UTF-8 become U+FFFD, long messages are cut between
 * characters. */
static void test_utf8(void)
{
    web_state st = {0};
    st.p = sem_server_default_params();
    web_http_req q = {0};
    q.method = "GET";
    q.path = "/\xff\xfe/\xc3";
    q.body = "";
    web_reply r = {0};
    web_dispatch(&st, &q, &r);
    CHECK(r.status == 404 && reply_valid(&r) && strstr(r.body, "\xef\xbf\xbd"));
    /* a long message cut at 1023 bytes: every alignment of a 2-, 3- and 4-byte character */
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (int c = 0; c < 3; c++) {
        for (int shift = 0; shift < 4; shift++) {
            char msg[2100];
            size_t n = 0, cl = strlen(chars[c]);
            memset(msg, 'x', (size_t)shift);
            n = (size_t)shift;
            while (n + cl < sizeof msg - 1) {
                memcpy(msg + n, chars[c], cl);
                n += cl;
            }
            msg[n] = '\0';
            web_error(&r, 400, "%s", msg);
            CHECK_MSG(reply_valid(&r), "web_error: char %d shift %d", c, shift);
            sem_error e;
            sem_error_set(&e, SEM_EINVAL, "%s", msg);
            CHECK_MSG(sem_utf8_valid(e.msg, strlen(e.msg), NULL) && strlen(e.msg) > 1015, "sem_error_set %d %d", c,
                      shift);
            const char *tail1 = msg + shift + cl * (600 / cl), *tail2 = msg + shift + cl * (1200 / cl);
            sem_error_set(&e, SEM_EINVAL, "%s", tail1);
            sem_error_prefix(&e, "%.*s%s", shift, "xxx", tail2);
            CHECK_MSG(sem_utf8_valid(e.msg, strlen(e.msg), NULL) && strlen(e.msg) > 1015, "sem_error_prefix %d %d",
                      c, shift);
            sem_error_set(&e, SEM_EINVAL, "%s", msg + shift + cl * 3);
            sem_error_prefix(&e, "%s", msg);
            CHECK_MSG(sem_utf8_valid(e.msg, strlen(e.msg), NULL), "sem_error_prefix (long prefix) %d %d", c, shift);
            web_error_from(&r, &e);
            CHECK(reply_valid(&r));
        }
    }
    /* a stored string with bad bytes printed by cJSON */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", "a\xff\xc3(\xed\xa0\x80z");
    CHECK(web_reply_json(&r, 200, o) == 0 && reply_valid(&r));
    CHECK(strstr(r.body, "\"a\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\""));
    sem_strbuf b = {0};
    sem_strbuf_puts(&b, "[\"\xf4\x90\x80\x80\xc0\xaf\"]");
    CHECK(web_sb_reply(&b, &r, "application/json") == 0 && reply_valid(&r));
    web_reply_free(&r);
    /* the helpers */
    size_t len = 0;
    char *fixed = sem_utf8_repair("ok \xe2\x82", 5, &len);
    CHECK(fixed && len == 9 && strcmp(fixed, "ok \xef\xbf\xbd\xef\xbf\xbd") == 0);
    free(fixed);
    CHECK_EQ_INT(sem_utf8_cut("ab\xe2\x82", 4), 2);
    CHECK_EQ_INT(sem_utf8_cut("ab\xe2\x82\xac", 5), 5);
    CHECK_EQ_INT(sem_utf8_cut("ab\xf0\x9f\x98", 5), 2);
    CHECK_EQ_INT(sem_utf8_cut("ab\xc3", 3), 2);
    CHECK_EQ_INT(sem_utf8_cut("ab", 2), 2);
    CHECK_EQ_INT(sem_utf8_cut("\x80\x80\x80\x80", 4), 4);
    char *out = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&out, &cap);
    if (f) {
        sem_json_write_string(f, "x\xff\xc3\xa9\xe2\x82");
        fclose(f);
        CHECK_STREQ(out, "\"x\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\"");
    }
    free(out);
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
    CHECK_STREQ(web_error_type(403), "forbidden");
    CHECK_STREQ(web_error_type(415), "unsupported_media_type");
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
    test_policy();
    test_nul();
    test_utf8();
    TEST_END();
}
