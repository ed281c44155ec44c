/* tests/train/test_train_hfio.c: the trainer reads HF model folders through the encoder's parsers
 * (encoder/hfmodel.h), so the two agree on what a model is:
 * - every config.json the encoder refuses (beyond its limits: hidden 16,384, 256 layers, a 2M vocabulary; bad
 *   types, activations, dropouts) the trainer refuses too, with the same message, both from text and from a
 *   folder; the values of an accepted config (dropouts, initializer_range, gelu_pytorch_tanh) read the same;
 * - safetensors: names with or without "bert.", F32 / F16 / BF16, a missing tensor keeps its initialisation,
 *   and what the shared parser refuses (overlapping tensors, a wrong shape, NaN, an integer dtype, a short file)
 *   the trainer refuses;
 * - a folder the trainer writes (F32 and F16) is one the encoder loads. */
#include "test.h"
#include "test_util.h"
#include "train/train.h"

#include "common/fileio.h"
#include "common/half.h"
#include "encoder/encoder.h"
#include "encoder/hfmodel.h"

#include <stdlib.h>
#include <unistd.h>

static char root[] = "/tmp/sem_hfio_XXXXXX";

#define BASE "\"model_type\": \"bert\", \"vocab_size\": 40, \"num_attention_heads\": 2, \"intermediate_size\": 16"

/* Configs the encoder refuses, each with the key its message names. */
static const char *const refused[][2] = {
    {"{" BASE ", \"hidden_size\": 16384, \"num_hidden_layers\": 1}", "hidden_size"},
    {"{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 256}", "num_hidden_layers"},
    {"{\"vocab_size\": 2000000, \"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
     " \"intermediate_size\": 16}", "vocab_size"},
    {"{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"max_position_embeddings\": 9000}",
     "max_position_embeddings"},
    {"{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"type_vocab_size\": 100}", "type_vocab_size"},
    {"{" BASE ", \"hidden_size\": 9, \"num_hidden_layers\": 1}", "multiple"},
    {"{" BASE ", \"num_hidden_layers\": 1}", "hidden_size"},
    {"{" BASE ", \"hidden_size\": 1.5, \"num_hidden_layers\": 1}", "hidden_size"},
    {"{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"hidden_act\": \"swish\"}", "swish"},
    {"{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"hidden_dropout_prob\": 1}",
     "hidden_dropout_prob"},
    {"{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"attention_probs_dropout_prob\": -0.1}",
     "attention_probs_dropout_prob"},
    {"{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"initializer_range\": \"x\"}", "initializer_range"},
    {"{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"layer_norm_eps\": 0}", "layer_norm_eps"},
    {"{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"pad_token_id\": 40}", "pad_token_id"},
    {"{\"model_type\": \"roberta\", \"vocab_size\": 40, \"hidden_size\": 8, \"num_hidden_layers\": 1,"
     " \"num_attention_heads\": 2, \"intermediate_size\": 16}", "roberta"},
    {"{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 1, \"position_embedding_type\": \"relative_key\"}",
     "relative_key"},
    {"[1]", "object"},
};

