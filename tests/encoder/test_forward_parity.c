/* tests/encoder/test_forward_parity.c: the forward pass against HuggingFace transformers' own outputs
 * (../shared/testdata/expected, f64 references), for all four fixture models:
 *   - every pooling file (cls, mean, pooler, auto incl. Normalize) within 1e-5 relative, fed the reference
 *     input_ids directly (independent of the tokenizer);
 *   - batch-8 results, pair embeddings (token_type_ids 0/1), every layer's hidden states (hidden_first3);
 *   - max / first-last-avg / last-two-avg pooling against the same computed from the f64 hidden states;
 *   - MLM top-5 ids and logits (mlm-f16 model);
 *   - end to end from text (sem_encode / sem_encode_pairs through the tokenizer) against embed_auto / pairs;
 *   - results independent of batch composition and of the thread count. */
#include "encoder/encoder.h"
#include "common/fileio.h"
#include "encoder/tokenizer.h"
#include "test.h"
#include "test_model_util.h"

#define TOL 1e-5

static double worst; /* the largest relative error seen, printed at the end */

static void note(double e)
{
    if (e > worst)
        worst = e;
}

/* Inputs from a JSON-lines file's "input_ids" (and "token_type_ids" when types_from has them). */
typedef struct inputs {
    sem_token_input *in;
    int32_t **ids, **types;
    int n;
} inputs;

static void inputs_from(inputs *x, cJSON **lines, int n, cJSON **types_from)
{
    x->n = n;
    x->in = calloc((size_t)n, sizeof *x->in);
    x->ids = calloc((size_t)n, sizeof *x->ids);
    x->types = calloc((size_t)n, sizeof *x->types);
    for (int i = 0; i < n; i++) {
        int len = 0, tl = 0;
        x->ids[i] = j_ints(lines[i], "input_ids", &len);
        x->in[i].input_ids = x->ids[i];
        x->in[i].n = len;
        if (types_from) {
            x->types[i] = j_ints(types_from[i], "token_type_ids", &tl);
            CHECK_EQ_INT(tl, len);
            x->in[i].token_type_ids = x->types[i];
        }
    }
}

static void inputs_free(inputs *x)
{
    for (int i = 0; i < x->n; i++) {
        free(x->ids[i]);
        free(x->types[i]);
    }
    free(x->in);
    free(x->ids);
    free(x->types);
}

/* Compares out (n, dim) row by row with the lines' embedding_f64. */
static void compare_rows(const char *what, const float *out, cJSON **lines, int n, int dim)
{
    for (int i = 0; i < n; i++) {
        int k = 0;
        double *ref = j_doubles(lines[i], "embedding_f64", &k);
        CHECK_EQ_INT(k, dim);
        double e = rel_err(out + (size_t)i * dim, ref, (size_t)dim);
        note(e);
        CHECK_MSG(e <= TOL, "%s line %d: relative error %.3g", what, i, e);
        free(ref);
    }
}

static float *encode_lines(sem_encoder_ctx *ctx, cJSON **lines, int n, cJSON **types_from, const sem_encode_params *p,
                           int dim, const char *what)
{
    inputs x;
    inputs_from(&x, lines, n, types_from);
    float *out = calloc((size_t)n * dim, sizeof *out);
    sem_error err = {0};
    int rc = sem_encode_tokens(ctx, x.in, n, p, out, &err);
    CHECK_MSG(rc == SEM_OK, "%s: %s", what, err.msg);
    inputs_free(&x);
    if (rc != SEM_OK) {
        free(out);
        return NULL;
    }
    return out;
}

