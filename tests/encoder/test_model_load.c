/* tests/encoder/test_model_load.c: loading model folders, and refusing broken ones with a clear error.
 * Broken fixtures are written into a temporary folder by this test (copies of bert-tiny-uncased with one thing
 * wrong each): truncated safetensors, headers whose offsets run past the end, wrong shapes, missing tensors,
 * unsupported dtypes, non-finite weights, missing or garbled config files. Also: info and identity hash,
 * pooling names, and encode-time argument errors (the f16/bf16 conversions: tests/common/test_half.c). */
#define _GNU_SOURCE
#include "common/fileio.h"
#include "encoder/encoder.h"
#include "encoder/internal.h"
#include "test.h"
#include "test_util.h"
#include "test_model_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char src[1024];   /* the pristine fixture */
static char tmp[256];    /* our scratch folder */
static char *st_buf;     /* the fixture's model.safetensors */
static size_t st_len;
static cJSON *st_header; /* its header, parsed */
static size_t st_data_off;

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_MSG(tst_write_file(path, data, len) == 0, "cannot write %s", path);
}

static void write_str(const char *name, const char *s) { write_file(tmp, name, s, strlen(s)); }

static void copy_file(const char *name)
{
    char path[1300], *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", src, name);
    CHECK_EQ_INT(sem_read_file(path, 64u << 20, &buf, &len, NULL), SEM_OK);
    if (buf)
        write_file(tmp, name, buf, len);
    free(buf);
}

/* Restores every file of the scratch folder to the fixture's. */
static void reset_folder(void)
{
    static const char *const files[] = {"config.json", "vocab.txt", "tokenizer_config.json",
                                        "special_tokens_map.json", "modules.json", "1_Pooling/config.json",
                                        "sentence_bert_config.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        copy_file(files[i]);
    write_file(tmp, "model.safetensors", st_buf, st_len);
}

/* Writes model.safetensors with header h (a modified copy of the fixture's) and the fixture's data section,
 * truncated to data_len bytes (or whole when data_len is (size_t)-1). */
static void write_st(cJSON *h, size_t data_len)
{
    char *js = cJSON_PrintUnformatted(h);
    size_t hl = strlen(js), full = st_len - st_data_off;
    if (data_len > full)
        data_len = full;
    size_t total = 8 + hl + data_len;
    unsigned char *buf = malloc(total);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, js, hl);
    memcpy(buf + 8 + hl, st_buf + st_data_off, data_len);
    write_file(tmp, "model.safetensors", buf, total);
    free(buf);
    free(js);
}

/* Loads the scratch folder expecting failure with code, and a message containing want (and want2). */
static void expect_fail(const char *what, int code, const char *want, const char *want2)
{
    sem_error err = {0};
    sem_model *m = sem_model_load(tmp, NULL, &err);
    CHECK_MSG(m == NULL, "%s: loaded", what);
    sem_model_free(m);
    CHECK_MSG(err.code == code, "%s: code %d (%s), want %d: %s", what, err.code, sem_strerror(err.code), code,
              err.msg);
    CHECK_MSG(!want || strstr(err.msg, want), "%s: message \"%s\" lacks \"%s\"", what, err.msg, want);
    CHECK_MSG(!want2 || strstr(err.msg, want2), "%s: message \"%s\" lacks \"%s\"", what, err.msg, want2);
}

static cJSON *header_copy(void) { return cJSON_Duplicate(st_header, 1); }

static void set_array(cJSON *h, const char *tensor, const char *key, double a, double b, int n)
{
    cJSON *t = cJSON_GetObjectItemCaseSensitive(h, tensor);
    CHECK_MSG(t != NULL, "fixture lacks %s", tensor);
    if (!t)
        return;
    cJSON *arr = n == 1 ? cJSON_CreateDoubleArray((double[]){a}, 1) : cJSON_CreateDoubleArray((double[]){a, b}, 2);
    cJSON_ReplaceItemInObjectCaseSensitive(t, key, arr);
}

