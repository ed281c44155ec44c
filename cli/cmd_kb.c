/* cli/cmd_kb.c: `semsearch kb`: create and inspect knowledge bases (store/kb.h).
 * A KB is a directory (kb.sqlite + index.faiss); see docs/store.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "encoder/encoder.h"
#include "hub/hub.h"
#include "kbmodel/kbmodel.h"
#include "query/search.h"
#include "store/kb.h"

#define SPEC_HELP                                                                                              \
    "SPEC is any faiss index_factory string (Flat, IVF1024,Flat, IVF1024,PQ48np, OPQ48,IVF1024,PQ48np, HNSW32,\n"  \
    "PCAW256,Flat, ...) or auto (default): Flat below 10000 passages, then IVF with nlist ~ 4*sqrt(N), PQ when the\n" \
    "flat vectors would exceed 2 GiB. Untrained indexes search exactly until enough vectors exist to train.\n"
#define KB_ABOUT "A KB is a directory holding kb.sqlite (documents, passages, vectors, FTS5) and index.faiss.\n\n"

/* Options of the kb subcommands; each takes only its own. */
typedef struct kb_opts {
    const char *kb, *model, *index, *format, *out, *stemming;
    int dim, metric, quiet, npos;
} kb_opts;

static int stemming_parse(const char *v)
{
    return strcmp(v, "porter") == 0 || strcmp(v, "none") == 0 ? 0 : -1;
}

static int format_parse(const char *v)
{
    return strcmp(v, "jsonl") == 0 ? 0 : strcmp(v, "npy") == 0 ? 1 : -1;
}

#define KB_OPT_QUIET(o) SEM_OPT_QUIET((o).quiet, "no progress or info messages")
#define KB_OPT_STEMMING(o, hlp) SEM_OPT_SC("--stemming", (o).stemming, "porter|none", stemming_parse, "porter or none", hlp)

/* Parses the KB directory and the options of one subcommand; 1 to go on, else 0 with *status. */
static int kb_parse(const char *name, const char *usage, const sem_cli_opt *opts, const char *footer, int argc,
                    char **argv, kb_opts *o, int *status)
{
    const char *pos[1];
    const sem_cli_cmd cmd = {name, usage, opts, footer, pos, 1, &o->npos, 0, NULL};
    if (!sem_cli_parse(&cmd, argc, argv, status))
        return 0;
    if (o->npos < 1) {
        *status = sem_cli_usage_error(name, "missing the KB directory");
        return 0;
    }
    o->kb = pos[0];
    if (o->quiet)
        sem_cli_set_quiet(); /* compact's progress is logged */
    return 1;
}

/* The identity of the model at dir into cp (kb create --model); SEM_OK or an error. */
static int model_identity(const char *dir, sem_kb_create_params *cp, sem_error *err)
{
    sem_model *m = sem_model_load(dir, NULL, err);
    if (!m)
        return err->code;
    sem_kbmodel_identity(m, &cp->model);
    sem_model_free(m);
    return SEM_OK;
}