static void test_pooling_files(const sem_model *m, sem_encoder_ctx *ctx, const char *model, int dim)
{
    static const char *const names[] = {"cls", "mean", "pooler", "auto"};
    char path[1024], file[64], what[256];
    for (int f = 0; f < 4; f++) {
        snprintf(file, sizeof file, "embed_%s.jsonl", names[f]);
        snprintf(what, sizeof what, "%s/%s", model, file);
        int n = 0;
        cJSON **lines = jl_load(td_path(path, sizeof path, "expected", model, file), &n);
        CHECK_MSG(lines && n == 27, "%s: %d lines", path, n);
        if (!lines || n == 0) {
            jl_free(lines, n);
            continue;
        }
        sem_encode_params p = sem_encode_default_params();
        p.pooling = (sem_pooling)sem_pooling_parse(names[f]);
        p.normalize = f == 3 ? -1 : 0;
        float *out = encode_lines(ctx, lines, n, NULL, &p, dim, what);
        if (out)
            compare_rows(what, out, lines, n, dim);
        if (f == 3) { /* auto resolves to what the reference used */
            sem_model_info info;
            sem_model_get_info(m, &info);
            const cJSON *pool = cJSON_GetObjectItemCaseSensitive(lines[0], "pooling");
            const cJSON *norm = cJSON_GetObjectItemCaseSensitive(lines[0], "normalize");
            CHECK_STREQ(sem_pooling_name(info.pooling), cJSON_GetStringValue(pool));
            CHECK_EQ_INT(info.normalize, cJSON_IsTrue(norm));
        }
        free(out);
        jl_free(lines, n);
    }
}

/* embed_mean_batch8: run 8 at a time as the reference did, and all at once; both must match. */
static void test_batch8(sem_encoder_ctx *ctx, const char *model, int dim)
{
    char path[1024], what[256];
    int n = 0;
    cJSON **lines = jl_load(td_path(path, sizeof path, "expected", model, "embed_mean_batch8.jsonl"), &n);
    CHECK(lines && n == 27);
    if (!lines)
        return;
    sem_encode_params p = sem_encode_default_params();
    p.pooling = SEM_POOL_MEAN;
    p.normalize = 0;
    p.batch_size = 8;
    float *all = calloc((size_t)n * dim, sizeof *all);
    for (int start = 0; start < n; start += 8) {
        int cnt = n - start < 8 ? n - start : 8;
        snprintf(what, sizeof what, "%s batch8 @%d", model, start);
        float *out = encode_lines(ctx, lines + start, cnt, NULL, &p, dim, what);
        if (out)
            compare_rows(what, out, lines + start, cnt, dim);
        if (out)
            memcpy(all + (size_t)start * dim, out, (size_t)cnt * dim * sizeof *out);
        free(out);
    }
    /* the same texts in one call with other batch sizes: the same vectors (independent of batch composition) */
    for (int bs = 1; bs <= 32; bs *= 32) {
        p.batch_size = bs;
        snprintf(what, sizeof what, "%s batch %d", model, bs);
        float *out = encode_lines(ctx, lines, n, NULL, &p, dim, what);
        if (out) {
            /* GEMMs over a different number of rows may round differently in the last bit: 1e-6 relative */
            double maxd = 0;
            for (int i = 0; i < n; i++) {
                double ref[4096], d;
                for (int j = 0; j < dim && j < 4096; j++)
                    ref[j] = all[(size_t)i * dim + j];
                d = rel_err(out + (size_t)i * dim, ref, (size_t)dim);
                maxd = d > maxd ? d : maxd;
            }
            CHECK_MSG(maxd <= 1e-6, "%s: differs from batch 8 by %.3g relative", what, maxd);
        }
        free(out);
    }
    free(all);
    jl_free(lines, n);
}

static void test_pairs(sem_encoder_ctx *ctx, const char *model, int dim)
{
    char path[1024], what[256];
    int n = 0, nt = 0;
    cJSON **lines = jl_load(td_path(path, sizeof path, "expected", model, "pair_embed_mean.jsonl"), &n);
    cJSON **toks = jl_load(td_path(path, sizeof path, "expected", model, "pair_tokens.jsonl"), &nt);
    CHECK(lines && toks && n == 5 && nt == n);
    if (lines && toks && n == nt) {
        sem_encode_params p = sem_encode_default_params();
        p.pooling = SEM_POOL_MEAN;
        p.normalize = 0;
        snprintf(what, sizeof what, "%s pairs", model);
        float *out = encode_lines(ctx, lines, n, toks, &p, dim, what);
        if (out)
            compare_rows(what, out, lines, n, dim);
        free(out);
    }
    jl_free(lines, n);
    jl_free(toks, nt);
}

