/* eval/beir.c: BEIR queries/qrels readers, TREC run files, and per-query retrieval scoring (see beir.h). */
#include "eval/beir.h"

#include "common/array.h"
#include "common/fileio.h"
#include "common/linereader.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct sem_ranking {
    char **ids;
    size_t n, cap;
};

int sem_ranking_add(sem_ranking *r, const char *doc_id)
{
    if (r->n == r->cap) {
        char **ids = sem_array_grow(r->ids, &r->cap, sizeof *ids, 64);
        if (!ids)
            return SEM_ENOMEM;
        r->ids = ids;
    }
    char *s = strdup(doc_id ? doc_id : "");
    if (!s)
        return SEM_ENOMEM;
    r->ids[r->n++] = s;
    return SEM_OK;
}

static void ranking_clear(sem_ranking *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->ids[i]);
    r->n = 0;
}

/* ---- line reading ---- */

struct lines {
    FILE *f;
    sem_linereader lr;
    char *line; /* the current line (lr.line) */
    size_t lineno;
    const char *path;
    int rc; /* after lines_next returned -2: the error code (the message is in the caller's err) */
};

static int lines_open(struct lines *l, const char *path, sem_error *err)
{
    memset(l, 0, sizeof *l);
    l->path = path;
    l->f = fopen(path, "rb");
    if (!l->f)
        return sem_error_set(err, errno == ENOENT ? SEM_ENOTFOUND : SEM_EIO, "%s: %s", path, strerror(errno));
    sem_linereader_init(&l->lr, l->f, SEM_LINEREADER_DEFAULT_MAX);
    return SEM_OK;
}

/* Next line without its \n / \r\n in l->line; returns its length, -1 at the end, or -2 with err set and l->rc
 * its code: invalid UTF-8 or a NUL byte, a line longer than SEM_LINEREADER_DEFAULT_MAX, a read error, no memory. */
static ssize_t lines_next(struct lines *l, sem_error *err)
{
    int r = sem_linereader_next(&l->lr, err);
    l->lineno = (size_t)l->lr.lineno;
    if (r == 0)
        return -1;
    if (r < 0) {
        l->rc = r;
        sem_error_prefix(err, "%s", l->path);
        return -2;
    }
    char *line = l->line = l->lr.line;
    size_t n = l->lr.len;
    if (l->lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) { /* BOM */
        memmove(line, line + 3, n - 2);
        n -= 3;
    }
    if (!sem_utf8_valid(line, n, NULL) || strlen(line) != n) {
        l->rc = sem_error_set(err, SEM_EFORMAT, "%s:%zu: invalid UTF-8 or NUL byte", l->path, l->lineno);
        return -2;
    }
    return (ssize_t)n;
}

static void lines_close(struct lines *l)
{
    if (l->f)
        fclose(l->f);
    sem_linereader_free(&l->lr);
    l->f = NULL;
    l->line = NULL;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return 0;
    return 1;
}

/* ---- queries.jsonl ---- */

