/* cli/cmd_index.c: `semsearch index add KB INPUT…` and `semsearch index rm KB ID…` (indexer/indexer.h). */
#include "cli/cli.h"
#include "encoder/encoder.h"
#include "common/fileio.h"
#include "common/log.h"
#include "hub/hub.h"
#include "indexer/indexer.h"
#include "shard/shard.h"
#include "store/kb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct bar {
    int tty;
};

static void fmt_eta(double s, char *out, size_t cap)
{
    if (s < 0 || s > 360000)
        snprintf(out, cap, "--:--");
    else if (s >= 3600)
        snprintf(out, cap, "%d:%02d:%02d", (int)s / 3600, ((int)s / 60) % 60, (int)s % 60);
    else
        snprintf(out, cap, "%d:%02d", (int)s / 60, (int)s % 60);
}

static void on_progress(void *ud, const sem_index_progress *p)
{
    struct bar *b = ud;
    if (!b->tty)
        return;
    double rate = p->elapsed_s > 0 ? (double)p->passages_done / p->elapsed_s : 0;
    char eta[32];
    fmt_eta(p->fraction > 0.001 ? p->elapsed_s * (1 - p->fraction) / p->fraction : -1, eta, sizeof eta);
    int width = 24, fill = (int)(p->fraction * width + 0.5);
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r[%s] %3.0f%%  %ld docs  %ld passages  %.1f passages/s  ETA %s   ", bar, p->fraction * 100,
            p->docs_done, p->passages_done, rate, eta);
    fflush(stderr);
}

/* The model of a new KB given no --model: $SEMSEARCH_MODEL when set (the user's choice), else the shipped model
 * that fits the first documents (Chinese or English; the pick logs why), else none (lexical-only). */
static const char *new_kb_model(const char *const *inputs, int n, const sem_reader_params *rp, sem_model_pick *pick)
{
    const char *e = getenv(SEM_DEFAULT_MODEL_ENV);
    if (e && *e)
        return sem_hub_default_model();
    sem_index_pick_model(inputs, n, rp, NULL, pick);
    return pick->model[0] ? pick->model : NULL;
}

#define ADD_USAGE                                                                                              \
    "Usage: semsearch index add KB INPUT... [options]\n\n"                                                    \
    "Reads documents from files or folders, splits them into passages, encodes them with the KB's model and\n"  \
    "stores them in KB (a folder; created when missing). A document whose id exists already is replaced.\n"     \
    "Documents already stored unchanged are skipped, so an interrupted run can simply be re-run.\n"            \
    "A new KB is made with --model, else with $SEMSEARCH_MODEL, else with the shipped model that fits its\n"   \
    "first documents: semsearch-zh when they are mostly Chinese (Han) text, else semsearch-default (the\n"     \
    "choice and why are printed); with --lexical, or when no model is available, it is lexical-only: FTS5\n"   \
    "search, no vectors.\n\n"                                                                                  \
    "Inputs:\n"                                                                                                \
    "  *.jsonl            one JSON object per line: id, text (or question + answer), title, metadata; other\n"   \
    "                     fields become metadata; BEIR corpus.jsonl (_id, title, text) too\n"                    \
    "  *.csv              a header row, RFC 4180 quoting; columns id/_id, text, title, or question+answer\n"      \
    "                     (FAQ: one passage per row, the answer kept for display); other columns metadata\n"     \
    "  *.txt, *.md, DIR   one document per file (id = the path relative to DIR; title = first heading or\n"      \
    "                     file name); a DIR holding corpus.jsonl is read as a BEIR corpus\n\n"

typedef struct add_opts {
    sem_index_params p;
    int quiet, lexical, no_calibrate, npos, shards;
    const char **pos;
} add_opts;

