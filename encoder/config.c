/* encoder/config.c: the JSON files of a HuggingFace / sentence-transformers BERT folder, validated.
 * config.json is required; every other file is optional with HF's defaults, but a file that exists must be
 * well-formed, and a value of the wrong type or out of range is an error naming the file and the key. */
#include "encoder/internal.h"

#include "common/fileio.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_BYTES (4u << 20) /* a config file larger than 4 MiB is not a config file */

static cJSON *parse_object(const char *text, size_t len, const char *what, sem_error *err)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) {
        sem_error_set(err, SEM_EFORMAT, "%s: malformed JSON", what);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        sem_error_set(err, SEM_EFORMAT, "%s: expected a JSON object", what);
        return NULL;
    }
    return root;
}

/* Integer key in [lo, hi]; absent: *out = def, or an error when required. */
static int get_int(const cJSON *o, const char *key, int required, long def, long lo, long hi, const char *what,
                   int *out, sem_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return sem_error_set(err, SEM_EFORMAT, "%s: missing \"%s\"", what, key);
        *out = (int)def;
        return SEM_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return sem_error_set(err, SEM_EFORMAT, "%s: \"%s\" must be an integer", what, key);
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi)
        return sem_error_set(err, SEM_EFORMAT, "%s: \"%s\" = %.17g is out of range [%ld, %ld]", what, key,
                             v->valuedouble, lo, hi);
    *out = (int)v->valuedouble;
    return SEM_OK;
}

/* Boolean key; absent or null: def (-1 allowed to mean "null"). */
static int get_bool(const cJSON *o, const char *key, int def, const char *what, int *out, sem_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return SEM_OK;
    }
    if (!cJSON_IsBool(v))
        return sem_error_set(err, SEM_EFORMAT, "%s: \"%s\" must be true or false", what, key);
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return SEM_OK;
}

/* String key or NULL when absent/null; a non-string is an error. */
static int get_str(const cJSON *o, const char *key, const char *what, const char **out, sem_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return SEM_OK;
    if (!cJSON_IsString(v) || !v->valuestring)
        return sem_error_set(err, SEM_EFORMAT, "%s: \"%s\" must be a string", what, key);
    *out = v->valuestring;
    return SEM_OK;
}

/* The integer keys of config.json, their defaults and limits: the one table the parser and
 * sem_bert_config_check both read. */
static const struct int_key {
    const char *key;
    size_t off; /* of the int in sem_bert_config */
    int required, def, lo, hi;
} int_keys[] = {
    {"hidden_size", offsetof(sem_bert_config, hidden), 1, 0, 1, SEM_MAX_HIDDEN},
    {"num_hidden_layers", offsetof(sem_bert_config, n_layers), 1, 0, 1, SEM_MAX_LAYERS},
    {"num_attention_heads", offsetof(sem_bert_config, n_heads), 1, 0, 1, SEM_MAX_HEADS},
    {"intermediate_size", offsetof(sem_bert_config, ffn), 1, 0, 1, SEM_MAX_FFN},
    {"max_position_embeddings", offsetof(sem_bert_config, max_pos), 0, 512, 2, SEM_MAX_POSITIONS},
    {"type_vocab_size", offsetof(sem_bert_config, type_vocab), 0, 2, 1, SEM_MAX_TYPE_VOCAB},
    {"vocab_size", offsetof(sem_bert_config, vocab), 1, 0, 1, SEM_MAX_VOCAB},
    {"pad_token_id", offsetof(sem_bert_config, pad_id), 0, 0, 0, SEM_MAX_VOCAB - 1},
};

/* The real-valued keys: default, and the range (lo, hi], [lo, hi) or [lo, hi]. */
static const struct real_key {
    const char *key;
    size_t off; /* of the double in sem_bert_config */
    double def, lo, hi;
    int lo_open, hi_open;
} real_keys[] = {
    {"layer_norm_eps", offsetof(sem_bert_config, ln_eps), 1e-12, 0, 1, 1, 0},
    {"hidden_dropout_prob", offsetof(sem_bert_config, hidden_dropout), 0.1, 0, 1, 0, 1},
    {"attention_probs_dropout_prob", offsetof(sem_bert_config, attn_dropout), 0.1, 0, 1, 0, 1},
    {"initializer_range", offsetof(sem_bert_config, init_range), 0.02, 0, 1, 0, 0},
};

