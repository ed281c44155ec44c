/* adapt/adapt.c: the adapt run, stage by stage (sem_adapt_run, adapt/adapt.h). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/adapt_impl.h"
#include "common/fileio.h"
#include "common/log.h"
#include "encoder/encoder.h"
#include "encoder/tokenizer.h"
#include "indexer/indexer.h"
#include "kbmodel/kbmodel.h"
#include "store/kb.h"

sem_adapt_params sem_adapt_default_params(void)
{
    sem_adapt_params p;
    memset(&p, 0, sizeof p);
    p.minutes = 5;
    p.mlm_share = 0.3;
    p.mlm_batch = 16;
    p.con_batch = 32;
    p.seq = 128;
    p.mlm_lr = 5e-5;
    p.con_lr = 1e-4;
    p.max_pairs = 20000;
    p.seed = 42;
    p.f16 = 1;
    return p;
}

const char *sem_adapt_stage_name(sem_adapt_stage s)
{
    static const char *const names[] = {"mine", "mlm", "contrastive", "save", "reencode", "done"};
    return s >= SEM_ADAPT_MINE && s <= SEM_ADAPT_DONE ? names[s] : "?";
}

static int check_params(const sem_adapt_params *p, sem_error *err)
{
    if (!(p->minutes >= 0 && p->minutes <= 1e6) || !(p->mlm_share >= 0 && p->mlm_share < 1))
        return sem_error_set(err, SEM_EINVAL, "minutes must be in [0, 1e6] and the MLM share in [0, 1)");
    if (p->minutes == 0 && ((p->mlm_steps == 0) || p->con_steps == 0))
        return sem_error_set(err, SEM_EINVAL, "without a time budget both stages need fixed update counts");
    if (p->con_steps < 0 || p->mlm_steps < -1 || p->mlm_steps > 1000000000L || p->con_steps > 1000000000L)
        return sem_error_set(err, SEM_EINVAL, "update counts must be in [0, 1e9] (MLM may be -1: skipped)");
    if (p->mlm_batch < 1 || p->mlm_batch > 4096 || p->con_batch < 2 || p->con_batch > 4096 || p->seq < 8 ||
        p->seq > 512 || p->max_pairs < SEM_ADAPT_MIN_PAIRS)
        return sem_error_set(err, SEM_EINVAL, "bad batch, sequence length or pair count");
    if (!(p->mlm_lr > 0 && p->mlm_lr < 1) || !(p->con_lr > 0 && p->con_lr < 1))
        return sem_error_set(err, SEM_EINVAL, "learning rates must be in (0, 1)");
    return SEM_OK;
}

/* The KB's model, as the encoder and the trainer need to know it. */
typedef struct base_model {
    char dir[PATH_MAX], vocab[PATH_MAX + 16];
    sem_kb_model km;
    sem_tpool pool;
    int normalize, max_tokens, lower;
} base_model;

/* Opens the KB read-only with its model (checked); a KB without a model has nothing to adapt. */
static int open_kb_model(const char *kb_dir, sem_kbmodel *km, sem_error *err)
{
    if (!sem_kb_exists(kb_dir))
        return sem_error_set(err, SEM_ENOTFOUND, "%s is not a knowledge base", kb_dir);
    sem_kbmodel_params kp = sem_kbmodel_default_params();
    kp.read_only = 1;
    kp.n_threads = 1;
    int rc = sem_kbmodel_open(kb_dir, &kp, km, err);
    if (rc || km->model)
        return rc;
    rc = sem_kb_lexical_only(km->kb)
             ? sem_error_set(err, SEM_EINVAL, "%s is a lexical-only KB (made without a model): there is no model to "
                                              "adapt; index it with a model (--model DIR) first", kb_dir)
             : sem_error_set(err, SEM_EINVAL, "%s holds raw vectors (made with --dim, no model): there is no model "
                                              "to adapt", kb_dir);
    sem_kbmodel_close(km);
    return rc;
}

