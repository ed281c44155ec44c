/* query/calib_record.c: the hybrid-weight calibration as it is kept in a KB: one JSON object under the KB setting
 * SEM_CALIBRATION_KEY (see search.h). The KB file is input like any other: parsing checks every field's type
 * and range, and a damaged record reads as "not calibrated" with an error for the caller to log. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query/search.h"

#define RECORD_VERSION 1
#define RECORD_MAX 8192

char *sem_calibration_to_json(const sem_calibration *c)
{
    cJSON *o = cJSON_CreateObject(), *g = o ? cJSON_AddArrayToObject(o, "grid") : NULL;
    int ok = g && cJSON_AddNumberToObject(o, "version", RECORD_VERSION) && cJSON_AddNumberToObject(o, "semantic_weight",
                                                                                              c->semantic_weight) &&
             cJSON_AddNumberToObject(o, "best_weight", c->best_weight) &&
             cJSON_AddNumberToObject(o, "queries", c->n_queries) && cJSON_AddNumberToObject(o, "passages", c->n_passages) &&
             cJSON_AddNumberToObject(o, "lexical", c->lexical) && cJSON_AddNumberToObject(o, "semantic", c->semantic) &&
             cJSON_AddNumberToObject(o, "hybrid", c->hybrid) && cJSON_AddNumberToObject(o, "seconds", c->seconds) &&
             cJSON_AddStringToObject(o, "model", c->model_hash);
    for (int i = 0; ok && i < SEM_CALIBRATION_GRID; i++) {
        cJSON *x = cJSON_CreateNumber(c->grid[i]);
        ok = x && cJSON_AddItemToArray(g, x);
    }
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* A number field of o in [lo, hi] into *out; 0 if missing, not a number or out of range. */
static int num_in(const cJSON *o, const char *name, double lo, double hi, double *out)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= lo && x->valuedouble <= hi))
        return 0;
    *out = x->valuedouble;
    return 1;
}

static int parse_fields(const cJSON *o, sem_calibration *c)
{
    double v, w, b, q, np;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "grid");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "model");
    if (!num_in(o, "version", RECORD_VERSION, RECORD_VERSION, &v) || !num_in(o, "semantic_weight", 0, 1, &w) ||
        !num_in(o, "best_weight", 0, 1, &b) || !num_in(o, "queries", 0, SEM_CALIBRATION_MAX_QUERIES, &q) ||
        !num_in(o, "passages", 0, 2e9, &np) || !num_in(o, "lexical", 0, 1, &c->lexical) ||
        !num_in(o, "semantic", 0, 1, &c->semantic) || !num_in(o, "hybrid", 0, 1, &c->hybrid) ||
        !num_in(o, "seconds", 0, 1e7, &c->seconds) || !cJSON_IsString(m) ||
        strlen(m->valuestring) >= sizeof c->model_hash || !cJSON_IsArray(g) ||
        cJSON_GetArraySize(g) != SEM_CALIBRATION_GRID)
        return 0;
    for (int i = 0; i < SEM_CALIBRATION_GRID; i++) {
        const cJSON *x = cJSON_GetArrayItem(g, i);
        if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0 && x->valuedouble <= 1))
            return 0;
        c->grid[i] = x->valuedouble;
    }
    c->semantic_weight = (float)w;
    c->best_weight = (float)b;
    c->n_queries = (int)q;
    c->n_passages = (int)np;
    strcpy(c->model_hash, m->valuestring);
    return 1;
}

int sem_calibration_parse(const char *json, sem_calibration *out, sem_error *err)
{
    memset(out, 0, sizeof *out);
    cJSON *o = json ? cJSON_ParseWithLength(json, strnlen(json, RECORD_MAX + 1)) : NULL;
    int ok = cJSON_IsObject(o) && parse_fields(o, out);
    cJSON_Delete(o);
    if (!ok) {
        memset(out, 0, sizeof *out);
        return sem_error_set(err, SEM_EFORMAT, "the KB's hybrid calibration record is damaged (recalibrate: "
                                               "semsearch kb calibrate)");
    }
    out->present = 1;
    return SEM_OK;
}

int sem_calibration_read(sem_kb *kb, sem_calibration *out, sem_error *err)
{
    memset(out, 0, sizeof *out);
    char *buf = malloc(RECORD_MAX);
    if (!buf)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    sem_error e;
    sem_error_clear(&e);
    int rc = sem_kb_get_setting(kb, SEM_CALIBRATION_KEY, buf, RECORD_MAX, &e);
    if (rc == SEM_ENOTFOUND) {
        rc = SEM_OK; /* never calibrated */
    } else if (rc) {
        sem_error_set(err, rc, "%s", e.msg);
    } else if ((rc = sem_calibration_parse(buf, out, err)) == SEM_OK) {
        sem_kb_model km;
        sem_kb_get_model(kb, &km);
        out->present = strcmp(out->model_hash, km.config_hash) == 0; /* made with another model: stale */
    }
    free(buf);
    return rc;
}
