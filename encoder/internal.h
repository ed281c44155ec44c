/* encoder/internal.h: what the files of encoder/ share (not a public header; tests and the benchmark may use it).
 *
 * Files: config.c (JSON config files), safetensors.c (weights file parser), model.c (load/free/info, weight
 * packing), bert.c (forward pass), pool.c (pooling), encode.c (batching, public encode calls), mlm.c (masked-LM
 * head), mathfn.c (vectorisable exp/erf/tanh and the fused elementwise passes). */
#ifndef SEM_ENCODER_INTERNAL_H
#define SEM_ENCODER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "encoder/encoder.h"
#include "encoder/tokenizer.h"

/* Hard limits on config values: far above any BERT, low enough that every size product fits in size_t/int. */
#define SEM_MAX_HIDDEN 8192
#define SEM_MAX_LAYERS 128
#define SEM_MAX_HEADS 256
#define SEM_MAX_FFN 65536
#define SEM_MAX_VOCAB 1000000
#define SEM_MAX_POSITIONS 8192
#define SEM_MAX_TYPE_VOCAB 64

typedef enum sem_act { SEM_ACT_GELU = 0, SEM_ACT_GELU_TANH, SEM_ACT_RELU, SEM_ACT_NONE } sem_act;

/* config.json of a BERT model, validated. */
typedef struct sem_bert_config {
    int hidden;     /* hidden_size */
    int n_layers;   /* num_hidden_layers */
    int n_heads;    /* num_attention_heads (divides hidden) */
    int ffn;        /* intermediate_size */
    int max_pos;    /* max_position_embeddings */
    int type_vocab; /* type_vocab_size */
    int vocab;      /* vocab_size */
    int pad_id;     /* pad_token_id */
    sem_act act;    /* hidden_act */
    float ln_eps;   /* layer_norm_eps */
} sem_bert_config;

/* Everything the model folder's JSON files say, validated (config.c). */
typedef struct sem_model_config {
    sem_bert_config bert;
    sem_tokenizer_config tok;
    sem_pooling pooling; /* resolved from modules.json + 1_Pooling/config.json (never AUTO) */
    int normalize;       /* modules.json has a Normalize module */
    int max_tokens;      /* sentence_bert_config max_seq_length, else tokenizer model_max_length, capped by max_pos */
    char *query_prefix;  /* malloc'd, "" if none */
} sem_model_config;

/* Parses config.json text (what names the file in messages). */
int sem_bert_config_parse(const char *text, size_t len, const char *what, sem_bert_config *out,
                          char **query_prefix /* OUT: malloc'd or NULL */, sem_error *err);
/* Parses tokenizer_config.json text into out (defaults for absent keys). */
int sem_tokenizer_config_parse(const char *text, size_t len, const char *what, sem_tokenizer_config *out,
                               sem_error *err);
/* Reads every JSON file of the folder dir into out; config_json (OUT, malloc'd, caller frees) receives the raw
 * bytes of config.json for the identity hash. On error out is left empty (nothing to free). */
int sem_model_config_load(const char *dir, sem_model_config *out, char **config_json, size_t *config_len,
                          sem_error *err);
void sem_model_config_free(sem_model_config *c);

/* ---- safetensors.c ---- */
typedef enum sem_dtype { SEM_DT_F32 = 0, SEM_DT_F16, SEM_DT_BF16, SEM_DT_OTHER } sem_dtype;

#define SEM_ST_MAX_DIMS 8

typedef struct sem_st_tensor {
    char *name;
    sem_dtype dtype;
    char dtype_name[12];
    int ndim;
    int64_t shape[SEM_ST_MAX_DIMS];
    uint64_t n_elems;
    size_t begin, end; /* byte range inside the data section, bounds-checked against it */
} sem_st_tensor;

typedef struct sem_st {
    void *map;   /* mmap of the whole file (NULL when parsed from a caller's buffer) */
    size_t map_len;
    const uint8_t *data; /* the data section (after the header) */
    size_t data_len;
    sem_st_tensor *tensors; /* sorted by name */
    int n_tensors;
    char *path; /* for messages */
} sem_st;

/* Parses a whole safetensors file held in buf (not copied: buf must outlive the result). what names it in
 * messages. Every offset, size and shape is checked; returns NULL with err set on any inconsistency. */
sem_st *sem_st_parse(const uint8_t *buf, size_t len, const char *what, sem_error *err);
/* mmaps path and parses it. */
sem_st *sem_st_open(const char *path, sem_error *err);
void sem_st_close(sem_st *st); /* NULL is a no-op */
const sem_st_tensor *sem_st_find(const sem_st *st, const char *name);
/* Converts tensor t (F32/F16/BF16) to f32. dst receives it either as stored ((d0, d1) row-major, transpose 0)
 * or transposed ((d1, d0) row-major with leading dimension ld, starting at column col: what the packed linear
 * layers need; transpose 1, 2-D tensors only). */
int sem_st_read_f32(const sem_st *st, const sem_st_tensor *t, float *dst, int transpose, size_t ld, size_t col,
                    sem_error *err);
float sem_f16_to_f32(uint16_t h);
float sem_bf16_to_f32(uint16_t h);

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
void sem_act_apply(float *x, size_t n, sem_act act);

/* ---- pool.c ---- */
/* Pools n_seq sequences (offs (n_seq+1) token offsets) into out (n_seq, hidden). last: last layer (T, hidden);
 * aux: the embedding output / second-to-last layer for the averaging modes (else NULL); rows: scratch of
 * (n_seq, hidden) floats for the pooler. */
int sem_pool(const sem_model *m, sem_pooling p, const float *last, const float *aux, const int *offs, int n_seq,
             float *rows, float *out, sem_error *err);
void sem_l2_normalize(float *v, size_t n);

#endif
