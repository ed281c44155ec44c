/* tests/query/test_fusion.c: the fusion of hybrid search (sem_fuse): the convex combination with hand-computed
 * scores, weights at the ends, one-entry and empty lists; weighted RRF against sem_rrf_fuse; bad arguments. */
#include "test.h"

#include "query/search.h"

int main(void)
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
    TEST_END();
}
