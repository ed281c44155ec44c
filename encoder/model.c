/* encoder/model.c: loading a BERT model folder (config, vocab, weights) into an immutable sem_model, its
 * identity hash and getters, and a random-weight constructor for benchmarks.
 *
 * Weights: model.safetensors is mmapped and validated; every tensor is converted to f32 into one arena, the
 * linear layers transposed to (in, out) and Q/K/V packed side by side into one (hidden, 3*hidden) matrix so the
 * forward pass runs one GEMM for all three. The word embeddings of an F32 file stay in the mmap (the largest
 * tensor, shared through the page cache by every process that loads the model). */
#include "encoder/internal.h"

#include "common/fileio.h"
#include "common/hash.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VOCAB_MAX_BYTES (64u << 20)

int sem_pooling_parse(const char *name)
{
    static const char *const names[] = {"auto", "cls", "mean", "max", "pooler", "first-last-avg", "last-two-avg"};
    if (!name)
        return -1;
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *sem_pooling_name(sem_pooling p)
{
    switch (p) {
    case SEM_POOL_AUTO: return "auto";
    case SEM_POOL_CLS: return "cls";
    case SEM_POOL_MEAN: return "mean";
    case SEM_POOL_MAX: return "max";
    case SEM_POOL_POOLER: return "pooler";
    case SEM_POOL_FIRST_LAST_AVG: return "first-last-avg";
    case SEM_POOL_LAST_TWO_AVG: return "last-two-avg";
    }
    return "unknown";
}

sem_model_params sem_model_default_params(void)
{
    sem_model_params p = {0};
    return p;
}

/* ---- arena layout ---- */

typedef struct layout {
    size_t total;    /* floats */
    int copy_word;   /* word embeddings go into the arena (non-F32 or misaligned file) */
    int has_pooler;
    int has_mlm;
    int copy_dec;    /* an untied cls.predictions.decoder.weight */
} layout;

/* Carves the arena into the model's pointers (arena NULL: only counts). */
static size_t carve(sem_model *m, const layout *lo, float *arena)
{
    const sem_bert_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, F = (size_t)c->ffn, V = (size_t)c->vocab, off = 0;
#define TAKE(ptr, n)                                                                                             \
    do {                                                                                                         \
        if (arena)                                                                                               \
            (ptr) = arena + off;                                                                                 \
        off += (n);                                                                                              \
    } while (0)
    float *word = NULL;
    if (lo->copy_word) {
        TAKE(word, V * H);
        if (arena)
            m->word_emb = word;
    }
    TAKE(m->pos_emb, (size_t)c->max_pos * H);
    TAKE(m->type_emb, (size_t)c->type_vocab * H);
    TAKE(m->emb_ln_g, H);
    TAKE(m->emb_ln_b, H);
    for (int l = 0; l < c->n_layers; l++) {
        sem_layer tmp, *L = arena ? &m->layers[l] : &tmp;
        TAKE(L->wqkv, H * 3 * H);
        TAKE(L->bqkv, 3 * H);
        TAKE(L->wo, H * H);
        TAKE(L->bo, H);
        TAKE(L->ln1_g, H);
        TAKE(L->ln1_b, H);
        TAKE(L->wi, H * F);
        TAKE(L->bi, F);
        TAKE(L->wo2, F * H);
        TAKE(L->bo2, H);
        TAKE(L->ln2_g, H);
        TAKE(L->ln2_b, H);
    }
    if (lo->has_pooler) {
        TAKE(m->pool_w, H * H);
        TAKE(m->pool_b, H);
    }
    if (lo->has_mlm) {
        TAKE(m->mlm_w, H * H);
        TAKE(m->mlm_b, H);
        TAKE(m->mlm_ln_g, H);
        TAKE(m->mlm_ln_b, H);
        TAKE(m->mlm_bias, V);
        if (lo->copy_dec) {
            float *dec = NULL;
            TAKE(dec, V * H);
            if (arena)
                m->mlm_dec = dec;
        }
    }
#undef TAKE
    return off;
}

static int alloc_arena(sem_model *m, layout *lo, sem_error *err)
{
    lo->total = carve(m, lo, NULL);
    if (lo->total > SIZE_MAX / sizeof(float) / 2)
        return sem_error_set(err, SEM_ENOMEM, "model too large");
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    /* 64-byte aligned for the GEMM kernels; every piece is a multiple of 4 bytes only, which they accept. */
    size_t bytes = (lo->total * sizeof(float) + 63) & ~(size_t)63;
    m->arena = bytes ? aligned_alloc(64, bytes) : NULL;
    if (!m->layers || (bytes && !m->arena))
        return sem_error_set(err, SEM_ENOMEM, "out of memory for %zu MiB of weights", bytes >> 20);
    m->arena_len = lo->total;
    carve(m, lo, m->arena);
    return SEM_OK;
}

/* ---- loading tensors ---- */

typedef struct loader {
    const sem_st *st;
    const char *prefix; /* "bert." or "" */
    const char *path;   /* the weights file, for messages */
    sem_error *err;
} loader;

static const sem_st_tensor *find_tensor(const loader *ld, const char *name, int prefixed, char *full, size_t full_sz)
{
    snprintf(full, full_sz, "%s%s", prefixed ? ld->prefix : "", name);
    return sem_st_find(ld->st, full);
}

static void shape_str(const int64_t *shape, int nd, char *buf, size_t sz)
{
    size_t used = 0;
    used += (size_t)snprintf(buf, sz, "[");
    for (int i = 0; i < nd && used < sz; i++)
        used += (size_t)snprintf(buf + used, sz - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < sz)
        snprintf(buf + used, sz - used, "]");
}

/* Loads tensor name, which must have shape (d0) (d1 < 0) or (d0, d1), into dst (see sem_st_read_f32). */
static int load(const loader *ld, const char *name, int prefixed, int64_t d0, int64_t d1, float *dst, int transpose,
                size_t ldim, size_t col)
{
    char full[256];
    const sem_st_tensor *t = find_tensor(ld, name, prefixed, full, sizeof full);
    if (!t)
        return sem_error_set(ld->err, SEM_ENOTFOUND, "%s: missing tensor %s", ld->path, full);
    int nd = d1 < 0 ? 1 : 2;
    int64_t want[2] = {d0, d1};
    if (t->ndim != nd || t->shape[0] != d0 || (nd == 2 && t->shape[1] != d1)) {
        char got[128], exp[64];
        shape_str(t->shape, t->ndim, got, sizeof got);
        shape_str(want, nd, exp, sizeof exp);
        return sem_error_set(ld->err, SEM_EMISMATCH, "%s: tensor %s has shape %s, config.json implies %s", ld->path,
                             full, got, exp);
    }
    int rc = sem_st_read_f32(ld->st, t, dst, transpose, ldim, col, ld->err);
    if (rc)
        sem_error_prefix(ld->err, "%s", ld->path);
    return rc;
}

static int load_weights(sem_model *m, const sem_st *st, const char *path, sem_error *err)
{
    const sem_bert_config *c = &m->cfg;
    const int64_t H = c->hidden, F = c->ffn, V = c->vocab;
    loader ld = {st, "", path, err};
    if (sem_st_find(st, "bert.embeddings.word_embeddings.weight"))
        ld.prefix = "bert.";
    char full[256];

    /* Which optional parts exist, and can word embeddings stay in the mmap? */
    layout lo = {0};
    const sem_st_tensor *wt = find_tensor(&ld, "embeddings.word_embeddings.weight", 1, full, sizeof full);
    if (!wt)
        return sem_error_set(err, SEM_ENOTFOUND, "%s: missing tensor embeddings.word_embeddings.weight", path);
    lo.copy_word = !(wt->dtype == SEM_DT_F32 && ((uintptr_t)(st->data + wt->begin) & 3u) == 0);
    lo.has_pooler = find_tensor(&ld, "pooler.dense.weight", 1, full, sizeof full) != NULL;
    lo.has_mlm = sem_st_find(st, "cls.predictions.transform.dense.weight") != NULL;
    lo.copy_dec = lo.has_mlm && sem_st_find(st, "cls.predictions.decoder.weight") != NULL;
    int rc = alloc_arena(m, &lo, err);
    if (rc)
        return rc;

    if (!lo.copy_word) {
        char got[128], exp[64];
        int64_t want[2] = {V, H};
        if (wt->ndim != 2 || wt->shape[0] != V || wt->shape[1] != H) {
            shape_str(wt->shape, wt->ndim, got, sizeof got);
            shape_str(want, 2, exp, sizeof exp);
            return sem_error_set(err, SEM_EMISMATCH, "%s: tensor %s has shape %s, config.json implies %s", path,
                                 wt->name, got, exp);
        }
        const float *w = (const float *)(const void *)(st->data + wt->begin);
        for (size_t i = 0; i < (size_t)(V * H); i++)
            if (!isfinite(w[i]))
                return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: element %zu is not finite", path, wt->name,
                                     i);
        m->word_emb = w;
    } else if ((rc = load(&ld, "embeddings.word_embeddings.weight", 1, V, H, (float *)m->word_emb, 0, 0, 0))) {
        return rc;
    }
    if ((rc = load(&ld, "embeddings.position_embeddings.weight", 1, c->max_pos, H, m->pos_emb, 0, 0, 0)) ||
        (rc = load(&ld, "embeddings.token_type_embeddings.weight", 1, c->type_vocab, H, m->type_emb, 0, 0, 0)) ||
        (rc = load(&ld, "embeddings.LayerNorm.weight", 1, H, -1, m->emb_ln_g, 0, 0, 0)) ||
        (rc = load(&ld, "embeddings.LayerNorm.bias", 1, H, -1, m->emb_ln_b, 0, 0, 0)))
        return rc;
    for (int l = 0; l < c->n_layers; l++) {
        sem_layer *L = &m->layers[l];
        char n[24][128];
        static const char *const parts[] = {
            "attention.self.query.weight",   "attention.self.key.weight",     "attention.self.value.weight",
            "attention.self.query.bias",     "attention.self.key.bias",       "attention.self.value.bias",
            "attention.output.dense.weight", "attention.output.dense.bias",   "attention.output.LayerNorm.weight",
            "attention.output.LayerNorm.bias", "intermediate.dense.weight",   "intermediate.dense.bias",
            "output.dense.weight",           "output.dense.bias",             "output.LayerNorm.weight",
            "output.LayerNorm.bias"};
        for (int i = 0; i < 16; i++)
            snprintf(n[i], sizeof n[i], "encoder.layer.%d.%s", l, parts[i]);
        const size_t H3 = 3 * (size_t)H;
        if ((rc = load(&ld, n[0], 1, H, H, L->wqkv, 1, H3, 0)) ||
            (rc = load(&ld, n[1], 1, H, H, L->wqkv, 1, H3, (size_t)H)) ||
            (rc = load(&ld, n[2], 1, H, H, L->wqkv, 1, H3, 2 * (size_t)H)) ||
            (rc = load(&ld, n[3], 1, H, -1, L->bqkv, 0, 0, 0)) ||
            (rc = load(&ld, n[4], 1, H, -1, L->bqkv + H, 0, 0, 0)) ||
            (rc = load(&ld, n[5], 1, H, -1, L->bqkv + 2 * H, 0, 0, 0)) ||
            (rc = load(&ld, n[6], 1, H, H, L->wo, 1, (size_t)H, 0)) ||
            (rc = load(&ld, n[7], 1, H, -1, L->bo, 0, 0, 0)) ||
            (rc = load(&ld, n[8], 1, H, -1, L->ln1_g, 0, 0, 0)) ||
            (rc = load(&ld, n[9], 1, H, -1, L->ln1_b, 0, 0, 0)) ||
            (rc = load(&ld, n[10], 1, F, H, L->wi, 1, (size_t)F, 0)) ||
            (rc = load(&ld, n[11], 1, F, -1, L->bi, 0, 0, 0)) ||
            (rc = load(&ld, n[12], 1, H, F, L->wo2, 1, (size_t)H, 0)) ||
            (rc = load(&ld, n[13], 1, H, -1, L->bo2, 0, 0, 0)) ||
            (rc = load(&ld, n[14], 1, H, -1, L->ln2_g, 0, 0, 0)) ||
            (rc = load(&ld, n[15], 1, H, -1, L->ln2_b, 0, 0, 0)))
            return rc;
    }
    char extra[128];
    snprintf(extra, sizeof extra, "encoder.layer.%d.attention.self.query.weight", c->n_layers);
    if (find_tensor(&ld, extra, 1, full, sizeof full))
        return sem_error_set(err, SEM_EMISMATCH, "%s: has tensor %s but config.json says num_hidden_layers %d", path,
                             full, c->n_layers);
    if (lo.has_pooler && ((rc = load(&ld, "pooler.dense.weight", 1, H, H, m->pool_w, 1, (size_t)H, 0)) ||
                          (rc = load(&ld, "pooler.dense.bias", 1, H, -1, m->pool_b, 0, 0, 0))))
        return rc;
    if (lo.has_mlm) {
        if ((rc = load(&ld, "cls.predictions.transform.dense.weight", 0, H, H, m->mlm_w, 1, (size_t)H, 0)) ||
            (rc = load(&ld, "cls.predictions.transform.dense.bias", 0, H, -1, m->mlm_b, 0, 0, 0)) ||
            (rc = load(&ld, "cls.predictions.transform.LayerNorm.weight", 0, H, -1, m->mlm_ln_g, 0, 0, 0)) ||
            (rc = load(&ld, "cls.predictions.transform.LayerNorm.bias", 0, H, -1, m->mlm_ln_b, 0, 0, 0)))
            return rc;
        const char *bias = sem_st_find(st, "cls.predictions.bias") ? "cls.predictions.bias"
                                                                   : "cls.predictions.decoder.bias";
        if ((rc = load(&ld, bias, 0, V, -1, m->mlm_bias, 0, 0, 0)))
            return rc;
        if (lo.copy_dec) {
            if ((rc = load(&ld, "cls.predictions.decoder.weight", 0, V, H, (float *)m->mlm_dec, 0, 0, 0)))
                return rc;
        } else {
            m->mlm_dec = m->word_emb; /* tied to the input embeddings, as HF does when the decoder is absent */
        }
        m->has_mlm = 1;
    }
    if (!lo.copy_word)
        m->st = (sem_st *)st; /* word_emb points into the mmap: the model keeps it */
    return SEM_OK;
}

