/* eval/sts.c: STS Benchmark reader, word-overlap baseline, model correlation (see sts.h). */
#include "eval/sts.h"

#include "common/array.h"
#include "common/fileio.h"
#include "common/linereader.h"
#include "encoder/encoder.h"
#include "eval/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int sem_sts_read(const char *path, sem_sts_set *out, sem_error *err)
{
    out->pairs = NULL;
    out->n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sem_error_set(err, errno == ENOENT ? SEM_ENOTFOUND : SEM_EIO, "%s: %s", path, strerror(errno));
    sem_linereader lr;
    sem_linereader_init(&lr, f, SEM_LINEREADER_DEFAULT_MAX);
    size_t lineno = 0, pcap = 0, n;
    int rc = SEM_OK, got;
    while ((got = sem_linereader_next(&lr, err)) != 0) {
        if (got < 0) { /* a line too long, a read error, no memory: never the end of the file */
            rc = got;
            sem_error_prefix(err, "%s", path);
            break;
        }
        char *line = lr.line;
        n = lr.len;
        lineno = (size_t)lr.lineno;
        if (n == 0)
            continue;
        size_t bad = strlen(line); /* a NUL byte's offset, unless invalid UTF-8 comes first */
        if (!sem_utf8_valid(line, (size_t)n, &bad) || strlen(line) != (size_t)n) {
            rc = sem_error_set(err, SEM_EFORMAT, "%s:%zu: invalid UTF-8 or NUL byte at byte %zu", path, lineno,
                               bad);
            break;
        }
        char *fld[7];
        int nf = 0;
        char *p = line;
        while (nf < 7) {
            fld[nf++] = p;
            char *t = strchr(p, '\t');
            if (!t)
                break;
            *t = 0;
            p = t + 1;
        }
        if (nf < 7) {
            rc = sem_error_set(err, SEM_EFORMAT,
                               "%s:%zu: expected 7 tab-separated fields (genre, file, year, id, score, sentence 1, "
                               "sentence 2), found %d",
                               path, lineno, nf);
            break;
        }
        char *t = strchr(fld[6], '\t'); /* extra trailing fields */
        if (t)
            *t = 0;
        char *end;
        errno = 0;
        double gold = strtod(fld[4], &end);
        if (errno || end == fld[4] || *end || !isfinite(gold)) {
            rc = sem_error_set(err, SEM_EFORMAT, "%s:%zu: score '%.40s' is not a number", path, lineno, fld[4]);
            break;
        }
        if (out->n == pcap) {
            sem_sts_pair *np = sem_array_grow(out->pairs, &pcap, sizeof *np, 1024);
            if (!np) {
                rc = sem_error_set(err, SEM_ENOMEM, "%s: out of memory", path);
                break;
            }
            out->pairs = np;
        }
        sem_sts_pair *pr = &out->pairs[out->n];
        pr->gold = gold;
        pr->s1 = strdup(fld[5]);
        pr->s2 = strdup(fld[6]);
        if (!pr->s1 || !pr->s2) {
            free(pr->s1);
            free(pr->s2);
            rc = sem_error_set(err, SEM_ENOMEM, "%s: out of memory", path);
            break;
        }
        out->n++;
    }
    sem_linereader_free(&lr);
    fclose(f);
    if (rc == SEM_OK && out->n == 0)
        rc = sem_error_set(err, SEM_EFORMAT, "%s: no sentence pairs", path);
    if (rc != SEM_OK)
        sem_sts_free(out);
    return rc;
}

void sem_sts_free(sem_sts_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->pairs[i].s1);
        free(set->pairs[i].s2);
    }
    free(set->pairs);
    set->pairs = NULL;
    set->n = 0;
}

/* ---- word-overlap baseline ---- */

static int is_word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, deduplicated lowercase words of s in a fresh buffer: *words (array, caller frees) points into *store
 * (caller frees). Returns the count, or -1 when out of memory. */
