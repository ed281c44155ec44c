/* cli/cmd_index.c: `semsearch index add KB INPUT…` and `semsearch index rm KB ID…` (indexer/indexer.h). */
#include "cli/cli.h"
#include "common/fileio.h"
#include "common/log.h"
#include "hub/hub.h"
#include "indexer/indexer.h"
#include "store/kb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: semsearch index add KB INPUT... [options]\n"
            "       semsearch index rm KB ID... [-q]\n\n"
            "add: reads documents from files or folders, splits them into passages, encodes them with the KB's\n"
            "model and stores them in KB (a folder; created when missing). A document whose id exists already is\n"
            "replaced. Documents already stored unchanged are skipped, so an interrupted run can simply be re-run.\n"
            "A new KB is made with --model, else with $SEMSEARCH_MODEL, else with the shipped model that fits its\n"
            "first documents: semsearch-zh when they are mostly Chinese (Han) text, else semsearch-default (the\n"
            "choice and why are printed); with --lexical, or when no model is available, it is lexical-only: FTS5\n"
            "search, no vectors.\n\n"
            "Inputs:\n"
            "  *.jsonl            one JSON object per line: id, text (or question + answer), title, metadata; other\n"
            "                     fields become metadata; BEIR corpus.jsonl (_id, title, text) too\n"
            "  *.csv              a header row, RFC 4180 quoting; columns id/_id, text, title, or question+answer\n"
            "                     (FAQ: one passage per row, the answer kept for display); other columns metadata\n"
            "  *.txt, *.md, DIR   one document per file (id = the path relative to DIR; title = first heading or\n"
            "                     file name); a DIR holding corpus.jsonl is read as a BEIR corpus\n\n"
            "Options (add):\n"
            "  --model DIR|NAME        model folder, cached hub name ORG/NAME, or shipped model semsearch-default /\n"
            "                          semsearch-zh (a new KB is created with it; an existing KB uses the model it\n"
            "                          records, this overrides the folder)\n"
            "  --lexical               a new KB without a model: lexical (bm25) search only\n"
            "  --no-calibrate          do not calibrate the KB's hybrid weight after adding (it takes a few\n"
            "                          seconds; 'semsearch kb calibrate KB' does it later)\n"
            "  --index SPEC            FAISS index of a new KB: auto (default), Flat, IVF1024,Flat, HNSW32, ...;\n"
            "                          ignored with a warning for an existing KB (see kb compact --index)\n"
            "  --format F              auto (default: by extension), jsonl, csv, text, beir\n"
            "  --csv-id COL            column with the document id (default: id or _id; else FILE#ROW)\n"
            "  --csv-text COL          column with the text (default: text)\n"
            "  --csv-question COL      FAQ question column (default: question)\n"
            "  --csv-answer COL        FAQ answer column (default: answer)\n"
            "  --csv-title COL         title column (default: title; FAQ: the question)\n"
            "  --csv-metadata C1,C2    metadata columns (default: every column not used above)\n"
            "  --on-error skip|fail    bad records (bad quoting, invalid UTF-8, missing text, duplicate id):\n"
            "                          report file:line and skip them (default), or stop at the first\n"
            "  --max-record-bytes N    longest record (line, CSV row, text file) accepted (default 16777216)\n"
            "  --chunk-tokens N        passage size in tokens (default: the model's maximum - 2; 256 words\n"
            "                          without a model)\n"
            "  --chunk-overlap N       tokens shared by consecutive passages (default 16)\n"
            "  --batch N               passages per encoder batch and write transaction (default 64)\n"
            "  --threads N             encoder threads (default: all cores)\n"
            "  -q, --quiet             no progress bar and no summary\n\n"
            "Examples:\n"
            "  semsearch index add kb/faq data/covid-faq/faq_covidbert.csv --model models/all-MiniLM-L6-v2\n"
            "  semsearch index add kb/docs notes/ --chunk-tokens 128 --chunk-overlap 24\n"
            "  semsearch index rm kb/faq faq_covidbert.csv#12\n");
}

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