static int query_cmp_id(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int sem_beir_read_queries(const char *path, sem_beir_set *set, sem_error *err)
{
    struct lines l;
    int rc = lines_open(&l, path, err);
    if (rc)
        return rc;
    size_t cap = set->n_queries;
    ssize_t n;
    while ((n = lines_next(&l, err)) != -1) {
        if (n == -2) {
            rc = l.rc;
            break;
        }
        if (is_blank(l.line))
            continue;
        cJSON *o = cJSON_ParseWithLength(l.line, (size_t)n);
        if (!o || !cJSON_IsObject(o)) {
            cJSON_Delete(o);
            rc = sem_error_set(err, SEM_EFORMAT, "%s:%zu: not a JSON object", path, l.lineno);
            break;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "_id"),
                    *text = cJSON_GetObjectItemCaseSensitive(o, "text");
        char idbuf[64];
        const char *ids = NULL;
        if (cJSON_IsString(id))
            ids = id->valuestring;
        else if (cJSON_IsNumber(id) && isfinite(id->valuedouble)) {
            snprintf(idbuf, sizeof idbuf, "%.17g", id->valuedouble);
            ids = idbuf;
        }
        if (!ids || !*ids || !cJSON_IsString(text)) {
            cJSON_Delete(o);
            rc = sem_error_set(err, SEM_EFORMAT, "%s:%zu: a query needs a non-empty \"_id\" and a string \"text\"",
                               path, l.lineno);
            break;
        }
        if (set->n_queries == cap) {
            sem_beir_query *q = sem_array_grow(set->queries, &cap, sizeof *q, 256);
            if (!q) {
                cJSON_Delete(o);
                rc = sem_error_set(err, SEM_ENOMEM, "%s: out of memory", path);
                break;
            }
            set->queries = q;
        }
        sem_beir_query *q = &set->queries[set->n_queries];
        q->id = strdup(ids);
        q->text = strdup(text->valuestring);
        cJSON_Delete(o);
        if (!q->id || !q->text) {
            free(q->id);
            free(q->text);
            rc = sem_error_set(err, SEM_ENOMEM, "%s: out of memory", path);
            break;
        }
        set->n_queries++;
    }
    lines_close(&l);
    if (rc == SEM_OK && set->n_queries > 0) { /* repeated ids? */
        char **ids = malloc(set->n_queries * sizeof *ids);
        if (!ids)
            return sem_error_set(err, SEM_ENOMEM, "%s: out of memory", path);
        for (size_t i = 0; i < set->n_queries; i++)
            ids[i] = set->queries[i].id;
        qsort(ids, set->n_queries, sizeof *ids, query_cmp_id);
        for (size_t i = 1; i < set->n_queries && rc == SEM_OK; i++)
            if (strcmp(ids[i - 1], ids[i]) == 0)
                rc = sem_error_set(err, SEM_EFORMAT, "%s: query id '%s' appears twice", path, ids[i]);
        free(ids);
    }
    return rc;
}

/* ---- qrels ---- */

static int qrel_cmp(const void *a, const void *b)
{
    const sem_beir_qrel *x = a, *y = b;
    int c = strcmp(x->query_id, y->query_id);
    return c ? c : strcmp(x->doc_id, y->doc_id);
}

struct qrel_pos {
    sem_beir_qrel q;
    size_t pos; /* line order, so that a later judgement wins */
};

static int qrel_pos_cmp(const void *a, const void *b)
{
    const struct qrel_pos *x = a, *y = b;
    int c = qrel_cmp(&x->q, &y->q);
    return c ? c : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

/* Splits s in place on sep (tab) or, when sep is 0, on runs of spaces/tabs; up to max fields. */
static int split(char *s, char sep, char **f, int max)
{
    int n = 0;
    if (sep) {
        for (;;) {
            if (n == max)
                return max + 1;
            f[n++] = s;
            char *t = strchr(s, sep);
            if (!t)
                return n;
            *t = 0;
            s = t + 1;
        }
    }
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            return n;
        if (n == max)
            return max + 1;
        f[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = 0;
    }
}

static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end); /* "1", "2", also "1.0" as some converters write */
    if (errno || end == s || *end || !isfinite(v) || v != floor(v) || fabs(v) > 1e6)
        return -1;
    *out = (int)v;
    return 0;
}

/* The slot after the n elements of *arr (of size bytes, capacity *cap, grown to first, then doubled); NULL with
 * SEM_ENOMEM naming path. */
static void *room(void *arr, size_t n, size_t *cap, size_t size, size_t first, const char *path, sem_error *err)
{
    char *a;
    memcpy(&a, arr, sizeof a); /* arr points to a typed pointer: read and write it as bytes */
    if (n == *cap) {
        if (!(a = sem_array_grow(a, cap, size, first))) {
            sem_error_set(err, SEM_ENOMEM, "%s: out of memory", path);
            return NULL;
        }
        memcpy(arr, &a, sizeof a);
    }
    return a + n * size;
}

