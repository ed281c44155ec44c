/* tests/indexer/test_chunk.c: the chunker with fake token counters: paragraph/sentence/word/character levels,
 * offsets that point at the right text, the token limit, overlap, UTF-8 boundaries, and random texts checked
 * against invariants (order, limit, coverage of every word, overlap bounds). */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "indexer/indexer.h"

/* One token per byte that is not whitespace (so a word of n letters is n tokens). */
static int count_bytes(void *ud, const char *t, size_t n)
{
    (void)ud;
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += !(t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r');
    return c;
}

static int calls;
static int count_words_calls(void *ud, const char *t, size_t n)
{
    calls++;
    return sem_count_words(ud, t, n);
}

static int span_is(const char *text, const sem_span *s, const char *want)
{
    size_t n = strlen(want);
    return s->end - s->start == n && memcmp(text + s->start, want, n) == 0;
}

/* Chunks t by words (max_tokens, overlap) and checks that it gives exactly n passages, passage i being want[i]
 * (a NULL entry is not compared). Returns the spans for more checks (caller frees), NULL when the count differs. */
static sem_span *expect_chunks(const char *t, int max_tokens, int overlap, const char *const *want, size_t n)
{
    sem_span *sp = NULL;
    size_t got = 0;
    sem_error err;
    CHECK_EQ_INT(sem_chunk(t, strlen(t), max_tokens, overlap, NULL, NULL, &sp, &got, &err), SEM_OK);
    CHECK_EQ_INT(got, n);
    if (got != n) {
        free(sp);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        CHECK_MSG(!want[i] || span_is(t, &sp[i], want[i]), "passage %zu is not \"%s\"", i, want[i]);
    return sp;
}

static void test_basic(void)
{
    sem_span *sp;
    size_t n;
    sem_error err;
    const char *t = "  Hello there world.  \n";
    const char *w[] = {"Hello there world."};
    if ((sp = expect_chunks(t, 10, 0, w, 1)))
        CHECK_EQ_INT(sp[0].n_tokens, 3);
    free(sp);
    CHECK_EQ_INT(sem_chunk(" \n\n \t", 5, 10, 0, NULL, NULL, &sp, &n, &err), SEM_OK);
    CHECK_EQ_INT(n, 0);
    free(sp);
    CHECK_EQ_INT(sem_chunk("", 0, 10, 0, NULL, NULL, &sp, &n, &err), SEM_OK);
    CHECK_EQ_INT(n, 0);
    free(sp);
    CHECK_EQ_INT(sem_chunk(t, strlen(t), 0, 0, NULL, NULL, &sp, &n, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_chunk(t, strlen(t), 10, 10, NULL, NULL, &sp, &n, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_chunk(t, strlen(t), 10, -1, NULL, NULL, &sp, &n, &err), SEM_EINVAL);
}

static void test_paragraphs(void)
{
    /* three paragraphs of 5 words; limit 10: the first two fit together, the third alone */
    const char *t = "a b c d e.\n\nf g h i j.\n \nk l m n o.";
    const char *w10[] = {"a b c d e.\n\nf g h i j.", "k l m n o."};
    sem_span *sp = expect_chunks(t, 10, 0, w10, 2);
    if (sp) {
        CHECK_EQ_INT(sp[0].n_tokens, 10);
        CHECK_EQ_INT(sp[1].n_tokens, 5);
    }
    free(sp);
    /* limit 5: one per paragraph */
    const char *w5[] = {NULL, "f g h i j.", NULL};
    free(expect_chunks(t, 5, 0, w5, 3));
}

static void test_sentences_words(void)
{
    /* a paragraph of three sentences (4, 3, 5 words) with limit 7: sentences 1 alone (4+3 = 7 fits!) */
    const char *t = "One two three four. Five six \"seven!\" Eight nine ten eleven twelve?";
    const char *w7[] = {"One two three four. Five six \"seven!\"", "Eight nine ten eleven twelve?"};
    free(expect_chunks(t, 7, 0, w7, 2));
    /* one sentence of 25 words, limit 10: split by words into 10, 10, 5 */
    char buf[512] = "";
    for (int i = 0; i < 25; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%sw%d", i ? " " : "", i);
    const char *w10[] = {"w0 w1 w2 w3 w4 w5 w6 w7 w8 w9", NULL, "w20 w21 w22 w23 w24"};
    sem_span *sp = expect_chunks(buf, 10, 0, w10, 3);
    if (sp)
        CHECK_EQ_INT(sp[2].n_tokens, 5);
    free(sp);
    /* overlap 3 on the same sentence: each next passage repeats the previous passage's last 3 words */
    const char *wo[] = {"w0 w1 w2 w3 w4 w5 w6 w7 w8 w9", "w7 w8 w9 w10 w11 w12 w13 w14 w15 w16",
                        "w14 w15 w16 w17 w18 w19 w20 w21 w22 w23", "w21 w22 w23 w24"};
    free(expect_chunks(buf, 10, 3, wo, 4));
}

static void test_long_word_utf8(void)
{
    /* a 40-byte word with a byte counter and limit 16: pieces of at most 16 bytes */
    const char *t = "short aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa end";
    sem_span *sp;
    size_t n;
    sem_error err;
    CHECK_EQ_INT(sem_chunk(t, strlen(t), 16, 0, count_bytes, NULL, &sp, &n, &err), SEM_OK);
    int ok = n >= 3;
    size_t covered = 0;
    for (size_t i = 0; i < n; i++) {
        ok &= count_bytes(NULL, t + sp[i].start, sp[i].end - sp[i].start) <= 16;
        covered += (size_t)count_bytes(NULL, t + sp[i].start, sp[i].end - sp[i].start);
    }
    CHECK(ok);
    CHECK_EQ_INT(covered, 5 + 40 + 3);
    free(sp);
    /* multi-byte characters (2-byte é, 3-byte €) are never cut: limit 5 tokens, one per character */
    const char *u = "\xC3\xA9\xC3\xA9\xE2\x82\xAC\xE2\x82\xAC\xC3\xA9\xC3\xA9\xE2\x82\xAC\xE2\x82\xAC\xC3\xA9";
    CHECK_EQ_INT(sem_chunk(u, strlen(u), 5, 0, NULL, NULL, &sp, &n, &err), SEM_OK); /* 1 word: fits */
    CHECK_EQ_INT(n, 1);
    free(sp);
    CHECK_EQ_INT(sem_chunk(u, strlen(u), 4, 0, count_bytes, NULL, &sp, &n, &err), SEM_OK);
    ok = n > 1;
    for (size_t i = 0; i < n; i++)
        ok &= ((unsigned char)u[sp[i].start] & 0xC0) != 0x80 &&
              (sp[i].end == strlen(u) || ((unsigned char)u[sp[i].end] & 0xC0) != 0x80);
    CHECK(ok);
    free(sp);
}

/* Random texts from a small vocabulary with random sentence and paragraph breaks. */
static uint64_t rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void test_random(void)
{
    static const char *vocab[] = {"alpha", "b", "covid-19", "d\xC3\xA9j\xC3\xA0", "echo", "foxtrot", "golf",
                                  "hotel", "india", "juliet", "kilo", "lima"};
    int bad = 0;
    for (int iter = 0; iter < 300; iter++) {
        char t[8192];
        size_t k = 0;
        int words = 1 + (int)rnd(300);
        for (int w = 0; w < words && k < sizeof t - 64; w++) {
            const char *v = vocab[rnd(12)];
            k += (size_t)snprintf(t + k, sizeof t - k, "%s", v);
            unsigned r = rnd(20);
            const char *sep = r == 0 ? ".\n\n" : r == 1 ? ". " : r == 2 ? "? " : r == 3 ? "\n" : " ";
            k += (size_t)snprintf(t + k, sizeof t - k, "%s", sep);
        }
        int max = 1 + (int)rnd(40), ov = max > 1 ? (int)rnd((unsigned)max) : 0;
        sem_span *sp;
        size_t n;
        sem_error err;
        calls = 0;
        if (sem_chunk(t, k, max, ov, count_words_calls, NULL, &sp, &n, &err) != SEM_OK) {
            bad++;
            continue;
        }
        /* every word of the text lies in some span; spans are ordered, within the text, trimmed, within the
         * limit; consecutive spans overlap by at most ov tokens and always advance */
        size_t covered_to = 0;
        for (size_t i = 0; i < n; i++) {
            const sem_span *s = &sp[i];
            int c = sem_count_words(NULL, t + s->start, s->end - s->start);
            if (s->start >= s->end || s->end > k || c > max || c != s->n_tokens || t[s->start] == ' ' ||
                t[s->end - 1] == ' ' || t[s->end - 1] == '\n')
                bad++;
            if (i && (s->start <= sp[i - 1].start || s->end <= sp[i - 1].end))
                bad++;
            if (i && s->start < sp[i - 1].end) {
                int shared = sem_count_words(NULL, t + s->start, sp[i - 1].end - s->start);
                if (shared > ov)
                    bad++;
            }
            if (ov == 0 && i && s->start < sp[i - 1].end)
                bad++;
            /* nothing but whitespace between the covered part and this span */
            for (size_t j = covered_to; j < s->start; j++)
                if (!(t[j] == ' ' || t[j] == '\n'))
                    bad++;
            if (s->end > covered_to)
                covered_to = s->end;
        }
        for (size_t j = covered_to; j < k; j++)
            if (!(t[j] == ' ' || t[j] == '\n'))
                bad++;
        if (calls > 4 * words + 8) /* counting is linear, not quadratic */
            bad++;
        free(sp);
    }
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    CHECK_EQ_INT(sem_count_words(NULL, "  a bb\tccc\n", 11), 3);
    test_basic();
    test_paragraphs();
    test_sentences_words();
    test_long_word_utf8();
    test_random();
    TEST_END();
}
