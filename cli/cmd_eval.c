/* cli/cmd_eval.c: `semsearch eval ann|retrieval|sts`: offline evaluation (see docs/eval.md). */
#include "cli/cli.h"

#include "common/fileio.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "eval/ann.h"
#include "eval/beir.h"
#include "eval/kbsource.h"
#include "eval/sts.h"
#include "eval/vecio.h"
#include "hub/hub.h"
#include "query/search.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPECS 32
#define MAX_VALUES 64
#define MAX_RUNS 8
#define MAX_MODES 18 /* semantic, lexical and up to 16 hybrid weights */

/* ---- shared helpers ---- */


/* "1,2,4" -> vals; -1 on a bad list. */
static int parse_list(const char *s, int *vals, size_t max, size_t *n)
{
    char buf[512];
    if (!s || strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (*n == max || sem_cli_parse_int(t, 1, 1 << 20, &v) != 0)
            return -1;
        vals[(*n)++] = (int)v;
    }
    return *n ? 0 : -1;
}

/* Writes text to path ("-" = stdout) atomically; 0 or 1 after printing the error. */
/* Needs a value after argv[*i]: returns it and advances, or NULL. */
static const char *need(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* ---- eval ann ---- */

static void ann_usage(FILE *f)
{
    fprintf(f,
            "Usage: semsearch eval ann (--base FILE --queries FILE | --kb KB [--queries FILE]) [options]\n\n"
            "Builds each FAISS index spec over the base vectors, searches it with each search setting and reports\n"
            "recall@1/@10/@100, k-recall@k, queries/s (single and batched), p50/p99 latency, train/add time and\n"
            "bytes per vector. Ground truth is exact search (FAISS Flat), computed once and cached.\n\n"
            "Input:\n"
            "  --base FILE          base vectors: .fvecs, .bvecs, .ivecs (TEXMEX) or .npy (float32/16/64, 2-D)\n"
            "  --queries FILE       query vectors (same formats)\n"
            "  --kb KB              use a knowledge base's stored vectors as the base; without --queries,\n"
            "                       --sample N of them are held out as queries\n"
            "  --sample N           held-out queries sampled from the KB (default: a tenth of its vectors,\n"
            "                       at most 1000, at least 1)\n"
            "  --seed N             sampling seed (default 1)\n"
            "  --gt FILE            ground truth .ivecs (TEXMEX groundtruth: nearest first)\n"
            "  --gt-cache FILE      where to cache computed ground truth (default: beside the query file,\n"
            "                       named after the metric, depth and a hash of the vectors)\n"
            "  --metric l2|ip       distance (default l2; a KB's own metric with --kb)\n"
            "Indexes and search settings:\n"
            "  --index SPEC         a faiss_index_factory string, repeatable (default: Flat and IVF<4*sqrt(n)>,Flat;\n"
            "                       with --kb, Flat and the KB's own index spec)\n"
            "  --nprobe LIST        nprobe values for IVF indexes (default 1,2,4,...,256 up to nlist)\n"
            "  --ef LIST            efSearch values for HNSW indexes (default 16,32,64,128,256)\n"
            "  -k N                 results per query and the k of k-recall@k (default 10)\n"
            "  --threads N          OpenMP/OpenBLAS threads while searching (default 1: honest latency)\n"
            "  --build-threads N    threads for ground truth, training and adding (default: --threads)\n"
            "  --latency-queries N  time single queries on the first N queries only (default: all)\n"
            "  --clock wall|cpu     time with the wall clock (default) or the thread's CPU clock, which other\n"
            "                       processes on a shared machine cannot inflate (with --threads 1 --build-threads 1)\n"
            "  --blas-threshold N   FAISS distance_compute_blas_threshold while searching (default 1, as the\n"
            "                       knowledge-base store sets it; FAISS's own default is 20)\n"
            "Output:\n"
            "  --json [FILE]        write the JSON report to FILE; without FILE (or -) to stdout, and the table\n"
            "                       goes to stderr\n"
            "  --plot OUT.svg       write the recall / QPS plot (one curve per index spec)\n"
            "  --target-recall R    also print the fastest setting whose k-recall@k reaches R (0..1)\n"
            "  -q, --quiet          no progress messages\n\n"
            "Example:\n"
            "  semsearch eval ann --base base.fvecs --queries queries.fvecs --index Flat --index IVF1024,Flat \\\n"
            "      --index HNSW32 --nprobe 1,4,16,64 --json ann.json --plot ann.svg --target-recall 0.95\n");
}

static uint64_t hash_floats(uint64_t h, const float *x, size_t n)
{
    const unsigned char *p = (const unsigned char *)x;
    size_t len = n * sizeof(float), i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Sample nq distinct rows of v as queries (moved out of v). */
static int hold_out(sem_vecs *v, size_t nq, uint64_t seed, sem_vecs *q, sem_error *err)
{
    if (nq == 0 || nq >= v->n)
        return sem_error_set(err, SEM_EINVAL, "cannot hold out %zu queries from %zu vectors", nq, v->n);
    size_t d = v->d, n = v->n;
    q->data = malloc(nq * d * sizeof(float));
    if (!q->data)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    /* partial Fisher-Yates over rows: the last nq rows become the queries */
    float *tmp = malloc(d * sizeof(float));
    if (!tmp) {
        free(q->data);
        q->data = NULL;
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < nq; i++) {
        size_t last = n - 1 - i;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        size_t j = (size_t)(s % (last + 1));
        memcpy(tmp, v->data + j * d, d * sizeof(float));
        memmove(v->data + j * d, v->data + last * d, d * sizeof(float));
        memcpy(v->data + last * d, tmp, d * sizeof(float));
    }
    free(tmp);
    memcpy(q->data, v->data + (n - nq) * d, nq * d * sizeof(float));
    q->n = nq;
    q->d = d;
    v->n = n - nq; /* the tail stays allocated, unused */
    return SEM_OK;
}

/* Loads or computes the ground truth (nq, *gt_k). */
static int get_gt(const char *gt_path, const char *cache_arg, const char *queries_path, const sem_vecs *base,
                  const sem_vecs *q, int metric_ip, size_t want_k, int64_t **gt, size_t *gt_k, sem_error *err)
{
    size_t rows, cols;
    if (gt_path) {
        int rc = sem_ivecs_read(gt_path, gt, &rows, &cols, err);
        if (rc)
            return rc;
        if (rows != q->n) {
            free(*gt);
            *gt = NULL;
            return sem_error_set(err, SEM_EMISMATCH, "%s has %zu rows but there are %zu queries", gt_path, rows,
                                 q->n);
        }
        *gt_k = cols;
        return SEM_OK;
    }
    char cache[4096];
    cache[0] = 0;
    if (cache_arg) {
        snprintf(cache, sizeof cache, "%s", cache_arg);
    } else if (queries_path) {
        uint64_t h = hash_floats(0xcbf29ce484222325ull, base->data, base->n * base->d);
        h = hash_floats(h ^ 0x9E3779B97F4A7C15ull, q->data, q->n * q->d);
        if ((size_t)snprintf(cache, sizeof cache, "%s.gt-%s-k%zu-%016llx.ivecs", queries_path,
                             metric_ip ? "ip" : "l2", want_k, (unsigned long long)h) >= sizeof cache)
            cache[0] = 0;
    }
    if (cache[0] && sem_path_exists(cache)) {
        sem_error e2;
        if (sem_ivecs_read(cache, gt, &rows, &cols, &e2) == SEM_OK && rows == q->n && cols >= want_k) {
            sem_ann_bench *b = sem_ann_bench_new(base->data, base->n, q->data, q->n, base->d, metric_ip, *gt, cols,
                                                 &e2);
            int ok = b && sem_ann_bench_verify_gt(b, 8, &e2) == SEM_OK;
            sem_ann_bench_free(b);
            if (ok) {
                sem_log(SEM_LOG_INFO, "ground truth from cache %s", cache);
                *gt_k = cols;
                return SEM_OK;
            }
        }
        sem_log(SEM_LOG_WARN, "ground-truth cache %s does not match these vectors; recomputing", cache);
        free(*gt);
        *gt = NULL;
    }
    *gt = malloc(q->n * want_k * sizeof(int64_t));
    if (!*gt)
        return sem_error_set(err, SEM_ENOMEM, "out of memory for the ground truth");
    sem_log(SEM_LOG_INFO, "computing exact ground truth: %zu queries x %zu base vectors", q->n, base->n);
    double t0 = sem_now();
    int rc = sem_ann_ground_truth(base->data, base->n, q->data, q->n, base->d, metric_ip, want_k, *gt, err);
    if (rc) {
        free(*gt);
        *gt = NULL;
        return rc;
    }
    sem_log(SEM_LOG_INFO, "ground truth in %.1f s", sem_now() - t0);
    *gt_k = want_k;
    if (cache[0]) {
        sem_error e2;
        if (sem_ivecs_write(cache, *gt, q->n, want_k, &e2) != SEM_OK)
            sem_log(SEM_LOG_WARN, "could not cache the ground truth: %s", e2.msg);
        else
            sem_log(SEM_LOG_INFO, "ground truth cached in %s", cache);
    }
    return SEM_OK;
}

static int cmd_ann(int argc, char **argv)
{
    const char *base_path = NULL, *q_path = NULL, *gt_path = NULL, *cache = NULL, *kb = NULL, *json = NULL,
               *plot = NULL;
    const char *specs[MAX_SPECS];
    size_t n_specs = 0, n_np = 0, n_ef = 0;
    int np[MAX_VALUES], ef[MAX_VALUES];
    long k = 10, threads = 1, bthreads = 0, sample = 0, seed = 1, latq = 0, blas_thr = 1; /* sample 0: auto */
    int metric_ip = -1, quiet = 0, cpu_clock = 0;
    double target = NAN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (sem_cli_is_help(a)) {
            ann_usage(stdout);
            return SEM_EXIT_OK;
        }
        if (sem_cli_is_quiet(a)) {
            quiet = 1;
            continue;
        }
        if (sem_cli_opt_json(argc, argv, &i, 1, &json))
            continue;
        if (a[0] != '-')
            return sem_cli_usage_error("eval ann", "unexpected argument '%s'", a);
        if (!(v = need(argc, argv, &i)))
            return sem_cli_usage_error("eval ann", "%s: unknown option, or its value is missing", a);
        if (!strcmp(a, "--base"))
            base_path = v;
        else if (!strcmp(a, "--queries"))
            q_path = v;
        else if (!strcmp(a, "--gt"))
            gt_path = v;
        else if (!strcmp(a, "--gt-cache"))
            cache = v;
        else if (!strcmp(a, "--kb"))
            kb = v;
        else if (!strcmp(a, "--plot"))
            plot = v;
        else if (!strcmp(a, "--index")) {
            if (n_specs == MAX_SPECS)
                return sem_cli_usage_error("eval ann", "at most %d --index specs", MAX_SPECS);
            if (!*v || strlen(v) > SEM_ANN_SPEC_MAX)
                return sem_cli_usage_error("eval ann", "bad index spec '%s'", v);
            specs[n_specs++] = v;
        } else if (!strcmp(a, "--nprobe")) {
            if (parse_list(v, np, MAX_VALUES, &n_np))
                return sem_cli_usage_error("eval ann", "--nprobe wants a list like 1,4,16 (got '%s')", v);
        } else if (!strcmp(a, "--ef")) {
            if (parse_list(v, ef, MAX_VALUES, &n_ef))
                return sem_cli_usage_error("eval ann", "--ef wants a list like 16,64,256 (got '%s')", v);
        } else if (!strcmp(a, "-k")) {
            if (sem_cli_parse_int(v, 1, 1024, &k))
                return sem_cli_usage_error("eval ann", "-k wants 1..1024 (got '%s')", v);
        } else if (!strcmp(a, "--threads")) {
            if (sem_cli_parse_int(v, 1, 1024, &threads))
                return sem_cli_usage_error("eval ann", "--threads wants 1..1024 (got '%s')", v);
        } else if (!strcmp(a, "--build-threads")) {
            if (sem_cli_parse_int(v, 1, 1024, &bthreads))
                return sem_cli_usage_error("eval ann", "--build-threads wants 1..1024 (got '%s')", v);
        } else if (!strcmp(a, "--sample")) {
            if (sem_cli_parse_int(v, 1, 10000000, &sample))
                return sem_cli_usage_error("eval ann", "--sample wants a positive count (got '%s')", v);
        } else if (!strcmp(a, "--seed")) {
            if (sem_cli_parse_int(v, 0, INT32_MAX, &seed))
                return sem_cli_usage_error("eval ann", "--seed wants a non-negative integer (got '%s')", v);
        } else if (!strcmp(a, "--latency-queries")) {
            if (sem_cli_parse_int(v, 1, 100000000, &latq))
                return sem_cli_usage_error("eval ann", "--latency-queries wants a positive count (got '%s')", v);
        } else if (!strcmp(a, "--clock")) {
            if (!strcmp(v, "wall"))
                cpu_clock = 0;
            else if (!strcmp(v, "cpu"))
                cpu_clock = 1;
            else
                return sem_cli_usage_error("eval ann", "--clock is wall or cpu (got '%s')", v);
        } else if (!strcmp(a, "--blas-threshold")) {
            if (sem_cli_parse_int(v, 1, 1000000, &blas_thr))
                return sem_cli_usage_error("eval ann", "--blas-threshold wants a positive count (got '%s')", v);
        } else if (!strcmp(a, "--metric")) {
            if (!strcmp(v, "l2"))
                metric_ip = 0;
            else if (!strcmp(v, "ip"))
                metric_ip = 1;
            else
                return sem_cli_usage_error("eval ann", "--metric is l2 or ip (got '%s')", v);
        } else if (!strcmp(a, "--target-recall")) {
            if (sem_cli_parse_double(v, 0, 1, &target))
                return sem_cli_usage_error("eval ann", "--target-recall wants a number in 0..1 (got '%s')", v);
        } else {
            return sem_cli_usage_error("eval ann", "unknown option '%s'", a);
        }
    }
    if (kb && base_path)
        return sem_cli_usage_error("eval ann", "give --base or --kb, not both");
    if (!kb && (!base_path || !q_path))
        return sem_cli_usage_error("eval ann", "--base and --queries are required (or --kb)");
    if (gt_path && cache)
        return sem_cli_usage_error("eval ann", "give --gt or --gt-cache, not both");
    if (cpu_clock && (threads != 1 || (bthreads && bthreads != 1)))
        return sem_cli_usage_error("eval ann", "--clock cpu measures one thread: use it with --threads 1 and "
                                               "--build-threads 1");
    if (quiet) {
        static int level = SEM_LOG_WARN;
        sem_log_set(sem_log_stderr, &level);
    }

    sem_error err;
    sem_error_clear(&err);
    sem_vecs base = {0}, q = {0};
    int64_t *gt = NULL;
    size_t gt_k = 0;
    sem_ann_result *res = NULL;
    size_t nres = 0;
    sem_ann_bench *bench = NULL;
    char *text = NULL;
    int st = SEM_EXIT_FAIL;
    char auto_spec[64], kb_spec[SEM_ANN_SPEC_MAX + 1] = "";
    char kb_desc[4200];
    if (kb) {
        int kb_ip = 0;
        if (sem_eval_kb_vectors(kb, &base, &kb_ip, kb_spec, sizeof kb_spec, &err) != SEM_OK)
            goto fail;
        if (metric_ip < 0)
            metric_ip = kb_ip;
        if (q_path) {
            if (sem_vecs_read(q_path, &q, &err) != SEM_OK)
                goto fail;
        } else {
            if (base.n < 2) {
                sem_error_set(&err, SEM_EINVAL, "%s has %zu vector%s: too few to evaluate (at least 2: one held out "
                              "as a query, one to search)", kb, base.n, base.n == 1 ? "" : "s");
                goto fail;
            }
            if (sample == 0) /* a tenth of the KB, at most 1000, at least 1: fits small KBs like the FAQ */
                sample = base.n / 10 > 1000 ? 1000 : base.n / 10 < 1 ? 1 : (long)(base.n / 10);
            if ((size_t)sample >= base.n) {
                sem_error_set(&err, SEM_EINVAL, "%s has %zu vectors: too few to hold out %ld queries (--sample)", kb,
                              base.n, sample);
                goto fail;
            }
            if (hold_out(&base, (size_t)sample, (uint64_t)seed, &q, &err) != SEM_OK)
                goto fail;
        }
        snprintf(kb_desc, sizeof kb_desc, "%s (KB)", kb);
        base_path = kb_desc;
    } else {
        if (sem_vecs_read(base_path, &base, &err) != SEM_OK || sem_vecs_read(q_path, &q, &err) != SEM_OK)
            goto fail;
    }
    if (metric_ip < 0)
        metric_ip = 0;
    if (q.d != base.d) {
        sem_error_set(&err, SEM_EMISMATCH, "queries have dimension %zu but the base has %zu", q.d, base.d);
        goto fail;
    }
    if (n_specs == 0 && kb_spec[0] && strcmp(kb_spec, "Flat") != 0) {
        specs[n_specs++] = "Flat"; /* a KB: its own index against exact search */
        specs[n_specs++] = kb_spec;
    } else if (n_specs == 0) {
        specs[n_specs++] = "Flat";
        size_t nl = 1;
        double target_nl = 4 * sqrt((double)base.n);
        while (nl * 2 <= target_nl && (nl * 2) * 39 <= base.n)
            nl *= 2;
        if (nl >= 4) {
            snprintf(auto_spec, sizeof auto_spec, "IVF%zu,Flat", nl);
            specs[n_specs++] = auto_spec;
        }
    }
    size_t want_k = (size_t)k > 100 ? (size_t)k : 100;
    if (want_k > base.n)
        want_k = base.n;
    sem_ann_params p = sem_ann_default_params();
    p.k = (int)k;
    p.threads = (int)threads;
    p.build_threads = (int)(bthreads ? bthreads : threads);
    p.nprobe = n_np ? np : NULL;
    p.n_nprobe = n_np;
    p.ef_search = n_ef ? ef : NULL;
    p.n_ef_search = n_ef;
    p.latency_queries = (size_t)latq;
    p.blas_threshold = (int)blas_thr;
    p.cpu_clock = cpu_clock;
    if ((size_t)k > base.n) {
        sem_error_set(&err, SEM_EINVAL, "-k %ld is larger than the base (%zu vectors)", k, base.n);
        goto fail;
    }
    for (size_t i = 0; i < n_specs; i++) /* a typo fails now, not after minutes of work */
        if (sem_ann_check_spec(specs[i], base.d, metric_ip, &err) != SEM_OK)
            goto fail;
    sem_ann_set_threads(p.build_threads); /* exact search for the ground truth */
    if (get_gt(gt_path, cache, kb && !q_path ? NULL : q_path, &base, &q, metric_ip, want_k, &gt, &gt_k, &err) !=
        SEM_OK)
        goto fail;
    if (gt_k < (size_t)k)
        sem_log(SEM_LOG_WARN, "the ground truth has %zu neighbours per query, fewer than k = %ld: k-recall@k is "
                              "not reported", gt_k, k);
    if (!(bench = sem_ann_bench_new(base.data, base.n, q.data, q.n, base.d, metric_ip, gt, gt_k, &err)))
        goto fail;
    if (gt_path && sem_ann_bench_verify_gt(bench, 8, &err) != SEM_OK)
        goto fail;
    for (size_t i = 0; i < n_specs; i++) {
        sem_log(SEM_LOG_INFO, "index %s (%zu of %zu)", specs[i], i + 1, n_specs);
        if (sem_ann_bench_run(bench, specs[i], &p, &res, &nres, &err) != SEM_OK)
            goto fail;
    }
    sem_ann_report_info info = {base_path, kb && !q_path ? "held out from the KB" : q_path, base.n, q.n, base.d,
                                metric_ip, (int)k, (int)threads, cpu_clock, target};
    text = sem_ann_report_table(res, nres, &info);
    if (!text) {
        sem_error_set(&err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    fputs(text, json && !strcmp(json, "-") ? stderr : stdout);
    free(text);
    text = NULL;
    if (json) {
        if (!(text = sem_ann_report_json(res, nres, &info))) {
            sem_error_set(&err, SEM_ENOMEM, "out of memory");
            goto fail;
        }
        size_t tl = strlen(text);
        char *t2 = realloc(text, tl + 2);
        if (t2) {
            text = t2;
            strcpy(text + tl, "\n");
        }
        if (sem_cli_write_text(json, text))
            goto out;
        free(text);
        text = NULL;
    }
    if (plot) {
        if (!(text = sem_ann_report_svg(res, nres, &info))) {
            sem_error_set(&err, SEM_ENOMEM, "out of memory");
            goto fail;
        }
        if (sem_cli_write_text(plot, text))
            goto out;
    }
    st = SEM_EXIT_OK;
    goto out;
fail:
    st = sem_cli_fail(&err);
out:
    free(text);
    free(res);
    sem_ann_bench_free(bench);
    free(gt);
    sem_vecs_free(&base);
    sem_vecs_free(&q);
    return st;
}

/* ---- eval sts ---- */

static void sts_usage(FILE *f)
{
    fprintf(f,
            "Usage: semsearch eval sts [--model DIR] --pairs FILE [--json [FILE]] [--threads N] [--baseline-only] "
            "[-q]\n\n"
            "Correlation (Spearman and Pearson) between the cosine similarity of a model's sentence vectors and\n"
            "gold similarity scores, next to a word-overlap baseline (Jaccard of lowercased word sets).\n\n"
            "  --pairs FILE     sentence pairs in the STS Benchmark format: tab-separated genre, file, year, id,\n"
            "                   score, sentence 1, sentence 2 (split on tabs only; quotes are plain characters)\n"
            "  --model DIR      the model folder or a pulled ORG/NAME (default: the project's default model,\n"
            "                   or $%s)\n"
            "  --threads N      encoder threads (default: OpenBLAS's own setting)\n"
            "  --baseline-only  only the word-overlap baseline (no model needed)\n"
            "  --json [FILE]    write {\"n\":…,\"spearman\":…,\"pearson\":…,\"baseline_spearman\":…,"
            "\"baseline_pearson\":…}\n"
            "                   to FILE; without FILE (or -) to stdout, and the table goes to stderr\n"
            "  -q, --quiet      no progress or info messages\n\n"
            "Example:\n"
            "  semsearch eval sts --model models/my-model --pairs stsbenchmark/sts-dev.csv\n",
            SEM_DEFAULT_MODEL_ENV);
}

static void json_num(sem_strbuf *b, const char *key, double v, int last)
{
    if (isfinite(v))
        sem_strbuf_printf(b, "\"%s\":%.4f%s", key, v, last ? "" : ",");
    else
        sem_strbuf_printf(b, "\"%s\":null%s", key, last ? "" : ",");
}

static int cmd_sts(int argc, char **argv)
{
    const char *model = NULL, *pairs = NULL, *json = NULL;
    int baseline_only = 0;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (sem_cli_is_help(a)) {
            sts_usage(stdout);
            return SEM_EXIT_OK;
        }
        if (sem_cli_opt_json(argc, argv, &i, 1, &json)) {
            continue;
        } else if (sem_cli_is_quiet(a)) {
            sem_cli_set_quiet();
        } else if (!strcmp(a, "--baseline-only")) {
            baseline_only = 1;
        } else if (!strcmp(a, "--model") || !strcmp(a, "--pairs") || !strcmp(a, "--threads")) {
            if (!(v = need(argc, argv, &i)))
                return sem_cli_usage_error("eval sts", "%s needs a value", a);
            if (!strcmp(a, "--model"))
                model = v;
            else if (!strcmp(a, "--pairs"))
                pairs = v;
            else if (sem_cli_parse_int(v, 1, 1024, &threads))
                return sem_cli_usage_error("eval sts", "--threads wants 1..1024 (got '%s')", v);
        } else {
            return sem_cli_usage_error("eval sts", "unexpected argument '%s'", a);
        }
    }
    if (!pairs)
        return sem_cli_usage_error("eval sts", "--pairs FILE is required");
    if (baseline_only && model)
        return sem_cli_usage_error("eval sts", "--baseline-only takes no --model");
    sem_error err;
    sem_error_clear(&err);
    if (!baseline_only && !model && !(model = sem_hub_default_model())) {
        fprintf(stderr, "semsearch: error: no --model given and no default model is available (no "
                        "models/semsearch-default in the source tree, or %s=none); pass --model DIR, or use "
                        "--baseline-only\n",
                SEM_DEFAULT_MODEL_ENV);
        return SEM_EXIT_FAIL;
    }
    char model_dir[4096];
    if (model) { /* a folder, or a model pulled into the hub cache (ORG/NAME) */
        if (sem_hub_resolve_model(model, model_dir, sizeof model_dir, &err) != SEM_OK)
            return sem_cli_fail(&err);
        model = model_dir;
    }
    sem_sts_set set;
    if (sem_sts_read(pairs, &set, &err) != SEM_OK)
        return sem_cli_fail(&err);
    sem_sts_result r;
    int rc = SEM_OK;
    if (baseline_only)
        sem_sts_baseline(&set, &r);
    else
        rc = sem_sts_eval(&set, model, (int)threads, &r, &err);
    sem_sts_free(&set);
    if (rc != SEM_OK)
        return sem_cli_fail(&err);
    FILE *tout = json && !strcmp(json, "-") ? stderr : stdout; /* the table: stdout unless the JSON goes there */
    fprintf(tout, "STS: %zu pairs from %s\n\n%-28s %9s %9s\n", r.n, pairs, "", "Spearman", "Pearson");
    if (!baseline_only) {
        /* the model folder's name: the last non-empty path component */
        size_t len = strlen(model);
        while (len > 1 && model[len - 1] == '/')
            len--;
        size_t start = len;
        while (start > 0 && model[start - 1] != '/')
            start--;
        fprintf(tout, "%-28.*s %9.4f %9.4f\n", (int)(len - start > 28 ? 28 : len - start), model + start,
                r.spearman, r.pearson);
    }
    fprintf(tout, "%-28s %9.4f %9.4f\n", "word overlap (Jaccard)", r.baseline_spearman, r.baseline_pearson);
    if (!baseline_only)
        fprintf(tout, "\nencoding took %.2f s (%.0f sentences/s)\n", r.seconds,
                r.seconds > 0 ? 2.0 * (double)r.n / r.seconds : 0.0);
    if (json) {
        sem_strbuf b = {0};
        sem_strbuf_printf(&b, "{\"n\":%zu,", r.n);
        json_num(&b, "spearman", r.spearman, 0);
        json_num(&b, "pearson", r.pearson, 0);
        json_num(&b, "baseline_spearman", r.baseline_spearman, 0);
        json_num(&b, "baseline_pearson", r.baseline_pearson, 1);
        sem_strbuf_puts(&b, "}\n");
        char *text = sem_strbuf_finish(&b);
        int bad = !text || sem_cli_write_text(json, text);
        if (!text)
            fprintf(stderr, "semsearch: error: out of memory\n");
        free(text);
        if (bad)
            return SEM_EXIT_FAIL;
    }
    return SEM_EXIT_OK;
}

/* ---- eval retrieval ---- */

static void retrieval_usage(FILE *f)
{
    fprintf(f,
            "Usage: semsearch eval retrieval (--kb KB | --run FILE...) --queries FILE --qrels FILE [options]\n\n"
            "Ranking quality in the BEIR format: nDCG@k, MRR@k, Recall@1/10/100 and MAP, per mode side by side,\n"
            "with per-query results in the JSON report for error analysis.\n\n"
            "  --kb KB          search this knowledge base (built with `semsearch index add`, e.g. from a BEIR\n"
            "                   corpus.jsonl); document ids are the corpus ids\n"
            "  --run FILE       or score a TREC run file (qid Q0 docid rank score tag); repeatable, one column each\n"
            "  --queries FILE   queries.jsonl: {\"_id\": …, \"text\": …} per line\n"
            "  --qrels FILE     qrels TSV: query-id, corpus-id, score (header line optional)\n"
            "  --mode M         semantic, lexical, hybrid or all (default all; with --kb)\n"
            "  --semantic-weight W[,W...]\n"
            "                   hybrid: the semantic side's weight in (0, 1] (default %.2f); a list evaluates\n"
            "                   one hybrid column per weight, named hybrid@W\n"
            "  --fusion cc|rrf  hybrid: convex combination of normalised scores (default) or weighted\n"
            "                   reciprocal rank fusion (columns named hybrid-rrf)\n"
            "  --model DIR      the model for semantic search (default: the KB's own)\n"
            "  -k N             cut-off of nDCG and MRR (default 10); every query retrieves max(k, 100)\n"
            "  --json [FILE]    write the JSON report (with per-query results) to FILE; without FILE (or -)\n"
            "                   to stdout, and the table goes to stderr\n"
            "  --worst N        also list the N queries with the lowest nDCG in each mode (error analysis)\n"
            "  --threads N      query encoder threads (default: all cores, or $OPENBLAS_NUM_THREADS)\n"
            "  -q, --quiet      no progress or info messages\n\n"
            "Example:\n"
            "  semsearch eval retrieval --kb kb/scifact --queries scifact/queries.jsonl \\\n"
            "      --qrels scifact/qrels/test.tsv --json scifact-eval.json\n",
            (double)SEM_HYBRID_SEMANTIC_WEIGHT);
}

static int cmp_ndcg(const void *a, const void *b)
{
    const sem_retrieval_query *x = *(const sem_retrieval_query *const *)a, *y = *(const sem_retrieval_query *const *)b;
    return x->s.ndcg < y->s.ndcg ? -1 : x->s.ndcg > y->s.ndcg;
}

/* The n queries of one mode with the lowest nDCG, with their text. */
static void print_worst(FILE *f, const sem_retrieval_report *r, const sem_beir_set *set, size_t n)
{
    if (r->n_scored == 0)
        return;
    const sem_retrieval_query **q = malloc(r->n_scored * sizeof *q);
    if (!q)
        return;
    for (size_t i = 0; i < r->n_scored; i++)
        q[i] = &r->per_query[i];
    qsort(q, r->n_scored, sizeof *q, cmp_ndcg);
    fprintf(f, "\nworst queries, %s (nDCG@%d, rank of the first relevant document):\n", r->mode, r->k);
    for (size_t i = 0; i < n && i < r->n_scored; i++) {
        const char *text = "";
        for (size_t j = 0; j < set->n_queries; j++)
            if (set->queries[j].id == q[i]->id) {
                text = set->queries[j].text;
                break;
            }
        char rank[24];
        if (q[i]->first_rank)
            snprintf(rank, sizeof rank, "%zu", q[i]->first_rank);
        else
            snprintf(rank, sizeof rank, "-");
        fprintf(f, "  %.4f  %5s  %-12.12s %.70s\n", q[i]->s.ndcg, rank, q[i]->id, text);
    }
    free(q);
}

static int cmd_retrieval(int argc, char **argv)
{
    const char *kb = NULL, *qpath = NULL, *qrels = NULL, *mode = "all", *json = NULL, *model = NULL;
    const char *runs[MAX_RUNS];
    size_t n_runs = 0;
    const char *weights = NULL, *fusion = NULL;
    long k = 10, worst = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (sem_cli_is_help(a)) {
            retrieval_usage(stdout);
            return SEM_EXIT_OK;
        }
        if (sem_cli_opt_json(argc, argv, &i, 1, &json))
            continue;
        if (sem_cli_is_quiet(a)) {
            sem_cli_set_quiet();
            continue;
        }
        if (a[0] != '-')
            return sem_cli_usage_error("eval retrieval", "unexpected argument '%s'", a);
        if (!(v = need(argc, argv, &i)))
            return sem_cli_usage_error("eval retrieval", "%s: unknown option, or its value is missing", a);
        if (!strcmp(a, "--kb"))
            kb = v;
        else if (!strcmp(a, "--queries"))
            qpath = v;
        else if (!strcmp(a, "--qrels"))
            qrels = v;
        else if (!strcmp(a, "--mode"))
            mode = v;
        else if (!strcmp(a, "--model"))
            model = v;
        else if (!strcmp(a, "--semantic-weight"))
            weights = v;
        else if (!strcmp(a, "--fusion")) {
            if (sem_fusion_parse(v) < 0)
                return sem_cli_usage_error("eval retrieval", "--fusion is cc or rrf (got '%s')", v);
            fusion = v;
        } else if (!strcmp(a, "--run")) {
            if (n_runs == MAX_RUNS)
                return sem_cli_usage_error("eval retrieval", "at most %d --run files", MAX_RUNS);
            runs[n_runs++] = v;
        } else if (!strcmp(a, "-k")) {
            if (sem_cli_parse_int(v, 1, 1000, &k))
                return sem_cli_usage_error("eval retrieval", "-k wants 1..1000 (got '%s')", v);
        } else if (!strcmp(a, "--worst")) {
            if (sem_cli_parse_int(v, 0, 1000000, &worst))
                return sem_cli_usage_error("eval retrieval", "--worst wants a count (got '%s')", v);
        } else if (!strcmp(a, "--threads")) {
            if (sem_cli_parse_int(v, 1, 1024, &threads))
                return sem_cli_usage_error("eval retrieval", "--threads wants 1..1024 (got '%s')", v);
        } else
            return sem_cli_usage_error("eval retrieval", "unknown option '%s'", a);
    }
    if (!qpath || !qrels)
        return sem_cli_usage_error("eval retrieval", "--queries and --qrels are required");
    if (!kb == !n_runs)
        return sem_cli_usage_error("eval retrieval", "give --kb KB or --run FILE (not both)");
    /* the modes, in columns: hybrid expands into one column per weight ("hybrid@0.3", "hybrid-rrf@0.5") */
    char labels[MAX_MODES][64];
    const char *modes[MAX_MODES];
    size_t n_modes = 0;
    if (kb) {
        int all = !strcmp(mode, "all");
        if (!all && strcmp(mode, "semantic") && strcmp(mode, "lexical") && strcmp(mode, "hybrid"))
            return sem_cli_usage_error("eval retrieval", "--mode is semantic, lexical, hybrid or all (got '%s')",
                                       mode);
        if (all || !strcmp(mode, "semantic"))
            modes[n_modes++] = "semantic";
        if (all || !strcmp(mode, "lexical"))
            modes[n_modes++] = "lexical";
        if (all || !strcmp(mode, "hybrid")) {
            const char *base = fusion && !strcmp(fusion, "rrf") ? "hybrid-rrf" : "hybrid";
            size_t n_weights = 0;
            if (!weights) {
                snprintf(labels[n_modes], sizeof labels[0], "%s", base);
                modes[n_modes] = labels[n_modes];
                n_modes++;
            }
            for (const char *w = weights; w && *w;) {
                size_t len = strcspn(w, ",");
                char num[32];
                double x;
                if (len == 0 || len >= sizeof num)
                    return sem_cli_usage_error("eval retrieval", "--semantic-weight wants numbers in (0, 1], "
                                                                 "comma-separated (got '%s')", weights);
                memcpy(num, w, len);
                num[len] = 0;
                if (sem_cli_parse_double(num, 0, 1, &x) || x <= 0)
                    return sem_cli_usage_error("eval retrieval", "--semantic-weight: '%s' is not in (0, 1]", num);
                if (++n_weights > MAX_MODES - 2)
                    return sem_cli_usage_error("eval retrieval", "at most %d weights", MAX_MODES - 2);
                snprintf(labels[n_modes], sizeof labels[0], "%s@%s", base, num);
                modes[n_modes] = labels[n_modes];
                n_modes++;
                w += len + (w[len] == ',');
            }
        } else if (weights || fusion) {
            return sem_cli_usage_error("eval retrieval", "--semantic-weight and --fusion apply to hybrid search");
        }
    } else if (strcmp(mode, "all") != 0 || weights || fusion) {
        return sem_cli_usage_error("eval retrieval", "--mode, --semantic-weight and --fusion apply to --kb only");
    }
    sem_error err;
    sem_error_clear(&err);
    sem_beir_set set = {0};
    sem_retrieval_report rep[MAX_RUNS > MAX_MODES ? MAX_RUNS : MAX_MODES];
    size_t n_rep = 0;
    sem_eval_kb_searcher *searcher = NULL;
    char *text = NULL;
    int st = SEM_EXIT_FAIL;
    if (sem_beir_read_queries(qpath, &set, &err) != SEM_OK || sem_beir_read_qrels(qrels, &set, &err) != SEM_OK)
        goto fail;
    if (kb) {
        sem_cli_set_threads(threads); /* the query encoder's threads */
        if (!(searcher = sem_eval_kb_searcher_open(kb, model, &err)))
            goto fail;
        if (!sem_eval_kb_searcher_has_model(searcher)) {
            if (strcmp(mode, "all") != 0 && strcmp(mode, "lexical") != 0) {
                sem_error_set(&err, SEM_EINVAL, "%s has no model (lexical-only): only --mode lexical works", kb);
                goto fail;
            }
            if (n_modes > 1)
                sem_log(SEM_LOG_WARN, "%s has no model (lexical-only): evaluating lexical search only", kb);
            modes[0] = "lexical";
            n_modes = 1;
        }
        for (size_t m = 0; m < n_modes; m++) {
            sem_log(SEM_LOG_INFO, "%s: %zu queries", modes[m], set.n_queries);
            if (sem_retrieval_eval(&set, modes[m], (int)k, sem_eval_kb_search, searcher, &rep[n_rep], &err))
                goto fail;
            n_rep++;
        }
    } else {
        for (size_t r = 0; r < n_runs; r++) {
            sem_trec_run *run = sem_trec_run_read(runs[r], &err);
            if (!run)
                goto fail;
            const char *slash = strrchr(runs[r], '/');
            int rc = sem_retrieval_eval(&set, slash ? slash + 1 : runs[r], (int)k, sem_trec_run_search, run,
                                        &rep[n_rep], &err);
            sem_trec_run_free(run);
            if (rc)
                goto fail;
            n_rep++;
        }
    }
    if (n_rep && rep[0].n_unknown_qrels)
        sem_log(SEM_LOG_WARN, "%zu qrels name queries that are not in %s (ignored)", rep[0].n_unknown_qrels,
                qpath);
    if (n_rep && rep[0].n_skipped)
        sem_log(SEM_LOG_INFO, "%zu of %zu queries have no relevant document in the qrels (skipped)",
                rep[0].n_skipped, set.n_queries);
    if (!(text = sem_retrieval_report_table(rep, n_rep))) {
        sem_error_set(&err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    FILE *tout = json && !strcmp(json, "-") ? stderr : stdout;
    fputs(text, tout);
    free(text);
    text = NULL;
    for (size_t m = 0; m < n_rep && worst > 0; m++)
        print_worst(tout, &rep[m], &set, (size_t)worst);
    if (json) {
        if (!(text = sem_retrieval_report_json(rep, n_rep, 1))) {
            sem_error_set(&err, SEM_ENOMEM, "out of memory");
            goto fail;
        }
        size_t tl = strlen(text);
        char *t2 = realloc(text, tl + 2);
        if (t2) {
            text = t2;
            strcpy(text + tl, "\n");
        }
        if (sem_cli_write_text(json, text))
            goto out;
    }
    st = SEM_EXIT_OK;
    goto out;
fail:
    st = sem_cli_fail(&err);
out:
    free(text);
    for (size_t i = 0; i < n_rep; i++)
        sem_retrieval_report_free(&rep[i]);
    sem_eval_kb_searcher_free(searcher);
    sem_beir_set_free(&set);
    return st;
}

/* ---- dispatcher ---- */

static void usage(FILE *f)
{
    fprintf(f, "Usage: semsearch eval COMMAND [options]\n\n"
               "Commands:\n"
               "  ann        nearest-neighbour recall, speed and size of FAISS indexes (JSON, table, SVG plot)\n"
               "  retrieval  ranking quality on BEIR-format queries and qrels (nDCG@10, MRR@10, Recall, MAP)\n"
               "  sts        correlation of a model's cosine similarity with STS Benchmark gold scores\n\n"
               "Run 'semsearch eval COMMAND --help' for a command's options.\n");
}

int sem_cmd_eval(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SEM_EXIT_USAGE;
    }
    if (sem_cli_is_help(argv[1])) {
        usage(stdout);
        return SEM_EXIT_OK;
    }
    if (!strcmp(argv[1], "ann"))
        return cmd_ann(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sts"))
        return cmd_sts(argc - 1, argv + 1);
    if (!strcmp(argv[1], "retrieval"))
        return cmd_retrieval(argc - 1, argv + 1);
    return sem_cli_usage_error("eval", "unknown command '%s' (ann, retrieval or sts)", argv[1]);
}
