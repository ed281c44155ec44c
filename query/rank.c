/* query/rank.c: the pure parts of search: mode names, query defaults and the word filter for lexical queries
 * (fusion of rankings is in fuse.c) (no store or encoder calls, so unit tests link only this file). */
#include <stdlib.h>
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

static int is_word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

char *sem_fts_words(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (!is_word_byte((unsigned char)text[i])) {
            i++;
            continue;
        }
        if (k)
            out[k++] = ' ';
        while (i < n && is_word_byte((unsigned char)text[i]))
            out[k++] = text[i++];
    }
    out[k] = 0;
    return out;
}

