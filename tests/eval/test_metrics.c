/* tests/eval/test_metrics.c: eval/metrics.h against hand-computed cases: nearest-neighbour recall (by id and
 * tie-aware by distance, duplicates, -1 padding), graded nDCG, MRR, Recall@k, AP, empty rankings, queries
 * without qrels, Spearman with tied ranks, Pearson, and the undefined cases (NaN, never a crash). */
#include "test.h"

#include "eval/metrics.h"
#include "eval/svgplot.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static void test_ann_recall(void)
{
    const int64_t res[] = {5, 3, 9, /**/ 1, 2, 4};
    const int64_t gt1[] = {3, 7};         /* (2, 1): nearest only */
    const int64_t gt2[] = {3, 5, /**/ 7, 1}; /* (2, 2) */
    CHECK_NEAR(sem_recall_at(res, 3, gt1, 1, 2, 1), 0.0, 0);
    CHECK_NEAR(sem_recall_at(res, 3, gt1, 1, 2, 2), 0.5, 0);
    CHECK_NEAR(sem_recall_at(res, 3, gt1, 1, 2, 3), 0.5, 0);
    CHECK_NEAR(sem_recall_at(res, 3, gt1, 1, 2, 100), 0.5, 0); /* r beyond the results: all of them */
    CHECK_NEAR(sem_k_recall_at(res, 3, gt2, 2, 2, 2), 0.75, 1e-12); /* (2/2 + 1/2) / 2 */
    CHECK(isnan(sem_k_recall_at(res, 3, gt2, 2, 2, 3)));          /* gt shallower than k */
    CHECK(isnan(sem_recall_at(res, 3, gt1, 1, 0, 1)));            /* no queries */
    const int64_t dup[] = {3, 3}, gtd[] = {3, 5};
    CHECK_NEAR(sem_k_recall_at(dup, 2, gtd, 2, 1, 2), 0.5, 0); /* a repeated id counts once */
    const int64_t pad[] = {-1, -1}, gtp[] = {-1, 4};
    CHECK_NEAR(sem_k_recall_at(pad, 2, gtp, 2, 1, 2), 0.0, 0); /* -1 never matches, not even -1 */

    /* tie-aware: id 8 is as close as the true nearest 3 (distance 0.5), so it counts; L2 (smaller is better) */
    const int64_t r2[] = {8, 9};
    const float r2d[] = {0.5f, 0.9f}, g2d[] = {0.5f, 0.7f};
    CHECK_NEAR(sem_recall_at_dist(r2, r2d, 2, g2d, 2, 1, 1, 0), 1.0, 0);
    CHECK_NEAR(sem_k_recall_at_dist(r2, r2d, 2, g2d, 2, 1, 2, 0), 0.5, 0); /* 0.9 > 0.7 */
    const float r3d[] = {0.5000001f, 0.7f};                                  /* float rounding: still a hit */
    CHECK_NEAR(sem_k_recall_at_dist(r2, r3d, 2, g2d, 2, 1, 2, 0), 1.0, 0);
    /* inner product (larger is better) */
    const float ipd[] = {0.8f, 0.2f}, ipg[] = {0.9f, 0.5f};
    CHECK_NEAR(sem_recall_at_dist(r2, ipd, 2, ipg, 2, 1, 2, 1), 0.0, 0);
    CHECK_NEAR(sem_k_recall_at_dist(r2, ipd, 2, ipg, 2, 1, 2, 1), 0.5, 0); /* 0.8 >= 0.5, 0.2 < 0.5 */
    const int64_t r4[] = {-1, 9};
    const float r4d[] = {0.0f, 0.5f};
    CHECK_NEAR(sem_recall_at_dist(r4, r4d, 2, g2d, 2, 1, 1, 0), 0.0, 0); /* -1 ignored though "distance 0" */
    CHECK_NEAR(sem_recall_at_dist(r4, r4d, 2, g2d, 2, 1, 2, 0), 1.0, 0);
}

