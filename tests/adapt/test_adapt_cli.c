/* tests/adapt/test_adapt_cli.c: `semsearch adapt KB` end to end with the bert-tiny fixture (random weights, so
 * the checks are about what is written and switched, not about quality):
 * - mining: the pairs file's shape and counts; held-out documents are in no pair and not in the MLM corpus;
 * - a small KB (the first 60 entries of data/eval/covid-faq) adapts for a few updates; the KB's recorded model
 *   becomes KB/adapted-1 (identity, the recorded model folder), the stored vectors are the adapted model's encodings of the
 *   passages as indexing composes them, semantic and lexical search work, the model card and logs are there,
 *   and the original model's files are byte-identical;
 * - a second run continues from adapted-1 into adapted-2 and removes adapted-1;
 * - a run stopped by SIGTERM in its contrastive stage continues when run again, ending with one log line per
 *   update (none lost or repeated);
 * - errors: a missing KB, a lexical-only KB, a raw-vector KB, a KB too small to mine, usage errors. */
#include "test.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapt/adapt.h"
#include "common/fileio.h"
#include "common/holdout.h"
#include "encoder/encoder.h"
#include "indexer/indexer.h"
#include "kbmodel/kbmodel.h"
#include "store/kb.h"

#define MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"
#define CORPUS SEM_SOURCE_DIR "/data/eval/covid-faq/corpus.jsonl"
#define FAST "--seq 32 --batch 4 --mlm-batch 4 --threads 1 -q"

static char tmp[256], out_buf[1 << 16];

/* Runs "semsearch ARGS 2>&1" into out_buf; returns the exit status. */
static int sem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sem(const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", SEM_BINARY, args);
    int rc = tst_run_capture(cmd, out_buf, sizeof out_buf);
    CHECK_MSG(strstr(out_buf, "Sanitizer") == NULL && strstr(out_buf, "runtime error") == NULL, "%s", out_buf);
    return rc;
}

/* Concatenation of every file of the model folder (and 1_Pooling), to compare before and after. */
static char *model_bytes(size_t *len)
{
    const char *files[] = {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json",
                           "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
                           "1_Pooling/config.json"};
    char *all = NULL;
    *len = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", MODEL, files[i]);
        size_t n = 0;
        char *b = tst_slurp(p, &n);
        char *a = realloc(all, *len + n + 1);
        if (!a || !b) {
            free(b);
            continue;
        }
        all = a;
        memcpy(all + *len, b, n);
        *len += n;
        free(b);
    }
    return all;
}

static sem_kb_model kb_model(const char *kb_dir)
{
    sem_kb_model m;
    memset(&m, 0, sizeof m);
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *kb = sem_kb_open(kb_dir, &op, NULL);
    if (kb)
        sem_kb_get_model(kb, &m);
    sem_kb_close(kb);
    return m;
}

/* The model folder the KB at kb_dir records (sem_kb_get_model_dir): SEM_OK or its error. */
static int recorded_model(const char *kb_dir, char *out, size_t cap)
{
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *kb = sem_kb_open(kb_dir, &op, NULL);
    int rc = kb ? sem_kb_get_model_dir(kb, out, cap, NULL) : SEM_ENOTFOUND;
    sem_kb_close(kb);
    return rc;
}

/* The stored vector of document faq-3's first passage equals the adapted model's encoding of its text. */
static void check_vectors(const char *kb_dir, const char *model_dir)
{
    sem_error err;
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *kb = sem_kb_open(kb_dir, &op, &err);
    sem_model *m = sem_model_load(model_dir, NULL, &err);
    CHECK_MSG(kb && m, "%s", err.msg);
    sem_kb_doc_out *d = NULL;
    if (kb && m && sem_kb_get_doc(kb, "faq-3", 1, &d, &err) == SEM_OK && d->n_passages > 0) {
        char *owned = NULL;
        const char *t = sem_kbmodel_passage_text(d->title, d->passages[0].text, &owned);
        float v[1024];
        sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, &err);
        sem_encode_params ep = sem_encode_default_params();
        ep.normalize = 1;
        CHECK(ctx && sem_encode(ctx, &t, 1, &ep, v, &err) == SEM_OK);
        double diff = 0;
        for (int k = 0; k < sem_model_dim(m); k++)
            diff = fmax(diff, fabs(v[k] - d->passages[0].vec[k]));
        CHECK_MSG(diff < 1e-4, "stored vector differs from the adapted model's by %g", diff);
        sem_encoder_ctx_free(ctx);
        free(owned);
    } else {
        CHECK_MSG(0, "faq-3 not found: %s", err.msg);
    }
    sem_kb_doc_out_free(d);
    sem_model_free(m);
    sem_kb_close(kb);
}

