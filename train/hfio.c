/* train/hfio.c: HF config.json and safetensors in and out for the trainer. See train/hfio.h.
 * The safetensors header is untrusted: its length, every offset, dtype and shape are checked before any read. */
#include "train/hfio.h"

#include "common/fileio.h"
#include "common/log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------------------- */
/* half precision */

float sem_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            float f = (float)mant * (1.0f / 16777216.0f); /* mant * 2^-24 */
            return sign ? -f : f;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t sem_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, ex = (x >> 23) & 0xffu, mant = x & 0x7fffffu;
    if (ex == 0xff) /* inf or nan */
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    int e = (int)ex - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u); /* overflow → inf */
    if (e <= 0) {                          /* subnormal or zero */
        if (e < -10)
            return (uint16_t)sign;
        mant |= 0x800000u;
        int shift = 14 - e;
        uint32_t hm = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (hm & 1)))
            hm++;
        return (uint16_t)(sign | hm);
    }
    uint32_t hm = mant >> 13, rem = mant & 0x1fffu;
    uint32_t h = sign | ((uint32_t)e << 10) | hm;
    if (rem > 0x1000u || (rem == 0x1000u && (hm & 1)))
        h++; /* may carry into the exponent: still correct (rounds up to the next binade or inf) */
    return (uint16_t)h;
}

/* ---------------------------------------------------------------------------------------------------------- */
/* config.json */

static int json_int(const cJSON *o, const char *k, int def, int *out, sem_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return SEM_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 2e9)
        return sem_error_set(err, SEM_EFORMAT, "config.json: \"%s\" is not an integer", k);
    *out = (int)v->valuedouble;
    return SEM_OK;
}

static int json_num(const cJSON *o, const char *k, double def, double *out, sem_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return SEM_OK;
    }
    if (!cJSON_IsNumber(v))
        return sem_error_set(err, SEM_EFORMAT, "config.json: \"%s\" is not a number", k);
    *out = v->valuedouble;
    return SEM_OK;
}

int sem_tconfig_parse_json(const char *json, size_t len, sem_tconfig *cfg, sem_error *err)
{
    cJSON *o = cJSON_ParseWithLength(json, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return sem_error_set(err, SEM_EFORMAT, "config.json: not a JSON object");
    }
    sem_tconfig c = {0};
    int rc = SEM_OK;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "model_type");
    if (mt && (!cJSON_IsString(mt) || strcmp(mt->valuestring, "bert") != 0))
        rc = sem_error_set(err, SEM_EFORMAT, "config.json: model_type is not \"bert\"");
    if (rc == SEM_OK)
        rc = json_int(o, "vocab_size", 30522, &c.vocab_size, err);
    if (rc == SEM_OK)
        rc = json_int(o, "hidden_size", 768, &c.hidden, err);
    if (rc == SEM_OK)
        rc = json_int(o, "num_hidden_layers", 12, &c.layers, err);
    if (rc == SEM_OK)
        rc = json_int(o, "num_attention_heads", 12, &c.heads, err);
    if (rc == SEM_OK)
        rc = json_int(o, "intermediate_size", 3072, &c.ffn, err);
    if (rc == SEM_OK)
        rc = json_int(o, "max_position_embeddings", 512, &c.max_pos, err);
    if (rc == SEM_OK)
        rc = json_int(o, "type_vocab_size", 2, &c.type_vocab, err);
    if (rc == SEM_OK)
        rc = json_int(o, "pad_token_id", 0, &c.pad_id, err);
    if (rc == SEM_OK)
        rc = json_num(o, "layer_norm_eps", 1e-12, &c.ln_eps, err);
    if (rc == SEM_OK)
        rc = json_num(o, "hidden_dropout_prob", 0.1, &c.hidden_dropout, err);
    if (rc == SEM_OK)
        rc = json_num(o, "attention_probs_dropout_prob", 0.1, &c.attn_dropout, err);
    if (rc == SEM_OK)
        rc = json_num(o, "initializer_range", 0.02, &c.init_range, err);
    if (rc == SEM_OK) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "hidden_act");
        const char *an = a && cJSON_IsString(a) ? a->valuestring : "gelu";
        if (a && !cJSON_IsString(a))
            rc = sem_error_set(err, SEM_EFORMAT, "config.json: hidden_act is not a string");
        else if (strcmp(an, "gelu") == 0)
            c.act = SEM_TACT_GELU;
        else if (strcmp(an, "gelu_new") == 0 || strcmp(an, "gelu_pytorch_tanh") == 0)
            c.act = SEM_TACT_GELU_NEW;
        else if (strcmp(an, "relu") == 0)
            c.act = SEM_TACT_RELU;
        else
            rc = sem_error_set(err, SEM_EFORMAT, "config.json: unsupported hidden_act \"%s\"", an);
    }
    if (rc == SEM_OK) {
        const cJSON *pe = cJSON_GetObjectItemCaseSensitive(o, "position_embedding_type");
        if (pe && cJSON_IsString(pe) && strcmp(pe->valuestring, "absolute") != 0)
            rc = sem_error_set(err, SEM_EFORMAT, "config.json: position_embedding_type \"%s\" is not supported",
                               pe->valuestring);
    }
    cJSON_Delete(o);
    if (rc == SEM_OK && sem_tconfig_check(&c, err) != SEM_OK)
        rc = sem_error_prefix(err, "config.json");
    if (rc == SEM_OK)
        *cfg = c;
    return rc;
}

