/* tests/query/test_rrf.c: reciprocal rank fusion (sem_rrf_fuse): hand-computed scores, order, ties, the cap,
 * empty and one-sided lists, many entries. */
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

int main(void)
{
    test_rrf();
    TEST_END();
}
