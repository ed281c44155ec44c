/* tests/encoder/test_tokenizer_unit.c: edge cases of the BERT tokenizer, on the real bert-base-uncased and
 * bert-base-chinese vocabularies (../shared/data/vocab) and on small vocabularies built here.
 *
 * Every expectation is derived from HF BertTokenizer's rules (see encoder/tokenizer.c), and where it depends on
 * the vocabulary the premises are checked too (e.g. "unaffable" -> una ##ffa ##ble because "una" is in the vocab
 * and no longer prefix is). Many checks are equivalences ("a<U+00A0>b" tokenizes like "a b"), which need no
 * hard-coded ids at all. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder/tokenizer.h"
#include "test.h"

#define VOCAB_UNCASED SEM_SHARED_DIR "/data/vocab/bert-base-uncased.txt"
#define VOCAB_CHINESE SEM_SHARED_DIR "/data/vocab/bert-base-chinese.txt"

/* Space-separated token strings of text (no [CLS]/[SEP]), or "ERR <code>". Returns a malloc'd string that the
 * test leaks into a small ring so that CHECK_STREQ can compare two results. */
static char *ring[64];
static int ring_i;
static const char *keep(char *s)
{
    free(ring[ring_i]);
    ring[ring_i] = s;
    ring_i = (ring_i + 1) % 64;
    return s;
}

static const char *toks_len(const sem_tokenizer *t, const char *text, ptrdiff_t len)
{
    int32_t *ids = NULL;
    int n = 0;
    sem_error err;
    int rc = sem_tokenize_ids(t, text, len, &ids, &n, &err);
    size_t cap = 64;
    for (int i = 0; rc == SEM_OK && i < n; i++)
        cap += strlen(sem_tokenizer_id_token(t, ids[i])) + 1;
    char *s = malloc(cap);
    if (!s)
        abort();
    if (rc != SEM_OK) {
        snprintf(s, cap, "ERR %d", rc);
    } else {
        s[0] = '\0';
        size_t o = 0;
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(s + o, cap - o, "%s%s", i ? " " : "", sem_tokenizer_id_token(t, ids[i]));
        /* count must agree with what tokenize_ids produced */
        if (sem_tokenizer_count(t, text, len) != n)
            snprintf(s, cap, "COUNT MISMATCH");
    }
    free(ids);
    return keep(s);
}
static const char *toks(const sem_tokenizer *t, const char *text) { return toks_len(t, text, -1); }

static sem_tokenizer *load(const char *path, int lower, int strip, int chinese)
{
    sem_tokenizer_config c = sem_tokenizer_default_config();
    c.do_lower_case = lower;
    c.strip_accents = strip;
    c.tokenize_chinese_chars = chinese;
    sem_error err;
    sem_tokenizer *t = sem_tokenizer_load(path, &c, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!t)
        exit(1);
    return t;
}

static int in_vocab(const sem_tokenizer *t, const char *s) { return sem_tokenizer_token_id(t, s) >= 0; }

/* Independent greedy longest-match WordPiece over a plain ASCII word, by vocabulary lookups only. */
static const char *ref_wordpiece(const sem_tokenizer *t, const char *w)
{
    size_t n = strlen(w), start = 0, o = 0;
    char *out = malloc(n * 4 + 16), buf[256];
    if (!out)
        abort();
    out[0] = '\0';
    if (n > 100) {
        strcpy(out, "[UNK]");
        return keep(out);
    }
    while (start < n) {
        size_t end = n;
        for (; end > start; end--) {
            snprintf(buf, sizeof buf, "%s%.*s", start ? "##" : "", (int)(end - start), w + start);
            if (in_vocab(t, buf))
                break;
        }
        if (end == start) {
            strcpy(out, "[UNK]");
            return keep(out);
        }
        o += (size_t)sprintf(out + o, "%s%s", o ? " " : "", buf);
        start = end;
    }
    return keep(out);
}

/* ------------------------------------------------------------------------------------------------------------ */

