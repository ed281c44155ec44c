/* train/optim.c: AdamW, the learning-rate schedule and gradient clipping. See train/optim.h. */
#include "train/optim.h"

#include <math.h>
#include <stdlib.h>

sem_adamw_params sem_adamw_default_params(void)
{
    sem_adamw_params p = {0.9, 0.999, 1e-6, 0.01};
    return p;
}

sem_toptim *sem_toptim_new(const sem_tmodel *m, sem_error *err)
{
    sem_toptim *o = calloc(1, sizeof *o);
    if (o) {
        o->n = m->n_params;
        o->m = calloc(o->n, sizeof(sem_real));
        o->v = calloc(o->n, sizeof(sem_real));
    }
    if (!o || !o->m || !o->v) {
        sem_toptim_free(o);
        sem_error_set(err, SEM_ENOMEM, "out of memory for the optimizer state");
        return NULL;
    }
    return o;
}

void sem_toptim_free(sem_toptim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o);
}

#ifdef SEM_TRAIN_F64
#define RSQRT sqrt
#else
#define RSQRT sqrtf
#endif

void sem_adamw_step(sem_tmodel *m, sem_toptim *o, double lr, const sem_adamw_params *p)
{
    o->step++;
    double bc1 = 1.0 - pow(p->beta1, (double)o->step), bc2 = 1.0 - pow(p->beta2, (double)o->step);
    /* torch.optim.AdamW: p *= 1 - lr wd; m, v updated; p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps) */
    const sem_real b1 = (sem_real)p->beta1, b2 = (sem_real)p->beta2;
    const sem_real ob1 = (sem_real)(1.0 - p->beta1), ob2 = (sem_real)(1.0 - p->beta2);
    const sem_real step = (sem_real)(lr / bc1), isb = (sem_real)(1.0 / sqrt(bc2)), eps = (sem_real)p->eps;
    size_t off = 0;
    for (int t = 0; t < SEM_TP_COUNT; t++) {
        const sem_real decay = (sem_real)(sem_tparam_decay(t) ? 1.0 - lr * p->weight_decay : 1.0);
        sem_real *w = m->params + off, *mm = o->m + off, *vv = o->v + off;
        const sem_real *g = m->grads + off;
#pragma omp parallel for schedule(static) if (m->sizes[t] > 65536)
        for (size_t i = 0; i < m->sizes[t]; i++) {
            mm[i] = b1 * mm[i] + ob1 * g[i];
            vv[i] = b2 * vv[i] + ob2 * g[i] * g[i];
            w[i] = w[i] * decay - step * mm[i] / (RSQRT(vv[i]) * isb + eps);
        }
        off += m->sizes[t];
    }
}

double sem_grad_norm(const sem_tmodel *m)
{
    double s = 0;
    for (size_t i = 0; i < m->n_params; i++)
        s += (double)m->grads[i] * m->grads[i];
    return sqrt(s);
}

double sem_grad_clip(sem_tmodel *m, double max_norm)
{
    double n = sem_grad_norm(m);
    if (max_norm > 0 && n > max_norm) {
        double s = max_norm / (n + 1e-6);
        for (size_t i = 0; i < m->n_params; i++)
            m->grads[i] = (sem_real)(m->grads[i] * s);
    }
    return n;
}

double sem_lr_at(long step, long total, long warmup, double lr)
{
    if (step < 0)
        return 0;
    if (warmup > 0 && step < warmup)
        return lr * (double)(step + 1) / (double)warmup;
    if (total <= warmup)
        return lr;
    double f = (double)(total - step) / (double)(total - warmup);
    return f > 0 ? lr * f : 0;
}
