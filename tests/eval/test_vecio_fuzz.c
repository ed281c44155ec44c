/* tests/eval/test_vecio_fuzz.c: replays fuzz_vecio.c's entry point over valid .fvecs/.bvecs/.ivecs/.npy images
 * and 30000 deterministic mutations of them (bit flips, byte overwrites with boundary values, truncations,
 * extensions, npy header edits): no crash, no leak, no out-of-bounds read (run it under ASan). */
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

int main(void)
{
    static uint8_t seeds[6][512];
    size_t len[6];
    len[0] = seed_texmex(seeds[0], 0, 4, 3, 4);
    len[1] = seed_texmex(seeds[1], 1, 8, 4, 1);
    len[2] = seed_texmex(seeds[2], 2, 3, 5, 4);
    len[3] = seed_npy(seeds[3], "<f4", "(3, 4)", 48);
    len[4] = seed_npy(seeds[4], "<f2", "(2, 5)", 20);
    len[5] = seed_npy(seeds[5], "<f8", "(2, 2)", 32);
    int ok = 0;
    for (int s = 0; s < 6; s++) {
        LLVMFuzzerTestOneInput(seeds[s], len[s]);
        ok++;
    }
    static const uint8_t special[] = {0, 1, 0x7f, 0x80, 0xff, '(', ')', ',', '\'', '9', ' ', 0};
    uint8_t buf[600];
    for (int it = 0; it < 30000; it++) {
        int s = (int)(next() % 6);
        size_t n = len[s];
        memcpy(buf, seeds[s], n);
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
                for (int k = (int)(next() % 16); k > 0 && n < sizeof buf; k--)
                    buf[n++] = (uint8_t)next();
                break;
            case 4: /* change the format byte */
                buf[0] = (uint8_t)next();
                break;
            }
        }
        LLVMFuzzerTestOneInput(buf, n);
        ok++;
    }
    CHECK_EQ_INT(ok, 30006); /* reaching here means no input crashed the parser */
    TEST_END();
}
