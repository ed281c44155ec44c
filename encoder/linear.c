/* encoder/linear.c: the encoder's linear layers (Q/K/V, attention output, FFN in and out: ~90 % of its FLOPs) at
 * the model's precision, chosen at load by CPU features.
 *
 * f32 (default): oneDNN sgemm. int8: weights quantized per output channel at load (symmetric), activations per
 * row at run time (asymmetric u8, scale and zero point from the row's range), s32 accumulation dequantized into
 * f32: y = sa[row] * sw[col] * (acc - zp[row] * colsum[col]). On AVX2 without VNNI our own kernel runs
 * (qgemm.c, 7-bit weights); with AVX512-VNNI a oneDNN u8 x s8 matmul (8-bit weights; 7-bit when forced on a CPU
 * without VNNI, where oneDNN's vpmaddubsw would saturate). bf16: weights converted at
 * load, activations per call, oneDNN matmul with f32 output; only where the CPU has AVX512_BF16 or AMX_BF16 (else
 * the model runs f32 and says so). Attention products, the pooler and the MLM head stay f32. */
#include "encoder/internal.h"

#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sem_precision_parse(const char *name)
{
    static const char *const names[] = {"f32", "bf16", "int8"};
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *sem_precision_name(sem_precision p)
{
    return p == SEM_PRECISION_BF16 ? "bf16" : p == SEM_PRECISION_INT8 ? "int8" : "f32";
}

/* What runs for precision want on a CPU with features f (SEM_PRECISION_F32 when it cannot); *kernel: int8's. */
static sem_precision resolve(sem_precision want, const sem_cpu_features *f, sem_qkernel *kernel)
{
    *kernel = SEM_QK_NONE;
    if (want == SEM_PRECISION_BF16) {
        if (!f->avx512_bf16 && !f->amx_bf16)
            return SEM_PRECISION_F32;
        *kernel = SEM_QK_ONEDNN;
    } else if (want == SEM_PRECISION_INT8) {
        *kernel = f->avx512_vnni && f->avx512bw && f->avx512vl ? SEM_QK_ONEDNN : f->avx2 ? SEM_QK_AVX2 : SEM_QK_ONEDNN;
    }
    return want;
}

void sem_precision_describe(sem_precision p, const sem_cpu_features *f, char *buf, size_t n)
{
    sem_qkernel k;
    sem_precision got = resolve(p, f, &k);
    if (got != p)
        snprintf(buf, n, "unavailable (the CPU has neither AVX512_BF16 nor AMX_BF16): --precision %s runs f32",
                 sem_precision_name(p));
    else if (p == SEM_PRECISION_BF16)
        snprintf(buf, n, "oneDNN matmul, bf16 weights and activations, f32 accumulation");
    else if (k == SEM_QK_AVX2)
        snprintf(buf, n, "own AVX2 kernel (u8 activations x 7-bit weights, vpmaddubsw; the CPU has no AVX512-VNNI)");
    else
        snprintf(buf, n, "oneDNN u8 x s8 matmul%s", f->avx512_vnni ? " (AVX512-VNNI)" : " (no AVX2: generic)");
}

/* ---- weights ---- */

static uint16_t to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even (weights are finite) */
    return (uint16_t)(u >> 16);
}

