/* web/workq.c: a fixed set of worker threads over a bounded FIFO of jobs. server.c keeps two: one for the
 * expensive routes (embeddings, document writes) and one for search and document reads, so that bulk encoding
 * can never take every worker. A place in the queue is reserved before the job is handed over, so that the
 * caller can answer 503 while it still can (before it suspends the connection). */
#include "web/transport.h"

#include <pthread.h>
#include <stdlib.h>

struct web_workq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    web_job *head, *tail;
    int waiting;   /* reserved + queued, not yet started */
    int running;
    int max_queue;
    int stop;
    pthread_t *threads;
    int n_threads;
};

static void *worker(void *arg)
{
    web_workq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stop)
            pthread_cond_wait(&q->cv, &q->mu);
        web_job *j = q->head;
        if (!j) /* stopping with nothing left */
            break;
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->waiting--;
        q->running++;
        pthread_mutex_unlock(&q->mu);
        j->fn(j->arg); /* may free j (it is the caller's) */
        pthread_mutex_lock(&q->mu);
        q->running--;
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

web_workq *web_workq_new(const char *name, int n_threads, int max_queue, sem_error *err)
{
    if (n_threads < 1 || max_queue < 0)
        return sem_error_set(err, SEM_EINVAL, "%s: bad worker count %d or queue size %d", name, n_threads,
                             max_queue),
               NULL;
    web_workq *q = calloc(1, sizeof *q);
    if (!q || !(q->threads = calloc((size_t)n_threads, sizeof *q->threads))) {
        free(q);
        return sem_error_set(err, SEM_ENOMEM, "out of memory"), NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->max_queue = max_queue;
    for (int i = 0; i < n_threads; i++) {
        if (pthread_create(&q->threads[i], NULL, worker, q) != 0) {
            sem_error_set(err, SEM_EIO, "%s: cannot start worker thread %d of %d", name, i + 1, n_threads);
            web_workq_free(q);
            return NULL;
        }
        q->n_threads++;
    }
    return q;
}

void web_workq_free(web_workq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < q->n_threads; i++)
        pthread_join(q->threads[i], NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->threads);
    free(q);
}

int web_workq_reserve(web_workq *q)
{
    pthread_mutex_lock(&q->mu);
    int ok = q->waiting < q->max_queue;
    if (ok)
        q->waiting++;
    pthread_mutex_unlock(&q->mu);
    return ok ? 0 : -1;
}

void web_workq_unreserve(web_workq *q)
{
    pthread_mutex_lock(&q->mu);
    q->waiting--;
    pthread_mutex_unlock(&q->mu);
}

void web_workq_push(web_workq *q, web_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* A counter of q read under its lock. */
static int counter(web_workq *q, const int *field)
{
    pthread_mutex_lock(&q->mu);
    int n = *field;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int web_workq_waiting(web_workq *q) { return counter(q, &q->waiting); }
int web_workq_running(web_workq *q) { return counter(q, &q->running); }
