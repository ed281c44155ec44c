/* encoder/encoder.h: semsearch's BERT encoder, exact against HuggingFace transformers.
 *
 * Usage:
 *     sem_error err;
 *     sem_model *m = sem_model_load("models/all-MiniLM-L6-v2", NULL, &err);   // immutable, shared
 *     sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, &err);                       // one per thread
 *     float *vecs = malloc(sizeof(float) * n * sem_model_dim(m));               // (n, dim) row-major
 *     sem_encode(ctx, texts, n, NULL, vecs, &err);
 *     sem_encoder_ctx_free(ctx);
 *     sem_model_free(m);
 *
 * Ownership: the caller owns what it allocates (output buffers); the model owns its weights (mmapped) and vocab;
 * a context owns its scratch memory. Strings returned by sem_model_* getters live as long as the model.
 * Threads: a sem_model is immutable after load and may be shared by any number of threads; a sem_encoder_ctx
 * belongs to one thread at a time. No function here keeps global state (logging aside, see common/log.h).
 * Errors: int functions return SEM_OK or a negative SEM_E* code and fill err (see common/error.h). */
#ifndef SEM_ENCODER_H
#define SEM_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sem_model sem_model;             /* immutable: config, vocab, weights */
typedef struct sem_encoder_ctx sem_encoder_ctx; /* per-thread scratch */

typedef enum sem_pooling {
    SEM_POOL_AUTO = 0,      /* what modules.json / 1_Pooling/config.json say (mean when absent) */
    SEM_POOL_CLS,           /* last_hidden_state[CLS] */
    SEM_POOL_MEAN,          /* mean over tokens with attention_mask 1 */
    SEM_POOL_MAX,           /* max over tokens with attention_mask 1 */
    SEM_POOL_POOLER,        /* tanh(W h[CLS] + b): BERT's pooler_output */
    SEM_POOL_FIRST_LAST_AVG, /* mean over tokens of (embedding layer output + last layer) / 2 */
    SEM_POOL_LAST_TWO_AVG   /* mean over tokens of (second-to-last + last layer) / 2 */
} sem_pooling;

/* Parses "auto", "cls", "mean", "max", "pooler", "first-last-avg", "last-two-avg"; -1 if unknown. */
int sem_pooling_parse(const char *name);
const char *sem_pooling_name(sem_pooling p);

/* Arithmetic of the linear layers (Q/K/V, attention output, FFN: ~90 % of the FLOPs); the rest stays f32. */
typedef enum sem_precision {
    SEM_PRECISION_F32 = 0, /* the default: exact against HF to float rounding */
    SEM_PRECISION_BF16,    /* bf16 weights and activations, f32 accumulation: CPUs with AVX512_BF16 or AMX_BF16
                            * only; elsewhere the model runs f32 (sem_model_info.precision says so) */
    SEM_PRECISION_INT8     /* weights per output channel at load, activations per row at run time, s32 sums */
} sem_precision;
/* Parses "f32", "bf16", "int8"; -1 if unknown. */
int sem_precision_parse(const char *name);
const char *sem_precision_name(sem_precision p);

typedef struct sem_model_params {
    int n_threads; /* threads used by a context of this model for one forward pass; 0 = the process default
                    * (sem_encoder_set_default_threads, else OPENBLAS_NUM_THREADS capped at the CPUs, else all
                    * CPUs). The encoder splits its GEMMs over these threads itself and keeps its GEMM libraries
                    * single-threaded during its calls, so that contexts on several threads can run at once; a
                    * server with one context per worker thread passes 1. */
    sem_precision precision; /* of the linear layers; default SEM_PRECISION_F32 */
} sem_model_params;
sem_model_params sem_model_default_params(void);

/* Loads a HuggingFace BERT model folder (config.json, vocab.txt, model.safetensors, tokenizer_config.json,
 * special_tokens_map.json, modules.json, 1_Pooling/config.json, sentence_bert_config.json). params may be NULL.
 * Returns NULL on failure with err naming the file or tensor at fault. */
sem_model *sem_model_load(const char *dir, const sem_model_params *params, sem_error *err);
void sem_model_free(sem_model *m); /* NULL is a no-op */

/* What a knowledge base records about the model that made its vectors, so that it is never searched with
 * another. All strings are owned by the model. */
