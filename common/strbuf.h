/* common/strbuf.h: a growable, NUL-terminated string buffer for building reports, tables and documents.
 *
 *     sem_strbuf b = {0};
 *     sem_strbuf_printf(&b, "%d items\n", n);
 *     char *s = sem_strbuf_finish(&b);   // malloc'd (caller frees), or NULL if any append ran out of memory
 *
 * The buffer is a plain struct: read b.s / b.len directly. An append that fails (out of memory, a size that
 * would overflow, or a format error) sets b.oom and makes every later append a no-op, so a writer checks once
 * at the end (sem_strbuf_finish) instead of after each call.
 * Thread-safety: a buffer belongs to one thread; the functions touch only their argument. */
#ifndef SEM_STRBUF_H
#define SEM_STRBUF_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sem_strbuf {
    char *s;         /* the text so far, NUL-terminated (NULL until the first append) */
    size_t len, cap; /* bytes used (without the terminator), bytes allocated */
    int oom;         /* 1 after a failed append */
} sem_strbuf;

/* Appends n bytes (they may include NULs; the buffer stays NUL-terminated after them). */
void sem_strbuf_put(sem_strbuf *b, const void *data, size_t n);

/* Appends a NUL-terminated string. */
void sem_strbuf_puts(sem_strbuf *b, const char *s);

/* Appends printf-style text. */
void sem_strbuf_printf(sem_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends text with the XML/HTML specials &, <, >, " and ' escaped as entities and control characters
 * (bytes < 0x20) dropped; NULL appends nothing. */
void sem_strbuf_xml_escaped(sem_strbuf *b, const char *text);

/* Ends the buffer: returns its text (malloc'd, caller frees; "" when nothing was appended), or NULL when an
 * append failed or the final allocation failed. The buffer is reset to empty either way. */
char *sem_strbuf_finish(sem_strbuf *b);

/* Frees the text and resets the buffer (for error paths); NULL is a no-op. */
void sem_strbuf_free(sem_strbuf *b);

#ifdef __cplusplus
}
#endif
#endif
