/* web/transport.c: checks on the bytes a client sends before any handler sees them (the request target, the
 * headers that frame the body), the access log's escaping, and which lane a route runs on. Pure functions:
 * server.c feeds them what libmicrohttpd parsed; tests and tests/web/fuzz_transport.c call them directly. */
#include "web/transport.h"

#include "common/fileio.h"
#include "common/jsonstr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- log escaping ---- */

/* The escaped form of the character at s[i] into tok (>= 5 bytes); its length, and *adv the bytes consumed. */
static size_t escape_one(const char *s, size_t len, size_t i, char *tok, size_t *adv)
{
    unsigned char ch = (unsigned char)s[i];
    *adv = 1;
    if (ch >= 0x20 && ch < 0x7f) {
        if (ch == '"' || ch == '\\') {
            tok[0] = '\\';
            tok[1] = (char)ch;
            return 2;
        }
        tok[0] = (char)ch;
        return 1;
    }
    if (ch >= 0x80) {
        size_t n = sem_utf8_seq_len(s + i, len - i);
        if (n > 0) {
            memcpy(tok, s + i, n);
            *adv = n;
            return n;
        }
    }
    static const char hex[] = "0123456789abcdef";
    tok[0] = '\\';
    tok[1] = 'x';
    tok[2] = hex[ch >> 4];
    tok[3] = hex[ch & 15];
    return 4;
}

size_t web_log_escape(char *out, size_t cap, const char *s, size_t len)
{
    if (!out || cap == 0)
        return 0;
    out[0] = '\0';
    if (cap < 8 || !s)
        return 0;
    char tok[8];
    size_t adv, need = 0;
    for (size_t i = 0; i < len && need < cap; i += adv)
        need += escape_one(s, len, i, tok, &adv);
    /* Everything fits: room for all of it; else stop where "..." and the NUL still fit. */
    size_t room = need < cap ? cap - 1 : cap - 4, o = 0;
    for (size_t i = 0; i < len; i += adv) {
        size_t n = escape_one(s, len, i, tok, &adv);
        if (o + n > room)
            break;
        memcpy(out + o, tok, n);
        o += n;
    }
    if (need >= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return o;
}

/* ---- the request target ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int web_check_target(const char *raw, const char **why)
{
    *why = NULL;
    if (!raw || !*raw) {
        *why = "the request target is empty";
        return 400;
    }
    size_t n = strlen(raw);
    const char *qm = memchr(raw, '?', n);
    size_t path_len = qm ? (size_t)(qm - raw) : n;
    char stackbuf[4096];
    char *dec = path_len < sizeof stackbuf ? stackbuf : malloc(path_len + 1);
    if (!dec) {
        *why = "the request target is too long";
        return 400;
    }
    size_t d = 0;
    int status = 0;
    for (size_t i = 0; i < n && !status; i++) {
        unsigned char c = (unsigned char)raw[i];
        int v = -1;
        if (c <= 0x20 || c == 0x7f) {
            *why = "the request target contains a control character or a space";
            status = 400;
        } else if (c == '%' && i + 2 < n && hexval(raw[i + 1]) >= 0 && hexval(raw[i + 2]) >= 0) {
            v = hexval(raw[i + 1]) * 16 + hexval(raw[i + 2]);
            if (v == 0) {
                *why = "the request target contains %00 (a NUL byte)";
                status = 400;
            }
        }
        if (i < path_len) { /* the decoded path, to check its UTF-8 */
            dec[d++] = v >= 0 ? (char)v : (char)c;
            if (v >= 0)
                i += 2;
        } else if (v >= 0) {
            i += 2;
        }
    }
    if (!status && !sem_utf8_valid(dec, d, NULL)) {
        *why = "the request path is not valid UTF-8 (after percent-decoding)";
        status = 400;
    }
    if (dec != stackbuf)
        free(dec);
    return status;
}

/* ---- framing headers ---- */

void web_hdrcheck_add(web_hdrcheck *h, const char *name, const char *value)
{
    h->n_headers++;
    if (!name)
        return;
    if (strcasecmp(name, "Content-Length") == 0) {
        h->n_content_length++;
        size_t n = value ? strlen(value) : 0;
        if (n < 1 || n > 19 || strspn(value, "0123456789") != n) {
            h->bad_content_length = 1;
            return;
        }
        h->length = strtoull(value, NULL, 10); /* 19 digits fit in 64 bits */
    } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        h->n_transfer_encoding++;
        if (!value || strcasecmp(value, "chunked") != 0)
            h->te_not_chunked = 1;
    } else if (strcasecmp(name, "Host") == 0) {
        h->n_host++;
    }
}

int web_hdrcheck_finish(const web_hdrcheck *h, const char *version, int *has_length, int *chunked,
                        const char **why)
{
    /* HTTP/1.0 (and the version-less HTTP/0.9 line) have no Host requirement and no chunked coding. */
    int http10 = !version || !*version || strcmp(version, "HTTP/1.0") == 0;
    *has_length = *chunked = 0;
    *why = NULL;
    if (h->n_content_length > 1)
        *why = "the request has more than one Content-Length header";
    else if (h->bad_content_length)
        *why = "the Content-Length header is not a number";
    else if (h->n_transfer_encoding && h->n_content_length)
        *why = "the request has both Transfer-Encoding and Content-Length";
    else if (h->n_transfer_encoding && http10)
        *why = "Transfer-Encoding is not allowed in an HTTP/1.0 request";
    else if (h->n_host > 1)
        *why = "the request has more than one Host header";
    else if (!http10 && h->n_host == 0)
        *why = "an HTTP/1.1 request needs a Host header";
    if (*why)
        return 400;
    if (h->n_transfer_encoding > 1 || h->te_not_chunked) {
        *why = "only the chunked transfer coding is supported";
        return 501;
    }
    *has_length = h->n_content_length == 1;
    *chunked = h->n_transfer_encoding == 1;
    return 0;
}

/* ---- lanes ---- */

int web_route_lane(const char *method, const char *path)
{
    static const char *const bulk_posts[] = {"/embed", "/v1/embeddings", "/encode", "/documents"};
    static const char doc_prefix[] = "/documents/";
    if (!method || !path)
        return WEB_LANE_INLINE;
    if (strcmp(method, "POST") == 0) {
        if (strcmp(path, "/search") == 0)
            return WEB_LANE_FAST;
        for (size_t i = 0; i < sizeof bulk_posts / sizeof bulk_posts[0]; i++)
            if (strcmp(path, bulk_posts[i]) == 0)
                return WEB_LANE_BULK;
        return WEB_LANE_INLINE;
    }
    if (strncmp(path, doc_prefix, sizeof doc_prefix - 1) == 0 && path[sizeof doc_prefix - 1]) {
        if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
            return WEB_LANE_FAST;
        if (strcmp(method, "DELETE") == 0)
            return WEB_LANE_BULK;
    }
    return WEB_LANE_INLINE;
}
