/* tests/encoder/fuzz_tokenizer.c: libFuzzer target for encoder/tokenizer.c (text tokenization and vocab
 * parsing). Built as a fuzzer with clang (tests/encoder/tokenizer_tests.cmake); test_tokenizer_fuzz
 * (tests/fuzz_replay.c) runs the saved corpus (tests/encoder/corpus/tokenizer) through the same function with
 * any compiler.
 *
 * Input layout: byte 0 = flags, byte 1 = max_len (0 = model_max_length), byte 2 = where the pair splits, rest =
 * payload.
 *   flags bit 0..2: tokenizer setting (lowercase / strip_accents / CJK splitting, 8 combinations)
 *   flags bit 3:    the payload is a sentence pair, split at payload_len * byte2 / 256
 *   flags bit 4:    the payload is a vocabulary: load it, then tokenize fixed texts and the payload with it
 * Every result is checked against the API's invariants; a violation aborts (a fuzzer finding). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "encoder/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                                                           \
    do {                                                                                                         \
        if (!(c)) {                                                                                              \
            fprintf(stderr, "fuzz_tokenizer: invariant failed: %s (line %d)\n", #c, __LINE__);                  \
            abort();                                                                                             \
        }                                                                                                        \
    } while (0)

/* A small vocabulary with what the real ones have: specials, continuations, multi-byte and CJK tokens, a
 * U+2028 token, a duplicate, an empty line, \r\n endings. */
static const char fuzz_vocab[] =
    "[PAD]\n[unused0]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n!\n\"\n#\n$\n%\n&\n'\n(\n)\n*\n+\n,\n-\n.\n/\n0\n1\n2\n3\n"
    ":\n;\n<\n=\n>\n?\n@\n[\n\\\n]\n^\n_\n`\n{\n|\n}\n~\na\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\no\np\nq\nr\n"
    "s\nt\nu\nv\nw\nx\ny\nz\nA\nB\nC\nthe\nThe\nun\nuna\n##ffa\n##ble\n##able\n##s\n##ing\n##a\n##b\n##e\n##i\n"
    "##o\n##n\n##t\n##\xcc\x81\n\xc3\xa9\n##\xc3\xa9\n\xc3\xa0\ncaf\xc3\xa9\ncafe\n\xcf\x83\n##\xcf\x83\n"
    "##\xcf\x82\n\xce\xb1\n##\xce\xb1\n\xe4\xb8\xad\n\xe6\x96\x87\n##\xe6\x96\x87\n\xe8\xb1\x88\n"
    "\xe2\x80\xa8\nline\xe2\x80\xa8sep\n\xc2\xbf\n\xe2\x80\x94\n##\xe2\x82\xac\n\xf0\x9f\x98\x80\n"
    "\xe1\x84\x92\n##\xe1\x85\xa1\n##\xe1\x86\xab\n\xed\x95\x9c\nthe\n\r\n##\r\nhello\r\nworld\rend";

static sem_tokenizer *tokenizers[8];

static sem_tokenizer *get_tokenizer(int setting)
{
    if (!tokenizers[setting]) {
        sem_tokenizer_config c = sem_tokenizer_default_config();
        c.do_lower_case = setting & 1;
        c.strip_accents = (setting & 2) ? ((setting & 1) ? 0 : 1) : -1;
        c.tokenize_chinese_chars = !(setting & 4);
        c.model_max_length = 64;
        sem_error err;
        tokenizers[setting] = sem_tokenizer_from_buffer(fuzz_vocab, sizeof fuzz_vocab - 1, &c, &err);
        FUZZ_ASSERT(tokenizers[setting] != NULL);
    }
    return tokenizers[setting];
}

