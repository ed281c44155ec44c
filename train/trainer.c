/* train/trainer.c: the training loop, checkpoints and the training log. See train/train.h.
 *
 * Checkpoint layout (little-endian, one file written atomically: temp file, fsync, rename, fsync dir):
 *   "SEMTRCK1", u32 version, u32 sizeof(real), config, options, kind, step, data position, tokens, data hash,
 *   n_params, optimizer step, last loss, params[n], adam m[n], adam v[n], u64 FNV-1a of everything before.
 * All randomness is a function of (seed, step, data position), so these few numbers are the whole RNG state. */
#include "train/train.h"

#include "common/fileio.h"
#include "common/hash.h"
#include "common/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CKPT_MAGIC "SEMTRCK1"
#define CKPT_VERSION 1u
#define CKPT_NAME "checkpoint.bin"
#define LOG_NAME "train_log.tsv"

struct sem_trainer {
    sem_tmodel *m;
    sem_tdata *d;
    sem_toptim *opt;
    sem_tacts *acts;
    sem_tbatch_buf bb;
    sem_train_params p;
    char *out_dir;
    long step, pos, tokens;
    double last_loss;
    FILE *log;
};

sem_train_params sem_train_default_params(void)
{
    sem_train_params p;
    memset(&p, 0, sizeof p);
    p.steps = 1000;
    p.batch = 16;
    p.seq = 128;
    p.accum = 1;
    p.lr = 1e-4;
    p.warmup = -1;
    p.weight_decay = 0.01;
    p.clip = 1.0;
    p.mask_prob = 0.15;
    p.temperature = 0.05;
    p.pooling = SEM_TPOOL_MEAN;
    p.seed = 42;
    p.ckpt_steps = 0;
    p.ckpt_seconds = 600;
    p.stop_at = 0;
    p.progress_seconds = 10;
    return p;
}

static int check_params(const sem_train_params *p, const sem_tmodel *m, sem_error *err)
{
    if (p->steps < 1 || p->steps > 1000000000L)
        return sem_error_set(err, SEM_EINVAL, "steps must be in [1, 1e9]");
    if (p->batch < 1 || p->batch > 4096)
        return sem_error_set(err, SEM_EINVAL, "batch must be in [1, 4096]");
    if (p->seq < 4 || p->seq > m->cfg.max_pos)
        return sem_error_set(err, SEM_EINVAL, "seq must be in [4, max_position_embeddings = %d]", m->cfg.max_pos);
    if (p->accum < 1 || p->accum > 4096)
        return sem_error_set(err, SEM_EINVAL, "accum must be in [1, 4096]");
    if (!(p->lr > 0 && p->lr < 1))
        return sem_error_set(err, SEM_EINVAL, "lr must be in (0, 1)");
    if (!(p->weight_decay >= 0 && p->weight_decay < 1) || !(p->clip >= 0))
        return sem_error_set(err, SEM_EINVAL, "weight decay must be in [0, 1) and clip >= 0");
    if (!(p->mask_prob > 0 && p->mask_prob < 1))
        return sem_error_set(err, SEM_EINVAL, "mask probability must be in (0, 1)");
    if (!(p->temperature > 0 && p->temperature <= 100))
        return sem_error_set(err, SEM_EINVAL, "temperature must be in (0, 100]");
    if (p->pooling < SEM_TPOOL_MEAN || p->pooling > SEM_TPOOL_POOLER)
        return sem_error_set(err, SEM_EINVAL, "unknown pooling");
    if (p->ckpt_steps < 0 || !(p->ckpt_seconds >= 0) || p->stop_at < 0)
        return sem_error_set(err, SEM_EINVAL, "checkpoint interval and stop step must be >= 0");
    return SEM_OK;
}

