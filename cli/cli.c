/* cli/cli.c: the command table, the option-table parser and --help printer, and helpers shared by the
 * subcommands (see cli.h). */
#include "cli/cli.h"
#include "common/fileio.h"
#include "common/log.h"
#include "encoder/encoder.h"
#include "hub/hub.h"
#include "store/kb.h"

#include <cblas.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- the command table ---- */

const sem_cli_command sem_cli_commands[] = {
    {"tokenize", NULL, sem_cmd_tokenize, "tokenize JSON lines exactly as HF BertTokenizer"},
    {"embed", NULL, sem_cmd_embed, "embed JSON lines of text with a BERT model"},
    {"fill-mask", NULL, sem_cmd_fill_mask, "predict [MASK] tokens with a masked-LM model"},
    {"kb", NULL, NULL, "create and inspect knowledge bases"},
    {"kb", "create", sem_cmd_kb_create, "create an empty KB for a model's vectors or raw vectors"},
    {"kb", "info", sem_cmd_kb_info, "counts, model, index type and sizes, memory estimate"},
    {"kb", "check", sem_cmd_kb_check, "compare the vector index with SQLite (exit 1 if they differ)"},
    {"kb", "calibrate", sem_cmd_kb_calibrate, "calibrate and record the KB's hybrid weight"},
    {"kb", "compact", sem_cmd_kb_compact, "rebuild and retrain the index from SQLite"},
    {"kb", "export", sem_cmd_kb_export, "passages and vectors as JSON lines or .npy"},
    {"index", NULL, NULL, "add documents to a knowledge base and remove them"},
    {"index", "add", sem_cmd_index_add, "read, split, encode and store documents (creates the KB)"},
    {"index", "rm", sem_cmd_index_rm, "delete documents by id"},
    {"query", NULL, sem_cmd_query, "ask a knowledge base a question"},
    {"serve", NULL, sem_cmd_serve, "serve knowledge bases over HTTP"},
    {"eval", NULL, NULL, "offline evaluation"},
    {"eval", "ann", sem_cmd_eval_ann, "nearest-neighbour recall, speed and size of FAISS indexes (JSON, table, SVG "
                                      "plot)"},
    {"eval", "retrieval", sem_cmd_eval_retrieval, "ranking quality on BEIR-format queries and qrels (nDCG@10, "
                                                  "MRR@10, Recall, MAP)"},
    {"eval", "sts", sem_cmd_eval_sts, "correlation of a model's cosine similarity with STS Benchmark gold scores"},
    {"model", NULL, NULL, "download, list and locate models"},
    {"model", "pull", sem_cmd_model_pull, "download a model from the HuggingFace hub into the cache"},
    {"model", "list", sem_cmd_model_list, "the cached models"},
    {"model", "path", sem_cmd_model_path, "the folder a --model value resolves to"},
    {"train", NULL, NULL, "train or adapt a BERT model"},
    {"train", "mlm", sem_cmd_train_mlm, "masked-LM pretraining on text files"},
    {"train", "contrastive", sem_cmd_train_contrastive, "contrastive sentence training on pairs (or SimCSE)"},
    {"adapt", NULL, sem_cmd_adapt, "adapt a knowledge base's model to its own text, then re-encode it"},
    {"version", NULL, sem_cmd_version, "print versions of semsearch and its libraries"},
    {NULL, NULL, NULL, NULL},
};

/* "create, info, check" for group, into buf. */
static void sub_names(const char *group, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    for (const sem_cli_command *c = sem_cli_commands; c->group && len < cap; c++)
        if (c->sub && strcmp(c->group, group) == 0)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", c->sub);
}

void sem_cli_print_commands(FILE *f, const char *group)
{
    char subs[256];
    if (!group) {
        fprintf(f, "semsearch: semantic search with a BERT encoder, FAISS and SQLite\n\n"
                   "Usage: semsearch COMMAND [ARGS...]\n\nCommands:\n");
        for (const sem_cli_command *c = sem_cli_commands; c->group; c++) {
            if (c->sub)
                continue;
            sub_names(c->group, subs, sizeof subs);
            fprintf(f, subs[0] ? "  %-10s %s (%s)\n" : "  %-10s %s\n", c->group, c->summary, subs);
        }
        fprintf(f, "\nRun 'semsearch COMMAND --help' for a command's options.\n");
        return;
    }
    for (const sem_cli_command *c = sem_cli_commands; c->group; c++)
        if (!c->sub && strcmp(c->group, group) == 0)
            fprintf(f, "Usage: semsearch %s COMMAND [options]\n\n%c%s.\n\nCommands:\n", group,
                    toupper((unsigned char)c->summary[0]), c->summary + 1);
    for (const sem_cli_command *c = sem_cli_commands; c->group; c++) {
        char name[48];
        snprintf(name, sizeof name, "%s %s", c->group, c->sub ? c->sub : "");
        if (c->sub && strcmp(c->group, group) == 0)
            fprintf(f, "  %-17s %s\n", name, c->summary);
    }
    fprintf(f, "\nRun 'semsearch %s COMMAND --help' for a command's options.\n", group);
}

