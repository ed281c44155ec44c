/* tests/hub/test_hub.c: sem_hub against a fake HuggingFace hub: a libmicrohttpd server on a loopback port that
 * serves a fixture model (../shared/testdata/models/bert-tiny-uncased) in the hub's URL layout: the API JSON,
 * resolve/ paths with ETag / X-Linked-Etag, a 302 to a "CDN" path for LFS files, Range requests. The server can
 * corrupt one file's bytes or drop the connection halfway through one, and counts what it serves. */
#define _GNU_SOURCE
#include "test.h"
#include "test_util.h"

#include "common/fileio.h"
#include "hub/hub.h"
#include "hub/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPO "semsearch-test/bert-tiny"
#define COMMIT "0123456789abcdef0123456789abcdef01234567"
#define FIXTURE SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"

/* ---- the fake hub ---- */

struct file {
    const char *path;
    unsigned char *data;
    size_t len;
    int lfs;            /* served as an LFS file: 302 to /cdn/SHA256 with X-Linked-Etag */
    int wanted;         /* semsearch should download it */
    char sha256[65];
    char sha1[41];      /* git blob sha1 */
};

struct repo {
    const char *id;
    struct file *files;
    size_t n;
};

static struct server {
    struct MHD_Daemon *d;
    int port;
    struct repo repos[2];
    pthread_mutex_t mu;
    /* counters (under mu) */
    uint64_t bytes_served; /* file content bytes handed to clients */
    int n_api, n_head, n_get;
    char last_auth[128];
    char cdn_auth[128];  /* Authorization header of the last /cdn/ request */
    int cdn_other_host;  /* redirect LFS files to http://localhost:PORT/cdn/... (another host name) */
    /* faults (set between pulls) */
    char corrupt[64]; /* this file's bytes are served with one byte flipped */
    char cut[64];     /* this file's GET is cut after cut_at bytes (connection dropped) */
    size_t cut_at;
    int weird_etag; /* small files get an ETag that is no hash (an incompatible mirror) */
    char oversize[64]; /* this file's GET sends 1000 bytes more than the file */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void hex(const unsigned char *md, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static void hash_file(struct file *f)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(f->data, f->len, md, &n, EVP_sha256(), NULL);
    hex(md, n, f->sha256);
    char head[64];
    int hn = snprintf(head, sizeof head, "blob %zu", f->len);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha1(), NULL);
    EVP_DigestUpdate(c, head, (size_t)hn + 1);
    EVP_DigestUpdate(c, f->data, f->len);
    EVP_DigestFinal_ex(c, md, &n);
    EVP_MD_CTX_free(c);
    hex(md, n, f->sha1);
}

static void set_file(struct file *f, const char *path, const void *data, size_t len, int lfs, int wanted)
{
    f->path = path;
    f->data = malloc(len ? len : 1);
    memcpy(f->data, data, len);
    f->len = len;
    f->lfs = lfs;
    f->wanted = wanted;
    hash_file(f);
}

static int load_fixture_file(struct file *f, const char *path, int lfs)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", FIXTURE, path);
    char *data;
    size_t len;
    sem_error err;
    if (sem_read_file(p, 1u << 30, &data, &len, &err) != SEM_OK) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        return -1;
    }
    set_file(f, path, data, len, lfs, 1);
    free(data);
    return 0;
}

static struct repo *find_repo(const char *id, size_t n)
{
    for (size_t i = 0; i < 2; i++)
        if (S.repos[i].id && strlen(S.repos[i].id) == n && strncmp(S.repos[i].id, id, n) == 0)
            return &S.repos[i];
    return NULL;
}

static struct file *find_file(struct repo *r, const char *path)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->files[i].path, path) == 0)
            return &r->files[i];
    return NULL;
}

