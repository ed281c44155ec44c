/* shard/manifest.c: the manifest of a sharded KB (shards.json): routing, paths, and its JSON both ways. The file
 * is input like any other: the parser checks every field's type, range and length (fuzzed: fuzz_manifest). */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/hash.h"
#include "shard/shard.h"

int sem_shard_of(const char *doc_id, int n)
{
    return n > 1 ? (int)(sem_fnv1a64_str(doc_id) % (uint64_t)n) : 0;
}

int sem_shard_exists(const char *dir)
{
    char *p = sem_path_join(dir, SEM_SHARD_MANIFEST);
    int e = p && sem_path_exists(p);
    free(p);
    return e;
}

int sem_shard_dir(const char *kb_dir, int i, char *out, size_t cap, sem_error *err)
{
    int n = snprintf(out, cap, "%s/shard-%04d", kb_dir, i);
    if (n < 0 || (size_t)n >= cap)
        return sem_error_set(err, SEM_ERANGE, "the path of shard %d of %s is too long", i, kb_dir);
    return SEM_OK;
}

/* Copies the string member name of o into out (cap bytes, NUL included); SEM_EFORMAT unless it is a string that
 * fits. */
static int get_str(const cJSON *o, const char *name, char *out, size_t cap, sem_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v) || !v->valuestring)
        return sem_error_set(err, SEM_EFORMAT, "shard manifest: \"%s\" must be a string", name);
    size_t n = strlen(v->valuestring);
    if (n >= cap)
        return sem_error_set(err, SEM_EFORMAT, "shard manifest: \"%s\" is longer than %zu bytes", name, cap - 1);
    memcpy(out, v->valuestring, n + 1);
    return SEM_OK;
}

/* The integer member name of o in [lo, hi] into *out; SEM_EFORMAT otherwise (not a number, fractional, out of
 * range). */
static int get_int(const cJSON *o, const char *name, int lo, int hi, int *out, sem_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= lo && d <= hi) || d != floor(d))
        return sem_error_set(err, SEM_EFORMAT, "shard manifest: \"%s\" must be an integer in %d..%d", name, lo, hi);
    *out = (int)d;
    return SEM_OK;
}

static int get_bool(const cJSON *o, const char *name, int *out, sem_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsBool(v))
        return sem_error_set(err, SEM_EFORMAT, "shard manifest: \"%s\" must be true or false", name);
    *out = cJSON_IsTrue(v);
    return SEM_OK;
}

static int parse_model(const cJSON *o, sem_kb_model *m, sem_error *err)
{
    const cJSON *mo = cJSON_GetObjectItemCaseSensitive(o, "model");
    if (!cJSON_IsObject(mo))
        return sem_error_set(err, SEM_EFORMAT, "shard manifest: \"model\" must be an object");
    int rc = get_str(mo, "name", m->name, sizeof m->name, err);
    if (!rc)
        rc = get_str(mo, "config_hash", m->config_hash, sizeof m->config_hash, err);
    if (!rc)
        rc = get_str(mo, "pooling", m->pooling, sizeof m->pooling, err);
    if (!rc)
        rc = get_bool(mo, "normalize", &m->normalize, err);
    if (!rc)
        rc = get_int(mo, "dim", 1, SEM_DOC_MAX_VECTOR_DIM, &m->dim, err);
    return rc;
}

int sem_shard_manifest_parse(const char *json, size_t len, sem_shard_manifest *out, sem_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json || len > SEM_SHARD_MANIFEST_MAX_BYTES)
        return sem_error_set(err, SEM_EFORMAT, "shard manifest: empty or longer than %d bytes",
                             SEM_SHARD_MANIFEST_MAX_BYTES);
    cJSON *o = cJSON_ParseWithLength(json, len);
    char routing[32];
    int rc = cJSON_IsObject(o) ? SEM_OK : sem_error_set(err, SEM_EFORMAT, "shard manifest: not a JSON object");
    if (!rc)
        rc = get_int(o, "format", 1, INT_MAX, &out->format, err);
    if (!rc && out->format != SEM_SHARD_FORMAT)
        rc = sem_error_set(err, SEM_EFORMAT, "shard manifest: format %d, this build reads format %d", out->format,
                           SEM_SHARD_FORMAT);
    if (!rc)
        rc = get_int(o, "shards", 1, SEM_SHARD_MAX, &out->n_shards, err);
    if (!rc)
        rc = get_str(o, "routing", routing, sizeof routing, err);
    if (!rc && strcmp(routing, SEM_SHARD_ROUTING) != 0)
        rc = sem_error_set(err, SEM_EFORMAT, "shard manifest: unknown routing \"%s\" (this build: %s)", routing,
                           SEM_SHARD_ROUTING);
    if (!rc)
        rc = parse_model(o, &out->model, err);
    if (!rc)
        rc = get_bool(o, "lexical_only", &out->lexical_only, err);
    if (!rc)
        rc = get_str(o, "index_spec", out->index_spec, sizeof out->index_spec, err);
    cJSON_Delete(o);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

char *sem_shard_manifest_to_json(const sem_shard_manifest *m)
{
    cJSON *o = cJSON_CreateObject(), *mo = cJSON_CreateObject();
    char *s = NULL;
    if (o && mo && cJSON_AddNumberToObject(o, "format", m->format) && cJSON_AddNumberToObject(o, "shards", m->n_shards) &&
        cJSON_AddStringToObject(o, "routing", SEM_SHARD_ROUTING) && cJSON_AddStringToObject(mo, "name", m->model.name) &&
        cJSON_AddStringToObject(mo, "config_hash", m->model.config_hash) &&
        cJSON_AddStringToObject(mo, "pooling", m->model.pooling) &&
        cJSON_AddBoolToObject(mo, "normalize", m->model.normalize) &&
        cJSON_AddNumberToObject(mo, "dim", m->model.dim) && cJSON_AddItemToObject(o, "model", mo)) {
        mo = NULL; /* o owns it now */
        if (cJSON_AddBoolToObject(o, "lexical_only", m->lexical_only) &&
            cJSON_AddStringToObject(o, "index_spec", m->index_spec))
            s = cJSON_Print(o);
    }
    cJSON_Delete(mo);
    cJSON_Delete(o);
    return s;
}

int sem_shard_manifest_read(const char *kb_dir, sem_shard_manifest *out, sem_error *err)
{
    memset(out, 0, sizeof *out);
    char *path = sem_path_join(kb_dir, SEM_SHARD_MANIFEST), *text = NULL;
    size_t len = 0;
    if (!path)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int rc = sem_path_exists(path) ? SEM_OK
                                   : sem_error_set(err, SEM_ENOTFOUND, "%s is not a sharded KB (no %s)", kb_dir,
                                                   SEM_SHARD_MANIFEST);
    if (!rc)
        rc = sem_read_file(path, SEM_SHARD_MANIFEST_MAX_BYTES, &text, &len, err);
    if (!rc)
        rc = sem_shard_manifest_parse(text, len, out, err);
    if (rc && rc != SEM_ENOTFOUND)
        sem_error_prefix(err, "%s", path);
    free(text);
    free(path);
    return rc;
}

int sem_shard_manifest_write(const char *kb_dir, const sem_shard_manifest *m, sem_error *err)
{
    char *path = sem_path_join(kb_dir, SEM_SHARD_MANIFEST), *text = sem_shard_manifest_to_json(m);
    int rc = path && text ? sem_write_file_atomic(path, text, strlen(text), err)
                          : sem_error_set(err, SEM_ENOMEM, "out of memory");
    free(path);
    free(text);
    return rc;
}
