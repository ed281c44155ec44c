/* web/json.c: reading request fields with precise 400 errors, and writing JSON responses. */
#include "web/internal.h"

#include "common/fileio.h"
#include "common/jsonstr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int web_json_has_nul(const char *s, size_t len, size_t *at)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\0') {
            if (at)
                *at = i;
            return 1;
        }
        if (!in_string) {
            in_string = c == '"';
        } else if (c == '"') {
            in_string = 0;
        } else if (c == '\\' && i + 1 < len) {
            /* an escape: \u0000 is the NUL; any other escape (\\ included) is skipped whole, so that the
             * characters after an escaped backslash are not mistaken for an escape */
            if (s[i + 1] == 'u' && len - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0) {
                if (at)
                    *at = i;
                return 1;
            }
            i++;
        }
    }
    return 0;
}

cJSON *web_parse_object(const web_http_req *req, web_reply *r)
{
    if (req->body_len == 0) {
        web_error(r, 400, "the request body is empty: expected a JSON object");
        return NULL;
    }
    size_t bad = 0;
    if (!sem_utf8_valid(req->body, req->body_len, &bad)) {
        web_error(r, 400, "the request body is not valid UTF-8 (byte %zu)", bad);
        return NULL;
    }
    /* cJSON keeps strings NUL-terminated: a NUL inside one would silently cut an id, text or query short */
    if (web_json_has_nul(req->body, req->body_len, &bad)) {
        web_error(r, 400, "the request body has a NUL character (\\u0000) at byte %zu: it is not allowed in strings",
                  bad);
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
    if (!root) {
        /* cJSON reports where it stopped; say where, so the client can find its mistake. */
        const char *at = cJSON_GetErrorPtr();
        size_t off = (at && at >= req->body && at <= req->body + req->body_len) ? (size_t)(at - req->body) : 0;
        web_error(r, 400, "malformed JSON near byte %zu", off);
        return NULL;
    }
    /* Only whitespace may follow the value. */
    for (const char *p = end; p && p < req->body + req->body_len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            web_error(r, 400, "malformed JSON: unexpected data after the value at byte %zu", (size_t)(p - req->body));
            return NULL;
        }
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        web_error(r, 400, "the request body must be a JSON object");
        return NULL;
    }
    return root;
}

int web_get_string(const cJSON *obj, const char *key, int required, const char **out, web_reply *r)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return web_error(r, 400, "missing field \"%s\"", key);
        return 0;
    }
    if (!cJSON_IsString(v) || !v->valuestring)
        return web_error(r, 400, "field \"%s\" must be a string", key);
    *out = v->valuestring;
    return 0;
}

int web_get_int(const cJSON *obj, const char *key, long lo, long hi, long *out, int *present, web_reply *r)
{
    if (present)
        *present = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v))
        return web_error(r, 400, "field \"%s\" must be an integer", key);
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d))
        return web_error(r, 400, "field \"%s\" must be an integer", key);
    if (d < (double)lo || d > (double)hi)
        return web_error(r, 400, "field \"%s\" is out of range: %.17g not in [%ld, %ld]", key, d, lo, hi);
    *out = (long)d;
    if (present)
        *present = 1;
    return 0;
}

int web_get_number(const cJSON *obj, const char *key, double lo, double hi, double *out, web_reply *r)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return web_error(r, 400, "field \"%s\" must be a number", key);
    if (v->valuedouble < lo || v->valuedouble > hi)
        return web_error(r, 400, "field \"%s\" is out of range: %.17g not in [%g, %g]", key, v->valuedouble, lo,
                         hi);
    *out = v->valuedouble;
    return 0;
}

int web_get_bool(const cJSON *obj, const char *key, int *out, web_reply *r)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return web_error(r, 400, "field \"%s\" must be true or false", key);
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

