/* encoder/bert.c: the BERT forward pass (HF BertModel, post-LN) on a packed batch, and the per-thread context
 * that holds its scratch memory.
 *
 * Packing: the real tokens of every sequence in a batch are stacked into one (T, hidden) matrix (no padding), so
 * every linear layer is one large GEMM over T rows. Attention runs per (sequence, head) on that sequence's rows
 * only, which is exactly HF's padding mask (masked keys get weight exp(-inf) = 0) without computing the padding.
 * Scratch grows on demand and is reused: after the first batch of a given size, a forward pass allocates
 * nothing. */
#include "encoder/internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_THREADS 64

static int grow(float **p, size_t n_floats)
{
    free(*p);
    size_t bytes = (n_floats * sizeof(float) + 63) & ~(size_t)63;
    *p = aligned_alloc(64, bytes ? bytes : 64);
    return *p ? 0 : -1;
}

sem_encoder_ctx *sem_encoder_ctx_new(const sem_model *m, sem_error *err)
{
    if (!m) {
        sem_error_set(err, SEM_EINVAL, "no model");
        return NULL;
    }
    sem_encoder_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    ctx->m = m;
    int nt = m->n_threads > 0 ? m->n_threads : 1;
    ctx->n_threads = nt > MAX_THREADS ? MAX_THREADS : nt;
    return ctx;
}

void sem_encoder_ctx_free(sem_encoder_ctx *ctx)
{
    if (!ctx)
        return;
    free(ctx->x);
    free(ctx->qkv);
    free(ctx->attn);
    free(ctx->tmp);
    free(ctx->inter);
    free(ctx->scores);
    free(ctx->hid_a);
    free(ctx->hid_b);
    free(ctx->ids);
    free(ctx->types);
    free(ctx->lens);
    free(ctx->offs);
    free(ctx->pool_tmp);
    free(ctx);
}

int sem_ctx_reserve(sem_encoder_ctx *ctx, size_t T, size_t n_seq, size_t Lmax, int need_hidden, sem_error *err)
{
    const sem_bert_config *c = &ctx->m->cfg;
    size_t H = (size_t)c->hidden, F = (size_t)c->ffn;
    /* T <= n_seq * max_pos and every dimension is bounded in config.c, so these products cannot overflow. */
    if (T > ctx->cap_tokens) {
        size_t cap = T < 64 ? 64 : T;
        free(ctx->hid_a);
        free(ctx->hid_b);
        ctx->hid_a = ctx->hid_b = NULL;
        ctx->cap_hid = 0;
        int32_t *ids = realloc(ctx->ids, cap * sizeof *ids);
        if (ids)
            ctx->ids = ids;
        int32_t *types = realloc(ctx->types, cap * sizeof *types);
        if (types)
            ctx->types = types;
        if (!ids || !types || grow(&ctx->x, cap * H) || grow(&ctx->qkv, cap * 3 * H) || grow(&ctx->attn, cap * H) ||
            grow(&ctx->tmp, cap * H) || grow(&ctx->inter, cap * F)) {
            ctx->cap_tokens = 0;
            return sem_error_set(err, SEM_ENOMEM, "out of memory for a batch of %zu tokens", T);
        }
        ctx->cap_tokens = cap;
    }
    if (need_hidden && ctx->cap_hid < ctx->cap_tokens) {
        if (grow(&ctx->hid_a, ctx->cap_tokens * H) || grow(&ctx->hid_b, ctx->cap_tokens * H)) {
            ctx->cap_hid = 0;
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
        ctx->cap_hid = ctx->cap_tokens;
    }
    if (Lmax * Lmax > ctx->cap_scores) {
        if (grow(&ctx->scores, Lmax * Lmax * (size_t)ctx->n_threads)) {
            ctx->cap_scores = 0;
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
        ctx->cap_scores = Lmax * Lmax;
    }
    if (n_seq > ctx->cap_seqs) {
        size_t cap = n_seq < 32 ? 32 : n_seq;
        int *lens = realloc(ctx->lens, cap * sizeof *lens);
        if (lens)
            ctx->lens = lens;
        int *offs = realloc(ctx->offs, (cap + 1) * sizeof *offs);
        if (offs)
            ctx->offs = offs;
        if (!lens || !offs || grow(&ctx->pool_tmp, cap * H)) {
            ctx->cap_seqs = 0;
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
        ctx->cap_seqs = cap;
    }
    return SEM_OK;
}

/* y (T, n) = x (T, k) . w (k, n), all row-major. With several workers the product is cut into blocks of rows
 * (or, for few rows, of columns), one cblas_sgemm each: OpenBLAS runs single-threaded inside the OpenMP region. */
static void linear(const float *x, const float *w, float *y, size_t T, size_t k, size_t n, int nt)
{
    if (nt <= 1 || (double)T * (double)n * (double)k < (double)(1 << 21)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)n, (int)k, 1.0f, x, (int)k, w, (int)n,
                    0.0f, y, (int)n);
        return;
    }
    const int by_rows = T >= (size_t)nt * 64;
    const size_t len = by_rows ? T : n;
    size_t step = (len + (size_t)nt - 1) / (size_t)nt;
    step = (step + 15) & ~(size_t)15; /* whole kernel blocks */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int b = 0; b < nt; b++) {
        size_t lo = (size_t)b * step, hi = lo + step < len ? lo + step : len;
        if (lo >= hi)
            continue;
        if (by_rows)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(hi - lo), (int)n, (int)k, 1.0f, x + lo * k,
                        (int)k, w, (int)n, 0.0f, y + lo * n, (int)n);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)(hi - lo), (int)k, 1.0f, x, (int)k,
                        w + lo, (int)n, 0.0f, y + lo, (int)n);
    }
}

