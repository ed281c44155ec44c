/* encoder/hfmodel.h: the two files of a HuggingFace BERT model folder that carry the network, read once for
 * every part that needs them: config.json (the shape, validated against one set of limits) and
 * model.safetensors (the weights, every offset and size checked). The encoder loads models through it
 * (encoder/model.c), and the trainer (train/hfio.c) reads the models it starts from and the configs it builds
 * through it too, so that the trainer accepts exactly the shapes the encoder can run and never writes a model
 * that `semsearch embed` refuses. The rest of a folder (tokenizer, sentence-transformers files) is the
 * encoder's business (encoder.h, internal.h).
 *
 * Both formats are untrusted input: parsers never read outside the buffer and fail with SEM_EFORMAT and a
 * message that names the file (what) and the key or tensor at fault. Fuzzed by tests/encoder/fuzz_safetensors.c.
 * Threads: every function is reentrant; a parsed sem_st is immutable. Ownership: sem_st_open / sem_st_parse
 * results are freed with sem_st_close; sem_bert_config holds no pointers. */
#ifndef SEM_ENCODER_HFMODEL_H
#define SEM_ENCODER_HFMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- config.json ---- */

/* Hard limits on config values: far above any BERT, low enough that every size product fits in size_t and int
 * (and that a forward pass's per-layer arrays stay small). The encoder refuses a config outside them, and so
 * does the trainer. */
#define SEM_MAX_HIDDEN 8192
#define SEM_MAX_LAYERS 128
#define SEM_MAX_HEADS 256
#define SEM_MAX_FFN 65536
#define SEM_MAX_VOCAB 1000000
#define SEM_MAX_POSITIONS 8192
#define SEM_MAX_TYPE_VOCAB 64

/* hidden_act: "gelu" (erf), "gelu_new" / "gelu_pytorch_tanh" (tanh approximation), "relu". NONE: identity
 * (the encoder's internal use; never parsed). */
typedef enum sem_act { SEM_ACT_GELU = 0, SEM_ACT_GELU_TANH, SEM_ACT_RELU, SEM_ACT_NONE } sem_act;

/* config.json of a BERT model, validated (keys in comments; defaults as HF BertConfig for the optional ones). */
typedef struct sem_bert_config {
    int hidden;            /* hidden_size (required), divisible by n_heads */
    int n_layers;          /* num_hidden_layers (required) */
    int n_heads;           /* num_attention_heads (required) */
    int ffn;               /* intermediate_size (required) */
    int max_pos;           /* max_position_embeddings (512), at least 2 */
    int type_vocab;        /* type_vocab_size (2) */
    int vocab;             /* vocab_size (required) */
    int pad_id;            /* pad_token_id (0), inside the vocabulary */
    sem_act act;           /* hidden_act ("gelu") */
    double ln_eps;         /* layer_norm_eps (1e-12), in (0, 1] */
    double hidden_dropout; /* hidden_dropout_prob (0.1), in [0, 1): the trainer's */
    double attn_dropout;   /* attention_probs_dropout_prob (0.1), in [0, 1): the trainer's */
    double init_range;     /* initializer_range (0.02), in [0, 1]: the trainer's */
} sem_bert_config;

/* Parses config.json text (len bytes; what names the file in messages) into out. model_type must be absent or
 * "bert" and position_embedding_type absent or "absolute"; every value is type- and range-checked
 * (sem_bert_config_check). query_prefix (may be NULL) receives semsearch's "query_prefix" key, malloc'd, or
 * NULL when absent. On error out is zeroed and *query_prefix NULL. */
int sem_bert_config_parse(const char *text, size_t len, const char *what, sem_bert_config *out,
                          char **query_prefix /* OUT: malloc'd or NULL */, sem_error *err);

/* Checks a config built in code against the same limits as the parser, with the same messages ("what:
 * \"hidden_size\" = 16384 is out of range [1, 8192]"); SEM_EFORMAT when out of range. */
int sem_bert_config_check(const sem_bert_config *c, const char *what, sem_error *err);

/* The config.json name of an activation ("gelu", "gelu_new", "relu"). */
const char *sem_act_name(sem_act act);

/* ---- model.safetensors ---- */
/* Layout: 8 bytes little-endian u64 N, N bytes of JSON header {name: {"dtype", "shape", "data_offsets": [b, e]},
 * "__metadata__": {...}}, then the data section; offsets are relative to the data section. */

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
    void *map; /* mmap of the whole file (NULL when parsed from a caller's buffer) */
    size_t map_len;
    const uint8_t *data; /* the data section (after the header) */
    size_t data_len;
    sem_st_tensor *tensors; /* sorted by name */
    int n_tensors;
    char *path; /* for messages (NULL when parsed from a buffer) */
} sem_st;

/* Parses a whole safetensors file held in buf (not copied: buf must outlive the result). what names it in
 * messages. Every offset, size and shape is checked, and no two tensors may share bytes; returns NULL with err
 * set on any inconsistency. */
sem_st *sem_st_parse(const uint8_t *buf, size_t len, const char *what, sem_error *err);
/* mmaps path and parses it (messages name path; a missing file is SEM_ENOTFOUND). */
sem_st *sem_st_open(const char *path, sem_error *err);
void sem_st_close(sem_st *st); /* NULL is a no-op */
/* The tensor called name, or NULL. */
const sem_st_tensor *sem_st_find(const sem_st *st, const char *name);
/* Converts tensor t (F32/F16/BF16) of st to f32, refusing non-finite values. dst receives it either as stored
 * ((d0, d1) row-major, transpose 0: n_elems floats) or transposed ((d1, d0) row-major with leading dimension
 * ld, starting at column col: what the encoder's packed linear layers need; transpose 1, 2-D tensors only). */
int sem_st_read_f32(const sem_st *st, const sem_st_tensor *t, float *dst, int transpose, size_t ld, size_t col,
                    sem_error *err);

#ifdef __cplusplus
}
#endif
#endif