/* ---- the option-table parser ---- */

/* Stores v into an integer field of size bytes (int, long, int64_t or size_t: v is in range). */
static void store_int(void *dst, size_t size, long v)
{
    if (size == sizeof(int)) {
        int x = (int)v;
        memcpy(dst, &x, sizeof x);
    } else if (size == sizeof(int64_t)) {
        int64_t x = v;
        memcpy(dst, &x, sizeof x);
    }
}

/* An option table's integer bound (a double, so that one field holds both kinds) as a long, clamped to what a field
 * of size bytes holds: (long)x is undefined for x >= 2^63, and 0x7fffffffffffffff as a double is 2^63. */
static long int_bound(double x, size_t size)
{
    long max = size == sizeof(int) ? INT_MAX : LONG_MAX, min = size == sizeof(int) ? INT_MIN : LONG_MIN;
    if (x >= (double)max)
        return max;
    if (x <= (double)min)
        return min;
    return (long)x;
}

static void store_double(void *dst, size_t size, double v)
{
    if (size == sizeof(float)) {
        float x = (float)v;
        memcpy(dst, &x, sizeof x);
    } else {
        memcpy(dst, &v, sizeof v);
    }
}

/* The option argv[i] names ("--name", "--name=V", "-k"); *inline_value receives V (or NULL). */
static const sem_cli_opt *find_opt(const sem_cli_opt *opts, const char *a, const char **inline_value)
{
    *inline_value = NULL;
    for (const sem_cli_opt *o = opts; o->kind != SEM_OPT_END; o++) {
        if (o->kind == SEM_OPT_SECTION)
            continue;
        if (o->short_name && a[0] == '-' && a[1] == o->short_name && a[2] == 0)
            return o;
        size_t n = strlen(o->name);
        if (strncmp(a, o->name, n) != 0)
            continue;
        if (a[n] == 0)
            return o;
        if (a[n] == '=' && o->name[1] == '-') {
            *inline_value = a + n + 1;
            return o;
        }
    }
    return NULL;
}

/* Stores value v of option o; 0, or SEM_EXIT_USAGE after the message. */
static int take_value(const sem_cli_cmd *cmd, const sem_cli_opt *o, const char *v)
{
    const char *cn = cmd->name;
    long n;
    double d;
    switch (o->kind) {
    case SEM_OPT_INT:
        if (sem_cli_parse_int(v, int_bound(o->lo, o->size), int_bound(o->hi, o->size), &n))
            return sem_cli_usage_error(cn, "%s wants an integer in [%ld, %ld], not '%s'", o->name,
                                       int_bound(o->lo, o->size), int_bound(o->hi, o->size), v);
        store_int(o->dst, o->size, n);
        return 0;
    case SEM_OPT_DOUBLE:
        if (sem_cli_parse_double(v, o->lo, o->hi, &d) || (o->open_lo && d <= o->lo))
            return sem_cli_usage_error(cn, "%s wants a number in %c%g, %g], not '%s'", o->name, o->open_lo ? '(' : '[',
                                       o->lo, o->hi, v);
        store_double(o->dst, o->size, d);
        return 0;
    case SEM_OPT_STRING:
        if (o->nonempty && !*v)
            return sem_cli_usage_error(cn, "%s needs a value", o->name);
        if (o->parse && o->parse(v) < 0)
            return sem_cli_usage_error(cn, "%s wants %s, not '%s'", o->name, o->want, v);
        *(const char **)o->dst = v;
        return 0;
    case SEM_OPT_ENUM:
        if ((n = o->parse(v)) < 0)
            return sem_cli_usage_error(cn, "%s wants %s, not '%s'", o->name, o->want, v);
        store_int(o->dst, o->size, n);
        return 0;
    case SEM_OPT_LIST:
        if (o->parse && o->parse(v) < 0)
            return sem_cli_usage_error(cn, "%s wants %s, not '%s'", o->name, o->want, v);
        if (*o->count >= o->max)
            return sem_cli_usage_error(cn, "at most %d %s options", o->max, o->name);
        ((const char **)o->dst)[(*o->count)++] = v;
        return 0;
    case SEM_OPT_CALL:
        if (o->call(v, o->dst) != 0)
            return sem_cli_usage_error(cn, "%s wants %s, not '%s'", o->name, o->want, v);
        return 0;
    default:
        return 0;
    }
}