/* Quantizes w (k, n) (in, out) into q for the kernel: int8 to +-qmax. */
static int qweight_build(sem_qweight *q, sem_precision p, sem_qkernel kernel, float qmax, const float *w, size_t k,
                         size_t n)
{
    q->k = k;
    q->n = n;
    q->kp = (k + 3) & ~(size_t)3;
    if (p == SEM_PRECISION_BF16) {
        uint16_t *d = malloc(k * n * sizeof *d);
        if (!(q->data = d))
            return -1;
        for (size_t i = 0; i < k * n; i++)
            d[i] = to_bf16(w[i]);
        return 0;
    }
    const int packed = kernel == SEM_QK_AVX2;
    const size_t np = packed ? (n + 15) / 16 * 16 : n, bytes = q->kp * np;
    int8_t *d = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    q->colsum = calloc(np, sizeof *q->colsum);
    q->scale = calloc(np, sizeof *q->scale);
    if (!(q->data = d) || !q->colsum || !q->scale)
        return -1;
    memset(d, 0, bytes);
    for (size_t j = 0; j < n; j++) {
        float mx = 0.0f;
        for (size_t i = 0; i < k; i++)
            mx = fmaxf(mx, fabsf(w[i * n + j]));
        const float s = mx > 0.0f ? mx / qmax : 1.0f;
        q->scale[j] = s;
        for (size_t i = 0; i < k; i++) {
            int v = (int)lrintf(w[i * n + j] / s);
            v = v > (int)qmax ? (int)qmax : v < -(int)qmax ? -(int)qmax : v;
            q->colsum[j] += v;
            /* packed: panels of 16 columns, each (kp/4) groups of 16 columns x 4 consecutive k */
            size_t at = packed ? (j / 16) * (q->kp * 16) + (i / 4) * 64 + (j % 16) * 4 + i % 4 : i * n + j;
            d[at] = (int8_t)v;
        }
    }
    return 0;
}

static void qweight_free(sem_qweight *q)
{
    free(q->data);
    free(q->colsum);
    free(q->scale);
    memset(q, 0, sizeof *q);
}

void sem_model_free_precision(sem_model *m)
{
    for (int l = 0; m->layers && l < m->cfg.n_layers; l++)
        for (int i = 0; i < 4; i++)
            qweight_free(&m->layers[l].q[i]);
    if (m->dnnl_engine)
        dnnl_engine_destroy((dnnl_engine_t)m->dnnl_engine);
    m->dnnl_engine = NULL;
    m->precision = SEM_PRECISION_F32;
    m->qkernel = SEM_QK_NONE;
}

/* ---- oneDNN matmul ---- */

/* dst (M, N) = src (M, K) . wei (K, N), row-major with leading dimensions lds / ldd; a primitive per call (oneDNN's
 * primitive cache makes repeated shapes cheap). Runs on the calling thread's OpenMP setting (1 inside encodes). */
static int mm(void *engine, int M, int K, int N, dnnl_data_type_t ts, const void *src, int lds, dnnl_data_type_t tw,
              const void *wei, dnnl_data_type_t td, void *dst, int ldd)
{
    dnnl_engine_t eng = engine;
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t da = {M, K}, db = {K, N}, dc = {M, N}, sa = {lds, 1}, sc = {ldd, 1};
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL;
    dnnl_stream_t st = NULL;
    dnnl_matmul_desc_t md;
    dnnl_status_t s = dnnl_memory_desc_init_by_strides(&a, 2, da, ts, sa);
    if (s == dnnl_success)
        s = dnnl_memory_desc_init_by_tag(&b, 2, db, tw, dnnl_ab);
    if (s == dnnl_success)
        s = dnnl_memory_desc_init_by_strides(&c, 2, dc, td, sc);
    if (s == dnnl_success)
        s = dnnl_matmul_desc_init(&md, &a, &b, NULL, &c);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL);
    if (s == dnnl_success)
        s = dnnl_primitive_create(&prim, pd);
    if (s == dnnl_success)
        s = dnnl_memory_create(&ma, &a, eng, (void *)src);
    if (s == dnnl_success)
        s = dnnl_memory_create(&mb, &b, eng, (void *)wei);
    if (s == dnnl_success)
        s = dnnl_memory_create(&mc, &c, eng, dst);
    if (s == dnnl_success)
        s = dnnl_stream_create(&st, eng, dnnl_stream_default_flags);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
        s = dnnl_primitive_execute(prim, st, 3, args);
        if (s == dnnl_success)
            s = dnnl_stream_wait(st);
    }
    dnnl_stream_destroy(st);
    dnnl_memory_destroy(ma);
    dnnl_memory_destroy(mb);
    dnnl_memory_destroy(mc);
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    return s == dnnl_success ? 0 : (int)s;
}

/* ---- the forward pass's linear layers ---- */

