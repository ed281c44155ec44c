/* tests/smoke/test_deps.c: proves that every dependency links and works from C: FAISS through its C API
 * (factory, train, search, write, read back), SQLite in WAL mode, an MHD daemon answering a request on an
 * ephemeral loopback port (fetched with libcurl), cJSON, utf8proc, OpenBLAS sgemm. */
#include "test.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <faiss/c_api/error_c.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <utf8proc.h>

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static void test_faiss(void)
{
    enum { D = 16, N = 2000 };
    float *x = malloc(sizeof(float) * D * N);
    unsigned s = 1;
    for (int i = 0; i < D * N; i++)
        x[i] = frand(&s);
    FaissIndex *idx = NULL;
    CHECK_EQ_INT(faiss_index_factory(&idx, D, "IVF16,Flat", METRIC_L2), 0);
    CHECK(!faiss_Index_is_trained(idx));
    CHECK_EQ_INT(faiss_Index_train(idx, N, x), 0);
    CHECK(faiss_Index_is_trained(idx));
    CHECK_EQ_INT(faiss_Index_add(idx, N, x), 0);
    CHECK_EQ_INT(faiss_Index_ntotal(idx), N);
    float dist[4];
    idx_t lab[4];
    char path[] = "/tmp/semfaissXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_EQ_INT(faiss_write_index_fname(idx, path), 0);
    FaissIndex *back = NULL;
    CHECK_EQ_INT(faiss_read_index_fname(path, 0, &back), 0);
    CHECK(back != NULL);
    if (back) {
        CHECK_EQ_INT(faiss_Index_ntotal(back), N);
        FaissIndex *flat = NULL;
        CHECK_EQ_INT(faiss_index_factory(&flat, D, "Flat", METRIC_L2), 0);
        faiss_Index_add(flat, N, x);
        CHECK_EQ_INT(faiss_Index_search(flat, 1, x + 5 * D, 4, dist, lab), 0);
        CHECK_EQ_INT(lab[0], 5);
        CHECK_NEAR(dist[0], 0.0, 1e-6);
        CHECK(dist[1] >= dist[0]);
        faiss_Index_free(flat);
        CHECK_EQ_INT(faiss_Index_search(back, 1, x + 5 * D, 4, dist, lab), 0);
        CHECK(lab[0] >= 0 && lab[0] < N);
        faiss_Index_free(back);
    }
    /* a FAISS error is reported through the C API, not a crash */
    FaissIndex *bad = NULL;
    CHECK(faiss_index_factory(&bad, D, "NoSuchIndex", METRIC_L2) != 0);
    CHECK(faiss_get_last_error() != NULL);
    unlink(path);
    faiss_Index_free(idx);
    free(x);
}

static void test_sqlite(void)
{
    char path[] = "/tmp/semsqlXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK_EQ_INT(sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STREQ((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    CHECK_EQ_INT(sqlite3_exec(db, "CREATE VIRTUAL TABLE f USING fts5(t);"
                                  "INSERT INTO f VALUES('the quick brown fox'),('lazy dogs');",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    CHECK_EQ_INT(sqlite3_prepare_v2(db, "SELECT t FROM f WHERE f MATCH 'fox' ORDER BY bm25(f)", -1, &st, NULL),
                 SQLITE_OK);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STREQ((const char *)sqlite3_column_text(st, 0), "the quick brown fox");
    sqlite3_finalize(st);
    sqlite3_close(db);
    char wal[64];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    unlink(path);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **req)
{
    static const char body[] = "{\"ok\":true}";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

struct sink {
    char buf[256];
    size_t n;
};

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
    struct sink *s = ud;
    size_t n = sz * nm;
    if (s->n + n >= sizeof s->buf)
        return 0;
    memcpy(s->buf + s->n, p, n);
    s->n += n;
    s->buf[s->n] = 0;
    return n;
}

static void test_mhd(void)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                            answer, NULL, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_END);
    CHECK(d != NULL);
    if (!d)
        return;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : 0;
    CHECK(port > 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/health", port);
    CURL *c = curl_easy_init();
    struct sink s = {{0}, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    CHECK_EQ_INT(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    CHECK_EQ_INT(status, 200);
    CHECK_STREQ(s.buf, "{\"ok\":true}");
    curl_easy_cleanup(c);
    MHD_stop_daemon(d);
}

static void test_cjson(void)
{
    cJSON *o = cJSON_Parse("{\"a\":[1,2.5,\"x\"],\"b\":null}");
    CHECK(o != NULL);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(o, "a")), 3);
    char *txt = cJSON_PrintUnformatted(o);
    CHECK_STREQ(txt, "{\"a\":[1,2.5,\"x\"],\"b\":null}");
    free(txt);
    cJSON_Delete(o);
    CHECK(cJSON_Parse("{\"a\":") == NULL);
}

static void test_utf8proc(void)
{
    utf8proc_uint8_t *out = utf8proc_NFD((const utf8proc_uint8_t *)"\xc3\xa9"); /* é */
    CHECK(out != NULL);
    CHECK_STREQ((const char *)out, "e\xcc\x81");
    free(out);
    CHECK_EQ_INT(utf8proc_category(0x0301), UTF8PROC_CATEGORY_MN);
}

static void test_blas(void)
{
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4] = {0};
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    CHECK_NEAR(c[0], 19, 0);
    CHECK_NEAR(c[3], 50, 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_faiss();
    test_sqlite();
    test_mhd();
    test_cjson();
    test_utf8proc();
    test_blas();
    curl_global_cleanup();
    TEST_END();
}
