/* tests/encoder/test_precision.c: reduced-precision linear layers (sem_model_params.precision) against f32.
 *   test_precision            int8 on the four fixture models (texts.jsonl through the tokenizer): cosine to the
 *                             f32 vectors >= 0.995 for every text, with the kernel the CPU features pick and with
 *                             each kernel forced (own AVX2, oneDNN u8 x s8: the path of AVX512-VNNI CPUs); a
 *                             random model with odd shapes (k not a multiple of 4, n not of 16); the same vectors
 *                             on one and two threads; names and parsing; bf16 on a CPU without the instructions
 *                             falls back to f32 and says so.
 *   test_precision_bf16 (arg) bf16 on the fixtures: cosine >= 0.999. Needs AVX512_BF16 or AMX_BF16: exits 77 on
 *                             other CPUs, saying why. */
#include "encoder/encoder.h"
#include "encoder/internal.h"
#include "test.h"
#include "test_model_util.h"

/* The texts of texts.jsonl (JSON strings), NULL-terminated; *n their count. */
static char **load_texts(int *n)
{
    char path[1024];
    int nl = 0;
    cJSON **lines = jl_load(td_path(path, sizeof path, "texts.jsonl", NULL, NULL), &nl);
    char **t = calloc((size_t)nl + 1, sizeof *t);
    *n = 0;
    for (int i = 0; lines && t && i < nl; i++)
        if (cJSON_IsString(lines[i]))
            t[(*n)++] = strdup(lines[i]->valuestring);
    jl_free(lines, nl);
    return t;
}

static double cosine(const float *a, const float *b, int d)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < d; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

/* Encodes texts with m at f32 and at precision p (kernel force), returns the smallest cosine. */
static double worst_cosine(sem_model *m, sem_precision p, sem_qkernel force, char **texts, int n)
{
    sem_error err = {0};
    int d = sem_model_dim(m);
    float *ref = calloc((size_t)n * d, sizeof *ref), *got = calloc((size_t)n * d, sizeof *got);
    sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, &err);
    CHECK_EQ_INT(sem_model_set_precision(m, SEM_PRECISION_F32, SEM_QK_NONE, &err), SEM_OK);
    CHECK_EQ_INT(sem_encode(ctx, (const char *const *)texts, n, NULL, ref, &err), SEM_OK);
    CHECK_MSG(sem_model_set_precision(m, p, force, &err) == SEM_OK, "%s", err.msg);
    CHECK_EQ_INT(sem_encode(ctx, (const char *const *)texts, n, NULL, got, &err), SEM_OK);
    double worst = 1.0;
    for (int i = 0; i < n; i++) {
        double c = cosine(ref + (size_t)i * d, got + (size_t)i * d, d);
        worst = c < worst ? c : worst;
    }
    sem_encoder_ctx_free(ctx);
    free(ref);
    free(got);
    return worst;
}

static sem_model *load_fixture(const char *name, sem_precision p)
{
    char dir[1024];
    sem_error err = {0};
    sem_model_params mp = sem_model_default_params();
    mp.n_threads = 1;
    mp.precision = p;
    sem_model *m = sem_model_load(td_path(dir, sizeof dir, "models", name, NULL), &mp, &err);
    CHECK_MSG(m != NULL, "%s: %s", name, err.msg);
    return m;
}

static void test_int8_fixtures(char **texts, int n, const sem_cpu_features *f)
{
    for (int i = 0; i < TD_N_MODELS; i++) {
        sem_model *m = load_fixture(td_models[i], SEM_PRECISION_INT8);
        if (!m)
            continue;
        sem_model_info info;
        sem_model_get_info(m, &info);
        CHECK_EQ_INT(info.precision, SEM_PRECISION_INT8);
        CHECK_EQ_INT(info.precision_requested, SEM_PRECISION_INT8);
        const sem_qkernel kernels[3] = {SEM_QK_NONE, SEM_QK_ONEDNN, SEM_QK_AVX2};
        for (int k = 0; k < (f->avx2 ? 3 : 2); k++) {
            double c = worst_cosine(m, SEM_PRECISION_INT8, kernels[k], texts, n);
            printf("%-26s int8 kernel %s: worst cosine to f32 %.6f\n", td_models[i],
                   k == 0 ? "auto" : k == 1 ? "oneDNN" : "AVX2", c);
            CHECK_MSG(c >= 0.995, "%s int8 (kernel %d): cosine %.6f < 0.995", td_models[i], (int)kernels[k], c);
        }
        sem_model_free(m);
    }
}

