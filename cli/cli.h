/* cli/cli.h: what the semsearch subcommands share. Each subcommand is one function with main()'s signature
 * (argv[0] is the subcommand's name) returning the process exit status:
 *   0 success, 1 the work failed (message on stderr), 2 usage error (unknown command or bad flag).
 * Subcommands print results on stdout and messages on stderr; libraries below them never print. */
#ifndef SEM_CLI_H
#define SEM_CLI_H

#include "common/error.h"

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

/* Resolves a --model value (a model folder, or an ORG/NAME pulled into the hub cache) to a folder path in a
 * static buffer (valid until the next call; the CLI is single-threaded here). On failure prints the error and
 * returns NULL: the caller exits with SEM_EXIT_FAIL. */
const char *sem_cli_model_dir(const char *given);

/* Versions of the libraries semsearch links (static strings or a per-call buffer). */
const char *sem_faiss_version(void);

#endif
