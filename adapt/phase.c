/* adapt/phase.c: one training stage of an adapt run (adapt_phase_run, adapt/adapt_impl.h).
 *
 * Fitting a time budget: a new stage first runs PROBE updates (warm-up WARMUP_PROBE), measures the seconds per
 * update, then plans the number of updates that fits the rest of its budget (warm-up 6 %, linear decay to 0 at
 * the planned end) and checkpoints that plan. A deadline stops it in any case (a slower machine, a loaded one).
 * A resumed stage keeps its plan; its deadline is the budget less the time its done updates took. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/adapt_impl.h"
#include "common/fileio.h"
#include "encoder/tokenizer.h"

#define PROBE 4
#define WARMUP_PROBE 10
#define STEPS_GUESS 1000000L
#define CKPT_SECONDS 120

typedef struct phase_run {
    adapt_phase *ph;
    double deadline;  /* sem_now() after which the stage stops; 0 = none */
    volatile sig_atomic_t flag;
    double t_first, t_last; /* sem_now() at the first and last report of a probe */
    long n_reports;
} phase_run;

static void on_progress(const sem_train_progress *p, void *ud)
{
    phase_run *r = ud;
    double now = sem_now();
    if (r->n_reports++ == 0)
        r->t_first = now;
    r->t_last = now;
    if ((r->ph->stop && *r->ph->stop) || (r->deadline > 0 && now >= r->deadline))
        r->flag = 1;
    if (r->ph->cb) {
        sem_adapt_progress ap = {r->ph->which ? SEM_ADAPT_CONTRASTIVE : SEM_ADAPT_MLM, p, p->step, p->total,
                                 p->elapsed_s};
        r->ph->cb(&ap, r->ph->ud);
    }
}

static sem_tdata *load_data(const adapt_phase *ph, sem_error *err)
{
    sem_tokenizer_config tc = sem_tokenizer_default_config();
    tc.do_lower_case = ph->lower;
    sem_tokenizer *tk = sem_tokenizer_load(ph->vocab, &tc, err);
    if (!tk)
        return NULL;
    sem_tspecial sp = {sem_tokenizer_cls_id(tk), sem_tokenizer_sep_id(tk), sem_tokenizer_pad_id(tk),
                       sem_tokenizer_mask_id(tk), sem_tokenizer_unk_id(tk), sem_tokenizer_vocab_size(tk)};
    sem_tokenizer_free(tk);
    sem_tdata *d = sem_tdata_new(ph->which ? SEM_TDATA_PAIRS : SEM_TDATA_MLM, &sp, err);
    char *files[1] = {(char *)ph->data_path};
    if (d && (sem_tdata_add_files(d, ph->vocab, ph->lower, files, 1, err) != SEM_OK ||
              sem_tdata_finish(d, ph->tp.seq, err) != SEM_OK)) {
        sem_tdata_free(d);
        d = NULL;
    }
    if (d && ph->which == 0)
        ph->st->rep.corpus_tokens = (long)d->n_tok;
    return d;
}

/* A fresh trainer from ph->from_dir, or the checkpointed one in ph->out_dir. */
static sem_trainer *open_trainer(adapt_phase *ph, sem_tdata *d, int *resumed, sem_error *err)
{
    sem_train_params tp = ph->tp;
    tp.ckpt_seconds = CKPT_SECONDS;
    tp.ckpt_steps = 0;
    tp.progress_seconds = 0; /* a report per update: the deadline is checked after each one */
    tp.stop_at = 0;
    *resumed = sem_trainer_has_checkpoint(ph->out_dir);
    if (*resumed) {
        tp.steps = 0; /* keep the checkpoint's plan */
        return sem_trainer_resume(ph->out_dir, d, &tp, err);
    }
    long fixed = ph->st->steps[ph->which];
    tp.steps = fixed > 0 ? fixed : STEPS_GUESS;
    tp.warmup = fixed > 0 ? -1 : WARMUP_PROBE;
    sem_tmodel *m = sem_tmodel_load_hf(ph->from_dir, tp.seed, NULL, err);
    if (!m) {
        sem_tdata_free(d);
        return NULL;
    }
    if (d->n_ex < (size_t)tp.batch) /* a small KB: a batch is never larger than the data */
        tp.batch = (int)d->n_ex;
    return sem_trainer_new(m, d, &tp, ph->out_dir, err);
}

