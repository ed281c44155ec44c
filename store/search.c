/* store/search.c: vector search (with exact metadata filters), FTS5 lexical search, hit details. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/strbuf.h"
#include "store/fts_query.h"
#include "store/kb_impl.h"

#define EXACT_FILTER_MAX 20000 /* filters matching at most this many passages are searched exactly */
#define MAX_K 10000
#define MAX_NPROBE (1 << 20)    /* FAISS clamps nprobe to nlist anyway */
#define MAX_EF_SEARCH (1 << 20) /* HNSW allocates heaps of efSearch entries per query */

sem_kb_search_params sem_kb_default_search_params(void)
{
    sem_kb_search_params p;
    memset(&p, 0, sizeof p);
    p.k = 10;
    return p;
}

static int key_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n == 0 || n > SEM_KB_MAX_FILTER_KEY_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.'))
            return 0;
    }
    return 1;
}

int sem_kb_filter_check(const sem_kb_filter *f, sem_error *err)
{
    if (!f || f->n == 0)
        return SEM_OK;
    if (f->n < 0 || f->n > SEM_KB_MAX_FILTER_KEYS || !f->keys || !f->values)
        return sem_error_set(err, SEM_EINVAL, "a filter has 1..%d key=value pairs (got %d)", SEM_KB_MAX_FILTER_KEYS,
                             f->n);
    for (int i = 0; i < f->n; i++) {
        if (!key_ok(f->keys[i]))
            return sem_error_set(err, SEM_EINVAL, "filter key \"%.80s\" must be 1-%d letters, digits, '_', '-' or '.'",
                                 f->keys[i] ? f->keys[i] : "(null)", SEM_KB_MAX_FILTER_KEY_BYTES);
        if (!f->values[i] || !sem_utf8_valid(f->values[i], strlen(f->values[i]), NULL))
            return sem_error_set(err, SEM_EINVAL, "filter value for \"%s\" is missing or not UTF-8", f->keys[i]);
    }
    return SEM_OK;
}

int sem_kb_filter_sql(const sem_kb_filter *f, int first_param, sem_strbuf *sql, sem_error *err)
{
    int rc = sem_kb_filter_check(f, err);
    if (rc || !f)
        return rc;
    if (first_param < 1 || first_param > 1000)
        return sem_error_set(err, SEM_EINTERNAL, "filter parameters from %d", first_param);
    for (int i = 0; i < f->n; i++)
        sem_strbuf_printf(sql, " AND CAST(json_extract(d.meta, ?%d) AS TEXT) = ?%d", first_param + 2 * i,
                          first_param + 2 * i + 1);
    return sql->oom ? sem_error_set(err, SEM_ENOMEM, "out of memory") : SEM_OK;
}

