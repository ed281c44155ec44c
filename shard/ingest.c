/* shard/ingest.c: `index add --shards N` on one process: one sem_index_add pass per shard over all inputs, each
 * keeping the documents whose id hashes to it (sem_index_params.keep), then the manifest. Reading the inputs N
 * times costs little beside encoding; it is also what each MPI rank will do (docs/scale.md). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "shard/shard.h"
#include "store/kb.h"

typedef struct route {
    int i, n;
} route;

static int keep_mine(void *ud, const char *doc_id)
{
    const route *r = ud;
    return sem_shard_of(doc_id, r->n) == r->i;
}

/* The caller's progress callback, told the whole job's progress: pass i of n, counts added to the earlier
 * passes'. */
typedef struct job_progress {
    sem_progress_fn fn;
    void *ud;
    int i, n;
    long docs, passages; /* of the passes before i */
} job_progress;

static void on_pass_progress(void *ud, const sem_index_progress *p)
{
    const job_progress *j = ud;
    sem_index_progress q = *p;
    q.passages_done += j->passages;
    q.fraction = ((double)j->i + p->fraction) / j->n;
    j->fn(j->ud, &q);
}

static void add_stats(sem_index_stats *sum, const sem_index_stats *st)
{
    sum->docs_added += st->docs_added;
    sum->docs_replaced += st->docs_replaced;
    sum->docs_unchanged += st->docs_unchanged;
    sum->docs_failed += st->docs_failed;
    sum->passages += st->passages;
    sum->lexical_only = st->lexical_only;
}

/* The manifest of the n shards under kb_dir, from their own records; SEM_EMISMATCH when they disagree. */
static int manifest_from_shards(const char *kb_dir, int n, sem_shard_manifest *m, sem_error *err)
{
    memset(m, 0, sizeof *m);
    m->format = SEM_SHARD_FORMAT;
    m->n_shards = n;
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    int rc = SEM_OK;
    for (int i = 0; i < n && rc == SEM_OK; i++) {
        char dir[PATH_MAX];
        sem_kb_info info;
        if ((rc = sem_shard_dir(kb_dir, i, dir, sizeof dir, err)))
            break;
        sem_kb *kb = sem_kb_open(dir, &op, err);
        if (!kb)
            return err ? err->code : SEM_EIO;
        rc = sem_kb_get_info(kb, &info, err);
        sem_kb_close(kb);
        if (rc == SEM_OK && i == 0) {
            m->model = info.model;
            m->lexical_only = info.lexical_only;
            memcpy(m->index_spec, info.index_spec, sizeof m->index_spec);
        } else if (rc == SEM_OK && (!sem_kb_model_match(&m->model, &info.model) ||
                                    m->lexical_only != info.lexical_only ||
                                    strcmp(m->index_spec, info.index_spec) != 0)) {
            rc = sem_error_set(err, SEM_EMISMATCH, "shard %s differs from shard 0 in its model or index spec", dir);
        }
    }
    return rc;
}

/* The shard count of kb_dir's job: the manifest's, or n_shards for a new sharded KB; *is_new says which. */
static int job_shards(const char *kb_dir, int n_shards, int *n, int *is_new, sem_error *err)
{
    sem_shard_manifest m;
    *is_new = !sem_shard_exists(kb_dir);
    if (!*is_new) {
        int rc = sem_shard_manifest_read(kb_dir, &m, err);
        if (rc)
            return rc;
        if (n_shards && n_shards != m.n_shards)
            return sem_error_set(err, SEM_EINVAL, "%s has %d shards, not %d (leave --shards out to add to it)",
                                 kb_dir, m.n_shards, n_shards);
        *n = m.n_shards;
        return SEM_OK;
    }
    if (sem_kb_exists(kb_dir))
        return sem_error_set(err, SEM_EINVAL, "%s is an ordinary (unsharded) KB: it cannot take --shards", kb_dir);
    if (n_shards < 1 || n_shards > SEM_SHARD_MAX)
        return sem_error_set(err, SEM_EINVAL, "%s is not a sharded KB: give the shard count (1..%d) to make one",
                             kb_dir, SEM_SHARD_MAX);
    *n = n_shards;
    return sem_mkdir_p(kb_dir, err);
}

int sem_shard_index_add(const char *kb_dir, int n_shards, const char *const *inputs, int n_inputs,
                        const sem_index_params *params, sem_index_stats *stats, sem_error *err)
{
    sem_index_stats local, st;
    stats = stats ? stats : &local;
    memset(stats, 0, sizeof *stats);
    sem_index_params p = params ? *params : sem_index_default_params();
    int n = 0, is_new = 0;
    int rc = p.keep ? sem_error_set(err, SEM_EINVAL, "sem_shard_index_add routes itself: params->keep must be NULL")
                    : job_shards(kb_dir, n_shards, &n, &is_new, err);
    double t0 = sem_now();
    job_progress jp = {p.progress, p.progress_ud, 0, 0, 0, 0};
    jp.n = rc ? 1 : n;
    if (p.progress) {
        p.progress = on_pass_progress;
        p.progress_ud = &jp;
    }
    for (int i = 0; rc == SEM_OK && i < n; i++) {
        char dir[PATH_MAX];
        route r = {i, n};
        p.keep = keep_mine;
        p.keep_ud = &r;
        p.keep_bad = i == 0;
        jp.i = i;
        if ((rc = sem_shard_dir(kb_dir, i, dir, sizeof dir, err)))
            break;
        rc = sem_index_add(dir, inputs, n_inputs, &p, &st, err);
        add_stats(stats, &st);
        jp.passages = stats->passages;
        if (rc)
            sem_error_prefix(err, "shard %d", i);
    }
    sem_shard_manifest m;
    if (rc == SEM_OK && is_new && (rc = manifest_from_shards(kb_dir, n, &m, err)) == SEM_OK)
        rc = sem_shard_manifest_write(kb_dir, &m, err);
    stats->created = rc == SEM_OK && is_new;
    stats->seconds = sem_now() - t0;
    return rc;
}
