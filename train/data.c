/* train/data.c: tokenized training data, epoch orders and batches. See train/data.h. */
#include "train/data.h"

#include "common/fileio.h"
#include "common/hash.h"
#include "common/linereader.h"
#include "common/log.h"
#include "encoder/tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sem_tdata *sem_tdata_new(sem_tdata_kind kind, const sem_tspecial *sp, sem_error *err)
{
    if (sp->vocab_size < 1 || sp->cls < 0 || sp->sep < 0 || sp->pad < 0 || sp->cls >= sp->vocab_size ||
        sp->sep >= sp->vocab_size || sp->pad >= sp->vocab_size || (kind == SEM_TDATA_MLM && sp->mask < 0) ||
        sp->mask >= sp->vocab_size) {
        sem_error_set(err, SEM_EINVAL, "the vocabulary lacks [CLS], [SEP], [PAD] or [MASK]");
        return NULL;
    }
    sem_tdata *d = calloc(1, sizeof *d);
    if (d)
        d->off = calloc(1, sizeof(size_t));
    if (!d || !d->off) {
        free(d);
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    d->kind = kind;
    d->off_cap = 1;
    d->sp = *sp;
    return d;
}

void sem_tdata_free(sem_tdata *d)
{
    if (!d)
        return;
    free(d->tok);
    free(d->off);
    free(d->ex);
    free(d);
}

static int grow_tok(sem_tdata *d, size_t extra, sem_error *err)
{
    size_t need = d->n_tok + extra;
    if (need < d->n_tok || need > ((size_t)1 << 34))
        return sem_error_set(err, SEM_ENOMEM, "training data too large");
    if (need <= d->tok_cap)
        return SEM_OK;
    size_t cap = d->tok_cap ? d->tok_cap : 1024;
    while (cap < need)
        cap <<= 1;
    int32_t *t = realloc(d->tok, cap * sizeof(int32_t));
    if (!t)
        return sem_error_set(err, SEM_ENOMEM, "out of memory for %zu tokens", need);
    d->tok = t;
    d->tok_cap = cap;
    return SEM_OK;
}

static int append_seq(sem_tdata *d, const int32_t *ids, size_t n, sem_error *err);

/* Pairs with negatives: the example that ends at n_seq is complete; the next one starts there. */
static int push_example(sem_tdata *d, sem_error *err)
{
    if (d->n_ex_built + 2 > d->ex_cap) {
        size_t cap = 2 * d->ex_cap;
        size_t *e = realloc(d->ex, cap * sizeof(size_t));
        if (!e)
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        d->ex = e;
        d->ex_cap = cap;
    }
    d->ex[++d->n_ex_built] = d->n_seq;
    return SEM_OK;
}

static int check_ids(const sem_tdata *d, const int32_t *ids, size_t n, sem_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= d->sp.vocab_size)
            return sem_error_set(err, SEM_EINVAL, "token id %d outside the vocabulary", (int)ids[i]);
    return SEM_OK;
}

int sem_tdata_add_ids(sem_tdata *d, const int32_t *ids, size_t n, sem_error *err)
{
    if (check_ids(d, ids, n, err) != SEM_OK)
        return SEM_EINVAL;
    if (d->kind == SEM_TDATA_MLM) {
        if (n == 0)
            return SEM_OK;
        if (grow_tok(d, n + 1, err) != SEM_OK)
            return err ? err->code : SEM_ENOMEM;
        if (d->n_tok > 0)
            d->tok[d->n_tok++] = d->sp.sep; /* paragraph separator */
        memcpy(d->tok + d->n_tok, ids, n * sizeof(int32_t));
        d->n_tok += n;
        return SEM_OK;
    }
    int rc = append_seq(d, ids, n, err);
    if (rc == SEM_OK && d->ex && d->n_seq - d->ex[d->n_ex_built] == 2) /* a pair completed after the first negative */
        rc = push_example(d, err);
    return rc;
}

