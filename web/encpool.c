/* web/encpool.c: encoder contexts for the request threads. A context is taken for one request and given back;
 * at most one exists per concurrently encoding thread, so the pool never grows beyond the thread pool. A pool
 * rather than thread-local storage so that every context can be freed at shutdown from the controlling thread. */
#include "web/internal.h"

#include <pthread.h>
#include <stdlib.h>

struct web_encpool {
    const sem_model *model;
    pthread_mutex_t mu;
    sem_encoder_ctx **idle; /* (cap) stack of idle contexts */
    int n_idle, cap;
};

web_encpool *web_encpool_new(const sem_model *m)
{
    web_encpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->model = m;
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

void web_encpool_free(web_encpool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_idle; i++)
        sem_encoder_ctx_free(p->idle[i]);
    free(p->idle);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

sem_encoder_ctx *web_encpool_get(web_encpool *p, sem_error *err)
{
    pthread_mutex_lock(&p->mu);
    sem_encoder_ctx *c = p->n_idle ? p->idle[--p->n_idle] : NULL;
    pthread_mutex_unlock(&p->mu);
    if (c)
        return c;
    /* Created outside the lock: allocating scratch can take a while and others may give contexts back. */
    return sem_encoder_ctx_new(p->model, err);
}

void web_encpool_put(web_encpool *p, sem_encoder_ctx *ctx)
{
    if (!ctx)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->n_idle == p->cap) {
        int cap = p->cap ? p->cap * 2 : 8;
        sem_encoder_ctx **a = realloc(p->idle, sizeof *a * (size_t)cap);
        if (!a) {
            /* Cannot keep it: free it rather than leak; the next request makes a new one. */
            pthread_mutex_unlock(&p->mu);
            sem_encoder_ctx_free(ctx);
            return;
        }
        p->idle = a;
        p->cap = cap;
    }
    p->idle[p->n_idle++] = ctx;
    pthread_mutex_unlock(&p->mu);
}
