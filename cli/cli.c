/* cli/cli.c: helpers shared by the subcommands (see cli.h). */
#include "cli/cli.h"
#include "hub/hub.h"

#include <errno.h>
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