/* ---- identity ---- */

static void hash_part(EVP_MD_CTX *h, const char *label, const void *data, size_t len)
{
    char head[96];
    int n = snprintf(head, sizeof head, "%s %zu\n", label, len);
    EVP_DigestUpdate(h, head, (size_t)n);
    EVP_DigestUpdate(h, data, len);
}

static int compute_hash(sem_model *m, const char *config, size_t config_len, const char *vocab, size_t vocab_len,
                        sem_error *err)
{
    char canon[256];
    const sem_model_config *c = &m->mc;
    int n = snprintf(canon, sizeof canon, "pooling=%s normalize=%d max_tokens=%d lower=%d strip_accents=%d "
                     "chinese=%d", sem_pooling_name(c->pooling), c->normalize, c->max_tokens, c->tok.do_lower_case,
                     c->tok.strip_accents, c->tok.tokenize_chinese_chars);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    if (!h || !EVP_DigestInit_ex(h, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(h);
        return sem_error_set(err, SEM_EINTERNAL, "sha256 unavailable");
    }
    EVP_DigestUpdate(h, "semsearch-model-v1\n", 19);
    hash_part(h, "config.json", config, config_len);
    hash_part(h, "vocab.txt", vocab, vocab_len);
    hash_part(h, "pooling", canon, (size_t)n);
    EVP_DigestFinal_ex(h, md, &md_len);
    EVP_MD_CTX_free(h);
    for (unsigned i = 0; i < md_len && i < 32; i++)
        snprintf(m->hash + 2 * i, 3, "%02x", md[i]);
    return SEM_OK;
}

static char *base_name(const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    size_t n = len - start;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, dir + start, n);
        s[n] = '\0';
    }
    return s;
}

