/* train/model.h: a trainable BERT in plain C, written llm.c-style.
 *
 * All parameters live in one allocation (params) with a pointer table (w); the gradients have the same layout
 * (grads, g). Each layer is a function with shapes in its comments (train/model.c). A forward pass keeps every
 * activation the backward pass needs in a workspace (sem_tacts) sized for a maximum batch.
 *
 * The real type is float, or double when this file is compiled with -DSEM_TRAIN_F64 (the gradient-check build of
 * the same source: tests link sem_train_f64, the product links sem_train). Every matmul goes through BLAS gemm.
 *
 * Tensor layout follows PyTorch/HF: a Linear weight is (out, in) row-major and y = x W^T + b. Q, K and V of a
 * layer are fused: qkv_w is (3H, H) per layer with query rows first, then key, then value, which is exactly
 * HF's query.weight, key.weight and value.weight stored one after the other.
 *
 * Randomness: dropout masks are a pure function of (seed, site, element index) (a counter-based hash), so a
 * forward pass is reproducible from its seed alone, and a gradient check can replay the same mask.
 *
 * Ownership: sem_tmodel owns its parameter, gradient and optimizer buffers; sem_tacts owns its activations.
 * Threads: one model + workspace per thread; OpenBLAS may use its own threads inside gemm. */
#ifndef SEM_TRAIN_MODEL_H
#define SEM_TRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#ifdef SEM_TRAIN_F64
typedef double sem_real;
#else
typedef float sem_real;
#endif

typedef enum sem_tact { SEM_TACT_GELU = 0, SEM_TACT_GELU_NEW, SEM_TACT_RELU } sem_tact;

/* Pooling of the final hidden states into one vector per sequence (for the contrastive losses). */
typedef enum sem_tpool { SEM_TPOOL_MEAN = 0, SEM_TPOOL_CLS, SEM_TPOOL_POOLER } sem_tpool;

typedef struct sem_tconfig {
    int vocab_size;        /* V */
    int hidden;            /* H */
    int layers;            /* L */
    int heads;             /* nh; H % nh == 0 */
    int ffn;               /* F (intermediate_size) */
    int max_pos;           /* P (max_position_embeddings) */
    int type_vocab;        /* TV (type_vocab_size) */
    sem_tact act;          /* hidden_act */
    double ln_eps;         /* layer_norm_eps */
    double hidden_dropout; /* hidden_dropout_prob */
    double attn_dropout;   /* attention_probs_dropout_prob */
    double init_range;     /* initializer_range */
    int pad_id;            /* pad_token_id */
} sem_tconfig;

/* Checks ranges and divisibility; SEM_EINVAL with a message when the config is unusable. */
int sem_tconfig_check(const sem_tconfig *c, sem_error *err);

#define SEM_TP_COUNT 24
/* The parameter tensors, in storage order. */
typedef struct sem_tparams {
    sem_real *wte;      /* (V, H) word embeddings; also the MLM decoder (tied) */
    sem_real *wpe;      /* (P, H) position embeddings */
    sem_real *wtt;      /* (TV, H) token type embeddings */
    sem_real *emb_ln_w; /* (H) */
    sem_real *emb_ln_b; /* (H) */
    sem_real *qkv_w;    /* (L, 3H, H) */
    sem_real *qkv_b;    /* (L, 3H) */
    sem_real *ao_w;     /* (L, H, H) attention output dense */
    sem_real *ao_b;     /* (L, H) */
    sem_real *ln1_w;    /* (L, H) attention output LayerNorm */
    sem_real *ln1_b;    /* (L, H) */
    sem_real *fi_w;     /* (L, F, H) intermediate dense */
    sem_real *fi_b;     /* (L, F) */
    sem_real *fo_w;     /* (L, H, F) output dense */
    sem_real *fo_b;     /* (L, H) */
    sem_real *ln2_w;    /* (L, H) output LayerNorm */
    sem_real *ln2_b;    /* (L, H) */
    sem_real *pool_w;   /* (H, H) pooler dense */
    sem_real *pool_b;   /* (H) */
    sem_real *mlm_w;    /* (H, H) MLM head transform dense */
    sem_real *mlm_b;    /* (H) */
    sem_real *mlm_ln_w; /* (H) MLM head LayerNorm */
    sem_real *mlm_ln_b; /* (H) */
    sem_real *mlm_bias; /* (V) MLM decoder bias */
} sem_tparams;

typedef union sem_tptrs {
    sem_tparams p;
    sem_real *t[SEM_TP_COUNT];
} sem_tptrs;

typedef struct sem_tmodel {
    sem_tconfig cfg;
    size_t sizes[SEM_TP_COUNT]; /* element count of each tensor */
    size_t n_params;            /* sum of sizes */
    sem_real *params;           /* (n_params) */
    sem_real *grads;            /* (n_params), same layout */
    sem_tptrs w;                /* pointers into params */
    sem_tptrs g;                /* pointers into grads */
} sem_tmodel;

