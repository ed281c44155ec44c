/* train/model.c: forward (keeping activations) and backward of a post-LN BERT, its pooling, the MLM head and
 * the contrastive loss. See train/model.h. Shapes: B sequences, T tokens, BT = B*T rows, H hidden, nh heads,
 * d = H/nh head size, F intermediate size, V vocabulary, M masked positions. All buffers are row-major. */
#include "train/model.h"

#include "common/hash.h"
#include "encoder/hfmodel.h" /* SEM_MAX_*: the limits the encoder loads */

#include <cblas.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
static int max_threads(void) { return omp_get_max_threads(); }
static int thread_num(void) { return omp_get_thread_num(); }
#else
static int max_threads(void) { return 1; }
static int thread_num(void) { return 0; }
#endif
#include <stdlib.h>
#include <string.h>

#ifdef SEM_TRAIN_F64
#define REXP exp
#else
#define REXP expf /* float exp for the softmaxes of the float build: several times faster than exp */
#endif

/* ---------------------------------------------------------------------------------------------------------- */
/* Dropout */

/* 1 keeps element idx of dropout site `site` under probability p: a pure function of (seed, site, idx), so that
 * the backward pass and a resumed run see the same mask. */
static int dropout_keep(uint64_t seed, uint64_t site, uint64_t idx, double p)
{
    uint64_t h = sem_hash64(sem_hash64(seed ^ (site * 0xD1B54A32D192ED03ULL)) + idx);
    double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);
    return u >= p;
}

/* Fills mask (n) with 0 or 1/(1-p) for dropout site `site`. */
static void dropout_mask(sem_real *mask, size_t n, double p, uint64_t seed, uint64_t site)
{
    sem_real keep = (sem_real)(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++)
        mask[i] = dropout_keep(seed, site, i, p) ? keep : 0;
}

enum { SITE_EMB = 1, SITE_ATT = 2, SITE_AO = 3, SITE_FO = 4 };
static uint64_t site_of(int layer, int kind) { return (uint64_t)(layer + 1) * 16u + (uint64_t)kind; }

/* ---------------------------------------------------------------------------------------------------------- */
/* Parameters */

static const struct {
    const char *name;
    int decay;
} tparam_info[SEM_TP_COUNT] = {
    {"wte", 1},    {"wpe", 1},   {"wtt", 1},    {"emb_ln_w", 0}, {"emb_ln_b", 0}, {"qkv_w", 1},    {"qkv_b", 0},
    {"ao_w", 1},   {"ao_b", 0},  {"ln1_w", 0},  {"ln1_b", 0},    {"fi_w", 1},     {"fi_b", 0},     {"fo_w", 1},
    {"fo_b", 0},   {"ln2_w", 0}, {"ln2_b", 0},  {"pool_w", 1},   {"pool_b", 0},   {"mlm_w", 1},    {"mlm_b", 0},
    {"mlm_ln_w", 0}, {"mlm_ln_b", 0}, {"mlm_bias", 0},
};

const char *sem_tparam_name(int i) { return i >= 0 && i < SEM_TP_COUNT ? tparam_info[i].name : "?"; }
int sem_tparam_decay(int i) { return i >= 0 && i < SEM_TP_COUNT ? tparam_info[i].decay : 0; }

int sem_tconfig_check(const sem_tconfig *c, sem_error *err)
{
    if (c->vocab_size < 1 || c->vocab_size > SEM_MAX_VOCAB)
        return sem_error_set(err, SEM_EINVAL, "vocab_size %d out of range", c->vocab_size);
    if (c->hidden < 1 || c->hidden > SEM_MAX_HIDDEN)
        return sem_error_set(err, SEM_EINVAL, "hidden_size %d out of range", c->hidden);
    if (c->layers < 1 || c->layers > SEM_MAX_LAYERS)
        return sem_error_set(err, SEM_EINVAL, "num_hidden_layers %d out of range", c->layers);
    if (c->heads < 1 || c->hidden % c->heads != 0)
        return sem_error_set(err, SEM_EINVAL, "num_attention_heads %d does not divide hidden_size %d", c->heads,
                             c->hidden);
    if (c->ffn < 1 || c->ffn > SEM_MAX_FFN)
        return sem_error_set(err, SEM_EINVAL, "intermediate_size %d out of range", c->ffn);
    if (c->max_pos < 2 || c->max_pos > SEM_MAX_POSITIONS)
        return sem_error_set(err, SEM_EINVAL, "max_position_embeddings %d out of range", c->max_pos);
    if (c->type_vocab < 1 || c->type_vocab > SEM_MAX_TYPE_VOCAB)
        return sem_error_set(err, SEM_EINVAL, "type_vocab_size %d out of range", c->type_vocab);
    if (!(c->ln_eps > 0 && c->ln_eps <= 1))
        return sem_error_set(err, SEM_EINVAL, "layer_norm_eps %g out of range", c->ln_eps);
    if (!(c->hidden_dropout >= 0 && c->hidden_dropout < 1) || !(c->attn_dropout >= 0 && c->attn_dropout < 1))
        return sem_error_set(err, SEM_EINVAL, "dropout probabilities must be in [0, 1)");
    if (c->act < SEM_TACT_GELU || c->act > SEM_TACT_RELU)
        return sem_error_set(err, SEM_EINVAL, "unknown activation");
    if (c->pad_id < 0 || c->pad_id >= c->vocab_size)
        return sem_error_set(err, SEM_EINVAL, "pad_token_id %d outside the vocabulary", c->pad_id);
    return SEM_OK;
}

static void tensor_sizes(const sem_tconfig *c, size_t *s)
{
    size_t V = (size_t)c->vocab_size, H = (size_t)c->hidden, L = (size_t)c->layers, F = (size_t)c->ffn;
    size_t sz[SEM_TP_COUNT] = {V * H,     (size_t)c->max_pos * H, (size_t)c->type_vocab * H, H, H,
                               L * 3 * H * H, L * 3 * H, L * H * H, L * H, L * H,
                               L * H,     L * F * H, L * F, L * H * F, L * H,
                               L * H,     L * H,     H * H, H,     H * H,
                               H,         H,         H,     V};
    memcpy(s, sz, sizeof sz);
}

static void set_ptrs(sem_tptrs *p, sem_real *base, const size_t *sizes)
{
    size_t off = 0;
    for (int i = 0; i < SEM_TP_COUNT; i++) {
        p->t[i] = base + off;
        off += sizes[i];
    }
}

