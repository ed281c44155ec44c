/* encoder/tokenizer.c: BERT WordPiece tokenization, identical to HuggingFace transformers 4.36 BertTokenizer
 * (the slow Python reference). See tokenizer.h for the contract and docs/tokenizer.md for the details.
 *
 * What HF does, in order (PreTrainedTokenizer.tokenize -> BertTokenizer._tokenize -> BasicTokenizer ->
 * WordpieceTokenizer), and where it happens here:
 *   1. do_lower_case: every character outside the special tokens is lowercased on its own with Python's
 *      str.lower() (a regex with one character per match), so there is no final-sigma rule and U+0130 becomes
 *      "i" + U+0307.                                                              -> lower_cp()
 *   2. The special tokens ([CLS] [SEP] [PAD] [UNK] [MASK]) are cut out of the text wherever they occur, even
 *      inside a word ("x[MASK]y" -> x [MASK] y); they map straight to their ids.  -> run_text()
 *   3. Each remaining piece: _clean_text (drop NUL, U+FFFD and every C* category except \t\n\r; \t\n\r and Zs to
 *      a space), _tokenize_chinese_chars (spaces around HF's CJK ranges), NFC, split as Python's str.split().
 *                                                                                 -> run_text(), classify_cp()
 *   4. Per whitespace word: if it equals a special token it is kept whole; else lowercase again (a no-op after
 *      step 1) and, when accents are stripped, NFD and drop Mn; then split on punctuation (P* and the ASCII
 *      symbol ranges).                                                             -> word_done()
 *   5. WordPiece: words over 100 code points -> [UNK]; greedy longest match with "##" continuations; a word
 *      with an unmatched rest -> one [UNK].                                        -> wordpiece()
 * Truncation and sentence pairs follow PreTrainedTokenizerBase.truncate_sequences ('longest_first').
 *
 * Performance: one pass over the text, words are normalized in small per-call buffers (on the stack unless a
 * word is long), ASCII takes a table-driven fast path, utf8proc is called only for non-ASCII words, and
 * WordPiece looks substrings up in open-addressing hash tables without copying them. Single texts stop as soon
 * as the truncation limit is reached. No global state: the tokenizer is immutable after load.
 */
#include "encoder/tokenizer.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "common/fileio.h"

#define MAX_INPUT_CHARS_PER_WORD 100 /* HF WordpieceTokenizer.max_input_chars_per_word */
#define VOCAB_MAX_BYTES ((size_t)1 << 30)

