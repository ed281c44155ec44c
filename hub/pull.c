/* hub/pull.c: downloading a model from the HuggingFace hub with libcurl.
 *
 * The hub's URL layout (the same one huggingface_hub uses):
 *   GET  {endpoint}/api/models/{repo}/revision/{revision}  JSON: "sha" (the commit), "siblings": [{"rfilename"}]
 *   HEAD {endpoint}/{repo}/resolve/{commit}/{path}         no redirect followed: X-Linked-Etag / X-Linked-Size
 *        (LFS files, answered with a 302 to a CDN) or ETag / Content-Length (small files)
 *   GET  the same URL, redirects followed, with "Range: bytes=N-" to resume. */
#define _GNU_SOURCE
#include "hub/hub.h"
#include "hub/internal.h"

#include "common/fileio.h"
#include "common/log.h"
#include "common/strbuf.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define API_MAX_BYTES (32u << 20) /* a model's API answer is a few KB; refuse anything absurd */
#define ERRBODY_MAX 2048
#define CONNECT_TIMEOUT_S 5L
#define STALL_TIMEOUT_S 30L /* a transfer below 1 byte/s for this long is abandoned */

/* The files the encoder needs, in download order (small first). */
static const struct {
    const char *path;
    int required;
} WANTED[] = {
    {"config.json", 1},
    {"vocab.txt", 1},
    {"tokenizer_config.json", 0},
    {"special_tokens_map.json", 0},
    {"modules.json", 0},
    {"1_Pooling/config.json", 0},
    {"sentence_bert_config.json", 0},
    {"config_sentence_transformers.json", 0},
    {"README.md", 0},
    {"model.safetensors", 1},
};
#define N_WANTED (sizeof WANTED / sizeof WANTED[0])

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Everything one pull shares. */
typedef struct pull {
    const char *repo;
    const char *endpoint;
    CURL *h;                   /* one handle for every request of the pull */
    struct curl_slist *hdrs;   /* the Authorization header, or NULL */
    char ebuf[CURL_ERROR_SIZE]; /* curl's message for the last request */
    char dir[HUB_PATH_MAX];
    sem_hub_progress_fn progress;
    void *user_data;
    sem_hub_pull_stats *stats;
} pull;

/* One HTTP exchange: captured headers and where the body goes. */
typedef struct xfer {
    long status;          /* of the latest response (redirects reset the captured headers) */
    char etag[128];
    char linked_etag[128];
    char error_code[64];  /* X-Error-Code: RepoNotFound, RevisionNotFound, GatedRepo, EntryNotFound */
    char error_msg[256];  /* X-Error-Message */
    int64_t content_length;
    int64_t linked_size;
    int64_t range_start;  /* from Content-Range, -1 if none */
    /* body into memory (API, error pages) */
    sem_strbuf mem;
    size_t mem_max;
    /* body into a file (downloads) */
    int fd;
    uint64_t file_off;    /* where the next byte goes */
    uint64_t resume_from; /* the Range start asked for */
    int truncated;        /* body started over from 0 (server ignored Range) */
    int write_errno;
    uint64_t received;    /* body bytes written to the file */
    /* progress */
    const pull *p;
    const char *file;
    uint64_t total;
} xfer;

static void copy_header_value(char *dst, size_t cap, const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int header_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return 0;
    *val = line + k + 1;
    *vlen = n - k - 1;
    return 1;
}

