/* common/linereader.c: the bounded line reader (see linereader.h). */
#include "common/linereader.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Reads up to cap bytes, stopping after a newline: a pipe or a terminal that delivers one line at a time (a
 * program driving `semsearch embed` line by line) is answered without waiting for a full chunk. */
static size_t file_source(void *ud, void *buf, size_t cap, int *ioerr)
{
    FILE *f = ud;
    unsigned char *b = buf;
    size_t n = 0;
    flockfile(f);
    while (n < cap) {
        int c = getc_unlocked(f);
        if (c == EOF) {
            if (ferror(f) && n == 0)
                *ioerr = 1;
            break;
        }
        b[n++] = (unsigned char)c;
        if (c == '\n')
            break;
    }
    funlockfile(f);
    return n;
}

void sem_linereader_init_source(sem_linereader *lr, sem_linereader_source src, void *user_data, size_t max_line)
{
    memset(lr, 0, sizeof *lr);
    lr->src = src;
    lr->src_ud = user_data;
    lr->max_line = max_line;
}

void sem_linereader_init(sem_linereader *lr, FILE *f, size_t max_line)
{
    sem_linereader_init_source(lr, file_source, f, max_line);
}

/* Refills the chunk; 0 at the end of input or on a read error (lr->ioerr). */
static int fill(sem_linereader *lr)
{
    if (lr->eof || lr->ioerr)
        return 0;
    int ioerr = 0;
    size_t n = lr->src(lr->src_ud, lr->chunk, SEM_LINEREADER_CHUNK, &ioerr);
    if (n > SEM_LINEREADER_CHUNK)
        n = 0, ioerr = 1; /* a broken source */
    lr->pos = 0;
    lr->end = n;
    if (ioerr)
        lr->ioerr = 1;
    else if (n == 0)
        lr->eof = 1;
    return n > 0;
}

/* Makes room for len + add bytes and a terminator (add <= max_line - len checked by the caller). */
static int reserve(sem_linereader *lr, size_t add)
{
    size_t need = lr->len + add + 1;
    if (need <= lr->cap)
        return 0;
    size_t cap = lr->cap ? lr->cap : 256;
    while (cap < need)
        cap = cap > (SIZE_MAX >> 1) ? need : cap * 2;
    if (cap > lr->max_line + 1 && lr->max_line < SIZE_MAX)
        cap = lr->max_line + 1 > need ? lr->max_line + 1 : need;
    char *p = realloc(lr->line, cap);
    if (!p)
        return -1;
    lr->line = p;
    lr->cap = cap;
    return 0;
}

static int fail(sem_linereader *lr, int code, sem_error *err)
{
    if (code == SEM_ENOMEM) {
        lr->ioerr = 2; /* sticky: later calls report it again */
        return sem_error_set(err, SEM_ENOMEM, "out of memory reading line %ld", lr->lineno + 1);
    }
    return sem_error_set(err, SEM_EIO, "read error after line %ld", lr->lineno);
}

/* Skips the rest of a line refused as too long. Returns 1 when done, 0 at the end of input or on error. */
static int skip_rest(sem_linereader *lr)
{
    while (lr->skipping) {
        if (lr->pos == lr->end && !fill(lr))
            return 0;
        unsigned char *nl = memchr(lr->chunk + lr->pos, '\n', lr->end - lr->pos);
        lr->pos = nl ? (size_t)(nl - lr->chunk) + 1 : lr->end;
        if (nl)
            lr->skipping = 0;
    }
    return 1;
}

int sem_linereader_next(sem_linereader *lr, sem_error *err)
{
    if (lr->ioerr)
        return fail(lr, lr->ioerr == 2 ? SEM_ENOMEM : SEM_EIO, err);
    if (!lr->chunk && !(lr->chunk = malloc(SEM_LINEREADER_CHUNK)))
        return fail(lr, SEM_ENOMEM, err);
    if (!skip_rest(lr)) {
        lr->skipping = 0;
        return lr->ioerr ? fail(lr, SEM_EIO, err) : 0;
    }
    lr->len = 0;
    int any = 0;
    for (;;) {
        if (lr->pos == lr->end && !fill(lr)) {
            if (lr->ioerr)
                return fail(lr, SEM_EIO, err);
            break;
        }
        any = 1;
        unsigned char *start = lr->chunk + lr->pos;
        unsigned char *nl = memchr(start, '\n', lr->end - lr->pos);
        size_t take = nl ? (size_t)(nl - start) : lr->end - lr->pos;
        if (take > lr->max_line - lr->len) {
            lr->lineno++;
            lr->len = 0;
            lr->pos = nl ? (size_t)(nl - lr->chunk) + 1 : lr->end;
            lr->skipping = nl == NULL;
            return sem_error_set(err, SEM_ERANGE, "line %ld is longer than %zu bytes", lr->lineno, lr->max_line);
        }
        if (reserve(lr, take))
            return fail(lr, SEM_ENOMEM, err);
        memcpy(lr->line + lr->len, start, take);
        lr->len += take;
        lr->pos += take;
        if (nl) {
            lr->pos++;
            break;
        }
    }
    if (!any)
        return 0;
    if (!lr->line && reserve(lr, 0))
        return fail(lr, SEM_ENOMEM, err);
    lr->lineno++;
    if (lr->len && lr->line[lr->len - 1] == '\r')
        lr->len--;
    lr->line[lr->len] = 0;
    return 1;
}

size_t sem_linereader_buffered(const sem_linereader *lr)
{
    return lr->end - lr->pos;
}

void sem_linereader_free(sem_linereader *lr)
{
    if (!lr)
        return;
    free(lr->line);
    free(lr->chunk);
    memset(lr, 0, sizeof *lr);
}
