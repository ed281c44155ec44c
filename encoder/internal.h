/* encoder/internal.h: what the files of encoder/ share (not a public header; tests and the benchmark may use it).
 *
 * Files: config.c (the folder's JSON files; config.json's parser is public in hfmodel.h), safetensors.c (the
 * weights file parser, public in hfmodel.h), model.c (load/free/info, weight packing), bert.c (forward pass),
 * pool.c (pooling), encode.c (batching, public encode calls), mlm.c (masked-LM head), mathfn.c (vectorisable
 * exp/erf/tanh and the fused elementwise passes), cpu.c (CPU features), gemm.c (GEMM library, threads, OpenBLAS's
 * core), linear.c (the linear layers at f32 / int8 / bf16), qgemm.c (int8 kernels). */
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

/* ---- cpu.c: SIMD features the CPU has and the OS enabled (cpuid + xgetbv) ---- */
typedef struct sem_cpu_features {
    int avx, avx2, fma;
    int avx512f, avx512dq, avx512bw, avx512vl, avx512_vnni, avx512_bf16;
    int avx_vnni, amx_tile, amx_bf16, amx_int8;
} sem_cpu_features;
void sem_cpu_features_get(sem_cpu_features *f);
/* The features present, space-separated, into buf (n bytes). */
void sem_cpu_features_str(const sem_cpu_features *f, char *buf, size_t n);

/* ---- linear.c: reduced-precision weights of one linear layer ---- */
typedef enum sem_qkernel { SEM_QK_NONE = 0, SEM_QK_AVX2, SEM_QK_ONEDNN } sem_qkernel; /* int8's kernel */
typedef struct sem_qweight {
    size_t k, n, kp;  /* in, out; kp = k rounded up to 4 */
    void *data;       /* bf16: (k, n) row-major; int8 oneDNN: (kp, n) s8; int8 AVX2: panels of 16 columns, each
                       * (kp/4) groups of 16 columns x 4 consecutive k (qgemm.c), columns padded to 16 */
    int32_t *colsum;  /* int8: (n, padded) sums over k of the quantized column */
    float *scale;     /* int8: (n, padded) per-output-channel scale */
} sem_qweight;

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
    sem_qweight q[4];           /* reduced precision (linear.c): wqkv, wo, wi, wo2; empty at f32 */
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

    sem_precision precision_req; /* what the params asked for */
    sem_precision precision;     /* what the linear layers run (f32 where the CPU lacks the instructions) */
    sem_qkernel qkernel;         /* int8's kernel */
    void *dnnl_engine;           /* oneDNN engine for bf16 / oneDNN int8, else NULL */

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
/* A model's threads when params say 0 (gemm.c): sem_encoder_set_default_threads()'s value, else
 * OPENBLAS_NUM_THREADS capped at the online CPUs, else the online CPUs (1..64). */
int sem_default_threads(void);

/* ---- gemm.c ---- */
/* y (M, N) = alpha * x (M, K) . w (K, N), or . w^T with trans_w (w (N, K)); row-major with leading dimensions.
 * oneDNN's sgemm (kernels by CPU features); single-threaded inside sem_blas_enter. Dimensions >= 1. */
void sem_sgemm(int trans_w, int M, int N, int K, float alpha, const float *x, int ldx, const float *w, int ldw,
               float *y, int ldy);
/* The OpenBLAS core for the CPU's features ("Cooperlake", "SkylakeX", "Haswell", "Sandybridge"; NULL: none
 * better than the baseline), and whether core `have` is weaker than that. */
const char *sem_blas_core_for(const sem_cpu_features *f);
int sem_blas_core_is_weak(const char *have, const sem_cpu_features *f);

/* ---- linear.c ---- */
/* Sets the precision of m's linear layers (builds the reduced weights from the f32 ones; f32 frees them). force
 * (tests, benchmarks): int8's kernel instead of the one the CPU features pick; SEM_QK_NONE = by features. bf16
 * on a CPU without AVX512_BF16/AMX_BF16 (or where oneDNN cannot run it) sets f32. */
int sem_model_set_precision(sem_model *m, sem_precision want, sem_qkernel force, sem_error *err);
void sem_model_free_precision(sem_model *m);
/* One line on what precision p runs on a CPU with features f. */
void sem_precision_describe(sem_precision p, const sem_cpu_features *f, char *buf, size_t n);

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
    /* reduced precision (linear.c), cap_q rows: quantized or bf16 activations (qa_row bytes a row), per-row zero
     * points and scales, s32 results of oneDNN's int8 matmul (NULL otherwise) */
    uint8_t *qa;
    size_t qa_row, cap_q;
    int q_kind; /* the precision and kernel they were sized for (a model's precision may be changed) */
    int32_t *qzp;
    float *qsa;
    int32_t *qacc;
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

/* y (T, n) = x (T, k) . w (k, n) (f32 weights w, or q at the model's reduced precision) with nt workers. */
int sem_linear(const sem_model *m, sem_scratch *ws, const sem_qweight *q, const float *w, const float *x, float *y,
               size_t T, size_t k, size_t n, int nt, sem_error *err);
/* Makes sure ws has the reduced-precision scratch for `rows` tokens (nothing at f32). */
int sem_linear_reserve(const sem_model *m, sem_scratch *ws, size_t rows, sem_error *err);
void sem_linear_scratch_free(sem_scratch *ws);

/* ---- qgemm.c: int8 kernels ---- */
/* Quantizes rows of x (ldx apart) to u8 with a per-row scale sa and zero point zp: q (rows, kp), zero past k. */
void sem_quantize_rows_u8(const float *x, size_t ldx, size_t rows, size_t k, size_t kp, uint8_t *q, int32_t *zp,
                          float *sa);
/* y (rows, n; ldy) = sa * sw * (acc - zp * colsum), acc (rows, n) s32. */
void sem_dequantize_s32(const int32_t *acc, size_t rows, size_t n, const int32_t *zp, const float *sa,
                        const int32_t *colsum, const float *sw, float *y, size_t ldy);
/* y (rows, n; ldy) = dequantized a (rows, kp) u8 . bp (the packed 7-bit weights of sem_qweight); AVX2 only. */
void sem_q8_gemm_avx2(const uint8_t *a, size_t rows, size_t kp, const int32_t *zp, const float *sa,
                      const int8_t *bp, const int32_t *colsum, const float *sw, size_t n, float *y, size_t ldy);

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
