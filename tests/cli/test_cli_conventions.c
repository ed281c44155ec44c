/* tests/cli/test_cli_conventions.c: options every command spells the same way, and `kb create` / `index add`
 * usability, run through the semsearch binary:
 *   - --json [FILE] (`eval sts --json FILE` was a usage error; `query --json FILE` too), -q on every command,
 *     --threads N on query and eval retrieval;
 *   - kb create checks the index spec against the dimension at once (PCAW128 on 64 dimensions was accepted and
 *     failed on every add); index add --index on an existing KB warns that it is ignored;
 *   - the option-table parser every command reads its arguments with (cli/cli.c): unknown options, missing
 *     values, values that are not numbers, out of range or not one of the choices, values given to flags and
 *     extra arguments are usage errors (exit 2, named on stderr); --name=value, "--" before arguments that begin
 *     with '-', -h/--help on every command (exit 0, the table's options listed);
 *   - query --json prints POST /search's format (query/resultjson.c). */
#include "test.h"
#include "cli/cli_run.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

static void put(const char *name, const char *text)
{
    CHECK(tst_write_file(path_of(name), text, strlen(text)) == 0);
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
    CHECK_EQ_INT(run("kb create %s --dim 64 --index PCAW128,Flat", path_of("bad")), 1);
    CHECK_MSG(strstr(stderr_text(), "PCAW128,Flat") && strstr(stderr_text(), "PCA"), "%s", stderr_text());
    CHECK_EQ_INT(run("kb create %s --dim 64 --index IVF16,PQ7", path_of("bad")), 1); /* 7 does not divide 64 */
    CHECK_EQ_INT(run("kb create %s --dim 64 --index PCAW32,Flat", path_of("good")), 0);
    /* --index on an existing KB: a warning, and the KB keeps its spec */
    put("docs.jsonl", "{\"id\":\"a\",\"text\":\"otters hold hands while they sleep\"}\n"
                      "{\"id\":\"b\",\"text\":\"capybaras are the largest rodents\"}\n");
    CHECK_EQ_INT(run("index add %s %s --lexical -q", path_of("lex"), path_of("docs.jsonl")), 0);
    CHECK_EQ_INT(run("index add %s %s --index HNSW32", path_of("lex"), path_of("docs.jsonl")), 0);
    CHECK_MSG(strstr(stderr_text(), "--index HNSW32 is ignored") != NULL, "%s", stderr_text());
    CHECK_EQ_INT(run("kb info %s -q", path_of("lex")), 0);
    CHECK(strstr(out, "index spec:     Flat") != NULL);
}

static void test_json_quiet_threads(void)
{
    /* eval sts: --json FILE (the table on stdout), --json alone (JSON on stdout, the table on stderr) */
    put("sts.csv", "g\tf\t2012\t1\t5.0\tA man plays.\tA man plays.\ng\tf\t2012\t2\t0.5\tCats sleep.\tDogs bark.\n"
                   "g\tf\t2012\t3\t2.5\tThe cat sat.\tThe cat ran.\n");
    CHECK_EQ_INT(run("eval sts --pairs %s --baseline-only --json %s", path_of("sts.csv"), path_of("sts.json")), 0);
    CHECK(json_file_has(path_of("sts.json"), "baseline_spearman"));
    CHECK(strstr(out, "word overlap") != NULL);
    CHECK_EQ_INT(run("eval sts --pairs %s --baseline-only --json -q", path_of("sts.csv")), 0);
    cJSON *o = cJSON_Parse(out);
    CHECK(o && cJSON_GetObjectItemCaseSensitive(o, "n") != NULL);
    cJSON_Delete(o);
    CHECK(strstr(stderr_text(), "word overlap") != NULL);
    CHECK_EQ_INT(run("eval sts --pairs %s --baseline-only --json=%s", path_of("sts.csv"), path_of("sts2.json")), 0);
    CHECK(json_file_has(path_of("sts2.json"), "n"));

    /* query: --json FILE after KB and QUESTION; --json alone; --threads; -q */
    CHECK_EQ_INT(run("query %s otters --json %s --threads 1 -q", path_of("lex"), path_of("q.json")), 0);
    CHECK(json_file_has(path_of("q.json"), "hits"));
    CHECK(strstr(out, "otters hold hands") != NULL); /* the list still on stdout */
    CHECK_EQ_INT(run("query %s otters --json", path_of("lex")), 0);
    o = cJSON_Parse(out);
    CHECK(o && cJSON_GetObjectItemCaseSensitive(o, "hits") != NULL);
    cJSON_Delete(o);
    CHECK_EQ_INT(run("query --json %s otters", path_of("lex")), 0); /* before the positionals: no FILE taken */
    CHECK(strstr(out, "\"hits\"") != NULL);
    CHECK_EQ_INT(run("query %s otters --threads 0", path_of("lex")), 2);

    /* eval retrieval: --threads, -q, --json alone */
    put("queries.jsonl", "{\"_id\":\"q1\",\"text\":\"otters\"}\n");
    put("qrels.tsv", "q1\ta\t1\n");
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s --threads 1 -q --json", path_of("lex"),
                     path_of("queries.jsonl"), path_of("qrels.tsv")),
                 0);
    o = cJSON_Parse(out);
    CHECK_MSG(o && cJSON_GetObjectItemCaseSensitive(o, "modes") != NULL, "%s", stderr_text());
    cJSON_Delete(o);

    /* model list --json FILE */
    CHECK_EQ_INT(run("model list --json %s", path_of("models.json")), 0);
    CHECK(access(path_of("models.json"), R_OK) == 0);

    /* -q is accepted everywhere (here before --help, which then prints the usage) */
    static const char *const cmds[] = {"tokenize", "embed",      "fill-mask", "kb",         "index add",
                                       "index rm", "query",      "eval ann",  "eval sts",   "eval retrieval",
                                       "model pull", "train mlm"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        CHECK_MSG(run("%s -q --help", cmds[i]) == 0, "%s -q: %s", cmds[i], stderr_text());
    CHECK_EQ_INT(run("index rm %s a -q", path_of("lex")), 0);
    CHECK(out[0] == 0); /* quiet: no summary */
}

