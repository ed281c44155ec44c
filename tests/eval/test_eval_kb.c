/* tests/eval/test_eval_kb.c: `semsearch eval` over a knowledge base, end to end through the binary: a small
 * BEIR corpus indexed with `semsearch index add` and a fixture model, then
 *  - eval ann --kb: the KB's stored vectors as the base with held-out queries (Flat recall 1.0, the KB's
 *    inner-product metric picked up), too many held-out queries refused, and the default sample (a tenth)
 *    fitting a KB of 240 vectors;
 *  - eval retrieval --kb: all three modes side by side in the JSON report, per-query results, and a query
 *    whose only relevant document contains its exact words found first by lexical search; a lexical-only KB
 *    (no model) evaluated in lexical mode alone. */
#include "test.h"
#include "cli/cli_run.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int main(void)
{
    if (ev_setup("evalkb"))
        return 1;
    /* 240 documents of made-up words; document i contains the unique word "marker<i>" */
    static const char *words[] = {"alpha", "beta", "gamma", "delta", "virus", "mask", "hand", "soap", "fever",
                                  "cough", "spread", "droplet", "water", "school", "child", "vaccine", "test",
                                  "doctor", "season", "result"};
    FILE *f = fopen(path_of("corpus.jsonl"), "w");
    unsigned s = 12345;
    for (int i = 0; f && i < 240; i++) {
        fprintf(f, "{\"_id\": \"doc%d\", \"title\": \"t%d\", \"text\": \"marker%d", i, i, i);
        for (int w = 0; w < 10; w++) {
            s = s * 1103515245u + 12345u;
            fprintf(f, " %s", words[(s >> 16) % 20]);
        }
        fprintf(f, "\"}\n");
    }
    if (f)
        fclose(f);
    f = fopen(path_of("queries.jsonl"), "w");
    for (int i = 0; f && i < 5; i++)
        fprintf(f, "{\"_id\": \"q%d\", \"text\": \"marker%d\"}\n", i, i * 7);
    if (f)
        fclose(f);
    f = fopen(path_of("qrels.tsv"), "w");
    for (int i = 0; f && i < 5; i++)
        fprintf(f, "q%d\tdoc%d\t1\n", i, i * 7);
    if (f)
        fclose(f);

    char model[512];
    snprintf(model, sizeof model, "%s/testdata/models/bert-tiny-uncased", SEM_SHARED_DIR);
    int st = run("index add %s %s --model %s -q", path_of("kb"), path_of("corpus.jsonl"), model);
    CHECK_MSG(st == 0, "index add failed (%d): %s", st, stderr_text());
    if (st != 0)
        goto end;

    /* ANN over the KB's vectors, 20 held out as queries */
    st = run("eval ann --kb %s --sample 20 --index Flat --index HNSW8 --ef 16 --json - -q", path_of("kb"));
    CHECK_MSG(st == 0, "eval ann --kb: %s", stderr_text());
    cJSON *o = cJSON_Parse(out);
    const cJSON *res = o ? cJSON_GetObjectItemCaseSensitive(o, "results") : NULL;
    CHECK_EQ_INT(cJSON_GetArraySize(res), 2);
    const cJSON *flat = cJSON_GetArrayItem(res, 0);
    CHECK(flat && num(flat, "recall@1") == 1.0 && num(flat, "k-recall@k") == 1.0);
    const cJSON *ds = o ? cJSON_GetObjectItemCaseSensitive(o, "dataset") : NULL;
    CHECK(ds && num(ds, "nb") == 220 && num(ds, "nq") == 20);
    CHECK(ds && strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ds, "metric")), "ip") == 0);
    cJSON_Delete(o);
    CHECK_EQ_INT(run("eval ann --kb %s --sample 240", path_of("kb")), 1);
    /* the default sample fits a small KB: a tenth of its 240 vectors held out (the old default, 1000, refused
     * every KB under 1001 vectors, the bundled FAQ's 220 included) */
    st = run("eval ann --kb %s --index Flat --json - -q", path_of("kb"));
    CHECK_MSG(st == 0, "eval ann --kb without --sample: %s", stderr_text());
    o = cJSON_Parse(out);
    ds = o ? cJSON_GetObjectItemCaseSensitive(o, "dataset") : NULL;
    CHECK(ds && num(ds, "nb") == 216 && num(ds, "nq") == 24);
    cJSON_Delete(o);

    /* retrieval over the KB in all three modes */
    st = run("eval retrieval --kb %s --queries %s --qrels %s --json %s", path_of("kb"), path_of("queries.jsonl"),
             path_of("qrels.tsv"), path_of("r.json"));
    CHECK_MSG(st == 0, "eval retrieval --kb: %s", stderr_text());
    CHECK(strstr(out, "semantic") && strstr(out, "lexical") && strstr(out, "hybrid"));
    f = fopen(path_of("r.json"), "r");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = 0;
    if (f)
        fclose(f);
    o = cJSON_Parse(out);
    const cJSON *modes = o ? cJSON_GetObjectItemCaseSensitive(o, "modes") : NULL;
    const char *names[] = {"semantic", "lexical", "hybrid"};
    for (int m = 0; m < 3; m++) {
        const cJSON *mo = cJSON_GetObjectItemCaseSensitive(modes, names[m]);
        CHECK_MSG(mo != NULL, "no %s mode in the report", names[m]);
        CHECK(num(mo, "n") == 5);
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(mo, "per_query")), 5);
        double r100 = num(mo, "recall@100");
        CHECK(r100 >= 0 && r100 <= 1);
    }
    const cJSON *lex = cJSON_GetObjectItemCaseSensitive(modes, "lexical");
    CHECK_MSG(lex && num(lex, "mrr@10") == 1.0, "lexical search should find each marker document first");
    cJSON_Delete(o);
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s --mode lexical -k 5", path_of("kb"),
                     path_of("queries.jsonl"), path_of("qrels.tsv")),
                 0);
    CHECK(strstr(out, "nDCG@5") && !strstr(out, "semantic"));

    /* hybrid weights side by side: one column each; weight 1 ranks as semantic search does */
    st = run("eval retrieval --kb %s --queries %s --qrels %s --semantic-weight 0.2,1 --json %s", path_of("kb"),
             path_of("queries.jsonl"), path_of("qrels.tsv"), path_of("w.json"));
    CHECK_MSG(st == 0, "eval retrieval --semantic-weight: %s", stderr_text());
    CHECK(strstr(out, "hybrid@0.2") && strstr(out, "hybrid@1"));
    f = fopen(path_of("w.json"), "r");
    n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = 0;
    if (f)
        fclose(f);
    o = cJSON_Parse(out);
    modes = o ? cJSON_GetObjectItemCaseSensitive(o, "modes") : NULL;
    const cJSON *h1 = cJSON_GetObjectItemCaseSensitive(modes, "hybrid@1"),
                *se = cJSON_GetObjectItemCaseSensitive(modes, "semantic");
    CHECK(h1 && se && num(h1, "ndcg@10") == num(se, "ndcg@10") && num(h1, "map") == num(se, "map"));
    CHECK(cJSON_GetObjectItemCaseSensitive(modes, "hybrid@0.2") != NULL);
    cJSON_Delete(o);
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s --mode hybrid --fusion rrf", path_of("kb"),
                     path_of("queries.jsonl"), path_of("qrels.tsv")),
                 0);
    CHECK(strstr(out, "hybrid-rrf") && !strstr(out, "semantic"));
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s --semantic-weight 0.2,0", path_of("kb"),
                     path_of("queries.jsonl"), path_of("qrels.tsv")),
                 2);
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s --semantic-weight 0.2,,0.3", path_of("kb"),
                     path_of("queries.jsonl"), path_of("qrels.tsv")),
                 2);
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s --mode lexical --semantic-weight 0.5",
                     path_of("kb"), path_of("queries.jsonl"), path_of("qrels.tsv")),
                 2);
    /* at most 16 weights, whether or not the semantic and lexical columns are evaluated too */
    const char *w17 = "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.15,0.25,0.35,0.45,0.55,0.65,0.75,0.85";
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s --mode hybrid --semantic-weight %s",
                     path_of("kb"), path_of("queries.jsonl"), path_of("qrels.tsv"), w17),
                 2);
    CHECK(strstr(stderr_text(), "at most 16 weights") != NULL);
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s --mode hybrid --semantic-weight %s",
                     path_of("kb"), path_of("queries.jsonl"), path_of("qrels.tsv"), w17 + 4), /* the 16 after "0.1," */
                 0);

    /* a lexical-only KB (no model): --mode all evaluates lexical search alone, --mode semantic is an error */
    st = run("index add %s %s -q --lexical", path_of("kblex"), path_of("corpus.jsonl"));
    CHECK_MSG(st == 0, "index add (lexical-only) failed: %s", stderr_text());
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s", path_of("kblex"), path_of("queries.jsonl"),
                     path_of("qrels.tsv")),
                 0);
    CHECK(strstr(out, "lexical") && !strstr(out, "semantic") && !strstr(out, "hybrid"));
    CHECK(strstr(stderr_text(), "lexical-only") != NULL);
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s --mode semantic", path_of("kblex"),
                     path_of("queries.jsonl"), path_of("qrels.tsv")),
                 1);
end:;
    ev_cleanup();
    TEST_END();
}