/* Self-attention for every (sequence, head): attn (T, H) from qkv (T, 3H) = [q | k | v] with biases added. */
static void attention(sem_encoder_ctx *ctx, const int *offs, int n_seq)
{
    const sem_bert_config *c = &ctx->m->cfg;
    const int H = c->hidden, nh = c->n_heads, d = H / nh, ld = 3 * H;
    const float scale = 1.0f / sqrtf((float)d);
    const long items = (long)n_seq * nh;
    /* threads only when there is work enough to pay for waking them (sum of L^2 * hidden multiply-adds) */
    double work = 0;
    for (int s = 0; s < n_seq; s++)
        work += (double)(offs[s + 1] - offs[s]) * (offs[s + 1] - offs[s]) * H;
    const int nt = work >= (double)(1 << 22) ? ctx->n_threads : 1;
    const float *qkv = ctx->qkv;
    float *attn = ctx->attn;
#pragma omp parallel for num_threads(nt) if (nt > 1 && items > 1) schedule(dynamic)
    for (long it = 0; it < items; it++) {
        int s = (int)(it / nh), h = (int)(it % nh);
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        float *S = ctx->scores + (size_t)tid * ctx->cap_scores; /* (L, L) */
        const int L = offs[s + 1] - offs[s];
        const float *q = qkv + (size_t)offs[s] * ld + (size_t)h * d;
        const float *k = q + H, *v = q + 2 * H;
        /* scores = q k^T / sqrt(d) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, d, scale, q, ld, k, ld, 0.0f, S, L);
        sem_softmax_rows(S, (size_t)L, (size_t)L, (size_t)L);
        /* out = softmax(scores) v, written into this head's columns */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, d, L, 1.0f, S, L, v, ld, 0.0f,
                    attn + (size_t)offs[s] * H + (size_t)h * d, H);
    }
}

