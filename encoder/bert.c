/* encoder/bert.c: the BERT forward pass (HF BertModel, post-LN) on a packed batch, and the per-thread context
 * that holds its scratch memory.
 *
 * Packing: the real tokens of every sequence in a batch are stacked into one (T, hidden) matrix (no padding), so
 * every linear layer is one large GEMM over T rows. Attention runs per (sequence, head) on that sequence's rows
 * only, which is exactly HF's padding mask (masked keys get weight exp(-inf) = 0) without computing the padding.
 * Scratch grows on demand and is reused: after the first batch of a given size, a forward pass allocates
 * nothing. */
#include "encoder/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

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
    ctx->n_threads = nt > SEM_MAX_WORKERS ? SEM_MAX_WORKERS : nt;
    return ctx;
}

static void scratch_free(sem_scratch *ws)
{
    free(ws->x);
    free(ws->qkv);
    free(ws->attn);
    free(ws->tmp);
    free(ws->inter);
    free(ws->scores);
    free(ws->hid_a);
    free(ws->hid_b);
    free(ws->offs);
    sem_linear_scratch_free(ws);
    memset(ws, 0, sizeof *ws);
}

void sem_encoder_ctx_free(sem_encoder_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < SEM_MAX_WORKERS; i++)
        scratch_free(&ctx->ws[i]);
    free(ctx->ids);
    free(ctx->types);
    free(ctx->lens);
    free(ctx->order);
    free(ctx->assign);
    free(ctx);
}