/* Appends one sequence of checked ids (pairs, SimCSE). */
static int append_seq(sem_tdata *d, const int32_t *ids, size_t n, sem_error *err)
{
    if (grow_tok(d, n, err) != SEM_OK)
        return err ? err->code : SEM_ENOMEM;
    if (d->n_seq + 2 > d->off_cap) {
        size_t cap = d->off_cap ? 2 * d->off_cap : 1024;
        size_t *o = realloc(d->off, cap * sizeof(size_t));
        if (!o)
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        d->off = o;
        d->off_cap = cap;
    }
    memcpy(d->tok + d->n_tok, ids, n * sizeof(int32_t));
    d->n_tok += n;
    d->n_seq++;
    d->off[d->n_seq] = d->n_tok;
    return SEM_OK;
}

int sem_tdata_add_negative(sem_tdata *d, const int32_t *ids, size_t n, sem_error *err)
{
    if (d->kind != SEM_TDATA_PAIRS || n == 0)
        return sem_error_set(err, SEM_EINVAL, "a hard negative needs pairs data and at least one token");
    if (check_ids(d, ids, n, err) != SEM_OK)
        return SEM_EINVAL;
    size_t k = d->ex ? d->n_ex_built : d->n_seq / 2;
    int complete = d->ex ? k > 0 && d->ex[k] == d->n_seq && d->ex[k] - d->ex[k - 1] == 2
                         : d->n_seq > 0 && d->n_seq % 2 == 0;
    if (!complete)
        return sem_error_set(err, SEM_EINVAL, "a hard negative must follow a complete pair without one");
    if (!d->ex) { /* the first negative: from now on examples are listed explicitly */
        d->ex_cap = k + 1024;
        if (!(d->ex = malloc(d->ex_cap * sizeof(size_t))))
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        for (size_t i = 0; i <= k; i++)
            d->ex[i] = 2 * i;
        d->n_ex_built = k;
    }
    int rc = append_seq(d, ids, n, err);
    if (rc != SEM_OK)
        return rc;
    d->ex[d->n_ex_built] = d->n_seq; /* the negative extends the last example */
    d->n_neg++;
    return SEM_OK;
}

/* Splits a pairs line "a<TAB>b" or "a<TAB>b<TAB>negative" (an empty third column = none). Returns -1 for a line
 * without a tab, with an empty a or b, or with more than three columns. */
static int split_pair(const char *line, size_t len, size_t *la, const char **b, size_t *lb, const char **c,
                      size_t *lc)
{
    const char *tab = memchr(line, '\t', len), *end = line + len;
    if (!tab || tab == line || tab + 1 == end)
        return -1;
    *la = (size_t)(tab - line);
    *b = tab + 1;
    const char *tab2 = memchr(*b, '\t', (size_t)(end - *b));
    *lb = (size_t)((tab2 ? tab2 : end) - *b);
    *c = NULL;
    *lc = 0;
    if (*lb == 0)
        return -1;
    if (tab2 && tab2 + 1 < end) {
        if (memchr(tab2 + 1, '\t', (size_t)(end - tab2 - 1)))
            return -1;
        *c = tab2 + 1;
        *lc = (size_t)(end - *c);
    }
    return 0;
}

