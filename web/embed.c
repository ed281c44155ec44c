/* web/embed.c: the embedding routes, each in the format its clients already speak:
 *   POST /embed           HuggingFace text-embeddings-inference: {"inputs":"…"|["…"],"normalize":true,
 *                         "truncate":false} → [[…]]
 *   POST /v1/embeddings   OpenAI: {"input":"…"|["…"],"model":"…","encoding_format":"float"|"base64"} →
 *                         {"object":"list","data":[{"object":"embedding","index":0,"embedding":[…]}],…,"usage":{…}}
 *   POST /encode          bert-as-service: {"id":…,"texts":["…"],"is_tokenized":false} →
 *                         {"id":…,"results":[[…]],"status":200}
 * All three take an optional "kb" naming the knowledge base whose model encodes (default: the first).
 * /v1/embeddings and /encode return vectors normalized as the KB's own are (L2-normalized for an inner-product
 * KB, the model's choice otherwise), so that they can be compared with search scores; /embed follows TEI's
 * "normalize" (default true).
 * Bounds on one request: at most max_batch texts and web_max_tokens() tokens, counted after truncation to the
 * model's limit (413 beyond); the encoder runs in chunks of ENCODE_CHUNK texts and stops when the client has
 * gone (web_req_cancelled). */
#include "web/internal.h"

#include "encoder/tokenizer.h"
#include "store/kb.h"

#include <stdlib.h>
#include <string.h>

enum { ENCODE_CHUNK = 32 }; /* texts per sem_encode call: one forward pass; cancellation is checked between */

static int over_budget(const web_state *st, int model_max, web_reply *r)
{
    return web_error(r, 413,
                     "the request has more than %ld tokens (counted after truncation to the model's %d per text): "
                     "that is this server's limit per request (--max-tokens); send fewer or shorter texts",
                     web_max_tokens(st), model_max);
}

/* Counts each text's tokens with [CLS]/[SEP], capped at the model's limit: the tokens the encoder runs. With
 * truncate == 0 a text over the limit is a 400 (TEI's rule). A 413 as soon as the sum passes the server's budget.
 * Fills *total. */
static int count_tokens(const web_state *st, const sem_model *m, const char *const *texts, int n, int truncate,
                        long *total, web_reply *r)
{
    sem_model_info mi;
    sem_model_get_info(m, &mi);
    long sum = 0, budget = web_max_tokens(st);
    for (int i = 0; i < n; i++) {
        int t = sem_model_count_tokens(m, texts[i], -1);
        if (t < 0)
            return web_error(r, 400, "text %d cannot be tokenized", i);
        long with_specials = (long)t + 2;
        if (with_specials > mi.max_tokens) {
            if (!truncate)
                return web_error(r, 400,
                                 "input %d has %ld tokens, more than the model's limit of %d (set \"truncate\": true)",
                                 i, with_specials, mi.max_tokens);
            with_specials = mi.max_tokens;
        }
        sum += with_specials;
        if (sum > budget)
            return over_budget(st, mi.max_tokens, r);
    }
    *total = sum;
    return 0;
}

/* How the KB's own vectors are normalized (see indexer/pipeline.c): unit length for inner product, where it is
 * cosine similarity; the model's choice otherwise. A sem_encode_params.normalize value. */
static int kb_normalize(const web_kb *k)
{
    return sem_kb_get_metric(web_kb_store(k)) == SEM_KB_METRIC_IP ? 1 : -1;
}

/* Encodes n inputs with k's model into out, (n, dim) row-major, ENCODE_CHUNK at a time: texts, or pre-tokenized
 * inputs when tokens is not NULL. Between chunks, stops if the client has gone (a 503 nobody reads). */
static int encode_chunked(const web_http_req *req, web_kb *k, const char *const *texts, const sem_token_input *tokens,
                          int n, int normalize, float *out, web_reply *r)
{
    size_t dim = (size_t)sem_model_dim(web_kb_model(k));
    sem_error err = {0};
    sem_encoder_ctx *ctx = sem_encoder_pool_borrow(web_kb_encpool(k), &err);
    if (!ctx)
        return web_error_from(r, &err);
    sem_encode_params ep = sem_encode_default_params();
    ep.normalize = normalize;
    int rc = SEM_OK, cancelled = 0;
    for (int i = 0; i < n && rc == SEM_OK; i += ENCODE_CHUNK) {
        if (web_req_cancelled(req)) {
            cancelled = 1;
            break;
        }
        int c = n - i < ENCODE_CHUNK ? n - i : ENCODE_CHUNK;
        float *o = out + (size_t)i * dim;
        rc = tokens ? sem_encode_tokens(ctx, tokens + i, c, &ep, o, &err) : sem_encode(ctx, texts + i, c, &ep, o, &err);
        if (rc != SEM_OK && n > ENCODE_CHUNK) /* the encoder numbers the texts of its chunk */
            sem_error_prefix(&err, "texts %d to %d", i, i + c - 1);
    }
    sem_encoder_pool_return(web_kb_encpool(k), ctx);
    if (cancelled)
        return web_error(r, 503, "the client closed the connection: encoding stopped");
    return rc == SEM_OK ? 0 : web_error_from(r, &err);
}

