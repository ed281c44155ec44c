/* cli/cli.h: what the semsearch subcommands share. Each subcommand is one function with main()'s signature
 * (argv[0] is the subcommand's name) returning the process exit status:
 *   0 success, 1 the work failed (message on stderr), 2 usage error (unknown command or bad flag).
 * Subcommands print results on stdout and messages on stderr; libraries below them never print.
 *
 * Every command describes its options in one table (sem_cli_opt) that sem_cli_parse reads argv with and prints
 * --help from; every command is one row of the command table (sem_cli_commands, cli.c) that main.c dispatches
 * through. A command is a thin layer: options in, one library call, results out. */
#ifndef SEM_CLI_H
#define SEM_CLI_H

#include "common/error.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#define SEM_EXIT_OK 0
#define SEM_EXIT_FAIL 1
#define SEM_EXIT_USAGE 2

/* ---- the commands (one file each, cli/cmd_*.c) ---- */

int sem_cmd_version(int argc, char **argv);
int sem_cmd_tokenize(int argc, char **argv);
int sem_cmd_embed(int argc, char **argv);
int sem_cmd_fill_mask(int argc, char **argv);
int sem_cmd_kb_create(int argc, char **argv);
int sem_cmd_kb_info(int argc, char **argv);
int sem_cmd_kb_calibrate(int argc, char **argv);
int sem_cmd_kb_check(int argc, char **argv);
int sem_cmd_kb_compact(int argc, char **argv);
int sem_cmd_kb_export(int argc, char **argv);
int sem_cmd_index_add(int argc, char **argv);
int sem_cmd_index_rm(int argc, char **argv);
int sem_cmd_query(int argc, char **argv);
int sem_cmd_serve(int argc, char **argv);
int sem_cmd_eval_ann(int argc, char **argv);
int sem_cmd_eval_retrieval(int argc, char **argv);
int sem_cmd_eval_sts(int argc, char **argv);
int sem_cmd_model_pull(int argc, char **argv);
int sem_cmd_model_list(int argc, char **argv);
int sem_cmd_model_path(int argc, char **argv);
int sem_cmd_train_mlm(int argc, char **argv);
int sem_cmd_train_contrastive(int argc, char **argv);
int sem_cmd_adapt(int argc, char **argv);

/* One row of the command table. A command without subcommands has group = its name and sub = NULL; a group
 * (kb, index, eval, model, train) has one row with sub = NULL and fn = NULL (its summary), then one row per
 * subcommand. The table ends with a row whose group is NULL. */
typedef struct sem_cli_command {
    const char *group;
    const char *sub;
    int (*fn)(int argc, char **argv);
    const char *summary;
} sem_cli_command;
extern const sem_cli_command sem_cli_commands[];

/* ---- the option table ---- */

typedef enum sem_opt_kind {
    SEM_OPT_END = 0, /* ends a table */
    SEM_OPT_SECTION, /* a heading in --help ("Options:"): name is the heading */
    SEM_OPT_FLAG,    /* no value: stores .set into the integer field */
    SEM_OPT_INT,     /* a whole decimal number in [lo, hi] into an integer field (int, long, int64_t, size_t) */
    SEM_OPT_DOUBLE,  /* a number in [lo, hi] ((lo, hi] with open_lo; NaN never) into a double or float field */
    SEM_OPT_STRING,  /* the value into a const char * field (argv's string, not copied); nonempty refuses "";
                        .parse (may be NULL) checks it (< 0: an error naming .want) */
    SEM_OPT_ENUM,    /* .parse(value) >= 0 into an integer field; < 0 is an error naming .want */
    SEM_OPT_LIST,    /* repeatable: values into const char *dst[max], the count in *count; .parse (may be NULL)
                        validates each (< 0: an error naming .want) */
    SEM_OPT_FILES,   /* the following arguments up to the next one starting with "--": char **, count in *count */
    SEM_OPT_JSON,    /* --json [FILE] as sem_cli_opt_json reads it: FILE or "-" into a const char * field; FILE
                        is taken from the next argument once every positional argument is given */
    SEM_OPT_CALL,    /* .call(value, dst) == 0, else an error naming .want */
} sem_opt_kind;