static void test_config_limits(void)
{
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/cfg", root);
    CHECK(sem_mkdir_p(dir, NULL) == SEM_OK);
    snprintf(path, sizeof path, "%s/config.json", dir);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *json = refused[i][0];
        sem_error e1 = {0}, e2 = {0};
        sem_bert_config b;
        sem_tconfig t;
        int r1 = sem_bert_config_parse(json, strlen(json), "config.json", &b, NULL, &e1);
        int r2 = sem_tconfig_parse_json(json, strlen(json), &t, &e2);
        CHECK_MSG(r1 != SEM_OK && r1 == r2, "config %zu: encoder %d, trainer %d (%s)", i, r1, r2, e2.msg);
        CHECK_STREQ(e2.msg, e1.msg);
        CHECK_MSG(strstr(e1.msg, refused[i][1]) != NULL, "config %zu: \"%s\" lacks %s", i, e1.msg, refused[i][1]);
        /* the same from a folder: sem_model_load and sem_tmodel_load_hf fail alike */
        CHECK(tst_write_file(path, json, strlen(json)) == 0);
        sem_model *em = sem_model_load(dir, NULL, &e1);
        sem_tmodel *tm = sem_tmodel_load_hf(dir, 1, NULL, &e2);
        CHECK(em == NULL && tm == NULL);
        sem_model_free(em);
        sem_tmodel_free(tm);
        CHECK_EQ_INT(e2.code, e1.code);
        CHECK_STREQ(e2.msg, e1.msg);
    }
    /* an accepted config reads the same: the trainer's extra keys too */
    const char *ok = "{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 3, \"hidden_act\": \"gelu_pytorch_tanh\","
                     " \"hidden_dropout_prob\": 0.25, \"attention_probs_dropout_prob\": 0, \"initializer_range\": 0.5,"
                     " \"layer_norm_eps\": 1e-5, \"pad_token_id\": 3, \"max_position_embeddings\": 32}";
    sem_error err;
    sem_bert_config b;
    sem_tconfig t;
    CHECK_EQ_INT(sem_bert_config_parse(ok, strlen(ok), "config.json", &b, NULL, &err), SEM_OK);
    CHECK_EQ_INT(sem_tconfig_parse_json(ok, strlen(ok), &t, &err), SEM_OK);
    CHECK(t.vocab_size == 40 && t.hidden == 8 && t.layers == 3 && t.heads == 2 && t.ffn == 16 && t.max_pos == 32 &&
          t.type_vocab == 2 && t.pad_id == 3);
    CHECK(t.act == SEM_TACT_GELU_NEW && b.act == SEM_ACT_GELU_TANH);
    CHECK(t.hidden_dropout == 0.25 && t.attn_dropout == 0 && t.init_range == 0.5 && t.ln_eps == 1e-5);
    CHECK(b.hidden_dropout == 0.25 && b.attn_dropout == 0 && b.init_range == 0.5 && b.ln_eps == 1e-5);
    /* absent optional keys: HF BertConfig's defaults */
    const char *min = "{" BASE ", \"hidden_size\": 8, \"num_hidden_layers\": 1}";
    CHECK_EQ_INT(sem_tconfig_parse_json(min, strlen(min), &t, &err), SEM_OK);
    CHECK(t.max_pos == 512 && t.type_vocab == 2 && t.act == SEM_TACT_GELU && t.ln_eps == 1e-12 &&
          t.hidden_dropout == 0.1 && t.attn_dropout == 0.1 && t.init_range == 0.02 && t.pad_id == 0);
    /* a model built in code is held to the same limits */
    b.hidden = SEM_MAX_HIDDEN + 2;
    CHECK_EQ_INT(sem_bert_config_check(&b, "x", &err), SEM_EFORMAT);
    CHECK(strstr(err.msg, "hidden_size") != NULL);
    sem_tconfig big = t;
    big.hidden = SEM_MAX_HIDDEN * 2;
    big.heads = 2;
    CHECK(sem_tconfig_check(&big, &err) != SEM_OK);
}

/* ---- safetensors built by hand ---- */

typedef struct st_entry {
    const char *name, *dtype;
    int ndim;
    size_t shape[2];
    const void *data;
    size_t bytes;
} st_entry;

/* A safetensors image of the entries, data laid out in order (or all at offset 0 when overlap is set). */
static char *st_build(const st_entry *e, int n, int overlap, size_t *len)
{
    char hdr[4096];
    size_t hl = (size_t)snprintf(hdr, sizeof hdr, "{\"__metadata__\":{\"format\":\"pt\"}"), off = 0, total = 0;
    for (int i = 0; i < n; i++) {
        size_t b = overlap ? 0 : off;
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%zu", e[i].name,
                               e[i].dtype, e[i].shape[0]);
        if (e[i].ndim == 2)
            hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, ",%zu", e[i].shape[1]);
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "],\"data_offsets\":[%zu,%zu]}", b, b + e[i].bytes);
        off += e[i].bytes;
        total = b + e[i].bytes > total ? b + e[i].bytes : total;
    }
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "}");
    char *buf = calloc(1, 8 + hl + total);
    for (int k = 0; k < 8; k++)
        buf[k] = (char)((uint64_t)hl >> (8 * k));
    memcpy(buf + 8, hdr, hl);
    off = 0;
    for (int i = 0; i < n; i++) {
        memcpy(buf + 8 + hl + (overlap ? 0 : off), e[i].data, e[i].bytes);
        off += e[i].bytes;
    }
    *len = 8 + hl + total;
    return buf;
}

static int read_entries(sem_tmodel *m, const st_entry *e, int n, int overlap, int *loaded, int *missing,
                        sem_error *err)
{
    size_t len;
    char *buf = st_build(e, n, overlap, &len);
    int rc = sem_tmodel_read_safetensors(m, buf, len, loaded, missing, err);
    free(buf);
    return rc;
}