/* Encodes texts with k's model into a new (n, dim) array (*out, caller frees). normalize: -1 the model's, 0/1. */
static int encode(const web_http_req *req, web_kb *k, const char *const *texts, int n, int normalize, float **out,
                  web_reply *r)
{
    size_t dim = (size_t)sem_model_dim(web_kb_model(k));
    float *v = malloc(sizeof(float) * dim * (size_t)n);
    if (!v)
        return web_error(r, 500, "out of memory");
    if (encode_chunked(req, k, texts, NULL, n, normalize, v, r)) {
        free(v);
        return -1;
    }
    *out = v;
    return 0;
}

/* Appends [v0,v1,…] */
static void put_vector(sem_strbuf *b, const float *v, int dim)
{
    sem_strbuf_put(b, "[", 1);
    for (int j = 0; j < dim; j++) {
        if (j)
            sem_strbuf_put(b, ",", 1);
        web_sb_float(b, v[j]);
    }
    sem_strbuf_put(b, "]", 1);
}

static void put_vectors(sem_strbuf *b, const float *v, int n, int dim)
{
    sem_strbuf_put(b, "[", 1);
    for (int i = 0; i < n; i++) {
        if (i)
            sem_strbuf_put(b, ",", 1);
        put_vector(b, v + (size_t)i * (size_t)dim, dim);
    }
    sem_strbuf_put(b, "]", 1);
}

int web_h_embed(const web_state *st, const web_http_req *req, web_reply *r)
{
    cJSON *o = web_parse_object(req, r);
    if (!o)
        return -1;
    const char **texts = NULL;
    float *vecs = NULL;
    const char *kb_name = NULL;
    int n = 0, normalize = 1, truncate = 0, rc = -1;
    long tokens = 0;
    if (web_get_string(o, "kb", 0, &kb_name, r) || web_get_bool(o, "normalize", &normalize, r)
        || web_get_bool(o, "truncate", &truncate, r))
        goto done;
    web_kb *k = web_kb_pick_model(st, kb_name, r);
    if (!k || web_get_texts(o, "inputs", st->p.max_batch, st->p.max_text_chars, &texts, &n, r)
        || count_tokens(st, web_kb_model(k), texts, n, truncate, &tokens, r)
        || encode(req, k, texts, n, normalize, &vecs, r))
        goto done;
    web_metrics_encoded(st->metrics, n, tokens);
    sem_strbuf b = {0};
    put_vectors(&b, vecs, n, sem_model_dim(web_kb_model(k)));
    rc = web_sb_reply(&b, r, "application/json");
done:
    free(vecs);
    free(texts);
    cJSON_Delete(o);
    return rc;
}

static void put_base64(sem_strbuf *b, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        sem_strbuf_put(b, q, 4);
    }
}

/* Appends s as a JSON string. */
static void put_json_string(sem_strbuf *b, const char *s)
{
    cJSON *tmp = cJSON_CreateString(s);
    char *t = tmp ? cJSON_PrintUnformatted(tmp) : NULL;
    cJSON_Delete(tmp);
    if (!t) {
        b->oom = 1;
        return;
    }
    sem_strbuf_puts(b, t);
    free(t);
}

/* 1 when an OpenAI "model" name cannot be ambiguous: one KB, or every KB with a model has the same one. */
static int one_model(const web_state *st)
{
    const char *hash = NULL;
    for (int i = 0; i < st->n_kbs; i++) {
        const sem_model *m = web_kb_model(st->kbs[i]);
        if (!m)
            continue;
        sem_model_info mi;
        sem_model_get_info(m, &mi);
        if (hash && strcmp(hash, mi.config_hash) != 0)
            return 0;
        hash = mi.config_hash;
    }
    return 1;
}

