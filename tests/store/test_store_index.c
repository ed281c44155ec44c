/* tests/store/test_store_index.c: index round trips for each factory type: untrained (exact) phase, training
 * once enough vectors exist, search quality against exact search, save/reopen giving identical results,
 * deletes (IVF remove, IDMap remove, HNSW tombstones), compact, per-call nprobe. */
#include "test.h"

#include "store/kb.h"
#include "store_test_util.h"

#define D 32
#define NMAX 10400 /* enough to train 8-bit PQ (256 centroids x 39) */
static int N = NMAX;  /* "fast" mode (the unit test) uses 3000 */
#define NQ 20
#define K 10

static float *X, *Q;
static int64_t exact_ids[NQ][K]; /* ground truth by brute force, for recall */
static int64_t Q_SRC_STRIDE = 397;

static void brute_force(int metric)
{
    for (int q = 0; q < NQ; q++) {
        float best[K];
        for (int i = 0; i < K; i++) {
            best[i] = -INFINITY;
            exact_ids[q][i] = -1;
        }
        for (int64_t i = 0; i < N; i++) {
            double s = 0;
            for (int j = 0; j < D; j++) {
                double a = Q[q * D + j], b = X[i * D + j];
                s += metric == SEM_KB_METRIC_L2 ? -(a - b) * (a - b) : a * b;
            }
            if (s > best[K - 1]) {
                int p = K - 1;
                while (p > 0 && best[p - 1] < s) {
                    best[p] = best[p - 1];
                    exact_ids[q][p] = exact_ids[q][p - 1];
                    p--;
                }
                best[p] = (float)s;
                exact_ids[q][p] = i; /* passage ids are 1 + row (one passage per doc, put in order) */
            }
        }
    }
}

static double recall(const sem_kb_hit *h, const int *nh)
{
    int hit = 0;
    for (int q = 0; q < NQ; q++)
        for (int i = 0; i < nh[q]; i++)
            for (int j = 0; j < K; j++)
                if (h[q * K + i].passage_id == exact_ids[q][j] + 1)
                    hit++;
    return (double)hit / (NQ * K);
}

static void fill(sem_kb *kb, int64_t from, int64_t to)
{
    sem_error err;
    char id[32], txt[8] = "t";
    sem_kb_passage ps[500];
    sem_kb_doc docs[500];
    for (int64_t s = from; s < to; s += 500) {
        int n = (int)(to - s < 500 ? to - s : 500);
        char (*ids)[32] = malloc((size_t)n * 32);
        for (int i = 0; i < n; i++) {
            snprintf(ids[i], 32, "d%lld", (long long)(s + i));
            ps[i] = (sem_kb_passage){txt, 0, 1, X + (s + i) * D};
            docs[i] = (sem_kb_doc){ids[i], NULL, txt, NULL, &ps[i], 1};
        }
        int rc = sem_kb_put(kb, docs, n, &err);
        CHECK_MSG(rc == SEM_OK, "put: %s", err.msg);
        free(ids);
    }
    (void)id;
}