static int find_base(const char *kb_dir, base_model *b, sem_error *err)
{
    sem_kbmodel km;
    int rc = open_kb_model(kb_dir, &km, err);
    if (rc)
        return rc;
    sem_model_info mi;
    sem_kb_get_model(km.kb, &b->km);
    sem_model_get_info(km.model, &mi);
    if (!realpath(km.model_dir, b->dir))
        rc = sem_error_set(err, SEM_ENOTFOUND, "%s: the KB's model folder is missing", km.model_dir);
    else if (mi.pooling != SEM_POOL_MEAN && mi.pooling != SEM_POOL_CLS)
        rc = sem_error_set(err, SEM_EINVAL, "%s pools with %s: adapt trains mean or cls pooling only", b->dir,
                           sem_pooling_name(mi.pooling));
    b->pool = mi.pooling == SEM_POOL_CLS ? SEM_TPOOL_CLS : SEM_TPOOL_MEAN;
    b->normalize = mi.normalize;
    b->max_tokens = mi.max_tokens;
    sem_kbmodel_close(&km);
    if (rc)
        return rc;
    sem_tokenizer_config tc;
    if ((rc = sem_tokenizer_config_load(b->dir, &tc, err)) != SEM_OK)
        return rc;
    b->lower = tc.do_lower_case;
    snprintf(b->vocab, sizeof b->vocab, "%s/vocab.txt", b->dir);
    return SEM_OK;
}

/* N of KB/adapted-N: one more than the base's when the base is an earlier generation in this KB, else 1. */
static int next_generation(const char *kb_dir, const char *base_dir)
{
    char kb_abs[PATH_MAX];
    const char *slash = strrchr(base_dir, '/');
    size_t plen = strlen(SEM_ADAPT_MODEL_PREFIX);
    if (realpath(kb_dir, kb_abs) && slash && (size_t)(slash - base_dir) == strlen(kb_abs) &&
        strncmp(base_dir, kb_abs, strlen(kb_abs)) == 0 && strncmp(slash + 1, SEM_ADAPT_MODEL_PREFIX, plen) == 0) {
        long g = strtol(slash + 1 + plen, NULL, 10);
        if (g >= 1 && g < 1000000)
            return (int)g + 1;
    }
    return 1;
}

typedef struct run {
    const char *kb_dir;
    const sem_adapt_params *p;
    base_model base;
    adapt_state st;
    char work[PATH_MAX], corpus[PATH_MAX + 16], pairs[PATH_MAX + 16], dst[PATH_MAX + 32];
    char mlm_dir[PATH_MAX + 16], con_dir[PATH_MAX + 16];
    sem_adapt_progress_fn cb;
    void *ud;
    volatile sig_atomic_t *stop;
} run;

static void note(run *r, sem_adapt_stage s, long done, long total, double t0)
{
    if (r->cb) {
        sem_adapt_progress ap = {s, NULL, done, total, sem_now() - t0};
        r->cb(&ap, r->ud);
    }
}

/* A fresh state (or the unfinished one of the same base model). */
static int load_state(run *r, int *resumed, sem_error *err)
{
    *resumed = 0;
    if (r->p->restart && adapt_remove_tree(r->work, err) != SEM_OK)
        return err->code;
    sem_error e;
    if (adapt_state_read(r->work, &r->st, &e) == SEM_OK && strcmp(r->st.base_hash, r->base.km.config_hash) == 0 &&
        strcmp(r->st.base_model, r->base.dir) == 0) {
        *resumed = 1;
        return SEM_OK;
    }
    if (sem_path_exists(r->work)) {
        sem_log(SEM_LOG_WARN, "%s: discarding an unfinished adapt run of another model or a damaged one", r->work);
        if (adapt_remove_tree(r->work, err) != SEM_OK)
            return err->code;
    }
    memset(&r->st, 0, sizeof r->st);
    snprintf(r->st.base_model, sizeof r->st.base_model, "%s", r->base.dir);
    snprintf(r->st.base_hash, sizeof r->st.base_hash, "%s", r->base.km.config_hash);
    r->st.generation = next_generation(r->kb_dir, r->base.dir);
    r->st.stage = SEM_ADAPT_MINE;
    double total = r->p->minutes * 60;
    r->st.steps[0] = r->p->mlm_steps;
    r->st.steps[1] = r->p->con_steps;
    r->st.budget_s[0] = r->p->mlm_steps < 0 ? 0 : total * r->p->mlm_share;
    r->st.budget_s[1] = total - r->st.budget_s[0];
    int rc = sem_mkdir_p(r->work, err);
    return rc ? rc : adapt_state_write(r->work, &r->st, err);
}