enum { SP_CLS, SP_SEP, SP_PAD, SP_UNK, SP_MASK, SP_COUNT };
static const char *const special_names[SP_COUNT] = {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"};
#define SPECIAL_MAX_LEN 6 /* strlen("[MASK]") */

/* ASCII character classes, computed at load from the same rules as the rest (see classify_cp). */
enum { AC_DROP = 1, AC_SPACE = 2, AC_PUNCT = 4 };

typedef struct {
    const char *key; /* the key bytes (inside the pool), so a probe touches one cache line */
    uint32_t hash;
    uint32_t len;
    int32_t id; /* -1 = empty */
} slot;

typedef struct {
    slot *slots;
    uint32_t mask;
    size_t max_key; /* longest key in bytes: no longer substring can match */
    int skip;       /* bytes of the token that are not part of the key (2 for "##" continuations) */
} table;

struct sem_tokenizer {
    sem_tokenizer_config cfg;
    int do_strip;           /* resolved strip_accents */
    char *pool;             /* the vocab text, every line NUL-terminated in place */
    const char **tok;       /* (n) token text, pointers into pool */
    uint32_t *tok_len;      /* (n) token length in bytes */
    int32_t n;              /* number of lines = ids 0..n-1 */
    table whole;            /* all tokens */
    table cont;             /* tokens that start with "##", keyed by the rest */
    int32_t special_id[SP_COUNT];
    uint8_t ascii_class[128];
};

/* ------------------------------------------------------------------------------------------------------------ */
/* Unicode classification (utf8proc data; the only literal ranges are the ones HF itself hard-codes)          */

/* HF BasicTokenizer._is_chinese_char: these exact ranges (HF leaves out Extension G and later). */
static int is_chinese(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* HF _is_punctuation: the ASCII symbol ranges 33-47, 58-64, 91-96, 123-126, or any P* category. */
static int is_punct(int32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return 1;
    utf8proc_category_t cat = utf8proc_category(c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

/* Python str.isspace() / str.split(): bidirectional class WS, B or S, or category Zs. */
static int is_py_space(int32_t c)
{
    const utf8proc_property_t *p = utf8proc_get_property(c);
    return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
           p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

enum { CP_KEEP, CP_DROP, CP_SPACE, CP_CJK };

/* What _clean_text, _tokenize_chinese_chars and str.split() make of one (already lowercased) code point. */
static int classify_cp(const sem_tokenizer *t, int32_t c)
{
    if (c < 128) {
        uint8_t a = t->ascii_class[c];
        return (a & AC_DROP) ? CP_DROP : (a & AC_SPACE) ? CP_SPACE : CP_KEEP;
    }
    if (c == 0xFFFD)
        return CP_DROP;
    utf8proc_category_t cat = utf8proc_category(c);
    if (cat == UTF8PROC_CATEGORY_ZS)
        return CP_SPACE; /* _is_whitespace */
    if (cat == UTF8PROC_CATEGORY_CN || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
        cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CO)
        return CP_DROP; /* _is_control: category starts with "C" */
    if (t->cfg.tokenize_chinese_chars && is_chinese(c))
        return CP_CJK;
    if (is_py_space(c))
        return CP_SPACE; /* survives _clean_text (U+2028, U+2029) but str.split() splits on it */
    return CP_KEEP;
}

static void init_ascii_class(sem_tokenizer *t)
{
    for (int32_t c = 0; c < 128; c++) {
        uint8_t a = 0;
        if (c == '\t' || c == '\n' || c == '\r' || c == ' ')
            a |= AC_SPACE;
        else if (c == 0 || utf8proc_category(c) == UTF8PROC_CATEGORY_CC)
            a |= AC_DROP;
        if (is_punct(c))
            a |= AC_PUNCT;
        t->ascii_class[c] = a;
    }
}

/* Python's str.lower() of one character: the simple lowercase mapping, except U+0130, the one character whose
 * unconditional full lowercase mapping (SpecialCasing.txt) differs from the simple one; utf8proc has only the
 * simple mappings. Writes 1 or 2 code points to out. */
static int lower_cp(int32_t c, int32_t out[2])
{
    if (c < 128) {
        out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        return 1;
    }
    if (c == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = utf8proc_tolower(c);
    return 1;
}

/* Decodes one code point from already validated UTF-8. */
static inline int32_t utf8_next(const unsigned char *s, size_t *i)
{
    unsigned c = s[*i];
    if (c < 0x80) {
        *i += 1;
        return (int32_t)c;
    }
    if (c < 0xE0) {
        int32_t r = (int32_t)(((c & 0x1F) << 6) | (s[*i + 1] & 0x3F));
        *i += 2;
        return r;
    }
    if (c < 0xF0) {
        int32_t r = (int32_t)(((c & 0x0F) << 12) | ((s[*i + 1] & 0x3F) << 6) | (s[*i + 2] & 0x3F));
        *i += 3;
        return r;
    }
    int32_t r = (int32_t)(((c & 0x07) << 18) | ((s[*i + 1] & 0x3F) << 12) | ((s[*i + 2] & 0x3F) << 6) |
                          (s[*i + 3] & 0x3F));
    *i += 4;
    return r;
}

static inline size_t utf8_put(int32_t c, char *o)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Vocabulary hash tables                                                                                      */

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

/* FNV-1a: byte at a time, so the hashes of all prefixes of a string come out of one pass (see wordpiece). */
static inline uint32_t hash_step(uint32_t h, unsigned char c) { return (h ^ c) * FNV_PRIME; }

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++)
        h = hash_step(h, (unsigned char)s[i]);
    return h;
}

static inline int key_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* The id of key[0..len) whose hash is h, or -1. */
static inline int32_t table_probe(const table *tb, uint32_t h, const char *key, size_t len)
{
    for (uint32_t i = h & tb->mask;; i = (i + 1) & tb->mask) {
        const slot *s = &tb->slots[i];
        if (s->id < 0)
            return -1;
        if (s->hash == h && s->len == len && key_eq(s->key, key, len))
            return s->id;
    }
}

static int32_t table_find(const table *tb, const char *key, size_t len)
{
    if (len > tb->max_key || !tb->slots)
        return -1;
    return table_probe(tb, hash_bytes(key, len), key, len);
}

/* Inserts id keyed by its token text minus tb->skip bytes; a duplicate key takes the later id, as HF's
 * vocab[token] = index does. */
static void table_put(sem_tokenizer *t, table *tb, int32_t id)
{
    const char *key = t->tok[id] + tb->skip;
    size_t len = t->tok_len[id] - (size_t)tb->skip;
    uint32_t h = hash_bytes(key, len);
    for (uint32_t i = h & tb->mask;; i = (i + 1) & tb->mask) {
        slot *s = &tb->slots[i];
        if (s->id < 0 || (s->hash == h && s->len == len && key_eq(s->key, key, len))) {
            s->key = key;
            s->hash = h;
            s->len = (uint32_t)len;
            s->id = id;
            break;
        }
    }
    if (len > tb->max_key)
        tb->max_key = len;
}

static int table_init(table *tb, size_t n_keys, int skip)
{
    size_t cap = 16;
    while (cap < n_keys * 2)
        cap *= 2; /* n_keys < 2^31, so this ends well before overflow */
    tb->slots = malloc(cap * sizeof *tb->slots);
    if (!tb->slots)
        return SEM_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        tb->slots[i] = (slot){.key = NULL, .hash = 0, .len = 0, .id = -1};
    tb->mask = (uint32_t)(cap - 1);
    tb->max_key = 0;
    tb->skip = skip;
    return SEM_OK;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Loading                                                                                                     */

sem_tokenizer_config sem_tokenizer_default_config(void)
{
    sem_tokenizer_config c = {.do_lower_case = 1, .strip_accents = -1, .tokenize_chinese_chars = 1,
                              .model_max_length = 512};
    return c;
}

void sem_tokenizer_free(sem_tokenizer *t)
{
    if (!t)
        return;
    free(t->pool);
    free(t->tok);
    free(t->tok_len);
    free(t->whole.slots);
    free(t->cont.slots);
    free(t);
}

sem_tokenizer *sem_tokenizer_from_buffer(const char *vocab, size_t len, const sem_tokenizer_config *cfg,
                                         sem_error *err)
{
    if (!vocab && len) {
        sem_error_set(err, SEM_EINVAL, "vocab buffer is NULL");
        return NULL;
    }
    if (len > VOCAB_MAX_BYTES) {
        sem_error_set(err, SEM_ERANGE, "vocab is too large (%zu bytes)", len);
        return NULL;
    }
    size_t bad = 0;
    if (!sem_utf8_valid(vocab ? vocab : "", len, &bad)) {
        /* HF reads vocab.txt as UTF-8 and fails on anything else. */
        size_t line = 1;
        for (size_t i = 0; i < bad; i++)
            line += vocab[i] == '\n' || (vocab[i] == '\r' && (i + 1 >= len || vocab[i + 1] != '\n'));
        sem_error_set(err, SEM_EFORMAT, "vocab is not valid UTF-8 (byte %zu, line %zu)", bad, line);
        return NULL;
    }
    sem_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        sem_error_set(err, SEM_ENOMEM, "out of memory loading the vocab");
        return NULL;
    }
    t->cfg = cfg ? *cfg : sem_tokenizer_default_config();
    t->do_strip = t->cfg.strip_accents < 0 ? (t->cfg.do_lower_case != 0) : (t->cfg.strip_accents != 0);
    init_ascii_class(t);

    /* Lines as Python's universal newlines read them: a line ends at \n, \r or \r\n, and only there (U+2028,
     * U+0085 and friends are token text). A last line without a terminator still counts; no empty line follows
     * a final terminator. Line i is token id i. */
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        while (i < len && vocab[i] != '\n' && vocab[i] != '\r')
            i++;
        if (i < len)
            i += (vocab[i] == '\r' && i + 1 < len && vocab[i + 1] == '\n') ? 2 : 1;
    }
    if (n == 0 || n > INT32_MAX / 2) {
        sem_error_set(err, n ? SEM_ERANGE : SEM_EFORMAT, n ? "vocab has too many lines" : "vocab is empty");
        goto fail;
    }
    t->n = (int32_t)n;
    t->pool = malloc(len + 1);
    t->tok = malloc(n * sizeof *t->tok);
    t->tok_len = malloc(n * sizeof *t->tok_len);
    if (!t->pool || !t->tok || !t->tok_len) {
        sem_error_set(err, SEM_ENOMEM, "out of memory loading the vocab (%zu lines)", n);
        goto fail;
    }
    if (len)
        memcpy(t->pool, vocab, len);
    t->pool[len] = '\0';
    size_t n_cont = 0;
    for (size_t i = 0, k = 0; i < len; k++) {
        size_t s = i;
        while (i < len && t->pool[i] != '\n' && t->pool[i] != '\r')
            i++;
        t->tok[k] = t->pool + s;
        t->tok_len[k] = (uint32_t)(i - s);
        n_cont += (i - s >= 2 && t->pool[s] == '#' && t->pool[s + 1] == '#');
        if (i < len) {
            size_t step = (t->pool[i] == '\r' && i + 1 < len && t->pool[i + 1] == '\n') ? 2 : 1;
            t->pool[i] = '\0';
            i += step;
        }
    }
    if (table_init(&t->whole, n, 0) != SEM_OK || table_init(&t->cont, n_cont, 2) != SEM_OK) {
        sem_error_set(err, SEM_ENOMEM, "out of memory building the vocab index");
        goto fail;
    }
    for (int32_t id = 0; id < t->n; id++) {
        table_put(t, &t->whole, id);
        if (t->tok_len[id] >= 2 && t->tok[id][0] == '#' && t->tok[id][1] == '#')
            table_put(t, &t->cont, id);
    }
    for (int k = 0; k < SP_COUNT; k++)
        t->special_id[k] = table_find(&t->whole, special_names[k], strlen(special_names[k]));
    return t;
fail:
    sem_tokenizer_free(t);
    return NULL;
}

sem_tokenizer *sem_tokenizer_load(const char *vocab_path, const sem_tokenizer_config *cfg, sem_error *err)
{
    if (!vocab_path) {
        sem_error_set(err, SEM_EINVAL, "vocab path is NULL");
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    if (sem_read_file(vocab_path, VOCAB_MAX_BYTES, &buf, &len, err) != SEM_OK)
        return NULL;
    sem_tokenizer *t = sem_tokenizer_from_buffer(buf, len, cfg, err);
    free(buf);
    if (!t)
        sem_error_prefix(err, "%s", vocab_path);
    return t;
}

int sem_tokenizer_vocab_size(const sem_tokenizer *t) { return t ? t->n : 0; }

int32_t sem_tokenizer_token_id(const sem_tokenizer *t, const char *token)
{
    if (!t || !token)
        return -1;
    return table_find(&t->whole, token, strlen(token));
}

const char *sem_tokenizer_id_token(const sem_tokenizer *t, int32_t id)
{
    if (!t || id < 0 || id >= t->n)
        return NULL;
    return t->tok[id];
}

int32_t sem_tokenizer_cls_id(const sem_tokenizer *t) { return t ? t->special_id[SP_CLS] : -1; }
int32_t sem_tokenizer_sep_id(const sem_tokenizer *t) { return t ? t->special_id[SP_SEP] : -1; }
int32_t sem_tokenizer_pad_id(const sem_tokenizer *t) { return t ? t->special_id[SP_PAD] : -1; }
int32_t sem_tokenizer_unk_id(const sem_tokenizer *t) { return t ? t->special_id[SP_UNK] : -1; }
int32_t sem_tokenizer_mask_id(const sem_tokenizer *t) { return t ? t->special_id[SP_MASK] : -1; }

/* ------------------------------------------------------------------------------------------------------------ */
/* Per-call state                                                                                              */

/* A growable array that starts in inline storage, so that ordinary text needs no allocation at all. */
#define INLINE_CPS 256
typedef struct {
    int32_t *p;
    size_t n, cap;
    int32_t inl[INLINE_CPS];
} cpbuf;

static void cpbuf_init(cpbuf *b)
{
    b->p = b->inl;
    b->n = 0;
    b->cap = INLINE_CPS;
}

static void cpbuf_free(cpbuf *b)
{
    if (b->p != b->inl)
        free(b->p);
    cpbuf_init(b);
}

/* Makes room for extra more entries; SEM_ENOMEM on failure or overflow. */
static int cpbuf_reserve(cpbuf *b, size_t extra)
{
    if (extra <= b->cap - b->n)
        return SEM_OK;
    if (extra > SIZE_MAX / sizeof(int32_t) / 4 - b->n)
        return SEM_ENOMEM;
    size_t cap = b->cap * 2;
    if (cap < b->n + extra)
        cap = b->n + extra;
    int32_t *p = b->p == b->inl ? malloc(cap * sizeof *p) : realloc(b->p, cap * sizeof *p);
    if (!p)
        return SEM_ENOMEM;
    if (b->p == b->inl)
        memcpy(p, b->inl, b->n * sizeof *p);
    b->p = p;
    b->cap = cap;
    return SEM_OK;
}

typedef struct {
    const sem_tokenizer *t;
    cpbuf word;  /* the current whitespace word, after lowercasing and cleaning */
    cpbuf norm;  /* the word after NFC or NFD (+ Mn dropped) */
    cpbuf ids;   /* output ids; NULL p means count only (see count_only) */
    int count_only;
    size_t n_out; /* ids produced */
    size_t limit; /* stop once n_out reaches this (truncation) */
    int full;     /* limit reached */
    int rc;       /* first error */
    char piece[MAX_INPUT_CHARS_PER_WORD * 4 + 8]; /* one punctuation-split piece as UTF-8 */
} run_ctx;

static void emit(run_ctx *r, int32_t id)
{
    if (r->n_out >= r->limit) {
        r->full = 1;
        return;
    }
    if (!r->count_only) {
        if (cpbuf_reserve(&r->ids, 1) != SEM_OK) {
            r->rc = SEM_ENOMEM;
            r->full = 1;
            return;
        }
        r->ids.p[r->ids.n++] = id;
    }
    r->n_out++;
    if (r->n_out >= r->limit)
        r->full = 1;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* WordPiece                                                                                                   */

static void emit_unk(run_ctx *r)
{
    if (r->t->special_id[SP_UNK] < 0) {
        r->rc = SEM_EFORMAT; /* HF cannot convert "[UNK]" to an id either */
        r->full = 1;
        return;
    }
    emit(r, r->t->special_id[SP_UNK]);
}

/* Greedy longest-match-first WordPiece of one word w[0..len) of n_cp code points (HF WordpieceTokenizer). */
static void wordpiece(run_ctx *r, const char *w, size_t len, size_t n_cp)
{
    const sem_tokenizer *t = r->t;
    if (n_cp > MAX_INPUT_CHARS_PER_WORD) {
        emit_unk(r);
        return;
    }
    int32_t sub[MAX_INPUT_CHARS_PER_WORD];
    uint32_t hs[MAX_INPUT_CHARS_PER_WORD * 4 + 1]; /* hs[k] = hash of w[start .. start+k) */
    int n_sub = 0;
    size_t start = 0;
    while (start < len) {
        const table *tb = start == 0 ? &t->whole : &t->cont;
        /* Substrings longer than the longest key cannot match: the search starts there. The hashes of all
         * candidate lengths come from one forward pass; then the longest candidate that is in the table wins,
         * trying only ends on code point boundaries. */
        size_t kmax = len - start > tb->max_key ? tb->max_key : len - start;
        uint32_t h = FNV_OFFSET;
        for (size_t k = 0; k < kmax; k++)
            hs[k + 1] = h = hash_step(h, (unsigned char)w[start + k]);
        int32_t id = -1;
        size_t k = kmax;
        for (; k > 0; k--) {
            if (start + k < len && ((unsigned char)w[start + k] & 0xC0) == 0x80)
                continue;
            id = table_probe(tb, hs[k], w + start, k);
            if (id >= 0)
                break;
        }
        if (id < 0) {
            emit_unk(r);
            return;
        }
        sub[n_sub++] = id; /* every piece holds >= 1 code point, so n_sub <= n_cp <= 100 */
        start += k;
    }
    for (int i = 0; i < n_sub && !r->full; i++)
        emit(r, sub[i]);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Normalization of one word                                                                                   */

/* Canonical ordering (UAX #15): stable sort of each run of non-starters by combining class. Runs are usually
 * one or two marks long (insertion sort); long runs use a counting sort so that hostile input stays linear. */
static int canonical_order(int32_t *c, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (utf8proc_get_property(c[i])->combining_class == 0) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < n && utf8proc_get_property(c[i])->combining_class != 0)
            i++;
        size_t m = i - s;
        if (m < 2)
            continue;
        if (m <= 32) {
            for (size_t a = s + 1; a < i; a++) {
                int32_t x = c[a];
                int cx = utf8proc_get_property(x)->combining_class;
                size_t b = a;
                while (b > s && utf8proc_get_property(c[b - 1])->combining_class > cx) {
                    c[b] = c[b - 1];
                    b--;
                }
                c[b] = x;
            }
        } else {
            int32_t *tmp = malloc(m * sizeof *tmp);
            if (!tmp)
                return SEM_ENOMEM;
            size_t count[257] = {0};
            for (size_t a = s; a < i; a++)
                count[utf8proc_get_property(c[a])->combining_class + 1]++;
            for (int k = 1; k < 257; k++)
                count[k] += count[k - 1];
            for (size_t a = s; a < i; a++)
                tmp[count[utf8proc_get_property(c[a])->combining_class]++] = c[a];
            memcpy(c + s, tmp, m * sizeof *tmp);
            free(tmp);
        }
    }
    return SEM_OK;
}

/* r->norm = canonical decomposition (NFD) of in[0..n). */
static int nfd(run_ctx *r, const int32_t *in, size_t n)
{
    r->norm.n = 0;
    for (size_t i = 0; i < n; i++) {
        int last = 0;
        for (;;) {
            size_t room = r->norm.cap - r->norm.n;
            utf8proc_ssize_t k = utf8proc_decompose_char(in[i], r->norm.p + r->norm.n, (utf8proc_ssize_t)room,
                                                         UTF8PROC_DECOMPOSE, &last);
            if (k < 0)
                return SEM_EINTERNAL;
            if ((size_t)k <= room) {
                r->norm.n += (size_t)k;
                break;
            }
            if (cpbuf_reserve(&r->norm, (size_t)k) != SEM_OK)
                return SEM_ENOMEM;
        }
    }
    return canonical_order(r->norm.p, r->norm.n);
}

/* A single code point without a canonical decomposition is its own NFC and NFD (Hangul syllables decompose
 * algorithmically, and recompose to themselves). */
static int nf_stable_single(int32_t c)
{
    if (c < 0xC0)
        return 1;
    const utf8proc_property_t *p = utf8proc_get_property(c);
    return p->decomp_seqindex == UINT16_MAX || p->decomp_type != 0;
}

/* The special token that c[0..m) spells exactly (HF's never_split set: all five names, whether or not the vocab
 * has them), or -1. */
static int match_special(const int32_t *c, size_t m)
{
    if (m == 0 || m > SPECIAL_MAX_LEN || c[0] != '[')
        return -1;
    for (int k = 0; k < SP_COUNT; k++) {
        const char *s = special_names[k];
        size_t j = 0;
        if (strlen(s) != m)
            continue;
        while (j < m && c[j] == (unsigned char)s[j])
            j++;
        if (j == m)
            return k;
    }
    return -1;
}

/* Processes the completed word r->word: never_split check, accent stripping or NFC, punctuation split,
 * WordPiece. */
static void word_done(run_ctx *r)
{
    const sem_tokenizer *t = r->t;
    const int32_t *w = r->word.p;
    size_t n = r->word.n;
    r->word.n = 0;
    if (n == 0 || r->full)
        return;
    int32_t maxc = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] > maxc)
            maxc = w[i];

    /* NFC (HF normalizes the whole text; NFC never crosses a space, so per word is the same). Code points below
     * U+0300 are NFC already and cannot combine with each other. When accents are stripped, NFC is skipped:
     * NFD(NFC(x)) = NFD(x); it is only needed for the never_split comparison. */
    const int32_t *c = w;
    size_t m = n;
    int need_nfc = maxc >= 0x300 && !(n == 1 && nf_stable_single(w[0]));
    if (need_nfc && (!t->do_strip || n <= SPECIAL_MAX_LEN)) {
        int rc = nfd(r, w, n);
        if (rc != SEM_OK) {
            r->rc = rc;
            r->full = 1;
            return;
        }
        utf8proc_ssize_t k = utf8proc_normalize_utf32(r->norm.p, (utf8proc_ssize_t)r->norm.n, UTF8PROC_COMPOSE);
        if (k < 0) {
            r->rc = SEM_EINTERNAL;
            r->full = 1;
            return;
        }
        r->norm.n = (size_t)k;
        c = r->norm.p;
        m = r->norm.n;
    }

    /* never_split: a word that is exactly a special token is kept whole (no lowercasing, stripping or
     * punctuation split) and goes to WordPiece as is. A word can only NFC to ASCII text of <= 6 characters if it
     * has <= 6 code points (decompositions never shorten). */
    int sp = match_special(c, m);
    if (sp >= 0) {
        wordpiece(r, special_names[sp], strlen(special_names[sp]), strlen(special_names[sp]));
        return;
    }

    if (t->do_strip && maxc >= 0xC0) {
        /* _run_strip_accents: NFD, then drop Mn. Below U+00C0 nothing decomposes and nothing is Mn. */
        int rc = nfd(r, w, n);
        if (rc != SEM_OK) {
            r->rc = rc;
            r->full = 1;
            return;
        }
        size_t o = 0;
        for (size_t i = 0; i < r->norm.n; i++)
            if (utf8proc_category(r->norm.p[i]) != UTF8PROC_CATEGORY_MN)
                r->norm.p[o++] = r->norm.p[i];
        r->norm.n = o;
        c = r->norm.p;
        m = o;
        /* _run_split_on_punc checks never_split again, after stripping: "[MASK]" + U+0301 stays whole. */
        sp = match_special(c, m);
        if (sp >= 0) {
            wordpiece(r, special_names[sp], strlen(special_names[sp]), strlen(special_names[sp]));
            return;
        }
    } else if (t->do_strip) {
        c = w;
        m = n;
    }

    /* _run_split_on_punc, then WordPiece on each piece. Pieces over 100 code points are [UNK] whatever they
     * hold, so they are not encoded. */
    size_t i = 0;
    while (i < m && !r->full) {
        int32_t ch = c[i];
        int p = ch < 128 ? (t->ascii_class[ch] & AC_PUNCT) != 0 : is_punct(ch);
        if (p) {
            size_t len = utf8_put(ch, r->piece);
            wordpiece(r, r->piece, len, 1);
            i++;
            continue;
        }
        size_t s = i;
        while (i < m && !(c[i] < 128 ? (t->ascii_class[c[i]] & AC_PUNCT) != 0 : is_punct(c[i])))
            i++;
        if (i - s > MAX_INPUT_CHARS_PER_WORD) {
            emit_unk(r);
            continue;
        }
        size_t len = 0;
        for (size_t j = s; j < i; j++)
            len += utf8_put(c[j], r->piece + len);
        wordpiece(r, r->piece, len, i - s);
    }
}

/* Tokenizes text[0..len) (valid UTF-8) into r. */
static void run_text(run_ctx *r, const char *text, size_t len)
{
    const sem_tokenizer *t = r->t;
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    r->word.n = 0;
    while (i < len && !r->full) {
        /* Special tokens are cut out of the raw text first (HF's added-tokens trie), case-sensitively. None is a
         * prefix of another and none can overlap another, so a leftmost scan finds what the trie finds. */
        if (s[i] == '[') {
            int hit = -1;
            for (int k = 0; k < SP_COUNT && hit < 0; k++) {
                size_t sl = strlen(special_names[k]);
                if (t->special_id[k] >= 0 && len - i >= sl && memcmp(s + i, special_names[k], sl) == 0)
                    hit = k;
            }
            if (hit >= 0) {
                word_done(r);
                emit(r, t->special_id[hit]);
                i += strlen(special_names[hit]);
                continue;
            }
        }
        int32_t cp = utf8_next(s, &i);
        int32_t lc[2] = {cp, 0};
        int nl = t->cfg.do_lower_case ? lower_cp(cp, lc) : 1;
        for (int k = 0; k < nl; k++) {
            switch (classify_cp(t, lc[k])) {
            case CP_DROP:
                break;
            case CP_SPACE:
                word_done(r);
                break;
            case CP_CJK:
                word_done(r);
                r->word.p[0] = lc[k];
                r->word.n = 1;
                word_done(r);
                break;
            default:
                if (cpbuf_reserve(&r->word, 1) != SEM_OK) {
                    r->rc = SEM_ENOMEM;
                    r->full = 1;
                    return;
                }
                r->word.p[r->word.n++] = lc[k];
            }
        }
    }
    word_done(r);
}

static void run_init(run_ctx *r, const sem_tokenizer *t, int count_only, size_t limit)
{
    r->t = t;
    cpbuf_init(&r->word);
    cpbuf_init(&r->norm);
    cpbuf_init(&r->ids);
    r->count_only = count_only;
    r->n_out = 0;
    r->limit = limit;
    r->full = limit == 0;
    r->rc = SEM_OK;
}

static void run_free(run_ctx *r)
{
    cpbuf_free(&r->word);
    cpbuf_free(&r->norm);
    cpbuf_free(&r->ids);
}

static int run_error(const run_ctx *r, sem_error *err)
{
    if (r->rc == SEM_ENOMEM)
        return sem_error_set(err, SEM_ENOMEM, "out of memory while tokenizing");
    if (r->rc == SEM_EFORMAT)
        return sem_error_set(err, SEM_EFORMAT, "the vocab has no [UNK] token");
    return sem_error_set(err, r->rc, "tokenizer internal error (utf8proc)");
}

/* Checks the arguments shared by the entry points and resolves the length (NULL text is allowed with length 0
 * only, as the empty text). */
static int check_text(const sem_tokenizer *t, const char *text, ptrdiff_t len, size_t *out_len, const char *what,
                      sem_error *err)
{
    if (!t)
        return sem_error_set(err, SEM_EINVAL, "tokenizer is NULL");
    if (!text) {
        if (len != 0)
            return sem_error_set(err, SEM_EINVAL, "%s is NULL", what);
        *out_len = 0;
        return SEM_OK;
    }
    size_t n = len < 0 ? strlen(text) : (size_t)len;
    size_t bad = 0;
    if (!sem_utf8_valid(text, n, &bad))
        return sem_error_set(err, SEM_EINVAL, "%s is not valid UTF-8 (byte %zu)", what, bad);
    *out_len = n;
    return SEM_OK;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Public entry points                                                                                         */

int sem_tokenize_ids(const sem_tokenizer *t, const char *text, ptrdiff_t len, int32_t **ids, int *n,
                     sem_error *err)
{
    size_t tl = 0;
    if (!ids || !n || *n < 0)
        return sem_error_set(err, SEM_EINVAL, "sem_tokenize_ids: ids/n missing or negative");
    int rc = check_text(t, text, len, &tl, "text", err);
    if (rc != SEM_OK)
        return rc;
    run_ctx r;
    run_init(&r, t, 0, (size_t)(INT_MAX - *n) + 1);
    run_text(&r, text ? text : "", tl);
    if (r.rc != SEM_OK) {
        rc = run_error(&r, err);
    } else if (r.n_out > (size_t)(INT_MAX - *n)) {
        rc = sem_error_set(err, SEM_ERANGE, "text has too many tokens");
    } else if (r.n_out > 0) {
        int32_t *p = realloc(*ids, ((size_t)*n + r.n_out) * sizeof *p);
        if (!p) {
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory for %zu token ids", (size_t)*n + r.n_out);
        } else {
            memcpy(p + *n, r.ids.p, r.n_out * sizeof *p);
            *ids = p;
            *n += (int)r.n_out;
        }
    }
    run_free(&r);
    return rc;
}

int sem_tokenizer_count(const sem_tokenizer *t, const char *text, ptrdiff_t len)
{
    size_t tl = 0;
    int rc = check_text(t, text, len, &tl, "text", NULL);
    if (rc != SEM_OK)
        return rc;
    run_ctx r;
    run_init(&r, t, 1, (size_t)INT_MAX + 1);
    run_text(&r, text ? text : "", tl);
    run_free(&r);
    if (r.rc != SEM_OK)
        return r.rc;
    return r.n_out > (size_t)INT_MAX ? SEM_ERANGE : (int)r.n_out;
}

void sem_tokenized_free(sem_tokenized *tk)
{
    if (!tk)
        return;
    free(tk->input_ids);
    free(tk->token_type_ids);
    free(tk->attention_mask);
    tk->input_ids = tk->token_type_ids = tk->attention_mask = NULL;
    tk->n = 0;
}

int sem_tokenize(const sem_tokenizer *t, const char *a, ptrdiff_t len_a, const char *b, ptrdiff_t len_b,
                 int max_len, sem_tokenized *out, sem_error *err)
{
    if (!out)
        return sem_error_set(err, SEM_EINVAL, "sem_tokenize: out is NULL");
    memset(out, 0, sizeof *out);
    size_t la_bytes = 0, lb_bytes = 0;
    int rc = check_text(t, a, len_a, &la_bytes, "text", err);
    if (rc == SEM_OK && b)
        rc = check_text(t, b, len_b, &lb_bytes, "second text", err);
    if (rc != SEM_OK)
        return rc;
    if (max_len < 0)
        return sem_error_set(err, SEM_EINVAL, "max_len %d is negative", max_len);
    int32_t cls = t->special_id[SP_CLS], sep = t->special_id[SP_SEP];
    if (cls < 0 || sep < 0)
        return sem_error_set(err, SEM_EFORMAT, "the vocab has no %s token", cls < 0 ? "[CLS]" : "[SEP]");
    size_t limit = max_len > 0 ? (size_t)max_len
                   : t->cfg.model_max_length > 0 ? (size_t)t->cfg.model_max_length
                                                 : (size_t)INT_MAX;
    int pair = b != NULL;
    size_t n_special = pair ? 3 : 2;
    /* HF cannot honour a limit below the special tokens: it logs an error and returns the sequence untruncated.
     * A longer result than asked for would break the caller's buffers, so that is an error here. */
    if (limit < n_special)
        return sem_error_set(err, SEM_ERANGE, "max_len %zu leaves no room for %s", limit,
                             pair ? "[CLS] a [SEP] b [SEP]" : "[CLS] [SEP]");
    size_t budget = limit - n_special; /* content tokens that fit */

    /* Each side only matters up to budget tokens (a longer side is cut to at most budget either way), so
     * tokenization stops there: long inputs cost what their kept prefix costs. */
    run_ctx ra, rb;
    run_init(&ra, t, 0, budget ? budget : 1);
    run_init(&rb, t, 0, budget);
    run_text(&ra, a ? a : "", la_bytes);
    if (ra.rc == SEM_OK && pair)
        run_text(&rb, b, lb_bytes);
    if (ra.rc != SEM_OK || rb.rc != SEM_OK) {
        rc = run_error(ra.rc != SEM_OK ? &ra : &rb, err);
        goto done;
    }
    size_t na = ra.n_out, nb = rb.n_out;
    if (!pair) {
        if (budget == 0 && na > 0) {
            rc = sem_error_set(err, SEM_ERANGE, "max_len %zu leaves no room for the text", limit);
            goto done;
        }
        /* 'longest_first' on one sequence: keep the first budget tokens. */
        if (na > budget)
            na = budget;
    } else if (na + nb > budget) {
        /* 'longest_first': remove one token at a time from the longer side, from the second on a tie. */
        size_t remove = na + nb - budget;
        size_t *longer = na > nb ? &na : &nb;
        size_t d = na > nb ? na - nb : nb - na;
        if (d > remove)
            d = remove;
        *longer -= d;
        remove -= d;
        nb -= (remove + 1) / 2;
        na -= remove / 2;
    }
    size_t n = n_special + na + nb;
    out->input_ids = malloc(n * sizeof(int32_t));
    out->token_type_ids = malloc(n * sizeof(int32_t));
    out->attention_mask = malloc(n * sizeof(int32_t));
    if (!out->input_ids || !out->token_type_ids || !out->attention_mask) {
        sem_tokenized_free(out);
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory for %zu tokens", n);
        goto done;
    }
    size_t k = 0;
    out->input_ids[k++] = cls;
    memcpy(out->input_ids + k, ra.ids.p, na * sizeof(int32_t));
    k += na;
    out->input_ids[k++] = sep;
    size_t first_len = k;
    if (pair) {
        memcpy(out->input_ids + k, rb.ids.p, nb * sizeof(int32_t));
        k += nb;
        out->input_ids[k++] = sep;
    }
    for (size_t j = 0; j < n; j++) {
        out->token_type_ids[j] = j < first_len ? 0 : 1;
        out->attention_mask[j] = 1;
    }
    out->n = (int)n;
    rc = SEM_OK;
done:
    run_free(&ra);
    run_free(&rb);
    return rc;
}