/* Mean over tokens of f(a, b) computed in double from the reference hidden states. */
static void ref_pool(const double *hs, int layers, int T, int H, int mode, double *out)
{
    const double *last = hs + (size_t)layers * T * H;
    const double *aux = mode == 1 ? hs : hs + (size_t)(layers - 1) * T * H;
    for (int i = 0; i < H; i++) {
        double acc = mode == 0 ? -INFINITY : 0;
        for (int t = 0; t < T; t++) {
            double v = last[(size_t)t * H + i];
            if (mode == 0)
                acc = v > acc ? v : acc;
            else
                acc += (aux[(size_t)t * H + i] + v) / 2;
        }
        out[i] = mode == 0 ? acc : acc / T;
    }
}

static void test_hidden(const sem_model *m, sem_encoder_ctx *ctx, const char *model)
{
    char path[1024];
    int n = 0;
    cJSON **lines = jl_load(td_path(path, sizeof path, "expected", model, "hidden_first3.jsonl"), &n);
    CHECK(lines && n == 3);
    const int H = sem_model_hidden_size(m), NL = sem_model_n_layers(m);
    for (int i = 0; lines && i < n; i++) {
        int len = 0, k = 0, kl = 0;
        int32_t *ids = j_ints(lines[i], "input_ids", &len);
        double *hs = j_doubles(lines[i], "hidden_states_f64", &k);
        double *last = j_doubles(lines[i], "last_hidden_f64", &kl);
        CHECK_EQ_INT(k, (NL + 1) * len * H);
        CHECK_EQ_INT(kl, len * H);
        float *out = calloc((size_t)(NL + 1) * len * H, sizeof *out);
        sem_token_input in = {ids, NULL, len};
        sem_error err = {0};
        int rc = sem_encoder_hidden_states(ctx, &in, out, &err);
        CHECK_MSG(rc == SEM_OK, "%s hidden: %s", model, err.msg);
        if (rc == SEM_OK && k == (NL + 1) * len * H) {
            for (int l = 0; l <= NL; l++) {
                size_t sz = (size_t)len * H;
                double e = rel_err(out + l * sz, hs + l * sz, sz);
                note(e);
                CHECK_MSG(e <= TOL, "%s text %d layer %d: relative error %.3g", model, i, l, e);
            }
            double e = rel_err(out + (size_t)NL * len * H, last, (size_t)len * H);
            CHECK_MSG(e <= TOL, "%s text %d last_hidden: relative error %.3g", model, i, e);
            /* pooling modes without an HF file: from the f64 hidden states */
            static const sem_pooling modes[] = {SEM_POOL_MAX, SEM_POOL_FIRST_LAST_AVG, SEM_POOL_LAST_TWO_AVG};
            for (int mo = 0; mo < 3; mo++) {
                double *ref = malloc((size_t)H * sizeof *ref);
                float *v = malloc((size_t)H * sizeof *v);
                ref_pool(hs, NL, len, H, mo, ref);
                sem_encode_params p = sem_encode_default_params();
                p.pooling = modes[mo];
                p.normalize = 0;
                rc = sem_encode_tokens(ctx, &in, 1, &p, v, &err);
                CHECK_MSG(rc == SEM_OK, "%s %s: %s", model, sem_pooling_name(modes[mo]), err.msg);
                e = rel_err(v, ref, (size_t)H);
                note(e);
                CHECK_MSG(e <= TOL, "%s text %d %s: relative error %.3g", model, i, sem_pooling_name(modes[mo]), e);
                /* normalize = 1 gives a unit vector in the same direction */
                p.normalize = 1;
                float *u = malloc((size_t)H * sizeof *u);
                rc = sem_encode_tokens(ctx, &in, 1, &p, u, &err);
                double nn = 0, dot = 0, nv = 0;
                for (int j = 0; j < H; j++) {
                    nn += (double)u[j] * u[j];
                    dot += (double)u[j] * v[j];
                    nv += (double)v[j] * v[j];
                }
                CHECK_NEAR(nn, 1.0, 1e-5);
                CHECK_NEAR(dot, sqrt(nv), 1e-4 * sqrt(nv));
                free(u);
                free(ref);
                free(v);
            }
        }
        free(out);
        free(ids);
        free(hs);
        free(last);
    }
    jl_free(lines, n);
}