/* Copies the ids a and b into *ca and *cb; SEM_OK, or SEM_ENOMEM naming path (nothing kept). */
static int dup_ids(const char *a, const char *b, char **ca, char **cb, const char *path, sem_error *err)
{
    *ca = strdup(a);
    *cb = strdup(b);
    if (*ca && *cb)
        return SEM_OK;
    free(*ca);
    free(*cb);
    *ca = *cb = NULL;
    return sem_error_set(err, SEM_ENOMEM, "%s: out of memory", path);
}

int sem_beir_read_qrels(const char *path, sem_beir_set *set, sem_error *err)
{
    struct lines l;
    int rc = lines_open(&l, path, err);
    if (rc)
        return rc;
    size_t cap = set->n_qrels;
    ssize_t n;
    int seen_data = 0;
    while ((n = lines_next(&l, err)) != -1) {
        if (n == -2) {
            rc = l.rc;
            break;
        }
        if (is_blank(l.line))
            continue;
        char *f[5], *qid, *did, *score;
        int nf = strchr(l.line, '\t') ? split(l.line, '\t', f, 4) : split(l.line, 0, f, 4);
        if (nf == 3) {
            qid = f[0];
            did = f[1];
            score = f[2];
        } else if (nf == 4) { /* TREC: qid iter docid rel */
            qid = f[0];
            did = f[2];
            score = f[3];
        } else {
            rc = sem_error_set(err, SEM_EFORMAT,
                               "%s:%zu: expected 'query-id<TAB>corpus-id<TAB>score' (or TREC 'qid iter docid rel')",
                               path, l.lineno);
            break;
        }
        int rel;
        if (parse_int(score, &rel) != 0) {
            if (!seen_data) { /* the optional header: query-id corpus-id score */
                seen_data = 1;
                continue;
            }
            rc = sem_error_set(err, SEM_EFORMAT, "%s:%zu: score '%.40s' is not an integer", path, l.lineno, score);
            break;
        }
        seen_data = 1;
        if (!*qid || !*did) {
            rc = sem_error_set(err, SEM_EFORMAT, "%s:%zu: empty query or document id", path, l.lineno);
            break;
        }
        sem_beir_qrel *q = room(&set->qrels, set->n_qrels, &cap, sizeof *q, 256, path, err);
        if (!q || dup_ids(qid, did, &q->query_id, &q->doc_id, path, err) != SEM_OK) {
            rc = SEM_ENOMEM;
            break;
        }
        q->rel = rel;
        set->n_qrels++;
    }
    lines_close(&l);
    if (set->n_qrels > 1) {
        /* sort by key, then keep the last line of each run of equal keys; qsort is not stable, so the line
         * position breaks ties */
        size_t m = set->n_qrels;
        struct qrel_pos *t = malloc(m * sizeof *t);
        if (!t)
            return rc ? rc : sem_error_set(err, SEM_ENOMEM, "%s: out of memory", path);
        for (size_t i = 0; i < m; i++) {
            t[i].q = set->qrels[i];
            t[i].pos = i;
        }
        qsort(t, m, sizeof *t, qrel_pos_cmp);
        size_t o = 0;
        for (size_t i = 0; i < m; i++) {
            if (i + 1 < m && qrel_cmp(&t[i].q, &t[i + 1].q) == 0) {
                free(t[i].q.query_id);
                free(t[i].q.doc_id);
                continue;
            }
            set->qrels[o++] = t[i].q;
        }
        set->n_qrels = o;
        free(t);
    }
    return rc;
}

void sem_beir_set_free(sem_beir_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n_queries; i++) {
        free(set->queries[i].id);
        free(set->queries[i].text);
    }
    for (size_t i = 0; i < set->n_qrels; i++) {
        free(set->qrels[i].query_id);
        free(set->qrels[i].doc_id);
    }
    free(set->queries);
    free(set->qrels);
    memset(set, 0, sizeof *set);
}

/* ---- scoring ---- */

/* [lo, hi) range of qrels for query id q. */
static void qrel_range(const sem_beir_set *set, const char *q, size_t *lo, size_t *hi)
{
    size_t a = 0, b = set->n_qrels;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (strcmp(set->qrels[m].query_id, q) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    b = set->n_qrels;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (strcmp(set->qrels[m].query_id, q) <= 0)
            a = m + 1;
        else
            b = m;
    }
    *hi = a;
}