static int64_t parse_u64(const char *v, size_t n)
{
    char tmp[32];
    copy_header_value(tmp, sizeof tmp, v, n);
    if (!tmp[0])
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(tmp, &end, 10);
    if (errno || *end || tmp[0] == '-' || x > (unsigned long long)INT64_MAX)
        return -1;
    return (int64_t)x;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t n = size * nitems;
    const char *v;
    size_t vl;
    if (n > 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (after a redirect): forget the last one */
        const char *sp = memchr(line, ' ', n);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->etag[0] = x->error_code[0] = x->error_msg[0] = '\0';
        x->content_length = -1;
        x->range_start = -1;
        /* X-Linked-* come with the hub's redirect and must survive it; they are reset per request */
    } else if (header_is(line, n, "ETag", &v, &vl)) {
        copy_header_value(x->etag, sizeof x->etag, v, vl);
    } else if (header_is(line, n, "X-Linked-Etag", &v, &vl)) {
        copy_header_value(x->linked_etag, sizeof x->linked_etag, v, vl);
    } else if (header_is(line, n, "X-Linked-Size", &v, &vl)) {
        x->linked_size = parse_u64(v, vl);
    } else if (header_is(line, n, "Content-Length", &v, &vl)) {
        x->content_length = parse_u64(v, vl);
    } else if (header_is(line, n, "X-Error-Code", &v, &vl)) {
        copy_header_value(x->error_code, sizeof x->error_code, v, vl);
    } else if (header_is(line, n, "X-Error-Message", &v, &vl)) {
        copy_header_value(x->error_msg, sizeof x->error_msg, v, vl);
    } else if (header_is(line, n, "Content-Range", &v, &vl)) {
        char tmp[96];
        copy_header_value(tmp, sizeof tmp, v, vl);
        unsigned long long a;
        if (sscanf(tmp, "bytes %llu-", &a) == 1 && a <= (unsigned long long)INT64_MAX)
            x->range_start = (int64_t)a;
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    int ok_status = x->status == 200 || x->status == 206;
    if (x->fd < 0 || !ok_status) { /* into memory: API answers and error pages */
        size_t max = x->fd < 0 ? x->mem_max : ERRBODY_MAX;
        if (x->mem.len + n > max) {
            if (x->fd >= 0 || x->status >= 300)
                return n; /* an error page: keep its start, drop the rest */
            return 0;     /* an API answer too large: abort */
        }
        sem_strbuf_put(&x->mem, data, n);
        return x->mem.oom ? 0 : n;
    }
    if (x->received == 0 && x->file_off == x->resume_from) {
        /* first body byte: check the server resumed where we asked, or start over if it sent everything */
        if (x->resume_from > 0 && (x->status == 200 || x->range_start != (int64_t)x->resume_from)) {
            if (x->status == 206) {
                x->write_errno = ERANGE;
                return 0;
            }
            if (ftruncate(x->fd, 0) != 0) {
                x->write_errno = errno;
                return 0;
            }
            x->file_off = 0;
            x->truncated = 1;
        }
    }
    if (x->file_off + n > x->total) { /* more than the hub announced: not the file we asked for */
        x->write_errno = EFBIG;
        return 0;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(x->fd, data + done, n - done, (off_t)(x->file_off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->write_errno = w < 0 ? errno : EIO;
            return 0;
        }
        done += (size_t)w;
    }
    x->file_off += n;
    x->received += n;
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    (void)ulnow;
    xfer *x = ud;
    if (x->p && x->p->progress && x->file && (x->status == 200 || x->status == 206) && dlnow > 0)
        x->p->progress(x->file, x->truncated ? (uint64_t)dlnow : x->resume_from + (uint64_t)dlnow, x->total,
                       x->p->user_data);
    return 0;
}

static void xfer_init(xfer *x, const pull *p)
{
    memset(x, 0, sizeof *x);
    x->fd = -1;
    x->content_length = x->linked_size = x->range_start = -1;
    x->p = p;
}

/* Readies the pull's one handle for url with our common options. One handle for all requests, reset between
 * them, keeps its connection cache: the TCP + TLS connection to the hub is set up once per pull, not per file. */
static CURL *easy_new(pull *p, const char *url, xfer *x)
{
    CURL *h = p->h;
    curl_easy_reset(h);
    p->ebuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, p->ebuf);
    if (p->hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, p->hdrs);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "semsearch (libcurl)");
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the string forms; the bitmask forms are deprecated there */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    return h;
}

/* The message for a transfer that failed before any HTTP answer. */
static int net_error(const pull *p, CURLcode cc, const char *ebuf, sem_error *err)
{
    const char *why = ebuf && *ebuf ? ebuf : curl_easy_strerror(cc);
    if (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT ||
        cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_SSL_CONNECT_ERROR)
        return sem_error_set(err, SEM_ENET, "cannot reach %s: %s (offline? set HF_ENDPOINT or pass a local folder)",
                             p->endpoint, why);
    return sem_error_set(err, SEM_ENET, "download from %s failed: %s", p->endpoint, why);
}

