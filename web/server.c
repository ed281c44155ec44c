/* web/server.c: the libmicrohttpd daemon. A pool of threads (MHD_OPTION_THREAD_POOL_SIZE) runs the requests;
 * each request's state lives in req_cls from its first callback to the completion callback, which frees it,
 * records metrics and writes the access log line. Bodies are accumulated up to max_body (413 beyond).
 * Shutdown: stop accepting (MHD_quiesce_daemon), let in-flight requests finish, then stop the daemon. */
#include "web/internal.h"

#include "common/fileio.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct sem_server {
    web_state st;
    char *host, *api_key, *model_dir; /* copies of the params' strings */
    struct MHD_Daemon *daemon;
    int port;
    atomic_int in_flight;       /* requests between their first callback and completion */
    atomic_llong last_start_us; /* when the latest request started (sem_now() in microseconds) */
    atomic_int stopping;        /* set by shutdown: responses then carry "Connection: close" */
    int shut;                   /* shutdown done (controlling thread only) */
};

/* One request's state (req_cls). */
typedef struct conn_req {
    sem_strbuf body; /* the request body so far: body.len bytes + NUL */
    int too_large;
    double t0;
    int status, route;
    size_t resp_bytes;
    char method[12];
    char *path;
} conn_req;

sem_server_params sem_server_default_params(void)
{
    sem_server_params p = {0};
    p.host = "127.0.0.1";
    p.port = 8080;
    p.n_threads = 0;
    p.api_key = NULL;
    p.max_body = (size_t)8 << 20;
    p.max_batch = 256;
    p.max_k = 1000;
    p.max_text_chars = 1 << 20;
    p.timeout_s = 30;
    p.access_log = 1;
    return p;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    sem_log(SEM_LOG_WARN, "http: %s", buf);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

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
    if (atomic_load(&s->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    q->status = r->status;
    q->route = r->route;
    q->resp_bytes = r->len;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_error(sem_server *s, struct MHD_Connection *c, conn_req *q, int route, int status,
                                   const char *msg)
{
    web_reply r = {0};
    web_error(&r, status, "%s", msg);
    r.route = route;
    return send_reply(s, c, q, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    sem_server *s = cls;
    conn_req *q = *req_cls;
    if (!q) {
        /* First call: headers only. */
        q = calloc(1, sizeof *q);
        if (!q)
            return MHD_NO;
        q->t0 = sem_now();
        q->route = WEB_R_OTHER;
        snprintf(q->method, sizeof q->method, "%s", method);
        q->path = strdup(url ? url : "/");
        *req_cls = q;
        atomic_fetch_add(&s->in_flight, 1);
        atomic_store(&s->last_start_us, (long long)(q->t0 * 1e6));
        if (!q->path)
            return MHD_NO;
        /* A declared length over the limit is refused before the body is read. */
        const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || *end || n > s->st.p.max_body) {
                char msg[128];
                snprintf(msg, sizeof msg, "the request body is larger than the limit of %zu bytes",
                         s->st.p.max_body);
                return reply_error(s, c, q, WEB_R_OTHER, 413, msg);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (q->too_large)
            return MHD_YES;
        if (n > s->st.p.max_body - q->body.len) {
            /* Over the limit (a chunked body): drop what we have and read the rest without keeping it. */
            q->too_large = 1;
            sem_strbuf_free(&q->body);
            return MHD_YES;
        }
        sem_strbuf_put(&q->body, upload_data, n);
        if (q->body.oom)
            return reply_error(s, c, q, WEB_R_OTHER, 500, "out of memory reading the request body");
        return MHD_YES;
    }
    /* Last call: the whole request is here. */
    if (q->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than the limit of %zu bytes", s->st.p.max_body);
        return reply_error(s, c, q, WEB_R_OTHER, 413, msg);
    }
    web_http_req req = {
        .method = method,
        .path = q->path,
        .body = q->body.s ? q->body.s : "",
        .body_len = q->body.len,
        .authorization = header(c, MHD_HTTP_HEADER_AUTHORIZATION),
        .api_key = header(c, "api-key"),
        .kb_arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kb"),
    };
    web_reply r = {0};
    web_dispatch(&s->st, &req, &r);
    return send_reply(s, c, q, &r);
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
    if (s->st.p.access_log) {
        char addr[INET6_ADDRSTRLEN] = "-";
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof addr);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr,
                          sizeof addr);
        }
        if (status)
            sem_log(SEM_LOG_INFO, "%s \"%s %s\" %d %zu %.2fms", addr, q->method, q->path ? q->path : "-", status,
                    q->resp_bytes, dt * 1e3);
        else
            sem_log(SEM_LOG_INFO, "%s \"%s %s\" aborted (%d) %.2fms", addr, q->method, q->path ? q->path : "-",
                    (int)toe, dt * 1e3);
    }
    sem_strbuf_free(&q->body);
    free(q->path);
    free(q);
    atomic_fetch_sub(&s->in_flight, 1);
}

static int check_params(const sem_server_params *p, sem_error *err)
{
    if (!p->host || !*p->host)
        return sem_error_set(err, SEM_EINVAL, "the host is empty");
    if (p->port < 0 || p->port > 65535)
        return sem_error_set(err, SEM_EINVAL, "port %d is out of range [0, 65535]", p->port);
    if (p->n_threads < 0 || p->n_threads > 1024)
        return sem_error_set(err, SEM_EINVAL, "threads %d is out of range [0, 1024]", p->n_threads);
    if (p->max_body < 1)
        return sem_error_set(err, SEM_EINVAL, "the body limit must be at least 1 byte");
    if (p->max_batch < 1 || p->max_k < 1 || p->max_text_chars < 1)
        return sem_error_set(err, SEM_EINVAL, "the batch, k and text limits must be at least 1");
    if (p->timeout_s < 0)
        return sem_error_set(err, SEM_EINVAL, "the timeout must not be negative");
    return SEM_OK;
}

static int start_daemon(sem_server *s, sem_error *err)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s->st.p.port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(s->host, port, &hints, &ai);
    if (rc != 0 || !ai)
        return sem_error_set(err, SEM_EINVAL, "cannot resolve host '%s': %s", s->host, gai_strerror(rc));
    struct sockaddr_storage addr;
    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    int family = ai->ai_family;
    freeaddrinfo(ai);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger first, so that MHD reports problems with the other options through it. */
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)s->st.p.n_threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)s->st.p.timeout_s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!s->daemon)
        return sem_error_set(err, SEM_EIO, "cannot listen on %s port %d (in use? not a local address?)", s->host,
                             s->st.p.port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->st.p.port;
    return SEM_OK;
}

