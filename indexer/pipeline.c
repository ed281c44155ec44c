/* indexer/pipeline.c: read → chunk → encode (one encoder context per thread) → write (one transaction per batch).
 *
 * The calling thread reads and chunks documents into a batch of about params->batch passages; the batch's
 * passages are encoded by T threads at once (thread t takes every T-th passage, with its own context), then the
 * whole batch is written with one sem_kb_put (one transaction, so one fsync per batch rather than per document).
 * A batch the store rejects is retried document by document so that one bad document does not sink the others.
 * Resume: before a document is queued, the stored document of the same id is compared with it (title, text,
 * metadata, passage boundaries); an identical one is skipped without encoding. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/hash.h"
#include "common/log.h"
#include "encoder/encoder.h"
#include "hub/hub.h"
#include "indexer/encode_impl.h"
#include "indexer/indexer.h"
#include "indexer/reader_impl.h"
#include "kbmodel/kbmodel.h"
#include "store/kb.h"

#define DEFAULT_BATCH 64
#define LEXICAL_CHUNK_WORDS 256

int sem_on_error_parse(const char *name)
{
    if (name && strcmp(name, "skip") == 0)
        return SEM_ON_ERROR_SKIP;
    if (name && strcmp(name, "fail") == 0)
        return SEM_ON_ERROR_FAIL;
    return -1;
}

sem_index_params sem_index_default_params(void)
{
    sem_index_params p;
    memset(&p, 0, sizeof p);
    p.reader = sem_reader_default_params();
    p.on_error = SEM_ON_ERROR_SKIP;
    p.chunk_overlap = -1;
    p.precision = -1;
    return p;
}

/* ------------------------------------------------------------------------------------------ id set */

typedef struct id_entry {
    char *id;
    char *where; /* "file:line" of its first occurrence */
} id_entry;

typedef struct id_set {
    id_entry *t;
    size_t cap, n;
} id_set;

/* Inserts id; returns NULL if inserted, the first location if present, or "" on ENOMEM (*oom set). */
static const char *id_set_add(id_set *s, const char *id, const char *src, long line, int *oom)
{
    if (s->n * 2 >= s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        id_entry *t = calloc(cap, sizeof *t);
        if (!t) {
            *oom = 1;
            return "";
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->t[i].id)
                continue;
            size_t j = sem_fnv1a64_str(s->t[i].id) & (cap - 1);
            while (t[j].id)
                j = (j + 1) & (cap - 1);
            t[j] = s->t[i];
        }
        free(s->t);
        s->t = t;
        s->cap = cap;
    }
    size_t j = sem_fnv1a64_str(id) & (s->cap - 1);
    while (s->t[j].id) {
        if (strcmp(s->t[j].id, id) == 0)
            return s->t[j].where;
        j = (j + 1) & (s->cap - 1);
    }
    size_t wl = strlen(src) + 24;
    char *w = malloc(wl);
    char *d = strdup(id);
    if (!w || !d) {
        free(w);
        free(d);
        *oom = 1;
        return "";
    }
    snprintf(w, wl, "%s:%ld", src, line);
    s->t[j].id = d;
    s->t[j].where = w;
    s->n++;
    return NULL;
}

static void id_set_free(id_set *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        free(s->t[i].id);
        free(s->t[i].where);
    }
    free(s->t);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------------------------------ batches */

typedef struct prep_doc {
    sem_doc d;
    char *meta; /* metadata with "answer" added in FAQ mode */
    sem_span *spans;
    size_t n_spans;
    char **ptext; /* n_spans NUL-terminated passage texts */
    int replaces; /* 1: the KB holds a document of this id (with other content) */
} prep_doc;

static void prep_free(prep_doc *p)
{
    sem_doc_clear(&p->d);
    free(p->meta);
    for (size_t i = 0; i < p->n_spans; i++)
        free(p->ptext[i]);
    free(p->ptext);
    free(p->spans);
    memset(p, 0, sizeof *p);
}

typedef struct chunk_cfg {
    const sem_model *model; /* NULL: words */
    int tokens, overlap;
} chunk_cfg;

static int count_model(void *ud, const char *text, size_t len)
{
    if (len > (size_t)PTRDIFF_MAX)
        return -1;
    return sem_model_count_tokens(ud, text, (ptrdiff_t)len);
}

