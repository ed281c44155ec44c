/* web/errors.c: JSON error replies {"error":{"code":N,"type":"...","message":"..."}}. Messages quote what the
 * client sent (paths, ids), so they are made valid UTF-8 (U+FFFD for bad bytes) and cut at a character boundary. */
#include "web/internal.h"

#include "common/jsonstr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *web_error_type(int status)
{
    switch (status) {
    case 400: return "invalid_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 501: return "not_implemented";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal_error" : "invalid_request";
    }
}

void web_reply_free(web_reply *r)
{
    if (!r)
        return;
    if (!r->body_static)
        free(r->body);
    r->body = NULL;
    r->len = 0;
    r->body_static = 0;
}

/* The last resort when even the error body cannot be allocated. */
static const char oom_body[] =
    "{\"error\":{\"code\":500,\"type\":\"internal_error\",\"message\":\"out of memory\"}}";

int web_error(web_reply *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sem_utf8_cut(msg, sizeof msg - 1);
    char *valid = sem_utf8_repair(msg, len, NULL);

    web_reply_free(r);
    r->content_type = "application/json";
    cJSON *root = valid ? cJSON_CreateObject() : NULL;
    cJSON *e = root ? cJSON_AddObjectToObject(root, "error") : NULL;
    char *text = NULL;
    if (e && cJSON_AddNumberToObject(e, "code", status) && cJSON_AddStringToObject(e, "type", web_error_type(status))
        && cJSON_AddStringToObject(e, "message", valid))
        text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(valid);
    if (!text) {
        r->status = 500;
        r->body = (char *)oom_body;
        r->len = sizeof oom_body - 1;
        r->body_static = 1;
        return -1;
    }
    r->status = status;
    r->body = text;
    r->len = strlen(text);
    return -1;
}

int web_error_from(web_reply *r, const sem_error *err)
{
    int code = err ? err->code : SEM_EINTERNAL;
    const char *msg = err && err->msg[0] ? err->msg : sem_strerror(code);
    int status;
    switch (code) {
    case SEM_EINVAL:
    case SEM_ERANGE:
    case SEM_EMISMATCH: status = 400; break;
    case SEM_ENOTFOUND: status = 404; break;
    case SEM_EBUSY: status = 503; break;
    default: status = 500; break;
    }
    return web_error(r, status, "%s", msg);
}