/* Handles the option o at argv[*i] (advancing *i past what it takes); 0, or SEM_EXIT_USAGE after the message. */
static int take_opt(const sem_cli_cmd *cmd, const sem_cli_opt *o, const char *inline_value, int argc, char **argv,
                    int *i, int n_pos)
{
    switch (o->kind) {
    case SEM_OPT_FLAG:
        if (inline_value)
            return sem_cli_usage_error(cmd->name, "%s takes no value", o->name);
        store_int(o->dst, o->size, o->set);
        return 0;
    case SEM_OPT_JSON:
        sem_cli_opt_json(argc, argv, i, !cmd->pos || n_pos >= cmd->max_pos, (const char **)o->dst);
        return 0;
    case SEM_OPT_FILES: {
        int start = *i + 1, k = start;
        while (k < argc && strncmp(argv[k], "--", 2) != 0)
            k++;
        if (inline_value || k == start)
            return sem_cli_usage_error(cmd->name, "%s needs at least one file", o->name);
        *(char ***)o->dst = argv + start;
        *o->count = k - start;
        *i = k - 1;
        return 0;
    }
    default:
        if (!inline_value && *i + 1 >= argc)
            return sem_cli_usage_error(cmd->name, "%s needs a value", o->name);
        return take_value(cmd, o, inline_value ? inline_value : argv[++*i]);
    }
}

int sem_cli_parse(const sem_cli_cmd *cmd, int argc, char **argv, int *status)
{
    int n_pos = 0, dashdash = 0;
    *status = SEM_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *iv;
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = 1;
            continue;
        }
        if (!dashdash && sem_cli_is_help(a)) {
            sem_cli_print_help(cmd, stdout);
            *status = SEM_EXIT_OK;
            return 0;
        }
        if (!dashdash && a[0] == '-' && a[1]) {
            const sem_cli_opt *o = find_opt(cmd->opts, a, &iv);
            if (o) {
                if (take_opt(cmd, o, iv, argc, argv, &i, n_pos))
                    return 0;
                continue;
            }
            if (!cmd->pos || n_pos + 1 != cmd->dash_pos) {
                sem_cli_usage_error(cmd->name, "unknown option '%s'", a);
                return 0;
            }
        }
        if (!cmd->pos || n_pos >= cmd->max_pos) {
            sem_cli_usage_error(cmd->name, "unexpected argument '%s'%s", a, cmd->pos_hint ? cmd->pos_hint : "");
            return 0;
        }
        cmd->pos[n_pos++] = a;
    }
    if (cmd->n_pos)
        *cmd->n_pos = n_pos;
    *status = SEM_EXIT_OK;
    return 1;
}

/* "  -k, --name META" for the help column. */
static void opt_label(const sem_cli_opt *o, char *buf, size_t cap)
{
    int n = o->short_name ? snprintf(buf, cap, "  -%c, %s", o->short_name, o->name) : snprintf(buf, cap, "  %s",
                                                                                                o->name);
    if (o->meta && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, " %s", o->meta);
}

/* Prints help text lines: the first after the label (or under it when the label is too wide), the rest aligned. */
static void help_lines(FILE *f, const char *label, int width, const char *help)
{
    int len = (int)strlen(label);
    if (len >= width)
        fprintf(f, "%s\n%*s", label, width, "");
    else
        fprintf(f, "%-*s", width, label);
    for (const char *h = help ? help : ""; ;) {
        const char *nl = strchr(h, '\n');
        fprintf(f, "%.*s\n", nl ? (int)(nl - h) : (int)strlen(h), h);
        if (!nl || !nl[1])
            break;
        h = nl + 1;
        fprintf(f, "%*s", width, "");
    }
}

