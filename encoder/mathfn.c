/* encoder/mathfn.c: the elementwise passes of the forward pass, written so the compiler vectorises them (no
 * libm calls in the inner loops: exp and erf are computed here, accurate to about 1e-7) and split across the
 * context's threads with OpenMP. Each pass reads and writes its buffer once: bias + activation fused,
 * residual + bias + LayerNorm fused. */
#include "encoder/internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Parallelise only passes big enough to pay for waking the threads. */
#define PAR_MIN_ELEMS (1u << 18)

/* exp(x) for x in [-87, 88]: 2^n * p(r), r = x - n ln2 in [-ln2/2, ln2/2], p the degree-7 Taylor polynomial
 * (relative error < 1e-8 before rounding). The rounding trick (adding 1.5 * 2^23) avoids floorf/rintf, which
 * would stop SSE2 vectorisation. */
static inline float fast_exp(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    const float shifter = 12582912.0f; /* 1.5 * 2^23 */
    float t = x * 1.44269504088896341f + shifter;
    float n = t - shifter;
    float r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t ni = (int32_t)n;
    uint32_t bits = (uint32_t)(ni + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

float sem_expf(float x) { return fast_exp(x); }

/* erf(x) by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7), odd-extended. */
static inline float fast_erf(float x)
{
    float a = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float y = 1.061405429f;
    y = y * t - 1.453152027f;
    y = y * t + 1.421413741f;
    y = y * t - 0.284496736f;
    y = y * t + 0.254829592f;
    y = 1.0f - y * t * fast_exp(-a * a);
    return copysignf(y, x);
}

/* tanh(y) = 1 - 2 / (exp(2y) + 1): absolute error ~1e-7, enough where 1 + tanh is used (gelu_new). */
static inline float fast_tanh(float y)
{
    return 1.0f - 2.0f / (fast_exp(2.0f * y) + 1.0f);
}

/* Compiled for AVX-512, AVX2 and baseline x86-64, picked at load time (ifunc): the loops below are the
 * hot elementwise passes (GELU over (T, ffn), softmax over every (L, L) score matrix). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SEM_MULTIVERSION __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define SEM_MULTIVERSION
#endif

SEM_MULTIVERSION
static void bias_act_row(float *restrict x, const float *restrict b, size_t cols, sem_act act)
{
    /* one straight loop per activation so each vectorises */
    if (act == SEM_ACT_GELU) {
#pragma omp simd
        for (size_t c = 0; c < cols; c++) {
            float v = x[c] + b[c];
            x[c] = 0.5f * v * (1.0f + fast_erf(v * 0.70710678118654752f));
        }
    } else if (act == SEM_ACT_GELU_TANH) {
#pragma omp simd
        for (size_t c = 0; c < cols; c++) {
            float v = x[c] + b[c];
            x[c] = 0.5f * v * (1.0f + fast_tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
        }
    } else if (act == SEM_ACT_RELU) {
#pragma omp simd
        for (size_t c = 0; c < cols; c++) {
            float v = x[c] + b[c];
            x[c] = v > 0.0f ? v : 0.0f;
        }
    } else {
#pragma omp simd
        for (size_t c = 0; c < cols; c++)
            x[c] += b[c];
    }
}

void sem_bias_act(float *x, const float *b, size_t rows, size_t cols, sem_act act, int nt)
{
    long n = (long)rows;
#pragma omp parallel for num_threads(nt) if (nt > 1 && rows * cols >= PAR_MIN_ELEMS) schedule(static)
    for (long r = 0; r < n; r++)
        bias_act_row(x + (size_t)r * cols, b, cols, act);
}

void sem_bias_tanh(float *x, const float *b, size_t rows, size_t cols)
{
    /* few values (one row per sequence): libm's tanhf keeps full relative accuracy near 0 */
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            x[r * cols + c] = tanhf(x[r * cols + c] + (b ? b[c] : 0.0f));
}

SEM_MULTIVERSION
static void add_ln_row(float *restrict x, const float *restrict y, const float *restrict b, const float *restrict g,
                       const float *restrict beta, size_t cols, float eps)
{
    /* two passes (mean, then the mean squared deviation) as torch does: no cancellation */
    float sum = 0.0f;
    if (y) {
#pragma omp simd reduction(+ : sum)
        for (size_t c = 0; c < cols; c++) {
            /* HF: LayerNorm((dense(h) + bias) + residual) */
            float v = (y[c] + b[c]) + x[c];
            x[c] = v;
            sum += v;
        }
    } else {
#pragma omp simd reduction(+ : sum)
        for (size_t c = 0; c < cols; c++)
            sum += x[c];
    }
    const float mean = sum / (float)cols;
    float var = 0.0f;
#pragma omp simd reduction(+ : var)
    for (size_t c = 0; c < cols; c++) {
        float d = x[c] - mean;
        var += d * d;
    }
    const float inv = 1.0f / sqrtf(var / (float)cols + eps);
#pragma omp simd
    for (size_t c = 0; c < cols; c++)
        x[c] = (x[c] - mean) * inv * g[c] + beta[c];
}

void sem_add_layernorm(float *x, const float *y, const float *b, const float *g, const float *beta, size_t rows,
                       size_t cols, float eps, int nt)
{
    long n = (long)rows;
#pragma omp parallel for num_threads(nt) if (nt > 1 && rows * cols >= PAR_MIN_ELEMS) schedule(static)
    for (long r = 0; r < n; r++)
        add_ln_row(x + (size_t)r * cols, y ? y + (size_t)r * cols : NULL, b, g, beta, cols, eps);
}

SEM_MULTIVERSION
void sem_softmax_rows(float *s, size_t rows, size_t cols, size_t ld)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = s + r * ld;
        float mx = row[0];
        for (size_t c = 1; c < cols; c++)
            mx = row[c] > mx ? row[c] : mx;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (size_t c = 0; c < cols; c++) {
            row[c] = fast_exp(row[c] - mx);
            sum += row[c];
        }
        float inv = 1.0f / sum;
#pragma omp simd
        for (size_t c = 0; c < cols; c++)
            row[c] *= inv;
    }
}