static void round_trip(const char *base, const char *spec, int metric, double min_recall, int nprobe)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s-%d", base, spec, metric);
    for (char *c = dir + strlen(base); *c; c++)
        if (*c == ',')
            *c = '_';
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = D;
    cp.index_spec = spec;
    cp.metric = metric;
    double t0 = sem_now_test();
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    CHECK_MSG(kb != NULL, "%s: %s", spec, err.msg);
    if (!kb)
        return;
    brute_force(metric);
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = K;
    sp.nprobe = nprobe;
    sem_kb_hit h[NQ * K], h2[NQ * K];
    int nh[NQ], nh2[NQ];
    sem_kb_info inf;

    /* First 300 vectors: exact phase for specs that need training. */
    fill(kb, 0, 300);
    CHECK_EQ_INT(sem_kb_get_info(kb, &inf, &err), SEM_OK);
    int needs_train = strstr(spec, "IVF") || strstr(spec, "PQ") || strstr(spec, "PCA");
    CHECK_MSG(inf.trained == !needs_train, "%s: trained=%d after 300", spec, inf.trained);
    CHECK_EQ_INT(inf.ntotal, 300);
    CHECK_EQ_INT(sem_kb_search(kb, X + 5 * D, 1, &sp, h, nh, &err), SEM_OK);
    CHECK_EQ_INT(h[0].passage_id, 6);

    fill(kb, 300, N);
    CHECK_EQ_INT(sem_kb_get_info(kb, &inf, &err), SEM_OK);
    CHECK_MSG(inf.trained, "%s: not trained after %d vectors", spec, N);
    CHECK_EQ_INT(inf.ntotal, N);
    CHECK_STREQ(inf.index_built, spec);
    CHECK_EQ_INT(sem_kb_search(kb, Q, NQ, &sp, h, nh, &err), SEM_OK);
    double r = recall(h, nh);
    CHECK_MSG(r >= min_recall, "%s metric %d: recall@%d %.3f < %.2f", spec, metric, K, r, min_recall);
    for (int q = 0; q < NQ; q++) {
        CHECK_EQ_INT(nh[q], K);
        for (int i = 1; i < nh[q]; i++)
            CHECK(h[q * K + i - 1].score >= h[q * K + i].score);
    }

    /* Save, reopen: identical results. */
    sem_kb_close(kb);
    kb = sem_kb_open(dir, NULL, &err);
    CHECK_MSG(kb != NULL, "%s reopen: %s", spec, err.msg);
    if (!kb)
        return;
    int warn0 = tu_warnings;
    CHECK_EQ_INT(sem_kb_search(kb, Q, NQ, &sp, h2, nh2, &err), SEM_OK);
    CHECK_EQ_INT(tu_warnings, warn0);
    int same = 1;
    for (int q = 0; q < NQ; q++) {
        same &= nh[q] == nh2[q];
        for (int i = 0; i < nh[q] && i < nh2[q]; i++)
            same &= h[q * K + i].passage_id == h2[q * K + i].passage_id;
    }
    CHECK_MSG(same, "%s: results differ after reopen", spec);

    /* Delete the top hit of query 0 (and 99 others): it never comes back, before or after reopen. */
    int64_t gone = h[0].passage_id;
    char id[32];
    snprintf(id, sizeof id, "d%lld", (long long)(gone - 1));
    CHECK_EQ_INT(sem_kb_delete(kb, id, &err), SEM_OK);
    for (int i = 0; i < 99; i++) {
        snprintf(id, sizeof id, "d%d", 1000 + i);
        CHECK_EQ_INT(sem_kb_delete(kb, id, &err), SEM_OK);
    }
    CHECK_EQ_INT(sem_kb_search(kb, Q, 1, &sp, h2, nh2, &err), SEM_OK);
    CHECK_EQ_INT(nh2[0], K);
    for (int i = 0; i < nh2[0]; i++)
        CHECK(h2[i].passage_id != gone);
    sem_kb_check_report rep;
    CHECK_EQ_INT(sem_kb_check(kb, &rep, &err), SEM_OK);
    CHECK_MSG(rep.missing_in_index + rep.extra_in_index == 0, "%s: check finds %lld missing %lld extra", spec,
              (long long)rep.missing_in_index, (long long)rep.extra_in_index);
    CHECK_EQ_INT(rep.n_index, N - 100);
    sem_kb_check_report_clear(&rep);
    sem_kb_close(kb); /* saves, tombstones included */
    kb = sem_kb_open(dir, NULL, &err);
    CHECK_MSG(kb != NULL, "%s reopen 2: %s", spec, err.msg);
    if (!kb)
        return;
    CHECK_EQ_INT(sem_kb_search(kb, Q, 1, &sp, h2, nh2, &err), SEM_OK);
    for (int i = 0; i < nh2[0]; i++)
        CHECK(h2[i].passage_id != gone);
    CHECK_EQ_INT(sem_kb_get_info(kb, &inf, &err), SEM_OK);
    int64_t tomb = inf.n_tombstones;
    CHECK_MSG(strstr(spec, "HNSW") ? tomb == 100 : tomb == 0, "%s: %lld tombstones", spec, (long long)tomb);

    /* Compact: retrains, drops tombstones, keeps every live vector. */
    CHECK_EQ_INT(sem_kb_compact(kb, NULL, &err), SEM_OK);
    CHECK_EQ_INT(sem_kb_get_info(kb, &inf, &err), SEM_OK);
    CHECK_EQ_INT(inf.n_tombstones, 0);
    CHECK_EQ_INT(inf.ntotal, N - 100);
    CHECK_EQ_INT(inf.changes_unsaved, 0);
    CHECK_EQ_INT(sem_kb_search(kb, Q, NQ, &sp, h2, nh2, &err), SEM_OK);
    CHECK_MSG(recall(h2, nh2) >= min_recall - 0.05, "%s: recall after compact %.3f", spec, recall(h2, nh2));
    sem_kb_close(kb);
    if (getenv("SEM_TEST_VERBOSE"))
        fprintf(stderr, "%-24s metric %d recall %.3f (%.1fs)\n", spec, metric, r, sem_now_test() - t0);
    tu_rm_rf(dir);
}

