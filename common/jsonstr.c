/* common/jsonstr.c: one JSON string literal decoded with its length, and UTF-8 repair for writers (see
 * jsonstr.h). */
#include "common/jsonstr.h"

#include <stdlib.h>
#include <string.h>

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return -1;
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

/* Writes code point cp (<= 0x10FFFF, not a surrogate) as UTF-8 at o; returns the new end. */
static char *put_utf8(unsigned cp, char *o)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

int sem_json_string_decode(const char **pp, const char *end, char **out, size_t *len)
{
    const char *p = *pp;
    if (p >= end || *p != '"')
        return -1;
    p++;
    /* the decoded text is never longer than the encoded one (\uXXXX: 6 bytes in, at most 3 out; a surrogate
     * pair: 12 in, 4 out) */
    char *buf = malloc((size_t)(end - p) + 1), *o = buf;
    if (!buf)
        return -1;
    for (;;) {
        if (p >= end)
            goto bad;
        unsigned char c = (unsigned char)*p++;
        if (c == '"')
            break;
        if (c < 0x20)
            goto bad; /* raw control characters are not allowed in JSON strings */
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        if (p >= end)
            goto bad;
        c = (unsigned char)*p++;
        unsigned cp;
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u':
            if (hex4(p, end, &cp))
                goto bad;
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair */
                unsigned lo;
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    goto bad;
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                goto bad; /* a lone low surrogate is not a character */
            }
            o = put_utf8(cp, o);
            break;
        default: goto bad;
        }
    }
    *o = '\0';
    *out = buf;
    *len = (size_t)(o - buf);
    *pp = p;
    return 0;
bad:
    free(buf);
    return -1;
}

size_t sem_utf8_seq_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0], cp;
    size_t more;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        more = 1;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        more = 2;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        more = 3;
        cp = c & 0x07;
    } else {
        return 0; /* a continuation byte, C0/C1 (always overlong) or F5..FF */
    }
    if (more >= n)
        return 0;
    for (size_t k = 1; k <= more; k++) {
        if ((u[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (u[k] & 0x3F);
    }
    if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return more + 1;
}

size_t sem_utf8_cut(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    /* find the start of the last character: at most 3 continuation bytes back */
    size_t i = len;
    while (i > 0 && len - i < 3 && (u[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0 || (u[i - 1] & 0xC0) != 0xC0)
        return len; /* ASCII last, or stray continuation bytes: nothing to cut */
    size_t lead = i - 1, want = u[lead] >= 0xF0 ? 4 : u[lead] >= 0xE0 ? 3 : 2;
    return len - lead < want ? lead : len;
}

static const char replacement[3] = {(char)0xEF, (char)0xBF, (char)0xBD}; /* U+FFFD */

char *sem_utf8_repair(const char *s, size_t len, size_t *out_len)
{
    if (len > ((size_t)-1 - 1) / 3)
        return NULL;
    char *out = malloc(len * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t k = sem_utf8_seq_len(s + i, len - i);
        if (k == 0) {
            memcpy(o, replacement, 3);
            o += 3;
            i++;
        } else {
            memcpy(o, s + i, k);
            o += k;
            i += k;
        }
    }
    *o = '\0';
    if (out_len)
        *out_len = (size_t)(o - out);
    return out;
}

void sem_json_write_string(FILE *f, const char *s)
{
    fputc('"', f);
    size_t left = strlen(s);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, left--) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) {
                fprintf(f, "\\u%04x", *p);
            } else if (*p < 0x80) {
                fputc(*p, f);
            } else {
                size_t k = sem_utf8_seq_len((const char *)p, left);
                if (k == 0) {
                    fwrite(replacement, 1, 3, f);
                } else {
                    fwrite(p, 1, k, f);
                    p += k - 1;
                    left -= k - 1;
                }
            }
        }
    }
    fputc('"', f);
}