/* Tokenizes (a, b) and checks the result against the API contract and against the unframed entry points. */
static void check_one(const sem_tokenizer *t, const char *a, size_t la, const char *b, size_t lb, int max_len)
{
    int valid = sem_utf8_valid(a, la, NULL) && (!b || sem_utf8_valid(b, lb, NULL));
    int vocab = sem_tokenizer_vocab_size(t);
    sem_tokenized tk;
    sem_error err;
    int rc = sem_tokenize(t, a, (ptrdiff_t)la, b, (ptrdiff_t)lb, max_len, &tk, &err);
    int has_frame = sem_tokenizer_cls_id(t) >= 0 && sem_tokenizer_sep_id(t) >= 0;
    if (!valid) {
        FUZZ_ASSERT(rc == SEM_EINVAL && tk.input_ids == NULL && tk.n == 0);
        FUZZ_ASSERT(sem_tokenizer_count(t, a, (ptrdiff_t)la) < 0 || (b && sem_utf8_valid(a, la, NULL)));
        return;
    }
    if (rc != SEM_OK) {
        /* Allowed failures: no [CLS]/[SEP] or [UNK] in the vocab, or a limit below the special tokens. */
        FUZZ_ASSERT(rc == SEM_EFORMAT || (rc == SEM_ERANGE && max_len > 0 && max_len <= 2));
        FUZZ_ASSERT(rc != SEM_EFORMAT || !has_frame || sem_tokenizer_unk_id(t) < 0);
        FUZZ_ASSERT(tk.input_ids == NULL && tk.n == 0);
        return;
    }
    int limit = max_len ? max_len : 64;
    FUZZ_ASSERT(tk.n >= (b ? 3 : 2) && tk.n <= limit);
    FUZZ_ASSERT(tk.input_ids[0] == sem_tokenizer_cls_id(t) && tk.input_ids[tk.n - 1] == sem_tokenizer_sep_id(t));
    int32_t sep = sem_tokenizer_sep_id(t);
    for (int i = 0; i < tk.n; i++) {
        FUZZ_ASSERT(tk.input_ids[i] >= 0 && tk.input_ids[i] < vocab);
        FUZZ_ASSERT(sem_tokenizer_id_token(t, tk.input_ids[i]) != NULL);
        FUZZ_ASSERT(tk.attention_mask[i] == 1);
    }
    /* token_type_ids: 0 for [CLS] a [SEP], 1 for b [SEP]. */
    int k = 0;
    while (k < tk.n && tk.token_type_ids[k] == 0)
        k++;
    for (int i = k; i < tk.n; i++)
        FUZZ_ASSERT(tk.token_type_ids[i] == 1);
    if (b)
        FUZZ_ASSERT(k >= 2 && k < tk.n && tk.input_ids[k - 1] == sep);
    else
        FUZZ_ASSERT(k == tk.n);
    int n_first = k - 2;
    /* The first text alone, unframed: the framed ids are a prefix of it; count agrees. */
    int32_t *ids = NULL;
    int n = 0;
    rc = sem_tokenize_ids(t, a, (ptrdiff_t)la, &ids, &n, &err);
    if (rc != SEM_OK) {
        /* Without [UNK] only the text beyond the truncation point may have needed it. */
        FUZZ_ASSERT(rc == SEM_EFORMAT && sem_tokenizer_unk_id(t) < 0 && ids == NULL && n == 0);
        FUZZ_ASSERT(sem_tokenizer_count(t, a, (ptrdiff_t)la) == SEM_EFORMAT);
        sem_tokenized_free(&tk);
        return;
    }
    FUZZ_ASSERT(sem_tokenizer_count(t, a, (ptrdiff_t)la) == n);
    if (!b)
        FUZZ_ASSERT(n_first == (n < limit - 2 ? n : limit - 2));
    FUZZ_ASSERT(n_first <= n && (n_first == 0 || memcmp(ids, tk.input_ids + 1, (size_t)n_first * sizeof *ids) == 0));
    if (b) {
        /* longest_first: a side is only cut when the pair does not fit, never below half of the budget unless
         * the other side is shorter. */
        int n_second = tk.n - k - 1, budget = limit - 3;
        FUZZ_ASSERT(n_first + n_second <= budget);
        FUZZ_ASSERT(n_first == n || n_first >= budget / 2 || n_first + n_second == budget);
    }
    free(ids);
    sem_tokenized_free(&tk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int flags = data[0], max_len = data[1];
    const char *p = (const char *)data + 3;
    size_t n = size - 3;
    if (flags & 16) {
        sem_error err;
        sem_tokenizer_config c = sem_tokenizer_default_config();
        c.do_lower_case = flags & 1;
        c.model_max_length = 64;
        sem_tokenizer *t = sem_tokenizer_from_buffer(p, n, &c, &err);
        if (!t) {
            FUZZ_ASSERT(err.code != SEM_OK && err.msg[0]);
            return 0;
        }
        FUZZ_ASSERT(sem_tokenizer_vocab_size(t) >= 1);
        for (int32_t id = 0; id < sem_tokenizer_vocab_size(t); id++) {
            const char *tok = sem_tokenizer_id_token(t, id);
            FUZZ_ASSERT(tok != NULL);
            int32_t back = sem_tokenizer_token_id(t, tok);
            /* The same text may appear twice (the later id wins) or hold a NUL (C strings stop there). */
            FUZZ_ASSERT(back >= 0 || memchr(p, 0, n));
            FUZZ_ASSERT(back < 0 || strcmp(sem_tokenizer_id_token(t, back), tok) == 0);
        }
        const char *texts[] = {"Hello, world! [MASK] caf\xc3\xa9", "\xe4\xb8\xad\xe6\x96\x87 unaffable", ""};
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
            check_one(t, texts[i], strlen(texts[i]), NULL, 0, max_len);
        check_one(t, p, n, NULL, 0, max_len);
        sem_tokenizer_free(t);
        return 0;
    }
    const sem_tokenizer *t = get_tokenizer(flags & 7);
    if (flags & 8) {
        size_t split = n * data[2] / 256;
        check_one(t, p, split, p + split, n - split, max_len);
    } else {
        check_one(t, p, n, NULL, 0, max_len);
    }
    return 0;
}
