/* store/fts_tokenizer.h (internal to store/, exposed for tests and fuzzing): semsearch_cjk, the FTS5 tokenizer
 * of schema-3 KBs.
 *
 * It behaves exactly as FTS5's unicode61 tokenizer (it takes the same options and hands every stretch of text
 * without CJK characters to a unicode61 instance: case folding, remove_diacritics, separators), and splits runs
 * of Han, Hiragana, Katakana and Hangul characters (sem_fts_is_cjk) the way Lucene's CJKAnalyzer and
 * Elasticsearch's `cjk` analyzer do, into overlapping character bigrams, plus single characters:
 *
 *   document  新冠病毒   position 0: 新, 新冠 (colocated)   1: 冠, 冠病   2: 病, 病毒   3: 毒
 *   query     病毒       position 0: 病毒   1: 毒          (a phrase: matches wherever 病毒 occurs)
 *   query     病         position 0: 病
 *
 * Every position starts with the single character (its offsets are that character's bytes) and the bigram
 * starting there is colocated with it (its offsets span both characters), so the offsets FTS5's highlight() and
 * snippet() use never overlap. A query string of n >= 2 CJK characters becomes the phrase of its n - 1 bigrams
 * followed by its last character: it matches exactly where the string occurs, and highlight() marks all of it.
 * The query builder (fts_query.h) splits a CJK run of a free-text query into its bigrams ORed together, so that
 * 新冠病毒 finds a passage about 病毒 and bm25's IDF ranks by how many and how rare the shared bigrams are.
 * Mixed text ("apt install 软件包", "apt软件包") gives the unicode61 tokens of the alphabetic part and the CJK
 * tokens of the rest. FTS5's porter tokenizer chains on top of it: tokenize='porter semsearch_cjk ...'.
 *
 * Time is linear in the input; invalid UTF-8 bytes are never CJK and go to unicode61 as they are.
 * Thread-safety: registration is per connection; a connection is used by one thread at a time. */
#ifndef SEM_FTS_TOKENIZER_H
#define SEM_FTS_TOKENIZER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEM_FTS_CJK_TOKENIZER "semsearch_cjk"

/* The tokenize= options a KB's passages_fts may have (meta key fts_tokenizer; docs/store.md). */
#define SEM_FTS_TOKENIZER_V2 "unicode61 remove_diacritics 2"                  /* schema 2: no CJK, no stems */
#define SEM_FTS_TOKENIZER_PORTER "porter semsearch_cjk remove_diacritics 2"   /* schema 3, --stemming porter */
#define SEM_FTS_TOKENIZER_NOSTEM "semsearch_cjk remove_diacritics 2"          /* schema 3, --stemming none */

/* Registers semsearch_cjk on db (the store does it for every connection it opens). SEM_ESQLITE when the SQLite
 * library has no FTS5. */
int sem_fts_tokenizer_register(sqlite3 *db, sem_error *err);

/* 1 if code point cp is Han, Hiragana, Katakana or Hangul (the characters split into bigrams), else 0. */
int sem_fts_is_cjk(uint32_t cp);

/* Decodes the UTF-8 character at s (n >= 1 bytes): returns its length (1..4) and sets *cp; a byte that does not
 * start a valid sequence has length 1 and *cp = 0xFFFFFFFF (never CJK). */
size_t sem_fts_utf8_next(const char *s, size_t n, uint32_t *cp);

#ifdef __cplusplus
}
#endif
#endif
