/* web/server.c: the libmicrohttpd daemon and the transport policy around the handlers.
 *
 * Threads. libmicrohttpd's thread pool (2 to 4 threads) only does I/O and the cheap routes (health, stats,
 * metrics, the page, errors). A request for an expensive route is handed to a worker lane (workq.c) and its
 * connection suspended (MHD_suspend_connection) until the worker resumes it with the reply; the FAST lane serves
 * search and document reads, the BULK lane embeddings and document writes, so bulk encoding never holds up a
 * search. A lane whose queue is full answers 503 with Retry-After. While a handler runs, web_req_cancelled()
 * peeks at the socket: a client that closed the connection (or a shutdown past its grace) stops the work.
 *
 * One request's life (its conn_req lives in req_cls): the URI log callback creates it when the request line
 * arrives (keeping the raw target, which libmicrohttpd decodes in place later); the first access-handler call
 * checks the target (%00, UTF-8), the framing headers (web_hdrcheck_*), the declared length (413) and reserves it
 * in the global body budget (503 beyond); body chunks are stored in a buffer sized to the declared length (or
 * grown to at most max_body for a chunked body, each growth reserved); the last call dispatches inline or to a
 * lane; the completion callback records metrics and the access log line and frees everything.
 *
 * Connections. Every TCP connection is registered with transport_conn.c, which shuts down those that do not
 * deliver a request within read_timeout_s; libmicrohttpd enforces max_connections, max_per_client and the idle
 * timeout. Shutdown: stop accepting (MHD_quiesce_daemon), let requests finish for at most grace_s, then cancel
 * what still runs, wait for the lanes to hand every suspended connection back, and stop the daemon. */
#include "web/internal.h"
#include "web/transport.h"

#include "common/fileio.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct sem_server {
    web_state st;
    char *host, *api_key, *model_dir; /* copies of the params' strings */
    struct MHD_Daemon *daemon;
    web_listener listener;
    web_conns *conns;
    web_workq *lanes[3];        /* indexed by enum web_lane; [WEB_LANE_INLINE] unused */
    atomic_size_t body_bytes;   /* bytes of request bodies reserved now (<= max_body_in_flight) */
    atomic_int in_flight;       /* requests between their first access-handler call and completion */
    atomic_llong last_start_us; /* when the latest request started (sem_now() in microseconds) */
    atomic_int stopping;        /* set by shutdown: responses then carry "Connection: close" */
    atomic_int force_stop;      /* the grace is over: handlers are told to stop (web_req_cancelled) */
    int shut;                   /* shutdown done (controlling thread only) */
    int daemon_tried;           /* MHD_start_daemon was called: the listening socket is no longer ours to close */
};

enum { JOB_NONE = 0, JOB_QUEUED, JOB_DONE };

/* One request's state (req_cls), from the URI log callback to the completion callback. */
typedef struct conn_req {
    sem_server *s;
    struct MHD_Connection *c;
    web_conn *conn; /* the connection's deadline tracking (NULL if out of memory) */
    int fd;
    char *raw; /* the request target as sent */
    int started, counted;
    double t0;
    /* the body: len bytes + NUL in a buffer of cap bytes, of which reserved are counted in s->body_bytes */
    char *body;
    size_t len, cap, reserved, declared;
    int refuse; /* the status to answer once the body has been read (413, 500, 503), or 0 */
    /* the handler, on a lane */
    web_job job;
    atomic_int job_state;
    web_http_req req;
    web_reply reply;
    /* for the access log and metrics */
    int close, status, route;
    size_t resp_bytes;
    char method[16];
} conn_req;

sem_server_params sem_server_default_params(void)
{
    sem_server_params p = {0};
    p.host = "127.0.0.1";
    p.port = 8080;
    p.n_threads = 0;
    p.precision = -1;
    p.api_key = NULL;
    p.max_body = (size_t)8 << 20;
    p.max_batch = 256;
    p.max_k = 1000;
    p.max_text_chars = 1 << 20;
    p.timeout_s = 30;
    p.access_log = 1;
    p.allow_unauthenticated_writes = 0;
    p.max_connections = 512;
    p.max_per_client = 64;
    p.read_timeout_s = 10;
    p.max_body_in_flight = (size_t)64 << 20;
    p.max_tokens = 65536;
    p.max_queue = 64;
    return p;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512], esc[600];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    web_log_escape(esc, sizeof esc, buf, n);
    sem_log(SEM_LOG_WARN, "http: %s", esc);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* ---- the body budget ---- */

