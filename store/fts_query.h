/* store/fts_query.h (internal to store/, exposed for tests and fuzzing): free text -> an FTS5 MATCH expression.
 *
 * Lexical search never hands user text to FTS5 as syntax. The text is split into terms (sem_fts_terms), each
 * term becomes one FTS5 string (sem_fts_put_string: "…" with '"' doubled), and the strings are joined with OR
 * (sem_fts_query). The result is always a valid FTS5 query whatever the input (tests/store/fuzz_fts_query.c runs
 * every built query through a real FTS5 table).
 *
 * Stopwords (sem_fts_stopword, English, the project's one list) do not dominate: when the text has other terms,
 * the query is (C) AND (C OR S) for its content terms C and stopwords S, all ORed. A stopword then never brings
 * a passage in on its own, and since FTS5's bm25 scores every phrase of the expression, the content terms count
 * twice and the stopwords once: "why is X" still prefers the FAQ entry titled "Why is X ...", with bm25's IDF
 * intact. A text of stopwords only is searched as their OR. The page highlights only C (sem_kb_text_terms).
 *
 * Terms: the words of the text (runs of ASCII letters and digits and non-ASCII characters). For a KB whose FTS
 * uses semsearch_cjk (cjk = 1, schema 3; fts_tokenizer.h), a word's CJK runs are split into their overlapping
 * bigrams (a one-character run stays one character) and its other pieces stay whole: "apt软件包" -> apt, 软件,
 * 件包. At most SEM_FTS_MAX_WORDS terms are kept. FTS5 tokenizes inside each string again (stems with porter,
 * folds case).
 *
 * Memory: sem_fts_query's *out is malloc'd (caller frees). Thread-safety: pure functions, no global state. */
#ifndef SEM_FTS_QUERY_H
#define SEM_FTS_QUERY_H

#include <stddef.h>

#include "common/error.h"
#include "common/strbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* At most this many terms of a query are searched (the rest is ignored): bm25 over more terms costs more and
 * ranks no better. */
#define SEM_FTS_MAX_WORDS 64

/* 1 if byte c belongs to a word: ASCII letters and digits, and every byte >= 0x80 (any non-ASCII character,
 * so that a UTF-8 sequence is never split). */
int sem_fts_word_byte(unsigned char c);

/* Finds the next word of text (n bytes) at or after *pos: on return 1, [*start, *start + *len) is the word and
 * *pos is past it; returns 0 when no word is left. */
int sem_fts_next_word(const char *text, size_t n, size_t *pos, size_t *start, size_t *len);

/* Appends s (n bytes) to b as one FTS5 string literal: "s" with every '"' doubled. */
void sem_fts_put_string(sem_strbuf *b, const char *s, size_t n);

/* 1 if the n bytes at w are an English stopword (ASCII, any case). */
int sem_fts_stopword(const char *w, size_t n);

/* One term: query[start, start + len); stop = 1 for a stopword in a text that has other terms. */
typedef struct sem_fts_term {
    size_t start, len;
    int stop;
} sem_fts_term;

/* Splits the free text query (UTF-8, at most SEM_KB_MAX_QUERY_BYTES bytes) into the terms lexical search looks
 * for, as described at the top: terms (SEM_FTS_MAX_WORDS entries, caller's) gets *n_terms of them, in order.
 * SEM_EINVAL for invalid UTF-8 or an over-long query. */
int sem_fts_terms(const char *query, int cjk, sem_fts_term *terms, int *n_terms, sem_error *err);

/* Builds the MATCH expression for query: its terms (sem_fts_terms) as FTS5 strings joined with " OR ", or
 * "(C) AND (T)" when some are stopwords (C: the other terms ORed, T: all of them ORed, as above). *out is "" when
 * the text has no term. SEM_EINVAL as sem_fts_terms, SEM_ENOMEM. */
int sem_fts_query(const char *query, int cjk, char **out, sem_error *err);

#ifdef __cplusplus
}
#endif
#endif
