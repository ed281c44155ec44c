/* query/resultjson.c: search results as JSON (see resultjson.h). */
#include "query/resultjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

cJSON *sem_search_hit_json(const sem_search_hit *h)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", h->doc_id ? h->doc_id : "");
    cJSON_AddNumberToObject(o, "passage", h->passage_no);
    /* a float printed as a double shows noise digits (0.8300000429); round-trip precision is enough */
    char sc[32];
    snprintf(sc, sizeof sc, "%.9g", (double)h->score);
    cJSON_AddItemToObject(o, "score", cJSON_CreateNumber(strtod(sc, NULL)));
    cJSON_AddStringToObject(o, "text", h->text ? h->text : "");
    cJSON_AddStringToObject(o, "title", h->title ? h->title : "");
    cJSON *m = h->meta_json ? cJSON_Parse(h->meta_json) : NULL;
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        m = cJSON_CreateObject();
    }
    cJSON_AddItemToObject(o, "metadata", m);
    if (h->answer)
        cJSON_AddStringToObject(o, "answer", h->answer);
    cJSON_AddNumberToObject(o, "start", (double)h->start);
    cJSON_AddNumberToObject(o, "end", (double)h->end);
    if (h->semantic_rank)
        cJSON_AddNumberToObject(o, "semantic_rank", h->semantic_rank);
    if (h->lexical_rank)
        cJSON_AddNumberToObject(o, "lexical_rank", h->lexical_rank);
    return o;
}

cJSON *sem_search_result_json(const sem_search_result *r, int mode, double took_ms)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *hits = cJSON_AddArrayToObject(out, "hits");
    if (!hits) {
        cJSON_Delete(out);
        return NULL;
    }
    for (int i = 0; i < r->n; i++) {
        cJSON *h = sem_search_hit_json(&r->hits[i]);
        if (!h || !cJSON_AddItemToArray(hits, h)) {
            cJSON_Delete(h);
            cJSON_Delete(out);
            return NULL;
        }
    }
    if (!cJSON_AddStringToObject(out, "mode", sem_search_mode_name(mode)) ||
        (mode == SEM_MODE_HYBRID && /* given, or the KB's calibrated weight (docs/query.md) */
         !cJSON_AddNumberToObject(out, "semantic_weight", round(r->semantic_weight * 1000.0) / 1000.0)) ||
        !cJSON_AddNumberToObject(out, "took_ms", round(took_ms * 1000.0) / 1000.0)) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}