static void test_safetensors_cases(void)
{
    cJSON *h;
    /* truncated in the data section */
    reset_folder();
    write_st(st_header, (st_len - st_data_off) / 2);
    expect_fail("truncated data", SEM_EFORMAT, "past the end", "tensor ");
    /* truncated inside the header */
    reset_folder();
    write_file(tmp, "model.safetensors", st_buf, 100);
    expect_fail("truncated header", SEM_EFORMAT, "header length", NULL);
    /* shorter than the length prefix */
    write_file(tmp, "model.safetensors", st_buf, 5);
    expect_fail("5 bytes", SEM_EFORMAT, "too short", NULL);
    /* a header length that lies (huge) */
    {
        unsigned char bad[64];
        memset(bad, 0xff, 8);
        memcpy(bad + 8, "{}", 2);
        write_file(tmp, "model.safetensors", bad, 10);
        expect_fail("huge header length", SEM_EFORMAT, "header length", NULL);
    }
    /* a header that is not JSON */
    {
        unsigned char bad[32] = {12, 0, 0, 0, 0, 0, 0, 0};
        memcpy(bad + 8, "not json at all", 12);
        write_file(tmp, "model.safetensors", bad, 20);
        expect_fail("garbled header", SEM_EFORMAT, "not a JSON object", NULL);
    }
    /* offsets past the end of the file */
    h = header_copy();
    set_array(h, "pooler.dense.bias", "data_offsets", (double)(st_len - st_data_off),
              (double)(st_len - st_data_off + 256), 2);
    write_st(h, (size_t)-1);
    expect_fail("offsets past the end", SEM_EFORMAT, "pooler.dense.bias", "past the end");
    cJSON_Delete(h);
    /* offsets that do not match the shape */
    h = header_copy();
    set_array(h, "embeddings.LayerNorm.bias", "shape", 32, 0, 1);
    write_st(h, (size_t)-1);
    expect_fail("size vs shape", SEM_EFORMAT, "embeddings.LayerNorm.bias", "bytes");
    cJSON_Delete(h);
    /* two tensors over the same bytes (same size, so each alone looks fine): refused, naming both */
    h = header_copy();
    {
        cJSON *w = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(h, "embeddings.LayerNorm.weight"),
                                                    "data_offsets");
        double b = cJSON_GetArrayItem(w, 0)->valuedouble, e = cJSON_GetArrayItem(w, 1)->valuedouble;
        set_array(h, "embeddings.LayerNorm.bias", "data_offsets", b, e, 2);
    }
    write_st(h, (size_t)-1);
    expect_fail("aliased tensors", SEM_EFORMAT, "embeddings.LayerNorm.bias", "overlap");
    cJSON_Delete(h);
    /* partly overlapping: a tensor starting inside the previous one */
    h = header_copy();
    {
        cJSON *w = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(h, "embeddings.LayerNorm.weight"),
                                                    "data_offsets");
        double b = cJSON_GetArrayItem(w, 0)->valuedouble, e = cJSON_GetArrayItem(w, 1)->valuedouble;
        set_array(h, "embeddings.LayerNorm.bias", "data_offsets", b + 4, e + 4, 2);
    }
    write_st(h, (size_t)-1);
    expect_fail("overlapping tensors", SEM_EFORMAT, "overlap", NULL);
    cJSON_Delete(h);
    /* negative / fractional offsets */
    h = header_copy();
    set_array(h, "embeddings.LayerNorm.bias", "data_offsets", -8, 248, 2);
    write_st(h, (size_t)-1);
    expect_fail("negative offset", SEM_EFORMAT, "data_offsets", NULL);
    cJSON_Delete(h);
    /* a shape that overflows 64 bits */
    h = header_copy();
    {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(h, "embeddings.LayerNorm.bias");
        double dims[] = {4294967296.0, 4294967296.0, 4294967296.0};
        cJSON_ReplaceItemInObjectCaseSensitive(t, "shape", cJSON_CreateDoubleArray(dims, 3));
    }
    write_st(h, (size_t)-1);
    expect_fail("overflowing shape", SEM_EFORMAT, "overflows", NULL);
    cJSON_Delete(h);
    /* wrong shape (same number of bytes) */
    h = header_copy();
    set_array(h, "encoder.layer.1.intermediate.dense.weight", "shape", 64, 256, 2);
    write_st(h, (size_t)-1);
    expect_fail("wrong shape", SEM_EMISMATCH, "encoder.layer.1.intermediate.dense.weight", "[64, 256]");
    cJSON_Delete(h);
    /* a missing tensor */
    h = header_copy();
    cJSON_DeleteItemFromObjectCaseSensitive(h, "encoder.layer.1.output.LayerNorm.bias");
    write_st(h, (size_t)-1);
    expect_fail("missing tensor", SEM_ENOTFOUND, "encoder.layer.1.output.LayerNorm.bias", NULL);
    cJSON_Delete(h);
    /* an unsupported dtype of the same width */
    h = header_copy();
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(h, "embeddings.LayerNorm.bias"), "dtype",
                                           cJSON_CreateString("I32"));
    write_st(h, (size_t)-1);
    expect_fail("I32 weights", SEM_EFORMAT, "embeddings.LayerNorm.bias", "I32");
    cJSON_Delete(h);
    /* an unknown dtype */
    h = header_copy();
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(h, "embeddings.LayerNorm.bias"), "dtype",
                                           cJSON_CreateString("F13"));
    write_st(h, (size_t)-1);
    expect_fail("unknown dtype", SEM_EFORMAT, "unknown dtype", NULL);
    cJSON_Delete(h);
    /* an entry that is not an object */
    h = header_copy();
    cJSON_ReplaceItemInObjectCaseSensitive(h, "embeddings.LayerNorm.bias", cJSON_CreateNumber(3));
    write_st(h, (size_t)-1);
    expect_fail("entry not an object", SEM_EFORMAT, "embeddings.LayerNorm.bias", NULL);
    cJSON_Delete(h);
    /* a duplicated name */
    h = header_copy();
    cJSON_AddItemToObject(h, "pooler.dense.bias",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(h, "pooler.dense.bias"), 1));
    write_st(h, (size_t)-1);
    expect_fail("duplicate tensor", SEM_EFORMAT, "twice", NULL);
    cJSON_Delete(h);
    /* a non-finite weight */
    {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(st_header, "encoder.layer.0.output.dense.bias");
        size_t b = (size_t)cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(t, "data_offsets"), 0)->valuedouble;
        char *copy = malloc(st_len);
        memcpy(copy, st_buf, st_len);
        uint32_t nan_bits = 0x7fc00000u;
        memcpy(copy + st_data_off + b + 12, &nan_bits, 4);
        write_file(tmp, "model.safetensors", copy, st_len);
        free(copy);
        expect_fail("NaN weight", SEM_EFORMAT, "encoder.layer.0.output.dense.bias", "not finite");
    }
    /* no weights file at all */
    reset_folder();
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    unlink(path);
    expect_fail("no safetensors", SEM_ENOTFOUND, "model.safetensors", NULL);
    /* without the pooler: loads, but pooler pooling is refused */
    h = header_copy();
    cJSON_DeleteItemFromObjectCaseSensitive(h, "pooler.dense.weight");
    cJSON_DeleteItemFromObjectCaseSensitive(h, "pooler.dense.bias");
    write_st(h, (size_t)-1);
    cJSON_Delete(h);
    sem_error err = {0};
    sem_model *m = sem_model_load(tmp, NULL, &err);
    CHECK_MSG(m != NULL, "no pooler: %s", err.msg);
    if (m) {
        sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, &err);
        int32_t ids[] = {101, 7592, 102};
        sem_token_input in = {ids, NULL, 3};
        float v[64];
        sem_encode_params p = sem_encode_default_params();
        p.pooling = SEM_POOL_POOLER;
        CHECK_EQ_INT(sem_encode_tokens(ctx, &in, 1, &p, v, &err), SEM_ENOTFOUND);
        CHECK(strstr(err.msg, "pooler") != NULL);
        p.pooling = SEM_POOL_CLS;
        CHECK_EQ_INT(sem_encode_tokens(ctx, &in, 1, &p, v, &err), SEM_OK);
        sem_encoder_ctx_free(ctx);
    }
    sem_model_free(m);
    reset_folder();
}