/* Takes ownership of *d (cleared) and chunks it. */
static int prep_doc_make(prep_doc *p, sem_doc *d, const chunk_cfg *cc, sem_error *err)
{
    memset(p, 0, sizeof *p);
    p->d = *d;
    memset(d, 0, sizeof *d);
    const char *meta = p->d.metadata_json ? p->d.metadata_json : "{}";
    if (p->d.answer) { /* FAQ: keep the answer for display */
        cJSON *o = cJSON_Parse(meta);
        if (o && cJSON_IsObject(o) && !cJSON_GetObjectItemCaseSensitive(o, "answer"))
            cJSON_AddStringToObject(o, "answer", p->d.answer);
        p->meta = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
    } else {
        p->meta = strdup(meta);
    }
    if (!p->meta)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int rc = sem_chunk(p->d.text, strlen(p->d.text), cc->tokens, cc->overlap,
                       cc->model ? count_model : sem_count_words, (void *)cc->model, &p->spans, &p->n_spans, err);
    if (rc)
        return sem_error_prefix(err, "%s:%ld", p->d.source ? p->d.source : "?", p->d.line);
    if (p->d.vector && p->n_spans > 1) { /* its own vector: the whole (trimmed) text is its one passage */
        p->spans[0].end = p->spans[p->n_spans - 1].end;
        p->n_spans = 1;
    }
    if (p->n_spans == 0) /* nothing but whitespace: it could never be found */
        return sem_error_set(err, SEM_EINVAL, "%s:%ld: document '%s' has no text to index (only whitespace)",
                             p->d.source ? p->d.source : "?", p->d.line, p->d.id ? p->d.id : "?");
    if (p->n_spans && !(p->ptext = calloc(p->n_spans, sizeof *p->ptext)))
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->n_spans; i++)
        if (!(p->ptext[i] = sem_strndup0(p->d.text + p->spans[i].start, p->spans[i].end - p->spans[i].start)))
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
    return SEM_OK;
}

static int str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int json_eq(const char *a, const char *b)
{
    if (str_eq(a, b))
        return 1;
    cJSON *x = cJSON_Parse(a ? a : "{}"), *y = cJSON_Parse(b ? b : "{}");
    int eq = x && y && cJSON_Compare(x, y, 1);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return eq;
}

enum { DOC_NEW = 0, DOC_CHANGED = 1, DOC_UNCHANGED = 2 };

/* Whether the KB holds this document: not at all (DOC_NEW), with other content (DOC_CHANGED), or with the same
 * title, text, metadata, passages and (for a document with its own vector) vector (DOC_UNCHANGED). */
static int stored_state(sem_kb *kb, const prep_doc *p)
{
    sem_kb_doc_out *o = NULL;
    if (sem_kb_get_doc(kb, p->d.id, p->d.vector != NULL, &o, NULL) != SEM_OK || !o)
        return DOC_NEW;
    int same = str_eq(o->title, p->d.title) && str_eq(o->text, p->d.text) && json_eq(o->meta_json, p->meta) &&
               o->n_passages == (int)p->n_spans;
    for (int i = 0; same && i < o->n_passages; i++)
        same = o->passages[i].start == (int64_t)p->spans[i].start && o->passages[i].end == (int64_t)p->spans[i].end;
    if (same && p->d.vector)
        same = o->n_passages == 1 && o->passages[0].vec &&
               memcmp(o->passages[0].vec, p->d.vector, (size_t)p->d.vector_dim * sizeof(float)) == 0;
    sem_kb_doc_out_free(o);
    return same ? DOC_UNCHANGED : DOC_CHANGED;
}

/* What a KB takes: its own vectors from a model, none (lexical-only), or the documents' vectors (a KB made
 * with a dimension and no model). */
typedef struct kb_kind {
    int has_model, lexical_only, dim;
    char model_name[sizeof(((sem_kb_model *)0)->name)];
} kb_kind;

static kb_kind kind_of(const sem_kb *kb)
{
    sem_kb_model km;
    sem_kb_get_model(kb, &km);
    kb_kind k = {km.config_hash[0] != 0, sem_kb_lexical_only(kb), sem_kb_dim(kb), ""};
    snprintf(k.model_name, sizeof k.model_name, "%s", km.name);
    return k;
}

