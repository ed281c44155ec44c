/* encoder/mlm.c: HF's BertOnlyMLMHead / BertPreTrainingHeads prediction head:
 * logits = LayerNorm(act(h . W + b)) . E^T + bias, E the decoder weight or, when the checkpoint leaves it out
 * (tied weights), the word embeddings. Computed only at the positions asked for. */
#include "encoder/internal.h"

#include <string.h>

int sem_mlm_logits(sem_encoder_ctx *ctx, const sem_token_input *input, const int *positions, int n_pos, float *out,
                   sem_error *err)
{
    if (!ctx || !input || !input->input_ids || input->n < 1 || n_pos < 0 || (n_pos > 0 && (!positions || !out)))
        return sem_error_set(err, SEM_EINVAL, "sem_mlm_logits: bad arguments");
    const sem_model *m = ctx->m;
    if (!m->has_mlm)
        return sem_error_set(err, SEM_ENOTFOUND, "the model has no masked-LM head (cls.predictions.*)");
    if (input->n > m->cfg.max_pos)
        return sem_error_set(err, SEM_ERANGE, "input has %d tokens, the model takes at most %d", input->n,
                             m->cfg.max_pos);
    for (int i = 0; i < n_pos; i++)
        if (positions[i] < 0 || positions[i] >= input->n)
            return sem_error_set(err, SEM_ERANGE, "position %d is outside the sequence (%d tokens)", positions[i],
                                 input->n);
    if (n_pos == 0)
        return SEM_OK;
    const size_t H = (size_t)m->cfg.hidden, T = (size_t)input->n;
    sem_scratch *ws = &ctx->ws[0];
    /* attn and tmp hold the n_pos rows after the forward pass: reserve max(T, n_pos) tokens */
    size_t rows_needed = T > (size_t)n_pos ? T : (size_t)n_pos;
    int rc = sem_scratch_reserve(m, ws, rows_needed, 1, T, (size_t)ctx->n_threads, 0, err);
    if (rc)
        return rc;
    const int len = input->n;
    int blas = sem_blas_enter();
    if ((rc = sem_bert_forward(m, ws, ctx->n_threads, input->input_ids, input->token_type_ids, &len, 1, NULL,
                               err))) {
        sem_blas_leave(blas);
        return rc;
    }
    /* rows (n_pos, H): the hidden states at the positions */
    float *rows = ws->attn, *h = ws->tmp;
    for (int i = 0; i < n_pos; i++)
        memcpy(rows + (size_t)i * H, ws->x + (size_t)positions[i] * H, H * sizeof(float));
    /* h = LayerNorm(act(rows . W + b)) */
    sem_sgemm(0, n_pos, (int)H, (int)H, 1.0f, rows, (int)H, m->mlm_w, (int)H, h, (int)H);
    sem_bias_act(h, m->mlm_b, (size_t)n_pos, H, m->cfg.act, 1);
    sem_add_layernorm(h, NULL, NULL, m->mlm_ln_g, m->mlm_ln_b, (size_t)n_pos, H, m->cfg.ln_eps, 1);
    /* out (n_pos, V) = h . E^T + bias */
    const int V = m->cfg.vocab;
    sem_sgemm(1, n_pos, V, (int)H, 1.0f, h, (int)H, m->mlm_dec, (int)H, out, V);
    sem_blas_leave(blas);
    for (int i = 0; i < n_pos; i++) {
        float *o = out + (size_t)i * (size_t)V;
        for (int v = 0; v < V; v++)
            o[v] += m->mlm_bias[v];
    }
    return SEM_OK;
}

void sem_top_k(const float *logits, int n, int k, int32_t *ids, float *values)
{
    if (k > n)
        k = n;
    if (k <= 0)
        return;
    int have = 0;
    for (int i = 0; i < n; i++) {
        float v = logits[i];
        if (have == k && !(v > values[k - 1]))
            continue; /* ties keep the lower id already held */
        int j = have < k ? have++ : k - 1;
        while (j > 0 && v > values[j - 1]) {
            values[j] = values[j - 1];
            ids[j] = ids[j - 1];
            j--;
        }
        values[j] = v;
        ids[j] = i;
    }
}