/* The message for an HTTP error status. what names the thing asked for. */
static int http_error(const pull *p, const xfer *x, const char *what, sem_error *err)
{
    const char *hint = x->error_msg[0] ? x->error_msg : "";
    if (strcmp(x->error_code, "RepoNotFound") == 0 || (x->status == 404 && !x->error_code[0] && !x->file))
        return sem_error_set(err, SEM_ENOTFOUND,
                             "model %s not found on %s (HTTP %ld%s%s; a private or gated model needs HF_TOKEN)",
                             p->repo, p->endpoint, x->status, hint[0] ? ": " : "", hint);
    if (strcmp(x->error_code, "RevisionNotFound") == 0)
        return sem_error_set(err, SEM_ENOTFOUND, "%s: revision not found on %s (HTTP %ld%s%s)", what, p->endpoint,
                             x->status, hint[0] ? ": " : "", hint);
    if (strcmp(x->error_code, "GatedRepo") == 0 || x->status == 401 || x->status == 403)
        return sem_error_set(err, SEM_ENET,
                             "%s: access denied by %s (HTTP %ld%s%s): a gated or private model needs its terms "
                             "accepted on the hub and HF_TOKEN set",
                             what, p->endpoint, x->status, hint[0] ? ": " : "", hint);
    if (x->status == 404)
        return sem_error_set(err, SEM_ENOTFOUND, "%s: not found on %s (HTTP 404%s%s)", what, p->endpoint,
                             hint[0] ? ": " : "", hint);
    return sem_error_set(err, SEM_ENET, "%s: %s answered HTTP %ld%s%s", what, p->endpoint, x->status,
                         hint[0] ? ": " : "", hint);
}

static char *url_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        return NULL;
    char *r = strdup(e);
    curl_free(e);
    return r;
}

/* GET the API's description of repo@revision: fills *commit (malloc'd) and which WANTED files exist. */
static int fetch_info(pull *p, const char *revision, char **commit, int have[N_WANTED], sem_error *err)
{
    *commit = NULL;
    memset(have, 0, N_WANTED * sizeof have[0]);
    char *rev = url_escape(revision);
    if (!rev)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    size_t ulen = strlen(p->endpoint) + strlen(p->repo) + strlen(rev) + 64;
    char *url = malloc(ulen);
    if (!url) {
        free(rev);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    snprintf(url, ulen, "%s/api/models/%s/revision/%s", p->endpoint, p->repo, rev);
    free(rev);

    xfer x;
    xfer_init(&x, p);
    x.mem_max = API_MAX_BYTES;
    CURL *h = easy_new(p, url, &x);
    int rc = SEM_OK;
    cJSON *root = NULL;
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_WRITE_ERROR) {
        rc = sem_error_set(err, SEM_EFORMAT, "%s: the answer is larger than %u bytes", url, API_MAX_BYTES);
        goto done;
    }
    if (cc != CURLE_OK) {
        rc = net_error(p, cc, p->ebuf, err);
        goto done;
    }
    if (x.status != 200) {
        char what[512];
        snprintf(what, sizeof what, "model %s at revision %s", p->repo, revision);
        rc = http_error(p, &x, what, err);
        goto done;
    }
    root = x.mem.s ? cJSON_ParseWithLength(x.mem.s, x.mem.len) : NULL;
    const cJSON *sib = root ? cJSON_GetObjectItemCaseSensitive(root, "siblings") : NULL;
    if (!cJSON_IsObject(root) || !cJSON_IsArray(sib)) {
        rc = sem_error_set(err, SEM_EFORMAT, "%s did not answer with a model description (JSON with \"siblings\")",
                           url);
        goto done;
    }
    const cJSON *s;
    cJSON_ArrayForEach(s, sib)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(s, "rfilename");
        if (!cJSON_IsString(f) || !f->valuestring)
            continue;
        for (size_t i = 0; i < N_WANTED; i++)
            if (strcmp(f->valuestring, WANTED[i].path) == 0)
                have[i] = 1;
    }
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(root, "sha");
    char tmp[HUB_ETAG_MAX];
    if (cJSON_IsString(sha) && hub_etag_parse(sha->valuestring, tmp) == HUB_ETAG_GIT_SHA1) {
        *commit = strdup(tmp);
    } else {
        sem_log(SEM_LOG_WARN, "%s gave no commit for %s@%s; files are fetched by revision name", p->endpoint,
                p->repo, revision);
        *commit = strdup(revision);
    }
    if (!*commit)
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
done:
    cJSON_Delete(root);
    sem_strbuf_free(&x.mem);
    free(url);
    return rc;
}