typedef struct sem_model_info {
    const char *name;        /* the folder's base name (or the cached hub name) */
    const char *config_hash; /* hex sha256 of config.json + vocab.txt + pooling config: the model's identity */
    int dim;                 /* output vector dimension */
    sem_pooling pooling;     /* resolved pooling for SEM_POOL_AUTO */
    int normalize;           /* 1 if modules.json has a Normalize module */
    int max_tokens;          /* max sequence length incl. [CLS]/[SEP] (sentence_bert_config or 512) */
    int has_mlm_head;        /* 1 if the folder has cls.predictions.* */
    const char *query_prefix; /* prefix prepended to queries (config's "query_prefix"), "" if none */
    sem_precision precision_requested; /* sem_model_params.precision */
    sem_precision precision;           /* what runs: f32 where the CPU lacks the instructions for the request */
} sem_model_info;
void sem_model_get_info(const sem_model *m, sem_model_info *out);
int sem_model_dim(const sem_model *m);

/* Tokenization exactly as HF BertTokenizer (see encoder/tokenizer.h for the full API). Counts the WordPiece
 * tokens of text (without [CLS]/[SEP], no truncation): what the chunker needs. len < 0 means NUL-terminated. */
int sem_model_count_tokens(const sem_model *m, const char *text, ptrdiff_t len);

sem_encoder_ctx *sem_encoder_ctx_new(const sem_model *m, sem_error *err);
void sem_encoder_ctx_free(sem_encoder_ctx *ctx); /* NULL is a no-op */

typedef struct sem_encode_params {
    sem_pooling pooling; /* SEM_POOL_AUTO = the model's */
    int normalize;       /* -1 = the model's (modules.json Normalize, applies to AUTO), 0 = no, 1 = L2-normalize */
    int max_tokens;      /* truncation length incl. specials; 0 = the model's max_tokens */
    int batch_size;      /* texts per forward pass; 0 = 32 */
} sem_encode_params;
sem_encode_params sem_encode_default_params(void);

/* Encodes n UTF-8 texts into out, (n, dim) row-major floats the caller allocated. params may be NULL.
 * Texts are sorted by length and batched internally; results do not depend on batch composition.
 * Invalid UTF-8 is an error (SEM_EINVAL naming the text index). */
int sem_encode(sem_encoder_ctx *ctx, const char *const *texts, int n, const sem_encode_params *params, float *out,
               sem_error *err);

/* Like sem_encode for sentence pairs (token_type_ids 0 for a, 1 for b). */
int sem_encode_pairs(sem_encoder_ctx *ctx, const char *const *a, const char *const *b, int n,
                     const sem_encode_params *params, float *out, sem_error *err);

/* ---- Context pool: contexts for threads that encode now and then (encoder/ctxpool.c) ----
 * A server's request threads, or the callers of one shared search handle, borrow a context for one call and
 * return it:
 *     sem_encoder_pool *pool = sem_encoder_pool_new(m, &err);          // controlling thread
 *     sem_encoder_ctx *ctx = sem_encoder_pool_borrow(pool, &err);      // any thread
 *     sem_encode(ctx, texts, n, NULL, vecs, &err);
 *     sem_encoder_pool_return(pool, ctx);
 *     sem_encoder_pool_free(pool);                                      // controlling thread, at the end
 * A borrow never waits for another thread: it takes an idle context or makes one. Contexts are kept for reuse, so
 * the pool holds at most as many as threads borrowed at the same time. Ownership: the pool owns its contexts;
 * the model must outlive the pool. Threads: _new and _free on one thread, with no context borrowed;
 * _borrow and _return from any number of threads at once. */
typedef struct sem_encoder_pool sem_encoder_pool;
sem_encoder_pool *sem_encoder_pool_new(const sem_model *m, sem_error *err); /* NULL with err on failure */
void sem_encoder_pool_free(sem_encoder_pool *p); /* frees every context; NULL is a no-op */
/* An idle context of the pool's model, or a new one; NULL with err on failure (out of memory). */
sem_encoder_ctx *sem_encoder_pool_borrow(sem_encoder_pool *p, sem_error *err);
/* Gives back a context borrowed from p (NULL is a no-op); the caller must not use it afterwards. */
void sem_encoder_pool_return(sem_encoder_pool *p, sem_encoder_ctx *ctx);

