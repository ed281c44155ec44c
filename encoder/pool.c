/* encoder/pool.c: sentence vectors from token vectors (the seed's P1-P5 and max), and L2 normalisation.
 * Sequences are packed (no padding), so "over tokens with attention_mask 1" is "over the sequence's rows". */
#include "encoder/internal.h"

#include <math.h>
#include <string.h>

void sem_l2_normalize(float *v, size_t n)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (double)v[i] * v[i];
    /* sentence-transformers' Normalize: x / max(||x||, 1e-12) */
    double norm = sqrt(ss);
    float inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
    for (size_t i = 0; i < n; i++)
        v[i] *= inv;
}

int sem_pool(const sem_model *m, sem_pooling p, const float *last, const float *aux, const int *offs, int n_seq,
             float *rows, float *out, sem_error *err)
{
    const size_t H = (size_t)m->cfg.hidden;
    if ((p == SEM_POOL_FIRST_LAST_AVG || p == SEM_POOL_LAST_TWO_AVG) && !aux)
        return sem_error_set(err, SEM_EINTERNAL, "pooling %s without the other layer", sem_pooling_name(p));
    if (p == SEM_POOL_POOLER) {
        if (!m->pool_w)
            return sem_error_set(err, SEM_ENOTFOUND, "pooling \"pooler\": the model has no pooler weights");
        /* out (n, H) = tanh(h[CLS] (n, H) . Wp + bp) */
        float *cls = rows;
        for (int s = 0; s < n_seq; s++)
            memcpy(cls + (size_t)s * H, last + (size_t)offs[s] * H, H * sizeof(float));
        sem_sgemm(0, n_seq, (int)H, (int)H, 1.0f, cls, (int)H, m->pool_w, (int)H, out, (int)H);
        sem_bias_tanh(out, m->pool_b, (size_t)n_seq, H);
        return SEM_OK;
    }
    for (int s = 0; s < n_seq; s++) {
        float *o = out + (size_t)s * H;
        const size_t t0 = (size_t)offs[s], n = (size_t)(offs[s + 1] - offs[s]);
        switch (p) {
        case SEM_POOL_CLS:
            memcpy(o, last + t0 * H, H * sizeof(float));
            break;
        case SEM_POOL_MAX:
            memcpy(o, last + t0 * H, H * sizeof(float));
            for (size_t t = 1; t < n; t++) {
                const float *r = last + (t0 + t) * H;
                for (size_t i = 0; i < H; i++)
                    o[i] = r[i] > o[i] ? r[i] : o[i];
            }
            break;
        case SEM_POOL_MEAN:
        case SEM_POOL_FIRST_LAST_AVG:
        case SEM_POOL_LAST_TWO_AVG:
            /* accumulate in double: the mean of up to 512 rows keeps float precision */
            for (size_t i = 0; i < H; i++) {
                double acc = 0.0;
                if (p == SEM_POOL_MEAN) {
                    for (size_t t = 0; t < n; t++)
                        acc += last[(t0 + t) * H + i];
                } else {
                    for (size_t t = 0; t < n; t++)
                        acc += ((double)aux[(t0 + t) * H + i] + last[(t0 + t) * H + i]) * 0.5;
                }
                o[i] = (float)(acc / (double)n);
            }
            break;
        default:
            return sem_error_set(err, SEM_EINVAL, "unknown pooling %d", (int)p);
        }
    }
    return SEM_OK;
}
