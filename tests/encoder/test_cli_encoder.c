/* tests/encoder/test_cli_encoder.c: the CLI contract of `semsearch tokenize`, `embed` and `fill-mask`, run as
 * the real program (SEM_BINARY) on the fixture models:
 *   - tokenize on texts.jsonl and pairs.jsonl gives exactly HF's tokens.jsonl / pair_tokens.jsonl
 *     (input_ids, token_type_ids, attention_mask, tokens), \u0000 inside a JSON string included;
 *   - embed (auto, and --pooling cls with --normalize) matches HF's f64 vectors within 1e-5, in input order;
 *     pairs in the same stream; --batch / --threads do not change the result;
 *   - fill-mask gives HF's top-5 ids on the mlm-f16 model;
 *   - --help exits 0, bad flags exit 2, malformed input lines exit 1 naming the line. */
#define _GNU_SOURCE
#include "test.h"
#include "test_model_util.h"
#include "test_util.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[256];

/* Runs `SEM_BINARY args < in_file > out_file 2> err_file`; returns the exit status. */
static int run(const char *args, const char *in_file, const char *out_file)
{
    return tst_sh("SEMSEARCH_MODEL=none '%s' %s < '%s' > '%s' 2> '%s/stderr'", SEM_BINARY, args, in_file, out_file,
                  tmpdir);
}

static int stderr_has(const char *what)
{
    char path[512], *buf = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/stderr", tmpdir);
    if (sem_read_file(path, 1u << 20, &buf, &len, NULL))
        return 0;
    int r = strstr(buf, what) != NULL;
    if (!r)
        fprintf(stderr, "stderr was: %s\n", buf);
    free(buf);
    return r;
}

static void write_text(const char *path, const char *s)
{
    CHECK_MSG(tst_write_file(path, s, strlen(s)) == 0, "cannot write %s", path);
}

static int same_ints(const cJSON *a, const cJSON *b)
{
    if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
        return 0;
    for (int i = 0; i < cJSON_GetArraySize(a); i++)
        if (cJSON_GetArrayItem(a, i)->valuedouble != cJSON_GetArrayItem(b, i)->valuedouble)
            return 0;
    return 1;
}

static int same_strings(const cJSON *a, const cJSON *b)
{
    if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
        return 0;
    for (int i = 0; i < cJSON_GetArraySize(a); i++) {
        const char *x = cJSON_GetStringValue(cJSON_GetArrayItem(a, i)), *y = cJSON_GetStringValue(
                                                                               cJSON_GetArrayItem(b, i));
        if (!x || !y || strcmp(x, y) != 0)
            return 0;
    }
    return 1;
}

static void test_tokenize(const char *model, const char *input, const char *expected)
{
    char model_dir[1024], in[1024], exp[1024], out[512];
    td_path(model_dir, sizeof model_dir, "models", model, NULL);
    td_path(in, sizeof in, input, NULL, NULL);
    td_path(exp, sizeof exp, "expected", model, expected);
    snprintf(out, sizeof out, "%s/out.jsonl", tmpdir);
    char args[1200];
    snprintf(args, sizeof args, "tokenize --model '%s'", model_dir);
    CHECK_EQ_INT(run(args, in, out), 0);
    int n = 0, ne = 0;
    cJSON **got = jl_load(out, &n), **want = jl_load(exp, &ne);
    CHECK_MSG(n == ne && n > 0, "%s %s: %d lines, want %d", model, input, n, ne);
    static const char *const keys[] = {"input_ids", "token_type_ids", "attention_mask"};
    for (int i = 0; i < n && i < ne; i++) {
        CHECK_MSG(got[i] != NULL, "%s line %d is not JSON", out, i);
        if (!got[i])
            continue;
        for (int k = 0; k < 3; k++)
            CHECK_MSG(same_ints(cJSON_GetObjectItemCaseSensitive(got[i], keys[k]),
                                cJSON_GetObjectItemCaseSensitive(want[i], keys[k])),
                      "%s %s line %d: %s differ", model, input, i, keys[k]);
        CHECK_MSG(same_strings(cJSON_GetObjectItemCaseSensitive(got[i], "tokens"),
                               cJSON_GetObjectItemCaseSensitive(want[i], "tokens")),
                  "%s %s line %d: tokens differ", model, input, i);
    }
    jl_free(got, n);
    jl_free(want, ne);
}

