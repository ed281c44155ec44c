/* cli/cmd_eval.c: `semsearch eval ann|retrieval|sts`: offline evaluation (see docs/eval.md). Options in, the
 * eval library's work (eval/ann.h, eval/beir.h, eval/sts.h, eval/kbsource.h), reports out. */
#include "cli/cli.h"

#include "common/log.h"
#include "common/strbuf.h"
#include "eval/ann.h"
#include "eval/beir.h"
#include "eval/kbsource.h"
#include "eval/sts.h"
#include "eval/vecio.h"
#include "hub/hub.h"
#include "query/search.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPECS 32
#define MAX_VALUES 64
#define MAX_RUNS 8
#define MAX_MODES 18 /* semantic, lexical and up to 16 hybrid weights */

/* Writes a report (malloc'd text without its final newline, freed here) to file; 0, or -1 after the message. */
static int write_report(const char *file, char *text)
{
    int rc = text ? sem_cli_write_line(file, text) : -1;
    if (!text)
        fprintf(stderr, "semsearch: error: out of memory\n");
    free(text);
    return rc;
}

/* ---- eval ann ---- */

typedef struct int_list {
    int v[MAX_VALUES];
    size_t n;
} int_list;

/* "1,2,4" -> the list; -1 on a bad list. */
static int parse_list(const char *s, void *dst)
{
    int_list *l = dst;
    l->n = 0;
    for (const char *p = s; *p;) {
        size_t len = strcspn(p, ",");
        char num[16];
        long v;
        if (len == 0 || len >= sizeof num || l->n == MAX_VALUES)
            return -1;
        memcpy(num, p, len);
        num[len] = 0;
        if (sem_cli_parse_int(num, 1, 1 << 20, &v) != 0)
            return -1;
        l->v[l->n++] = (int)v;
        p += len + (p[len] == ',');
    }
    return l->n ? 0 : -1;
}

static int metric_parse(const char *v)
{
    return strcmp(v, "l2") == 0 ? 0 : strcmp(v, "ip") == 0 ? 1 : -1;
}

static int clock_parse(const char *v)
{
    return strcmp(v, "wall") == 0 ? 0 : strcmp(v, "cpu") == 0 ? 1 : -1;
}

static int spec_check(const char *v)
{
    return *v && strlen(v) <= SEM_ANN_SPEC_MAX ? 0 : -1;
}

typedef struct ann_opts {
    const char *base, *queries, *gt, *gt_cache, *kb, *json, *plot;
    const char *specs[MAX_SPECS];
    int n_specs, metric_ip, quiet, cpu_clock;
    int_list nprobe, ef;
    long k, threads, build_threads, sample, seed, latency_queries, blas_threshold;
    double target;
} ann_opts;

#define ANN_USAGE                                                                                              \
    "Usage: semsearch eval ann (--base FILE --queries FILE | --kb KB [--queries FILE]) [options]\n\n"          \
    "Builds each FAISS index spec over the base vectors, searches it with each search setting and reports\n"    \
    "recall@1/@10/@100, k-recall@k, queries/s (single and batched), p50/p99 latency, train/add time and\n"      \
    "bytes per vector. Ground truth is exact search (FAISS Flat), computed once and cached.\n\n"

#define ANN_EXAMPLE                                                                                            \
    "Example:\n"                                                                                               \
    "  semsearch eval ann --base base.fvecs --queries queries.fvecs --index Flat --index IVF1024,Flat \\\n"    \
    "      --index HNSW32 --nprobe 1,4,16,64 --json ann.json --plot ann.svg --target-recall 0.95\n"