static int rel_of(const sem_beir_set *set, size_t lo, size_t hi, const char *doc)
{
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        int c = strcmp(set->qrels[m].doc_id, doc);
        if (c == 0)
            return set->qrels[m].rel;
        if (c < 0)
            lo = m + 1;
        else
            hi = m;
    }
    return 0;
}

static int cmp_int_desc(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return x > y ? -1 : x < y;
}

static int has_query(const sem_beir_set *set, const char *id)
{
    for (size_t i = 0; i < set->n_queries; i++)
        if (strcmp(set->queries[i].id, id) == 0)
            return 1;
    return 0;
}

int sem_retrieval_eval(const sem_beir_set *set, const char *mode, int k, sem_eval_search_fn fn, void *user,
                       sem_retrieval_report *out, sem_error *err)
{
    memset(out, 0, sizeof *out);
    if (k < 1 || k > 100000)
        return sem_error_set(err, SEM_EINVAL, "k must be 1..100000");
    snprintf(out->mode, sizeof out->mode, "%s", mode);
    out->k = k;
    int depth = k > 100 ? k : 100;
    sem_ranking rk = {0};
    int *rels = NULL, *ideal = NULL;
    size_t rels_cap = 0, ideal_cap = 0;
    int rc = SEM_OK;
    out->per_query = calloc(set->n_queries ? set->n_queries : 1, sizeof *out->per_query);
    if (!out->per_query)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    double sums[6] = {0};
    for (size_t qi = 0; qi < set->n_queries && rc == SEM_OK; qi++) {
        const sem_beir_query *q = &set->queries[qi];
        size_t lo, hi;
        qrel_range(set, q->id, &lo, &hi);
        size_t nrel = 0;
        for (size_t i = lo; i < hi; i++)
            nrel += set->qrels[i].rel > 0;
        if (nrel == 0) {
            out->n_skipped++;
            continue;
        }
        ranking_clear(&rk);
        double t0 = sem_now();
        rc = fn(user, q->id, q->text, mode, depth, &rk, err);
        out->seconds += sem_now() - t0;
        if (rc != SEM_OK) {
            sem_error_prefix(err, "query '%s' (%s)", q->id, mode);
            break;
        }
        if (rk.n > rels_cap || nrel > ideal_cap) {
            size_t rc2 = rk.n > rels_cap ? rk.n : rels_cap, ic = nrel > ideal_cap ? nrel : ideal_cap;
            int *r2 = realloc(rels, (rc2 ? rc2 : 1) * sizeof *r2);
            if (r2)
                rels = r2, rels_cap = rc2;
            int *i2 = realloc(ideal, (ic ? ic : 1) * sizeof *i2);
            if (i2)
                ideal = i2, ideal_cap = ic;
            if (!r2 || !i2) {
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
                break;
            }
        }
        size_t nr = 0;
        for (size_t i = 0; i < rk.n; i++) {
            int dup = 0;
            for (size_t j = 0; j < i && !dup; j++)
                dup = strcmp(rk.ids[i], rk.ids[j]) == 0;
            if (!dup)
                rels[nr++] = rel_of(set, lo, hi, rk.ids[i]);
        }
        size_t ni = 0;
        for (size_t i = lo; i < hi; i++)
            if (set->qrels[i].rel > 0)
                ideal[ni++] = set->qrels[i].rel;
        qsort(ideal, ni, sizeof *ideal, cmp_int_desc);
        sem_retrieval_query *pq = &out->per_query[out->n_scored++];
        pq->id = q->id;
        pq->n_relevant = nrel;
        pq->n_returned = nr;
        for (size_t i = 0; i < nr && !pq->first_rank; i++)
            if (rels[i] > 0)
                pq->first_rank = i + 1;
        sem_ir_score(rels, nr, ideal, ni, (size_t)k, &pq->s);
        sums[0] += pq->s.ndcg;
        sums[1] += pq->s.mrr;
        sums[2] += pq->s.recall1;
        sums[3] += pq->s.recall10;
        sums[4] += pq->s.recall100;
        sums[5] += pq->s.ap;
    }
    ranking_clear(&rk);
    free(rk.ids);
    free(rels);
    free(ideal);
    if (rc != SEM_OK) {
        sem_retrieval_report_free(out);
        return rc;
    }
    double n = (double)out->n_scored;
    out->mean.ndcg = out->n_scored ? sums[0] / n : NAN;
    out->mean.mrr = out->n_scored ? sums[1] / n : NAN;
    out->mean.recall1 = out->n_scored ? sums[2] / n : NAN;
    out->mean.recall10 = out->n_scored ? sums[3] / n : NAN;
    out->mean.recall100 = out->n_scored ? sums[4] / n : NAN;
    out->mean.ap = out->n_scored ? sums[5] / n : NAN;
    /* qrels of queries we do not have (a wrong queries file is a common mistake; the CLI warns) */
    for (size_t i = 0; i < set->n_qrels;) {
        size_t j = i;
        while (j < set->n_qrels && strcmp(set->qrels[j].query_id, set->qrels[i].query_id) == 0)
            j++;
        if (!has_query(set, set->qrels[i].query_id))
            out->n_unknown_qrels += j - i;
        i = j;
    }
    return SEM_OK;
}

