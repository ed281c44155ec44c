/* tests/encoder/test_model_util.h: helpers shared by the model / forward / CLI tests: JSON-lines fixtures from
 * ../shared/testdata, arrays out of cJSON, and the relative-error measure of the parity tests:
 * ||a - ref|| / ||ref|| (L2). Header-only; every function is static. */
#ifndef SEM_TEST_MODEL_UTIL_H
#define SEM_TEST_MODEL_UTIL_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

#define TD_DIR SEM_SHARED_DIR "/testdata"

static const char *const td_models[] = {"bert-tiny-uncased", "bert-tiny-chinese", "bert-tiny-uncased-mlm-f16",
                                        "bert-small-uncased-bf16"};
#define TD_N_MODELS 4

/* Reads a JSON-lines file: *n parsed lines (cJSON, caller frees with jl_free). NULL if unreadable. */
static inline cJSON **jl_load(const char *path, int *n)
{
    char *buf = NULL;
    size_t len = 0;
    *n = 0;
    if (sem_read_file(path, 64u << 20, &buf, &len, NULL))
        return NULL;
    int cap = 16;
    cJSON **lines = malloc((size_t)cap * sizeof *lines);
    char *p = buf;
    while (lines && *p) {
        char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l > 0) {
            if (*n == cap) {
                cap *= 2;
                cJSON **g = realloc(lines, (size_t)cap * sizeof *lines);
                if (!g)
                    break;
                lines = g;
            }
            lines[(*n)++] = cJSON_ParseWithLength(p, l);
        }
        p += l + (nl ? 1 : 0);
    }
    free(buf);
    return lines;
}

static inline void jl_free(cJSON **lines, int n)
{
    for (int i = 0; lines && i < n; i++)
        cJSON_Delete(lines[i]);
    free(lines);
}

/* The int array o[key] into a malloc'd int32 array; *n its length. */
static inline int32_t *j_ints(const cJSON *o, const char *key, int *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    *n = cJSON_GetArraySize(a);
    int32_t *v = malloc(((size_t)*n + 1) * sizeof *v);
    for (int i = 0; v && i < *n; i++)
        v[i] = (int32_t)cJSON_GetArrayItem(a, i)->valuedouble;
    return v;
}

/* A numeric array (1-D, or 2-D/3-D flattened) into a malloc'd double array; *n elements. */
static inline void j_flatten(const cJSON *a, double *out, int *n)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (cJSON_IsArray(e))
            j_flatten(e, out, n);
        else {
            if (out)
                out[*n] = e->valuedouble;
            (*n)++;
        }
    }
}

static inline double *j_doubles(const cJSON *o, const char *key, int *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    *n = 0;
    j_flatten(a, NULL, n);
    double *v = malloc(((size_t)*n + 1) * sizeof *v);
    int k = 0;
    if (v)
        j_flatten(a, v, &k);
    return v;
}

/* ||a - ref|| / ||ref|| */
static inline double rel_err(const float *a, const double *ref, size_t n)
{
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)a[i] - ref[i];
        d += e * e;
        r += ref[i] * ref[i];
    }
    return r > 0 ? sqrt(d / r) : sqrt(d);
}

static inline char *td_path(char *buf, size_t sz, const char *a, const char *b, const char *c)
{
    snprintf(buf, sz, "%s/%s%s%s%s%s", TD_DIR, a, b ? "/" : "", b ? b : "", c ? "/" : "", c ? c : "");
    return buf;
}

#endif
