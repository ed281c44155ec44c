/* web/transport.h: what server.c builds the HTTP transport from, below the request handlers. Not a public
 * header: only web/ and its tests include it.
 *   transport.c         pure checks on what a client sends (request target, framing headers) and the access
 *                       log's escaping; no libmicrohttpd, so that unit tests and a fuzzer call them directly;
 *   transport_conn.c    every open connection with its deadline, and a reaper thread that shuts down those whose
 *                       request has not arrived in time (libmicrohttpd only has an inactivity timeout);
 *   transport_listen.c  the listening socket, bound here so that "port N is in use" is said precisely;
 *   workq.c             the worker lanes that run the expensive handlers off libmicrohttpd's I/O threads.
 * Thread-safety is stated per function. */
#ifndef SEM_WEB_TRANSPORT_H
#define SEM_WEB_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* ---- transport.c ---- */

/* Copies s[0..len) into out (cap >= 8 bytes) for a log line: printable ASCII as is, '"' and '\\' preceded by a
 * backslash, control bytes (< 0x20, 0x7f) and every byte that does not start a valid UTF-8 sequence as \xNN,
 * valid multi-byte UTF-8 as is. Output that does not fit ends with "..." (never inside an escape or a UTF-8
 * sequence). Always NUL-terminated; returns the length written. The result holds no control byte and is valid
 * UTF-8. Reentrant. */
size_t web_log_escape(char *out, size_t cap, const char *s, size_t len);

/* Checks a request target as the client sent it (before percent-decoding; the query string included): refuses a
 * raw control byte or space, a %00 anywhere (it would cut the decoded string short), and a path whose decoded
 * bytes are not valid UTF-8. Returns 0, or 400 with *why set to a static message. Reentrant. */
int web_check_target(const char *raw, const char **why);

/* The framing headers of one request, summed up header by header (web_hdrcheck_add), then judged
 * (web_hdrcheck_finish). Zero-initialise it. */
typedef struct web_hdrcheck {
    int n_headers;
    int n_content_length, n_transfer_encoding, n_host;
    int bad_content_length;    /* a Content-Length that is not 1 to 19 digits */
    int te_not_chunked;        /* a Transfer-Encoding other than exactly "chunked" */
    unsigned long long length; /* the Content-Length when there is exactly one valid one */
} web_hdrcheck;

/* Adds one request header (name and value as libmicrohttpd parsed them; NULL value = none). */
void web_hdrcheck_add(web_hdrcheck *h, const char *name, const char *value);

/* The verdict for a request of HTTP version `version` ("HTTP/1.1"): 0 when the framing is unambiguous, else the
 * status to answer (and close the connection with): 400 for more than one Content-Length, a malformed one,
 * Transfer-Encoding together with Content-Length, Transfer-Encoding in HTTP/1.0, no Host or more than one Host
 * in HTTP/1.1; 501 for a Transfer-Encoding other than chunked. *why receives a static message. On 0,
 * *has_length tells whether h->length is the body's declared length, and *chunked whether the body is chunked. */
int web_hdrcheck_finish(const web_hdrcheck *h, const char *version, int *has_length, int *chunked,
                        const char **why);

/* Where a request runs: inline on the I/O thread (cheap: health, stats, metrics, the page, 404/405 and every
 * error answered before a handler), or on one of the two worker lanes. */
enum web_lane { WEB_LANE_INLINE = 0, WEB_LANE_FAST, WEB_LANE_BULK };
/* POST /search and GET|HEAD /documents/{id}: FAST; POST /embed, /v1/embeddings, /encode, /documents and
 * DELETE /documents/{id} (encoding or writing): BULK; the rest INLINE. path is percent-decoded. */
int web_route_lane(const char *method, const char *path);

/* ---- transport_listen.c ---- */

/* What the listening socket is bound to. */
typedef struct web_listener {
    int fd;            /* non-blocking, listening */
    int port;          /* the port bound (the kernel's choice for port 0) */
    int ipv6;          /* 1 for an AF_INET6 socket */
    int loopback_only; /* 1 when bound to 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104 */
} web_listener;

/* Resolves host (a numeric address or a name), binds port and listens. SEM_OK, or SEM_EIO/SEM_EINVAL with a
 * precise message: "port N is in use", "ADDRESS is not an address of this machine", "permission denied binding
 * port N". The caller owns out->fd (close it, or hand it to libmicrohttpd). Controlling thread. */
int web_listen(const char *host, int port, web_listener *out, sem_error *err);

/* Makes room for n_conns connections in the open-file limit: raises the soft RLIMIT_NOFILE when it is lower than
 * n_conns + reserve and the hard limit allows; returns how many connections fit (n_conns, or fewer when the limit
 * cannot be raised). Controlling thread. */
int web_fd_room(int n_conns, int reserve);

/* ---- transport_conn.c ---- */

typedef struct web_conns web_conns; /* the registry and its reaper thread */
typedef struct web_conn web_conn;   /* one TCP connection */

/* Starts the registry and its reaper: a connection must deliver a whole request within read_timeout_s of its
 * accept (or of its request line, for later requests on a kept-alive connection), and may sit idle between
 * requests for at most idle_timeout_s (0 = no limit) in total, trickled bytes or not. NULL with err on failure. */
web_conns *web_conns_new(double read_timeout_s, double idle_timeout_s, sem_error *err);
/* Stops the reaper; every connection must have been removed (libmicrohttpd stopped). NULL is a no-op. */
void web_conns_free(web_conns *cs);

/* libmicrohttpd's connection notifications, each from the thread that owns the connection: a new connection
 * (its deadline starts now; NULL when out of memory), and its end. remove() frees c; it takes the registry's
 * lock, so a reaper that is shutting c's socket down has finished before libmicrohttpd closes the fd. */
web_conn *web_conns_add(web_conns *cs, int fd);
void web_conns_remove(web_conns *cs, web_conn *c);
/* The request line arrived (its headers and body are now under the read deadline); the whole request arrived
 * (no deadline while it is processed and answered); the response was sent (the idle deadline starts). */
void web_conns_request_line(web_conns *cs, web_conn *c);
void web_conns_request_done(web_conns *cs, web_conn *c);
void web_conns_response_sent(web_conns *cs, web_conn *c);

/* Counters (any thread): connections open now, and connections shut down by the reaper so far. */
long web_conns_open(web_conns *cs);
long web_conns_reaped(web_conns *cs);

/* ---- workq.c ---- */

typedef struct web_workq web_workq;
typedef void (*web_job_fn)(void *arg);
/* A job: the caller's storage, untouched by the queue after fn is called (fn may free it). */
typedef struct web_job {
    web_job_fn fn;
    void *arg;
    struct web_job *next; /* the queue's */
} web_job;

/* n_threads workers taking jobs in order from a queue of at most max_queue waiting jobs. NULL with err. */
web_workq *web_workq_new(const char *name, int n_threads, int max_queue, sem_error *err);
/* Runs every job already queued, then stops and joins the workers. NULL is a no-op. */
void web_workq_free(web_workq *q);

/* Reserves a place in the queue: 0, or -1 when max_queue jobs are already waiting. Each reservation is used by
 * one web_workq_push, which cannot fail. Any thread. */
int web_workq_reserve(web_workq *q);
void web_workq_unreserve(web_workq *q); /* gives an unused reservation back */
void web_workq_push(web_workq *q, web_job *j);

/* Jobs queued or reserved and not yet started, and jobs running (any thread). */
int web_workq_waiting(web_workq *q);
int web_workq_running(web_workq *q);

#endif
