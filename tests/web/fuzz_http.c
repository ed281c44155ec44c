/* tests/web/fuzz_http.c: libFuzzer entry point for the HTTP request handlers (everything after libmicrohttpd:
 * routing, JSON parsing, field checks, search, embeddings, document writes). The first byte picks the route, the
 * rest is the body (or the document id for GET/DELETE): its low 3 bits pick the route (0 search, 1 embed, 2 OpenAI,
 * 3 encode, 4 POST /documents, 5 GET and 6 DELETE /documents/{id}; 7 = search), bit 3 sends the API key (so in
 * the text corpus '0'..'6' are the routes without the key and '<' / '>' are 4 / 6 with it), bit 6 sends
 * Content-Type: text/plain instead of application/json, bit 7 a foreign Origin.
 * Invariants checked on every reply: a known status, never a 5xx, a JSON body that parses and is valid UTF-8, for
 * errors the {"error":{"code","type","message"}} shape with the same code as the status, and the request policy:
 * a foreign Origin on POST/DELETE is a 403, a POST that is not application/json a 415.
 * The first call builds a small KB with the fixture model in a temporary directory (removed at exit). */
#include "web/internal.h"

#include "common/fileio.h"
#include "indexer/indexer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SEM_SHARED_DIR
#error "SEM_SHARED_DIR must point at the shared test data"
#endif

static web_state g_state;
static web_kb *g_kb;
static char g_dir[64];

static void cleanup(void)
{
    web_kb_close(g_kb);
    web_metrics_free(g_state.metrics);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (g_dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
}

static void init(void)
{
    const char *model = SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased";
    char need[512];
    snprintf(need, sizeof need, "%s/model.safetensors", model);
    if (access(need, R_OK) != 0) { /* cannot run here: the replay reports itself skipped */
        fprintf(stderr, "skipped: %s is missing\n", need);
        exit(77);
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/semsearch-fuzz-XXXXXX");
    if (!mkdtemp(g_dir))
        abort();
    char in[128], kb[128];
    snprintf(in, sizeof in, "%s/docs.jsonl", g_dir);
    snprintf(kb, sizeof kb, "%s/kb", g_dir);
    FILE *f = fopen(in, "w");
    if (!f)
        abort();
    fputs("{\"id\":\"p\",\"title\":\"Plants\",\"text\":\"Photosynthesis turns light into sugar.\",\"topic\":\"biology\"}\n"
          "{\"id\":\"v\",\"text\":\"Volcanoes erupt when magma rises.\",\"topic\":\"geology\"}\n",
          f);
    fclose(f);
    sem_index_params ip = sem_index_default_params();
    ip.model = model;
    ip.threads = 1;
    const char *inputs[] = {in};
    sem_error err = {0};
    if (sem_index_add(kb, inputs, 1, &ip, NULL, &err) != SEM_OK) {
        fprintf(stderr, "fuzz setup: %s\n", err.msg);
        abort();
    }
    g_kb = web_kb_open(kb, NULL, -1, &err);
    if (!g_kb) {
        fprintf(stderr, "fuzz setup: %s\n", err.msg);
        abort();
    }
    static web_kb *kbs[1];
    kbs[0] = g_kb;
    g_state.p = sem_server_default_params();
    g_state.p.api_key = "k";
    g_state.p.max_batch = 8;
    g_state.p.max_k = 50;
    g_state.p.max_text_chars = 4000;
    g_state.p.n_threads = 1;
    g_state.kbs = kbs;
    g_state.n_kbs = 1;
    g_state.metrics = web_metrics_new();
    if (!g_state.metrics)
        abort();
    atexit(cleanup);
}

static void check_reply(const web_reply *r)
{
    static const int ok[] = {200, 400, 401, 403, 404, 405, 413, 415};
    int known = 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        known |= r->status == ok[i];
    if (!known || !r->body || !r->content_type) {
        fprintf(stderr, "bad reply: status %d body %s\n", r->status, r->body ? r->body : "(null)");
        abort();
    }
    if (!sem_utf8_valid(r->body, r->len, NULL)) {
        fprintf(stderr, "reply is not valid UTF-8: %.*s\n", (int)r->len, r->body);
        abort();
    }
    if (strncmp(r->content_type, "application/json", 16) != 0)
        return;
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    if (!j) {
        fprintf(stderr, "reply is not JSON: %.*s\n", (int)r->len, r->body);
        abort();
    }
    if (r->status != 200) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        if (!cJSON_IsNumber(code) || code->valueint != r->status || !cJSON_IsString(msg)) {
            fprintf(stderr, "bad error reply: %s\n", r->body);
            abort();
        }
    }
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_kb)
        init();
    if (size < 1 || size > 100000)
        return 0;
    static const char *const post_paths[] = {"/search", "/embed", "/v1/embeddings", "/encode", "/documents"};
    int sel = (data[0] & 7) % 7, with_key = (data[0] >> 3) & 1, text_plain = (data[0] >> 6) & 1,
        foreign = (data[0] >> 7) & 1;
    /* the body as a NUL-terminated copy, as the server hands it over */
    char *body = malloc(size);
    if (!body)
        return 0;
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    web_http_req req = {0};
    req.body = body;
    req.body_len = size - 1;
    req.authorization = with_key ? "Bearer k" : NULL;
    req.content_type = text_plain ? "text/plain" : "application/json";
    req.host = "127.0.0.1:8080";
    req.origin = foreign ? "http://evil.example" : NULL;
    char path[256];
    if (sel < 5) {
        req.method = "POST";
        req.path = post_paths[sel];
    } else {
        /* GET/DELETE /documents/{id}: the id is the body's first line (no NUL inside a path) */
        size_t n = strcspn(body, "\n");
        snprintf(path, sizeof path, "/documents/%.*s", (int)(n < 200 ? n : 200), body);
        req.method = sel == 5 ? "GET" : "DELETE";
        req.path = path;
        req.body = "";
        req.body_len = 0;
    }
    web_reply r = {0};
    web_dispatch(&g_state, &req, &r);
    check_reply(&r);
    int routed = sel < 5 || req.path[sizeof "/documents/" - 1] != '\0'; /* "/documents/" alone is no route */
    int want = !routed ? 0 : foreign && sel != 5 ? 403 : text_plain && sel < 5 ? 415 : 0;
    if (want && r.status != want) {
        fprintf(stderr, "%s %s (text/plain %d, foreign origin %d) -> %d, want %d\n", req.method, req.path, text_plain,
                foreign, r.status, want);
        abort();
    }
    if (getenv("SEM_FUZZ_VERBOSE"))
        fprintf(stderr, "%s %s -> %d %.160s\n", req.method, req.path, r.status, r.body);
    web_reply_free(&r);
    free(body);
    return 0;
}
