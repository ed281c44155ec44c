/* eval/metrics.c: recall and correlation metrics (see metrics.h; ranking quality is in common/irmetrics.c). */
#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>

/* 1 if r[i] is missing (-1) or already stood at an earlier position of the same result list: such an entry
 * scores no hit (a search that repeats an id must not count it twice). */
static int skip_entry(const int64_t *r, size_t i)
{
    if (r[i] < 0)
        return 1;
    for (size_t j = 0; j < i; j++)
        if (r[j] == r[i])
            return 1;
    return 0;
}

double sem_recall_at(const int64_t *res, size_t res_stride, const int64_t *gt, size_t gt_stride, size_t nq,
                     size_t r)
{
    if (nq == 0 || gt_stride == 0 || r == 0)
        return NAN;
    size_t n = r < res_stride ? r : res_stride;
    size_t hits = 0;
    for (size_t q = 0; q < nq; q++) {
        int64_t want = gt[q * gt_stride];
        if (want < 0)
            continue;
        for (size_t i = 0; i < n; i++)
            if (res[q * res_stride + i] == want) {
                hits++;
                break;
            }
    }
    return (double)hits / (double)nq;
}

double sem_k_recall_at(const int64_t *res, size_t res_stride, const int64_t *gt, size_t gt_stride, size_t nq,
                       size_t k)
{
    if (nq == 0 || k == 0 || res_stride < k || gt_stride < k)
        return NAN;
    double sum = 0;
    for (size_t q = 0; q < nq; q++) {
        const int64_t *rq = res + q * res_stride, *gq = gt + q * gt_stride;
        size_t hits = 0;
        for (size_t i = 0; i < k; i++) {
            if (skip_entry(rq, i))
                continue;
            for (size_t j = 0; j < k; j++)
                if (gq[j] == rq[i]) {
                    hits++;
                    break;
                }
        }
        sum += (double)hits / (double)k;
    }
    return sum / (double)nq;
}

/* 1 if distance d is as good as the reference ref, allowing float rounding. */
static int as_good(float d, float ref, int larger_is_better)
{
    double tol = 1e-5 * fmax(1.0, fabs((double)ref));
    return larger_is_better ? (double)d >= (double)ref - tol : (double)d <= (double)ref + tol;
}

double sem_recall_at_dist(const int64_t *res, const float *res_d, size_t res_stride, const float *gt_d,
                          size_t gt_stride, size_t nq, size_t r, int larger_is_better)
{
    if (nq == 0 || gt_stride == 0 || r == 0)
        return NAN;
    size_t n = r < res_stride ? r : res_stride;
    size_t hits = 0;
    for (size_t q = 0; q < nq; q++)
        for (size_t i = 0; i < n; i++)
            if (res[q * res_stride + i] >= 0 &&
                as_good(res_d[q * res_stride + i], gt_d[q * gt_stride], larger_is_better)) {
                hits++;
                break;
            }
    return (double)hits / (double)nq;
}

double sem_k_recall_at_dist(const int64_t *res, const float *res_d, size_t res_stride, const float *gt_d,
                            size_t gt_stride, size_t nq, size_t k, int larger_is_better)
{
    if (nq == 0 || k == 0 || res_stride < k || gt_stride < k)
        return NAN;
    double sum = 0;
    for (size_t q = 0; q < nq; q++) {
        const int64_t *rq = res + q * res_stride;
        float ref = gt_d[q * gt_stride + k - 1];
        size_t hits = 0;
        for (size_t i = 0; i < k; i++) {
            if (!skip_entry(rq, i) && as_good(res_d[q * res_stride + i], ref, larger_is_better))
                hits++;
        }
        sum += (double)hits / (double)k;
    }
    return sum / (double)nq;
}

double sem_pearson(const double *x, const double *y, size_t n)
{
    if (n < 2)
        return NAN;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if (!(sxx > 0) || !(syy > 0))
        return NAN;
    double r = sxy / sqrt(sxx * syy);
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

struct rank_item {
    double v;
    size_t i;
};

static int cmp_item(const void *a, const void *b)
{
    const struct rank_item *x = a, *y = b;
    if (x->v < y->v)
        return -1;
    if (x->v > y->v)
        return 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

int sem_rank_average(const double *x, size_t n, double *ranks)
{
    if (n == 0)
        return 0;
    if (n > SIZE_MAX / sizeof(struct rank_item))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i]))
            return -1; /* no order exists; qsort would misbehave */
    struct rank_item *it = malloc(n * sizeof *it);
    if (!it)
        return -1;
    for (size_t i = 0; i < n; i++) {
        it[i].v = x[i];
        it[i].i = i;
    }
    qsort(it, n, sizeof *it, cmp_item);
    for (size_t s = 0; s < n;) {
        size_t e = s + 1;
        while (e < n && it[e].v == it[s].v)
            e++;
        /* positions s..e-1 (0-based) share the average of ranks s+1..e */
        double avg = ((double)(s + 1) + (double)e) / 2.0;
        for (size_t j = s; j < e; j++)
            ranks[it[j].i] = avg;
        s = e;
    }
    free(it);
    return 0;
}

double sem_spearman(const double *x, const double *y, size_t n)
{
    if (n < 2 || n > SIZE_MAX / (2 * sizeof(double)))
        return NAN;
    double *rx = malloc(2 * n * sizeof(double));
    if (!rx)
        return NAN;
    double *ry = rx + n;
    double r = NAN;
    if (sem_rank_average(x, n, rx) == 0 && sem_rank_average(y, n, ry) == 0)
        r = sem_pearson(rx, ry, n);
    free(rx);
    return r;
}