/* A document's "vector" against the KB: SEM_OK, or SEM_EINVAL with err set. */
static int check_vector_at(const kb_kind *k, const sem_doc *d, sem_error *err)
{
    const char *id = d->id ? d->id : "?";
    if (d->vector && k->has_model)
        return sem_error_set(err, SEM_EINVAL,
                             "document '%s' has a \"vector\", but this KB's vectors come from its model '%s': "
                             "leave \"vector\" out (or use a KB made with 'kb create --dim N')",
                             id, k->model_name);
    if (d->vector && k->lexical_only)
        return sem_error_set(err, SEM_EINVAL,
                             "document '%s' has a \"vector\", but this KB is lexical-only (no vectors)", id);
    if (k->has_model || k->lexical_only)
        return SEM_OK;
    if (!d->vector)
        return sem_error_set(err, SEM_EINVAL,
                             "document '%s' has no \"vector\": this KB has no model (made with --dim %d), so "
                             "every document needs its own \"vector\" of %d numbers",
                             id, k->dim, k->dim);
    if (d->vector_dim != k->dim)
        return sem_error_set(err, SEM_EINVAL, "document '%s' has a \"vector\" of %d numbers; this KB's "
                             "dimension is %d", id, d->vector_dim, k->dim);
    return SEM_OK;
}

/* The same, the message prefixed with "file:line" for a document read from a file. */
static int check_vector(const kb_kind *k, const sem_doc *d, sem_error *err)
{
    int rc = check_vector_at(k, d, err);
    if (rc && d->line > 0) /* from a file: say where */
        sem_error_prefix(err, "%s:%ld", d->source ? d->source : "?", d->line);
    return rc;
}

typedef struct enc_job {
    sem_encoder_ctx *ctx;
    const sem_encode_params *ep;
    const char **texts; /* this thread's passages */
    int n;
    float *out; /* (n, dim) */
    int rc;
    sem_error err;
} enc_job;

static void *enc_run(void *arg)
{
    enc_job *j = arg;
    j->rc = j->n ? sem_encode(j->ctx, j->texts, j->n, j->ep, j->out, &j->err) : SEM_OK;
    return NULL;
}

/* Encodes n texts into vecs (n, dim): thread t takes texts t, t+T, t+2T, ... */
int sem_index_encode_all(const encoder_set *es, const char **texts, size_t n, float *vecs, sem_error *err)
{
    if (!es->model) {
        memset(vecs, 0, n * (size_t)es->dim * sizeof *vecs); /* lexical-only KB */
        return SEM_OK;
    }
    int T = es->n < 1 ? 1 : es->n;
    if ((size_t)T > n)
        T = (int)n;
    if (T <= 0)
        return SEM_OK;
    size_t dim = (size_t)es->dim;
    enc_job *jobs = calloc((size_t)T, sizeof *jobs);
    const char **tx = malloc(n * sizeof *tx);
    float *tmp = malloc(n * dim * sizeof *tmp);
    pthread_t *th = calloc((size_t)T, sizeof *th);
    int *started = calloc((size_t)T, sizeof *started);
    int rc = SEM_OK;
    if (!jobs || !tx || !tmp || !th || !started) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory for a batch of %zu passages", n);
        goto done;
    }
    size_t k = 0;
    for (int t = 0; t < T; t++) {
        jobs[t].ctx = es->ctx[t];
        jobs[t].ep = &es->ep;
        jobs[t].texts = tx + k;
        jobs[t].out = tmp + k * dim;
        for (size_t i = (size_t)t; i < n; i += (size_t)T)
            tx[k++] = texts[i];
        jobs[t].n = (int)(k - (size_t)(jobs[t].texts - tx));
    }
    for (int t = 1; t < T; t++)
        started[t] = pthread_create(&th[t], NULL, enc_run, &jobs[t]) == 0;
    enc_run(&jobs[0]);
    for (int t = 1; t < T; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            enc_run(&jobs[t]); /* could not start a thread: do its share here */
    }
    for (int t = 0; t < T && rc == SEM_OK; t++)
        if (jobs[t].rc)
            rc = sem_error_set(err, jobs[t].rc, "encoding failed: %s", jobs[t].err.msg);
    if (rc == SEM_OK) { /* scatter back to the original order */
        for (int t = 0; t < T; t++) {
            size_t r = 0;
            for (size_t i = (size_t)t; i < n; i += (size_t)T, r++)
                memcpy(vecs + i * dim, jobs[t].out + r * dim, dim * sizeof *vecs);
        }
    }