int sem_cmd_kb_create(int argc, char **argv)
{
    kb_opts o = {0};
    int metric = -1, st;
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        SEM_OPT_S("--model", 0, o.model, "DIR", "the model whose vectors the KB holds (its identity is recorded and\n"
                                                 "checked on every later add/search); default: the default model\n"
                                                 "($SEMSEARCH_MODEL, else models/semsearch-default)"),
        SEM_OPT_I("--dim", 0, o.dim, "N", 1, 65536, "raw vectors of dimension N instead of a model's"),
        SEM_OPT_S("--index", 0, o.index, "SPEC|auto", "the FAISS index (default auto; see SPEC below)"),
        SEM_OPT_E("--metric", metric, "ip|l2", sem_kb_metric_parse, "ip or l2", "inner product or L2 distance"),
        KB_OPT_STEMMING(o, "English stemming of the full-text index (default porter)"),
        KB_OPT_QUIET(o),
        {0}};
    if (!kb_parse("kb create", "Usage: semsearch kb create KB [--model DIR | --dim N] [--index SPEC|auto] "
                  "[--metric ip|l2] [--stemming porter|none]\n\nCreates an empty KB. " KB_ABOUT, opts, SPEC_HELP,
                  argc, argv, &o, &st))
        return st;
    if (o.model && o.dim)
        return sem_cli_usage_error("kb create", "give one of --model DIR and --dim N, not both");
    if (!o.model && !o.dim && !(o.model = sem_hub_default_model())) {
        fprintf(stderr, "semsearch: error: no --model or --dim given and no default model is available (set %s "
                        "or pass --model DIR)\n", SEM_DEFAULT_MODEL_ENV);
        return SEM_EXIT_FAIL;
    }
    sem_kb_create_params cp = sem_kb_default_create_params();
    if (metric >= 0)
        cp.metric = (sem_kb_metric)metric;
    cp.index_spec = o.index ? o.index : "auto";
    cp.stemming = o.stemming;
    cp.model.dim = o.dim;
    sem_error err;
    sem_error_clear(&err);
    if (o.model && !(o.model = sem_cli_model_dir(o.model)))
        return SEM_EXIT_FAIL;
    if (o.model && model_identity(o.model, &cp, &err) != SEM_OK)
        return sem_cli_fail(&err);
    sem_kb *kb = sem_kb_create(o.kb, &cp, &err);
    if (!kb)
        return sem_cli_fail(&err);
    /* remember the model folder so that index add, query and serve find it without --model */
    int rec = o.model ? sem_kbmodel_record(kb, o.model, &err) : SEM_OK;
    sem_kb_close(kb);
    if (rec != SEM_OK)
        return sem_cli_fail(&err);
    printf("created %s: %s, dim %d, metric %s, index %s\n", o.kb, cp.model.name[0] ? cp.model.name : "raw vectors",
           cp.model.dim, sem_kb_metric_name(cp.metric), cp.index_spec);
    return SEM_EXIT_OK;
}

static sem_kb *open_ro(const char *dir, sem_error *err)
{
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    return sem_kb_open(dir, &op, err);
}

static void human(int64_t b, char *out, size_t n)
{
    if (b >= (int64_t)1 << 30)
        snprintf(out, n, "%.2f GiB", (double)b / (1 << 30));
    else if (b >= 1 << 20)
        snprintf(out, n, "%.1f MiB", (double)b / (1 << 20));
    else if (b >= 1 << 10)
        snprintf(out, n, "%.1f KiB", (double)b / (1 << 10));
    else
        snprintf(out, n, "%lld B", (long long)b);
}

/* The hybrid weight line of kb info: calibrated (with its evidence) or the default. */
static void print_hybrid_weight(const sem_calibration *c, const sem_error *err)
{
    if (c && c->present)
        printf("hybrid weight:  %.2f (calibrated on %d pseudo-queries: nDCG@10 lexical %.3f, semantic %.3f, hybrid "
               "%.3f; %.1f s)\n",
               (double)c->semantic_weight, c->n_queries, c->lexical, c->semantic, c->hybrid, c->seconds);
    else
        printf("hybrid weight:  %.2f (default; %s: run 'semsearch kb calibrate')\n", (double)SEM_HYBRID_SEMANTIC_WEIGHT,
               err ? err->msg : "not calibrated for this model");
}

int sem_cmd_kb_calibrate(int argc, char **argv)
{
    kb_opts o = {0};
    int st;
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        SEM_OPT_S("--model", 0, o.model, "DIR", "the model folder, when the KB does not know where its model is"),
        KB_OPT_QUIET(o),
        {0}};
    if (!kb_parse("kb calibrate", "Usage: semsearch kb calibrate KB [--model DIR]\n\nCalibrates the KB's hybrid "
                  "weight on pseudo-queries drawn from it and records it (index add\ndoes this after adding; see "
                  "docs/query.md).\n\n", opts, NULL, argc, argv, &o, &st))
        return st;
    if (o.model && !(o.model = sem_cli_model_dir(o.model)))
        return SEM_EXIT_FAIL;
    return sem_cli_calibrate(o.kb, o.model, 0, 0);
}

/* The encoder precision a KB records (sem_kbmodel_get_precision). */
typedef struct kb_precision {
    int rc, recorded;
    sem_precision p;
    sem_error err;
} kb_precision;