int sem_bert_forward(sem_encoder_ctx *ctx, const int32_t *ids, const int32_t *types, const int *lens, int n_seq,
                     float *const *hidden, sem_error *err)
{
    const sem_model *m = ctx->m;
    const sem_bert_config *c = &m->cfg;
    const size_t H = (size_t)c->hidden, F = (size_t)c->ffn;
    const int nt = ctx->n_threads;
    if (n_seq < 1 || (size_t)n_seq > ctx->cap_seqs)
        return sem_error_set(err, SEM_EINTERNAL, "forward: %d sequences, room for %zu", n_seq, ctx->cap_seqs);
    int *offs = ctx->offs;
    offs[0] = 0;
    for (int s = 0; s < n_seq; s++) {
        if (lens[s] < 1 || lens[s] > c->max_pos)
            return sem_error_set(err, SEM_ERANGE, "sequence %d has %d tokens (1..%d)", s, lens[s], c->max_pos);
        if ((size_t)lens[s] * (size_t)lens[s] > ctx->cap_scores)
            return sem_error_set(err, SEM_EINTERNAL, "forward: scratch too small");
        offs[s + 1] = offs[s] + lens[s];
    }
    const size_t T = (size_t)offs[n_seq];
    if (T > ctx->cap_tokens)
        return sem_error_set(err, SEM_EINTERNAL, "forward: %zu tokens, room for %zu", T, ctx->cap_tokens);

    /* embeddings: x (T, H) = LayerNorm((word[id] + type[tt]) + pos[p]) (HF's order of additions) */
    float *x = ctx->x;
    for (int s = 0; s < n_seq; s++)
        for (int p = 0; p < lens[s]; p++) {
            size_t t = (size_t)offs[s] + (size_t)p;
            int32_t id = ids[t], tt = types ? types[t] : 0;
            if (id < 0 || id >= c->vocab)
                return sem_error_set(err, SEM_EINVAL, "sequence %d: token id %d is outside the vocabulary (%d)", s,
                                     (int)id, c->vocab);
            if (tt < 0 || tt >= c->type_vocab)
                return sem_error_set(err, SEM_EINVAL, "sequence %d: token type %d is out of range (%d types)", s,
                                     (int)tt, c->type_vocab);
            const float *we = m->word_emb + (size_t)id * H, *te = m->type_emb + (size_t)tt * H,
                        *pe = m->pos_emb + (size_t)p * H;
            float *xr = x + t * H;
            for (size_t i = 0; i < H; i++)
                xr[i] = (we[i] + te[i]) + pe[i];
        }
    sem_add_layernorm(x, NULL, NULL, m->emb_ln_g, m->emb_ln_b, T, H, c->ln_eps, nt);
    if (hidden && hidden[0])
        memcpy(hidden[0], x, T * H * sizeof *x);

    for (int l = 0; l < c->n_layers; l++) {
        const sem_layer *L = &m->layers[l];
        /* qkv (T, 3H) = x . [Wq | Wk | Wv] + [bq | bk | bv] */
        linear(x, L->wqkv, ctx->qkv, T, H, 3 * H, nt);
        sem_bias_act(ctx->qkv, L->bqkv, T, 3 * H, SEM_ACT_NONE, nt);
        attention(ctx, offs, n_seq);
        /* x = LayerNorm(attn . Wo + bo + x) */
        linear(ctx->attn, L->wo, ctx->tmp, T, H, H, nt);
        sem_add_layernorm(x, ctx->tmp, L->bo, L->ln1_g, L->ln1_b, T, H, c->ln_eps, nt);
        /* inter (T, F) = act(x . Wi + bi) */
        linear(x, L->wi, ctx->inter, T, H, F, nt);
        sem_bias_act(ctx->inter, L->bi, T, F, c->act, nt);
        /* x = LayerNorm(inter . Wo2 + bo2 + x) */
        linear(ctx->inter, L->wo2, ctx->tmp, T, F, H, nt);
        sem_add_layernorm(x, ctx->tmp, L->bo2, L->ln2_g, L->ln2_b, T, H, c->ln_eps, nt);
        if (hidden && hidden[l + 1])
            memcpy(hidden[l + 1], x, T * H * sizeof *x);
    }
    return SEM_OK;
}
