/* train/data.h: training data for the trainer, tokenized once up front.
 *
 * - MLM: every line of the corpus files is a paragraph; paragraphs are tokenized and concatenated into one token
 *   stream with [SEP] between paragraphs, cut into examples of seq-2 tokens ([CLS] + tokens + [SEP]).
 * - Pairs: every line is "text_a<TAB>text_b" (a query and its positive); text_b's of other pairs in the batch are
 *   the negatives. A line may carry a third column, "text_a<TAB>text_b<TAB>hard negative": the batch's hard
 *   negatives join its positives as candidates for every anchor. Files with and without it may be mixed.
 * - SimCSE: every line is one sentence, paired with itself (dropout makes the two views differ).
 * Examples are visited in a seeded random order that is a pure function of (seed, epoch), so a data position
 * (examples consumed) is all a checkpoint needs to continue exactly.
 * Masking for MLM (15 %; of those 80 % [MASK], 10 % a random token, 10 % kept) is a pure function of
 * (seed, example number) as well.
 * Ownership: sem_tdata owns its arrays; batches point into a sem_tbatch_buf the caller owns. */
#ifndef SEM_TRAIN_DATA_H
#define SEM_TRAIN_DATA_H

#include "train/model.h"

typedef enum sem_tdata_kind { SEM_TDATA_MLM = 0, SEM_TDATA_PAIRS, SEM_TDATA_SIMCSE } sem_tdata_kind;

typedef struct sem_tspecial {
    int32_t cls, sep, pad, mask, unk;
    int32_t vocab_size;
} sem_tspecial;

typedef struct sem_tdata {
    sem_tdata_kind kind;
    sem_tspecial sp;
    int32_t *tok;     /* MLM: the token stream; pairs/SimCSE: all sequences (no specials) back to back */
    size_t n_tok;
    size_t *off;      /* pairs/SimCSE: sequence i is tok[off[i], off[i+1]); (n_seq + 1) entries */
    size_t n_seq;
    /* pairs with hard negatives: example i is sequences ex[i] (anchor), ex[i] + 1 (positive) and, when
     * ex[i + 1] - ex[i] == 3, ex[i] + 2 (its hard negative). NULL while no example has a negative: then example i
     * is sequences 2i and 2i + 1 and the data (and its hash) are exactly what they were before negatives. */
    size_t *ex;       /* (n_ex + 1) entries when not NULL */
    size_t n_neg;     /* examples with a hard negative */
    size_t n_ex_built, ex_cap; /* complete examples listed in ex while reading; allocated entries */
    size_t n_ex;      /* examples: MLM chunks, or pairs (a = seq 2i, b = seq 2i+1), or SimCSE sentences */
    int seq_len;      /* MLM chunk length incl. [CLS]/[SEP] (set by sem_tdata_finish) */
    uint64_t hash;    /* identity of the data (for resume checks) */
    size_t skipped;   /* lines skipped (invalid UTF-8, pairs without a tab, nothing left after tokenizing) */
    size_t tok_cap, off_cap; /* allocated entries */
} sem_tdata;

/* An empty data set of the given kind; add text with sem_tdata_add_* and call sem_tdata_finish. */
sem_tdata *sem_tdata_new(sem_tdata_kind kind, const sem_tspecial *sp, sem_error *err);
void sem_tdata_free(sem_tdata *d); /* NULL is a no-op */

/* Appends already tokenized ids (no specials): a paragraph (MLM), a sentence (SimCSE) or one side of a pair
 * (pairs: call twice per pair, a then b). */
int sem_tdata_add_ids(sem_tdata *d, const int32_t *ids, size_t n, sem_error *err);

/* Pairs: appends the hard negative (n > 0 ids, no specials) of the pair just added with two sem_tdata_add_ids
 * calls. SEM_EINVAL when the last pair is incomplete or has a negative already, or for other kinds of data. */
int sem_tdata_add_negative(sem_tdata *d, const int32_t *ids, size_t n, sem_error *err);

/* Reads text files line by line and tokenizes them with the vocabulary at vocab_path (lower-cased as
 * bert-base-uncased when do_lower_case). Needs the encoder's tokenizer (SEM_EINVAL if this build lacks it). */
int sem_tdata_add_files(sem_tdata *d, const char *vocab_path, int do_lower_case, char *const *files, int n_files,
                        sem_error *err);

/* Fixes the example count for sequences of seq tokens; SEM_EINVAL when there is nothing to train on. */
int sem_tdata_finish(sem_tdata *d, int seq, sem_error *err);

/* Buffers for one batch (owned by the caller). */
typedef struct sem_tbatch_buf {
    int cap_B, cap_T, cap_pred;
    int32_t *ids, *types, *mask; /* (cap_B, cap_T) */
    int32_t *pred_pos, *pred_label; /* (cap_pred) */
    uint32_t *perm;  /* (n_ex) the current epoch's order */
    long perm_epoch; /* epoch perm holds, -1 = none */
} sem_tbatch_buf;

int sem_tbatch_buf_init(sem_tbatch_buf *bb, const sem_tdata *d, int B, int T, int max_pred, sem_error *err);
void sem_tbatch_buf_free(sem_tbatch_buf *bb);

/* MLM predictions at most per sequence of T tokens. */
int sem_tdata_max_pred(int T, double mask_prob);

/* Rows of a batch of B examples at most: B (MLM), 2B (SimCSE, pairs), 3B (pairs with hard negatives). */
int sem_tdata_rows(const sem_tdata *d, int B);

/* Fills batch b with the n_ex examples starting at data position pos (examples consumed so far; wraps into the
 * next epochs). MLM: B sequences of T tokens, masked with probability mask_prob. Pairs/SimCSE: 2B sequences
 * (anchors then positives), then the hard negatives of those examples that have one, padded to the longest in
 * the batch, at most T tokens; b->n_anchors = B. Returns the number of real (non-padding) tokens in the batch. */
long sem_tdata_batch(const sem_tdata *d, sem_tbatch_buf *bb, long pos, int B, int T, double mask_prob,
                     uint64_t seed, sem_tbatch *b);

#endif