int sem_tconfig_load(const char *path, sem_tconfig *cfg, sem_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = sem_read_file(path, 1 << 20, &buf, &len, err);
    if (rc == SEM_OK)
        rc = sem_tconfig_parse_json(buf, len, cfg, err);
    free(buf);
    return rc;
}

static const char *act_name(sem_tact a)
{
    return a == SEM_TACT_GELU_NEW ? "gelu_new" : a == SEM_TACT_RELU ? "relu" : "gelu";
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
             c->attn_dropout, act_name(c->act), c->hidden_dropout, c->hidden, c->init_range, c->ffn, c->ln_eps,
             c->max_pos, c->heads, c->layers, c->pad_id, f16 ? "float16" : "float32", c->type_vocab, c->vocab_size);
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

static size_t dtype_size(const char *dt)
{
    if (strcmp(dt, "F32") == 0)
        return 4;
    if (strcmp(dt, "F16") == 0 || strcmp(dt, "BF16") == 0)
        return 2;
    return 0;
}

int sem_tmodel_read_safetensors(sem_tmodel *m, const char *buf, size_t len, int *n_loaded, int *n_missing,
                                sem_error *err)
{
    if (len < 8)
        return sem_error_set(err, SEM_EFORMAT, "model.safetensors: truncated (%zu bytes)", len);
    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--)
        hn = (hn << 8) | (uint8_t)buf[i];
    if (hn > len - 8 || hn > (100u << 20))
        return sem_error_set(err, SEM_EFORMAT, "model.safetensors: header length %llu exceeds the file",
                             (unsigned long long)hn);
    cJSON *hdr = cJSON_ParseWithLength(buf + 8, (size_t)hn);
    if (!hdr || !cJSON_IsObject(hdr)) {
        cJSON_Delete(hdr);
        return sem_error_set(err, SEM_EFORMAT, "model.safetensors: header is not a JSON object");
    }
    const char *data = buf + 8 + hn;
    size_t dlen = len - 8 - (size_t)hn;
    int nref = n_tensor_refs(m);
    tensor_ref *refs = calloc((size_t)nref, sizeof *refs);
    if (!refs) {
        cJSON_Delete(hdr);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    tensor_ref *rw = refs;
    tensor_refs(m, rw, nref);
    int rc = SEM_OK, loaded = 0, missing = 0;
    for (int i = 0; i < nref && rc == SEM_OK; i++) {
        char alt[128];
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(hdr, refs[i].name);
        if (!t && strncmp(refs[i].name, "cls.", 4) != 0) {
            snprintf(alt, sizeof alt, "bert.%s", refs[i].name);
            t = cJSON_GetObjectItemCaseSensitive(hdr, alt);
        }
        if (!t) {
            missing++;
            sem_log(SEM_LOG_DEBUG, "model.safetensors has no %s: keeping its initialisation", refs[i].name);
            continue;
        }
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
        if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2) {
            rc = sem_error_set(err, SEM_EFORMAT, "model.safetensors: tensor %s: malformed entry", refs[i].name);
            break;
        }
        size_t es = dtype_size(dt->valuestring);
        if (!es) {
            rc = sem_error_set(err, SEM_EFORMAT, "model.safetensors: tensor %s: unsupported dtype %s", refs[i].name,
                               dt->valuestring);
            break;
        }
        int nd = cJSON_GetArraySize(sh);
        size_t cnt = 1;
        int shape_ok = nd == refs[i].ndim;
        for (int k = 0; k < nd && shape_ok; k++) {
            const cJSON *d = cJSON_GetArrayItem(sh, k);
            shape_ok = cJSON_IsNumber(d) && d->valuedouble >= 0 && d->valuedouble == (double)refs[i].shape[k];
            if (shape_ok)
                cnt *= refs[i].shape[k];
        }
        if (!shape_ok || cnt != refs[i].n) {
            rc = sem_error_set(err, SEM_EMISMATCH, "model.safetensors: tensor %s: shape does not match config.json",
                               refs[i].name);
            break;
        }
        const cJSON *b0 = cJSON_GetArrayItem(of, 0), *b1 = cJSON_GetArrayItem(of, 1);
        if (!cJSON_IsNumber(b0) || !cJSON_IsNumber(b1) || b0->valuedouble < 0 || b1->valuedouble < b0->valuedouble ||
            b1->valuedouble > (double)dlen || b1->valuedouble - b0->valuedouble != (double)(cnt * es)) {
            rc = sem_error_set(err, SEM_EFORMAT, "model.safetensors: tensor %s: bad data_offsets", refs[i].name);
            break;
        }
        const uint8_t *src = (const uint8_t *)data + (size_t)b0->valuedouble;
        for (size_t k = 0; k < cnt; k++) {
            float f;
            if (es == 4) {
                memcpy(&f, src + 4 * k, 4);
            } else {
                uint16_t h = (uint16_t)(src[2 * k] | (src[2 * k + 1] << 8));
                if (dt->valuestring[0] == 'B') {
                    uint32_t bits = (uint32_t)h << 16;
                    memcpy(&f, &bits, 4);
                } else {
                    f = sem_half_to_float(h);
                }
            }
            if (!isfinite(f)) {
                rc = sem_error_set(err, SEM_EFORMAT, "model.safetensors: tensor %s holds a non-finite value",
                                   refs[i].name);
                break;
            }
            refs[i].data[k] = (sem_real)f;
        }
        loaded++;
    }
    free(refs);
    cJSON_Delete(hdr);
    if (rc == SEM_OK && loaded == 0)
        rc = sem_error_set(err, SEM_EFORMAT, "model.safetensors: no BERT tensors found");
    if (rc == SEM_OK) {
        if (n_loaded)
            *n_loaded = loaded;
        if (n_missing)
            *n_missing = missing;
    }
    return rc;
}

