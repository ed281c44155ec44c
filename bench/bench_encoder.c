/* bench/bench_encoder.c: encoder throughput on random-weight models of real shapes (MiniLM-L6: 6 layers, hidden
 * 384, 12 heads, ffn 1536; bert-base: 12 / 768 / 12 / 3072; vocab 30522), at batch 1 and 32, sequence 32 and
 * 128, 1 and 2 threads, plus a batch of 32 texts of mixed lengths (16..128 tokens, what real batches look like).
 *
 * For each it prints texts/s, tokens/s (real tokens) and achieved GFLOP/s next to a plain cblas_sgemm GFLOP/s
 * (the FFN's first GEMM over the batch's tokens) at the same thread count, their ratio, and, where Debian's
 * python3-torch is installed, the same model in PyTorch (bench/torch_bert.py, a co-process that pads each batch
 * to its longest text, as HF does) with our speed-up over it.
 *
 * The machine is shared, so measurements are interleaved: each of 3 rounds times our encoder, then PyTorch,
 * then sgemm, back to back, and each column keeps its best round; load from other processes hits all three
 * alike. A bert-base pass of 32 x 128 takes seconds: it gets one round and no warm-up on either side.
 *
 * Usage: bench_encoder [--quick] [--no-torch] [--min-time S]
 *   --quick     MiniLM only
 *   --no-torch  skip the PyTorch comparison
 *   --min-time  seconds per configuration and side (default 0.6, split over the 3 rounds) */
#define _GNU_SOURCE
#include "common/fileio.h"
#include "encoder/internal.h"

#include <cblas.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SEM_SOURCE_DIR
#define SEM_SOURCE_DIR "."
#endif

typedef struct shape {
    const char *name;
    int layers, hidden, heads, ffn;
} shape;

typedef struct config {
    int batch, seq; /* seq: the length, or the longest for mixed */
    int mixed;      /* lengths 16 + (i * 37) % 113: 16..128; torch_bert.py uses the same formula */
} config;

static int seq_len(const config *c, int i) { return c->mixed ? 16 + (i * 37) % 113 : c->seq; }

static double flops_per_forward(const shape *s, const config *c)
{
    double H = s->hidden, F = s->ffn, total = 0;
    for (int i = 0; i < c->batch; i++) {
        double L = seq_len(c, i);
        /* per layer: QKV + output projection + FFN (2 flops per multiply-add), attention's two L x L products */
        total += s->layers * (L * 2.0 * (4.0 * H * H + 2.0 * H * F) + 4.0 * L * L * H);
    }
    return total;
}

/* GFLOP/s of cblas_sgemm (M, N, K) row-major on `threads` OpenBLAS threads, run for at least min_time seconds.
 * (OpenBLAS's OpenMP build takes its thread count from the calling thread's OpenMP setting.) */
static double sgemm_rate(int M, int N, int K, int threads, double min_time)
{
    int prev = omp_get_max_threads();
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    float *a = malloc((size_t)M * K * sizeof *a), *b = malloc((size_t)K * N * sizeof *b),
          *c = malloc((size_t)M * N * sizeof *c);
    double rate = 0;
    if (a && b && c) {
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
        rate = 2.0 * M * N * K * n / el / 1e9;
    }
    free(a);
    free(b);
    free(c);
    omp_set_num_threads(prev);
    return rate;
}

/* ---- the PyTorch co-process: one per model shape and thread count (importing torch takes seconds) ---- */

typedef struct torch_proc {
    pid_t pid;
    FILE *to, *from;
} torch_proc;

