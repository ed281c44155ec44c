/* common/linereader.h: a bounded line reader for stdin and files read line by line.
 *
 *     sem_linereader lr;
 *     sem_linereader_init(&lr, stdin, 16u << 20);
 *     int rc;
 *     while ((rc = sem_linereader_next(&lr, &err)) > 0)
 *         use(lr.line, lr.len, lr.lineno);      // the line without "\n" / "\r\n"; may hold NULs
 *     // rc == 0: end of input; rc < 0: err says why (see sem_linereader_next)
 *     sem_linereader_free(&lr);
 *
 * Unlike getline(), a line never costs more than max_line bytes of memory: the input is read in fixed chunks
 * and a line that grows past the cap is reported at once ("line N is longer than X bytes") without reading the
 * rest of it. A caller that goes on after that error gets the following line on the next call: the rest of the
 * long line is skipped then, chunk by chunk (an endless line without a newline, e.g. /dev/zero, is never read
 * through unless the caller asks for the next line). End of input, a read error and an allocation failure are
 * three different results, so a failing read is never mistaken for the end of the input.
 * Thread-safety: a reader belongs to one thread; the functions touch only their argument. */
#ifndef SEM_LINEREADER_H
#define SEM_LINEREADER_H

#include <stdio.h>
#include <stddef.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEM_LINEREADER_CHUNK 65536 /* bytes read from the source at a time */
#define SEM_LINEREADER_DEFAULT_MAX ((size_t)16 << 20) /* the line cap of readers without a flag for it */

/* A byte source: fills buf with up to cap bytes and returns how many (0 at the end of input); sets *ioerr to 1
 * on a read error (then returns 0). */
typedef size_t (*sem_linereader_source)(void *user_data, void *buf, size_t cap, int *ioerr);

typedef struct sem_linereader {
    /* public, read-only */
    char *line;  /* the current line, NUL-terminated (also after embedded NULs); valid until the next call */
    size_t len;  /* its length in bytes, without the terminator and without "\n" / "\r\n" */
    long lineno; /* 1-based number of the current line (of the long line after SEM_ERANGE) */
    /* private */
    sem_linereader_source src;
    void *src_ud;
    size_t max_line, cap;
    unsigned char *chunk;
    size_t pos, end;
    int eof, ioerr, skipping;
} sem_linereader;

/* Reads from f (not owned: the caller closes it); lines of more than max_line bytes (without the newline) are
 * refused. Allocates nothing until the first read. */
void sem_linereader_init(sem_linereader *lr, FILE *f, size_t max_line);

/* The same over a byte source (user_data is passed to src). */
void sem_linereader_init_source(sem_linereader *lr, sem_linereader_source src, void *user_data, size_t max_line);

/* Reads the next line into lr->line / lr->len / lr->lineno. Returns 1 for a line (the last one may lack its
 * newline; an empty line is a line), 0 at the end of input, or with err set:
 *   SEM_ERANGE  the line is longer than max_line: "line N is longer than X bytes"; the next call skips the
 *               rest of it and reads the line after it
 *   SEM_EIO     the source reported a read error ("read error after line N")
 *   SEM_ENOMEM  out of memory ("out of memory reading line N")
 * After SEM_EIO or SEM_ENOMEM every later call fails the same way. */
int sem_linereader_next(sem_linereader *lr, sem_error *err);

/* Bytes read from the source but not yet returned as lines (for progress estimates). */
size_t sem_linereader_buffered(const sem_linereader *lr);

/* Frees the buffers (not the source) and zeroes lr; NULL is a no-op. */
void sem_linereader_free(sem_linereader *lr);

#ifdef __cplusplus
}
#endif
#endif
