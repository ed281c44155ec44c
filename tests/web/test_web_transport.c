/* tests/web/test_web_transport.c: the HTTP transport under `semsearch serve`: what happens before and around
 * the handlers.
 *  - unit: the access log escaper, request-target and framing-header checks, lanes, the worker queue, the
 *    connection reaper (a socketpair past its deadline is shut down);
 *  - raw sockets against a server: two Content-Lengths, Transfer-Encoding with Content-Length, an unknown
 *    Transfer-Encoding, no Host: 400/501 with Connection: close and nothing smuggled answered; %00 and invalid
 *    UTF-8 in a path refused (a DELETE of "plain%00xyz" deletes nothing); control bytes escaped in the log;
 *  - limits: per-client connections, 300 slow connections while /health answers and all of them shut down
 *    after --read-timeout; the body budget (503 + Retry-After); a full queue (503);
 *  - lanes: with two large /embed requests running, /health and /search answer within 200 ms; a client that
 *    disconnects mid-/embed frees its worker at once; SIGTERM with --grace 2 during a long request exits in < 5 s;
 *  - start-up: "port N is in use", an empty API key, unauthenticated writes on a non-loopback host.
 * `test_web_transport --measure N` (not run by ctest) opens N hostile connections to a fresh server and prints
 * its RSS (docs/web.md, "Security"). */
#include "test.h"
#include "web_test_util.h"

#include "common/fileio.h"
#include "common/strbuf.h"
#include "web/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>

static const char *const JSON[] = {"Content-Type: application/json", NULL};
static const char *const JSON_KEY[] = {"Content-Type: application/json", "Authorization: Bearer k", NULL};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- unit ---- */