static void test_mlm(sem_encoder_ctx *ctx, const sem_model *m, const char *model)
{
    char path[1024];
    int n = 0;
    cJSON **lines = jl_load(td_path(path, sizeof path, "expected", model, "mlm_top5.jsonl"), &n);
    sem_model_info info;
    sem_model_get_info(m, &info);
    CHECK_EQ_INT(info.has_mlm_head, lines != NULL);
    if (!lines)
        return;
    CHECK(n >= 3);
    const int V = sem_model_vocab_size(m);
    for (int i = 0; i < n; i++) {
        int len = 0;
        int32_t *ids = j_ints(lines[i], "input_ids", &len);
        const cJSON *masks = cJSON_GetObjectItemCaseSensitive(lines[i], "masks"), *mk;
        int np = cJSON_GetArraySize(masks), j = 0;
        int *pos = calloc((size_t)np + 1, sizeof *pos);
        cJSON_ArrayForEach(mk, masks) pos[j++] = (int)cJSON_GetObjectItemCaseSensitive(mk, "pos")->valuedouble;
        float *logits = calloc((size_t)np * V, sizeof *logits);
        sem_token_input in = {ids, NULL, len};
        sem_error err = {0};
        int rc = sem_mlm_logits(ctx, &in, pos, np, logits, &err);
        CHECK_MSG(rc == SEM_OK, "%s mlm: %s", model, err.msg);
        j = 0;
        cJSON_ArrayForEach(mk, masks)
        {
            int k = 0, kl = 0;
            int32_t *want = j_ints(mk, "top_ids", &k);
            double *wl = j_doubles(mk, "top_logits", &kl);
            int32_t got[5];
            float gl[5];
            sem_top_k(logits + (size_t)j * V, V, 5, got, gl);
            for (int t = 0; t < 5 && t < k; t++) {
                CHECK_MSG(got[t] == want[t], "%s line %d mask %d rank %d: id %d, HF %d", model, i, j, t, got[t],
                          want[t]);
                CHECK_NEAR(gl[t], wl[t], 1e-4 * fabs(wl[t]) + 1e-5);
            }
            free(want);
            free(wl);
            j++;
        }
        /* a position outside the sequence is an error, not a read past the end */
        int bad = len;
        CHECK_EQ_INT(sem_mlm_logits(ctx, &in, &bad, 1, logits, &err), SEM_ERANGE);
        free(logits);
        free(pos);
        free(ids);
    }
    jl_free(lines, n);
}

/* From text, through the model's tokenizer: sem_encode vs embed_auto, sem_encode_pairs vs pair_embed_mean. */
static void test_text(sem_encoder_ctx *ctx, const char *model, int dim)
{
    char path[1024], what[256];
    int nt = 0, n = 0, np = 0, ne = 0;
    cJSON **texts = jl_load(td_path(path, sizeof path, "texts.jsonl", NULL, NULL), &nt);
    cJSON **exp = jl_load(td_path(path, sizeof path, "expected", model, "embed_auto.jsonl"), &n);
    CHECK(texts && exp && nt == n);
    if (texts && exp && nt == n) {
        /* sem_encode takes C strings: a text with \u0000 inside cannot be passed whole (the CLI, which passes
         * lengths to the tokenizer, is tested on it in test_cli_encoder), so such lines are left out here. */
        char *raw = NULL;
        size_t rawlen = 0;
        CHECK_EQ_INT(sem_read_file(td_path(path, sizeof path, "texts.jsonl", NULL, NULL), 1u << 24, &raw, &rawlen,
                                   NULL), SEM_OK);
        int *has_nul = calloc((size_t)n, sizeof *has_nul);
        char *line = raw;
        for (int i = 0; line && i < n; i++) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            has_nul[i] = strstr(line, "\\u0000") != NULL;
            line = nl ? nl + 1 : NULL;
        }
        const char **t = calloc((size_t)n, sizeof *t);
        cJSON **ref = calloc((size_t)n, sizeof *ref);
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!has_nul[i]) {
                t[m] = cJSON_GetStringValue(texts[i]);
                ref[m++] = exp[i];
            }
        CHECK(m >= n - 2);
        float *out = calloc((size_t)n * dim, sizeof *out);
        sem_error err = {0};
        int rc = sem_encode(ctx, t, m, NULL, out, &err);
        CHECK_MSG(rc == SEM_OK, "%s sem_encode: %s", model, err.msg);
        snprintf(what, sizeof what, "%s text->embed_auto", model);
        if (rc == SEM_OK)
            compare_rows(what, out, ref, m, dim);
        free(out);
        free(t);
        free(ref);
        free(has_nul);
        free(raw);
    }
    jl_free(texts, nt);
    jl_free(exp, n);

    cJSON **pairs = jl_load(td_path(path, sizeof path, "pairs.jsonl", NULL, NULL), &np);
    exp = jl_load(td_path(path, sizeof path, "expected", model, "pair_embed_mean.jsonl"), &ne);
    CHECK(pairs && exp && np == ne);
    if (pairs && exp && np == ne) {
        const char **a = calloc((size_t)np, sizeof *a), **b = calloc((size_t)np, sizeof *b);
        for (int i = 0; i < np; i++) {
            a[i] = cJSON_GetStringValue(cJSON_GetArrayItem(pairs[i], 0));
            b[i] = cJSON_GetStringValue(cJSON_GetArrayItem(pairs[i], 1));
        }
        float *out = calloc((size_t)np * dim, sizeof *out);
        sem_encode_params p = sem_encode_default_params();
        p.pooling = SEM_POOL_MEAN;
        sem_error err = {0};
        int rc = sem_encode_pairs(ctx, a, b, np, &p, out, &err);
        CHECK_MSG(rc == SEM_OK, "%s sem_encode_pairs: %s", model, err.msg);
        snprintf(what, sizeof what, "%s text pairs", model);
        if (rc == SEM_OK)
            compare_rows(what, out, exp, np, dim);
        free(out);
        free(a);
        free(b);
    }
    jl_free(pairs, np);
    jl_free(exp, ne);
}