sem_model *sem_model_load(const char *dir, const sem_model_params *params, sem_error *err)
{
    if (!dir || !*dir) {
        sem_error_set(err, SEM_EINVAL, "no model folder given");
        return NULL;
    }
    sem_model_params p = params ? *params : sem_model_default_params();
    sem_model *m = calloc(1, sizeof *m);
    char *config = NULL, *vocab = NULL, path[4096];
    size_t config_len = 0, vocab_len = 0;
    sem_st *st = NULL;
    if (!m) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    if (sem_model_config_load(dir, &m->mc, &config, &config_len, err))
        goto fail;
    m->cfg = m->mc.bert;
    m->n_threads = p.n_threads > 0 ? p.n_threads : sem_default_threads();

    if (snprintf(path, sizeof path, "%s/vocab.txt", dir) >= (int)sizeof path) {
        sem_error_set(err, SEM_EINVAL, "model path too long");
        goto fail;
    }
    if (sem_read_file(path, VOCAB_MAX_BYTES, &vocab, &vocab_len, err))
        goto fail;
    m->tok = sem_tokenizer_from_buffer(vocab, vocab_len, &m->mc.tok, err);
    if (!m->tok) {
        sem_error_prefix(err, "%s", path);
        goto fail;
    }
    int nv = sem_tokenizer_vocab_size(m->tok);
    if (nv > m->cfg.vocab) {
        sem_error_set(err, SEM_EMISMATCH, "%s has %d tokens but config.json vocab_size is %d", path, nv,
                      m->cfg.vocab);
        goto fail;
    }
    if (sem_tokenizer_cls_id(m->tok) < 0 || sem_tokenizer_sep_id(m->tok) < 0 || sem_tokenizer_unk_id(m->tok) < 0) {
        sem_error_set(err, SEM_EFORMAT, "%s lacks [CLS], [SEP] or [UNK]", path);
        goto fail;
    }

    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!(st = sem_st_open(path, err))) {
        if (err && err->code == SEM_ENOTFOUND)
            sem_error_set(err, SEM_ENOTFOUND, "%s: missing (only safetensors weights are supported)", path);
        goto fail;
    }
    if (load_weights(m, st, path, err))
        goto fail;
    if (!m->st)
        sem_st_close(st); /* every weight was copied into the arena */
    st = NULL;
    if (compute_hash(m, config, config_len, vocab, vocab_len, err) ||
        sem_model_set_precision(m, p.precision, SEM_QK_NONE, err))
        goto fail;
    if (!(m->name = base_name(dir))) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    free(config);
    free(vocab);
    return m;
