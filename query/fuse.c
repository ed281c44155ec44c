/* query/fuse.c: fusion of two rankings into one (hybrid search): a weighted convex combination of min-max
 * normalised scores (the default), or weighted reciprocal rank fusion. Pure code: no store or encoder calls.
 *
 * Both fusions work on the union of the two candidate lists. Each id is looked up in a copy of list a sorted by
 * id, so fusing n candidates costs O(n log n). Equal fused scores are ordered by the weight of the lists that
 * hold the entry (so that at weight 0 an entry only the zero-weighted side found never passes one of the other
 * side: hybrid at weight 0 ranks as that side alone), then by the better best rank, then by the smaller id. */
#include <stdlib.h>
#include <string.h>

#include "query/search.h"

typedef struct fuse_ent {
    int64_t id;
    double score;
    double back; /* the summed weights of the lists holding it */
    int ra, rb;  /* 1-based ranks, 0 = absent */
} fuse_ent;

static int by_score(const void *x, const void *y)
{
    const fuse_ent *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->back != b->back)
        return a->back > b->back ? -1 : 1;
    int ba = a->ra && (!a->rb || a->ra < a->rb) ? a->ra : a->rb;
    int bb = b->ra && (!b->rb || b->ra < b->rb) ? b->ra : b->rb;
    if (ba != bb)
        return ba < bb ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int by_id(const void *x, const void *y)
{
    const fuse_ent *a = x, *b = y;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* The min and max of n scores (n > 0). */
static void score_range(const float *s, int n, double *lo, double *hi)
{
    *lo = *hi = s[0];
    for (int i = 1; i < n; i++) {
        if (s[i] < *lo)
            *lo = s[i];
        if (s[i] > *hi)
            *hi = s[i];
    }
}

/* Min-max normalisation into [0, 1]; a list whose scores are all equal maps to 1. */
static double norm(double x, double lo, double hi)
{
    return hi > lo ? (x - lo) / (hi - lo) : 1.0;
}

int sem_fuse(const sem_fusion_params *fp, const int64_t *a, const float *sa, int na, const int64_t *b,
             const float *sb, int nb, int cap, int64_t *out_ids, double *out_scores, int *ranks_a, int *ranks_b)
{
    if (!fp || na < 0 || nb < 0 || cap < 0 || (na && !a) || (nb && !b) || !(fp->weight_a >= 0 && fp->weight_a <= 1))
        return SEM_EINVAL;
    int cc = fp->method == SEM_FUSION_CC;
    if (!cc && fp->method != SEM_FUSION_RRF)
        return SEM_EINVAL;
    if (cc && ((na && !sa) || (nb && !sb)))
        return SEM_EINVAL;
    double wa = fp->weight_a, wb = 1.0 - fp->weight_a;
    if (!cc) { /* RRF weights scaled so that weight 0.5 gives the classic 1/(k0 + rank) per list */
        wa *= 2;
        wb *= 2;
    }
    double lo_a = 0, hi_a = 0, lo_b = 0, hi_b = 0;
    if (cc && na)
        score_range(sa, na, &lo_a, &hi_a);
    if (cc && nb)
        score_range(sb, nb, &lo_b, &hi_b);
    fuse_ent *e = malloc(((size_t)na + (size_t)nb + 1) * sizeof *e);
    if (!e)
        return SEM_ENOMEM;
    int n = 0;
    for (int i = 0; i < na; i++) {
        double part = cc ? norm(sa[i], lo_a, hi_a) : 1.0 / (fp->rrf_k + i + 1);
        e[n++] = (fuse_ent){a[i], wa * part, wa, i + 1, 0};
    }
    int n_a = n;
    qsort(e, (size_t)n_a, sizeof *e, by_id);
    for (int j = 0; j < nb; j++) {
        double part = cc ? norm(sb[j], lo_b, hi_b) : 1.0 / (fp->rrf_k + j + 1);
        fuse_ent key = {.id = b[j]};
        fuse_ent *hit = n_a ? bsearch(&key, e, (size_t)n_a, sizeof *e, by_id) : NULL;
        if (hit && !hit->rb) {
            hit->score += wb * part;
            hit->back += wb;
            hit->rb = j + 1;
        } else if (!hit) {
            e[n++] = (fuse_ent){b[j], wb * part, wb, 0, j + 1};
        }
    }
    qsort(e, (size_t)n, sizeof *e, by_score);
    int m = n < cap ? n : cap;
    for (int i = 0; i < m; i++) {
        out_ids[i] = e[i].id;
        if (out_scores)
            out_scores[i] = e[i].score;
        if (ranks_a)
            ranks_a[i] = e[i].ra;
        if (ranks_b)
            ranks_b[i] = e[i].rb;
    }
    free(e);
    return m;
}

int sem_rrf_fuse(const int64_t *a, int na, const int64_t *b, int nb, int k0, int cap, int64_t *out_ids,
                 double *out_scores, int *ranks_a, int *ranks_b)
{
    sem_fusion_params fp = {SEM_FUSION_RRF, 0.5, k0};
    return sem_fuse(&fp, a, NULL, na, b, NULL, nb, cap, out_ids, out_scores, ranks_a, ranks_b);
}

const char *sem_fusion_name(int method)
{
    return method == SEM_FUSION_RRF ? "rrf" : "cc";
}

int sem_fusion_parse(const char *name)
{
    if (name && strcmp(name, "cc") == 0)
        return SEM_FUSION_CC;
    if (name && strcmp(name, "rrf") == 0)
        return SEM_FUSION_RRF;
    return -1;
}
