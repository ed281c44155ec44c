/* tests/cli/cli_run.h: the harness shared by the tests that run the semsearch binary (tests/cli, tests/eval);
 * header-only, include once per program after test.h.
 *
 * It owns the program's private temporary folder `dir` (made by ev_setup, removed by ev_cleanup) and the
 * buffer `out` that holds the stdout of the last run(); run()'s stderr goes to dir/stderr.txt, read back by
 * stderr_text(). run() sets SEMSEARCH_MODEL=none so that no default model (a developer's, or the one shipped in
 * models/) can change what a test sees, and SEMSEARCH_HOME=dir/home so that no hub cache of the machine can. */
#ifndef SEM_CLI_RUN_H
#define SEM_CLI_RUN_H

#include "test_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static char dir[64];
static char out[1 << 18];

/* Makes dir (/tmp/sem_<tag>_XXXXXX); 0 on success, -1 after printing why not. */
static int ev_setup(const char *tag)
{
    snprintf(dir, sizeof dir, "/tmp/sem_%s_XXXXXX", tag);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

static void ev_cleanup(void)
{
    if (tst_sh("rm -rf '%s'", dir) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* dir/name, in one of 8 rotating buffers (so that a few can stand in one call). */
static const char *path_of(const char *name)
{
    static char p[8][300];
    static int slot;
    char *s = p[slot++ % 8];
    snprintf(s, 300, "%s/%s", dir, name);
    return s;
}

/* Runs `semsearch ARGS` (stdout into out, stderr into dir/stderr.txt); returns the exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[4096], cmd[5000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "env SEMSEARCH_MODEL=none SEMSEARCH_HOME='%s/home' %s %s 2>%s/stderr.txt", dir,
             SEM_BINARY, args, dir);
    return tst_run_capture(cmd, out, sizeof out);
}

/* The stderr of the last run() (its first 8191 bytes). */
static const char *stderr_text(void)
{
    static char buf[8192];
    char *s = tst_slurp(path_of("stderr.txt"), NULL);
    snprintf(buf, sizeof buf, "%s", s ? s : "");
    free(s);
    return buf;
}

#endif
