/* tests/query/test_query_threads.c: one sem_search handle used by many threads at once (as the web server does):
 * results under concurrency equal the single-threaded ones, and a writer adding documents through
 * sem_index_put_docs on the same KB handle meanwhile neither breaks the readers nor loses its documents. */
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fileio.h"
#include "encoder/encoder.h"
#include "indexer/indexer.h"
#include "query/search.h"
#include "store/kb.h"

#define MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"
#define FAQ SEM_SOURCE_DIR "/data/covid-faq/faq_covidbert.csv"
#define NQ 8
#define ROUNDS 6
#define READERS 4

static const char *queries[NQ] = {"How long is the incubation period?", "Should I wear a mask?",
                                  "Can children get sick?",             "What is a novel coronavirus?",
                                  "How does the virus spread?",         "Is there a vaccine?",
                                  "travel restrictions",                "symptoms: fever, cough (dry)?"};

typedef struct ref {
    int n;
    int64_t ids[5];
    float scores[5];
} ref;

static sem_search *S;
static ref refs[NQ][3];
static volatile int writer_done;
static int reader_errors, reader_mismatch;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int run_q(int qi, int mode, ref *out, sem_error *err)
{
    sem_query_params p = sem_query_default_params();
    p.k = 5;
    p.mode = (sem_search_mode)mode;
    sem_search_result r;
    int rc = sem_search_query(S, queries[qi], &p, &r, err);
    if (rc)
        return rc;
    out->n = r.n;
    for (int i = 0; i < r.n && i < 5; i++) {
        out->ids[i] = r.hits[i].passage_id;
        out->scores[i] = r.hits[i].score;
    }
    sem_search_result_clear(&r);
    return SEM_OK;
}

static void *reader(void *arg)
{
    int check = *(int *)arg; /* 1: compare with the reference (no writer running) */
    int errors = 0, mismatch = 0;
    for (int round = 0; round < ROUNDS; round++)
        for (int qi = 0; qi < NQ; qi++)
            for (int mode = 0; mode < 3; mode++) {
                ref got;
                sem_error err;
                if (run_q(qi, mode, &got, &err) != SEM_OK) {
                    errors++;
                    continue;
                }
                if (!check)
                    continue;
                const ref *want = &refs[qi][mode];
                int same = got.n == want->n;
                for (int i = 0; same && i < got.n; i++)
                    same = got.ids[i] == want->ids[i] && fabsf(got.scores[i] - want->scores[i]) <= 1e-5f;
                mismatch += !same;
            }
    pthread_mutex_lock(&mu);
    reader_errors += errors;
    reader_mismatch += mismatch;
    pthread_mutex_unlock(&mu);
    return NULL;
}

typedef struct writer_arg {
    sem_kb *kb;
    const sem_model *m;
    int rc;
    char msg[SEM_ERROR_MSG_MAX];
} writer_arg;

static void *writer(void *arg)
{
    writer_arg *w = arg;
    sem_error err;
    sem_encoder_ctx *ctx = sem_encoder_ctx_new(w->m, &err);
    w->rc = ctx ? SEM_OK : err.code;
    for (int i = 0; i < 20 && w->rc == SEM_OK; i++) {
        char id[32], text[128];
        snprintf(id, sizeof id, "new-%d", i);
        snprintf(text, sizeof text, "Freshly written document number %d about platypus %d.", i, i * 7);
        sem_doc d = {.id = id, .text = text, .metadata_json = "{\"kind\":\"new\"}"};
        long np = 0;
        w->rc = sem_index_put_docs(w->kb, w->m, ctx, &d, 1, 0, -1, &np, &err);
        if (w->rc == SEM_OK && np != 1)
            w->rc = SEM_EINTERNAL;
    }
    if (w->rc)
        snprintf(w->msg, sizeof w->msg, "%s", err.msg);
    sem_encoder_ctx_free(ctx);
    writer_done = 1;
    return NULL;
}