sem_server *sem_server_new(const char *const *kb_paths, int n_kbs, const sem_server_params *params,
                           sem_error *err)
{
    sem_server_params p = params ? *params : sem_server_default_params();
    if (check_params(&p, err))
        return NULL;
    if (n_kbs < 1 || !kb_paths)
        return sem_error_set(err, SEM_EINVAL, "no knowledge base to serve"), NULL;
    if (p.n_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        p.n_threads = n < 2 ? 2 : n > 64 ? 64 : (int)n;
    }
    sem_server *s = calloc(1, sizeof *s);
    if (!s)
        return sem_error_set(err, SEM_ENOMEM, "out of memory"), NULL;
    s->host = strdup(p.host);
    s->api_key = p.api_key && *p.api_key ? strdup(p.api_key) : NULL;
    s->model_dir = p.model_dir ? strdup(p.model_dir) : NULL;
    s->st.kbs = calloc((size_t)n_kbs, sizeof *s->st.kbs);
    s->st.metrics = web_metrics_new();
    if (!s->host || (p.api_key && *p.api_key && !s->api_key) || (p.model_dir && !s->model_dir) || !s->st.kbs || !s->st.metrics) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    p.host = s->host;
    p.api_key = s->api_key;
    p.model_dir = s->model_dir;
    s->st.p = p;
    s->st.t_start = sem_now();
    s->shut = 1; /* nothing to shut down until the daemon runs */
    for (int i = 0; i < n_kbs; i++) {
        web_kb *kb = web_kb_open(kb_paths[i], p.model_dir, err);
        if (!kb)
            goto fail;
        s->st.kbs[s->st.n_kbs++] = kb;
        for (int j = 0; j < i; j++)
            if (strcmp(web_kb_name(s->st.kbs[j]), web_kb_name(kb)) == 0) {
                sem_error_set(err, SEM_EINVAL,
                              "two knowledge bases are named '%s' (a KB is addressed by its directory's base name)",
                              web_kb_name(kb));
                goto fail;
            }
    }
    if (start_daemon(s, err))
        goto fail;
    s->shut = 0;
    return s;
fail:
    sem_server_free(s);
    return NULL;
}

int sem_server_port(const sem_server *s)
{
    return s ? s->port : -1;
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
            sem_log(SEM_LOG_WARN, "shutdown: %d request(s) still running after %.0f s; stopping anyway",
                    atomic_load(&s->in_flight), grace_s);
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
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
    for (int i = 0; i < s->st.n_kbs; i++)
        web_kb_close(s->st.kbs[i]);
    free(s->st.kbs);
    web_metrics_free(s->st.metrics);
    free(s->host);
    free(s->api_key);
    free(s->model_dir);
    free(s);
}
