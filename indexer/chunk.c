/* indexer/chunk.c: splits a document into passages that fit the encoder (see sem_chunk in indexer.h).
 *
 * Two steps. (1) Units: each paragraph (text between blank lines) that fits max_tokens is one unit; a longer one
 * is cut into sentences (ending in . ! ? plus closing quotes/brackets before whitespace, or at a line break); a
 * sentence still too long into words; a word still too long into pieces of code points. (2) Packing: units are
 * packed greedily into passages while the sum of their counts fits; the next passage starts with the last units
 * of the previous one whose counts sum to at most overlap_tokens. Summing unit counts is exact for WordPiece,
 * which never merges across whitespace, and it saves recounting every candidate passage. */
#include <stdlib.h>
#include <string.h>

#include "indexer/indexer.h"

typedef struct unit_list {
    sem_span *u;
    size_t n, cap;
} unit_list;

typedef struct chunker {
    const char *t;
    int max;
    sem_count_tokens_fn count;
    void *ud;
    unit_list units;
    sem_error *err;
} chunker;

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int sem_count_words(void *user_data, const char *text, size_t len)
{
    (void)user_data;
    int n = 0, in = 0;
    for (size_t i = 0; i < len; i++) {
        if (is_ws(text[i]))
            in = 0;
        else if (!in) {
            in = 1;
            if (n < 0x7fffffff)
                n++;
        }
    }
    return n;
}

static int push(chunker *c, size_t s, size_t e, int tokens)
{
    if (c->units.n == c->units.cap) {
        size_t cap = c->units.cap ? c->units.cap * 2 : 64;
        sem_span *u = realloc(c->units.u, cap * sizeof *u);
        if (!u)
            return sem_error_set(c->err, SEM_ENOMEM, "out of memory");
        c->units.u = u;
        c->units.cap = cap;
    }
    c->units.u[c->units.n++] = (sem_span){s, e, tokens};
    return SEM_OK;
}

static int count(chunker *c, size_t s, size_t e, int *out)
{
    int n = c->count ? c->count(c->ud, c->t + s, e - s) : sem_count_words(NULL, c->t + s, e - s);
    if (n < 0)
        return sem_error_set(c->err, SEM_EINVAL, "token counting failed at byte %zu", s);
    *out = n;
    return SEM_OK;
}

/* Length of the UTF-8 character starting at t[i] (1 for a stray byte). */
static size_t utf8_len(const char *t, size_t i, size_t e)
{
    unsigned char b = (unsigned char)t[i];
    size_t n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    return i + n <= e ? n : e - i;
}

/* A word longer than the limit: pieces of at most max code points (WordPiece gives at most one token per code
 * point), halved while the counter still says too many. */
static int add_pieces(chunker *c, size_t s, size_t e)
{
    while (s < e) {
        size_t cps = (size_t)c->max, end;
        int n = 0;
        for (;;) {
            end = s;
            for (size_t k = 0; k < cps && end < e; k++)
                end += utf8_len(c->t, end, e);
            int rc = count(c, s, end, &n);
            if (rc)
                return rc;
            if (n <= c->max || cps == 1)
                break;
            cps /= 2;
        }
        if (push(c, s, end, n))
            return SEM_ENOMEM;
        s = end;
    }
    return SEM_OK;
}

/* Adds [s, e) trimmed as a unit at the given level (0 paragraph, 1 sentence, 2 word), cutting it finer when it
 * does not fit. */
static int add_unit(chunker *c, size_t s, size_t e, int level)
{
    while (s < e && is_ws(c->t[s]))
        s++;
    while (e > s && is_ws(c->t[e - 1]))
        e--;
    if (s == e)
        return SEM_OK;
    int n = 0, rc;
    if ((rc = count(c, s, e, &n)))
        return rc;
    if (n == 0 && level < 2)
        return push(c, s, e, 0);
    if (n <= c->max)
        return push(c, s, e, n);
    if (level >= 2)
        return add_pieces(c, s, e);
    const char *t = c->t;
    size_t a = s;
    if (level == 0) { /* sentences */
        for (size_t i = s; i < e; i++) {
            int end = 0;
            size_t j = i + 1;
            if (t[i] == '\n') {
                end = 1;
            } else if (t[i] == '.' || t[i] == '!' || t[i] == '?') {
                while (j < e && (t[j] == '"' || t[j] == '\'' || t[j] == ')' || t[j] == ']'))
                    j++;
                end = j == e || is_ws(t[j]);
            }
            if (end) {
                if ((rc = add_unit(c, a, j, 1)))
                    return rc;
                a = j;
                i = j - 1;
            }
        }
        return add_unit(c, a, e, 1);
    }
    /* words */
    for (size_t i = s; i <= e; i++) {
        if (i == e || is_ws(t[i])) {
            if (i > a && (rc = add_unit(c, a, i, 2)))
                return rc;
            a = i + 1;
        }
    }
    return SEM_OK;
}

int sem_chunk(const char *text, size_t len, int max_tokens, int overlap_tokens, sem_count_tokens_fn count_fn,
              void *user_data, sem_span **out, size_t *n_out, sem_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (max_tokens < 1)
        return sem_error_set(err, SEM_EINVAL, "chunk size must be at least 1 token (got %d)", max_tokens);
    if (overlap_tokens < 0 || overlap_tokens >= max_tokens)
        return sem_error_set(err, SEM_EINVAL, "chunk overlap must be in [0, %d) tokens (got %d)", max_tokens,
                             overlap_tokens);
    chunker c = {.t = text, .max = max_tokens, .count = count_fn, .ud = user_data, .err = err};
    int rc = SEM_OK;
    /* (1) paragraphs: split at lines that hold only whitespace */
    size_t ps = 0, i = 0;
    while (i < len && rc == SEM_OK) {
        const char *nl = memchr(text + i, '\n', len - i);
        if (!nl)
            break;
        size_t j = (size_t)(nl - text) + 1, k = j;
        while (k < len && text[k] != '\n' && is_ws(text[k]))
            k++;
        if (k < len && text[k] == '\n') { /* a blank line follows: paragraph break */
            rc = add_unit(&c, ps, j, 0);
            ps = k + 1;
            i = k + 1;
        } else {
            i = j;
        }
    }
    if (rc == SEM_OK)
        rc = add_unit(&c, ps, len, 0);
    if (rc != SEM_OK) {
        free(c.units.u);
        return rc;
    }
    /* (2) greedy packing */
    sem_span *u = c.units.u;
    size_t m = c.units.n, cap = 0, np = 0;
    sem_span *p = NULL;
    size_t start = 0;
    while (start < m) {
        long sum = 0;
        size_t j = start;
        while (j < m && (j == start || sum + u[j].n_tokens <= max_tokens))
            sum += u[j++].n_tokens;
        if (np == cap) {
            cap = cap ? cap * 2 : 16;
            sem_span *q = realloc(p, cap * sizeof *q);
            if (!q) {
                free(p);
                free(u);
                return sem_error_set(err, SEM_ENOMEM, "out of memory");
            }
            p = q;
        }
        p[np++] = (sem_span){u[start].start, u[j - 1].end, (int)sum};
        if (j >= m)
            break;
        /* the next passage repeats trailing units worth <= overlap tokens, leaving room for u[j] */
        size_t k = j;
        long ov = 0;
        while (k - 1 > start && ov + u[k - 1].n_tokens <= overlap_tokens &&
               ov + u[k - 1].n_tokens + u[j].n_tokens <= max_tokens)
            ov += u[--k].n_tokens;
        start = k;
    }
    free(u);
    *out = p;
    *n_out = np;
    return SEM_OK;
}