sem_tmodel *sem_tmodel_new(const sem_tconfig *cfg, sem_error *err)
{
    if (sem_tconfig_check(cfg, err) != SEM_OK)
        return NULL;
    sem_tmodel *m = calloc(1, sizeof *m);
    if (!m) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    tensor_sizes(cfg, m->sizes);
    for (int i = 0; i < SEM_TP_COUNT; i++)
        m->n_params += m->sizes[i];
    m->params = calloc(m->n_params, sizeof(sem_real));
    m->grads = calloc(m->n_params, sizeof(sem_real));
    if (!m->params || !m->grads) {
        sem_error_set(err, SEM_ENOMEM, "out of memory for %zu parameters", m->n_params);
        sem_tmodel_free(m);
        return NULL;
    }
    set_ptrs(&m->w, m->params, m->sizes);
    set_ptrs(&m->g, m->grads, m->sizes);
    return m;
}

void sem_tmodel_free(sem_tmodel *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m);
}

void sem_tmodel_zero_grad(sem_tmodel *m) { memset(m->grads, 0, m->n_params * sizeof(sem_real)); }

static double normal(uint64_t *st)
{
    double u1 = sem_rng_uniform(st), u2 = sem_rng_uniform(st);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void sem_tmodel_init(sem_tmodel *m, uint64_t seed)
{
    uint64_t st = seed;
    double r = m->cfg.init_range > 0 ? m->cfg.init_range : 0.02;
    for (int i = 0; i < SEM_TP_COUNT; i++) {
        const char *n = tparam_info[i].name;
        sem_real *p = m->w.t[i];
        size_t cnt = m->sizes[i];
        int is_ln_w = strstr(n, "ln_w") || strcmp(n, "ln1_w") == 0 || strcmp(n, "ln2_w") == 0;
        int is_bias = !is_ln_w && !tparam_info[i].decay;
        for (size_t k = 0; k < cnt; k++)
            p[k] = is_ln_w ? 1 : is_bias ? 0 : (sem_real)(r * normal(&st));
    }
    memset(m->w.p.wte + (size_t)m->cfg.pad_id * m->cfg.hidden, 0, sizeof(sem_real) * m->cfg.hidden);
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Workspace */

struct sem_tacts {
    int maxB, maxT, max_pred;
    size_t bt_cap; /* maxB * maxT */
    int B, T;      /* shape of the last forward */
    int train;
    int32_t *ids, *types, *mask; /* (BT) copies of the last batch */
    sem_real *emb_pre;           /* (BT, H) word + position + type, before LayerNorm */
    sem_real *emb_mean, *emb_rstd; /* (BT) */
    sem_real *emb_drop;          /* (BT, H) dropout scales */
    sem_real *x0;                /* (BT, H) embedding output (after LayerNorm and dropout) */
    sem_real *qkv;               /* (L, BT, 3H) */
    sem_real *att;               /* (L, B, nh, T, T) softmax probabilities before dropout */
    sem_real *att_drop;          /* (L, B, nh, T, T) dropout scales */
    sem_real *ctx;               /* (L, BT, H) attention context */
    sem_real *ao_drop;           /* (L, BT, H) */
    sem_real *r1;                /* (L, BT, H) dropout(attention output) + input, before LayerNorm */
    sem_real *ln1_mean, *ln1_rstd; /* (L, BT) */
    sem_real *h1;                /* (L, BT, H) */
    sem_real *fi;                /* (L, BT, F) before activation */
    sem_real *fa;                /* (L, BT, F) after activation */
    sem_real *fo_drop;           /* (L, BT, H) */
    sem_real *r2;                /* (L, BT, H) */
    sem_real *ln2_mean, *ln2_rstd; /* (L, BT) */
    sem_real *h2;                /* (L, BT, H) layer outputs */
    sem_real *dA, *dB, *dC;      /* (BT, H) backward scratch */
    sem_real *dF;                /* (BT, F) */
    sem_real *dQ;                /* (BT, 3H) */
    sem_real *sP, *sD;           /* (nthr, T, T) per-thread scratch of the attention loops */
    int nthr;                    /* OpenMP threads the scratch is sized for */
    double *mrow;                /* (M) per-row MLM losses (summed in order: deterministic) */
    int *marg;                   /* (M) per-row argmax */
    /* MLM head, M <= max_pred */
    sem_real *mx, *mz, *ma, *my; /* (M, H) */
    sem_real *m_mean, *m_rstd;   /* (M) */
    sem_real *logits;            /* (M, V) */
    sem_real *dm1, *dm2;         /* (M, H) */
    /* pooling and contrastive */
    sem_real *pin, *pooled, *unit, *de, *dpin; /* (B, H) */
    sem_real *nrm;                             /* (B) */
    sem_real *sim;                             /* (n_anchors, B - n_anchors) */
    void *block;
};

sem_tacts *sem_tacts_new(const sem_tconfig *c, int max_B, int max_T, int max_pred, sem_error *err)
{
    if (max_B < 1 || max_T < 1 || max_pred < 0 || max_B > 1 << 20 || max_T > 1 << 16 || max_pred > 1 << 24) {
        sem_error_set(err, SEM_EINVAL, "bad workspace shape (%d, %d, %d)", max_B, max_T, max_pred);
        return NULL;
    }
    sem_tacts *a = calloc(1, sizeof *a);
    if (!a) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    a->maxB = max_B;
    a->maxT = max_T;
    a->max_pred = max_pred;
    a->nthr = max_threads() > 0 ? max_threads() : 1;
    size_t BT = (size_t)max_B * max_T, H = (size_t)c->hidden, F = (size_t)c->ffn, L = (size_t)c->layers;
    size_t nh = (size_t)c->heads, T = (size_t)max_T, M = (size_t)max_pred, V = (size_t)c->vocab_size;
    size_t B = (size_t)max_B;
    a->bt_cap = BT;
    struct {
        sem_real **p;
        size_t n;
    } plan[] = {
        {&a->emb_pre, BT * H},  {&a->emb_mean, BT},        {&a->emb_rstd, BT},        {&a->emb_drop, BT * H},
        {&a->x0, BT * H},       {&a->qkv, L * BT * 3 * H}, {&a->att, L * BT * nh * T}, {&a->att_drop, L * BT * nh * T},
        {&a->ctx, L * BT * H},  {&a->ao_drop, L * BT * H}, {&a->r1, L * BT * H},       {&a->ln1_mean, L * BT},
        {&a->ln1_rstd, L * BT}, {&a->h1, L * BT * H},      {&a->fi, L * BT * F},       {&a->fa, L * BT * F},
        {&a->fo_drop, L * BT * H}, {&a->r2, L * BT * H},   {&a->ln2_mean, L * BT},     {&a->ln2_rstd, L * BT},
        {&a->h2, L * BT * H},   {&a->dA, BT * H},          {&a->dB, BT * H},           {&a->dC, BT * H},
        {&a->dF, BT * F},       {&a->dQ, BT * 3 * H},      {&a->sP, T * T * (size_t)a->nthr}, {&a->sD, T * T * (size_t)a->nthr},
        {&a->mx, M * H},        {&a->mz, M * H},           {&a->ma, M * H},            {&a->my, M * H},
        {&a->m_mean, M},        {&a->m_rstd, M},           {&a->logits, M * V},        {&a->dm1, M * H},
        {&a->dm2, M * H},       {&a->pin, B * H},          {&a->pooled, B * H},        {&a->unit, B * H},
        {&a->de, B * H},        {&a->dpin, B * H},         {&a->nrm, B},               {&a->sim, B * B},
    };
    size_t total = 0, n_plan = sizeof plan / sizeof plan[0];
    for (size_t i = 0; i < n_plan; i++) {
        if (plan[i].n > ((size_t)1 << 40) || total > ((size_t)1 << 40)) {
            free(a);
            sem_error_set(err, SEM_ENOMEM, "workspace too large");
            return NULL;
        }
        total += (plan[i].n + 15) & ~(size_t)15; /* 64-byte aligned slices for float */
    }
    a->block = calloc(total ? total : 1, sizeof(sem_real));
    a->ids = malloc(sizeof(int32_t) * BT * 3);
    a->mrow = malloc(sizeof(double) * (M + 1));
    a->marg = malloc(sizeof(int) * (M + 1));
    if (!a->block || !a->ids || !a->mrow || !a->marg) {
        free(a->block);
        free(a->ids);
        free(a->mrow);
        free(a->marg);
        free(a);
        sem_error_set(err, SEM_ENOMEM, "out of memory for the training workspace (%zu MB)",
                      total * sizeof(sem_real) >> 20);
        return NULL;
    }
    a->types = a->ids + BT;
    a->mask = a->ids + 2 * BT;
    sem_real *p = a->block;
    for (size_t i = 0; i < n_plan; i++) {
        *plan[i].p = p;
        p += (plan[i].n + 15) & ~(size_t)15;
    }
    return a;
}

void sem_tacts_free(sem_tacts *a)
{
    if (!a)
        return;
    free(a->block);
    free(a->ids);
    free(a->mrow);
    free(a->marg);
    free(a);
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Building blocks */

/* C (M,N) = alpha * op(A) op(B) + beta * C, row-major. */
static void gemm(int ta, int tb, int M, int N, int K, double alpha, const sem_real *A, int lda, const sem_real *Bm,
                 int ldb, double beta, sem_real *C, int ldc)
{
#ifdef SEM_TRAIN_F64
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                lda, Bm, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K,
                (float)alpha, A, lda, Bm, ldb, (float)beta, C, ldc);
#endif
}

/* out (N, K_out) = in (N, K_in) · w (K_out, K_in)^T + b (K_out) */
static void matmul_fwd(sem_real *out, const sem_real *in, const sem_real *w, const sem_real *b, int N, int K_in, int K_out)
{
    gemm(0, 1, N, K_out, K_in, 1.0, in, K_in, w, K_in, 0.0, out, K_out);
    if (b)
        for (int n = 0; n < N; n++) {
            sem_real *o = out + (size_t)n * K_out;
            for (int k = 0; k < K_out; k++)
                o[k] += b[k];
        }
}

/* din (N, K_in) = dout (N, K_out) · w (K_out, K_in) (+ din when accumulate); dw (K_out, K_in) += dout^T · in; db (K_out) += colsum dout.
 * din may be NULL. */
static void matmul_bwd(sem_real *din, int accumulate, sem_real *dw, sem_real *db, const sem_real *dout,
                       const sem_real *in, const sem_real *w, int N, int K_in, int K_out)
{
    if (din)
        gemm(0, 0, N, K_in, K_out, 1.0, dout, K_out, w, K_in, accumulate ? 1.0 : 0.0, din, K_in);
    gemm(1, 0, K_out, K_in, N, 1.0, dout, K_out, in, K_in, 1.0, dw, K_in);
    if (db)
        for (int n = 0; n < N; n++) {
            const sem_real *d = dout + (size_t)n * K_out;
            for (int k = 0; k < K_out; k++)
                db[k] += d[k];
        }
}

/* out (N, H) = LayerNorm(in (N, H)) * w + b; mean, rstd (N) kept for the backward pass. */
static void layernorm_fwd(sem_real *out, sem_real *mean, sem_real *rstd, const sem_real *in, const sem_real *w,
                          const sem_real *b, int N, int H, double eps)
{
#pragma omp parallel for schedule(static) if ((size_t)N * H > 65536)
    for (int n = 0; n < N; n++) {
        const sem_real *x = in + (size_t)n * H;
        sem_real *y = out + (size_t)n * H;
        double s = 0, v = 0;
        for (int k = 0; k < H; k++)
            s += x[k];
        double mu = s / H;
        for (int k = 0; k < H; k++)
            v += ((double)x[k] - mu) * ((double)x[k] - mu);
        double rs = 1.0 / sqrt(v / H + eps);
        for (int k = 0; k < H; k++)
            y[k] = (sem_real)(((double)x[k] - mu) * rs * w[k] + b[k]);
        mean[n] = (sem_real)mu;
        rstd[n] = (sem_real)rs;
    }
}

/* din (N, H) = d LayerNorm / d in · dout; dw, db (H) accumulate. din may alias dout. */
static void layernorm_bwd(sem_real *din, sem_real *dw, sem_real *db, const sem_real *dout, const sem_real *in,
                          const sem_real *mean, const sem_real *rstd, const sem_real *w, int N, int H)
{
    for (int n = 0; n < N; n++) {
        const sem_real *x = in + (size_t)n * H, *dy = dout + (size_t)n * H;
        sem_real *dx = din + (size_t)n * H;
        double mu = mean[n], rs = rstd[n], m1 = 0, m2 = 0;
        for (int k = 0; k < H; k++) {
            double xh = ((double)x[k] - mu) * rs, g = (double)dy[k] * w[k];
            m1 += g;
            m2 += g * xh;
            dw[k] += (sem_real)(dy[k] * xh);
            db[k] += dy[k];
        }
        m1 /= H;
        m2 /= H;
        for (int k = 0; k < H; k++) {
            double xh = ((double)x[k] - mu) * rs, g = (double)dy[k] * w[k];
            dx[k] = (sem_real)(rs * (g - m1 - xh * m2));
        }
    }
}

static const double SQRT_2_OVER_PI = 0.7978845608028654;

#ifdef SEM_TRAIN_F64
#define RERF erf
#else
#define RERF erff
#endif

static void act_fwd(sem_real *out, const sem_real *in, size_t n, sem_tact act)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        double x = in[i];
        switch (act) {
        case SEM_TACT_GELU: out[i] = (sem_real)(0.5 * x * (1.0 + RERF((sem_real)(x * M_SQRT1_2)))); break;
        case SEM_TACT_GELU_NEW:
            out[i] = (sem_real)(0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))));
            break;
        default: out[i] = x > 0 ? (sem_real)x : 0; break;
        }
    }
}

