/* common/log.c: see log.h. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>

static sem_log_fn g_cb;
static void *g_ud;

void sem_log_set(sem_log_fn cb, void *user_data)
{
    g_cb = cb;
    g_ud = user_data;
}

void sem_log(int level, const char *fmt, ...)
{
    sem_log_fn cb = g_cb;
    if (!cb)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cb(level, buf, g_ud);
}

void sem_log_stderr(int level, const char *msg, void *user_data)
{
    int min = user_data ? *(const int *)user_data : SEM_LOG_INFO;
    if (level < min)
        return;
    static const char *names[] = {"debug: ", "", "warning: ", "error: "};
    const char *n = (level >= 0 && level <= 3) ? names[level] : "";
    fprintf(stderr, "semsearch: %s%s\n", n, msg);
}
