/* encoder/encode.c: the public encode calls: tokenize, sort by length, cut into batches, run the forward pass,
 * pool, normalise, and write each vector back at its input's row.
 *
 * Each sequence's vector depends only on its own tokens (packed batches, no padding), so results do not depend
 * on which texts share a batch. A batch holds at most batch_size sequences and at most BATCH_TOKENS tokens (or
 * one sequence when a single one is longer), which bounds the scratch memory of a context. */
#include "encoder/internal.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_TOKENS 4096 /* rows per GEMM: enough to reach the sgemm rate, small enough to stay in memory */
#define TEXT_WINDOW 1024  /* texts tokenized at a time by sem_encode */
#define MAX_BATCH 4096

sem_encode_params sem_encode_default_params(void)
{
    sem_encode_params p = {SEM_POOL_AUTO, -1, 0, 0};
    return p;
}

typedef struct resolved {
    sem_pooling pooling;
    int normalize;
    int max_tokens;
    int batch;
} resolved;

static int resolve(const sem_model *m, const sem_encode_params *params, resolved *r, sem_error *err)
{
    sem_encode_params p = params ? *params : sem_encode_default_params();
    if ((int)p.pooling < (int)SEM_POOL_AUTO || (int)p.pooling > (int)SEM_POOL_LAST_TWO_AVG)
        return sem_error_set(err, SEM_EINVAL, "unknown pooling %d", (int)p.pooling);
    r->pooling = p.pooling == SEM_POOL_AUTO ? m->mc.pooling : p.pooling;
    r->normalize = p.normalize < 0 ? (p.pooling == SEM_POOL_AUTO ? m->mc.normalize : 0) : p.normalize != 0;
    if (p.max_tokens < 0 || p.max_tokens == 1)
        return sem_error_set(err, SEM_EINVAL, "max_tokens %d: must be 0 (the model's) or >= 2", p.max_tokens);
    r->max_tokens = p.max_tokens ? p.max_tokens : m->mc.max_tokens;
    if (r->max_tokens > m->cfg.max_pos)
        r->max_tokens = m->cfg.max_pos;
    if (p.batch_size < 0 || p.batch_size > MAX_BATCH)
        return sem_error_set(err, SEM_EINVAL, "batch size %d: must be in 0..%d", p.batch_size, MAX_BATCH);
    r->batch = p.batch_size ? p.batch_size : 32;
    if (r->pooling == SEM_POOL_POOLER && !m->pool_w)
        return sem_error_set(err, SEM_ENOTFOUND, "pooling \"pooler\": the model has no pooler weights");
    return SEM_OK;
}

#define SPLIT_MIN_TOKENS 256 /* below this a batch runs on one worker: forking costs more than it saves */

/* One worker's share of a batch: sequences [s0, s0 + ns) of ctx's grouped arrays, tokens [t0, t0 + T). */
typedef struct share {
    int s0, ns;
    size_t t0, T, Lmax;
} share;

/* Runs one share on ws with nt threads; its vectors go to out rows ctx->order[s0 + i]. */
static int run_share(sem_encoder_ctx *ctx, sem_scratch *ws, int nt, const share *sh, const resolved *r, float *out,
                     sem_error *err)
{
    const sem_model *m = ctx->m;
    const size_t H = (size_t)m->cfg.hidden;
    float *hidden[SEM_MAX_LAYERS + 1] = {0};
    const float *aux = NULL;
    const int nl = m->cfg.n_layers, need_hidden = r->pooling == SEM_POOL_FIRST_LAST_AVG ||
                                                 r->pooling == SEM_POOL_LAST_TWO_AVG;
    if (r->pooling == SEM_POOL_FIRST_LAST_AVG)
        hidden[0] = ws->hid_a;
    else if (r->pooling == SEM_POOL_LAST_TWO_AVG)
        hidden[nl - 1] = ws->hid_a;
    aux = need_hidden ? ws->hid_a : NULL;
    int rc = sem_bert_forward(m, ws, nt, ctx->ids + sh->t0, ctx->types + sh->t0, ctx->lens + sh->s0, sh->ns,
                              need_hidden ? hidden : NULL, err);
    /* after the forward pass attn and tmp (T >= ns rows of H each) are free: the pooler's rows and the output */
    if (rc == SEM_OK)
        rc = sem_pool(m, r->pooling, ws->x, aux, ws->offs, sh->ns, ws->attn, ws->tmp, err);
    if (rc)
        return rc;
    for (int i = 0; i < sh->ns; i++) {
        float *o = out + (size_t)ctx->order[sh->s0 + i] * H;
        memcpy(o, ws->tmp + (size_t)i * H, H * sizeof(float));
        if (r->normalize)
            sem_l2_normalize(o, H);
    }
    return SEM_OK;
}

/* Runs the sequences order[0..count) of in (longest first) as one batch; vectors go to out rows order[i].
 * With several threads the batch is cut into one share per worker (longest-first onto the least loaded), each
 * run single-threaded on its own scratch; otherwise one share runs with the passes split over the threads. */
