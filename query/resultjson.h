/* query/resultjson.h: search results as JSON, the one format that POST /search answers and `semsearch query
 * --json` prints (docs/query.md, "Search results as JSON"):
 *   {"hits":[{"id","passage","score","text","title","metadata","answer"?,"start","end","semantic_rank"?,
 *             "lexical_rank"?}],"mode","semantic_weight"? (hybrid),"took_ms"}
 * to which the caller adds its own members (the server "kb" and "terms", the CLI "query").
 * Scores keep a float's round-trip digits (%.9g), took_ms is rounded to the microsecond, the weight to 3
 * decimals; a missing title is "", metadata that is not a JSON object is {}; "answer" only for FAQ passages,
 * the ranks only when the hit is in that ranking.
 * Thread-safety: pure functions of their arguments (cJSON allocates). */
#ifndef SEM_QUERY_RESULTJSON_H
#define SEM_QUERY_RESULTJSON_H

#include "query/search.h"

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One hit as a JSON object (caller deletes), or NULL when out of memory. */
cJSON *sem_search_hit_json(const sem_search_hit *h);

/* The result r of a search in mode (sem_search_mode) that took took_ms, as a JSON object (caller deletes), or
 * NULL when out of memory. */
cJSON *sem_search_result_json(const sem_search_result *r, int mode, double took_ms);

#ifdef __cplusplus
}
#endif
#endif