done:
    free(jobs);
    free(tx);
    free(tmp);
    free(th);
    free(started);
    return rc;
}

int sem_index_encoders_open(encoder_set *es, int threads, sem_error *err)
{
    long nt = threads > 0 ? threads : sysconf(_SC_NPROCESSORS_ONLN);
    es->n = (int)(nt < 1 ? 1 : nt > 256 ? 256 : nt);
    if (!(es->ctx = calloc((size_t)es->n, sizeof *es->ctx)))
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    for (int t = 0; t < es->n; t++)
        if (!(es->ctx[t] = sem_encoder_ctx_new(es->model, err)))
            return err ? err->code : SEM_ENOMEM;
    return SEM_OK;
}

void sem_index_encoders_close(encoder_set *es)
{
    for (int t = 0; es->ctx && t < es->n; t++)
        sem_encoder_ctx_free(es->ctx[t]);
    free(es->ctx);
    es->ctx = NULL;
}

/* Encodes and writes docs[0..n) in one transaction. vecs (n_pass, dim). */
static int write_docs(sem_kb *kb, const encoder_set *es, prep_doc *docs, int n, long *n_passages, sem_error *err)
{
    size_t np = 0;
    for (int i = 0; i < n; i++)
        np += docs[i].n_spans;
    size_t dim = (size_t)es->dim;
    if (np > SIZE_MAX / (dim * sizeof(float) + 64))
        return sem_error_set(err, SEM_ENOMEM, "batch too large");
    const char **texts = malloc((np ? np : 1) * sizeof *texts);
    char **owned = calloc(np ? np : 1, sizeof *owned); /* the "title. text" strings made for the model */
    float *vecs = malloc((np ? np : 1) * dim * sizeof *vecs);
    sem_kb_passage *ps = malloc((np ? np : 1) * sizeof *ps);
    sem_kb_doc *kd = calloc((size_t)(n ? n : 1), sizeof *kd);
    int rc = SEM_OK;
    if (!texts || !owned || !vecs || !ps || !kd) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < docs[i].n_spans; j++, k++)
            if (!(texts[k] = sem_kbmodel_passage_text(es->model ? docs[i].d.title : NULL, docs[i].ptext[j],
                                                      &owned[k]))) {
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
                goto done;
            }
    if ((rc = sem_index_encode_all(es, texts, np, vecs, err)))
        goto done;
    k = 0;
    for (int i = 0; i < n; k += docs[i].n_spans, i++) /* documents with their own vector: one passage each */
        if (docs[i].d.vector && docs[i].n_spans == 1 && (size_t)docs[i].d.vector_dim == dim)
            memcpy(vecs + k * dim, docs[i].d.vector, dim * sizeof *vecs);
    k = 0;
    for (int i = 0; i < n; i++) {
        kd[i].ext_id = docs[i].d.id;
        kd[i].title = docs[i].d.title;
        kd[i].text = docs[i].d.text;
        kd[i].meta_json = docs[i].meta;
        kd[i].passages = ps + k;
        kd[i].n_passages = (int)docs[i].n_spans;
        for (size_t j = 0; j < docs[i].n_spans; j++, k++) {
            ps[k].text = docs[i].ptext[j];
            ps[k].start = (int64_t)docs[i].spans[j].start;
            ps[k].end = (int64_t)docs[i].spans[j].end;
            ps[k].vec = vecs + k * dim;
        }
    }
    rc = sem_kb_put(kb, kd, n, err);
    if (rc == SEM_OK && n_passages)
        *n_passages += (long)np;
done:
    for (size_t i = 0; owned && i < np; i++)
        free(owned[i]);
    free(owned);
    free(texts);
    free(vecs);
    free(ps);
    free(kd);
    return rc;
}

static int default_overlap(int chunk_tokens)
{
    return chunk_tokens >= 64 ? 16 : 0;
}