/* Allocates the workspace, optimizer and batch buffers for tr->m, tr->d, tr->p. */
static int setup(sem_trainer *tr, sem_error *err)
{
    int rc = check_params(&tr->p, tr->m, err);
    if (rc != SEM_OK)
        return rc;
    if (tr->d->kind == SEM_TDATA_MLM && tr->d->seq_len != tr->p.seq)
        return sem_error_set(err, SEM_EINVAL, "data was cut for sequences of %d tokens, not %d", tr->d->seq_len,
                             tr->p.seq);
    if (tr->d->sp.vocab_size != tr->m->cfg.vocab_size)
        return sem_error_set(err, SEM_EMISMATCH, "vocabulary has %d tokens but the model %d",
                             (int)tr->d->sp.vocab_size, tr->m->cfg.vocab_size);
    int mlm = tr->d->kind == SEM_TDATA_MLM;
    int per = mlm ? sem_tdata_max_pred(tr->p.seq, tr->p.mask_prob) : 0;
    int rows = sem_tdata_rows(tr->d, tr->p.batch);
    tr->acts = sem_tacts_new(&tr->m->cfg, rows, tr->p.seq, per * tr->p.batch, err);
    if (!tr->acts)
        return err ? err->code : SEM_ENOMEM;
    if (!tr->opt && !(tr->opt = sem_toptim_new(tr->m, err)))
        return err ? err->code : SEM_ENOMEM;
    if ((rc = sem_tbatch_buf_init(&tr->bb, tr->d, tr->p.batch, tr->p.seq, per, err)) != SEM_OK)
        return rc;
    if (!(tr->out_dir && sem_mkdir_p(tr->out_dir, err) == SEM_OK))
        return err ? err->code : SEM_EIO;
    return SEM_OK;
}

sem_trainer *sem_trainer_new(sem_tmodel *m, sem_tdata *d, const sem_train_params *p, const char *out_dir,
                             sem_error *err)
{
    sem_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) {
        sem_tmodel_free(m);
        sem_tdata_free(d);
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    tr->m = m;
    tr->d = d;
    tr->p = *p;
    if (tr->p.warmup < 0)
        tr->p.warmup = (long)(0.06 * (double)tr->p.steps);
    tr->out_dir = strdup(out_dir);
    if (setup(tr, err) != SEM_OK) {
        sem_trainer_free(tr);
        return NULL;
    }
    char *lp = sem_path_join(out_dir, LOG_NAME);
    tr->log = lp ? fopen(lp, "w") : NULL;
    free(lp);
    if (!tr->log) {
        sem_error_set(err, SEM_EIO, "%s/%s: %s", out_dir, LOG_NAME, strerror(errno));
        sem_trainer_free(tr);
        return NULL;
    }
    fprintf(tr->log, "step\tloss\taccuracy\tlr\tgrad_norm\ttokens\n");
    fflush(tr->log);
    return tr;
}

void sem_trainer_free(sem_trainer *tr)
{
    if (!tr)
        return;
    if (tr->log)
        fclose(tr->log);
    sem_tbatch_buf_free(&tr->bb);
    sem_tacts_free(tr->acts);
    sem_toptim_free(tr->opt);
    sem_tmodel_free(tr->m);
    sem_tdata_free(tr->d);
    free(tr->out_dir);
    free(tr);
}

int sem_trainer_set_plan(sem_trainer *tr, long steps, long warmup, long stop_at, sem_error *err)
{
    if (steps < tr->step || steps < 1 || steps > 1000000000L || stop_at < 0)
        return sem_error_set(err, SEM_EINVAL, "cannot plan %ld updates (%ld done)", steps, tr->step);
    tr->p.steps = steps;
    tr->p.warmup = warmup < 0 ? (long)(0.06 * (double)steps) : warmup;
    tr->p.stop_at = stop_at;
    return SEM_OK;
}

long sem_trainer_step(const sem_trainer *tr) { return tr->step; }
int sem_trainer_done(const sem_trainer *tr) { return tr->step >= tr->p.steps; }
const sem_tmodel *sem_trainer_model(const sem_trainer *tr) { return tr->m; }
const sem_train_params *sem_trainer_params(const sem_trainer *tr) { return &tr->p; }
long sem_trainer_tokens(const sem_trainer *tr) { return tr->tokens; }
double sem_trainer_last_loss(const sem_trainer *tr) { return tr->last_loss; }

