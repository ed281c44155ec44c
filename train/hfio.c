/* train/hfio.c: HF config.json and safetensors in and out for the trainer. See train/hfio.h.
 * Both are read through the encoder's parsers (encoder/hfmodel.h: one set of limits, one fuzzed safetensors
 * parser); what is written here is what those parsers accept. */
#include "train/hfio.h"

#include "common/fileio.h"
#include "common/half.h"
#include "common/log.h"
#include "encoder/hfmodel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------------------- */
/* config.json: parsed and checked by the encoder's parser (encoder/hfmodel.h), so that the trainer accepts
 * exactly the shapes the encoder runs */

static sem_act to_act(sem_tact a)
{
    return a == SEM_TACT_GELU_NEW ? SEM_ACT_GELU_TANH : a == SEM_TACT_RELU ? SEM_ACT_RELU : SEM_ACT_GELU;
}

static sem_tact from_act(sem_act a)
{
    return a == SEM_ACT_GELU_TANH ? SEM_TACT_GELU_NEW : a == SEM_ACT_RELU ? SEM_TACT_RELU : SEM_TACT_GELU;
}

static int config_from_json(const char *json, size_t len, const char *what, sem_tconfig *cfg, sem_error *err)
{
    sem_bert_config b;
    int rc = sem_bert_config_parse(json, len, what, &b, NULL, err);
    if (rc != SEM_OK)
        return rc;
    sem_tconfig c = {.vocab_size = b.vocab,
                     .hidden = b.hidden,
                     .layers = b.n_layers,
                     .heads = b.n_heads,
                     .ffn = b.ffn,
                     .max_pos = b.max_pos,
                     .type_vocab = b.type_vocab,
                     .act = from_act(b.act),
                     .ln_eps = b.ln_eps,
                     .hidden_dropout = b.hidden_dropout,
                     .attn_dropout = b.attn_dropout,
                     .init_range = b.init_range,
                     .pad_id = b.pad_id};
    if (sem_tconfig_check(&c, err) != SEM_OK)
        return sem_error_prefix(err, "%s", what);
    *cfg = c;
    return SEM_OK;
}

int sem_tconfig_parse_json(const char *json, size_t len, sem_tconfig *cfg, sem_error *err)
{
    return config_from_json(json, len, "config.json", cfg, err);
}

/* Reads path (at most 4 MiB, like the encoder) and parses it; what names it in messages. */
static int config_load(const char *path, const char *what, sem_tconfig *cfg, sem_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = sem_read_file(path, 4u << 20, &buf, &len, err);
    if (rc == SEM_OK)
        rc = config_from_json(buf, len, what, cfg, err);
    free(buf);
    return rc;
}

int sem_tconfig_load(const char *path, sem_tconfig *cfg, sem_error *err)
{
    return config_load(path, "config.json", cfg, err);
}

