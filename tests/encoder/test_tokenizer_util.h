/* tests/encoder/test_tokenizer_util.h: helpers shared by the tokenizer tests (header-only, static functions).
 *
 * json_string() decodes one JSON string literal into bytes with an explicit length (common/jsonstr.h): the
 * fixtures hold "\u0000", which cJSON would silently cut the string at. */
#ifndef SEM_TOKENIZER_TEST_UTIL_H
#define SEM_TOKENIZER_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "common/jsonstr.h"

/* Decodes the JSON string literal at *p (after optional spaces/tabs, within the current line of a
 * NUL-terminated text) with
 * sem_json_string_decode(); advances *p past it. Returns a malloc'd buffer (caller frees) and its length in
 * *len, or NULL on malformed input. */
static char *json_string(const char **p, size_t *len)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    /* a JSON string holds no raw newline, so the literal ends within this line */
    const char *end = strchr(s, '\n');
    char *out = NULL;
    if (sem_json_string_decode(&s, end ? end : s + strlen(s), &out, len) != 0)
        return NULL;
    *p = s;
    return out;
}

#endif