/* rows of y (rows, n) = x (rows, k) . q at the model's reduced precision; qa/qzp/qsa/qacc: this block's scratch. */
static int qlinear_rows(const sem_model *m, const sem_qweight *q, const float *x, float *y, size_t rows,
                        uint8_t *qa, int32_t *qzp, float *qsa, int32_t *qacc)
{
    const size_t k = q->k, n = q->n, kp = q->kp;
    if (m->precision == SEM_PRECISION_BF16) {
        uint16_t *xb = (uint16_t *)qa;
        for (size_t i = 0; i < rows * k; i++)
            xb[i] = to_bf16(x[i]);
        return mm(m->dnnl_engine, (int)rows, (int)k, (int)n, dnnl_bf16, xb, (int)k, dnnl_bf16, q->data, dnnl_f32,
                  y, (int)n);
    }
    sem_quantize_rows_u8(x, k, rows, k, kp, qa, qzp, qsa);
    if (m->qkernel == SEM_QK_AVX2) {
        sem_q8_gemm_avx2(qa, rows, kp, qzp, qsa, q->data, q->colsum, q->scale, n, y, n);
        return 0;
    }
    int rc = mm(m->dnnl_engine, (int)rows, (int)kp, (int)n, dnnl_u8, qa, (int)kp, dnnl_s8, q->data, dnnl_s32, qacc,
                (int)n);
    if (!rc)
        sem_dequantize_s32(qacc, rows, n, qzp, qsa, q->colsum, q->scale, y, n);
    return rc;
}

/* y (T, n) = x (T, k) . w (k, n) with nt workers: blocks of rows (or, for few rows at f32, of columns). */
int sem_linear(const sem_model *m, sem_scratch *ws, const sem_qweight *q, const float *w, const float *x, float *y,
               size_t T, size_t k, size_t n, int nt, sem_error *err)
{
    const int reduced = m->precision != SEM_PRECISION_F32;
    if (nt <= 1 || (double)T * (double)n * (double)k < (double)(1 << 21))
        nt = 1;
    const int by_rows = reduced || T >= (size_t)nt * 64;
    if (reduced && T < (size_t)nt * 16)
        nt = 1;
    const size_t len = by_rows ? T : n;
    size_t step = (len + (size_t)nt - 1) / (size_t)nt;
    step = (step + 15) & ~(size_t)15; /* whole kernel blocks */
    int rc = 0;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static) reduction(| : rc)
    for (int b = 0; b < nt; b++) {
        size_t lo = (size_t)b * step, hi = lo + step < len ? lo + step : len;
        if (lo >= hi)
            continue;
        if (reduced)
            rc |= qlinear_rows(m, q, x + lo * k, y + lo * n, hi - lo, ws->qa + lo * ws->qa_row, ws->qzp + lo,
                               ws->qsa + lo, ws->qacc ? ws->qacc + lo * n : NULL);
        else if (by_rows)
            sem_sgemm(0, (int)(hi - lo), (int)n, (int)k, 1.0f, x + lo * k, (int)k, w, (int)n, y + lo * n, (int)n);
        else
            sem_sgemm(0, (int)T, (int)(hi - lo), (int)k, 1.0f, x, (int)k, w + lo, (int)n, y + lo, (int)n);
    }
    return rc ? sem_error_set(err, SEM_EINTERNAL, "oneDNN %s matmul failed (status %d)",
                              sem_precision_name(m->precision), rc)
              : SEM_OK;
}

static int grow_bytes(void **p, size_t bytes)
{
    free(*p);
    *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    return *p ? 0 : -1;
}