#define N_KEYS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const act_names[] = {"gelu", "gelu_new", "relu"};

const char *sem_act_name(sem_act act)
{
    return (unsigned)act < N_KEYS(act_names) ? act_names[act] : "none";
}

static int real_in_range(const struct real_key *k, double v)
{
    return (k->lo_open ? v > k->lo : v >= k->lo) && (k->hi_open ? v < k->hi : v <= k->hi);
}

static int real_out_of_range(const struct real_key *k, const char *what, sem_error *err)
{
    return sem_error_set(err, SEM_EFORMAT, "%s: \"%s\" must be a number in %c%g, %g%c", what, k->key,
                         k->lo_open ? '(' : '[', k->lo, k->hi, k->hi_open ? ')' : ']');
}

int sem_bert_config_check(const sem_bert_config *c, const char *what, sem_error *err)
{
    if (!what)
        what = "config";
    for (size_t i = 0; i < N_KEYS(int_keys); i++) {
        const struct int_key *k = &int_keys[i];
        int v;
        memcpy(&v, (const char *)c + k->off, sizeof v);
        if (v < k->lo || v > k->hi)
            return sem_error_set(err, SEM_EFORMAT, "%s: \"%s\" = %d is out of range [%d, %d]", what, k->key, v,
                                 k->lo, k->hi);
    }
    for (size_t i = 0; i < N_KEYS(real_keys); i++) {
        double v;
        memcpy(&v, (const char *)c + real_keys[i].off, sizeof v);
        if (!real_in_range(&real_keys[i], v))
            return real_out_of_range(&real_keys[i], what, err);
    }
    if (c->hidden % c->n_heads != 0)
        return sem_error_set(err, SEM_EFORMAT, "%s: hidden_size %d is not a multiple of num_attention_heads %d",
                             what, c->hidden, c->n_heads);
    if (c->pad_id >= c->vocab)
        return sem_error_set(err, SEM_EFORMAT, "%s: pad_token_id %d is outside the vocabulary (%d)", what,
                             c->pad_id, c->vocab);
    if ((unsigned)c->act >= N_KEYS(act_names))
        return sem_error_set(err, SEM_EFORMAT, "%s: unknown hidden_act %d", what, (int)c->act);
    return SEM_OK;
}

/* Reads the numbers of config.json into out (types and ranges checked by the tables above). */
static int parse_numbers(const cJSON *root, const char *what, sem_bert_config *out, sem_error *err)
{
    for (size_t i = 0; i < N_KEYS(int_keys); i++) {
        const struct int_key *k = &int_keys[i];
        int v;
        if (get_int(root, k->key, k->required, k->def, k->lo, k->hi, what, &v, err))
            return SEM_EFORMAT;
        memcpy((char *)out + k->off, &v, sizeof v);
    }
    for (size_t i = 0; i < N_KEYS(real_keys); i++) {
        const struct real_key *k = &real_keys[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, k->key);
        double d = k->def;
        if (v && !cJSON_IsNull(v)) {
            if (!cJSON_IsNumber(v) || !real_in_range(k, v->valuedouble))
                return real_out_of_range(k, what, err);
            d = v->valuedouble;
        }
        memcpy((char *)out + k->off, &d, sizeof d);
    }
    return SEM_OK;
}

/* Reads the string keys of config.json: model_type, hidden_act, position_embedding_type, query_prefix. */
static int parse_strings(const cJSON *root, const char *what, sem_bert_config *out, char **query_prefix,
                         sem_error *err)
{
    const char *s;
    if (get_str(root, "model_type", what, &s, err))
        return SEM_EFORMAT;
    if (s && strcmp(s, "bert") != 0)
        return sem_error_set(err, SEM_EFORMAT, "%s: model_type \"%s\" is not supported (only \"bert\")", what, s);
    if (get_str(root, "hidden_act", what, &s, err))
        return SEM_EFORMAT;
    if (!s || strcmp(s, "gelu") == 0)
        out->act = SEM_ACT_GELU;
    else if (strcmp(s, "gelu_new") == 0 || strcmp(s, "gelu_pytorch_tanh") == 0)
        out->act = SEM_ACT_GELU_TANH;
    else if (strcmp(s, "relu") == 0)
        out->act = SEM_ACT_RELU;
    else
        return sem_error_set(err, SEM_EFORMAT, "%s: hidden_act \"%s\" is not supported (gelu, gelu_new, relu)",
                             what, s);
    if (get_str(root, "position_embedding_type", what, &s, err))
        return SEM_EFORMAT;
    if (s && strcmp(s, "absolute") != 0)
        return sem_error_set(err, SEM_EFORMAT, "%s: position_embedding_type \"%s\" is not supported (absolute)",
                             what, s);
    if (get_str(root, "query_prefix", what, &s, err))
        return SEM_EFORMAT;
    if (s && query_prefix && !(*query_prefix = strdup(s)))
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    return SEM_OK;
}