static long word_set(const char *s, char ***words, char **store)
{
    size_t len = strlen(s);
    char *st = malloc(len + 1);
    char **w = malloc((len / 2 + 1) * sizeof *w);
    if (!st || !w) {
        free(st);
        free(w);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (!is_word_byte((unsigned char)s[i])) {
            i++;
            continue;
        }
        w[n++] = st + i;
        while (i < len && is_word_byte((unsigned char)s[i])) {
            char c = s[i];
            st[i++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        st[i] = 0; /* the separator's slot (or the end) terminates the word */
    }
    qsort(w, n, sizeof *w, cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || strcmp(w[m - 1], w[i]) != 0)
            w[m++] = w[i];
    *words = w;
    *store = st;
    return (long)m;
}

double sem_word_jaccard(const char *a, const char *b)
{
    char **wa = NULL, **wb = NULL, *sa = NULL, *sb = NULL;
    long na = word_set(a, &wa, &sa), nb = na < 0 ? -1 : word_set(b, &wb, &sb);
    double j = NAN;
    if (na >= 0 && nb >= 0) {
        long inter = 0, i = 0, k = 0;
        while (i < na && k < nb) {
            int c = strcmp(wa[i], wb[k]);
            if (c == 0) {
                inter++;
                i++;
                k++;
            } else if (c < 0) {
                i++;
            } else {
                k++;
            }
        }
        long uni = na + nb - inter;
        j = uni ? (double)inter / (double)uni : 1.0;
    }
    free(wa);
    free(wb);
    free(sa);
    free(sb);
    return j;
}

static void correlate(const sem_sts_set *set, const double *pred, double *sp, double *pe)
{
    double *gold = malloc(set->n * sizeof *gold);
    if (!gold) {
        *sp = *pe = NAN;
        return;
    }
    for (size_t i = 0; i < set->n; i++)
        gold[i] = set->pairs[i].gold;
    *sp = sem_spearman(pred, gold, set->n);
    *pe = sem_pearson(pred, gold, set->n);
    free(gold);
}

void sem_sts_baseline(const sem_sts_set *set, sem_sts_result *out)
{
    out->n = set->n;
    out->spearman = out->pearson = NAN;
    out->seconds = 0;
    out->baseline_spearman = out->baseline_pearson = NAN;
    double *j = malloc((set->n ? set->n : 1) * sizeof *j);
    if (!j)
        return;
    for (size_t i = 0; i < set->n; i++)
        j[i] = sem_word_jaccard(set->pairs[i].s1, set->pairs[i].s2);
    correlate(set, j, &out->baseline_spearman, &out->baseline_pearson);
    free(j);
}

int sem_sts_eval(const sem_sts_set *set, const char *model_dir, int threads, sem_sts_result *out, sem_error *err)
{
    sem_sts_baseline(set, out);
    if (set->n == 0 || set->n > (size_t)INT32_MAX)
        return sem_error_set(err, SEM_EINVAL, "sts: no pairs or too many");
    sem_model_params mp = sem_model_default_params();
    mp.n_threads = threads;
    sem_model *m = sem_model_load(model_dir, &mp, err);
    if (!m)
        return err ? err->code : SEM_EINVAL;
    sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, err);
    size_t d = (size_t)sem_model_dim(m), n = set->n;
    const char **t1 = malloc(n * sizeof *t1), **t2 = malloc(n * sizeof *t2);
    float *v1 = d && n <= SIZE_MAX / sizeof(float) / d ? malloc(n * d * sizeof(float)) : NULL;
    float *v2 = v1 ? malloc(n * d * sizeof(float)) : NULL;
    double *cos = malloc(n * sizeof *cos);
    int rc = SEM_OK;
    if (!ctx) {
        rc = err ? err->code : SEM_EINVAL;
        goto done;
    }
    if (!t1 || !t2 || !v1 || !v2 || !cos) {
        rc = sem_error_set(err, SEM_ENOMEM, "sts: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        t1[i] = set->pairs[i].s1;
        t2[i] = set->pairs[i].s2;
    }
    double t0 = sem_now();
    if ((rc = sem_encode(ctx, t1, (int)n, NULL, v1, err)) != SEM_OK ||
        (rc = sem_encode(ctx, t2, (int)n, NULL, v2, err)) != SEM_OK)
        goto done;
    out->seconds = sem_now() - t0;
    for (size_t i = 0; i < n; i++) {
        double dot = 0, a = 0, b = 0;
        for (size_t j = 0; j < d; j++) {
            double x = v1[i * d + j], y = v2[i * d + j];
            dot += x * y;
            a += x * x;
            b += y * y;
        }
        cos[i] = a > 0 && b > 0 ? dot / sqrt(a * b) : 0;
    }
    correlate(set, cos, &out->spearman, &out->pearson);
done:
    free(t1);
    free(t2);
    free(v1);
    free(v2);
    free(cos);
    sem_encoder_ctx_free(ctx);
    sem_model_free(m);
    return rc;
}