/* The KB whose model answers an OpenAI request for `model`: a KB of that name, else one whose model has that
 * name, else, when the name cannot be ambiguous (one_model), the default KB with a model: OpenAI client libraries
 * send "text-embedding-ada-002" or the like, and TEI and llama.cpp's server accept any name. With several
 * different models an unknown name is a 404 that lists the names. */
static web_kb *openai_pick(const web_state *st, const char *model, web_reply *r)
{
    for (int i = 0; i < st->n_kbs; i++)
        if (strcmp(model, web_kb_name(st->kbs[i])) == 0)
            return web_kb_pick_model(st, model, r);
    web_kb *first = NULL;
    for (int i = 0; i < st->n_kbs; i++) {
        const sem_model *m = web_kb_model(st->kbs[i]);
        sem_model_info mi = {0};
        if (m)
            sem_model_get_info(m, &mi);
        if (m && mi.name && strcmp(model, mi.name) == 0)
            return st->kbs[i];
        if (m && !first)
            first = st->kbs[i];
    }
    if (one_model(st))
        return first ? first : web_kb_pick_model(st, NULL, r); /* no model at all: that 400 */
    sem_strbuf names = {0};
    for (int i = 0; i < st->n_kbs; i++) {
        const sem_model *m = web_kb_model(st->kbs[i]);
        sem_model_info mi = {0};
        if (!m)
            continue;
        sem_model_get_info(m, &mi);
        sem_strbuf_printf(&names, "%s%s (model %s)", names.len ? ", " : "", web_kb_name(st->kbs[i]), mi.name);
    }
    web_error(r, 404, "unknown model '%.200s': this server has several models; name a knowledge base or its model: %s",
              model, names.s && !names.oom ? names.s : "");
    sem_strbuf_free(&names);
    return NULL;
}

int web_h_openai(const web_state *st, const web_http_req *req, web_reply *r)
{
    cJSON *o = web_parse_object(req, r);
    if (!o)
        return -1;
    const char **texts = NULL;
    float *vecs = NULL;
    const char *kb_name = NULL, *model = NULL, *format = "float";
    int n = 0, rc = -1, has_dims = 0;
    long tokens = 0, dims = 0;
    if (web_get_string(o, "kb", 0, &kb_name, r) || web_get_string(o, "model", 0, &model, r)
        || web_get_string(o, "encoding_format", 0, &format, r)
        || web_get_int(o, "dimensions", 1, 1 << 20, &dims, &has_dims, r))
        goto done;
    if (strcmp(format, "float") != 0 && strcmp(format, "base64") != 0) {
        web_error(r, 400, "encoding_format must be \"float\" or \"base64\", not \"%s\"", format);
        goto done;
    }
    web_kb *k = !kb_name && model ? openai_pick(st, model, r) : web_kb_pick_model(st, kb_name, r);
    if (!k)
        goto done;
    const sem_model *m = web_kb_model(k);
    int dim = sem_model_dim(m);
    if (has_dims && dims != dim) {
        web_error(r, 400, "dimensions %ld is not supported: the model's vectors have %d", dims, dim);
        goto done;
    }
    if (web_get_texts(o, "input", st->p.max_batch, st->p.max_text_chars, &texts, &n, r)
        || count_tokens(st, m, texts, n, 1, &tokens, r) || encode(req, k, texts, n, kb_normalize(k), &vecs, r))
        goto done;
    web_metrics_encoded(st->metrics, n, tokens);
    sem_model_info mi;
    sem_model_get_info(m, &mi);
    sem_strbuf b = {0};
    sem_strbuf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < n; i++) {
        sem_strbuf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":", i ? "," : "", i);
        const float *v = vecs + (size_t)i * (size_t)dim;
        if (strcmp(format, "base64") == 0) {
            /* little-endian float32 bytes, as OpenAI's base64 format (we only build on little-endian hosts) */
            sem_strbuf_put(&b, "\"", 1);
            put_base64(&b, (const unsigned char *)v, sizeof(float) * (size_t)dim);
            sem_strbuf_put(&b, "\"", 1);
        } else {
            put_vector(&b, v, dim);
        }
        sem_strbuf_put(&b, "}", 1);
    }
    sem_strbuf_puts(&b, "],\"model\":");
    put_json_string(&b, model ? model : mi.name);
    sem_strbuf_printf(&b, ",\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}", tokens, tokens);
    rc = web_sb_reply(&b, r, "application/json");
done:
    free(vecs);
    free(texts);
    cJSON_Delete(o);
    return rc;
}