static int cmd_add(int argc, char **argv)
{
    sem_index_params p = sem_index_default_params();
    const char **pos = calloc((size_t)argc, sizeof *pos);
    if (!pos)
        return SEM_EXIT_FAIL;
    int npos = 0, quiet = 0, lexical = 0, no_calibrate = 0, rc = SEM_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0;
        long n;
        if (sem_cli_is_help(a)) {
            usage(stdout);
            free(pos);
            return SEM_EXIT_OK;
        }
#define STR_OPT(name, field)                                                                                 \
    if ((v = sem_cli_opt_value(argc, argv, &i, name, &missing)) != NULL) {                                           \
        field = v;                                                                                           \
        continue;                                                                                            \
    }                                                                                                        \
    if (missing)                                                                                             \
        goto missing_value;
#define INT_OPT(name, lo, hi, field)                                                                         \
    if ((v = sem_cli_opt_value(argc, argv, &i, name, &missing)) != NULL) {                                           \
        if (sem_cli_parse_int(v, lo, hi, &n)) {                                                              \
            free(pos);                                                                                       \
            return sem_cli_usage_error("index add", "%s wants an integer in [%ld, %ld], not '%s'", name,     \
                                       (long)(lo), (long)(hi), v);                                           \
        }                                                                                                    \
        field = n;                                                                                           \
        continue;                                                                                            \
    }                                                                                                        \
    if (missing)                                                                                             \
        goto missing_value;
        STR_OPT("--model", p.model)
        STR_OPT("--index", p.index_spec)
        STR_OPT("--csv-id", p.reader.csv_id)
        STR_OPT("--csv-text", p.reader.csv_text)
        STR_OPT("--csv-question", p.reader.csv_question)
        STR_OPT("--csv-answer", p.reader.csv_answer)
        STR_OPT("--csv-title", p.reader.csv_title)
        STR_OPT("--csv-metadata", p.reader.csv_metadata)
        INT_OPT("--chunk-tokens", 1, 100000, p.chunk_tokens)
        INT_OPT("--chunk-overlap", 0, 100000, p.chunk_overlap)
        INT_OPT("--batch", 1, 65536, p.batch)
        INT_OPT("--threads", 1, 256, p.threads)
        INT_OPT("--max-record-bytes", 1, 1L << 40, p.reader.max_record_bytes)
        if ((v = sem_cli_opt_value(argc, argv, &i, "--format", &missing)) != NULL) {
            int f = sem_input_format_parse(v);
            if (f < 0) {
                free(pos);
                return sem_cli_usage_error("index add", "unknown --format '%s' (auto, jsonl, csv, text, beir)", v);
            }
            p.reader.format = (sem_input_format)f;
            continue;
        }
        if (missing)
            goto missing_value;
        if ((v = sem_cli_opt_value(argc, argv, &i, "--on-error", &missing)) != NULL) {
            int e = sem_on_error_parse(v);
            if (e < 0) {
                free(pos);
                return sem_cli_usage_error("index add", "--on-error wants skip or fail, not '%s'", v);
            }
            p.on_error = (sem_on_error)e;
            continue;
        }
        if (missing)
            goto missing_value;
        if (sem_cli_is_quiet(a)) {
            quiet = 1;
            continue;
        }
        if (strcmp(a, "--lexical") == 0) {
            lexical = 1;
            continue;
        }
        if (strcmp(a, "--no-calibrate") == 0) {
            no_calibrate = 1;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            free(pos);
            return sem_cli_usage_error("index add", "unknown option '%s'", a);
        }
        pos[npos++] = a;
        continue;
    missing_value:
        free(pos);
        return sem_cli_usage_error("index add", "%s needs a value", a);
    }
    if (npos < 2) {
        free(pos);
        return sem_cli_usage_error("index add", npos ? "no INPUT given" : "no KB and no INPUT given");
    }
    if (lexical && p.model) {
        free(pos);
        return sem_cli_usage_error("index add", "--lexical and --model exclude each other");
    }
    /* a new KB gets the default model unless --lexical; an existing KB keeps the model it was made with */
    int is_new = !sem_kb_exists(pos[0]);
    if (lexical && !is_new) {
        rc = sem_cli_usage_error("index add", "--lexical applies to a new KB only (%s exists)", pos[0]);
        free(pos);
        return rc;
    }
    if (!is_new && p.index_spec) { /* the spec is the KB's, fixed at creation: compact changes it */
        fprintf(stderr, "semsearch: warning: --index %s is ignored: %s exists and keeps its index spec (change it "
                "with 'semsearch kb compact %s --index SPEC')\n", p.index_spec, pos[0], pos[0]);
        p.index_spec = NULL;
    }
    struct bar b = {!quiet && isatty(2)};
    p.progress = on_progress;
    p.progress_ud = &b;
    if (quiet)
        sem_cli_set_quiet();
    sem_model_pick pick; /* holds the picked model's folder until the end */
    if (is_new && !lexical && !p.model)
        p.model = new_kb_model(pos + 1, npos - 1, &p.reader, &pick);
    sem_error err;
    sem_error_clear(&err);
    sem_index_stats st;
    int r = sem_index_add(pos[0], pos + 1, npos - 1, &p, &st, &err);
    if (b.tty)
        fputc('\n', stderr);
    if (r != SEM_OK)
        rc = sem_cli_fail(&err);
    if (!quiet || r != SEM_OK) {
        if (st.created && st.lexical_only)
            fprintf(stderr, "semsearch: notice: %s has no model: lexical (FTS5) search only%s\n", pos[0],
                    lexical ? "" : "; there is no default model: pass --model to a new KB for semantic search");
        printf("%s: %ld document%s added, %ld replaced (%ld passage%s), %ld unchanged, %ld skipped as invalid, "
               "in %.1f s", pos[0], st.docs_added, st.docs_added == 1 ? "" : "s", st.docs_replaced, st.passages,
               st.passages == 1 ? "" : "s", st.docs_unchanged, st.docs_failed, st.seconds);
        if (st.seconds > 0 && st.passages)
            printf(" (%.1f passages/s)", (double)st.passages / st.seconds);
        printf("\n");
    }
    /* the KB changed: weigh hybrid search anew on it (docs/query.md, "Calibrated hybrid weight") */
    if (r == SEM_OK && !no_calibrate && !st.lexical_only && (st.created || st.docs_added || st.docs_replaced))
        sem_cli_calibrate(pos[0], p.model, quiet, 1);
    free(pos);
    return rc;
}