/* embed with extra args; compare with expected file's embedding_f64, in order. */
static void test_embed(const char *model, const char *extra, const char *input, const char *expected)
{
    char model_dir[1024], in[1024], exp[1024], out[512], args[1400];
    td_path(model_dir, sizeof model_dir, "models", model, NULL);
    snprintf(in, sizeof in, "%s", input);
    td_path(exp, sizeof exp, "expected", model, expected);
    snprintf(out, sizeof out, "%s/emb.jsonl", tmpdir);
    snprintf(args, sizeof args, "embed --model '%s' %s", model_dir, extra);
    CHECK_EQ_INT(run(args, in, out), 0);
    int n = 0, ne = 0;
    cJSON **got = jl_load(out, &n), **want = jl_load(exp, &ne);
    CHECK_MSG(n == ne && n > 0, "embed %s %s: %d lines, want %d", model, extra, n, ne);
    double worst = 0;
    for (int i = 0; i < n && i < ne; i++) {
        if (!got[i]) {
            CHECK_MSG(0, "line %d is not JSON", i);
            continue;
        }
        CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(got[i], "index")->valuedouble, i);
        int k = 0, kr = 0;
        double *v = j_doubles(got[i], "embedding", &k), *ref = j_doubles(want[i], "embedding_f64", &kr);
        CHECK_EQ_INT(k, kr);
        float *f = malloc((size_t)k * sizeof *f + 1);
        for (int j = 0; j < k; j++)
            f[j] = (float)v[j];
        double e = rel_err(f, ref, (size_t)k);
        worst = e > worst ? e : worst;
        CHECK_MSG(e <= 1e-5, "embed %s %s line %d: relative error %.3g", model, extra, i, e);
        free(f);
        free(v);
        free(ref);
    }
    printf("embed %s %s: largest relative error %.3g\n", model, extra, worst);
    jl_free(got, n);
    jl_free(want, ne);
}

static void test_fill_mask(void)
{
    char model_dir[1024], exp[1024], in[512], out[512], args[1200];
    td_path(model_dir, sizeof model_dir, "models", "bert-tiny-uncased-mlm-f16", NULL);
    td_path(exp, sizeof exp, "expected", "bert-tiny-uncased-mlm-f16", "mlm_top5.jsonl");
    int ne = 0;
    cJSON **want = jl_load(exp, &ne);
    CHECK(want && ne > 0);
    /* rebuild each text from its reference tokens (whole words, no ## pieces in these inputs) */
    char vocab_path[1200], *vocab = NULL;
    size_t vlen = 0;
    snprintf(vocab_path, sizeof vocab_path, "%s/vocab.txt", model_dir);
    CHECK_EQ_INT(sem_read_file(vocab_path, 64u << 20, &vocab, &vlen, NULL), 0);
    char **tok = calloc(40000, sizeof *tok);
    int nv = 0;
    for (char *p = vocab, *nl; p && *p && nv < 40000; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        tok[nv++] = p;
    }
    snprintf(in, sizeof in, "%s/mask_in.jsonl", tmpdir);
    FILE *f = fopen(in, "w");
    for (int i = 0; f && i < ne; i++) {
        int n = 0;
        int32_t *ids = j_ints(want[i], "input_ids", &n);
        fputc('"', f);
        for (int j = 1; j + 1 < n; j++) /* without [CLS] / [SEP] */
            fprintf(f, "%s%s", j > 1 ? " " : "", ids[j] < nv ? tok[ids[j]] : "?");
        fputs("\"\n", f);
        free(ids);
    }
    if (f)
        fclose(f);
    snprintf(out, sizeof out, "%s/mask_out.jsonl", tmpdir);
    snprintf(args, sizeof args, "fill-mask --model '%s' --top-k 5", model_dir);
    CHECK_EQ_INT(run(args, in, out), 0);
    int n = 0;
    cJSON **got = jl_load(out, &n);
    CHECK_EQ_INT(n, ne);
    for (int i = 0; i < n && i < ne; i++) {
        if (!got[i])
            continue;
        CHECK_MSG(same_ints(cJSON_GetObjectItemCaseSensitive(got[i], "input_ids"),
                            cJSON_GetObjectItemCaseSensitive(want[i], "input_ids")),
                  "fill-mask line %d: input_ids differ", i);
        const cJSON *gm = cJSON_GetObjectItemCaseSensitive(got[i], "masks");
        const cJSON *wm = cJSON_GetObjectItemCaseSensitive(want[i], "masks");
        CHECK_EQ_INT(cJSON_GetArraySize(gm), cJSON_GetArraySize(wm));
        for (int j = 0; j < cJSON_GetArraySize(gm) && j < cJSON_GetArraySize(wm); j++) {
            const cJSON *g = cJSON_GetArrayItem(gm, j), *w = cJSON_GetArrayItem(wm, j);
            CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(g, "pos")->valuedouble,
                         cJSON_GetObjectItemCaseSensitive(w, "pos")->valuedouble);
            CHECK_MSG(same_ints(cJSON_GetObjectItemCaseSensitive(g, "top_ids"),
                                cJSON_GetObjectItemCaseSensitive(w, "top_ids")),
                      "fill-mask line %d mask %d: top ids differ", i, j);
            CHECK(same_strings(cJSON_GetObjectItemCaseSensitive(g, "top_tokens"),
                               cJSON_GetObjectItemCaseSensitive(w, "top_tokens")));
        }
    }
    jl_free(got, n);
    jl_free(want, ne);
    free(tok);
    free(vocab);
    /* a model without an MLM head is refused */
    td_path(model_dir, sizeof model_dir, "models", "bert-tiny-uncased", NULL);
    snprintf(args, sizeof args, "fill-mask --model '%s'", model_dir);
    CHECK_EQ_INT(run(args, in, out), 1);
    CHECK(stderr_has("masked-LM"));
}