static int budget_take(sem_server *s, size_t n)
{
    size_t cur = atomic_load(&s->body_bytes);
    do {
        if (cur > s->st.p.max_body_in_flight || n > s->st.p.max_body_in_flight - cur)
            return -1;
    } while (!atomic_compare_exchange_weak(&s->body_bytes, &cur, cur + n));
    return 0;
}

/* Frees the body and gives its reservation back. */
static void body_drop(sem_server *s, conn_req *q)
{
    free(q->body);
    q->body = NULL;
    q->len = q->cap = 0;
    atomic_fetch_sub(&s->body_bytes, q->reserved);
    q->reserved = 0;
}

/* ---- replies ---- */

/* Queues r as the response (taking its body). */
static enum MHD_Result send_reply(sem_server *s, struct MHD_Connection *c, conn_req *q, web_reply *r)
{
    struct MHD_Response *resp;
    if (r->body_static || !r->body)
        resp = MHD_create_response_from_buffer(r->len, r->body ? r->body : (char *)"", MHD_RESPMEM_PERSISTENT);
    else
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        web_reply_free(r);
        return MHD_NO;
    }
    r->body = NULL; /* the response owns it now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->hdr_name && r->hdr_value)
        MHD_add_response_header(resp, r->hdr_name, r->hdr_value);
    if (r->status == 503 && !(r->hdr_name && strcasecmp(r->hdr_name, "Retry-After") == 0))
        MHD_add_response_header(resp, "Retry-After", "1");
    if (q->close || atomic_load(&s->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    q->status = r->status;
    q->route = r->route;
    q->resp_bytes = r->len;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* An error answered by the transport itself; close_conn: with Connection: close (the rest of the request, if
 * any, is not read). */
static enum MHD_Result reply_error(sem_server *s, struct MHD_Connection *c, conn_req *q, int status, int close_conn,
                                   const char *msg)
{
    web_reply r = {0};
    web_error(&r, status, "%s", msg);
    r.route = WEB_R_OTHER;
    q->close |= close_conn;
    web_conns_request_done(s->conns, q->conn);
    return send_reply(s, c, q, &r);
}

/* ---- cancellation ---- */

/* web_http_req.cancelled: 1 when the client has closed its end of the connection (or reset it), or the server
 * is stopping past its grace. A suspended connection is not polled by libmicrohttpd, so its socket is ours to
 * peek at; pipelined bytes waiting there mean the client is still here. */
static int conn_gone(void *ud)
{
    conn_req *q = ud;
    if (atomic_load(&q->s->force_stop))
        return 1;
    if (q->fd < 0)
        return 0;
    char b;
    ssize_t n = recv(q->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* ---- libmicrohttpd callbacks ---- */

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    sem_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? web_conns_add(s->conns, ci->connect_fd) : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        web_conns_remove(s->conns, *socket_context);
        *socket_context = NULL;
    }
}

/* The request line has arrived: the request's state starts here (its return value becomes req_cls). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    sem_server *s = cls;
    conn_req *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->s = s;
    q->c = c;
    q->t0 = sem_now();
    q->route = WEB_R_OTHER;
    q->raw = strdup(uri ? uri : "");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    q->conn = ci ? ci->socket_context : NULL;
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    q->fd = ci ? ci->connect_fd : -1;
    web_conns_request_line(s->conns, q->conn);
    return q;
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    web_hdrcheck_add(cls, key, value);
    return MHD_YES;
}

/* The first access-handler call: the headers are here, the body is not read yet. */
static enum MHD_Result on_headers(sem_server *s, struct MHD_Connection *c, conn_req *q, const char *method,
                                  const char *version)
{
    q->started = q->counted = 1;
    snprintf(q->method, sizeof q->method, "%s", method ? method : "");
    atomic_fetch_add(&s->in_flight, 1);
    atomic_store(&s->last_start_us, (long long)(sem_now() * 1e6));
    if (!q->raw)
        return reply_error(s, c, q, 500, 1, "out of memory");
    const char *why = NULL;
    int status = web_check_target(q->raw, &why), has_length = 0, chunked = 0;
    web_hdrcheck h = {0};
    if (!status) {
        MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &h);
        status = web_hdrcheck_finish(&h, version, &has_length, &chunked, &why);
    }
    if (status)
        return reply_error(s, c, q, status, 1, why);
    char msg[160];
    if (has_length && h.length > s->st.p.max_body) {
        snprintf(msg, sizeof msg, "the request body is larger than the limit of %zu bytes", s->st.p.max_body);
        return reply_error(s, c, q, 413, 1, msg);
    }
    if (has_length && h.length > 0) {
        /* The declared length (+ NUL) is reserved now, so that bodies that are promised but never sent cannot
         * together hold more than the budget. */
        if (budget_take(s, (size_t)h.length + 1) != 0)
            return reply_error(s, c, q, 503, 1, "the server is receiving too many request bodies at once; retry");
        q->reserved = (size_t)h.length + 1;
        q->declared = (size_t)h.length;
    }
    return MHD_YES;
}