static char *file_url(const pull *p, const char *commit, const char *path)
{
    char *rev = url_escape(commit);
    if (!rev)
        return NULL;
    size_t ulen = strlen(p->endpoint) + strlen(p->repo) + strlen(rev) + strlen(path) + 32;
    char *url = malloc(ulen);
    if (url)
        snprintf(url, ulen, "%s/%s/resolve/%s/%s", p->endpoint, p->repo, rev, path);
    free(rev);
    return url;
}

/* HEAD a file: its normalized etag (kind returned through *kind) and size. Redirects are not followed, because
 * the hub puts an LFS file's sha256 on its 302 to the CDN, except redirects within the endpoint (a renamed repo). */
static int fetch_meta(pull *p, const char *commit, const char *path, char etag[HUB_ETAG_MAX], int *kind,
                      uint64_t *size, sem_error *err)
{
    char *url = file_url(p, commit, path);
    if (!url)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int rc = SEM_OK;
    xfer x;
    for (int hop = 0;; hop++) {
        xfer_init(&x, p);
        x.file = path;
        CURL *h = easy_new(p, url, &x);
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
        CURLcode cc = curl_easy_perform(h);
        char *next = NULL;
        if (cc == CURLE_OK && x.status >= 300 && x.status < 400 && !x.linked_etag[0]) {
            char *loc = NULL;
            curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
            if (loc && strncmp(loc, p->endpoint, strlen(p->endpoint)) == 0 && hop < 5)
                next = strdup(loc);
        }
        sem_strbuf_free(&x.mem);
        if (cc != CURLE_OK) {
            rc = net_error(p, cc, p->ebuf, err);
            break;
        }
        if (next) {
            free(url);
            url = next;
            continue;
        }
        if (x.status >= 400 || (x.status >= 300 && !x.linked_etag[0])) {
            char what[512];
            snprintf(what, sizeof what, "%s/%s at %s", p->repo, path, commit);
            rc = http_error(p, &x, what, err);
            break;
        }
        const char *raw = x.linked_etag[0] ? x.linked_etag : x.etag;
        int64_t sz = x.linked_size >= 0 ? x.linked_size : x.content_length;
        *kind = hub_etag_parse(raw, etag);
        if (!raw[0]) {
            rc = sem_error_set(err, SEM_EFORMAT, "%s sent no ETag for %s/%s: the file cannot be verified",
                               p->endpoint, p->repo, path);
        } else if (*kind == HUB_ETAG_UNKNOWN) {
            rc = sem_error_set(err, SEM_EFORMAT,
                               "%s sent ETag '%s' for %s/%s, which is neither a sha256 nor a git blob sha1: the "
                               "file cannot be verified",
                               p->endpoint, raw, p->repo, path);
        } else if (sz < 0) {
            rc = sem_error_set(err, SEM_EFORMAT, "%s sent no size for %s/%s", p->endpoint, p->repo, path);
        } else {
            *size = (uint64_t)sz;
        }
        break;
    }
    free(url);
    return rc;
}

static int path_join(char *out, size_t cap, const char *dir, const char *rel, const char *suffix, sem_error *err)
{
    if ((size_t)snprintf(out, cap, "%s/%s%s", dir, rel, suffix) >= cap)
        return sem_error_set(err, SEM_ERANGE, "path too long: %s/%s", dir, rel);
    return SEM_OK;
}

static int parent_dir(const char *file, sem_error *err)
{
    char d[HUB_PATH_MAX];
    snprintf(d, sizeof d, "%s", file);
    char *s = strrchr(d, '/');
    if (!s)
        return SEM_OK;
    *s = '\0';
    return sem_mkdir_p(d, err);
}