sem_tmodel *sem_tmodel_load_hf(const char *dir, uint64_t seed, int *n_missing, sem_error *err)
{
    char path[4096];
    sem_tconfig cfg;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (sem_tconfig_load(path, &cfg, err) != SEM_OK) {
        sem_error_prefix(err, "%s", dir);
        return NULL;
    }
    sem_tmodel *m = sem_tmodel_new(&cfg, err);
    if (!m)
        return NULL;
    sem_tmodel_init(m, seed);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    char *buf = NULL;
    size_t len = 0;
    int loaded = 0, missing = 0;
    int rc = sem_read_file(path, (size_t)16 << 30, &buf, &len, err);
    if (rc == SEM_OK)
        rc = sem_tmodel_read_safetensors(m, buf, len, &loaded, &missing, err);
    free(buf);
    if (rc != SEM_OK) {
        sem_error_prefix(err, "%s", dir);
        sem_tmodel_free(m);
        return NULL;
    }
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
                uint16_t h = sem_float_to_half(f);
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

int sem_hf_do_lower_case(const char *dir)
{
    char *path = sem_path_join(dir, "tokenizer_config.json"), *buf = NULL;
    size_t len;
    sem_error err;
    int lc = 1;
    if (path && sem_read_file(path, 1 << 20, &buf, &len, &err) == SEM_OK) {
        cJSON *o = cJSON_ParseWithLength(buf, len);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "do_lower_case");
        if (cJSON_IsBool(v))
            lc = cJSON_IsTrue(v);
        cJSON_Delete(o);
    }
    free(buf);
    free(path);
    return lc;
}
