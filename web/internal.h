/* web/internal.h: what the files of web/ share. Not a public header: nothing outside web/ (and its tests)
 * includes it.
 *
 * The request path: server.c (libmicrohttpd) accumulates a request's body and hands a web_http_req to
 * web_dispatch() (routes.c), which picks a handler; handlers fill a web_reply (status, body, content type) and
 * know nothing of libmicrohttpd, so that tests and fuzzers can call them directly. server.c turns the reply into a
 * response, and on completion records metrics (metrics.c) and the access log line. */
#ifndef SEM_WEB_INTERNAL_H
#define SEM_WEB_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "encoder/encoder.h"
#include "store/kb.h"
#include "web/web.h"

/* ---- routes (metrics are kept per route) ---- */
enum web_route {
    WEB_R_PAGE = 0, /* GET / and the page's static files */
    WEB_R_SEARCH,   /* POST /search */
    WEB_R_EMBED,    /* POST /embed */
    WEB_R_OPENAI,   /* POST /v1/embeddings */
    WEB_R_ENCODE,   /* POST /encode */
    WEB_R_DOCS_ADD, /* POST /documents */
    WEB_R_DOC_GET,  /* GET /documents/{id} */
    WEB_R_DOC_DEL,  /* DELETE /documents/{id} */
    WEB_R_HEALTH,   /* GET /health */
    WEB_R_STATS,    /* GET /stats */
    WEB_R_METRICS,  /* GET /metrics */
    WEB_R_OTHER,    /* anything else (404/405) */
    WEB_R_COUNT
};
/* A route's method and path pattern ("POST", "/search"; "GET", "/documents/{id}"; "*", "other"): its labels in
 * metrics and logs. */
const char *web_route_method(int route);
const char *web_route_path(int route);

/* ---- one HTTP request, as the handlers see it ---- */
typedef struct web_http_req {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* URL path without the query string, percent-decoded by libmicrohttpd */
    const char *body;          /* NUL-terminated; "" when none */
    size_t body_len;
    const char *authorization; /* Authorization header or NULL */
    const char *api_key;       /* api-key header or NULL */
    const char *kb_arg;        /* the "kb" query-string argument or NULL (GET/DELETE /documents/{id}) */
    const char *content_type;  /* Content-Type header or NULL */
    const char *origin;        /* Origin header or NULL (sent by browsers) */
    const char *host;          /* Host header or NULL */
    int loopback_only;         /* 1 when the server listens on a loopback address only */
    /* Long handlers (encoding many texts) call cancelled(cancel_ud) between batches and stop with an error
     * when it returns 1 (the client has gone). NULL = never cancelled (tests, fuzzers). */
    int (*cancelled)(void *cancel_ud);
    void *cancel_ud;
} web_http_req;

/* 1 when the request's client has gone away (see web_http_req.cancelled); 0 when there is no callback. */
static inline int web_req_cancelled(const web_http_req *req)
{
    return req->cancelled && req->cancelled(req->cancel_ud);
}

/* What a handler answers. body is malloc'd (owned by the reply) unless body_static is set. */
typedef struct web_reply {
    int status;
    char *body;
    size_t len;
    int body_static;          /* 1: body points at static data, not freed */
    const char *content_type; /* static string */
    const char *hdr_name;     /* one extra header (Allow for 405, WWW-Authenticate for 401), static, or NULL */
    const char *hdr_value;
    int route;                /* enum web_route, set by web_dispatch */
} web_reply;

void web_reply_free(web_reply *r); /* frees the body; the struct is the caller's */

/* ---- errors.c: JSON error replies ---- */
/* Sets r to status with {"error":{"code":status,"type":...,"message":...}}; the type follows from the status
 * (400 invalid_request, 401 unauthorized, 403 forbidden, 404 not_found, 405 method_not_allowed,
 * 413 payload_too_large, 415 unsupported_media_type, 500 internal_error, 503 unavailable). The message is made
 * valid UTF-8 (U+FFFD for bad bytes) and cut at a character boundary. Any previous body is freed. Returns -1 so
 * handlers can `return`. */
