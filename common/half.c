/* common/half.c: binary16 / bfloat16 <-> float (see half.h). Bit manipulation only: no FPU rounding modes or
 * hardware conversion instructions are involved, so the result is the same on every host. */
#include "common/half.h"

#include <string.h>

static float from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float sem_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 31) /* infinity or NaN */
        return from_bits(sign | 0x7f800000u | (mant << 13));
    if (exp != 0) /* normal: rebias the exponent from 15 to 127 */
        return from_bits(sign | ((exp + 127 - 15) << 23) | (mant << 13));
    if (mant == 0)
        return from_bits(sign);
    /* subnormal: mant * 2^-24, normalised by shifting the leading 1 into the implicit bit */
    int e = -1;
    do {
        mant <<= 1;
        e++;
    } while (!(mant & 0x400u));
    return from_bits(sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13));
}

float sem_bf16_to_f32(uint16_t h) { return from_bits((uint32_t)h << 16); }

uint16_t sem_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, ex = (x >> 23) & 0xffu, mant = x & 0x7fffffu;
    if (ex == 0xff) /* infinity, or NaN made quiet */
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    int e = (int)ex - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u); /* overflow: infinity */
    if (e <= 0) {                          /* a binary16 subnormal, or zero */
        if (e < -10)
            return (uint16_t)sign;
        mant |= 0x800000u;
        int shift = 14 - e;
        uint32_t hm = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (hm & 1)))
            hm++; /* may carry into the exponent field: the smallest normal, still correct */
        return (uint16_t)(sign | hm);
    }
    uint32_t hm = mant >> 13, rem = mant & 0x1fffu;
    uint32_t h = sign | ((uint32_t)e << 10) | hm;
    if (rem > 0x1000u || (rem == 0x1000u && (hm & 1)))
        h++; /* may carry into the exponent: rounds up to the next binade or to infinity, as it should */
    return (uint16_t)h;
}
