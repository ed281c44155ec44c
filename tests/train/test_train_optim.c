/* tests/train/test_train_optim.c: AdamW against a hand-computed update (values worked out separately from the
 * torch.optim.AdamW formulas), no decay on biases and LayerNorm, gradient clipping, the learning-rate schedule. */
#include "test.h"
#include "train/optim.h"

int main(void)
{
    sem_error err;
    sem_tconfig c = {.vocab_size = 10, .hidden = 4, .layers = 1, .heads = 2, .ffn = 8, .max_pos = 4,
                     .type_vocab = 2, .ln_eps = 1e-12, .init_range = 0.02};
    sem_tmodel *m = sem_tmodel_new(&c, &err);
    sem_toptim *o = m ? sem_toptim_new(m, &err) : NULL;
    CHECK(m && o);
    if (!m || !o)
        return 1;
    sem_adamw_params p = {0.9, 0.999, 1e-8, 0.01};
    const double g[2] = {0.5, -0.25};
    for (size_t i = 0; i < m->n_params; i++)
        m->params[i] = 1.0;
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < m->n_params; i++)
            m->grads[i] = g[s];
        sem_adamw_step(m, o, 0.1, &p);
        double want_decay = s == 0 ? 0.899000002 : 0.8714672987058463;
        double want_plain = s == 0 ? 0.900000002 : 0.8733662987078463;
        CHECK_NEAR(m->w.p.qkv_w[3], want_decay, 1e-12);  /* weights decay */
        CHECK_NEAR(m->w.p.wte[7], want_decay, 1e-12);    /* embeddings decay */
        CHECK_NEAR(m->w.p.qkv_b[1], want_plain, 1e-12);  /* biases do not */
        CHECK_NEAR(m->w.p.ln1_w[0], want_plain, 1e-12);  /* LayerNorm does not */
        CHECK_NEAR(m->w.p.mlm_bias[9], want_plain, 1e-12);
    }
    CHECK_EQ_INT(o->step, 2);

    /* clipping by global norm: all grads 0.5 over n params → norm 0.5 sqrt(n) */
    for (size_t i = 0; i < m->n_params; i++)
        m->grads[i] = 0.5;
    double n0 = 0.5 * sqrt((double)m->n_params);
    CHECK_NEAR(sem_grad_norm(m), n0, 1e-9);
    CHECK_NEAR(sem_grad_clip(m, 1.0), n0, 1e-9);
    CHECK_NEAR(sem_grad_norm(m), 1.0 * n0 / (n0 + 1e-6), 1e-9);
    CHECK_NEAR(sem_grad_clip(m, 10 * n0), 1.0, 1e-6); /* under the limit: untouched */
    CHECK_NEAR(sem_grad_norm(m), 1.0, 1e-6);

    /* schedule: warm-up 4 of 10 at lr 1 */
    CHECK_NEAR(sem_lr_at(0, 10, 4, 1.0), 0.25, 1e-12);
    CHECK_NEAR(sem_lr_at(3, 10, 4, 1.0), 1.0, 1e-12);
    CHECK_NEAR(sem_lr_at(4, 10, 4, 1.0), 1.0, 1e-12);
    CHECK_NEAR(sem_lr_at(7, 10, 4, 1.0), 0.5, 1e-12);
    CHECK_NEAR(sem_lr_at(10, 10, 4, 1.0), 0.0, 1e-12);
    CHECK_NEAR(sem_lr_at(12, 10, 4, 1.0), 0.0, 1e-12);
    CHECK_NEAR(sem_lr_at(5, 10, 0, 2.0), 1.0, 1e-12);
    sem_toptim_free(o);
    sem_tmodel_free(m);
    sem_toptim_free(NULL);
    TEST_END();
}