static int torch_start(torch_proc *tp, const shape *s, int threads)
{
    int in[2], out[2];
    memset(tp, 0, sizeof *tp);
    if (pipe(in) != 0)
        return -1;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    char script[1024], a[5][32];
    snprintf(script, sizeof script, "%s/bench/torch_bert.py", SEM_SOURCE_DIR);
    snprintf(a[0], 32, "%d", s->layers);
    snprintf(a[1], 32, "%d", s->hidden);
    snprintf(a[2], 32, "%d", s->heads);
    snprintf(a[3], 32, "%d", s->ffn);
    snprintf(a[4], 32, "%d", threads);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        if (!freopen("/dev/null", "w", stderr))
            _exit(127);
        execl("/usr/bin/python3", "python3", script, "--layers", a[0], "--hidden", a[1], "--heads", a[2], "--ffn",
              a[3], "--threads", a[4], "--serve", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    tp->pid = pid;
    tp->to = fdopen(in[1], "w");
    tp->from = fdopen(out[0], "r");
    char line[256];
    /* the script says "ready" once torch is imported and the model built */
    if (!tp->to || !tp->from || !fgets(line, sizeof line, tp->from) || strncmp(line, "ready", 5) != 0)
        return -1;
    return 0;
}

/* Forward passes per second of PyTorch on config c, timed for at least t seconds (one pass when t is 0),
 * after a warm-up pass when warm. 0 on failure. */
static double torch_measure(torch_proc *tp, const config *c, double t, int warm)
{
    if (!tp->to)
        return 0;
    fprintf(tp->to, "%d %d %d %.3f %d\n", c->batch, c->seq, c->mixed, t, warm);
    fflush(tp->to);
    char line[256];
    if (!fgets(line, sizeof line, tp->from))
        return 0;
    return strtod(line, NULL);
}

static void torch_stop(torch_proc *tp)
{
    if (tp->to)
        fclose(tp->to); /* EOF on its stdin ends the script */
    if (tp->from)
        fclose(tp->from);
    if (tp->pid > 0)
        waitpid(tp->pid, NULL, 0);
    memset(tp, 0, sizeof *tp);
}

static int torch_available(void)
{
    return system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

int main(int argc, char **argv)
{
    int quick = 0, use_torch = 1;
    double min_time = 0.6;
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
    signal(SIGPIPE, SIG_IGN);
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
    printf("load average at start: %.2f %.2f %.2f\n\n", load[0], load[1], load[2]);
    static const shape shapes[] = {{"MiniLM-L6", 6, 384, 12, 1536}, {"bert-base", 12, 768, 12, 3072}};
    static const config configs[] = {{1, 32, 0}, {1, 128, 0}, {32, 32, 0}, {32, 128, 0}, {32, 128, 1}};
    static const int threads[] = {1, 2};
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
            torch_proc tp = {0};
            if (use_torch && torch_start(&tp, s, threads[ti]) != 0) {
                fprintf(stderr, "bench_encoder: the PyTorch co-process did not start\n");
                torch_stop(&tp);
            }
            for (size_t ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
                const config *cf = &configs[ci];
                const int B = cf->batch;
                size_t T = 0;
                for (int i = 0; i < B; i++)
                    T += (size_t)seq_len(cf, i);
                int32_t *ids = malloc(T * sizeof *ids);
                sem_token_input *in = malloc((size_t)B * sizeof *in);
                float *out = malloc((size_t)B * s->hidden * sizeof *out);
                if (!ids || !in || !out) {
                    fprintf(stderr, "bench_encoder: out of memory\n");
                    return 1;
                }
                uint64_t r = 12345;
                size_t t = 0;
                for (int i = 0; i < B; i++) {
                    int L = seq_len(cf, i);
                    for (int j = 0; j < L; j++) {
                        r = r * 6364136223846793005ull + 1442695040888963407ull;
                        ids[t + (size_t)j] = j == 0 ? 101 : j == L - 1 ? 102 : 1000 + (int32_t)((r >> 33) % 29000);
                    }
                    in[i] = (sem_token_input){ids + t, NULL, L};
                    t += (size_t)L;
                }
                sem_encode_params p = sem_encode_default_params();
                p.batch_size = B;
                const double flops = flops_per_forward(s, cf);
                const int big = flops > 1e11;
                const int rounds = big ? 1 : 3;
                const double window = big ? 0.0 : min_time / rounds;
                if (!big && sem_encode_tokens(ctx, in, B, &p, out, &err)) { /* warm-up: scratch allocated */
                    fprintf(stderr, "bench_encoder: %s\n", err.msg);
                    return 1;
                }
                double best = 0, sg = 0, tbest = 0;
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
                    } while (el < window);
                    best = (double)n / el > best ? (double)n / el : best; /* forward passes per second */
                    if (tp.to) {
                        double tr = torch_measure(&tp, cf, window, round == 0 && !big);
                        tbest = tr > tbest ? tr : tbest;
                    }
                    double g = sgemm_rate((int)T, s->ffn, s->hidden, threads[ti], 0.15);
                    sg = g > sg ? g : sg;
                }
                double gflops = flops * best / 1e9;
                char tcol[32] = "-", vcol[32] = "-", seqcol[16];
                if (tbest > 0) {
                    snprintf(tcol, sizeof tcol, "%.0f", tbest * (double)T);
                    snprintf(vcol, sizeof vcol, "%.2fx", best / tbest);
                }
                if (cf->mixed)
                    snprintf(seqcol, sizeof seqcol, "16-128");
                else
                    snprintf(seqcol, sizeof seqcol, "%d", cf->seq);
                printf("| %s | %d | %s | %d | %.1f | %.0f | %.1f | %.1f | %.0f%% | %s | %s |\n", s->name, B, seqcol,
                       threads[ti], (double)B * best, (double)T * best, gflops, sg, 100.0 * gflops / sg, tcol, vcol);
                fflush(stdout);
                free(ids);
                free(in);
                free(out);
            }
            torch_stop(&tp);
            sem_encoder_ctx_free(ctx);
            sem_model_free(m);
        }
    }
    return 0;
}
