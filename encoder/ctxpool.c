/* encoder/ctxpool.c: a pool of encoder contexts of one model, for threads that encode now and then (a server's
 * request threads, the callers of one search handle). See encoder.h for the contract.
 *
 * A borrow never waits: it takes an idle context or makes a new one, so a request is never held up by another
 * (contexts are cheap to make: their scratch memory is allocated by the first encode and kept). Every borrower
 * holds at most one context, so the pool never holds more contexts than threads that borrowed at the same time;
 * the caller's thread count is the bound. A pool rather than thread-local storage so that every context can be
 * freed from the controlling thread at shutdown. */
#include "encoder/encoder.h"

#include <pthread.h>
#include <stdlib.h>

struct sem_encoder_pool {
    const sem_model *model;
    pthread_mutex_t mu;     /* guards idle, n_idle, cap */
    sem_encoder_ctx **idle; /* (cap) stack of idle contexts */
    int n_idle, cap;
};

sem_encoder_pool *sem_encoder_pool_new(const sem_model *m, sem_error *err)
{
    if (!m) {
        sem_error_set(err, SEM_EINVAL, "encoder pool: no model");
        return NULL;
    }
    sem_encoder_pool *p = calloc(1, sizeof *p);
    if (!p) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    p->model = m;
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

void sem_encoder_pool_free(sem_encoder_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_idle; i++)
        sem_encoder_ctx_free(p->idle[i]);
    free(p->idle);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

sem_encoder_ctx *sem_encoder_pool_borrow(sem_encoder_pool *p, sem_error *err)
{
    pthread_mutex_lock(&p->mu);
    sem_encoder_ctx *c = p->n_idle ? p->idle[--p->n_idle] : NULL;
    pthread_mutex_unlock(&p->mu);
    /* made outside the lock, so that the others can borrow and return meanwhile */
    return c ? c : sem_encoder_ctx_new(p->model, err);
}

void sem_encoder_pool_return(sem_encoder_pool *p, sem_encoder_ctx *ctx)
{
    if (!ctx)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->n_idle == p->cap) {
        int cap = p->cap ? p->cap * 2 : 8;
        sem_encoder_ctx **a = realloc(p->idle, sizeof *a * (size_t)cap);
        if (a) {
            p->idle = a;
            p->cap = cap;
        }
    }
    if (p->n_idle < p->cap) {
        p->idle[p->n_idle++] = ctx;
        ctx = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    sem_encoder_ctx_free(ctx); /* no room to keep it (out of memory): the next borrow makes a new one */
}
