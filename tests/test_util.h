/* tests/test_util.h: helpers shared by the test programs that run the semsearch binary or other shell
 * commands and read what they wrote (header-only, static inline; include after test.h).
 *
 *     char out[1 << 16];
 *     int rc = tst_run_capture(SEM_BINARY " kb --help 2>&1", out, sizeof out);   // rc: the exit status
 *
 * Exit statuses: the child's exit code (0..255), or -1 when it could not be started or did not exit normally
 * (killed by a signal), so a crash never reads as an expected failure code. */
#ifndef SEM_TEST_UTIL_H
#define SEM_TEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* The exit status (see above) from a system() or pclose() result. */
static inline int tst_exit_status(int st)
{
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs the shell command cmd with its stdout captured into out (NUL-terminated; the first cap - 1 bytes are
 * kept, the rest is read and dropped so the child never dies of a broken pipe). Returns the exit status. */
static inline int tst_run_capture(const char *cmd, char *out, size_t cap)
{
    if (cap)
        out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = 0;
    char sink[4096];
    for (;;) {
        size_t room = cap > n + 1 ? cap - n - 1 : 0;
        size_t got = room ? fread(out + n, 1, room, p) : fread(sink, 1, sizeof sink, p);
        if (room)
            n += got;
        if (got == 0)
            break;
    }
    if (cap)
        out[n] = 0;
    return tst_exit_status(pclose(p));
}

/* system() with a printf-style command line; returns the exit status. */
static inline int tst_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int tst_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd) {
        fprintf(stderr, "tst_sh: command too long\n");
        return -1;
    }
    return tst_exit_status(system(cmd));
}

/* Makes a fresh folder "/tmp/<name>_XXXXXX" and writes its path into dir (cap bytes); on failure prints why and
 * exits 1 (the test cannot run at all). The caller removes it, e.g. tst_sh("rm -rf '%s'", dir). */
static inline void tst_mkdtemp(char *dir, size_t cap, const char *name)
{
    int n = snprintf(dir, cap, "/tmp/%s_XXXXXX", name);
    if (n < 0 || (size_t)n >= cap || !mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

/* Reads the whole file at path into a malloc'd, NUL-terminated buffer (caller frees); *len (may be NULL)
 * receives its size. NULL when the file cannot be opened or read, or out of memory. */
static inline char *tst_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = 0, cap = 4096;
    char *s = malloc(cap);
    while (s) {
        n += fread(s + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *t = realloc(s, cap * 2);
        if (!t) {
            free(s);
            s = NULL;
        } else {
            s = t;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!s || bad) {
        free(s);
        return NULL;
    }
    s[n] = 0;
    if (len)
        *len = n;
    return s;
}

/* Writes len bytes to path (created or truncated); 0 on success, -1 when it cannot be opened or written. */
static inline int tst_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    ok &= fclose(f) == 0;
    return ok ? 0 : -1;
}

/* The size of the file at path in bytes, or -1 if it cannot be stat'ed. */
static inline long tst_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

#endif