/* GET url into part (appending from its current size with a Range request). */
static int download_to(pull *p, const char *url, const char *path, const char *part, uint64_t size,
                       sem_error *err)
{
    int fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return sem_error_set(err, SEM_EIO, "cannot create %s: %s", part, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return sem_error_set(err, SEM_EIO, "cannot stat %s: %s", part, strerror(errno));
    }
    uint64_t have = (uint64_t)st.st_size;
    if (have > size) { /* longer than the file can be: not a prefix of it */
        if (ftruncate(fd, 0) != 0) {
            close(fd);
            return sem_error_set(err, SEM_EIO, "cannot truncate %s: %s", part, strerror(errno));
        }
        have = 0;
    }
    int rc = SEM_OK;
    xfer x;
    xfer_init(&x, p);
    x.fd = fd;
    x.file = path;
    x.total = size;
    x.file_off = x.resume_from = have;
    CURL *h = NULL;
    if (have < size) {
        if (have > 0)
            sem_log(SEM_LOG_INFO, "resuming %s/%s at byte %llu of %llu", p->repo, path, (unsigned long long)have,
                    (unsigned long long)size);
        h = easy_new(p, url, &x);
        char range[48];
        snprintf(range, sizeof range, "%llu-", (unsigned long long)have);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        if (have > 0)
            curl_easy_setopt(h, CURLOPT_RANGE, range);
        if (p->progress) {
            curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
            curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
            curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
            p->progress(path, have, size, p->user_data);
        }
        CURLcode cc = curl_easy_perform(h);
        if (p->stats)
            p->stats->bytes_downloaded += x.received;
        if (cc == CURLE_WRITE_ERROR && x.write_errno == ERANGE) {
            rc = sem_error_set(err, SEM_ENET, "%s/%s: the server resumed at the wrong offset", p->repo, path);
            goto done;
        }
        if (cc == CURLE_WRITE_ERROR && x.write_errno == EFBIG) {
            if (ftruncate(fd, 0) != 0)
                sem_log(SEM_LOG_WARN, "cannot truncate %s: %s", part, strerror(errno));
            rc = sem_error_set(err, SEM_EMISMATCH, "%s/%s: the server sent more than the %llu bytes the hub announced",
                               p->repo, path, (unsigned long long)size);
            goto done;
        }
        if (cc == CURLE_WRITE_ERROR && x.write_errno) {
            rc = sem_error_set(err, SEM_EIO, "cannot write %s: %s", part, strerror(x.write_errno));
            goto done;
        }
        if (cc != CURLE_OK) {
            rc = net_error(p, cc, p->ebuf, err);
            sem_error_prefix(err, "%s/%s (the partial download is kept and resumed by the next pull)", p->repo,
                             path);
            goto done;
        }
        if (x.status == 416) { /* the range starts past the end: the partial file was not a prefix of this one */
            if (ftruncate(fd, 0) != 0)
                rc = sem_error_set(err, SEM_EIO, "cannot truncate %s: %s", part, strerror(errno));
            else
                rc = sem_error_set(err, SEM_EMISMATCH, "%s/%s: the server refused to resume", p->repo, path);
            goto done;
        }
        if (x.status != 200 && x.status != 206) {
            char what[512];
            snprintf(what, sizeof what, "%s/%s", p->repo, path);
            rc = http_error(p, &x, what, err);
            goto done;
        }
        if (x.file_off != size) {
            rc = sem_error_set(err, SEM_ENET, "%s/%s: received %llu bytes, expected %llu", p->repo, path,
                               (unsigned long long)x.file_off, (unsigned long long)size);
            goto done;
        }
        if (p->progress)
            p->progress(path, size, size, p->user_data);
    }
    if (fsync(fd) != 0)
        rc = sem_error_set(err, SEM_EIO, "cannot flush %s: %s", part, strerror(errno));
done:
    sem_strbuf_free(&x.mem);
    if (rc != SEM_OK && fstat(fd, &st) == 0 && st.st_size == 0)
        unlink(part); /* nothing worth resuming */
    if (close(fd) != 0 && rc == SEM_OK)
        rc = sem_error_set(err, SEM_EIO, "cannot close %s: %s", part, strerror(errno));
    return rc;
}