static void test_vocab_parsing(void)
{
    sem_error err;
    /* \r\n, \r and \n all end lines; U+2028 does not; no terminator after the last line; "dup" twice. */
    const char v[] = "[PAD]\r\n[UNK]\r[CLS]\n[SEP]\na\xe2\x80\xa8" "b\n##x\n[MASK]\ndup\ndup";
    sem_tokenizer *t = sem_tokenizer_from_buffer(v, sizeof v - 1, NULL, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!t)
        return;
    CHECK_EQ_INT(sem_tokenizer_vocab_size(t), 9);
    CHECK_EQ_INT(sem_tokenizer_pad_id(t), 0);
    CHECK_EQ_INT(sem_tokenizer_unk_id(t), 1);
    CHECK_EQ_INT(sem_tokenizer_cls_id(t), 2);
    CHECK_EQ_INT(sem_tokenizer_sep_id(t), 3);
    CHECK_EQ_INT(sem_tokenizer_mask_id(t), 6);
    CHECK_EQ_INT(sem_tokenizer_token_id(t, "a\xe2\x80\xa8" "b"), 4);
    CHECK_EQ_INT(sem_tokenizer_token_id(t, "a"), -1);
    CHECK_EQ_INT(sem_tokenizer_token_id(t, "##x"), 5);
    CHECK_EQ_INT(sem_tokenizer_token_id(t, "dup"), 8); /* HF: vocab[token] = index, the last line wins */
    CHECK_STREQ(sem_tokenizer_id_token(t, 7), "dup");
    CHECK_STREQ(sem_tokenizer_id_token(t, 0), "[PAD]");
    CHECK(sem_tokenizer_id_token(t, 9) == NULL);
    CHECK(sem_tokenizer_id_token(t, -1) == NULL);
    /* "a x" -> "a" is not a token, so [UNK]; a lone "x" is not a token either ("##x" is only a continuation). */
    CHECK_STREQ(toks(t, "a x"), "[UNK] [UNK]");
    sem_tokenizer_free(t);

    /* Empty lines are tokens too; a final terminator adds no line; a BOM stays part of the first token. */
    const char v2[] = "\xef\xbb\xbf" "foo\n\n[UNK]\r\n";
    t = sem_tokenizer_from_buffer(v2, sizeof v2 - 1, NULL, &err);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(sem_tokenizer_vocab_size(t), 3);
        CHECK_EQ_INT(sem_tokenizer_token_id(t, "foo"), -1);
        CHECK_EQ_INT(sem_tokenizer_token_id(t, "\xef\xbb\xbf" "foo"), 0);
        CHECK_EQ_INT(sem_tokenizer_token_id(t, ""), 1);
        CHECK_EQ_INT(sem_tokenizer_unk_id(t), 2);
        CHECK_EQ_INT(sem_tokenizer_cls_id(t), -1);
        /* No [CLS]/[SEP]: sem_tokenize refuses; the unframed entry points still work. */
        sem_tokenized tk;
        CHECK_EQ_INT(sem_tokenize(t, "foo", -1, NULL, 0, 0, &tk, &err), SEM_EFORMAT);
        CHECK(tk.input_ids == NULL && tk.n == 0);
        CHECK_STREQ(toks(t, "foo"), "[UNK]");
        sem_tokenizer_free(t);
    }
    /* A vocab without [UNK]: a word that does not match is an error, not a crash. */
    t = sem_tokenizer_from_buffer("a\n", 2, NULL, &err);
    CHECK(t != NULL);
    if (t) {
        CHECK_STREQ(toks(t, "a"), "a");
        CHECK_STREQ(toks(t, "b"), "ERR -4");
        sem_tokenizer_free(t);
    }

    /* Malformed vocabularies. */
    CHECK(sem_tokenizer_from_buffer("", 0, NULL, &err) == NULL && err.code == SEM_EFORMAT);
    CHECK(sem_tokenizer_from_buffer("ok\nbad\xff\n", 8, NULL, &err) == NULL && err.code == SEM_EFORMAT);
    CHECK_MSG(strstr(err.msg, "line 2") != NULL, "%s", err.msg);
    CHECK(sem_tokenizer_from_buffer(NULL, 5, NULL, &err) == NULL && err.code == SEM_EINVAL);
    CHECK(sem_tokenizer_load("/nonexistent/vocab.txt", NULL, &err) == NULL && err.code == SEM_ENOTFOUND);
    CHECK(sem_tokenizer_load(NULL, NULL, &err) == NULL && err.code == SEM_EINVAL);
    sem_tokenizer_free(NULL);

    /* The real Chinese vocab: U+2028 inside tokens does not split lines. */
    t = load(VOCAB_CHINESE, 0, -1, 1);
    CHECK_EQ_INT(sem_tokenizer_vocab_size(t), 21128);
    int with_ls = 0;
    for (int32_t id = 0; id < sem_tokenizer_vocab_size(t); id++) {
        const char *s = sem_tokenizer_id_token(t, id);
        if (strstr(s, "\xe2\x80\xa8")) {
            with_ls++;
            CHECK_EQ_INT(sem_tokenizer_token_id(t, s), id);
        }
    }
    CHECK_EQ_INT(with_ls, 2);
    sem_tokenizer_free(t);
}