fail:
    if (st && m->st != st)
        sem_st_close(st);
    free(config);
    free(vocab);
    sem_model_free(m);
    return NULL;
}

sem_tokenizer *sem_model_load_tokenizer(const char *dir, int *max_tokens, sem_error *err)
{
    sem_model_config mc;
    char *config = NULL, *vocab = NULL, path[4096];
    size_t config_len = 0, vocab_len = 0;
    sem_tokenizer *tok = NULL;
    if (!dir || !*dir) {
        sem_error_set(err, SEM_EINVAL, "no model folder given");
        return NULL;
    }
    if (sem_model_config_load(dir, &mc, &config, &config_len, err))
        return NULL;
    if (snprintf(path, sizeof path, "%s/vocab.txt", dir) >= (int)sizeof path)
        sem_error_set(err, SEM_EINVAL, "model path too long");
    else if (sem_read_file(path, VOCAB_MAX_BYTES, &vocab, &vocab_len, err) == SEM_OK) {
        tok = sem_tokenizer_from_buffer(vocab, vocab_len, &mc.tok, err);
        if (!tok)
            sem_error_prefix(err, "%s", path);
        else if (sem_tokenizer_vocab_size(tok) > mc.bert.vocab) {
            sem_error_set(err, SEM_EMISMATCH, "%s has %d tokens but config.json vocab_size is %d", path,
                          sem_tokenizer_vocab_size(tok), mc.bert.vocab);
            sem_tokenizer_free(tok);
            tok = NULL;
        }
    }
    if (tok && max_tokens)
        *max_tokens = mc.max_tokens;
    free(config);
    free(vocab);
    sem_model_config_free(&mc);
    return tok;
}