/* Brings one file up to date in the cache. */
static int pull_file(pull *p, hub_manifest *man, const char *old_commit, const char *commit, const char *path,
                     sem_error *err)
{
    char final[HUB_PATH_MAX], part[HUB_PATH_MAX];
    int rc = path_join(final, sizeof final, p->dir, path, "", err);
    if (rc == SEM_OK)
        rc = path_join(part, sizeof part, p->dir, path, ".incomplete", err);
    if (rc != SEM_OK)
        return rc;
    struct stat st;
    int present = stat(final, &st) == 0 && S_ISREG(st.st_mode);
    const hub_manifest_file *mf = hub_manifest_find(man, path);

    /* Same commit as the last pull and the file there with its size: nothing to ask the hub. */
    if (present && mf && mf->etag[0] && old_commit && strcmp(old_commit, commit) == 0 &&
        (uint64_t)st.st_size == mf->size) {
        p->stats->files_cached++;
        p->stats->bytes_total += mf->size;
        return SEM_OK;
    }
    char etag[HUB_ETAG_MAX];
    int kind = HUB_ETAG_UNKNOWN;
    uint64_t size = 0;
    rc = fetch_meta(p, commit, path, etag, &kind, &size, err);
    if (rc != SEM_OK)
        return rc;
    p->stats->bytes_total += size;
    if (present && (uint64_t)st.st_size == size) {
        char got[HUB_ETAG_MAX];
        int same = mf && strcmp(mf->etag, etag) == 0;
        if (!same && hub_hash_file(final, kind, got, NULL, NULL) == SEM_OK)
            same = strcmp(got, etag) == 0;
        if (same) {
            p->stats->files_cached++;
            return hub_manifest_set_file(man, path, size, etag, err);
        }
    }
    rc = parent_dir(part, err);
    if (rc != SEM_OK)
        return rc;
    char *url = file_url(p, commit, path);
    if (!url)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    /* Two attempts: when a resumed download fails verification, the old partial file may have been the culprit
     * (left by another commit), so it is discarded and the file fetched once more from the start. */
    for (int attempt = 0; attempt < 2; attempt++) {
        struct stat ps;
        int resumed = stat(part, &ps) == 0 && ps.st_size > 0;
        rc = download_to(p, url, path, part, size, err);
        if (rc == SEM_EMISMATCH && resumed && attempt == 0) { /* 416: start over */
            unlink(part);
            continue;
        }
        if (rc != SEM_OK)
            break;
        char got[HUB_ETAG_MAX];
        rc = hub_hash_file(part, kind, got, NULL, err);
        if (rc != SEM_OK)
            break;
        if (strcmp(got, etag) != 0) {
            unlink(part);
            if (resumed && attempt == 0) {
                sem_log(SEM_LOG_WARN, "%s/%s: the resumed download does not match its checksum; downloading it "
                                      "again from the start",
                        p->repo, path);
                continue;
            }
            rc = sem_error_set(err, SEM_EMISMATCH,
                               "checksum mismatch for %s/%s: the hub's etag is %s %s but the downloaded file has %s "
                               "(a corrupted download; it was deleted, run the pull again)",
                               p->repo, path, kind == HUB_ETAG_SHA256 ? "sha256" : "git blob sha1", etag, got);
            break;
        }
        if (rename(part, final) != 0) {
            rc = sem_error_set(err, SEM_EIO, "cannot rename %s to %s: %s", part, final, strerror(errno));
            break;
        }
        rc = sem_fsync_dir_of(final, err);
        if (rc == SEM_OK) {
            p->stats->files_downloaded++;
            rc = hub_manifest_set_file(man, path, size, etag, err);
        }
        break;
    }
    free(url);
    return rc;
}

static int valid_revision(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)r[i] <= ' ' || r[i] == 0x7f)
            return 0;
    return 1;
}

/* The endpoint (HF_ENDPOINT or the default, without trailing slashes) into endpoint (cap bytes), a curl handle
 * and the Authorization header of HF_TOKEN into p. On failure p holds nothing to free. */
