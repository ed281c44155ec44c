/* encoder/tokenizer.h: WordPiece tokenization identical to HuggingFace BertTokenizer (the slow reference).
 *
 * Pipeline (as HF): clean text (drop NUL, U+FFFD and every C* category except \t\n\r; whitespace to ' '), split CJK ideographs
 * into words (when tokenize_chinese_chars), lowercase per code point and strip accents (NFD, drop Mn) per the
 * config, split on punctuation (ASCII symbol ranges count as punctuation) and on whitespace as Python's
 * str.split, then greedy longest-match WordPiece with "##" continuations; words over 100 characters and words
 * that fail to match become one [UNK]. Special tokens written literally in the text ([MASK], [CLS], …) are kept.
 * Unicode data comes from utf8proc.
 *
 * Ownership: a sem_vocab / sem_tokenizer is immutable after creation and may be shared between threads.
 * sem_tokenized is caller-owned: free it with sem_tokenized_free(). */
#ifndef SEM_TOKENIZER_H
#define SEM_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sem_tokenizer sem_tokenizer;

typedef struct sem_tokenizer_config {
    int do_lower_case;          /* tokenizer_config.json do_lower_case (default 1) */
    int strip_accents;          /* -1 = follow do_lower_case (HF's None), 0 = never, 1 = always */
    int tokenize_chinese_chars; /* default 1 */
    int model_max_length;       /* default 512 */
} sem_tokenizer_config;
sem_tokenizer_config sem_tokenizer_default_config(void);
/* Reads model_dir/tokenizer_config.json into out exactly as sem_model_load does: the defaults when the file or a
 * key is missing; a file the encoder refuses is SEM_EFORMAT naming it. For tools that build their own tokenizer
 * (the trainer) and must tokenize as the model does. */
int sem_tokenizer_config_load(const char *model_dir, sem_tokenizer_config *out, sem_error *err);

/* Reads vocab.txt (one token per line; lines end only at \n, \r or \r\n, never at U+2028). */
sem_tokenizer *sem_tokenizer_load(const char *vocab_path, const sem_tokenizer_config *cfg, sem_error *err);
/* The same from a buffer already in memory. */
sem_tokenizer *sem_tokenizer_from_buffer(const char *vocab, size_t len, const sem_tokenizer_config *cfg,
                                         sem_error *err);
void sem_tokenizer_free(sem_tokenizer *t);

int sem_tokenizer_vocab_size(const sem_tokenizer *t);
/* The id of token, or -1. */
int32_t sem_tokenizer_token_id(const sem_tokenizer *t, const char *token);
/* The token text of id (owned by the tokenizer), or NULL if out of range. */
const char *sem_tokenizer_id_token(const sem_tokenizer *t, int32_t id);
/* Ids of the special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]); -1 where the vocab lacks one. */
int32_t sem_tokenizer_cls_id(const sem_tokenizer *t);
int32_t sem_tokenizer_sep_id(const sem_tokenizer *t);
int32_t sem_tokenizer_pad_id(const sem_tokenizer *t);
int32_t sem_tokenizer_unk_id(const sem_tokenizer *t);
int32_t sem_tokenizer_mask_id(const sem_tokenizer *t);

typedef struct sem_tokenized {
    int32_t *input_ids;      /* (n) */
    int32_t *token_type_ids; /* (n) */
    int32_t *attention_mask; /* (n), all 1 (no padding is added here) */
    int n;
} sem_tokenized;

/* Tokenizes text (and the pair text b, or NULL) into [CLS] a [SEP] (b [SEP]), truncating to max_len tokens
 * (0 = model_max_length) as HF does with truncation=True ('longest_first' for pairs). len_a/len_b < 0 means
 * NUL-terminated. Invalid UTF-8 is SEM_EINVAL. out is filled and owned by the caller. */
int sem_tokenize(const sem_tokenizer *t, const char *a, ptrdiff_t len_a, const char *b, ptrdiff_t len_b,
                 int max_len, sem_tokenized *out, sem_error *err);
void sem_tokenized_free(sem_tokenized *tk); /* frees the arrays, not the struct; NULL is a no-op */

/* WordPiece ids of text without specials or truncation, appended to a growing array: *ids (realloc'd, caller
 * frees) of *n (in/out) entries. Returns SEM_OK or an error. */
int sem_tokenize_ids(const sem_tokenizer *t, const char *text, ptrdiff_t len, int32_t **ids, int *n, sem_error *err);

/* Number of WordPiece tokens of text without specials (what sem_tokenize_ids would append); < 0 on error. */
int sem_tokenizer_count(const sem_tokenizer *t, const char *text, ptrdiff_t len);

#ifdef __cplusplus
}
#endif
#endif
