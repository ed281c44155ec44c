/* tests/eval/test_vecio.c: eval/vecio.h: TEXMEX (.fvecs/.bvecs/.ivecs) and .npy (float32/16/64, versions 1 and
 * 2) round trips and hand-made files, and malformed files that must fail with SEM_EFORMAT, never crash:
 * empty, truncated, bad or inconsistent dimension headers, lying npy shapes, unsupported dtypes and layouts. */
#include "test.h"

#include "eval/vecio.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/sem_vecio_XXXXXX";

static const char *path_of(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void put(const char *name, const void *data, size_t len)
{
    FILE *f = fopen(path_of(name), "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

/* An .npy image: version 1 or 2 header with dict text, then data. Returns the length. */
static size_t make_npy(uint8_t *out, int version, const char *dict, const void *data, size_t dlen)
{
    size_t dl = strlen(dict), pre = version == 1 ? 10 : 12;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)version;
    out[7] = 0;
    size_t hl = dl + 1;
    if (version == 1) {
        out[8] = (uint8_t)(hl & 0xff);
        out[9] = (uint8_t)(hl >> 8);
    } else {
        out[8] = (uint8_t)(hl & 0xff);
        out[9] = (uint8_t)(hl >> 8);
        out[10] = out[11] = 0;
    }
    memcpy(out + pre, dict, dl);
    out[pre + dl] = '\n';
    memcpy(out + pre + hl, data, dlen);
    return pre + hl + dlen;
}

static int parse_code(const void *buf, size_t len, const char *fmt)
{
    sem_vecs v;
    sem_error err;
    int rc = sem_vecs_parse(buf, len, fmt, "mem", &v, &err);
    if (rc == SEM_OK)
        sem_vecs_free(&v);
    else
        CHECK_MSG(err.msg[0] != 0, "error without a message (%s)", fmt);
    return rc;
}

static void test_roundtrip(void)
{
    float x[3 * 4];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i * 0.25f - 1.0f;
    sem_error err;
    sem_vecs v;
    const char *names[] = {"a.fvecs", "a.npy"};
    for (int t = 0; t < 2; t++) {
        CHECK_EQ_INT(sem_vecs_write(path_of(names[t]), x, 3, 4, &err), SEM_OK);
        CHECK_EQ_INT(sem_vecs_read(path_of(names[t]), &v, &err), SEM_OK);
        CHECK_EQ_INT(v.n, 3);
        CHECK_EQ_INT(v.d, 4);
        CHECK(v.data && memcmp(v.data, x, sizeof x) == 0);
        sem_vecs_free(&v);
        CHECK(v.data == NULL && v.n == 0);
    }
    /* ivecs ground truth */
    int64_t ids[] = {0, 5, 7, -1, 123456789, 2};
    CHECK_EQ_INT(sem_ivecs_write(path_of("gt.ivecs"), ids, 2, 3, &err), SEM_OK);
    int64_t *back = NULL;
    size_t n = 0, d = 0;
    CHECK_EQ_INT(sem_ivecs_read(path_of("gt.ivecs"), &back, &n, &d, &err), SEM_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(d, 3);
    CHECK(back && memcmp(back, ids, sizeof ids) == 0);
    free(back);
    int64_t big[] = {(int64_t)1 << 40};
    CHECK_EQ_INT(sem_ivecs_write(path_of("big.ivecs"), big, 1, 1, &err), SEM_ERANGE);
    CHECK_EQ_INT(sem_ivecs_read(path_of("a.fvecs"), &back, &n, &d, &err), SEM_EINVAL); /* not .ivecs */
    CHECK_EQ_INT(sem_vecs_read(path_of("missing.fvecs"), &v, &err), SEM_ENOTFOUND);
    CHECK_EQ_INT(sem_vecs_read(path_of("a.txt"), &v, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_vecs_write(path_of("a.txt"), x, 3, 4, &err), SEM_EINVAL);
}

static void test_handmade(void)
{
    sem_vecs v;
    sem_error err;
    /* bvecs: d = 3, values 0, 128, 255 */
    const uint8_t bv[] = {3, 0, 0, 0, 0, 128, 255};
    CHECK_EQ_INT(sem_vecs_parse(bv, sizeof bv, "bvecs", "b", &v, &err), SEM_OK);
    CHECK(v.n == 1 && v.d == 3 && v.data[0] == 0.0f && v.data[1] == 128.0f && v.data[2] == 255.0f);
    sem_vecs_free(&v);
    /* ivecs read as floats */
    const int32_t iv[] = {2, -7, 9, 2, 1, 0};
    CHECK_EQ_INT(sem_vecs_parse(iv, sizeof iv, "ivecs", "i", &v, &err), SEM_OK);
    CHECK(v.n == 2 && v.d == 2 && v.data[0] == -7.0f && v.data[3] == 0.0f);
    sem_vecs_free(&v);
    /* npy float16: 1, -2, 0.5, 65504, smallest subnormal, -0 */
    uint8_t buf[512];
    const uint16_t h[] = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000};
    size_t len = make_npy(buf, 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }", h, sizeof h);
    CHECK_EQ_INT(sem_vecs_parse(buf, len, "npy", "h", &v, &err), SEM_OK);
    CHECK(v.n == 3 && v.d == 2);
    if (v.data) {
        CHECK_NEAR(v.data[0], 1.0, 0);
        CHECK_NEAR(v.data[1], -2.0, 0);
        CHECK_NEAR(v.data[2], 0.5, 0);
        CHECK_NEAR(v.data[3], 65504.0, 0);
        CHECK_NEAR(v.data[4], ldexp(1.0, -24), 0);
        CHECK(v.data[5] == 0.0f && signbit(v.data[5]));
    }
    sem_vecs_free(&v);
    /* npy float64, version 2 header, double quotes, Python-2 long */
    const double dd[] = {1.5, -0.25};
    len = make_npy(buf, 2, "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (1L, 2L)}", dd, sizeof dd);
    CHECK_EQ_INT(sem_vecs_parse(buf, len, "npy", "d", &v, &err), SEM_OK);
    CHECK(v.n == 1 && v.d == 2 && v.data && v.data[0] == 1.5f && v.data[1] == -0.25f);
    sem_vecs_free(&v);
}

static void test_malformed(void)
{
    /* TEXMEX */
    CHECK_EQ_INT(parse_code("", 0, "fvecs"), SEM_EFORMAT);
    CHECK_EQ_INT(parse_code("\x04\x00\x00", 3, "fvecs"), SEM_EFORMAT); /* shorter than a header */
    int32_t z[] = {0, 0};
    CHECK_EQ_INT(parse_code(z, sizeof z, "fvecs"), SEM_EFORMAT); /* dimension 0 */
    int32_t neg[] = {-5, 0};
    CHECK_EQ_INT(parse_code(neg, sizeof neg, "fvecs"), SEM_EFORMAT);
    int32_t huge[] = {1 << 30, 0};
    CHECK_EQ_INT(parse_code(huge, sizeof huge, "fvecs"), SEM_EFORMAT); /* no giant allocation */
    float tr[] = {0, 1, 2, 0, 1}; /* d = 2: one vector and a truncated second */
    int32_t two = 2;
    memcpy(&tr[0], &two, 4);
    memcpy(&tr[3], &two, 4);
    CHECK_EQ_INT(parse_code(tr, sizeof tr, "fvecs"), SEM_EFORMAT);
    int32_t mixed[] = {2, 0, 0, 3, 0, 0}; /* second header says 3, same record size */
    CHECK_EQ_INT(parse_code(mixed, sizeof mixed, "fvecs"), SEM_EFORMAT);
    CHECK_EQ_INT(parse_code(mixed, sizeof mixed, "ivecs"), SEM_EFORMAT);
    const uint8_t bt[] = {4, 0, 0, 0, 1, 2, 3}; /* bvecs d = 4 with 3 bytes */
    CHECK_EQ_INT(parse_code(bt, sizeof bt, "bvecs"), SEM_EFORMAT);
    CHECK_EQ_INT(parse_code(bt, sizeof bt, "xvecs"), SEM_EINVAL);

    /* npy */
    uint8_t buf[512];
    float f4[4] = {1, 2, 3, 4};
    CHECK_EQ_INT(parse_code("\x93NUMPZ\x01\x00\x10\x00", 10, "npy"), SEM_EFORMAT);
    CHECK_EQ_INT(parse_code("\x93NUMPY\x01", 7, "npy"), SEM_EFORMAT);
    size_t len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 4), }", f4, sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT); /* lying shape: 1000 rows promised, 1 present */
    len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", f4, sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT); /* trailing bytes: the header lies the other way */
    len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", f4,
                   sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT); /* rows * row size would overflow */
    len = make_npy(buf, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", f4, sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT); /* big-endian */
    len = make_npy(buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", f4, sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT);
    len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f4, sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT);
    len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f4, sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT); /* 1-D */
    len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }", f4, sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT); /* 3-D */
    len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", f4, 0);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT); /* no rows */
    len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False }", f4, sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT); /* no shape */
    len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", f4, sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT);
    len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4, sizeof f4);
    buf[8] = 0xff; /* header length beyond the file */
    buf[9] = 0x7f;
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT);
    len = make_npy(buf, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4, sizeof f4);
    buf[6] = 9; /* version 9 */
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_EFORMAT);
    /* every truncation of a valid file fails cleanly */
    len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4, sizeof f4);
    CHECK_EQ_INT(parse_code(buf, len, "npy"), SEM_OK);
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++)
        bad += parse_code(buf, cut, "npy") == SEM_EFORMAT;
    CHECK_EQ_INT(bad, len);
    /* a truncated file on disk */
    put("t.fvecs", tr, sizeof tr);
    sem_vecs v;
    sem_error err;
    CHECK_EQ_INT(sem_vecs_read(path_of("t.fvecs"), &v, &err), SEM_EFORMAT);
    CHECK(strstr(err.msg, "t.fvecs") != NULL);
    CHECK(v.data == NULL);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_roundtrip();
    test_handmade();
    test_malformed();
    const char *files[] = {"a.fvecs", "a.npy", "gt.ivecs", "t.fvecs", "big.ivecs"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        unlink(path_of(files[i]));
    rmdir(dir);
    TEST_END();
}