/* The option table of eval ann (only the table: the rules between options are checked by parse_ann). */
static int parse_ann_table(int argc, char **argv, ann_opts *o, int *status)
{
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Input:"),
        SEM_OPT_S("--base", 0, o->base, "FILE", "base vectors: .fvecs, .bvecs, .ivecs (TEXMEX) or .npy (float32/16/64, "
                                                "2-D)"),
        SEM_OPT_S("--queries", 0, o->queries, "FILE", "query vectors (same formats)"),
        SEM_OPT_S("--kb", 0, o->kb, "KB", "use a knowledge base's stored vectors as the base; without --queries,\n"
                                          "--sample N of them are held out as queries"),
        SEM_OPT_I("--sample", 0, o->sample, "N", 1, 10000000, "held-out queries sampled from the KB (default: a "
                                                               "tenth of its vectors,\nat most 1000, at least 1)"),
        SEM_OPT_I("--seed", 0, o->seed, "N", 0, INT32_MAX, "sampling seed (default 1)"),
        SEM_OPT_S("--gt", 0, o->gt, "FILE", "ground truth .ivecs (TEXMEX groundtruth: nearest first)"),
        SEM_OPT_S("--gt-cache", 0, o->gt_cache, "FILE", "where to cache computed ground truth (default: beside the "
                                                        "query file,\nnamed after the metric, depth and a hash of the "
                                                        "vectors)"),
        SEM_OPT_E("--metric", o->metric_ip, "l2|ip", metric_parse, "l2 or ip", "distance (default l2; a KB's own "
                                                                               "metric with --kb)"),
        SEM_OPT_SEC("Indexes and search settings:"),
        SEM_OPT_L("--index", o->specs, o->n_specs, "SPEC", spec_check, "a FAISS index factory string",
                  "a faiss_index_factory string, repeatable (default: Flat and IVF with the\nstore's auto nlist "
                  "(about 4*sqrt(n)); with --kb, Flat and the KB's own index spec)"),
        SEM_OPT_C("--nprobe", &o->nprobe, "LIST", parse_list, "a list like 1,4,16",
                  "nprobe values for IVF indexes (default 1,2,4,...,256 up to nlist)"),
        SEM_OPT_C("--ef", &o->ef, "LIST", parse_list, "a list like 16,64,256",
                  "efSearch values for HNSW indexes (default 16,32,64,128,256)"),
        SEM_OPT_I("-k", 0, o->k, "N", 1, 1024, "results per query and the k of k-recall@k (default 10)"),
        SEM_OPT_I("--threads", 0, o->threads, "N", 1, 1024, "OpenMP/OpenBLAS threads while searching (default 1: "
                                                            "honest latency)"),
        SEM_OPT_I("--build-threads", 0, o->build_threads, "N", 1, 1024, "threads for ground truth, training and "
                                                                        "adding (default: --threads)"),
        SEM_OPT_I("--latency-queries", 0, o->latency_queries, "N", 1, 100000000,
                  "time single queries on the first N queries only (default: all)"),
        SEM_OPT_E("--clock", o->cpu_clock, "wall|cpu", clock_parse, "wall or cpu",
                  "time with the wall clock (default) or the thread's CPU clock, which other\nprocesses on a shared "
                  "machine cannot inflate (with --threads 1 --build-threads 1)"),
        SEM_OPT_I("--blas-threshold", 0, o->blas_threshold, "N", 1, 1000000,
                  "FAISS distance_compute_blas_threshold while searching (default 1, as the\nknowledge-base store sets "
                  "it; FAISS's own default is 20)"),
        SEM_OPT_SEC("Output:"),
        SEM_OPT_JSON_(o->json, "write the JSON report to FILE; without FILE (or -) to stdout, and the table\ngoes "
                               "to stderr"),
        SEM_OPT_S("--plot", 0, o->plot, "OUT.svg", "write the recall / QPS plot (one curve per index spec)"),
        SEM_OPT_D("--target-recall", o->target, "R", 0, 1, "also print the fastest setting whose k-recall@k reaches R "
                                                           "(0..1)"),
        SEM_OPT_QUIET(o->quiet, "no progress messages"),
        {0}};
    const sem_cli_cmd cmd = {"eval ann", ANN_USAGE, opts, ANN_EXAMPLE, NULL, 0, NULL, 0, NULL};
    return sem_cli_parse(&cmd, argc, argv, status);
}

/* NULL, or the rule between options that argv breaks. */
static const char *check_ann(const ann_opts *o)
{
    if (o->kb && o->base)
        return "give --base or --kb, not both";
    if (!o->kb && (!o->base || !o->queries))
        return "--base and --queries are required (or --kb)";
    if (o->gt && o->gt_cache)
        return "give --gt or --gt-cache, not both";
    if (o->cpu_clock && (o->threads != 1 || (o->build_threads && o->build_threads != 1)))
        return "--clock cpu measures one thread: use it with --threads 1 and --build-threads 1";
    return NULL;
}