/* A copy of d that prep_doc_make may own. SEM_OK, SEM_ENOMEM, or SEM_EINVAL for a document without id or text. */
static int doc_copy(const sem_doc *d, int i, sem_doc *own, sem_error *err)
{
    memset(own, 0, sizeof *own);
    own->id = d->id ? strdup(d->id) : NULL;
    own->title = d->title ? strdup(d->title) : NULL;
    own->text = d->text ? strdup(d->text) : NULL;
    own->answer = d->answer ? strdup(d->answer) : NULL;
    own->metadata_json = strdup(d->metadata_json ? d->metadata_json : "{}");
    own->source = strdup(d->source ? d->source : "request");
    own->line = d->line;
    if (d->vector && d->vector_dim > 0 && (own->vector = malloc((size_t)d->vector_dim * sizeof(float)))) {
        memcpy(own->vector, d->vector, (size_t)d->vector_dim * sizeof(float));
        own->vector_dim = d->vector_dim;
    }
    if (own->id && own->text && own->metadata_json && own->source && (!d->title || own->title) &&
        (!d->answer || own->answer) && (!d->vector || own->vector))
        return SEM_OK;
    sem_doc_clear(own);
    return d->id && d->text ? sem_error_set(err, SEM_ENOMEM, "out of memory")
                            : sem_error_set(err, SEM_EINVAL, "document %d has no id or no text", i);
}

int sem_index_put_docs_counted(sem_kb *kb, const sem_model *model, sem_encoder_ctx *ctx, const sem_doc *docs, int n,
                               int chunk_tokens, int chunk_overlap, sem_index_put_counts *counts, sem_error *err)
{
    sem_index_put_counts local;
    if (!counts)
        counts = &local;
    memset(counts, 0, sizeof *counts);
    if (n <= 0)
        return SEM_OK;
    sem_kb_model km;
    sem_kb_get_model(kb, &km);
    if (model) {
        int rc = sem_kbmodel_check(kb, model, NULL, err);
        if (rc)
            return rc;
    } else if (km.config_hash[0]) {
        return sem_error_set(err, SEM_EINVAL, "this KB holds vectors of the model '%s': pass it", km.name);
    }
    chunk_cfg cc = {model, chunk_tokens, chunk_overlap};
    if (cc.tokens <= 0) {
        if (model) {
            sem_model_info mi;
            sem_model_get_info(model, &mi);
            cc.tokens = mi.max_tokens > 2 ? mi.max_tokens - 2 : 1;
        } else {
            cc.tokens = LEXICAL_CHUNK_WORDS;
        }
    }
    if (cc.overlap < 0)
        cc.overlap = default_overlap(cc.tokens);
    encoder_set es = {model, &ctx, 1, model ? sem_model_dim(model) : sem_kb_dim(kb), sem_kbmodel_encode_params(kb)};
    kb_kind kind = kind_of(kb);
    prep_doc *p = calloc((size_t)n, sizeof *p);
    if (!p)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int rc = SEM_OK;
    for (int i = 0; i < n && rc == SEM_OK; i++) {
        sem_doc own;
        if ((rc = check_vector(&kind, &docs[i], err)) || (rc = doc_copy(&docs[i], i, &own, err)))
            break;
        rc = prep_doc_make(&p[i], &own, &cc, err); /* takes ownership of own */
        if (rc == SEM_OK)
            p[i].replaces = stored_state(kb, &p[i]) != DOC_NEW;
    }
    long np = 0;
    if (rc == SEM_OK)
        rc = write_docs(kb, &es, p, n, &np, err);
    for (int i = 0; i < n; i++) {
        if (rc == SEM_OK && p[i].replaces)
            counts->replaced++;
        else if (rc == SEM_OK)
            counts->added++;
        prep_free(&p[i]);
    }
    counts->passages = np;
    free(p);
    return rc;
}

int sem_index_put_docs(sem_kb *kb, const sem_model *model, sem_encoder_ctx *ctx, const sem_doc *docs, int n,
                       int chunk_tokens, int chunk_overlap, long *n_passages, sem_error *err)
{
    sem_index_put_counts c;
    int rc = sem_index_put_docs_counted(kb, model, ctx, docs, n, chunk_tokens, chunk_overlap, &c, err);
    if (n_passages)
        *n_passages = c.passages;
    return rc;
}

/* ------------------------------------------------------------------------------------------ index add */

