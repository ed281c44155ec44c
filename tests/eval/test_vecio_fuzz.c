/* tests/eval/test_vecio_fuzz.c: replays fuzz_vecio.c's entry point over valid .fvecs/.bvecs/.ivecs/.npy images
 * and 30000 deterministic mutations of them (bit flips, byte overwrites with boundary values, truncations,
 * extensions, npy header edits): no crash, no leak, no out-of-bounds read (run it under ASan), and the entry
 * point's own checks (an accepted file's values fit in it, a refusal has a message) hold. The seeds must parse
 * to their shapes, and the mutations must reach both outcomes often, or the replay would only ever exercise one
 * side of the parsers. */
#include "eval/vecio.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rng = 2463534242u;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static size_t seed_npy(uint8_t *b, const char *descr, const char *shape, size_t dbytes)
{
    char dict[160];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    b[0] = 3; /* npy */
    memcpy(b + 1, "\x93NUMPY\x01\x00", 8);
    size_t hl = (size_t)n + 1;
    b[9] = (uint8_t)hl;
    b[10] = 0;
    memcpy(b + 11, dict, (size_t)n);
    b[11 + n] = '\n';
    for (size_t i = 0; i < dbytes; i++)
        b[12 + n + i] = (uint8_t)(i * 37);
    return 12 + (size_t)n + dbytes;
}

static size_t seed_texmex(uint8_t *b, int fmt, int32_t d, int n, size_t elem)
{
    size_t p = 0;
    b[p++] = (uint8_t)fmt;
    for (int i = 0; i < n; i++) {
        memcpy(b + p, &d, 4);
        p += 4;
        for (size_t j = 0; j < (size_t)d * elem; j++)
            b[p++] = (uint8_t)(j * 11 + i);
    }
    return p;
}

static const char *const fmt_of[] = {"fvecs", "bvecs", "ivecs", "npy"};

/* 1 if the image b (format byte + file) parses, with its shape in *rows, *dim. */
static int parses(const uint8_t *b, size_t n, size_t *rows, size_t *dim)
{
    sem_vecs v;
    sem_error err;
    int ok = sem_vecs_parse(b + 1, n - 1, fmt_of[b[0] % 4], "seed", &v, &err) == SEM_OK;
    *rows = v.n;
    *dim = v.d;
    sem_vecs_free(&v);
    return ok;
}

/* Applies 1 to 4 random mutations to buf (n bytes, room for cap); returns the new length. */
static size_t mutate(uint8_t *buf, size_t n, size_t cap)
{
    static const uint8_t special[] = {0, 1, 0x7f, 0x80, 0xff, '(', ')', ',', '\'', '9', ' ', 0};
    int muts = 1 + (int)(next() % 4);
    for (int m = 0; m < muts; m++) {
        switch (next() % 5) {
        case 0: /* flip a bit */
            if (n > 1)
                buf[1 + next() % (n - 1)] ^= (uint8_t)(1u << (next() % 8));
            break;
        case 1: /* boundary byte */
            if (n > 1)
                buf[1 + next() % (n - 1)] = special[next() % sizeof special];
            break;
        case 2: /* truncate */
            n = 1 + next() % n;
            break;
        case 3: /* extend with junk */
            for (int k = (int)(next() % 16); k > 0 && n < cap; k--)
                buf[n++] = (uint8_t)next();
            break;
        case 4: /* change the format byte */
            buf[0] = (uint8_t)next();
            break;
        }
    }
    return n;
}

int main(void)
{
    static uint8_t seeds[6][512];
    static const size_t shape[6][2] = {{3, 4}, {4, 8}, {5, 3}, {3, 4}, {2, 5}, {2, 2}};
    size_t len[6];
    len[0] = seed_texmex(seeds[0], 0, 4, 3, 4);
    len[1] = seed_texmex(seeds[1], 1, 8, 4, 1);
    len[2] = seed_texmex(seeds[2], 2, 3, 5, 4);
    len[3] = seed_npy(seeds[3], "<f4", "(3, 4)", 48);
    len[4] = seed_npy(seeds[4], "<f2", "(2, 5)", 20);
    len[5] = seed_npy(seeds[5], "<f8", "(2, 2)", 32);
    for (int s = 0; s < 6; s++) {
        size_t rows = 0, dim = 0;
        CHECK_MSG(parses(seeds[s], len[s], &rows, &dim) && rows == shape[s][0] && dim == shape[s][1],
                  "seed %d: parsed %zu x %zu, want %zu x %zu", s, rows, dim, shape[s][0], shape[s][1]);
        LLVMFuzzerTestOneInput(seeds[s], len[s]);
    }
    uint8_t buf[600];
    int accepted = 0, refused = 0;
    for (int it = 0; it < 30000; it++) {
        int s = (int)(next() % 6);
        memcpy(buf, seeds[s], len[s]);
        size_t n = mutate(buf, len[s], sizeof buf), rows, dim;
        LLVMFuzzerTestOneInput(buf, n); /* aborts on a broken promise */
        if (parses(buf, n, &rows, &dim))
            accepted++;
        else
            refused++;
    }
    printf("mutations: %d accepted, %d refused\n", accepted, refused);
    CHECK_MSG(accepted >= 1000 && refused >= 1000, "%d accepted, %d refused: the mutations miss one side",
              accepted, refused);
    TEST_END();
}