int sem_tdata_add_files(sem_tdata *d, const char *vocab_path, int do_lower_case, char *const *files, int n_files,
                        sem_error *err)
{
    sem_tokenizer_config tc = sem_tokenizer_default_config();
    tc.do_lower_case = do_lower_case;
    sem_tokenizer *tk = sem_tokenizer_load(vocab_path, &tc, err);
    if (!tk)
        return err ? err->code : SEM_EINVAL;
    int rc = SEM_OK;
    int32_t *ids = NULL, *ids_b = NULL, *ids_c = NULL;
    sem_linereader lr = {0};
    for (int f = 0; f < n_files && rc == SEM_OK; f++) {
        FILE *fp = fopen(files[f], "rb");
        if (!fp) {
            rc = sem_error_set(err, SEM_EIO, "%s: %s", files[f], strerror(errno));
            break;
        }
        sem_linereader_init(&lr, fp, SEM_LINEREADER_DEFAULT_MAX);
        int got;
        sem_error le;
        while (rc == SEM_OK && (got = sem_linereader_next(&lr, &le)) != 0) {
            if (got == SEM_ERANGE) { /* a line too long to be a training example: skipped like other bad lines */
                sem_log(SEM_LOG_WARN, "%s: %s: skipped", files[f], le.msg);
                d->skipped++;
                continue;
            }
            if (got < 0) { /* a read error or no memory: never the end of the file */
                rc = sem_error_set(err, got, "%s: %s", files[f], le.msg);
                break;
            }
            char *line = lr.line;
            size_t len = lr.len;
            while (len > 0 && line[len - 1] == '\r')
                line[--len] = 0;
            if (len == 0)
                continue;
            if (!sem_utf8_valid(line, len, NULL) || memchr(line, 0, len)) {
                d->skipped++;
                continue;
            }
            const char *a = line, *b = NULL, *c = NULL;
            size_t la = len, lb = 0, lc = 0;
            if (d->kind == SEM_TDATA_PAIRS && split_pair(line, len, &la, &b, &lb, &c, &lc) != 0) {
                d->skipped++;
                continue;
            }
            int na = 0, nb = 0, nc = 0;
            sem_error terr;
            if (sem_tokenize_ids(tk, a, (ptrdiff_t)la, &ids, &na, &terr) != SEM_OK ||
                (b && sem_tokenize_ids(tk, b, (ptrdiff_t)lb, &ids_b, &nb, &terr) != SEM_OK) ||
                (c && sem_tokenize_ids(tk, c, (ptrdiff_t)lc, &ids_c, &nc, &terr) != SEM_OK)) {
                d->skipped++;
            } else if (na == 0 || (b && nb == 0) || (c && nc == 0)) {
                d->skipped++;
            } else {
                rc = sem_tdata_add_ids(d, ids, (size_t)na, err);
                if (rc == SEM_OK && b)
                    rc = sem_tdata_add_ids(d, ids_b, (size_t)nb, err);
                if (rc == SEM_OK && c)
                    rc = sem_tdata_add_negative(d, ids_c, (size_t)nc, err);
            }
            free(ids);
            free(ids_b);
            free(ids_c);
            ids = ids_b = ids_c = NULL;
        }
        sem_linereader_free(&lr);
        fclose(fp);
    }
    sem_tokenizer_free(tk);
    return rc;
}

int sem_tdata_finish(sem_tdata *d, int seq, sem_error *err)
{
    if (seq < 4)
        return sem_error_set(err, SEM_EINVAL, "sequence length %d too short (at least 4)", seq);
    d->seq_len = seq;
    if (d->kind == SEM_TDATA_MLM) {
        size_t chunk = (size_t)seq - 2;
        d->n_ex = (d->n_tok + chunk - 1) / chunk;
    } else if (d->kind == SEM_TDATA_PAIRS) {
        d->n_ex = d->ex ? d->n_ex_built : d->n_seq / 2;
    } else {
        d->n_ex = d->n_seq;
    }
    if (d->n_ex == 0)
        return sem_error_set(err, SEM_EINVAL, "no training examples (empty corpus?)");
    if (d->n_ex > 0xFFFFFFF0u)
        return sem_error_set(err, SEM_ERANGE, "too many training examples (%zu)", d->n_ex);
    uint64_t h = SEM_FNV1A64_INIT;
    int k = (int)d->kind;
    h = sem_fnv1a64(h, &k, sizeof k);
    h = sem_fnv1a64(h, &seq, sizeof seq);
    h = sem_fnv1a64(h, d->tok, d->n_tok * sizeof(int32_t));
    h = sem_fnv1a64(h, d->off, (d->n_seq + 1) * sizeof(size_t));
    if (d->ex) /* only data with hard negatives: pairs alone keep the hash they always had */
        h = sem_fnv1a64(h, d->ex, (d->n_ex + 1) * sizeof(size_t));
    d->hash = h;
    return SEM_OK;
}