typedef struct run {
    sem_kb *kb;
    kb_kind kind;
    encoder_set es;
    chunk_cfg cc;
    const sem_index_params *p;
    sem_index_stats *st;
    prep_doc *batch;
    int n_batch, cap_batch;
    size_t batch_passages;
    double t0;
    long docs_seen;
} run;

/* A bad record: logs it and continues (skip) or returns it (fail). */
static int bad_record(run *r, int code, sem_error *rec_err, sem_error *err)
{
    r->st->docs_failed++;
    if (r->p->on_error == SEM_ON_ERROR_FAIL) {
        if (err && err != rec_err)
            *err = *rec_err;
        return code;
    }
    sem_log(SEM_LOG_WARN, "skipped: %s", rec_err->msg);
    return SEM_OK;
}

static void count_written(sem_index_stats *st, const prep_doc *p)
{
    if (p->replaces)
        st->docs_replaced++;
    else
        st->docs_added++;
}

static int flush(run *r, sem_error *err)
{
    if (r->n_batch == 0)
        return SEM_OK;
    sem_error e;
    long np = 0;
    int rc = write_docs(r->kb, &r->es, r->batch, r->n_batch, &np, &e);
    if (rc == SEM_OK) {
        for (int i = 0; i < r->n_batch; i++)
            count_written(r->st, &r->batch[i]);
        r->st->passages += np;
    } else if (rc == SEM_EINVAL && r->n_batch > 1) {
        /* the store rejected the batch: find the bad documents one by one */
        rc = SEM_OK;
        for (int i = 0; i < r->n_batch && rc == SEM_OK; i++) {
            np = 0;
            int rc1 = write_docs(r->kb, &r->es, &r->batch[i], 1, &np, &e);
            if (rc1 == SEM_OK) {
                count_written(r->st, &r->batch[i]);
                r->st->passages += np;
            } else if (rc1 == SEM_EINVAL) {
                sem_error_prefix(&e, "%s:%ld", r->batch[i].d.source, r->batch[i].d.line);
                rc = bad_record(r, rc1, &e, err);
            } else {
                if (err)
                    *err = e;
                rc = rc1;
            }
        }
    } else if (rc == SEM_EINVAL) {
        sem_error_prefix(&e, "%s:%ld", r->batch[0].d.source, r->batch[0].d.line);
        rc = bad_record(r, rc, &e, err);
    } else if (err) {
        *err = e;
    }
    for (int i = 0; i < r->n_batch; i++)
        prep_free(&r->batch[i]);
    r->n_batch = 0;
    r->batch_passages = 0;
    return rc;
}

static void report(run *r, double fraction)
{
    if (!r->p->progress)
        return;
    sem_index_progress pr = {r->docs_seen, r->st->passages, fraction, sem_now() - r->t0};
    r->p->progress(r->p->progress_ud, &pr);
}