int main(void)
{
    TEST_REQUIRE_FILE(MODEL "/model.safetensors");
    char tmp[] = "/tmp/sem_qthreads_XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    char kb_dir[256];
    snprintf(kb_dir, sizeof kb_dir, "%s/kb", tmp);
    sem_error err;
    sem_index_params ip = sem_index_default_params();
    ip.model = MODEL;
    const char *inputs[] = {FAQ};
    sem_index_stats st;
    CHECK_MSG(sem_index_add(kb_dir, inputs, 1, &ip, &st, &err) == SEM_OK, "%s", err.msg);
    CHECK_EQ_INT(st.docs_added, 213);
    CHECK_EQ_INT(st.created, 1);

    /* phase 1: read-only handle, readers only: identical results */
    S = sem_search_open(kb_dir, NULL, &err);
    CHECK_MSG(S != NULL, "%s", err.msg);
    if (!S)
        TEST_END();
    for (int qi = 0; qi < NQ; qi++)
        for (int mode = 0; mode < 3; mode++)
            CHECK_MSG(run_q(qi, mode, &refs[qi][mode], &err) == SEM_OK, "%s", err.msg);
    pthread_t th[READERS];
    int check = 1;
    for (int t = 0; t < READERS; t++)
        pthread_create(&th[t], NULL, reader, &check);
    for (int t = 0; t < READERS; t++)
        pthread_join(th[t], NULL);
    CHECK_EQ_INT(reader_errors, 0);
    CHECK_EQ_INT(reader_mismatch, 0);
    sem_search_free(S);

    /* phase 2: one read-write KB handle and one model shared by readers and a writer */
    sem_kb *kb = sem_kb_open(kb_dir, NULL, &err);
    sem_model *m = kb ? sem_model_load(MODEL, NULL, &err) : NULL;
    S = m ? sem_search_new(kb, m, &err) : NULL;
    CHECK_MSG(S != NULL, "%s", err.msg);
    if (S) {
        writer_arg w = {kb, m, 0, ""};
        pthread_t wt;
        check = 0;
        reader_errors = 0;
        pthread_create(&wt, NULL, writer, &w);
        for (int t = 0; t < READERS; t++)
            pthread_create(&th[t], NULL, reader, &check);
        for (int t = 0; t < READERS; t++)
            pthread_join(th[t], NULL);
        pthread_join(wt, NULL);
        CHECK_MSG(w.rc == SEM_OK, "writer: %s", w.msg);
        CHECK_EQ_INT(reader_errors, 0);
        /* every new document is there and found by its own text */
        int64_t nd = 0;
        sem_kb_count(kb, &nd, NULL, &err);
        CHECK_EQ_INT(nd, 213 + 20);
        int found = 0;
        for (int i = 0; i < 20; i++) {
            char text[128], id[32];
            snprintf(id, sizeof id, "new-%d", i);
            snprintf(text, sizeof text, "Freshly written document number %d about platypus %d.", i, i * 7);
            sem_query_params p = sem_query_default_params();
            p.k = 1;
            sem_search_result r;
            if (sem_search_query(S, text, &p, &r, &err) == SEM_OK) {
                found += r.n == 1 && strcmp(r.hits[0].doc_id, id) == 0;
                sem_search_result_clear(&r);
            }
        }
        CHECK_EQ_INT(found, 20);
        /* a model that is not the KB's is refused */
        const char *other_dir = SEM_SHARED_DIR "/testdata/models/bert-small-uncased-bf16";
        sem_model *other = NULL;
        if (access(other_dir, R_OK) != 0)
            TEST_SKIP_SECTION("%s is missing: a model that is not the KB's", other_dir);
        else
            CHECK_MSG((other = sem_model_load(other_dir, NULL, &err)) != NULL, "%s", err.msg);
        if (other) {
            CHECK(sem_search_new(kb, other, &err) == NULL);
            CHECK_EQ_INT(err.code, SEM_EMISMATCH);
            sem_model_free(other);
        }
    }
    sem_search_free(S);
    sem_model_free(m);
    sem_kb_close(kb);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    TEST_END();
}
