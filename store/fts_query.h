/* store/fts_query.h (internal to store/, exposed for tests and fuzzing): free text -> an FTS5 MATCH expression.
 *
 * Lexical search never hands user text to FTS5 as syntax. The text is split into words (sem_fts_next_word), each
 * word becomes one FTS5 string (sem_fts_put_string: "…" with '"' doubled), and the strings are joined with OR
 * (sem_fts_query). The result is always a valid FTS5 query whatever the input (tests/store/fuzz_fts_query.c runs
 * every built query through a real FTS5 table).
 *
 * Extending it (stemming, stopwords, a title column, another tokenizer): a word filter goes between
 * sem_fts_next_word and sem_fts_put_string in sem_fts_query; a column restriction is a prefix ("{title text} : "
 * before a parenthesised group); a tokenizer for scripts without spaces replaces sem_fts_next_word. Keep
 * SEM_FTS_TOKENIZER in step with the words produced here: FTS5 tokenizes inside each string again.
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

/* The FTS5 tokenizer of passages_fts (store/db.c creates the table with it). */
#define SEM_FTS_TOKENIZER "unicode61 remove_diacritics 2"

/* At most this many words of a query are searched (the rest is ignored): bm25 over more terms costs more and
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

/* Builds the MATCH expression for the free text query (UTF-8, at most SEM_KB_MAX_QUERY_BYTES bytes): the first
 * SEM_FTS_MAX_WORDS words as FTS5 strings joined with " OR ". *out is "" when the text has no word.
 * SEM_EINVAL for invalid UTF-8 or an over-long query, SEM_ENOMEM. */
int sem_fts_query(const char *query, char **out, sem_error *err);

#ifdef __cplusplus
}
#endif
#endif