int web_error(web_reply *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same from a sem_error: SEM_EINVAL/ERANGE/EMISMATCH 400, ENOTFOUND 404, EBUSY 503, the rest 500. */
int web_error_from(web_reply *r, const sem_error *err);
const char *web_error_type(int status);

/* ---- json.c: request parsing and response building ---- */
/* Parses the request body as a JSON object: 400 (and NULL) for an empty body, invalid UTF-8, a NUL character
 * (web_json_has_nul), malformed JSON or a non-object. The caller frees the result with cJSON_Delete. */
cJSON *web_parse_object(const web_http_req *req, web_reply *r);
/* 1 when the raw JSON text s[0..len) holds a NUL: a raw NUL byte anywhere, or a \u0000 escape inside a string
 * (an escaped backslash followed by "u0000" is not one). *at (may be NULL) receives its byte offset. Reads no
 * byte at or past len; any input. */
int web_json_has_nul(const char *s, size_t len, size_t *at);

/* Field readers: each returns 0 when the field was read or is absent (then *out keeps its default and *present,
 * when given, is 0), -1 after filling r with a 400 naming the field (wrong type, out of range). */
int web_get_string(const cJSON *obj, const char *key, int required, const char **out, web_reply *r);
int web_get_int(const cJSON *obj, const char *key, long lo, long hi, long *out, int *present, web_reply *r);
int web_get_bool(const cJSON *obj, const char *key, int *out, web_reply *r);
/* An optional number in [lo, hi] (unchanged when absent or null). */
int web_get_number(const cJSON *obj, const char *key, double lo, double hi, double *out, web_reply *r);

/* Reads a field that is a string or an array of strings (TEI "inputs", OpenAI "input", bert-as-service "texts")
 * into *texts (malloc'd array of pointers into obj, caller frees the array only) of *n entries; checks 1 <= n <=
 * max_batch, UTF-8 validity and max_chars per text. -1 with r filled on error. */
int web_get_texts(const cJSON *obj, const char *key, int max_batch, int max_chars, const char ***texts, int *n,
                  web_reply *r);

/* Sets r to status, application/json, with cJSON_PrintUnformatted(json) made valid UTF-8 (bytes that are not
 * become U+FFFD); deletes json. 500 on allocation failure. */
int web_reply_json(web_reply *r, int status, cJSON *json);

/* Large responses (embeddings) are built in a sem_strbuf (common/strbuf.h; errors stick in oom). */
void web_sb_float(sem_strbuf *b, float v); /* shortest round-trip text; non-finite as 0 (JSON has no NaN) */
/* Moves the string into r as a 200 reply of the given content type (500 if oom) and resets b; invalid UTF-8 in
 * it becomes U+FFFD. */
int web_sb_reply(sem_strbuf *b, web_reply *r, const char *content_type);

/* ---- auth.c: the request policy (see the top of auth.c) ---- */
/* 1 if the request carries key (Authorization: Bearer KEY or api-key: KEY), compared in constant time; 0 when
 * key is NULL or empty (no key configured never means "open"). */
int web_auth_ok(const char *key, const web_http_req *req);
/* 1 if ct is application/json, case-insensitive, parameters allowed ("application/json; charset=utf-8"). */
int web_content_type_is_json(const char *ct);
/* 1 if there is no Origin, or its host[:port] equals host (case-insensitive, the scheme's default port optional);
 * 0 for "null", a malformed Origin or a missing host. */
int web_origin_matches_host(const char *origin, const char *host);
/* 1 if the Host header names a loopback address (localhost, 127.0.0.0/8, [::1]) or is absent. */
int web_host_is_loopback(const char *host);
/* Each returns 0 when the request may go on, else -1 with r set: 403 for a foreign Origin; 415 when the
 * Content-Type is not JSON. */
int web_check_origin(const web_http_req *req, web_reply *r);
int web_check_json_type(const web_http_req *req, web_reply *r);

/* ---- metrics.c: Prometheus counters, lock-free ---- */
typedef struct web_metrics web_metrics;
web_metrics *web_metrics_new(void);
void web_metrics_free(web_metrics *m);
/* Records one finished request (any thread). */
void web_metrics_observe(web_metrics *m, int route, int status, double seconds);
/* Adds to the count of texts and tokens encoded (any thread). */
void web_metrics_encoded(web_metrics *m, long texts, long tokens);
/* Appends the Prometheus text exposition of the request and encoder counters to b. */
void web_metrics_write(web_metrics *m, sem_strbuf *b);


/* ---- page.c: the static files of the search page ---- */
/* Finds the file for a GET path ("/", "/index.html", "/app.js", "/style.css"); 0 and the reply set, or -1. */
int web_page_lookup(const char *path, web_reply *r);

/* ---- the server state the handlers use (server.c) ---- */
typedef struct web_kb web_kb; /* one open knowledge base (kb.c) */

typedef struct web_state {
    sem_server_params p; /* limits; strings point at copies owned by the server */
    web_kb **kbs;        /* n_kbs, the first the default */
    int n_kbs;
    web_metrics *metrics;
    double t_start; /* sem_now() at start */
} web_state;

/* auth.c: may req write? 0 yes; -1 with r set: 401 (+ WWW-Authenticate) for a missing or wrong key when the
 * server has one, 403 when it has none and unauthenticated writes are not allowed (allowed: the operator's flag,
 * a loopback-only listener and a loopback Host). */
int web_check_write(const web_state *st, const web_http_req *req, web_reply *r);

/* Tokens one embedding request may encode (sem_server_params.max_tokens; 0 = the default, 65536). */
#define WEB_DEFAULT_MAX_TOKENS 65536
static inline long web_max_tokens(const web_state *st)
{
    return st->p.max_tokens > 0 ? st->p.max_tokens : WEB_DEFAULT_MAX_TOKENS;
}

/* The longest query POST /search takes: the store's limit (SEM_KB_MAX_QUERY_BYTES) or the operator's
 * max_text_chars, whichever is smaller; /stats shows it as max_query_bytes. */
static inline int web_max_query_bytes(const web_state *st)
{
    return st->p.max_text_chars > 0 && st->p.max_text_chars < SEM_KB_MAX_QUERY_BYTES ? st->p.max_text_chars
                                                                                    : SEM_KB_MAX_QUERY_BYTES;
}

/* Picks the KB named name (NULL/absent = the default): the KB, or NULL after a 404 reply. */
web_kb *web_kb_pick(const web_state *st, const char *name, web_reply *r);

/* ---- routes.c ---- */
/* Routes req to its handler and fills r (always: some status and body). Any thread. */
void web_dispatch(const web_state *st, const web_http_req *req, web_reply *r);

/* ---- handlers (search.c, embed.c, docs.c, info.c): each fills r, returns 0 or -1 (r then holds the JSON
 * error); any request thread. ---- */
int web_h_search(const web_state *st, const web_http_req *req, web_reply *r);
int web_h_embed(const web_state *st, const web_http_req *req, web_reply *r);
int web_h_openai(const web_state *st, const web_http_req *req, web_reply *r);
int web_h_encode(const web_state *st, const web_http_req *req, web_reply *r);
int web_h_docs_add(const web_state *st, const web_http_req *req, web_reply *r);
int web_h_doc_get(const web_state *st, const web_http_req *req, const char *id, web_reply *r);
int web_h_doc_del(const web_state *st, const web_http_req *req, const char *id, web_reply *r);
int web_h_health(const web_state *st, web_reply *r);
int web_h_stats(const web_state *st, web_reply *r);
int web_h_metrics(const web_state *st, web_reply *r);

/* ---- kb.c: the knowledge bases behind the server ---- */
struct sem_kb;
struct sem_search;
/* Opens the KB at path read-write with its model: model_dir (a folder or cached hub name), else the folder the KB
 * records; it must be the model the KB was built with. precision: a sem_precision for the model, -1 = the one
 * the KB records. NULL with err on failure. Controlling thread only. */
web_kb *web_kb_open(const char *path, const char *model_dir, int precision, sem_error *err);
void web_kb_close(web_kb *kb); /* NULL is a no-op; no request may be using it */
const char *web_kb_name(const web_kb *kb);
struct sem_kb *web_kb_store(const web_kb *kb);
struct sem_search *web_kb_search(const web_kb *kb); /* thread-safe search handle (query/search.h) */
const sem_model *web_kb_model(const web_kb *kb); /* NULL when the KB has no model */
sem_encoder_pool *web_kb_encpool(const web_kb *kb); /* NULL when the KB has no model */
/* Like web_kb_pick, but the KB must have a model (400 otherwise): for the embedding routes. */
web_kb *web_kb_pick_model(const web_state *st, const char *name, web_reply *r);

#endif