int sem_bert_config_parse(const char *text, size_t len, const char *what, sem_bert_config *out, char **query_prefix,
                          sem_error *err)
{
    memset(out, 0, sizeof *out);
    if (query_prefix)
        *query_prefix = NULL;
    cJSON *root = parse_object(text, len, what, err);
    if (!root)
        return SEM_EFORMAT;
    int rc = parse_strings(root, what, out, query_prefix, err);
    if (rc == SEM_OK)
        rc = parse_numbers(root, what, out, err);
    if (rc == SEM_OK)
        rc = sem_bert_config_check(out, what, err);
    cJSON_Delete(root);
    if (rc != SEM_OK) {
        memset(out, 0, sizeof *out);
        if (query_prefix) {
            free(*query_prefix);
            *query_prefix = NULL;
        }
    }
    return rc;
}

int sem_tokenizer_config_parse(const char *text, size_t len, const char *what, sem_tokenizer_config *out,
                               sem_error *err)
{
    *out = sem_tokenizer_default_config();
    cJSON *root = parse_object(text, len, what, err);
    if (!root)
        return SEM_EFORMAT;
    int rc = SEM_EFORMAT;
    if (get_bool(root, "do_lower_case", out->do_lower_case, what, &out->do_lower_case, err) ||
        get_bool(root, "strip_accents", -1, what, &out->strip_accents, err) ||
        get_bool(root, "tokenize_chinese_chars", out->tokenize_chinese_chars, what, &out->tokenize_chinese_chars,
                 err))
        goto done;
    /* HF writes a huge sentinel (1e30) for "no limit": clamp instead of rejecting. */
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "model_max_length");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 2.0)) {
            sem_error_set(err, SEM_EFORMAT, "%s: model_max_length must be a number >= 2", what);
            goto done;
        }
        out->model_max_length = v->valuedouble > SEM_MAX_POSITIONS ? SEM_MAX_POSITIONS : (int)v->valuedouble;
    }
    rc = SEM_OK;
done:
    cJSON_Delete(root);
    return rc;
}

/* Reads dir/name into *text; a missing file is *text = NULL and SEM_OK. */
static int read_optional(const char *dir, const char *name, char **text, size_t *len, char *path, size_t path_sz,
                         sem_error *err)
{
    *text = NULL;
    *len = 0;
    int n = snprintf(path, path_sz, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= path_sz)
        return sem_error_set(err, SEM_EINVAL, "model path too long: %s", dir);
    if (!sem_path_exists(path))
        return SEM_OK;
    return sem_read_file(path, CONFIG_MAX_BYTES, text, len, err);
}

int sem_tokenizer_config_load(const char *model_dir, sem_tokenizer_config *out, sem_error *err)
{
    char path[4096], *text = NULL;
    size_t len = 0;
    *out = sem_tokenizer_default_config();
    int rc = read_optional(model_dir, "tokenizer_config.json", &text, &len, path, sizeof path, err);
    if (rc == SEM_OK && text)
        rc = sem_tokenizer_config_parse(text, len, path, out, err);
    free(text);
    return rc;
}

/* special_tokens_map.json: the tokenizer knows [CLS] [SEP] [PAD] [UNK] [MASK] by those names only, so a map
 * naming other tokens would silently give wrong ids: refuse it. Values are strings or {"content": ...}. */
