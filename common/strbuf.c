/* common/strbuf.c: a growable string buffer (see strbuf.h). */
#include "common/strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for extra more bytes plus the terminator; -1 (and oom set) when that cannot be done. */
static int grow(sem_strbuf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (extra > SIZE_MAX - b->len - 1) {
        b->oom = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void sem_strbuf_put(sem_strbuf *b, const void *data, size_t n)
{
    if (grow(b, n))
        return;
    if (n)
        memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sem_strbuf_puts(sem_strbuf *b, const char *s)
{
    sem_strbuf_put(b, s, strlen(s));
}

void sem_strbuf_printf(sem_strbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        sem_strbuf_put(b, small, (size_t)n);
        return;
    }
    if (grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sem_strbuf_xml_escaped(sem_strbuf *b, const char *t)
{
    for (; t && *t; t++) {
        switch (*t) {
        case '&': sem_strbuf_puts(b, "&amp;"); break;
        case '<': sem_strbuf_puts(b, "&lt;"); break;
        case '>': sem_strbuf_puts(b, "&gt;"); break;
        case '"': sem_strbuf_puts(b, "&quot;"); break;
        case '\'': sem_strbuf_puts(b, "&apos;"); break;
        default:
            if ((unsigned char)*t >= 0x20)
                sem_strbuf_put(b, t, 1);
        }
    }
}

char *sem_strbuf_finish(sem_strbuf *b)
{
    char *s = NULL;
    if (!b->oom)
        s = b->s ? b->s : strdup("");
    else
        free(b->s);
    *b = (sem_strbuf){0};
    return s;
}

void sem_strbuf_free(sem_strbuf *b)
{
    if (!b)
        return;
    free(b->s);
    *b = (sem_strbuf){0};
}