/* One broken file: what the load must then say. */
typedef struct bad_file {
    const char *file, *content;
    const char *what; /* the case's name in failure messages */
    int code;
    const char *want, *want2; /* substrings of the error message (want2 may be NULL) */
} bad_file;

/* For each case: writes its file, expects the load to fail as it says, restores the file. */
static void expect_fail_each(const bad_file *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        write_str(c[i].file, c[i].content);
        expect_fail(c[i].what, c[i].code, c[i].want, c[i].want2);
        copy_file(c[i].file);
    }
}

/* config.json keys every case below shares */
#define CFG_BASE                                                                                                 \
    "\"model_type\":\"bert\",\"num_attention_heads\":4,\"intermediate_size\":256,\"vocab_size\":30522,"        \
    "\"max_position_embeddings\":512,\"type_vocab_size\":2"

static const bad_file config_cases[] = {
    {"config.json", "{\"hidden_size\": 64, \"num_hidden_layers\": ", "garbled config.json", SEM_EFORMAT,
     "config.json", "malformed JSON"},
    {"config.json", "[1, 2, 3]", "config.json array", SEM_EFORMAT, "config.json", "object"},
    {"config.json", "{" CFG_BASE ",\"hidden_size\":64}", "missing num_hidden_layers", SEM_EFORMAT,
     "num_hidden_layers", NULL},
    {"config.json", "{" CFG_BASE ",\"hidden_size\":66,\"num_hidden_layers\":2}", "hidden % heads", SEM_EFORMAT,
     "multiple", NULL},
    {"config.json", "{" CFG_BASE ",\"hidden_size\":\"64\",\"num_hidden_layers\":2}", "string hidden_size",
     SEM_EFORMAT, "hidden_size", "integer"},
    {"config.json", "{" CFG_BASE ",\"hidden_size\":1e300,\"num_hidden_layers\":2}", "huge hidden_size", SEM_EFORMAT,
     "hidden_size", "out of range"},
    {"config.json", "{" CFG_BASE ",\"hidden_size\":64,\"num_hidden_layers\":2,\"hidden_act\":\"swish\"}",
     "hidden_act", SEM_EFORMAT, "swish", NULL},
    {"config.json", "{" CFG_BASE ",\"hidden_size\":64,\"num_hidden_layers\":2,\"layer_norm_eps\":-1}",
     "layer_norm_eps", SEM_EFORMAT, "layer_norm_eps", NULL},
    {"config.json",
     "{" CFG_BASE ",\"hidden_size\":64,\"num_hidden_layers\":2,\"position_embedding_type\":\"relative_key\"}",
     "relative positions", SEM_EFORMAT, "relative_key", NULL},
    {"config.json", "{\"model_type\":\"roberta\"}", "model_type", SEM_EFORMAT, "roberta", NULL},
    /* shapes against the weights */
    {"config.json", "{" CFG_BASE ",\"hidden_size\":64,\"num_hidden_layers\":1}", "1 layer vs 2 in file",
     SEM_EMISMATCH, "encoder.layer.1.", NULL},
    {"config.json", "{" CFG_BASE ",\"hidden_size\":64,\"num_hidden_layers\":3}", "3 layers vs 2 in file",
     SEM_ENOTFOUND, "encoder.layer.2.", NULL},
    {"config.json",
     "{\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":256,"
     "\"vocab_size\":100}",
     "vocab.txt larger than vocab_size", SEM_EMISMATCH, "vocab_size", NULL},
};

