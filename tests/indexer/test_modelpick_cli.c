/* tests/indexer/test_modelpick_cli.c: `semsearch index add` on a new KB without --model picks the shipped model
 * by the documents' script and says so on stderr; the short names --model semsearch-default / semsearch-zh; an
 * existing KB, $SEMSEARCH_MODEL and -q. Runs the real binary with the project's models/ folder: where
 * models/semsearch-zh is not installed (it is trained separately), Chinese documents must fall back to the
 * English model with a warning; where it is, they must get it. Skips (77) without models/semsearch-default. */
#include "test.h"
#include "test_util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fileio.h"
#include "store/kb.h"

#define MODELS SEM_SOURCE_DIR "/models"
#define ZH_FAQ SEM_SOURCE_DIR "/data/zh-faq/debian-faq-zh.jsonl"

static char tmp[256];
static char out_buf[1 << 16], err_buf[1 << 16];

/* Runs "[ENV] semsearch ARGS" with $SEMSEARCH_MODEL unset unless ENV sets it; output into out_buf/err_buf. */
static int sem(const char *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sem(const char *env, const char *fmt, ...)
{
    char args[2048], o[512], e[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(o, sizeof o, "%s/stdout", tmp);
    snprintf(e, sizeof e, "%s/stderr", tmp);
    int rc = tst_sh("env -u SEMSEARCH_MODEL %s %s %s >'%s' 2>'%s'", env ? env : "", SEM_BINARY, args, o, e);
    char *s = tst_slurp(o, NULL);
    snprintf(out_buf, sizeof out_buf, "%s", s ? s : "");
    free(s);
    s = tst_slurp(e, NULL);
    snprintf(err_buf, sizeof err_buf, "%s", s ? s : "");
    free(s);
    CHECK_MSG(strstr(err_buf, "Sanitizer") == NULL && strstr(err_buf, "runtime error") == NULL, "%s: %s", args,
              err_buf);
    return rc;
}

/* The model name a KB records ("" for a lexical-only KB). */
static void kb_model(const char *kb, char *out, size_t cap)
{
    sem_error err;
    out[0] = 0;
    sem_kb *k = sem_kb_open(kb, NULL, &err);
    CHECK_MSG(k != NULL, "%s", err.msg);
    if (!k)
        return;
    sem_kb_model m;
    sem_kb_get_model(k, &m);
    snprintf(out, cap, "%s", sem_kb_lexical_only(k) ? "" : m.name);
    sem_kb_close(k);
}

int main(void)
{
    if (!sem_path_exists(MODELS "/semsearch-default/config.json")) {
        printf("skip: models/semsearch-default is not installed\n");
        return 77;
    }
    int have_zh = sem_path_exists(MODELS "/semsearch-zh/config.json");
    printf("models/semsearch-zh: %s\n", have_zh ? "installed" : "not installed (expect the fallback)");
    snprintf(tmp, sizeof tmp, "/tmp/sem_pickcli_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char zh[512], en[512], kb[512], name[256];
    snprintf(zh, sizeof zh, "%s/zh.jsonl", tmp);
    snprintf(en, sizeof en, "%s/en.jsonl", tmp);
    /* the first 6 entries of the bundled Chinese FAQ, and 6 rows of the English COVID FAQ */
    CHECK_EQ_INT(tst_sh("head -n 6 '%s' >'%s'", ZH_FAQ, zh), 0);
    CHECK_EQ_INT(tst_sh("head -n 6 '%s/data/eval/covid-faq/corpus.jsonl' >'%s'", SEM_SOURCE_DIR, en), 0);

    /* Chinese documents, no --model */
    snprintf(kb, sizeof kb, "%s/kb-zh", tmp);
    CHECK_EQ_INT(sem(NULL, "index add '%s' '%s'", kb, zh), 0);
    kb_model(kb, name, sizeof name);
    if (have_zh) {
        CHECK_MSG(strstr(err_buf, "model: semsearch-zh, chosen for Chinese text"), "%s", err_buf);
        CHECK_STREQ(name, "semsearch-zh");
    } else {
        CHECK_MSG(strstr(err_buf, "warning") && strstr(err_buf, "semsearch-zh is not installed") &&
                      strstr(err_buf, "using the English model semsearch-default"),
                  "%s", err_buf);
        CHECK_STREQ(name, "semsearch-default");
    }
    CHECK_MSG(strstr(err_buf, "of the first 6 documents"), "%s", err_buf);
    CHECK_MSG(strstr(out_buf, "6 documents added"), "%s", out_buf);
    /* the KB exists now: adding to it picks nothing */
    CHECK_EQ_INT(sem(NULL, "index add '%s' '%s'", kb, en), 0);
    CHECK_MSG(strstr(err_buf, "chosen for") == NULL && strstr(err_buf, "not installed") == NULL, "%s", err_buf);

    /* English documents, no --model */
    snprintf(kb, sizeof kb, "%s/kb-en", tmp);
    CHECK_EQ_INT(sem(NULL, "index add '%s' '%s'", kb, en), 0);
    CHECK_MSG(strstr(err_buf, "model: semsearch-default, chosen for non-Chinese text"), "%s", err_buf);
    kb_model(kb, name, sizeof name);
    CHECK_STREQ(name, "semsearch-default");

    /* -q: the choice is not printed (the fallback warning still is) */
    snprintf(kb, sizeof kb, "%s/kb-en-q", tmp);
    CHECK_EQ_INT(sem(NULL, "index add '%s' '%s' -q", kb, en), 0);
    CHECK_MSG(strstr(err_buf, "chosen for") == NULL, "%s", err_buf);

    /* $SEMSEARCH_MODEL is the user's choice: no pick ("none": lexical-only) */
    snprintf(kb, sizeof kb, "%s/kb-none", tmp);
    CHECK_EQ_INT(sem("SEMSEARCH_MODEL=none", "index add '%s' '%s'", kb, zh), 0);
    CHECK_MSG(strstr(err_buf, "chosen for") == NULL && strstr(err_buf, "not installed") == NULL, "%s", err_buf);
    kb_model(kb, name, sizeof name);
    CHECK_STREQ(name, "");
    snprintf(kb, sizeof kb, "%s/kb-env", tmp);
    CHECK_EQ_INT(sem("SEMSEARCH_MODEL=semsearch-default", "index add '%s' '%s'", kb, zh), 0);
    CHECK_MSG(strstr(err_buf, "chosen for") == NULL, "%s", err_buf);
    kb_model(kb, name, sizeof name);
    CHECK_STREQ(name, "semsearch-default");

    /* short names with --model */
    snprintf(kb, sizeof kb, "%s/kb-short", tmp);
    CHECK_EQ_INT(sem(NULL, "index add '%s' '%s' --model semsearch-default", kb, zh), 0);
    CHECK_MSG(strstr(err_buf, "chosen for") == NULL, "%s", err_buf);
    kb_model(kb, name, sizeof name);
    CHECK_STREQ(name, "semsearch-default");
    CHECK_EQ_INT(sem(NULL, "query '%s' 'Debian' -k 1 --model semsearch-default", kb), 0);
    snprintf(kb, sizeof kb, "%s/kb-short-zh", tmp);
    int rc = sem(NULL, "index add '%s' '%s' --model semsearch-zh", kb, zh);
    if (have_zh) {
        CHECK_EQ_INT(rc, 0);
    } else {
        CHECK_EQ_INT(rc, 1);
        CHECK_MSG(strstr(err_buf, "model 'semsearch-zh' (the Chinese model) is not installed"), "%s", err_buf);
        CHECK(!sem_path_exists(kb)); /* no KB made for nothing */
    }
    /* other commands take the short names too */
    char line[512];
    snprintf(line, sizeof line, "%s/line.jsonl", tmp);
    CHECK_EQ_INT(tst_write_file(line, "\"apt 怎么升级\"\n", strlen("\"apt 怎么升级\"\n")), 0);
    CHECK_EQ_INT(sem(NULL, "tokenize --model semsearch-default <'%s'", line), 0);
    CHECK_MSG(strstr(out_buf, "apt"), "%s", out_buf);
    rc = sem(NULL, "tokenize --model semsearch-zh <'%s'", line);
    CHECK_EQ_INT(rc, have_zh ? 0 : 1);

    tst_sh("rm -rf '%s'", tmp);
    TEST_END();
}
