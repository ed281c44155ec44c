/* store/fts_query.c: free text -> a safe FTS5 MATCH expression (see fts_query.h). */
#include "store/fts_query.h"

#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "store/fts_tokenizer.h"
#include "store/kb.h"

int sem_fts_word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

int sem_fts_next_word(const char *text, size_t n, size_t *pos, size_t *start, size_t *len)
{
    size_t i = *pos;
    while (i < n && !sem_fts_word_byte((unsigned char)text[i]))
        i++;
    if (i >= n) {
        *pos = n;
        return 0;
    }
    size_t j = i;
    while (j < n && sem_fts_word_byte((unsigned char)text[j]))
        j++;
    *start = i;
    *len = j - i;
    *pos = j;
    return 1;
}

char *sem_fts_words(const char *text)
{
    size_t n = strlen(text), pos = 0, start, len, k = 0;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    while (sem_fts_next_word(text, n, &pos, &start, &len)) {
        if (k)
            out[k++] = ' ';
        memcpy(out + k, text + start, len);
        k += len;
    }
    out[k] = 0;
    return out;
}

void sem_fts_put_string(sem_strbuf *b, const char *s, size_t n)
{
    sem_strbuf_put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        const char *q = memchr(s + i, '"', n - i);
        size_t run = q ? (size_t)(q - (s + i)) + 1 : n - i; /* up to and including the quote */
        sem_strbuf_put(b, s + i, run);
        if (q)
            sem_strbuf_put(b, "\"", 1); /* doubled */
        i += run;
    }
    sem_strbuf_put(b, "\"", 1);
}

/* The English stopwords: NLTK's list (the Snowball list plus the pieces that contractions split into, since a
 * word here ends at an apostrophe: don't -> don, t), sorted for bsearch. The one list of the project: the search
 * page gets the words to highlight from the server (sem_kb_text_terms). Measured (docs/store.md): dropping them
 * from the query cost 3 points of nDCG@10 on a FAQ whose titles are questions ("why", "how" match them), while
 * keeping them only as a secondary group (below) gained on both evaluation sets. */
static const char *const STOPWORDS[] = {
    "a",       "about",    "above",  "after",   "again",   "against", "ain",        "all",    "am",
    "an",      "and",      "any",    "are",     "aren",    "as",      "at",         "be",     "because",
    "been",    "before",   "being",  "below",   "between", "both",    "but",        "by",     "can",
    "couldn",  "d",        "did",    "didn",    "do",      "does",    "doesn",      "doing",  "don",
    "down",    "during",   "each",   "few",     "for",     "from",    "further",    "had",    "hadn",
    "has",     "hasn",     "have",   "haven",   "having",  "he",      "her",        "here",   "hers",
    "herself", "him",      "himself", "his",    "how",     "i",       "if",         "in",     "into",
    "is",      "isn",      "it",     "its",     "itself",  "just",    "ll",         "m",      "ma",
    "me",      "mightn",   "more",   "most",    "mustn",   "my",      "myself",     "needn",  "no",
    "nor",     "not",      "now",    "o",       "of",      "off",     "on",         "once",   "only",
    "or",      "other",    "our",    "ours",    "ourselves", "out",   "over",       "own",    "re",
    "s",       "same",     "shan",   "she",     "should",  "shouldn", "so",         "some",   "such",
    "t",       "than",     "that",   "the",     "their",   "theirs",  "them",       "themselves", "then",
    "there",   "these",    "they",   "this",    "those",   "through", "to",         "too",    "under",
    "until",   "up",       "ve",     "very",    "was",     "wasn",    "we",         "were",   "weren",
    "what",    "when",     "where",  "which",   "while",   "who",     "whom",       "why",    "will",
    "with",    "won",      "wouldn", "y",       "you",     "your",    "yours",      "yourself", "yourselves",
};

static int cmp_stop(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

int sem_fts_stopword(const char *w, size_t n)
{
    char low[16];
    if (n == 0 || n >= sizeof low)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (c < 'a' || c > 'z')
            return 0;
        low[i] = c;
    }
    low[n] = 0;
    return bsearch(low, STOPWORDS, sizeof STOPWORDS / sizeof *STOPWORDS, sizeof *STOPWORDS, cmp_stop) != NULL;
}

/* Calls term(ud, start, len) for every term of s (n bytes) in order until it returns non-zero: each word, or
 * with cjk, each word's non-CJK pieces as they are and its CJK runs as their overlapping bigrams (a one-character
 * run as that character). */
typedef int (*term_fn)(void *ud, size_t start, size_t len);