/* The base and the queries: files, or a KB's vectors with held-out queries. *kb_spec: the KB's index spec. */
static int load_ann_input(ann_opts *o, sem_vecs *base, sem_vecs *q, char *kb_spec, size_t cap, sem_error *err)
{
    if (!o->kb) {
        int rc = sem_vecs_read(o->base, base, err);
        return rc ? rc : sem_vecs_read(o->queries, q, err);
    }
    int kb_ip = 0, rc = sem_eval_kb_vectors(o->kb, base, &kb_ip, kb_spec, cap, err);
    if (rc)
        return rc;
    if (o->metric_ip < 0)
        o->metric_ip = kb_ip;
    if (o->queries)
        return sem_vecs_read(o->queries, q, err);
    if (base->n < 2)
        return sem_error_set(err, SEM_EINVAL, "%s has %zu vector%s: too few to evaluate (at least 2: one held out as "
                             "a query, one to search)", o->kb, base->n, base->n == 1 ? "" : "s");
    size_t sample = o->sample ? (size_t)o->sample : sem_ann_default_sample(base->n);
    if (sample >= base->n)
        return sem_error_set(err, SEM_EINVAL, "%s has %zu vectors: too few to hold out %zu queries (--sample)", o->kb,
                             base->n, sample);
    return sem_vecs_hold_out(base, sample, (uint64_t)o->seed, q, err);
}

/* Benchmarks every spec over base and q: the results into *res (*nres of them). */
static int run_ann(const ann_opts *o, const sem_vecs *base, const sem_vecs *q, char *const *specs, size_t n_specs,
                   sem_ann_result **res, size_t *nres, sem_error *err)
{
    if ((size_t)o->k > base->n)
        return sem_error_set(err, SEM_EINVAL, "-k %ld is larger than the base (%zu vectors)", o->k, base->n);
    for (size_t i = 0; i < n_specs; i++) /* a typo fails now, not after minutes of work */
        if (sem_ann_check_spec(specs[i], base->d, o->metric_ip, err) != SEM_OK)
            return err->code;
    sem_ann_params p = sem_ann_default_params();
    p.k = (int)o->k;
    p.threads = (int)o->threads;
    p.build_threads = (int)(o->build_threads ? o->build_threads : o->threads);
    p.nprobe = o->nprobe.n ? o->nprobe.v : NULL;
    p.n_nprobe = o->nprobe.n;
    p.ef_search = o->ef.n ? o->ef.v : NULL;
    p.n_ef_search = o->ef.n;
    p.latency_queries = (size_t)o->latency_queries;
    p.blas_threshold = (int)o->blas_threshold;
    p.cpu_clock = o->cpu_clock;
    size_t want_k = o->k > 100 ? (size_t)o->k : 100, gt_k = 0;
    sem_ann_gt_params gp = {o->gt, o->gt_cache, o->kb && !o->queries ? NULL : o->queries, o->metric_ip,
                            want_k > base->n ? base->n : want_k};
    int64_t *gt = NULL;
    sem_ann_set_threads(p.build_threads); /* exact search for the ground truth */
    int rc = sem_ann_ground_truth_cached(base, q, &gp, &gt, &gt_k, err);
    if (rc == SEM_OK && gt_k < (size_t)o->k)
        sem_log(SEM_LOG_WARN, "the ground truth has %zu neighbours per query, fewer than k = %ld: k-recall@k is not "
                              "reported", gt_k, o->k);
    sem_ann_bench *b = rc ? NULL : sem_ann_bench_new(base->data, base->n, q->data, q->n, base->d, o->metric_ip, gt,
                                                     gt_k, err);
    rc = !b ? err->code : o->gt ? sem_ann_bench_verify_gt(b, 8, err) : SEM_OK;
    for (size_t i = 0; rc == SEM_OK && i < n_specs; i++) {
        sem_log(SEM_LOG_INFO, "index %s (%zu of %zu)", specs[i], i + 1, n_specs);
        rc = sem_ann_bench_run(b, specs[i], &p, res, nres, err);
    }
    sem_ann_bench_free(b);
    free(gt);
    return rc;
}

