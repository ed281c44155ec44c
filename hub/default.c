/* hub/default.c: the models the project ships in models/ (semsearch-default, semsearch-zh): their short names,
 * and the default model used wherever a command that needs a model is given none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "hub/hub.h"

#ifndef SEM_MODELS_DIR
#define SEM_MODELS_DIR "models" /* set by hub/CMakeLists.txt to the source tree's models/ */
#endif

int sem_hub_is_shipped_name(const char *name)
{
    return name && (strcmp(name, SEM_MODEL_DEFAULT_NAME) == 0 || strcmp(name, SEM_MODEL_ZH_NAME) == 0);
}

int sem_hub_shipped_model_in(const char *name, const char *models_dir, char *out, size_t cap, sem_error *err)
{
    if (cap)
        out[0] = '\0';
    if (!sem_hub_is_shipped_name(name))
        return sem_error_set(err, SEM_EINVAL, "'%s' is not the name of a shipped model (%s, %s)", name ? name : "",
                             SEM_MODEL_DEFAULT_NAME, SEM_MODEL_ZH_NAME);
    const char *root = models_dir ? models_dir : SEM_MODELS_DIR;
    char dir[4096], cfg[4096 + 16];
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, name) >= sizeof dir)
        return sem_error_set(err, SEM_ERANGE, "models folder path too long");
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    if (!sem_path_exists(cfg)) {
        const char *what = strcmp(name, SEM_MODEL_ZH_NAME) == 0 ? "the Chinese model" : "the default model";
        return sem_error_set(err, SEM_ENOTFOUND,
                             "model '%s' (%s) is not installed: %s has no config.json; train it (see "
                             "docs/hub.md) or pass --model with another model folder or hub name ORG/NAME",
                             name, what, dir);
    }
    size_t n = strlen(dir);
    if (n + 1 > cap)
        return sem_error_set(err, SEM_ERANGE, "model path too long for the buffer");
    memcpy(out, dir, n + 1);
    return SEM_OK;
}

const char *sem_hub_default_model(void)
{
    static const char shipped[] = SEM_MODELS_DIR "/" SEM_MODEL_DEFAULT_NAME;
    const char *e = getenv(SEM_DEFAULT_MODEL_ENV);
    if (e && *e)
        return strcmp(e, "none") == 0 ? NULL : e;
    char dir[sizeof shipped];
    return sem_hub_shipped_model_in(SEM_MODEL_DEFAULT_NAME, NULL, dir, sizeof dir, NULL) == SEM_OK ? shipped : NULL;
}
