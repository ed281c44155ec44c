/* tests/eval/test_eval_cli.c: `semsearch eval` end to end through the binary:
 *  - eval ann on 3000 synthetic clustered vectors (.fvecs base, .npy queries) with Flat, IVF16,Flat and HNSW8:
 *    the JSON report parses and has the documented keys, Flat and exhaustive IVF have recall 1.0, nprobe is null
 *    where it does not apply, --target-recall picks a setting, the SVG plot is well-formed (tag balance) with a
 *    curve and legend per spec; the ground-truth cache is written, reused, and recomputed when it is wrong;
 *    a wrong --gt, a truncated base, mismatched dimensions and a bad index spec fail with exit 1;
 *  - eval sts: the word-overlap baseline on the real STS dev split, the model path with a fixture model when the
 *    encoder is built, and the "no default model" message;
 *  - eval retrieval over TREC run files (BEIR queries/qrels) with per-query JSON;
 *  - --help everywhere (exit 0) and usage errors (exit 2). */
#include "test.h"
#include "cli/cli_run.h"

#include "eval/ann.h"
#include "eval/vecio.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* 1 if every element opened in the SVG is closed in order (a simple XML tag balance check). */
static int svg_balanced(const char *s, int *n_elems)
{
    char stack[64][32];
    int depth = 0;
    *n_elems = 0;
    for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
        if (p[1] == '?' || p[1] == '!')
            continue;
        const char *end = strchr(p, '>');
        if (!end)
            return 0;
        if (p[1] == '/') {
            size_t len = strcspn(p + 2, " >");
            if (depth == 0 || strlen(stack[depth - 1]) != len || strncmp(stack[depth - 1], p + 2, len) != 0)
                return 0;
            depth--;
        } else {
            (*n_elems)++;
            if (end[-1] == '/')
                continue;
            size_t len = strcspn(p + 1, " >/");
            if (depth == 64 || len >= 32)
                return 0;
            memcpy(stack[depth], p + 1, len);
            stack[depth++][len] = 0;
        }
        /* a '<' inside attribute values or text would break the document: it must be escaped */
        const char *lt = memchr(p + 1, '<', (size_t)(end - p - 1));
        if (lt)
            return 0;
    }
    return depth == 0;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_ann(void)
{
    enum { NB = 3000, NQ = 100, D = 16 };
    float *x = malloc(sizeof(float) * NB * D);
    sem_error err;
    CHECK_EQ_INT(sem_ann_make_clustered(NB, D, 12, 0.8, 7, 1, x, &err), SEM_OK);
    CHECK_EQ_INT(sem_vecs_write(path_of("base.fvecs"), x, NB, D, &err), SEM_OK);
    CHECK_EQ_INT(sem_ann_make_clustered(NQ, D, 12, 0.8, 7, 2, x, &err), SEM_OK);
    CHECK_EQ_INT(sem_vecs_write(path_of("queries.npy"), x, NQ, D, &err), SEM_OK);
    free(x);

    const char *common = "--index Flat --index IVF16,Flat --index HNSW8 --nprobe 1,4,16 --ef 16,64 -q";
    int st = run("eval ann --base %s --queries %s %s --json %s --plot %s --target-recall 0.9 --gt-cache %s",
                 path_of("base.fvecs"), path_of("queries.npy"), common, path_of("r.json"), path_of("r.svg"),
                 path_of("gt.ivecs"));
    CHECK_MSG(st == 0, "eval ann exit %d: %s", st, stderr_text());
    CHECK(strstr(out, "IVF16,Flat") && strstr(out, "nprobe=4") && strstr(out, "fastest setting"));
    char *json = tst_slurp(path_of("r.json"), NULL);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    CHECK_MSG(root != NULL, "the JSON report does not parse");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "results");
    CHECK(cJSON_IsArray(res));
    CHECK_EQ_INT(cJSON_GetArraySize(res), 1 + 3 + 2);
    const char *keys[] = {"index", "nprobe", "recall@1", "recall@10", "recall@100", "qps", "qps_batch", "p50_ms",
                          "p99_ms", "train_s", "add_s", "bytes_per_vector"};
    const cJSON *r;
    int n_flat = 0, n_ivf = 0, n_hnsw = 0;
    cJSON_ArrayForEach(r, res)
    {
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
            CHECK_MSG(cJSON_HasObjectItem(r, keys[i]), "result lacks %s", keys[i]);
        const char *spec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "index"));
        const cJSON *np = cJSON_GetObjectItemCaseSensitive(r, "nprobe");
        CHECK(num(r, "qps") > 0 && num(r, "qps_batch") > 0 && num(r, "p99_ms") >= num(r, "p50_ms"));
        if (spec && !strcmp(spec, "Flat")) {
            n_flat++;
            CHECK(cJSON_IsNull(np));
            CHECK_NEAR(num(r, "recall@1"), 1.0, 0);
            CHECK_NEAR(num(r, "recall@10"), 1.0, 0);
            CHECK_NEAR(num(r, "recall@100"), 1.0, 0);
            CHECK_NEAR(num(r, "k-recall@k"), 1.0, 0);
            CHECK(num(r, "bytes_per_vector") >= 64 && num(r, "bytes_per_vector") < 70); /* 16 floats + header */
        } else if (spec && !strcmp(spec, "IVF16,Flat")) {
            n_ivf++;
            CHECK(cJSON_IsNumber(np));
            CHECK(num(r, "train_s") >= 0 && num(r, "recall@1") > 0);
            if (num(r, "nprobe") == 16) /* every list: exact */
                CHECK_NEAR(num(r, "k-recall@k"), 1.0, 0);
        } else if (spec && !strcmp(spec, "HNSW8")) {
            n_hnsw++;
            CHECK(cJSON_IsNull(np));
            CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r, "efSearch")));
            CHECK(num(r, "k-recall@k") > 0.5);
        }
    }
    CHECK_EQ_INT(n_flat, 1);
    CHECK_EQ_INT(n_ivf, 3);
    CHECK_EQ_INT(n_hnsw, 2);
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(root, "target");
    CHECK(target && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(target, "fastest")));
    cJSON_Delete(root);
    free(json);

    char *svg = tst_slurp(path_of("r.svg"), NULL);
    int n_elems = 0;
    CHECK(svg && strncmp(svg, "<?xml", 5) == 0 && strstr(svg, "<svg"));
    CHECK_MSG(svg && svg_balanced(svg, &n_elems), "SVG tags do not balance");
    CHECK(n_elems > 20);
    CHECK(svg && strstr(svg, ">IVF16,Flat</text>") && strstr(svg, ">HNSW8</text>") && strstr(svg, "<polyline"));
    free(svg);

    /* the cache: reused when right, recomputed when wrong */
    CHECK(access(path_of("gt.ivecs"), R_OK) == 0);
    st = run("eval ann --base %s --queries %s --index Flat --gt-cache %s", path_of("base.fvecs"),
             path_of("queries.npy"), path_of("gt.ivecs"));
    CHECK_EQ_INT(st, 0);
    CHECK(strstr(stderr_text(), "from cache") != NULL);
    int64_t *wrong = calloc(NQ * 100, sizeof *wrong); /* every query's "nearest" is vector 0 */
    CHECK_EQ_INT(sem_ivecs_write(path_of("gt.ivecs"), wrong, NQ, 100, &err), SEM_OK);
    st = run("eval ann --base %s --queries %s --index Flat --gt-cache %s --json -", path_of("base.fvecs"),
             path_of("queries.npy"), path_of("gt.ivecs"));
    CHECK_EQ_INT(st, 0);
    CHECK(strstr(stderr_text(), "recomputing") != NULL);
    root = cJSON_Parse(out);
    const cJSON *r0 = root ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "results"), 0) : NULL;
    CHECK(r0 && num(r0, "recall@1") == 1.0);
    cJSON_Delete(root);
    /* a given --gt that does not belong to these vectors is an error */
    CHECK_EQ_INT(sem_ivecs_write(path_of("wrong.ivecs"), wrong, NQ, 100, &err), SEM_OK);
    st = run("eval ann --base %s --queries %s --index Flat --gt %s", path_of("base.fvecs"), path_of("queries.npy"),
             path_of("wrong.ivecs"));
    CHECK_EQ_INT(st, 1);
    CHECK(strstr(stderr_text(), "does not match") != NULL);
    CHECK_EQ_INT(sem_ivecs_write(path_of("short.ivecs"), wrong, NQ - 1, 100, &err), SEM_OK);
    CHECK_EQ_INT(run("eval ann --base %s --queries %s --gt %s", path_of("base.fvecs"), path_of("queries.npy"),
                     path_of("short.ivecs")),
                 1);
    free(wrong);

    /* bad inputs */
    FILE *f = fopen(path_of("trunc.fvecs"), "wb");
    if (f) {
        int32_t d = D;
        fwrite(&d, 4, 1, f);
        fwrite("abcdefgh", 1, 8, f);
        fclose(f);
    }
    CHECK_EQ_INT(run("eval ann --base %s --queries %s", path_of("trunc.fvecs"), path_of("queries.npy")), 1);
    CHECK(strstr(stderr_text(), "trunc.fvecs") != NULL);
    float small[8] = {0};
    CHECK_EQ_INT(sem_vecs_write(path_of("d8.fvecs"), small, 1, 8, &err), SEM_OK);
    CHECK_EQ_INT(run("eval ann --base %s --queries %s", path_of("base.fvecs"), path_of("d8.fvecs")), 1);
    CHECK(strstr(stderr_text(), "dimension") != NULL);
    CHECK_EQ_INT(run("eval ann --base %s --queries %s --index IVF-3,Bogus", path_of("base.fvecs"),
                     path_of("queries.npy")),
                 1);
    CHECK_EQ_INT(run("eval ann --base %s --queries %s", path_of("missing.fvecs"), path_of("queries.npy")), 1);
}

