/* web/kb.c: one knowledge base behind the server: the store handle, the encoder model that made its vectors
 * (NULL for a KB without a model, which serves lexical search only) and that model's pool of contexts. */
#include "web/internal.h"

#include "query/search.h"
#include "store/kb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct web_kb {
    char *name; /* the directory's base name */
    char *path;
    sem_search *search; /* owns the KB and the model */
    sem_encoder_pool *pool; /* contexts for the embedding routes and document writes; NULL without a model */
};

static char *base_name(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/')
        b--;
    char *s = malloc(n - b + 1);
    if (s) {
        memcpy(s, path + b, n - b);
        s[n - b] = '\0';
    }
    return s;
}

web_kb *web_kb_open(const char *path, const char *model_dir, int precision, sem_error *err)
{
    web_kb *k = calloc(1, sizeof *k);
    if (!k)
        return sem_error_set(err, SEM_ENOMEM, "out of memory"), NULL;
    k->path = strdup(path);
    k->name = base_name(path);
    if (!k->path || !k->name) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    /* Read-write: the server adds and deletes documents. The query layer finds the model (model_dir, else the
     * folder the KB records, else the hub cache) and checks that it is the KB's. */
    sem_search_open_params op = sem_search_default_open_params();
    op.model = model_dir;
    op.precision = precision;
    op.read_only = 0;
    k->search = sem_search_open(path, &op, err);
    if (!k->search) {
        sem_error_prefix(err, "%s", path);
        goto fail;
    }
    if (sem_search_model(k->search) && !(k->pool = sem_encoder_pool_new(sem_search_model(k->search), err)))
        goto fail;
    return k;
fail:
    web_kb_close(k);
    return NULL;
}

void web_kb_close(web_kb *k)
{
    if (!k)
        return;
    sem_encoder_pool_free(k->pool);
    sem_search_free(k->search);
    free(k->name);
    free(k->path);
    free(k);
}

const char *web_kb_name(const web_kb *k)
{
    return k->name;
}

sem_kb *web_kb_store(const web_kb *k)
{
    return sem_search_kb(k->search);
}

sem_search *web_kb_search(const web_kb *k)
{
    return k->search;
}

const sem_model *web_kb_model(const web_kb *k)
{
    return sem_search_model(k->search);
}

sem_encoder_pool *web_kb_encpool(const web_kb *k)
{
    return k->pool;
}

web_kb *web_kb_pick(const web_state *st, const char *name, web_reply *r)
{
    if (!name)
        return st->kbs[0];
    for (int i = 0; i < st->n_kbs; i++)
        if (strcmp(web_kb_name(st->kbs[i]), name) == 0)
            return st->kbs[i];
    web_error(r, 404, "unknown knowledge base '%s'", name);
    return NULL;
}

web_kb *web_kb_pick_model(const web_state *st, const char *kb_name, web_reply *r)
{
    web_kb *k = web_kb_pick(st, kb_name, r);
    if (k && !web_kb_model(k)) {
        web_error(r, 400, "knowledge base '%s' has no encoder model (it serves lexical search only)", k->name);
        return NULL;
    }
    return k;
}
