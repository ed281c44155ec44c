/* adapt/state.c: KB/adapt-work/state.json, where an unfinished adapt run stands (adapt/adapt_impl.h). */
#define _GNU_SOURCE /* nftw */
#include <cjson/cJSON.h>
#include <ftw.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/adapt_impl.h"
#include "common/fileio.h"

#define STATE_FILE "state.json"
#define STATE_VERSION 1

/* The numbers of the state, by name: one table for reading and writing. */
typedef struct num_field {
    const char *name;
    double *d;
    long *l;
    int *i;
} num_field;

static size_t fields(adapt_state *st, num_field *f)
{
    sem_adapt_report *r = &st->rep;
    num_field t[] = {
        {"generation", NULL, NULL, &st->generation}, {"stage", NULL, NULL, &st->stage},
        {"mlm_budget_s", &st->budget_s[0], NULL, NULL}, {"con_budget_s", &st->budget_s[1], NULL, NULL},
        {"mlm_s_per_update", &st->sps[0], NULL, NULL}, {"con_s_per_update", &st->sps[1], NULL, NULL},
        {"mlm_fixed_steps", NULL, &st->steps[0], NULL}, {"con_fixed_steps", NULL, &st->steps[1], NULL},
        {"passages", NULL, &r->passages, NULL}, {"docs", NULL, &r->docs, NULL},
        {"docs_held_out", NULL, &r->docs_held_out, NULL}, {"pairs", NULL, &r->pairs, NULL},
        {"pairs_title", NULL, &r->pairs_title, NULL}, {"pairs_sentence", NULL, &r->pairs_sentence, NULL},
        {"pairs_neighbour", NULL, &r->pairs_neighbour, NULL}, {"negatives", NULL, &r->negatives, NULL},
        {"corpus_tokens", NULL, &r->corpus_tokens, NULL},
    };
    size_t n = sizeof t / sizeof t[0];
    if (f)
        memcpy(f, t, sizeof t);
    return n;
}

int adapt_state_write(const char *work, const adapt_state *st, sem_error *err)
{
    cJSON *o = cJSON_CreateObject();
    num_field f[32];
    size_t n = fields((adapt_state *)st, f);
    int ok = o && cJSON_AddNumberToObject(o, "version", STATE_VERSION) &&
             cJSON_AddStringToObject(o, "base_model", st->base_model) &&
             cJSON_AddStringToObject(o, "base_hash", st->base_hash);
    for (size_t i = 0; ok && i < n; i++)
        ok = cJSON_AddNumberToObject(o, f[i].name, f[i].d ? *f[i].d : f[i].l ? (double)*f[i].l : *f[i].i) != NULL;
    char *s = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        return sem_error_set(err, SEM_ENOMEM, "out of memory writing the adapt state");
    char *path = sem_path_join(work, STATE_FILE);
    int rc = path ? sem_write_file_atomic(path, s, strlen(s), err) : sem_error_set(err, SEM_ENOMEM, "out of memory");
    free(path);
    free(s);
    return rc;
}

static int copy_str(const cJSON *o, const char *k, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
        return -1;
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

int adapt_state_read(const char *work, adapt_state *st, sem_error *err)
{
    char *path = sem_path_join(work, STATE_FILE), *buf = NULL;
    size_t len = 0;
    if (!path)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int rc = sem_path_exists(path) ? sem_read_file(path, 1 << 20, &buf, &len, err) : SEM_ENOTFOUND;
    if (rc == SEM_ENOTFOUND)
        sem_error_set(err, SEM_ENOTFOUND, "%s: no adapt run", work);
    cJSON *o = rc == SEM_OK ? cJSON_ParseWithLength(buf, len) : NULL;
    if (rc == SEM_OK) {
        memset(st, 0, sizeof *st);
        num_field f[32];
        size_t n = fields(st, f);
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(o, "version");
        int bad = !o || !cJSON_IsNumber(ver) || ver->valuedouble != STATE_VERSION ||
                  copy_str(o, "base_model", st->base_model, sizeof st->base_model) ||
                  copy_str(o, "base_hash", st->base_hash, sizeof st->base_hash);
        for (size_t i = 0; !bad && i < n; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f[i].name);
            if (!cJSON_IsNumber(v) || !(v->valuedouble >= -1 && v->valuedouble <= 1e15)) {
                bad = 1;
                break;
            }
            if (f[i].d)
                *f[i].d = v->valuedouble;
            else if (f[i].l)
                *f[i].l = (long)v->valuedouble;
            else
                *f[i].i = (int)v->valuedouble;
        }
        if (!bad && (st->stage < SEM_ADAPT_MINE || st->stage > SEM_ADAPT_DONE || st->generation < 1))
            bad = 1;
        if (bad)
            rc = sem_error_set(err, SEM_EFORMAT, "%s: damaged adapt state", path);
    }
    cJSON_Delete(o);
    free(buf);
    free(path);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 ? -1 : 0;
}

int adapt_remove_tree(const char *dir, sem_error *err)
{
    if (!sem_path_exists(dir))
        return SEM_OK;
    if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return sem_error_set(err, SEM_EIO, "%s: cannot remove it", dir);
    return SEM_OK;
}