typedef struct sem_cli_opt {
    sem_opt_kind kind;
    const char *name;  /* "--threads", or "-k" for an option with only a short name; a SECTION's heading */
    char short_name;   /* 'q' makes -q the same option; 0: none */
    void *dst;         /* the field the value goes into */
    size_t size;       /* sizeof the field (FLAG, INT, DOUBLE, ENUM) */
    const char *meta;  /* the value's name in --help ("N", "DIR"); NULL for a flag */
    const char *help;  /* --help text; each '\n' starts a continuation line under the first */
    double lo, hi;     /* INT, DOUBLE: the accepted range */
    int open_lo;       /* DOUBLE: lo itself is refused */
    int nonempty;      /* STRING: "" is refused */
    int set;           /* FLAG: the value stored */
    int (*parse)(const char *value);           /* ENUM: the value's number, < 0 if unknown; STRING, LIST: a check */
    int (*call)(const char *value, void *dst); /* CALL: 0, or -1 for a bad value */
    const char *want;  /* ENUM, LIST, CALL: what a good value looks like, for the error message */
    int max;           /* LIST: capacity of dst */
    int *count;        /* LIST, FILES: how many values */
} sem_cli_opt;

#define SEM_OPT_SEC(title) {.kind = SEM_OPT_SECTION, .name = (title)}
#define SEM_OPT_F(nm, sh, field, hlp)                                                                          \
    {.kind = SEM_OPT_FLAG, .name = (nm), .short_name = (sh), .dst = &(field), .size = sizeof(field), .set = 1, \
     .help = (hlp)}
#define SEM_OPT_FV(nm, field, value, hlp)                                                                      \
    {.kind = SEM_OPT_FLAG, .name = (nm), .dst = &(field), .size = sizeof(field), .set = (value), .help = (hlp)}
#define SEM_OPT_I(nm, sh, field, mt, l, h, hlp)                                                               \
    {.kind = SEM_OPT_INT, .name = (nm), .short_name = (sh), .dst = &(field), .size = sizeof(field),          \
     .meta = (mt), .lo = (double)(l), .hi = (double)(h), .help = (hlp)}
#define SEM_OPT_D(nm, field, mt, l, h, hlp)                                                                    \
    {.kind = SEM_OPT_DOUBLE, .name = (nm), .dst = &(field), .size = sizeof(field), .meta = (mt), .lo = (l),   \
     .hi = (h), .help = (hlp)}
#define SEM_OPT_D_OPEN(nm, field, mt, l, h, hlp)                                                               \
    {.kind = SEM_OPT_DOUBLE, .name = (nm), .dst = &(field), .size = sizeof(field), .meta = (mt), .lo = (l),   \
     .hi = (h), .open_lo = 1, .help = (hlp)}
#define SEM_OPT_S(nm, sh, field, mt, hlp)                                                                      \
    {.kind = SEM_OPT_STRING, .name = (nm), .short_name = (sh), .dst = &(field), .meta = (mt), .help = (hlp)}
#define SEM_OPT_S1(nm, field, mt, hlp)                                                                         \
    {.kind = SEM_OPT_STRING, .name = (nm), .dst = &(field), .meta = (mt), .nonempty = 1, .help = (hlp)}
#define SEM_OPT_SC(nm, field, mt, fn, wnt, hlp)                                                                \
    {.kind = SEM_OPT_STRING, .name = (nm), .dst = &(field), .meta = (mt), .parse = (fn), .want = (wnt),       \
     .help = (hlp)}
#define SEM_OPT_E(nm, field, mt, fn, wnt, hlp)                                                                 \
    {.kind = SEM_OPT_ENUM, .name = (nm), .dst = &(field), .size = sizeof(field), .meta = (mt), .parse = (fn),  \
     .want = (wnt), .help = (hlp)}
#define SEM_OPT_L(nm, arr, n, mt, fn, wnt, hlp)                                                                \
    {.kind = SEM_OPT_LIST, .name = (nm), .dst = (arr), .max = (int)(sizeof(arr) / sizeof((arr)[0])),          \
     .count = &(n), .meta = (mt), .parse = (fn), .want = (wnt), .help = (hlp)}
#define SEM_OPT_FILES_(nm, field, n, mt, hlp)                                                                  \
    {.kind = SEM_OPT_FILES, .name = (nm), .dst = &(field), .count = &(n), .meta = (mt), .help = (hlp)}
#define SEM_OPT_JSON_(field, hlp) {.kind = SEM_OPT_JSON, .name = "--json", .dst = &(field), .meta = "[FILE]", .help = (hlp)}
#define SEM_OPT_C(nm, dst_, mt, fn, wnt, hlp)                                                                  \
    {.kind = SEM_OPT_CALL, .name = (nm), .dst = (dst_), .meta = (mt), .call = (fn), .want = (wnt), .help = (hlp)}
/* -q, --quiet (every command takes it; docs: README "Command-line conventions") */
#define SEM_OPT_QUIET(field, hlp) SEM_OPT_F("--quiet", 'q', field, hlp)