void sem_model_free(sem_model *m)
{
    if (!m)
        return;
    sem_model_free_precision(m);
    sem_tokenizer_free(m->tok);
    sem_model_config_free(&m->mc);
    free(m->name);
    free(m->layers);
    free(m->arena);
    sem_st_close(m->st);
    free(m);
}

/* ---- random weights ---- */

static void fill(float *p, size_t n, float center, float scale, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        p[i] = center + scale * ((float)(sem_rng_next(s) >> 40) / (float)(1u << 24) * 2.0f - 1.0f);
}

sem_model *sem_model_new_random(const sem_bert_config *cfg, uint64_t seed, sem_pooling pooling, int normalize,
                                int n_threads, sem_error *err)
{
    sem_model *m = calloc(1, sizeof *m);
    if (!m) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    m->mc.bert = *cfg;
    m->mc.tok = sem_tokenizer_default_config();
    m->mc.pooling = pooling == SEM_POOL_AUTO ? SEM_POOL_MEAN : pooling;
    m->mc.normalize = normalize;
    m->mc.max_tokens = cfg->max_pos;
    m->n_threads = n_threads > 0 ? n_threads : sem_default_threads();
    if (sem_bert_config_check(cfg, "random model", err))
        goto fail;
    if (!(m->mc.query_prefix = strdup("")) || !(m->name = strdup("random"))) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    layout lo = {.copy_word = 1, .has_pooler = 1};
    if (alloc_arena(m, &lo, err))
        goto fail;
    uint64_t s = seed;
    const float w = 0.5f / sqrtf((float)cfg->hidden);
    fill(m->arena, m->arena_len, 0.0f, w, &s);
    fill(m->emb_ln_g, (size_t)cfg->hidden, 1.0f, 0.1f, &s);
    for (int l = 0; l < cfg->n_layers; l++) {
        fill(m->layers[l].ln1_g, (size_t)cfg->hidden, 1.0f, 0.1f, &s);
        fill(m->layers[l].ln2_g, (size_t)cfg->hidden, 1.0f, 0.1f, &s);
    }
    fill((float *)m->word_emb, (size_t)cfg->vocab * (size_t)cfg->hidden, 0.0f, 0.5f, &s);
    snprintf(m->hash, sizeof m->hash, "%016llx", (unsigned long long)seed);
    return m;
fail:
    sem_model_free(m);
    return NULL;
}

