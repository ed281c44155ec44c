/* bench/bench_encoder.c: encoder throughput on random-weight models of real shapes (MiniLM-L6: 6 layers, hidden
 * 384, 12 heads, ffn 1536; bert-base: 12 / 768 / 12 / 3072; vocab 30522), at batch 1 and 32, sequence 32 and
 * 128, 1 and 2 threads. For each it prints texts/s, tokens/s and achieved GFLOP/s next to a plain cblas_sgemm
 * GFLOP/s measured in the same run at the same thread count (the shape of the FFN's first GEMM for the batch's
 * tokens), their ratio, and, where Debian's python3-torch is installed, the same model in PyTorch
 * (bench/torch_bert.py) run in the same process tree, with our speed-up over it.
 *
 * Usage: bench_encoder [--quick] [--no-torch] [--min-time S]
 *   --quick     MiniLM only (a few seconds)
 *   --no-torch  skip the PyTorch comparison
 *   --min-time  seconds each measurement runs at least (default 1.0)
 * The machine is shared: numbers are noisy; the ratios measured back to back are the meaningful part. */
#include "common/fileio.h"
#include "encoder/internal.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SEM_SOURCE_DIR
#define SEM_SOURCE_DIR "."
#endif

typedef struct shape {
    const char *name;
    int layers, hidden, heads, ffn;
} shape;

static double flops_per_forward(const shape *s, int batch, int seq)
{
    double H = s->hidden, F = s->ffn, L = seq;
    /* per layer: QKV + output projection + FFN (2 flops per multiply-add), and attention's two L x L products */
    double per_seq = s->layers * (L * 2.0 * (4.0 * H * H + 2.0 * H * F) + 4.0 * L * L * H);
    return per_seq * batch;
}

/* GFLOP/s of cblas_sgemm (M, N, K) row-major, run for at least min_time seconds. */
static double sgemm_rate(int M, int N, int K, double min_time)
{
    float *a = malloc((size_t)M * K * sizeof *a), *b = malloc((size_t)K * N * sizeof *b),
          *c = malloc((size_t)M * N * sizeof *c);
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return 0;
    }
    for (size_t i = 0; i < (size_t)M * K; i++)
        a[i] = (float)(i % 17) * 0.01f;
    for (size_t i = 0; i < (size_t)K * N; i++)
        b[i] = (float)(i % 13) * 0.01f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    int n = 0;
    double t0 = sem_now(), el;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
        n++;
        el = sem_now() - t0;
    } while (el < min_time);
    free(a);
    free(b);
    free(c);
    return 2.0 * M * N * K * n / el / 1e9;
}

/* tokens/s of the PyTorch baseline, or 0 when torch is not available. */
static double torch_rate(const shape *s, int batch, int seq, int threads, double min_time, int rounds)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 '%s/bench/torch_bert.py' --layers %d --hidden %d --heads %d --ffn %d --batch %d "
             "--seq %d --threads %d --min-time %.2f --rounds %d%s 2>/dev/null",
             SEM_SOURCE_DIR, s->layers, s->hidden, s->heads, s->ffn, batch, seq, threads, min_time, rounds,
             min_time > 0 ? "" : " --no-warmup");
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    char line[512] = "";
    double tps = 0;
    if (fgets(line, sizeof line, p)) {
        const char *k = strstr(line, "\"tokens_per_s\":");
        if (k)
            tps = strtod(k + 15, NULL);
    }
    pclose(p);
    return tps;
}