int sem_linear_reserve(const sem_model *m, sem_scratch *ws, size_t rows, sem_error *err)
{
    const int kind = (int)m->precision * 4 + (int)m->qkernel; /* what the buffers were sized for */
    if (m->precision == SEM_PRECISION_F32 || (rows <= ws->cap_q && kind == ws->q_kind))
        return SEM_OK;
    if (rows < ws->cap_q)
        rows = ws->cap_q;
    const size_t H = (size_t)m->cfg.hidden, F = (size_t)m->cfg.ffn;
    const size_t kmax = ((H > F ? H : F) + 3) & ~(size_t)3, nmax = 3 * H > F ? 3 * H : F;
    ws->qa_row = kmax * (m->precision == SEM_PRECISION_BF16 ? 2 : 1);
    ws->cap_q = 0;
    free(ws->qacc);
    ws->qacc = NULL;
    if (grow_bytes((void **)&ws->qa, rows * ws->qa_row) || grow_bytes((void **)&ws->qzp, rows * sizeof(int32_t)) ||
        grow_bytes((void **)&ws->qsa, rows * sizeof(float)) ||
        (m->qkernel == SEM_QK_ONEDNN && m->precision == SEM_PRECISION_INT8 &&
         grow_bytes((void **)&ws->qacc, rows * nmax * sizeof(int32_t))))
        return sem_error_set(err, SEM_ENOMEM, "out of memory for a batch of %zu tokens", rows);
    ws->cap_q = rows;
    ws->q_kind = kind;
    return SEM_OK;
}

void sem_linear_scratch_free(sem_scratch *ws)
{
    free(ws->qa);
    free(ws->qzp);
    free(ws->qsa);
    free(ws->qacc);
}

/* Checks that oneDNN runs this precision here: one row through layer 0's Q/K/V. */
static int probe(sem_model *m)
{
    sem_scratch ws = {0};
    const sem_qweight *q = &m->layers[0].q[0];
    float *x = calloc(q->k, sizeof *x), *y = calloc(q->n, sizeof *y);
    int rc = !x || !y || sem_linear_reserve(m, &ws, 1, NULL) ||
             qlinear_rows(m, q, x, y, 1, ws.qa, ws.qzp, ws.qsa, ws.qacc);
    sem_linear_scratch_free(&ws);
    free(x);
    free(y);
    return rc;
}

int sem_model_set_precision(sem_model *m, sem_precision want, sem_qkernel force, sem_error *err)
{
    if ((int)want < SEM_PRECISION_F32 || (int)want > SEM_PRECISION_INT8)
        return sem_error_set(err, SEM_EINVAL, "unknown precision %d", (int)want);
    sem_model_free_precision(m);
    sem_cpu_features f;
    sem_cpu_features_get(&f);
    m->precision_req = want;
    m->precision = resolve(want, &f, &m->qkernel);
    if (m->precision == SEM_PRECISION_INT8 && force != SEM_QK_NONE)
        m->qkernel = force == SEM_QK_AVX2 && !f.avx2 ? SEM_QK_ONEDNN : force;
    if (m->precision == SEM_PRECISION_F32)
        return SEM_OK;
    const size_t H = (size_t)m->cfg.hidden, F = (size_t)m->cfg.ffn;
    /* 7-bit weights unless VNNI: without it oneDNN multiplies with vpmaddubsw too, and its s16 pair sums of 8-bit
     * weights saturate (measured: cosine to f32 0.983-0.991 on the fixtures instead of 0.9990-0.9998) */
    const float qmax = m->qkernel == SEM_QK_ONEDNN && f.avx512_vnni ? 127.0f : 63.0f;
    dnnl_engine_t eng = NULL;
    if (m->qkernel == SEM_QK_ONEDNN && dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success)
        goto fail;
    m->dnnl_engine = eng;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        sem_layer *L = &m->layers[l];
        if (qweight_build(&L->q[0], m->precision, m->qkernel, qmax, L->wqkv, H, 3 * H) ||
            qweight_build(&L->q[1], m->precision, m->qkernel, qmax, L->wo, H, H) ||
            qweight_build(&L->q[2], m->precision, m->qkernel, qmax, L->wi, H, F) ||
            qweight_build(&L->q[3], m->precision, m->qkernel, qmax, L->wo2, F, H))
            goto fail;
    }
    if (m->qkernel == SEM_QK_ONEDNN && probe(m))
        goto fail;
    return SEM_OK;
fail:
    sem_model_free_precision(m);
    m->precision_req = want;
    if (want == SEM_PRECISION_BF16)
        return SEM_OK; /* oneDNN cannot run it here after all: f32, as on CPUs without the instructions */
    return sem_error_set(err, SEM_ENOMEM, "cannot set up %s weights (out of memory or oneDNN failed)",
                         sem_precision_name(want));
}
