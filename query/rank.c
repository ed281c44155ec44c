/* query/rank.c: the pure parts of search: mode names and query defaults (fusion of rankings is in fuse.c; the
 * words of a lexical query are the store's, sem_fts_words) (no store or encoder calls). */
#include <string.h>

#include "query/search.h"

int sem_search_mode_parse(const char *name)
{
    static const char *names[] = {"semantic", "lexical", "hybrid"};
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *sem_search_mode_name(int mode)
{
    return mode == SEM_MODE_LEXICAL ? "lexical" : mode == SEM_MODE_HYBRID ? "hybrid" : "semantic";
}

sem_query_params sem_query_default_params(void)
{
    sem_query_params p;
    memset(&p, 0, sizeof p);
    p.k = 10;
    p.mode = SEM_MODE_SEMANTIC;
    p.fusion = SEM_FUSION_CC;
    p.semantic_weight = 0; /* the KB's (sem_search_semantic_weight) */
    return p;
}
