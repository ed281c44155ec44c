/* tests/train/test_train_resume.c: the trainer end to end on a tiny model and synthetic token data:
 * - a run stopped at a checkpoint and resumed in a fresh trainer writes the same training log (every loss,
 *   bit for bit) and ends with the same weights as a run that was never stopped, for MLM, pairs, pairs with hard
 *   negatives (on two examples in three) and SimCSE;
 * - the loss goes down; a corrupt checkpoint and different data are refused;
 * - the HF folder round-trips (F32 exactly, F16 within half precision), and malformed safetensors are errors
 *   (the reader itself: test_train_hfio.c). */
#include "test.h"
#include "common/hash.h"
#include "train/train.h"

#include "common/fileio.h"

#include <stdlib.h>
#include <unistd.h>

static const sem_tspecial SP = {.cls = 2, .sep = 3, .pad = 0, .mask = 4, .unk = 1, .vocab_size = 60};

static sem_tconfig tiny(void)
{
    sem_tconfig c = {.vocab_size = 60, .hidden = 16, .layers = 2, .heads = 2, .ffn = 32, .max_pos = 16,
                     .type_vocab = 2, .act = SEM_TACT_GELU, .ln_eps = 1e-12, .hidden_dropout = 0.1,
                     .attn_dropout = 0.1, .init_range = 0.02, .pad_id = 0};
    return c;
}

#define PAIRS_NEG 3 /* make_data: pairs with hard negatives */

/* Deterministic synthetic data: "sentences" from a tiny grammar so that there is something to learn. */
static sem_tdata *make_data(sem_tdata_kind kind, int seq)
{
    sem_error err;
    int neg = (int)kind == PAIRS_NEG;
    if (neg)
        kind = SEM_TDATA_PAIRS;
    sem_tdata *d = sem_tdata_new(kind, &SP, &err);
    uint64_t st = 7;
    for (int i = 0; i < 40 && d; i++) {
        int32_t ids[12];
        int n = 3 + (int)(sem_rng_next(&st) % 6);
        int base = 5 + (int)(sem_rng_next(&st) % 10) * 5;
        for (int k = 0; k < n; k++)
            ids[k] = base + (k % 5);
        sem_tdata_add_ids(d, ids, (size_t)n, &err);
        if (kind == SEM_TDATA_PAIRS) { /* the positive: the same pattern shifted */
            for (int k = 0; k < n; k++)
                ids[k] = base + ((k + 1) % 5);
            sem_tdata_add_ids(d, ids, (size_t)n, &err);
            if (neg && i % 3 != 0) { /* a hard negative: another pattern of the same length */
                for (int k = 0; k < n; k++)
                    ids[k] = 5 + (base + 5) % 50 + (k % 5);
                CHECK(sem_tdata_add_negative(d, ids, (size_t)n, &err) == SEM_OK);
            }
        }
    }
    if (d && sem_tdata_finish(d, seq, &err) != SEM_OK) {
        sem_tdata_free(d);
        return NULL;
    }
    return d;
}

static char *slurp(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *buf = NULL;
    size_t len;
    sem_error err;
    if (sem_read_file(path, 1 << 30, &buf, &len, &err) != SEM_OK)
        return NULL;
    return buf;
}

static sem_trainer *fresh(sem_tdata_kind kind, const char *dir, long steps, long stop_at, double lr)
{
    sem_error err;
    sem_tconfig c = tiny();
    sem_tmodel *m = sem_tmodel_new(&c, &err);
    if (!m)
        return NULL;
    sem_tmodel_init(m, 5);
    sem_train_params p = sem_train_default_params();
    p.steps = steps;
    p.batch = 4;
    p.seq = 12;
    p.accum = 2;
    p.lr = lr;
    p.warmup = 2;
    p.temperature = 0.1;
    p.ckpt_seconds = 0;
    p.ckpt_steps = stop_at ? 3 : 0;
    p.stop_at = stop_at;
    sem_trainer *tr = sem_trainer_new(m, make_data(kind, 12), &p, dir, &err);
    if (!tr)
        fprintf(stderr, "trainer: %s\n", err.msg);
    return tr;
}