struct body {
    const struct file *f;
    size_t off;    /* first byte served (Range) */
    size_t len;    /* bytes served */
    int corrupt;
    size_t cut;    /* 0 = none, else stop after this many bytes of the response */
};

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct body *b = cls;
    if (pos >= b->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (b->cut && pos >= b->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = b->len - (size_t)pos;
    if (n > max)
        n = max;
    if (b->cut && pos + n > b->cut)
        n = b->cut - (size_t)pos;
    size_t in_file = b->off + pos < b->f->len ? b->f->len - b->off - (size_t)pos : 0;
    if (in_file > n)
        in_file = n;
    memcpy(buf, b->f->data + b->off + pos, in_file);
    memset(buf + in_file, 0, n - in_file); /* the "oversize" fault: junk after the file */
    size_t flip = b->f->len / 2; /* the corrupted byte, in file coordinates */
    if (b->corrupt && b->off + pos <= flip && flip < b->off + pos + n)
        buf[flip - b->off - pos] ^= 0x5a;
    pthread_mutex_lock(&S.mu);
    S.bytes_served += n;
    pthread_mutex_unlock(&S.mu);
    return (ssize_t)n;
}

static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned status, const char *text, const char *ecode)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (ecode) {
        MHD_add_response_header(r, "X-Error-Code", ecode);
        MHD_add_response_header(r, "X-Error-Message", text);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Serves f's content with Range support; etag is the ETag header to send. */
static enum MHD_Result serve_file(struct MHD_Connection *c, const struct file *f, const char *etag, int is_head)
{
    size_t off = 0;
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    unsigned status = MHD_HTTP_OK;
    if (range) {
        unsigned long long a;
        if (sscanf(range, "bytes=%llu-", &a) != 1)
            return queue_text(c, 400, "bad range", NULL);
        if (a >= f->len) {
            struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
            char cr[64];
            snprintf(cr, sizeof cr, "bytes */%zu", f->len);
            MHD_add_response_header(r, "Content-Range", cr);
            enum MHD_Result ret = MHD_queue_response(c, 416, r);
            MHD_destroy_response(r);
            return ret;
        }
        off = (size_t)a;
        status = MHD_HTTP_PARTIAL_CONTENT;
    }
    struct body *b = calloc(1, sizeof *b);
    b->f = f;
    b->off = off;
    b->len = f->len - off;
    pthread_mutex_lock(&S.mu);
    if (!is_head)
        S.n_get++;
    b->corrupt = strcmp(S.corrupt, f->path) == 0;
    if (!is_head && strcmp(S.oversize, f->path) == 0)
        b->len += 1000;
    if (strcmp(S.cut, f->path) == 0 && S.cut_at > off)
        b->cut = S.cut_at - off;
    pthread_mutex_unlock(&S.mu);
    struct MHD_Response *r = MHD_create_response_from_callback(b->len, 65536, body_read, b, free);
    char q[80];
    snprintf(q, sizeof q, "\"%s\"", etag);
    MHD_add_response_header(r, "ETag", q);
    MHD_add_response_header(r, "X-Repo-Commit", COMMIT);
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    if (status == MHD_HTTP_PARTIAL_CONTENT) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", off, f->len - 1, f->len);
        MHD_add_response_header(r, "Content-Range", cr);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
    (void)cls, (void)version, (void)upload, (void)upload_size, (void)req_cls;
    int is_head = strcmp(method, "HEAD") == 0;
    if (!is_head && strcmp(method, "GET") != 0)
        return queue_text(c, 405, "method not allowed", NULL);
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&S.mu);
    snprintf(S.last_auth, sizeof S.last_auth, "%s", auth ? auth : "");
    if (is_head)
        S.n_head++;
    pthread_mutex_unlock(&S.mu);

    if (strncmp(url, "/api/models/", 12) == 0) { /* /api/models/ORG/NAME/revision/REV */
        pthread_mutex_lock(&S.mu);
        S.n_api++;
        pthread_mutex_unlock(&S.mu);
        const char *id = url + 12, *rev = strstr(id, "/revision/");
        if (strncmp(id, "semsearch-test/garbage/", 23) == 0)
            return queue_text(c, 200, "<html>a captive portal</html>", NULL);
        struct repo *r = rev ? find_repo(id, (size_t)(rev - id)) : NULL;
        if (!r)
            return queue_text(c, 404, "Repository not found", "RepoNotFound");
        rev += 10;
        if (strcmp(rev, "main") != 0 && strcmp(rev, COMMIT) != 0)
            return queue_text(c, 404, "Invalid rev id", "RevisionNotFound");
        char json[4096];
        int n = snprintf(json, sizeof json, "{\"id\":\"%s\",\"sha\":\"%s\",\"private\":false,\"siblings\":[",
                         r->id, COMMIT);
        for (size_t i = 0; i < r->n; i++)
            n += snprintf(json + n, sizeof json - (size_t)n, "%s{\"rfilename\":\"%s\"}", i ? "," : "",
                          r->files[i].path);
        snprintf(json + n, sizeof json - (size_t)n, "]}");
        return queue_text(c, 200, json, NULL);
    }
    if (strncmp(url, "/cdn/", 5) == 0) { /* the CDN: content by sha256, with its own kind of ETag */
        pthread_mutex_lock(&S.mu);
        snprintf(S.cdn_auth, sizeof S.cdn_auth, "%s", auth ? auth : "");
        pthread_mutex_unlock(&S.mu);
        for (size_t k = 0; k < 2; k++)
            for (size_t i = 0; i < S.repos[k].n; i++)
                if (strcmp(S.repos[k].files[i].sha256, url + 5) == 0)
                    return serve_file(c, &S.repos[k].files[i], "cdn-etag-not-a-hash", is_head);
        return queue_text(c, 404, "no such object", NULL);
    }
    /* /ORG/NAME/resolve/REV/PATH */
    const char *res = strstr(url, "/resolve/");
    struct repo *r = res ? find_repo(url + 1, (size_t)(res - url - 1)) : NULL;
    if (!r)
        return queue_text(c, 404, "Repository not found", "RepoNotFound");
    const char *rev = res + 9, *slash = strchr(rev, '/');
    if (!slash || !((slash - rev == 4 && strncmp(rev, "main", 4) == 0) ||
                    (slash - rev == 40 && strncmp(rev, COMMIT, 40) == 0)))
        return queue_text(c, 404, "Invalid rev id", "RevisionNotFound");
    struct file *f = find_file(r, slash + 1);
    if (!f)
        return queue_text(c, 404, "Entry not found", "EntryNotFound");
    if (f->lfs) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        char loc[128], q[80], sz[32];
        if (S.cdn_other_host)
            snprintf(loc, sizeof loc, "http://localhost:%d/cdn/%s", S.port, f->sha256);
        else
            snprintf(loc, sizeof loc, "/cdn/%s", f->sha256);
        snprintf(q, sizeof q, "\"%s\"", f->sha256);
        snprintf(sz, sizeof sz, "%zu", f->len);
        MHD_add_response_header(resp, "Location", loc);
        MHD_add_response_header(resp, "X-Linked-Etag", q);
        MHD_add_response_header(resp, "X-Linked-Size", sz);
        MHD_add_response_header(resp, "ETag", q);
        MHD_add_response_header(resp, "X-Repo-Commit", COMMIT);
        enum MHD_Result ret = MHD_queue_response(c, 302, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    return serve_file(c, f, S.weird_etag ? "W/\"5e-1a2b3c\"" : f->sha1, is_head);
}

static void reset_counters(void)
{
    pthread_mutex_lock(&S.mu);
    S.bytes_served = 0;
    S.n_api = S.n_head = S.n_get = 0;
    pthread_mutex_unlock(&S.mu);
}

static int server_start(void)
{
    static const char *fixture[] = {"config.json",           "vocab.txt",         "tokenizer_config.json",
                                    "special_tokens_map.json", "modules.json",    "1_Pooling/config.json",
                                    "sentence_bert_config.json", "model.safetensors"};
    size_t nf = sizeof fixture / sizeof fixture[0];
    struct repo *r = &S.repos[0];
    r->id = REPO;
    r->files = calloc(nf + 4, sizeof *r->files);
    for (size_t i = 0; i < nf; i++)
        if (load_fixture_file(&r->files[r->n++], fixture[i], strcmp(fixture[i], "model.safetensors") == 0) != 0)
            return -1;
    const char *readme = "---\nlicense: apache-2.0\n---\n# bert-tiny for semsearch tests\n";
    set_file(&r->files[r->n++], "README.md", readme, strlen(readme), 0, 1);
    set_file(&r->files[r->n++], "tokenizer.json", "{}", 2, 0, 0);
    set_file(&r->files[r->n++], "pytorch_model.bin", "not really a pickle", 19, 1, 0);
    set_file(&r->files[r->n++], "onnx/model.onnx", "onnx", 4, 1, 0);

    struct repo *r2 = &S.repos[1]; /* a repo with PyTorch weights only */
    r2->id = "semsearch-test/no-safetensors";
    r2->files = calloc(3, sizeof *r2->files);
    r2->files[0] = r->files[0];
    r2->files[1] = r->files[1];
    r2->files[2] = r->files[r->n - 2];
    r2->n = 3;

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    S.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, handler,
                           NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    if (!S.d)
        return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(S.d, MHD_DAEMON_INFO_BIND_PORT);
    S.port = info ? info->port : 0;
    return S.port ? 0 : -1;
}

/* ---- helpers ---- */

static char tmp_root[256];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void mkcache(char *out, size_t cap, const char *name)
{
    if ((size_t)snprintf(out, cap, "%s/%s", tmp_root, name) >= cap)
        abort();
}

/* 1 if path holds exactly data. */
static int same_content(const char *path, const struct file *f)
{
    char *d;
    size_t n;
    if (sem_read_file(path, 1u << 30, &d, &n, NULL) != SEM_OK)
        return 0;
    int ok = n == f->len && memcmp(d, f->data, n) == 0;
    free(d);
    return ok;
}

static void model_path(char *out, size_t cap, const char *cache, const char *file)
{
    snprintf(out, cap, "%s/models/%s/%s", cache, REPO, file);
}

struct prog {
    int calls, finished_safetensors;
};

static void on_progress(const char *file, uint64_t done, uint64_t total, void *ud)
{
    struct prog *p = ud;
    p->calls++;
    if (strcmp(file, "model.safetensors") == 0 && done == total && total > 0)
        p->finished_safetensors = 1;
}

static uint64_t wanted_bytes(void)
{
    uint64_t t = 0;
    for (size_t i = 0; i < S.repos[0].n; i++)
        if (S.repos[0].files[i].wanted)
            t += S.repos[0].files[i].len;
    return t;
}

static int wanted_count(void)
{
    int n = 0;
    for (size_t i = 0; i < S.repos[0].n; i++)
        n += S.repos[0].files[i].wanted;
    return n;
}

static struct file *fixture_file(const char *path)
{
    return find_file(&S.repos[0], path);
}

/* Runs the semsearch binary with args (environment inherited); stdout into out; returns the exit status. */
static int run(const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", SEM_BINARY, args);
    return tst_run_capture(cmd, out, cap);
}

/* ---- tests ---- */

static void test_full_pull_and_noop(const char *cache)
{
    reset_counters();
    sem_error err;
    sem_hub_pull_stats st;
    struct prog pr = {0, 0};
    int rc = sem_hub_pull(REPO, NULL, cache, on_progress, &pr, &st, &err);
    CHECK_MSG(rc == SEM_OK, "%s", err.msg);
    CHECK_STREQ(st.commit, COMMIT);
    CHECK_EQ_INT(st.files_total, wanted_count());
    CHECK_EQ_INT(st.files_downloaded, wanted_count());
    CHECK_EQ_INT(st.files_cached, 0);
    CHECK_EQ_INT(st.bytes_downloaded, wanted_bytes());
    CHECK_EQ_INT(st.bytes_total, wanted_bytes());
    CHECK_EQ_INT(S.bytes_served, wanted_bytes());
    CHECK(pr.calls > 0 && pr.finished_safetensors);
    char p[1024];
    for (size_t i = 0; i < S.repos[0].n; i++) {
        const struct file *f = &S.repos[0].files[i];
        model_path(p, sizeof p, cache, f->path);
        if (f->wanted)
            CHECK_MSG(same_content(p, f), "%s differs from the served file", f->path);
        else
            CHECK_MSG(!sem_path_exists(p), "%s should not be downloaded", f->path);
        strcat(p, ".incomplete");
        CHECK(!sem_path_exists(p));
    }
    /* the second pull asks for the revision and downloads nothing */
    reset_counters();
    rc = sem_hub_pull(REPO, "main", cache, NULL, NULL, &st, &err);
    CHECK_MSG(rc == SEM_OK, "%s", err.msg);
    CHECK_EQ_INT(S.bytes_served, 0);
    CHECK_EQ_INT(S.n_get, 0);
    CHECK_EQ_INT(S.n_head, 0);
    CHECK_EQ_INT(S.n_api, 1);
    CHECK_EQ_INT(st.files_downloaded, 0);
    CHECK_EQ_INT(st.files_cached, wanted_count());
    CHECK_EQ_INT(st.bytes_downloaded, 0);

    /* the manifest lost: files are recognized by their hashes, still nothing downloaded */
    char man[1024];
    model_path(man, sizeof man, cache, SEM_HUB_MANIFEST);
    CHECK(unlink(man) == 0);
    reset_counters();
    rc = sem_hub_pull(REPO, COMMIT, cache, NULL, NULL, &st, &err);
    CHECK_MSG(rc == SEM_OK, "%s", err.msg);
    CHECK_EQ_INT(S.bytes_served, 0);
    CHECK_EQ_INT(st.files_cached, wanted_count());
    CHECK(sem_path_exists(man));

    /* a file changed locally (same size) is detected by its hash and fetched again */
    model_path(p, sizeof p, cache, "config.json");
    char *d;
    size_t n;
    CHECK(sem_read_file(p, 1 << 20, &d, &n, NULL) == SEM_OK);
    d[1] ^= 1;
    CHECK(sem_write_file_atomic(p, d, n, NULL) == SEM_OK);
    free(d);
    CHECK(unlink(man) == 0);
    reset_counters();
    rc = sem_hub_pull(REPO, NULL, cache, NULL, NULL, &st, &err);
    CHECK_MSG(rc == SEM_OK, "%s", err.msg);
    CHECK_EQ_INT(st.files_downloaded, 1);
    CHECK_EQ_INT(S.bytes_served, fixture_file("config.json")->len);
    CHECK(same_content(p, fixture_file("config.json")));

    /* list */
    sem_hub_model *m = NULL;
    size_t nm = 0;
    CHECK(sem_hub_list(cache, &m, &nm, &err) == SEM_OK);
    CHECK_EQ_INT(nm, 1);
    if (nm == 1) {
        CHECK_STREQ(m[0].name, REPO);
        CHECK_STREQ(m[0].commit, COMMIT);
        CHECK_STREQ(m[0].revision, "main");
        CHECK_EQ_INT(m[0].size, wanted_bytes());
        CHECK_EQ_INT(m[0].n_files, wanted_count());
        CHECK_EQ_INT(m[0].n_expected, wanted_count());
        CHECK_EQ_INT(m[0].n_incomplete, 0);
        CHECK(m[0].complete);
    }
    sem_hub_list_free(m, nm);
}

static void test_resume(void)
{
    const struct file *w = fixture_file("model.safetensors");
    char cache[512], part[1024], final[1024];
    sem_error err;
    sem_hub_pull_stats st;

    /* the connection drops halfway through the weights: the partial file stays, the model is incomplete */
    mkcache(cache, sizeof cache, "resume");
    model_path(part, sizeof part, cache, "model.safetensors.incomplete");
    model_path(final, sizeof final, cache, "model.safetensors");
    pthread_mutex_lock(&S.mu);
    snprintf(S.cut, sizeof S.cut, "model.safetensors");
    S.cut_at = w->len / 2 + 12345;
    pthread_mutex_unlock(&S.mu);
    int rc = sem_hub_pull(REPO, NULL, cache, NULL, NULL, &st, &err);
    CHECK_EQ_INT(rc, SEM_ENET);
    CHECK_MSG(strstr(err.msg, "model.safetensors") && strstr(err.msg, "resumed"), "%s", err.msg);
    long have = tst_file_size(part);
    CHECK_MSG(have > 0 && have <= (long)(w->len / 2 + 12345), "partial size %ld", have);
    CHECK(!sem_path_exists(final));
    char dir[1024];
    rc = sem_hub_resolve_model_in(REPO, cache, dir, sizeof dir, &err);
    CHECK_EQ_INT(rc, SEM_EFORMAT);
    CHECK_MSG(strstr(err.msg, "incomplete") != NULL, "%s", err.msg);
    sem_hub_model *m = NULL;
    size_t nm = 0;
    CHECK(sem_hub_list(cache, &m, &nm, &err) == SEM_OK);
    CHECK(nm == 1 && !m[0].complete && m[0].n_incomplete == 1 && m[0].n_files == wanted_count() - 1 &&
          m[0].n_expected == wanted_count());
    sem_hub_list_free(m, nm);

    /* the next pull asks only for the rest */
    pthread_mutex_lock(&S.mu);
    S.cut[0] = '\0';
    pthread_mutex_unlock(&S.mu);
    reset_counters();
    rc = sem_hub_pull(REPO, NULL, cache, NULL, NULL, &st, &err);
    CHECK_MSG(rc == SEM_OK, "%s", err.msg);
    CHECK_EQ_INT(S.bytes_served, (long)w->len - have);
    CHECK_EQ_INT(st.files_downloaded, 1);
    CHECK(same_content(final, w));
    CHECK(!sem_path_exists(part));
    CHECK(sem_hub_resolve_model_in(REPO, cache, dir, sizeof dir, &err) == SEM_OK);

    /* a stale partial file with wrong bytes: resumed, fails the check, fetched again from the start */
    mkcache(cache, sizeof cache, "stale");
    model_path(part, sizeof part, cache, "model.safetensors.incomplete");
    model_path(final, sizeof final, cache, "model.safetensors");
    char d[1024];
    snprintf(d, sizeof d, "%s/models/%s", cache, REPO);
    CHECK(sem_mkdir_p(d, NULL) == SEM_OK);
    size_t junk = 1 << 20;
    char *x = malloc(junk);
    memset(x, 'x', junk);
    CHECK(sem_write_file_atomic(part, x, junk, NULL) == SEM_OK);
    free(x);
    reset_counters();
    rc = sem_hub_pull(REPO, NULL, cache, NULL, NULL, &st, &err);
    CHECK_MSG(rc == SEM_OK, "%s", err.msg);
    CHECK(same_content(final, w));
    CHECK(!sem_path_exists(part));
    CHECK_EQ_INT(S.bytes_served, wanted_bytes() + (w->len - junk));

    /* a partial file longer than the real one is discarded */
    mkcache(cache, sizeof cache, "long");
    model_path(part, sizeof part, cache, "vocab.txt.incomplete");
    model_path(final, sizeof final, cache, "vocab.txt");
    snprintf(d, sizeof d, "%s/models/%s", cache, REPO);
    CHECK(sem_mkdir_p(d, NULL) == SEM_OK);
    junk = fixture_file("vocab.txt")->len + 100;
    x = calloc(1, junk);
    CHECK(sem_write_file_atomic(part, x, junk, NULL) == SEM_OK);
    free(x);
    rc = sem_hub_pull(REPO, NULL, cache, NULL, NULL, &st, &err);
    CHECK_MSG(rc == SEM_OK, "%s", err.msg);
    CHECK(same_content(final, fixture_file("vocab.txt")));
}

static void test_corrupt(const char *file, const char *hash_name)
{
    char cache[512], p[1024];
    snprintf(p, sizeof p, "corrupt-%s", file);
    mkcache(cache, sizeof cache, p);
    pthread_mutex_lock(&S.mu);
    snprintf(S.corrupt, sizeof S.corrupt, "%s", file);
    pthread_mutex_unlock(&S.mu);
    sem_error err;
    int rc = sem_hub_pull(REPO, NULL, cache, NULL, NULL, NULL, &err);
    CHECK_EQ_INT(rc, SEM_EMISMATCH);
    CHECK_MSG(strstr(err.msg, "checksum mismatch") && strstr(err.msg, file) && strstr(err.msg, hash_name) &&
                  strstr(err.msg, "deleted"),
              "%s", err.msg);
    model_path(p, sizeof p, cache, file);
    CHECK(!sem_path_exists(p));
    strcat(p, ".incomplete");
    CHECK(!sem_path_exists(p));
    char dir[1024];
    CHECK_EQ_INT(sem_hub_resolve_model_in(REPO, cache, dir, sizeof dir, &err), SEM_EFORMAT);
    /* the server healed: the pull completes */
    pthread_mutex_lock(&S.mu);
    S.corrupt[0] = '\0';
    pthread_mutex_unlock(&S.mu);
    rc = sem_hub_pull(REPO, NULL, cache, NULL, NULL, NULL, &err);
    CHECK_MSG(rc == SEM_OK, "%s", err.msg);
    model_path(p, sizeof p, cache, file);
    CHECK(same_content(p, fixture_file(file)));
}

static void test_errors(void)
{
    char cache[512], p[1024];
    mkcache(cache, sizeof cache, "errors");
    sem_error err;
    int rc = sem_hub_pull("semsearch-test/no-such-model", NULL, cache, NULL, NULL, NULL, &err);
    CHECK_EQ_INT(rc, SEM_ENOTFOUND);
    CHECK_MSG(strstr(err.msg, "semsearch-test/no-such-model") && strstr(err.msg, "not found"), "%s", err.msg);
    snprintf(p, sizeof p, "%s/models/semsearch-test/no-such-model", cache);
    CHECK(!sem_path_exists(p));

    rc = sem_hub_pull(REPO, "v9.9", cache, NULL, NULL, NULL, &err);
    CHECK_EQ_INT(rc, SEM_ENOTFOUND);
    CHECK_MSG(strstr(err.msg, "revision") && strstr(err.msg, "v9.9"), "%s", err.msg);

    rc = sem_hub_pull("semsearch-test/no-safetensors", NULL, cache, NULL, NULL, NULL, &err);
    CHECK_EQ_INT(rc, SEM_ENOTFOUND);
    CHECK_MSG(strstr(err.msg, "model.safetensors") != NULL, "%s", err.msg);
    snprintf(p, sizeof p, "%s/models/semsearch-test/no-safetensors", cache);
    CHECK(!sem_path_exists(p));

    rc = sem_hub_pull("semsearch-test/garbage", NULL, cache, NULL, NULL, NULL, &err);
    CHECK_EQ_INT(rc, SEM_EFORMAT);
    CHECK_MSG(strstr(err.msg, "siblings") != NULL, "%s", err.msg);

    snprintf(S.oversize, sizeof S.oversize, "model.safetensors");
    rc = sem_hub_pull(REPO, NULL, cache, NULL, NULL, NULL, &err);
    S.oversize[0] = '\0';
    CHECK_EQ_INT(rc, SEM_EMISMATCH);
    CHECK_MSG(strstr(err.msg, "more than") && strstr(err.msg, "model.safetensors"), "%s", err.msg);
    snprintf(p, sizeof p, "%s/models/%s/model.safetensors.incomplete", cache, REPO);
    CHECK(!sem_path_exists(p));
    snprintf(p, sizeof p, "%s/models/%s", cache, REPO);
    CHECK(nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);

    S.weird_etag = 1;
    rc = sem_hub_pull(REPO, NULL, cache, NULL, NULL, NULL, &err);
    S.weird_etag = 0;
    CHECK_EQ_INT(rc, SEM_EFORMAT);
    CHECK_MSG(strstr(err.msg, "config.json") && strstr(err.msg, "cannot be verified"), "%s", err.msg);
    snprintf(p, sizeof p, "%s/models/%s/config.json", cache, REPO);
    CHECK(!sem_path_exists(p));

    const char *bad[] = {"bert", "a/b/c", "../x", "org/..", "org/.hidden", "-o/x", "org/na me", "/abs/path", "",
                         "org/", "/name"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(!sem_hub_valid_repo_id(bad[i]), "'%s' accepted", bad[i]);
        CHECK_EQ_INT(sem_hub_pull(bad[i], NULL, cache, NULL, NULL, NULL, &err), SEM_EINVAL);
    }
    CHECK(sem_hub_valid_repo_id("sentence-transformers/all-MiniLM-L6-v2"));
    CHECK(sem_hub_valid_repo_id("BAAI/bge-small-en-v1.5"));
    CHECK_EQ_INT(sem_hub_pull(REPO, "has space", cache, NULL, NULL, NULL, &err), SEM_EINVAL);

    /* HF_TOKEN is sent as a bearer token to the hub, and to a CDN on the same host, but not to another host */
    char tokcache[512];
    mkcache(tokcache, sizeof tokcache, "token");
    setenv("HF_TOKEN", "hf_test_token", 1);
    rc = sem_hub_pull(REPO, NULL, tokcache, NULL, NULL, NULL, &err);
    CHECK_MSG(rc == SEM_OK, "%s", err.msg);
    CHECK_STREQ(S.last_auth, "Bearer hf_test_token");
    CHECK_STREQ(S.cdn_auth, "Bearer hf_test_token");
    mkcache(tokcache, sizeof tokcache, "token2");
    S.cdn_other_host = 1;
    S.cdn_auth[0] = 'x';
    rc = sem_hub_pull(REPO, NULL, tokcache, NULL, NULL, NULL, &err);
    S.cdn_other_host = 0;
    CHECK_MSG(rc == SEM_OK, "%s", err.msg);
    CHECK_STREQ(S.cdn_auth, "");
    unsetenv("HF_TOKEN");
    setenv("HF_TOKEN", "bad\r\nX-Injected: 1", 1);
    CHECK_EQ_INT(sem_hub_pull(REPO, NULL, tokcache, NULL, NULL, NULL, &err), SEM_EINVAL);
    unsetenv("HF_TOKEN");

    /* a second pull of the same model while one runs (its lock held) is refused */
    snprintf(p, sizeof p, "%s/models/%s/.lock", tokcache, REPO);
    int lfd = open(p, O_RDWR);
    CHECK(lfd >= 0 && flock(lfd, LOCK_EX) == 0);
    rc = sem_hub_pull(REPO, NULL, tokcache, NULL, NULL, NULL, &err);
    CHECK_EQ_INT(rc, SEM_EBUSY);
    CHECK_MSG(strstr(err.msg, "another pull") != NULL, "%s", err.msg);
    close(lfd);
    CHECK(sem_hub_pull(REPO, NULL, tokcache, NULL, NULL, NULL, &err) == SEM_OK);

    /* etags as the hub writes them */
    char e[HUB_ETAG_MAX];
    const char *sha = "a5e3fd2e1c1b2c0e4f8d7e1b3a9c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c";
    char q[128];
    snprintf(q, sizeof q, "W/\"%s\"", sha);
    CHECK_EQ_INT(hub_etag_parse(q, e), HUB_ETAG_SHA256);
    CHECK_STREQ(e, sha);
    CHECK_EQ_INT(hub_etag_parse(" \"0123456789ABCDEF0123456789abcdef01234567\"", e), HUB_ETAG_GIT_SHA1);
    CHECK_STREQ(e, "0123456789abcdef0123456789abcdef01234567");
    CHECK_EQ_INT(hub_etag_parse("\"0123456789abcdef0123456789abcdef0123456\"", e), HUB_ETAG_UNKNOWN);
    CHECK_EQ_INT(hub_etag_parse("\"g123456789abcdef0123456789abcdef01234567\"", e), HUB_ETAG_UNKNOWN);
    CHECK_EQ_INT(hub_etag_parse("", e), HUB_ETAG_UNKNOWN);
    CHECK_EQ_INT(hub_etag_parse(NULL, e), HUB_ETAG_UNKNOWN);
    char longe[300];
    memset(longe, 'a', sizeof longe - 1);
    longe[sizeof longe - 1] = '\0';
    CHECK_EQ_INT(hub_etag_parse(longe, e), HUB_ETAG_UNKNOWN);

    /* an endpoint where nothing listens: a fast, clear failure */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    CHECK(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0 && getsockname(s, (struct sockaddr *)&sa, &sl) == 0);
    close(s);
    char ep[128], saved[128];
    snprintf(saved, sizeof saved, "%s", getenv("HF_ENDPOINT"));
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", ntohs(sa.sin_port));
    setenv("HF_ENDPOINT", ep, 1);
    double t0 = sem_now();
    rc = sem_hub_pull(REPO, NULL, cache, NULL, NULL, NULL, &err);
    double dt = sem_now() - t0;
    CHECK_EQ_INT(rc, SEM_ENET);
    CHECK_MSG(strstr(err.msg, "cannot reach") && strstr(err.msg, ep) && strstr(err.msg, "HF_ENDPOINT"), "%s",
              err.msg);
    CHECK_MSG(dt < 3.0, "took %.1f s", dt);
    setenv("HF_ENDPOINT", "ftp://example.com", 1);
    CHECK_EQ_INT(sem_hub_pull(REPO, NULL, cache, NULL, NULL, NULL, &err), SEM_EINVAL);
    setenv("HF_ENDPOINT", saved, 1);
}

static void test_cache_dir_and_resolve(const char *cache)
{
    char out[1024], want[1024];
    sem_error err;
    setenv("SEMSEARCH_HOME", "/x/home", 1);
    CHECK(sem_hub_cache_dir(out, sizeof out, &err) == SEM_OK);
    CHECK_STREQ(out, "/x/home");
    unsetenv("SEMSEARCH_HOME");
    setenv("XDG_CACHE_HOME", "/x/xdg", 1);
    CHECK(sem_hub_cache_dir(out, sizeof out, &err) == SEM_OK);
    CHECK_STREQ(out, "/x/xdg/semsearch");
    setenv("XDG_CACHE_HOME", "relative", 1);
    setenv("HOME", "/x/user", 1);
    CHECK(sem_hub_cache_dir(out, sizeof out, &err) == SEM_OK);
    CHECK_STREQ(out, "/x/user/.cache/semsearch");
    unsetenv("XDG_CACHE_HOME");
    CHECK_EQ_INT(sem_hub_cache_dir(out, 8, &err), SEM_ERANGE);

    setenv("SEMSEARCH_HOME", cache, 1);
    /* a cached name */
    CHECK(sem_hub_resolve_model(REPO, out, sizeof out, &err) == SEM_OK);
    snprintf(want, sizeof want, "%s/models/%s", cache, REPO);
    CHECK_STREQ(out, want);
    /* a folder wins, even one named like a cached model */
    char cwd[1024];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(tmp_root) == 0);
    CHECK(sem_mkdir_p(REPO, NULL) == SEM_OK);
    CHECK(sem_hub_resolve_model(REPO, out, sizeof out, &err) == SEM_OK);
    CHECK_STREQ(out, REPO);
    CHECK(sem_hub_resolve_model(FIXTURE, out, sizeof out, &err) == SEM_OK);
    CHECK_STREQ(out, FIXTURE);
    /* a file is not a model */
    CHECK(sem_write_file_atomic("afile", "x", 1, NULL) == SEM_OK);
    CHECK_EQ_INT(sem_hub_resolve_model("afile", out, sizeof out, &err), SEM_EINVAL);
    CHECK(chdir(cwd) == 0);
    /* not found: the message names both places */
    CHECK_EQ_INT(sem_hub_resolve_model("nobody/nothing", out, sizeof out, &err), SEM_ENOTFOUND);
    snprintf(want, sizeof want, "%s/models/nobody/nothing", cache);
    CHECK_MSG(strstr(err.msg, "'nobody/nothing'") && strstr(err.msg, want) && strstr(err.msg, "model pull"), "%s",
              err.msg);
    CHECK_EQ_INT(sem_hub_resolve_model("./no/such/dir", out, sizeof out, &err), SEM_ENOTFOUND);
    CHECK_MSG(strstr(err.msg, "./no/such/dir") && strstr(err.msg, cache), "%s", err.msg);
    CHECK_EQ_INT(sem_hub_resolve_model("", out, sizeof out, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_hub_resolve_model(REPO, out, 10, &err), SEM_ERANGE);
    /* a damaged manifest: resolve refuses the model, list reports it incomplete, a pull repairs it */
    char man[1024];
    snprintf(man, sizeof man, "%s/models/%s/%s", cache, REPO, SEM_HUB_MANIFEST);
    CHECK(sem_write_file_atomic(man, "{\"files\": 7", 12, NULL) == SEM_OK);
    CHECK_EQ_INT(sem_hub_resolve_model(REPO, out, sizeof out, &err), SEM_EFORMAT);
    CHECK_MSG(strstr(err.msg, SEM_HUB_MANIFEST) != NULL, "%s", err.msg);
    sem_hub_model *ml = NULL;
    size_t nl = 0;
    CHECK(sem_hub_list(cache, &ml, &nl, &err) == SEM_OK);
    CHECK(nl == 1 && !ml[0].complete);
    sem_hub_list_free(ml, nl);
    reset_counters();
    CHECK(sem_hub_pull(REPO, NULL, cache, NULL, NULL, NULL, &err) == SEM_OK);
    CHECK_EQ_INT(S.bytes_served, 0);
    CHECK(sem_hub_resolve_model(REPO, out, sizeof out, &err) == SEM_OK);
    /* an empty cache lists nothing */
    sem_hub_model *m = (sem_hub_model *)1;
    size_t n = 9;
    snprintf(want, sizeof want, "%s/empty", tmp_root);
    CHECK(sem_hub_list(want, &m, &n, &err) == SEM_OK);
    CHECK(m == NULL && n == 0);
}

static void test_binary(void)
{
    char home[512], out[8192];
    mkcache(home, sizeof home, "bin");
    setenv("SEMSEARCH_HOME", home, 1);
    CHECK_EQ_INT(run("model --help", out, sizeof out), 0);
    CHECK(strstr(out, "model pull") != NULL);
    CHECK_EQ_INT(run("model", out, sizeof out), 2);
    CHECK_EQ_INT(run("model frobnicate", out, sizeof out), 2);
    CHECK_EQ_INT(run("model pull", out, sizeof out), 2);
    CHECK_EQ_INT(run("model pull a/b/c", out, sizeof out), 2);
    CHECK_EQ_INT(run("model pull " REPO " --revision", out, sizeof out), 2);
    CHECK_EQ_INT(run("model list --bogus", out, sizeof out), 2);
    CHECK_EQ_INT(run("model list", out, sizeof out), 0);
    CHECK(strstr(out, "no models") != NULL);
    reset_counters();
    int rc = run("model pull " REPO, out, sizeof out);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK_MSG(strstr(out, COMMIT) != NULL, "%s", out);
    CHECK_EQ_INT(S.bytes_served, wanted_bytes());
    char p[1024];
    model_path(p, sizeof p, home, "model.safetensors");
    CHECK(same_content(p, fixture_file("model.safetensors")));
    CHECK_EQ_INT(run("model list", out, sizeof out), 0);
    CHECK_MSG(strstr(out, REPO) && strstr(out, "complete") && !strstr(out, "incomplete"), "%s", out);
    CHECK_EQ_INT(run("model list --json", out, sizeof out), 0);
    CHECK_MSG(strstr(out, "\"name\":\"" REPO "\"") && strstr(out, "\"complete\":true"), "%s", out);
    CHECK_EQ_INT(run("model path " REPO, out, sizeof out), 0);
    snprintf(p, sizeof p, "%s/models/%s\n", home, REPO);
    CHECK_STREQ(out, p);
    CHECK_EQ_INT(run("model path nobody/nothing", out, sizeof out), 1);
    CHECK(strstr(out, "not found") != NULL);
    CHECK_EQ_INT(run("model pull semsearch-test/no-such-model", out, sizeof out), 1);
    CHECK(strstr(out, "not found") != NULL);
}

int main(void)
{
    TEST_REQUIRE_FILE(FIXTURE "/model.safetensors");
    snprintf(tmp_root, sizeof tmp_root, "/tmp/semsearch-hub-XXXXXX");
    if (!mkdtemp(tmp_root) || server_start() != 0) {
        fprintf(stderr, "cannot set up the fake hub\n");
        return 1;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/", S.port); /* a trailing slash is tolerated */
    setenv("HF_ENDPOINT", ep, 1);
    unsetenv("HF_TOKEN");
    char cache[512];
    mkcache(cache, sizeof cache, "main");

    test_full_pull_and_noop(cache);
    test_resume();
    test_corrupt("vocab.txt", "git blob sha1");
    test_corrupt("model.safetensors", "sha256");
    test_errors();
    test_cache_dir_and_resolve(cache);
    test_binary();

    MHD_stop_daemon(S.d);
    for (size_t k = 0; k < 2; k++) {
        if (k == 0)
            for (size_t i = 0; i < S.repos[k].n; i++)
                free(S.repos[k].files[i].data);
        free(S.repos[k].files);
    }
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    TEST_END();
}