static int cmd_rm(int argc, char **argv)
{
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (sem_cli_is_help(argv[i])) {
            usage(stdout);
            return SEM_EXIT_OK;
        }
        if (strcmp(argv[i], "--") == 0)
            break;
        if (sem_cli_is_quiet(argv[i]))
            continue;
        if (argv[i][0] == '-' && argv[i][1])
            return sem_cli_usage_error("index rm", "unknown option '%s' (use -- before ids starting with -)",
                                       argv[i]);
        npos++;
    }
    /* positional: KB then ids; everything after "--" is an id */
    const char **pos = calloc((size_t)argc, sizeof *pos);
    if (!pos)
        return SEM_EXIT_FAIL;
    npos = 0;
    int dashdash = 0;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (!dashdash && strcmp(argv[i], "--") == 0) {
            dashdash = 1;
            continue;
        }
        if (!dashdash && sem_cli_is_quiet(argv[i])) {
            quiet = 1;
            continue;
        }
        pos[npos++] = argv[i];
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

int sem_cmd_index(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SEM_EXIT_USAGE;
    }
    if (sem_cli_is_help(argv[1])) {
        usage(stdout);
        return SEM_EXIT_OK;
    }
    if (strcmp(argv[1], "add") == 0)
        return cmd_add(argc - 1, argv + 1);
    if (strcmp(argv[1], "rm") == 0)
        return cmd_rm(argc - 1, argv + 1);
    return sem_cli_usage_error("index", "unknown subcommand '%s' (add, rm)", argv[1]);
}
