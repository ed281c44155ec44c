/* tests/web/test_web_concurrency.c: `semsearch serve` under concurrent load, over real HTTP.
 *  1. readers search while writers add, replace and delete documents: every response is well formed, a stable
 *     document is always found first, and a writer's document is searchable as soon as its POST returns and gone
 *     as soon as its DELETE returns;
 *  2. SIGTERM while writers are posting and a slow request is being processed: the slow request gets its 200,
 *     the server exits 0, and every document whose POST got 200 is there after a restart (nothing acknowledged
 *     is lost). */
#include "test.h"
#include "web_test_util.h"

#include <pthread.h>
#include <stdatomic.h>

static const char *const DOCS =
    "{\"id\":\"anchor\",\"title\":\"Anchor\",\"text\":\"Zyxwvut is the stable anchor document of this test.\"}\n"
    "{\"id\":\"other\",\"title\":\"Other\",\"text\":\"Plants make sugar from light.\"}\n";

static const char *const KEY[] = {"Authorization: Bearer k", NULL};
static char base[512];
static atomic_int stop_flag;
static atomic_int bad; /* inconsistencies seen by the threads */

static void note_bad(const char *fmt, const char *a, long b)
{
    atomic_fetch_add(&bad, 1);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
}

static void *reader(void *arg)
{
    long id = (long)arg;
    long n = 0;
    while (!atomic_load(&stop_flag)) {
        const char *body = (n + id) % 2 ? "{\"query\":\"zyxwvut anchor\",\"mode\":\"lexical\",\"k\":3}"
                                        : "{\"query\":\"stable anchor document\",\"mode\":\"hybrid\",\"k\":5}";
        long st;
        cJSON *j = wt_post_json(base, "/search", body, NULL, &st);
        const cJSON *hits = cJSON_GetObjectItemCaseSensitive(j, "hits");
        if (st != 200 || !cJSON_IsArray(hits)) {
            note_bad("reader: %s status %ld", "search", st);
        } else {
            const cJSON *h;
            int i = 0, anchor_first = 0;
            cJSON_ArrayForEach(h, hits)
            {
                const char *hid = wt_str(h, "id");
                if (!hid || !*hid || !wt_str(h, "text"))
                    note_bad("reader: %s hit %ld without id or text", "search", i);
                if (i == 0 && hid && strcmp(hid, "anchor") == 0)
                    anchor_first = 1;
                i++;
            }
            /* lexical: only the anchor has this word; hybrid: the anchor wins both rankings' fusion or ties */
            if ((n + id) % 2 && !anchor_first)
                note_bad("reader: %s not first (%ld)", "anchor", n);
        }
        cJSON_Delete(j);
        n++;
    }
    return (void *)n;
}

static void *writer(void *arg)
{
    long w = (long)arg;
    long n = 0;
    while (!atomic_load(&stop_flag)) {
        char word[32], body[512], path[128];
        snprintf(word, sizeof word, "qq%ldw%ldx", w, n);
        snprintf(body, sizeof body,
                 "{\"documents\":[{\"id\":\"w%ld-%ld\",\"text\":\"writer document %s number %ld\",\"metadata\":{"
                 "\"writer\":%ld}}]}",
                 w, n, word, n, w);
        long st;
        cJSON *j = wt_post_json(base, "/documents", body, KEY, &st);
        cJSON_Delete(j);
        if (st != 200) {
            note_bad("writer: %s add status %ld", "POST", st);
            break;
        }
        /* searchable at once */
        snprintf(body, sizeof body, "{\"query\":\"%s\",\"mode\":\"lexical\",\"k\":2}", word);
        j = wt_post_json(base, "/search", body, NULL, &st);
        const char *first = wt_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "hits"), 0), "id");
        char want[64];
        snprintf(want, sizeof want, "w%ld-%ld", w, n);
        if (st != 200 || !first || strcmp(first, want) != 0)
            note_bad("writer: %s not found right after its POST (%ld)", want, st);
        cJSON_Delete(j);
        /* every other document is deleted again: then gone at once */
        if (n % 2 == 0) {
            snprintf(path, sizeof path, "/documents/%s", want);
            wt_resp r;
            if (wt_http(base, "DELETE", path, NULL, KEY, &r) != 0 || r.status != 200)
                note_bad("writer: %s delete status %ld", want, r.status);
            free(r.body);
            j = wt_post_json(base, "/search", body, NULL, &st);
            if (st != 200 || cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "hits")) != 0)
                note_bad("writer: %s still found after DELETE (%ld)", want, st);
            cJSON_Delete(j);
            if (wt_http(base, "GET", path, NULL, NULL, &r) != 0 || r.status != 404)
                note_bad("writer: %s GET after DELETE gave %ld", want, r.status);
            free(r.body);
        }
        n++;
    }
    return (void *)n;
}

/* ---- SIGTERM ---- */

#define MAX_ACKED 100000
static char *acked[MAX_ACKED];
static atomic_int n_acked;
static atomic_int n_attempted;
static atomic_int n_posters_done;

static void *poster(void *arg)
{
    long w = (long)arg;
    for (long n = 0;; n++) {
        char body[256], id[64];
        snprintf(id, sizeof id, "sig-%ld-%ld", w, n);
        snprintf(body, sizeof body, "{\"documents\":[{\"id\":\"%s\",\"text\":\"posted during shutdown %ld\"}]}", id,
                 n);
        atomic_fetch_add(&n_attempted, 1);
        long st;
        cJSON *j = wt_post_json(base, "/documents", body, KEY, &st);
        cJSON_Delete(j);
        if (st != 200)
            break; /* refused or closed: the server is going away; not acknowledged */
        int k = atomic_fetch_add(&n_acked, 1);
        if (k < MAX_ACKED)
            acked[k] = strdup(id);
    }
    atomic_fetch_add(&n_posters_done, 1);
    return NULL;
}

