/* hub/cache.c: where the cache is, what is in it (list), and turning --model into a folder (resolve). */
#define _GNU_SOURCE
#include "hub/hub.h"
#include "hub/internal.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int name_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 96 || s[0] == '.' || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
        if (c == '.' && i + 1 < n && s[i + 1] == '.')
            return 0;
    }
    return 1;
}

int sem_hub_valid_repo_id(const char *repo)
{
    if (!repo)
        return 0;
    const char *slash = strchr(repo, '/');
    if (!slash || strchr(slash + 1, '/'))
        return 0;
    return name_part_ok(repo, (size_t)(slash - repo)) && name_part_ok(slash + 1, strlen(slash + 1));
}

static int put(char *out, size_t cap, sem_error *err, const char *a, const char *b)
{
    if ((size_t)snprintf(out, cap, "%s%s", a, b) >= cap)
        return sem_error_set(err, SEM_ERANGE, "cache path too long: %s%s", a, b);
    return SEM_OK;
}

int sem_hub_cache_dir(char *out, size_t cap, sem_error *err)
{
    if (cap)
        out[0] = '\0';
    const char *v = getenv("SEMSEARCH_HOME");
    if (v && *v)
        return put(out, cap, err, v, "");
    v = getenv("XDG_CACHE_HOME");
    if (v && v[0] == '/') /* the XDG spec: relative paths are invalid and ignored */
        return put(out, cap, err, v, "/semsearch");
    v = getenv("HOME");
    if (!v || !*v) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) == 0 && res && res->pw_dir && *res->pw_dir)
            return put(out, cap, err, res->pw_dir, "/.cache/semsearch");
        return sem_error_set(err, SEM_ENOTFOUND,
                             "no cache directory: HOME is unset (set SEMSEARCH_HOME to choose where models go)");
    }
    return put(out, cap, err, v, "/.cache/semsearch");
}

int hub_cache_or_default(const char *cache_dir, char *out, size_t cap, sem_error *err)
{
    if (cache_dir)
        return put(out, cap, err, cache_dir, "");
    return sem_hub_cache_dir(out, cap, err);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int sem_hub_resolve_model_in(const char *name_or_dir, const char *cache_dir, char *out, size_t cap, sem_error *err)
{
    if (cap)
        out[0] = '\0';
    if (!name_or_dir || !*name_or_dir)
        return sem_error_set(err, SEM_EINVAL, "no model given (a folder or a hub name ORG/NAME)");
    struct stat st;
    if (stat(name_or_dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return sem_error_set(err, SEM_EINVAL, "model '%s' is a file; a model is a folder (config.json, "
                                                  "vocab.txt, model.safetensors) or a hub name ORG/NAME",
                                 name_or_dir);
        return put(out, cap, err, name_or_dir, "");
    }
    if (sem_hub_is_shipped_name(name_or_dir))
        return sem_hub_shipped_model_in(name_or_dir, NULL, out, cap, err);
    char cache[HUB_PATH_MAX];
    int rc = hub_cache_or_default(cache_dir, cache, sizeof cache, err);
    if (rc != SEM_OK)
        return rc;
    if (!sem_hub_valid_repo_id(name_or_dir))
        return sem_error_set(err, SEM_ENOTFOUND,
                             "model '%s' not found: there is no such folder, and it is not a hub name ORG/NAME "
                             "to look up in the cache %s/models",
                             name_or_dir, cache);
    char dir[HUB_PATH_MAX];
    if ((size_t)snprintf(dir, sizeof dir, "%s/models/%s", cache, name_or_dir) >= sizeof dir)
        return sem_error_set(err, SEM_ERANGE, "cache path too long");
    if (!is_dir(dir))
        return sem_error_set(err, SEM_ENOTFOUND,
                             "model '%s' not found: no folder '%s' here and no cached model %s "
                             "(download it with 'semsearch model pull %s')",
                             name_or_dir, name_or_dir, dir, name_or_dir);
    hub_manifest m;
    sem_error e2;
    rc = hub_manifest_read(dir, &m, &e2);
    if (rc == SEM_OK) {
        int complete = m.complete;
        hub_manifest_free(&m);
        if (!complete)
            return sem_error_set(err, SEM_EFORMAT,
                                 "the cached model %s is incomplete (an interrupted pull?): run 'semsearch model "
                                 "pull %s' again",
                                 dir, name_or_dir);
    } else if (rc != SEM_ENOTFOUND) {
        return sem_error_set(err, rc, "%s", e2.msg);
    }
    return put(out, cap, err, dir, "");
}

int sem_hub_resolve_model(const char *name_or_dir, char *out, size_t cap, sem_error *err)
{
    return sem_hub_resolve_model_in(name_or_dir, NULL, out, cap, err);
}

/* Adds up the regular files under dir (depth-limited: model folders are shallow), skipping the hub's own. */
static void scan_files(const char *dir, const char *rel, int depth, sem_hub_model *m)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, ".lock") == 0 ||
            strcmp(n, SEM_HUB_MANIFEST) == 0 || strstr(n, ".tmp.") != NULL)
            continue;
        char p[HUB_PATH_MAX];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, n) >= sizeof p)
            continue;
        struct stat st;
        if (stat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 3) {
                char r[HUB_PATH_MAX];
                if ((size_t)snprintf(r, sizeof r, "%s%s/", rel, n) < sizeof r)
                    scan_files(p, r, depth + 1, m);
            }
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        m->size += (uint64_t)st.st_size;
        size_t nl = strlen(n);
        if (nl > 11 && strcmp(n + nl - 11, ".incomplete") == 0)
            m->n_incomplete++;
        else
            m->n_files++;
    }
    closedir(d);
}

