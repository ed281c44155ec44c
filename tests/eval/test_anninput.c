/* tests/eval/test_anninput.c: the inputs of an ANN benchmark (eval/anninput.c, moved out of the CLI):
 *  - sem_vecs_hold_out: the queries are rows of the base, every row ends up on exactly one side, the same seed
 *    holds out the same rows, impossible counts are SEM_EINVAL; the default sample size;
 *  - sem_ann_default_specs: Flat + the store's auto IVF (sem_kb_auto_nlist), Flat alone for a tiny base, Flat +
 *    a KB's own spec;
 *  - sem_ann_ground_truth_cached: computed and cached, read back from the cache, a stale cache recomputed, a
 *    given ground truth with the wrong number of rows refused;
 *  - sem_npy_header (common/npy.c, the .npy writer of store and eval): lengths are multiples of 64, and eval's
 *    reader reads what sem_vecs_write writes with it. */
#include "test.h"
#include "test_util.h"

#include "common/npy.h"
#include "eval/ann.h"
#include "eval/vecio.h"
#include "store/kb.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/sem_anninput_XXXXXX";

static const char *path_of(const char *name)
{
    static char p[2][256];
    static int slot;
    char *s = p[slot++ % 2];
    snprintf(s, 256, "%s/%s", dir, name);
    return s;
}

/* n rows of d floats; row i holds i in every column. */
static void make_rows(sem_vecs *v, size_t n, size_t d)
{
    v->data = malloc(n * d * sizeof(float));
    v->n = n;
    v->d = d;
    for (size_t i = 0; i < n * d; i++)
        v->data[i] = (float)(i / d);
}