static int add_input(run *r, const char *input, id_set *ids, int idx, int n_inputs, sem_error *err)
{
    sem_reader *rd = sem_reader_open(input, &r->p->reader, err);
    if (!rd)
        return err ? err->code : SEM_EINVAL;
    int rc = SEM_OK;
    size_t batch_max = (size_t)(r->p->batch > 0 ? r->p->batch : DEFAULT_BATCH);
    sem_doc d = {0};
    double last_report = 0;
    for (;;) {
        sem_error e;
        int got = sem_reader_next(rd, &d, &e);
        if (got == 0)
            break;
        if (got < 0) {
            if (got != SEM_EINVAL && got != SEM_ERANGE) { /* I/O: fatal */
                if (err)
                    *err = e;
                rc = got;
                break;
            }
            r->docs_seen++;
            if (r->p->keep && !r->p->keep_bad && r->p->on_error == SEM_ON_ERROR_SKIP)
                continue; /* another pass reports it */
            if ((rc = bad_record(r, got, &e, err)))
                break;
            continue;
        }
        r->docs_seen++;
        if (r->p->keep && !r->p->keep(r->p->keep_ud, d.id)) { /* another shard's document */
            sem_doc_clear(&d);
            continue;
        }
        int oom = 0;
        const char *first = id_set_add(ids, d.id, d.source, d.line, &oom);
        if (oom) {
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
            break;
        }
        if (first) {
            sem_error_set(&e, SEM_EINVAL, "%s:%ld: duplicate id '%s' (first seen at %s)", d.source, d.line, d.id,
                          first);
            sem_doc_clear(&d);
            if ((rc = bad_record(r, SEM_EINVAL, &e, err)))
                break;
            continue;
        }
        if (r->n_batch == r->cap_batch) {
            int cap = r->cap_batch ? r->cap_batch * 2 : 64;
            prep_doc *b = realloc(r->batch, (size_t)cap * sizeof *b);
            if (!b) {
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
                break;
            }
            r->batch = b;
            r->cap_batch = cap;
        }
        if (check_vector(&r->kind, &d, &e)) {
            sem_doc_clear(&d);
            if ((rc = bad_record(r, SEM_EINVAL, &e, err)))
                break;
            continue;
        }
        prep_doc *p = &r->batch[r->n_batch];
        int prc = prep_doc_make(p, &d, &r->cc, &e);
        if (prc) {
            prep_free(p);
            if (prc != SEM_EINVAL) {
                if (err)
                    *err = e;
                rc = prc;
                break;
            }
            if ((rc = bad_record(r, prc, &e, err)))
                break;
            continue;
        }
        int state = stored_state(r->kb, p);
        if (state == DOC_UNCHANGED) {
            r->st->docs_unchanged++;
            prep_free(p);
            continue;
        }
        p->replaces = state == DOC_CHANGED;
        r->n_batch++;
        r->batch_passages += p->n_spans;
        if (r->batch_passages >= batch_max || r->n_batch >= (int)batch_max) {
            if ((rc = flush(r, err)))
                break;
            double now = sem_now();
            if (now - last_report > 0.2) {
                last_report = now;
                report(r, ((double)idx + sem_reader_fraction(rd)) / n_inputs);
            }
        }
    }
    sem_doc_clear(&d);
    if (rc == SEM_OK) {
        rc = flush(r, err);
    } else if (r->n_batch) {
        /* stopped by a bad record (--on-error fail) or an error: still commit the good documents read before
         * it, so that a re-run after fixing the input skips them */
        sem_error e2;
        if (flush(r, &e2) != SEM_OK)
            sem_log(SEM_LOG_WARN, "%s", e2.msg);
    }
    sem_reader_free(rd);
    return rc;
}

/* Opens the existing KB at kb_dir with its model (params->model overrides the recorded one) into km. */
static int open_existing(const char *kb_dir, const sem_index_params *p, sem_kbmodel *km, sem_error *err)
{
    sem_kbmodel_params kp = sem_kbmodel_default_params();
    kp.model = p->model;
    kp.n_threads = 1;
    kp.precision = p->precision;
    return sem_kbmodel_open(kb_dir, &kp, km, err);
}

/* Creates the KB at kb_dir: with p->model (resolved, loaded, its identity recorded), else lexical-only. */
static int create_new(const char *kb_dir, const sem_index_params *p, sem_kbmodel *km, sem_error *err)
{
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.index_spec = p->index_spec;
    if (p->model) {
        int rc = sem_hub_resolve_model(p->model, km->model_dir, sizeof km->model_dir, err);
        if (rc)
            return rc;
        sem_model_params mp = sem_model_default_params();
        mp.n_threads = 1;
        if (p->precision >= 0)
            mp.precision = (sem_precision)p->precision;
        if (!(km->model = sem_model_load(km->model_dir, &mp, err)))
            return err ? err->code : SEM_EIO;
        sem_kbmodel_identity(km->model, &cp.model);
    } else {
        cp.model.dim = 1; /* lexical-only: a one-float zero vector per passage keeps the store's invariants */
        cp.lexical_only = 1;
        cp.index_spec = "Flat";
    }
    if (!(km->kb = sem_kb_create(kb_dir, &cp, err)))
        return err ? err->code : SEM_EIO;
    return SEM_OK;
}

/* Chunking and encoding of the run: chunk size and overlap from the params (bounded by the model's passage
 * length), and one encoder context per thread. */