/* the sentence-transformers and tokenizer files */
static const bad_file folder_cases[] = {
    {"modules.json",
     "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},{\"idx\":1,"
     "\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},{\"idx\":2,\"name\":"
     "\"2\",\"path\":\"2_Dense\",\"type\":\"sentence_transformers.models.Dense\"}]",
     "Dense module", SEM_EFORMAT, "modules.json", "Dense"},
    {"modules.json", "{\"not\": \"a list\"}", "modules.json object", SEM_EFORMAT, "modules.json", NULL},
    {"modules.json", "[{\"type\":\"sentence_transformers.models.Pooling\",\"path\":\"../../etc\"}]",
     "pooling path escapes", SEM_EFORMAT, "relative", NULL},
    {"1_Pooling/config.json", "{\"pooling_mode_cls_token\":true,\"pooling_mode_mean_tokens\":true}",
     "two pooling modes", SEM_EFORMAT, "exactly one", NULL},
    {"1_Pooling/config.json", "{\"pooling_mode_mean_sqrt_len_tokens\":true}", "sqrt-len pooling", SEM_EFORMAT,
     "mean_sqrt_len_tokens", NULL},
    {"1_Pooling/config.json", "{\"word_embedding_dimension\":384,\"pooling_mode_cls_token\":true}",
     "pooling dimension", SEM_EMISMATCH, "word_embedding_dimension", NULL},
    {"1_Pooling/config.json", "{\"pooling_mode_cls_token\":\"yes\"}", "pooling bool", SEM_EFORMAT,
     "pooling_mode_cls_token", NULL},
    {"sentence_bert_config.json", "{\"max_seq_length\": \"long\"}", "max_seq_length", SEM_EFORMAT,
     "max_seq_length", NULL},
    {"tokenizer_config.json", "{\"do_lower_case\": \"yes\"}", "do_lower_case", SEM_EFORMAT, "do_lower_case", NULL},
    {"tokenizer_config.json", "{\"do_lower_case\": tru", "garbled tokenizer_config", SEM_EFORMAT,
     "tokenizer_config.json", NULL},
    {"special_tokens_map.json", "{\"cls_token\": \"<s>\"}", "special tokens", SEM_EFORMAT, "<s>", NULL},
};