static void test_hold_out(void)
{
    sem_vecs v, q = {0}, v2, q2 = {0};
    sem_error err;
    make_rows(&v, 50, 3);
    make_rows(&v2, 50, 3);
    CHECK_EQ_INT(sem_vecs_hold_out(&v, 7, 42, &q, &err), SEM_OK);
    CHECK_EQ_INT(sem_vecs_hold_out(&v2, 7, 42, &q2, &err), SEM_OK);
    CHECK(q.n == 7 && q.d == 3 && v.n == 43);
    int seen[50] = {0}, rows_ok = 1;
    for (size_t i = 0; i < v.n; i++)
        seen[(int)v.data[i * 3]]++;
    for (size_t i = 0; i < q.n; i++) {
        seen[(int)q.data[i * 3]]++;
        rows_ok &= q.data[i * 3] == q.data[i * 3 + 2] && q.data[i * 3] == q2.data[i * 3];
    }
    int once = 1;
    for (int i = 0; i < 50; i++)
        once &= seen[i] == 1;
    CHECK(once);    /* every row on exactly one side */
    CHECK(rows_ok); /* whole rows, and the same ones for the same seed */
    sem_vecs q3 = {0};
    CHECK_EQ_INT(sem_vecs_hold_out(&v, 0, 1, &q3, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_vecs_hold_out(&v, v.n, 1, &q3, &err), SEM_EINVAL);
    sem_vecs_free(&v);
    sem_vecs_free(&q);
    sem_vecs_free(&v2);
    sem_vecs_free(&q2);
    CHECK(sem_ann_default_sample(5) == 1 && sem_ann_default_sample(500) == 50 && sem_ann_default_sample(1 << 20) == 1000);
}

static void test_default_specs(void)
{
    char specs[2][SEM_ANN_SPEC_MAX + 1], want[32];
    CHECK(sem_ann_default_specs(100000, NULL, specs) == 2);
    snprintf(want, sizeof want, "IVF%lld,Flat", (long long)sem_kb_auto_nlist(100000));
    CHECK_STREQ(specs[0], "Flat");
    CHECK_STREQ(specs[1], want);
    CHECK(sem_kb_auto_nlist(100000) == 1024); /* 4*sqrt(1e5) = 1265: the nearest power of two */
    CHECK(sem_ann_default_specs(100, "", specs) == 1); /* 100 vectors: too few for 4 lists of 39 */
    CHECK(sem_ann_default_specs(100, "HNSW32", specs) == 2 && !strcmp(specs[1], "HNSW32"));
    CHECK(sem_ann_default_specs(100000, "Flat", specs) == 2 && !strcmp(specs[1], want));
}

static void test_ground_truth(void)
{
    sem_vecs base, q;
    sem_error err;
    make_rows(&base, 200, 4);
    make_rows(&q, 5, 4);
    for (size_t i = 0; i < q.n * q.d; i++)
        q.data[i] = (float)(i / q.d) * 10.0f + 0.25f; /* query j is nearest to row 10 j */
    sem_ann_gt_params p = {NULL, path_of("gt.ivecs"), NULL, 0, 3};
    int64_t *gt = NULL;
    size_t k = 0;
    CHECK_EQ_INT(sem_ann_ground_truth_cached(&base, &q, &p, &gt, &k, &err), SEM_OK);
    CHECK(k == 3 && gt && gt[0] == 0 && gt[3] == 10 && gt[12] == 40);
    CHECK(access(path_of("gt.ivecs"), R_OK) == 0);
    free(gt);
    CHECK_EQ_INT(sem_ann_ground_truth_cached(&base, &q, &p, &gt, &k, &err), SEM_OK); /* from the cache */
    CHECK(k == 3 && gt[3] == 10);
    free(gt);
    int64_t wrong[15] = {0};
    CHECK_EQ_INT(sem_ivecs_write(path_of("gt.ivecs"), wrong, 5, 3, &err), SEM_OK); /* stale: recomputed */
    CHECK_EQ_INT(sem_ann_ground_truth_cached(&base, &q, &p, &gt, &k, &err), SEM_OK);
    CHECK(gt[3] == 10);
    free(gt);
    CHECK_EQ_INT(sem_ivecs_write(path_of("gt4.ivecs"), wrong, 4, 3, &err), SEM_OK);
    sem_ann_gt_params given = {path_of("gt4.ivecs"), NULL, NULL, 0, 3};
    CHECK_EQ_INT(sem_ann_ground_truth_cached(&base, &q, &given, &gt, &k, &err), SEM_EMISMATCH);
    CHECK(gt == NULL);
    sem_vecs_free(&base);
    sem_vecs_free(&q);
}

static void test_npy(void)
{
    char h[SEM_NPY_HEADER_MAX];
    size_t n = sem_npy_header(h, sizeof h, "<f4", 3, 2);
    CHECK(n == 128 && h[n - 1] == '\n' && memcmp(h, "\x93NUMPY\x01\x00", 8) == 0);
    CHECK(h[8] == (char)(n - 10) && h[9] == 0); /* the header length, little-endian */
    CHECK(strstr(h + 10, "'shape': (3, 2)") != NULL);
    n = sem_npy_header(h, sizeof h, "<i8", UINT64_MAX, 0);
    CHECK(n % 64 == 0 && strstr(h + 10, "'shape': (18446744073709551615,)") != NULL);
    CHECK(sem_npy_header(h, 32, "<f4", 3, 2) == 0);
    float x[6] = {1, 2, 3, 4, 5, 6};
    sem_vecs v = {0};
    sem_error err;
    CHECK_EQ_INT(sem_vecs_write(path_of("x.npy"), x, 3, 2, &err), SEM_OK);
    CHECK_EQ_INT(sem_vecs_read(path_of("x.npy"), &v, &err), SEM_OK);
    CHECK(v.n == 3 && v.d == 2 && v.data[5] == 6);
    sem_vecs_free(&v);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    test_hold_out();
    test_default_specs();
    test_ground_truth();
    test_npy();
    tst_sh("rm -rf '%s'", dir);
    TEST_END();
}