/* Two workers per context (GEMMs split in blocks, attention and elementwise passes in parallel): the same
 * vectors. */
static void test_threads(const char *model, int dim)
{
    char path[1024];
    int n = 0;
    cJSON **lines = jl_load(td_path(path, sizeof path, "expected", model, "embed_mean.jsonl"), &n);
    sem_model_params mp = sem_model_default_params();
    mp.n_threads = 2;
    sem_error err = {0};
    sem_model *m = sem_model_load(td_path(path, sizeof path, "models", model, NULL), &mp, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    sem_encoder_ctx *ctx = m ? sem_encoder_ctx_new(m, &err) : NULL;
    if (ctx && lines) {
        sem_encode_params p = sem_encode_default_params();
        p.pooling = SEM_POOL_MEAN;
        p.normalize = 0;
        float *out = encode_lines(ctx, lines, n, NULL, &p, dim, "2 threads");
        if (out)
            compare_rows("2 threads", out, lines, n, dim);
        free(out);
    }
    sem_encoder_ctx_free(ctx);
    sem_model_free(m);
    jl_free(lines, n);
}

int main(void)
{
    TEST_REQUIRE_FILE(TD_DIR "/texts.jsonl");
    for (int mi = 0; mi < TD_N_MODELS; mi++) {
        const char *model = td_models[mi];
        char path[1024];
        sem_error err = {0};
        sem_model_params mp = sem_model_default_params();
        mp.n_threads = 1;
        sem_model *m = sem_model_load(td_path(path, sizeof path, "models", model, NULL), &mp, &err);
        CHECK_MSG(m != NULL, "load %s: %s", model, err.msg);
        if (!m)
            continue;
        sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, &err);
        CHECK(ctx != NULL);
        const int dim = sem_model_dim(m);
        double before = worst;
        worst = 0;
        test_pooling_files(m, ctx, model, dim);
        test_batch8(ctx, model, dim);
        test_pairs(ctx, model, dim);
        test_hidden(m, ctx, model);
        test_mlm(ctx, m, model);
        printf("%s: largest relative error vs HF f64 (token ids in): %.3g\n", model, worst);
        worst = 0;
        test_text(ctx, model, dim);
        printf("%s: largest relative error vs HF f64 (text in): %.3g\n", model, worst);
        worst = worst > before ? worst : before;
        sem_encoder_ctx_free(ctx);
        sem_model_free(m);
    }
    test_threads("bert-small-uncased-bf16", 96);
    TEST_END();
}