/* The table (stdout, or stderr when the JSON goes to stdout), the JSON report and the plot; an exit status. */
static int ann_reports(const ann_opts *o, const sem_ann_result *res, size_t nres, const sem_ann_report_info *info)
{
    char *text = sem_ann_report_table(res, nres, info);
    if (!text) {
        fprintf(stderr, "semsearch: error: out of memory\n");
        return SEM_EXIT_FAIL;
    }
    fputs(text, o->json && !strcmp(o->json, "-") ? stderr : stdout);
    free(text);
    if (o->json && write_report(o->json, sem_ann_report_json(res, nres, info)))
        return SEM_EXIT_FAIL;
    if (o->plot) {
        text = sem_ann_report_svg(res, nres, info);
        int bad = !text || sem_cli_write_text(o->plot, text);
        if (!text)
            fprintf(stderr, "semsearch: error: out of memory\n");
        free(text);
        if (bad)
            return SEM_EXIT_FAIL;
    }
    return SEM_EXIT_OK;
}

int sem_cmd_eval_ann(int argc, char **argv)
{
    ann_opts o = {.metric_ip = -1, .k = 10, .threads = 1, .seed = 1, .blas_threshold = 1, .target = NAN};
    int st;
    if (!parse_ann_table(argc, argv, &o, &st))
        return st;
    const char *bad = check_ann(&o);
    if (bad)
        return sem_cli_usage_error("eval ann", "%s", bad);
    if (o.quiet) {
        static int level = SEM_LOG_WARN;
        sem_log_set(sem_log_stderr, &level);
    }
    sem_error err;
    sem_error_clear(&err);
    sem_vecs base = {0}, q = {0};
    sem_ann_result *res = NULL;
    size_t nres = 0, n_specs = (size_t)o.n_specs;
    char kb_spec[SEM_ANN_SPEC_MAX + 1] = "", dflt[2][SEM_ANN_SPEC_MAX + 1], kb_desc[4200];
    char *specs[MAX_SPECS];
    for (size_t i = 0; i < n_specs; i++)
        specs[i] = (char *)o.specs[i];
    int rc = load_ann_input(&o, &base, &q, kb_spec, sizeof kb_spec, &err);
    if (rc == SEM_OK && q.d != base.d)
        rc = sem_error_set(&err, SEM_EMISMATCH, "queries have dimension %zu but the base has %zu", q.d, base.d);
    if (rc == SEM_OK && n_specs == 0)
        for (size_t i = 0, n = sem_ann_default_specs(base.n, kb_spec, dflt); i < n; i++)
            specs[n_specs++] = dflt[i];
    if (o.metric_ip < 0)
        o.metric_ip = 0;
    if (rc == SEM_OK)
        rc = run_ann(&o, &base, &q, specs, n_specs, &res, &nres, &err);
    snprintf(kb_desc, sizeof kb_desc, "%s (KB)", o.kb ? o.kb : "");
    sem_ann_report_info info = {o.kb ? kb_desc : o.base, o.kb && !o.queries ? "held out from the KB" : o.queries,
                                base.n, q.n, base.d, o.metric_ip, (int)o.k, (int)o.threads, o.cpu_clock, o.target};
    st = rc ? sem_cli_fail(&err) : ann_reports(&o, res, nres, &info);
    free(res);
    sem_vecs_free(&base);
    sem_vecs_free(&q);
    return st;
}

/* ---- eval sts ---- */

static void json_num(sem_strbuf *b, const char *key, double v, int last)
{
    if (isfinite(v))
        sem_strbuf_printf(b, "\"%s\":%.4f%s", key, v, last ? "" : ",");
    else
        sem_strbuf_printf(b, "\"%s\":null%s", key, last ? "" : ",");
}

/* The table: the model's correlations (named by the folder's last component) next to the baseline's. */
static void print_sts(FILE *f, const sem_sts_result *r, const char *pairs, const char *model)
{
    fprintf(f, "STS: %zu pairs from %s\n\n%-28s %9s %9s\n", r->n, pairs, "", "Spearman", "Pearson");
    if (model) {
        size_t len = strlen(model);
        while (len > 1 && model[len - 1] == '/')
            len--;
        size_t start = len;
        while (start > 0 && model[start - 1] != '/')
            start--;
        fprintf(f, "%-28.*s %9.4f %9.4f\n", (int)(len - start > 28 ? 28 : len - start), model + start, r->spearman,
                r->pearson);
    }
    fprintf(f, "%-28s %9.4f %9.4f\n", "word overlap (Jaccard)", r->baseline_spearman, r->baseline_pearson);
    if (model)
        fprintf(f, "\nencoding took %.2f s (%.0f sentences/s)\n", r->seconds,
                r->seconds > 0 ? 2.0 * (double)r->n / r->seconds : 0.0);
}