static void test_uncased_basics(const sem_tokenizer *t)
{
    /* bert-base-uncased's special ids. */
    CHECK_EQ_INT(sem_tokenizer_vocab_size(t), 30522);
    CHECK_EQ_INT(sem_tokenizer_pad_id(t), 0);
    CHECK_EQ_INT(sem_tokenizer_unk_id(t), 100);
    CHECK_EQ_INT(sem_tokenizer_cls_id(t), 101);
    CHECK_EQ_INT(sem_tokenizer_sep_id(t), 102);
    CHECK_EQ_INT(sem_tokenizer_mask_id(t), 103);

    /* Greedy longest match: "una" is a token and no longer prefix of "unaffable" is, so not "un ##aff ##able"
     * (that split, quoted in the original BERT README, needs "##aff", which this vocab lacks). */
    CHECK(in_vocab(t, "una") && in_vocab(t, "un") && !in_vocab(t, "##aff"));
    CHECK(!in_vocab(t, "unaf") && !in_vocab(t, "unaff") && !in_vocab(t, "unaffa") && !in_vocab(t, "unaffab") &&
          !in_vocab(t, "unaffabl") && !in_vocab(t, "unaffable"));
    CHECK(in_vocab(t, "##ffa") && !in_vocab(t, "##ffab") && !in_vocab(t, "##ffabl") && !in_vocab(t, "##ffable"));
    CHECK(in_vocab(t, "##ble"));
    CHECK_STREQ(toks(t, "unaffable"), "una ##ffa ##ble");
    CHECK_STREQ(toks(t, "UNAFFABLE"), "una ##ffa ##ble");
    CHECK(in_vocab(t, "token") && in_vocab(t, "##ization"));
    CHECK_STREQ(toks(t, "tokenization"), ref_wordpiece(t, "tokenization"));
    CHECK_STREQ(toks(t, "tokenization"), "token ##ization");
    const char *words[] = {"snowboarding", "huggingface", "playing", "semsearch", "xqzjv", "encyclopaedia"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        CHECK_STREQ(toks(t, words[i]), ref_wordpiece(t, words[i]));
    CHECK_STREQ(toks(t, "Hello, World!"), "hello , world !");

    /* Empty and blank text. */
    CHECK_STREQ(toks(t, ""), "");
    CHECK_STREQ(toks(t, " \t\r\n\xc2\xa0\xe3\x80\x80\xe2\x80\xa8 "), "");
    CHECK_STREQ(toks_len(t, NULL, 0), "");
    sem_tokenized tk;
    sem_error err;
    CHECK(sem_tokenize(t, "", 0, NULL, 0, 0, &tk, &err) == SEM_OK);
    CHECK(tk.n == 2 && tk.input_ids[0] == 101 && tk.input_ids[1] == 102 && tk.token_type_ids[1] == 0 &&
          tk.attention_mask[1] == 1);
    sem_tokenized_free(&tk);
    sem_tokenized_free(&tk); /* idempotent */
    sem_tokenized_free(NULL);
}

/* _clean_text and str.split(): which characters separate words, which vanish, which stay. */
static void test_cleaning(const sem_tokenizer *t)
{
    const char *ref = toks(t, "hello world");
    CHECK_STREQ(ref, "hello world");
    const char *joined = toks(t, "helloworld");
    /* Separators: \t \n \r, Zs (NBSP, OGHAM, EN QUAD, IDEOGRAPHIC SPACE, NNBSP) and, through str.split(),
     * U+2028 / U+2029, which _clean_text keeps (category Zl/Zp, not Zs, not C*). */
    const char *seps[] = {"\t", "\n", "\r", "\r\n", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80", "\xe3\x80\x80",
                          "\xe2\x80\xaf", "\xe2\x80\xa8", "\xe2\x80\xa9", "  \t "};
    for (size_t i = 0; i < sizeof seps / sizeof *seps; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "hello%sworld", seps[i]);
        CHECK_MSG(strcmp(toks(t, buf), ref) == 0, "separator #%zu", i);
    }
    /* Removed: C* categories (Cc incl. the Python whitespace \v \f \x1c-\x1f \x85, which _clean_text drops before
     * str.split() could see them; Cf; Co; Cn) and U+FFFD; the word is joined. */
    const char *gone[] = {"\x01", "\x07", "\x0b", "\x0c", "\x1c", "\x1f", "\x7f", "\xc2\x85", "\xe2\x80\x8b",
                          "\xe2\x80\x8d", "\xc2\xad", "\xef\xbb\xbf", "\xee\x80\x80", "\xcd\xb8", "\xef\xbf\xbf",
                          "\xef\xbf\xbd", "\xf3\xa0\x80\x81", "\xe1\xa0\x8e"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "hello%sworld", gone[i]);
        CHECK_MSG(strcmp(toks(t, buf), joined) == 0, "removed char #%zu: %s vs %s", i, toks(t, buf), joined);
    }
    /* NUL inside a length-delimited text is removed like any control; NUL-terminated text stops at it. */
    CHECK_STREQ(toks_len(t, "hello\0world", 11), joined);
    CHECK_STREQ(toks_len(t, "hello\0 world", 12), ref);
    CHECK_STREQ(toks(t, "hello\0world"), "hello");
    /* A text of nothing but removed characters. */
    CHECK_STREQ(toks_len(t, "\0\x01\xef\xbf\xbd\xe2\x80\x8b", 8), "");
}

