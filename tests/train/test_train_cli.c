/* tests/train/test_train_cli.c: semsearch train through the real program:
 * - usage errors exit 2, --help exits 0;
 * - an MLM run SIGKILLed after a checkpoint and rerun with --resume ends with the same training log (every loss,
 *   bit for bit) and the same model.safetensors as an uninterrupted run;
 * - --stop-at (which also reports the held-out MLM evaluation) then --resume does the same;
 * - contrastive (SimCSE and pairs) training from the MLM model's folder, and `semsearch embed` loads the result. */
#include "test.h"
#include "test_util.h"

#include "common/fileio.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[] = "/tmp/sem_train_cli_XXXXXX";
#define VOCAB SEM_SHARED_DIR "/data/vocab/bert-base-uncased.txt"

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *buf = NULL;
    sem_error err;
    size_t l = 0;
    if (sem_read_file(path, 1 << 30, &buf, &l, &err) != SEM_OK)
        return NULL;
    if (len)
        *len = l;
    return buf;
}

static int same_file(const char *a, const char *b, const char *name)
{
    size_t la = 0, lb = 0;
    char *x = slurp(a, name, &la), *y = slurp(b, name, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static const char *ARGS = "train mlm --config %s/cfg.json --vocab " VOCAB " --corpus %s/corpus.txt --out %s/%s "
                          "--steps 40 --batch 4 --seq 16 --checkpoint-steps 5 --threads 1 --progress-seconds 1000";

int main(void)
{
    TEST_REQUIRE_FILE(VOCAB);
    CHECK(mkdtemp(root) != NULL);
    char path[1024];
    snprintf(path, sizeof path, "%s/cfg.json", root);
    const char *cfg = "{\"model_type\": \"bert\", \"vocab_size\": 30522, \"hidden_size\": 16, \"num_hidden_layers\": 1,"
                      " \"num_attention_heads\": 2, \"intermediate_size\": 32, \"max_position_embeddings\": 64}";
    sem_error err;
    CHECK(sem_write_file_atomic(path, cfg, strlen(cfg), &err) == SEM_OK);
    snprintf(path, sizeof path, "%s/corpus.txt", root);
    FILE *f = fopen(path, "w");
    static const char *w1[] = {"the cat", "a dog", "my friend", "the teacher", "our neighbour"};
    static const char *w2[] = {"reads", "writes", "likes", "finds", "sells"};
    static const char *w3[] = {"a book", "the paper", "old letters", "a map", "fresh bread"};
    for (int i = 0; i < 150; i++)
        fprintf(f, "%s %s %s.\n", w1[i % 5], w2[(i / 5) % 5], w3[(i / 25) % 5]);
    fclose(f);
    snprintf(path, sizeof path, "%s/pairs.tsv", root);
    f = fopen(path, "w");
    for (int i = 0; i < 40; i++)
        fprintf(f, "who %s %s?\t%s %s %s.\n", w2[i % 5], w3[(i / 5) % 5], w1[i % 5], w2[i % 5], w3[(i / 5) % 5]);
    fprintf(f, "a line without a tab\n");
    fclose(f);

    /* usage */
    CHECK_EQ_INT(tst_sh("%s train --help >/dev/null 2>&1", SEM_BINARY), 0);
    CHECK_EQ_INT(tst_sh("%s train mlm --help | grep -q Usage", SEM_BINARY), 0);
    CHECK_EQ_INT(tst_sh("%s train >/dev/null 2>&1", SEM_BINARY), 2);
    CHECK_EQ_INT(tst_sh("%s train bake --out x >/dev/null 2>&1", SEM_BINARY), 2);
    CHECK_EQ_INT(tst_sh("%s train mlm --out %s/x --corpus a >/dev/null 2>&1", SEM_BINARY, root), 2);
    CHECK_EQ_INT(tst_sh("%s train mlm --config a --out %s/x --corpus a >/dev/null 2>&1", SEM_BINARY, root), 2);
    CHECK_EQ_INT(tst_sh("%s train mlm --config a --vocab v --out %s/x --corpus a --steps 0 >/dev/null 2>&1",
                        SEM_BINARY, root), 2);
    CHECK_EQ_INT(tst_sh("%s train mlm --config a --vocab v --out %s/x --corpus a --bogus >/dev/null 2>&1", SEM_BINARY,
                        root), 2);
    CHECK_EQ_INT(tst_sh("%s train contrastive --model m --pairs a --simcse b --out %s/x >/dev/null 2>&1", SEM_BINARY,
                        root), 2);
    /* failures (exit 1): missing files, a config that is not JSON */
    CHECK_EQ_INT(tst_sh("%s train mlm --config %s/nope.json --vocab " VOCAB " --out %s/x --corpus %s/corpus.txt "
                        ">/dev/null 2>&1", SEM_BINARY, root, root, root), 1);
    CHECK_EQ_INT(tst_sh("%s train mlm --config %s/corpus.txt --vocab " VOCAB " --out %s/x --corpus %s/corpus.txt "
                        ">/dev/null 2>&1", SEM_BINARY, root, root, root), 1);
    CHECK_EQ_INT(tst_sh("%s train mlm --config %s/cfg.json --vocab " VOCAB " --out %s/x --corpus %s/missing.txt "
                        ">/dev/null 2>&1", SEM_BINARY, root, root, root), 1);

    /* A: uninterrupted */
    char fmt[1024];
    snprintf(fmt, sizeof fmt, "%%s %s 2>/dev/null", ARGS);
    CHECK_EQ_INT(tst_sh(fmt, SEM_BINARY, root, root, root, "A"), 0);
    snprintf(path, sizeof path, "%s/A", root);
    static const char *files[] = {"config.json", "vocab.txt", "model.safetensors", "modules.json",
                                  "1_Pooling/config.json", "tokenizer_config.json", "special_tokens_map.json",
                                  "sentence_bert_config.json", "train_log.tsv", "checkpoint.bin", "README.md"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p2[1100];
        snprintf(p2, sizeof p2, "%s/%s", path, files[i]);
        CHECK_MSG(sem_path_exists(p2), "missing %s", p2);
    }
    /* running again into the same folder without --resume is refused */
    CHECK_EQ_INT(tst_sh(fmt, SEM_BINARY, root, root, root, "A"), 1);

    /* B: killed (SIGKILL) once the first checkpoint exists, then resumed */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, ARGS, root, root, root, "B");
    pid_t pid = fork();
    if (pid == 0) {
        char full[2300];
        snprintf(full, sizeof full, "exec %s %s 2>/dev/null", SEM_BINARY, cmd);
        execl("/bin/sh", "sh", "-c", full, (char *)NULL);
        _exit(127);
    }
    snprintf(path, sizeof path, "%s/B/checkpoint.bin", root);
    for (int i = 0; i < 20000 && !sem_path_exists(path); i++)
        usleep(500);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    snprintf(fmt, sizeof fmt, "%%s %s --resume 2>/dev/null", ARGS);
    CHECK_EQ_INT(tst_sh(fmt, SEM_BINARY, root, root, root, "B"), 0);
    char da[1100], db[1100];
    snprintf(da, sizeof da, "%s/A", root);
    snprintf(db, sizeof db, "%s/B", root);
    CHECK(same_file(da, db, "train_log.tsv"));
    CHECK(same_file(da, db, "model.safetensors"));

    /* C: --stop-at (with the held-out evaluation reported there), then --resume */
    snprintf(fmt, sizeof fmt, "%%s %s --stop-at 7 --eval %s/corpus.txt 2>&1 | grep -q 'held-out MLM loss'", ARGS,
             root);
    CHECK_EQ_INT(tst_sh(fmt, SEM_BINARY, root, root, root, "C"), 0);
    snprintf(fmt, sizeof fmt, "%%s %s --resume 2>/dev/null", ARGS);
    CHECK_EQ_INT(tst_sh(fmt, SEM_BINARY, root, root, root, "C"), 0);
    snprintf(db, sizeof db, "%s/C", root);
    CHECK(same_file(da, db, "train_log.tsv"));
    CHECK(same_file(da, db, "model.safetensors"));
    /* resuming with other data is refused */
    snprintf(fmt, sizeof fmt, "%%s %s --resume --seq 12 2>/dev/null", ARGS);
    CHECK_EQ_INT(tst_sh(fmt, SEM_BINARY, root, root, root, "C"), 1);

    /* contrastive from the MLM model */
    CHECK_EQ_INT(tst_sh("%s train contrastive --model %s/A --simcse %s/corpus.txt --out %s/S --steps 4 --batch 4 "
                        "--seq 16 --f16 2>/dev/null", SEM_BINARY, root, root, root), 0);
    CHECK_EQ_INT(tst_sh("%s train contrastive --model %s/A --pairs %s/pairs.tsv --out %s/P --steps 4 --batch 4 "
                        "--seq 16 --pooling cls 2>/dev/null", SEM_BINARY, root, root, root), 0);
    snprintf(path, sizeof path, "%s/S", root);
    char *mods = slurp(path, "modules.json", NULL);
    CHECK(mods && strstr(mods, "Normalize"));
    free(mods);
    char *cj = slurp(path, "config.json", NULL);
    CHECK(cj && strstr(cj, "float16"));
    free(cj);
    snprintf(path, sizeof path, "%s/P", root);
    char *pool = slurp(path, "1_Pooling/config.json", NULL);
    CHECK(pool && strstr(pool, "\"pooling_mode_cls_token\": true"));
    free(pool);
    /* the inference side loads what the trainer wrote */
    CHECK_EQ_INT(tst_sh("printf '\"a cat reads a book\"\\n' | %s embed --model %s/S 2>/dev/null | grep -q embedding",
                        SEM_BINARY, root), 0);
    CHECK_EQ_INT(tst_sh("printf '\"a cat reads a book\"\\n' | %s embed --model %s/A 2>/dev/null | grep -q embedding",
                        SEM_BINARY, root), 0);
    if (!getenv("KEEP")) CHECK_EQ_INT(tst_sh("rm -rf '%s'", root), 0);
    TEST_END();
}