static int pull_connect(pull *p, char *endpoint, size_t cap, sem_error *err)
{
    const char *env = getenv("HF_ENDPOINT");
    if ((size_t)snprintf(endpoint, cap, "%s", env && *env ? env : SEM_HUB_DEFAULT_ENDPOINT) >= cap)
        return sem_error_set(err, SEM_EINVAL, "HF_ENDPOINT is too long");
    for (size_t n = strlen(endpoint); n > 0 && endpoint[n - 1] == '/'; n--)
        endpoint[n - 1] = '\0';
    if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)
        return sem_error_set(err, SEM_EINVAL, "HF_ENDPOINT '%s' is not an http:// or https:// URL", endpoint);
    p->endpoint = endpoint;
    const char *token = getenv("HF_TOKEN");
    if (token && strpbrk(token, "\r\n"))
        return sem_error_set(err, SEM_EINVAL, "HF_TOKEN contains a line break");
    p->h = curl_easy_init();
    if (!p->h)
        return sem_error_set(err, SEM_ENOMEM, "cannot create a curl handle");
    if (token && *token) {
        size_t n = strlen(token) + 32;
        char *auth = malloc(n);
        if (auth) {
            snprintf(auth, n, "Authorization: Bearer %s", token);
            p->hdrs = curl_slist_append(NULL, auth);
            free(auth);
        }
        if (!p->hdrs) {
            curl_easy_cleanup(p->h);
            p->h = NULL;
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
    }
    return SEM_OK;
}

/* SEM_ENOTFOUND when the repository lacks a file the encoder needs; else counts the files to fetch. */
static int check_wanted(const char *repo, const char *revision, const int have[N_WANTED],
                        sem_hub_pull_stats *stats, sem_error *err)
{
    for (size_t i = 0; i < N_WANTED; i++) {
        if (WANTED[i].required && !have[i])
            return sem_error_set(err, SEM_ENOTFOUND,
                                 "%s@%s has no %s, which semsearch needs%s", repo, revision, WANTED[i].path,
                                 strcmp(WANTED[i].path, "model.safetensors") == 0
                                     ? " (the encoder reads safetensors weights only, not pytorch_model.bin)"
                                     : strcmp(WANTED[i].path, "vocab.txt") == 0
                                           ? " (the tokenizer reads a WordPiece vocab.txt: is this a BERT model?)"
                                           : "");
        if (have[i])
            stats->files_total++;
    }
    return SEM_OK;
}

/* Creates the model's cache folder and takes its lock (*lock_fd; close it to release). SEM_EBUSY when another
 * pull of the same model holds it. */
static int lock_model_dir(const pull *p, int *lock_fd, sem_error *err)
{
    char lock_path[HUB_PATH_MAX];
    int rc = sem_mkdir_p(p->dir, err);
    if (rc == SEM_OK)
        rc = path_join(lock_path, sizeof lock_path, p->dir, ".lock", "", err);
    if (rc != SEM_OK)
        return rc;
    *lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*lock_fd < 0)
        return sem_error_set(err, SEM_EIO, "cannot create %s: %s", lock_path, strerror(errno));
    if (flock(*lock_fd, LOCK_EX | LOCK_NB) != 0)
        return errno == EWOULDBLOCK
                   ? sem_error_set(err, SEM_EBUSY, "another pull of %s is running (lock %s)", p->repo, lock_path)
                   : sem_error_set(err, SEM_EIO, "cannot lock %s: %s", lock_path, strerror(errno));
    return SEM_OK;
}

/* Starts the new manifest man (written, complete = 0): the old manifest's entries for files still wanted, so that
 * unchanged files skip even the HEAD request (*old_commit: its commit, caller frees, NULL without one), and every
 * file of the model listed from the start (size and etag unknown until fetched), so that an interrupted pull
 * leaves a manifest that says what is missing. */
