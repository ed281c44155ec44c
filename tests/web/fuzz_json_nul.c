/* tests/web/fuzz_json_nul.c: libFuzzer entry point for web_json_has_nul (web/json.c), the scanner that refuses a
 * NUL inside a request's JSON strings before cJSON would silently cut the string there. The input is the raw body.
 * Invariants: the scanner reads only the input (ASan); a reported offset points at a raw NUL byte or at a
 * "\u0000" escape; and whenever every string literal of the input decodes with the independent, length-aware
 * decoder of common/jsonstr.c, the scanner's answer equals "some decoded string holds a NUL, or the input holds
 * a raw NUL byte". The input is also parsed as web_parse_object would, which must never accept an input the
 * scanner flags. */
#include "web/internal.h"

#include "common/jsonstr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference: 1/0 whether the input holds a NUL, or -1 when some string literal does not decode (then the
 * scanner and the decoder may legitimately disagree about where strings end). */
static int reference(const char *s, size_t len)
{
    int found = 0;
    for (const char *p = s, *end = s + len; p < end;) {
        if (*p == '\0') {
            found = 1;
            p++;
        } else if (*p == '"') {
            char *out = NULL;
            size_t n = 0;
            if (sem_json_string_decode(&p, end, &out, &n) != 0)
                return -1;
            found |= memchr(out, 0, n) != NULL;
            free(out);
        } else {
            p++;
        }
    }
    return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    /* an exact-size copy, so that ASan sees any read past the end */
    char *s = malloc(size ? size : 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    size_t at = (size_t)-1;
    int has = web_json_has_nul(s, size, &at);
    if (has && !(at < size && (s[at] == '\0' || (size - at >= 6 && memcmp(s + at, "\\u0000", 6) == 0)))) {
        fprintf(stderr, "web_json_has_nul: offset %zu does not point at a NUL\n", at);
        abort();
    }
    int ref = reference(s, size);
    if (ref >= 0 && ref != has) {
        fprintf(stderr, "web_json_has_nul says %d, the decoder %d: %.*s\n", has, ref, (int)size, s);
        abort();
    }
    /* the parser refuses what the scanner flags */
    char *body = malloc(size + 1);
    if (body) {
        memcpy(body, data, size);
        body[size] = '\0';
        web_http_req req = {0};
        req.body = body;
        req.body_len = size;
        web_reply r = {0};
        cJSON *o = web_parse_object(&req, &r);
        if (o && has) {
            fprintf(stderr, "web_parse_object accepted a NUL: %.*s\n", (int)size, s);
            abort();
        }
        cJSON_Delete(o);
        web_reply_free(&r);
        free(body);
    }
    free(s);
    return 0;
}