static int check_text(const char *what, int i, const char *s, int max_chars, web_reply *r)
{
    size_t len = strlen(s);
    if (len > (size_t)max_chars)
        return web_error(r, 400, "%s[%d] is too long: %zu bytes, the limit is %d", what, i, len, max_chars);
    /* The raw body was checked already; \u escapes are decoded by cJSON, so check the decoded text too. */
    if (!sem_utf8_valid(s, len, NULL))
        return web_error(r, 400, "%s[%d] is not valid UTF-8", what, i);
    return 0;
}

int web_get_texts(const cJSON *obj, const char *key, int max_batch, int max_chars, const char ***texts, int *n,
                  web_reply *r)
{
    *texts = NULL;
    *n = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return web_error(r, 400, "missing field \"%s\"", key);
    if (cJSON_IsString(v)) {
        if (check_text(key, 0, v->valuestring, max_chars, r))
            return -1;
        const char **a = malloc(sizeof *a);
        if (!a)
            return web_error(r, 500, "out of memory");
        a[0] = v->valuestring;
        *texts = a;
        *n = 1;
        return 0;
    }
    if (!cJSON_IsArray(v))
        return web_error(r, 400, "field \"%s\" must be a string or an array of strings", key);
    int count = cJSON_GetArraySize(v);
    if (count < 1)
        return web_error(r, 400, "field \"%s\" is an empty array", key);
    if (count > max_batch)
        return web_error(r, 400, "field \"%s\" has %d texts, the batch limit is %d", key, count, max_batch);
    const char **a = malloc(sizeof *a * (size_t)count);
    if (!a)
        return web_error(r, 500, "out of memory");
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e)) {
            free(a);
            return web_error(r, 400, "field \"%s\" must be a string or an array of strings (item %d is not)", key, i);
        }
        if (check_text(key, i, e->valuestring, max_chars, r)) {
            free(a);
            return -1;
        }
        a[i++] = e->valuestring;
    }
    *texts = a;
    *n = i;
    return 0;
}

/* Makes *text (malloc'd, *len bytes) valid UTF-8: stored ids, titles or KB names may hold any bytes, and cJSON
 * prints bytes >= 0x80 as they are. In JSON text such bytes only occur inside strings, so replacing them with
 * U+FFFD keeps the JSON valid. -1 when out of memory (*text then untouched). */
static int make_valid_utf8(char **text, size_t *len)
{
    if (sem_utf8_valid(*text, *len, NULL))
        return 0;
    size_t n = 0;
    char *fixed = sem_utf8_repair(*text, *len, &n);
    if (!fixed)
        return -1;
    free(*text);
    *text = fixed;
    *len = n;
    return 0;
}

int web_reply_json(web_reply *r, int status, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    size_t len = text ? strlen(text) : 0;
    if (!text || make_valid_utf8(&text, &len)) {
        free(text);
        return web_error(r, 500, "out of memory");
    }
    web_reply_free(r);
    r->status = status;
    r->body = text;
    r->len = len;
    r->content_type = "application/json";
    return 0;
}

void web_sb_float(sem_strbuf *b, float v)
{
    if (!isfinite(v)) {
        sem_strbuf_put(b, "0", 1);
        return;
    }
    /* 8 significant digits suffice for most floats; 9 always round-trip. */
    char s[32];
    int n = snprintf(s, sizeof s, "%.8g", (double)v);
    if (strtof(s, NULL) != v)
        n = snprintf(s, sizeof s, "%.9g", (double)v);
    sem_strbuf_put(b, s, (size_t)n);
}

int web_sb_reply(sem_strbuf *b, web_reply *r, const char *content_type)
{
    if (b->oom) {
        sem_strbuf_free(b);
        return web_error(r, 500, "out of memory while writing the response");
    }
    if (b->s && make_valid_utf8(&b->s, &b->len)) {
        sem_strbuf_free(b);
        return web_error(r, 500, "out of memory while writing the response");
    }
    web_reply_free(r);
    r->status = 200;
    r->body = b->s ? b->s : NULL;
    r->len = b->len;
    r->content_type = content_type;
    if (!r->body) {
        r->body = (char *)"";
        r->body_static = 1;
    }
    *b = (sem_strbuf){0}; /* the text now belongs to r */
    return 0;
}