static char *config_json(const sem_tconfig *c, int f16)
{
    char *s = malloc(2048);
    if (!s)
        return NULL;
    snprintf(s, 2048,
             "{\n  \"architectures\": [\"BertForMaskedLM\"],\n  \"attention_probs_dropout_prob\": %.17g,\n"
             "  \"classifier_dropout\": null,\n  \"hidden_act\": \"%s\",\n  \"hidden_dropout_prob\": %.17g,\n"
             "  \"hidden_size\": %d,\n  \"initializer_range\": %.17g,\n  \"intermediate_size\": %d,\n"
             "  \"layer_norm_eps\": %.17g,\n  \"max_position_embeddings\": %d,\n  \"model_type\": \"bert\",\n"
             "  \"num_attention_heads\": %d,\n  \"num_hidden_layers\": %d,\n  \"pad_token_id\": %d,\n"
             "  \"position_embedding_type\": \"absolute\",\n  \"torch_dtype\": \"%s\",\n"
             "  \"transformers_version\": \"4.36.2\",\n  \"type_vocab_size\": %d,\n  \"use_cache\": true,\n"
             "  \"vocab_size\": %d\n}\n",
             c->attn_dropout, sem_act_name(to_act(c->act)), c->hidden_dropout, c->hidden, c->init_range, c->ffn,
             c->ln_eps, c->max_pos, c->heads, c->layers, c->pad_id, f16 ? "float16" : "float32", c->type_vocab,
             c->vocab_size);
    return s;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* the HF tensor names of the model's parameters */

typedef struct tensor_ref {
    char name[96];
    sem_real *data;
    size_t n;       /* elements */
    int ndim;
    size_t shape[2];
} tensor_ref;

/* Lists the HF tensors of m (at most cap); returns the count. Names carry no "bert." prefix for the encoder. */
static int tensor_refs(const sem_tmodel *m, tensor_ref *r, int cap)
{
    const sem_tconfig *c = &m->cfg;
    const sem_tparams *w = &m->w.p;
    size_t H = (size_t)c->hidden, F = (size_t)c->ffn;
    int n = 0;
#define ADD1(nm, ptr, d0)                                                                                         \
    do {                                                                                                          \
        if (n < cap) {                                                                                            \
            snprintf(r[n].name, sizeof r[n].name, "%s", nm);                                                      \
            r[n].data = (sem_real *)(ptr);                                                                        \
            r[n].ndim = 1;                                                                                        \
            r[n].shape[0] = (d0);                                                                                 \
            r[n].shape[1] = 1;                                                                                    \
            r[n].n = (d0);                                                                                        \
        }                                                                                                         \
        n++;                                                                                                      \
    } while (0)
#define ADD2(nm, ptr, d0, d1)                                                                                     \
    do {                                                                                                          \
        ADD1(nm, ptr, d0);                                                                                        \
        if (n - 1 < cap) {                                                                                        \
            r[n - 1].ndim = 2;                                                                                    \
            r[n - 1].shape[1] = (d1);                                                                             \
            r[n - 1].n = (size_t)(d0) * (d1);                                                                     \
        }                                                                                                         \
    } while (0)
    ADD2("embeddings.word_embeddings.weight", w->wte, (size_t)c->vocab_size, H);
    ADD2("embeddings.position_embeddings.weight", w->wpe, (size_t)c->max_pos, H);
    ADD2("embeddings.token_type_embeddings.weight", w->wtt, (size_t)c->type_vocab, H);
    ADD1("embeddings.LayerNorm.weight", w->emb_ln_w, H);
    ADD1("embeddings.LayerNorm.bias", w->emb_ln_b, H);
    for (int l = 0; l < c->layers; l++) {
        char b[96];
        static const char *qkv[3] = {"query", "key", "value"};
        for (int k = 0; k < 3; k++) {
            snprintf(b, sizeof b, "encoder.layer.%d.attention.self.%s.weight", l, qkv[k]);
            ADD2(b, w->qkv_w + ((size_t)l * 3 + k) * H * H, H, H);
            snprintf(b, sizeof b, "encoder.layer.%d.attention.self.%s.bias", l, qkv[k]);
            ADD1(b, w->qkv_b + ((size_t)l * 3 + k) * H, H);
        }
        snprintf(b, sizeof b, "encoder.layer.%d.attention.output.dense.weight", l);
        ADD2(b, w->ao_w + (size_t)l * H * H, H, H);
        snprintf(b, sizeof b, "encoder.layer.%d.attention.output.dense.bias", l);
        ADD1(b, w->ao_b + (size_t)l * H, H);
        snprintf(b, sizeof b, "encoder.layer.%d.attention.output.LayerNorm.weight", l);
        ADD1(b, w->ln1_w + (size_t)l * H, H);
        snprintf(b, sizeof b, "encoder.layer.%d.attention.output.LayerNorm.bias", l);
        ADD1(b, w->ln1_b + (size_t)l * H, H);
        snprintf(b, sizeof b, "encoder.layer.%d.intermediate.dense.weight", l);
        ADD2(b, w->fi_w + (size_t)l * F * H, F, H);
        snprintf(b, sizeof b, "encoder.layer.%d.intermediate.dense.bias", l);
        ADD1(b, w->fi_b + (size_t)l * F, F);
        snprintf(b, sizeof b, "encoder.layer.%d.output.dense.weight", l);
        ADD2(b, w->fo_w + (size_t)l * H * F, H, F);
        snprintf(b, sizeof b, "encoder.layer.%d.output.dense.bias", l);
        ADD1(b, w->fo_b + (size_t)l * H, H);
        snprintf(b, sizeof b, "encoder.layer.%d.output.LayerNorm.weight", l);
        ADD1(b, w->ln2_w + (size_t)l * H, H);
        snprintf(b, sizeof b, "encoder.layer.%d.output.LayerNorm.bias", l);
        ADD1(b, w->ln2_b + (size_t)l * H, H);
    }
    ADD2("pooler.dense.weight", w->pool_w, H, H);
    ADD1("pooler.dense.bias", w->pool_b, H);
    ADD2("cls.predictions.transform.dense.weight", w->mlm_w, H, H);
    ADD1("cls.predictions.transform.dense.bias", w->mlm_b, H);
    ADD1("cls.predictions.transform.LayerNorm.weight", w->mlm_ln_w, H);
    ADD1("cls.predictions.transform.LayerNorm.bias", w->mlm_ln_b, H);
    ADD1("cls.predictions.bias", w->mlm_bias, (size_t)c->vocab_size);
#undef ADD1
#undef ADD2
    return n;
}

static int n_tensor_refs(const sem_tmodel *m) { return tensor_refs(m, NULL, 0); }

/* ---------------------------------------------------------------------------------------------------------- */
/* safetensors in */

_Static_assert(sizeof(sem_real) == sizeof(float), "train/hfio.c reads weights as float (not the f64 build)");

/* The tensor of st that holds ref: its HF name, or for the encoder's tensors (not cls.*) the name with the
 * "bert." prefix that BertForPreTraining / BertForMaskedLM checkpoints use. NULL if neither is there. */
static const sem_st_tensor *find_ref(const sem_st *st, const tensor_ref *ref)
{
    const sem_st_tensor *t = sem_st_find(st, ref->name);
    if (!t && strncmp(ref->name, "cls.", 4) != 0) {
        char alt[128];
        snprintf(alt, sizeof alt, "bert.%s", ref->name);
        t = sem_st_find(st, alt);
    }
    return t;
}

/* Copies tensor t into ref's parameters after checking its shape against the config. */
static int read_ref(const sem_st *st, const sem_st_tensor *t, const tensor_ref *ref, const char *what,
                    sem_error *err)
{
    int shape_ok = t->ndim == ref->ndim;
    for (int k = 0; k < t->ndim && shape_ok; k++)
        shape_ok = t->shape[k] >= 0 && (uint64_t)t->shape[k] == ref->shape[k];
    if (!shape_ok || t->n_elems != ref->n)
        return sem_error_set(err, SEM_EMISMATCH, "%s: tensor %s: shape does not match config.json", what,
                             t->name);
    if (sem_st_read_f32(st, t, ref->data, 0, 0, 0, err) != SEM_OK)
        return sem_error_prefix(err, "%s", what);
    return SEM_OK;
}

/* Reads every tensor of m that st holds (see sem_tmodel_read_safetensors); what names st in messages. */
static int read_tensors(sem_tmodel *m, const sem_st *st, const char *what, int *n_loaded, int *n_missing,
                        sem_error *err)
{
    int nref = n_tensor_refs(m);
    tensor_ref *refs = calloc((size_t)nref, sizeof *refs);
    if (!refs)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    tensor_refs(m, refs, nref);
    int rc = SEM_OK, loaded = 0, missing = 0;
    for (int i = 0; i < nref && rc == SEM_OK; i++) {
        const sem_st_tensor *t = find_ref(st, &refs[i]);
        if (!t) {
            missing++;
            sem_log(SEM_LOG_DEBUG, "%s has no %s: keeping its initialisation", what, refs[i].name);
            continue;
        }
        rc = read_ref(st, t, &refs[i], what, err);
        loaded++;
    }
    free(refs);
    if (rc == SEM_OK && loaded == 0)
        rc = sem_error_set(err, SEM_EFORMAT, "%s: no BERT tensors found", what);
    if (rc == SEM_OK) {
        if (n_loaded)
            *n_loaded = loaded;
        if (n_missing)
            *n_missing = missing;
    }
    return rc;
}

int sem_tmodel_read_safetensors(sem_tmodel *m, const char *buf, size_t len, int *n_loaded, int *n_missing,
                                sem_error *err)
{
    sem_st *st = sem_st_parse((const uint8_t *)buf, len, "model.safetensors", err);
    if (!st)
        return err ? err->code : SEM_EFORMAT;
    int rc = read_tensors(m, st, "model.safetensors", n_loaded, n_missing, err);
    sem_st_close(st);
    return rc;
}

sem_tmodel *sem_tmodel_load_hf(const char *dir, uint64_t seed, int *n_missing, sem_error *err)
{
    char path[4096];
    sem_tconfig cfg;
    if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path) {
        sem_error_set(err, SEM_EINVAL, "model path too long: %s", dir);
        return NULL;
    }
    if (config_load(path, path, &cfg, err) != SEM_OK)
        return NULL;
    sem_tmodel *m = sem_tmodel_new(&cfg, err);
    if (!m)
        return NULL;
    sem_tmodel_init(m, seed);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int missing = 0;
    sem_st *st = sem_st_open(path, err);
    if (!st || read_tensors(m, st, path, NULL, &missing, err) != SEM_OK) {
        sem_st_close(st);
        sem_tmodel_free(m);
        return NULL;
    }
    sem_st_close(st);
    if (missing)
        sem_log(SEM_LOG_INFO, "%s: %d tensors not in the file (pooler or MLM head) start from initialisation", dir,
                missing);
    if (n_missing)
        *n_missing = missing;
    return m;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* safetensors and the folder out */

int sem_tmodel_to_safetensors(const sem_tmodel *m, int f16, char **out, size_t *len, sem_error *err)
{
    int nref = n_tensor_refs(m);
    tensor_ref *refs = calloc((size_t)nref, sizeof *refs);
    size_t hcap = (size_t)nref * 200 + 256, hl = 0, data_len = 0, es = f16 ? 2 : 4;
    char *hdr = malloc(hcap);
    if (!refs || !hdr) {
        free(refs);
        free(hdr);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    tensor_refs(m, refs, nref);
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < nref; i++) {
        const char *pfx = strncmp(refs[i].name, "cls.", 4) == 0 ? "" : "bert.";
        size_t b = data_len, e = data_len + refs[i].n * es;
        if (refs[i].ndim == 2)
            hl += (size_t)snprintf(hdr + hl, hcap - hl, ",\"%s%s\":{\"dtype\":\"%s\",\"shape\":[%zu,%zu],"
                                   "\"data_offsets\":[%zu,%zu]}", pfx, refs[i].name, f16 ? "F16" : "F32",
                                   refs[i].shape[0], refs[i].shape[1], b, e);
        else
            hl += (size_t)snprintf(hdr + hl, hcap - hl, ",\"%s%s\":{\"dtype\":\"%s\",\"shape\":[%zu],"
                                   "\"data_offsets\":[%zu,%zu]}", pfx, refs[i].name, f16 ? "F16" : "F32",
                                   refs[i].shape[0], b, e);
        data_len = e;
    }
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "}");
    while (hl % 8) /* pad the header with spaces so that the data is 8-byte aligned */
        hdr[hl++] = ' ';
    size_t total = 8 + hl + data_len;
    char *buf = malloc(total);
    if (!buf) {
        free(refs);
        free(hdr);
        return sem_error_set(err, SEM_ENOMEM, "out of memory for %zu bytes of weights", total);
    }
    for (int i = 0; i < 8; i++)
        buf[i] = (char)(((uint64_t)hl >> (8 * i)) & 0xff);
    memcpy(buf + 8, hdr, hl);
    uint8_t *d = (uint8_t *)buf + 8 + hl;
    for (int i = 0; i < nref; i++)
        for (size_t k = 0; k < refs[i].n; k++) {
            float f = (float)refs[i].data[k];
            if (f16) {
                uint16_t h = sem_f32_to_f16(f);
                *d++ = (uint8_t)(h & 0xff);
                *d++ = (uint8_t)(h >> 8);
            } else {
                memcpy(d, &f, 4);
                d += 4;
            }
        }
    free(refs);
    free(hdr);
    *out = buf;
    *len = total;
    return SEM_OK;
}

