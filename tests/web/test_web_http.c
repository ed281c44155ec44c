/* tests/web/test_web_http.c: every endpoint and every error case of `semsearch serve`, over real HTTP (libcurl),
 * against two KBs built with the fixture model bert-tiny-uncased. Vectors are checked against the HuggingFace
 * reference (../shared/testdata/expected), so the embedding routes are checked end to end. */
#include "test.h"
#include "web_test_util.h"

#include <math.h>

static const char *const DOCS1 =
    "{\"id\":\"photo\",\"title\":\"Photosynthesis\",\"text\":\"Photosynthesis converts light energy into chemical "
    "energy in green plants.\",\"metadata\":{\"topic\":\"biology\",\"lang\":\"en\"}}\n"
    "{\"id\":\"volcano\",\"title\":\"Volcanoes\",\"text\":\"A volcano erupts when magma rises through the crust of "
    "the earth.\",\"topic\":\"geology\",\"lang\":\"en\"}\n"
    "{\"id\":\"quake\",\"title\":\"Earthquakes\",\"text\":\"Earthquakes happen when tectonic plates slip along a "
    "fault; magma is not involved.\",\"topic\":\"geology\",\"lang\":\"en\"}\n"
    "{\"id\":\"reset\",\"question\":\"How do I reset my password?\",\"answer\":\"Click 'forgot password' on the "
    "login page and follow the link we email you.\",\"topic\":\"account\"}\n"
    "{\"id\":\"bread\",\"title\":\"Bread\",\"text\":\"Yeast makes bread dough rise by producing carbon dioxide.\","
    "\"topic\":\"cooking\",\"lang\":\"en\"}\n"
    "{\"id\":\"tides\",\"title\":\"Tides\",\"text\":\"Ocean tides are caused by the gravity of the moon and the "
    "sun.\",\"topic\":\"physics\",\"lang\":\"en\"}\n";

static const char *const DOCS2 =
    "{\"id\":\"k2-chess\",\"title\":\"Chess\",\"text\":\"The knight moves in an L shape on the chess board.\"}\n"
    "{\"id\":\"k2-go\",\"title\":\"Go\",\"text\":\"Go is played with black and white stones on a grid.\"}\n";

static const char *const DOCS3 = "{\"id\":\"lex-1\",\"text\":\"Zebras have black and white stripes.\"}\n";

static const char *base;
static const char *const KEY_BEARER[] = {"Authorization: Bearer sekret-key", NULL};
static const char *const KEY_HEADER[] = {"api-key: sekret-key", NULL};
static const char *const KEY_WRONG[] = {"Authorization: Bearer wrong-key", NULL};

/* The reference vector of texts.jsonl line `line` (embedding_f64 of embed_mean.jsonl): dim floats into out. */
static int reference(int line, double *out, int dim)
{
    FILE *f = fopen(SEM_SHARED_DIR "/testdata/expected/bert-tiny-uncased/embed_mean.jsonl", "r");
    if (!f)
        return -1;
    char *buf = NULL;
    size_t cap = 0;
    int rc = -1;
    for (int i = 0; i <= line; i++)
        if (getline(&buf, &cap, f) < 0)
            goto out;
    cJSON *j = cJSON_Parse(buf);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "embedding_f64");
    if (cJSON_GetArraySize(e) == dim) {
        for (int i = 0; i < dim; i++)
            out[i] = cJSON_GetArrayItem(e, i)->valuedouble;
        rc = 0;
    }
    cJSON_Delete(j);
out:
    free(buf);
    fclose(f);
    return rc;
}

/* Max |a - ref| / max(1, |ref|) over a JSON array of numbers vs ref (scaled by 1/norm when normalize). */
static double vec_err(const cJSON *a, const double *ref, int dim, int normalize)
{
    if (cJSON_GetArraySize(a) != dim)
        return 1e9;
    double norm = 0;
    for (int i = 0; i < dim; i++)
        norm += ref[i] * ref[i];
    norm = normalize ? sqrt(norm) : 1.0;
    double worst = 0;
    for (int i = 0; i < dim; i++) {
        const cJSON *x = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(x))
            return 1e9;
        double want = ref[i] / norm;
        double d = fabs(x->valuedouble - want) / (fabs(want) > 1 ? fabs(want) : 1);
        if (d > worst)
            worst = d;
    }
    return worst;
}

static void expect_error(const char *method, const char *path, const char *body, const char *const *headers,
                         int status, const char *type, const char *what)
{
    wt_resp r;
    int rc = wt_http(base, method, path, body, headers, &r);
    cJSON *j = cJSON_Parse(r.body);
    CHECK_MSG(rc == 0 && r.status == status, "%s: %s %s -> %ld (want %d): %s", what, method, path, r.status, status,
              r.body);
    CHECK_MSG(wt_is_error(j, status, type), "%s: body is not a %d %s error: %s", what, status, type, r.body);
    CHECK_MSG(strncmp(r.ctype, "application/json", 16) == 0, "%s: content type '%s'", what, r.ctype);
    cJSON_Delete(j);
    free(r.body);
}

static int count_hits(const cJSON *res)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "hits"));
}

static const char *hit_id(const cJSON *res, int i)
{
    return wt_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "hits"), i), "id");
}

static int scores_sorted(const cJSON *res)
{
    const cJSON *hits = cJSON_GetObjectItemCaseSensitive(res, "hits");
    double prev = 1e300;
    const cJSON *h;
    cJSON_ArrayForEach(h, hits)
    {
        double s = wt_num(h, "score");
        if (s > prev + 1e-6)
            return 0;
        prev = s;
    }
    return 1;
}

