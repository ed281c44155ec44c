/* cli/cli.h: what the semsearch subcommands share. Each subcommand is one function with main()'s signature
 * (argv[0] is the subcommand's name) returning the process exit status:
 *   0 success, 1 the work failed (message on stderr), 2 usage error (unknown command or bad flag).
 * Subcommands print results on stdout and messages on stderr; libraries below them never print. */
#ifndef SEM_CLI_H
#define SEM_CLI_H

#include "common/error.h"

#include <signal.h>

#define SEM_EXIT_OK 0
#define SEM_EXIT_FAIL 1
#define SEM_EXIT_USAGE 2

int sem_cmd_version(int argc, char **argv);
int sem_cmd_tokenize(int argc, char **argv);
int sem_cmd_embed(int argc, char **argv);
int sem_cmd_fill_mask(int argc, char **argv);
int sem_cmd_kb(int argc, char **argv);
int sem_cmd_index(int argc, char **argv);
int sem_cmd_query(int argc, char **argv);
int sem_cmd_serve(int argc, char **argv);
int sem_cmd_eval(int argc, char **argv);
int sem_cmd_model(int argc, char **argv);
int sem_cmd_train(int argc, char **argv);
int sem_cmd_adapt(int argc, char **argv);

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

/* ---- options every command spells the same way (docs: README "Command-line conventions") ---- */

/* "--name value" or "--name=value": returns the value and advances *i past it, or NULL when argv[*i] is not
 * --name (then *missing is set to 1 if it is --name without a value). */
const char *sem_cli_opt_value(int argc, char **argv, int *i, const char *name, int *missing);

/* --json [FILE]: 1 if argv[*i] is "--json" or "--json=FILE", else 0. *file receives FILE, or "-" (stdout) when
 * none is given. FILE is the next argument when take_next is 1 and there is one that is "-" or does not start
 * with '-' (a command with positional arguments passes 0 until it has them all, so that `--json KB ...` keeps
 * working). Advances *i past a value it takes. */
int sem_cli_opt_json(int argc, char **argv, int *i, int take_next, const char **file);

/* 1 if arg is -q or --quiet (no progress bars, info messages or summaries; warnings and errors still show). */
int sem_cli_is_quiet(const char *arg);

/* Quiet mode: lowers the library log to errors only. */
void sem_cli_set_quiet(void);

/* --threads N: the encoder's and OpenBLAS's threads for the rest of the process (models loaded afterwards use
 * N threads per forward pass). */
void sem_cli_set_threads(long n);

/* Catches SIGINT and SIGTERM for the rest of the process: the flag returned becomes nonzero at the first one, for
 * long runs (train, adapt) that stop cleanly between updates. Call from the main thread before starting work. */
volatile sig_atomic_t *sem_cli_catch_stop_signals(void);

/* Writes text (a JSON report) to file: "-" is stdout, else the file is replaced atomically. 0 on success, else
 * prints the error and returns -1. */
int sem_cli_write_text(const char *file, const char *text);

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
