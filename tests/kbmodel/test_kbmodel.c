/* tests/kbmodel/test_kbmodel.c: the model of a KB (kbmodel/kbmodel.h) and the store's record of it:
 *   - the passage text a KB's model encodes ("title. passage") and the KB's encode parameters;
 *   - the model folder: recorded (absolute) in the KB's meta table, read back by read-only handles, the legacy
 *     KB/model_dir file of older KBs read when the table has none, the table winning over it; setting it needs a
 *     read-write handle; sem_kb_exists;
 *   - finding the folder: the one given, else the recorded one while it exists, else a clear SEM_ENOTFOUND;
 *   - with the fixture models (skipped without ../shared): sem_kbmodel_open finds, loads and checks the KB's
 *     model; another model of the same dimension gets the SAME SEM_EMISMATCH message from kbmodel, the query
 *     layer (sem_search_open, sem_search_new) and the indexer (sem_index_put_docs); a KB without a model opens
 *     without one and refuses a given one;
 *   - the encoder precision a KB records (ext.encoder.precision): f32 when none, loaded by default, overridden
 *     by sem_kbmodel_params.precision, followed by sem_search_open; a damaged value is SEM_EFORMAT naming the KB
 *     (control bytes masked), and an explicit precision still opens it. */
#include "test.h"
#include "test_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "indexer/indexer.h"
#include "kbmodel/kbmodel.h"
#include "query/search.h"
#include "store/kb.h"

#define MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"
#define OTHER SEM_SHARED_DIR "/testdata/models/bert-tiny-chinese" /* same dimension, another model */

static char tmp[256];

/* tmp/name, in one of 4 buffers used in turn (so that a call may take a few paths). */
static const char *path(const char *name)
{
    static char p[4][512];
    static unsigned turn;
    turn = (turn + 1) % 4;
    snprintf(p[turn], sizeof p[turn], "%s/%s", tmp, name);
    return p[turn];
}

static sem_kb *raw_kb(const char *name, int metric)
{
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = 4;
    cp.metric = metric;
    sem_kb *kb = sem_kb_create(path(name), &cp, &err);
    CHECK_MSG(kb != NULL, "%s", err.msg);
    return kb;
}

static sem_kb *open_ro(const char *dir)
{
    sem_error err;
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *kb = sem_kb_open(dir, &op, &err);
    CHECK_MSG(kb != NULL, "%s", err.msg);
    return kb;
}

static void test_passage_text(void)
{
    char *owned = NULL;
    CHECK_STREQ(sem_kbmodel_passage_text(NULL, "body", &owned), "body");
    CHECK(owned == NULL);
    CHECK_STREQ(sem_kbmodel_passage_text("", "body", &owned), "body");
    CHECK_STREQ(sem_kbmodel_passage_text("Masks", "body text", &owned), "Masks. body text");
    CHECK(owned != NULL);
    free(owned);
    CHECK_STREQ(sem_kbmodel_passage_text("Why masks?", "Because.", &owned), "Why masks? Because.");
    free(owned);
    /* the passage starts with the title (a FAQ question, a heading), also after up to 8 bytes: left alone */
    CHECK_STREQ(sem_kbmodel_passage_text("Why masks?", "Why masks?\n\nBecause.", &owned), "Why masks?\n\nBecause.");
    CHECK(owned == NULL);
    CHECK_STREQ(sem_kbmodel_passage_text("Title", "## Title\nx", &owned), "## Title\nx");
    CHECK(owned == NULL);
}

static void test_encode_params(void)
{
    sem_kb *ip = raw_kb("ip", SEM_KB_METRIC_IP), *l2 = raw_kb("l2", SEM_KB_METRIC_L2);
    if (ip)
        CHECK_EQ_INT(sem_kbmodel_encode_params(ip).normalize, 1);
    if (l2)
        CHECK_EQ_INT(sem_kbmodel_encode_params(l2).normalize, sem_encode_default_params().normalize);
    sem_kb_close(ip);
    sem_kb_close(l2);
}