int sem_kb_filter_bind(sqlite3_stmt *st, const sem_kb_filter *f, int first_param)
{
    if (!f)
        return SQLITE_OK;
    for (int i = 0; i < f->n; i++) {
        char path[SEM_KB_MAX_FILTER_KEY_BYTES + 8]; /* $."key" */
        snprintf(path, sizeof path, "$.\"%s\"", f->keys[i]);
        int rc = sqlite3_bind_text(st, first_param + 2 * i, path, -1, SQLITE_TRANSIENT);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_text(st, first_param + 2 * i + 1, f->values[i], -1, SQLITE_TRANSIENT);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

int sem_kb_filter_prepare(sqlite3 *db, const char *head, const sem_kb_filter *f, int first_param, const char *tail,
                          sqlite3_stmt **st, sem_error *err)
{
    *st = NULL;
    sem_strbuf sql = {0};
    sem_strbuf_puts(&sql, head);
    int rc = sem_kb_filter_sql(f, first_param, &sql, err);
    sem_strbuf_puts(&sql, tail ? tail : "");
    if (!rc && sql.oom)
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (!rc)
        rc = sem_db_prepare(db, sql.s, st, err);
    sem_strbuf_free(&sql);
    if (!rc && sem_kb_filter_bind(*st, f, first_param) != SQLITE_OK) {
        rc = sem_db_fail(db, err, "binding the filter");
        sqlite3_finalize(*st);
        *st = NULL;
    }
    return rc;
}

static int check_params(const sem_kb_search_params *p, sem_error *err)
{
    if (!p)
        return sem_error_set(err, SEM_EINVAL, "no search parameters");
    if (p->k < 1 || p->k > MAX_K)
        return sem_error_set(err, SEM_EINVAL, "k = %d out of range 1..%d", p->k, MAX_K);
    if (p->nprobe < 0 || p->nprobe > MAX_NPROBE)
        return sem_error_set(err, SEM_EINVAL, "nprobe = %d out of range 0..%d", p->nprobe, MAX_NPROBE);
    if (p->ef_search < 0 || p->ef_search > MAX_EF_SEARCH)
        return sem_error_set(err, SEM_EINVAL, "ef_search = %d out of range 0..%d", p->ef_search, MAX_EF_SEARCH);
    return sem_kb_filter_check(p->filter, err);
}

static int has_filter(const sem_kb_search_params *p)
{
    return p->filter && p->filter->n > 0;
}

/* Inserts (id, score) into the descending top list of capacity k holding *n entries. */
static void topk_push(sem_kb_hit *top, int *n, int k, int64_t id, float score)
{
    if (*n == k && score <= top[k - 1].score)
        return;
    int pos = *n < k ? *n : k - 1;
    while (pos > 0 && top[pos - 1].score < score) {
        top[pos] = top[pos - 1];
        pos--;
    }
    top[pos].passage_id = id;
    top[pos].score = score;
    if (*n < k)
        (*n)++;
}

/* Exact scan of the passages that pass the filter. */
static int search_exact_filtered(sem_kb *kb, sqlite3 *db, const float *q, int nq, const sem_kb_search_params *p,
                                 sem_kb_hit *hits, int *n_hits, sem_error *err)
{
    sqlite3_stmt *st;
    int rc = sem_kb_filter_prepare(db, "SELECT p.id, p.vec FROM passages p JOIN documents d ON d.id = p.doc_id WHERE 1",
                                   p->filter, 1, NULL, &st, err);
    if (rc)
        return rc;
    int d = kb->model.dim, s;
    float *v = malloc((size_t)d * sizeof *v);
    if (!v) {
        sqlite3_finalize(st);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(st, 1);
        if (!sem_kb_vec_ok(b, sqlite3_column_bytes(st, 1), d))
            continue;
        memcpy(v, b, (size_t)d * sizeof *v);
        int64_t id = sqlite3_column_int64(st, 0);
        for (int i = 0; i < nq; i++) {
            const float *x = q + (size_t)i * d;
            double acc = 0;
            if (kb->metric == SEM_KB_METRIC_L2) {
                for (int j = 0; j < d; j++) {
                    double t = (double)x[j] - v[j];
                    acc -= t * t;
                }
            } else {
                for (int j = 0; j < d; j++)
                    acc += (double)x[j] * v[j];
            }
            topk_push(hits + (size_t)i * p->k, &n_hits[i], p->k, id, (float)acc);
        }
    }
    if (s != SQLITE_DONE)
        rc = sem_db_fail(db, err, "filtered search");
    free(v);
    sqlite3_finalize(st);
    return rc;
}

/* Over-fetches from the index and keeps the hits that pass the filter, widening until k pass or the index is
 * exhausted. */
static int search_overfetch(sem_kb *kb, sqlite3 *db, const float *q, int nq, const sem_kb_search_params *p,
                            int64_t n_match, sem_kb_hit *hits, int *n_hits, sem_error *err)
{
    sqlite3_stmt *st;
    int rc = sem_kb_filter_prepare(db, "SELECT 1 FROM passages p JOIN documents d ON d.id = p.doc_id WHERE p.id = ?1",
                                   p->filter, 2, NULL, &st, err);
    if (rc)
        return rc;
    sem_kb_hit *buf = NULL;
    int d = kb->model.dim;
    for (int i = 0; i < nq && !rc; i++) {
        pthread_rwlock_rdlock(&kb->ilock);
        int64_t live = sem_vindex_nlive(kb->vi);
        pthread_rwlock_unlock(&kb->ilock);
        int64_t factor = n_match > 0 ? (live / n_match) * 2 + 2 : 2;
        int64_t kk = (int64_t)p->k * factor;
        for (;;) {
            if (kk > live)
                kk = live;
            if (kk > 1000000)
                kk = 1000000;
            if (kk < 1)
                break;
            sem_kb_hit *nb = realloc(buf, (size_t)kk * sizeof *nb);
            if (!nb) {
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
                break;
            }
            buf = nb;
            int got = 0;
            pthread_rwlock_rdlock(&kb->ilock);
            int np = p->nprobe ? p->nprobe : sem_vindex_default_nprobe(kb->vi);
            rc = sem_vindex_search(kb->vi, 1, q + (size_t)i * d, (int)kk, np, p->ef_search, buf, &got, err);
            pthread_rwlock_unlock(&kb->ilock);
            if (rc)
                break;
            n_hits[i] = 0;
            for (int j = 0; j < got && n_hits[i] < p->k; j++) {
                sqlite3_bind_int64(st, 1, buf[j].passage_id);
                int s = sqlite3_step(st);
                sqlite3_reset(st);
                if (s == SQLITE_ROW)
                    hits[(size_t)i * p->k + n_hits[i]++] = buf[j];
                else if (s != SQLITE_DONE) {
                    rc = sem_db_fail(db, err, "filtering hits");
                    break;
                }
            }
            if (rc || n_hits[i] >= p->k || kk >= live || got < kk || kk >= 1000000)
                break;
            kk *= 4;
        }
    }
    free(buf);
    sqlite3_finalize(st);
    return rc;
}

int sem_kb_search(sem_kb *kb, const float *queries, int nq, const sem_kb_search_params *params, sem_kb_hit *hits,
                  int *n_hits, sem_error *err)
{
    sem_error_clear(err);
    int rc = check_params(params, err);
    if (rc)
        return rc;
    if (!kb || !queries || nq < 1 || !hits || !n_hits)
        return sem_error_set(err, SEM_EINVAL, "sem_kb_search: bad arguments");
    if (kb->lexical_only)
        return sem_error_set(err, SEM_EINVAL, "this KB is lexical-only (made without a model): it holds no vectors "
                                              "to search; use lexical (text) search");
    int d = kb->model.dim;
    for (int i = 0; i < nq; i++)
        if ((rc = sem_kb_vec_check(queries + (size_t)i * d, d, "query", i, err)))
            return rc;
    for (int i = 0; i < nq; i++)
        n_hits[i] = 0;
    if (!has_filter(params)) {
        pthread_rwlock_rdlock(&kb->ilock);
        int np = params->nprobe ? params->nprobe : sem_vindex_default_nprobe(kb->vi);
        rc = sem_vindex_search(kb->vi, nq, queries, params->k, np, params->ef_search, hits, n_hits, err);
        pthread_rwlock_unlock(&kb->ilock);
        return rc;
    }
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    sqlite3_stmt *st = NULL;
    int64_t m = 0;
    if ((rc = sem_kb_filter_prepare(db, "SELECT count(*) FROM passages p JOIN documents d ON d.id = p.doc_id WHERE 1",
                                    params->filter, 1, NULL, &st, err)))
        goto out;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = sem_db_fail(db, err, "counting filter matches");
        goto out;
    }
    m = sqlite3_column_int64(st, 0);
    if (m == 0)
        goto out;
    int64_t exact_max = params->filter_exact_max == 0 ? EXACT_FILTER_MAX : params->filter_exact_max;
    if (m <= exact_max)
        rc = search_exact_filtered(kb, db, queries, nq, params, hits, n_hits, err);
    else
        rc = search_overfetch(kb, db, queries, nq, params, m, hits, n_hits, err);
out:
    sqlite3_finalize(st);
    sem_kb_conn_put(kb, db);
    return rc;
}

/* 1 if the KB's full-text index is schema 3's (semsearch_cjk, a title column), 0 for schema 2's. */
static int fts_v3(sem_kb *kb)
{
    pthread_mutex_lock(&kb->meta_mu);
    int v3 = kb->schema_version >= 3;
    pthread_mutex_unlock(&kb->meta_mu);
    return v3;
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define BM25_V2 "bm25(passages_fts)"
#define BM25_V3 "bm25(passages_fts, 1.0, " STR(SEM_KB_TITLE_WEIGHT) ")" /* columns: text, title */

int sem_kb_search_text(sem_kb *kb, const char *query, const sem_kb_search_params *params, sem_kb_hit *hits,
                       int *n_hits, sem_error *err)
{
    sem_error_clear(err);
    int rc = check_params(params, err);
    if (rc)
        return rc;
    if (!kb || !query || !hits || !n_hits)
        return sem_error_set(err, SEM_EINVAL, "sem_kb_search_text: bad arguments");
    *n_hits = 0;
    char *fq = NULL;
    int v3 = fts_v3(kb);
    if ((rc = sem_fts_query(query, v3, &fq, err)))
        return rc;
    if (!fq[0]) {
        free(fq);
        return SEM_OK;
    }
    const char *bm25 = v3 ? BM25_V3 : BM25_V2;
    char head[320], tail[96];
    if (has_filter(params))
        snprintf(head, sizeof head, "SELECT passages_fts.rowid, %s FROM passages_fts JOIN passages p ON p.id = "
                 "passages_fts.rowid JOIN documents d ON d.id = p.doc_id WHERE passages_fts MATCH ?1", bm25);
    else
        snprintf(head, sizeof head, "SELECT rowid, %s FROM passages_fts WHERE passages_fts MATCH ?1", bm25);
    snprintf(tail, sizeof tail, " ORDER BY %s LIMIT ?2", bm25);
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db) {
        free(fq);
        return err ? err->code : SEM_EIO;
    }
    sqlite3_stmt *st = NULL;
    if ((rc = sem_kb_filter_prepare(db, head, params->filter, 3, tail, &st, err)))
        goto out;
    if (sqlite3_bind_text(st, 1, fq, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(st, 2, params->k) != SQLITE_OK) {
        rc = sem_db_fail(db, err, "text search");
        goto out;
    }
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW && *n_hits < params->k) {
        hits[*n_hits].passage_id = sqlite3_column_int64(st, 0);
        hits[*n_hits].score = (float)-sqlite3_column_double(st, 1);
        (*n_hits)++;
    }
    if (s != SQLITE_DONE && s != SQLITE_ROW)
        rc = sem_db_fail(db, err, "text search");
out:
    sqlite3_finalize(st);
    sem_kb_conn_put(kb, db);
    free(fq);
    return rc;
}

void sem_kb_text_terms_free(char **terms, int n_terms)
{
    for (int i = 0; terms && i < n_terms; i++)
        free(terms[i]);
    free(terms);
}

int sem_kb_text_terms(sem_kb *kb, const char *query, char ***terms, int *n_terms, sem_error *err)
{
    sem_error_clear(err);
    *terms = NULL;
    *n_terms = 0;
    if (!kb)
        return sem_error_set(err, SEM_EINVAL, "sem_kb_text_terms: no KB");
    sem_fts_term t[SEM_FTS_MAX_WORDS];
    int nt, rc = sem_fts_terms(query, fts_v3(kb), t, &nt, err);
    if (rc)
        return rc;
    char **out = calloc((size_t)(nt ? nt : 1), sizeof *out);
    int no = 0;
    for (int i = 0; out && i < nt; i++) {
        if (t[i].stop) /* not highlighted */
            continue;
        if (!(out[no++] = strndup(query + t[i].start, t[i].len))) {
            sem_kb_text_terms_free(out, no);
            out = NULL;
        }
    }
    if (!out)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    *terms = out;
    *n_terms = no;
    return SEM_OK;
}

void sem_kb_passage_info_clear(sem_kb_passage_info *infos, int n)
{
    if (!infos)
        return;
    for (int i = 0; i < n; i++) {
        free(infos[i].doc_ext_id);
        free(infos[i].text);
        free(infos[i].title);
        free(infos[i].meta_json);
        memset(&infos[i], 0, sizeof infos[i]);
    }
}

int sem_kb_get_passages(sem_kb *kb, const int64_t *ids, int n, sem_kb_passage_info *out, sem_error *err)
{
    sem_error_clear(err);
    if (n < 0 || (n > 0 && (!ids || !out)))
        return sem_error_set(err, SEM_EINVAL, "sem_kb_get_passages: bad arguments");
    for (int i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].passage_id = ids[i];
    }
    if (n == 0)
        return SEM_OK;
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    sqlite3_stmt *st = NULL;
    int rc = sem_db_exec(db, "BEGIN", err);
    if (rc)
        goto out;
    if ((rc = sem_db_prepare(db, "SELECT p.doc_id, d.ext_id, p.passage_no, p.start_off, p.end_off, p.text, "
                                 "d.title, d.meta FROM passages p JOIN documents d ON d.id = p.doc_id WHERE p.id = ?1",
                             &st, err)))
        goto out;
    for (int i = 0; i < n && !rc; i++) {
        sqlite3_bind_int64(st, 1, ids[i]);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW) {
            sem_kb_passage_info *o = &out[i];
            o->found = 1;
            o->doc_id = sqlite3_column_int64(st, 0);
            o->doc_ext_id = sem_db_text_dup(st, 1);
            o->passage_no = sqlite3_column_int(st, 2);
            o->start = sqlite3_column_int64(st, 3);
            o->end = sqlite3_column_int64(st, 4);
            o->text = sem_db_text_dup(st, 5);
            o->title = sem_db_text_dup(st, 6);
            o->meta_json = sem_db_text_dup(st, 7);
            if (!o->doc_ext_id || !o->text || !o->title || !o->meta_json)
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        } else if (s != SQLITE_DONE) {
            rc = sem_db_fail(db, err, "reading passages");
        }
        sqlite3_reset(st);
    }
out:
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sem_kb_conn_put(kb, db);
    if (rc) {
        sem_kb_passage_info_clear(out, n);
        for (int i = 0; i < n; i++)
            out[i].passage_id = ids[i];
    }
    return rc;
}
