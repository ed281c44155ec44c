/* adapt/adapt.h: domain adaptation of a KB's model on the KB's own text (`semsearch adapt KB`).
 *
 * The run, in stages (each one resumable):
 *   1. mine     the KB's passages become an MLM corpus and contrastive pairs (title ↔ body, a heading line ↔ the
 *               rest, a sentence ↔ the rest of its passage, neighbouring chunks), each pair with a hard negative
 *               mined with the KB's own lexical search (a passage of another document); KB/adapt-work/corpus.txt
 *               and pairs.tsv ('anchor<TAB>positive<TAB>negative', train/data.h)
 *   2. mlm      masked-LM continued from the KB's model on corpus.txt            (trainer in KB/adapt-work/mlm)
 *   3. contrastive  InfoNCE with in-batch and hard negatives on pairs.tsv        (KB/adapt-work/contrastive)
 *   4. save     the adapted model as an HF / sentence-transformers folder KB/adapted-N (N = 1, 2, …: a later
 *               run continues from the current one) with a model card (README.md) saying what it saw
 *   5. reencode every passage re-encoded with it and the KB switched to it in one transaction
 *               (sem_index_reencode); the old model's folder is never written to
 * A time budget (minutes) bounds stages 2 and 3 together: each stage measures its speed on its first updates
 * and plans its updates (and so its learning-rate schedule) to fit its share. A run that is stopped (the stop
 * flag, e.g. on SIGINT) or killed continues by itself the next time it is started on the same KB with the same
 * base model (state in KB/adapt-work/state.json; restart = 1 discards it); a finished run removes
 * KB/adapt-work and earlier KB/adapted-* folders.
 *
 * Threads: one run per KB at a time, from one thread; OpenBLAS/OpenMP threads inside. The library never prints:
 * progress goes to the callback, notes to sem_log. Errors: SEM_OK or a negative SEM_E* code with err filled. */
#ifndef SEM_ADAPT_H
#define SEM_ADAPT_H

#include <signal.h>
#include <stdint.h>

#include "common/error.h"
#include "train/train.h"

#define SEM_ADAPT_WORK_DIR "adapt-work"
#define SEM_ADAPT_MODEL_PREFIX "adapted-"
#define SEM_ADAPT_MIN_PAIRS 16 /* fewer mined pairs: the KB is too small to adapt on (SEM_EINVAL) */

typedef struct sem_adapt_params {
    double minutes;       /* training time for MLM + contrastive together (default 5); 0 = no limit (steps) */
    double mlm_share;     /* share of the time given to MLM (default 0.3; the rest, and what MLM leaves, to
                             contrastive) */
    long mlm_steps;       /* fixed update counts (0 = planned from the time; -1 = skip the stage) */
    long con_steps;
    int mlm_batch;        /* sequences per MLM update (default 16) */
    int con_batch;        /* pairs per contrastive update (default 32; fewer when fewer pairs were mined) */
    int seq;              /* tokens per sequence (default 128) */
    double mlm_lr;        /* default 5e-5 */
    double con_lr;        /* default 1e-4 */
    long max_pairs;       /* pairs mined at most (default 20000) */
    uint64_t seed;        /* data order, masking, mining choices (default 42) */
    int threads;          /* re-encoding threads; 0 = all cores (training uses OpenBLAS's setting) */
    int f16;              /* write the adapted weights as float16 (default 1) */
    int restart;          /* discard an unfinished run in KB/adapt-work and start over */
} sem_adapt_params;
sem_adapt_params sem_adapt_default_params(void);

typedef enum sem_adapt_stage {
    SEM_ADAPT_MINE = 0,
    SEM_ADAPT_MLM,
    SEM_ADAPT_CONTRASTIVE,
    SEM_ADAPT_SAVE,
    SEM_ADAPT_REENCODE,
    SEM_ADAPT_DONE
} sem_adapt_stage;
const char *sem_adapt_stage_name(sem_adapt_stage s); /* "mine", "mlm", … */

typedef struct sem_adapt_progress {
    sem_adapt_stage stage;
    const sem_train_progress *train; /* stages mlm and contrastive: the trainer's report (one per update) */
    long done, total;                /* stage reencode: passages */
    double elapsed_s;                /* since the stage (re)started */
} sem_adapt_progress;
typedef void (*sem_adapt_progress_fn)(const sem_adapt_progress *p, void *user_data);

/* What a run did (also written into the model card). */
typedef struct sem_adapt_report {
    int finished;               /* 1: the KB now uses the adapted model; 0: stopped by the flag (rerun) */
    int resumed;                /* 1 if an unfinished run was continued */
    long passages, docs;        /* read from the KB */
    long docs_held_out;         /* documents left out of training (common/holdout.h) */
    long pairs, pairs_title, pairs_sentence, pairs_neighbour, negatives;
    long corpus_tokens;         /* MLM corpus */
    long mlm_steps, con_steps;  /* updates done */
    double mlm_loss_first, mlm_loss_last, con_loss_first, con_loss_last; /* first update, mean of the last 10 */
    double mlm_s, con_s;        /* training seconds (across resumes, from the measured speed) */
    double reencode_s, total_s; /* this call */
    char base_model[4224];      /* the folder adapted from */
    char model_dir[4224];       /* the adapted model (KB/adapted-N) */
} sem_adapt_report;

/* Adapts the model of the KB at kb_dir (see the top of this file). Errors: SEM_ENOTFOUND (no KB there, or its
 * model cannot be found), SEM_EINVAL (a lexical-only or raw-vector KB; a KB too small to mine
 * SEM_ADAPT_MIN_PAIRS pairs from; bad params), SEM_EBUSY (the KB is open read-write elsewhere when switching),
 * or what training, the store or the encoder report. When *stop becomes non-zero (stop may be NULL) the run
 * checkpoints and returns SEM_OK with rep->finished = 0. rep may be NULL. */
int sem_adapt_run(const char *kb_dir, const sem_adapt_params *p, sem_adapt_progress_fn cb, void *user_data,
                  volatile sig_atomic_t *stop, sem_adapt_report *rep, sem_error *err);

/* ---- internal parts, exposed for tests ---- */

/* Mines the KB at kb_dir (opened read-only) into corpus_path (one line per title and passage) and pairs_path
 * (TSV, ≤ max_pairs lines), both written atomically; counts go into rep (passages, docs, pairs*, negatives).
 * SEM_EINVAL naming the counts when fewer than SEM_ADAPT_MIN_PAIRS pairs come out. */
int sem_adapt_mine(const char *kb_dir, const char *corpus_path, const char *pairs_path, long max_pairs,
                   uint64_t seed, sem_adapt_report *rep, sem_error *err);

#endif