static int file_has_size(const char *dir, const char *rel, int check_size, uint64_t size)
{
    char p[HUB_PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, rel) >= sizeof p || stat(p, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    return !check_size || (uint64_t)st.st_size == size;
}

static int fill_entry(sem_hub_model *e, const char *org, const char *name, const char *dir)
{
    memset(e, 0, sizeof *e);
    size_t nl = strlen(org) + strlen(name) + 2;
    e->name = malloc(nl);
    e->path = strdup(dir);
    if (!e->name || !e->path)
        return SEM_ENOMEM;
    snprintf(e->name, nl, "%s/%s", org, name);
    scan_files(dir, "", 0, e);
    hub_manifest m;
    int rc = hub_manifest_read(dir, &m, NULL);
    if (rc == SEM_OK) {
        e->revision = strdup(m.revision);
        e->commit = strdup(m.commit);
        e->n_expected = (int)m.n_files;
        e->complete = m.complete;
        for (size_t i = 0; i < m.n_files && e->complete; i++)
            e->complete = file_has_size(dir, m.files[i].path, 1, m.files[i].size);
        hub_manifest_free(&m);
    } else if (rc == SEM_ENOTFOUND) { /* a folder put there by hand */
        e->revision = strdup("-");
        e->commit = strdup("-");
        e->complete = file_has_size(dir, "config.json", 0, 0) && file_has_size(dir, "vocab.txt", 0, 0) &&
                      file_has_size(dir, "model.safetensors", 0, 0);
    } else { /* a damaged manifest: the next pull rewrites it */
        e->revision = strdup("?");
        e->commit = strdup("?");
        e->complete = 0;
    }
    return e->revision && e->commit ? SEM_OK : SEM_ENOMEM;
}

void sem_hub_list_free(sem_hub_model *models, size_t n)
{
    if (!models)
        return;
    for (size_t i = 0; i < n; i++) {
        free(models[i].name);
        free(models[i].path);
        free(models[i].revision);
        free(models[i].commit);
    }
    free(models);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const sem_hub_model *)a)->name, ((const sem_hub_model *)b)->name);
}

int sem_hub_list(const char *cache_dir, sem_hub_model **out, size_t *n, sem_error *err)
{
    *out = NULL;
    *n = 0;
    char cache[HUB_PATH_MAX], models[HUB_PATH_MAX];
    int rc = hub_cache_or_default(cache_dir, cache, sizeof cache, err);
    if (rc != SEM_OK)
        return rc;
    if ((size_t)snprintf(models, sizeof models, "%s/models", cache) >= sizeof models)
        return sem_error_set(err, SEM_ERANGE, "cache path too long");
    DIR *d = opendir(models);
    if (!d) {
        if (errno == ENOENT)
            return SEM_OK;
        return sem_error_set(err, SEM_EIO, "cannot read %s: %s", models, strerror(errno));
    }
    sem_hub_model *list = NULL;
    size_t count = 0, cap = 0;
    struct dirent *org;
    while (rc == SEM_OK && (org = readdir(d)) != NULL) {
        char orgdir[HUB_PATH_MAX];
        if (org->d_name[0] == '.' ||
            (size_t)snprintf(orgdir, sizeof orgdir, "%s/%s", models, org->d_name) >= sizeof orgdir ||
            !is_dir(orgdir))
            continue;
        DIR *od = opendir(orgdir);
        if (!od)
            continue;
        struct dirent *nm;
        while (rc == SEM_OK && (nm = readdir(od)) != NULL) {
            char dir[HUB_PATH_MAX], id[256];
            if ((size_t)snprintf(id, sizeof id, "%s/%s", org->d_name, nm->d_name) >= sizeof id ||
                !sem_hub_valid_repo_id(id) ||
                (size_t)snprintf(dir, sizeof dir, "%s/%s", orgdir, nm->d_name) >= sizeof dir || !is_dir(dir))
                continue;
            if (count == cap) {
                size_t nc = cap ? cap * 2 : 8;
                sem_hub_model *nl = realloc(list, nc * sizeof *nl);
                if (!nl) {
                    rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
                    break;
                }
                list = nl;
                cap = nc;
            }
            count++;
            if (fill_entry(&list[count - 1], org->d_name, nm->d_name, dir) != SEM_OK)
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
        closedir(od);
    }
    closedir(d);
    if (rc != SEM_OK) {
        sem_hub_list_free(list, count);
        return rc;
    }
    if (count > 1)
        qsort(list, count, sizeof *list, by_name);
    *out = list;
    *n = count;
    return SEM_OK;
}