static int cjk_word_terms(const char *s, size_t ws, size_t we, term_fn term, void *ud)
{
    size_t piece = ws;               /* start of the non-CJK piece not yet given */
    size_t prev = SIZE_MAX, np = 0;  /* the previous character of the current CJK run */
    int run = 0, stop = 0;           /* characters in the current run */
    for (size_t i = ws; i < we && !stop;) {
        uint32_t cp;
        size_t len = sem_fts_utf8_next(s + i, we - i, &cp);
        if (sem_fts_is_cjk(cp)) {
            if (run == 0 && piece < i)
                stop = term(ud, piece, i - piece);
            else if (run > 0 && !stop)
                stop = term(ud, prev, np + len);
            prev = i;
            np = len;
            run++;
            piece = i + len;
        } else if (run > 0) {
            if (run == 1)
                stop = term(ud, prev, np);
            run = 0;
        }
        i += len;
    }
    if (!stop && run == 1)
        stop = term(ud, prev, np);
    if (!stop && piece < we && run == 0)
        stop = term(ud, piece, we - piece);
    return stop;
}

static void each_term(const char *s, size_t n, int cjk, term_fn term, void *ud)
{
    size_t pos = 0, start, len;
    while (sem_fts_next_word(s, n, &pos, &start, &len))
        if (cjk ? cjk_word_terms(s, start, start + len, term, ud) : term(ud, start, len))
            return;
}

typedef struct term_pass {
    const char *s;
    int has_content;      /* set when a term is not a stopword */
    sem_fts_term *out;    /* NULL while only looking for content */
    int n;
} term_pass;

static int find_content(void *ud, size_t start, size_t len)
{
    term_pass *p = ud;
    p->has_content = !sem_fts_stopword(p->s + start, len);
    return p->has_content; /* stop at the first one */
}

static int keep_term(void *ud, size_t start, size_t len)
{
    term_pass *p = ud;
    sem_fts_term *t = &p->out[p->n];
    t->start = start;
    t->len = len;
    /* in a query of stopwords only they are what there is: bm25's IDF ranks them */
    t->stop = p->has_content && sem_fts_stopword(p->s + start, len);
    return ++p->n == SEM_FTS_MAX_WORDS;
}

static int check_query(const char *query, size_t *n, sem_error *err)
{
    if (!query)
        return sem_error_set(err, SEM_EINVAL, "no query");
    size_t bad;
    *n = strlen(query);
    if (*n > SEM_KB_MAX_QUERY_BYTES)
        return sem_error_set(err, SEM_EINVAL, "the query is too long: %zu bytes, the limit is %d", *n,
                             SEM_KB_MAX_QUERY_BYTES);
    if (!sem_utf8_valid(query, *n, &bad))
        return sem_error_set(err, SEM_EINVAL, "the query is not valid UTF-8 (byte %zu)", bad);
    return SEM_OK;
}

int sem_fts_terms(const char *query, int cjk, sem_fts_term *terms, int *n_terms, sem_error *err)
{
    size_t n = 0;
    *n_terms = 0;
    int rc = check_query(query, &n, err);
    if (rc)
        return rc;
    term_pass p = {query, 0, NULL, 0};
    each_term(query, n, cjk, find_content, &p);
    p.out = terms;
    each_term(query, n, cjk, keep_term, &p);
    *n_terms = p.n;
    return SEM_OK;
}

/* Appends the terms (all, or only those that are not stopwords) as FTS5 strings joined with " OR ". */
static void put_or(sem_strbuf *b, const char *query, const sem_fts_term *t, int nt, int content_only)
{
    int first = 1;
    for (int i = 0; i < nt; i++) {
        if (content_only && t[i].stop)
            continue;
        if (!first)
            sem_strbuf_puts(b, " OR ");
        first = 0;
        sem_fts_put_string(b, query + t[i].start, t[i].len);
    }
}

int sem_fts_query(const char *query, int cjk, char **out, sem_error *err)
{
    *out = NULL;
    sem_fts_term t[SEM_FTS_MAX_WORDS];
    int nt, rc = sem_fts_terms(query, cjk, t, &nt, err);
    if (rc)
        return rc;
    int nstop = 0;
    for (int i = 0; i < nt; i++)
        nstop += t[i].stop;
    sem_strbuf b = {0}; /* finish gives "" when there is no term */
    if (nstop == 0) {
        put_or(&b, query, t, nt, 0);
    } else { /* (content) AND (content OR stopwords): see fts_query.h */
        sem_strbuf_puts(&b, "(");
        put_or(&b, query, t, nt, 1);
        sem_strbuf_puts(&b, ") AND (");
        put_or(&b, query, t, nt, 0);
        sem_strbuf_puts(&b, ")");
    }
    if (!(*out = sem_strbuf_finish(&b)))
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    return SEM_OK;
}