int sem_tdata_max_pred(int T, double mask_prob)
{
    int m = (int)((T - 2) * mask_prob + 0.999) + 2;
    return m < 1 ? 1 : m > T ? T : m;
}

int sem_tdata_rows(const sem_tdata *d, int B)
{
    return d->kind == SEM_TDATA_MLM ? B : d->ex ? 3 * B : 2 * B;
}

int sem_tbatch_buf_init(sem_tbatch_buf *bb, const sem_tdata *d, int B, int T, int max_pred, sem_error *err)
{
    memset(bb, 0, sizeof *bb);
    int rows = sem_tdata_rows(d, B);
    bb->cap_B = rows;
    bb->cap_T = T;
    bb->cap_pred = B * max_pred;
    size_t n = (size_t)rows * T;
    bb->ids = malloc(n * sizeof(int32_t));
    bb->types = calloc(n, sizeof(int32_t));
    bb->mask = malloc(n * sizeof(int32_t));
    bb->pred_pos = malloc(((size_t)bb->cap_pred + 1) * sizeof(int32_t));
    bb->pred_label = malloc(((size_t)bb->cap_pred + 1) * sizeof(int32_t));
    bb->perm = malloc(d->n_ex * sizeof(uint32_t));
    bb->perm_epoch = -1;
    if (!bb->ids || !bb->types || !bb->mask || !bb->pred_pos || !bb->pred_label || !bb->perm) {
        sem_tbatch_buf_free(bb);
        return sem_error_set(err, SEM_ENOMEM, "out of memory for batches");
    }
    return SEM_OK;
}

void sem_tbatch_buf_free(sem_tbatch_buf *bb)
{
    free(bb->ids);
    free(bb->types);
    free(bb->mask);
    free(bb->pred_pos);
    free(bb->pred_label);
    free(bb->perm);
    memset(bb, 0, sizeof *bb);
}

/* The example at data position pos: a seeded Fisher-Yates order per epoch. */
static size_t example_at(const sem_tdata *d, sem_tbatch_buf *bb, long pos, uint64_t seed)
{
    long epoch = pos / (long)d->n_ex;
    if (epoch != bb->perm_epoch) {
        for (size_t i = 0; i < d->n_ex; i++)
            bb->perm[i] = (uint32_t)i;
        uint64_t st = sem_hash64(seed ^ 0xE90C5EEDULL) + (uint64_t)epoch * SEM_SPLITMIX64_GAMMA;
        for (size_t i = d->n_ex - 1; i > 0; i--) {
            size_t j = (size_t)(sem_rng_next(&st) % (i + 1));
            uint32_t t = bb->perm[i];
            bb->perm[i] = bb->perm[j];
            bb->perm[j] = t;
        }
        bb->perm_epoch = epoch;
    }
    return bb->perm[pos % (long)d->n_ex];
}

static int is_special(const sem_tspecial *sp, int32_t id)
{
    return id == sp->cls || id == sp->sep || id == sp->pad || id == sp->mask || id == sp->unk;
}