static int manifest_start(const pull *p, hub_manifest *man, const char *revision, const char *commit,
                          const int have[N_WANTED], char **old_commit, sem_error *err)
{
    hub_manifest old;
    int rc = SEM_OK;
    *old_commit = NULL;
    if (hub_manifest_read(p->dir, &old, NULL) == SEM_OK) {
        if (strcmp(old.repo, p->repo) == 0) {
            for (size_t i = 0; i < N_WANTED && rc == SEM_OK; i++) {
                const hub_manifest_file *f = have[i] ? hub_manifest_find(&old, WANTED[i].path) : NULL;
                if (f)
                    rc = hub_manifest_set_file(man, f->path, f->size, f->etag, err);
            }
            *old_commit = strdup(old.commit);
        }
        hub_manifest_free(&old);
        if (rc != SEM_OK)
            return rc;
    }
    man->repo = strdup(p->repo);
    man->revision = strdup(revision);
    man->commit = strdup(commit);
    man->endpoint = strdup(p->endpoint);
    man->complete = 0;
    if (!man->repo || !man->revision || !man->commit || !man->endpoint)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    for (size_t i = 0; i < N_WANTED && rc == SEM_OK; i++)
        if (have[i] && !hub_manifest_find(man, WANTED[i].path))
            rc = hub_manifest_set_file(man, WANTED[i].path, 0, "", err);
    return rc == SEM_OK ? hub_manifest_write(p->dir, man, err) : rc;
}

int sem_hub_pull(const char *repo, const char *revision, const char *cache_dir, sem_hub_progress_fn progress,
                 void *user_data, sem_hub_pull_stats *stats, sem_error *err)
{
    sem_hub_pull_stats local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!revision)
        revision = "main";
    if (!sem_hub_valid_repo_id(repo))
        return sem_error_set(err, SEM_EINVAL, "'%s' is not a hub model name ORG/NAME", repo ? repo : "(null)");
    if (!valid_revision(revision))
        return sem_error_set(err, SEM_EINVAL, "invalid revision '%s'", revision);
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return sem_error_set(err, SEM_ENET, "cannot initialize libcurl: %s", curl_easy_strerror(curl_init_rc));

    pull p;
    memset(&p, 0, sizeof p);
    p.repo = repo;
    p.progress = progress;
    p.user_data = user_data;
    p.stats = stats;
    char endpoint[1024];
    int rc = pull_connect(&p, endpoint, sizeof endpoint, err);
    if (rc != SEM_OK)
        return rc;

    char cache[HUB_PATH_MAX];
    char *commit = NULL, *old_commit = NULL;
    int lock_fd = -1;
    hub_manifest man;
    memset(&man, 0, sizeof man);
    rc = hub_cache_or_default(cache_dir, cache, sizeof cache, err);
    if (rc != SEM_OK)
        goto done;
    if ((size_t)snprintf(p.dir, sizeof p.dir, "%s/models/%s", cache, repo) >= sizeof p.dir) {
        rc = sem_error_set(err, SEM_ERANGE, "cache path too long: %s", cache);
        goto done;
    }
    /* Ask the hub first: nothing is created in the cache for a model that does not exist. */
    int have[N_WANTED];
    rc = fetch_info(&p, revision, &commit, have, err);
    if (rc != SEM_OK)
        goto done;
    snprintf(stats->commit, sizeof stats->commit, "%s", commit);
    if ((rc = check_wanted(repo, revision, have, stats, err)) != SEM_OK ||
        (rc = lock_model_dir(&p, &lock_fd, err)) != SEM_OK ||
        (rc = manifest_start(&p, &man, revision, commit, have, &old_commit, err)) != SEM_OK)
        goto done;
    for (size_t i = 0; i < N_WANTED && rc == SEM_OK; i++) {
        if (!have[i])
            continue;
        rc = pull_file(&p, &man, old_commit, commit, WANTED[i].path, err);
        if (rc == SEM_OK)
            rc = hub_manifest_write(p.dir, &man, err);
    }
    if (rc == SEM_OK) {
        man.complete = 1;
        rc = hub_manifest_write(p.dir, &man, err);
    }
done:
    if (lock_fd >= 0)
        close(lock_fd); /* releases the flock */
    hub_manifest_free(&man);
    free(old_commit);
    free(commit);
    curl_easy_cleanup(p.h);
    curl_slist_free_all(p.hdrs);
    return rc;
}
