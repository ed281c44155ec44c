/* indexer/encode_impl.h (internal): encoding passages for a KB on several threads, shared by the ingestion
 * pipeline (pipeline.c) and re-encoding with a new model (reencode.c). */
#ifndef SEM_INDEXER_ENCODE_IMPL_H
#define SEM_INDEXER_ENCODE_IMPL_H

#include <stddef.h>

#include "encoder/encoder.h"
#include "store/kb.h"

typedef struct encoder_set {
    const sem_model *model;
    sem_encoder_ctx **ctx;
    int n; /* threads */
    int dim;
    sem_encode_params ep; /* normalize = 1 for inner-product KBs: IP on unit vectors is cosine similarity */
} encoder_set;

/* The encode parameters for the KB's vectors (L2-normalized for inner-product KBs). */
sem_encode_params sem_index_encode_params(const sem_kb *kb);

/* Encodes n texts into vecs (n, dim) with es->n threads (context t on thread t); a set without a model writes
 * zero vectors (lexical-only KB). */
int sem_index_encode_all(const encoder_set *es, const char **texts, size_t n, float *vecs, sem_error *err);

#endif
