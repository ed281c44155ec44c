/* train/optim.h: AdamW with decoupled weight decay (as torch.optim.AdamW), the linear warm-up + linear decay
 * schedule, and gradient clipping by global norm (as torch.nn.utils.clip_grad_norm_).
 * Weight decay applies only to tensors sem_tparam_decay() marks (weights and embeddings; not biases and
 * LayerNorm). Ownership: sem_toptim owns its moment buffers. */
#ifndef SEM_TRAIN_OPTIM_H
#define SEM_TRAIN_OPTIM_H

#include "train/model.h"

typedef struct sem_adamw_params {
    double beta1, beta2, eps, weight_decay;
} sem_adamw_params;
sem_adamw_params sem_adamw_default_params(void); /* 0.9, 0.999, 1e-6, 0.01 */

typedef struct sem_toptim {
    size_t n;      /* = model n_params */
    long step;     /* updates done so far */
    sem_real *m;   /* (n) first moment */
    sem_real *v;   /* (n) second moment */
} sem_toptim;

/* Allocates zeroed moments for model m; NULL on failure. */
sem_toptim *sem_toptim_new(const sem_tmodel *m, sem_error *err);
void sem_toptim_free(sem_toptim *o); /* NULL is a no-op */

/* One AdamW update of m->params from m->grads at learning rate lr; increments o->step. */
void sem_adamw_step(sem_tmodel *m, sem_toptim *o, double lr, const sem_adamw_params *p);

/* The global L2 norm of all gradients. */
double sem_grad_norm(const sem_tmodel *m);

/* Scales the gradients so that their global norm is at most max_norm (by max_norm / (norm + 1e-6), as PyTorch);
 * returns the norm before clipping. max_norm <= 0 disables clipping. */
double sem_grad_clip(sem_tmodel *m, double max_norm);

/* Learning rate for update number step (0-based) of total: linear warm-up from lr/warmup to lr over `warmup`
 * updates, then linear decay to 0 at `total`. */
double sem_lr_at(long step, long total, long warmup, double lr);

#endif
