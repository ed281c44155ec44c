/* tests/cli/test_cli_precision.c: `--precision f32|bf16|int8` on index add, query and serve, and the precision a
 * KB records (kbmodel/kbmodel.h), through the semsearch binary with the fixture model (exit 77 without it):
 *   - index add --precision int8 records it; kb info shows it; a later index add --precision f32 replaces it;
 *   - query without --precision loads the recorded int8: its semantic scores equal those of --precision int8
 *     exactly and differ from those of --precision f32 (while staying close to them);
 *   - bad values are usage errors (exit 2) on every command, as is --lexical with --precision;
 *   - a damaged record: query and serve fail with a clear error naming the KB and the value, kb info says it is
 *     invalid, and query --precision f32 still answers. */
#include "test.h"
#include "cli/cli_run.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kbmodel/kbmodel.h"
#include "store/kb.h"

#define MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"
#define MAX_HITS 8

static const char DOCS[] =
    "{\"id\":\"a\",\"text\":\"otters hold hands while they sleep so that they do not drift apart\"}\n"
    "{\"id\":\"b\",\"text\":\"capybaras are the largest rodents and live near rivers in south america\"}\n"
    "{\"id\":\"c\",\"text\":\"the city council approved the new budget for public transport\"}\n"
    "{\"id\":\"d\",\"text\":\"wash your hands with soap for twenty seconds to remove the virus\"}\n"
    "{\"id\":\"e\",\"text\":\"a heavy storm closed the mountain pass for two days last winter\"}\n"
    "{\"id\":\"f\",\"text\":\"the orchestra played a symphony by a young composer\"}\n";

/* The scores and document ids of the hits of a semantic `query KB Q --json` with extra options; the number of
 * hits, or -1. */
static int scores(const char *opts, double *sc, char ids[MAX_HITS][8])
{
    int rc = run("query %s \"animals sleeping near water\" --mode semantic -k %d --json -q %s", path_of("kb"),
                 MAX_HITS, opts);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, stderr_text());
    cJSON *o = rc == 0 ? cJSON_Parse(out) : NULL, *h;
    int n = 0;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(o, "hits"))
    {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(h, "score");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(h, "id");
        if (n < MAX_HITS && cJSON_IsNumber(s) && cJSON_IsString(id)) {
            sc[n] = s->valuedouble;
            snprintf(ids[n++], 8, "%s", id->valuestring);
        }
    }
    int ok = o != NULL;
    cJSON_Delete(o);
    CHECK_EQ_INT(n, 6);
    return ok ? n : -1;
}

static void test_recorded_and_followed(void)
{
    CHECK(tst_write_file(path_of("docs.jsonl"), DOCS, strlen(DOCS)) == 0);
    CHECK_EQ_INT(run("index add %s %s --model %s --precision int8 --no-calibrate -q", path_of("kb"),
                     path_of("docs.jsonl"), MODEL), 0);
    CHECK_EQ_INT(run("kb info %s", path_of("kb")), 0);
    CHECK_MSG(strstr(out, "precision:      int8 (recorded") != NULL, "%s", out);
    double def[MAX_HITS], i8[MAX_HITS], f32[MAX_HITS];
    char id_def[MAX_HITS][8], id_i8[MAX_HITS][8], id_f32[MAX_HITS][8];
    int n = scores("", def, id_def);
    CHECK(n == scores("--precision int8", i8, id_i8) && n == scores("--precision f32", f32, id_f32));
    double max_diff = 0;
    for (int i = 0; i < n; i++) {
        CHECK_MSG(def[i] == i8[i] && strcmp(id_def[i], id_i8[i]) == 0, "hit %d: %s %.9g vs int8 %s %.9g", i,
                  id_def[i], def[i], id_i8[i], i8[i]);
        for (int j = 0; j < n; j++) /* the same document's score under f32 */
            if (strcmp(id_def[i], id_f32[j]) == 0 && fabs(def[i] - f32[j]) > max_diff)
                max_diff = fabs(def[i] - f32[j]);
    }
    /* int8 changes the vectors a little: different from f32 beyond float rounding, close to it */
    CHECK_MSG(max_diff > 1e-6 && max_diff < 0.05, "largest score difference int8 vs f32: %.3g", max_diff);
    /* a later --precision replaces the record */
    CHECK_EQ_INT(run("index add %s %s --precision f32 --no-calibrate -q", path_of("kb"), path_of("docs.jsonl")), 0);
    CHECK_EQ_INT(run("kb info %s", path_of("kb")), 0);
    CHECK_MSG(strstr(out, "precision:      f32 (recorded") != NULL, "%s", out);
    double again[MAX_HITS];
    char id_again[MAX_HITS][8];
    CHECK(scores("", again, id_again) == n && memcmp(again, f32, sizeof again[0] * (size_t)n) == 0);
}

static void test_usage_errors(void)
{
    static const char *const cmds[] = {"index add %s %s --precision int4", "query %s \"q\" --precision F32",
                                       "serve %s --precision bf8", "index add %s %s --lexical --precision int8"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        CHECK_EQ_INT(run(cmds[i], path_of("kb"), path_of("docs.jsonl")), 2);
        CHECK_MSG(strstr(stderr_text(), "--precision") != NULL, "%s: %s", cmds[i], stderr_text());
    }
    CHECK(strstr(stderr_text(), "--lexical and --precision") != NULL);
    CHECK_EQ_INT(run("query %s \"q\" --precision int4", path_of("kb")), 2);
    CHECK_MSG(strstr(stderr_text(), "f32, bf16 or int8") != NULL, "%s", stderr_text());
}

static void test_damaged_record(void)
{
    sem_error err;
    sem_kb *kb = sem_kb_open(path_of("kb"), NULL, &err);
    CHECK_MSG(kb != NULL, "%s", err.msg);
    CHECK(kb && sem_kb_set_setting(kb, SEM_KBMODEL_PRECISION_KEY, "fp64", &err) == SEM_OK);
    sem_kb_close(kb);
    CHECK_EQ_INT(run("query %s \"otters\" --mode semantic", path_of("kb")), 1);
    CHECK_MSG(strstr(stderr_text(), path_of("kb")) && strstr(stderr_text(), "'fp64'"), "%s", stderr_text());
    /* serve must stop at once; `timeout` keeps a server that did not from outliving the test (exit 124) */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "timeout 60 %s serve %s --port 0 --quiet 2>%s", SEM_BINARY, path_of("kb"),
             path_of("stderr.txt"));
    CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 1);
    CHECK_MSG(strstr(stderr_text(), path_of("kb")) && strstr(stderr_text(), "'fp64'"), "%s", stderr_text());
    CHECK_EQ_INT(run("kb info %s", path_of("kb")), 0);
    CHECK_MSG(strstr(out, "precision:      invalid: ") && strstr(out, "'fp64'"), "%s", out);
    CHECK_EQ_INT(run("query %s \"otters\" --mode semantic --precision f32 -q", path_of("kb")), 0);
    CHECK(strstr(out, "otters hold hands") != NULL);
}

int main(void)
{
    if (access(MODEL "/model.safetensors", R_OK) != 0) {
        printf("SKIP: the fixture model (../shared/testdata/models) is missing\n");
        return 77;
    }
    if (ev_setup("precision"))
        return 1;
    test_recorded_and_followed();
    test_usage_errors();
    test_damaged_record();
    ev_cleanup();
    TEST_END();
}