void sem_retrieval_report_free(sem_retrieval_report *r)
{
    if (!r)
        return;
    free(r->per_query);
    r->per_query = NULL;
    r->n_scored = 0;
}

/* ---- reports ---- */

static double r4(double x)
{
    return round(x * 1e4) / 1e4;
}

static void add_metric(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, r4(v));
    else
        cJSON_AddNullToObject(o, key);
}

static void add_scores(cJSON *o, const sem_ir_scores *s, int k)
{
    char key[32];
    snprintf(key, sizeof key, "ndcg@%d", k);
    add_metric(o, key, s->ndcg);
    snprintf(key, sizeof key, "mrr@%d", k);
    add_metric(o, key, s->mrr);
    add_metric(o, "recall@1", s->recall1);
    add_metric(o, "recall@10", s->recall10);
    add_metric(o, "recall@100", s->recall100);
    add_metric(o, "map", s->ap);
}

char *sem_retrieval_report_json(const sem_retrieval_report *r, size_t n_modes, int per_query)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "k", n_modes ? r[0].k : 10);
    cJSON *modes = cJSON_AddObjectToObject(root, "modes");
    for (size_t m = 0; modes && m < n_modes; m++) {
        cJSON *o = cJSON_AddObjectToObject(modes, r[m].mode);
        if (!o)
            break;
        cJSON_AddNumberToObject(o, "n", (double)r[m].n_scored);
        cJSON_AddNumberToObject(o, "skipped", (double)r[m].n_skipped);
        add_scores(o, &r[m].mean, r[m].k);
        cJSON_AddNumberToObject(o, "seconds", round(r[m].seconds * 1e3) / 1e3);
        if (!per_query)
            continue;
        cJSON *arr = cJSON_AddArrayToObject(o, "per_query");
        for (size_t i = 0; arr && i < r[m].n_scored; i++) {
            const sem_retrieval_query *q = &r[m].per_query[i];
            cJSON *e = cJSON_CreateObject();
            if (!e)
                break;
            cJSON_AddStringToObject(e, "id", q->id);
            cJSON_AddNumberToObject(e, "relevant", (double)q->n_relevant);
            cJSON_AddNumberToObject(e, "returned", (double)q->n_returned);
            if (q->first_rank)
                cJSON_AddNumberToObject(e, "first_relevant_rank", (double)q->first_rank);
            else
                cJSON_AddNullToObject(e, "first_relevant_rank");
            add_scores(e, &q->s, r[m].k);
            cJSON_AddItemToArray(arr, e);
        }
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

char *sem_retrieval_report_table(const sem_retrieval_report *r, size_t n_modes)
{
    int k = n_modes ? r[0].k : 10;
    size_t cap = 512 + n_modes * 256;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    char h1[16], h2[16];
    snprintf(h1, sizeof h1, "nDCG@%d", k);
    snprintf(h2, sizeof h2, "MRR@%d", k);
    int w = 12; /* the mode column fits the longest name (run file names can be long: at most 40 shown) */
    for (size_t m = 0; m < n_modes; m++) {
        int l = (int)strlen(r[m].mode);
        if (l > w)
            w = l > 40 ? 40 : l;
    }
    int len = snprintf(s, cap, "%-*s %7s %8s %8s %8s %8s %8s %8s %9s\n", w, "mode", "queries", h1, h2, "R@1", "R@10",
                       "R@100", "MAP", "seconds");
    for (size_t m = 0; m < n_modes && len > 0 && (size_t)len < cap; m++)
        len += snprintf(s + len, cap - (size_t)len, "%-*.*s %7zu %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %9.2f\n", w, w,
                        r[m].mode, r[m].n_scored, r[m].mean.ndcg, r[m].mean.mrr, r[m].mean.recall1,
                        r[m].mean.recall10, r[m].mean.recall100, r[m].mean.ap, r[m].seconds);
    return s;
}

/* ---- TREC run files ---- */

struct run_entry {
    char *qid, *doc;
    double score;
    long rank;
};

struct sem_trec_run {
    struct run_entry *e; /* sorted by qid, score descending, rank ascending */
    size_t n;
};

static int run_cmp(const void *a, const void *b)
{
    const struct run_entry *x = a, *y = b;
    int c = strcmp(x->qid, y->qid);
    if (c)
        return c;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->rank < y->rank ? -1 : x->rank > y->rank;
}

sem_trec_run *sem_trec_run_read(const char *path, sem_error *err)
{
    struct lines l;
    if (lines_open(&l, path, err))
        return NULL;
    sem_trec_run *run = calloc(1, sizeof *run);
    size_t cap = 0;
    int rc = run ? SEM_OK : sem_error_set(err, SEM_ENOMEM, "out of memory");
    ssize_t n;
    while (rc == SEM_OK && (n = lines_next(&l, err)) != -1) {
        if (n == -2) {
            rc = l.rc;
            break;
        }
        if (is_blank(l.line))
            continue;
        char *f[7];
        if (split(l.line, 0, f, 6) != 6) {
            rc = sem_error_set(err, SEM_EFORMAT, "%s:%zu: expected 'qid Q0 docid rank score tag'", path, l.lineno);
            break;
        }
        char *end1, *end2;
        errno = 0;
        long rank = strtol(f[3], &end1, 10);
        double score = strtod(f[4], &end2);
        if (errno || *end1 || *end2 || !isfinite(score)) {
            rc = sem_error_set(err, SEM_EFORMAT, "%s:%zu: bad rank or score", path, l.lineno);
            break;
        }
        struct run_entry *e = room(&run->e, run->n, &cap, sizeof *e, 1024, path, err);
        if (!e || dup_ids(f[0], f[2], &e->qid, &e->doc, path, err) != SEM_OK) {
            rc = SEM_ENOMEM;
            break;
        }
        e->score = score;
        e->rank = rank;
        run->n++;
    }
    lines_close(&l);
    if (rc != SEM_OK) {
        sem_trec_run_free(run);
        return NULL;
    }
    qsort(run->e, run->n, sizeof *run->e, run_cmp);
    return run;
}

void sem_trec_run_free(sem_trec_run *run)
{
    if (!run)
        return;
    for (size_t i = 0; i < run->n; i++) {
        free(run->e[i].qid);
        free(run->e[i].doc);
    }
    free(run->e);
    free(run);
}

int sem_trec_run_search(void *user, const char *query_id, const char *query_text, const char *mode, int k,
                        sem_ranking *out, sem_error *err)
{
    (void)query_text;
    (void)mode;
    const sem_trec_run *run = user;
    size_t a = 0, b = run->n;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (strcmp(run->e[m].qid, query_id) < 0)
            a = m + 1;
        else
            b = m;
    }
    for (size_t i = a; i < run->n && strcmp(run->e[i].qid, query_id) == 0 && (int)(i - a) < k; i++)
        if (sem_ranking_add(out, run->e[i].doc) != SEM_OK)
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
    return SEM_OK;
}
