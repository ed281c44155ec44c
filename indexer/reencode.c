/* indexer/reencode.c: re-encoding a KB with a new model (sem_index_reencode, indexer/indexer.h).
 *
 * The new vectors are computed first, from a read of the KB, while searches keep using the old ones; then one
 * store transaction (sem_kb_set_model_vectors) swaps every vector and the recorded model identity at once, and
 * only after it commits does the KB record the new folder (sem_kbmodel_record). A crash at any point leaves
 * either the old model with its vectors or the new model with its vectors; in the window between the commit and
 * the record, the identities differ and commands refuse the old folder (SEM_EMISMATCH) until a rerun finishes
 * the switch: a rerun with the same model sees the KB already on it and only records the folder. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "indexer/encode_impl.h"
#include "indexer/indexer.h"
#include "kbmodel/kbmodel.h"

#define REENCODE_BATCH 256

typedef struct id_buf {
    int64_t *v;
    size_t n, cap;
} id_buf;

static int collect_id(void *ud, const sem_kb_vec_row *row)
{
    id_buf *b = ud;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        int64_t *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return SEM_ENOMEM;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = row->passage_id;
    return 0;
}

/* Encodes the passages ids[0..n) into vecs (n, dim), REENCODE_BATCH at a time. */
static int encode_passages(sem_kb *kb, const encoder_set *es, const int64_t *ids, size_t n, float *vecs,
                           const sem_reencode_params *p, sem_error *err)
{
    sem_kb_passage_info info[REENCODE_BATCH];
    const char *texts[REENCODE_BATCH];
    char *owned[REENCODE_BATCH];
    double t0 = sem_now();
    int rc = SEM_OK;
    for (size_t s = 0; s < n && rc == SEM_OK; s += REENCODE_BATCH) {
        int m = (int)(n - s < REENCODE_BATCH ? n - s : REENCODE_BATCH);
        if ((rc = sem_kb_get_passages(kb, ids + s, m, info, err)))
            break;
        memset(owned, 0, sizeof owned);
        for (int i = 0; i < m && rc == SEM_OK; i++) { /* the text as indexing composes it (title. passage) */
            if (!info[i].found)
                rc = sem_error_set(err, SEM_EBUSY, "passage %lld disappeared while re-encoding", (long long)ids[s + i]);
            else if (!(texts[i] = sem_kbmodel_passage_text(info[i].title, info[i].text, &owned[i])))
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
        if (rc == SEM_OK)
            rc = sem_index_encode_all(es, texts, (size_t)m, vecs + s * (size_t)es->dim, err);
        for (int i = 0; i < m; i++)
            free(owned[i]);
        sem_kb_passage_info_clear(info, m);
        if (rc == SEM_OK && p && p->progress) {
            sem_index_progress pr = {(long)(s + (size_t)m), (long)(s + (size_t)m), (double)(s + (size_t)m) / (double)n,
                                     sem_now() - t0};
            p->progress(p->progress_ud, &pr);
        }
    }
    return rc;
}

/* Encodes every passage with es and switches the KB (one transaction). */
static int switch_vectors(sem_kb *kb, encoder_set *es, const sem_kb_model *nm, const sem_reencode_params *p,
                          sem_error *err)
{
    id_buf ids = {0};
    float *vecs = NULL;
    int rc = sem_kb_foreach_vector(kb, collect_id, &ids, err);
    if (rc == SEM_ENOMEM)
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory for the passage list");
    if (rc == SEM_OK && ids.n > SIZE_MAX / sizeof(float) / (size_t)es->dim)
        rc = sem_error_set(err, SEM_ENOMEM, "too many passages to re-encode at once");
    if (rc == SEM_OK && !(vecs = malloc((ids.n ? ids.n : 1) * (size_t)es->dim * sizeof *vecs)))
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory for %zu vectors", ids.n);
    if (rc == SEM_OK)
        rc = encode_passages(kb, es, ids.v, ids.n, vecs, p, err);
    if (rc == SEM_OK)
        rc = sem_kb_set_model_vectors(kb, nm, ids.v, vecs, (int64_t)ids.n, err);
    free(ids.v);
    free(vecs);
    return rc;
}

int sem_index_reencode(const char *kb_dir, const char *model_dir, const sem_reencode_params *p, sem_error *err)
{
    sem_model_params mp = sem_model_default_params();
    mp.n_threads = 1;
    encoder_set es = {0};
    sem_kb *kb = NULL;
    sem_model *model = sem_model_load(model_dir, &mp, err);
    if (!model)
        return err ? err->code : SEM_EIO;
    int rc = SEM_OK;
    if (!(kb = sem_kb_open(kb_dir, NULL, err))) {
        rc = err ? err->code : SEM_EIO;
        goto done;
    }
    sem_kb_model km, nm;
    sem_kb_get_model(kb, &km);
    sem_kbmodel_identity(model, &nm);
    if (sem_kb_lexical_only(kb) || !km.config_hash[0]) {
        rc = sem_error_set(err, SEM_EINVAL, "%s has no model (lexical-only or raw vectors): nothing to re-encode",
                           kb_dir);
        goto done;
    }
    if (!sem_kb_model_match(&km, &nm)) { /* else: already switched (a rerun after a crash): record the folder */
        es.model = model;
        es.dim = sem_model_dim(model);
        es.ep = sem_kbmodel_encode_params(kb);
        if ((rc = sem_index_encoders_open(&es, p ? p->threads : 0, err)) ||
            (rc = switch_vectors(kb, &es, &nm, p, err)))
            goto done;
    }
    rc = sem_kbmodel_record(kb, model_dir, err);
done:
    sem_index_encoders_close(&es);
    sem_kb_close(kb);
    sem_model_free(model);
    return rc;
}
