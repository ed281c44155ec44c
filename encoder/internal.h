/* encoder/internal.h: what the files of encoder/ share (not a public header; tests and the benchmark may use it).
 *
 * Files: config.c (the folder's JSON files; config.json's parser is public in hfmodel.h), safetensors.c (the
 * weights file parser, public in hfmodel.h), model.c (load/free/info, weight packing), bert.c (forward pass),
 * pool.c (pooling), encode.c (batching, public encode calls), mlm.c (masked-LM head), mathfn.c (vectorisable
 * exp/erf/tanh and the fused elementwise passes). */
#ifndef SEM_ENCODER_INTERNAL_H
#define SEM_ENCODER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "encoder/encoder.h"
#include "encoder/hfmodel.h"
#include "encoder/tokenizer.h"

/* Everything the model folder's JSON files say, validated (config.c). */
typedef struct sem_model_config {
    sem_bert_config bert;
    sem_tokenizer_config tok;
    sem_pooling pooling; /* resolved from modules.json + 1_Pooling/config.json (never AUTO) */
    int normalize;       /* modules.json has a Normalize module */
    int max_tokens;      /* sentence_bert_config max_seq_length, else tokenizer model_max_length, capped by max_pos */
    char *query_prefix;  /* malloc'd, "" if none */
} sem_model_config;

/* Parses tokenizer_config.json text into out (defaults for absent keys). */
int sem_tokenizer_config_parse(const char *text, size_t len, const char *what, sem_tokenizer_config *out,
                               sem_error *err);
/* Reads every JSON file of the folder dir into out; config_json (OUT, malloc'd, caller frees) receives the raw
 * bytes of config.json for the identity hash. On error out is left empty (nothing to free). */
int sem_model_config_load(const char *dir, sem_model_config *out, char **config_json, size_t *config_len,
                          sem_error *err);
void sem_model_config_free(sem_model_config *c);

/* ---- model.c ---- */
typedef struct sem_layer {
    float *wqkv; /* (hidden, 3*hidden) row-major: x (n, hidden) . wqkv = [q | k | v] */
    float *bqkv; /* (3*hidden) */
    float *wo;   /* (hidden, hidden), (in, out) */
    float *bo, *ln1_g, *ln1_b; /* (hidden) */
    float *wi;   /* (hidden, ffn), (in, out) */
    float *bi;   /* (ffn) */
    float *wo2;  /* (ffn, hidden), (in, out) */
    float *bo2, *ln2_g, *ln2_b; /* (hidden) */
} sem_layer;

struct sem_model {
    sem_bert_config cfg;
    sem_model_config mc; /* pooling, normalize, max_tokens, tokenizer config, query prefix */
    sem_tokenizer *tok;  /* NULL for a random-weight model */
    char *name;
    char hash[65];
    int n_threads; /* workers per context (params, else sem_default_threads()) */

    const float *word_emb; /* (vocab, hidden): into the mmap (F32 files) or the arena */
    float *pos_emb;        /* (max_pos, hidden) */
    float *type_emb;       /* (type_vocab, hidden) */
    float *emb_ln_g, *emb_ln_b;
    sem_layer *layers; /* (n_layers) */
    float *pool_w;     /* (hidden, hidden) (in, out), NULL if the checkpoint has no pooler */
    float *pool_b;
    int has_mlm;
    float *mlm_w, *mlm_b;       /* transform dense (hidden, hidden) (in, out), (hidden) */
    float *mlm_ln_g, *mlm_ln_b; /* (hidden) */
    const float *mlm_dec;       /* (vocab, hidden): cls.predictions.decoder.weight or tied word_emb */
    float *mlm_bias;            /* (vocab) */

    float *arena; /* every f32 weight that is not mmapped, one allocation */
    size_t arena_len;
    sem_st *st; /* kept open while word_emb points into it */
};

/* A model with random weights of the given shape (benchmarks, tests): no tokenizer; encode with
 * sem_encode_tokens(). pooling/normalize as for a sentence-transformers folder. */
sem_model *sem_model_new_random(const sem_bert_config *cfg, uint64_t seed, sem_pooling pooling, int normalize,
                                int n_threads, sem_error *err);

/* Threads: the encoder runs OpenBLAS single-threaded and parallelises itself with OpenMP (GEMMs split by rows
 * or columns, attention by (sequence, head), elementwise passes by rows). OpenBLAS's own thread pool (OpenMP
 * build) is not safe when several application threads call into it at once (it deadlocks in exec_blas: seen
 * with three contexts), and a server runs one context per thread. That build sizes its pool from the calling
 * thread's omp_get_max_threads() and stays single-threaded inside an active parallel region, so every entry
 * point sets this thread's OpenMP thread count to 1 for the duration of the call (sem_blas_enter, a per-thread
 * setting) and restores it after (sem_blas_leave); our own regions name their thread counts explicitly. */