static int write_text(const char *dir, const char *name, const char *text, sem_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (sem_write_file_atomic(path, text, strlen(text), err) != SEM_OK)
        return sem_error_prefix(err, "%s", path);
    return SEM_OK;
}

int sem_tmodel_save_hf(const sem_tmodel *m, const char *dir, const sem_hf_save_params *p, sem_error *err)
{
    char path[4096], text[1024];
    if (sem_mkdir_p(dir, err) != SEM_OK)
        return err ? err->code : SEM_EIO;
    snprintf(path, sizeof path, "%s/1_Pooling", dir);
    if (sem_mkdir_p(path, err) != SEM_OK)
        return err ? err->code : SEM_EIO;
    char *cj = config_json(&m->cfg, p->f16);
    if (!cj)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int rc = write_text(dir, "config.json", cj, err);
    free(cj);
    if (rc != SEM_OK)
        return rc;
    char *st = NULL;
    size_t st_len = 0;
    if ((rc = sem_tmodel_to_safetensors(m, p->f16, &st, &st_len, err)) != SEM_OK)
        return rc;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    rc = sem_write_file_atomic(path, st, st_len, err);
    free(st);
    if (rc != SEM_OK)
        return sem_error_prefix(err, "%s", path);
    if (p->vocab_path) {
        char *vb = NULL;
        size_t vl = 0;
        if ((rc = sem_read_file(p->vocab_path, 64u << 20, &vb, &vl, err)) != SEM_OK)
            return rc;
        snprintf(path, sizeof path, "%s/vocab.txt", dir);
        rc = sem_write_file_atomic(path, vb, vl, err);
        free(vb);
        if (rc != SEM_OK)
            return rc;
    }
    int msl = p->max_seq_length > 0 ? p->max_seq_length : 512;
    if (msl > m->cfg.max_pos)
        msl = m->cfg.max_pos;
    snprintf(text, sizeof text,
             "{\n  \"tokenizer_class\": \"BertTokenizer\",\n  \"do_lower_case\": %s,\n"
             "  \"tokenize_chinese_chars\": true,\n  \"strip_accents\": null,\n  \"model_max_length\": %d,\n"
             "  \"unk_token\": \"[UNK]\",\n  \"sep_token\": \"[SEP]\",\n  \"pad_token\": \"[PAD]\",\n"
             "  \"cls_token\": \"[CLS]\",\n  \"mask_token\": \"[MASK]\"\n}\n",
             p->do_lower_case ? "true" : "false", m->cfg.max_pos);
    if ((rc = write_text(dir, "tokenizer_config.json", text, err)) != SEM_OK)
        return rc;
    if ((rc = write_text(dir, "special_tokens_map.json",
                         "{\n  \"unk_token\": \"[UNK]\",\n  \"sep_token\": \"[SEP]\",\n  \"pad_token\": \"[PAD]\",\n"
                         "  \"cls_token\": \"[CLS]\",\n  \"mask_token\": \"[MASK]\"\n}\n",
                         err)) != SEM_OK)
        return rc;
    snprintf(text, sizeof text, "{\n  \"max_seq_length\": %d,\n  \"do_lower_case\": false\n}\n", msl);
    if ((rc = write_text(dir, "sentence_bert_config.json", text, err)) != SEM_OK)
        return rc;
    snprintf(text, sizeof text,
             "[\n  {\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"},\n"
             "  {\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}%s\n]\n",
             p->normalize ? ",\n  {\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\", \"type\": "
                            "\"sentence_transformers.models.Normalize\"}"
                          : "");
    if ((rc = write_text(dir, "modules.json", text, err)) != SEM_OK)
        return rc;
    if (p->normalize) {
        snprintf(path, sizeof path, "%s/2_Normalize", dir);
        if (sem_mkdir_p(path, err) != SEM_OK)
            return err ? err->code : SEM_EIO;
    }
    int mean = p->pooling == SEM_TPOOL_MEAN;
    snprintf(text, sizeof text,
             "{\n  \"word_embedding_dimension\": %d,\n  \"pooling_mode_cls_token\": %s,\n"
             "  \"pooling_mode_mean_tokens\": %s,\n  \"pooling_mode_max_tokens\": false,\n"
             "  \"pooling_mode_mean_sqrt_len_tokens\": false\n}\n",
             m->cfg.hidden, mean ? "false" : "true", mean ? "true" : "false");
    return write_text(dir, "1_Pooling/config.json", text, err);
}