static void test_log_escape(void)
{
    char out[64];
    web_log_escape(out, sizeof out, "/search", 7);
    CHECK_STREQ(out, "/search");
    web_log_escape(out, sizeof out, "/a\nforged 200", 13);
    CHECK_STREQ(out, "/a\\x0aforged 200");
    web_log_escape(out, sizeof out, "\x1b[31mred\x7f", 9);
    CHECK_STREQ(out, "\\x1b[31mred\\x7f");
    web_log_escape(out, sizeof out, "q\"uo\\te", 7);
    CHECK_STREQ(out, "q\\\"uo\\\\te");
    web_log_escape(out, sizeof out, "caf\xc3\xa9 \xff\xc3", 8);
    CHECK_STREQ(out, "caf\xc3\xa9 \\xff\\xc3"); /* valid UTF-8 kept, a stray byte and a cut sequence escaped */
    web_log_escape(out, sizeof out, "a\0b", 3);
    CHECK_STREQ(out, "a\\x00b");
    /* too long: cut with "...", never inside an escape or a character */
    char small[12];
    size_t n = web_log_escape(small, sizeof small, "\n\n\n\n", 4);
    CHECK_STREQ(small, "\\x0a\\x0a...");
    CHECK_EQ_INT(n, strlen(small));
    web_log_escape(small, sizeof small, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 12);
    CHECK_STREQ(small, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...");
    web_log_escape(small, sizeof small, "exactly 11c", 11); /* fits exactly: no "..." */
    CHECK_STREQ(small, "exactly 11c");
    CHECK_EQ_INT(web_log_escape(small, 4, "abc", 3), 0); /* cap too small: empty */
}

static int target(const char *raw)
{
    const char *why;
    return web_check_target(raw, &why);
}

static void test_targets(void)
{
    CHECK_EQ_INT(target("/documents/a%20b%2Fc?kb=x"), 0);
    CHECK_EQ_INT(target("/documents/caf%C3%A9"), 0);
    CHECK_EQ_INT(target("/documents/caf\xc3\xa9"), 0);
    CHECK_EQ_INT(target("/documents/plain%00xyz"), 400);
    CHECK_EQ_INT(target("/documents/x?kb=a%00b"), 400); /* the query string too */
    CHECK_EQ_INT(target("/documents/a%ffb"), 400);      /* decodes to invalid UTF-8 */
    CHECK_EQ_INT(target("/documents/a\xff"), 400);
    CHECK_EQ_INT(target("/documents/%C3"), 400); /* a cut sequence */
    CHECK_EQ_INT(target("/documents/%ED%A0%80"), 400); /* a surrogate */
    CHECK_EQ_INT(target("/a\x1b[31m"), 400);
    CHECK_EQ_INT(target("/a\tb"), 400);
    CHECK_EQ_INT(target("/x?q=%ff"), 0); /* bytes in the query string are the handler's business */
    CHECK_EQ_INT(target("/50%"), 0);    /* not an escape: kept as is */
    CHECK_EQ_INT(target("/%0"), 0);
    CHECK_EQ_INT(target(""), 400);
    /* a long path goes through the heap buffer */
    char *longp = malloc(10000);
    memset(longp, 'a', 9999);
    longp[0] = '/';
    longp[9999] = '\0';
    CHECK_EQ_INT(target(longp), 0);
    memcpy(longp + 5000, "%00", 3);
    CHECK_EQ_INT(target(longp), 400);
    free(longp);
}

/* Checks a header list ("Name", "value", ..., NULL) for version; returns the status, *len the length. */
static int framing(const char *version, int *chunked, unsigned long long *len, ...)
{
    web_hdrcheck h = {0};
    va_list ap;
    va_start(ap, len);
    const char *n;
    while ((n = va_arg(ap, const char *)) != NULL)
        web_hdrcheck_add(&h, n, va_arg(ap, const char *));
    va_end(ap);
    int has_len = 0, ch = 0;
    const char *why = NULL;
    int st = web_hdrcheck_finish(&h, version, &has_len, &ch, &why);
    CHECK(st == 0 ? why == NULL : why != NULL);
    if (chunked)
        *chunked = ch;
    if (len)
        *len = has_len ? h.length : (unsigned long long)-1;
    return st;
}

static void test_framing(void)
{
    int ch;
    unsigned long long len;
    CHECK_EQ_INT(framing("HTTP/1.1", &ch, &len, "Host", "x", "Content-Length", "17", NULL), 0);
    CHECK_EQ_INT(len, 17);
    CHECK_EQ_INT(ch, 0);
    CHECK_EQ_INT(framing("HTTP/1.1", &ch, &len, "host", "x", "transfer-encoding", "Chunked", NULL), 0);
    CHECK_EQ_INT(ch, 1);
    CHECK(len == (unsigned long long)-1);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "x", "Content-Length", "5", "Content-Length", "60", NULL),
                 400);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "x", "Content-Length", "5", "content-length", "5", NULL),
                 400);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "x", "Content-Length", "5, 5", NULL), 400);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "x", "Content-Length", "-1", NULL), 400);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "x", "Content-Length", "", NULL), 400);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "x", "Content-Length", "99999999999999999999", NULL), 400);
    CHECK_EQ_INT(framing("HTTP/1.1", &ch, &len, "Host", "x", "Content-Length", "9999999999999999999", NULL), 0);
    CHECK(len == 9999999999999999999ull);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "x", "Transfer-Encoding", "chunked", "Content-Length", "3",
                         NULL),
                 400);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "x", "Transfer-Encoding", "gzip", NULL), 501);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "x", "Transfer-Encoding", "gzip, chunked", NULL), 501);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "x", "Transfer-Encoding", "chunked", "Transfer-Encoding",
                         "chunked", NULL),
                 501);
    CHECK_EQ_INT(framing("HTTP/1.0", NULL, NULL, "Transfer-Encoding", "chunked", NULL), 400);
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Accept", "*/*", NULL), 400); /* no Host */
    CHECK_EQ_INT(framing("HTTP/1.1", NULL, NULL, "Host", "a", "Host", "b", NULL), 400);
    CHECK_EQ_INT(framing("HTTP/1.0", NULL, NULL, "Accept", "*/*", NULL), 0);
    CHECK_EQ_INT(framing("HTTP/1.0", NULL, NULL, "Host", "a", "Host", "b", NULL), 400);
}

static void test_lanes(void)
{
    CHECK_EQ_INT(web_route_lane("POST", "/search"), WEB_LANE_FAST);
    CHECK_EQ_INT(web_route_lane("GET", "/documents/x"), WEB_LANE_FAST);
    CHECK_EQ_INT(web_route_lane("HEAD", "/documents/x"), WEB_LANE_FAST);
    CHECK_EQ_INT(web_route_lane("DELETE", "/documents/x"), WEB_LANE_BULK);
    CHECK_EQ_INT(web_route_lane("POST", "/embed"), WEB_LANE_BULK);
    CHECK_EQ_INT(web_route_lane("POST", "/v1/embeddings"), WEB_LANE_BULK);
    CHECK_EQ_INT(web_route_lane("POST", "/encode"), WEB_LANE_BULK);
    CHECK_EQ_INT(web_route_lane("POST", "/documents"), WEB_LANE_BULK);
    CHECK_EQ_INT(web_route_lane("GET", "/health"), WEB_LANE_INLINE);
    CHECK_EQ_INT(web_route_lane("GET", "/metrics"), WEB_LANE_INLINE);
    CHECK_EQ_INT(web_route_lane("GET", "/"), WEB_LANE_INLINE);
    CHECK_EQ_INT(web_route_lane("GET", "/search"), WEB_LANE_INLINE); /* a 405 */
    CHECK_EQ_INT(web_route_lane("GET", "/documents/"), WEB_LANE_INLINE);
    CHECK_EQ_INT(web_route_lane("PUT", "/documents/x"), WEB_LANE_INLINE);
}