static void test_usage(void)
{
    char model_dir[1024], in[512], out[512], args[1300];
    td_path(model_dir, sizeof model_dir, "models", "bert-tiny-uncased", NULL);
    snprintf(in, sizeof in, "%s/in.jsonl", tmpdir);
    snprintf(out, sizeof out, "%s/out.jsonl", tmpdir);
    write_text(in, "\"hello\"\n");
    static const char *const cmds[] = {"tokenize", "embed", "fill-mask"};
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "%s --help", cmds[i]);
        CHECK_EQ_INT(run(args, in, out), 0);
        snprintf(args, sizeof args, "%s", cmds[i]);
        CHECK_EQ_INT(run(args, in, out), 2); /* no --model */
        CHECK(stderr_has("--model"));
        snprintf(args, sizeof args, "%s --model '%s' --bogus", cmds[i], model_dir);
        CHECK_EQ_INT(run(args, in, out), 2);
        snprintf(args, sizeof args, "%s --model /nonexistent/model", cmds[i]);
        CHECK_EQ_INT(run(args, in, out), 1);
        CHECK(stderr_has("/nonexistent/model") && stderr_has("not found"));
        /* a folder that exists but is not a model names the missing file */
        snprintf(args, sizeof args, "%s --model /tmp", cmds[i]);
        CHECK_EQ_INT(run(args, in, out), 1);
        CHECK(stderr_has("config.json") || stderr_has("vocab.txt"));
    }
    snprintf(args, sizeof args, "embed --model '%s' --pooling median", model_dir);
    CHECK_EQ_INT(run(args, in, out), 2);
    snprintf(args, sizeof args, "embed --model '%s' --batch 0", model_dir);
    CHECK_EQ_INT(run(args, in, out), 2);
    snprintf(args, sizeof args, "tokenize --model '%s' --max-length x", model_dir);
    CHECK_EQ_INT(run(args, in, out), 2);
    snprintf(args, sizeof args, "fill-mask --model '%s' --top-k 0", model_dir);
    CHECK_EQ_INT(run(args, in, out), 2);

    /* malformed input lines: exit 1 naming the line; blank lines are skipped */
    static const char *const bad[] = {"\"ok\"\n\n{\"text\": 1}\n", "\"ok\"\n\"unterminated\n",
                                      "\"ok\"\n[\"a\", \"b\", \"c\"]\n", "\"ok\"\n\"bad \\ud800 surrogate\"\n",
                                      "\"ok\"\n\"a\" trailing\n"};
    for (int i = 0; i < 5; i++) {
        write_text(in, bad[i]);
        snprintf(args, sizeof args, "tokenize --model '%s'", model_dir);
        CHECK_EQ_INT(run(args, in, out), 1);
        CHECK(stderr_has("line "));
        snprintf(args, sizeof args, "embed --model '%s'", model_dir);
        CHECK_EQ_INT(run(args, in, out), 1);
    }
    /* invalid UTF-8 inside a string is an error too */
    write_text(in, "\"bad \xff byte\"\n");
    snprintf(args, sizeof args, "embed --model '%s'", model_dir);
    CHECK_EQ_INT(run(args, in, out), 1);
    /* truncation: --max-length 5 gives [CLS] + 3 pieces + [SEP] */
    write_text(in, "\"one two three four five\"\n");
    snprintf(args, sizeof args, "tokenize --model '%s' --max-length 5", model_dir);
    CHECK_EQ_INT(run(args, in, out), 0);
    int n = 0;
    cJSON **got = jl_load(out, &n);
    CHECK_EQ_INT(n, 1);
    if (n == 1 && got[0])
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(got[0], "input_ids")), 5);
    jl_free(got, n);
    /* empty input: no output, success */
    write_text(in, "");
    snprintf(args, sizeof args, "embed --model '%s'", model_dir);
    CHECK_EQ_INT(run(args, in, out), 0);
}