/* Runs training stage which; *stopped = 1 when the stop flag ended it (state saved, rerun continues). */
static int train_stage(run *r, int which, int *stopped, sem_error *err)
{
    const sem_adapt_params *p = r->p;
    adapt_phase ph = {which, which ? r->pairs : r->corpus, r->base.vocab, NULL, which ? r->con_dir : r->mlm_dir,
                      r->base.lower, sem_train_default_params(), {0}, &r->st, r->work, r->cb, r->ud, r->stop};
    ph.from_dir = which == 0 || r->st.steps[0] < 0 ? r->base.dir : r->mlm_dir;
    ph.tp.batch = which ? p->con_batch : p->mlm_batch;
    ph.tp.seq = p->seq;
    ph.tp.lr = which ? p->con_lr : p->mlm_lr;
    ph.tp.pooling = r->base.pool;
    ph.tp.seed = p->seed;
    sem_hf_save_params sv = {0, r->base.pool, which && r->base.normalize, r->base.max_tokens, r->base.vocab,
                             r->base.lower};
    ph.save = sv;
    int fin = 0, rc = adapt_phase_run(&ph, &fin, err);
    *stopped = rc == SEM_OK && !fin;
    if (rc || !fin)
        return rc;
    long steps;
    double *first = which ? &r->st.rep.con_loss_first : &r->st.rep.mlm_loss_first;
    double *last = which ? &r->st.rep.con_loss_last : &r->st.rep.mlm_loss_last;
    adapt_log_losses(ph.out_dir, first, last, &steps);
    *(which ? &r->st.rep.con_steps : &r->st.rep.mlm_steps) = steps;
    double used = (double)steps * r->st.sps[which];
    *(which ? &r->st.rep.con_s : &r->st.rep.mlm_s) = used;
    if (which == 0 && r->st.budget_s[0] > used && p->minutes > 0) /* what MLM leaves goes to contrastive */
        r->st.budget_s[1] += r->st.budget_s[0] - used;
    r->st.stage = which ? SEM_ADAPT_SAVE : SEM_ADAPT_CONTRASTIVE;
    return adapt_state_write(r->work, &r->st, err);
}

static void reencode_progress(void *ud, const sem_index_progress *pr)
{
    run *r = ud;
    if (r->cb) {
        sem_adapt_progress ap = {SEM_ADAPT_REENCODE, NULL, pr->passages_done, 0, pr->elapsed_s};
        if (pr->fraction > 0)
            ap.total = (long)((double)pr->passages_done / pr->fraction + 0.5);
        r->cb(&ap, r->ud);
    }
}

/* Save, switch the KB, clean up. */
static int finish(run *r, sem_adapt_report *rep, sem_error *err)
{
    int rc = SEM_OK;
    double t0 = sem_now();
    if (r->st.stage == SEM_ADAPT_SAVE) {
        note(r, SEM_ADAPT_SAVE, 0, 0, t0);
        sem_hf_save_params sv = {r->p->f16, r->base.pool, r->base.normalize, r->base.max_tokens, r->base.vocab,
                                 r->base.lower};
        if ((rc = adapt_write_model(r->con_dir, r->dst, &r->st, r->p, &sv, r->kb_dir, r->work, err)))
            return rc;
        r->st.stage = SEM_ADAPT_REENCODE;
        if ((rc = adapt_state_write(r->work, &r->st, err)))
            return rc;
    }
    t0 = sem_now();
    note(r, SEM_ADAPT_REENCODE, 0, r->st.rep.passages, t0);
    sem_reencode_params rp = {r->p->threads, reencode_progress, r};
    if ((rc = sem_index_reencode(r->kb_dir, r->dst, &rp, err)))
        return rc;
    rep->reencode_s = sem_now() - t0;
    /* The KB now uses dst: the work folder and an earlier generation in the KB folder are no longer needed. */
    if (next_generation(r->kb_dir, r->base.dir) > 1 && strcmp(r->base.dir, r->dst) != 0 &&
        adapt_remove_tree(r->base.dir, err) != SEM_OK)
        sem_log(SEM_LOG_WARN, "%s", err->msg);
    if (adapt_remove_tree(r->work, err) != SEM_OK)
        sem_log(SEM_LOG_WARN, "%s", err->msg);
    sem_error_clear(err);
    note(r, SEM_ADAPT_DONE, 0, 0, t0);
    return SEM_OK;
}