/* Grows the body buffer for `more` bytes: exactly to the declared length, or (chunked) by doubling up to
 * max_body + 1, each growth reserved in the budget. 0, or the status to refuse with. */
static int body_grow(sem_server *s, conn_req *q, size_t more)
{
    size_t need = q->len + more + 1, cap;
    if (q->declared) {
        cap = q->declared + 1; /* libmicrohttpd never passes more than the declared length */
        if (need > cap)
            return 400;
    } else {
        cap = q->cap ? q->cap : 4096;
        while (cap < need)
            cap = cap > (s->st.p.max_body + 1) / 2 ? s->st.p.max_body + 1 : cap * 2;
        if (cap < need)
            cap = need;
        if (cap > q->reserved && budget_take(s, cap - q->reserved) != 0)
            return 503;
        if (cap > q->reserved)
            q->reserved = cap;
    }
    char *b = realloc(q->body, cap);
    if (!b)
        return 500;
    q->body = b;
    q->cap = cap;
    return 0;
}

/* A piece of the body. What cannot be kept (over max_body, over the budget, out of memory) is read and dropped,
 * and the request answered with that status at the end (libmicrohttpd queues no response in mid-body). */
static void on_body(sem_server *s, conn_req *q, const char *data, size_t n)
{
    if (q->refuse)
        return;
    if (n > s->st.p.max_body - q->len)
        q->refuse = 413;
    else if (q->len + n + 1 > q->cap)
        q->refuse = body_grow(s, q, n);
    if (q->refuse) {
        body_drop(s, q);
        return;
    }
    memcpy(q->body + q->len, data, n);
    q->len += n;
    q->body[q->len] = '\0';
}

/* A lane's job: runs the handler, then hands the connection back to libmicrohttpd. */
static void run_job(void *arg)
{
    conn_req *q = arg;
    if (web_req_cancelled(&q->req)) {
        web_error(&q->reply, 503, "the client has gone or the server is stopping");
        q->reply.route = WEB_R_OTHER;
    } else {
        web_dispatch(&q->s->st, &q->req, &q->reply);
    }
    atomic_store(&q->job_state, JOB_DONE);
    MHD_resume_connection(q->c); /* q belongs to libmicrohttpd's thread again */
}

static void fill_req(sem_server *s, struct MHD_Connection *c, conn_req *q, const char *method, const char *url)
{
    q->req = (web_http_req){
        .method = method,
        .path = url ? url : "/",
        .body = q->body ? q->body : "",
        .body_len = q->len,
        .authorization = header(c, MHD_HTTP_HEADER_AUTHORIZATION),
        .api_key = header(c, "api-key"),
        .kb_arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kb"),
        .content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
        .origin = header(c, "Origin"),
        .host = header(c, MHD_HTTP_HEADER_HOST),
        .loopback_only = s->listener.loopback_only,
        .cancelled = conn_gone,
        .cancel_ud = q,
    };
}

