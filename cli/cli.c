/* cli/cli.c: helpers shared by the subcommands (see cli.h). */
#include "cli/cli.h"
#include "common/fileio.h"
#include "common/log.h"
#include "hub/hub.h"
#include "store/kb.h"

#include <cblas.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char *sem_cli_opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != 0)
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
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

int sem_cli_is_quiet(const char *arg)
{
    return arg && (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0);
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
    char v[24];
    snprintf(v, sizeof v, "%ld", n);
    setenv("OPENBLAS_NUM_THREADS", v, 1); /* sem_default_threads(): what a model loaded without n_threads uses */
    openblas_set_num_threads((int)n);
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