static int check_special_tokens(const char *text, size_t len, const char *what, sem_error *err)
{
    static const char *const keys[] = {"cls_token", "sep_token", "pad_token", "unk_token", "mask_token"};
    static const char *const want[] = {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"};
    cJSON *root = parse_object(text, len, what, err);
    if (!root)
        return SEM_EFORMAT;
    int rc = SEM_OK;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && rc == SEM_OK; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
        if (!v || cJSON_IsNull(v))
            continue;
        if (cJSON_IsObject(v))
            v = cJSON_GetObjectItemCaseSensitive(v, "content");
        if (!cJSON_IsString(v) || !v->valuestring)
            rc = sem_error_set(err, SEM_EFORMAT, "%s: \"%s\" must be a string or {\"content\": string}", what,
                               keys[i]);
        else if (strcmp(v->valuestring, want[i]) != 0)
            rc = sem_error_set(err, SEM_EFORMAT, "%s: %s \"%s\" is not supported (only %s)", what, keys[i],
                               v->valuestring, want[i]);
    }
    cJSON_Delete(root);
    return rc;
}

/* modules.json: a list of sentence-transformers modules. Finds the Pooling module's folder and a Normalize
 * module; modules that change the vector (Dense, …) are refused rather than ignored. */
static int parse_modules(const char *text, size_t len, const char *what, char *pool_dir, size_t pool_dir_sz,
                         int *normalize, sem_error *err)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return sem_error_set(err, SEM_EFORMAT, "%s: malformed JSON", what);
    int rc = SEM_OK;
    if (!cJSON_IsArray(root)) {
        rc = sem_error_set(err, SEM_EFORMAT, "%s: expected a JSON array of modules", what);
        goto done;
    }
    const cJSON *mod;
    cJSON_ArrayForEach(mod, root)
    {
        const char *type = NULL, *path = NULL;
        if (!cJSON_IsObject(mod)) {
            rc = sem_error_set(err, SEM_EFORMAT, "%s: every module must be an object", what);
            goto done;
        }
        if ((rc = get_str(mod, "type", what, &type, err)) || (rc = get_str(mod, "path", what, &path, err)))
            goto done;
        if (!type) {
            rc = sem_error_set(err, SEM_EFORMAT, "%s: a module has no \"type\"", what);
            goto done;
        }
        const char *dot = strrchr(type, '.');
        const char *base = dot ? dot + 1 : type;
        if (strcmp(base, "Transformer") == 0)
            continue;
        if (strcmp(base, "Normalize") == 0) {
            *normalize = 1;
        } else if (strcmp(base, "Pooling") == 0) {
            if (!path || !*path || strstr(path, "..") || path[0] == '/' || strlen(path) >= pool_dir_sz) {
                rc = sem_error_set(err, SEM_EFORMAT, "%s: the Pooling module needs a relative \"path\"", what);
                goto done;
            }
            strcpy(pool_dir, path);
        } else {
            rc = sem_error_set(err, SEM_EFORMAT, "%s: module type \"%s\" is not supported", what, type);
            goto done;
        }
    }
done:
    cJSON_Delete(root);
    return rc;
}

/* 1_Pooling/config.json: exactly one of cls / mean / max. */
static int parse_pooling(const char *text, size_t len, const char *what, int hidden, sem_pooling *out,
                         sem_error *err)
{
    cJSON *root = parse_object(text, len, what, err);
    if (!root)
        return SEM_EFORMAT;
    int rc = SEM_EFORMAT, cls = 0, mean = 0, max = 0, sqrt_len = 0, wmean = 0, last = 0, dim = 0;
    if (get_bool(root, "pooling_mode_cls_token", 0, what, &cls, err) ||
        get_bool(root, "pooling_mode_mean_tokens", 0, what, &mean, err) ||
        get_bool(root, "pooling_mode_max_tokens", 0, what, &max, err) ||
        get_bool(root, "pooling_mode_mean_sqrt_len_tokens", 0, what, &sqrt_len, err) ||
        get_bool(root, "pooling_mode_weightedmean_tokens", 0, what, &wmean, err) ||
        get_bool(root, "pooling_mode_lasttoken", 0, what, &last, err) ||
        get_int(root, "word_embedding_dimension", 0, hidden, 1, SEM_MAX_HIDDEN, what, &dim, err))
        goto done;
    if (dim != hidden) {
        sem_error_set(err, SEM_EMISMATCH, "%s: word_embedding_dimension %d differs from hidden_size %d", what, dim,
                      hidden);
        rc = SEM_EMISMATCH;
        goto done;
    }
    if (sqrt_len || wmean || last) {
        sem_error_set(err, SEM_EFORMAT, "%s: pooling mode %s is not supported", what,
                      sqrt_len ? "mean_sqrt_len_tokens" : wmean ? "weightedmean_tokens" : "lasttoken");
        goto done;
    }
    if (cls + mean + max != 1) {
        sem_error_set(err, SEM_EFORMAT, "%s: exactly one of pooling_mode_cls_token, pooling_mode_mean_tokens, "
                      "pooling_mode_max_tokens must be true", what);
        goto done;
    }
    *out = cls ? SEM_POOL_CLS : mean ? SEM_POOL_MEAN : SEM_POOL_MAX;
    rc = SEM_OK;
done:
    cJSON_Delete(root);
    return rc;
}