static void test_config_cases(void)
{
    char path[512];
    /* missing config.json */
    reset_folder();
    snprintf(path, sizeof path, "%s/config.json", tmp);
    unlink(path);
    expect_fail("no config.json", SEM_ENOTFOUND, "config.json", NULL);
    expect_fail_each(config_cases, sizeof config_cases / sizeof config_cases[0]);
    /* a hidden size that the pooling config agrees with but the weights do not */
    write_str("config.json", "{" CFG_BASE ",\"hidden_size\":32,\"num_hidden_layers\":2}");
    write_str("1_Pooling/config.json", "{\"word_embedding_dimension\":32,\"pooling_mode_mean_tokens\":true}");
    expect_fail("hidden 32 vs 64 weights", SEM_EMISMATCH, "embeddings.", "[30522, 32]");
    copy_file("1_Pooling/config.json");
    copy_file("config.json");
    expect_fail_each(folder_cases, sizeof folder_cases / sizeof folder_cases[0]);
    snprintf(path, sizeof path, "%s/vocab.txt", tmp);
    unlink(path);
    expect_fail("no vocab.txt", SEM_ENOTFOUND, "vocab.txt", NULL);
    reset_folder();

    /* optional files absent: defaults (mean pooling, no Normalize, 512 tokens) */
    static const char *const optional[] = {"tokenizer_config.json", "special_tokens_map.json", "modules.json",
                                           "1_Pooling/config.json", "sentence_bert_config.json"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, optional[i]);
        unlink(path);
    }
    write_str("config.json", "{\"model_type\":\"bert\",\"hidden_size\":64,\"num_hidden_layers\":2,"
              "\"num_attention_heads\":4,\"intermediate_size\":256,\"vocab_size\":30522,"
              "\"query_prefix\":\"query: \"}");
    sem_error err = {0};
    sem_model *m = sem_model_load(tmp, NULL, &err);
    CHECK_MSG(m != NULL, "defaults: %s", err.msg);
    if (m) {
        sem_model_info info;
        sem_model_get_info(m, &info);
        CHECK_EQ_INT(info.pooling, SEM_POOL_MEAN);
        CHECK_EQ_INT(info.normalize, 0);
        CHECK_EQ_INT(info.max_tokens, 512);
        CHECK_STREQ(info.query_prefix, "query: ");
    }
    sem_model_free(m);
    reset_folder();
}

/* sem_tokenizer_config_load, what the trainer and adapt read a model's tokenizer settings with: the keys as
 * sem_model_load reads them, the defaults without the file, a file the encoder refuses refused the same way. */
static void test_tokenizer_config_load(void)
{
    reset_folder();
    sem_tokenizer_config c;
    sem_error err = {0};
    write_str("tokenizer_config.json", "{\"do_lower_case\": false, \"tokenize_chinese_chars\": false, "
                                       "\"model_max_length\": 1e30}");
    CHECK_EQ_INT(sem_tokenizer_config_load(tmp, &c, &err), SEM_OK);
    CHECK(c.do_lower_case == 0 && c.tokenize_chinese_chars == 0 && c.strip_accents == -1);
    CHECK_EQ_INT(c.model_max_length, SEM_MAX_POSITIONS); /* HF's "no limit" sentinel, clamped */
    write_str("tokenizer_config.json", "{\"do_lower_case\": tru");
    CHECK_EQ_INT(sem_tokenizer_config_load(tmp, &c, &err), SEM_EFORMAT);
    CHECK_MSG(strstr(err.msg, "tokenizer_config.json") != NULL, "%s", err.msg);
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", tmp);
    unlink(path);
    CHECK_EQ_INT(sem_tokenizer_config_load(tmp, &c, &err), SEM_OK);
    sem_tokenizer_config d = sem_tokenizer_default_config();
    CHECK(memcmp(&c, &d, sizeof c) == 0);
    copy_file("tokenizer_config.json");
    CHECK_EQ_INT(sem_tokenizer_config_load(src, &c, &err), SEM_OK);
    CHECK_EQ_INT(c.do_lower_case, 1); /* bert-tiny-uncased */
}