void sem_cli_print_help(const sem_cli_cmd *cmd, FILE *f)
{
    char label[96];
    int width = 0;
    for (const sem_cli_opt *o = cmd->opts; o->kind != SEM_OPT_END; o++) {
        if (o->kind == SEM_OPT_SECTION)
            continue;
        opt_label(o, label, sizeof label);
        int w = (int)strlen(label) + 2;
        if (w <= 26 && w > width)
            width = w;
    }
    if (width < 16)
        width = 16;
    fputs(cmd->usage, f);
    for (const sem_cli_opt *o = cmd->opts; o->kind != SEM_OPT_END; o++) {
        if (o->kind == SEM_OPT_SECTION) {
            fprintf(f, "%s\n", o->name);
            continue;
        }
        opt_label(o, label, sizeof label);
        help_lines(f, label, width, o->help);
    }
    help_lines(f, "  -h, --help", width, "this help");
    if (cmd->footer)
        fprintf(f, "\n%s", cmd->footer);
}

/* ---- helpers ---- */

int sem_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "semsearch%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'semsearch %s%s--help' for usage.\n", cmd ? cmd : "", cmd ? " " : "");
    return SEM_EXIT_USAGE;
}

int sem_cli_fail(const sem_error *err)
{
    fprintf(stderr, "semsearch: error: %s\n", err && err->msg[0] ? err->msg : sem_strerror(err ? err->code : -1));
    if (err && err->code == SEM_EBUSY && strstr(err->msg, SEM_KB_BUSY_TEXT)) /* the store names no command */
        fprintf(stderr, "semsearch: a running 'semsearch serve' or 'index add' holds it (or it was named twice): stop "
                        "that process first, or add documents through the server's POST /documents\n");
    return SEM_EXIT_FAIL;
}

int sem_cli_is_help(const char *arg)
{
    return arg && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0);
}

int sem_cli_parse_int(const char *arg, long lo, long hi, long *out)
{
    if (!arg || !*arg)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int sem_cli_parse_double(const char *arg, double lo, double hi, double *out)
{
    if (!arg || !*arg)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

const char *sem_cli_model_dir(const char *given)
{
    static char dir[4096];
    sem_error err;
    sem_error_clear(&err);
    if (sem_hub_resolve_model(given, dir, sizeof dir, &err) != SEM_OK) {
        sem_cli_fail(&err);
        return NULL;
    }
    return dir;
}

int sem_cli_opt_json(int argc, char **argv, int *i, int take_next, const char **file)
{
    const char *a = argv[*i];
    if (strncmp(a, "--json=", 7) == 0) {
        *file = a[7] ? a + 7 : "-";
        return 1;
    }
    if (strcmp(a, "--json") != 0)
        return 0;
    *file = "-";
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (take_next && v && (strcmp(v, "-") == 0 || v[0] != '-')) {
        *file = v;
        ++*i;
    }
    return 1;
}

void sem_cli_set_quiet(void)
{
    static int level = SEM_LOG_ERROR;
    sem_log_set(sem_log_stderr, &level);
}

void sem_cli_set_threads(long n)
{
    if (n < 1)
        return;
    if (n > 64)
        n = 64;
    sem_encoder_set_default_threads((int)n); /* models loaded afterwards without n_threads */
    openblas_set_num_threads((int)n);        /* the trainer's GEMMs (train, adapt) */
#ifdef _OPENMP
    omp_set_num_threads((int)n); /* the trainer's own loops (attention, activations, AdamW) */
#endif
}

static volatile sig_atomic_t g_stop_signal;
static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop_signal = 1;
}

volatile sig_atomic_t *sem_cli_catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &g_stop_signal;
}

int sem_cli_write_text(const char *file, const char *text)
{
    if (strcmp(file, "-") == 0) {
        if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
            fprintf(stderr, "semsearch: error: cannot write the output\n");
            return -1;
        }
        return 0;
    }
    sem_error err;
    sem_error_clear(&err);
    if (sem_write_file_atomic(file, text, strlen(text), &err) != SEM_OK) {
        sem_cli_fail(&err);
        return -1;
    }
    return 0;
}

int sem_cli_write_line(const char *file, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    char *line = text ? malloc(n + 2) : NULL;
    if (!line) {
        fprintf(stderr, "semsearch: error: out of memory\n");
        return -1;
    }
    memcpy(line, text, n);
    memcpy(line + n, "\n", 2);
    int rc = sem_cli_write_text(file, line);
    free(line);
    return rc;
}
