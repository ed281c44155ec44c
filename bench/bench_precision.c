/* bench/bench_precision.c: encoder tokens/s at each precision of the linear layers (f32, int8, and bf16 where the
 * CPU has AVX512_BF16 or AMX_BF16), as ratios to f32 measured in one run, with the int8 kernels the CPU features
 * pick and, for comparison, the other int8 kernel.
 *
 * The model is a random-weight MiniLM-L6 shape (6 layers, hidden 384, 12 heads, ffn 1536, vocab 30522); the
 * workload is the peers harness's (../shared/peers): 512 texts of 71..169 tokens in batches of 32. Each of 3
 * rounds times every precision back to back (interleaved, so load from other processes hits all alike) and each
 * keeps its best round. Also prints the worst and mean cosine of each precision's vectors to f32's.
 *
 * Usage: bench_precision [--threads N] [--texts N] */
#include "encoder/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct variant {
    const char *name;
    sem_precision p;
    sem_qkernel kernel;
    double best;    /* seconds */
    float *vecs;    /* (n, dim) */
} variant;

static double cosine(const float *a, const float *b, int d)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < d; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

int main(int argc, char **argv)
{
    int threads = 2, n = 512;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--texts") == 0)
            n = atoi(argv[i + 1]);
    }
    if (threads < 1 || threads > 64 || n < 1 || n > 100000) {
        fprintf(stderr, "usage: bench_precision [--threads 1..64] [--texts 1..100000]\n");
        return 2;
    }
    sem_bert_config c = {.hidden = 384, .n_layers = 6, .n_heads = 12, .ffn = 1536, .max_pos = 512, .type_vocab = 2,
                         .vocab = 30522, .act = SEM_ACT_GELU, .ln_eps = 1e-12};
    sem_error err = {0};
    sem_model *m = sem_model_new_random(&c, 42, SEM_POOL_MEAN, 1, threads, &err);
    sem_encoder_ctx *ctx = m ? sem_encoder_ctx_new(m, &err) : NULL;
    sem_token_input *in = calloc((size_t)n, sizeof *in);
    int32_t *ids = malloc(sizeof(int32_t) * 169 * (size_t)n);
    if (!ctx || !in || !ids) {
        fprintf(stderr, "bench_precision: %s\n", err.msg[0] ? err.msg : "out of memory");
        return 1;
    }
    long tokens = 0;
    for (int i = 0; i < n; i++) {
        int len = 71 + (i * 37) % 99; /* 71..169 */
        for (int t = 0; t < len; t++)
            ids[(size_t)i * 169 + t] = t == 0 ? 101 : t == len - 1 ? 102 : 1000 + (int)((i * 7919u + t * 104729u) % 29000);
        in[i] = (sem_token_input){ids + (size_t)i * 169, NULL, len};
        tokens += len;
    }
    sem_cpu_features f;
    sem_cpu_features_get(&f);
    variant v[4] = {{"f32", SEM_PRECISION_F32, SEM_QK_NONE, 1e30, NULL},
                    {"int8", SEM_PRECISION_INT8, SEM_QK_NONE, 1e30, NULL},
                    {"int8 (other kernel)", SEM_PRECISION_INT8, SEM_QK_NONE, 1e30, NULL},
                    {"bf16", SEM_PRECISION_BF16, SEM_QK_NONE, 1e30, NULL}};
    int auto_onednn = f.avx512_vnni && f.avx512bw && f.avx512vl;
    v[1].kernel = auto_onednn ? SEM_QK_ONEDNN : SEM_QK_AVX2;
    v[2].kernel = auto_onednn ? SEM_QK_AVX2 : SEM_QK_ONEDNN;
    int nv = f.avx512_bf16 || f.amx_bf16 ? 4 : 3;
    const int dim = sem_model_dim(m);
    sem_encode_params ep = sem_encode_default_params();
    ep.batch_size = 32;
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < nv; k++) {
            if (!v[k].vecs && !(v[k].vecs = malloc(sizeof(float) * (size_t)n * dim)))
                return 1;
            if (sem_model_set_precision(m, v[k].p, v[k].kernel, &err) ||
                sem_encode_tokens(ctx, in, 32 < n ? 32 : n, &ep, v[k].vecs, &err)) { /* warm-up, scratch */
                fprintf(stderr, "bench_precision: %s\n", err.msg);
                return 1;
            }
            double t0 = now();
            if (sem_encode_tokens(ctx, in, n, &ep, v[k].vecs, &err)) {
                fprintf(stderr, "bench_precision: %s\n", err.msg);
                return 1;
            }
            double t = now() - t0;
            v[k].best = t < v[k].best ? t : v[k].best;
        }
    char kernels[1024];
    sem_kernels_describe(kernels, sizeof kernels);
    printf("%s", kernels);
    printf("MiniLM-L6 shape, %d texts, %ld tokens, batch 32, %d threads, best of 3 interleaved rounds\n\n", n, tokens,
           threads);
    printf("| precision | kernel | tokens/s | x f32 | worst cosine to f32 | mean cosine |\n|---|---|---:|---:|---:|---:|\n");
    for (int k = 0; k < nv; k++) {
        double worst = 1, sum = 0;
        for (int i = 0; i < n; i++) {
            double cs = cosine(v[0].vecs + (size_t)i * dim, v[k].vecs + (size_t)i * dim, dim);
            worst = cs < worst ? cs : worst;
            sum += cs;
        }
        const char *kn = v[k].p == SEM_PRECISION_BF16 ? "oneDNN" : v[k].p == SEM_PRECISION_F32 ? "oneDNN sgemm"
                         : v[k].kernel == SEM_QK_AVX2 ? "own AVX2" : "oneDNN u8s8";
        printf("| %s | %s | %.0f | %.2f | %.6f | %.6f |\n", v[k].name, kn, tokens / v[k].best, v[0].best / v[k].best,
               worst, sum / n);
    }
    for (int k = 0; k < nv; k++)
        free(v[k].vecs);
    if (nv == 3)
        printf("\nbf16: not measured (the CPU has neither AVX512_BF16 nor AMX_BF16)\n");
    free(in);
    free(ids);
    sem_encoder_ctx_free(ctx);
    sem_model_free(m);
    return 0;
}
