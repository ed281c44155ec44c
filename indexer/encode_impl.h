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
    sem_encode_params ep; /* the KB's, sem_kbmodel_encode_params */
} encoder_set;

/* One encoder context per thread for es->model: threads (0 = all cores), at most 256. Close frees them (also
 * after a failed open, and on a set without contexts). */
int sem_index_encoders_open(encoder_set *es, int threads, sem_error *err);
void sem_index_encoders_close(encoder_set *es);

/* Encodes n texts into vecs (n, dim) with es->n threads (context t on thread t); a set without a model writes
 * zero vectors (lexical-only KB). */
int sem_index_encode_all(const encoder_set *es, const char **texts, size_t n, float *vecs, sem_error *err);

#endif