static int set_paths(run *r, const char *kb_dir, sem_error *err)
{
    int n = snprintf(r->work, sizeof r->work, "%s/%s", kb_dir, SEM_ADAPT_WORK_DIR);
    if (n < 0 || (size_t)n >= sizeof r->work)
        return sem_error_set(err, SEM_ERANGE, "%s: path too long", kb_dir);
    snprintf(r->corpus, sizeof r->corpus, "%s/corpus.txt", r->work);
    snprintf(r->pairs, sizeof r->pairs, "%s/pairs.tsv", r->work);
    snprintf(r->mlm_dir, sizeof r->mlm_dir, "%s/mlm", r->work);
    snprintf(r->con_dir, sizeof r->con_dir, "%s/contrastive", r->work);
    return SEM_OK;
}

/* Stages mine, mlm and contrastive, from where the state stands. *stopped = 1 when the flag stopped one. */
static int train_stages(run *r, int *stopped, sem_error *err)
{
    int rc = SEM_OK;
    *stopped = 0;
    if (r->st.stage == SEM_ADAPT_MINE) {
        note(r, SEM_ADAPT_MINE, 0, 0, sem_now());
        if ((rc = sem_adapt_mine(r->kb_dir, r->corpus, r->pairs, r->p->max_pairs, r->p->seed, &r->st.rep, err)))
            return rc;
        r->st.stage = r->st.steps[0] < 0 ? SEM_ADAPT_CONTRASTIVE : SEM_ADAPT_MLM;
        if ((rc = adapt_state_write(r->work, &r->st, err)))
            return rc;
    }
    for (int which = 0; which < 2 && rc == SEM_OK && !*stopped; which++)
        if (r->st.stage == (which ? SEM_ADAPT_CONTRASTIVE : SEM_ADAPT_MLM) && !(r->stop && *r->stop))
            rc = train_stage(r, which, stopped, err);
    if (rc == SEM_OK && r->stop && *r->stop)
        *stopped = 1;
    return rc;
}

int sem_adapt_run(const char *kb_dir, const sem_adapt_params *params, sem_adapt_progress_fn cb, void *ud,
                  volatile sig_atomic_t *stop, sem_adapt_report *rep_out, sem_error *err)
{
    sem_error_clear(err);
    double t0 = sem_now();
    sem_adapt_params p = params ? *params : sem_adapt_default_params();
    sem_adapt_report rep_local;
    sem_adapt_report *rep = rep_out ? rep_out : &rep_local;
    memset(rep, 0, sizeof *rep);
    run *r = calloc(1, sizeof *r);
    if (!r)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    *r = (run){.kb_dir = kb_dir, .p = &p, .cb = cb, .ud = ud, .stop = stop};
    int resumed = 0, stopped = 0;
    int rc = check_params(&p, err);
    if (rc == SEM_OK && (rc = set_paths(r, kb_dir, err)) == SEM_OK && (rc = find_base(kb_dir, &r->base, err)) == SEM_OK)
        rc = load_state(r, &resumed, err);
    if (rc == SEM_OK) {
        snprintf(r->dst, sizeof r->dst, "%s/%s%d", kb_dir, SEM_ADAPT_MODEL_PREFIX, r->st.generation);
        rc = train_stages(r, &stopped, err);
    }
    if (rc == SEM_OK && !stopped)
        rc = finish(r, rep, err);
    if (rc == SEM_OK || stopped) {
        double reenc = rep->reencode_s;
        *rep = r->st.rep;
        rep->reencode_s = reenc;
        rep->finished = rc == SEM_OK && !stopped;
        rep->resumed = resumed;
        snprintf(rep->base_model, sizeof rep->base_model, "%s", r->base.dir);
        snprintf(rep->model_dir, sizeof rep->model_dir, "%s", r->dst);
    }
    rep->total_s = sem_now() - t0;
    free(r);
    return rc;
}