static void test_sts(void)
{
    char pairs[512];
    snprintf(pairs, sizeof pairs, "%s/data/stsbenchmark/sts-dev.csv", SEM_SHARED_DIR);
    if (access(pairs, R_OK) == 0) {
        CHECK_EQ_INT(run("eval sts --pairs %s --baseline-only --json", pairs), 0);
        cJSON *o = cJSON_Parse(out);
        CHECK_MSG(o != NULL, "sts --json output does not parse: %s", out);
        CHECK_EQ_INT(num(o, "n"), 1500);
        CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "spearman")));
        CHECK(num(o, "baseline_spearman") > 0.3 && num(o, "baseline_pearson") > 0.3);
        cJSON_Delete(o);
    } else {
        TEST_SKIP_SECTION("the STS Benchmark dev split (%s) is missing", pairs);
    }
    /* without --model and without a default model: a clear failure */
    const char *small = path_of("sts.csv");
    FILE *f = fopen(small, "w");
    const char *lines[] = {"A man is playing a guitar.\tA man plays the guitar.\t4.8",
                           "A woman is slicing an onion.\tA man is riding a horse.\t0.2",
                           "Kids play in the park.\tChildren are playing in a park.\t4.4",
                           "The stock market fell.\tA cat sleeps on the sofa.\t0.0",
                           "A dog runs on the beach.\tA dog is running along the shore.\t4.0",
                           "He cooks dinner.\tShe is reading a book.\t0.6"};
    for (int i = 0; f && i < 6; i++) {
        char s1[128], s2[128], sc[16];
        sscanf(lines[i], "%127[^\t]\t%127[^\t]\t%15s", s1, s2, sc);
        fprintf(f, "main\tfile\t2024\t%04d\t%s\t%s\t%s\n", i, sc, s1, s2);
    }
    if (f)
        fclose(f);
    CHECK_EQ_INT(run("eval sts --pairs %s", small), 1); /* run() sets no default model: a clear error */
    CHECK(strstr(stderr_text(), "no --model") != NULL);
    char model[512];
    snprintf(model, sizeof model, "%s/testdata/models/bert-tiny-uncased", SEM_SHARED_DIR);
    int st = run("eval sts --pairs %s --model %s --json", small, model);
    CHECK_MSG(st == 0, "eval sts with a fixture model: %s", stderr_text());
    cJSON *o = cJSON_Parse(out);
    CHECK(o && num(o, "n") == 6);
    double sp = num(o, "spearman");
    CHECK(sp >= -1 && sp <= 1); /* random weights: any correlation, but a number */
    cJSON_Delete(o);
    CHECK_EQ_INT(run("eval sts --pairs %s --model %s", small, path_of("nomodel")), 1);
    CHECK_EQ_INT(run("eval sts --pairs %s --baseline-only", path_of("missing.csv")), 1);
}