static void test_page_and_health(void)
{
    long st;
    cJSON *j = wt_get_json(base, "/health", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_STREQ(wt_str(j, "status"), "ok");
    CHECK_EQ_INT(wt_num(j, "kbs"), 3);
    cJSON_Delete(j);

    wt_resp r;
    CHECK(wt_http(base, "GET", "/", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strncmp(r.ctype, "text/html", 9) == 0);
    CHECK(strstr(r.body, "<form") && strstr(r.body, "id=\"q\"") && strstr(r.body, "/app.js"));
    free(r.body);
    CHECK(wt_http(base, "GET", "/app.js", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strncmp(r.ctype, "text/javascript", 15) == 0 && strstr(r.body, "fetch(\"/search\""));
    free(r.body);
    CHECK(wt_http(base, "GET", "/style.css", NULL, NULL, &r) == 0);
    CHECK(r.status == 200 && strncmp(r.ctype, "text/css", 8) == 0);
    free(r.body);
    CHECK(wt_http(base, "HEAD", "/", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
}

static void test_search(void)
{
    long st;
    /* lexical: the right document first, with its fields */
    cJSON *j = wt_post_json(base, "/search", "{\"query\":\"photosynthesis light plants\",\"mode\":\"lexical\",\"k\":3}",
                            NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK(count_hits(j) >= 1);
    CHECK_STREQ(hit_id(j, 0), "photo");
    const cJSON *h0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "hits"), 0);
    CHECK_STREQ(wt_str(h0, "title"), "Photosynthesis");
    CHECK(wt_str(h0, "text") && strstr(wt_str(h0, "text"), "chemical energy"));
    CHECK_STREQ(wt_str(cJSON_GetObjectItemCaseSensitive(h0, "metadata"), "topic"), "biology");
    CHECK(wt_num(h0, "passage") == 0);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(h0, "score")));
    CHECK(wt_num(j, "took_ms") >= 0);
    CHECK_STREQ(wt_str(j, "mode"), "lexical");
    CHECK_STREQ(wt_str(j, "kb"), "kb1");
    cJSON_Delete(j);

    /* no mode: hybrid on a KB with a model */
    j = wt_post_json(base, "/search", "{\"query\":\"why does bread rise?\",\"k\":4}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_STREQ(wt_str(j, "mode"), "hybrid");
    CHECK(scores_sorted(j));
    cJSON_Delete(j);

    /* semantic: k hits, best first */
    j = wt_post_json(base, "/search", "{\"query\":\"why does bread rise?\",\"k\":4,\"mode\":\"semantic\"}", NULL,
                     &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(count_hits(j), 4);
    CHECK(scores_sorted(j));
    CHECK_STREQ(wt_str(j, "mode"), "semantic");
    cJSON *sem = j;

    /* the same search with the vector from /embed gives the same ranking */
    j = wt_post_json(base, "/embed", "{\"inputs\":\"why does bread rise?\",\"normalize\":false}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    char *vec = cJSON_PrintUnformatted(cJSON_GetArrayItem(j, 0));
    cJSON_Delete(j);
    char *body = wt_strdupf("{\"vector\":%s,\"k\":4}", vec ? vec : "null");
    j = wt_post_json(base, "/search", body, NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(count_hits(j), 4);
    for (int i = 0; i < 4; i++)
        CHECK_STREQ(hit_id(j, i), hit_id(sem, i));
    cJSON_Delete(j);
    cJSON_Delete(sem);
    free(body);
    /* a vector of the wrong length, a vector with the lexical mode, both query and vector */
    expect_error("POST", "/search", "{\"vector\":[1,2,3]}", NULL, 400, "invalid_request", "short vector");
    body = wt_strdupf("{\"vector\":%s,\"mode\":\"lexical\"}", vec ? vec : "null");
    expect_error("POST", "/search", body, NULL, 400, "invalid_request", "vector lexical");
    free(body);
    body = wt_strdupf("{\"vector\":%s,\"query\":\"x\"}", vec ? vec : "null");
    expect_error("POST", "/search", body, NULL, 400, "invalid_request", "vector and query");
    free(body);
    expect_error("POST", "/search", "{\"vector\":[1,\"a\"]}", NULL, 400, "invalid_request", "vector of strings");
    free(vec);

    /* hybrid */
    j = wt_post_json(base, "/search", "{\"query\":\"magma volcano\",\"mode\":\"hybrid\",\"k\":3}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK(count_hits(j) >= 1 && count_hits(j) <= 3);
    CHECK(scores_sorted(j));
    CHECK_STREQ(wt_str(j, "mode"), "hybrid");
    cJSON_Delete(j);
    /* hybrid weights: weight 1 ranks as semantic search does; rrf fusion; bad weights and fusions are 400 */
    j = wt_post_json(base, "/search", "{\"query\":\"magma volcano\",\"mode\":\"semantic\",\"k\":3}", NULL, &st);
    cJSON *j1 = wt_post_json(base, "/search",
                             "{\"query\":\"magma volcano\",\"mode\":\"hybrid\",\"k\":3,\"semantic_weight\":1}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK(count_hits(j) == 3 && count_hits(j1) == 3);
    for (int i = 0; i < 3 && count_hits(j1) == 3; i++)
        CHECK_STREQ(hit_id(j1, i), hit_id(j, i));
    cJSON_Delete(j);
    cJSON_Delete(j1);
    j = wt_post_json(base, "/search",
                     "{\"query\":\"magma volcano\",\"mode\":\"hybrid\",\"k\":3,\"fusion\":\"rrf\",\"semantic_weight\":0.5}",
                     NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK(count_hits(j) >= 1 && scores_sorted(j));
    cJSON_Delete(j);
    expect_error("POST", "/search", "{\"query\":\"x\",\"mode\":\"hybrid\",\"semantic_weight\":0}", NULL, 400,
                 "invalid_request", "weight 0");
    expect_error("POST", "/search", "{\"query\":\"x\",\"mode\":\"hybrid\",\"semantic_weight\":1.5}", NULL, 400,
                 "invalid_request", "weight 1.5");
    expect_error("POST", "/search", "{\"query\":\"x\",\"semantic_weight\":\"high\"}", NULL, 400, "invalid_request",
                 "weight string");
    expect_error("POST", "/search", "{\"query\":\"x\",\"fusion\":\"max\"}", NULL, 400, "invalid_request",
                 "unknown fusion");

    /* filters: only geology; a number and a boolean value are accepted */
    j = wt_post_json(base, "/search",
                     "{\"query\":\"magma plants energy bread\",\"mode\":\"lexical\",\"k\":10,\"filter\":{\"topic\":"
                     "\"geology\"}}",
                     NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK(count_hits(j) >= 1);
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(j, "hits"))
        CHECK_STREQ(wt_str(cJSON_GetObjectItemCaseSensitive(h, "metadata"), "topic"), "geology");
    cJSON_Delete(j);
    j = wt_post_json(base, "/search", "{\"query\":\"bread\",\"k\":5,\"filter\":{\"topic\":\"nothing-like-this\"}}",
                     NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(count_hits(j), 0);
    cJSON_Delete(j);
    j = wt_post_json(base, "/search", "{\"query\":\"bread\",\"filter\":{\"year\":2020,\"ok\":true}}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(count_hits(j), 0);
    cJSON_Delete(j);

    /* FAQ documents carry their answer */
    j = wt_post_json(base, "/search", "{\"query\":\"reset password\",\"mode\":\"lexical\",\"k\":1}", NULL, &st);
    CHECK_STREQ(hit_id(j, 0), "reset");
    h0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "hits"), 0);
    CHECK(wt_str(h0, "answer") && strstr(wt_str(h0, "answer"), "forgot password"));
    CHECK_STREQ(wt_str(h0, "title"), "How do I reset my password?");
    cJSON_Delete(j);

    /* the second KB by name; an unknown one is 404 */
    j = wt_post_json(base, "/search", "{\"query\":\"knight chess\",\"mode\":\"lexical\",\"kb\":\"kb2\"}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_STREQ(hit_id(j, 0), "k2-chess");
    CHECK_STREQ(wt_str(j, "kb"), "kb2");
    cJSON_Delete(j);
    j = wt_post_json(base, "/search", "{\"query\":\"knight chess\",\"mode\":\"lexical\"}", NULL, &st);
    CHECK_EQ_INT(count_hits(j), 0); /* not in the default KB */
    cJSON_Delete(j);
    expect_error("POST", "/search", "{\"query\":\"x\",\"kb\":\"nope\"}", NULL, 404, "not_found", "unknown kb");

    /* errors */
    expect_error("POST", "/search", "{\"query\":\"x\"", NULL, 400, "invalid_request", "malformed JSON");
    expect_error("POST", "/search", "{\"query\":\"x\"} trailing", NULL, 400, "invalid_request", "trailing data");
    expect_error("POST", "/search", "[\"x\"]", NULL, 400, "invalid_request", "not an object");
    expect_error("POST", "/search", "", NULL, 400, "invalid_request", "empty body");
    expect_error("POST", "/search", "{\"query\":\"caf\xc3\"}", NULL, 400, "invalid_request", "invalid UTF-8");
    expect_error("POST", "/search", "{}", NULL, 400, "invalid_request", "missing query");
    expect_error("POST", "/search", "{\"query\":\"  \\n \"}", NULL, 400, "invalid_request", "blank query");
    expect_error("POST", "/search", "{\"query\":\"\"}", NULL, 400, "invalid_request", "empty query");
    expect_error("POST", "/search", "{\"query\":5}", NULL, 400, "invalid_request", "query not a string");
    expect_error("POST", "/search", "{\"query\":\"x\",\"k\":\"5\"}", NULL, 400, "invalid_request", "k a string");
    expect_error("POST", "/search", "{\"query\":\"x\",\"k\":2.5}", NULL, 400, "invalid_request", "k fractional");
    expect_error("POST", "/search", "{\"query\":\"x\",\"k\":0}", NULL, 400, "invalid_request", "k 0");
    expect_error("POST", "/search", "{\"query\":\"x\",\"k\":51}", NULL, 400, "invalid_request", "k over max-k");
    expect_error("POST", "/search", "{\"query\":\"x\",\"k\":1e300}", NULL, 400, "invalid_request", "k huge");
    expect_error("POST", "/search", "{\"query\":\"x\",\"mode\":\"fuzzy\"}", NULL, 400, "invalid_request", "bad mode");
    expect_error("POST", "/search", "{\"query\":\"x\",\"nprobe\":-1}", NULL, 400, "invalid_request", "bad nprobe");
    expect_error("POST", "/search", "{\"query\":\"x\",\"filter\":[1]}", NULL, 400, "invalid_request", "filter array");
    expect_error("POST", "/search", "{\"query\":\"x\",\"filter\":{\"a\":{\"b\":1}}}", NULL, 400, "invalid_request",
                 "filter nested");
    expect_error("POST", "/search", "{\"query\":\"x\",\"filter\":{\"bad key!\":\"v\"}}", NULL, 400, "invalid_request",
                 "filter key");
    expect_error("POST", "/search", "{\"query\":\"x\",\"kb\":7}", NULL, 400, "invalid_request", "kb not a string");
    /* max-text-chars is 4000 */
    char *big = malloc(4100);
    memset(big, 'a', 4099);
    big[4099] = 0;
    body = wt_strdupf("{\"query\":\"%s\"}", big);
    expect_error("POST", "/search", body, NULL, 400, "invalid_request", "query too long");
    free(body);
    free(big);
    /* k at the limit is fine */
    j = wt_post_json(base, "/search", "{\"query\":\"energy\",\"k\":50}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK(count_hits(j) >= 6 && count_hits(j) <= 50);
    cJSON_Delete(j);
}

static void test_embeddings(void)
{
    enum { DIM = 64 };
    double ref[DIM], ref1[DIM];
    CHECK(reference(0, ref, DIM) == 0);
    CHECK(reference(1, ref1, DIM) == 0);
    long st;

    /* TEI: normalize defaults to true */
    cJSON *j = wt_post_json(base, "/embed", "{\"inputs\":\"Hello, world! How are you?\"}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 1);
    CHECK_MSG(vec_err(cJSON_GetArrayItem(j, 0), ref, DIM, 1) < 1e-4, "TEI normalized vector differs");
    cJSON_Delete(j);
    j = wt_post_json(base, "/embed",
                     "{\"inputs\":[\"Hello, world! How are you?\",\"H\\u00e9llo W\\u00f6rld \\u2014 caf\\u00e9 "
                     "na\\u00efve r\\u00e9sum\\u00e9 \\u00c0\\u00c9\\u00ce\\u00d5\\u00dc \\u00c5ngstr\\u00f6m\"],"
                     "\"normalize\":false}",
                     NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetArraySize(j), 2);
    CHECK_MSG(vec_err(cJSON_GetArrayItem(j, 0), ref, DIM, 0) < 1e-4, "TEI raw vector 0 differs");
    CHECK_MSG(vec_err(cJSON_GetArrayItem(j, 1), ref1, DIM, 0) < 1e-4, "TEI raw vector 1 differs");
    cJSON_Delete(j);
    /* TEI: over the model's 512 tokens without truncate is an error; with it, fine */
    size_t nlong = 600 * 4;
    char *lng = malloc(nlong + 1);
    for (size_t i = 0; i < nlong; i += 4)
        memcpy(lng + i, "cat ", 4);
    lng[nlong] = 0;
    char *body = wt_strdupf("{\"inputs\":\"%s\"}", lng);
    expect_error("POST", "/embed", body, NULL, 400, "invalid_request", "TEI too many tokens");
    free(body);
    body = wt_strdupf("{\"inputs\":\"%s\",\"truncate\":true}", lng);
    j = wt_post_json(base, "/embed", body, NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetArrayItem(j, 0)), DIM);
    cJSON_Delete(j);
    free(body);
    /* OpenAI usage counts the truncated input: 512 tokens */
    body = wt_strdupf("{\"input\":\"%s\"}", lng);
    j = wt_post_json(base, "/v1/embeddings", body, NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(wt_num(cJSON_GetObjectItemCaseSensitive(j, "usage"), "prompt_tokens"), 512);
    cJSON_Delete(j);
    free(body);
    free(lng);

    /* OpenAI */
    j = wt_post_json(base, "/v1/embeddings",
                     "{\"input\":\"Hello, world! How are you?\",\"model\":\"bert-tiny-uncased\",\"encoding_format\":"
                     "\"float\"}",
                     NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_STREQ(wt_str(j, "object"), "list");
    CHECK_STREQ(wt_str(j, "model"), "bert-tiny-uncased");
    const cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), 0);
    CHECK_STREQ(wt_str(d0, "object"), "embedding");
    CHECK_EQ_INT(wt_num(d0, "index"), 0);
    /* normalized as the KB's vectors are (inner product: unit length), not the model's raw mean pooling */
    CHECK_MSG(vec_err(cJSON_GetObjectItemCaseSensitive(d0, "embedding"), ref, DIM, 1) < 1e-4, "OpenAI vector");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
    CHECK_EQ_INT(wt_num(u, "prompt_tokens"), 10);
    CHECK_EQ_INT(wt_num(u, "total_tokens"), 10);
    cJSON_Delete(j);
    j = wt_post_json(base, "/v1/embeddings", "{\"input\":[\"Hello, world! How are you?\",\"unaffable\"]}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "data")), 2);
    CHECK_EQ_INT(wt_num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), 1), "index"), 1);
    CHECK_EQ_INT(wt_num(cJSON_GetObjectItemCaseSensitive(j, "usage"), "prompt_tokens"), 10 + 5);
    cJSON_Delete(j);
    /* base64: little-endian float32 */
    j = wt_post_json(base, "/v1/embeddings",
                     "{\"input\":\"Hello, world! How are you?\",\"encoding_format\":\"base64\",\"kb\":\"kb2\"}", NULL,
                     &st);
    CHECK_EQ_INT(st, 200);
    const char *b64 = wt_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), 0), "embedding");
    CHECK(b64 && strlen(b64) == 4 * ((DIM * 4 + 2) / 3));
    if (b64 && strlen(b64) == 4 * ((DIM * 4 + 2) / 3)) {
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        unsigned char bytes[DIM * 4 + 3];
        size_t nb = 0;
        for (size_t i = 0; b64[i]; i += 4) {
            unsigned v = 0;
            for (int q = 0; q < 4; q++) {
                const char *p = strchr(tab, b64[i + q]);
                v = v << 6 | (b64[i + q] == '=' || !p ? 0 : (unsigned)(p - tab));
            }
            bytes[nb++] = (unsigned char)(v >> 16);
            bytes[nb++] = (unsigned char)(v >> 8);
            bytes[nb++] = (unsigned char)v;
        }
        float f[DIM];
        memcpy(f, bytes, sizeof f);
        double worst = 0, norm = 0;
        for (int i = 0; i < DIM; i++)
            norm += ref[i] * ref[i];
        norm = sqrt(norm);
        for (int i = 0; i < DIM; i++)
            worst = fmax(worst, fabs(f[i] - ref[i] / norm));
        CHECK_MSG(worst < 1e-4, "base64 vector differs by %g", worst);
    }
    cJSON_Delete(j);
    /* any model name while one model is served (kb1 and kb2 share it; lex has none), as TEI and llama.cpp do:
     * OpenAI client libraries send their own default */
    j = wt_post_json(base, "/v1/embeddings", "{\"input\":\"x\",\"model\":\"text-embedding-ada-002\"}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_STREQ(wt_str(j, "model"), "text-embedding-ada-002");
    cJSON_Delete(j);
    expect_error("POST", "/v1/embeddings", "{\"input\":\"x\",\"encoding_format\":\"int8\"}", NULL, 400,
                 "invalid_request", "bad encoding_format");
    expect_error("POST", "/v1/embeddings", "{\"input\":\"x\",\"dimensions\":32}", NULL, 400, "invalid_request",
                 "bad dimensions");
    expect_error("POST", "/v1/embeddings", "{\"model\":\"kb1\"}", NULL, 400, "invalid_request", "missing input");
    expect_error("POST", "/v1/embeddings", "{\"input\":[\"a\",3]}", NULL, 400, "invalid_request", "input not strings");

    /* bert-as-service */
    j = wt_post_json(base, "/encode", "{\"id\":123,\"texts\":[\"Hello, world! How are you?\"],\"is_tokenized\":false}",
                     NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(wt_num(j, "id"), 123);
    CHECK_EQ_INT(wt_num(j, "status"), 200);
    CHECK_MSG(vec_err(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "results"), 0), ref, DIM, 1) < 1e-4,
              "bert-as-service vector");
    cJSON_Delete(j);
    /* pre-tokenized: the reference tokens of texts.jsonl line 1 (without [CLS]/[SEP]) give its vector */
    j = wt_post_json(base, "/encode",
                     "{\"id\":\"req-7\",\"texts\":[[\"hello\",\"world\",\"\\u2014\",\"cafe\",\"naive\",\"resume\","
                     "\"ae\",\"##io\",\"##u\",\"ang\",\"##strom\"]],\"is_tokenized\":true}",
                     NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_STREQ(wt_str(j, "id"), "req-7");
    CHECK_MSG(vec_err(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "results"), 0), ref1, DIM, 1) < 1e-4,
              "bert-as-service tokenized vector");
    cJSON_Delete(j);
    expect_error("POST", "/encode", "{\"id\":1}", NULL, 400, "invalid_request", "encode without texts");
    expect_error("POST", "/encode", "{\"texts\":\"x\"}", NULL, 400, "invalid_request", "encode texts not array");
    expect_error("POST", "/encode", "{\"texts\":[\"x\"],\"is_tokenized\":true}", NULL, 400, "invalid_request",
                 "tokenized text not an array");
    expect_error("POST", "/encode", "{\"texts\":[[\"x\", 1]],\"is_tokenized\":true}", NULL, 400, "invalid_request",
                 "token not a string");
    expect_error("POST", "/encode", "{\"texts\":[\"x\"],\"is_tokenized\":1}", NULL, 400, "invalid_request",
                 "is_tokenized not a bool");

    /* the shared embedding errors */
    expect_error("POST", "/embed", "{}", NULL, 400, "invalid_request", "embed without inputs");
    expect_error("POST", "/embed", "{\"inputs\":5}", NULL, 400, "invalid_request", "inputs a number");
    expect_error("POST", "/embed", "{\"inputs\":[]}", NULL, 400, "invalid_request", "inputs empty");
    expect_error("POST", "/embed", "{\"inputs\":\"x\",\"normalize\":\"yes\"}", NULL, 400, "invalid_request",
                 "normalize not a bool");
    expect_error("POST", "/embed", "{\"inputs\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}", NULL, 400,
                 "invalid_request", "batch over max-batch");
    expect_error("POST", "/embed", "{\"inputs\":\"x\",\"kb\":\"nope\"}", NULL, 404, "not_found", "embed unknown kb");
    expect_error("POST", "/embed", "{\"inputs\":\"x\\ud800\"}", NULL, 400, "invalid_request", "lone surrogate");
    j = wt_post_json(base, "/embed", "{\"inputs\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\"]}", NULL, &st);
    CHECK_EQ_INT(st, 200); /* exactly max-batch */
    CHECK_EQ_INT(cJSON_GetArraySize(j), 8);
    cJSON_Delete(j);
}

static void test_documents(void)
{
    long st;
    const char *add = "{\"documents\":[{\"id\":\"new1\",\"title\":\"Entanglement\",\"text\":\"Quantum entanglement "
                      "links the states of particles.\",\"metadata\":{\"topic\":\"physics\"}}]}";
    /* 401 without a key, with a wrong one; a 401 says how to authenticate */
    wt_resp r;
    CHECK(wt_http(base, "POST", "/documents", add, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 401);
    CHECK_STREQ(r.www_auth, "Bearer");
    free(r.body);
    expect_error("POST", "/documents", add, NULL, 401, "unauthorized", "no key");
    expect_error("POST", "/documents", add, KEY_WRONG, 401, "unauthorized", "wrong key");
    static const char *const wrong_api_key[] = {"api-key: sekret-ke", NULL};
    expect_error("POST", "/documents", add, wrong_api_key, 401, "unauthorized", "key prefix");
    expect_error("DELETE", "/documents/photo", NULL, NULL, 401, "unauthorized", "delete without key");

    cJSON *j = wt_post_json(base, "/documents", add, KEY_BEARER, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(wt_num(j, "added"), 1);
    CHECK(wt_num(j, "passages") >= 1);
    CHECK_STREQ(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "ids"), 0)->valuestring, "new1");
    cJSON_Delete(j);
    /* searchable at once, in both modes */
    j = wt_post_json(base, "/search", "{\"query\":\"entanglement particles\",\"mode\":\"lexical\",\"k\":1}", NULL, &st);
    CHECK_STREQ(hit_id(j, 0), "new1");
    cJSON_Delete(j);
    j = wt_post_json(base, "/search", "{\"query\":\"Quantum entanglement links the states of particles.\",\"k\":10}",
                     NULL, &st);
    int seen = 0;
    for (int i = 0; i < count_hits(j); i++)
        seen |= hit_id(j, i) && strcmp(hit_id(j, i), "new1") == 0;
    CHECK(seen);
    cJSON_Delete(j);
    j = wt_get_json(base, "/documents/new1", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_STREQ(wt_str(j, "id"), "new1");
    CHECK_STREQ(wt_str(j, "title"), "Entanglement");
    CHECK_STREQ(wt_str(j, "text"), "Quantum entanglement links the states of particles.");
    CHECK_STREQ(wt_str(cJSON_GetObjectItemCaseSensitive(j, "metadata"), "topic"), "physics");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "passages")) >= 1);
    cJSON_Delete(j);

    /* replace (api-key header), a FAQ document in the same batch */
    j = wt_post_json(base, "/documents",
                     "{\"documents\":[{\"id\":\"new1\",\"text\":\"Superconductors carry current without "
                     "resistance.\"},{\"id\":\"faq9\",\"question\":\"Can I change my username?\",\"answer\":\"Yes, "
                     "in the profile settings.\"}]}",
                     KEY_HEADER, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(wt_num(j, "added"), 1);    /* faq9 is new */
    CHECK_EQ_INT(wt_num(j, "replaced"), 1); /* new1 was there */
    cJSON_Delete(j);
    j = wt_get_json(base, "/documents/new1", &st);
    CHECK_STREQ(wt_str(j, "text"), "Superconductors carry current without resistance.");
    CHECK(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "metadata"), "topic") == NULL);
    cJSON_Delete(j);
    j = wt_post_json(base, "/search", "{\"query\":\"entanglement\",\"mode\":\"lexical\"}", NULL, &st);
    CHECK_EQ_INT(count_hits(j), 0); /* the old text is gone */
    cJSON_Delete(j);
    j = wt_get_json(base, "/documents/faq9", &st);
    CHECK_STREQ(wt_str(j, "text"), "Can I change my username?\n\nYes, in the profile settings.");
    CHECK_STREQ(wt_str(cJSON_GetObjectItemCaseSensitive(j, "metadata"), "answer"), "Yes, in the profile settings.");
    cJSON_Delete(j);

    /* delete: 200, then 404 for GET and DELETE, and gone from search */
    CHECK(wt_http(base, "DELETE", "/documents/new1", NULL, KEY_BEARER, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    j = cJSON_Parse(r.body);
    CHECK_STREQ(wt_str(j, "deleted"), "new1");
    cJSON_Delete(j);
    free(r.body);
    expect_error("GET", "/documents/new1", NULL, NULL, 404, "not_found", "get deleted");
    expect_error("DELETE", "/documents/new1", NULL, KEY_BEARER, 404, "not_found", "delete deleted");
    j = wt_post_json(base, "/search", "{\"query\":\"superconductors resistance\",\"mode\":\"lexical\"}", NULL, &st);
    CHECK_EQ_INT(count_hits(j), 0);
    cJSON_Delete(j);
    expect_error("GET", "/documents/never-was", NULL, NULL, 404, "not_found", "absent document");

    /* ?kb= picks the KB for GET and DELETE; ids with escaped characters */
    j = wt_get_json(base, "/documents/k2-go?kb=kb2", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_STREQ(wt_str(j, "title"), "Go");
    cJSON_Delete(j);
    expect_error("GET", "/documents/k2-go", NULL, NULL, 404, "not_found", "doc in the other kb");
    expect_error("GET", "/documents/k2-go?kb=nope", NULL, NULL, 404, "not_found", "doc unknown kb");
    j = wt_post_json(base, "/documents", "{\"kb\":\"kb2\",\"documents\":[{\"id\":\"a b/c\",\"text\":\"odd id\"}]}",
                     KEY_BEARER, &st);
    CHECK_EQ_INT(st, 200);
    cJSON_Delete(j);
    j = wt_get_json(base, "/documents/a%20b%2Fc?kb=kb2", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_STREQ(wt_str(j, "id"), "a b/c");
    cJSON_Delete(j);

    /* errors */
    expect_error("POST", "/documents", "{}", KEY_BEARER, 400, "invalid_request", "no documents");
    expect_error("POST", "/documents", "{\"documents\":{}}", KEY_BEARER, 400, "invalid_request", "documents object");
    expect_error("POST", "/documents", "{\"documents\":[]}", KEY_BEARER, 400, "invalid_request", "documents empty");
    expect_error("POST", "/documents", "{\"documents\":[7]}", KEY_BEARER, 400, "invalid_request", "document number");
    expect_error("POST", "/documents", "{\"documents\":[{\"text\":\"no id\"}]}", KEY_BEARER, 400, "invalid_request",
                 "document without id");
    expect_error("POST", "/documents", "{\"documents\":[{\"id\":\"x\"}]}", KEY_BEARER, 400, "invalid_request",
                 "document without text");
    expect_error("POST", "/documents", "{\"documents\":[{\"id\":\"x\",\"text\":\"t\",\"metadata\":[1]}]}", KEY_BEARER,
                 400, "invalid_request", "metadata not an object");
    expect_error("POST", "/documents",
                 "{\"documents\":[{\"id\":\"d1\",\"text\":\"t\"},{\"id\":\"d2\",\"text\":\"t\"},{\"id\":\"d3\",\"text\""
                 ":\"t\"},{\"id\":\"d4\",\"text\":\"t\"},{\"id\":\"d5\",\"text\":\"t\"},{\"id\":\"d6\",\"text\":\"t\"},{"
                 "\"id\":\"d7\",\"text\":\"t\"},{\"id\":\"d8\",\"text\":\"t\"},{\"id\":\"d9\",\"text\":\"t\"}]}",
                 KEY_BEARER, 400, "invalid_request", "documents over max-batch");
    expect_error("POST", "/documents", "{\"documents\":[{\"id\":\"x\",\"text\":\"t\"}],\"kb\":\"nope\"}", KEY_BEARER,
                 404, "not_found", "documents unknown kb");
    expect_error("POST", "/documents", "{\"documents\":[{\"id\":\"x\",\"text\":\"t\"}", KEY_BEARER, 400,
                 "invalid_request", "documents malformed");
    /* a failed batch wrote nothing */
    expect_error("GET", "/documents/d1", NULL, NULL, 404, "not_found", "nothing from a rejected batch");
}

/* A KB without a model: lexical search by default, no semantic search or embeddings, writes work. */
static void test_lexical_only(void)
{
    long st;
    cJSON *j = wt_post_json(base, "/search", "{\"query\":\"zebra stripes\",\"kb\":\"lex\"}", NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_STREQ(wt_str(j, "mode"), "lexical");
    CHECK_STREQ(hit_id(j, 0), "lex-1");
    cJSON_Delete(j);
    expect_error("POST", "/search", "{\"query\":\"zebra\",\"kb\":\"lex\",\"mode\":\"semantic\"}", NULL, 400,
                 "invalid_request", "semantic without a model");
    expect_error("POST", "/search", "{\"query\":\"zebra\",\"kb\":\"lex\",\"mode\":\"hybrid\"}", NULL, 400,
                 "invalid_request", "hybrid without a model");
    expect_error("POST", "/embed", "{\"inputs\":\"zebra\",\"kb\":\"lex\"}", NULL, 400, "invalid_request",
                 "embed without a model");
    j = wt_post_json(base, "/documents", "{\"kb\":\"lex\",\"documents\":[{\"id\":\"lex-2\",\"text\":\"Okapis "
                     "look like zebras.\"}]}", KEY_BEARER, &st);
    CHECK_EQ_INT(st, 200);
    cJSON_Delete(j);
    j = wt_post_json(base, "/search", "{\"query\":\"okapis\",\"kb\":\"lex\"}", NULL, &st);
    CHECK_STREQ(hit_id(j, 0), "lex-2");
    cJSON_Delete(j);
}

static void test_routes_and_limits(void)
{
    wt_resp r;
    expect_error("GET", "/nope", NULL, NULL, 404, "not_found", "unknown path");
    expect_error("POST", "/", "{}", NULL, 405, "method_not_allowed", "POST /");
    CHECK(wt_http(base, "GET", "/search", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 405);
    CHECK_STREQ(r.allow, "POST");
    free(r.body);
    expect_error("GET", "/search", NULL, NULL, 405, "method_not_allowed", "GET /search");
    expect_error("DELETE", "/health", NULL, NULL, 405, "method_not_allowed", "DELETE /health");
    expect_error("PUT", "/documents/x", "{}", KEY_BEARER, 405, "method_not_allowed", "PUT a document");

    /* 413: declared length over --max-body (65536), and a chunked body that grows past it */
    size_t n = 70000;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"query\":\"x\"}", 13);
    big[n] = 0;
    CHECK(wt_http_ex(base, "POST", "/search", big, (long)n, NULL, 0, &r) == 0);
    CHECK_EQ_INT(r.status, 413);
    cJSON *j = cJSON_Parse(r.body);
    CHECK(wt_is_error(j, 413, "payload_too_large"));
    cJSON_Delete(j);
    free(r.body);
    CHECK(wt_http_ex(base, "POST", "/embed", big, (long)n, NULL, 1, &r) == 0);
    CHECK_EQ_INT(r.status, 413);
    j = cJSON_Parse(r.body);
    CHECK(wt_is_error(j, 413, "payload_too_large"));
    cJSON_Delete(j);
    free(r.body);
    /* a chunked body under the limit is fine (trailing whitespace is allowed JSON) */
    CHECK(wt_http_ex(base, "POST", "/search", big, 5000, NULL, 1, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
    free(big);
}

/* Runs after everything else: the counters reflect the requests above. */
static void test_stats_and_metrics(void)
{
    long st;
    cJSON *j = wt_get_json(base, "/stats", &st);
    CHECK_EQ_INT(st, 200);
    const cJSON *kbs = cJSON_GetObjectItemCaseSensitive(j, "kbs");
    CHECK_EQ_INT(cJSON_GetArraySize(kbs), 3);
    const cJSON *k1 = cJSON_GetArrayItem(kbs, 0);
    CHECK_STREQ(wt_str(k1, "name"), "kb1");
    CHECK_EQ_INT(wt_num(k1, "documents"), 7); /* 6 + faq9 */
    CHECK(wt_num(k1, "passages") >= 7);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(k1, "model");
    CHECK_STREQ(wt_str(m, "name"), "bert-tiny-uncased");
    CHECK_EQ_INT(wt_num(m, "dim"), 64);
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(k1, "index");
    CHECK(wt_str(ix, "type") != NULL);
    CHECK(wt_num(ix, "vectors") >= 7);
    CHECK_STREQ(wt_str(cJSON_GetArrayItem(kbs, 1), "name"), "kb2");
    CHECK(wt_num(j, "uptime_s") >= 0);
    CHECK_EQ_INT(wt_num(cJSON_GetObjectItemCaseSensitive(j, "limits"), "max_k"), 50);
    cJSON_Delete(j);

    wt_resp r;
    CHECK(wt_http(base, "GET", "/metrics", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strncmp(r.ctype, "text/plain", 10) == 0);
    /* parse a few samples */
    unsigned long long search_ok = 0, search_400 = 0, tokens = 0, count = 0, inf = 0, docs = 0;
    for (char *line = strtok(r.body, "\n"); line; line = strtok(NULL, "\n")) {
        sscanf(line, "semsearch_http_requests_total{method=\"POST\",route=\"/search\",status=\"200\"} %llu",
               &search_ok);
        sscanf(line, "semsearch_http_requests_total{method=\"POST\",route=\"/search\",status=\"400\"} %llu",
               &search_400);
        sscanf(line, "semsearch_encode_tokens_total %llu", &tokens);
        sscanf(line, "semsearch_http_request_duration_seconds_count{method=\"POST\",route=\"/search\"} %llu", &count);
        sscanf(line, "semsearch_http_request_duration_seconds_bucket{method=\"POST\",route=\"/search\",le=\"+Inf\"} %llu",
               &inf);
        sscanf(line, "semsearch_kb_documents{kb=\"kb1\"} %llu", &docs);
    }
    CHECK_MSG(search_ok >= 15, "search 200s: %llu", search_ok);
    CHECK_MSG(search_400 >= 20, "search 400s: %llu", search_400);
    CHECK_MSG(tokens > 512, "tokens %llu", tokens);
    CHECK(count >= search_ok + search_400);
    CHECK_EQ_INT(inf, count);
    CHECK_EQ_INT(docs, 7);
    free(r.body);
}

int main(void)
{
    TEST_REQUIRE_FILE(WT_MODEL "/model.safetensors");
    curl_global_init(CURL_GLOBAL_ALL);
    srandom((unsigned)getpid());
    char *tmp = wt_tmpdir("web-http");
    char *kb1 = wt_strdupf("%s/kb1", tmp), *kb2 = wt_strdupf("%s/kb2", tmp), *kb3 = wt_strdupf("%s/lex", tmp);
    char *log = wt_strdupf("%s/serve.log", tmp);
    wt_make_kb(tmp, kb1, DOCS1);
    wt_make_kb(tmp, kb2, DOCS2);
    wt_make_kb_ex(tmp, kb3, DOCS3, 1);
    const char *args[] = {kb1,     kb2,         kb3, "--threads", "4",  "--api-key",        "sekret-key", "--max-body",
                          "65536", "--max-batch", "8", "--max-k",  "50", "--max-text-chars", "4000",       NULL};
    wt_server s;
    if (wt_server_start(&s, log, args) != 0) {
        CHECK(0);
        TEST_END();
    }
    CHECK(strncmp(s.url, "http://127.0.0.1:", 17) == 0);
    base = s.url;

    test_page_and_health();
    test_search();
    test_embeddings();
    test_documents();
    test_lexical_only();
    test_routes_and_limits();
    test_stats_and_metrics();

    /* the access log has a line per request */
    CHECK_EQ_INT(wt_server_stop(&s, SIGTERM, 30), 0);
    char *text = NULL;
    FILE *f = fopen(log, "r");
    if (f) {
        size_t cap = 0;
        int found = 0;
        while (getline(&text, &cap, f) > 0)
            found |= strstr(text, "\"POST /search\" 200") != NULL;
        CHECK(found);
        fclose(f);
    }
    free(text);
    if (test_fail_)
        fprintf(stderr, "server log: %s (kept)\n", log);
    else
        wt_rmrf(tmp);
    free(kb1);
    free(kb2);
    free(kb3);
    free(log);
    free(tmp);
    curl_global_cleanup();
    TEST_END();
}