/* The last call: the whole request is here. Cheap routes are answered now; the others go to their lane. */
static enum MHD_Result on_complete_request(sem_server *s, struct MHD_Connection *c, conn_req *q, const char *method,
                                           const char *url)
{
    if (atomic_load(&q->job_state) == JOB_DONE) /* resumed by the worker */
        return send_reply(s, c, q, &q->reply);
    web_conns_request_done(s->conns, q->conn);
    if (q->refuse == 413) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than the limit of %zu bytes", s->st.p.max_body);
        return reply_error(s, c, q, 413, 0, msg);
    }
    if (q->refuse)
        return reply_error(s, c, q, q->refuse, 1,
                           q->refuse == 503 ? "the server is receiving too many request bodies at once; retry"
                                            : "the request body could not be stored");
    fill_req(s, c, q, method, url);
    int lane = web_route_lane(method, q->req.path);
    if (lane == WEB_LANE_INLINE) {
        web_dispatch(&s->st, &q->req, &q->reply);
        return send_reply(s, c, q, &q->reply);
    }
    if (web_workq_reserve(s->lanes[lane]) != 0)
        return reply_error(s, c, q, 503, 0,
                           lane == WEB_LANE_BULK ? "too many embedding and write requests are waiting; retry"
                                                 : "too many search requests are waiting; retry");
    /* Checked after the reservation: shutdown sets force_stop and then waits for the lanes to be empty, so either
     * it sees this reservation or this sees force_stop (the queue's mutex orders the two); a connection is never
     * left suspended when the daemon stops. */
    if (atomic_load(&s->force_stop)) {
        web_workq_unreserve(s->lanes[lane]);
        return reply_error(s, c, q, 503, 1, "the server is shutting down");
    }
    atomic_store(&q->job_state, JOB_QUEUED);
    MHD_suspend_connection(c);
    q->job.fn = run_job;
    q->job.arg = q;
    web_workq_push(s->lanes[lane], &q->job);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    sem_server *s = cls;
    conn_req *q = *req_cls;
    if (!q) /* the URI callback ran out of memory */
        return MHD_NO;
    if (!q->started)
        return on_headers(s, c, q, method, version);
    if (*upload_data_size) {
        on_body(s, q, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return on_complete_request(s, c, q, method, url);
}

static void access_log(conn_req *q, struct MHD_Connection *c, int status, enum MHD_RequestTerminationCode toe,
                       double dt)
{
    char addr[INET6_ADDRSTRLEN] = "-";
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof addr);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr, sizeof addr);
    }
    /* What the client sent, escaped: no control byte or invalid UTF-8 reaches the log (or a terminal). */
    char m[64], path[512];
    web_log_escape(m, sizeof m, q->method[0] ? q->method : "-", strlen(q->method[0] ? q->method : "-"));
    const char *raw = q->raw ? q->raw : "-";
    const char *qm = strchr(raw, '?');
    web_log_escape(path, sizeof path, raw, qm ? (size_t)(qm - raw) : strlen(raw));
    if (status)
        sem_log(SEM_LOG_INFO, "%s \"%s %s\" %d %zu %.2fms", addr, m, path, status, q->resp_bytes, dt * 1e3);
    else
        sem_log(SEM_LOG_INFO, "%s \"%s %s\" aborted (%d) %.2fms", addr, m, path, (int)toe, dt * 1e3);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
    sem_server *s = cls;
    conn_req *q = *req_cls;
    if (!q)
        return;
    *req_cls = NULL;
    double dt = sem_now() - q->t0;
    /* A request that never got a response (the client went away) is counted with status 0 ("other"). */
    int status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? q->status : 0;
    web_metrics_observe(s->st.metrics, q->route, status, dt);
    if (s->st.p.access_log)
        access_log(q, c, status, toe, dt);
    web_conns_response_sent(s->conns, q->conn);
    body_drop(s, q);
    web_reply_free(&q->reply);
    free(q->raw);
    if (q->counted)
        atomic_fetch_sub(&s->in_flight, 1);
    free(q);
}

/* ---- start and stop ---- */

/* 0 in a limit means its default (sem_server_default_params). */
static void fill_defaults(sem_server_params *p)
{
    sem_server_params d = sem_server_default_params();
    if (p->n_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        p->n_threads = n < 2 ? 2 : n > 64 ? 64 : (int)n;
    }
    p->max_connections = p->max_connections ? p->max_connections : d.max_connections;
    p->max_per_client = p->max_per_client ? p->max_per_client : d.max_per_client;
    p->read_timeout_s = p->read_timeout_s ? p->read_timeout_s : d.read_timeout_s;
    p->max_body_in_flight = p->max_body_in_flight ? p->max_body_in_flight : d.max_body_in_flight;
    p->max_tokens = p->max_tokens ? p->max_tokens : d.max_tokens;
    p->max_queue = p->max_queue ? p->max_queue : d.max_queue;
}

