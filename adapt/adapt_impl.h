/* adapt/adapt_impl.h (internal): the run's state file, one training stage, the model card. */
#ifndef SEM_ADAPT_IMPL_H
#define SEM_ADAPT_IMPL_H

#include "adapt/adapt.h"

/* KB/adapt-work/state.json: where an unfinished run stands. Written atomically at every stage change. */
typedef struct adapt_state {
    char base_model[4096]; /* the folder adapted from (absolute) */
    char base_hash[80];    /* its identity (config hash): a state for another base model is discarded */
    int generation;        /* the N of KB/adapted-N */
    int stage;             /* sem_adapt_stage: the next stage to run */
    double budget_s[2];    /* training seconds planned for mlm, contrastive (0 = no limit) */
    double sps[2];         /* measured seconds per update (0 = not yet measured) */
    long steps[2];         /* fixed update counts (0 = planned from the time, -1 = skipped) */
    sem_adapt_report rep;  /* counts from mining and training so far */
} adapt_state;

/* Reads / writes dir/state.json. read: SEM_ENOTFOUND when there is none, SEM_EFORMAT when it is damaged. */
int adapt_state_read(const char *work, adapt_state *st, sem_error *err);
int adapt_state_write(const char *work, const adapt_state *st, sem_error *err);

/* One training stage (mlm: which = 0, contrastive: 1) from the HF folder from_dir into the trainer folder
 * out_dir, on data_path, within the state's budget; writes the HF folder into out_dir when the stage ends.
 * *finished = 0 when the stop flag ended it early (rerun to continue). */
typedef struct adapt_phase {
    int which;
    const char *data_path, *vocab, *from_dir, *out_dir;
    int lower;
    sem_train_params tp;      /* batch, seq, lr, pooling, seed, temperature */
    sem_hf_save_params save;  /* for the stage's HF folder */
    adapt_state *st;          /* budget_s / sps / steps of the stage; sps is updated */
    const char *work;         /* where st is saved once the stage has planned its updates */
    sem_adapt_progress_fn cb;
    void *ud;
    volatile sig_atomic_t *stop;
} adapt_phase;
int adapt_phase_run(adapt_phase *ph, int *finished, sem_error *err);

/* First-update loss and mean loss of the last 10 updates in dir/train_log.tsv; *steps the updates logged. */
void adapt_log_losses(const char *dir, double *first, double *last, long *steps);

/* Writes the adapted model folder dst from the contrastive stage's folder src: weights (f16 as asked), the
 * sentence-transformers files, config.json marked as adapted (its identity differs from the base model's),
 * the training logs, and README.md (the model card: what it saw, from st->rep). Atomic: a temporary folder
 * renamed into place. */
int adapt_write_model(const char *src, const char *dst, const adapt_state *st, const sem_adapt_params *p,
                      const sem_hf_save_params *save, const char *kb_dir, const char *work, sem_error *err);

/* Removes a folder tree that adapt made (files and folders under it, not following links). */
int adapt_remove_tree(const char *dir, sem_error *err);

#endif