static int run_batch(sem_encoder_ctx *ctx, const sem_token_input *in, const int *order, int count, const resolved *r,
                     float *out, sem_error *err)
{
    const sem_model *m = ctx->m;
    size_t T = 0;
    for (int i = 0; i < count; i++)
        T += (size_t)in[order[i]].n;
    int rc = sem_ctx_reserve(ctx, T, (size_t)count, err);
    if (rc)
        return rc;
    int nw = ctx->n_threads < count ? ctx->n_threads : count;
    if (T < SPLIT_MIN_TOKENS)
        nw = 1;
    share sh[SEM_MAX_WORKERS];
    memset(sh, 0, sizeof sh);
    for (int i = 0; i < count; i++) {
        int w = 0;
        for (int j = 1; j < nw; j++)
            if (sh[j].T < sh[w].T)
                w = j;
        ctx->assign[i] = w;
        sh[w].T += (size_t)in[order[i]].n;
        sh[w].ns++;
    }
    /* lay the shares out one after the other in ctx's arrays */
    size_t t0 = 0;
    for (int w = 0, s0 = 0; w < nw; w++) {
        sh[w].s0 = s0;
        sh[w].t0 = t0;
        s0 += sh[w].ns;
        t0 += sh[w].T;
        sh[w].ns = 0;
        sh[w].T = 0;
    }
    for (int i = 0; i < count; i++) {
        share *s = &sh[ctx->assign[i]];
        const sem_token_input *src = &in[order[i]];
        size_t t = s->t0 + s->T;
        memcpy(ctx->ids + t, src->input_ids, (size_t)src->n * sizeof(int32_t));
        if (src->token_type_ids)
            memcpy(ctx->types + t, src->token_type_ids, (size_t)src->n * sizeof(int32_t));
        else
            memset(ctx->types + t, 0, (size_t)src->n * sizeof(int32_t));
        ctx->lens[s->s0 + s->ns] = src->n;
        ctx->order[s->s0 + s->ns] = order[i];
        s->ns++;
        s->T += (size_t)src->n;
        if ((size_t)src->n > s->Lmax)
            s->Lmax = (size_t)src->n;
    }
    const int need_hidden = r->pooling == SEM_POOL_FIRST_LAST_AVG || r->pooling == SEM_POOL_LAST_TWO_AVG;
    for (int w = 0; w < nw; w++)
        if ((rc = sem_scratch_reserve(m, &ctx->ws[w], sh[w].T, (size_t)sh[w].ns, sh[w].Lmax,
                                      nw == 1 ? (size_t)ctx->n_threads : 1, need_hidden, err)))
            return rc;
    int blas = sem_blas_enter();
    if (nw == 1) {
        rc = run_share(ctx, &ctx->ws[0], ctx->n_threads, &sh[0], r, out, err);
    } else {
#pragma omp parallel for num_threads(nw) schedule(static, 1)
        for (int w = 0; w < nw; w++) {
            sem_error e = {0};
            int wrc = run_share(ctx, &ctx->ws[w], 1, &sh[w], r, out, &e);
            if (wrc) {
#pragma omp critical(sem_encode_err)
                if (rc == SEM_OK) {
                    rc = wrc;
                    if (err)
                        *err = e;
                }
            }
        }
    }
    sem_blas_leave(blas);
    return rc;
}

static int encode_tokens(sem_encoder_ctx *ctx, const sem_token_input *in, int n, const resolved *r, float *out,
                         sem_error *err)
{
    const sem_model *m = ctx->m;
    for (int i = 0; i < n; i++) {
        if (!in[i].input_ids || in[i].n < 1)
            return sem_error_set(err, SEM_EINVAL, "input %d is empty (no tokens)", i);
        if (in[i].n > m->cfg.max_pos)
            return sem_error_set(err, SEM_ERANGE, "input %d has %d tokens, the model takes at most %d", i, in[i].n,
                                 m->cfg.max_pos);
    }
    int *order = malloc((size_t)n * sizeof *order);
    if (!order)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        order[i] = i;
    /* longest first, ties in input order (insertion sort: stable, no shared state; n <= TEXT_WINDOW) */
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i - 1;
        while (j >= 0 && in[order[j]].n < in[v].n) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
    int rc = SEM_OK;
    for (int start = 0; start < n && rc == SEM_OK;) {
        int count = 0;
        size_t tokens = 0;
        while (start + count < n && count < r->batch) {
            size_t len = (size_t)in[order[start + count]].n;
            if (count > 0 && tokens + len > BATCH_TOKENS)
                break;
            tokens += len;
            count++;
        }
        rc = run_batch(ctx, in, order + start, count, r, out, err);
        if (rc)
            sem_error_prefix(err, "input %d", order[start]);
        start += count;
    }
    free(order);
    return rc;
}