/* kb info's lines on the model of a KB that has one. */
static void print_model(const sem_kb_model *m, const kb_precision *pr)
{
    printf("model:          %s (config %s, pooling %s%s)\n", m->name, m->config_hash, m->pooling,
           m->normalize ? ", normalized" : "");
    if (pr->rc)
        printf("precision:      invalid: %s\n", pr->err.msg);
    else
        printf("precision:      %s (%s)\n", sem_precision_name(pr->p),
               pr->recorded ? "recorded by 'index add --precision'" : "default; 'index add --precision' records one");
}

/* kb info and kb check: no options but -q. */
static int parse_plain(const char *name, const char *usage, int argc, char **argv, kb_opts *o, int *status)
{
    const sem_cli_opt opts[] = {SEM_OPT_SEC("Options:"), KB_OPT_QUIET(*o), {0}};
    return kb_parse(name, usage, opts, NULL, argc, argv, o, status);
}

int sem_cmd_kb_info(int argc, char **argv)
{
    kb_opts o = {0};
    int rc;
    if (!parse_plain("kb info", "Usage: semsearch kb info KB\n\nPrints the KB's counts, model, index type and "
                     "sizes, and a memory estimate.\n\n", argc, argv, &o, &rc))
        return rc;
    sem_error err;
    sem_kb *kb = open_ro(o.kb, &err);
    if (!kb)
        return sem_cli_fail(&err);
    sem_kb_info in;
    if (sem_kb_get_info(kb, &in, &err) != SEM_OK) {
        sem_kb_close(kb);
        return sem_cli_fail(&err);
    }
    sem_calibration cal;
    sem_error cerr;
    int cal_rc = in.model.config_hash[0] ? sem_calibration_read(kb, &cal, &cerr) : SEM_OK;
    kb_precision pr = {0};
    if (in.model.config_hash[0])
        pr.rc = sem_kbmodel_get_precision(kb, &pr.p, &pr.recorded, &pr.err);
    sem_kb_close(kb);
    char a[32], b[32], c[32];
    human(in.index_file_bytes, a, sizeof a);
    human(in.db_file_bytes, b, sizeof b);
    human(in.mem_bytes, c, sizeof c);
    printf("kb:             %s\n", o.kb);
    printf("schema:         %d\n", in.schema_version);
    printf("tokenizer:      %s%s\n", in.fts_tokenizer,
           in.schema_version < 3 ? " (passage text only: 'semsearch kb compact' adds titles, CJK and stemming)"
                                 : " (text and title)");
    if (in.model.config_hash[0])
        print_model(&in.model, &pr);
    else if (in.model.dim == 1)
        printf("model:          none: lexical-only (bm25) KB, made by 'index add' without --model\n");
    else
        printf("model:          none (raw vectors)\n");
    printf("dim:            %d\n", in.model.dim);
    printf("metric:         %s\n", sem_kb_metric_name(in.metric));
    printf("documents:      %lld\n", (long long)in.n_docs);
    printf("passages:       %lld\n", (long long)in.n_passages);
    printf("index spec:     %s\n", in.index_spec);
    printf("index built:    %s\n", in.index_built);
    printf("index type:     %s\n", in.index_type);
    printf("trained:        %s", in.trained ? "yes" : "no (exact search until enough vectors)");
    if (in.trained && in.trained_on)
        printf(" (on %lld vectors)", (long long)in.trained_on);
    printf("\n");
    if (in.nlist && in.nprobe_recall >= 0)
        printf("nlist:          %lld (nprobe %d: 10-recall@10 %.3f on held-out vectors)\n", (long long)in.nlist,
               in.default_nprobe, in.nprobe_recall);
    else if (in.nlist)
        printf("nlist:          %lld (default nprobe %d, not measured: 'semsearch kb compact' measures it)\n",
               (long long)in.nlist, in.default_nprobe);
    if (in.model.config_hash[0])
        print_hybrid_weight(cal_rc == SEM_OK ? &cal : NULL, cal_rc == SEM_OK ? NULL : &cerr);
    printf("vectors:        %lld\n", (long long)in.ntotal);
    if (in.n_tombstones)
        printf("tombstones:     %lld (run 'semsearch kb compact')\n", (long long)in.n_tombstones);
    printf("unsaved changes: %lld\n", (long long)in.changes_unsaved);
    printf("index file:     %s (%lld bytes)\n", a, (long long)in.index_file_bytes);
    printf("database:       %s (%lld bytes)\n", b, (long long)in.db_file_bytes);
    printf("index memory:   %s (estimate)\n", c);
    return SEM_EXIT_OK;
}