void sem_model_config_free(sem_model_config *c)
{
    if (!c)
        return;
    free(c->query_prefix);
    c->query_prefix = NULL;
}

int sem_model_config_load(const char *dir, sem_model_config *out, char **config_json, size_t *config_len,
                          sem_error *err)
{
    memset(out, 0, sizeof *out);
    *config_json = NULL;
    *config_len = 0;
    char path[4096], pool_dir[256] = "";
    char *text = NULL;
    size_t len = 0;
    int rc;

    /* config.json (required) */
    if ((rc = read_optional(dir, "config.json", &text, &len, path, sizeof path, err)))
        goto fail;
    if (!text) {
        rc = sem_error_set(err, SEM_ENOTFOUND, "%s: missing (not a BERT model folder?)", path);
        goto fail;
    }
    if ((rc = sem_bert_config_parse(text, len, path, &out->bert, &out->query_prefix, err)))
        goto fail;
    *config_json = text;
    *config_len = len;
    text = NULL;

    if ((rc = sem_tokenizer_config_load(dir, &out->tok, err)))
        goto fail;

    /* special_tokens_map.json */
    if ((rc = read_optional(dir, "special_tokens_map.json", &text, &len, path, sizeof path, err)))
        goto fail;
    if (text && (rc = check_special_tokens(text, len, path, err)))
        goto fail;
    free(text);
    text = NULL;

    /* modules.json → pooling folder and Normalize */
    out->pooling = SEM_POOL_MEAN; /* sentence-transformers' default for a plain BERT folder */
    if ((rc = read_optional(dir, "modules.json", &text, &len, path, sizeof path, err)))
        goto fail;
    if (text && (rc = parse_modules(text, len, path, pool_dir, sizeof pool_dir, &out->normalize, err)))
        goto fail;
    free(text);
    text = NULL;
    if (!pool_dir[0])
        strcpy(pool_dir, "1_Pooling");
    char name[300];
    snprintf(name, sizeof name, "%s/config.json", pool_dir);
    if ((rc = read_optional(dir, name, &text, &len, path, sizeof path, err)))
        goto fail;
    if (text && (rc = parse_pooling(text, len, path, out->bert.hidden, &out->pooling, err)))
        goto fail;
    free(text);
    text = NULL;

    /* sentence_bert_config.json → max_seq_length */
    int max_seq = 0;
    if ((rc = read_optional(dir, "sentence_bert_config.json", &text, &len, path, sizeof path, err)))
        goto fail;
    if (text) {
        cJSON *root = parse_object(text, len, path, err);
        if (!root) {
            rc = SEM_EFORMAT;
            goto fail;
        }
        rc = get_int(root, "max_seq_length", 0, 0, 2, SEM_MAX_POSITIONS, path, &max_seq, err);
        cJSON_Delete(root);
        if (rc)
            goto fail;
    }
    free(text);
    text = NULL;

    int mt = max_seq ? max_seq : out->tok.model_max_length;
    if (mt > out->bert.max_pos)
        mt = out->bert.max_pos;
    if (mt < 2)
        mt = 2;
    out->max_tokens = mt;
    if (out->tok.model_max_length > out->bert.max_pos)
        out->tok.model_max_length = out->bert.max_pos;
    if (!out->query_prefix && !(out->query_prefix = strdup(""))) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    return SEM_OK;
fail:
    free(text);
    free(*config_json);
    *config_json = NULL;
    *config_len = 0;
    sem_model_config_free(out);
    return rc;
}