/* bert-as-service's is_tokenized input: each text is an array of WordPiece tokens; [CLS]/[SEP] are added and the
 * sequence truncated to the model's limit. Encodes straight from ids. */
static int encode_tokenized(const web_state *st, const web_http_req *req, web_kb *k, const cJSON *arr, int n,
                            float *out, long *tokens, web_reply *r)
{
    const sem_model *m = web_kb_model(k);
    const sem_tokenizer *tok = sem_model_tokenizer(m);
    if (!tok)
        return web_error(r, 400, "the model has no tokenizer: is_tokenized is not available");
    sem_model_info mi;
    sem_model_get_info(m, &mi);
    int max = mi.max_tokens;
    int32_t cls = sem_tokenizer_cls_id(tok), sep = sem_tokenizer_sep_id(tok), unk = sem_tokenizer_unk_id(tok);
    sem_token_input *in = calloc((size_t)n, sizeof *in);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)max * (size_t)n);
    int rc = -1;
    if (!in || !ids) {
        web_error(r, 500, "out of memory");
        goto done;
    }
    long total = 0;
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, arr)
    {
        if (!cJSON_IsArray(t)) {
            web_error(r, 400, "with \"is_tokenized\": true, texts[%d] must be an array of token strings", i);
            goto done;
        }
        int32_t *row = ids + (size_t)i * (size_t)max;
        int len = 0;
        row[len++] = cls;
        const cJSON *w;
        cJSON_ArrayForEach(w, t)
        {
            if (!cJSON_IsString(w)) {
                web_error(r, 400, "texts[%d] has a token that is not a string", i);
                goto done;
            }
            if (len < max - 1) {
                int32_t id = sem_tokenizer_token_id(tok, w->valuestring);
                row[len++] = id >= 0 ? id : unk;
            }
        }
        row[len++] = sep;
        in[i].input_ids = row;
        in[i].n = len;
        total += len;
        i++;
    }
    if (total > web_max_tokens(st)) {
        over_budget(st, max, r);
        goto done;
    }
    if (encode_chunked(req, k, NULL, in, n, kb_normalize(k), out, r))
        goto done;
    *tokens = total;
    rc = 0;
done:
    free(in);
    free(ids);
    return rc;
}

int web_h_encode(const web_state *st, const web_http_req *req, web_reply *r)
{
    cJSON *o = web_parse_object(req, r);
    if (!o)
        return -1;
    const char **texts = NULL;
    float *vecs = NULL;
    const char *kb_name = NULL;
    int n = 0, rc = -1, tokenized = 0;
    long tokens = 0;
    if (web_get_string(o, "kb", 0, &kb_name, r) || web_get_bool(o, "is_tokenized", &tokenized, r))
        goto done;
    web_kb *k = web_kb_pick_model(st, kb_name, r);
    if (!k)
        goto done;
    const sem_model *m = web_kb_model(k);
    int dim = sem_model_dim(m);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "texts");
    if (!cJSON_IsArray(arr)) {
        web_error(r, 400, arr ? "field \"texts\" must be an array" : "missing field \"texts\"");
        goto done;
    }
    if (tokenized) {
        n = cJSON_GetArraySize(arr);
        if (n < 1 || n > st->p.max_batch) {
            web_error(r, 400, "field \"texts\" has %d texts; it needs 1 to %d", n, st->p.max_batch);
            goto done;
        }
        vecs = malloc(sizeof(float) * (size_t)dim * (size_t)n);
        if (!vecs) {
            web_error(r, 500, "out of memory");
            goto done;
        }
        if (encode_tokenized(st, req, k, arr, n, vecs, &tokens, r))
            goto done;
    } else if (web_get_texts(o, "texts", st->p.max_batch, st->p.max_text_chars, &texts, &n, r)
               || count_tokens(st, m, texts, n, 1, &tokens, r)
               || encode(req, k, texts, n, kb_normalize(k), &vecs, r)) {
        goto done;
    }
    web_metrics_encoded(st->metrics, n, tokens);
    sem_strbuf b = {0};
    sem_strbuf_puts(&b, "{\"id\":");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    char *idtext = id ? cJSON_PrintUnformatted(id) : NULL;
    sem_strbuf_puts(&b, idtext ? idtext : "null");
    free(idtext);
    sem_strbuf_puts(&b, ",\"results\":");
    put_vectors(&b, vecs, n, dim);
    sem_strbuf_puts(&b, ",\"status\":200}");
    rc = web_sb_reply(&b, r, "application/json");
done:
    free(vecs);
    free(texts);
    cJSON_Delete(o);
    return rc;
}