int main(int argc, char **argv)
{
    /* fast (unit, default): every index family with few vectors and 4-bit PQ; pq (integration): 8-bit PQ and OPQ,
     * which need 9,984 training vectors and take longer to train. */
    int pq = argc > 1 && strcmp(argv[1], "pq") == 0;
    N = pq ? NMAX : 3000;
    Q_SRC_STRIDE = N / NQ - 3;
    sem_log_set(tu_log, NULL);
    X = malloc((size_t)N * D * sizeof *X);
    Q = malloc((size_t)NQ * D * sizeof *Q);
    tu_clustered(X, N, D, 64, 0.25f);
    for (int q = 0; q < NQ; q++)
        memcpy(Q + q * D, X + (size_t)(q * Q_SRC_STRIDE) * D, D * sizeof *Q);
    for (int i = 0; i < NQ * D; i++)
        Q[i] += 0.05f * tu_gauss();
    char base[512];
    tu_tmpdir(base, sizeof base, "index");
    if (pq) {
        round_trip(base, "IVF64,PQ8np", SEM_KB_METRIC_IP, 0.3, 16);
        round_trip(base, "OPQ8,IVF64,PQ8np", SEM_KB_METRIC_L2, 0.3, 16);
        tu_rm_rf(base);
        free(X);
        free(Q);
        TEST_END();
    }
    round_trip(base, "Flat", SEM_KB_METRIC_IP, 1.0, 0);
    round_trip(base, "Flat", SEM_KB_METRIC_L2, 1.0, 0);
    round_trip(base, "IVF16,Flat", SEM_KB_METRIC_IP, 0.9, 8);
    round_trip(base, "IVF16,Flat", SEM_KB_METRIC_L2, 0.9, 8);
    round_trip(base, "IVF16,PQ8x4np", SEM_KB_METRIC_IP, 0.2, 8);
    round_trip(base, "HNSW32", SEM_KB_METRIC_IP, 0.9, 0);
    round_trip(base, "HNSW16", SEM_KB_METRIC_L2, 0.9, 0);
    round_trip(base, "PCAW16,Flat", SEM_KB_METRIC_L2, 0.15, 0);
    round_trip(base, "PCA16,IVF16,Flat", SEM_KB_METRIC_IP, 0.15, 8);

    /* Per-call nprobe: nprobe = nlist is exact for IVF-Flat; nprobe = 1 visits one list. */
    {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/nprobe", base);
        sem_error err;
        sem_kb_create_params cp = sem_kb_default_create_params();
        cp.model.dim = D;
        cp.index_spec = "IVF32,Flat";
        sem_kb *kb = sem_kb_create(dir, &cp, &err);
        CHECK(kb != NULL);
        if (kb) {
            brute_force(SEM_KB_METRIC_IP);
            fill(kb, 0, N);
            sem_kb_search_params sp = sem_kb_default_search_params();
            sp.k = K;
            sem_kb_hit h[NQ * K];
            int nh[NQ];
            sp.nprobe = 32;
            CHECK_EQ_INT(sem_kb_search(kb, Q, NQ, &sp, h, nh, &err), SEM_OK);
            CHECK_NEAR(recall(h, nh), 1.0, 1e-9);
            sp.nprobe = 1;
            CHECK_EQ_INT(sem_kb_search(kb, Q, NQ, &sp, h, nh, &err), SEM_OK);
            double r1 = recall(h, nh);
            CHECK_MSG(r1 < 1.0, "nprobe 1 recall %.3f should be below exact", r1);
            sem_kb_info inf;
            CHECK_EQ_INT(sem_kb_get_info(kb, &inf, &err), SEM_OK);
            CHECK_EQ_INT(inf.nlist, 32);
            sem_kb_close(kb);
        }
    }
    tu_rm_rf(base);
    free(X);
    free(Q);
    TEST_END();
}