static atomic_int jobs_run;
static atomic_int gate; /* jobs wait while 0 */

static void slow_job(void *arg)
{
    (void)arg;
    while (!atomic_load(&gate))
        usleep(1000);
    atomic_fetch_add(&jobs_run, 1);
}

static void test_workq(void)
{
    sem_error err = {0};
    web_workq *q = web_workq_new("test", 2, 3, &err);
    CHECK(q != NULL);
    if (!q)
        return;
    web_job jobs[5];
    int pushed = 0;
    for (int i = 0; i < 5; i++) {
        /* 2 running (once started) + 3 waiting; reserve refuses the rest */
        if (i == 2)
            while (web_workq_running(q) < 2)
                usleep(1000);
        if (web_workq_reserve(q) != 0)
            break;
        jobs[i] = (web_job){slow_job, NULL, NULL};
        web_workq_push(q, &jobs[i]);
        pushed++;
    }
    CHECK_EQ_INT(pushed, 5);
    CHECK_EQ_INT(web_workq_waiting(q), 3);
    CHECK_EQ_INT(web_workq_reserve(q), -1);
    atomic_store(&gate, 1);
    web_workq_free(q); /* runs what is queued */
    CHECK_EQ_INT(atomic_load(&jobs_run), 5);
    CHECK(web_workq_new("bad", 0, 1, &err) == NULL);
}