static int check_params(const sem_server_params *p, sem_error *err)
{
    if (!p->host || !*p->host)
        return sem_error_set(err, SEM_EINVAL, "the host is empty");
    if (p->port < 0 || p->port > 65535)
        return sem_error_set(err, SEM_EINVAL, "port %d is out of range [0, 65535]", p->port);
    if (p->n_threads < 0 || p->n_threads > 1024)
        return sem_error_set(err, SEM_EINVAL, "threads %d is out of range [0, 1024]", p->n_threads);
    if (p->api_key && !*p->api_key)
        return sem_error_set(err, SEM_EINVAL, "the API key is empty");
    if (p->max_body < 1)
        return sem_error_set(err, SEM_EINVAL, "the body limit must be at least 1 byte");
    if (p->max_batch < 1 || p->max_k < 1 || p->max_text_chars < 1)
        return sem_error_set(err, SEM_EINVAL, "the batch, k and text limits must be at least 1");
    if (p->timeout_s < 0 || p->read_timeout_s < 0)
        return sem_error_set(err, SEM_EINVAL, "the timeouts must not be negative");
    if (p->max_connections < 0 || p->max_connections > 1000000 || p->max_per_client < 0 || p->max_queue < 0
        || p->max_tokens < 0)
        return sem_error_set(err, SEM_EINVAL, "the connection, queue and token limits must be positive (and at most "
                                              "1000000 connections)");
    if (p->max_body_in_flight && p->max_body_in_flight <= p->max_body)
        return sem_error_set(err, SEM_EINVAL,
                             "the budget for request bodies in flight (%zu bytes) must be larger than the body limit "
                             "(%zu bytes)",
                             p->max_body_in_flight, p->max_body);
    return SEM_OK;
}

static int start_daemon(sem_server *s, sem_error *err)
{
    const sem_server_params *p = &s->st.p;
    unsigned io = p->n_threads < 2 ? 2 : p->n_threads > 4 ? 4 : (unsigned)p->n_threads;
    unsigned max_conns = (unsigned)web_fd_room(p->max_connections, 64 + 16 * s->st.n_kbs);
    if (max_conns < io)
        io = max_conns;
    s->daemon_tried = 1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG
                     | MHD_ALLOW_SUSPEND_RESUME;
    /* The logger first, so that MHD reports problems with the other options through it. */
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
        (MHD_socket)s->listener.fd, MHD_OPTION_THREAD_POOL_SIZE, io, MHD_OPTION_CONNECTION_LIMIT, max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)p->max_per_client, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)p->timeout_s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
        s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->daemon)
        return sem_error_set(err, SEM_EIO, "cannot start the HTTP daemon on %s port %d", s->host, s->listener.port);
    return SEM_OK;
}

/* The writes policy that needs the bound address: unauthenticated writes only on a loopback-only listener. */
static int check_write_policy(const sem_server *s, sem_error *err)
{
    if (!s->api_key && s->st.p.allow_unauthenticated_writes && !s->listener.loopback_only)
        return sem_error_set(err, SEM_EINVAL,
                             "unauthenticated writes are only allowed on a loopback address, and %s is not one: set "
                             "an API key (--api-key or SEMSEARCH_API_KEY) instead",
                             s->host);
    return SEM_OK;
}

/* Binds the port, opens the KBs, starts the lanes and the reaper. */
static int open_all(sem_server *s, const char *const *kb_paths, int n_kbs, sem_error *err)
{
    if (web_listen(s->host, s->st.p.port, &s->listener, err) || check_write_policy(s, err))
        return -1;
    s->st.p.port = s->listener.port;
    for (int i = 0; i < n_kbs; i++) {
        web_kb *kb = web_kb_open(kb_paths[i], s->model_dir, s->st.p.precision, err);
        if (!kb)
            return -1;
        s->st.kbs[s->st.n_kbs++] = kb;
        for (int j = 0; j < i; j++)
            if (strcmp(web_kb_name(s->st.kbs[j]), web_kb_name(kb)) == 0)
                return sem_error_set(err, SEM_EINVAL,
                                     "two knowledge bases are named '%s' (a KB is addressed by its directory's base "
                                     "name)",
                                     web_kb_name(kb));
    }
    const sem_server_params *p = &s->st.p;
    s->lanes[WEB_LANE_FAST] = web_workq_new("search workers", p->n_threads, p->max_queue, err);
    s->lanes[WEB_LANE_BULK] = s->lanes[WEB_LANE_FAST]
                                  ? web_workq_new("embedding workers", p->n_threads, p->max_queue, err)
                                  : NULL;
    s->conns = s->lanes[WEB_LANE_BULK] ? web_conns_new(p->read_timeout_s, p->timeout_s, err) : NULL;
    return s->conns ? 0 : -1;
}