/* Counts warnings while forwarding them to the normal stderr logger. */
static int g_warnings;
static void counting_log(int level, const char *msg, void *ud)
{
    if (level >= SEM_LOG_WARN)
        g_warnings++;
    sem_log_stderr(level, msg, ud);
}

int sem_cmd_kb_check(int argc, char **argv)
{
    kb_opts o = {0};
    int rc;
    if (!parse_plain("kb check", "Usage: semsearch kb check KB\n\nCompares the vector index with SQLite; exits 1 "
                     "if they differ or the index file was damaged.\n\n", argc, argv, &o, &rc))
        return rc;
    static int lvl = SEM_LOG_WARN;
    sem_log_set(counting_log, &lvl);
    sem_error err;
    sem_kb *kb = open_ro(o.kb, &err);
    if (!kb)
        return sem_cli_fail(&err);
    sem_kb_check_report r;
    if (sem_kb_check(kb, &r, &err) != SEM_OK) {
        sem_kb_close(kb);
        return sem_cli_fail(&err);
    }
    sem_kb_close(kb);
    printf("passages in SQLite:   %lld\n", (long long)r.n_passages);
    printf("vectors in index:     %lld\n", (long long)r.n_index);
    printf("missing from index:   %lld", (long long)r.missing_in_index);
    for (int i = 0; i < r.n_missing_ids; i++)
        printf("%s%lld", i ? "," : " (ids ", (long long)r.missing_ids[i]);
    printf("%s\n", r.n_missing_ids ? (r.missing_in_index > r.n_missing_ids ? ",...)" : ")") : "");
    printf("extra in index:       %lld", (long long)r.extra_in_index);
    for (int i = 0; i < r.n_extra_ids; i++)
        printf("%s%lld", i ? "," : " (ids ", (long long)r.extra_ids[i]);
    printf("%s\n", r.n_extra_ids ? (r.extra_in_index > r.n_extra_ids ? ",...)" : ")") : "");
    printf("FTS mismatches:       %lld\n", (long long)r.fts_mismatch);
    printf("damaged vectors:      %lld\n", (long long)r.bad_vectors);
    printf("SQLite integrity:     %s\n", r.sqlite_ok ? "ok" : "FAILED");
    printf("index file:           %s\n", g_warnings ? "damaged or stale (repaired in memory; open the KB read-write "
                                                      "or run 'semsearch kb compact' to rewrite it)"
                                                    : "ok");
    int bad = r.missing_in_index || r.extra_in_index || r.fts_mismatch || r.bad_vectors || !r.sqlite_ok || g_warnings;
    printf("%s\n", bad ? "check: PROBLEMS FOUND" : "check: ok");
    sem_kb_check_report_clear(&r);
    return bad ? SEM_EXIT_FAIL : SEM_EXIT_OK;
}

int sem_cmd_kb_compact(int argc, char **argv)
{
    kb_opts o = {0};
    int rc;
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        SEM_OPT_S("--index", 0, o.index, "SPEC|auto", "also change the KB's index spec (see SPEC below)"),
        KB_OPT_STEMMING(o, "rebuild the full-text index with this stemming"),
        KB_OPT_QUIET(o),
        {0}};
    if (!kb_parse("kb compact", "Usage: semsearch kb compact KB [--index SPEC|auto] [--stemming porter|none]\n\n"
                  "Rebuilds and retrains the index from SQLite (after many deletes or much growth). A KB of\n"
                  "schema 2 gets the new full-text index (titles, CJK bigrams, stemming).\n\n", opts, SPEC_HELP,
                  argc, argv, &o, &rc))
        return rc;
    sem_error err;
    sem_kb *kb = sem_kb_open(o.kb, NULL, &err);
    if (!kb)
        return sem_cli_fail(&err);
    if ((o.stemming && sem_kb_set_stemming(kb, o.stemming, &err) != SEM_OK) ||
        sem_kb_compact(kb, o.index, &err) != SEM_OK) {
        sem_kb_close(kb);
        return sem_cli_fail(&err);
    }
    sem_kb_info in;
    rc = sem_kb_get_info(kb, &in, &err);
    sem_kb_close(kb);
    if (rc)
        return sem_cli_fail(&err);
    printf("compacted %s: %s, %lld vectors%s; full-text index: %s\n", o.kb, in.index_built, (long long)in.ntotal,
           in.trained ? "" : " (not trained yet: too few vectors)", in.fts_tokenizer);
    return SEM_EXIT_OK;
}