static char *sts_json(const sem_sts_result *r)
{
    sem_strbuf b = {0};
    sem_strbuf_printf(&b, "{\"n\":%zu,", r->n);
    json_num(&b, "spearman", r->spearman, 0);
    json_num(&b, "pearson", r->pearson, 0);
    json_num(&b, "baseline_spearman", r->baseline_spearman, 0);
    json_num(&b, "baseline_pearson", r->baseline_pearson, 1);
    sem_strbuf_puts(&b, "}");
    return sem_strbuf_finish(&b);
}

/* The model folder eval sts encodes with (--model, else the default model), into buf; NULL after the message. */
static const char *sts_model(const char *model, char *buf, size_t cap)
{
    sem_error err;
    sem_error_clear(&err);
    if (!model && !(model = sem_hub_default_model())) {
        fprintf(stderr, "semsearch: error: no --model given and no default model is available (no "
                        "models/semsearch-default in the source tree, or %s=none); pass --model DIR, or use "
                        "--baseline-only\n", SEM_DEFAULT_MODEL_ENV);
        return NULL;
    }
    if (sem_hub_resolve_model(model, buf, cap, &err) != SEM_OK) { /* a folder, or a pulled ORG/NAME */
        sem_cli_fail(&err);
        return NULL;
    }
    return buf;
}

int sem_cmd_eval_sts(int argc, char **argv)
{
    const char *model = NULL, *pairs = NULL, *json = NULL;
    int baseline_only = 0, threads = 0, quiet = 0, st;
    char hm[200], model_dir[4096];
    snprintf(hm, sizeof hm, "the model folder or a pulled ORG/NAME (default: the project's default model,\nor $%s)",
             SEM_DEFAULT_MODEL_ENV);
    const sem_cli_opt opts[] = {
        SEM_OPT_S("--pairs", 0, pairs, "FILE", "sentence pairs in the STS Benchmark format: tab-separated genre, file, "
                                               "year, id,\nscore, sentence 1, sentence 2 (split on tabs only; quotes "
                                               "are plain characters)"),
        SEM_OPT_S("--model", 0, model, "DIR", hm),
        SEM_OPT_I("--threads", 0, threads, "N", 1, 1024, "encoder threads (default: OpenBLAS's own setting)"),
        SEM_OPT_F("--baseline-only", 0, baseline_only, "only the word-overlap baseline (no model needed)"),
        SEM_OPT_JSON_(json, "write {\"n\":…,\"spearman\":…,\"pearson\":…,\"baseline_spearman\":…,\"baseline_pearson\":…}"
                            "\nto FILE; without FILE (or -) to stdout, and the table goes to stderr"),
        SEM_OPT_QUIET(quiet, "no progress or info messages"),
        {0}};
    const sem_cli_cmd cmd = {
        .name = "eval sts",
        .usage = "Usage: semsearch eval sts [--model DIR] --pairs FILE [--json [FILE]] [--threads N] [--baseline-only] [-q]\n\n"
        "Correlation (Spearman and Pearson) between the cosine similarity of a model's sentence vectors and\n"
        "gold similarity scores, next to a word-overlap baseline (Jaccard of lowercased word sets).\n\n",
        .opts = opts,
        .footer = "Example:\n  semsearch eval sts --model models/my-model --pairs stsbenchmark/sts-dev.csv\n"};
    if (!sem_cli_parse(&cmd, argc, argv, &st))
        return st;
    if (!pairs)
        return sem_cli_usage_error("eval sts", "--pairs FILE is required");
    if (baseline_only && model)
        return sem_cli_usage_error("eval sts", "--baseline-only takes no --model");
    if (quiet)
        sem_cli_set_quiet();
    if (!baseline_only && !(model = sts_model(model, model_dir, sizeof model_dir)))
        return SEM_EXIT_FAIL;
    sem_error err;
    sem_sts_set set;
    sem_sts_result r;
    if (sem_sts_read(pairs, &set, &err) != SEM_OK)
        return sem_cli_fail(&err);
    int rc = SEM_OK;
    if (baseline_only)
        sem_sts_baseline(&set, &r);
    else
        rc = sem_sts_eval(&set, model, threads, &r, &err);
    sem_sts_free(&set);
    if (rc != SEM_OK)
        return sem_cli_fail(&err);
    print_sts(json && !strcmp(json, "-") ? stderr : stdout, &r, pairs, model);
    return json && write_report(json, sts_json(&r)) ? SEM_EXIT_FAIL : SEM_EXIT_OK;
}

