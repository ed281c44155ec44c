/* tests/hub/test_shipped.c: the short names of the shipped models (semsearch-default, semsearch-zh) and the
 * default model: sem_hub_is_shipped_name, sem_hub_shipped_model_in, sem_hub_resolve_model on a short name, and
 * sem_hub_default_model under $SEMSEARCH_MODEL. */
#include "test.h"
#include "test_util.h"

#include <stdlib.h>
#include <unistd.h>

#include "common/fileio.h"
#include "hub/hub.h"

#define SHIPPED SEM_SOURCE_DIR "/models"

static char tmp[256];

static void mkfile(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    CHECK_EQ_INT(tst_write_file(p, "{}", 2), 0);
}

static void test_names(void)
{
    CHECK_EQ_INT(sem_hub_is_shipped_name("semsearch-zh"), 1);
    CHECK_EQ_INT(sem_hub_is_shipped_name("semsearch-default"), 1);
    CHECK_EQ_INT(sem_hub_is_shipped_name(SEM_MODEL_ZH_NAME), 1);
    CHECK_EQ_INT(sem_hub_is_shipped_name("semsearch"), 0);
    CHECK_EQ_INT(sem_hub_is_shipped_name("Semsearch-zh"), 0);
    CHECK_EQ_INT(sem_hub_is_shipped_name("semsearch-zh/"), 0);
    CHECK_EQ_INT(sem_hub_is_shipped_name("models/semsearch-zh"), 0);
    CHECK_EQ_INT(sem_hub_is_shipped_name(""), 0);
    CHECK_EQ_INT(sem_hub_is_shipped_name(NULL), 0);
}

/* A models folder of our own: installed or not, and what comes back. */
static void test_shipped_in(void)
{
    sem_error err;
    char out[4096], want[600], models[512];
    snprintf(models, sizeof models, "%s/models", tmp);
    CHECK_EQ_INT(tst_sh("mkdir -p '%s/semsearch-zh' '%s/semsearch-default'", models, models), 0);

    /* the folder is there but holds no config.json: not installed, and the message says which folder */
    CHECK_EQ_INT(sem_hub_shipped_model_in("semsearch-zh", models, out, sizeof out, &err), SEM_ENOTFOUND);
    CHECK_MSG(strstr(err.msg, "not installed") && strstr(err.msg, "semsearch-zh") && strstr(err.msg, models),
              "%s", err.msg);
    CHECK_STREQ(out, "");
    mkfile("models/semsearch-zh/config.json");
    CHECK_EQ_INT(sem_hub_shipped_model_in("semsearch-zh", models, out, sizeof out, &err), SEM_OK);
    snprintf(want, sizeof want, "%s/semsearch-zh", models);
    CHECK_STREQ(out, want);
    CHECK_EQ_INT(sem_hub_shipped_model_in("semsearch-zh", models, out, 10, &err), SEM_ERANGE);
    CHECK_EQ_INT(sem_hub_shipped_model_in("semsearch-default", models, out, sizeof out, &err), SEM_ENOTFOUND);
    CHECK_EQ_INT(sem_hub_shipped_model_in("org/model", models, out, sizeof out, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_hub_shipped_model_in(NULL, models, out, sizeof out, &err), SEM_EINVAL);
    snprintf(want, sizeof want, "%s/nothing-here", tmp);
    CHECK_EQ_INT(sem_hub_shipped_model_in("semsearch-default", want, out, sizeof out, NULL), SEM_ENOTFOUND);
}

/* sem_hub_resolve_model on a short name finds the project's own models/ folder. */
static void test_resolve(void)
{
    sem_error err;
    char out[4096];
    int have_default = sem_path_exists(SHIPPED "/semsearch-default/config.json");
    int have_zh = sem_path_exists(SHIPPED "/semsearch-zh/config.json");
    printf("shipped: semsearch-default %s, semsearch-zh %s\n", have_default ? "installed" : "missing",
           have_zh ? "installed" : "missing");
    int rc = sem_hub_resolve_model("semsearch-default", out, sizeof out, &err);
    if (have_default) {
        CHECK_MSG(rc == SEM_OK, "%s", err.msg);
        CHECK_STREQ(out, SHIPPED "/semsearch-default");
    } else {
        CHECK_EQ_INT(rc, SEM_ENOTFOUND);
    }
    rc = sem_hub_resolve_model("semsearch-zh", out, sizeof out, &err);
    if (have_zh) {
        CHECK_MSG(rc == SEM_OK, "%s", err.msg);
        CHECK_STREQ(out, SHIPPED "/semsearch-zh");
    } else {
        CHECK_EQ_INT(rc, SEM_ENOTFOUND);
        CHECK_MSG(strstr(err.msg, "not installed") && strstr(err.msg, "the Chinese model"), "%s", err.msg);
    }
    /* an existing folder of that name wins, as for any --model */
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_EQ_INT(chdir(tmp), 0);
    CHECK_EQ_INT(tst_sh("mkdir -p semsearch-zh"), 0);
    CHECK_EQ_INT(sem_hub_resolve_model("semsearch-zh", out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, "semsearch-zh");
    CHECK_EQ_INT(chdir(cwd), 0);
}

static void test_default(void)
{
    unsetenv(SEM_DEFAULT_MODEL_ENV);
    const char *d = sem_hub_default_model();
    if (sem_path_exists(SHIPPED "/semsearch-default/config.json"))
        CHECK_STREQ(d, SHIPPED "/semsearch-default");
    else
        CHECK(d == NULL);
    setenv(SEM_DEFAULT_MODEL_ENV, "semsearch-zh", 1);
    CHECK_STREQ(sem_hub_default_model(), "semsearch-zh");
    setenv(SEM_DEFAULT_MODEL_ENV, "none", 1);
    CHECK(sem_hub_default_model() == NULL);
    setenv(SEM_DEFAULT_MODEL_ENV, "", 1);
    CHECK(sem_hub_default_model() == d);
    unsetenv(SEM_DEFAULT_MODEL_ENV);
}

int main(void)
{
    tst_mkdtemp(tmp, sizeof tmp, "sem_shipped");
    test_names();
    test_shipped_in();
    test_resolve();
    test_default();
    tst_sh("rm -rf '%s'", tmp);
    TEST_END();
}