static void test_good_models(void)
{
    char hashes[TD_N_MODELS][65];
    static const int want_dim[] = {64, 64, 64, 96};
    static const sem_pooling want_pool[] = {SEM_POOL_MEAN, SEM_POOL_CLS, SEM_POOL_MEAN, SEM_POOL_MEAN};
    static const int want_norm[] = {0, 1, 0, 1};
    for (int i = 0; i < TD_N_MODELS; i++) {
        char path[1024];
        sem_error err = {0};
        sem_model *m = sem_model_load(td_path(path, sizeof path, "models", td_models[i], NULL), NULL, &err);
        CHECK_MSG(m != NULL, "%s: %s", td_models[i], err.msg);
        if (!m)
            continue;
        sem_model_info info;
        sem_model_get_info(m, &info);
        CHECK_STREQ(info.name, td_models[i]);
        CHECK_EQ_INT(info.dim, want_dim[i]);
        CHECK_EQ_INT(info.pooling, want_pool[i]);
        CHECK_EQ_INT(info.normalize, want_norm[i]);
        CHECK_EQ_INT(info.max_tokens, 512);
        CHECK_EQ_INT(info.has_mlm_head, i == 2);
        CHECK_STREQ(info.query_prefix, "");
        CHECK_EQ_INT(strlen(info.config_hash), 64);
        CHECK_EQ_INT(strspn(info.config_hash, "0123456789abcdef"), 64);
        snprintf(hashes[i], sizeof hashes[i], "%s", info.config_hash);
        for (int j = 0; j < i; j++)
            CHECK_MSG(strcmp(hashes[i], hashes[j]) != 0, "%s and %s share a hash", td_models[i], td_models[j]);
        /* counting tokens: [CLS]/[SEP] not included */
        CHECK_EQ_INT(sem_model_count_tokens(m, "hello world", -1), 2);
        /* loading again gives the same identity */
        sem_model *m2 = sem_model_load(path, NULL, &err);
        CHECK(m2 != NULL);
        if (m2) {
            sem_model_info i2;
            sem_model_get_info(m2, &i2);
            CHECK_STREQ(i2.config_hash, info.config_hash);
        }
        sem_model_free(m2);
        sem_model_free(m);
    }
    /* a copy in another folder has the same identity; a changed pooling config changes it */
    reset_folder();
    sem_error err = {0};
    sem_model *m = sem_model_load(tmp, NULL, &err);
    CHECK_MSG(m != NULL, "copy: %s", err.msg);
    if (m) {
        sem_model_info info;
        sem_model_get_info(m, &info);
        CHECK_STREQ(info.config_hash, hashes[0]);
    }
    sem_model_free(m);
    write_str("1_Pooling/config.json", "{\"word_embedding_dimension\":64,\"pooling_mode_cls_token\":true}");
    m = sem_model_load(tmp, NULL, &err);
    CHECK(m != NULL);
    if (m) {
        sem_model_info info;
        sem_model_get_info(m, &info);
        CHECK(strcmp(info.config_hash, hashes[0]) != 0);
        CHECK_EQ_INT(info.pooling, SEM_POOL_CLS);
    }
    sem_model_free(m);
    reset_folder();
}