/* ---- eval retrieval ---- */

typedef struct retrieval_opts {
    const char *kb, *queries, *qrels, *mode, *json, *model, *weights, *runs[MAX_RUNS];
    int n_runs, fusion, threads, quiet;
    long k, worst;
    char labels[MAX_MODES][64]; /* the columns: "semantic", "lexical", "hybrid@0.3", "hybrid-rrf@0.5", ... */
    const char *modes[MAX_MODES];
    size_t n_modes;
} retrieval_opts;

/* Hybrid columns: one per --semantic-weight value (or one at the KB's weight). 0, or a usage error's status. */
static int add_hybrid_modes(retrieval_opts *o)
{
    const char *base = o->fusion == SEM_FUSION_RRF ? "hybrid-rrf" : "hybrid";
    if (!o->weights) {
        snprintf(o->labels[o->n_modes], sizeof o->labels[0], "%s", base);
        o->modes[o->n_modes] = o->labels[o->n_modes];
        o->n_modes++;
        return 0;
    }
    int n_weights = 0;
    for (const char *w = o->weights; *w;) {
        size_t len = strcspn(w, ",");
        char num[32];
        double x;
        if (len == 0 || len >= sizeof num)
            return sem_cli_usage_error("eval retrieval", "--semantic-weight wants numbers in (0, 1], comma-separated "
                                                         "(got '%s')", o->weights);
        memcpy(num, w, len);
        num[len] = 0;
        if (sem_cli_parse_double(num, 0, 1, &x) || x <= 0)
            return sem_cli_usage_error("eval retrieval", "--semantic-weight: '%s' is not in (0, 1]", num);
        if (++n_weights > MAX_MODES - 2) /* the same limit with or without the semantic and lexical columns */
            return sem_cli_usage_error("eval retrieval", "at most %d weights", MAX_MODES - 2);
        snprintf(o->labels[o->n_modes], sizeof o->labels[0], "%s@%s", base, num);
        o->modes[o->n_modes] = o->labels[o->n_modes];
        o->n_modes++;
        w += len + (w[len] == ',');
    }
    return 0;
}

/* The columns of a --kb evaluation from --mode, --semantic-weight and --fusion; 0 or a usage error's status. */
static int build_modes(retrieval_opts *o)
{
    int all = !strcmp(o->mode, "all"), given = o->weights || o->fusion >= 0;
    if (!o->kb)
        return all && !given ? 0 : sem_cli_usage_error("eval retrieval", "--mode, --semantic-weight and --fusion "
                                                                         "apply to --kb only");
    if (!all && strcmp(o->mode, "semantic") && strcmp(o->mode, "lexical") && strcmp(o->mode, "hybrid"))
        return sem_cli_usage_error("eval retrieval", "--mode is semantic, lexical, hybrid or all (got '%s')", o->mode);
    if (all || !strcmp(o->mode, "semantic"))
        o->modes[o->n_modes++] = "semantic";
    if (all || !strcmp(o->mode, "lexical"))
        o->modes[o->n_modes++] = "lexical";
    if (all || !strcmp(o->mode, "hybrid"))
        return add_hybrid_modes(o);
    return given ? sem_cli_usage_error("eval retrieval", "--semantic-weight and --fusion apply to hybrid search") : 0;
}

