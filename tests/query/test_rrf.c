/* tests/query/test_rrf.c: reciprocal rank fusion (scores, order, ties, caps), the convex-combination fusion of
 * hybrid search (hand-computed scores, weights at the ends, bad arguments), the FTS word filter that keeps
 * user punctuation away from FTS5, and mode names. */
#include "test.h"

#include <stdlib.h>

#include "query/search.h"

static void test_rrf(void)
{
    int64_t a[] = {1, 2, 3}, b[] = {3, 4};
    int64_t ids[8];
    double sc[8];
    int ra[8], rb[8];
    int n = sem_rrf_fuse(a, 3, b, 2, 60, 8, ids, sc, ra, rb);
    CHECK_EQ_INT(n, 4);
    if (n == 4) {
        /* 3: 1/63 + 1/61; 1: 1/61; then 2 and 4 tie at 1/62 (same best rank 2): smaller id first */
        CHECK_EQ_INT(ids[0], 3);
        CHECK_NEAR(sc[0], 1.0 / 63 + 1.0 / 61, 1e-12);
        CHECK_EQ_INT(ra[0], 3);
        CHECK_EQ_INT(rb[0], 1);
        CHECK_EQ_INT(ids[1], 1);
        CHECK_NEAR(sc[1], 1.0 / 61, 1e-12);
        CHECK_EQ_INT(rb[1], 0);
        CHECK_EQ_INT(ids[2], 2);
        CHECK_EQ_INT(ids[3], 4);
        CHECK_NEAR(sc[3], 1.0 / 62, 1e-12);
        CHECK_EQ_INT(ra[3], 0);
        CHECK_EQ_INT(rb[3], 2);
    }
    /* cap, empty lists, one list only, NULL optional outputs */
    CHECK_EQ_INT(sem_rrf_fuse(a, 3, b, 2, 60, 2, ids, NULL, NULL, NULL), 2);
    CHECK_EQ_INT(ids[0], 3);
    CHECK_EQ_INT(ids[1], 1);
    CHECK_EQ_INT(sem_rrf_fuse(NULL, 0, NULL, 0, 60, 8, ids, sc, ra, rb), 0);
    n = sem_rrf_fuse(NULL, 0, b, 2, 60, 8, ids, sc, ra, rb);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(ids[0], 3);
    CHECK_EQ_INT(ids[1], 4);
    CHECK_NEAR(sc[0], 1.0 / 61, 1e-12);
    /* an item ranked high in both beats items ranked first in one only */
    int64_t x[] = {10, 20, 30}, y[] = {40, 20, 50};
    n = sem_rrf_fuse(x, 3, y, 3, 60, 8, ids, sc, NULL, NULL);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(ids[0], 20);
    CHECK_EQ_INT(ids[1], 10); /* ties with 40 on score and best rank: smaller id */
    CHECK_EQ_INT(ids[2], 40);
    /* a larger k0 flattens the rank differences; the order by score stays monotone */
    n = sem_rrf_fuse(x, 3, y, 3, 1, 8, ids, sc, NULL, NULL);
    int mono = 1;
    for (int i = 1; i < n; i++)
        mono &= sc[i] <= sc[i - 1];
    CHECK(mono);
    CHECK_EQ_INT(sem_rrf_fuse(x, -1, y, 3, 60, 8, ids, sc, NULL, NULL), SEM_EINVAL);
    /* many entries: every id once, scores sorted */
    enum { N = 500 };
    int64_t *p = malloc(N * sizeof *p), *q = malloc(N * sizeof *q), *o = malloc(2 * N * sizeof *o);
    double *s = malloc(2 * N * sizeof *s);
    for (int i = 0; i < N; i++) {
        p[i] = i;
        q[i] = (i * 7) % (2 * N);
    }
    n = sem_rrf_fuse(p, N, q, N, 60, 2 * N, o, s, NULL, NULL);
    int ok = n > N && n <= 2 * N;
    for (int i = 1; i < n; i++)
        ok &= s[i] <= s[i - 1];
    for (int i = 0; i < n && ok; i++)
        for (int j = i + 1; j < n; j++)
            if (o[i] == o[j]) {
                ok = 0;
                break;
            }
    CHECK(ok);
    free(p);
    free(q);
    free(o);
    free(s);
}