/* Static description of tensor i: a short name ("qkv_w"), whether AdamW decays it (weights yes; biases and
 * LayerNorm no). */
const char *sem_tparam_name(int i);
int sem_tparam_decay(int i);

/* Allocates a model with zeroed parameters and gradients. NULL on failure (bad config or out of memory). */
sem_tmodel *sem_tmodel_new(const sem_tconfig *cfg, sem_error *err);
void sem_tmodel_free(sem_tmodel *m); /* NULL is a no-op */

/* BERT's initialisation: weights and embeddings ~ N(0, init_range), biases 0, LayerNorm weight 1 bias 0,
 * the padding row of the word embeddings 0. Deterministic in seed. */
void sem_tmodel_init(sem_tmodel *m, uint64_t seed);
void sem_tmodel_zero_grad(sem_tmodel *m);

/* A batch of B sequences of length T (right-padded). ids, types and mask are (B, T) row-major. */
typedef struct sem_tbatch {
    int B, T;
    const int32_t *ids;
    const int32_t *types; /* NULL = all 0 */
    const int32_t *mask;  /* 1 token, 0 padding; NULL = all 1 */
    /* MLM only: n_pred masked positions (index b*T + t) and the ids to predict there. */
    int n_pred;
    const int32_t *pred_pos;
    const int32_t *pred_label;
    /* Contrastive only: anchors in the batch (rows 0..n_anchors-1; see sem_tmodel_infonce); 0 = B / 2. */
    int n_anchors;
} sem_tbatch;

/* Activations of one forward pass, sized for at most max_B sequences of max_T tokens and max_pred MLM
 * predictions (0 when the MLM loss is not used). */
typedef struct sem_tacts sem_tacts;
sem_tacts *sem_tacts_new(const sem_tconfig *cfg, int max_B, int max_T, int max_pred, sem_error *err);
void sem_tacts_free(sem_tacts *a); /* NULL is a no-op */

/* Forward pass options. train = 1 applies dropout with masks derived from seed. */
typedef struct sem_tfwd {
    int train;
    uint64_t seed;
} sem_tfwd;

/* Forward of the encoder only (dropout as fw says); returns a pointer to the last hidden state (B*T, H) inside
 * the workspace (valid until the next call), or NULL with err on a bad batch. */
const sem_real *sem_tmodel_encode(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, const sem_tfwd *fw,
                                  sem_error *err);

/* Statistics a loss function reports. */
typedef struct sem_tstats {
    double loss;
    int n;       /* predictions (MLM) or pairs (contrastive) */
    int correct; /* argmax hits: MLM token accuracy, or contrastive in-batch top-1 */
} sem_tstats;

/* Masked-LM: forward, cross-entropy averaged over the n_pred masked positions; when grad_scale != 0 also the
 * backward pass, adding grad_scale * d(loss)/d(param) into m->grads (so 1/accum_steps gives accumulation).
 * Returns SEM_OK or SEM_EINVAL. */
int sem_tmodel_mlm(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, const sem_tfwd *fw, double grad_scale,
                   sem_tstats *st, sem_error *err);

/* MLM logits (n_pred, V) at the batch's masked positions (dropout off, no labels needed) into out. */
int sem_tmodel_mlm_logits(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, sem_real *out, sem_error *err);

/* Contrastive InfoNCE with in-batch negatives: the batch holds 2n sequences, anchors 0..n-1 then their
 * positives n..2n-1 (for SimCSE the same sentences twice: dropout makes the two views differ). Similarities are
 * cosines divided by temperature; loss = mean over anchors of cross-entropy against the matching positive.
 * Backward as for sem_tmodel_mlm. */
int sem_tmodel_contrastive(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, const sem_tfwd *fw, sem_tpool pool,
                           double temperature, double grad_scale, sem_tstats *st, sem_error *err);

/* InfoNCE over a batch of n_anchors anchors (rows 0..n-1) followed by B - n candidates (rows n..B-1): rows
 * n..2n-1 are the anchors' positives (row n + i belongs to anchor i), rows 2n..B-1 are hard negatives (any number,
 * 0 .. B - 2n). Each anchor's softmax runs over ALL candidates of the batch: every positive and every hard
 * negative; loss = mean over anchors of cross-entropy against its own positive; st->correct counts anchors whose
 * positive scores highest. sem_tmodel_contrastive is the case B = 2n. Backward as for sem_tmodel_mlm. */
int sem_tmodel_infonce(sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, int n_anchors, const sem_tfwd *fw,
                       sem_tpool pool, double temperature, double grad_scale, sem_tstats *st, sem_error *err);

/* Pooled sentence vectors (B, H) of the last forward pass (call after encode); not normalised. */
void sem_tmodel_pool(const sem_tmodel *m, sem_tacts *a, const sem_tbatch *b, sem_tpool pool, sem_real *out);


#endif