static void test_retrieval(void)
{
    FILE *f = fopen(path_of("queries.jsonl"), "w");
    if (f) {
        fputs("{\"_id\": \"1\", \"text\": \"how does it spread\"}\n{\"_id\": \"2\", \"text\": \"symptoms\"}\n", f);
        fclose(f);
    }
    f = fopen(path_of("qrels.tsv"), "w");
    if (f) {
        fputs("query-id\tcorpus-id\tscore\n1\tdocA\t1\n2\tdocB\t2\n2\tdocC\t1\n", f);
        fclose(f);
    }
    f = fopen(path_of("bm25.run"), "w");
    if (f) {
        fputs("1 Q0 docA 1 9.5 bm25\n1 Q0 docZ 2 3.0 bm25\n2 Q0 docC 1 4.0 bm25\n2 Q0 docB 2 3.5 bm25\n", f);
        fclose(f);
    }
    int st = run("eval retrieval --run %s --queries %s --qrels %s --json -", path_of("bm25.run"),
                 path_of("queries.jsonl"), path_of("qrels.tsv"));
    CHECK_MSG(st == 0, "eval retrieval: %s", stderr_text());
    cJSON *o = cJSON_Parse(out);
    const cJSON *m = o ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "modes"),
                                                         "bm25.run")
                       : NULL;
    CHECK(m != NULL);
    CHECK_NEAR(num(m, "n"), 2, 0);
    CHECK_NEAR(num(m, "mrr@10"), 1.0, 0);
    /* query 2: docC (1) then docB (2); ideal docB, docC */
    double q2 = (1.0 + 2.0 / log2(3.0)) / (2.0 + 1.0 / log2(3.0));
    CHECK_NEAR(num(m, "ndcg@10"), round((1.0 + q2) / 2.0 * 1e4) / 1e4, 1e-9);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "per_query")), 2);
    cJSON_Delete(o);
    /* --worst: the lowest-nDCG query of the run is query 2 (docC ranked above docB) */
    CHECK_EQ_INT(run("eval retrieval --run %s --queries %s --qrels %s --worst 1", path_of("bm25.run"),
                     path_of("queries.jsonl"), path_of("qrels.tsv")),
                 0);
    const char *w = strstr(out, "worst queries");
    CHECK(w && strstr(w, "symptoms") && !strstr(w, "how does it spread"));
    CHECK_EQ_INT(run("eval retrieval --kb %s --queries %s --qrels %s", path_of("nokb"), path_of("queries.jsonl"),
                     path_of("qrels.tsv")),
                 1);
}

