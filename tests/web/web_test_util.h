/* tests/web/web_test_util.h: what the HTTP tests share: building a KB with the fixture model through the CLI,
 * starting `semsearch serve` on an ephemeral port (the URL read from its stdout), and a libcurl client.
 * Header-only (static functions): each test program includes it once. */
#ifndef SEM_WEB_TEST_UTIL_H
#define SEM_WEB_TEST_UTIL_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WT_MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"
/* Each test uses some of these helpers. */
#define WT_FN static __attribute__((unused))

/* ---- files and processes ---- */

WT_FN void wt_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "test setup failed: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

WT_FN char *wt_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s)
        wt_die("out of memory");
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

WT_FN void wt_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        wt_die("cannot write %s", path);
}

/* Runs argv (NULL-terminated) with stdout/stderr to log; returns the exit status (or -1). */
WT_FN int wt_run(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Makes a KB at dir from a JSONL text with the fixture model (lexical-only: without a model). */
WT_FN void wt_make_kb_ex(const char *tmp, const char *dir, const char *jsonl, int lexical_only)
{
    char *in = wt_strdupf("%s/input-%ld.jsonl", tmp, (long)random());
    char *log = wt_strdupf("%s/index.log", tmp);
    wt_write_file(in, jsonl);
    char *argv[] = {(char *)SEM_BINARY, "index", "add", (char *)dir, in, "-q", "--model", (char *)WT_MODEL, NULL};
    if (lexical_only) { /* a KB without a model, whatever default model the tree ships */
        argv[6] = "--lexical";
        argv[7] = NULL;
    }
    int rc = wt_run(argv, log);
    if (rc != 0) {
        char *cmd = wt_strdupf("cat %s >&2", log);
        if (system(cmd) != 0)
            fprintf(stderr, "(no index log)\n");
        free(cmd);
        wt_die("semsearch index add %s failed (%d)", dir, rc);
    }
    free(in);
    free(log);
}

WT_FN void wt_make_kb(const char *tmp, const char *dir, const char *jsonl)
{
    wt_make_kb_ex(tmp, dir, jsonl, 0);
}

/* A running server. */
typedef struct wt_server {
    pid_t pid;
    char url[512]; /* "http://127.0.0.1:PORT" without the trailing slash */
} wt_server;

/* Starts `semsearch serve ARGS...` (NULL-terminated list after the KBs) and waits for "serving on URL". */
WT_FN int wt_server_start(wt_server *s, const char *log, const char *const *args)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    memset(s, 0, sizeof *s);
    const char *argv[64];
    int n = 0;
    argv[n++] = SEM_BINARY;
    argv[n++] = "serve";
    argv[n++] = "--port";
    argv[n++] = "0";
    for (int i = 0; args[i] && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0)
            dup2(fd, 2);
        execv(SEM_BINARY, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    s->pid = pid;
    /* Read the first line with a deadline (model loading under sanitizers can take a few seconds). */
    char line[512];
    size_t len = 0;
    double deadline = (double)time(NULL) + 60;
    while (len < sizeof line - 1 && (double)time(NULL) < deadline) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t k = read(pfd[0], line + len, 1);
        if (k <= 0)
            break;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    close(pfd[0]);
    const char *pre = "serving on ";
    if (strncmp(line, pre, strlen(pre)) != 0) {
        fprintf(stderr, "server did not start (first line: '%s'); its log:\n", line);
        char *cmd = wt_strdupf("cat %s >&2", log);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
        free(cmd);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        s->pid = 0;
        return -1;
    }
    snprintf(s->url, sizeof s->url, "%s", line + strlen(pre));
    size_t ul = strlen(s->url);
    if (ul && s->url[ul - 1] == '/')
        s->url[ul - 1] = '\0';
    return 0;
}

/* Sends sig and waits (up to timeout_s) for the exit; returns the exit status, or -1 (then SIGKILLs it). */
WT_FN int wt_server_stop(wt_server *s, int sig, int timeout_s)
{
    if (!s->pid)
        return -1;
    kill(s->pid, sig);
    int st = 0;
    for (int i = 0; i < timeout_s * 50; i++) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid) {
            s->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        usleep(20000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
}

/* ---- HTTP ---- */

typedef struct wt_resp {
    long status;
    char *body;
    size_t len;
    char ctype[128];
    char allow[128];
    char www_auth[128];
    char connection[64];
} wt_resp;

WT_FN size_t wt_on_data(char *p, size_t sz, size_t n, void *ud)
{
    wt_resp *r = ud;
    size_t add = sz * n;
    char *b = realloc(r->body, r->len + add + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, add);
    r->body = b;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

WT_FN void wt_copy_header(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    size_t vl = n - nl - 1;
    while (vl && (*v == ' '))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    if (vl >= cap)
        vl = cap - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
}

WT_FN size_t wt_on_header(char *p, size_t sz, size_t n, void *ud)
{
    wt_resp *r = ud;
    wt_copy_header(p, sz * n, "Content-Type", r->ctype, sizeof r->ctype);
    wt_copy_header(p, sz * n, "Allow", r->allow, sizeof r->allow);
    wt_copy_header(p, sz * n, "WWW-Authenticate", r->www_auth, sizeof r->www_auth);
    wt_copy_header(p, sz * n, "Connection", r->connection, sizeof r->connection);
    return sz * n;
}

typedef struct wt_upload {
    const char *p;
    size_t left;
} wt_upload;

WT_FN size_t wt_on_read(char *buf, size_t sz, size_t n, void *ud)
{
    wt_upload *u = ud;
    size_t k = sz * n < u->left ? sz * n : u->left;
    if (k > 1000)
        k = 1000; /* several chunks */
    memcpy(buf, u->p, k);
    u->p += k;
    u->left -= k;
    return k;
}

/* One request. body may be NULL; len < 0 means strlen(body). headers: NULL-terminated list or NULL; a body goes
 * with "Content-Type: application/json" unless headers has a Content-Type line. chunked:
 * send the body with Transfer-Encoding: chunked (no Content-Length). Returns 0, or -1 when no HTTP response came
 * (connection refused or reset). The caller frees r->body. */
WT_FN int wt_http_ex(const char *base, const char *method, const char *path, const char *body, long len,
                      const char *const *headers, int chunked, wt_resp *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char url[1024];
    snprintf(url, sizeof url, "%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wt_on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, wt_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    struct curl_slist *h = NULL;
    int has_ctype = 0;
    for (int i = 0; headers && headers[i]; i++) {
        h = curl_slist_append(h, headers[i]);
        has_ctype |= strncasecmp(headers[i], "Content-Type:", 13) == 0;
    }
    if (body && !has_ctype) /* the server takes JSON bodies only as application/json ("Content-Type:" sends none) */
        h = curl_slist_append(h, "Content-Type: application/json");
    wt_upload up = {body, body ? (len < 0 ? strlen(body) : (size_t)len) : 0};
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        if (body && chunked) {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_READFUNCTION, wt_on_read);
            curl_easy_setopt(c, CURLOPT_READDATA, &up);
            h = curl_slist_append(h, "Transfer-Encoding: chunked");
        } else if (body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)up.left);
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r->body) {
        r->body = calloc(1, 1);
    }
    return rc == CURLE_OK ? 0 : -1;
}

WT_FN int wt_http(const char *base, const char *method, const char *path, const char *body, const char *const *headers,
                   wt_resp *r)
{
    return wt_http_ex(base, method, path, body, -1, headers, 0, r);
}

/* POSTs body and parses the JSON response (NULL if it is not JSON); *status receives the status (0 if none). */
WT_FN cJSON *wt_post_json(const char *base, const char *path, const char *body, const char *const *headers,
                           long *status)
{
    wt_resp r;
    int rc = wt_http(base, "POST", path, body, headers, &r);
    *status = rc == 0 ? r.status : 0;
    cJSON *j = rc == 0 ? cJSON_Parse(r.body) : NULL;
    free(r.body);
    return j;
}

WT_FN cJSON *wt_get_json(const char *base, const char *path, long *status)
{
    wt_resp r;
    int rc = wt_http(base, "GET", path, NULL, NULL, &r);
    *status = rc == 0 ? r.status : 0;
    cJSON *j = rc == 0 ? cJSON_Parse(r.body) : NULL;
    free(r.body);
    return j;
}

/* 1 if j is {"error":{"code":status,"type":type,"message":non-empty}}. */
WT_FN int wt_is_error(const cJSON *j, int status, const char *type)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "type");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    return cJSON_IsNumber(code) && code->valueint == status && cJSON_IsString(t) && strcmp(t->valuestring, type) == 0
           && cJSON_IsString(m) && m->valuestring[0];
}

WT_FN const char *wt_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

WT_FN double wt_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1e300;
}

/* A fresh temporary directory (removed by wt_rmrf). */
WT_FN char *wt_tmpdir(const char *tag)
{
    char *t = wt_strdupf("/tmp/semsearch-%s-XXXXXX", tag);
    if (!mkdtemp(t))
        wt_die("mkdtemp failed");
    return t;
}

WT_FN void wt_rmrf(const char *dir)
{
    if (!dir || strncmp(dir, "/tmp/semsearch-", 15) != 0)
        return;
    char *cmd = wt_strdupf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
    free(cmd);
}

#endif