int sem_encode_tokens(sem_encoder_ctx *ctx, const sem_token_input *inputs, int n, const sem_encode_params *params,
                      float *out, sem_error *err)
{
    if (!ctx || (n > 0 && (!inputs || !out)) || n < 0)
        return sem_error_set(err, SEM_EINVAL, "sem_encode_tokens: bad arguments");
    resolved r;
    int rc = resolve(ctx->m, params, &r, err);
    if (rc)
        return rc;
    const size_t H = (size_t)ctx->m->cfg.hidden;
    for (int start = 0; start < n && rc == SEM_OK; start += TEXT_WINDOW) {
        int cnt = n - start < TEXT_WINDOW ? n - start : TEXT_WINDOW;
        rc = encode_tokens(ctx, inputs + start, cnt, &r, out + (size_t)start * H, err);
    }
    return rc;
}

/* Tokenizes texts a (and b) in windows and encodes them. */
static int encode_texts(sem_encoder_ctx *ctx, const char *const *a, const char *const *b, int n,
                        const sem_encode_params *params, float *out, sem_error *err)
{
    const sem_model *m = ctx ? ctx->m : NULL;
    if (!ctx || n < 0 || (n > 0 && (!a || !out)))
        return sem_error_set(err, SEM_EINVAL, "sem_encode: bad arguments");
    if (!m->tok)
        return sem_error_set(err, SEM_EINVAL, "this model has no tokenizer: use sem_encode_tokens()");
    resolved r;
    int rc = resolve(m, params, &r, err);
    if (rc)
        return rc;
    const size_t H = (size_t)m->cfg.hidden;
    int win = n < TEXT_WINDOW ? n : TEXT_WINDOW;
    sem_tokenized *tk = calloc(win > 0 ? (size_t)win : 1, sizeof *tk);
    sem_token_input *in = calloc(win > 0 ? (size_t)win : 1, sizeof *in);
    if (!tk || !in) {
        free(tk);
        free(in);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    for (int start = 0; start < n && rc == SEM_OK; start += TEXT_WINDOW) {
        int cnt = n - start < TEXT_WINDOW ? n - start : TEXT_WINDOW;
        int done = 0;
        for (; done < cnt; done++) {
            int i = start + done;
            if (!a[i] || (b && !b[i])) {
                rc = sem_error_set(err, SEM_EINVAL, "text %d is NULL", i);
                break;
            }
            rc = sem_tokenize(m->tok, a[i], -1, b ? b[i] : NULL, -1, r.max_tokens, &tk[done], err);
            if (rc) {
                sem_error_prefix(err, "text %d", i);
                break;
            }
            in[done].input_ids = tk[done].input_ids;
            in[done].token_type_ids = tk[done].token_type_ids;
            in[done].n = tk[done].n;
        }
        if (rc == SEM_OK)
            rc = encode_tokens(ctx, in, cnt, &r, out + (size_t)start * H, err);
        for (int i = 0; i < done; i++)
            sem_tokenized_free(&tk[i]);
        memset(tk, 0, (size_t)win * sizeof *tk);
    }
    free(tk);
    free(in);
    return rc;
}

int sem_encode(sem_encoder_ctx *ctx, const char *const *texts, int n, const sem_encode_params *params, float *out,
               sem_error *err)
{
    return encode_texts(ctx, texts, NULL, n, params, out, err);
}

int sem_encode_pairs(sem_encoder_ctx *ctx, const char *const *a, const char *const *b, int n,
                     const sem_encode_params *params, float *out, sem_error *err)
{
    if (!b && n > 0)
        return sem_error_set(err, SEM_EINVAL, "sem_encode_pairs: no second texts");
    return encode_texts(ctx, a, b, n, params, out, err);
}

int sem_encoder_hidden_states(sem_encoder_ctx *ctx, const sem_token_input *input, float *out, sem_error *err)
{
    if (!ctx || !input || !out || !input->input_ids || input->n < 1)
        return sem_error_set(err, SEM_EINVAL, "sem_encoder_hidden_states: bad arguments");
    const sem_model *m = ctx->m;
    if (input->n > m->cfg.max_pos)
        return sem_error_set(err, SEM_ERANGE, "input has %d tokens, the model takes at most %d", input->n,
                             m->cfg.max_pos);
    size_t T = (size_t)input->n, H = (size_t)m->cfg.hidden;
    sem_scratch *ws = &ctx->ws[0];
    int rc = sem_scratch_reserve(m, ws, T, 1, T, (size_t)ctx->n_threads, 0, err);
    if (rc)
        return rc;
    float *hidden[SEM_MAX_LAYERS + 1];
    for (int l = 0; l <= m->cfg.n_layers; l++)
        hidden[l] = out + (size_t)l * T * H;
    const int len = input->n;
    int blas = sem_blas_enter();
    rc = sem_bert_forward(m, ws, ctx->n_threads, input->input_ids, input->token_type_ids, &len, 1, hidden, err);
    sem_blas_leave(blas);
    return rc;
}
