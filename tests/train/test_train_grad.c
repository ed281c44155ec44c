/* tests/train/test_train_grad.c: the training model's backward pass against central finite differences, in the
 * double-precision build of the same source (sem_train_f64). Every parameter tensor, every element, for the
 * masked-LM loss and the contrastive (InfoNCE) loss with each pooling, with padding, for the three activations,
 * with dropout off and with dropout on (a fixed mask: masks are a function of the seed), and InfoNCE with hard
 * negatives (fewer anchors than candidates: every positive and every hard negative of the batch is a candidate). */
#include "test.h"
#include "common/hash.h"
#include "train/model.h"

#include <stdlib.h>

enum { B_MLM = 3, B_CON = 6, T = 6 };

static sem_tconfig tiny_config(sem_tact act, double drop)
{
    sem_tconfig c = {0};
    c.vocab_size = 50;
    c.hidden = 12;
    c.layers = 2;
    c.heads = 2;
    c.ffn = 20;
    c.max_pos = 8;
    c.type_vocab = 2;
    c.act = act;
    c.ln_eps = 1e-12;
    c.hidden_dropout = drop;
    c.attn_dropout = drop;
    c.init_range = 0.3;
    c.pad_id = 0;
    return c;
}

/* Random parameters everywhere (LayerNorm weights around 1) so that no gradient is trivially zero. */
static void randomize(sem_tmodel *m, uint64_t seed)
{
    sem_tmodel_init(m, seed);
    uint64_t st = seed * 7 + 1;
    for (int t = 0; t < SEM_TP_COUNT; t++) {
        const char *n = sem_tparam_name(t);
        int lnw = strstr(n, "ln") && n[strlen(n) - 1] == 'w';
        for (size_t k = 0; k < m->sizes[t]; k++) {
            double u = sem_rng_uniform(&st) - 0.5;
            m->w.t[t][k] = lnw ? 1.0 + 0.4 * u : (m->w.t[t][k] + 0.4 * u);
        }
    }
}

typedef struct {
    int kind; /* 0 mlm, 1 contrastive */
    sem_tpool pool;
    int n_anchors; /* contrastive: 0 = B / 2 (sem_tmodel_contrastive), else sem_tmodel_infonce */
    sem_tbatch b;
    sem_tfwd fw;
} problem;

static double loss_of(sem_tmodel *m, sem_tacts *a, const problem *p, double scale)
{
    sem_tstats st;
    sem_error err;
    int rc = p->kind == 0      ? sem_tmodel_mlm(m, a, &p->b, &p->fw, scale, &st, &err)
             : p->n_anchors > 0 ? sem_tmodel_infonce(m, a, &p->b, p->n_anchors, &p->fw, p->pool, 0.5, scale, &st, &err)
                                : sem_tmodel_contrastive(m, a, &p->b, &p->fw, p->pool, 0.5, scale, &st, &err);
    if (rc != SEM_OK) {
        fprintf(stderr, "loss failed: %s\n", err.msg);
        return NAN;
    }
    return st.loss;
}

/* Checks d loss / d param for every element of every tensor; returns the worst relative error. */
static void gradcheck(const char *what, sem_tmodel *m, sem_tacts *a, const problem *p)
{
    sem_tmodel_zero_grad(m);
    double l0 = loss_of(m, a, p, 1.0);
    CHECK(isfinite(l0));
    const double h = 1e-5;
    for (int t = 0; t < SEM_TP_COUNT; t++) {
        double worst = 0, gnorm = 0, fdnorm = 0;
        size_t worst_k = 0;
        for (size_t k = 0; k < m->sizes[t]; k++) {
            sem_real *w = &m->w.t[t][k], save = *w;
            *w = save + h;
            double lp = loss_of(m, a, p, 0);
            *w = save - h;
            double lm = loss_of(m, a, p, 0);
            *w = save;
            double fd = (lp - lm) / (2 * h), an = m->g.t[t][k];
            double e = fabs(fd - an) / (1e-6 + fabs(fd) + fabs(an));
            if (fabs(fd - an) < 1e-9)
                e = 0; /* both (numerically) zero */
            if (e > worst) {
                worst = e;
                worst_k = k;
            }
            gnorm += an * an;
            fdnorm += fd * fd;
        }
        CHECK_MSG(worst < 1e-5, "%s: tensor %s element %zu: relative error %.3g (|grad| %.3g, |fd| %.3g)", what,
                  sem_tparam_name(t), worst_k, worst, sqrt(gnorm), sqrt(fdnorm));
        /* the tensors a loss uses must receive a gradient (else the check above proves nothing) */
        const char *n = sem_tparam_name(t);
        int used = 1;
        if (p->kind == 0 && strncmp(n, "pool", 4) == 0)
            used = 0;
        if (p->kind == 1 && strncmp(n, "mlm", 3) == 0)
            used = 0;
        if (p->kind == 1 && p->pool != SEM_TPOOL_POOLER && strncmp(n, "pool", 4) == 0)
            used = 0;
        if (used)
            CHECK_MSG(sqrt(gnorm) > 1e-8, "%s: tensor %s got no gradient", what, n);
        else
            CHECK_MSG(gnorm == 0, "%s: tensor %s should get no gradient", what, n);
    }
}