static int setup_run(run *r, const sem_model *model, sem_error *err)
{
    const sem_index_params *p = r->p;
    r->es.model = model;
    r->es.ep = sem_kbmodel_encode_params(r->kb);
    r->es.dim = model ? sem_model_dim(model) : sem_kb_dim(r->kb);
    r->cc.model = model;
    r->cc.tokens = p->chunk_tokens > 0 ? p->chunk_tokens : LEXICAL_CHUNK_WORDS;
    if (model) {
        sem_model_info mi;
        sem_model_get_info(model, &mi);
        int lim = mi.max_tokens > 2 ? mi.max_tokens - 2 : 1;
        r->cc.tokens = p->chunk_tokens > 0 ? p->chunk_tokens : lim;
        if (r->cc.tokens > lim) {
            sem_log(SEM_LOG_WARN, "--chunk-tokens %d exceeds the model's %d tokens per passage: using %d",
                    r->cc.tokens, lim, lim);
            r->cc.tokens = lim;
        }
        int rc = sem_index_encoders_open(&r->es, p->threads, err);
        if (rc)
            return rc;
    }
    r->cc.overlap = p->chunk_overlap >= 0 ? p->chunk_overlap : default_overlap(r->cc.tokens);
    if (r->cc.overlap >= r->cc.tokens)
        return sem_error_set(err, SEM_EINVAL, "--chunk-overlap %d must be smaller than the chunk size %d",
                             r->cc.overlap, r->cc.tokens);
    return SEM_OK;
}

int sem_index_add(const char *kb_dir, const char *const *inputs, int n_inputs, const sem_index_params *params,
                  sem_index_stats *stats, sem_error *err)
{
    sem_index_params p = params ? *params : sem_index_default_params();
    sem_index_stats st_local;
    sem_index_stats *st = stats ? stats : &st_local;
    memset(st, 0, sizeof *st);
    run r = {0};
    r.p = &p;
    r.st = st;
    r.t0 = sem_now();
    sem_kbmodel km = {0};
    id_set ids = {0};
    if (n_inputs < 1)
        return sem_error_set(err, SEM_EINVAL, "no input given");
    for (int i = 0; i < n_inputs; i++) /* before a KB gets created for nothing */
        if (!sem_path_exists(inputs[i]))
            return sem_error_set(err, SEM_ENOTFOUND, "%s: No such file or directory", inputs[i]);
    int is_new = !sem_kb_exists(kb_dir);
    int rc = is_new ? create_new(kb_dir, &p, &km, err) : open_existing(kb_dir, &p, &km, err);
    r.kb = km.kb;
    st->created = is_new && r.kb;
    if (rc || (km.model && (rc = sem_kbmodel_record(km.kb, km.model_dir, err))))
        goto done;
    if (km.model && p.precision >= 0 && (rc = sem_kbmodel_set_precision(km.kb, (sem_precision)p.precision, err)))
        goto done;
    r.kind = kind_of(r.kb);
    st->lexical_only = r.kind.lexical_only;
    if ((rc = setup_run(&r, km.model, err)))
        goto done;
    for (int i = 0; i < n_inputs && rc == SEM_OK; i++)
        rc = add_input(&r, inputs[i], &ids, i, n_inputs, err);
    report(&r, 1.0);
done:
    st->seconds = sem_now() - r.t0;
    sem_index_encoders_close(&r.es);
    free(r.batch);
    id_set_free(&ids);
    sem_kbmodel_close(&km);
    return rc;
}

int sem_index_rm(const char *kb_dir, const char *const *ids, int n_ids, int *n_deleted, sem_error *err)
{
    if (n_deleted)
        *n_deleted = 0;
    sem_kb *kb = sem_kb_open(kb_dir, NULL, err);
    if (!kb)
        return err ? err->code : SEM_EIO;
    int rc = SEM_OK, missing = 0;
    char list[512] = "";
    size_t k = 0;
    for (int i = 0; i < n_ids; i++) {
        sem_error e;
        int r1 = sem_kb_delete(kb, ids[i], &e);
        if (r1 == SEM_OK) {
            if (n_deleted)
                (*n_deleted)++;
        } else if (r1 == SEM_ENOTFOUND) {
            missing++;
            if (k + 8 < sizeof list)
                k += (size_t)snprintf(list + k, sizeof list - k, "%s'%s'", missing > 1 ? ", " : "", ids[i]);
        } else {
            rc = sem_error_set(err, r1, "%s", e.msg);
            break;
        }
    }
    if (rc == SEM_OK && missing)
        rc = sem_error_set(err, SEM_ENOTFOUND, "%d id%s not in %s: %s", missing, missing > 1 ? "s" : "", kb_dir,
                           list);
    sem_kb_close(kb);
    return rc;
}