/* Input limits: one line with no newline, far longer than the 16 MiB cap (a bounded 3 GB stream of zero bytes),
 * read under a 1 GiB address-space limit: each command stops at the cap with exit 1 and the message. The old
 * reader (getline) read the whole line into memory first and, out of memory, took that for the end of the input:
 * exit 0, no message. Skipped under AddressSanitizer (its shadow memory cannot live under `ulimit -v`). */
static void test_input_limits(void)
{
#if defined(__SANITIZE_ADDRESS__)
    printf("input-limit checks skipped (AddressSanitizer)\n");
    return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    printf("input-limit checks skipped (AddressSanitizer)\n");
    return;
#endif
#endif
    char model_dir[1024];
    td_path(model_dir, sizeof model_dir, "models", "bert-tiny-uncased", NULL);
    static const char *const cmds[] = {"embed", "tokenize"};
    for (int i = 0; i < 2; i++) {
        int st = tst_sh("ulimit -v 1048576; head -c 3000000000 /dev/zero | SEMSEARCH_MODEL=none '%s' %s --model '%s' "
                        "> /dev/null 2> '%s/stderr'", SEM_BINARY, cmds[i], model_dir, tmpdir);
        CHECK_MSG(st == 1, "%s: exit %d", cmds[i], st);
        CHECK(stderr_has("line 1 is longer than 16777216 bytes"));
    }
    /* a good line before the long one is still answered, then the error */
    int st = tst_sh("ulimit -v 1048576; (printf '\"ok\"\\n'; head -c 100000000 /dev/zero) | SEMSEARCH_MODEL=none '%s' "
                    "embed --model '%s' > '%s/out.jsonl' 2> '%s/stderr'", SEM_BINARY, model_dir, tmpdir, tmpdir);
    CHECK_EQ_INT(st, 1);
    CHECK(stderr_has("line 2 is longer than"));
    char out[512];
    snprintf(out, sizeof out, "%s/out.jsonl", tmpdir);
    int n = 0;
    cJSON **got = jl_load(out, &n);
    CHECK_EQ_INT(n, 1);
    jl_free(got, n);
}

int main(void)
{
    TEST_REQUIRE_FILE(TD_DIR "/texts.jsonl");
    snprintf(tmpdir, sizeof tmpdir, "%s/sem_cli_enc_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(tmpdir) != NULL);
    char texts[1024];
    td_path(texts, sizeof texts, "texts.jsonl", NULL, NULL);

    test_tokenize("bert-tiny-uncased", "texts.jsonl", "tokens.jsonl");
    test_tokenize("bert-tiny-uncased", "pairs.jsonl", "pair_tokens.jsonl");
    test_embed("bert-tiny-uncased", "", texts, "embed_auto.jsonl");
    test_embed("bert-tiny-uncased", "--pooling cls --batch 3 --threads 2", texts, "embed_cls.jsonl");
    test_embed("bert-tiny-chinese", "--pooling cls --normalize", texts, "embed_auto.jsonl");
    test_embed("bert-tiny-uncased", "--pooling pooler --batch 1", texts, "embed_pooler.jsonl");
    /* pairs: [a, b] lines */
    char pairs[1024];
    test_embed("bert-tiny-uncased", "--pooling mean", td_path(pairs, sizeof pairs, "pairs.jsonl", NULL, NULL),
               "pair_embed_mean.jsonl");
    test_fill_mask();
    test_usage();
    test_input_limits();

    static const char *const files[] = {"stderr", "out.jsonl", "emb.jsonl", "mask_in.jsonl", "mask_out.jsonl",
                                        "in.jsonl"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir, files[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    TEST_END();
}