long sem_tdata_batch(const sem_tdata *d, sem_tbatch_buf *bb, long pos, int B, int T, double mask_prob,
                     uint64_t seed, sem_tbatch *b)
{
    const sem_tspecial *sp = &d->sp;
    long real = 0;
    memset(b, 0, sizeof *b);
    if (d->kind == SEM_TDATA_MLM) {
        size_t chunk = (size_t)T - 2;
        int max_pred = bb->cap_pred / (B > 0 ? B : 1), n_pred = 0;
        for (int i = 0; i < B; i++) {
            size_t ex = example_at(d, bb, pos + i, seed);
            size_t s = ex * chunk, e = s + chunk < d->n_tok ? s + chunk : d->n_tok;
            int32_t *ids = bb->ids + (size_t)i * T, *mk = bb->mask + (size_t)i * T;
            int n = (int)(e - s);
            ids[0] = sp->cls;
            memcpy(ids + 1, d->tok + s, (size_t)n * sizeof(int32_t));
            ids[n + 1] = sp->sep;
            for (int t = 0; t < T; t++) {
                if (t >= n + 2)
                    ids[t] = sp->pad;
                mk[t] = t < n + 2;
            }
            real += n + 2;
            /* masking: a pure function of (seed, example number) */
            uint64_t st = sem_hash64(seed ^ 0x3A5C0DEULL) ^ sem_hash64((uint64_t)(pos + i));
            int first = n_pred, cand = 0;
            for (int t = 1; t <= n; t++) {
                if (is_special(sp, ids[t]))
                    continue;
                cand++;
                if (sem_rng_uniform(&st) < mask_prob && n_pred - first < max_pred) {
                    bb->pred_pos[n_pred] = i * T + t;
                    bb->pred_label[n_pred++] = ids[t];
                }
            }
            if (n_pred == first && cand > 0) { /* every sequence predicts at least one token */
                int pick = (int)(sem_rng_next(&st) % (uint64_t)cand);
                for (int t = 1; t <= n; t++) {
                    if (is_special(sp, ids[t]))
                        continue;
                    if (pick-- == 0) {
                        bb->pred_pos[n_pred] = i * T + t;
                        bb->pred_label[n_pred++] = ids[t];
                        break;
                    }
                }
            }
            for (int k = first; k < n_pred; k++) {
                int t = bb->pred_pos[k] - i * T;
                double r = sem_rng_uniform(&st);
                if (r < 0.8) {
                    ids[t] = sp->mask;
                } else if (r < 0.9) {
                    int32_t id = ids[t];
                    for (int tries = 0; tries < 8; tries++) {
                        id = (int32_t)(sem_rng_next(&st) % (uint64_t)sp->vocab_size);
                        if (!is_special(sp, id))
                            break;
                    }
                    ids[t] = is_special(sp, id) ? sp->mask : id;
                }
            }
        }
        b->B = B;
        b->T = T;
        b->n_pred = n_pred;
        b->pred_pos = bb->pred_pos;
        b->pred_label = bb->pred_label;
    } else {
        int Tb = 2, cap = T - 2;
        size_t seqs[3 * 4096];
        int nB = B > 4096 ? 4096 : B, rows = 2 * nB;
        for (int i = 0; i < nB; i++) {
            size_t ex = example_at(d, bb, pos + i, seed);
            size_t first = d->kind != SEM_TDATA_PAIRS ? ex : d->ex ? d->ex[ex] : 2 * ex;
            seqs[i] = first;
            seqs[nB + i] = d->kind == SEM_TDATA_PAIRS ? first + 1 : ex;
        }
        for (int i = 0; i < nB && d->ex; i++) { /* hard negatives after all positives */
            size_t ex = example_at(d, bb, pos + i, seed);
            if (d->ex[ex + 1] - d->ex[ex] == 3)
                seqs[rows++] = d->ex[ex] + 2;
        }
        for (int r = 0; r < rows; r++) {
            size_t n = d->off[seqs[r] + 1] - d->off[seqs[r]];
            int len = (int)(n < (size_t)cap ? n : (size_t)cap) + 2;
            if (len > Tb)
                Tb = len;
        }
        for (int r = 0; r < rows; r++) {
            size_t s = d->off[seqs[r]], n = d->off[seqs[r] + 1] - s;
            int len = (int)(n < (size_t)cap ? n : (size_t)cap);
            int32_t *ids = bb->ids + (size_t)r * Tb, *mk = bb->mask + (size_t)r * Tb;
            ids[0] = sp->cls;
            memcpy(ids + 1, d->tok + s, (size_t)len * sizeof(int32_t));
            ids[len + 1] = sp->sep;
            for (int t = 0; t < Tb; t++) {
                if (t >= len + 2)
                    ids[t] = sp->pad;
                mk[t] = t < len + 2;
            }
            real += len + 2;
        }
        b->B = rows;
        b->T = Tb;
        b->n_anchors = nB;
    }
    b->ids = bb->ids;
    b->types = bb->types;
    b->mask = bb->mask;
    return real;
}
