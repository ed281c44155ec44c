/* encoder/qgemm.c: int8 kernels of the linear layers (linear.c): per-row activation quantization and an AVX2
 * u8 x s8 GEMM with the dequantization fused into its stores.
 *
 * Without VNNI, AVX2 multiplies u8 by s8 with vpmaddubsw, which adds each pair of products into a saturating s16:
 * 255 * 127 * 2 overflows it. Weights are therefore quantized to 7 bits (|w| <= 63, as ONNX Runtime's
 * reduce_range does): 2 * 255 * 63 = 32130 fits, so no sum ever saturates. vpmaddwd with ones then widens pairs of
 * s16 to s32 (4 products per s32 lane), accumulated with vpaddd. */
#include "encoder/internal.h"

#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

void sem_quantize_rows_u8(const float *x, size_t ldx, size_t rows, size_t k, size_t kp, uint8_t *q, int32_t *zp,
                          float *sa)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float mn = 0.0f, mx = 0.0f; /* the range includes 0, so that 0 is exact */
        for (size_t i = 0; i < k; i++) {
            mn = xr[i] < mn ? xr[i] : mn;
            mx = xr[i] > mx ? xr[i] : mx;
        }
        float s = (mx - mn) / 255.0f;
        if (!(s > 0.0f))
            s = 1.0f; /* an all-zero row */
        const float inv = 1.0f / s;
        int z = (int)lrintf(-mn * inv);
        z = z < 0 ? 0 : z > 255 ? 255 : z;
        const float zf = (float)z + 0.5f; /* + 0.5: rounds when truncated (v >= 0) */
        uint8_t *qr = q + r * kp;
        for (size_t i = 0; i < k; i++) {
            float v = xr[i] * inv + zf;
            v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
            qr[i] = (uint8_t)(int)v;
        }
        memset(qr + k, 0, kp - k);
        zp[r] = z;
        sa[r] = s;
    }
}

void sem_dequantize_s32(const int32_t *acc, size_t rows, size_t n, const int32_t *zp, const float *sa,
                        const int32_t *colsum, const float *sw, float *y, size_t ldy)
{
    for (size_t r = 0; r < rows; r++) {
        const int32_t *ar = acc + r * n;
        float *yr = y + r * ldy;
        for (size_t j = 0; j < n; j++)
            yr[j] = (float)(ar[j] - zp[r] * colsum[j]) * (sa[r] * sw[j]);
    }
}

#if defined(__x86_64__)
/* One tile of up to 4 rows x 16 columns; nc <= 16 columns are stored. */
__attribute__((target("avx2"), always_inline)) static inline void
q8_tile(int mr, const uint8_t *a, size_t kp, const int8_t *b, const int32_t *zp, const float *sa,
        const int32_t *colsum, const float *sw, float *y, size_t ldy, int nc)
{
    __m256i acc[4][2];
    for (int r = 0; r < 4; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    for (size_t q = 0; q < kp / 4; q++) {
        const __m256i b0 = _mm256_load_si256((const __m256i *)(b + q * 64));
        const __m256i b1 = _mm256_load_si256((const __m256i *)(b + q * 64 + 32));
        for (int r = 0; r < 4; r++) {
            if (r >= mr)
                break;
            int32_t four;
            memcpy(&four, a + (size_t)r * kp + q * 4, 4);
            const __m256i av = _mm256_set1_epi32(four);
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(av, b0), ones));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(av, b1), ones));
        }
    }
    const __m256i cs[2] = {_mm256_loadu_si256((const __m256i *)colsum),
                           _mm256_loadu_si256((const __m256i *)(colsum + 8))};
    const __m256 w[2] = {_mm256_loadu_ps(sw), _mm256_loadu_ps(sw + 8)};
    for (int r = 0; r < mr; r++) {
        const __m256i z = _mm256_set1_epi32(zp[r]);
        const __m256 s = _mm256_set1_ps(sa[r]);
        float t[16];
        for (int h = 0; h < 2; h++) {
            __m256i v = _mm256_sub_epi32(acc[r][h], _mm256_mullo_epi32(z, cs[h]));
            _mm256_storeu_ps(t + 8 * h, _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_mul_ps(s, w[h])));
        }
        memcpy(y + (size_t)r * ldy, t, (size_t)nc * sizeof(float));
    }
}

__attribute__((target("avx2"))) void sem_q8_gemm_avx2(const uint8_t *a, size_t rows, size_t kp, const int32_t *zp,
                                                      const float *sa, const int8_t *bp, const int32_t *colsum,
                                                      const float *sw, size_t n, float *y, size_t ldy)
{
    const size_t np = (n + 15) / 16, panel = kp / 4 * 64;
    for (size_t m0 = 0; m0 < rows; m0 += 96) { /* 96 rows of A (<= 96 x 1536 bytes) stay in L2 across panels */
        const size_t m1 = m0 + 96 < rows ? m0 + 96 : rows;
        for (size_t p = 0; p < np; p++) {
            const int nc = (int)(n - p * 16 < 16 ? n - p * 16 : 16);
            for (size_t i = m0; i < m1; i += 4) {
                const int mr = (int)(m1 - i < 4 ? m1 - i : 4);
                const uint8_t *ai = a + i * kp;
                float *yi = y + i * ldy + p * 16;
                if (mr == 4) /* the common case, with the row loop unrolled by the compiler */
                    q8_tile(4, ai, kp, bp + p * panel, zp + i, sa + i, colsum + p * 16, sw + p * 16, yi, ldy, nc);
                else
                    q8_tile(mr, ai, kp, bp + p * panel, zp + i, sa + i, colsum + p * 16, sw + p * 16, yi, ldy, nc);
            }
        }
    }
}
#else
void sem_q8_gemm_avx2(const uint8_t *a, size_t rows, size_t kp, const int32_t *zp, const float *sa,
                      const int8_t *bp, const int32_t *colsum, const float *sw, size_t n, float *y, size_t ldy)
{
    (void)a, (void)rows, (void)kp, (void)zp, (void)sa, (void)bp, (void)colsum, (void)sw, (void)n, (void)y, (void)ldy;
}
#endif