/* ---------------------------------------------------------------------------------------------------------- */
/* checkpoint */

typedef struct wr {
    FILE *f;
    uint64_t h;
    int ok;
} wr;

static void put(wr *w, const void *p, size_t n)
{
    w->h = sem_fnv1a64(w->h, p, n);
    if (w->ok && fwrite(p, 1, n, w->f) != n)
        w->ok = 0;
}
static void put_i64(wr *w, int64_t v) { put(w, &v, 8); }
static void put_f64(wr *w, double v) { put(w, &v, 8); }

static void put_header(wr *w, const sem_trainer *tr)
{
    const sem_tconfig *c = &tr->m->cfg;
    const sem_train_params *p = &tr->p;
    uint32_t ver = CKPT_VERSION, rs = sizeof(sem_real);
    put(w, CKPT_MAGIC, 8);
    put(w, &ver, 4);
    put(w, &rs, 4);
    int64_t ci[] = {c->vocab_size, c->hidden, c->layers, c->heads, c->ffn, c->max_pos, c->type_vocab, c->act,
                    c->pad_id};
    for (size_t i = 0; i < sizeof ci / sizeof ci[0]; i++)
        put_i64(w, ci[i]);
    put_f64(w, c->ln_eps);
    put_f64(w, c->hidden_dropout);
    put_f64(w, c->attn_dropout);
    put_f64(w, c->init_range);
    int64_t pi[] = {p->steps, p->batch, p->seq, p->accum, p->warmup, p->ckpt_steps, p->stop_at, p->pooling,
                    (int64_t)p->seed, tr->d->kind};
    for (size_t i = 0; i < sizeof pi / sizeof pi[0]; i++)
        put_i64(w, pi[i]);
    double pf[] = {p->lr, p->weight_decay, p->clip, p->mask_prob, p->temperature, p->ckpt_seconds,
                   p->progress_seconds};
    for (size_t i = 0; i < sizeof pf / sizeof pf[0]; i++)
        put_f64(w, pf[i]);
    put_i64(w, tr->step);
    put_i64(w, tr->pos);
    put_i64(w, tr->tokens);
    put_i64(w, (int64_t)tr->d->hash);
    put_i64(w, (int64_t)tr->m->n_params);
    put_i64(w, tr->opt->step);
    put_f64(w, tr->last_loss);
}