static void test_cc(void)
{
    /* a: scores 0.9 0.5 0.1 -> normalised 1, 0.5, 0; b (bm25 as -score): -2, -6 -> 1, 0 */
    int64_t a[] = {1, 2, 3}, b[] = {3, 4};
    float sa[] = {0.9f, 0.5f, 0.1f}, sb[] = {-2.0f, -6.0f};
    int64_t ids[8];
    double sc[8];
    int ra[8], rb[8];
    sem_fusion_params fp = {SEM_FUSION_CC, 0.3, SEM_RRF_K};
    int n = sem_fuse(&fp, a, sa, 3, b, sb, 2, 8, ids, sc, ra, rb);
    CHECK_EQ_INT(n, 4);
    if (n == 4) {
        /* 3: 0.3*0 + 0.7*1; 1: 0.3*1; 2: 0.3*0.5; 4: 0.7*0 */
        CHECK_EQ_INT(ids[0], 3);
        CHECK_NEAR(sc[0], 0.7, 1e-7);
        CHECK_EQ_INT(ra[0], 3);
        CHECK_EQ_INT(rb[0], 1);
        CHECK_EQ_INT(ids[1], 1);
        CHECK_NEAR(sc[1], 0.3, 1e-7);
        CHECK_EQ_INT(ids[2], 2);
        CHECK_NEAR(sc[2], 0.15, 1e-7);
        CHECK_EQ_INT(ids[3], 4);
        CHECK_NEAR(sc[3], 0.0, 1e-12);
    }
    /* weight 1: a's order; 3 and 4 tie at 0 and 3 has the better best rank (1 in b) */
    fp.weight_a = 1;
    n = sem_fuse(&fp, a, sa, 3, b, sb, 2, 8, ids, sc, NULL, NULL);
    CHECK_EQ_INT(n, 4);
    CHECK(ids[0] == 1 && ids[1] == 2 && ids[2] == 3 && ids[3] == 4);
    /* weight 0: b's order first, all of it: 4 (b's last, normalised to 0) ties at 0 with 1 and 2, which only the
     * zero-weighted side found, and goes first (hybrid at weight 0 ranks as b alone) */
    fp.weight_a = 0;
    n = sem_fuse(&fp, a, sa, 3, b, sb, 2, 3, ids, sc, NULL, NULL);
    CHECK_EQ_INT(n, 3);
    CHECK(ids[0] == 3 && ids[1] == 4 && ids[2] == 1);
    /* a one-entry list (all scores equal) normalises to 1; an empty side contributes nothing */
    fp.weight_a = 0.4;
    n = sem_fuse(&fp, a, sa, 1, NULL, NULL, 0, 8, ids, sc, NULL, NULL);
    CHECK_EQ_INT(n, 1);
    CHECK_NEAR(sc[0], 0.4, 1e-7);
    /* weighted RRF: weight 0.5 is classic RRF, scores equal to sem_rrf_fuse's */
    double sc2[8];
    int64_t ids2[8];
    fp = (sem_fusion_params){SEM_FUSION_RRF, 0.5, 60};
    n = sem_fuse(&fp, a, NULL, 3, b, NULL, 2, 8, ids, sc, NULL, NULL);
    CHECK_EQ_INT(sem_rrf_fuse(a, 3, b, 2, 60, 8, ids2, sc2, NULL, NULL), n);
    for (int i = 0; i < n; i++) {
        CHECK_EQ_INT(ids[i], ids2[i]);
        CHECK_NEAR(sc[i], sc2[i], 1e-12);
    }
    fp.weight_a = 0.25; /* 2*0.25/(60+r) + 2*0.75/(60+r) */
    n = sem_fuse(&fp, a, NULL, 3, b, NULL, 2, 8, ids, sc, NULL, NULL);
    CHECK_EQ_INT(ids[0], 3);
    CHECK_NEAR(sc[0], 0.5 / 63 + 1.5 / 61, 1e-12);
    CHECK_EQ_INT(ids[1], 4); /* 1.5/62 beats 1's 0.5/61 */
    /* bad arguments */
    fp = (sem_fusion_params){SEM_FUSION_CC, 1.5, 60};
    CHECK_EQ_INT(sem_fuse(&fp, a, sa, 3, b, sb, 2, 8, ids, sc, NULL, NULL), SEM_EINVAL);
    fp.weight_a = 0.5;
    CHECK_EQ_INT(sem_fuse(&fp, a, NULL, 3, b, sb, 2, 8, ids, sc, NULL, NULL), SEM_EINVAL); /* cc needs scores */
    fp.method = (sem_fusion_method)7;
    CHECK_EQ_INT(sem_fuse(&fp, a, sa, 3, b, sb, 2, 8, ids, sc, NULL, NULL), SEM_EINVAL);
    CHECK_EQ_INT(sem_fusion_parse("cc"), SEM_FUSION_CC);
    CHECK_EQ_INT(sem_fusion_parse("rrf"), SEM_FUSION_RRF);
    CHECK_EQ_INT(sem_fusion_parse("max"), -1);
    CHECK_STREQ(sem_fusion_name(SEM_FUSION_RRF), "rrf");
}

static void test_words(void)
{
    char *w = sem_fts_words("What's (COVID-19)? AND \"x\" NEAR/3 *foo^ col:bar -neg +plus {a b}");
    CHECK_STREQ(w, "What s COVID 19 AND x NEAR 3 foo col bar neg plus a b");
    free(w);
    w = sem_fts_words("  ?!  ");
    CHECK_STREQ(w, "");
    free(w);
    w = sem_fts_words("caf\xC3\xA9 na\xC3\xAFve_x");
    CHECK_STREQ(w, "caf\xC3\xA9 na\xC3\xAFve x");
    free(w);
    w = sem_fts_words("");
    CHECK_STREQ(w, "");
    free(w);
}

int main(void)
{
    CHECK_EQ_INT(sem_search_mode_parse("hybrid"), SEM_MODE_HYBRID);
    CHECK_EQ_INT(sem_search_mode_parse("lexical"), SEM_MODE_LEXICAL);
    CHECK_EQ_INT(sem_search_mode_parse("semantic"), SEM_MODE_SEMANTIC);
    CHECK_EQ_INT(sem_search_mode_parse("fuzzy"), -1);
    CHECK_STREQ(sem_search_mode_name(SEM_MODE_HYBRID), "hybrid");
    sem_query_params p = sem_query_default_params();
    CHECK_EQ_INT(p.k, 10);
    CHECK_EQ_INT(p.mode, SEM_MODE_SEMANTIC);
    CHECK_EQ_INT(p.fusion, SEM_FUSION_CC);
    CHECK_NEAR(p.semantic_weight, 0, 0); /* 0: the KB's weight (calibrated, else SEM_HYBRID_SEMANTIC_WEIGHT) */
    test_rrf();
    test_cc();
    test_words();
    TEST_END();
}