static void resume_case(sem_tdata_kind kind, const char *root)
{
    char da[256], db[256];
    snprintf(da, sizeof da, "%s/a%d", root, (int)kind);
    snprintf(db, sizeof db, "%s/b%d", root, (int)kind);
    sem_error err;
    sem_trainer *a = fresh(kind, da, 10, 0, 1e-3);
    CHECK(a != NULL);
    if (!a)
        return;
    CHECK(sem_trainer_run(a, NULL, NULL, NULL, &err) == SEM_OK);
    CHECK(sem_trainer_done(a));
    sem_trainer *b = fresh(kind, db, 10, 5, 1e-3); /* stops after update 5: checkpoint, then "killed" */
    CHECK(sem_trainer_run(b, NULL, NULL, NULL, &err) == SEM_OK);
    CHECK_EQ_INT(sem_trainer_step(b), 5);
    CHECK(!sem_trainer_done(b));
    sem_trainer_free(b);
    /* simulate a crash after the checkpoint: the log has lines beyond it, which resume must drop */
    char lp[300];
    snprintf(lp, sizeof lp, "%s/train_log.tsv", db);
    FILE *f = fopen(lp, "a");
    fprintf(f, "6\t0.5\t0\t0\t0\t0\n");
    fclose(f);
    b = sem_trainer_resume(db, make_data(kind, 12), NULL, &err);
    CHECK_MSG(b != NULL, "%s", err.msg);
    if (!b) {
        sem_trainer_free(a);
        return;
    }
    CHECK_EQ_INT(sem_trainer_step(b), 5);
    CHECK(sem_trainer_run(b, NULL, NULL, NULL, &err) == SEM_OK);
    CHECK(sem_trainer_done(b));
    char *la = slurp(da, "train_log.tsv"), *lb = slurp(db, "train_log.tsv");
    CHECK(la && lb && strcmp(la, lb) == 0);
    if (la && lb && strcmp(la, lb) != 0)
        fprintf(stderr, "--- straight\n%s--- resumed\n%s", la, lb);
    CHECK(la && strlen(la) > 100);
    const sem_tmodel *ma = sem_trainer_model(a), *mb = sem_trainer_model(b);
    CHECK(memcmp(ma->params, mb->params, ma->n_params * sizeof(sem_real)) == 0);
    CHECK_EQ_INT(sem_trainer_tokens(a), sem_trainer_tokens(b));
    free(la);
    free(lb);
    sem_trainer_free(b);
    /* resuming on other data is refused (also the same pairs with or without their hard negatives) */
    sem_tdata *other = make_data(kind == SEM_TDATA_MLM ? SEM_TDATA_SIMCSE : SEM_TDATA_MLM, 12);
    CHECK(sem_trainer_resume(db, other, NULL, &err) == NULL && err.code == SEM_EMISMATCH);
    if (kind == SEM_TDATA_PAIRS || (int)kind == PAIRS_NEG) {
        other = make_data(kind == SEM_TDATA_PAIRS ? (sem_tdata_kind)PAIRS_NEG : SEM_TDATA_PAIRS, 12);
        CHECK(sem_trainer_resume(db, other, NULL, &err) == NULL && err.code == SEM_EMISMATCH);
    }
    /* a corrupt checkpoint is refused */
    char cp[300];
    snprintf(cp, sizeof cp, "%s/checkpoint.bin", db);
    f = fopen(cp, "r+b");
    fseek(f, 300, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    CHECK(sem_trainer_resume(db, make_data(kind, 12), NULL, &err) == NULL && err.code == SEM_EFORMAT);
    truncate(cp, 100);
    CHECK(sem_trainer_resume(db, make_data(kind, 12), NULL, &err) == NULL && err.code == SEM_EFORMAT);
    sem_trainer_free(a);
}

static double mean_loss(const char *log, int from, int to)
{
    double s = 0;
    int n = 0;
    const char *p = strchr(log, '\n');
    while (p && *++p) {
        long step;
        double loss;
        if (sscanf(p, "%ld\t%lf", &step, &loss) == 2 && step >= from && step <= to) {
            s += loss;
            n++;
        }
        p = strchr(p, '\n');
    }
    return n ? s / n : NAN;
}

int main(void)
{
    char root[] = "/tmp/sem_train_test_XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    resume_case(SEM_TDATA_MLM, root);
    resume_case(SEM_TDATA_PAIRS, root);
    resume_case((sem_tdata_kind)PAIRS_NEG, root);
    resume_case(SEM_TDATA_SIMCSE, root);

    /* the loss goes down */
    sem_error err;
    char dl[300];
    snprintf(dl, sizeof dl, "%s/learn", root);
    for (int kind = 0; kind < 4; kind++) { /* MLM, pairs, SimCSE, pairs with hard negatives */
        sem_trainer *t = fresh((sem_tdata_kind)kind, dl, 200, 0, kind == 0 ? 1e-2 : 3e-3);
        CHECK(t && sem_trainer_run(t, NULL, NULL, NULL, &err) == SEM_OK);
        char *log = slurp(dl, "train_log.tsv");
        double first = log ? mean_loss(log, 1, 5) : NAN, last = log ? mean_loss(log, 196, 200) : NAN;
        CHECK_MSG(last < 0.85 * first, "kind %d: loss %.4f -> %.4f", kind, first, last);
        free(log);
        /* HF folder round trip */
        if (t && kind == 0) {
            sem_hf_save_params sp = {0, SEM_TPOOL_MEAN, 0, 0, NULL, 1};
            char hd[300];
            snprintf(hd, sizeof hd, "%s/hf32", root);
            CHECK(sem_tmodel_save_hf(sem_trainer_model(t), hd, &sp, &err) == SEM_OK);
            sem_tmodel *r = sem_tmodel_load_hf(hd, 0, NULL, &err);
            CHECK_MSG(r != NULL, "%s", err.msg);
            const sem_tmodel *o = sem_trainer_model(t);
            CHECK(r && memcmp(r->params, o->params, o->n_params * sizeof(sem_real)) == 0);
            CHECK(r && r->cfg.vocab_size == o->cfg.vocab_size && r->cfg.hidden == o->cfg.hidden &&
                  r->cfg.layers == o->cfg.layers && r->cfg.heads == o->cfg.heads && r->cfg.ffn == o->cfg.ffn &&
                  r->cfg.max_pos == o->cfg.max_pos && r->cfg.type_vocab == o->cfg.type_vocab &&
                  r->cfg.act == o->cfg.act && r->cfg.ln_eps == o->cfg.ln_eps &&
                  r->cfg.hidden_dropout == o->cfg.hidden_dropout && r->cfg.attn_dropout == o->cfg.attn_dropout &&
                  r->cfg.pad_id == o->cfg.pad_id);
            sem_tmodel_free(r);
            sp.f16 = 1;
            snprintf(hd, sizeof hd, "%s/hf16", root);
            CHECK(sem_tmodel_save_hf(o, hd, &sp, &err) == SEM_OK);
            r = sem_tmodel_load_hf(hd, 0, NULL, &err);
            CHECK(r != NULL);
            double worst = 0;
            for (size_t k = 0; r && k < o->n_params; k++) {
                double rel = fabs(r->params[k] - o->params[k]) / fmax(fabs(o->params[k]), 1e-4);
                if (rel > worst)
                    worst = rel;
            }
            CHECK_MSG(worst < 1e-3, "f16 relative error %g", worst);
            sem_tmodel_free(r);
            /* malformed safetensors */
            char *st = NULL;
            size_t len = 0;
            CHECK(sem_tmodel_to_safetensors(o, 0, &st, &len, &err) == SEM_OK);
            sem_tconfig c = tiny();
            sem_tmodel *x = sem_tmodel_new(&c, &err);
            CHECK(sem_tmodel_read_safetensors(x, st, len, NULL, NULL, &err) == SEM_OK);
            CHECK(sem_tmodel_read_safetensors(x, st, 5, NULL, NULL, &err) == SEM_EFORMAT);
            CHECK(sem_tmodel_read_safetensors(x, st, len - 4, NULL, NULL, &err) == SEM_EFORMAT);
            st[0] = (char)0xff; /* header length beyond the file */
            st[3] = 0x7f;
            CHECK(sem_tmodel_read_safetensors(x, st, len, NULL, NULL, &err) == SEM_EFORMAT);
            free(st);
            c.hidden = 8; /* shapes that disagree with config.json */
            sem_tmodel *y = sem_tmodel_new(&c, &err);
            CHECK(sem_tmodel_to_safetensors(o, 0, &st, &len, &err) == SEM_OK);
            CHECK(sem_tmodel_read_safetensors(y, st, len, NULL, NULL, &err) == SEM_EMISMATCH);
            free(st);
            sem_tmodel_free(x);
            sem_tmodel_free(y);
            /* config parsing */
            sem_tconfig pc;
            CHECK(sem_tconfig_parse_json("{\"hidden_size\": 64, \"num_attention_heads\": 3}", 45, &pc, &err) != 0);
            CHECK(sem_tconfig_parse_json("{\"hidden_act\": \"swish\"}", 24, &pc, &err) == SEM_EFORMAT);
            CHECK(sem_tconfig_parse_json("[1]", 3, &pc, &err) == SEM_EFORMAT);
            CHECK(sem_tconfig_parse_json("{\"hidden_size\": 1.5}", 20, &pc, &err) == SEM_EFORMAT);
        }
        /* held-out MLM evaluation runs */
        if (t && kind == 0) {
            double l = 0, acc = 0;
            sem_tdata *d = make_data(SEM_TDATA_MLM, 12);
            CHECK(sem_train_eval_mlm((sem_tmodel *)sem_trainer_model(t), d, 4, 0, 0.15, &l, &acc, &err) == SEM_OK);
            CHECK_MSG(l > 0 && l < 4.094 - 0.5 && acc > 0.1, "held-out loss %g accuracy %g", l, acc);
            sem_tdata_free(d);
        }
        sem_trainer_free(t);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    TEST_END();
}