int sem_trainer_checkpoint(sem_trainer *tr, sem_error *err)
{
    char *path = sem_path_join(tr->out_dir, CKPT_NAME), *tmp = sem_path_join(tr->out_dir, CKPT_NAME ".tmp");
    int rc = SEM_OK;
    if (!path || !tmp) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto out;
    }
    /* the log lines up to this step reach the disk before the checkpoint that vouches for them */
    if (tr->log && (fflush(tr->log) != 0 || fsync(fileno(tr->log)) != 0)) {
        rc = sem_error_set(err, SEM_EIO, "%s/%s: %s", tr->out_dir, LOG_NAME, strerror(errno));
        goto out;
    }
    wr w = {fopen(tmp, "wb"), SEM_FNV1A64_INIT, 1};
    if (!w.f) {
        rc = sem_error_set(err, SEM_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    put_header(&w, tr);
    size_t n = tr->m->n_params * sizeof(sem_real);
    put(&w, tr->m->params, n);
    put(&w, tr->opt->m, n);
    put(&w, tr->opt->v, n);
    uint64_t h = w.h;
    put(&w, &h, 8);
    if (!w.ok || fflush(w.f) != 0 || fsync(fileno(w.f)) != 0) {
        rc = sem_error_set(err, SEM_EIO, "%s: write failed: %s", tmp, strerror(errno));
        fclose(w.f);
        unlink(tmp);
        goto out;
    }
    if (fclose(w.f) != 0 || rename(tmp, path) != 0) {
        rc = sem_error_set(err, SEM_EIO, "%s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = sem_fsync_dir_of(path, err);
out:
    free(path);
    free(tmp);
    return rc;
}

int sem_trainer_has_checkpoint(const char *out_dir)
{
    char *path = sem_path_join(out_dir, CKPT_NAME);
    int r = path && sem_path_exists(path);
    free(path);
    return r;
}

typedef struct rd {
    const char *p;
    size_t left;
} rd;

static int get(rd *r, void *out, size_t n)
{
    if (r->left < n)
        return -1;
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

/* Keeps the lines of the training log up to step (the ones a resumed run will not write again). */
static int trim_log(const char *out_dir, long step, FILE **out, sem_error *err)
{
    char *path = sem_path_join(out_dir, LOG_NAME);
    if (!path)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    char *buf = NULL;
    size_t len = 0;
    sem_error e2;
    size_t keep = 0;
    if (sem_read_file(path, (size_t)1 << 32, &buf, &len, &e2) == SEM_OK) {
        char *line = buf;
        while (line < buf + len) {
            char *nl = memchr(line, '\n', (size_t)(buf + len - line));
            if (!nl)
                break; /* a line cut by a crash */
            size_t ll = (size_t)(nl - line) + 1;
            char *end = NULL;
            long s = strtol(line, &end, 10);
            if (end != line && s > step)
                break;
            keep = (size_t)(line - buf) + ll;
            line += ll;
        }
    }
    int rc = sem_write_file_atomic(path, buf ? buf : "", buf ? keep : 0, err);
    free(buf);
    if (rc == SEM_OK) {
        *out = fopen(path, "a");
        if (!*out)
            rc = sem_error_set(err, SEM_EIO, "%s: %s", path, strerror(errno));
    }
    free(path);
    return rc;
}

/* What put_header wrote, in its order. */
typedef struct ckpt_header {
    int64_t ci[9];   /* model config: vocab, hidden, layers, heads, ffn, max_pos, type_vocab, act, pad_id */
    double cf[4];    /* ln_eps, hidden_dropout, attn_dropout, init_range */
    int64_t pi[10];  /* steps, batch, seq, accum, warmup, ckpt_steps, stop_at, pooling, seed, data kind */
    double pf[7];    /* lr, weight_decay, clip, mask_prob, temperature, ckpt_seconds, progress_seconds */
    int64_t st[6];   /* step, pos, tokens, data hash, n_params, optimizer step */
    double last_loss;
} ckpt_header;

/* Checks the checkpoint buf (len bytes, read from path): magic, checksum, version, a plausible model config;
 * reads its header into hd and leaves r at the tensors. SEM_EFORMAT naming path when anything is wrong. */
static int read_header(const char *path, const char *buf, size_t len, ckpt_header *hd, rd *r, sem_error *err)
{
    if (len < 16 + 8 || memcmp(buf, CKPT_MAGIC, 8) != 0)
        return sem_error_set(err, SEM_EFORMAT, "%s: not a semsearch checkpoint", path);
    uint64_t stored;
    memcpy(&stored, buf + len - 8, 8);
    if (sem_fnv1a64(SEM_FNV1A64_INIT, buf, len - 8) != stored)
        return sem_error_set(err, SEM_EFORMAT, "%s: checksum mismatch (truncated or corrupt checkpoint)", path);
    *r = (rd){buf + 8, len - 8 - 8};
    uint32_t ver = 0, rs = 0;
    get(r, &ver, 4);
    get(r, &rs, 4);
    if (ver != CKPT_VERSION || rs != sizeof(sem_real))
        return sem_error_set(err, SEM_EFORMAT, "%s: checkpoint version %u / real size %u not supported", path, ver,
                             rs);
    int bad = 0;
    for (int i = 0; i < 9; i++)
        bad |= get(r, &hd->ci[i], 8);
    for (int i = 0; i < 4; i++)
        bad |= get(r, &hd->cf[i], 8);
    for (int i = 0; i < 10; i++)
        bad |= get(r, &hd->pi[i], 8);
    for (int i = 0; i < 7; i++)
        bad |= get(r, &hd->pf[i], 8);
    for (int i = 0; i < 6; i++)
        bad |= get(r, &hd->st[i], 8);
    bad |= get(r, &hd->last_loss, 8);
    if (bad)
        return sem_error_set(err, SEM_EFORMAT, "%s: truncated header", path);
    for (int i = 0; i < 9; i++)
        if (hd->ci[i] < 0 || hd->ci[i] > (1 << 24))
            return sem_error_set(err, SEM_EFORMAT, "%s: bad model config", path);
    return SEM_OK;
}

/* The run's parameters from the checkpoint, with the overrides a resumed run may change (ov may be NULL). */
static void params_from_header(sem_train_params *p, const ckpt_header *hd, const sem_train_params *ov)
{
    p->steps = hd->pi[0];
    p->batch = (int)hd->pi[1];
    p->seq = (int)hd->pi[2];
    p->accum = (int)hd->pi[3];
    p->warmup = hd->pi[4];
    p->ckpt_steps = hd->pi[5];
    p->pooling = (sem_tpool)hd->pi[7];
    p->seed = (uint64_t)hd->pi[8];
    p->lr = hd->pf[0];
    p->weight_decay = hd->pf[1];
    p->clip = hd->pf[2];
    p->mask_prob = hd->pf[3];
    p->temperature = hd->pf[4];
    p->ckpt_seconds = hd->pf[5];
    p->progress_seconds = hd->pf[6];
    p->stop_at = 0; /* a stop point belongs to the run that set it */
    if (ov) {
        if (ov->steps > 0)
            p->steps = ov->steps;
        p->stop_at = ov->stop_at;
        p->ckpt_steps = ov->ckpt_steps;
        p->ckpt_seconds = ov->ckpt_seconds;
        p->progress_seconds = ov->progress_seconds;
    }
}

sem_trainer *sem_trainer_resume(const char *out_dir, sem_tdata *d, const sem_train_params *ov, sem_error *err)
{
    char *path = sem_path_join(out_dir, CKPT_NAME), *buf = NULL;
    size_t len = 0;
    sem_trainer *tr = NULL;
    sem_tmodel *m = NULL;
    ckpt_header hd;
    rd r = {NULL, 0};
    int rc = path ? sem_read_file(path, (size_t)64 << 30, &buf, &len, err)
                  : sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (rc != SEM_OK || read_header(path, buf, len, &hd, &r, err) != SEM_OK)
        goto fail;
    const int64_t *ci = hd.ci;
    sem_tconfig c = {(int)ci[0], (int)ci[1], (int)ci[2], (int)ci[3], (int)ci[4], (int)ci[5], (int)ci[6],
                     (sem_tact)ci[7], hd.cf[0], hd.cf[1], hd.cf[2], hd.cf[3], (int)ci[8]};
    if (!(m = sem_tmodel_new(&c, err))) {
        sem_error_prefix(err, "%s", path);
        goto fail;
    }
    size_t n = m->n_params * sizeof(sem_real);
    if ((uint64_t)hd.st[4] != m->n_params || r.left != 3 * n) {
        sem_error_set(err, SEM_EFORMAT, "%s: parameter count does not match its config", path);
        goto fail;
    }
    if ((sem_tdata_kind)hd.pi[9] != d->kind || (uint64_t)hd.st[3] != d->hash) {
        sem_error_set(err, SEM_EMISMATCH,
                      "%s: the training data (files, mode or --seq) differ from the checkpointed run's", path);
        goto fail;
    }
    if (!(tr = calloc(1, sizeof *tr))) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    tr->m = m;
    m = NULL;
    tr->d = d;
    d = NULL;
    params_from_header(&tr->p, &hd, ov);
    tr->step = hd.st[0];
    tr->pos = hd.st[1];
    tr->tokens = hd.st[2];
    tr->last_loss = hd.last_loss;
    tr->out_dir = strdup(out_dir);
    if (setup(tr, err) != SEM_OK)
        goto fail;
    tr->opt->step = hd.st[5];
    get(&r, tr->m->params, n);
    get(&r, tr->opt->m, n);
    get(&r, tr->opt->v, n);
    if (trim_log(out_dir, tr->step, &tr->log, err) != SEM_OK)
        goto fail;
    free(buf);
    free(path);
    return tr;
fail:
    free(buf);
    free(path);
    sem_tmodel_free(m);
    if (tr)
        sem_trainer_free(tr); /* frees d too */
    else
        sem_tdata_free(d);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* the loop */

/* One optimizer update: accum micro-batches, clipping, AdamW. */
static int update(sem_trainer *tr, double *loss, double *acc, double *gnorm, double *lr, sem_error *err)
{
    const sem_train_params *p = &tr->p;
    sem_tmodel_zero_grad(tr->m);
    double l = 0, hits = 0, cnt = 0;
    for (int mi = 0; mi < p->accum; mi++) {
        sem_tbatch b;
        long real = sem_tdata_batch(tr->d, &tr->bb, tr->pos, p->batch, p->seq, p->mask_prob, p->seed, &b);
        tr->pos += p->batch;
        tr->tokens += real;
        sem_tfwd fw = {1, sem_hash64(p->seed ^ sem_hash64((uint64_t)tr->step * 4099u + (uint64_t)mi + 1))};
        sem_tstats st;
        int rc = tr->d->kind == SEM_TDATA_MLM
                     ? sem_tmodel_mlm(tr->m, tr->acts, &b, &fw, 1.0 / p->accum, &st, err)
                     : sem_tmodel_infonce(tr->m, tr->acts, &b, b.n_anchors, &fw, p->pooling, p->temperature,
                                          1.0 / p->accum, &st, err);
        if (rc != SEM_OK)
            return rc;
        l += st.loss / p->accum;
        hits += st.correct;
        cnt += st.n;
    }
    if (!isfinite(l))
        return sem_error_set(err, SEM_ERANGE, "loss is not finite at step %ld (learning rate too high?)", tr->step);
    *gnorm = sem_grad_clip(tr->m, p->clip);
    *lr = sem_lr_at(tr->step, p->steps, p->warmup, p->lr);
    sem_adamw_params ap = sem_adamw_default_params();
    ap.weight_decay = p->weight_decay;
    sem_adamw_step(tr->m, tr->opt, *lr, &ap);
    tr->step++;
    tr->last_loss = l;
    *loss = l;
    *acc = cnt > 0 ? hits / cnt : 0;
    return SEM_OK;
}

int sem_trainer_run(sem_trainer *tr, sem_train_progress_fn cb, void *ud, volatile sig_atomic_t *stop,
                    sem_error *err)
{
    const sem_train_params *p = &tr->p;
    double t0 = sem_now(), t_report = t0, t_ckpt = t0;
    long step0 = tr->step, tok_report = tr->tokens, last_ckpt = tr->step;
    double sum_loss = 0, sum_acc = 0;
    int n_sum = 0, ckpt_flag = 0;
    double lr = 0, gn = 0;
    int rc = SEM_OK;
    while (tr->step < p->steps) {
        if ((stop && *stop) || (p->stop_at > 0 && tr->step >= p->stop_at))
            break;
        double loss = 0, acc = 0;
        if ((rc = update(tr, &loss, &acc, &gn, &lr, err)) != SEM_OK)
            return rc;
        fprintf(tr->log, "%ld\t%.17g\t%.6f\t%.6g\t%.6g\t%ld\n", tr->step, loss, acc, lr, gn, tr->tokens);
        sum_loss += loss;
        sum_acc += acc;
        n_sum++;
        double now = sem_now();
        if ((p->ckpt_steps > 0 && tr->step % p->ckpt_steps == 0) ||
            (p->ckpt_seconds > 0 && now - t_ckpt >= p->ckpt_seconds)) {
            if ((rc = sem_trainer_checkpoint(tr, err)) != SEM_OK)
                return rc;
            t_ckpt = now;
            last_ckpt = tr->step;
            ckpt_flag = 1;
        }
        if (cb && (now - t_report >= p->progress_seconds || tr->step == step0 + 1)) {
            sem_train_progress pr = {tr->step, p->steps, sum_loss / n_sum, sum_acc / n_sum, lr, gn,
                                     (double)(tr->tokens - tok_report) / (now - t_report + 1e-9), tr->tokens,
                                     now - t0, 0, ckpt_flag, 0};
            pr.eta_s = (now - t0) / (double)(tr->step - step0) * (double)(p->steps - tr->step);
            cb(&pr, ud);
            t_report = now;
            tok_report = tr->tokens;
            sum_loss = sum_acc = 0;
            n_sum = 0;
            ckpt_flag = 0;
        }
    }
    if (tr->step != last_ckpt || !sem_trainer_has_checkpoint(tr->out_dir)) {
        if ((rc = sem_trainer_checkpoint(tr, err)) != SEM_OK)
            return rc;
        ckpt_flag = 1;
    }
    fflush(tr->log);
    if (cb) {
        double now = sem_now();
        sem_train_progress pr = {tr->step, p->steps, n_sum ? sum_loss / n_sum : tr->last_loss,
                                 n_sum ? sum_acc / n_sum : 0, lr, gn,
                                 (double)(tr->tokens - tok_report) / (now - t_report + 1e-9), tr->tokens, now - t0,
                                 0, ckpt_flag, 1};
        if (tr->step > step0)
            pr.eta_s = (now - t0) / (double)(tr->step - step0) * (double)(p->steps - tr->step);
        cb(&pr, ud);
    }
    return SEM_OK;
}

int sem_train_eval_mlm(sem_tmodel *m, const sem_tdata *d, int batch, int max_batches, double mask_prob,
                       double *loss, double *acc, sem_error *err)
{
    if (d->kind != SEM_TDATA_MLM)
        return sem_error_set(err, SEM_EINVAL, "MLM evaluation needs MLM data");
    int T = d->seq_len, per = sem_tdata_max_pred(T, mask_prob);
    sem_tacts *a = sem_tacts_new(&m->cfg, batch, T, per * batch, err);
    sem_tbatch_buf bb;
    if (!a)
        return err ? err->code : SEM_ENOMEM;
    int rc = sem_tbatch_buf_init(&bb, d, batch, T, per, err);
    if (rc != SEM_OK) {
        sem_tacts_free(a);
        return rc;
    }
    double l = 0, hits = 0, cnt = 0;
    long nb = ((long)d->n_ex + batch - 1) / batch;
    if (max_batches > 0 && nb > max_batches)
        nb = max_batches;
    for (long i = 0; i < nb && rc == SEM_OK; i++) {
        sem_tbatch b;
        int B = (long)d->n_ex - i * batch < batch ? (int)((long)d->n_ex - i * batch) : batch;
        sem_tdata_batch(d, &bb, i * batch, B, T, mask_prob, 12345, &b);
        sem_tfwd fw = {0, 0};
        sem_tstats st;
        rc = sem_tmodel_mlm(m, a, &b, &fw, 0, &st, err);
        if (rc == SEM_OK) {
            l += st.loss * st.n;
            hits += st.correct;
            cnt += st.n;
        }
    }
    sem_tbatch_buf_free(&bb);
    sem_tacts_free(a);
    if (rc == SEM_OK) {
        *loss = cnt > 0 ? l / cnt : 0;
        *acc = cnt > 0 ? hits / cnt : 0;
    }
    return rc;
}