static void test_encode_errors(void)
{
    char path[1024];
    sem_error err = {0};
    sem_model *m = sem_model_load(td_path(path, sizeof path, "models", "bert-tiny-uncased", NULL), NULL, &err);
    CHECK(m != NULL);
    if (!m)
        return;
    sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, &err);
    float v[64 * 3];
    const char *texts[] = {"fine", "bad \xff utf-8", "also fine"};
    CHECK_EQ_INT(sem_encode(ctx, texts, 3, NULL, v, &err), SEM_EINVAL);
    CHECK_MSG(strstr(err.msg, "text 1") != NULL, "%s", err.msg);
    int32_t ids[] = {101, 40000, 102};
    sem_token_input in = {ids, NULL, 3};
    CHECK_EQ_INT(sem_encode_tokens(ctx, &in, 1, NULL, v, &err), SEM_EINVAL);
    CHECK(strstr(err.msg, "40000") != NULL);
    int32_t types[] = {0, 5, 0};
    ids[1] = 2000;
    in.token_type_ids = types;
    CHECK_EQ_INT(sem_encode_tokens(ctx, &in, 1, NULL, v, &err), SEM_EINVAL);
    in.token_type_ids = NULL;
    in.n = 0;
    CHECK_EQ_INT(sem_encode_tokens(ctx, &in, 1, NULL, v, &err), SEM_EINVAL);
    int32_t *many = calloc(600, sizeof *many);
    sem_token_input big = {many, NULL, 600};
    CHECK_EQ_INT(sem_encode_tokens(ctx, &big, 1, NULL, v, &err), SEM_ERANGE);
    free(many);
    sem_encode_params p = sem_encode_default_params();
    p.pooling = (sem_pooling)42;
    in.n = 3;
    CHECK_EQ_INT(sem_encode_tokens(ctx, &in, 1, &p, v, &err), SEM_EINVAL);
    p = sem_encode_default_params();
    p.batch_size = -1;
    CHECK_EQ_INT(sem_encode_tokens(ctx, &in, 1, &p, v, &err), SEM_EINVAL);
    /* truncation: a long text with max_tokens 8 gives the same vector as its first 6 word pieces */
    p = sem_encode_default_params();
    p.max_tokens = 8;
    const char *long_text[] = {"one two three four five six seven eight nine ten"};
    const char *short_text[] = {"one two three four five six"};
    float a[64], b[64];
    CHECK_EQ_INT(sem_encode(ctx, long_text, 1, &p, a, &err), SEM_OK);
    CHECK_EQ_INT(sem_encode(ctx, short_text, 1, NULL, b, &err), SEM_OK);
    double d = 0;
    for (int i = 0; i < 64; i++)
        d += fabs((double)a[i] - b[i]);
    CHECK_NEAR(d, 0.0, 1e-4);
    /* no MLM head on this model */
    int pos = 1;
    float logits[8];
    CHECK_EQ_INT(sem_mlm_logits(ctx, &in, &pos, 1, logits, &err), SEM_ENOTFOUND);
    sem_encoder_ctx_free(ctx);
    sem_model_free(m);
    sem_encoder_ctx_free(NULL);
    sem_model_free(NULL);
    CHECK(sem_model_load(NULL, NULL, &err) == NULL);
    CHECK(sem_model_load("/nonexistent/model", NULL, &err) == NULL);
    CHECK_EQ_INT(err.code, SEM_ENOTFOUND);
}

static void test_small_pieces(void)
{
    /* pooling names */
    for (int p = SEM_POOL_AUTO; p <= SEM_POOL_LAST_TWO_AVG; p++)
        CHECK_EQ_INT(sem_pooling_parse(sem_pooling_name((sem_pooling)p)), p);
    CHECK_EQ_INT(sem_pooling_parse("median"), -1);
    CHECK_EQ_INT(sem_pooling_parse(NULL), -1);
    /* top-k: descending, ties to the lower id */
    float l[] = {1, 5, 3, 5, -2, 4};
    int32_t ids[3];
    float vals[3];
    sem_top_k(l, 6, 3, ids, vals);
    CHECK(ids[0] == 1 && ids[1] == 3 && ids[2] == 5);
    CHECK(vals[0] == 5 && vals[2] == 4);
    /* exp used by softmax and GELU: relative error against libm */
    double worst = 0;
    for (float x = -80.0f; x < 80.0f; x += 0.37f) {
        double e = fabs(sem_expf(x) / exp(x) - 1.0);
        worst = e > worst ? e : worst;
    }
    CHECK_MSG(worst < 5e-7, "sem_expf relative error %.3g", worst);
    /* a random-weight model (what the benchmark runs) encodes and is deterministic */
    sem_bert_config c = {.hidden = 32, .n_layers = 2, .n_heads = 4, .ffn = 64, .max_pos = 64, .type_vocab = 2,
                         .vocab = 100, .act = SEM_ACT_GELU, .ln_eps = 1e-12f};
    sem_error err = {0};
    sem_model *m = sem_model_new_random(&c, 7, SEM_POOL_MEAN, 1, 1, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (m) {
        sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, &err);
        int32_t tok[] = {1, 5, 9, 2};
        sem_token_input in = {tok, NULL, 4};
        float a[32], b[32];
        CHECK_EQ_INT(sem_encode_tokens(ctx, &in, 1, NULL, a, &err), SEM_OK);
        CHECK_EQ_INT(sem_encode_tokens(ctx, &in, 1, NULL, b, &err), SEM_OK);
        CHECK(memcmp(a, b, sizeof a) == 0);
        double n = 0;
        for (int i = 0; i < 32; i++)
            n += (double)a[i] * a[i];
        CHECK_NEAR(n, 1.0, 1e-5);
        const char *t[] = {"x"};
        CHECK_EQ_INT(sem_encode(ctx, t, 1, NULL, a, &err), SEM_EINVAL); /* no tokenizer */
        sem_encoder_ctx_free(ctx);
    }
    sem_model_free(m);
    c.hidden = 30; /* not a multiple of the heads */
    CHECK(sem_model_new_random(&c, 7, SEM_POOL_MEAN, 0, 1, &err) == NULL);
}