static void test_invalid_utf8(const sem_tokenizer *t)
{
    const char *bad[] = {"\xff", "ab\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x80", "\xe2\x82",
                         "\xf0\x9f\x98"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sem_error err;
        sem_tokenized tk = {(int32_t *)1, (int32_t *)1, (int32_t *)1, 7};
        CHECK_EQ_INT(sem_tokenize(t, bad[i], -1, NULL, 0, 0, &tk, &err), SEM_EINVAL);
        CHECK(tk.input_ids == NULL && tk.token_type_ids == NULL && tk.attention_mask == NULL && tk.n == 0);
        CHECK(strstr(err.msg, "UTF-8") != NULL);
        CHECK_EQ_INT(sem_tokenize(t, "fine", -1, bad[i], -1, 0, &tk, &err), SEM_EINVAL);
        int32_t *ids = NULL;
        int n = 0;
        CHECK_EQ_INT(sem_tokenize_ids(t, bad[i], -1, &ids, &n, &err), SEM_EINVAL);
        CHECK(ids == NULL && n == 0);
        CHECK(sem_tokenizer_count(t, bad[i], -1) == SEM_EINVAL);
    }
    /* An invalid byte after the truncation point is still an error (the whole input is checked). */
    char big[4096];
    for (int i = 0; i + 2 < (int)sizeof big; i += 2)
        big[i] = 'a', big[i + 1] = ' ';
    big[sizeof big - 2] = '\xff';
    big[sizeof big - 1] = '\0';
    sem_tokenized tk;
    sem_error err;
    CHECK_EQ_INT(sem_tokenize(t, big, -1, NULL, 0, 16, &tk, &err), SEM_EINVAL);
    /* Argument errors. */
    CHECK_EQ_INT(sem_tokenize(NULL, "a", -1, NULL, 0, 0, &tk, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_tokenize(t, NULL, 3, NULL, 0, 0, &tk, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_tokenize(t, "a", -1, NULL, 0, 0, NULL, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_tokenize(t, "a", -1, NULL, 0, -1, &tk, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_tokenize_ids(t, "a", -1, NULL, NULL, &err), SEM_EINVAL);
    CHECK(sem_tokenizer_count(NULL, "a", -1) < 0);
}

static void test_punctuation(const sem_tokenizer *t)
{
    /* ASCII symbols are punctuation for BERT even where Unicode says Sc/Sk/Sm ($ ^ ` ~ + < = > |). */
    const char *sym = "$^`~+<=>|";
    for (const char *p = sym; *p; p++) {
        char in[8], want[16];
        snprintf(in, sizeof in, "a%cb", *p);
        snprintf(want, sizeof want, "a %c b", *p);
        CHECK_MSG(strcmp(toks(t, in), want) == 0, "%s -> %s", in, toks(t, in));
    }
    /* Unicode P* splits (¿ is Po, — is Pd); symbols outside ASCII do not (€ is Sc, × is Sm): they stay inside the
     * word and go through WordPiece as continuations. */
    CHECK_STREQ(toks(t, "a\xc2\xbf" "b"), "a \xc2\xbf b");
    CHECK_STREQ(toks(t, "a\xe2\x80\x94" "b"), "a \xe2\x80\x94 b");
    CHECK(in_vocab(t, "##\xe2\x82\xac") && in_vocab(t, "##b"));
    CHECK_STREQ(toks(t, "a\xe2\x82\xac" "b"), "a ##\xe2\x82\xac ##b");
    CHECK_STREQ(toks(t, "a\xc3\x97" "b"), "a ##\xc3\x97 ##b");
    /* '#' is punctuation, so "##" in text never reaches WordPiece as a continuation marker. */
    CHECK_STREQ(toks(t, "##ing"), "# # ing");
    CHECK_STREQ(toks(t, "1,000.50"), "1 , 000 . 50");
}

static void test_cjk(void)
{
    sem_tokenizer *u = load(VOCAB_UNCASED, 1, -1, 1);
    sem_tokenizer *nochin = load(VOCAB_UNCASED, 1, -1, 0);
    sem_tokenizer *c = load(VOCAB_CHINESE, 0, -1, 1);
    CHECK(in_vocab(u, "\xe4\xb8\xad") && in_vocab(u, "\xe6\x96\x87") && in_vocab(u, "##\xe6\x96\x87"));
    CHECK_STREQ(toks(u, "\xe4\xb8\xad\xe6\x96\x87"), "\xe4\xb8\xad \xe6\x96\x87");     /* 中文 -> 中 文 */
    CHECK_STREQ(toks(nochin, "\xe4\xb8\xad\xe6\x96\x87"), "\xe4\xb8\xad ##\xe6\x96\x87"); /* one word */
    CHECK_STREQ(toks(c, "\xe5\xa4\xa9\xe7\xa9\xba"), "\xe5\xa4\xa9 \xe7\xa9\xba");     /* 天空 */
    /* Extension B (U+20000) is in HF's ranges: "a𠀀b" is three words. Extension G (U+30000) is not: "a𰀀b" is one
     * word, and with no "##𰀀" in the vocab that whole word is one [UNK]. */
    CHECK_STREQ(toks(u, "a\xf0\xa0\x80\x80" "b"), "a [UNK] b");
    CHECK_STREQ(toks(u, "a\xf0\xb0\x80\x80" "b"), "[UNK]");
    /* CJK compatibility ideographs are split too, then NFC maps U+F900 to U+8C48 (in the Chinese vocab). */
    CHECK(!in_vocab(c, "\xef\xa4\x80") && in_vocab(c, "\xe8\xb1\x88"));
    CHECK_STREQ(toks(c, "a\xef\xa4\x80"), "a \xe8\xb1\x88");
    /* Full-width forms are not CJK ideographs and are not NFC-folded: "１２３" is one word (cased vocab). */
    CHECK_STREQ(toks(c, "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93"), "\xef\xbc\x91\xef\xbc\x92 ##\xef\xbc\x93");
    sem_tokenizer_free(u);
    sem_tokenizer_free(nochin);
    sem_tokenizer_free(c);
}

static void test_case_and_accents(void)
{
    sem_tokenizer *u = load(VOCAB_UNCASED, 1, -1, 1);    /* lowercase + strip (HF strip_accents None) */
    sem_tokenizer *u_keep = load(VOCAB_UNCASED, 1, 0, 1); /* lowercase, strip_accents False */
    sem_tokenizer *c = load(VOCAB_CHINESE, 0, -1, 1);     /* cased, no stripping */
    sem_tokenizer *c_strip = load(VOCAB_CHINESE, 0, 1, 1); /* cased, strip_accents True */

    /* U+0130 lowercases to "i" + U+0307 (Python's full mapping); stripping drops the U+0307. Without stripping
     * the U+0307 stays: "i" then no "##\u0307" -> the word is [UNK]. */
    CHECK_STREQ(toks(u, "\xc4\xb0stanbul"), "istanbul");
    CHECK(!in_vocab(u_keep, "##\xcc\x87"));
    CHECK_STREQ(toks(u_keep, "\xc4\xb0"), "[UNK]");
    /* Lowercasing is per character: no final sigma, so "ΣΑΣ" ends in σ, not ς (both are tokens). */
    CHECK(in_vocab(u, "##\xcf\x82") && in_vocab(u, "##\xcf\x83"));
    CHECK_STREQ(toks(u, "\xce\xa3\xce\x91\xce\xa3"), "\xcf\x83 ##\xce\xb1 ##\xcf\x83");
    /* Kelvin sign lowercases to ASCII k. */
    CHECK_STREQ(toks(u, "o\xe2\x84\xaa"), toks(u, "ok"));
    /* Accents: stripped when lowercasing; kept with strip_accents False; NFD and NFC inputs agree. */
    CHECK_STREQ(toks(u, "caf\xc3\xa9 na\xc3\xafve"), "cafe naive");
    CHECK_STREQ(toks(u, "cafe\xcc\x81"), "cafe");
    CHECK(!in_vocab(u_keep, "caf\xc3\xa9"));
    CHECK_STREQ(toks(u_keep, "caf\xc3\xa9"), ref_wordpiece(u_keep, "caf\xc3\xa9"));
    CHECK_STREQ(toks(u_keep, "cafe\xcc\x81"), toks(u_keep, "caf\xc3\xa9"));
    CHECK_STREQ(toks(c, "cafe\xcc\x81"), toks(c, "caf\xc3\xa9"));
    CHECK_STREQ(toks(c, "A\xcc\x8a"), toks(c, "\xc3\x85"));
    CHECK_STREQ(toks(c_strip, "caf\xc3\xa9"), "cafe");
    /* Normalization comes before the punctuation split: "≠" is NFD "=" + U+0338 (Mn), so stripping accents
     * leaves the punctuation "="; without stripping, NFC composes "=" + U+0338 into "≠" (Sm, not punctuation),
     * which keeps "a≠b" one word, [UNK] in the Chinese vocab. */
    CHECK_STREQ(toks(u, "a\xe2\x89\xa0" "b"), "a = b");
    CHECK_STREQ(toks(c, "a=b"), "a = b");
    CHECK(!in_vocab(c, "##\xe2\x89\xa0"));
    CHECK_STREQ(toks(c, "a=\xcc\xb8" "b"), "[UNK]");
    CHECK_STREQ(toks(c, "Hello"), "[UNK]"); /* cased vocab has "hello" only */
    CHECK(in_vocab(c, "hello") && !in_vocab(c, "Hello"));
    /* Canonical ordering: marks in either order are the same text (U+0301 ccc 230, U+0316 ccc 220), also for
     * runs long enough to take the counting-sort path. */
    CHECK_STREQ(toks(c, "xa\xcc\x81\xcc\x96"), toks(c, "xa\xcc\x96\xcc\x81"));
    CHECK_STREQ(toks(u_keep, "xa\xcc\x81\xcc\x96"), toks(u_keep, "xa\xcc\x96\xcc\x81"));
    char mixed[400], sorted[400];
    size_t o1 = 0, o2 = 0;
    mixed[o1++] = sorted[o2++] = 'x';
    for (int i = 0; i < 40; i++) {
        memcpy(mixed + o1, "\xcc\x81\xcc\x96", 4); /* 230 220 230 220 ... */
        o1 += 4;
    }
    for (int i = 0; i < 40; i++, o2 += 2)
        memcpy(sorted + o2, "\xcc\x96", 2); /* all 220 first */
    for (int i = 0; i < 40; i++, o2 += 2)
        memcpy(sorted + o2, "\xcc\x81", 2);
    CHECK_STREQ(toks_len(c, mixed, (ptrdiff_t)o1), toks_len(c, sorted, (ptrdiff_t)o2));
    CHECK_STREQ(toks_len(u, mixed, (ptrdiff_t)o1), "x");
    sem_tokenizer_free(u);
    sem_tokenizer_free(u_keep);
    sem_tokenizer_free(c);
    sem_tokenizer_free(c_strip);
}

static void test_specials(void)
{
    enum { U, C, C_STRIP }; /* uncased; cased Chinese; cased Chinese that strips accents */
    sem_tokenizer *tk[3] = {load(VOCAB_UNCASED, 1, -1, 1), load(VOCAB_CHINESE, 0, -1, 1),
                            load(VOCAB_CHINESE, 0, 1, 1)};
    static const struct {
        int tok;
        const char *text, *want;
    } cases[] = {
        /* Literal special tokens are cut out of the text wherever they are, case-sensitively, before lowercasing. */
        {U, "[MASK]", "[MASK]"},
        {U, "x[MASK]y", "x [MASK] y"},
        {U, "[CLS] Hi [SEP][PAD][UNK]", "[CLS] hi [SEP] [PAD] [UNK]"},
        {U, "[mask]", "[ mask ]"},
        {U, "[[MASK]]", "[ [MASK] ]"},
        {U, "[MASK", "[ mask"},
        /* A special token that only appears after cleaning: uncased text was lowercased first, so it is plain
         * text; a cased tokenizer sees the whole word "[MASK]" in BasicTokenizer's never_split set. */
        {U, "[MA\xe2\x80\x8bSK]", "[ mask ]"},
        {C, "[MA\xe2\x80\x8bSK]", "[MASK]"},
        /* ... or after NFC (KELVIN SIGN -> K), or after accent stripping ("[MASK]" + U+0301). */
        {C, "[MAS\xe2\x84\xaa]", "[MASK]"},
        {U, "[MAS\xe2\x84\xaa]", "[ mask ]"},
        {C_STRIP, "[MASK]\xcc\x81", "[MASK]"},
        {C, "x[MA\xe2\x80\x8bSK]", "x [ [UNK] ]"}, /* not a whole word: split as usual */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = toks(tk[cases[i].tok], cases[i].text);
        CHECK_MSG(strcmp(got, cases[i].want) == 0, "case %zu: \"%s\" != \"%s\"", i, got, cases[i].want);
    }
    for (int i = 0; i < 3; i++)
        sem_tokenizer_free(tk[i]);
}

static void test_long_words(void)
{
    sem_tokenizer *u = load(VOCAB_UNCASED, 1, -1, 1);
    char w[512];
    memset(w, 'a', 101);
    w[101] = '\0';
    CHECK_STREQ(toks(u, w), "[UNK]");
    w[100] = '\0';
    CHECK_STREQ(toks(u, w), ref_wordpiece(u, w));
    CHECK(strcmp(toks(u, w), "[UNK]") != 0);
    /* The limit counts code points after normalization: 101 x 'ä' is 101 characters after stripping; 'a' + 200
     * combining accents is 1 character; 60 x 'α' is 120 bytes but 60 characters. */
    size_t o = 0;
    for (int i = 0; i < 101; i++, o += 2)
        memcpy(w + o, "\xc3\xa4", 2);
    CHECK_STREQ(toks_len(u, w, (ptrdiff_t)o), "[UNK]");
    char a100[101];
    memset(a100, 'a', 100);
    a100[100] = '\0';
    CHECK_STREQ(toks_len(u, w, (ptrdiff_t)o - 2), toks(u, a100)); /* 100 x 'ä' = 100 x 'a' */
    char *marks = malloc(1 + 400);
    marks[0] = 'a';
    for (int i = 0; i < 200; i++)
        memcpy(marks + 1 + 2 * i, "\xcc\x81", 2);
    CHECK_STREQ(toks_len(u, marks, 401), "a");
    free(marks);
    o = 0;
    for (int i = 0; i < 60; i++, o += 2)
        memcpy(w + o, "\xce\xb1", 2);
    const char *g = toks_len(u, w, (ptrdiff_t)o);
    CHECK(strncmp(g, "\xce\xb1 ##", 4) == 0);
    /* Punctuation splits a long word into short ones before the limit applies. */
    memset(w, 'a', 300);
    w[100] = '-';
    w[201] = '-';
    w[300] = '\0';
    const char *s = toks(u, w); /* 100 a's, '-', 100 a's, '-', 98 a's */
    CHECK(strstr(s, "[UNK]") == NULL);
    sem_tokenizer_free(u);
}

/* HF's truncate_sequences('longest_first') for a pair, token by token. */
static void hf_longest_first(int la, int lb, int max_len, int *ra, int *rb)
{
    int total = la + lb + 3;
    if (total > max_len) {
        for (int i = 0; i < total - max_len; i++) {
            if (la > lb)
                la--;
            else if (lb > 0)
                lb--;
        }
    }
    *ra = la;
    *rb = lb;
}

static char *repeat_word(const char *w, int n)
{
    size_t wl = strlen(w);
    char *s = malloc((size_t)n * (wl + 1) + 1);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        memcpy(s + o, w, wl);
        o += wl;
        s[o++] = ' ';
    }
    s[o] = '\0';
    return s;
}

static void test_truncation(void)
{
    sem_tokenizer *u = load(VOCAB_UNCASED, 1, -1, 1);
    int32_t a = sem_tokenizer_token_id(u, "a"), b = sem_tokenizer_token_id(u, "b");
    CHECK(a >= 0 && b >= 0);
    sem_error err;
    sem_tokenized tk;
    /* Single texts: [CLS] first max_len-2 tokens [SEP]. */
    char *t20 = repeat_word("a b", 10); /* 20 tokens */
    for (int ml = 3; ml <= 25; ml++) {
        CHECK(sem_tokenize(u, t20, -1, NULL, 0, ml, &tk, &err) == SEM_OK);
        int want = ml < 22 ? ml : 22;
        CHECK_EQ_INT(tk.n, want);
        int ok = tk.input_ids[0] == 101 && tk.input_ids[tk.n - 1] == 102;
        for (int i = 1; i < tk.n - 1; i++)
            ok &= tk.input_ids[i] == ((i - 1) % 2 ? b : a) && tk.token_type_ids[i] == 0 && tk.attention_mask[i] == 1;
        CHECK_MSG(ok, "max_len %d", ml);
        sem_tokenized_free(&tk);
    }
    /* HF cannot fit [CLS] [SEP] plus any text in 2 tokens and would return more than asked: an error here. */
    CHECK_EQ_INT(sem_tokenize(u, t20, -1, NULL, 0, 2, &tk, &err), SEM_ERANGE);
    CHECK_EQ_INT(sem_tokenize(u, t20, -1, NULL, 0, 1, &tk, &err), SEM_ERANGE);
    CHECK_EQ_INT(sem_tokenize(u, "", -1, NULL, 0, 2, &tk, &err), SEM_OK);
    CHECK_EQ_INT(tk.n, 2);
    sem_tokenized_free(&tk);
    CHECK_EQ_INT(sem_tokenize(u, "", -1, NULL, 0, 1, &tk, &err), SEM_ERANGE);
    CHECK_EQ_INT(sem_tokenize(u, "", -1, "", -1, 2, &tk, &err), SEM_ERANGE);
    /* max_len 0 = model_max_length from the config. */
    sem_tokenizer_config cfg = sem_tokenizer_default_config();
    cfg.model_max_length = 8;
    sem_tokenizer *u8 = sem_tokenizer_load(VOCAB_UNCASED, &cfg, &err);
    CHECK(u8 != NULL);
    CHECK(sem_tokenize(u8, t20, -1, NULL, 0, 0, &tk, &err) == SEM_OK && tk.n == 8);
    sem_tokenized_free(&tk);
    CHECK(sem_tokenize(u8, t20, -1, NULL, 0, 12, &tk, &err) == SEM_OK && tk.n == 12);
    sem_tokenized_free(&tk);
    sem_tokenizer_free(u8);
    free(t20);

    /* Pairs: every length combination against HF's token-by-token loop. */
    int failures = 0;
    for (int la = 0; la <= 9; la++) {
        char *ta = repeat_word("a", la);
        for (int lb = 0; lb <= 9; lb++) {
            char *tb = repeat_word("b", lb);
            for (int ml = 3; ml <= 24; ml++) {
                int ra, rb;
                hf_longest_first(la, lb, ml, &ra, &rb);
                if (sem_tokenize(u, ta, -1, tb, -1, ml, &tk, &err) != SEM_OK) {
                    failures++;
                    continue;
                }
                int ok = tk.n == ra + rb + 3 && tk.input_ids[0] == 101 && tk.input_ids[ra + 1] == 102 &&
                         tk.input_ids[tk.n - 1] == 102;
                for (int i = 0; ok && i < tk.n; i++) {
                    int want_type = i >= ra + 2;
                    int32_t want = i == 0 ? 101 : i == ra + 1 || i == tk.n - 1 ? 102 : i <= ra ? a : b;
                    ok = tk.input_ids[i] == want && tk.token_type_ids[i] == want_type && tk.attention_mask[i] == 1;
                }
                failures += !ok;
                if (!ok)
                    fprintf(stderr, "pair la=%d lb=%d max_len=%d: n=%d want %d+%d+3\n", la, lb, ml, tk.n, ra, rb);
                sem_tokenized_free(&tk);
            }
            free(tb);
        }
        free(ta);
    }
    CHECK_EQ_INT(failures, 0);
    /* A long first text and a short second: the first is cut, the second kept. And an empty second text is
     * still a pair: [CLS] a [SEP] [SEP]. */
    char *long_a = repeat_word("a", 1000);
    CHECK(sem_tokenize(u, long_a, -1, "b b", -1, 0, &tk, &err) == SEM_OK);
    CHECK(tk.n == 512 && tk.input_ids[508] == 102 && tk.input_ids[509] == b && tk.token_type_ids[509] == 1);
    sem_tokenized_free(&tk);
    CHECK(sem_tokenize(u, "a", -1, "", 0, 0, &tk, &err) == SEM_OK);
    CHECK(tk.n == 4 && tk.input_ids[2] == 102 && tk.input_ids[3] == 102 && tk.token_type_ids[3] == 1 &&
          tk.token_type_ids[2] == 0);
    sem_tokenized_free(&tk);
    /* Truncation does not change the kept prefix (the tokenizer stops early, at a token boundary). */
    int32_t *all = NULL;
    int n_all = 0;
    char *mixed = repeat_word("Tokenization, unaffable caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87!", 50);
    CHECK(sem_tokenize_ids(u, mixed, -1, &all, &n_all, &err) == SEM_OK);
    int prefix_ok = 1;
    for (int ml = 2; ml < 60 && prefix_ok; ml++) {
        if (sem_tokenize(u, mixed, -1, NULL, 0, ml, &tk, &err) != SEM_OK) {
            prefix_ok = ml == 2;
            continue;
        }
        prefix_ok = tk.n == ml && memcmp(tk.input_ids + 1, all, (size_t)(ml - 2) * sizeof *all) == 0;
        sem_tokenized_free(&tk);
    }
    CHECK(prefix_ok);
    free(all);
    free(mixed);
    free(long_a);
    sem_tokenizer_free(u);
}

static void test_append_and_count(void)
{
    sem_tokenizer *u = load(VOCAB_UNCASED, 1, -1, 1);
    sem_error err;
    int32_t *ids = NULL;
    int n = 0;
    CHECK(sem_tokenize_ids(u, "hello", -1, &ids, &n, &err) == SEM_OK && n == 1);
    CHECK(sem_tokenize_ids(u, "", -1, &ids, &n, &err) == SEM_OK && n == 1);
    CHECK(sem_tokenize_ids(u, "unaffable world", -1, &ids, &n, &err) == SEM_OK && n == 5);
    CHECK(n == 5 && ids[0] == sem_tokenizer_token_id(u, "hello") && ids[1] == sem_tokenizer_token_id(u, "una") &&
          ids[4] == sem_tokenizer_token_id(u, "world"));
    CHECK_EQ_INT(sem_tokenizer_count(u, "hello unaffable world", -1), 5);
    CHECK_EQ_INT(sem_tokenizer_count(u, "", 0), 0);
    free(ids);

    /* Big inputs stay linear: 4 MiB of words, a 1 MiB word (one [UNK]), 200k combining marks. */
    size_t big = 4u << 20;
    char *s = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        s[i] = (i % 6 == 5) ? ' ' : "hello"[i % 6];
    s[big] = '\0';
    CHECK_EQ_INT(sem_tokenizer_count(u, s, -1), (int)(big / 6 + (big % 6 ? 1 : 0)));
    memset(s, 'x', 1u << 20);
    CHECK_EQ_INT(sem_tokenizer_count(u, s, 1 << 20), 1);
    s[0] = 'o';
    for (size_t i = 1; i + 1 < 400001; i += 2)
        memcpy(s + i, "\xcc\x81", 2);
    CHECK_STREQ(toks_len(u, s, 400001), "o");
    sem_tokenizer *c = load(VOCAB_CHINESE, 0, -1, 1);
    CHECK_STREQ(toks_len(c, s, 400001), "[UNK]"); /* not stripped: one word of 200001 characters */
    /* Hostile canonical ordering: 100k marks in descending combining class, NFC (cased) path. */
    for (size_t i = 1; i + 3 < 400001; i += 4)
        memcpy(s + i, "\xcc\x81\xcc\x96", 4);
    CHECK_STREQ(toks_len(c, s, 400001), "[UNK]");
    sem_tokenizer_free(c);
    free(s);
    sem_tokenizer_free(u);
}

typedef struct {
    const sem_tokenizer *t;
    const char *text;
    int32_t first[64];
    int n;
    int ok;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *a = p;
    a->ok = 1;
    for (int it = 0; it < 200; it++) {
        sem_tokenized tk;
        sem_error err;
        if (sem_tokenize(a->t, a->text, -1, "second \xe4\xb8\xad text", -1, 64, &tk, &err) != SEM_OK) {
            a->ok = 0;
            break;
        }
        if (it == 0) {
            a->n = tk.n;
            memcpy(a->first, tk.input_ids, (size_t)tk.n * sizeof(int32_t));
        } else if (tk.n != a->n || memcmp(a->first, tk.input_ids, (size_t)tk.n * sizeof(int32_t)) != 0) {
            a->ok = 0;
        }
        sem_tokenized_free(&tk);
    }
    return NULL;
}

static void test_threads(void)
{
    sem_tokenizer *u = load(VOCAB_UNCASED, 1, -1, 1);
    thread_arg args[2] = {{.t = u, .text = "Th\xc3\xa9 quick brown fox [MASK] jumps, \xce\xa3\xce\x91\xce\xa3!"},
                          {.t = u, .text = "Th\xc3\xa9 quick brown fox [MASK] jumps, \xce\xa3\xce\x91\xce\xa3!"}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, thread_main, &args[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK(args[0].ok && args[1].ok && args[0].n == args[1].n && args[0].n > 10 &&
          memcmp(args[0].first, args[1].first, (size_t)args[0].n * sizeof(int32_t)) == 0);
    sem_tokenizer_free(u);
}

int main(void)
{
    TEST_REQUIRE_FILE(VOCAB_UNCASED);
    TEST_REQUIRE_FILE(VOCAB_CHINESE);
    test_vocab_parsing();
    sem_tokenizer *u = load(VOCAB_UNCASED, 1, -1, 1);
    test_uncased_basics(u);
    test_cleaning(u);
    test_invalid_utf8(u);
    test_punctuation(u);
    sem_tokenizer_free(u);
    test_cjk();
    test_case_and_accents();
    test_specials();
    test_long_words();
    test_truncation();
    test_append_and_count();
    test_threads();
    for (int i = 0; i < 64; i++)
        free(ring[i]);
    TEST_END();
}