/* Odd shapes: k (hidden 36, ffn 37) not a multiple of 4 or 16, n not of 16; the AVX2 and oneDNN kernels agree,
 * and one or two threads give the same vectors. */
static void test_int8_random(const sem_cpu_features *f)
{
    sem_bert_config c = {.hidden = 36, .n_layers = 2, .n_heads = 3, .ffn = 37, .max_pos = 64, .type_vocab = 2,
                         .vocab = 100, .act = SEM_ACT_GELU, .ln_eps = 1e-12};
    sem_error err = {0};
    sem_model *m = sem_model_new_random(&c, 11, SEM_POOL_MEAN, 0, 2, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m)
        return;
    int32_t ids[3][40];
    sem_token_input in[3];
    for (int s = 0; s < 3; s++) {
        for (int t = 0; t < 40; t++)
            ids[s][t] = (int32_t)((s * 37 + t * 11) % 100);
        in[s] = (sem_token_input){ids[s], NULL, 13 + 13 * s};
    }
    float ref[3 * 36], a[3 * 36], b[3 * 36], one[3 * 36];
    sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, &err);
    CHECK_EQ_INT(sem_encode_tokens(ctx, in, 3, NULL, ref, &err), SEM_OK);
    CHECK_EQ_INT(sem_model_set_precision(m, SEM_PRECISION_INT8, SEM_QK_ONEDNN, &err), SEM_OK);
    CHECK_EQ_INT(sem_encode_tokens(ctx, in, 3, NULL, a, &err), SEM_OK);
    memcpy(b, a, sizeof b);
    if (f->avx2) {
        CHECK_EQ_INT(sem_model_set_precision(m, SEM_PRECISION_INT8, SEM_QK_AVX2, &err), SEM_OK);
        CHECK_EQ_INT(sem_encode_tokens(ctx, in, 3, NULL, b, &err), SEM_OK);
        /* back to oneDNN on the same context: its scratch follows the kernel (it needs the s32 buffer) */
        float again[3 * 36];
        CHECK_EQ_INT(sem_model_set_precision(m, SEM_PRECISION_INT8, SEM_QK_ONEDNN, &err), SEM_OK);
        CHECK_EQ_INT(sem_encode_tokens(ctx, in, 3, NULL, again, &err), SEM_OK);
        CHECK(memcmp(again, a, sizeof again) == 0);
        CHECK_EQ_INT(sem_model_set_precision(m, SEM_PRECISION_INT8, SEM_QK_AVX2, &err), SEM_OK);
    }
    for (int s = 0; s < 3; s++) {
        double ca = cosine(ref + s * 36, a + s * 36, 36), cb = cosine(ref + s * 36, b + s * 36, 36);
        CHECK_MSG(ca >= 0.995 && cb >= 0.995, "random model, sequence %d: cosine %.6f (oneDNN) %.6f (AVX2)", s, ca,
                  cb);
    }
    /* one worker: the same vectors as two (rows are quantized one by one) */
    sem_model *m1 = sem_model_new_random(&c, 11, SEM_POOL_MEAN, 0, 1, &err);
    sem_encoder_ctx *c1 = m1 ? sem_encoder_ctx_new(m1, &err) : NULL;
    CHECK(c1 != NULL);
    if (c1 && sem_model_set_precision(m1, SEM_PRECISION_INT8, f->avx2 ? SEM_QK_AVX2 : SEM_QK_ONEDNN, &err) == 0) {
        CHECK_EQ_INT(sem_encode_tokens(c1, in, 3, NULL, one, &err), SEM_OK);
        CHECK(memcmp(one, b, sizeof one) == 0);
    }
    sem_encoder_ctx_free(c1);
    sem_model_free(m1);
    sem_encoder_ctx_free(ctx);
    sem_model_free(m);
}