/* ---- Lower level: token ids in, for tools that tokenize themselves, parity tests and benchmarks ---- */

/* The model's tokenizer (owned by the model; NULL for a model built without one). */
struct sem_tokenizer;
const struct sem_tokenizer *sem_model_tokenizer(const sem_model *m);
/* Loads only the tokenizer of a model folder (vocab.txt, tokenizer_config.json, special_tokens_map.json, checked
 * as sem_model_load does) without the weights: what `semsearch tokenize` needs. *max_tokens (may be NULL)
 * receives the model's max_tokens. The caller frees the result with sem_tokenizer_free(). */
struct sem_tokenizer *sem_model_load_tokenizer(const char *dir, int *max_tokens, sem_error *err);
int sem_model_hidden_size(const sem_model *m);
int sem_model_n_layers(const sem_model *m);
int sem_model_vocab_size(const sem_model *m);
int sem_model_max_positions(const sem_model *m); /* max_position_embeddings: the longest sequence it runs */

/* One tokenized sequence: ids as a tokenizer makes them, [CLS] … [SEP] included, no padding. */
typedef struct sem_token_input {
    const int32_t *input_ids;      /* (n) */
    const int32_t *token_type_ids; /* (n), or NULL for all 0 */
    int n;                         /* 1 <= n <= sem_model_max_positions() */
} sem_token_input;

/* Encodes n tokenized sequences into out (n, dim) as sem_encode does (params->max_tokens is ignored: inputs are
 * not truncated; a sequence longer than the model's positions is SEM_ERANGE). Ids out of the vocabulary and
 * token types out of range are SEM_EINVAL naming the input. */
int sem_encode_tokens(sem_encoder_ctx *ctx, const sem_token_input *inputs, int n, const sem_encode_params *params,
                      float *out, sem_error *err);

/* Runs one sequence and writes every layer's output into out, (n_layers + 1, n, hidden) row-major: [0] is the
 * embedding layer's output, [n_layers] the last_hidden_state (HF's output_hidden_states). */
int sem_encoder_hidden_states(sem_encoder_ctx *ctx, const sem_token_input *input, float *out, sem_error *err);

/* ---- Masked-LM head (models whose folder has cls.predictions.*; sem_model_info.has_mlm_head) ---- */

/* Logits over the vocabulary at n_pos positions of one sequence: out (n_pos, vocab) row-major.
 * SEM_ENOTFOUND if the model has no MLM head; positions out of [0, n) are SEM_ERANGE. */
int sem_mlm_logits(sem_encoder_ctx *ctx, const sem_token_input *input, const int *positions, int n_pos, float *out,
                   sem_error *err);

/* The k largest of logits (n) in descending order (ties: lower id first): ids (k) and values (k), k <= n. */
void sem_top_k(const float *logits, int n, int k, int32_t *ids, float *values);

/* ---- Kernels and threads (process-wide) ---- */

/* Call first in main(), before threads start: if the OpenBLAS core that the library picked from its list of CPU
 * models is weaker than the CPU's features allow (e.g. Prescott on an unknown AVX-512 CPU), re-executes the
 * program (/proc/self/exe, same argv and environment) with OPENBLAS_CORETYPE set from the features: OpenBLAS reads
 * it only in its library constructor, before main(). SEMSEARCH_BLAS_FIXED (set to OpenBLAS's own choice) guards
 * against a second exec. Returns 0 when nothing was to be done, -1 if the exec failed (OpenBLAS keeps its choice).
 * The encoder's GEMMs do not need this (oneDNN chooses by features); the trainer and FAISS use OpenBLAS. */
int sem_kernels_setup(char **argv);
/* Lines saying which kernels run and why: CPU features, the encoder's f32 GEMM library and ISA, int8 and bf16
 * kernels (or why not), OpenBLAS's core. Into buf (n bytes), NUL-terminated. */
void sem_kernels_describe(char *buf, size_t n);
/* The worker threads of models loaded afterwards with n_threads 0 (process-wide, like the logger); n < 1
 * restores the default. Inherited OPENBLAS_NUM_THREADS / OMP_NUM_THREADS never oversubscribe the encoder: its
 * GEMMs run single-threaded inside its own workers. */
void sem_encoder_set_default_threads(int n);

#ifdef __cplusplus
}
#endif
#endif