static int parse_retrieval(int argc, char **argv, retrieval_opts *o, int *status)
{
    char hw[200];
    snprintf(hw, sizeof hw, "hybrid: the semantic side's weight in (0, 1] (default %.2f); a list evaluates\none "
             "hybrid column per weight, named hybrid@W", (double)SEM_HYBRID_SEMANTIC_WEIGHT);
    const sem_cli_opt opts[] = {
        SEM_OPT_S("--kb", 0, o->kb, "KB", "search this knowledge base (built with `semsearch index add`, e.g. from a "
                                          "BEIR\ncorpus.jsonl); document ids are the corpus ids"),
        SEM_OPT_L("--run", o->runs, o->n_runs, "FILE", NULL, NULL,
                  "or score a TREC run file (qid Q0 docid rank score tag); repeatable, one column each"),
        SEM_OPT_S("--queries", 0, o->queries, "FILE", "queries.jsonl: {\"_id\": …, \"text\": …} per line"),
        SEM_OPT_S("--qrels", 0, o->qrels, "FILE", "qrels TSV: query-id, corpus-id, score (header line optional)"),
        SEM_OPT_S("--mode", 0, o->mode, "M", "semantic, lexical, hybrid or all (default all; with --kb)"),
        SEM_OPT_S("--semantic-weight", 0, o->weights, "W[,W...]", hw),
        SEM_OPT_E("--fusion", o->fusion, "cc|rrf", sem_fusion_parse, "cc or rrf",
                  "hybrid: convex combination of normalised scores (default) or weighted\nreciprocal rank fusion "
                  "(columns named hybrid-rrf)"),
        SEM_OPT_S("--model", 0, o->model, "DIR", "the model for semantic search (default: the KB's own)"),
        SEM_OPT_I("-k", 0, o->k, "N", 1, 1000, "cut-off of nDCG and MRR (default 10); every query retrieves max(k, "
                                               "100)"),
        SEM_OPT_JSON_(o->json, "write the JSON report (with per-query results) to FILE; without FILE (or -)\nto "
                               "stdout, and the table goes to stderr"),
        SEM_OPT_I("--worst", 0, o->worst, "N", 0, 1000000, "also list the N queries with the lowest nDCG in each "
                                                           "mode (error analysis)"),
        SEM_OPT_I("--threads", 0, o->threads, "N", 1, 1024, "query encoder threads (default: all cores, or "
                                                            "$OPENBLAS_NUM_THREADS)"),
        SEM_OPT_QUIET(o->quiet, "no progress or info messages"),
        {0}};
    const sem_cli_cmd cmd = {
        .name = "eval retrieval",
        .usage = "Usage: semsearch eval retrieval (--kb KB | --run FILE...) --queries FILE --qrels FILE [options]\n\n"
        "Ranking quality in the BEIR format: nDCG@k, MRR@k, Recall@1/10/100 and MAP, per mode side by side,\n"
        "with per-query results in the JSON report for error analysis.\n\n",
        .opts = opts,
        .footer = "Example:\n"
        "  semsearch eval retrieval --kb kb/scifact --queries scifact/queries.jsonl \\\n"
        "      --qrels scifact/qrels/test.tsv --json scifact-eval.json\n"};
    if (!sem_cli_parse(&cmd, argc, argv, status))
        return 0;
    if (!o->queries || !o->qrels)
        *status = sem_cli_usage_error("eval retrieval", "--queries and --qrels are required");
    else if (!o->kb == !o->n_runs)
        *status = sem_cli_usage_error("eval retrieval", "give --kb KB or --run FILE (not both)");
    else
        *status = build_modes(o);
    if (o->quiet)
        sem_cli_set_quiet();
    return *status == 0;
}

static int cmp_ndcg(const void *a, const void *b)
{
    const sem_retrieval_query *x = *(const sem_retrieval_query *const *)a, *y = *(const sem_retrieval_query *const *)b;
    return x->s.ndcg < y->s.ndcg ? -1 : x->s.ndcg > y->s.ndcg;
}

/* The n queries of one mode with the lowest nDCG, with their text. */
static void print_worst(FILE *f, const sem_retrieval_report *r, const sem_beir_set *set, size_t n)
{
    const sem_retrieval_query **q = r->n_scored ? malloc(r->n_scored * sizeof *q) : NULL;
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
        char rank[24] = "-";
        if (q[i]->first_rank)
            snprintf(rank, sizeof rank, "%zu", q[i]->first_rank);
        fprintf(f, "  %.4f  %5s  %-12.12s %.70s\n", q[i]->s.ndcg, rank, q[i]->id, text);
    }
    free(q);
}