static int torch_available(void)
{
    return system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

int main(int argc, char **argv)
{
    int quick = 0, use_torch = 1;
    double min_time = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--no-torch") == 0)
            use_torch = 0;
        else if (strcmp(argv[i], "--min-time") == 0 && i + 1 < argc)
            min_time = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_encoder [--quick] [--no-torch] [--min-time S]\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (use_torch && !torch_available()) {
        fprintf(stderr, "bench_encoder: /usr/bin/python3 has no torch (apt-get install python3-torch): "
                        "skipping the PyTorch column\n");
        use_torch = 0;
    }
    double load[3] = {0};
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = -1;
        fclose(la);
    }
    printf("load average at start: %.2f %.2f %.2f (2 cores shared with other jobs: compare ratios, not absolutes)"
           "\n\n", load[0], load[1], load[2]);
    static const shape shapes[] = {{"MiniLM-L6", 6, 384, 12, 1536}, {"bert-base", 12, 768, 12, 3072}};
    static const int batches[] = {1, 32}, seqs[] = {32, 128}, threads[] = {1, 2};
    printf("| model | batch | seq | threads | texts/s | tokens/s | GFLOP/s | sgemm GFLOP/s | ratio | torch tokens/s "
           "| vs torch |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    for (int si = 0; si < (quick ? 1 : 2); si++) {
        const shape *s = &shapes[si];
        for (int ti = 0; ti < 2; ti++) {
            sem_bert_config c = {.hidden = s->hidden, .n_layers = s->layers, .n_heads = s->heads, .ffn = s->ffn,
                                 .max_pos = 512, .type_vocab = 2, .vocab = 30522, .act = SEM_ACT_GELU,
                                 .ln_eps = 1e-12f};
            sem_error err = {0};
            sem_model *m = sem_model_new_random(&c, 42, SEM_POOL_MEAN, 0, threads[ti], &err);
            sem_encoder_ctx *ctx = m ? sem_encoder_ctx_new(m, &err) : NULL;
            if (!ctx) {
                fprintf(stderr, "bench_encoder: %s\n", err.msg);
                sem_model_free(m);
                return 1;
            }
            for (int bi = 0; bi < 2; bi++)
                for (int qi = 0; qi < 2; qi++) {
                    const int B = batches[bi], L = seqs[qi];
                    int32_t *ids = malloc((size_t)B * L * sizeof *ids);
                    sem_token_input *in = malloc((size_t)B * sizeof *in);
                    float *out = malloc((size_t)B * s->hidden * sizeof *out);
                    uint64_t r = 12345;
                    for (int i = 0; i < B * L; i++) {
                        r = r * 6364136223846793005ull + 1442695040888963407ull;
                        ids[i] = 1000 + (int32_t)((r >> 33) % 29000);
                    }
                    for (int i = 0; i < B; i++) {
                        ids[i * L] = 101;
                        ids[i * L + L - 1] = 102;
                        in[i] = (sem_token_input){ids + (size_t)i * L, NULL, L};
                    }
                    sem_encode_params p = sem_encode_default_params();
                    p.batch_size = B;
                    /* A pass of bert-base at 32 x 128 takes seconds: measure it once, without a warm-up (the
                     * PyTorch side is treated the same). Smaller shapes: a warm-up pass, then the best of 3
                     * rounds, each next to an sgemm measurement, so that load from other processes on this
                     * shared machine affects both sides of the ratio alike. */
                    const int big = flops_per_forward(s, B, L) > 1e11;
                    const int rounds = big ? 1 : 3;
                    if (!big && sem_encode_tokens(ctx, in, B, &p, out, &err)) {
                        fprintf(stderr, "bench_encoder: %s\n", err.msg);
                        return 1;
                    }
                    double best = 0, sg = 0;
                    for (int round = 0; round < rounds; round++) {
                        int n = 0;
                        double t0 = sem_now(), el;
                        do {
                            if (sem_encode_tokens(ctx, in, B, &p, out, &err)) {
                                fprintf(stderr, "bench_encoder: %s\n", err.msg);
                                return 1;
                            }
                            n++;
                            el = sem_now() - t0;
                        } while (!big && el < min_time / rounds);
                        double rate = (double)n / el; /* forward passes per second */
                        best = rate > best ? rate : best;
                        double g = sgemm_rate(B * L, s->ffn, s->hidden, 0.15);
                        sg = g > sg ? g : sg;
                    }
                    double gflops = flops_per_forward(s, B, L) * best / 1e9;
                    double tps = (double)B * L * best;
                    double torch = use_torch ? torch_rate(s, B, L, threads[ti], big ? 0.0 : min_time, rounds) : 0;
                    char tcol[32] = "-", vcol[32] = "-";
                    if (torch > 0) {
                        snprintf(tcol, sizeof tcol, "%.0f", torch);
                        snprintf(vcol, sizeof vcol, "%.2fx", tps / torch);
                    }
                    printf("| %s | %d | %d | %d | %.1f | %.0f | %.1f | %.1f | %.0f%% | %s | %s |\n", s->name, B, L,
                           threads[ti], (double)B * best, tps, gflops, sg, 100.0 * gflops / sg, tcol, vcol);
                    fflush(stdout);
                    free(ids);
                    free(in);
                    free(out);
                }
            sem_encoder_ctx_free(ctx);
            sem_model_free(m);
        }
    }
    return 0;
}
