/* common/half.h: 16-bit floats, the half-precision formats of model weights (safetensors F16 / BF16) and NumPy
 * arrays (.npy '<f2'): IEEE 754 binary16 and bfloat16 to float, and float to binary16.
 * Every conversion to float is exact (both formats are subsets of binary32); float to binary16 rounds to nearest,
 * ties to even, like numpy and PyTorch. Pure functions: any thread may call them. */
#ifndef SEM_COMMON_HALF_H
#define SEM_COMMON_HALF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* binary16 (1 sign, 5 exponent, 10 mantissa bits) to float: subnormals, infinities and NaN (payload kept). */
float sem_f16_to_f32(uint16_t h);

/* bfloat16 (the top 16 bits of a binary32) to float. */
float sem_bf16_to_f32(uint16_t h);

/* float to binary16, round to nearest even: magnitudes from 65520 up become infinity, up to 2^-25 zero (sign
 * kept); NaN stays a (quiet) NaN. */
uint16_t sem_f32_to_f16(float f);

#ifdef __cplusplus
}
#endif
#endif