int sem_blas_enter(void);
void sem_blas_leave(int prev);
/* OPENBLAS_NUM_THREADS, else the number of online CPUs (1..64): a model's threads when params say 0. */
int sem_default_threads(void);

/* ---- bert.c: the forward pass over a packed batch ---- */

/* The buffers of one forward pass, grown on demand (never shrunk); sizes in floats. */
typedef struct sem_scratch {
    size_t cap_tokens;    /* rows the token buffers hold */
    size_t cap_scores;    /* floats per worker in scores */
    size_t score_slots;   /* workers scores has room for */
    size_t cap_hid;       /* rows of hid_a / hid_b */
    float *x;             /* (T, hidden): the running hidden state; last_hidden_state at the end */
    float *qkv;           /* (T, 3*hidden) */
    float *attn;          /* (T, hidden): attention output before projection */
    float *tmp;           /* (T, hidden) */
    float *inter;         /* (T, ffn) */
    float *scores;        /* (score_slots, Lmax*Lmax) */
    float *hid_a, *hid_b; /* (T, hidden): a saved layer for first-last-avg / last-two-avg */
    int *offs;            /* (cap_seqs + 1) token offsets of the sequences */
    size_t cap_seqs;
} sem_scratch;

#define SEM_MAX_WORKERS 64

struct sem_encoder_ctx {
    const sem_model *m;
    int n_threads; /* workers of a forward pass */
    /* ws[0] runs whole batches (its passes split over n_threads); with several threads, a batch of several
     * sequences is cut into n_threads sub-batches, one per worker, each on its own ws[i] single-threaded:
     * one fork-join per batch instead of dozens per layer. */
    sem_scratch ws[SEM_MAX_WORKERS];
    /* batching */
    int32_t *ids, *types; /* (cap_ids) the batch's tokens, grouped by worker */
    size_t cap_ids;
    int *lens;  /* (cap_seqs) */
    int *order; /* (cap_seqs) input row of each sequence of the batch, grouped by worker */
    int *assign; /* (cap_seqs) the worker of each sequence */
    size_t cap_seqs;
};

/* Makes sure ws can run T tokens in n_seq sequences of at most Lmax tokens with `slots` attention workers. */
int sem_scratch_reserve(const sem_model *m, sem_scratch *ws, size_t T, size_t n_seq, size_t Lmax, size_t slots,
                        int need_hidden, sem_error *err);
/* Makes sure ctx's batching arrays hold T tokens and n_seq sequences. */
int sem_ctx_reserve(sem_encoder_ctx *ctx, size_t T, size_t n_seq, sem_error *err);

/* Runs the encoder on n_seq packed sequences with nt workers: ids/types (T) concatenated, lens (n_seq). The
 * result, last_hidden_state (T, hidden), is left in ws->x; ws->offs gets the n_seq + 1 token offsets. hidden
 * (may be NULL): n_layers+1 pointers, each NULL or a (T, hidden) buffer that receives that layer's output
 * ([0] = embeddings). Ids, types and lengths are checked. ws must have been reserved for the batch. */
int sem_bert_forward(const sem_model *m, sem_scratch *ws, int nt, const int32_t *ids, const int32_t *types,
                     const int *lens, int n_seq, float *const *hidden, sem_error *err);

/* ---- mathfn.c: elementwise kernels (vectorisable; accurate to a few float ulps) ---- */
float sem_expf(float x);
/* x = act(x + b) for rows of cols (b non-NULL); nt threads for large passes */
void sem_bias_act(float *x, const float *b, size_t rows, size_t cols, sem_act act, int nt);
void sem_bias_tanh(float *x, const float *b, size_t rows, size_t cols);            /* x = tanh(x + b) */
/* x = LayerNorm((y + b) + x) * g + beta, row-wise over cols (y and b both set, or both NULL: LayerNorm(x)). */
void sem_add_layernorm(float *x, const float *y, const float *b, const float *g, const float *beta, size_t rows,
                       size_t cols, float eps, int nt);
void sem_softmax_rows(float *s, size_t rows, size_t cols, size_t ld);

/* ---- pool.c ---- */
/* Pools n_seq sequences (offs (n_seq+1) token offsets) into out (n_seq, hidden). last: last layer (T, hidden);
 * aux: the embedding output / second-to-last layer for the averaging modes (else NULL); rows: scratch of
 * (n_seq, hidden) floats for the pooler. */
int sem_pool(const sem_model *m, sem_pooling p, const float *last, const float *aux, const int *offs, int n_seq,
             float *rows, float *out, sem_error *err);
void sem_l2_normalize(float *v, size_t n);

#endif
