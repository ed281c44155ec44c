/* train/card.h: the model card (README.md) that `semsearch train` writes beside the model it trained: the
 * architecture, where training started, the objective, the plan and how far it got, the data files.
 * Thread-safety: reads the trainer (owned by the caller's thread); writes one file atomically. */
#ifndef SEM_TRAIN_CARD_H
#define SEM_TRAIN_CARD_H

#include "train/train.h"

#include <stddef.h>

typedef struct sem_train_card {
    sem_tdata_kind kind;      /* the objective: MLM, contrastive pairs or SimCSE */
    const char *start;        /* the model folder or config.json training started from */
    const char *vocab;        /* the vocabulary file */
    char *const *files;       /* the training data files (n_files) */
    int n_files;
    size_t n_neg;             /* pairs that carry a hard negative */
    double eval_loss;         /* held-out MLM loss, < 0 when not measured */
    double eval_acc;          /* held-out MLM accuracy */
    double seconds;           /* time of the last training session */
} sem_train_card;

/* The card's Markdown text (malloc'd, the caller frees), or NULL when out of memory. */
char *sem_train_card_text(const char *out_dir, const sem_trainer *tr, const sem_train_card *c);

/* Writes sem_train_card_text as out_dir/README.md (atomically). SEM_OK or an error. */
int sem_train_write_card(const char *out_dir, const sem_trainer *tr, const sem_train_card *c, sem_error *err);

#endif
