/* tests/query/test_resultjson.c: query/resultjson.c, the one search-result JSON of POST /search and `semsearch
 * query --json`: hit fields (a missing title is "", metadata that is not an object is {}, "answer" only for FAQ
 * passages, the ranks only when set), the score's float digits (no double noise), took_ms rounded to the
 * microsecond and the hybrid weight to 3 decimals (only in hybrid mode). */
#include "test.h"

#include "query/resultjson.h"

#include <stdlib.h>

int main(void)
{
    sem_search_hit h[2] = {{.doc_id = "faq1", .passage_no = 2, .start = 5, .end = 40, .score = 0.83f,
                            .semantic_rank = 1, .text = "Wash your hands.", .title = "Hygiene",
                            .meta_json = "{\"lang\":\"en\"}", .answer = "Wash your hands."},
                           {.doc_id = "d2", .score = -1.5e-6f, .lexical_rank = 3, .text = "x", .meta_json = "[1]"}};
    sem_search_result r = {h, 2, 12.3456789, 0.30000001f};
    cJSON *o = sem_search_result_json(&r, SEM_MODE_HYBRID, r.took_ms);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    CHECK(s != NULL);
    CHECK_MSG(s && strstr(s, "\"mode\":\"hybrid\"") && strstr(s, "\"semantic_weight\":0.3,") &&
                  strstr(s, "\"took_ms\":12.346"), "%s", s);
    CHECK_MSG(s && strstr(s, "\"score\":0.829999983,"), "%s", s); /* a float's digits, not 0.8299999833106995 */
    const cJSON *hits = cJSON_GetObjectItemCaseSensitive(o, "hits");
    const cJSON *a = cJSON_GetArrayItem(hits, 0), *b = cJSON_GetArrayItem(hits, 1);
    CHECK(cJSON_GetArraySize(hits) == 2);
    CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(a, "title")->valuestring, "Hygiene");
    CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(a, "answer")->valuestring, "Wash your hands.");
    CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(a, "metadata"), "lang")->valuestring,
                "en");
    CHECK(cJSON_GetObjectItemCaseSensitive(a, "semantic_rank")->valueint == 1 &&
          !cJSON_GetObjectItemCaseSensitive(a, "lexical_rank"));
    CHECK(cJSON_GetObjectItemCaseSensitive(a, "start")->valueint == 5 &&
          cJSON_GetObjectItemCaseSensitive(a, "end")->valueint == 40 &&
          cJSON_GetObjectItemCaseSensitive(a, "passage")->valueint == 2);
    CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(b, "title")->valuestring, ""); /* no title: "" (HTTP API) */
    CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(b, "metadata")) &&
          !cJSON_GetObjectItemCaseSensitive(b, "metadata")->child);
    CHECK(!cJSON_GetObjectItemCaseSensitive(b, "answer") && !cJSON_GetObjectItemCaseSensitive(b, "semantic_rank"));
    CHECK((float)cJSON_GetObjectItemCaseSensitive(b, "score")->valuedouble == -1.5e-6f); /* tiny bm25: kept */
    free(s);
    cJSON_Delete(o);
    o = sem_search_result_json(&r, SEM_MODE_LEXICAL, 1.0);
    CHECK(o && !cJSON_GetObjectItemCaseSensitive(o, "semantic_weight") &&
          !strcmp(cJSON_GetObjectItemCaseSensitive(o, "mode")->valuestring, "lexical"));
    cJSON_Delete(o);
    sem_search_result empty = {NULL, 0, 0, 0};
    o = sem_search_result_json(&empty, SEM_MODE_SEMANTIC, 0);
    CHECK(o && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "hits")) == 0);
    cJSON_Delete(o);
    TEST_END();
}