/* Every column of a --kb evaluation into rep (*n_rep of them). */
static int eval_kb(retrieval_opts *o, const sem_beir_set *set, sem_retrieval_report *rep, size_t *n_rep,
                   sem_error *err)
{
    sem_eval_kb_searcher *s = sem_eval_kb_searcher_open(o->kb, o->model, o->threads, err);
    if (!s)
        return err->code;
    int rc = SEM_OK;
    if (!sem_eval_kb_searcher_has_model(s)) {
        if (strcmp(o->mode, "all") != 0 && strcmp(o->mode, "lexical") != 0)
            rc = sem_error_set(err, SEM_EINVAL, "%s has no model (lexical-only): only --mode lexical works", o->kb);
        else if (o->n_modes > 1)
            sem_log(SEM_LOG_WARN, "%s has no model (lexical-only): evaluating lexical search only", o->kb);
        o->modes[0] = "lexical";
        o->n_modes = 1;
    }
    for (size_t m = 0; rc == SEM_OK && m < o->n_modes; m++) {
        sem_log(SEM_LOG_INFO, "%s: %zu queries", o->modes[m], set->n_queries);
        if ((rc = sem_retrieval_eval(set, o->modes[m], (int)o->k, sem_eval_kb_search, s, &rep[*n_rep], err)) == 0)
            ++*n_rep;
    }
    sem_eval_kb_searcher_free(s);
    return rc;
}

/* One column per --run file into rep (*n_rep of them). */
static int eval_runs(const retrieval_opts *o, const sem_beir_set *set, sem_retrieval_report *rep, size_t *n_rep,
                     sem_error *err)
{
    for (int r = 0; r < o->n_runs; r++) {
        sem_trec_run *run = sem_trec_run_read(o->runs[r], err);
        if (!run)
            return err->code;
        const char *slash = strrchr(o->runs[r], '/');
        int rc = sem_retrieval_eval(set, slash ? slash + 1 : o->runs[r], (int)o->k, sem_trec_run_search, run,
                                    &rep[*n_rep], err);
        sem_trec_run_free(run);
        if (rc)
            return rc;
        ++*n_rep;
    }
    return SEM_OK;
}

/* The table and the worst queries (stdout, or stderr when the JSON goes to stdout) and the JSON report. */
static int retrieval_reports(const retrieval_opts *o, const sem_beir_set *set, const sem_retrieval_report *rep,
                             size_t n_rep)
{
    if (n_rep && rep[0].n_unknown_qrels)
        sem_log(SEM_LOG_WARN, "%zu qrels name queries that are not in %s (ignored)", rep[0].n_unknown_qrels,
                o->queries);
    if (n_rep && rep[0].n_skipped)
        sem_log(SEM_LOG_INFO, "%zu of %zu queries have no relevant document in the qrels (skipped)", rep[0].n_skipped,
                set->n_queries);
    char *text = sem_retrieval_report_table(rep, n_rep);
    if (!text) {
        fprintf(stderr, "semsearch: error: out of memory\n");
        return SEM_EXIT_FAIL;
    }
    FILE *tout = o->json && !strcmp(o->json, "-") ? stderr : stdout;
    fputs(text, tout);
    free(text);
    for (size_t m = 0; m < n_rep && o->worst > 0; m++)
        print_worst(tout, &rep[m], set, (size_t)o->worst);
    if (o->json && write_report(o->json, sem_retrieval_report_json(rep, n_rep, 1)))
        return SEM_EXIT_FAIL;
    return SEM_EXIT_OK;
}

int sem_cmd_eval_retrieval(int argc, char **argv)
{
    retrieval_opts o = {.mode = "all", .fusion = -1, .k = 10};
    int st;
    if (!parse_retrieval(argc, argv, &o, &st))
        return st;
    sem_error err;
    sem_error_clear(&err);
    sem_beir_set set = {0};
    sem_retrieval_report rep[MAX_RUNS > MAX_MODES ? MAX_RUNS : MAX_MODES];
    size_t n_rep = 0;
    int rc = sem_beir_read_queries(o.queries, &set, &err);
    if (rc == SEM_OK)
        rc = sem_beir_read_qrels(o.qrels, &set, &err);
    if (rc == SEM_OK)
        rc = o.kb ? eval_kb(&o, &set, rep, &n_rep, &err) : eval_runs(&o, &set, rep, &n_rep, &err);
    st = rc ? sem_cli_fail(&err) : retrieval_reports(&o, &set, rep, n_rep);
    for (size_t i = 0; i < n_rep; i++)
        sem_retrieval_report_free(&rep[i]);
    sem_beir_set_free(&set);
    return st;
}