static void check_adapted(const char *kb, int gen, const sem_kb_model *before)
{
    char dir[512], path[600], real[PATH_MAX], rec[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/adapted-%d", kb, gen);
    CHECK_MSG(realpath(dir, real) != NULL, "%s missing", dir);
    CHECK(recorded_model(kb, rec, sizeof rec) == SEM_OK && strcmp(rec, real) == 0);
    sem_kb_model now = kb_model(kb);
    snprintf(path, sizeof path, "adapted-%d", gen);
    CHECK_MSG(strcmp(now.name, path) == 0, "KB model name %s", now.name);
    CHECK(strcmp(now.config_hash, before->config_hash) != 0 && now.dim == before->dim);
    const char *need[] = {"README.md", "config.json", "model.safetensors", "vocab.txt", "modules.json",
                          "1_Pooling/config.json", "train_log_contrastive.tsv"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, need[i]);
        CHECK_MSG(sem_path_exists(path), "%s missing", path);
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *cfg = tst_slurp(path, NULL);
    CHECK(cfg && strstr(cfg, "\"semsearch_adapted\""));
    free(cfg);
    snprintf(path, sizeof path, "%s/README.md", dir);
    char *card = tst_slurp(path, NULL);
    CHECK(card && strstr(card, "pairs") && strstr(card, "No queries were seen"));
    free(card);
    snprintf(path, sizeof path, "%s/adapt-work", kb);
    CHECK_MSG(!sem_path_exists(path), "%s left behind", path);
    check_vectors(kb, dir);
    /* search works in every mode with the new model */
    CHECK_EQ_INT(sem("query '%s' 'how does the virus spread' --mode semantic -k 3", kb), 0);
    CHECK_EQ_INT(sem("query '%s' 'how does the virus spread' --mode hybrid -k 3", kb), 0);
    CHECK_EQ_INT(sem("query '%s' 'virus spread' --mode lexical -k 3", kb), 0);
    CHECK_MSG(strstr(out_buf, "faq-") != NULL, "%s", out_buf);
    CHECK_EQ_INT(sem("kb check '%s'", kb), 0);
}

/* Starts adapt in the background and stops it with SIGTERM two updates into its contrastive stage. */
static void stop_in_contrastive(const char *kb)
{
    char log[600], cmd[4096];
    snprintf(log, sizeof log, "%s/adapt-work/contrastive/train_log.tsv", kb);
    snprintf(cmd, sizeof cmd, "exec %s adapt '%s' --steps 1,400 " FAST " >/dev/null 2>&1", SEM_BINARY, kb);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int stopped = 0;
    for (int i = 0; i < 6000 && !stopped; i++) { /* up to 60 s */
        char *s = tst_slurp(log, NULL);
        int lines = 0;
        for (char *c = s; c && *c; c++)
            lines += *c == '\n';
        if (lines >= 3) { /* the header and two updates */
            kill(pid, SIGTERM);
            stopped = 1;
        }
        free(s);
        if (!stopped)
            usleep(10000);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK_MSG(stopped, "adapt never reached its contrastive stage");
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "a stopped adapt exits 1 (status %d)", st);
}

static long log_lines(const char *path, int *ordered)
{
    char *s = tst_slurp(path, NULL);
    long n = 0, prev = 0;
    *ordered = 1;
    for (char *l = s ? strchr(s, '\n') : NULL; l && l[1]; l = strchr(l + 1, '\n')) {
        long step = strtol(l + 1, NULL, 10);
        *ordered &= step == prev + 1;
        prev = step;
        n++;
    }
    free(s);
    return n;
}

/* Mining (sem_adapt_mine) on the test KB: 2 or 3 tab-separated columns per line, as many 3-column lines as
 * negatives reported, titles of non-held-out documents are anchors, held-out documents appear nowhere. */
static void test_mine(const char *kb)
{
    char corpus[512], pairs[512];
    snprintf(corpus, sizeof corpus, "%s/mined-corpus.txt", tmp);
    snprintf(pairs, sizeof pairs, "%s/mined-pairs.tsv", tmp);
    sem_adapt_report rep;
    memset(&rep, 0, sizeof rep);
    sem_error err;
    CHECK_MSG(sem_adapt_mine(kb, corpus, pairs, 20000, 42, &rep, &err) == SEM_OK, "%s", err.msg);
    CHECK(rep.docs == 60 && rep.docs_held_out > 0 && rep.docs_held_out < 30 && rep.pairs >= SEM_ADAPT_MIN_PAIRS);
    CHECK(rep.pairs == rep.pairs_title + rep.pairs_sentence + rep.pairs_neighbour && rep.negatives > rep.pairs / 2);
    char *p = tst_slurp(pairs, NULL), *c = tst_slurp(corpus, NULL);
    long lines = 0, three = 0, bad = 0;
    for (char *l = p; l && *l;) {
        char *nl = strchr(l, '\n');
        int tabs = 0;
        for (char *q = l; q < nl; q++)
            tabs += *q == '\t';
        bad += !nl || tabs < 1 || tabs > 2;
        three += tabs == 2;
        lines++;
        l = nl ? nl + 1 : l + strlen(l);
    }
    CHECK_EQ_INT(lines, rep.pairs);
    CHECK_EQ_INT(three, rep.negatives);
    CHECK_EQ_INT(bad, 0);
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *k = sem_kb_open(kb, &op, &err);
    int held = 0, used = 0;
    char *titles[61] = {0}; /* FAQ questions repeat: a held-out title that a trained document shares is skipped */
    for (int i = 1; k && i <= 60; i++) {
        char id[32];
        snprintf(id, sizeof id, "faq-%d", i);
        sem_kb_doc_out *d = NULL;
        if (sem_kb_get_doc(k, id, 0, &d, &err) == SEM_OK && !sem_holdout_doc(id))
            titles[i] = strdup(d->title);
        sem_kb_doc_out_free(d);
    }
    for (int i = 1; k && p && c && i <= 60; i++) {
        char id[32], probe[600], line[600];
        snprintf(id, sizeof id, "faq-%d", i);
        sem_kb_doc_out *d = NULL;
        if (sem_kb_get_doc(k, id, 0, &d, &err) != SEM_OK)
            continue;
        snprintf(probe, sizeof probe, "\n%s\t", d->title); /* the title as an anchor (not the first line) */
        snprintf(line, sizeof line, "\n%s\n", d->title);   /* the title as a corpus line */
        int anchor = strstr(p, probe) != NULL, in_corpus = strstr(c, line) != NULL, shared = 0;
        for (int j = 1; j <= 60; j++)
            shared |= titles[j] && strcmp(titles[j], d->title) == 0;
        if (sem_holdout_doc(id)) {
            held++;
            CHECK_MSG(shared || (!anchor && !in_corpus), "held-out %s was trained on", id);
        } else {
            used += anchor;
        }
        sem_kb_doc_out_free(d);
    }
    for (int j = 0; j <= 60; j++)
        free(titles[j]);
    CHECK_EQ_INT(held, rep.docs_held_out);
    CHECK_MSG(used > 30, "only %d titles are anchors", used);
    sem_kb_close(k);
    free(p);
    free(c);
}

static void test_errors(void)
{
    char kb[512];
    CHECK_EQ_INT(sem("adapt --help"), 0);
    CHECK(strstr(out_buf, "Usage: semsearch adapt KB") != NULL);
    CHECK_EQ_INT(sem("adapt"), 2);
    CHECK_EQ_INT(sem("adapt '%s/x' --bogus", tmp), 2);
    CHECK_EQ_INT(sem("adapt '%s/x' --steps 5", tmp), 2);
    CHECK_EQ_INT(sem("adapt '%s/x' --minutes -1", tmp), 2);
    CHECK_EQ_INT(sem("adapt '%s/missing'", tmp), 1);
    CHECK_MSG(strstr(out_buf, "not a knowledge base") != NULL, "%s", out_buf);
    snprintf(kb, sizeof kb, "%s/lex", tmp);
    CHECK_EQ_INT(sem("index add '%s' '%s' --format beir --lexical -q", kb, CORPUS), 0);
    CHECK_EQ_INT(sem("adapt '%s' --steps 1,1", kb), 1);
    CHECK_MSG(strstr(out_buf, "lexical-only") != NULL, "%s", out_buf);
    snprintf(kb, sizeof kb, "%s/raw", tmp);
    CHECK_EQ_INT(sem("kb create '%s' --dim 8 -q", kb), 0);
    CHECK_EQ_INT(sem("adapt '%s' --steps 1,1", kb), 1);
    CHECK_MSG(strstr(out_buf, "raw vectors") != NULL, "%s", out_buf);
    /* two one-sentence documents: nothing to mine */
    char small[512];
    snprintf(small, sizeof small, "%s/small.jsonl", tmp);
    const char *two = "{\"_id\":\"a\",\"text\":\"Cats sleep a lot.\"}\n{\"_id\":\"b\",\"text\":\"Dogs bark.\"}\n";
    tst_write_file(small, two, strlen(two));
    snprintf(kb, sizeof kb, "%s/small", tmp);
    CHECK_EQ_INT(sem("index add '%s' '%s' --format beir --model '%s' --no-calibrate -q", kb, small, MODEL), 0);
    CHECK_EQ_INT(sem("adapt '%s' --steps 1,1", kb), 1);
    CHECK_MSG(strstr(out_buf, "too small to adapt") != NULL, "%s", out_buf);
    CHECK(recorded_model(kb, small, sizeof small) == SEM_OK && strstr(small, "bert-tiny"));
}

int main(void)
{
    if (!sem_path_exists(MODEL "/model.safetensors")) {
        fprintf(stderr, "skipped: %s missing\n", MODEL);
        return 77;
    }
    snprintf(tmp, sizeof tmp, "/tmp/sem_adapt_test_XXXXXX");
    CHECK(mkdtemp(tmp) != NULL);
    char corpus[512], kb[512], path[600];
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", tmp);
    snprintf(kb, sizeof kb, "%s/kb", tmp);
    CHECK_EQ_INT(tst_sh("head -n 60 '%s' > '%s'", CORPUS, corpus), 0);
    size_t len0 = 0, len1 = 0;
    char *before_bytes = model_bytes(&len0);
    CHECK(before_bytes && len0 > 1000);

    CHECK_EQ_INT(sem("index add '%s' '%s' --format beir --model '%s' --no-calibrate -q", kb, corpus, MODEL), 0);
    test_mine(kb);
    sem_kb_model before = kb_model(kb);
    CHECK_EQ_INT(sem("adapt '%s' --steps 2,3 " FAST, kb), 0);
    CHECK_MSG(1, "%s", out_buf);
    check_adapted(kb, 1, &before);
    /* a second run continues from the adapted model */
    sem_kb_model first = kb_model(kb);
    CHECK_EQ_INT(sem("adapt '%s' --steps 0,3 " FAST, kb), 0);
    check_adapted(kb, 2, &first);
    snprintf(path, sizeof path, "%s/adapted-1", kb);
    CHECK_MSG(!sem_path_exists(path), "the superseded generation stays");
    snprintf(path, sizeof path, "%s/adapted-2/README.md", kb);
    char *card = tst_slurp(path, NULL);
    CHECK(card && strstr(card, "adapted-1") && strstr(card, "generation 2"));
    free(card);

    /* stopped in the contrastive stage, then continued by the same command */
    stop_in_contrastive(kb);
    snprintf(path, sizeof path, "%s/adapt-work/contrastive/checkpoint.bin", kb);
    CHECK_MSG(sem_path_exists(path), "no checkpoint after the stop");
    snprintf(path, sizeof path, "%s/adapted-2", kb);
    CHECK_MSG(sem_path_exists(path), "the KB's model must stay in place while a run is unfinished");
    sem_kb_model second = kb_model(kb);
    CHECK_EQ_INT(sem("adapt '%s' --steps 1,400 --seq 32 --batch 4 --mlm-batch 4 --threads 1", kb), 0);
    CHECK_MSG(strstr(out_buf, "resumed") != NULL, "%s", out_buf);
    check_adapted(kb, 3, &second);
    snprintf(path, sizeof path, "%s/adapted-3/train_log_contrastive.tsv", kb);
    int ordered = 0;
    CHECK_EQ_INT(log_lines(path, &ordered), 400);
    CHECK(ordered);

    char *after_bytes = model_bytes(&len1);
    CHECK_MSG(len0 == len1 && after_bytes && memcmp(before_bytes, after_bytes, len0) == 0,
              "the original model's files changed");
    free(before_bytes);
    free(after_bytes);
    test_errors();
    if (!test_fail_)
        tst_sh("rm -rf '%s'", tmp);
    TEST_END();
}