/* A slow request (a batch of long texts to embed) that is in flight when SIGTERM arrives: it must complete. */
static long slow_status;
static void *slow_embed(void *arg)
{
    (void)arg;
    size_t words = 400, texts = 24;
    size_t cap = texts * (words * 8 + 8) + 64;
    char *body = malloc(cap), *p = body;
    p += sprintf(p, "{\"truncate\":true,\"inputs\":[");
    for (size_t t = 0; t < texts; t++) {
        *p++ = '"';
        for (size_t w = 0; w < words; w++)
            p += sprintf(p, "w%zu ", (w * 7 + t) % 1000);
        p += sprintf(p, "\"%s", t + 1 < texts ? "," : "]}");
    }
    cJSON *j = wt_post_json(base, "/embed", body, NULL, &slow_status);
    if (slow_status == 200 && cJSON_GetArraySize(j) != (int)texts)
        slow_status = -1;
    cJSON_Delete(j);
    free(body);
    return NULL;
}

int main(void)
{
    TEST_REQUIRE_FILE(WT_MODEL "/model.safetensors");
    curl_global_init(CURL_GLOBAL_ALL);
    srandom((unsigned)getpid());
    char *tmp = wt_tmpdir("web-conc");
    char *kb = wt_strdupf("%s/kb", tmp), *log = wt_strdupf("%s/serve.log", tmp);
    wt_make_kb(tmp, kb, DOCS);
    const char *args[] = {kb, "--threads", "6", "--api-key", "k", "--quiet", NULL};
    wt_server s;
    if (wt_server_start(&s, log, args) != 0) {
        CHECK(0);
        TEST_END();
    }
    snprintf(base, sizeof base, "%s", s.url);

    /* 1. readers and writers */
    enum { NR = 3, NW = 2 };
    pthread_t rt[NR], wt[NW];
    for (long i = 0; i < NR; i++)
        pthread_create(&rt[i], NULL, reader, (void *)i);
    for (long i = 0; i < NW; i++)
        pthread_create(&wt[i], NULL, writer, (void *)i);
    usleep(2500 * 1000);
    atomic_store(&stop_flag, 1);
    long reads = 0, writes = 0, kept = 0;
    for (int i = 0; i < NR; i++) {
        void *v;
        pthread_join(rt[i], &v);
        reads += (long)v;
    }
    for (int i = 0; i < NW; i++) {
        void *v;
        pthread_join(wt[i], &v);
        writes += (long)v;
        kept += (long)v / 2; /* a writer keeps its odd-numbered documents */
    }
    fprintf(stderr, "concurrency: %ld searches, %ld writes\n", reads, writes);
    CHECK(reads >= 10);
    CHECK(writes >= 4);
    CHECK_EQ_INT(atomic_load(&bad), 0);
    /* exactly the kept documents are there */
    long st;
    cJSON *j = wt_get_json(base, "/stats", &st);
    const cJSON *k0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "kbs"), 0);
    CHECK_EQ_INT(wt_num(k0, "documents"), 2 + kept);
    cJSON_Delete(j);

    /* 2. SIGTERM while posting */
    enum { NP = 4 };
    pthread_t pt[NP];
    for (long i = 0; i < NP; i++)
        pthread_create(&pt[i], NULL, poster, (void *)i);
    /* let some posts through first (bounded: a server that fails them all ends the wait too) */
    for (int i = 0; i < 3000 && atomic_load(&n_acked) < 8 && atomic_load(&n_posters_done) < NP; i++)
        usleep(10 * 1000);
    pthread_t slow;
    pthread_create(&slow, NULL, slow_embed, NULL);
    usleep(300 * 1000); /* its body is sent and it is being encoded (or done: then it proves less, never fails) */
    int rc = wt_server_stop(&s, SIGTERM, 60);
    for (int i = 0; i < NP; i++)
        pthread_join(pt[i], NULL);
    pthread_join(slow, NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK_MSG(slow_status == 200, "the request in flight at SIGTERM got %ld", slow_status);
    int na = atomic_load(&n_acked);
    fprintf(stderr, "sigterm: %d posts acknowledged of %d attempted\n", na, atomic_load(&n_attempted));
    CHECK(na >= 8);

    /* restart: everything acknowledged is there */
    if (wt_server_start(&s, log, args) != 0) {
        CHECK(0);
    } else {
        snprintf(base, sizeof base, "%s", s.url);
        int missing = 0;
        for (int i = 0; i < na && i < MAX_ACKED; i++) {
            char path[128];
            snprintf(path, sizeof path, "/documents/%s", acked[i]);
            wt_resp r;
            if (wt_http(base, "GET", path, NULL, NULL, &r) != 0 || r.status != 200) {
                missing++;
                fprintf(stderr, "lost: %s (%ld)\n", acked[i], r.status);
            }
            free(r.body);
        }
        CHECK_EQ_INT(missing, 0);
        CHECK_EQ_INT(wt_server_stop(&s, SIGINT, 30), 0);
    }
    for (int i = 0; i < na && i < MAX_ACKED; i++)
        free(acked[i]);
    if (test_fail_)
        fprintf(stderr, "server log: %s (kept)\n", log);
    else
        wt_rmrf(tmp);
    free(kb);
    free(log);
    free(tmp);
    curl_global_cleanup();
    TEST_END();
}