/* d (n) *= act'(in) */
static void act_bwd(sem_real *d, const sem_real *in, size_t n, sem_tact act)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        double x = in[i], g;
        switch (act) {
        case SEM_TACT_GELU:
            g = 0.5 * (1.0 + RERF((sem_real)(x * M_SQRT1_2))) + x * REXP((sem_real)(-0.5 * x * x)) * 0.3989422804014327;
            break;
        case SEM_TACT_GELU_NEW: {
            double t = tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
            g = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x);
            break;
        }
        default: g = x > 0 ? 1.0 : 0.0; break;
        }
        d[i] = (sem_real)(d[i] * g);
    }
}

/* Scaled dot-product attention of one layer.
 * qkv (BT, 3H) → att (B, nh, T, T) probabilities (masked keys 0), ctx (BT, H) = dropout(att) · V. */
static void attention_fwd(sem_tacts *a, const sem_tconfig *c, int l, const sem_tfwd *fw)
{
    int B = a->B, T = a->T, H = c->hidden, nh = c->heads, d = H / nh;
    size_t BT = (size_t)B * T;
    const sem_real *qkv = a->qkv + (size_t)l * a->bt_cap * 3 * H;
    sem_real *att = a->att + (size_t)l * a->bt_cap * nh * a->maxT;
    sem_real *drop = a->att_drop + (size_t)l * a->bt_cap * nh * a->maxT;
    sem_real *ctx = a->ctx + (size_t)l * a->bt_cap * H;
    double scale = 1.0 / sqrt((double)d);
    int use_drop = fw->train && c->attn_dropout > 0;
    if (use_drop)
        dropout_mask(drop, BT * nh * T, c->attn_dropout, fw->seed, site_of(l, SITE_ATT));
    /* (sequence, head) pairs are independent: one per OpenMP thread, each with its own scratch (OpenBLAS runs
     * single-threaded inside a parallel region) */
#pragma omp parallel for schedule(static) num_threads(a->nthr) if (a->nthr > 1 && B * nh > 1 && (size_t)T * T * d >= 65536)
    for (int bh = 0; bh < B * nh; bh++) {
        int b = bh / nh, h = bh % nh;
        sem_real *sP = a->sP + (size_t)thread_num() * a->maxT * a->maxT;
        const int32_t *mk = a->mask + (size_t)b * T;
        {
            const sem_real *Q = qkv + (size_t)b * T * 3 * H + (size_t)h * d, *K = Q + H, *Vv = Q + 2 * H;
            sem_real *S = att + ((size_t)b * nh + h) * T * T;
            gemm(0, 1, T, T, d, scale, Q, 3 * H, K, 3 * H, 0.0, S, T); /* (T, T) = Q K^T / sqrt(d) */
            for (int i = 0; i < T; i++) {
                sem_real *row = S + (size_t)i * T;
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < T; j++)
                    if (mk[j] && row[j] > mx)
                        mx = row[j];
                for (int j = 0; j < T; j++) {
                    double e = mk[j] ? REXP(row[j] - (sem_real)mx) : 0.0;
                    row[j] = (sem_real)e;
                    sum += e;
                }
                double inv = sum > 0 ? 1.0 / sum : 0.0;
                for (int j = 0; j < T; j++)
                    row[j] = (sem_real)(row[j] * inv);
            }
            const sem_real *P = S;
            if (use_drop) {
                const sem_real *D = drop + ((size_t)b * nh + h) * T * T;
                for (size_t k = 0; k < (size_t)T * T; k++)
                    sP[k] = S[k] * D[k];
                P = sP;
            }
            gemm(0, 0, T, d, T, 1.0, P, T, Vv, 3 * H, 0.0, ctx + (size_t)b * T * H + (size_t)h * d, H);
        }
    }
}

