/* train/hfio.h: the trainer's bridge to HuggingFace model folders: config.json in and out, model.safetensors in
 * (F32, F16 or BF16; BertModel names or BertForPreTraining/BertForMaskedLM names with the "bert." prefix) and out
 * (F32 or F16, "bert." + "cls.predictions.*" names like bert-base-uncased, the tied decoder left out), and the
 * sentence-transformers files (modules.json, 1_Pooling/config.json, sentence_bert_config.json) plus the
 * tokenizer files, so that `semsearch embed` and HF transformers / sentence-transformers load the result. A model
 * folder's tokenizer settings are read with the encoder's sem_tokenizer_config_load (encoder/tokenizer.h).
 * Ownership: the caller frees what sem_tmodel_load_hf returns. No function keeps state. */
#ifndef SEM_TRAIN_HFIO_H
#define SEM_TRAIN_HFIO_H

#include "train/model.h"

/* Parses an HF BERT config.json (file contents in json) into cfg with the encoder's parser and limits
 * (sem_bert_config_parse, encoder/hfmodel.h): a config the encoder refuses is refused here with the same message.
 * hidden_size, num_hidden_layers, num_attention_heads, intermediate_size and vocab_size are required; the other
 * keys get BERT's defaults. Messages name the text "config.json". */
int sem_tconfig_parse_json(const char *json, size_t len, sem_tconfig *cfg, sem_error *err);
/* The same for the file at path (messages still say "config.json": callers prefix the path). */
int sem_tconfig_load(const char *path, sem_tconfig *cfg, sem_error *err);

/* Loads DIR/config.json and DIR/model.safetensors (messages name the file, as the encoder's do). Tensors the
 * file lacks (the pooler, the MLM head) keep BERT's initialisation from seed and are reported through *n_missing
 * (may be NULL) and sem_log. A tensor with the wrong shape is SEM_EMISMATCH, a bad dtype, byte range or
 * non-finite value SEM_EFORMAT, naming the tensor. */
sem_tmodel *sem_tmodel_load_hf(const char *dir, uint64_t seed, int *n_missing, sem_error *err);

/* Reads tensors from a safetensors buffer into m (what sem_tmodel_load_hf does after parsing the config), through
 * the encoder's parser (sem_st_parse); exposed for tests. */
int sem_tmodel_read_safetensors(sem_tmodel *m, const char *buf, size_t len, int *n_loaded, int *n_missing,
                                sem_error *err);

typedef struct sem_hf_save_params {
    int f16;                /* store weights as F16 instead of F32 */
    sem_tpool pooling;      /* written to 1_Pooling/config.json (POOLER is written as cls) */
    int normalize;          /* add a Normalize module to modules.json */
    int max_seq_length;     /* sentence_bert_config.json; 0 = 512 capped at max_position_embeddings */
    const char *vocab_path; /* copied to DIR/vocab.txt */
    int do_lower_case;      /* tokenizer_config.json */
} sem_hf_save_params;

/* Writes the HF folder DIR (created if missing); each file is written atomically. */
int sem_tmodel_save_hf(const sem_tmodel *m, const char *dir, const sem_hf_save_params *p, sem_error *err);

/* Serialises the model's tensors as safetensors into *out (malloc'd, caller frees) of *len bytes. */
int sem_tmodel_to_safetensors(const sem_tmodel *m, int f16, char **out, size_t *len, sem_error *err);

#endif