sem_server *sem_server_new(const char *const *kb_paths, int n_kbs, const sem_server_params *params,
                           sem_error *err)
{
    sem_server_params p = params ? *params : sem_server_default_params();
    if (check_params(&p, err))
        return NULL;
    if (n_kbs < 1 || !kb_paths)
        return sem_error_set(err, SEM_EINVAL, "no knowledge base to serve"), NULL;
    fill_defaults(&p);
    sem_server *s = calloc(1, sizeof *s);
    if (!s)
        return sem_error_set(err, SEM_ENOMEM, "out of memory"), NULL;
    s->listener.fd = -1;
    s->shut = 1; /* nothing to shut down until the daemon runs */
    s->host = strdup(p.host);
    s->api_key = p.api_key ? strdup(p.api_key) : NULL;
    s->model_dir = p.model_dir ? strdup(p.model_dir) : NULL;
    s->st.kbs = calloc((size_t)n_kbs, sizeof *s->st.kbs);
    s->st.metrics = web_metrics_new();
    if (!s->host || (p.api_key && !s->api_key) || (p.model_dir && !s->model_dir) || !s->st.kbs || !s->st.metrics) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    p.host = s->host;
    p.api_key = s->api_key;
    p.model_dir = s->model_dir;
    s->st.p = p;
    s->st.t_start = sem_now();
    if (open_all(s, kb_paths, n_kbs, err) || start_daemon(s, err))
        goto fail;
    s->shut = 0;
    return s;
fail:
    if (!s->daemon_tried && s->listener.fd >= 0)
        close(s->listener.fd);
    sem_server_free(s);
    return NULL;
}

int sem_server_port(const sem_server *s)
{
    return s ? s->listener.port : -1;
}

int sem_server_loopback_only(const sem_server *s)
{
    return s ? s->listener.loopback_only : 0;
}

static int lanes_busy(sem_server *s)
{
    int n = 0;
    for (int i = WEB_LANE_FAST; i <= WEB_LANE_BULK; i++)
        if (s->lanes[i])
            n += web_workq_waiting(s->lanes[i]) + web_workq_running(s->lanes[i]);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
}

void sem_server_shutdown(sem_server *s, double grace_s)
{
    if (!s || s->shut)
        return;
    s->shut = 1;
    atomic_store(&s->stopping, 1);
    MHD_socket lsock = MHD_quiesce_daemon(s->daemon);
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock);
    /* Wait until no request is running and none has started for a moment (a request whose bytes were on an
     * open connection when we stopped accepting still gets served, with Connection: close). */
    double t_end = sem_now() + grace_s;
    for (;;) {
        double now = sem_now();
        long long last = atomic_load(&s->last_start_us);
        if (atomic_load(&s->in_flight) == 0 && now * 1e6 - (double)last > 200e3)
            break;
        if (now >= t_end) {
            sem_log(SEM_LOG_WARN, "shutdown: %d request(s) still running after %.0f s; stopping them",
                    atomic_load(&s->in_flight), grace_s);
            break;
        }
        sleep_ms(10);
    }
    /* Past the grace: handlers stop at their next cancellation check; every suspended connection must be
     * resumed by its worker before MHD_stop_daemon (libmicrohttpd panics otherwise). */
    atomic_store(&s->force_stop, 1);
    double t_warn = sem_now() + 5;
    while (lanes_busy(s)) {
        if (t_warn > 0 && sem_now() > t_warn) {
            sem_log(SEM_LOG_WARN, "shutdown: waiting for %d request(s) that cannot be interrupted", lanes_busy(s));
            t_warn = 0;
        }
        sleep_ms(2);
    }
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
}

void sem_server_free(sem_server *s)
{
    if (!s)
        return;
    sem_server_shutdown(s, 30.0);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    for (int i = WEB_LANE_FAST; i <= WEB_LANE_BULK; i++)
        web_workq_free(s->lanes[i]);
    web_conns_free(s->conns);
    for (int i = 0; i < s->st.n_kbs; i++)
        web_kb_close(s->st.kbs[i]);
    free(s->st.kbs);
    web_metrics_free(s->st.metrics);
    free(s->host);
    free(s->api_key);
    free(s->model_dir);
    free(s);
}