/* dctx (BT, H) → dqkv (BT, 3H), overwritten. */
static void attention_bwd(sem_tacts *a, const sem_tconfig *c, int l, const sem_real *dctx, sem_real *dqkv)
{
    int B = a->B, T = a->T, H = c->hidden, nh = c->heads, d = H / nh;
    const sem_real *qkv = a->qkv + (size_t)l * a->bt_cap * 3 * H;
    const sem_real *att = a->att + (size_t)l * a->bt_cap * nh * a->maxT;
    const sem_real *drop = a->att_drop + (size_t)l * a->bt_cap * nh * a->maxT;
    double scale = 1.0 / sqrt((double)d);
    int use_drop = a->train && c->attn_dropout > 0;
#pragma omp parallel for schedule(static) num_threads(a->nthr) if (a->nthr > 1 && B * nh > 1 && (size_t)T * T * d >= 65536)
    for (int bh = 0; bh < B * nh; bh++) {
        int b = bh / nh, h = bh % nh;
        sem_real *sP = a->sP + (size_t)thread_num() * a->maxT * a->maxT;
        sem_real *sD = a->sD + (size_t)thread_num() * a->maxT * a->maxT;
        {
            size_t ro = (size_t)b * T * 3 * H + (size_t)h * d;
            const sem_real *Q = qkv + ro, *K = Q + H, *Vv = Q + 2 * H;
            sem_real *dQ = dqkv + ro, *dK = dQ + H, *dV = dQ + 2 * H;
            const sem_real *dO = dctx + (size_t)b * T * H + (size_t)h * d;
            const sem_real *S = att + ((size_t)b * nh + h) * T * T;
            const sem_real *D = drop + ((size_t)b * nh + h) * T * T;
            const sem_real *P = S;
            if (use_drop) {
                for (size_t k = 0; k < (size_t)T * T; k++)
                    sP[k] = S[k] * D[k];
                P = sP;
            }
            gemm(1, 0, T, d, T, 1.0, P, T, dO, H, 0.0, dV, 3 * H);     /* dV = P'^T dO */
            gemm(0, 1, T, T, d, 1.0, dO, H, Vv, 3 * H, 0.0, sD, T); /* dP' = dO V^T */
            for (int i = 0; i < T; i++) {
                sem_real *dp = sD + (size_t)i * T;
                const sem_real *p = S + (size_t)i * T;
                if (use_drop)
                    for (int j = 0; j < T; j++)
                        dp[j] *= D[(size_t)i * T + j];
                double dot = 0;
                for (int j = 0; j < T; j++)
                    dot += (double)dp[j] * p[j];
                for (int j = 0; j < T; j++)
                    dp[j] = (sem_real)(p[j] * (dp[j] - dot));
            }
            gemm(0, 0, T, d, T, scale, sD, T, K, 3 * H, 0.0, dQ, 3 * H); /* dQ = dS K / sqrt(d) */
            gemm(1, 0, T, d, T, scale, sD, T, Q, 3 * H, 0.0, dK, 3 * H); /* dK = dS^T Q / sqrt(d) */
        }
    }
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Encoder forward and backward */

static int check_batch(const sem_tmodel *m, const sem_tacts *a, const sem_tbatch *b, sem_error *err)
{
    const sem_tconfig *c = &m->cfg;
    if (b->B < 1 || b->T < 1 || b->B > a->maxB || b->T > a->maxT)
        return sem_error_set(err, SEM_EINVAL, "batch (%d, %d) outside the workspace (%d, %d)", b->B, b->T,
                             a->maxB, a->maxT);
    if (b->T > c->max_pos)
        return sem_error_set(err, SEM_EINVAL, "sequence length %d > max_position_embeddings %d", b->T, c->max_pos);
    size_t BT = (size_t)b->B * b->T;
    for (size_t i = 0; i < BT; i++) {
        if (b->ids[i] < 0 || b->ids[i] >= c->vocab_size)
            return sem_error_set(err, SEM_EINVAL, "token id %d outside the vocabulary", (int)b->ids[i]);
        if (b->types && (b->types[i] < 0 || b->types[i] >= c->type_vocab))
            return sem_error_set(err, SEM_EINVAL, "token type %d out of range", (int)b->types[i]);
    }
    return SEM_OK;
}

const sem_real *sem_tmodel_encode(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, const sem_tfwd *fw,
                                  sem_error *err)
{
    if (check_batch(m, a, b, err) != SEM_OK)
        return NULL;
    const sem_tconfig *c = &m->cfg;
    const sem_tparams *w = &m->w.p;
    int B = b->B, T = b->T, H = c->hidden, F = c->ffn, L = c->layers;
    int BT = B * T;
    a->B = B;
    a->T = T;
    a->train = fw->train;
    for (int i = 0; i < BT; i++) {
        a->ids[i] = b->ids[i];
        a->types[i] = b->types ? b->types[i] : 0;
        a->mask[i] = b->mask ? (b->mask[i] != 0) : 1;
    }
    /* embeddings: (BT, H) = wte[id] + wpe[t] + wtt[type]; LayerNorm; dropout */
    for (int i = 0; i < BT; i++) {
        const sem_real *we = w->wte + (size_t)a->ids[i] * H, *pe = w->wpe + (size_t)(i % T) * H;
        const sem_real *te = w->wtt + (size_t)a->types[i] * H;
        sem_real *o = a->emb_pre + (size_t)i * H;
        for (int k = 0; k < H; k++)
            o[k] = we[k] + pe[k] + te[k];
    }
    layernorm_fwd(a->x0, a->emb_mean, a->emb_rstd, a->emb_pre, w->emb_ln_w, w->emb_ln_b, BT, H, c->ln_eps);
    int hdrop = fw->train && c->hidden_dropout > 0;
    if (hdrop) {
        dropout_mask(a->emb_drop, (size_t)BT * H, c->hidden_dropout, fw->seed, site_of(-1, SITE_EMB));
        for (size_t k = 0; k < (size_t)BT * H; k++)
            a->x0[k] *= a->emb_drop[k];
    }
    for (int l = 0; l < L; l++) {
        size_t oH = (size_t)l * a->bt_cap * H, oF = (size_t)l * a->bt_cap * F, oN = (size_t)l * a->bt_cap;
        const sem_real *x = l == 0 ? a->x0 : a->h2 + oH - a->bt_cap * H; /* (BT, H) layer input */
        sem_real *qkv = a->qkv + oH * 3, *ctx = a->ctx + oH, *r1 = a->r1 + oH, *h1 = a->h1 + oH;
        sem_real *fi = a->fi + oF, *fa = a->fa + oF, *r2 = a->r2 + oH, *h2 = a->h2 + oH;
        /* (BT, 3H) = x · qkv_w^T + qkv_b */
        matmul_fwd(qkv, x, w->qkv_w + (size_t)l * 3 * H * H, w->qkv_b + (size_t)l * 3 * H, BT, H, 3 * H);
        attention_fwd(a, c, l, fw);
        /* r1 (BT, H) = dropout(ctx · ao_w^T + ao_b) + x; h1 = LayerNorm(r1) */
        matmul_fwd(r1, ctx, w->ao_w + (size_t)l * H * H, w->ao_b + (size_t)l * H, BT, H, H);
        if (hdrop) {
            dropout_mask(a->ao_drop + oH, (size_t)BT * H, c->hidden_dropout, fw->seed, site_of(l, SITE_AO));
            for (size_t k = 0; k < (size_t)BT * H; k++)
                r1[k] *= a->ao_drop[oH + k];
        }
        for (size_t k = 0; k < (size_t)BT * H; k++)
            r1[k] += x[k];
        layernorm_fwd(h1, a->ln1_mean + oN, a->ln1_rstd + oN, r1, w->ln1_w + (size_t)l * H, w->ln1_b + (size_t)l * H,
                      BT, H, c->ln_eps);
        /* fi (BT, F) = h1 · fi_w^T + fi_b; fa = act(fi) */
        matmul_fwd(fi, h1, w->fi_w + (size_t)l * F * H, w->fi_b + (size_t)l * F, BT, H, F);
        act_fwd(fa, fi, (size_t)BT * F, c->act);
        /* r2 (BT, H) = dropout(fa · fo_w^T + fo_b) + h1; h2 = LayerNorm(r2) */
        matmul_fwd(r2, fa, w->fo_w + (size_t)l * H * F, w->fo_b + (size_t)l * H, BT, F, H);
        if (hdrop) {
            dropout_mask(a->fo_drop + oH, (size_t)BT * H, c->hidden_dropout, fw->seed, site_of(l, SITE_FO));
            for (size_t k = 0; k < (size_t)BT * H; k++)
                r2[k] *= a->fo_drop[oH + k];
        }
        for (size_t k = 0; k < (size_t)BT * H; k++)
            r2[k] += h1[k];
        layernorm_fwd(h2, a->ln2_mean + oN, a->ln2_rstd + oN, r2, w->ln2_w + (size_t)l * H, w->ln2_b + (size_t)l * H,
                      BT, H, c->ln_eps);
    }
    return a->h2 + (size_t)(L - 1) * a->bt_cap * H;
}

/* Backward of the encoder from d(last hidden) in a->dA (BT, H), which is consumed. Adds into m->grads. */
static void encoder_bwd(sem_tmodel *m, sem_tacts *a)
{
    const sem_tconfig *c = &m->cfg;
    const sem_tparams *w = &m->w.p;
    sem_tparams *g = &m->g.p;
    int B = a->B, T = a->T, H = c->hidden, F = c->ffn, BT = B * T;
    int hdrop = a->train && c->hidden_dropout > 0;
    size_t nBH = (size_t)BT * H;
    for (int l = c->layers - 1; l >= 0; l--) {
        size_t oH = (size_t)l * a->bt_cap * H, oF = (size_t)l * a->bt_cap * F, oN = (size_t)l * a->bt_cap;
        const sem_real *x = l == 0 ? a->x0 : a->h2 + oH - a->bt_cap * H;
        /* dA = dh2 → dB = dr2 */
        layernorm_bwd(a->dB, g->ln2_w + (size_t)l * H, g->ln2_b + (size_t)l * H, a->dA, a->r2 + oH, a->ln2_mean + oN,
                      a->ln2_rstd + oN, w->ln2_w + (size_t)l * H, BT, H);
        /* dC = d(fo output) = dr2 * dropout mask */
        for (size_t k = 0; k < nBH; k++)
            a->dC[k] = hdrop ? a->dB[k] * a->fo_drop[oH + k] : a->dB[k];
        matmul_bwd(a->dF, 0, g->fo_w + (size_t)l * H * F, g->fo_b + (size_t)l * H, a->dC, a->fa + oF,
                   w->fo_w + (size_t)l * H * F, BT, F, H);
        act_bwd(a->dF, a->fi + oF, (size_t)BT * F, c->act);
        /* dB = dh1 = dr2 (residual) + dF · fi_w */
        matmul_bwd(a->dB, 1, g->fi_w + (size_t)l * F * H, g->fi_b + (size_t)l * F, a->dF, a->h1 + oH,
                   w->fi_w + (size_t)l * F * H, BT, H, F);
        /* dA = dr1 */
        layernorm_bwd(a->dA, g->ln1_w + (size_t)l * H, g->ln1_b + (size_t)l * H, a->dB, a->r1 + oH, a->ln1_mean + oN,
                      a->ln1_rstd + oN, w->ln1_w + (size_t)l * H, BT, H);
        for (size_t k = 0; k < nBH; k++)
            a->dC[k] = hdrop ? a->dA[k] * a->ao_drop[oH + k] : a->dA[k];
        /* dB = dctx */
        matmul_bwd(a->dB, 0, g->ao_w + (size_t)l * H * H, g->ao_b + (size_t)l * H, a->dC, a->ctx + oH,
                   w->ao_w + (size_t)l * H * H, BT, H, H);
        attention_bwd(a, c, l, a->dB, a->dQ);
        /* dA = dx = dr1 (residual) + dqkv · qkv_w */
        matmul_bwd(a->dA, 1, g->qkv_w + (size_t)l * 3 * H * H, g->qkv_b + (size_t)l * 3 * H, a->dQ, x,
                   w->qkv_w + (size_t)l * 3 * H * H, BT, H, 3 * H);
    }
    /* embeddings */
    for (size_t k = 0; k < nBH; k++)
        a->dB[k] = hdrop ? a->dA[k] * a->emb_drop[k] : a->dA[k];
    layernorm_bwd(a->dC, g->emb_ln_w, g->emb_ln_b, a->dB, a->emb_pre, a->emb_mean, a->emb_rstd, w->emb_ln_w, BT, H);
    for (int i = 0; i < BT; i++) {
        const sem_real *d = a->dC + (size_t)i * H;
        sem_real *gw = g->wte + (size_t)a->ids[i] * H, *gp = g->wpe + (size_t)(i % T) * H;
        sem_real *gt = g->wtt + (size_t)a->types[i] * H;
        for (int k = 0; k < H; k++) {
            gw[k] += d[k];
            gp[k] += d[k];
            gt[k] += d[k];
        }
    }
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Masked-LM head and loss */

/* Encoder + MLM head forward: a->logits (M, V) for the n_pred masked positions. */
static int mlm_forward(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, const sem_tfwd *fw, sem_error *err)
{
    const sem_tconfig *c = &m->cfg;
    int M = b->n_pred, H = c->hidden, V = c->vocab_size;
    if (M < 1 || M > a->max_pred)
        return sem_error_set(err, SEM_EINVAL, "%d masked positions (workspace holds %d)", M, a->max_pred);
    for (int i = 0; i < M; i++) {
        if (b->pred_pos[i] < 0 || b->pred_pos[i] >= b->B * b->T)
            return sem_error_set(err, SEM_EINVAL, "masked position %d out of range", (int)b->pred_pos[i]);
        if (b->pred_label && (b->pred_label[i] < 0 || b->pred_label[i] >= V))
            return sem_error_set(err, SEM_EINVAL, "label %d outside the vocabulary", (int)b->pred_label[i]);
    }
    const sem_real *hid = sem_tmodel_encode(m, a, b, fw, err); /* (BT, H) */
    if (!hid)
        return err ? err->code : SEM_EINVAL;
    const sem_tparams *w = &m->w.p;
    /* mx (M, H) = hid[pos]; mz = mx · mlm_w^T + mlm_b; ma = act(mz); my = LayerNorm(ma) */
    for (int i = 0; i < M; i++)
        memcpy(a->mx + (size_t)i * H, hid + (size_t)b->pred_pos[i] * H, sizeof(sem_real) * H);
    matmul_fwd(a->mz, a->mx, w->mlm_w, w->mlm_b, M, H, H);
    act_fwd(a->ma, a->mz, (size_t)M * H, c->act);
    layernorm_fwd(a->my, a->m_mean, a->m_rstd, a->ma, w->mlm_ln_w, w->mlm_ln_b, M, H, c->ln_eps);
    /* logits (M, V) = my · wte^T + mlm_bias (the decoder is tied to the word embeddings) */
    matmul_fwd(a->logits, a->my, w->wte, w->mlm_bias, M, H, V);
    return SEM_OK;
}

int sem_tmodel_mlm_logits(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, sem_real *out, sem_error *err)
{
    sem_tfwd fw = {0, 0};
    int rc = mlm_forward(m, a, b, &fw, err);
    if (rc == SEM_OK)
        memcpy(out, a->logits, sizeof(sem_real) * (size_t)b->n_pred * m->cfg.vocab_size);
    return rc;
}

int sem_tmodel_mlm(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, const sem_tfwd *fw, double grad_scale,
                   sem_tstats *st, sem_error *err)
{
    const sem_tconfig *c = &m->cfg;
    int M = b->n_pred, H = c->hidden, V = c->vocab_size;
    if (!b->pred_label)
        return sem_error_set(err, SEM_EINVAL, "MLM batch without labels");
    int rc = mlm_forward(m, a, b, fw, err);
    if (rc != SEM_OK)
        return rc;
    const sem_tparams *w = &m->w.p;
    sem_tparams *g = &m->g.p;
    /* rows are independent: per-row losses are kept and summed in order, so the result does not depend on the
     * number of threads */
    const double s_row = grad_scale / M;
#pragma omp parallel for schedule(static) if ((size_t)M * V > 65536)
    for (int i = 0; i < M; i++) {
        sem_real *z = a->logits + (size_t)i * V;
        double mx = -INFINITY, sum = 0;
        int arg = 0;
        for (int k = 0; k < V; k++)
            if (z[k] > mx) {
                mx = z[k];
                arg = k;
            }
        double zl = z[b->pred_label[i]];
        sem_real rmx = (sem_real)mx;
        for (int k = 0; k < V; k++) { /* z = exp(z - max), in place */
            z[k] = REXP(z[k] - rmx);
            sum += z[k];
        }
        a->mrow[i] = mx + log(sum) - zl;
        a->marg[i] = arg;
        if (grad_scale != 0) { /* dlogits = (softmax - onehot) * scale / M, in place */
            sem_real f = (sem_real)(s_row / sum);
            for (int k = 0; k < V; k++)
                z[k] *= f;
            z[b->pred_label[i]] -= (sem_real)s_row;
        }
    }
    double loss = 0;
    int correct = 0;
    for (int i = 0; i < M; i++) {
        loss += a->mrow[i];
        correct += a->marg[i] == b->pred_label[i];
    }
    if (st) {
        st->loss = loss / M;
        st->n = M;
        st->correct = correct;
    }
    if (grad_scale == 0)
        return SEM_OK;
    matmul_bwd(a->dm1, 0, g->wte, g->mlm_bias, a->logits, a->my, w->wte, M, H, V); /* dm1 = dmy */
    layernorm_bwd(a->dm2, g->mlm_ln_w, g->mlm_ln_b, a->dm1, a->ma, a->m_mean, a->m_rstd, w->mlm_ln_w, M, H);
    act_bwd(a->dm2, a->mz, (size_t)M * H, c->act);
    matmul_bwd(a->dm1, 0, g->mlm_w, g->mlm_b, a->dm2, a->mx, w->mlm_w, M, H, H); /* dm1 = dmx */
    memset(a->dA, 0, sizeof(sem_real) * (size_t)b->B * b->T * H);
    for (int i = 0; i < M; i++) {
        sem_real *d = a->dA + (size_t)b->pred_pos[i] * H;
        const sem_real *s = a->dm1 + (size_t)i * H;
        for (int k = 0; k < H; k++)
            d[k] += s[k];
    }
    encoder_bwd(m, a);
    return SEM_OK;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* Pooling and the contrastive loss */

static void pool_fwd(const sem_tmodel *m, sem_tacts *a, const sem_real *hid, sem_tpool pool, sem_real *out)
{
    int B = a->B, T = a->T, H = m->cfg.hidden;
    for (int b = 0; b < B; b++) {
        sem_real *o = out + (size_t)b * H;
        if (pool == SEM_TPOOL_MEAN) {
            int cnt = 0;
            for (int k = 0; k < H; k++)
                o[k] = 0;
            for (int t = 0; t < T; t++)
                if (a->mask[b * T + t]) {
                    const sem_real *h = hid + ((size_t)b * T + t) * H;
                    for (int k = 0; k < H; k++)
                        o[k] += h[k];
                    cnt++;
                }
            sem_real inv = (sem_real)(1.0 / (cnt > 0 ? cnt : 1));
            for (int k = 0; k < H; k++)
                o[k] *= inv;
        } else {
            memcpy(a->pin + (size_t)b * H, hid + (size_t)b * T * H, sizeof(sem_real) * H);
        }
    }
    if (pool == SEM_TPOOL_CLS)
        memcpy(out, a->pin, sizeof(sem_real) * (size_t)B * H);
    if (pool == SEM_TPOOL_POOLER) {
        /* out (B, H) = tanh(h_cls · pool_w^T + pool_b) */
        matmul_fwd(out, a->pin, m->w.p.pool_w, m->w.p.pool_b, B, H, H);
        for (size_t k = 0; k < (size_t)B * H; k++)
            out[k] = (sem_real)tanh((double)out[k]);
    }
}

void sem_tmodel_pool(const sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, sem_tpool pool, sem_real *out)
{
    (void)b;
    pool_fwd(m, a, m->cfg.layers > 0 ? a->h2 + (size_t)(m->cfg.layers - 1) * a->bt_cap * m->cfg.hidden : NULL, pool,
             out);
}

int sem_tmodel_contrastive(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, const sem_tfwd *fw, sem_tpool pool,
                           double temperature, double grad_scale, sem_tstats *st, sem_error *err)
{
    if (b->B < 2 || b->B % 2 != 0)
        return sem_error_set(err, SEM_EINVAL, "a contrastive batch needs an even number of sequences, got %d", b->B);
    return sem_tmodel_infonce(m, a, b, b->B / 2, fw, pool, temperature, grad_scale, st, err);
}

int sem_tmodel_infonce(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, int n_anchors, const sem_tfwd *fw,
                       sem_tpool pool, double temperature, double grad_scale, sem_tstats *st, sem_error *err)
{
    if (n_anchors < 1 || b->B < 2 * n_anchors)
        return sem_error_set(err, SEM_EINVAL, "an InfoNCE batch of %d sequences cannot hold %d anchors and their "
                             "positives", b->B, n_anchors);
    if (!(temperature > 0))
        return sem_error_set(err, SEM_EINVAL, "temperature must be > 0");
    const sem_real *hid = sem_tmodel_encode(m, a, b, fw, err);
    if (!hid)
        return err ? err->code : SEM_EINVAL;
    /* n anchors, nc = B - n candidates: the n positives, then the hard negatives */
    int B = b->B, n = n_anchors, nc = B - n, H = m->cfg.hidden, T = b->T;
    const double eps = 1e-12;
    pool_fwd(m, a, hid, pool, a->pooled); /* (B, H) */
    for (int i = 0; i < B; i++) {         /* unit = pooled / max(|pooled|, eps) */
        const sem_real *p = a->pooled + (size_t)i * H;
        double s = 0;
        for (int k = 0; k < H; k++)
            s += (double)p[k] * p[k];
        double nr = sqrt(s);
        a->nrm[i] = (sem_real)nr;
        double inv = 1.0 / (nr > eps ? nr : eps);
        for (int k = 0; k < H; k++)
            a->unit[(size_t)i * H + k] = (sem_real)(p[k] * inv);
    }
    /* sim (n, nc) = unit_a · unit_c^T / temperature; column i is anchor i's positive */
    const sem_real *ua = a->unit, *ub = a->unit + (size_t)n * H;
    gemm(0, 1, n, nc, H, 1.0 / temperature, ua, H, ub, H, 0.0, a->sim, nc);
    double loss = 0;
    int correct = 0;
    for (int i = 0; i < n; i++) {
        sem_real *z = a->sim + (size_t)i * nc;
        double mx = -INFINITY, sum = 0;
        int arg = 0;
        for (int j = 0; j < nc; j++)
            if (z[j] > mx) {
                mx = z[j];
                arg = j;
            }
        for (int j = 0; j < nc; j++)
            sum += exp((double)z[j] - mx);
        double lse = mx + log(sum);
        loss += lse - z[i];
        correct += arg == i;
        if (grad_scale != 0) {
            double s = grad_scale / n;
            for (int j = 0; j < nc; j++)
                z[j] = (sem_real)(exp((double)z[j] - lse) * s);
            z[i] -= (sem_real)s;
        }
    }
    if (st) {
        st->loss = loss / n;
        st->n = n;
        st->correct = correct;
    }
    if (grad_scale == 0)
        return SEM_OK;
    /* d unit_a (n, H) = dsim · unit_c / temp; d unit_c (nc, H) = dsim^T · unit_a / temp → a->de (B, H) */
    gemm(0, 0, n, H, nc, 1.0 / temperature, a->sim, nc, ub, H, 0.0, a->de, H);
    gemm(1, 0, nc, H, n, 1.0 / temperature, a->sim, nc, ua, H, 0.0, a->de + (size_t)n * H, H);
    for (int i = 0; i < B; i++) { /* through the normalisation: (du - u (u·du)) / |p| */
        sem_real *d = a->de + (size_t)i * H;
        const sem_real *u = a->unit + (size_t)i * H;
        double nr = a->nrm[i];
        if (nr > eps) {
            double dot = 0;
            for (int k = 0; k < H; k++)
                dot += (double)u[k] * d[k];
            for (int k = 0; k < H; k++)
                d[k] = (sem_real)((d[k] - u[k] * dot) / nr);
        } else {
            for (int k = 0; k < H; k++)
                d[k] = (sem_real)(d[k] / eps);
        }
    }
    sem_tparams *g = &m->g.p;
    memset(a->dA, 0, sizeof(sem_real) * (size_t)B * T * H);
    if (pool == SEM_TPOOL_POOLER) {
        for (size_t k = 0; k < (size_t)B * H; k++)
            a->de[k] = (sem_real)(a->de[k] * (1.0 - (double)a->pooled[k] * a->pooled[k]));
        matmul_bwd(a->dpin, 0, g->pool_w, g->pool_b, a->de, a->pin, m->w.p.pool_w, B, H, H);
        for (int i = 0; i < B; i++)
            memcpy(a->dA + (size_t)i * T * H, a->dpin + (size_t)i * H, sizeof(sem_real) * H);
    } else if (pool == SEM_TPOOL_CLS) {
        for (int i = 0; i < B; i++)
            memcpy(a->dA + (size_t)i * T * H, a->de + (size_t)i * H, sizeof(sem_real) * H);
    } else {
        for (int i = 0; i < B; i++) {
            int cnt = 0;
            for (int t = 0; t < T; t++)
                cnt += a->mask[i * T + t] != 0;
            double inv = 1.0 / (cnt > 0 ? cnt : 1);
            for (int t = 0; t < T; t++)
                if (a->mask[i * T + t])
                    for (int k = 0; k < H; k++)
                        a->dA[((size_t)i * T + t) * H + k] = (sem_real)(a->de[(size_t)i * H + k] * inv);
        }
    }
    encoder_bwd(m, a);
    return SEM_OK;
}