static void test_names(void)
{
    CHECK_EQ_INT(sem_precision_parse("f32"), SEM_PRECISION_F32);
    CHECK_EQ_INT(sem_precision_parse("bf16"), SEM_PRECISION_BF16);
    CHECK_EQ_INT(sem_precision_parse("int8"), SEM_PRECISION_INT8);
    CHECK_EQ_INT(sem_precision_parse("fp16"), -1);
    CHECK_EQ_INT(sem_precision_parse("INT8"), -1);
    CHECK_EQ_INT(sem_precision_parse(NULL), -1);
    CHECK_STREQ(sem_precision_name(SEM_PRECISION_INT8), "int8");
    CHECK_STREQ(sem_precision_name(SEM_PRECISION_BF16), "bf16");
    sem_error err = {0};
    sem_model_params mp = sem_model_default_params();
    CHECK_EQ_INT(mp.precision, SEM_PRECISION_F32);
    mp.precision = (sem_precision)7;
    char dir[1024];
    CHECK(sem_model_load(td_path(dir, sizeof dir, "models", td_models[0], NULL), &mp, &err) == NULL);
    CHECK_EQ_INT(err.code, SEM_EINVAL);
}

static int has_bf16(const sem_cpu_features *f) { return f->avx512_bf16 || f->amx_bf16; }

/* bf16 where the CPU cannot: the model runs f32 (identical vectors) and says so. */
static void test_bf16_fallback(char **texts, int n, const sem_cpu_features *f)
{
    if (has_bf16(f))
        return;
    sem_model *m = load_fixture(td_models[0], SEM_PRECISION_BF16);
    if (!m)
        return;
    sem_model_info info;
    sem_model_get_info(m, &info);
    CHECK_EQ_INT(info.precision_requested, SEM_PRECISION_BF16);
    CHECK_EQ_INT(info.precision, SEM_PRECISION_F32);
    CHECK(worst_cosine(m, SEM_PRECISION_BF16, SEM_QK_NONE, texts, n) == 1.0);
    sem_model_free(m);
}

static void test_bf16(char **texts, int n, const sem_cpu_features *f)
{
    char feat[256];
    sem_cpu_features_str(f, feat, sizeof feat);
    if (!has_bf16(f)) {
        TEST_SKIP_SECTION("bf16 needs AVX512_BF16 or AMX_BF16; this CPU has: %s", feat);
        return;
    }
    for (int i = 0; i < TD_N_MODELS; i++) {
        sem_model *m = load_fixture(td_models[i], SEM_PRECISION_BF16);
        if (!m)
            continue;
        double c = worst_cosine(m, SEM_PRECISION_BF16, SEM_QK_NONE, texts, n);
        printf("%-26s bf16: worst cosine to f32 %.6f\n", td_models[i], c);
        CHECK_MSG(c >= 0.999, "%s bf16: cosine %.6f < 0.999", td_models[i], c);
        sem_model_free(m);
    }
}

int main(int argc, char **argv)
{
    sem_cpu_features f;
    sem_cpu_features_get(&f);
    int n = 0;
    char **texts = load_texts(&n);
    if (n < 10) {
        TEST_SKIP_SECTION("%s/texts.jsonl is missing (../shared)", TD_DIR);
        TEST_END();
    }
    if (argc > 1 && strcmp(argv[1], "bf16") == 0) {
        test_bf16(texts, n, &f);
    } else {
        test_names();
        test_int8_fixtures(texts, n, &f);
        test_int8_random(&f);
        test_bf16_fallback(texts, n, &f);
    }
    for (int i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    TEST_END();
}
