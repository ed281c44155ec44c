/* tests/train/test_train_torch.c: gradients of the C trainer against PyTorch autograd, where Debian's python3-torch
 * is installed (/usr/bin/python3 -c 'import torch'); otherwise the test reports itself skipped (exit 77).
 * A tiny model (double precision build) with random parameters computes the MLM loss and the InfoNCE loss (mean
 * pooling) with padding, dropout off; parameters, batch, losses and gradients go to a JSON file that
 * tests/train/torch_grad_check.py rebuilds in PyTorch (float64) and compares. */
#include "test.h"
#include "common/hash.h"
#include "train/model.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

enum { B = 4, T = 6 };

static void dump_tensors(FILE *f, const sem_tmodel *m, const sem_real *base, const char *key)
{
    fprintf(f, "\"%s\": {", key);
    size_t off = 0;
    for (int t = 0; t < SEM_TP_COUNT; t++) {
        fprintf(f, "%s\"%s\": [", t ? ", " : "", sem_tparam_name(t));
        for (size_t k = 0; k < m->sizes[t]; k++)
            fprintf(f, "%s%.17g", k ? "," : "", (double)base[off + k]);
        fprintf(f, "]");
        off += m->sizes[t];
    }
    fprintf(f, "}");
}

static void dump_ints(FILE *f, const char *key, const int32_t *v, int n)
{
    fprintf(f, "\"%s\": [", key);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? "," : "", (int)v[i]);
    fprintf(f, "], ");
}

int main(void)
{
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("python3-torch not installed: skipped\n");
        return 77;
    }
    sem_error err;
    sem_tconfig c = {.vocab_size = 50, .hidden = 12, .layers = 2, .heads = 2, .ffn = 20, .max_pos = 8,
                     .type_vocab = 2, .act = SEM_TACT_GELU, .ln_eps = 1e-12, .init_range = 0.3, .pad_id = 0};
    sem_tmodel *m = sem_tmodel_new(&c, &err);
    sem_tacts *a = sem_tacts_new(&c, B, T, 8, &err);
    CHECK(m && a);
    if (!m || !a)
        TEST_END();
    sem_tmodel_init(m, 11);
    uint64_t st = 3;
    for (size_t k = 0; k < m->n_params; k++)
        m->params[k] += (sem_real)(0.2 * (sem_rng_uniform(&st) - 0.5));
    static const int32_t ids[B * T] = {2, 17, 33, 5, 41, 3, 2, 9, 12, 3, 0, 0, 2, 44, 21, 7, 3, 0, 2, 30, 3, 0, 0, 0};
    static const int32_t types[B * T] = {0, 0, 0, 1, 1, 1};
    static const int32_t mask[B * T] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0};
    static const int32_t pos[4] = {1, 4, 8, 14}, lab[4] = {17, 41, 12, 21};
    sem_tbatch b = {B, T, ids, types, mask, 4, pos, lab, 0};
    sem_tfwd fw = {0, 0};
    char path[] = "/tmp/sem_train_torch_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    CHECK(f != NULL);
    if (!f)
        TEST_END();
    fprintf(f, "{\"config\": {\"V\": %d, \"H\": %d, \"L\": %d, \"nh\": %d, \"F\": %d, \"P\": %d, \"TV\": %d, "
               "\"eps\": %.17g, \"temperature\": 0.5}, \"B\": %d, \"T\": %d, ",
            c.vocab_size, c.hidden, c.layers, c.heads, c.ffn, c.max_pos, c.type_vocab, c.ln_eps, B, T);
    dump_ints(f, "ids", ids, B * T);
    dump_ints(f, "types", types, B * T);
    dump_ints(f, "mask", mask, B * T);
    dump_ints(f, "pred_pos", pos, 4);
    dump_ints(f, "pred_label", lab, 4);
    dump_tensors(f, m, m->params, "params");
    sem_tstats s1, s2;
    sem_tmodel_zero_grad(m);
    CHECK(sem_tmodel_mlm(m, a, &b, &fw, 1.0, &s1, &err) == SEM_OK);
    fprintf(f, ", \"mlm_loss\": %.17g, ", s1.loss);
    dump_tensors(f, m, m->grads, "mlm_grads");
    sem_tmodel_zero_grad(m);
    CHECK(sem_tmodel_contrastive(m, a, &b, &fw, SEM_TPOOL_MEAN, 0.5, 1.0, &s2, &err) == SEM_OK);
    fprintf(f, ", \"infonce_loss\": %.17g, ", s2.loss);
    dump_tensors(f, m, m->grads, "infonce_grads");
    fprintf(f, "}\n");
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/train/torch_grad_check.py %s", SEM_SOURCE_DIR, path);
    int rc = system(cmd);
    CHECK_MSG(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "torch_grad_check.py failed");
    unlink(path);
    sem_tacts_free(a);
    sem_tmodel_free(m);
    TEST_END();
}