/* Parses index add's arguments into o (o->pos: argc slots, caller frees); 1 to go on, else 0 with *status. */
static int parse_add(int argc, char **argv, add_opts *o, int *status)
{
    sem_index_params *p = &o->p;
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        SEM_OPT_S("--model", 0, p->model, "DIR|NAME",
                  "model folder, cached hub name ORG/NAME, or shipped model semsearch-default /\nsemsearch-zh (a new "
                  "KB is created with it; an existing KB uses the model it\nrecords, this overrides the folder)"),
        SEM_OPT_F("--lexical", 0, o->lexical, "a new KB without a model: lexical (bm25) search only"),
        SEM_OPT_F("--no-calibrate", 0, o->no_calibrate,
                  "do not calibrate the KB's hybrid weight after adding (it takes a few\nseconds; 'semsearch kb "
                  "calibrate KB' does it later)"),
        SEM_OPT_S("--index", 0, p->index_spec, "SPEC",
                  "FAISS index of a new KB: auto (default), Flat, IVF1024,Flat, HNSW32, ...;\nignored with a warning "
                  "for an existing KB (see kb compact --index)"),
        SEM_OPT_I("--shards", 0, o->shards, "N", 1, SEM_SHARD_MAX,
                  "make KB a sharded KB of N shards, each document in the shard its id hashes\nto (docs/scale.md); "
                  "an existing sharded KB routes without it"),
        SEM_OPT_E("--format", p->reader.format, "F", sem_input_format_parse, "auto, jsonl, csv, text or beir",
                  "auto (default: by extension), jsonl, csv, text, beir"),
        SEM_OPT_S("--csv-id", 0, p->reader.csv_id, "COL", "column with the document id (default: id or _id; else "
                                                           "FILE#ROW)"),
        SEM_OPT_S("--csv-text", 0, p->reader.csv_text, "COL", "column with the text (default: text)"),
        SEM_OPT_S("--csv-question", 0, p->reader.csv_question, "COL", "FAQ question column (default: question)"),
        SEM_OPT_S("--csv-answer", 0, p->reader.csv_answer, "COL", "FAQ answer column (default: answer)"),
        SEM_OPT_S("--csv-title", 0, p->reader.csv_title, "COL", "title column (default: title; FAQ: the question)"),
        SEM_OPT_S("--csv-metadata", 0, p->reader.csv_metadata, "C1,C2",
                  "metadata columns (default: every column not used above)"),
        SEM_OPT_E("--on-error", p->on_error, "skip|fail", sem_on_error_parse, "skip or fail",
                  "bad records (bad quoting, invalid UTF-8, missing text, duplicate id):\nreport file:line and skip "
                  "them (default), or stop at the first"),
        SEM_OPT_I("--max-record-bytes", 0, p->reader.max_record_bytes, "N", 1, 1L << 40,
                  "longest record (line, CSV row, text file) accepted (default 16777216)"),
        SEM_OPT_I("--chunk-tokens", 0, p->chunk_tokens, "N", 1, 100000,
                  "passage size in tokens (default: the model's maximum - 2; 256 words\nwithout a model)"),
        SEM_OPT_I("--chunk-overlap", 0, p->chunk_overlap, "N", 0, 100000,
                  "tokens shared by consecutive passages (default 16)"),
        SEM_OPT_I("--batch", 0, p->batch, "N", 1, 65536, "passages per encoder batch and write transaction (default "
                                                         "64)"),
        SEM_OPT_I("--threads", 0, p->threads, "N", 1, 256, "encoder threads (default: all cores)"),
        SEM_OPT_E("--precision", p->precision, "P", sem_precision_parse, "f32, bf16 or int8",
                  "encoder linear layers in f32, bf16 or int8, recorded in the KB for later\ncommands (default: "
                  "the KB's, see kb info; f32 for a new KB)"),
        SEM_OPT_QUIET(o->quiet, "no progress bar and no summary"),
        {0}};
    const sem_cli_cmd cmd = {"index add", ADD_USAGE, opts,
                             "Examples:\n"
                             "  semsearch index add kb/faq data/covid-faq/faq_covidbert.csv --model "
                             "models/all-MiniLM-L6-v2\n"
                             "  semsearch index add kb/docs notes/ --chunk-tokens 128 --chunk-overlap 24\n",
                             o->pos, argc, &o->npos, 0, NULL};
    if (!sem_cli_parse(&cmd, argc, argv, status))
        return 0;
    *status = SEM_EXIT_USAGE;
    if (o->npos < 2)
        sem_cli_usage_error("index add", o->npos ? "no INPUT given" : "no KB and no INPUT given");
    else if (o->lexical && p->model)
        sem_cli_usage_error("index add", "--lexical and --model exclude each other");
    else if (o->lexical && p->precision >= 0)
        sem_cli_usage_error("index add", "--lexical and --precision exclude each other");
    else
        return 1;
    return 0;
}

/* The summary line of index add (and the notice of a KB made lexical-only). */
static void print_stats(const char *kb, const sem_index_stats *st, int lexical)
{
    if (st->created && st->lexical_only)
        fprintf(stderr, "semsearch: notice: %s has no model: lexical (FTS5) search only%s\n", kb,
                lexical ? "" : "; there is no default model: pass --model to a new KB for semantic search");
    printf("%s: %ld document%s added, %ld replaced (%ld passage%s), %ld unchanged, %ld skipped as invalid, in %.1f s",
           kb, st->docs_added, st->docs_added == 1 ? "" : "s", st->docs_replaced, st->passages,
           st->passages == 1 ? "" : "s", st->docs_unchanged, st->docs_failed, st->seconds);
    if (st->seconds > 0 && st->passages)
        printf(" (%.1f passages/s)", (double)st->passages / st->seconds);
    printf("\n");
}