static void test_parser(void)
{
    static const struct {
        const char *args, *says;
    } bad[] = {
        {"query %s otters --bogus", "unknown option '--bogus'"},
        {"query %s otters -k", "-k needs a value"},
        {"query %s otters -k x", "-k wants an integer in [1, 10000], not 'x'"},
        {"query %s otters -k 10001", "-k wants an integer in [1, 10000]"},
        {"query %s otters --mode fuzzy", "--mode wants semantic, lexical or hybrid, not 'fuzzy'"},
        {"query %s otters --semantic-weight 0", "--semantic-weight wants a number in (0, 1], not '0'"},
        {"query %s otters --filter novalue", "--filter wants KEY=VALUE"},
        {"query %s otters extra", "unexpected argument 'extra' (quote the question)"},
        {"index add %s x.jsonl --lexical=1", "--lexical takes no value"},
        {"index add %s x.jsonl --batch 0", "--batch wants an integer in [1, 65536], not '0'"},
        {"eval ann --base %s --queries q.fvecs --nprobe 1,,2", "--nprobe wants a list like 1,4,16"},
        {"kb info %s --model m", "unknown option '--model'"},
        {"kb export %s --format csv", "--format wants jsonl or npy, not 'csv'"},
        {"kb %s", "unknown subcommand"},
        /* a bound at the top of a 64-bit field (0x7fffffffffffffff: 2^63 as the table's double) stays positive */
        {"train mlm --seed -1 --out %s", "--seed wants an integer in [0, 9223372036854775807], not '-1'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(run(bad[i].args, path_of("lex")) == 2, "%s", bad[i].args);
        CHECK_MSG(strstr(stderr_text(), bad[i].says) != NULL, "%s: %s", bad[i].args, stderr_text());
    }
    /* --name=value; the question may begin with '-' */
    CHECK_EQ_INT(run("query %s capybaras -k 1 --mode=lexical --json", path_of("lex")), 0);
    cJSON *o = cJSON_Parse(out);
    const cJSON *hits = cJSON_GetObjectItemCaseSensitive(o, "hits"), *h = cJSON_GetArrayItem(hits, 0);
    CHECK(cJSON_GetArraySize(hits) == 1);
    /* POST /search's format: no title is "", metadata an object, took_ms; plus "query" */
    CHECK(h && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(h, "title")) &&
          !strcmp(cJSON_GetObjectItemCaseSensitive(h, "title")->valuestring, ""));
    CHECK(h && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(h, "metadata")));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "took_ms")));
    CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "query")));
    cJSON_Delete(o);
    CHECK_EQ_INT(run("query %s -otters --mode lexical", path_of("lex")), 0);
    /* a 64-bit option at and below its top bound is accepted (options are read in order: --help then prints) */
    CHECK_MSG(run("train mlm --seed 42 --help") == 0, "train mlm --seed 42: %s", stderr_text());
    CHECK_MSG(run("train mlm --seed 9223372036854775807 --help") == 0, "%s", stderr_text());
    /* "--": ids that begin with '-' (an unknown id is a failure, exit 1, not a usage error) */
    CHECK_EQ_INT(run("index rm %s -- -odd-id", path_of("lex")), 1);
    CHECK(strstr(out, "0 documents deleted") != NULL && strstr(stderr_text(), "'-odd-id'") != NULL);
    /* --help on every command, listing the table's options and -h, --help */
    static const char *const cmds[] = {"tokenize", "embed", "fill-mask", "kb create", "kb info", "kb check",
                                       "kb calibrate", "kb compact", "kb export", "index add", "index rm", "query",
                                       "serve", "eval ann", "eval retrieval", "eval sts", "model pull",
                                       "model list", "model path", "train mlm", "train contrastive", "adapt",
                                       "version"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        CHECK_MSG(run("%s --bogus-flag --help", cmds[i]) == 2, "%s", cmds[i]); /* in order: the error first */
        CHECK_MSG(run("%s --help", cmds[i]) == 0 && strstr(out, "Usage: semsearch") &&
                      strstr(out, "-h, --help"), "%s --help: %s", cmds[i], out);
    }
    CHECK_EQ_INT(run("eval ann --help"), 0);
    CHECK(strstr(out, "--latency-queries N") && strstr(out, "Indexes and search settings:"));
}

int main(void)
{
    if (ev_setup("conv"))
        return 1;
    test_kb_spec();
    test_json_quiet_threads();
    test_parser();
    ev_cleanup();
    TEST_END();
}
