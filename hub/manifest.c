/* hub/manifest.c: the cache manifest (.semsearch-hub.json) of one pulled model. */
#define _GNU_SOURCE
#include "hub/hub.h"
#include "hub/internal.h"

#include "common/fileio.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX_BYTES (1u << 20)

void hub_manifest_free(hub_manifest *m)
{
    if (!m)
        return;
    free(m->repo);
    free(m->revision);
    free(m->commit);
    free(m->endpoint);
    for (size_t i = 0; i < m->n_files; i++)
        free(m->files[i].path);
    free(m->files);
    memset(m, 0, sizeof *m);
}

const hub_manifest_file *hub_manifest_find(const hub_manifest *m, const char *path)
{
    for (size_t i = 0; i < m->n_files; i++)
        if (strcmp(m->files[i].path, path) == 0)
            return &m->files[i];
    return NULL;
}

int hub_manifest_set_file(hub_manifest *m, const char *path, uint64_t size, const char *etag, sem_error *err)
{
    hub_manifest_file *f = (hub_manifest_file *)hub_manifest_find(m, path);
    if (!f) {
        hub_manifest_file *files = realloc(m->files, (m->n_files + 1) * sizeof *files);
        if (!files)
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        m->files = files;
        f = &files[m->n_files];
        memset(f, 0, sizeof *f);
        f->path = strdup(path);
        if (!f->path)
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        m->n_files++;
    }
    f->size = size;
    snprintf(f->etag, sizeof f->etag, "%s", etag ? etag : "");
    return SEM_OK;
}

static char *dup_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return strdup(cJSON_IsString(v) && v->valuestring ? v->valuestring : "");
}

int hub_manifest_read(const char *dir, hub_manifest *m, sem_error *err)
{
    memset(m, 0, sizeof *m);
    char path[HUB_PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, SEM_HUB_MANIFEST) >= sizeof path)
        return sem_error_set(err, SEM_ERANGE, "path too long: %s", dir);
    char *text = NULL;
    size_t len = 0;
    int rc = sem_read_file(path, MANIFEST_MAX_BYTES, &text, &len, err);
    if (rc != SEM_OK)
        return rc;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *files = root ? cJSON_GetObjectItemCaseSensitive(root, "files") : NULL;
    if (!cJSON_IsObject(root) || !cJSON_IsArray(files)) {
        cJSON_Delete(root);
        return sem_error_set(err, SEM_EFORMAT, "%s is not a semsearch hub manifest", path);
    }
    m->repo = dup_str(root, "repo");
    m->revision = dup_str(root, "revision");
    m->commit = dup_str(root, "commit");
    m->endpoint = dup_str(root, "endpoint");
    m->complete = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "complete"));
    rc = (m->repo && m->revision && m->commit && m->endpoint) ? SEM_OK
                                                              : sem_error_set(err, SEM_ENOMEM, "out of memory");
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        if (rc != SEM_OK)
            break;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "path");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(f, "size");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(f, "etag");
        if (!cJSON_IsString(p) || !cJSON_IsNumber(s) || !cJSON_IsString(e) || s->valuedouble < 0 ||
            s->valuedouble > 9007199254740992.0) {
            rc = sem_error_set(err, SEM_EFORMAT, "%s: a file entry is malformed", path);
            break;
        }
        rc = hub_manifest_set_file(m, p->valuestring, (uint64_t)s->valuedouble, e->valuestring, err);
    }
    cJSON_Delete(root);
    if (rc != SEM_OK)
        hub_manifest_free(m);
    return rc;
}

int hub_manifest_write(const char *dir, const hub_manifest *m, sem_error *err)
{
    char path[HUB_PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, SEM_HUB_MANIFEST) >= sizeof path)
        return sem_error_set(err, SEM_ERANGE, "path too long: %s", dir);
    int rc = SEM_OK;
    char *text = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *files = cJSON_CreateArray();
    if (!root || !files || !cJSON_AddItemToObject(root, "files", files)) {
        cJSON_Delete(files);
        goto oom;
    }
    if (!cJSON_AddStringToObject(root, "repo", m->repo ? m->repo : "") ||
        !cJSON_AddStringToObject(root, "revision", m->revision ? m->revision : "") ||
        !cJSON_AddStringToObject(root, "commit", m->commit ? m->commit : "") ||
        !cJSON_AddStringToObject(root, "endpoint", m->endpoint ? m->endpoint : "") ||
        !cJSON_AddBoolToObject(root, "complete", m->complete))
        goto oom;
    for (size_t i = 0; i < m->n_files; i++) {
        cJSON *f = cJSON_CreateObject();
        if (!f || !cJSON_AddItemToArray(files, f)) {
            cJSON_Delete(f);
            goto oom;
        }
        if (!cJSON_AddStringToObject(f, "path", m->files[i].path) ||
            !cJSON_AddNumberToObject(f, "size", (double)m->files[i].size) ||
            !cJSON_AddStringToObject(f, "etag", m->files[i].etag))
            goto oom;
    }
    text = cJSON_Print(root);
    if (!text)
        goto oom;
    rc = sem_write_file_atomic(path, text, strlen(text), err);
    free(text);
    cJSON_Delete(root);
    return rc;
oom:
    cJSON_Delete(root);
    return sem_error_set(err, SEM_ENOMEM, "out of memory writing %s", path);
}