static void test_reaper(void)
{
    sem_error err = {0};
    web_conns *cs = web_conns_new(0.3, 0.5, &err);
    CHECK(cs != NULL);
    if (!cs)
        return;
    int a[2], b[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
    web_conn *slow = web_conns_add(cs, a[0]), *busy = web_conns_add(cs, b[0]);
    CHECK_EQ_INT(web_conns_open(cs), 2);
    web_conns_request_line(cs, busy);
    web_conns_request_done(cs, busy); /* a request being processed has no deadline */
    usleep(700 * 1000);
    char ch;
    CHECK_EQ_INT(recv(a[1], &ch, 1, MSG_DONTWAIT), 0); /* shut down: the peer sees the end */
    CHECK(recv(b[1], &ch, 1, MSG_DONTWAIT) < 0);       /* still open */
    CHECK_EQ_INT(web_conns_reaped(cs), 1);
    web_conns_response_sent(cs, busy); /* now idle, 0.5 s */
    usleep(200 * 1000);
    CHECK(recv(b[1], &ch, 1, MSG_DONTWAIT) < 0);
    usleep(600 * 1000);
    CHECK_EQ_INT(recv(b[1], &ch, 1, MSG_DONTWAIT), 0);
    web_conns_remove(cs, slow);
    web_conns_remove(cs, busy);
    CHECK_EQ_INT(web_conns_open(cs), 0);
    web_conns_free(cs);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

/* --------------------------------------------------------- raw sockets ---- */

static int url_port(const char *url)
{
    const char *c = strrchr(url, ':');
    return c ? atoi(c + 1) : -1;
}

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void raw_send(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

/* Reads until the peer closes or timeout_s passes; *eof = 1 when it closed. Caller frees. */
static char *raw_read(int fd, double timeout_s, int *eof)
{
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap + 1);
    double end = now_s() + timeout_s;
    *eof = 0;
    while (buf && now_s() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        if (len == cap) {
            char *b = realloc(buf, 2 * cap + 1);
            if (!b)
                break;
            buf = b;
            cap *= 2;
        }
        ssize_t k = recv(fd, buf + len, cap - len, 0);
        if (k <= 0) {
            *eof = 1;
            break;
        }
        len += (size_t)k;
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Sends req on a fresh connection; returns what came back within timeout_s (caller frees). */
static char *raw_exchange(int port, const char *req, double timeout_s, int *eof, double *dt)
{
    int fd = raw_connect(port);
    if (fd < 0)
        return calloc(1, 1);
    double t0 = now_s();
    raw_send(fd, req, strlen(req));
    char *out = raw_read(fd, timeout_s, eof);
    if (dt)
        *dt = now_s() - t0;
    close(fd);
    return out;
}

static int count_substr(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)) != NULL; p += strlen(sub))
        n++;
    return n;
}

/* One raw request that must get `status` with Connection: close, then the end of the connection, and no
 * second response (the smuggled request is never answered). */
static void expect_refused(int port, const char *req, const char *status_line, const char *what)
{
    int eof;
    double dt;
    char *out = raw_exchange(port, req, 5.0, &eof, &dt);
    CHECK_MSG(strncmp(out, status_line, strlen(status_line)) == 0, "%s: got '%.60s'", what, out);
    CHECK_MSG(strstr(out, "Connection: close") != NULL, "%s: no Connection: close", what);
    CHECK_MSG(eof && dt < 2.0, "%s: connection not closed at once (%.2f s)", what, dt);
    CHECK_MSG(count_substr(out, "\r\nDate: ") == 1, "%s: %d responses", what, count_substr(out, "\r\nDate: "));
    free(out);
}

static void test_smuggling(int port)
{
    const char *J = "Content-Type: application/json\r\n";
    char req[1024];
    snprintf(req, sizeof req,
             "POST /search HTTP/1.1\r\nHost: x\r\n%sContent-Length: 17\r\nContent-Length: 70\r\n\r\n"
             "{\"query\":\"sugar\"}GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
             J);
    expect_refused(port, req, "HTTP/1.1 400", "two Content-Lengths");
    snprintf(req, sizeof req,
             "POST /search HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\nContent-Length: 48\r\n\r\n"
             "0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n",
             J);
    expect_refused(port, req, "HTTP/1.1 400", "Transfer-Encoding and Content-Length");
    snprintf(req, sizeof req, "POST /search HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: gzip\r\n\r\nabc", J);
    expect_refused(port, req, "HTTP/1.1 501", "Transfer-Encoding: gzip");
    expect_refused(port, "GET /health HTTP/1.1\r\n\r\n", "HTTP/1.1 400", "no Host");
    expect_refused(port, "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400", "two Hosts");
    /* still fine: HTTP/1.0 without Host, and two pipelined requests with honest framing */
    int eof;
    char *out = raw_exchange(port, "GET /health HTTP/1.0\r\n\r\n", 5.0, &eof, NULL);
    CHECK(strncmp(out, "HTTP/1.1 200", 12) == 0 || strncmp(out, "HTTP/1.0 200", 12) == 0);
    free(out);
    snprintf(req, sizeof req,
             "POST /search HTTP/1.1\r\nHost: x\r\n%sContent-Length: 17\r\n\r\n{\"query\":\"sugar\"}"
             "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             J);
    out = raw_exchange(port, req, 5.0, &eof, NULL);
    CHECK_EQ_INT(count_substr(out, "HTTP/1.1 200 "), 2);
    free(out);
}

/* %00 and invalid UTF-8 in a path are refused, never truncated; the log escapes what clients send. */
static void test_paths_and_log(int port, const char *base, const char *log)
{
    wt_resp r;
    CHECK(wt_http(base, "DELETE", "/documents/plain%00xyz", NULL, JSON_KEY, &r) == 0);
    CHECK_EQ_INT(r.status, 400);
    free(r.body);
    CHECK(wt_http(base, "GET", "/documents/plain", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 200); /* not deleted */
    free(r.body);
    CHECK(wt_http(base, "GET", "/documents/plain%00xyz", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 400);
    free(r.body);
    CHECK(wt_http(base, "GET", "/documents/pl%FFain", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 400);
    free(r.body);
    CHECK(wt_http(base, "GET", "/documents/plain?kb=kb%00x", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 400);
    free(r.body);
    /* raw bytes: an ESC sequence and a stray 0xff in the request line, and a %0A that must stay one line */
    int eof;
    char *out = raw_exchange(port, "GET /x\x1b[2J\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5.0, &eof,
                             NULL);
    CHECK(strncmp(out, "HTTP/1.1 400", 12) == 0);
    free(out);
    CHECK(wt_http(base, "GET", "/x%0A127.0.0.1%20%22GET%20/forged%22%20200", NULL, NULL, &r) == 0);
    CHECK_EQ_INT(r.status, 404);
    free(r.body);
    usleep(100 * 1000);
    FILE *f = fopen(log, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int esc_seen = 0, bad_bytes = 0, forged = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        for (ssize_t i = 0; i < n - 1; i++)
            bad_bytes += (unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f;
        bad_bytes += !sem_utf8_valid(line, (size_t)n, NULL);
        esc_seen |= strstr(line, "/x\\x1b[2J\\xff") != NULL;
        forged |= strncmp(line, "127.0.0.1 \"GET /forged", 22) == 0;
    }
    free(line);
    fclose(f);
    CHECK_MSG(bad_bytes == 0, "%d control or invalid bytes in the log", bad_bytes);
    CHECK(esc_seen);
    CHECK(!forged);
}

/* -------------------------------------------------------------- limits ---- */

/* Opens n connections that send a request line and then one header byte every 0.5 s; after /health is
 * answered (within 1 s), all must be shut down by the server within read_timeout + 1.5 s. */
static void test_slow_connections(const char *base, int port, int n, double read_timeout)
{
    int *fds = malloc(sizeof(int) * (size_t)n);
    int opened = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = raw_connect(port);
        if (fds[i] < 0)
            break;
        raw_send(fds[i], "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ", 40);
        opened++;
    }
    CHECK_EQ_INT(opened, n);
    double t0 = now_s();
    wt_resp r;
    CHECK(wt_http(base, "GET", "/health", NULL, NULL, &r) == 0);
    double dt = now_s() - t0;
    CHECK_EQ_INT(r.status, 200);
    CHECK_MSG(dt < 1.0, "/health took %.3f s with %d slow connections open", dt, opened);
    free(r.body);
    int closed = 0;
    char *seen = calloc((size_t)opened, 1);
    while (now_s() - t0 < read_timeout + 1.5 && closed < opened) {
        for (int i = 0; i < opened; i++) {
            char ch;
            if (seen[i])
                continue;
            if (recv(fds[i], &ch, 1, MSG_DONTWAIT) == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                seen[i] = 1;
                closed++;
            } else {
                raw_send(fds[i], "a", 1); /* still trickling */
            }
        }
        usleep(500 * 1000);
    }
    CHECK_MSG(closed == opened, "%d of %d slow connections shut down after %.1f s", closed, opened, now_s() - t0);
    for (int i = 0; i < opened; i++)
        close(fds[i]);
    free(seen);
    free(fds);
}

/* With --max-per-client 10: the 11th connection from this address is closed at once. */
static void test_per_client(int port)
{
    int fds[12], closed_at = -1;
    for (int i = 0; i < 12; i++)
        fds[i] = raw_connect(port);
    usleep(300 * 1000);
    for (int i = 0; i < 12; i++) {
        char ch;
        if (fds[i] >= 0 && recv(fds[i], &ch, 1, MSG_DONTWAIT) == 0 && closed_at < 0)
            closed_at = i;
    }
    CHECK_EQ_INT(closed_at, 10);
    for (int i = 0; i < 12; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* --max-body 100000 --max-body-in-flight 150000: one declared-but-unsent 90000-byte body holds the budget, so a
 * second one gets 503 with Retry-After at once; when the first goes, the budget is back. */
static void test_body_budget(int port)
{
    const char *hdr = "POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 90000\r\n\r\n";
    int holder = raw_connect(port);
    raw_send(holder, hdr, strlen(hdr));
    usleep(200 * 1000);
    int eof;
    double dt;
    char *out = raw_exchange(port, hdr, 3.0, &eof, &dt);
    CHECK_MSG(strncmp(out, "HTTP/1.1 503", 12) == 0, "got '%.40s'", out);
    CHECK(strstr(out, "Retry-After: 1") != NULL);
    CHECK(eof && dt < 1.0);
    free(out);
    close(holder);
    usleep(300 * 1000);
    int fd = raw_connect(port);
    raw_send(fd, hdr, strlen(hdr));
    char *body = malloc(90000);
    memset(body, ' ', 90000);
    memcpy(body, "{\"query\":\"sugar\"}", 17);
    raw_send(fd, body, 90000);
    out = raw_read(fd, 5.0, &eof);
    CHECK_MSG(strncmp(out, "HTTP/1.1 200", 12) == 0, "got '%.40s'", out);
    free(out);
    free(body);
    close(fd);
}

/* ---------------------------------------------------------------- lanes ---- */

static char *big_embed_body(void)
{
    /* 256 texts of about 512 tokens (truncated to the model's 512) */
    sem_strbuf b = {0};
    sem_strbuf_puts(&b, "{\"truncate\":true,\"inputs\":[");
    for (int i = 0; i < 256; i++) {
        sem_strbuf_puts(&b, i ? ",\"" : "\"");
        for (int w = 0; w < 75; w++)
            sem_strbuf_puts(&b, "plants make sugar from light and water ");
        sem_strbuf_puts(&b, "\"");
    }
    sem_strbuf_puts(&b, "]}");
    return sem_strbuf_finish(&b);
}

/* Sends a whole request on a raw socket, with Connection: close, and returns the fd (the caller closes it to
 * disconnect). */
static int raw_post(int port, const char *path, const char *body)
{
    int fd = raw_connect(port);
    char hdr[256];
    snprintf(hdr, sizeof hdr,
             "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             path, strlen(body));
    raw_send(fd, hdr, strlen(hdr));
    raw_send(fd, body, strlen(body));
    return fd;
}

static const char *g_base, *g_big;
static int g_port;
static atomic_int big_done;
static double big_end[2];
static long big_status[2];

/* One large /embed over a raw socket (no client timeout: sanitizer builds take minutes); its status. */
static void *big_embed(void *arg)
{
    long i = (long)arg;
    int fd = raw_post(g_port, "/embed", g_big), eof;
    char *out = raw_read(fd, 600, &eof);
    close(fd);
    big_status[i] = strncmp(out, "HTTP/1.1 ", 9) == 0 ? atol(out + 9) : 0;
    big_end[i] = now_s();
    free(out);
    atomic_fetch_add(&big_done, 1);
    return NULL;
}

/* Two large /embed requests in flight (--threads 2): /health and /search answer within 200 ms. */
static void test_cheap_not_blocked(const char *base)
{
    g_base = base;
    g_port = url_port(base);
    pthread_t th[2];
    atomic_store(&big_done, 0);
    for (long i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, big_embed, (void *)i);
    usleep(800 * 1000); /* both read and encoding */
    double worst_health = 0, worst_search = 0, t_last = 0;
    for (int k = 0; k < 3; k++) {
        double t0 = now_s();
        wt_resp r;
        CHECK(wt_http(base, "GET", "/health", NULL, NULL, &r) == 0 && r.status == 200);
        free(r.body);
        double t1 = now_s();
        CHECK(wt_http(base, "POST", "/search", "{\"query\":\"sugar\",\"k\":3}", JSON, &r) == 0 && r.status == 200);
        free(r.body);
        t_last = now_s();
        worst_health = t1 - t0 > worst_health ? t1 - t0 : worst_health;
        worst_search = t_last - t1 > worst_search ? t_last - t1 : worst_search;
        usleep(200 * 1000);
    }
    int still_running = atomic_load(&big_done) == 0;
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_MSG(still_running, "the /embed requests ended before the checks: the test proves nothing");
    CHECK_MSG(big_status[0] == 200 && big_status[1] == 200, "/embed: %ld %ld", big_status[0], big_status[1]);
    CHECK_MSG(worst_health < 0.2, "/health took %.3f s behind two /embed", worst_health);
    CHECK_MSG(worst_search < 0.2, "/search took %.3f s behind two /embed", worst_search);
    printf("behind two /embed (%.1f s): /health at most %.1f ms, /search at most %.1f ms\n", big_end[0] - t_last,
           worst_health * 1e3, worst_search * 1e3);
}

/* --threads 1: the big request's full time; then a client that disconnects 0.5 s into it frees the one worker
 * at once, so a small /embed right after is served long before the big one would have ended. */
static double test_disconnect_cancels(const char *base, int port)
{
    g_base = base;
    g_port = port;
    double t0 = now_s();
    big_embed((void *)0);
    double full = now_s() - t0;
    int fd = raw_post(port, "/embed", g_big);
    usleep(500 * 1000);
    close(fd);
    t0 = now_s();
    wt_resp r;
    CHECK(wt_http(base, "POST", "/embed", "{\"inputs\":\"small\"}", JSON, &r) == 0);
    double dt = now_s() - t0;
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
    CHECK_MSG(dt < full / 2, "small /embed took %.2f s after a cancelled one (full: %.2f s)", dt, full);
    printf("a large /embed takes %.2f s; after its client left, the next request took %.2f s\n", full, dt);
    return full;
}

/* --threads 1 --max-queue 1: one running, one waiting, the third gets 503 with Retry-After at once. */
static void test_queue_full(int port)
{
    int a = raw_post(port, "/embed", g_big);
    usleep(300 * 1000);
    int b = raw_post(port, "/embed", g_big);
    usleep(300 * 1000);
    int eof;
    double dt;
    const char *small = "{\"inputs\":\"xy\"}";
    char req[256];
    snprintf(req, sizeof req,
             "POST /embed HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(small), small);
    char *out = raw_exchange(port, req, 3.0, &eof, &dt);
    CHECK_MSG(strncmp(out, "HTTP/1.1 503", 12) == 0, "got '%.40s'", out);
    CHECK(strstr(out, "Retry-After: 1") != NULL);
    CHECK(dt < 1.0);
    free(out);
    close(a);
    close(b);
    /* both are cancelled: the queue takes requests again */
    wt_resp r = {0};
    for (double t0 = now_s(); now_s() - t0 < 30 && r.status != 200;) {
        free(r.body);
        wt_http(g_base, "POST", "/embed", small, JSON, &r);
        usleep(100 * 1000);
    }
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
}

/* ---------------------------------------------------------------- start-up ---- */

static int run_serve(const char *log, const char *const *args, const char *env_key)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (env_key)
            setenv("SEMSEARCH_API_KEY", env_key, 1);
        else
            unsetenv("SEMSEARCH_API_KEY");
        const char *argv[32] = {SEM_BINARY, "serve"};
        int n = 2;
        for (int i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(SEM_BINARY, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int log_has(const char *log, const char *text)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return 0;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, text) != NULL;
}

static void test_startup(const char *kb, int busy_port, const char *tmp)
{
    char *log = wt_strdupf("%s/startup.log", tmp);
    char port[16];
    snprintf(port, sizeof port, "%d", busy_port);
    const char *a1[] = {kb, "--port", port, NULL};
    CHECK_EQ_INT(run_serve(log, a1, NULL), 1);
    char want[64];
    snprintf(want, sizeof want, "port %d is in use", busy_port);
    CHECK_MSG(log_has(log, want), "no '%s' in the error", want);
    const char *a2[] = {kb, "--port", "0", "--api-key", "", NULL};
    CHECK_EQ_INT(run_serve(log, a2, NULL), 2);
    CHECK(log_has(log, "the API key is empty"));
    const char *a3[] = {kb, "--port", "0", NULL};
    CHECK_EQ_INT(run_serve(log, a3, ""), 2);
    CHECK(log_has(log, "the API key is empty"));
    const char *a4[] = {kb, "--port", "0", "--host", "0.0.0.0", "--allow-unauthenticated-writes", NULL};
    CHECK_EQ_INT(run_serve(log, a4, NULL), 1);
    CHECK(log_has(log, "only allowed on a loopback address"));
    free(log);
}

/* A server log's stderr warnings at start (the server is running). */
static void check_startup_warning(const char *log, const char *text)
{
    CHECK_MSG(log_has(log, text), "no '%s' in %s", text, log);
}

/* ---------------------------------------------------------------- measure ---- */

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* Opens n hostile connections to a fresh lexical server on loopback (half slow headers, half 8 MiB declared
 * bodies sent as fast as the server takes them and then held) and prints the server's RSS over 15 s. */
static int measure(int n)
{
    struct rlimit rl = {(rlim_t)n + 256, (rlim_t)n + 256};
    setrlimit(RLIMIT_NOFILE, &rl);
    char *tmp = wt_tmpdir("web-measure"), *kb = wt_strdupf("%s/lex", tmp), *log = wt_strdupf("%s/serve.log", tmp);
    wt_make_kb_ex(tmp, kb, "{\"id\":\"a\",\"text\":\"plants make sugar\"}\n", 1);
    const char *args[] = {kb, "--quiet", "--max-connections", "2000", "--max-per-client", "2000", NULL};
    wt_server s;
    if (wt_server_start(&s, log, args) != 0)
        return 1;
    int port = url_port(s.url);
    printf("idle: RSS %ld KiB\n", rss_kb(s.pid));
    int *fds = malloc(sizeof(int) * (size_t)n);
    char *chunk = malloc(1 << 20);
    memset(chunk, ' ', 1 << 20);
    const char *big = "POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 8388608\r\n\r\n";
    for (int i = 0; i < n; i++) {
        fds[i] = raw_connect(port);
        if (i % 2)
            raw_send(fds[i], "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ", 40);
        else {
            raw_send(fds[i], big, strlen(big));
            fcntl(fds[i], F_SETFL, O_NONBLOCK);
            for (int k = 0; k < 7; k++) /* 7 of the 8 MiB, as far as the server reads them */
                if (send(fds[i], chunk, 1 << 20, MSG_NOSIGNAL) < 0)
                    break;
        }
    }
    long peak = 0;
    for (int t = 0; t < 15; t++) {
        long r = rss_kb(s.pid);
        peak = r > peak ? r : peak;
        double t0 = now_s();
        wt_resp resp;
        int ok = wt_http(s.url, "GET", "/health", NULL, NULL, &resp) == 0 && resp.status == 200;
        free(resp.body);
        printf("t=%2d s: RSS %ld KiB; /health %s in %.1f ms\n", t, r, ok ? "ok" : "FAILED", (now_s() - t0) * 1e3);
        for (int i = 1; i < n; i += 2)
            raw_send(fds[i], "a", 1);
        sleep(1);
    }
    printf("peak RSS with %d hostile connections: %ld KiB\n", n, peak);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    wt_server_stop(&s, SIGTERM, 30);
    wt_rmrf(tmp);
    return 0;
}

/* ---------------------------------------------------------------- main ---- */

static const char *const DOCS = "{\"id\":\"plain\",\"text\":\"Plants make sugar from light.\"}\n"
                                "{\"id\":\"other\",\"text\":\"The earth has plates.\"}\n";

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && strcmp(argv[1], "--measure") == 0)
        return measure(atoi(argv[2]));
    curl_global_init(CURL_GLOBAL_ALL);
    srandom((unsigned)getpid());
    test_log_escape();
    test_targets();
    test_framing();
    test_lanes();
    test_workq();
    test_reaper();
    if (access(WT_MODEL "/model.safetensors", R_OK) != 0) {
        TEST_SKIP_SECTION("%s is missing: the checks against `semsearch serve`", WT_MODEL);
        TEST_END();
    }

    char *tmp = wt_tmpdir("web-transport");
    char *kb = wt_strdupf("%s/kb", tmp), *lex = wt_strdupf("%s/lex", tmp);
    char *log1 = wt_strdupf("%s/serve1.log", tmp), *log2 = wt_strdupf("%s/serve2.log", tmp);
    char *log3 = wt_strdupf("%s/serve3.log", tmp), *log4 = wt_strdupf("%s/serve4.log", tmp);
    wt_make_kb(tmp, kb, DOCS);
    wt_make_kb_ex(tmp, lex, DOCS, 1);
    g_big = big_embed_body();

    /* 1. framing, paths, the log; the body budget; two lanes */
    const char *a1[] = {kb,          "--threads", "2",         "--api-key", "k", "--max-tokens", "200000",
                        "--max-body", "100000",   "--max-body-in-flight", "150000", NULL};
    wt_server s;
    if (wt_server_start(&s, log1, a1) != 0) {
        CHECK(0);
        TEST_END();
    }
    int port = url_port(s.url);
    test_smuggling(port);
    test_paths_and_log(port, s.url, log1);
    test_body_budget(port);
    test_startup(lex, port, tmp);
    wt_server_stop(&s, SIGTERM, 30);
    const char *a1b[] = {kb, "--threads", "2", "--max-tokens", "200000", NULL};
    if (wt_server_start(&s, log1, a1b) == 0) {
        check_startup_warning(log1, "write routes (POST /documents, DELETE /documents/{id}) are disabled");
        test_cheap_not_blocked(s.url);
        wt_server_stop(&s, SIGTERM, 30);
    }

    /* 2. one worker per lane: cancellation, a full queue, shutdown within the grace */
    const char *a2[] = {kb, "--threads", "1", "--max-queue", "1", "--max-tokens", "200000", "--grace", "2", NULL};
    if (wt_server_start(&s, log2, a2) == 0) {
        port = url_port(s.url);
        double full = test_disconnect_cancels(s.url, port);
        test_queue_full(port);
        pthread_t th;
        g_base = s.url;
        big_status[0] = -1;
        pthread_create(&th, NULL, big_embed, (void *)0);
        usleep(700 * 1000);
        int running = big_status[0] == -1;
        double t0 = now_s();
        CHECK_EQ_INT(wt_server_stop(&s, SIGTERM, 30), 0);
        double stop = now_s() - t0;
        pthread_join(th, NULL);
        CHECK_MSG(running, "the request was not running at SIGTERM (status %ld)", big_status[0]);
        /* the grace, then at most one encoder chunk (32 of the 256 texts) and some slack; before: the whole
         * request */
        double limit = 3.5 + full / 8 > 5.0 ? 3.5 + full / 8 : 5.0;
        CHECK_MSG(stop > 1.5 && stop < limit, "SIGTERM with --grace 2 took %.2f s during a %.2f s request", stop,
                  full);
        printf("SIGTERM with --grace 2 during a %.1f s request: exit after %.2f s\n", full, stop);
    }

    /* 3. slow connections and the read timeout; the per-client limit; writes open on loopback with the flag */
    const char *a3[] = {lex, "--read-timeout", "2", "--max-connections", "400", "--max-per-client", "400",
                        "--allow-unauthenticated-writes", "--quiet", NULL};
    if (wt_server_start(&s, log3, a3) == 0) {
        check_startup_warning(log3, "WARNING: --allow-unauthenticated-writes");
        test_slow_connections(s.url, url_port(s.url), 300, 2.0);
        wt_server_stop(&s, SIGTERM, 30);
    }
    const char *a4[] = {lex, "--max-per-client", "10", "--quiet", NULL};
    if (wt_server_start(&s, log4, a4) == 0) {
        test_per_client(url_port(s.url));
        wt_server_stop(&s, SIGTERM, 30);
    }

    if (test_fail_)
        fprintf(stderr, "server logs in %s (kept)\n", tmp);
    else
        wt_rmrf(tmp);
    free((void *)g_big);
    free(kb);
    free(lex);
    free(log1);
    free(log2);
    free(log3);
    free(log4);
    free(tmp);
    curl_global_cleanup();
    TEST_END();
}
