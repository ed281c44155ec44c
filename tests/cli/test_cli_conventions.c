/* tests/cli/test_cli_conventions.c: options every command spells the same way, and `kb create` / `index add`
 * usability, run through the semsearch binary:
 *   - --json [FILE] (`eval sts --json FILE` was a usage error; `query --json FILE` too), -q on every command,
 *     --threads N on query and eval retrieval;
 *   - kb create checks the index spec against the dimension at once (PCAW128 on 64 dimensions was accepted and
 *     failed on every add); index add --index on an existing KB warns that it is ignored. */
#include "test.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

static char tmp[64], out[1 << 16], err_text[1 << 14];

static const char *path(const char *name)
{
    static char p[4][256];
    static int slot;
    char *s = p[slot++ % 4];
    snprintf(s, 256, "%s/%s", tmp, name);
    return s;
}

/* Runs `semsearch ARGS` (stdout into out, stderr into err_text); returns the exit status. */
static int sem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sem(const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "env SEMSEARCH_MODEL=none SEMSEARCH_HOME='%s/home' %s %s 2>'%s/stderr'", tmp,
             SEM_BINARY, args, tmp);
    int st = tst_run_capture(cmd, out, sizeof out);
    char *e = tst_slurp(path("stderr"), NULL);
    snprintf(err_text, sizeof err_text, "%s", e ? e : "");
    free(e);
    return st;
}

static void put(const char *name, const char *text)
{
    CHECK(tst_write_file(path(name), text, strlen(text)) == 0);
}

/* 1 if the file holds a JSON object with member key. */
static int json_file_has(const char *file, const char *key)
{
    char *s = tst_slurp(file, NULL);
    cJSON *o = s ? cJSON_Parse(s) : NULL;
    int ok = cJSON_IsObject(o) && cJSON_GetObjectItemCaseSensitive(o, key) != NULL;
    cJSON_Delete(o);
    free(s);
    return ok;
}

static void test_kb_spec(void)
{
    CHECK_EQ_INT(sem("kb create %s --dim 64 --index PCAW128,Flat", path("bad")), 1);
    CHECK_MSG(strstr(err_text, "PCAW128,Flat") && strstr(err_text, "PCA"), "%s", err_text);
    CHECK_EQ_INT(sem("kb create %s --dim 64 --index IVF16,PQ7", path("bad")), 1); /* 7 does not divide 64 */
    CHECK_EQ_INT(sem("kb create %s --dim 64 --index PCAW32,Flat", path("good")), 0);
    /* --index on an existing KB: a warning, and the KB keeps its spec */
    put("docs.jsonl", "{\"id\":\"a\",\"text\":\"otters hold hands while they sleep\"}\n"
                      "{\"id\":\"b\",\"text\":\"capybaras are the largest rodents\"}\n");
    CHECK_EQ_INT(sem("index add %s %s --lexical -q", path("lex"), path("docs.jsonl")), 0);
    CHECK_EQ_INT(sem("index add %s %s --index HNSW32", path("lex"), path("docs.jsonl")), 0);
    CHECK_MSG(strstr(err_text, "--index HNSW32 is ignored") != NULL, "%s", err_text);
    CHECK_EQ_INT(sem("kb info %s -q", path("lex")), 0);
    CHECK(strstr(out, "index spec:     Flat") != NULL);
}

static void test_json_quiet_threads(void)
{
    /* eval sts: --json FILE (the table on stdout), --json alone (JSON on stdout, the table on stderr) */
    put("sts.csv", "g\tf\t2012\t1\t5.0\tA man plays.\tA man plays.\ng\tf\t2012\t2\t0.5\tCats sleep.\tDogs bark.\n"
                   "g\tf\t2012\t3\t2.5\tThe cat sat.\tThe cat ran.\n");
    CHECK_EQ_INT(sem("eval sts --pairs %s --baseline-only --json %s", path("sts.csv"), path("sts.json")), 0);
    CHECK(json_file_has(path("sts.json"), "baseline_spearman"));
    CHECK(strstr(out, "word overlap") != NULL);
    CHECK_EQ_INT(sem("eval sts --pairs %s --baseline-only --json -q", path("sts.csv")), 0);
    cJSON *o = cJSON_Parse(out);
    CHECK(o && cJSON_GetObjectItemCaseSensitive(o, "n") != NULL);
    cJSON_Delete(o);
    CHECK(strstr(err_text, "word overlap") != NULL);
    CHECK_EQ_INT(sem("eval sts --pairs %s --baseline-only --json=%s", path("sts.csv"), path("sts2.json")), 0);
    CHECK(json_file_has(path("sts2.json"), "n"));

    /* query: --json FILE after KB and QUESTION; --json alone; --threads; -q */
    CHECK_EQ_INT(sem("query %s otters --json %s --threads 1 -q", path("lex"), path("q.json")), 0);
    CHECK(json_file_has(path("q.json"), "hits"));
    CHECK(strstr(out, "otters hold hands") != NULL); /* the list still on stdout */
    CHECK_EQ_INT(sem("query %s otters --json", path("lex")), 0);
    o = cJSON_Parse(out);
    CHECK(o && cJSON_GetObjectItemCaseSensitive(o, "hits") != NULL);
    cJSON_Delete(o);
    CHECK_EQ_INT(sem("query --json %s otters", path("lex")), 0); /* before the positionals: no FILE taken */
    CHECK(strstr(out, "\"hits\"") != NULL);
    CHECK_EQ_INT(sem("query %s otters --threads 0", path("lex")), 2);

    /* eval retrieval: --threads, -q, --json alone */
    put("queries.jsonl", "{\"_id\":\"q1\",\"text\":\"otters\"}\n");
    put("qrels.tsv", "q1\ta\t1\n");
    CHECK_EQ_INT(sem("eval retrieval --kb %s --queries %s --qrels %s --threads 1 -q --json", path("lex"),
                     path("queries.jsonl"), path("qrels.tsv")),
                 0);
    o = cJSON_Parse(out);
    CHECK_MSG(o && cJSON_GetObjectItemCaseSensitive(o, "modes") != NULL, "%s", err_text);
    cJSON_Delete(o);

    /* model list --json FILE */
    CHECK_EQ_INT(sem("model list --json %s", path("models.json")), 0);
    CHECK(access(path("models.json"), R_OK) == 0);

    /* -q is accepted everywhere (here before --help, which then prints the usage) */
    static const char *const cmds[] = {"tokenize", "embed",      "fill-mask", "kb",         "index add",
                                       "index rm", "query",      "eval ann",  "eval sts",   "eval retrieval",
                                       "model pull", "train mlm"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        CHECK_MSG(sem("%s -q --help", cmds[i]) == 0, "%s -q: %s", cmds[i], err_text);
    CHECK_EQ_INT(sem("index rm %s a -q", path("lex")), 0);
    CHECK(out[0] == 0); /* quiet: no summary */
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/sem_conv_XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    test_kb_spec();
    test_json_quiet_threads();
    tst_sh("rm -rf '%s'", tmp);
    TEST_END();
}
