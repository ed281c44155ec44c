/* common/irmetrics.c: ranking quality for one query (see irmetrics.h). */
#include "common/irmetrics.h"

#include <math.h>

double sem_ndcg_at(const int *rels, size_t n_ranked, const int *ideal, size_t n_relevant, size_t k)
{
    double dcg = 0, idcg = 0;
    for (size_t i = 0; i < n_ranked && i < k; i++)
        if (rels[i] > 0)
            dcg += (double)rels[i] / log2((double)i + 2.0);
    for (size_t i = 0; i < n_relevant && i < k; i++)
        if (ideal[i] > 0)
            idcg += (double)ideal[i] / log2((double)i + 2.0);
    return idcg > 0 ? dcg / idcg : NAN;
}

void sem_ir_score(const int *rels, size_t n_ranked, const int *ideal, size_t n_relevant, size_t k,
                  sem_ir_scores *out)
{
    if (n_relevant == 0) {
        out->ndcg = out->mrr = out->recall1 = out->recall10 = out->recall100 = out->ap = NAN;
        return;
    }
    out->ndcg = sem_ndcg_at(rels, n_ranked, ideal, n_relevant, k);
    out->mrr = 0;
    size_t found = 0, in1 = 0, in10 = 0, in100 = 0;
    double prec_sum = 0;
    for (size_t i = 0; i < n_ranked; i++) {
        if (rels[i] <= 0)
            continue;
        found++;
        if (i < k && out->mrr == 0)
            out->mrr = 1.0 / (double)(i + 1);
        in1 += i < 1;
        in10 += i < 10;
        in100 += i < 100;
        prec_sum += (double)found / (double)(i + 1);
    }
    out->recall1 = (double)in1 / (double)n_relevant;
    out->recall10 = (double)in10 / (double)n_relevant;
    out->recall100 = (double)in100 / (double)n_relevant;
    out->ap = prec_sum / (double)n_relevant;
}