/* ---- getters ---- */

void sem_model_get_info(const sem_model *m, sem_model_info *out)
{
    out->name = m->name;
    out->config_hash = m->hash;
    out->dim = m->cfg.hidden;
    out->pooling = m->mc.pooling;
    out->normalize = m->mc.normalize;
    out->max_tokens = m->mc.max_tokens;
    out->has_mlm_head = m->has_mlm;
    out->query_prefix = m->mc.query_prefix ? m->mc.query_prefix : "";
    out->precision_requested = m->precision_req;
    out->precision = m->precision;
}

int sem_model_dim(const sem_model *m) { return m->cfg.hidden; }
int sem_model_hidden_size(const sem_model *m) { return m->cfg.hidden; }
int sem_model_n_layers(const sem_model *m) { return m->cfg.n_layers; }
int sem_model_vocab_size(const sem_model *m) { return m->cfg.vocab; }
int sem_model_max_positions(const sem_model *m) { return m->cfg.max_pos; }
const struct sem_tokenizer *sem_model_tokenizer(const sem_model *m) { return m->tok; }

int sem_model_count_tokens(const sem_model *m, const char *text, ptrdiff_t len)
{
    if (!m->tok)
        return SEM_EINVAL;
    return sem_tokenizer_count(m->tok, text, len);
}