static void test_usage(void)
{
    CHECK_EQ_INT(run("eval --help"), 0);
    CHECK(strstr(out, "ann") && strstr(out, "retrieval") && strstr(out, "sts"));
    CHECK_EQ_INT(run("eval ann --help"), 0);
    CHECK(strstr(out, "--target-recall") != NULL);
    CHECK_EQ_INT(run("eval sts --help"), 0);
    CHECK_EQ_INT(run("eval retrieval --help"), 0);
    CHECK_EQ_INT(run("eval"), 2);
    CHECK_EQ_INT(run("eval frobnicate"), 2);
    CHECK_EQ_INT(run("eval ann"), 2);
    CHECK_EQ_INT(run("eval ann --base x.fvecs"), 2);
    CHECK_EQ_INT(run("eval ann --base x.fvecs --queries y.fvecs --bogus"), 2);
    CHECK_EQ_INT(run("eval ann --base x.fvecs --queries y.fvecs --nprobe 1,x"), 2);
    CHECK_EQ_INT(run("eval ann --base x.fvecs --queries y.fvecs -k 0"), 2);
    CHECK_EQ_INT(run("eval ann --base x.fvecs --queries y.fvecs --metric cos"), 2);
    CHECK_EQ_INT(run("eval ann --base x.fvecs --queries y.fvecs --target-recall 1.5"), 2);
    CHECK_EQ_INT(run("eval ann --base x.fvecs --queries y.fvecs --index"), 2);
    CHECK_EQ_INT(run("eval sts"), 2);
    CHECK_EQ_INT(run("eval sts --pairs a --bogus"), 2);
    CHECK_EQ_INT(run("eval retrieval --queries q --qrels r"), 2);
    CHECK_EQ_INT(run("eval retrieval --kb k --run r --queries q --qrels r"), 2);
    CHECK_EQ_INT(run("eval retrieval --kb k --queries q --qrels r --mode fuzzy"), 2);
}

int main(void)
{
    if (ev_setup("evalcli"))
        return 1;
    test_usage();
    test_ann();
    test_sts();
    test_retrieval();
    ev_cleanup();
    TEST_END();
}
