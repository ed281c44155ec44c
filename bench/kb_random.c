/* bench/kb_random.c: fills a KB with N random clustered unit vectors and measures the store: create, add
 * (documents/s, with the automatic training inside), save, reopen, compact (retrain on everything), vector
 * search latency and recall@10 against brute force, text search latency, and file/memory sizes.
 *
 *   kb_random KB [--n 100000] [--dim 384] [--index auto|SPEC] [--metric ip|l2] [--clusters 1000]
 *                [--spread 0.5] [--batch 256] [--queries 200] [--nprobe 0] [--keep]
 *
 * KB must not exist (it is created); without --keep it is deleted at the end. Run it with
 * OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE on a small machine (../shared/PERF.md). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "store/kb.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}
static float gauss(void)
{
    double u = ((next() >> 11) + 1.0) / 9007199254740993.0, v = (next() >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}
static void normalize(float *x, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += (double)x[i] * x[i];
    s = 1.0 / (sqrt(s) + 1e-12);
    for (int i = 0; i < d; i++)
        x[i] = (float)(x[i] * s);
}

static int trained_flag;
static void on_log(int level, const char *msg, void *ud)
{
    (void)ud;
    if (strstr(msg, "training"))
        trained_flag = 1;
    fprintf(stderr, "  [%s] %s\n", level >= SEM_LOG_WARN ? "warn" : "info", msg);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long opt_long(const char *v, const char *name)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < 0) {
        fprintf(stderr, "kb_random: bad %s '%s'\n", name, v);
        exit(2);
    }
    return x;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *spec = "auto", *metric = "ip";
    long n = 100000, d = 384, nc = 1000, batch = 256, nq = 200, nprobe = 0;
    double spread = 0.5;
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: kb_random KB [--n N] [--dim D] [--index SPEC] [--metric ip|l2] [--clusters C] "
                   "[--spread S] [--batch B] [--queries Q] [--nprobe P] [--keep]\n");
            return 0;
        }
        if (strcmp(a, "--keep") == 0) {
            keep = 1;
            continue;
        }
        if (a[0] == '-' && i + 1 >= argc) {
            fprintf(stderr, "kb_random: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--n") == 0)
            n = opt_long(argv[++i], a);
        else if (strcmp(a, "--dim") == 0)
            d = opt_long(argv[++i], a);
        else if (strcmp(a, "--index") == 0)
            spec = argv[++i];
        else if (strcmp(a, "--metric") == 0)
            metric = argv[++i];
        else if (strcmp(a, "--clusters") == 0)
            nc = opt_long(argv[++i], a);
        else if (strcmp(a, "--spread") == 0)
            spread = atof(argv[++i]);
        else if (strcmp(a, "--batch") == 0)
            batch = opt_long(argv[++i], a);
        else if (strcmp(a, "--queries") == 0)
            nq = opt_long(argv[++i], a);
        else if (strcmp(a, "--nprobe") == 0)
            nprobe = opt_long(argv[++i], a);
        else if (a[0] != '-' && !dir)
            dir = a;
        else {
            fprintf(stderr, "kb_random: unknown argument '%s'\n", a);
            return 2;
        }
    }
    if (!dir || n < 1 || d < 1 || d > 4096 || nc < 1 || batch < 1 || nq < 1 || nq > 100000 ||
        sem_kb_metric_parse(metric) < 0) {
        fprintf(stderr, "usage: kb_random KB [--n N] [--dim D] [--index SPEC] ... (see --help)\n");
        return 2;
    }
    sem_log_set(on_log, NULL);
    sem_error err;
    float *X = malloc((size_t)n * d * sizeof *X), *C = malloc((size_t)nc * d * sizeof *C);
    float *Q = malloc((size_t)nq * d * sizeof *Q);
    if (!X || !C || !Q) {
        fprintf(stderr, "kb_random: out of memory\n");
        return 1;
    }
    for (long i = 0; i < nc * d; i++)
        C[i] = gauss();
    for (long i = 0; i < nc; i++)
        normalize(C + (size_t)i * d, (int)d);
    float sigma = (float)(spread / sqrt((double)d));
    for (long i = 0; i < n; i++) {
        long c = (long)(next() % (uint64_t)nc);
        for (long j = 0; j < d; j++)
            X[(size_t)i * d + j] = C[(size_t)c * d + j] + sigma * gauss();
        normalize(X + (size_t)i * d, (int)d);
    }
    for (long q = 0; q < nq; q++) {
        long src = (long)(next() % (uint64_t)n);
        for (long j = 0; j < d; j++)
            Q[(size_t)q * d + j] = X[(size_t)src * d + j] + sigma * gauss();
        normalize(Q + (size_t)q * d, (int)d);
    }
    printf("kb_random: %ld vectors, dim %ld, %ld clusters, spread %.2f, index %s, metric %s\n", n, d, nc, spread, spec,
           metric);

    double t = sem_now();
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = (int)d;
    cp.index_spec = spec;
    cp.metric = sem_kb_metric_parse(metric);
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    if (!kb) {
        fprintf(stderr, "kb_random: %s\n", err.msg);
        return 1;
    }
    printf("create:          %8.3f s\n", sem_now() - t);

    /* Add: one passage per document, `batch` documents per transaction. */
    sem_kb_passage *ps = malloc((size_t)batch * sizeof *ps);
    sem_kb_doc *docs = malloc((size_t)batch * sizeof *docs);
    char (*ids)[24] = malloc((size_t)batch * 24), (*texts)[64] = malloc((size_t)batch * 64);
    double t_add = 0, t_train = 0;
    for (long s = 0; s < n; s += batch) {
        long m = n - s < batch ? n - s : batch;
        for (long i = 0; i < m; i++) {
            snprintf(ids[i], 24, "doc-%ld", s + i);
            snprintf(texts[i], 64, "passage %ld words w%ld w%ld", s + i, (s + i) % 97, (s + i) % 1009);
            ps[i] = (sem_kb_passage){texts[i], 0, 0, X + (size_t)(s + i) * d};
            docs[i] = (sem_kb_doc){ids[i], NULL, NULL, NULL, &ps[i], 1};
        }
        trained_flag = 0;
        t = sem_now();
        if (sem_kb_put(kb, docs, (int)m, &err) != SEM_OK) {
            fprintf(stderr, "kb_random: put: %s\n", err.msg);
            return 1;
        }
        double dt = sem_now() - t;
        if (trained_flag)
            t_train += dt;
        else
            t_add += dt;
    }
    printf("add:             %8.3f s  (%.0f passages/s, %ld per transaction, training excluded)\n", t_add,
           (double)n / (t_add > 0 ? t_add : 1e-9), batch);
    printf("auto-train:      %8.3f s  (the puts that crossed a training threshold)\n", t_train);
    t = sem_now();
    if (sem_kb_save(kb, &err) != SEM_OK) {
        fprintf(stderr, "kb_random: save: %s\n", err.msg);
        return 1;
    }
    printf("save:            %8.3f s\n", sem_now() - t);
    t = sem_now();
    if (sem_kb_compact(kb, NULL, &err) != SEM_OK) {
        fprintf(stderr, "kb_random: compact: %s\n", err.msg);
        return 1;
    }
    printf("compact:         %8.3f s  (retrain on a sample of all vectors, re-add, save)\n", sem_now() - t);
    sem_kb_close(kb);
    t = sem_now();
    kb = sem_kb_open(dir, NULL, &err);
    if (!kb) {
        fprintf(stderr, "kb_random: reopen: %s\n", err.msg);
        return 1;
    }
    printf("open:            %8.3f s  (verify checksum + load index)\n", sem_now() - t);

    /* Ground truth by brute force, then single-query searches. */
    int K = 10;
    int64_t *gt = malloc((size_t)nq * K * sizeof *gt);
    for (long q = 0; q < nq; q++) {
        float best[10];
        for (int i = 0; i < K; i++) {
            best[i] = -INFINITY;
            gt[q * K + i] = -1;
        }
        for (long i = 0; i < n; i++) {
            const float *a = Q + (size_t)q * d, *b = X + (size_t)i * d;
            float s = 0;
            if (cp.metric == SEM_KB_METRIC_L2)
                for (long j = 0; j < d; j++)
                    s -= (a[j] - b[j]) * (a[j] - b[j]);
            else
                for (long j = 0; j < d; j++)
                    s += a[j] * b[j];
            if (s > best[K - 1]) {
                int p = K - 1;
                while (p > 0 && best[p - 1] < s) {
                    best[p] = best[p - 1];
                    gt[q * K + p] = gt[q * K + p - 1];
                    p--;
                }
                best[p] = s;
                gt[q * K + p] = i + 1; /* passage ids are 1-based, in insertion order */
            }
        }
    }
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = K;
    sp.nprobe = (int)nprobe;
    double *lat = malloc((size_t)nq * sizeof *lat);
    long hit = 0;
    for (long q = 0; q < nq; q++) {
        sem_kb_hit h[10];
        int nh = 0;
        t = sem_now();
        if (sem_kb_search(kb, Q + (size_t)q * d, 1, &sp, h, &nh, &err) != SEM_OK) {
            fprintf(stderr, "kb_random: search: %s\n", err.msg);
            return 1;
        }
        lat[q] = sem_now() - t;
        for (int i = 0; i < nh; i++)
            for (int j = 0; j < K; j++)
                hit += h[i].passage_id == gt[q * K + j];
    }
    qsort(lat, (size_t)nq, sizeof *lat, cmp_double);
    double sum = 0;
    for (long q = 0; q < nq; q++)
        sum += lat[q];
    sem_kb_info in;
    sem_kb_get_info(kb, &in, &err);
    printf("search:          mean %.3f ms, p50 %.3f ms, p99 %.3f ms (k=10, nprobe %d, single queries)\n",
           1e3 * sum / nq, 1e3 * lat[nq / 2], 1e3 * lat[(nq * 99) / 100], nprobe ? (int)nprobe : in.default_nprobe);
    printf("recall@10:       %.3f (vs brute force)\n", (double)hit / (double)(nq * K));
    /* Batched search (what an evaluation does). */
    sem_kb_hit *hb = malloc((size_t)nq * K * sizeof *hb);
    int *nhb = malloc((size_t)nq * sizeof *nhb);
    t = sem_now();
    sem_kb_search(kb, Q, (int)nq, &sp, hb, nhb, &err);
    printf("batch search:    %.3f ms per query (%ld queries in one call)\n", 1e3 * (sem_now() - t) / nq, nq);
    /* Filtered search (selective filter: exact path is not applicable without metadata, so text search). */
    t = sem_now();
    for (long q = 0; q < 50; q++) {
        char qt[64];
        snprintf(qt, sizeof qt, "w%ld w%ld", q % 97, q % 1009);
        int nh;
        sem_kb_search_text(kb, qt, &sp, hb, &nh, &err);
    }
    printf("text search:     %.3f ms per query (FTS5 bm25, 2 words)\n", 1e3 * (sem_now() - t) / 50);
    printf("index:           %s (%s)\n", in.index_built, in.index_type);
    printf("index file:      %.1f MiB\n", (double)in.index_file_bytes / (1 << 20));
    printf("database:        %.1f MiB\n", (double)in.db_file_bytes / (1 << 20));
    printf("index memory:    %.1f MiB (estimate)\n", (double)in.mem_bytes / (1 << 20));
    sem_kb_close(kb);
    if (!keep) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "kb_random: could not remove %s\n", dir);
    }
    free(X);
    free(C);
    free(Q);
    free(ps);
    free(docs);
    free(ids);
    free(texts);
    free(gt);
    free(lat);
    free(hb);
    free(nhb);
    return 0;
}
