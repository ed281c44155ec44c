/* hub/default.c: the project's default model, used wherever a command that needs a model is given none. */
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "hub/hub.h"

const char *sem_hub_default_model(void)
{
    const char *e = getenv(SEM_DEFAULT_MODEL_ENV);
    if (e && *e)
        return strcmp(e, "none") == 0 ? NULL : e;
#ifdef SEM_DEFAULT_MODEL_DIR
    char *cfg = sem_path_join(SEM_DEFAULT_MODEL_DIR, "config.json");
    int ok = cfg && sem_path_exists(cfg);
    free(cfg);
    if (ok)
        return SEM_DEFAULT_MODEL_DIR;
#endif
    return NULL;
}
