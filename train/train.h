/* train/train.h: semsearch's trainer: masked-LM pretraining and contrastive sentence training (pairs with
 * in-batch negatives, or SimCSE) of a BERT model, with checkpoints that resume bit-for-bit.
 *
 * Usage:
 *     sem_tmodel *m = sem_tmodel_load_hf(dir, seed, NULL, &err);            // or sem_tmodel_new + init
 *     sem_tdata *d = sem_tdata_new(SEM_TDATA_MLM, &special, &err);         // + sem_tdata_add_files + finish
 *     sem_train_params p = sem_train_default_params();
 *     sem_trainer *tr = sem_trainer_new(m, d, &p, out_dir, &err);           // takes m and d
 *     sem_trainer_run(tr, progress_cb, user_data, &stop_flag, &err);        // checkpoints into out_dir
 *     sem_trainer_free(tr);
 * or, to continue: sem_trainer_resume(out_dir, d, &overrides, &err) then run.
 *
 * Files in out_dir: checkpoint.bin (model + AdamW moments + step + data position + seed + options; written
 * atomically), train_log.tsv (one line per update: step, loss, accuracy, lr, grad norm, tokens), and the HF
 * model folder written by the caller at the end (train/hfio.h).
 * Reproducibility: with the same data, options, seed and OpenBLAS thread count, a run that is stopped and
 * resumed produces the same loss sequence and weights, bit for bit, as one that is not.
 * Threads: a trainer belongs to one thread; OpenBLAS threads inside gemm. The library never prints: progress
 * goes to the callback. */
#ifndef SEM_TRAIN_TRAIN_H
#define SEM_TRAIN_TRAIN_H

#include <signal.h>

#include "train/data.h"
#include "train/hfio.h"
#include "train/model.h"
#include "train/optim.h"

typedef struct sem_train_params {
    long steps;            /* optimizer updates in all (default 1000) */
    int batch;             /* sequences (MLM) or pairs (contrastive) per micro-batch (default 16) */
    int seq;               /* max tokens per sequence incl. [CLS]/[SEP] (default 128) */
    int accum;             /* micro-batches per update (default 1) */
    double lr;             /* peak learning rate (default 1e-4 MLM; the CLI uses 3e-5 for contrastive) */
    long warmup;           /* warm-up updates; < 0 = 6 % of steps (default -1) */
    double weight_decay;   /* AdamW decoupled weight decay (default 0.01) */
    double clip;           /* max global gradient norm; 0 = off (default 1.0) */
    double mask_prob;      /* MLM (default 0.15) */
    double temperature;    /* contrastive (default 0.05) */
    sem_tpool pooling;     /* contrastive (default mean) */
    uint64_t seed;         /* data order, masking, dropout (default 42) */
    long ckpt_steps;       /* checkpoint every N updates; 0 = only by time (default 0) */
    double ckpt_seconds;   /* checkpoint every N seconds; 0 = only by steps (default 600) */
    long stop_at;          /* stop (after a checkpoint) once this many updates are done; 0 = run to steps */
    double progress_seconds; /* progress callback interval (default 10) */
} sem_train_params;
sem_train_params sem_train_default_params(void);

typedef struct sem_train_progress {
    long step, total;       /* updates done, updates in all */
    double loss;            /* mean loss of the updates since the last report */
    double acc;             /* MLM token accuracy / contrastive top-1 since the last report */
    double lr, grad_norm;   /* of the last update */
    double tokens_per_s;    /* real (non-padding) tokens per second since the last report */
    long tokens;            /* real tokens seen in all */
    double elapsed_s, eta_s;
    int checkpointed;       /* 1 when this report follows a checkpoint */
    int final;              /* 1 for the report at the end of run (finished or stopped) */
} sem_train_progress;
typedef void (*sem_train_progress_fn)(const sem_train_progress *p, void *user_data);

typedef struct sem_trainer sem_trainer;

/* A fresh run: takes ownership of m and d (freed by sem_trainer_free, also on failure). out_dir is created. */
sem_trainer *sem_trainer_new(sem_tmodel *m, sem_tdata *d, const sem_train_params *p, const char *out_dir,
                             sem_error *err);

/* Continues the run checkpointed in out_dir on the same data d (checked by hash; SEM_EMISMATCH otherwise).
 * Options come from the checkpoint; p may be NULL, else its steps (when > 0), stop_at, ckpt_* and
 * progress_seconds replace the checkpoint's (a different steps changes the schedule, so the run is then no longer
 * bit-for-bit the original). Takes ownership of d (freed on failure too). */
sem_trainer *sem_trainer_resume(const char *out_dir, sem_tdata *d, const sem_train_params *p, sem_error *err);

/* 1 if out_dir holds a checkpoint. */
int sem_trainer_has_checkpoint(const char *out_dir);

/* Trains until steps are done, stop_at is reached, or *stop becomes non-zero (checked between updates; may be
 * NULL); then writes a checkpoint. SEM_OK in all three cases. */
int sem_trainer_run(sem_trainer *tr, sem_train_progress_fn cb, void *user_data, volatile sig_atomic_t *stop,
                    sem_error *err);

int sem_trainer_checkpoint(sem_trainer *tr, sem_error *err);

/* Re-plans a run between sem_trainer_run calls: steps updates in all (>= the updates done, <= 1e9) with warmup
 * warm-up updates (< 0: 6 % of steps), and stop_at (0 = none). The learning-rate schedule follows the new plan
 * from the next update; the next checkpoint records it. For callers that size a run by measured speed (adapt/).
 * SEM_EINVAL when out of range. */
int sem_trainer_set_plan(sem_trainer *tr, long steps, long warmup, long stop_at, sem_error *err);

long sem_trainer_step(const sem_trainer *tr);
int sem_trainer_done(const sem_trainer *tr); /* 1 when step == steps */
const sem_tmodel *sem_trainer_model(const sem_trainer *tr);
const sem_train_params *sem_trainer_params(const sem_trainer *tr);
long sem_trainer_tokens(const sem_trainer *tr);
double sem_trainer_last_loss(const sem_trainer *tr); /* loss of the last update */
void sem_trainer_free(sem_trainer *tr); /* NULL is a no-op */

/* MLM loss and accuracy of the model on up to max_batches batches of data (dropout off, fixed masking seed):
 * held-out evaluation. */
int sem_train_eval_mlm(sem_tmodel *m, const sem_tdata *d, int batch, int max_batches, double mask_prob,
                       double *loss, double *acc, sem_error *err);

#endif