/* A command's arguments: its option table, its positional arguments and its --help text. */
typedef struct sem_cli_cmd {
    const char *name;        /* "eval ann": messages say "semsearch eval ann: ..." */
    const char *usage;       /* --help before the options: usage lines and what the command does */
    const sem_cli_opt *opts; /* ends with an SEM_OPT_END entry ({0}) */
    const char *footer;      /* --help after the options (examples); may be NULL */
    const char **pos;        /* positional arguments go here; NULL: none are taken */
    int max_pos;             /* capacity of pos */
    int *n_pos;              /* how many positional arguments were given */
    int dash_pos;            /* 1-based: the positional argument that may begin with '-' (a question); 0: none */
    const char *pos_hint;    /* added to the "unexpected argument" error, e.g. " (quote the question)" */
} sem_cli_cmd;

/* Reads argv[1..argc-1] by cmd: "--name VALUE", "--name=VALUE", "-k VALUE", flags, positional arguments, and
 * "--" after which every argument is positional. -h/--help prints sem_cli_print_help on stdout. Returns 1 when
 * the command should run; 0 when it must stop with *status: SEM_EXIT_OK after --help, SEM_EXIT_USAGE after an
 * unknown option, a missing value, a value that is not a number, out of range or not one of the choices, or an
 * unexpected argument (the message and a pointer to --help on stderr). */
int sem_cli_parse(const sem_cli_cmd *cmd, int argc, char **argv, int *status);

/* The --help text: cmd->usage, one line per option (continuation lines aligned), -h/--help, cmd->footer. */
void sem_cli_print_help(const sem_cli_cmd *cmd, FILE *f);

/* The usage of the program (rows of sem_cli_commands without sub) or of a group's subcommands. */
void sem_cli_print_commands(FILE *f, const char *group);

/* ---- helpers ---- */

/* Prints "semsearch CMD: message" and a hint to run --help on stderr; returns SEM_EXIT_USAGE. */
int sem_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "semsearch: error: message" from err on stderr; returns SEM_EXIT_FAIL. */
int sem_cli_fail(const sem_error *err);

/* 1 if arg is -h or --help. */
int sem_cli_is_help(const char *arg);

/* Parses a whole decimal integer in [lo, hi] into *out; 0 on success, -1 if arg is not such a number. */
int sem_cli_parse_int(const char *arg, long lo, long hi, long *out);

/* Parses a whole decimal number in [lo, hi] (NaN never is) into *out; 0 on success, -1 otherwise. */
int sem_cli_parse_double(const char *arg, double lo, double hi, double *out);

/* --json [FILE]: 1 if argv[*i] is "--json" or "--json=FILE", else 0. *file receives FILE, or "-" (stdout) when
 * none is given. FILE is the next argument when take_next is 1 and there is one that is "-" or does not start
 * with '-' (a command with positional arguments passes 0 until it has them all, so that `--json KB ...` keeps
 * working). Advances *i past a value it takes. */
int sem_cli_opt_json(int argc, char **argv, int *i, int take_next, const char **file);

/* Quiet mode: lowers the library log to errors only. */
void sem_cli_set_quiet(void);

/* --threads N for commands that train (train, adapt): OpenBLAS's and OpenMP's threads for the rest of the process.
 * Commands that only encode pass N to the encoder instead (sem_model_params.n_threads, or the n_threads of the
 * open parameters that load a model). */
void sem_cli_set_threads(long n);

/* Catches SIGINT and SIGTERM for the rest of the process: the flag returned becomes nonzero at the first one, for
 * long runs (train, adapt) that stop cleanly between updates. Call from the main thread before starting work. */
volatile sig_atomic_t *sem_cli_catch_stop_signals(void);

/* Writes text (a JSON report) to file: "-" is stdout, else the file is replaced atomically. 0 on success, else
 * prints the error and returns -1. */
int sem_cli_write_text(const char *file, const char *text);

/* The same for text that lacks its final newline: writes text and "\n". */
int sem_cli_write_line(const char *file, const char *text);

/* Resolves a --model value (a model folder, or an ORG/NAME pulled into the hub cache) to a folder path in a
 * static buffer (valid until the next call; the CLI is single-threaded here). On failure prints the error and
 * returns NULL: the caller exits with SEM_EXIT_FAIL. */
const char *sem_cli_model_dir(const char *given);

/* Calibrates the hybrid weight of the KB at kb_dir (opened read-write with its model, or model when not NULL)
 * and records it in the KB (query/search.h, sem_calibrate); prints one line with the weight and its evidence
 * unless quiet. A lexical-only KB is skipped. Returns an exit status (errors printed; with warn_only, a failure
 * is a warning and the status 0). (cli/calibrate.c) */
int sem_cli_calibrate(const char *kb_dir, const char *model, int quiet, int warn_only);

/* Versions of the libraries semsearch links (static strings or a per-call buffer). */
const char *sem_faiss_version(void);

#endif
