/* tests/store/test_store_nprobe.c: the nprobe an "auto" KB picks when it grows into an IVF index (store/vtune.c):
 * a clustered random KB just big enough for auto to train IVF (10,400 vectors of dimension 32: cheap) records
 * an nprobe whose measured 10-recall@10 is >= 0.95; searching at that nprobe (nprobe 0 = the KB's) reaches it on
 * KB vectors the test picks itself against its own brute force; the value survives reopening (read-only too);
 * an L2 KB with an explicit IVF spec is tuned as well. */
#include "test.h"

#include "store/kb.h"
#include "store_test_util.h"

#define D 32
#define N 10400
#define NQ 300
#define K 10

static float *X;

/* 10-recall@10 of nprobe-0 searches for NQ KB vectors (every 33rd) against brute force, self excluded. */
static double kb_recall(sem_kb *kb, int metric)
{
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = K + 1;
    sem_kb_hit h[K + 1];
    sem_error err;
    double sum = 0;
    for (int q = 0; q < NQ; q++) {
        int64_t qi = (int64_t)q * 33 + 7;
        const float *qv = X + (size_t)qi * D;
        int64_t gt[K];
        float gs[K];
        for (int i = 0; i < K; i++)
            gt[i] = -1, gs[i] = -INFINITY;
        for (int64_t i = 0; i < N; i++) {
            if (i == qi)
                continue;
            double s = 0;
            for (int j = 0; j < D; j++)
                s += metric == SEM_KB_METRIC_L2 ? -(qv[j] - X[i * D + j]) * (qv[j] - X[i * D + j]) : qv[j] * X[i * D + j];
            int p = K - 1;
            if (!(s > gs[p]))
                continue;
            while (p > 0 && gs[p - 1] < s) {
                gs[p] = gs[p - 1];
                gt[p] = gt[p - 1];
                p--;
            }
            gs[p] = (float)s;
            gt[p] = i + 1; /* passage ids are 1 + row */
        }
        int nh = 0, found = 0, seen = 0;
        CHECK_EQ_INT(sem_kb_search(kb, qv, 1, &sp, h, &nh, &err), SEM_OK);
        for (int j = 0; j < nh && seen < K; j++) {
            if (h[j].passage_id == qi + 1)
                continue;
            seen++;
            for (int i = 0; i < K; i++)
                found += h[j].passage_id == gt[i];
        }
        sum += found / (double)K;
    }
    return sum / NQ;
}

static void fill(sem_kb *kb)
{
    sem_error err;
    char ids[500][16];
    sem_kb_passage ps[500];
    sem_kb_doc docs[500];
    for (int s = 0; s < N; s += 500) {
        int n = N - s < 500 ? N - s : 500;
        for (int i = 0; i < n; i++) {
            snprintf(ids[i], sizeof ids[i], "d%d", s + i);
            ps[i] = (sem_kb_passage){"t", 0, 1, X + (size_t)(s + i) * D};
            docs[i] = (sem_kb_doc){ids[i], NULL, "t", NULL, &ps[i], 1};
        }
        CHECK_EQ_INT(sem_kb_put(kb, docs, n, &err), SEM_OK);
    }
}

static void check_kb(const char *base, const char *spec, int metric)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s-%d", base, strcmp(spec, "auto") ? "ivf" : "auto", metric);
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = D;
    cp.index_spec = spec;
    cp.metric = metric;
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    CHECK_MSG(kb != NULL, "create: %s", err.msg);
    if (!kb)
        return;
    fill(kb);
    sem_kb_info in;
    CHECK_EQ_INT(sem_kb_get_info(kb, &in, &err), SEM_OK);
    CHECK_MSG(in.nlist >= 64 && in.trained, "%s grew into IVF: nlist %lld, built %s", spec, (long long)in.nlist,
              in.index_built);
    CHECK_MSG(in.nprobe_recall >= 0.95 && in.nprobe_recall <= 1.0, "measured recall %.4f", in.nprobe_recall);
    CHECK_MSG(in.default_nprobe >= 1 && in.default_nprobe < in.nlist, "nprobe %d of %lld", in.default_nprobe,
              (long long)in.nlist);
    double r = kb_recall(kb, metric);
    printf("%s metric %d: nlist %lld, nprobe %d, recorded recall %.4f, test's recall %.4f\n", spec, metric,
           (long long)in.nlist, in.default_nprobe, in.nprobe_recall, r);
    CHECK_MSG(r >= 0.95, "10-recall@10 at the recorded nprobe %d: %.4f", in.default_nprobe, r);
    int np = in.default_nprobe;
    double rec = in.nprobe_recall;
    sem_kb_close(kb);
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    kb = sem_kb_open(dir, &op, &err);
    CHECK_MSG(kb != NULL, "reopen: %s", err.msg);
    if (!kb)
        return;
    CHECK_EQ_INT(sem_kb_get_info(kb, &in, &err), SEM_OK);
    CHECK_EQ_INT(in.default_nprobe, np);
    CHECK_NEAR(in.nprobe_recall, rec, 1e-4);
    sem_kb_close(kb);
}

int main(void)
{
    sem_log_set(tu_log, NULL);
    X = malloc((size_t)N * D * sizeof *X);
    tu_clustered(X, N, D, 100, 0.35f);
    char base[512];
    tu_tmpdir(base, sizeof base, "nprobe");
    check_kb(base, "auto", SEM_KB_METRIC_IP);
    check_kb(base, "IVF128,Flat", SEM_KB_METRIC_L2);
    /* a Flat KB has no nprobe to pick */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/flat", base);
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = D;
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    sem_kb_info in;
    CHECK(kb && tu_put(kb, "a", X, 3, NULL, &err) == SEM_OK && sem_kb_get_info(kb, &in, &err) == SEM_OK);
    CHECK(kb && in.nlist == 0 && in.default_nprobe == 0 && in.nprobe_recall < 0);
    sem_kb_close(kb);
    tu_rm_rf(base);
    free(X);
    TEST_END();
}