/* A model of config c with BERT's initialisation from seed; NULL (a failed check) when c is refused. */
static sem_tmodel *new_model(const sem_tconfig *c, uint64_t seed)
{
    sem_error err;
    sem_tmodel *m = sem_tmodel_new(c, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (m)
        sem_tmodel_init(m, seed);
    return m;
}

static void test_safetensors_in(void)
{
    sem_tconfig c = {.vocab_size = 10, .hidden = 4, .layers = 1, .heads = 1, .ffn = 8, .max_pos = 4,
                     .type_vocab = 1, .act = SEM_TACT_GELU, .ln_eps = 1e-12, .init_range = 0.02};
    sem_error err;
    sem_tmodel *m = new_model(&c, 3);
    if (!m)
        return;
    uint16_t wte_bf16[40], ln_f16[4];
    float pos_f32[16];
    for (int i = 0; i < 40; i++)
        wte_bf16[i] = (uint16_t)(0x3f80 + i); /* 1.0 and the next bfloat16 values */
    for (int i = 0; i < 4; i++)
        ln_f16[i] = sem_f32_to_f16(0.5f * (float)(i + 1));
    for (int i = 0; i < 16; i++)
        pos_f32[i] = (float)i - 7.5f;
    float init_ln_b = m->w.p.emb_ln_b[0];
    st_entry e[] = {
        {"embeddings.word_embeddings.weight", "BF16", 2, {10, 4}, wte_bf16, sizeof wte_bf16},
        {"bert.embeddings.LayerNorm.weight", "F16", 1, {4, 0}, ln_f16, sizeof ln_f16},
        {"bert.embeddings.position_embeddings.weight", "F32", 2, {4, 4}, pos_f32, sizeof pos_f32},
    };
    int loaded = 0, missing = 0;
    CHECK_EQ_INT(read_entries(m, e, 3, 0, &loaded, &missing, &err), SEM_OK);
    CHECK_EQ_INT(loaded, 3);
    CHECK_EQ_INT(missing, 5 + 16 + 7 - 3); /* 5 embedding + 16 layer + 7 head tensors, 3 of them in the file */
    int same = 1;
    for (int i = 0; i < 40; i++)
        same &= m->w.p.wte[i] == sem_bf16_to_f32((uint16_t)(0x3f80 + i));
    for (int i = 0; i < 4; i++)
        same &= m->w.p.emb_ln_w[i] == 0.5f * (float)(i + 1);
    for (int i = 0; i < 16; i++)
        same &= m->w.p.wpe[i] == (float)i - 7.5f;
    CHECK(same);
    CHECK(m->w.p.emb_ln_b[0] == init_ln_b); /* not in the file: kept */

    /* refused by the shared parser: two tensors on the same bytes (the old trainer parser took them) */
    st_entry two[] = {e[1], {"bert.embeddings.LayerNorm.bias", "F16", 1, {4, 0}, ln_f16, sizeof ln_f16}};
    CHECK_EQ_INT(read_entries(m, two, 2, 1, NULL, NULL, &err), SEM_EFORMAT);
    CHECK_MSG(strstr(err.msg, "overlap") != NULL, "%s", err.msg);
    /* a shape that disagrees with the config */
    st_entry wrong = {"embeddings.word_embeddings.weight", "BF16", 2, {4, 10}, wte_bf16, sizeof wte_bf16};
    CHECK_EQ_INT(read_entries(m, &wrong, 1, 0, NULL, NULL, &err), SEM_EMISMATCH);
    CHECK(strstr(err.msg, "embeddings.word_embeddings.weight") != NULL);
    /* a NaN, an integer dtype */
    float nan4[4] = {1, 2, NAN, 4};
    st_entry bad = {"embeddings.LayerNorm.bias", "F32", 1, {4, 0}, nan4, sizeof nan4};
    CHECK_EQ_INT(read_entries(m, &bad, 1, 0, NULL, NULL, &err), SEM_EFORMAT);
    CHECK(strstr(err.msg, "not finite") != NULL);
    bad.dtype = "I32";
    CHECK_EQ_INT(read_entries(m, &bad, 1, 0, NULL, NULL, &err), SEM_EFORMAT);
    CHECK(strstr(err.msg, "I32") != NULL);
    /* nothing of BERT in the file */
    st_entry other = {"classifier.weight", "F32", 1, {4, 0}, pos_f32, 16};
    CHECK_EQ_INT(read_entries(m, &other, 1, 0, NULL, NULL, &err), SEM_EFORMAT);
    CHECK(strstr(err.msg, "no BERT tensors") != NULL);
    sem_tmodel_free(m);
}

/* The folder the trainer writes loads in the encoder, F32 and F16. */
static void test_saved_folder_loads(void)
{
    sem_tconfig c = {.vocab_size = 12, .hidden = 8, .layers = 1, .heads = 2, .ffn = 16, .max_pos = 16,
                     .type_vocab = 2, .act = SEM_TACT_RELU, .ln_eps = 1e-12, .hidden_dropout = 0.1,
                     .attn_dropout = 0.1, .init_range = 0.02};
    sem_error err;
    sem_tmodel *m = new_model(&c, 5);
    if (!m)
        return;
    char vocab[600], dir[600];
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", root);
    const char *words = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\nd\ne\nf\ng\n";
    CHECK(tst_write_file(vocab, words, strlen(words)) == 0);
    for (int f16 = 0; f16 < 2; f16++) {
        sem_hf_save_params sp = {f16, SEM_TPOOL_MEAN, 1, 0, vocab, 1};
        snprintf(dir, sizeof dir, "%s/out%d", root, f16);
        CHECK_EQ_INT(sem_tmodel_save_hf(m, dir, &sp, &err), SEM_OK);
        sem_model *em = sem_model_load(dir, NULL, &err);
        CHECK_MSG(em != NULL, "%s", err.msg);
        CHECK(em && sem_model_dim(em) == 8);
        sem_model_free(em);
    }
    sem_tmodel_free(m);
}

int main(void)
{
    CHECK(mkdtemp(root) != NULL);
    test_config_limits();
    test_safetensors_in();
    test_saved_folder_loads();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    TEST_END();
}