int main(void)
{
    /* three sequences of lengths 6, 4, 5 (right-padded with id 0, mask 0), two segments in the first */
    static const int32_t ids[B_CON * T] = {2,  17, 33, 5,  41, 3,  2,  9,  12, 3,  0, 0, 2,  44, 21, 7,  3,  0,
                                           2,  30, 31, 3,  0,  0,  2,  8,  8,  19, 3, 0, 2,  6,  3,  0,  0,  0};
    static const int32_t types[B_CON * T] = {0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const int32_t mask[B_CON * T] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0,
                                            1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0};
    static const int32_t pred_pos[4] = {1, 4, 8, 14};
    static const int32_t pred_label[4] = {17, 41, 12, 21};

    struct {
        const char *name;
        sem_tact act;
        double drop;
        int kind;
        sem_tpool pool;
        int n_anchors; /* hard negatives: rows n..2n-1 positives, 2n..B-1 negatives */
        int B;         /* rows used (0 = all six) */
    } cases[] = {
        {"mlm gelu", SEM_TACT_GELU, 0, 0, SEM_TPOOL_MEAN, 0, 0},
        {"mlm gelu_new", SEM_TACT_GELU_NEW, 0, 0, SEM_TPOOL_MEAN, 0, 0},
        {"mlm relu", SEM_TACT_RELU, 0, 0, SEM_TPOOL_MEAN, 0, 0},
        {"mlm gelu dropout", SEM_TACT_GELU, 0.25, 0, SEM_TPOOL_MEAN, 0, 0},
        {"infonce mean", SEM_TACT_GELU, 0, 1, SEM_TPOOL_MEAN, 0, 0},
        {"infonce cls", SEM_TACT_GELU_NEW, 0, 1, SEM_TPOOL_CLS, 0, 0},
        {"infonce pooler", SEM_TACT_GELU, 0, 1, SEM_TPOOL_POOLER, 0, 0},
        {"infonce mean dropout (simcse)", SEM_TACT_GELU, 0.25, 1, SEM_TPOOL_MEAN, 0, 0},
        {"infonce hard negatives mean (2 anchors, 2 negatives)", SEM_TACT_GELU, 0, 1, SEM_TPOOL_MEAN, 2, 6},
        {"infonce hard negatives cls (2 anchors, 1 negative)", SEM_TACT_GELU_NEW, 0, 1, SEM_TPOOL_CLS, 2, 5},
        {"infonce hard negatives pooler (1 anchor, 4 negatives)", SEM_TACT_GELU, 0, 1, SEM_TPOOL_POOLER, 1, 6},
        {"infonce hard negatives mean dropout", SEM_TACT_RELU, 0.25, 1, SEM_TPOOL_MEAN, 2, 6},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        sem_error err;
        sem_tconfig c = tiny_config(cases[ci].act, cases[ci].drop);
        sem_tmodel *m = sem_tmodel_new(&c, &err);
        sem_tacts *a = sem_tacts_new(&c, B_CON, T, 8, &err);
        CHECK(m && a);
        if (!m || !a)
            return 1;
        randomize(m, 42 + ci);
        problem p = {0};
        p.kind = cases[ci].kind;
        p.pool = cases[ci].pool;
        p.b.B = p.kind == 0 ? B_MLM : cases[ci].B ? cases[ci].B : B_CON;
        p.n_anchors = cases[ci].n_anchors;
        p.b.T = T;
        p.b.ids = ids;
        p.b.types = types;
        p.b.mask = mask;
        p.b.n_pred = 4;
        p.b.pred_pos = pred_pos;
        p.b.pred_label = pred_label;
        p.fw.train = cases[ci].drop > 0;
        p.fw.seed = 1234;
        if (p.kind == 1 && cases[ci].drop > 0 && !p.n_anchors) {
            /* SimCSE: positives are the anchors themselves; only dropout makes them differ */
            static int32_t sids[B_CON * T], smask[B_CON * T];
            memcpy(sids, ids, sizeof(int32_t) * 3 * T);
            memcpy(sids + 3 * T, ids, sizeof(int32_t) * 3 * T);
            memcpy(smask, mask, sizeof(int32_t) * 3 * T);
            memcpy(smask + 3 * T, mask, sizeof(int32_t) * 3 * T);
            p.b.ids = sids;
            p.b.mask = smask;
            p.b.types = NULL;
        }
        gradcheck(cases[ci].name, m, a, &p);
        if (cases[ci].drop > 0) {
            /* the mask is a function of the seed: same seed, same loss; another seed, another loss */
            double l1 = loss_of(m, a, &p, 0), l2 = loss_of(m, a, &p, 0);
            p.fw.seed = 99;
            double l3 = loss_of(m, a, &p, 0);
            p.fw.train = 0;
            double l4 = loss_of(m, a, &p, 0);
            CHECK(l1 == l2);
            CHECK(l1 != l3);
            CHECK(l1 != l4);
        }
        /* padding is invisible: changing a padded token's id changes nothing */
        if (ci == 0) {
            double l1 = loss_of(m, a, &p, 0);
            int32_t ids2[B_CON * T];
            memcpy(ids2, ids, sizeof ids2);
            ids2[10] = 37;
            p.b.ids = ids2;
            double l2 = loss_of(m, a, &p, 0);
            CHECK_NEAR(l1, l2, 1e-12);
            p.b.ids = ids;
        }
        sem_tacts_free(a);
        sem_tmodel_free(m);
    }
    /* InfoNCE with n anchors and exactly n candidates is the in-batch loss, bit for bit (2-column data trains as
     * before); hard negatives enlarge the candidate set: with the same anchors and positives the loss grows */
    {
        sem_error err;
        sem_tconfig c = tiny_config(SEM_TACT_GELU, 0);
        sem_tmodel *m = sem_tmodel_new(&c, &err);
        sem_tacts *a = sem_tacts_new(&c, B_CON, T, 8, &err);
        randomize(m, 7);
        sem_tbatch b = {.B = 4, .T = T, .ids = ids, .types = types, .mask = mask};
        sem_tfwd fw = {0, 0};
        sem_tstats s1, s2, s3;
        sem_tmodel_zero_grad(m);
        CHECK(sem_tmodel_contrastive(m, a, &b, &fw, SEM_TPOOL_MEAN, 0.5, 1.0, &s1, &err) == SEM_OK);
        sem_real *g1 = malloc(sizeof(sem_real) * m->n_params);
        memcpy(g1, m->grads, sizeof(sem_real) * m->n_params);
        sem_tmodel_zero_grad(m);
        CHECK(sem_tmodel_infonce(m, a, &b, 2, &fw, SEM_TPOOL_MEAN, 0.5, 1.0, &s2, &err) == SEM_OK);
        CHECK(s1.loss == s2.loss && s1.correct == s2.correct && s1.n == s2.n);
        CHECK(memcmp(g1, m->grads, sizeof(sem_real) * m->n_params) == 0);
        b.B = 6;
        CHECK(sem_tmodel_infonce(m, a, &b, 2, &fw, SEM_TPOOL_MEAN, 0.5, 0, &s3, &err) == SEM_OK);
        CHECK(s3.loss > s2.loss && s3.n == 2);
        /* not enough rows for the anchors' positives */
        CHECK(sem_tmodel_infonce(m, a, &b, 4, &fw, SEM_TPOOL_MEAN, 0.5, 0, &s3, &err) == SEM_EINVAL);
        CHECK(sem_tmodel_infonce(m, a, &b, 0, &fw, SEM_TPOOL_MEAN, 0.5, 0, &s3, &err) == SEM_EINVAL);
        free(g1);
        sem_tacts_free(a);
        sem_tmodel_free(m);
    }
    /* bad inputs are errors, not crashes */
    {
        sem_error err;
        sem_tconfig c = tiny_config(SEM_TACT_GELU, 0);
        sem_tmodel *m = sem_tmodel_new(&c, &err);
        sem_tacts *a = sem_tacts_new(&c, 2, T, 4, &err);
        int32_t bad[2 * T] = {2, 99, 3, 0, 0, 0, 2, 3, 0, 0, 0, 0};
        sem_tbatch b = {.B = 2, .T = T, .ids = bad};
        sem_tfwd fw = {0, 0};
        CHECK(sem_tmodel_encode(m, a, &b, &fw, &err) == NULL && err.code == SEM_EINVAL);
        b.B = 3;
        bad[1] = 5;
        CHECK(sem_tmodel_encode(m, a, &b, &fw, &err) == NULL);
        b.B = 2;
        b.T = 9; /* > max_pos */
        CHECK(sem_tmodel_encode(m, a, &b, &fw, &err) == NULL);
        c.heads = 5;
        CHECK(sem_tmodel_new(&c, &err) == NULL && err.code == SEM_EINVAL);
        sem_tacts_free(a);
        sem_tmodel_free(m);
        sem_tmodel_free(NULL);
        sem_tacts_free(NULL);
    }
    TEST_END();
}
