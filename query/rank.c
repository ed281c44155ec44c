/* query/rank.c: the pure parts of search: mode names, query defaults, reciprocal rank fusion and the word filter
 * for lexical queries (no store or encoder calls, so unit tests link only this file). */
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

typedef struct rrf_ent {
    int64_t id;
    double score;
    int ra, rb;
} rrf_ent;

static int rrf_cmp(const void *x, const void *y)
{
    const rrf_ent *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    int ba = a->ra && (!a->rb || a->ra < a->rb) ? a->ra : a->rb;
    int bb = b->ra && (!b->rb || b->ra < b->rb) ? b->ra : b->rb;
    if (ba != bb)
        return ba < bb ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

int sem_rrf_fuse(const int64_t *a, int na, const int64_t *b, int nb, int k0, int cap, int64_t *out_ids,
                 double *out_scores, int *ranks_a, int *ranks_b)
{
    if (na < 0 || nb < 0 || cap < 0)
        return SEM_EINVAL;
    rrf_ent *e = malloc(((size_t)na + (size_t)nb + 1) * sizeof *e);
    if (!e)
        return SEM_ENOMEM;
    int n = 0;
    for (int i = 0; i < na; i++)
        e[n++] = (rrf_ent){a[i], 1.0 / (k0 + i + 1), i + 1, 0};
    /* b: merge into a's entry when present (lists are short: k at most a few thousand; quadratic is fine for
     * small lists, sorted lookup would be needed beyond) */
    int n_a = n;
    for (int j = 0; j < nb; j++) {
        int found = -1;
        for (int i = 0; i < n_a; i++)
            if (e[i].id == b[j]) {
                found = i;
                break;
            }
        if (found >= 0) {
            e[found].score += 1.0 / (k0 + j + 1);
            e[found].rb = j + 1;
        } else {
            e[n++] = (rrf_ent){b[j], 1.0 / (k0 + j + 1), 0, j + 1};
        }
    }
    qsort(e, (size_t)n, sizeof *e, rrf_cmp);
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

