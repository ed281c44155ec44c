/* adapt/card.c: the adapted model's folder and its model card (adapt_write_model, adapt/adapt_impl.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapt/adapt_impl.h"
#include "common/fileio.h"
#include "common/strbuf.h"

/* Adds "semsearch_adapted" to dir/config.json, so that the adapted model's identity (a hash of config.json,
 * vocab.txt and the pooling) differs from its base model's even when their configs are the same. */
static int mark_config(const char *dir, const adapt_state *st, sem_error *err)
{
    char *path = sem_path_join(dir, "config.json"), *buf = NULL, *out = NULL;
    size_t len = 0;
    int rc = path ? sem_read_file(path, 1 << 20, &buf, &len, err) : sem_error_set(err, SEM_ENOMEM, "out of memory");
    cJSON *o = rc == SEM_OK ? cJSON_ParseWithLength(buf, len) : NULL;
    cJSON *a = cJSON_CreateObject();
    const char *slash = strrchr(st->base_model, '/');
    if (rc == SEM_OK && (!o || !a || !cJSON_AddStringToObject(a, "base", slash ? slash + 1 : st->base_model) ||
                         !cJSON_AddStringToObject(a, "base_hash", st->base_hash) ||
                         !cJSON_AddNumberToObject(a, "generation", st->generation) ||
                         !cJSON_AddNumberToObject(a, "made_at", (double)time(NULL)) ||
                         !cJSON_AddItemToObject(o, "semsearch_adapted", a) || !(out = cJSON_Print(o))))
        rc = sem_error_set(err, SEM_ENOMEM, "%s: cannot mark the config", path);
    else if (rc == SEM_OK)
        a = NULL; /* owned by o now */
    if (rc == SEM_OK)
        rc = sem_write_file_atomic(path, out, strlen(out), err);
    cJSON_Delete(a);
    cJSON_Delete(o);
    free(out);
    free(buf);
    free(path);
    return rc;
}

static int copy_file(const char *from, const char *to, sem_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = sem_read_file(from, (size_t)1 << 30, &buf, &len, err);
    if (rc == SEM_OK)
        rc = sem_write_file_atomic(to, buf, len, err);
    free(buf);
    return rc;
}

static void card_text(sem_strbuf *b, const adapt_state *st, const sem_adapt_params *p, const char *kb_dir)
{
    const sem_adapt_report *r = &st->rep;
    sem_strbuf_printf(b, "# Adapted model (generation %d)\n\n", st->generation);
    sem_strbuf_printf(b, "Made by `semsearch adapt` from `%s` on the passages of the knowledge base `%s`: "
                         "masked-LM on the KB's text, then contrastive training on pairs mined from it (with "
                         "hard negatives from the KB's own lexical search). No queries were seen.\n\n",
                      st->base_model, kb_dir);
    sem_strbuf_printf(b, "| | |\n|---|---|\n| base model | %s (identity %.16s…) |\n", st->base_model, st->base_hash);
    sem_strbuf_printf(b, "| KB passages / documents | %ld / %ld (%ld documents held out of training: they judge "
                         "the hybrid weight) |\n", r->passages, r->docs, r->docs_held_out);
    sem_strbuf_printf(b, "| MLM corpus | %ld tokens (titles and passages) |\n", r->corpus_tokens);
    sem_strbuf_printf(b, "| pairs | %ld: %ld title/heading ↔ body, %ld sentence ↔ rest of passage, %ld neighbouring "
                         "passages; %ld with a hard negative |\n",
                      r->pairs, r->pairs_title, r->pairs_sentence, r->pairs_neighbour, r->negatives);
    sem_strbuf_printf(b, "| time budget | %.1f minutes (MLM %.0f s, contrastive %.0f s planned) |\n", p->minutes,
                      st->budget_s[0], st->budget_s[1]);
    sem_strbuf_printf(b, "| MLM | %ld updates, ~%.0f s; loss %.4f (first update) → %.4f (mean of the last 10) |\n",
                      r->mlm_steps, r->mlm_s, r->mlm_loss_first, r->mlm_loss_last);
    sem_strbuf_printf(b, "| contrastive | %ld updates, ~%.0f s; InfoNCE loss %.4f → %.4f |\n", r->con_steps, r->con_s,
                      r->con_loss_first, r->con_loss_last);
    sem_strbuf_printf(b, "| batches | MLM %d × %d tokens, lr %g; contrastive %d pairs (+ their hard negatives) × ≤ "
                         "%d tokens, lr %g |\n| seed | %llu |\n",
                      p->mlm_batch, p->seq, p->mlm_lr, p->con_batch, p->seq, p->con_lr,
                      (unsigned long long)p->seed);
    sem_strbuf_printf(b, "\nThe per-update logs are train_log_mlm.tsv and train_log_contrastive.tsv. The "
                         "licence of the text is the licence of the KB's documents; the base model's card lists "
                         "what it was trained on.\n");
}

int adapt_write_model(const char *src, const char *dst, const adapt_state *st, const sem_adapt_params *p,
                      const sem_hf_save_params *save, const char *kb_dir, const char *work, sem_error *err)
{
    size_t n = strlen(dst) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp", dst);
    sem_tmodel *m = NULL;
    sem_strbuf b = {0};
    char path[4200], from[4200];
    int rc = adapt_remove_tree(tmp, err);
    if (rc == SEM_OK && !(m = sem_tmodel_load_hf(src, 0, NULL, err)))
        rc = err ? err->code : SEM_EIO;
    if (rc == SEM_OK)
        rc = sem_tmodel_save_hf(m, tmp, save, err);
    if (rc == SEM_OK)
        rc = mark_config(tmp, st, err);
    for (int i = 0; i < 2 && rc == SEM_OK; i++) { /* the training logs, when the stage ran */
        snprintf(from, sizeof from, "%s/%s/train_log.tsv", work, i ? "contrastive" : "mlm");
        snprintf(path, sizeof path, "%s/train_log_%s.tsv", tmp, i ? "contrastive" : "mlm");
        if (sem_path_exists(from))
            rc = copy_file(from, path, err);
    }
    if (rc == SEM_OK) {
        card_text(&b, st, p, kb_dir);
        char *s = sem_strbuf_finish(&b);
        snprintf(path, sizeof path, "%s/README.md", tmp);
        rc = s ? sem_write_file_atomic(path, s, strlen(s), err) : sem_error_set(err, SEM_ENOMEM, "out of memory");
        free(s);
    }
    if (rc == SEM_OK && (rc = adapt_remove_tree(dst, err)) == SEM_OK && rename(tmp, dst) != 0)
        rc = sem_error_set(err, SEM_EIO, "%s: %s", dst, strerror(errno));
    if (rc == SEM_OK)
        rc = sem_fsync_dir_of(dst, err);
    sem_tmodel_free(m);
    free(tmp);
    return rc;
}