/* Adds the inputs to the KB as o says; the exit status. */
static int run_add(add_opts *o)
{
    const char *kb = o->pos[0];
    int sharded = o->shards > 0 || sem_shard_exists(kb), is_new = !sem_kb_exists(kb) && !sem_shard_exists(kb);
    if (o->lexical && !is_new)
        return sem_cli_usage_error("index add", "--lexical applies to a new KB only (%s exists)", kb);
    if (!is_new && o->p.index_spec) { /* the spec is the KB's, fixed at creation: compact changes it */
        fprintf(stderr, "semsearch: warning: --index %s is ignored: %s exists and keeps its index spec (change it "
                "with 'semsearch kb compact %s --index SPEC')\n", o->p.index_spec, kb, kb);
        o->p.index_spec = NULL;
    }
    struct bar b = {!o->quiet && isatty(2)};
    o->p.progress = on_progress;
    o->p.progress_ud = &b;
    if (o->quiet)
        sem_cli_set_quiet();
    sem_model_pick pick; /* holds the picked model's folder until the end */
    if (is_new && !o->lexical && !o->p.model)
        o->p.model = new_kb_model(o->pos + 1, o->npos - 1, &o->p.reader, &pick);
    sem_error err;
    sem_error_clear(&err);
    sem_index_stats st;
    int r = sharded ? sem_shard_index_add(kb, o->shards, o->pos + 1, o->npos - 1, &o->p, &st, &err)
                    : sem_index_add(kb, o->pos + 1, o->npos - 1, &o->p, &st, &err), rc = SEM_EXIT_OK;
    char cal[4096]; /* a sharded KB's hybrid weight is shard 0's (shard/shard.h) */
    if (!sharded || sem_shard_dir(kb, 0, cal, sizeof cal, NULL))
        snprintf(cal, sizeof cal, "%s", kb);
    if (b.tty)
        fputc('\n', stderr);
    if (r != SEM_OK)
        rc = sem_cli_fail(&err);
    if (!o->quiet || r != SEM_OK)
        print_stats(kb, &st, o->lexical);
    /* the KB changed: weigh hybrid search anew on it (docs/query.md, "Calibrated hybrid weight") */
    if (r == SEM_OK && !o->no_calibrate && !st.lexical_only && (st.created || st.docs_added || st.docs_replaced))
        sem_cli_calibrate(cal, o->p.model, o->quiet, 1);
    return rc;
}

int sem_cmd_index_add(int argc, char **argv)
{
    add_opts o = {.p = sem_index_default_params()};
    if (!(o.pos = calloc((size_t)argc, sizeof *o.pos)))
        return SEM_EXIT_FAIL;
    int rc;
    if (parse_add(argc, argv, &o, &rc))
        rc = run_add(&o);
    free(o.pos);
    return rc;
}

int sem_cmd_index_rm(int argc, char **argv)
{
    const char **pos = calloc((size_t)argc, sizeof *pos);
    if (!pos)
        return SEM_EXIT_FAIL;
    int npos = 0, quiet = 0, rc;
    const sem_cli_opt opts[] = {SEM_OPT_SEC("Options:"), SEM_OPT_QUIET(quiet, "no summary"), {0}};
    const sem_cli_cmd cmd = {"index rm",
                             "Usage: semsearch index rm KB ID... [-q]\n\nDeletes the documents with these ids from "
                             "KB (use -- before ids starting with -).\n\n",
                             opts, "Example:\n  semsearch index rm kb/faq faq_covidbert.csv#12\n", pos, argc, &npos, 0,
                             NULL};
    if (!sem_cli_parse(&cmd, argc, argv, &rc)) {
        free(pos);
        return rc;
    }
    if (npos < 2) {
        free(pos);
        return sem_cli_usage_error("index rm", "usage: semsearch index rm KB ID...");
    }
    sem_error err;
    int n = 0;
    int r = sem_index_rm(pos[0], pos + 1, npos - 1, &n, &err);
    if (!quiet)
        printf("%s: %d document%s deleted\n", pos[0], n, n == 1 ? "" : "s");
    free(pos);
    return r == SEM_OK ? SEM_EXIT_OK : sem_cli_fail(&err);
}