int sem_scratch_reserve(const sem_model *m, sem_scratch *ws, size_t T, size_t n_seq, size_t Lmax, size_t slots,
                        int need_hidden, sem_error *err)
{
    const sem_bert_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, F = (size_t)c->ffn;
    /* T <= n_seq * max_pos and every dimension is bounded in config.c, so these products cannot overflow. */
    if (T > ws->cap_tokens) {
        size_t cap = T < 64 ? 64 : T;
        free(ws->hid_a);
        free(ws->hid_b);
        ws->hid_a = ws->hid_b = NULL;
        ws->cap_hid = 0;
        if (grow(&ws->x, cap * H) || grow(&ws->qkv, cap * 3 * H) || grow(&ws->attn, cap * H) ||
            grow(&ws->tmp, cap * H) || grow(&ws->inter, cap * F)) {
            ws->cap_tokens = 0;
            return sem_error_set(err, SEM_ENOMEM, "out of memory for a batch of %zu tokens", T);
        }
        ws->cap_tokens = cap;
    }
    if (sem_linear_reserve(m, ws, ws->cap_tokens, err))
        return err ? err->code : SEM_ENOMEM;
    if (need_hidden && ws->cap_hid < ws->cap_tokens) {
        if (grow(&ws->hid_a, ws->cap_tokens * H) || grow(&ws->hid_b, ws->cap_tokens * H)) {
            ws->cap_hid = 0;
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
        ws->cap_hid = ws->cap_tokens;
    }
    if (Lmax * Lmax > ws->cap_scores || slots > ws->score_slots) {
        size_t per = Lmax * Lmax > ws->cap_scores ? Lmax * Lmax : ws->cap_scores;
        size_t ns = slots > ws->score_slots ? slots : ws->score_slots;
        if (grow(&ws->scores, per * ns)) {
            ws->cap_scores = ws->score_slots = 0;
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
        ws->cap_scores = per;
        ws->score_slots = ns;
    }
    if (n_seq + 1 > ws->cap_seqs) {
        size_t cap = n_seq < 32 ? 33 : n_seq + 1;
        int *offs = realloc(ws->offs, cap * sizeof *offs);
        if (!offs)
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        ws->offs = offs;
        ws->cap_seqs = cap;
    }
    return SEM_OK;
}

int sem_ctx_reserve(sem_encoder_ctx *ctx, size_t T, size_t n_seq, sem_error *err)
{
    if (T > ctx->cap_ids) {
        size_t cap = T < 64 ? 64 : T;
        int32_t *ids = realloc(ctx->ids, cap * sizeof *ids);
        if (ids)
            ctx->ids = ids;
        int32_t *types = realloc(ctx->types, cap * sizeof *types);
        if (types)
            ctx->types = types;
        if (!ids || !types)
            return sem_error_set(err, SEM_ENOMEM, "out of memory for a batch of %zu tokens", T);
        ctx->cap_ids = cap;
    }
    if (n_seq > ctx->cap_seqs) {
        size_t cap = n_seq < 32 ? 32 : n_seq;
        int *lens = realloc(ctx->lens, cap * sizeof *lens);
        if (lens)
            ctx->lens = lens;
        int *order = realloc(ctx->order, cap * sizeof *order);
        if (order)
            ctx->order = order;
        int *assign = realloc(ctx->assign, cap * sizeof *assign);
        if (assign)
            ctx->assign = assign;
        if (!lens || !order || !assign)
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        ctx->cap_seqs = cap;
    }
    return SEM_OK;
}

/* Self-attention for every (sequence, head): attn (T, H) from qkv (T, 3H) = [q | k | v] with biases added. */
static void attention(const sem_model *m, sem_scratch *ws, const int *offs, int n_seq, int nt_max)
{
    const sem_bert_config *c = &m->cfg;
    const int H = c->hidden, nh = c->n_heads, d = H / nh, ld = 3 * H;
    const float scale = 1.0f / sqrtf((float)d);
    const long items = (long)n_seq * nh;
    /* threads only when there is work enough to pay for waking them (sum of L^2 * hidden multiply-adds) */
    double work = 0;
    for (int s = 0; s < n_seq; s++)
        work += (double)(offs[s + 1] - offs[s]) * (offs[s + 1] - offs[s]) * H;
    int nt = work >= (double)(1 << 22) ? nt_max : 1;
    if (nt > (int)ws->score_slots)
        nt = (int)ws->score_slots;
    const float *qkv = ws->qkv;
    float *attn = ws->attn;
#pragma omp parallel for num_threads(nt) if (nt > 1 && items > 1) schedule(dynamic)
    for (long it = 0; it < items; it++) {
        int s = (int)(it / nh), h = (int)(it % nh);
        int tid = 0;
#ifdef _OPENMP
        tid = nt > 1 ? omp_get_thread_num() : 0;
#endif
        float *S = ws->scores + (size_t)tid * ws->cap_scores; /* (L, L) */
        const int L = offs[s + 1] - offs[s];
        const float *q = qkv + (size_t)offs[s] * ld + (size_t)h * d;
        const float *k = q + H, *v = q + 2 * H;
        /* scores = q k^T / sqrt(d) */
        sem_sgemm(1, L, L, d, scale, q, ld, k, ld, S, L);
        sem_softmax_rows(S, (size_t)L, (size_t)L, (size_t)L);
        /* out = softmax(scores) v, written into this head's columns */
        sem_sgemm(0, L, d, L, 1.0f, S, L, v, ld, attn + (size_t)offs[s] * H + (size_t)h * d, H);
    }
}

int sem_bert_forward(const sem_model *m, sem_scratch *ws, int nt, const int32_t *ids, const int32_t *types,
                     const int *lens, int n_seq, float *const *hidden, sem_error *err)
{
    const sem_bert_config *c = &m->cfg;
    const size_t H = (size_t)c->hidden, F = (size_t)c->ffn;
    if (n_seq < 1 || (size_t)n_seq + 1 > ws->cap_seqs)
        return sem_error_set(err, SEM_EINTERNAL, "forward: %d sequences, room for %zu", n_seq, ws->cap_seqs);
    int *offs = ws->offs;
    offs[0] = 0;
    for (int s = 0; s < n_seq; s++) {
        if (lens[s] < 1 || lens[s] > c->max_pos)
            return sem_error_set(err, SEM_ERANGE, "sequence %d has %d tokens (1..%d)", s, lens[s], c->max_pos);
        if ((size_t)lens[s] * (size_t)lens[s] > ws->cap_scores)
            return sem_error_set(err, SEM_EINTERNAL, "forward: scratch too small");
        offs[s + 1] = offs[s] + lens[s];
    }
    const size_t T = (size_t)offs[n_seq];
    if (T > ws->cap_tokens)
        return sem_error_set(err, SEM_EINTERNAL, "forward: %zu tokens, room for %zu", T, ws->cap_tokens);

    /* embeddings: x (T, H) = LayerNorm((word[id] + type[tt]) + pos[p]) (HF's order of additions) */
    float *x = ws->x;
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
        int rc = sem_linear(m, ws, &L->q[0], L->wqkv, x, ws->qkv, T, H, 3 * H, nt, err);
        if (rc)
            return rc;
        sem_bias_act(ws->qkv, L->bqkv, T, 3 * H, SEM_ACT_NONE, nt);
        attention(m, ws, offs, n_seq, nt);
        /* x = LayerNorm(attn . Wo + bo + x) */
        if ((rc = sem_linear(m, ws, &L->q[1], L->wo, ws->attn, ws->tmp, T, H, H, nt, err)))
            return rc;
        sem_add_layernorm(x, ws->tmp, L->bo, L->ln1_g, L->ln1_b, T, H, c->ln_eps, nt);
        /* inter (T, F) = act(x . Wi + bi) */
        if ((rc = sem_linear(m, ws, &L->q[2], L->wi, x, ws->inter, T, H, F, nt, err)))
            return rc;
        sem_bias_act(ws->inter, L->bi, T, F, c->act, nt);
        /* x = LayerNorm(inter . Wo2 + bo2 + x) */
        if ((rc = sem_linear(m, ws, &L->q[3], L->wo2, ws->inter, ws->tmp, T, F, H, nt, err)))
            return rc;
        sem_add_layernorm(x, ws->tmp, L->bo2, L->ln2_g, L->ln2_b, T, H, c->ln_eps, nt);
        if (hidden && hidden[l + 1])
            memcpy(hidden[l + 1], x, T * H * sizeof *x);
    }
    return SEM_OK;
}
