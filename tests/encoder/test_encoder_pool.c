/* tests/encoder/test_encoder_pool.c: the encoder-context pool (encoder/ctxpool.c). A returned context is handed out
 * again rather than a new one made; contexts borrowed at the same time are distinct; NULL arguments are refused
 * or ignored as the header says; and many threads borrowing, encoding and returning at once get the vectors one
 * thread alone gets (run under ThreadSanitizer by scripts/test.sh). Needs no model files: the model has random
 * weights. */
#include "encoder/encoder.h"
#include "encoder/internal.h"
#include "test.h"

#include <pthread.h>
#include <string.h>

#define DIM 32
#define N_THREADS 8
#define ROUNDS 40

static const int32_t TOKENS[] = {1, 5, 9, 17, 33, 2};
static float expected[DIM];

typedef struct worker {
    sem_encoder_pool *pool;
    int bad; /* encode failures or vectors unlike the reference */
} worker;

static int encode_one(sem_encoder_ctx *ctx, float *out)
{
    sem_token_input in = {TOKENS, NULL, (int)(sizeof TOKENS / sizeof TOKENS[0])};
    sem_error err = {0};
    return sem_encode_tokens(ctx, &in, 1, NULL, out, &err);
}

static void *run(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        sem_error err = {0};
        sem_encoder_ctx *ctx = sem_encoder_pool_borrow(w->pool, &err);
        float v[DIM];
        if (!ctx || encode_one(ctx, v) != SEM_OK || memcmp(v, expected, sizeof v) != 0)
            w->bad++;
        sem_encoder_pool_return(w->pool, ctx);
    }
    return NULL;
}

static void test_reuse(const sem_model *m)
{
    sem_error err = {0};
    CHECK(sem_encoder_pool_new(NULL, &err) == NULL);
    CHECK_EQ_INT(err.code, SEM_EINVAL);
    sem_encoder_pool_free(NULL);

    sem_encoder_pool *pool = sem_encoder_pool_new(m, &err);
    CHECK_MSG(pool != NULL, "%s", err.msg);
    if (!pool)
        return;
    sem_encoder_pool_return(pool, NULL); /* a no-op */
    sem_encoder_ctx *a = sem_encoder_pool_borrow(pool, &err);
    sem_encoder_ctx *b = sem_encoder_pool_borrow(pool, &err);
    CHECK(a && b && a != b);
    float v[DIM];
    CHECK_EQ_INT(encode_one(a, v), SEM_OK);
    CHECK(memcmp(v, expected, sizeof v) == 0);
    sem_encoder_pool_return(pool, a);
    /* the context given back is the one handed out next (its scratch memory is kept) */
    sem_encoder_ctx *c = sem_encoder_pool_borrow(pool, &err);
    CHECK(c == a);
    sem_encoder_pool_return(pool, b);
    sem_encoder_pool_return(pool, c);
    sem_encoder_pool_free(pool); /* frees both: LeakSanitizer checks */
}

static void test_threads(const sem_model *m)
{
    sem_error err = {0};
    sem_encoder_pool *pool = sem_encoder_pool_new(m, &err);
    CHECK_MSG(pool != NULL, "%s", err.msg);
    if (!pool)
        return;
    worker w[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){pool, 0};
        CHECK(pthread_create(&th[i], NULL, run, &w[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_MSG(w[i].bad == 0, "thread %d: %d bad rounds of %d", i, w[i].bad, ROUNDS);
    }
    /* held at the same time, every context is a different one: the kept ones, then new ones */
    sem_encoder_ctx *held[N_THREADS + 1];
    for (int i = 0; i < N_THREADS + 1; i++)
        held[i] = sem_encoder_pool_borrow(pool, &err);
    for (int i = 0; i < N_THREADS + 1; i++) {
        CHECK(held[i] != NULL);
        for (int j = 0; j < i; j++)
            CHECK(held[i] != held[j]);
    }
    for (int i = 0; i < N_THREADS + 1; i++)
        sem_encoder_pool_return(pool, held[i]);
    sem_encoder_pool_free(pool);
}

int main(void)
{
    sem_bert_config c = {.hidden = DIM, .n_layers = 2, .n_heads = 4, .ffn = 64, .max_pos = 64, .type_vocab = 2,
                         .vocab = 100, .act = SEM_ACT_GELU, .ln_eps = 1e-12f};
    sem_error err = {0};
    sem_model *m = sem_model_new_random(&c, 11, SEM_POOL_MEAN, 1, 1, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    sem_encoder_ctx *ref = m ? sem_encoder_ctx_new(m, &err) : NULL;
    CHECK(ref && encode_one(ref, expected) == SEM_OK);
    sem_encoder_ctx_free(ref);
    if (m) {
        test_reuse(m);
        test_threads(m);
    }
    sem_model_free(m);
    TEST_END();
}