/* Measures the speed on PROBE updates and plans the stage to fit the rest of its budget. */
static int plan_by_time(adapt_phase *ph, sem_trainer *tr, phase_run *r, double t0, sem_error *err)
{
    long s0 = sem_trainer_step(tr);
    int rc = sem_trainer_set_plan(tr, STEPS_GUESS, WARMUP_PROBE, s0 + PROBE, err);
    r->n_reports = 0;
    if (rc == SEM_OK)
        rc = sem_trainer_run(tr, on_progress, r, &r->flag, err);
    if (rc != SEM_OK || r->flag || r->n_reports < 2)
        return rc;
    double sps = (r->t_last - r->t_first) / (double)(r->n_reports - 1);
    ph->st->sps[ph->which] = sps > 1e-6 ? sps : 1e-6;
    double left = ph->st->budget_s[ph->which] - (sem_now() - t0);
    long steps = sem_trainer_step(tr) + (left > 0 ? (long)(left / ph->st->sps[ph->which]) : 0);
    long warm = (long)(0.06 * (double)steps);
    if ((rc = sem_trainer_set_plan(tr, steps, warm > PROBE ? warm : PROBE, 0, err)) ||
        (rc = sem_trainer_checkpoint(tr, err)))
        return rc;
    return adapt_state_write(ph->work, ph->st, err); /* a resumed stage needs the speed for its deadline */
}

int adapt_phase_run(adapt_phase *ph, int *finished, sem_error *err)
{
    *finished = 0;
    sem_tdata *d = load_data(ph, err);
    if (!d)
        return err ? err->code : SEM_EINVAL;
    int resumed = 0;
    sem_trainer *tr = open_trainer(ph, d, &resumed, err); /* takes d */
    if (!tr)
        return err ? err->code : SEM_EINVAL;
    double t0 = sem_now(), budget = ph->st->budget_s[ph->which], *sps = &ph->st->sps[ph->which];
    phase_run r = {ph, 0, 0, 0, 0, 0};
    if (budget > 0) /* the time this stage's done updates took counts against its budget */
        r.deadline = t0 + fmax(0, budget - (double)sem_trainer_step(tr) * *sps);
    int rc = SEM_OK;
    if (budget > 0 && ph->st->steps[ph->which] <= 0 && (!resumed || *sps <= 0))
        rc = plan_by_time(ph, tr, &r, t0, err);
    if (rc == SEM_OK && !(ph->stop && *ph->stop) && !r.flag)
        rc = sem_trainer_run(tr, on_progress, &r, &r.flag, err);
    if (rc == SEM_OK && !(ph->stop && *ph->stop)) { /* done, or the time is up: the stage ends here */
        *finished = 1;
        if (*sps <= 0 && r.n_reports > 1)
            *sps = (r.t_last - r.t_first) / (double)(r.n_reports - 1);
        rc = sem_tmodel_save_hf(sem_trainer_model(tr), ph->out_dir, &ph->save, err);
    }
    sem_trainer_free(tr);
    return rc;
}

void adapt_log_losses(const char *dir, double *first, double *last, long *steps)
{
    *first = *last = NAN;
    *steps = 0;
    char *path = sem_path_join(dir, "train_log.tsv"), *buf = NULL;
    size_t len = 0;
    sem_error e;
    if (!path || sem_read_file(path, (size_t)1 << 30, &buf, &len, &e) != SEM_OK) {
        free(path);
        return;
    }
    double ring[10];
    long n = 0;
    for (char *line = strchr(buf, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        long step;
        double loss;
        if (sscanf(line + 1, "%ld\t%lf", &step, &loss) != 2)
            continue;
        if (n == 0)
            *first = loss;
        ring[n++ % 10] = loss;
    }
    double s = 0;
    for (long i = 0; i < (n < 10 ? n : 10); i++)
        s += ring[i];
    if (n)
        *last = s / (double)(n < 10 ? n : 10);
    *steps = n;
    free(buf);
    free(path);
}
