/* tests/common/test_half.c: common/half.h. The fixed cases the encoder and the trainer tested before (one each,
 * now one helper), then exhaustive checks: every binary16 value decodes to ldexp(mantissa, exponent) exactly and
 * encodes back to itself; every bfloat16 is the top half of its float; float -> binary16 rounds to nearest even
 * (midpoints between neighbours, the overflow edge, the subnormal range, NaN and signed zero). */
#include "common/half.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* The value of binary16 h computed the slow, obvious way. */
static double f16_reference(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m | 0x400, e - 25);
    return h & 0x8000 ? -v : v;
}

static void test_fixed_cases(void)
{
    CHECK(sem_f16_to_f32(0x3C00) == 1.0f);
    CHECK(sem_f16_to_f32(0xC000) == -2.0f);
    CHECK(sem_f16_to_f32(0x7BFF) == 65504.0f);
    CHECK(sem_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    CHECK(sem_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    CHECK(sem_f16_to_f32(0x03FF) == ldexpf(1023.0f, -24));
    CHECK(sem_f16_to_f32(0x8000) == 0.0f && signbit(sem_f16_to_f32(0x8000)));
    CHECK(isinf(sem_f16_to_f32(0x7C00)));
    CHECK(isnan(sem_f16_to_f32(0x7E00)));
    CHECK(sem_bf16_to_f32(0x3F80) == 1.0f);
    CHECK(sem_bf16_to_f32(0xC0A0) == -5.0f);
    CHECK_EQ_INT(sem_f32_to_f16(1.0f), 0x3c00);
    CHECK_EQ_INT(sem_f32_to_f16(-2.0f), 0xc000);
    CHECK_EQ_INT(sem_f32_to_f16(65504.0f), 0x7bff);
    CHECK_EQ_INT(sem_f32_to_f16(1e6f), 0x7c00);
    CHECK_EQ_INT(sem_f32_to_f16(5.9604644775390625e-08f), 0x0001);
    CHECK(sem_f16_to_f32(sem_f32_to_f16(0.1f)) == 0.0999755859375f);
}

static void test_exhaustive(void)
{
    int bad_dec = 0, bad_round_trip = 0, bad_bf16 = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t h = (uint16_t)i;
        float f = sem_f16_to_f32(h);
        double ref = f16_reference(h);
        if (isnan(ref) ? !isnan(f) : ((double)f != ref || !signbit(f) != !signbit(ref)))
            bad_dec++;
        /* NaN payloads are not kept by the encoder (it returns a quiet NaN); everything else round-trips */
        uint16_t back = sem_f32_to_f16(f);
        if (isnan(ref) ? (back & 0x7c00) != 0x7c00 || !(back & 0x3ff) : back != h)
            bad_round_trip++;
        if (bits_of(sem_bf16_to_f32(h)) != i << 16)
            bad_bf16++;
    }
    CHECK_EQ_INT(bad_dec, 0);
    CHECK_EQ_INT(bad_round_trip, 0);
    CHECK_EQ_INT(bad_bf16, 0);
}

/* Between two neighbouring binary16 values: below the midpoint rounds down, above rounds up, on it to the even
 * one. Done for every pair of neighbours among the finite positive values, through their float midpoint. */
static void test_rounding(void)
{
    int bad = 0;
    for (uint32_t i = 0; i < 0x7bff; i++) {
        float lo = sem_f16_to_f32((uint16_t)i), hi = sem_f16_to_f32((uint16_t)(i + 1));
        float mid = (float)(((double)lo + (double)hi) / 2); /* exact: a float holds every midpoint */
        uint16_t even = (i & 1) ? (uint16_t)(i + 1) : (uint16_t)i;
        if (sem_f32_to_f16(mid) != even || sem_f32_to_f16(nextafterf(mid, 0)) != i ||
            sem_f32_to_f16(nextafterf(mid, INFINITY)) != i + 1 || sem_f32_to_f16(-mid) != (even | 0x8000))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* the overflow edge: 65504 + half an ulp (65520) is a tie that rounds to the even neighbour, infinity */
    CHECK_EQ_INT(sem_f32_to_f16(65519.996f), 0x7bff);
    CHECK_EQ_INT(sem_f32_to_f16(65520.0f), 0x7c00);
    CHECK_EQ_INT(sem_f32_to_f16(-INFINITY), 0xfc00);
    /* below the smallest subnormal: half of it (a tie) goes to zero, a bit more to the smallest subnormal */
    CHECK_EQ_INT(sem_f32_to_f16(ldexpf(1.0f, -25)), 0x0000);
    CHECK_EQ_INT(sem_f32_to_f16(nextafterf(ldexpf(1.0f, -25), 1.0f)), 0x0001);
    CHECK_EQ_INT(sem_f32_to_f16(ldexpf(1.0f, -40)), 0x0000);
    CHECK_EQ_INT(sem_f32_to_f16(-1e-30f), 0x8000);
    CHECK_EQ_INT(sem_f32_to_f16(-0.0f), 0x8000);
    uint16_t qnan = sem_f32_to_f16(NAN);
    CHECK((qnan & 0x7c00) == 0x7c00 && (qnan & 0x3ff) != 0);
}

int main(void)
{
    test_fixed_cases();
    test_exhaustive();
    test_rounding();
    TEST_END();
}
