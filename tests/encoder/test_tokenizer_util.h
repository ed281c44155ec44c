/* tests/encoder/test_tokenizer_util.h: helpers shared by the tokenizer tests (header-only, static functions).
 *
 * json_string() decodes one JSON string literal into bytes with an explicit length: the fixtures hold "\u0000",
 * which cJSON would silently cut the string at. */
#ifndef SEM_TOKENIZER_TEST_UTIL_H
#define SEM_TOKENIZER_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

static int tu_hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t tu_put_utf8(unsigned c, char *o)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Decodes the JSON string literal starting at *p (which must point at '"'); advances *p past it. Returns a
 * malloc'd buffer (caller frees) and its length in *len, or NULL on malformed input. */
static char *json_string(const char **p, size_t *len)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s != '"')
        return NULL;
    s++;
    size_t cap = strlen(s) + 1, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    while (*s && *s != '"') {
        if (*s != '\\') {
            out[n++] = *s++;
            continue;
        }
        s++;
        char e = *s++;
        switch (e) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case '/': out[n++] = '/'; break;
        case '\\': out[n++] = '\\'; break;
        case '"': out[n++] = '"'; break;
        case 'u': {
            unsigned c, lo;
            if (tu_hex4(s, &c) != 0)
                goto bad;
            s += 4;
            if (c >= 0xD800 && c <= 0xDBFF && s[0] == '\\' && s[1] == 'u' && tu_hex4(s + 2, &lo) == 0 &&
                lo >= 0xDC00 && lo <= 0xDFFF) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                s += 6;
            }
            n += tu_put_utf8(c, out + n);
            break;
        }
        default: goto bad;
        }
    }
    if (*s != '"')
        goto bad;
    *p = s + 1;
    *len = n;
    out[n] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

#endif