static void test_ir(void)
{
    /* ranking rels [2, 0, 1]; three relevant documents with grades 2, 1, 1 (one never retrieved) */
    const int rels[] = {2, 0, 1}, ideal[] = {2, 1, 1};
    sem_ir_scores s;
    sem_ir_score(rels, 3, ideal, 3, 10, &s);
    double dcg = 2.0 / 1.0 + 1.0 / 2.0;                   /* ranks 1 and 3: log2(2) = 1, log2(4) = 2 */
    double idcg = 2.0 + 1.0 / log2(3.0) + 1.0 / 2.0;
    CHECK_NEAR(s.ndcg, dcg / idcg, 1e-12);
    CHECK_NEAR(s.ndcg, 0.7984849, 1e-6); /* 2.5 / (2.5 + 1/log2(3)) */
    CHECK_NEAR(s.mrr, 1.0, 0);
    CHECK_NEAR(s.recall1, 1.0 / 3.0, 1e-12);
    CHECK_NEAR(s.recall10, 2.0 / 3.0, 1e-12);
    CHECK_NEAR(s.recall100, 2.0 / 3.0, 1e-12);
    CHECK_NEAR(s.ap, (1.0 / 1.0 + 2.0 / 3.0) / 3.0, 1e-12); /* precision at each relevant hit / all relevant */

    /* cut-off: nDCG@1 sees only rank 1 */
    CHECK_NEAR(sem_ndcg_at(rels, 3, ideal, 3, 1), 1.0, 1e-12);
    const int late[] = {0, 0, 3}, late_ideal[] = {3};
    sem_ir_score(late, 3, late_ideal, 1, 10, &s);
    CHECK_NEAR(s.mrr, 1.0 / 3.0, 1e-12);
    CHECK_NEAR(s.ndcg, (3.0 / 2.0) / 3.0, 1e-12);
    CHECK_NEAR(s.recall1, 0.0, 0);
    CHECK_NEAR(s.recall10, 1.0, 0);
    sem_ir_score(late, 3, late_ideal, 1, 2, &s); /* MRR@2: the hit at rank 3 does not count */
    CHECK_NEAR(s.mrr, 0.0, 0);
    CHECK_NEAR(s.ndcg, 0.0, 0);

    /* empty results for a judged query: zeros */
    sem_ir_score(NULL, 0, ideal, 3, 10, &s);
    CHECK_NEAR(s.ndcg, 0.0, 0);
    CHECK_NEAR(s.mrr, 0.0, 0);
    CHECK_NEAR(s.recall100, 0.0, 0);
    CHECK_NEAR(s.ap, 0.0, 0);
    /* a query without relevant documents: undefined (callers skip it) */
    sem_ir_score(rels, 3, NULL, 0, 10, &s);
    CHECK(isnan(s.ndcg) && isnan(s.mrr) && isnan(s.ap) && isnan(s.recall1));
    /* a relevant document beyond rank 100 counts for AP but not Recall@100 */
    int deep[150] = {0};
    deep[120] = 1;
    const int one[] = {1};
    sem_ir_score(deep, 150, one, 1, 10, &s);
    CHECK_NEAR(s.recall100, 0.0, 0);
    CHECK_NEAR(s.ap, 1.0 / 121.0, 1e-12);
}

static void test_correlation(void)
{
    const double x[] = {1, 2, 3}, y[] = {2, 4, 7};
    CHECK_NEAR(sem_pearson(x, y, 3), 15.0 / sqrt(228.0), 1e-12);
    CHECK_NEAR(sem_spearman(x, y, 3), 1.0, 1e-12);
    const double yr[] = {7, 4, 2};
    CHECK_NEAR(sem_spearman(x, yr, 3), -1.0, 1e-12);

    /* ties get the average rank: ranks of {3,1,3,2} are {3.5,1,3.5,2} */
    const double t[] = {3, 1, 3, 2};
    double r[4];
    CHECK_EQ_INT(sem_rank_average(t, 4, r), 0);
    CHECK_NEAR(r[0], 3.5, 0);
    CHECK_NEAR(r[1], 1.0, 0);
    CHECK_NEAR(r[2], 3.5, 0);
    CHECK_NEAR(r[3], 2.0, 0);
    /* Spearman with a tie: ranks x {1,2.5,2.5,4}, y {1,3,2,4}: 4.5 / sqrt(4.5 * 5) */
    const double a[] = {1, 2, 2, 3}, b[] = {1, 3, 2, 4};
    CHECK_NEAR(sem_spearman(a, b, 4), 4.5 / sqrt(22.5), 1e-12);
    /* all tied: every rank is the middle one, so the correlation is undefined */
    const double c[] = {5, 5, 5, 5};
    CHECK_EQ_INT(sem_rank_average(c, 4, r), 0);
    CHECK_NEAR(r[0], 2.5, 0);
    CHECK(isnan(sem_spearman(c, b, 4)));
    CHECK(isnan(sem_pearson(c, b, 4)));
    CHECK(isnan(sem_pearson(x, y, 1)));
    CHECK(isnan(sem_spearman(x, y, 0)));
    const double withnan[] = {1, NAN, 3};
    CHECK(isnan(sem_spearman(withnan, y, 3)));
    CHECK_EQ_INT(sem_rank_average(withnan, 3, r), -1);
}

/* The plot writer: names are XML-escaped, unusable points skipped, degenerate inputs still give a document. */
static void test_svg(void)
{
    const double x[] = {0.5, NAN, 0.9, 1.0}, y[] = {100, 50, -1, 1000};
    sem_plot_series s[2] = {{"IVF<1>&\"x\"", x, y, 4}, {"empty", NULL, NULL, 0}};
    sem_plot_opts o = sem_plot_default_opts();
    o.ylog = 1;
    o.title = "a < b";
    char *svg = sem_svg_plot(s, 2, &o);
    CHECK(svg != NULL);
    if (svg) {
        CHECK(strstr(svg, "IVF&lt;1&gt;&amp;&quot;x&quot;") != NULL);
        CHECK(strstr(svg, "a &lt; b") != NULL);
        CHECK(strstr(svg, "IVF<1>") == NULL);
        CHECK(strstr(svg, "</svg>") != NULL);
        /* the NaN point and y = -1 (log axis) are skipped: 2 markers of series 0 in the plot + 2 legend markers */
        int circles = 0;
        for (const char *p = svg; (p = strstr(p, "<circle")); p++)
            circles++;
        CHECK_EQ_INT(circles, 2 + 2);
        free(svg);
    }
    svg = sem_svg_plot(NULL, 0, NULL);
    CHECK(svg && strstr(svg, "<svg") && strstr(svg, "</svg>"));
    free(svg);
}

int main(void)
{
    test_svg();
    test_ann_recall();
    test_ir();
    test_correlation();
    TEST_END();
}