int sem_cmd_kb_export(int argc, char **argv)
{
    kb_opts o = {0};
    int rc;
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        SEM_OPT_SC("--format", o.format, "jsonl|npy", format_parse, "jsonl or npy",
                   "jsonl: one line per passage (id, doc, passage, start, end, text, vector), to\nstdout or FILE; "
                   "npy: FILE gets float32 (n, dim) vectors and FILE.ids.npy\n(or X.ids.npy for X.npy) int64 ids"),
        SEM_OPT_S("--output", 'o', o.out, "FILE", "where to write (needed by npy)"),
        KB_OPT_QUIET(o),
        {0}};
    if (!kb_parse("kb export", "Usage: semsearch kb export KB --format jsonl|npy [-o FILE]\n\nExports the KB's "
                  "passages and vectors.\n\n", opts, NULL, argc, argv, &o, &rc))
        return rc;
    if (!o.format)
        return sem_cli_usage_error("kb export", "--format must be jsonl or npy");
    int npy = strcmp(o.format, "npy") == 0;
    if (npy && !o.out)
        return sem_cli_usage_error("kb export", "--format npy needs -o FILE");
    sem_error err;
    sem_error_clear(&err);
    sem_kb *kb = open_ro(o.kb, &err);
    if (!kb)
        return sem_cli_fail(&err);
    FILE *f = stdout, *fi = NULL;
    char *ids_path = NULL;
    int64_t n = 0;
    if (o.out) {
        f = fopen(o.out, "wb");
        if (!f) {
            sem_error_set(&err, SEM_EIO, "cannot write %s: %s", o.out, strerror(errno));
            sem_kb_close(kb);
            return sem_cli_fail(&err);
        }
    }
    if (npy) {
        size_t len = strlen(o.out);
        ids_path = malloc(len + 16);
        if (!ids_path) {
            rc = sem_error_set(&err, SEM_ENOMEM, "out of memory");
            goto out;
        }
        if (len > 4 && strcmp(o.out + len - 4, ".npy") == 0)
            snprintf(ids_path, len + 16, "%.*s.ids.npy", (int)(len - 4), o.out);
        else
            snprintf(ids_path, len + 16, "%s.ids.npy", o.out);
        fi = fopen(ids_path, "wb");
        if (!fi) {
            rc = sem_error_set(&err, SEM_EIO, "cannot write %s: %s", ids_path, strerror(errno));
            goto out;
        }
        rc = sem_kb_export_npy(kb, f, fi, &n, &err);
    } else {
        rc = sem_kb_export_jsonl(kb, f, &n, &err);
    }
out:
    if (fi && fclose(fi) != 0 && !rc)
        rc = sem_error_set(&err, SEM_EIO, "closing %s failed", ids_path);
    if (f != stdout && fclose(f) != 0 && !rc)
        rc = sem_error_set(&err, SEM_EIO, "closing %s failed", o.out);
    sem_kb_close(kb);
    if (rc) {
        free(ids_path);
        return sem_cli_fail(&err);
    }
    if (npy)
        fprintf(stderr, "exported %lld passages to %s and %s\n", (long long)n, o.out, ids_path);
    else if (o.out)
        fprintf(stderr, "exported %lld passages to %s\n", (long long)n, o.out);
    free(ids_path);
    return SEM_EXIT_OK;
}