/* One shared model, a context per thread, encoding at the same time: the same vectors as one thread alone
 * (OpenBLAS's OpenMP pool, entered from several threads at once, deadlocked before the encoder kept it
 * single-threaded). */
typedef struct worker {
    const sem_model *m;
    float out[4 * 64];
    int rc;
} worker;

static const char *const conc_texts[] = {"the quick brown fox", "jumps over the lazy dog", "hello, world!",
                                         "a rather longer sentence with several more word pieces in it"};

static void *work(void *arg)
{
    worker *w = arg;
    sem_error err = {0};
    sem_encoder_ctx *ctx = sem_encoder_ctx_new(w->m, &err);
    w->rc = ctx ? SEM_OK : err.code;
    for (int it = 0; ctx && it < 20 && w->rc == SEM_OK; it++)
        w->rc = sem_encode(ctx, conc_texts, 4, NULL, w->out, &err);
    sem_encoder_ctx_free(ctx);
    return NULL;
}

static void test_concurrent(int n_threads)
{
    char path[1024];
    sem_error err = {0};
    sem_model_params mp = sem_model_default_params();
    mp.n_threads = n_threads; /* workers inside each context, on top of the three application threads */
    sem_model *m = sem_model_load(td_path(path, sizeof path, "models", "bert-tiny-uncased", NULL), &mp, &err);
    CHECK(m != NULL);
    if (!m)
        return;
    worker solo = {m, {0}, 0};
    work(&solo);
    CHECK_EQ_INT(solo.rc, SEM_OK);
    worker w[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        w[i].m = m;
        w[i].rc = -1;
        CHECK(pthread_create(&th[i], NULL, work, &w[i]) == 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(w[i].rc, SEM_OK);
        double d = 0;
        for (int j = 0; j < 4 * 64; j++)
            d = fmax(d, fabs((double)w[i].out[j] - solo.out[j]));
        CHECK_MSG(d <= 1e-6, "thread %d differs by %.3g", i, d);
    }
    sem_model_free(m);
}

int main(void)
{
    TEST_REQUIRE_FILE(TD_DIR "/models/bert-tiny-uncased/model.safetensors");
    td_path(src, sizeof src, "models", "bert-tiny-uncased", NULL);
    snprintf(tmp, sizeof tmp, "%s/sem_model_test_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(tmp) != NULL);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/1_Pooling", tmp);
    CHECK(mkdir(sub, 0755) == 0);
    char path[1300];
    snprintf(path, sizeof path, "%s/model.safetensors", src);
    CHECK_EQ_INT(sem_read_file(path, 64u << 20, &st_buf, &st_len, NULL), SEM_OK);
    if (!st_buf)
        TEST_END();
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | (unsigned char)st_buf[i];
    st_header = cJSON_ParseWithLength(st_buf + 8, (size_t)hl);
    st_data_off = 8 + (size_t)hl;
    CHECK(st_header != NULL);

    test_small_pieces();
    test_good_models();
    test_safetensors_cases();
    test_config_cases();
    test_tokenizer_config_load();
    test_encode_errors();
    test_concurrent(1);
    test_concurrent(2);

    /* clean up the scratch folder */
    static const char *const files[] = {"config.json", "vocab.txt", "tokenizer_config.json",
                                        "special_tokens_map.json", "modules.json", "1_Pooling/config.json",
                                        "sentence_bert_config.json", "model.safetensors"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, files[i]);
        unlink(path);
    }
    rmdir(sub);
    rmdir(tmp);
    cJSON_Delete(st_header);
    free(st_buf);
    TEST_END();
}
