/* tests/store/test_store_concurrency.c: reader threads search (vector, filtered, text, hit details) on one
 * shared handle while a writer adds, replaces and deletes documents, crossing the training threshold (the
 * index is swapped under the readers) and saving. Every reader result must be well formed, and at the end
 * every live document is found by its own vector. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

#include "store/kb.h"
#include "store_test_util.h"

#define D 16
#define NDOC 1000
#define READERS 4

static sem_kb *kb;
static float *X;
static atomic_int done;
static atomic_int reader_errors, reader_searches;

static void *reader(void *arg)
{
    int t = (int)(intptr_t)arg;
    uint64_t r = 0x1234567ull + (uint64_t)t * 7777u;
    sem_error err;
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = 5;
    sem_kb_hit h[5];
    sem_kb_passage_info info[5];
    const char *keys[] = {"par"}, *vals[] = {"1"};
    sem_kb_filter f = {keys, vals, 1};
    while (!atomic_load(&done)) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        int nh = 0, rc;
        int mode = (int)(r % 4);
        if ((r >> 40) % 64 == 0) { /* status queries run beside writers and training */
            sem_kb_info inf;
            if (sem_kb_get_info(kb, &inf, &err) != SEM_OK || inf.ntotal < 0 || inf.n_passages < 0)
                atomic_fetch_add(&reader_errors, 1);
        }
        if (mode == 3) {
            rc = sem_kb_search_text(kb, (r & 16) ? "words five" : "doc seven", &sp, h, &nh, &err);
        } else {
            sp.filter = mode == 2 ? &f : NULL;
            sp.filter_exact_max = (r & 32) ? -1 : 0; /* both filter paths: exact scan and over-fetch */
            sp.nprobe = (int)((r >> 20) % 9);
            rc = sem_kb_search(kb, X + (size_t)((r >> 8) % NDOC) * D, 1, &sp, h, &nh, &err);
        }
        if (rc != SEM_OK || nh < 0 || nh > sp.k) {
            fprintf(stderr, "reader %d: rc %d nh %d: %s\n", t, rc, nh, err.msg);
            atomic_fetch_add(&reader_errors, 1);
            continue;
        }
        for (int i = 1; i < nh; i++)
            if (h[i - 1].score < h[i].score)
                atomic_fetch_add(&reader_errors, 1);
        int64_t ids[5];
        for (int i = 0; i < nh; i++)
            ids[i] = h[i].passage_id;
        if (sem_kb_get_passages(kb, ids, nh, info, &err) != SEM_OK) {
            atomic_fetch_add(&reader_errors, 1);
            continue;
        }
        for (int i = 0; i < nh; i++) {
            /* A passage may vanish between search and lookup (deleted meanwhile): found = 0 is allowed. */
            if (info[i].found && (strncmp(info[i].doc_ext_id, "doc-", 4) != 0 || !info[i].text))
                atomic_fetch_add(&reader_errors, 1);
            if (info[i].found && mode == 2 && !strstr(info[i].meta_json, "\"par\":1"))
                atomic_fetch_add(&reader_errors, 1);
        }
        sem_kb_passage_info_clear(info, nh);
        atomic_fetch_add(&reader_searches, 1);
    }
    return NULL;
}

int main(void)
{
    sem_log_set(tu_log, NULL);
    X = malloc((size_t)NDOC * D * sizeof *X);
    tu_clustered(X, NDOC, D, 30, 0.3f);
    char base[512], dir[1024];
    tu_tmpdir(base, sizeof base, "conc");
    snprintf(dir, sizeof dir, "%s/kb", base);
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = D;
    cp.index_spec = "IVF16,Flat"; /* trains at 624 vectors, in the middle of the run */
    kb = sem_kb_create(dir, &cp, &err);
    CHECK_MSG(kb != NULL, "%s", err.msg);
    if (!kb)
        TEST_END();
    /* Seed a few docs so that readers have something from the start. */
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&th[i], NULL, reader, (void *)(intptr_t)i);
    int alive[NDOC] = {0};
    for (int s = 0; s < NDOC; s += 10) {
        char ids[10][32], texts[10][64];
        sem_kb_passage ps[10];
        sem_kb_doc docs[10];
        for (int i = 0; i < 10; i++) {
            snprintf(ids[i], 32, "doc-%d", s + i);
            snprintf(texts[i], 64, "doc %d words %s", s + i, (s + i) % 5 == 0 ? "five" : "seven");
            ps[i] = (sem_kb_passage){texts[i], 0, 0, X + (size_t)(s + i) * D};
            docs[i] = (sem_kb_doc){ids[i], NULL, texts[i], (s + i) % 2 ? "{\"par\":1}" : "{\"par\":0}", &ps[i], 1};
            alive[s + i] = 1;
        }
        CHECK_EQ_INT(sem_kb_put(kb, docs, 10, &err), SEM_OK);
        if (s % 50 == 0 && s > 0) {
            char id[32];
            snprintf(id, sizeof id, "doc-%d", s - 7);
            CHECK_EQ_INT(sem_kb_delete(kb, id, &err), SEM_OK);
            alive[s - 7] = 0;
            /* Replace one too (same vector, new passage id). */
            snprintf(id, sizeof id, "doc-%d", s - 3);
            sem_kb_passage p = {"replaced", 0, 0, X + (size_t)(s - 3) * D};
            sem_kb_doc d = {id, NULL, "replaced", (s - 3) % 2 ? "{\"par\":1}" : "{\"par\":0}", &p, 1};
            CHECK_EQ_INT(sem_kb_put(kb, &d, 1, &err), SEM_OK);
        }
        if (s % 300 == 0)
            CHECK_EQ_INT(sem_kb_save(kb, &err), SEM_OK);
    }
    CHECK_EQ_INT(sem_kb_compact(kb, NULL, &err), SEM_OK); /* a swap under running readers */
    atomic_store(&done, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(atomic_load(&reader_errors), 0);
    CHECK_MSG(atomic_load(&reader_searches) > 100, "readers ran only %d searches", atomic_load(&reader_searches));
    sem_kb_info inf;
    CHECK_EQ_INT(sem_kb_get_info(kb, &inf, &err), SEM_OK);
    CHECK(inf.trained);
    int live = 0;
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = 1;
    sp.nprobe = 16;
    for (int i = 0; i < NDOC; i++) {
        if (!alive[i])
            continue;
        live++;
        sem_kb_hit h;
        int nh = 0;
        CHECK_EQ_INT(sem_kb_search(kb, X + (size_t)i * D, 1, &sp, &h, &nh, &err), SEM_OK);
        sem_kb_passage_info pi;
        CHECK_EQ_INT(sem_kb_get_passages(kb, &h.passage_id, 1, &pi, &err), SEM_OK);
        char id[32];
        snprintf(id, sizeof id, "doc-%d", i);
        CHECK_MSG(pi.found && strcmp(pi.doc_ext_id, id) == 0, "%s not found by its vector", id);
        sem_kb_passage_info_clear(&pi, 1);
    }
    CHECK_EQ_INT(inf.ntotal, live);
    fprintf(stderr, "%d reader searches during %d writes\n", atomic_load(&reader_searches), NDOC / 10);
    sem_kb_close(kb);
    tu_rm_rf(base);
    free(X);
    TEST_END();
}
