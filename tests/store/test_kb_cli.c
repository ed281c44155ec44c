/* tests/store/test_kb_cli.c: `semsearch kb` end to end: usage errors exit 2, failures 1; create (raw and with a
 * model; --stemming), info (schema, tokenizer), check (clean, then a damaged index file), compact (--index,
 * --stemming), export jsonl / npy. */
#include "test.h"
#include "test_util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "store/kb.h"
#include "store_test_util.h"

static char out[1 << 16];

/* Runs `semsearch ARGS` (printf-style) with stdout and stderr into out; returns the exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[3000], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s 2>&1", SEM_BINARY, args);
    return tst_run_capture(cmd, out, sizeof out);
}

int main(void)
{
    char base[512], kb[1024];
    tu_tmpdir(base, sizeof base, "cli");
    snprintf(kb, sizeof kb, "%s/kb", base);

    CHECK_EQ_INT(run("kb --help"), 0);
    CHECK(strstr(out, "compact") != NULL);
    CHECK_EQ_INT(run("kb create --help"), 0);
    CHECK_EQ_INT(run("kb"), 2);
    CHECK_EQ_INT(run("kb frob x"), 2);
    CHECK_EQ_INT(run("kb create"), 2);
    setenv("SEMSEARCH_MODEL", "none", 1);
    CHECK_EQ_INT(run("kb create %s", kb), 1); /* neither --dim nor --model, and no default model */
    CHECK(strstr(out, "no default model") != NULL);
    CHECK_EQ_INT(run("kb create %s --dim 8 --model x", kb), 2);
    CHECK_EQ_INT(run("kb create %s --dim 0", kb), 2);
    CHECK_EQ_INT(run("kb create %s --dim 8 --metric cosine", kb), 2);
    CHECK_EQ_INT(run("kb create %s --dim 8 --bogus 1", kb), 2);
    CHECK_EQ_INT(run("kb create %s --dim 8 --stemming snowball", kb), 2);
    CHECK(strstr(out, "porter or none") != NULL);
    CHECK_EQ_INT(run("kb create %s --dim 8 --index NoSuchIndex", kb), 1);
    CHECK(strstr(out, "NoSuchIndex") != NULL);
    CHECK_EQ_INT(run("kb info %s", kb), 1); /* does not exist */
    CHECK_EQ_INT(run("kb create %s --dim 8 --index IVF4,Flat --metric l2 --stemming none", kb), 0);
    CHECK_EQ_INT(run("kb create %s --dim 8 --index IVF4,Flat --metric l2 --stemming none", kb), 1); /* exists */

    /* Fill through the C API (the CLI has no add: that is `semsearch index`). */
    sem_error err;
    sem_kb *k = sem_kb_open(kb, NULL, &err);
    CHECK_MSG(k != NULL, "%s", err.msg);
    if (k) {
        float x[200 * 8];
        tu_clustered(x, 200, 8, 5, 0.3f);
        for (int i = 0; i < 200; i++) {
            char id[32];
            snprintf(id, sizeof id, "d%d", i);
            CHECK_EQ_INT(tu_put(k, id, x + i * 8, 1, NULL, &err), SEM_OK);
        }
        sem_kb_close(k);
    }
    CHECK_EQ_INT(run("kb info %s", kb), 0);
    CHECK(strstr(out, "passages:       200") != NULL);
    CHECK(strstr(out, "metric:         l2") != NULL);
    CHECK(strstr(out, "trained:        yes") != NULL); /* IVF4 trains at 156 vectors */
    CHECK(strstr(out, "schema:         3") != NULL);
    CHECK(strstr(out, "tokenizer:      semsearch_cjk remove_diacritics 2 (text and title)") != NULL);
    CHECK_EQ_INT(run("kb check %s", kb), 0);
    CHECK(strstr(out, "check: ok") != NULL);

    /* A damaged index file: check reports it (exit 1); compact rewrites it. */
    char idx[1100];
    snprintf(idx, sizeof idx, "%s/index.faiss", kb);
    CHECK(truncate(idx, tst_file_size(idx) / 2) == 0);
    CHECK_EQ_INT(run("kb check %s", kb), 1);
    CHECK(strstr(out, "damaged") != NULL);
    CHECK_EQ_INT(run("kb compact %s", kb), 0);
    CHECK(strstr(out, "200 vectors") != NULL);
    CHECK_EQ_INT(run("kb check %s", kb), 0);
    CHECK_EQ_INT(run("kb compact %s --index HNSW16", kb), 0);
    CHECK_EQ_INT(run("kb info %s", kb), 0);
    CHECK(strstr(out, "index spec:     HNSW16") != NULL);
    /* --stemming on compact rebuilds the full-text index with it */
    CHECK_EQ_INT(run("kb compact %s --stemming porter", kb), 0);
    CHECK(strstr(out, "full-text index: porter semsearch_cjk remove_diacritics 2") != NULL);
    CHECK_EQ_INT(run("kb compact %s --stemming lancaster", kb), 2);

    /* Lexical query on this raw-vector KB with 40 one-letter words: `semsearch query` aborted (heap overflow in
     * the FTS5 query builder, issue #12). The passages read "text of dN passage 0". */
    char xs[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(xs, i ? " x" : "x");
    CHECK_EQ_INT(run("query %s --mode lexical -k 3 '%s passage d7'", kb, xs), 0);
    CHECK_MSG(strstr(out, "d7") != NULL, "%s", out);
    /* index specs are checked before FAISS sees them */
    CHECK_EQ_INT(run("kb create %s/pq --dim 8 --index PQ8x20", base), 1);
    CHECK_MSG(strstr(out, "bits") != NULL, "%s", out);

    /* Export. */
    CHECK_EQ_INT(run("kb export %s --format jsonl", kb), 0);
    int lines = 0;
    for (char *c = out; *c; c++)
        lines += *c == '\n';
    CHECK_EQ_INT(lines, 200);
    CHECK(strstr(out, "{\"id\":1,\"doc\":\"d0\"") == out);
    CHECK_EQ_INT(run("kb export %s --format npy", kb), 2);
    CHECK_EQ_INT(run("kb export %s --format csv -o x", kb), 2);
    CHECK_EQ_INT(run("kb export %s --format npy -o %s/v.npy", kb, base), 0);
    char p[1100];
    snprintf(p, sizeof p, "%s/v.npy", base);
    CHECK_EQ_INT(tst_file_size(p), 128 + 200 * 8 * 4);
    snprintf(p, sizeof p, "%s/v.ids.npy", base);
    CHECK_EQ_INT(tst_file_size(p), 128 + 200 * 8);

    /* With a real model folder from the shared test data, when present. */
    char model[1024];
    snprintf(model, sizeof model, "%s/testdata/models/bert-tiny-uncased", SEM_SHARED_DIR);
    struct stat st;
    if (stat(model, &st) == 0) {
        int rc = run("kb create %s/m --model %s", base, model);
        CHECK_MSG(rc == 0, "create --model: %s", out);
        CHECK_EQ_INT(run("kb info %s/m", base), 0);
        CHECK(strstr(out, "model:          bert-tiny-uncased") != NULL);
        /* the model folder is recorded: index add and query need no --model afterwards */
        char docs[1100];
        snprintf(docs, sizeof docs, "%s/docs.jsonl", base);
        FILE *f = fopen(docs, "w");
        CHECK(f != NULL);
        if (f) {
            fputs("{\"id\":\"d1\",\"text\":\"the kb remembers its model\"}\n", f);
            fclose(f);
        }
        CHECK_EQ_INT(run("index add %s/m %s", base, docs), 0);
        CHECK_EQ_INT(run("query %s/m 'the kb remembers its model' -k 1 --json", base), 0);
        CHECK(strstr(out, "\"id\":\"d1\"") != NULL);
        CHECK_EQ_INT(run("kb create %s/m2 --model %s/nonexistent", base, base), 1);
    } else {
        fprintf(stderr, "skipping --model checks: %s not found\n", model);
    }
    tu_rm_rf(base);
    TEST_END();
}
