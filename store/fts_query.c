/* store/fts_query.c: free text -> a safe FTS5 MATCH expression (see fts_query.h). */
#include "store/fts_query.h"

#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "store/kb.h"

int sem_fts_word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

int sem_fts_next_word(const char *text, size_t n, size_t *pos, size_t *start, size_t *len)
{
    size_t i = *pos;
    while (i < n && !sem_fts_word_byte((unsigned char)text[i]))
        i++;
    if (i >= n) {
        *pos = n;
        return 0;
    }
    size_t j = i;
    while (j < n && sem_fts_word_byte((unsigned char)text[j]))
        j++;
    *start = i;
    *len = j - i;
    *pos = j;
    return 1;
}

void sem_fts_put_string(sem_strbuf *b, const char *s, size_t n)
{
    sem_strbuf_put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        const char *q = memchr(s + i, '"', n - i);
        size_t run = q ? (size_t)(q - (s + i)) + 1 : n - i; /* up to and including the quote */
        sem_strbuf_put(b, s + i, run);
        if (q)
            sem_strbuf_put(b, "\"", 1); /* doubled */
        i += run;
    }
    sem_strbuf_put(b, "\"", 1);
}

int sem_fts_query(const char *query, char **out, sem_error *err)
{
    *out = NULL;
    if (!query)
        return sem_error_set(err, SEM_EINVAL, "no query");
    size_t n = strlen(query), bad;
    if (n > SEM_KB_MAX_QUERY_BYTES)
        return sem_error_set(err, SEM_EINVAL, "the query is too long: %zu bytes, the limit is %d", n,
                             SEM_KB_MAX_QUERY_BYTES);
    if (!sem_utf8_valid(query, n, &bad))
        return sem_error_set(err, SEM_EINVAL, "the query is not valid UTF-8 (byte %zu)", bad);
    sem_strbuf b = {0}; /* finish gives "" when there is no word */
    size_t pos = 0, start, len;
    for (int words = 0; words < SEM_FTS_MAX_WORDS && sem_fts_next_word(query, n, &pos, &start, &len); words++) {
        if (words)
            sem_strbuf_puts(&b, " OR ");
        sem_fts_put_string(&b, query + start, len);
    }
    if (!(*out = sem_strbuf_finish(&b)))
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    return SEM_OK;
}
