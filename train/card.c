/* train/card.c: the model card of a trained model (see card.h). */
#include "train/card.h"

#include "common/fileio.h"
#include "common/strbuf.h"

#include <stdlib.h>
#include <string.h>

static const char *objective(const sem_train_card *c)
{
    switch (c->kind) {
    case SEM_TDATA_SIMCSE:
        return "SimCSE (InfoNCE, dropout views)";
    case SEM_TDATA_PAIRS:
        return c->n_neg ? "InfoNCE with in-batch and hard negatives on pairs" : "InfoNCE with in-batch negatives on "
                                                                                "pairs";
    default:
        return "masked LM (15%: 80% [MASK], 10% random, 10% kept)";
    }
}

char *sem_train_card_text(const char *out_dir, const sem_trainer *tr, const sem_train_card *c)
{
    const sem_tmodel *m = sem_trainer_model(tr);
    const sem_train_params *p = sem_trainer_params(tr);
    sem_strbuf b = {0};
    sem_strbuf_printf(&b, "# %s\n\nTrained with `semsearch train %s` (semsearch's C trainer).\n\n", out_dir,
                      c->kind == SEM_TDATA_MLM ? "mlm" : "contrastive");
    sem_strbuf_printf(&b, "| | |\n|---|---|\n| architecture | BERT, %d layers, hidden %d, %d heads, FFN %d, vocab %d |\n",
                      m->cfg.layers, m->cfg.hidden, m->cfg.heads, m->cfg.ffn, m->cfg.vocab_size);
    sem_strbuf_printf(&b, "| parameters | %zu |\n| start | %s |\n| vocabulary | %s |\n", m->n_params, c->start,
                      c->vocab);
    sem_strbuf_printf(&b, "| objective | %s |\n", objective(c));
    if (c->n_neg)
        sem_strbuf_printf(&b, "| pairs with a hard negative | %zu |\n", c->n_neg);
    sem_strbuf_printf(&b, "| updates | %ld of %ld |\n| batch x accum x seq | %d x %d x %d |\n| lr, warm-up | %g, %ld |\n",
                      sem_trainer_step(tr), p->steps, p->batch, p->accum, p->seq, p->lr, p->warmup);
    sem_strbuf_printf(&b, "| tokens seen | %ld |\n| last loss | %.4f |\n| seed | %llu |\n| time of the last session | "
                      "%.0f s |\n", sem_trainer_tokens(tr), sem_trainer_last_loss(tr), (unsigned long long)p->seed,
                      c->seconds);
    if (c->eval_loss >= 0)
        sem_strbuf_printf(&b, "| held-out MLM loss / accuracy | %.4f / %.4f |\n", c->eval_loss, c->eval_acc);
    sem_strbuf_puts(&b, "\nTraining data files:\n\n");
    for (int i = 0; i < c->n_files; i++)
        sem_strbuf_printf(&b, "- %s\n", c->files[i]);
    sem_strbuf_puts(&b, "\nThe per-update log is train_log.tsv; list the data's sources and licences here (see "
                        "data/training/LICENSES when made by scripts/make_training_data.sh).\n");
    return sem_strbuf_finish(&b);
}

int sem_train_write_card(const char *out_dir, const sem_trainer *tr, const sem_train_card *c, sem_error *err)
{
    char *text = sem_train_card_text(out_dir, tr, c);
    char *path = sem_path_join(out_dir, "README.md");
    int rc = text && path ? sem_write_file_atomic(path, text, strlen(text), err)
                          : sem_error_set(err, SEM_ENOMEM, "out of memory");
    free(text);
    free(path);
    return rc;
}
