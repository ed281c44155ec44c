/* kbmodel/kbmodel.c: a KB's model: identity, finding and recording its folder, opening a KB with its model
 * (kbmodel/kbmodel.h). */
#define _GNU_SOURCE
#include "kbmodel/kbmodel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "hub/hub.h"

void sem_kbmodel_identity(const sem_model *m, sem_kb_model *out)
{
    sem_model_info mi;
    sem_model_get_info(m, &mi);
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", mi.name ? mi.name : "");
    snprintf(out->config_hash, sizeof out->config_hash, "%s", mi.config_hash ? mi.config_hash : "");
    snprintf(out->pooling, sizeof out->pooling, "%s", sem_pooling_name(mi.pooling));
    out->normalize = mi.normalize;
    out->dim = mi.dim;
}

int sem_kbmodel_check(const sem_kb *kb, const sem_model *model, const char *model_dir, sem_error *err)
{
    sem_kb_model mm;
    sem_kbmodel_identity(model, &mm);
    int rc = sem_kb_check_model(kb, &mm, err);
    if (rc && model_dir)
        sem_error_prefix(err, "the model at %s", model_dir);
    return rc;
}

int sem_kbmodel_find(sem_kb *kb, const char *given, char *out, size_t cap, sem_error *err)
{
    if (given)
        return sem_hub_resolve_model(given, out, cap, err);
    if (sem_kb_get_model_dir(kb, out, cap, NULL) == SEM_OK && sem_path_exists(out))
        return SEM_OK;
    sem_kb_model km;
    sem_kb_get_model(kb, &km);
    if ((sem_hub_valid_repo_id(km.name) || sem_hub_is_shipped_name(km.name)) &&
        sem_hub_resolve_model(km.name, out, cap, NULL) == SEM_OK)
        return SEM_OK;
    return sem_error_set(err, SEM_ENOTFOUND,
                         "cannot find the model '%s' that %s was indexed with: pass --model DIR (or NAME)", km.name,
                         sem_kb_dir(kb));
}

int sem_kbmodel_record(sem_kb *kb, const char *model_dir, sem_error *err)
{
    char abs[PATH_MAX];
    if (!realpath(model_dir, abs))
        return sem_error_set(err, SEM_EIO, "%s: %s", model_dir, strerror(errno));
    return sem_kb_set_model_dir(kb, abs, err);
}

sem_encode_params sem_kbmodel_encode_params(const sem_kb *kb)
{
    sem_encode_params ep = sem_encode_default_params();
    if (sem_kb_get_metric(kb) == SEM_KB_METRIC_IP)
        ep.normalize = 1;
    return ep;
}

const char *sem_kbmodel_passage_text(const char *title, const char *passage, char **owned)
{
    *owned = NULL;
    size_t tl = title ? strlen(title) : 0, pl = strlen(passage);
    if (tl == 0)
        return passage;
    for (size_t off = 0; off <= 8 && passage[off]; off++)
        if (strncmp(passage + off, title, tl) == 0)
            return passage;
    const char *sep = strchr(".?!:;", title[tl - 1]) ? " " : ". ";
    if (tl > SIZE_MAX / 2 || pl > SIZE_MAX / 2 - 4 || !(*owned = malloc(tl + pl + 3)))
        return NULL;
    snprintf(*owned, tl + pl + 3, "%s%s%s", title, sep, passage);
    return *owned;
}

/* ---- the encoder precision a KB records ------------------------------------------------------------------ */

int sem_kbmodel_get_precision(sem_kb *kb, sem_precision *out, int *recorded, sem_error *err)
{
    char v[64];
    sem_error e;
    *out = SEM_PRECISION_F32;
    if (recorded)
        *recorded = 0;
    int rc = sem_kb_get_setting(kb, SEM_KBMODEL_PRECISION_KEY, v, sizeof v, &e);
    if (rc == SEM_ENOTFOUND)
        return SEM_OK;
    if (rc && rc != SEM_EFORMAT) /* SEM_EFORMAT: longer than any precision name, reported below */
        return sem_error_set(err, rc, "%s: %s", sem_kb_dir(kb), e.msg);
    int pr = rc ? -1 : sem_precision_parse(v);
    for (char *c = v; pr < 0 && *c; c++) /* the file's bytes go into a message: no control characters */
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    if (pr < 0)
        return sem_error_set(err, SEM_EFORMAT,
                             "KB %s records the encoder precision '%.40s%s', which is not f32, bf16 or int8 (give "
                             "--precision, or record one with 'index add --precision')",
                             sem_kb_dir(kb), v, rc ? "..." : "");
    *out = (sem_precision)pr;
    if (recorded)
        *recorded = 1;
    return SEM_OK;
}

int sem_kbmodel_set_precision(sem_kb *kb, sem_precision precision, sem_error *err)
{
    return sem_kb_set_setting(kb, SEM_KBMODEL_PRECISION_KEY, sem_precision_name(precision), err);
}

/* ---- opening a KB with its model ------------------------------------------------------------------------- */

sem_kbmodel_params sem_kbmodel_default_params(void)
{
    sem_kbmodel_params p;
    memset(&p, 0, sizeof p);
    p.precision = -1;
    return p;
}

/* Finds, loads and checks the model of the open KB out->kb (which has one). */
static int load_model(const sem_kbmodel_params *p, sem_kbmodel *out, sem_error *err)
{
    int rc = sem_kbmodel_find(out->kb, p->model, out->model_dir, sizeof out->model_dir, err);
    if (rc)
        return rc;
    sem_model_params mp = sem_model_default_params();
    if (p->n_threads > 0)
        mp.n_threads = p->n_threads;
    if (p->precision >= 0)
        mp.precision = (sem_precision)p->precision;
    else if ((rc = sem_kbmodel_get_precision(out->kb, &mp.precision, NULL, err)))
        return rc;
    if (!(out->model = sem_model_load(out->model_dir, &mp, err)))
        return err ? err->code : SEM_EIO;
    return sem_kbmodel_check(out->kb, out->model, out->model_dir, err);
}

int sem_kbmodel_open(const char *kb_dir, const sem_kbmodel_params *params, sem_kbmodel *out, sem_error *err)
{
    sem_kbmodel_params p = params ? *params : sem_kbmodel_default_params();
    memset(out, 0, sizeof *out);
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = p.read_only;
    if (!(out->kb = sem_kb_open(kb_dir, &op, err)))
        return err ? err->code : SEM_EIO;
    sem_kb_model km;
    sem_kb_get_model(out->kb, &km);
    int rc = SEM_OK;
    if (km.config_hash[0])
        rc = load_model(&p, out, err);
    else if (p.model)
        rc = sem_error_set(err, SEM_EMISMATCH, "%s has no model (lexical-only or raw vectors): it cannot take --model",
                           kb_dir);
    if (rc)
        sem_kbmodel_close(out);
    return rc;
}

void sem_kbmodel_close(sem_kbmodel *km)
{
    if (!km)
        return;
    sem_kb_close(km->kb);
    sem_model_free(km->model);
    memset(km, 0, sizeof *km);
}
