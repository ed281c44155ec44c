/* tests/query/test_query_params.c: the names and defaults of the query parameters: search modes, fusion methods,
 * sem_query_default_params. */
#include "test.h"

#include "query/search.h"

int main(void)
{
    CHECK_EQ_INT(sem_search_mode_parse("hybrid"), SEM_MODE_HYBRID);
    CHECK_EQ_INT(sem_search_mode_parse("lexical"), SEM_MODE_LEXICAL);
    CHECK_EQ_INT(sem_search_mode_parse("semantic"), SEM_MODE_SEMANTIC);
    CHECK_EQ_INT(sem_search_mode_parse("fuzzy"), -1);
    CHECK_STREQ(sem_search_mode_name(SEM_MODE_HYBRID), "hybrid");
    CHECK_EQ_INT(sem_fusion_parse("cc"), SEM_FUSION_CC);
    CHECK_EQ_INT(sem_fusion_parse("rrf"), SEM_FUSION_RRF);
    CHECK_EQ_INT(sem_fusion_parse("max"), -1);
    CHECK_STREQ(sem_fusion_name(SEM_FUSION_RRF), "rrf");
    sem_query_params p = sem_query_default_params();
    CHECK_EQ_INT(p.k, 10);
    CHECK_EQ_INT(p.mode, SEM_MODE_SEMANTIC);
    CHECK_EQ_INT(p.fusion, SEM_FUSION_CC);
    CHECK_NEAR(p.semantic_weight, 0, 0); /* 0: the KB's weight (calibrated, else SEM_HYBRID_SEMANTIC_WEIGHT) */
    TEST_END();
}