static void test_record_and_find(void)
{
    sem_error err;
    char out[PATH_MAX], real[PATH_MAX];
    CHECK(!sem_kb_exists(path("rec")));
    sem_kb *kb = raw_kb("rec", SEM_KB_METRIC_IP);
    if (!kb)
        return;
    CHECK(sem_kb_exists(path("rec")));
    CHECK_STREQ(sem_kb_dir(kb), path("rec"));
    CHECK_EQ_INT(sem_kb_get_model_dir(kb, out, sizeof out, &err), SEM_ENOTFOUND);
    CHECK_EQ_INT(sem_kbmodel_find(kb, NULL, out, sizeof out, &err), SEM_ENOTFOUND);
    CHECK_MSG(strstr(err.msg, path("rec")) != NULL, "%s", err.msg);
    CHECK_EQ_INT(sem_kbmodel_record(kb, path("no-such-folder"), &err), SEM_EIO);
    CHECK_EQ_INT(sem_kb_set_model_dir(kb, "", &err), SEM_EINVAL);
    /* recorded absolute, found while it exists, read back by a read-only handle */
    CHECK(mkdir(path("m1"), 0755) == 0);
    CHECK_EQ_INT(sem_kbmodel_record(kb, path("m1"), &err), SEM_OK);
    CHECK(realpath(path("m1"), real) != NULL);
    CHECK_EQ_INT(sem_kb_get_model_dir(kb, out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, real);
    CHECK_EQ_INT(sem_kbmodel_find(kb, NULL, out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, real);
    char tiny[8];
    CHECK_EQ_INT(sem_kb_get_model_dir(kb, tiny, sizeof tiny, &err), SEM_ERANGE);
    sem_kb_close(kb);
    kb = open_ro(path("rec"));
    if (kb) {
        CHECK_EQ_INT(sem_kb_get_model_dir(kb, out, sizeof out, &err), SEM_OK);
        CHECK_STREQ(out, real);
        CHECK_EQ_INT(sem_kb_set_model_dir(kb, real, &err), SEM_EINVAL); /* read-only */
        rmdir(path("m1"));
        CHECK_EQ_INT(sem_kbmodel_find(kb, NULL, out, sizeof out, &err), SEM_ENOTFOUND); /* gone */
        CHECK(sem_kbmodel_find(kb, path("given"), out, sizeof out, &err) != SEM_OK); /* no such folder */
        CHECK(mkdir(path("given"), 0755) == 0);
        CHECK_EQ_INT(sem_kbmodel_find(kb, path("given"), out, sizeof out, &err), SEM_OK);
        CHECK_STREQ(out, path("given"));
    }
    sem_kb_close(kb);
}

/* A KB made before the store kept the folder: KB/model_dir (one line) is read until the table has one. */
static void test_legacy_file(void)
{
    sem_error err;
    char out[PATH_MAX], real[PATH_MAX];
    sem_kb *kb = raw_kb("old", SEM_KB_METRIC_IP);
    if (!kb)
        return;
    CHECK(mkdir(path("m2"), 0755) == 0 && realpath(path("m2"), real) != NULL);
    char line[PATH_MAX + 2], file[600];
    snprintf(line, sizeof line, "%s\n", real);
    snprintf(file, sizeof file, "%s/model_dir", path("old"));
    CHECK(tst_write_file(file, line, strlen(line)) == 0);
    CHECK_EQ_INT(sem_kb_get_model_dir(kb, out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, real);
    CHECK_EQ_INT(sem_kbmodel_find(kb, NULL, out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, real);
    CHECK_EQ_INT(sem_kb_set_model_dir(kb, real, &err), SEM_OK); /* unchanged: not rewritten */
    CHECK(mkdir(path("m3"), 0755) == 0);
    CHECK_EQ_INT(sem_kbmodel_record(kb, path("m3"), &err), SEM_OK);
    CHECK_EQ_INT(sem_kb_get_model_dir(kb, out, sizeof out, &err), SEM_OK);
    CHECK(strstr(out, "/m3") != NULL); /* the table wins over the old file */
    sem_kb_close(kb);
    kb = raw_kb("old-empty", SEM_KB_METRIC_IP);
    snprintf(file, sizeof file, "%s/model_dir", path("old-empty"));
    CHECK(tst_write_file(file, "\n\n", 2) == 0);
    if (kb)
        CHECK_EQ_INT(sem_kb_get_model_dir(kb, out, sizeof out, &err), SEM_ENOTFOUND);
    sem_kb_close(kb);
}

/* A KB of MODEL, made the way `kb create --model` makes one. */
static int model_kb(const char *name)
{
    sem_error err;
    sem_model *m = sem_model_load(MODEL, NULL, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m)
        return -1;
    sem_kb_create_params cp = sem_kb_default_create_params();
    sem_kbmodel_identity(m, &cp.model);
    CHECK_EQ_INT(cp.model.dim, sem_model_dim(m));
    CHECK(cp.model.config_hash[0] && strcmp(cp.model.pooling, "mean") == 0);
    sem_kb *kb = sem_kb_create(path(name), &cp, &err);
    CHECK_MSG(kb != NULL, "%s", err.msg);
    int rc = kb ? sem_kbmodel_record(kb, MODEL, &err) : -1;
    CHECK_EQ_INT(rc, SEM_OK);
    CHECK_EQ_INT(kb ? sem_kbmodel_check(kb, m, MODEL, &err) : -1, SEM_OK);
    sem_kb_close(kb);
    sem_model_free(m);
    return rc;
}

/* The core of the one mismatch message: "KB DIR was built with ..., not ...". */
static void check_mismatch(int rc, const sem_error *err, const char *kb_dir)
{
    char want[600];
    snprintf(want, sizeof want, "KB %s was built with bert-tiny-uncased", kb_dir);
    CHECK_EQ_INT(rc, SEM_EMISMATCH);
    CHECK_MSG(strstr(err->msg, want) != NULL && strstr(err->msg, ", not bert-tiny-chinese") != NULL, "%s",
              err->msg);
}

static void test_open_with_model(void)
{
    sem_error err;
    char real[PATH_MAX];
    if (model_kb("m") != SEM_OK)
        return;
    sem_kbmodel km;
    sem_kbmodel_params p = sem_kbmodel_default_params();
    p.read_only = 1;
    CHECK_EQ_INT(sem_kbmodel_open(path("m"), &p, &km, &err), SEM_OK);
    CHECK(km.kb && km.model && realpath(MODEL, real) && strcmp(km.model_dir, real) == 0);
    sem_kbmodel_close(&km);
    CHECK(km.kb == NULL && km.model == NULL);
    sem_kbmodel_close(NULL);
    /* another model of the same dimension: one message from every caller */
    p.model = OTHER;
    int rc = sem_kbmodel_open(path("m"), &p, &km, &err);
    check_mismatch(rc, &err, path("m"));
    CHECK_MSG(strstr(err.msg, "the model at " OTHER) == err.msg, "%s", err.msg);
    CHECK(km.kb == NULL && km.model == NULL);
    sem_search_open_params sp = sem_search_default_open_params();
    sp.model = OTHER;
    CHECK(sem_search_open(path("m"), &sp, &err) == NULL);
    check_mismatch(err.code, &err, path("m"));
    sem_model *other = sem_model_load(OTHER, NULL, &err);
    sem_kb *kb = sem_kb_open(path("m"), NULL, &err);
    sem_encoder_ctx *ctx = other ? sem_encoder_ctx_new(other, &err) : NULL;
    CHECK(other && kb && ctx);
    if (other && kb && ctx) {
        CHECK(sem_search_new(kb, other, &err) == NULL);
        check_mismatch(err.code, &err, path("m"));
        sem_doc d = {.id = "d1", .text = "some text", .metadata_json = "{}"};
        check_mismatch(sem_index_put_docs(kb, other, ctx, &d, 1, 0, -1, NULL, &err), &err, path("m"));
    }
    sem_encoder_ctx_free(ctx);
    sem_kb_close(kb);
    sem_model_free(other);
}

/* The model km holds runs at want (requested and running: int8 always runs; bf16 would not everywhere). */
static void check_precision(const sem_model *m, sem_precision want)
{
    sem_model_info mi;
    CHECK(m != NULL);
    if (!m)
        return;
    sem_model_get_info(m, &mi);
    CHECK_MSG(mi.precision_requested == want && mi.precision == want, "requested %s, runs %s, want %s",
              sem_precision_name(mi.precision_requested), sem_precision_name(mi.precision), sem_precision_name(want));
}

/* Opens path(name) with precision (-1: the KB's) and checks the model's; returns the open's status. */
static int open_at(const char *name, int precision, sem_precision want, sem_error *err)
{
    sem_kbmodel km;
    sem_kbmodel_params p = sem_kbmodel_default_params();
    p.read_only = 1;
    p.precision = precision;
    int rc = sem_kbmodel_open(path(name), &p, &km, err);
    if (rc == SEM_OK)
        check_precision(km.model, want);
    else
        CHECK(km.kb == NULL && km.model == NULL);
    sem_kbmodel_close(&km);
    return rc;
}

/* The encoder precision a KB records: f32 when none, the recorded one by default, --precision overriding it,
 * the query layer following it, and a damaged record a clear SEM_EFORMAT naming the KB. */
static void test_precision(void)
{
    sem_error err;
    CHECK_EQ_INT(sem_kbmodel_default_params().precision, -1);
    CHECK_EQ_INT(sem_search_default_open_params().precision, -1);
    if (model_kb("p") != SEM_OK)
        return;
    sem_kb *kb = sem_kb_open(path("p"), NULL, &err), *ro = open_ro(path("p"));
    sem_precision pr = SEM_PRECISION_INT8;
    int recorded = 1;
    CHECK_EQ_INT(sem_kbmodel_get_precision(ro, &pr, &recorded, &err), SEM_OK);
    CHECK(pr == SEM_PRECISION_F32 && recorded == 0);
    CHECK_EQ_INT(open_at("p", -1, SEM_PRECISION_F32, &err), SEM_OK);
    CHECK_EQ_INT(sem_kbmodel_set_precision(ro, SEM_PRECISION_INT8, &err), SEM_EINVAL); /* read-only */
    CHECK_EQ_INT(sem_kbmodel_set_precision(kb, SEM_PRECISION_INT8, &err), SEM_OK);
    CHECK_EQ_INT(sem_kbmodel_get_precision(ro, &pr, &recorded, &err), SEM_OK);
    CHECK(pr == SEM_PRECISION_INT8 && recorded == 1);
    CHECK_EQ_INT(open_at("p", -1, SEM_PRECISION_INT8, &err), SEM_OK);
    CHECK_EQ_INT(open_at("p", SEM_PRECISION_F32, SEM_PRECISION_F32, &err), SEM_OK);
    sem_search *s = sem_search_open(path("p"), NULL, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (s)
        check_precision(sem_search_model(s), SEM_PRECISION_INT8);
    sem_search_free(s);
    /* a damaged record (control bytes shown as '?'); an explicit precision still opens the KB */
    CHECK_EQ_INT(sem_kb_set_setting(kb, SEM_KBMODEL_PRECISION_KEY, "int9\x1b[2J", &err), SEM_OK);
    CHECK_EQ_INT(sem_kbmodel_get_precision(ro, &pr, NULL, &err), SEM_EFORMAT);
    CHECK_EQ_INT(open_at("p", -1, SEM_PRECISION_F32, &err), SEM_EFORMAT);
    CHECK_MSG(strstr(err.msg, path("p")) && strstr(err.msg, "'int9?[2J'") && strstr(err.msg, "f32, bf16 or int8"),
              "%s", err.msg);
    CHECK(sem_search_open(path("p"), NULL, &err) == NULL && err.code == SEM_EFORMAT);
    CHECK_EQ_INT(open_at("p", SEM_PRECISION_INT8, SEM_PRECISION_INT8, &err), SEM_OK);
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK_EQ_INT(sem_kb_set_setting(kb, SEM_KBMODEL_PRECISION_KEY, big, &err), SEM_OK);
    CHECK_EQ_INT(open_at("p", -1, SEM_PRECISION_F32, &err), SEM_EFORMAT); /* longer than any name */
    CHECK_MSG(strstr(err.msg, path("p")) && strstr(err.msg, "xxx...'"), "%s", err.msg);
    sem_kb_close(ro);
    sem_kb_close(kb);
}

static void test_open_without_model(void)
{
    sem_error err;
    sem_kb_close(raw_kb("raw", SEM_KB_METRIC_IP));
    sem_kbmodel km;
    CHECK_EQ_INT(sem_kbmodel_open(path("raw"), NULL, &km, &err), SEM_OK);
    CHECK(km.kb && !km.model && !km.model_dir[0]);
    sem_kbmodel_close(&km);
    sem_kbmodel_params p = sem_kbmodel_default_params();
    p.model = MODEL;
    CHECK_EQ_INT(sem_kbmodel_open(path("raw"), &p, &km, &err), SEM_EMISMATCH);
    CHECK_MSG(strstr(err.msg, "has no model") != NULL, "%s", err.msg);
    CHECK_EQ_INT(sem_kbmodel_open(path("none"), NULL, &km, &err), SEM_ENOTFOUND);
    CHECK(km.kb == NULL);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/sem_kbmodel_XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    test_passage_text();
    test_encode_params();
    test_record_and_find();
    test_legacy_file();
    test_open_without_model();
    if (access(MODEL "/model.safetensors", R_OK) == 0 && access(OTHER "/model.safetensors", R_OK) == 0)
        test_open_with_model(), test_precision();
    else
        TEST_SKIP_SECTION("the fixture models (../shared/testdata/models) are missing");
    tst_sh("rm -rf '%s'", tmp);
    TEST_END();
}
