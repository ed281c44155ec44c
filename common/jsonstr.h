/* common/jsonstr.h: JSON string literals without a JSON library: a length-aware decoder, and a writer for
 * code that streams JSON to a FILE.
 *
 * cJSON stores strings NUL-terminated, so a "\u0000" in the input silently cuts the string there. Readers
 * that must keep every byte (the JSON-lines input of `semsearch tokenize`/`embed`, the tokenizer fixtures)
 * decode the literal themselves with this function, which returns the bytes and their length.
 * Writers (the CLI's JSON output, the HTTP server's replies) replace invalid UTF-8 with U+FFFD, with the helpers
 * at the end of this header.
 * Thread-safety: reentrant; touches only its arguments. */
#ifndef SEM_JSONSTR_H
#define SEM_JSONSTR_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decodes the JSON string literal at *pp, which must point at its opening quote, reading no byte at or past
 * end. On success returns 0, stores a malloc'd buffer in *out (caller frees; NUL-terminated, but it may hold
 * NULs, so use *len) and its length in *len, and advances *pp just past the closing quote.
 * Returns -1 (nothing allocated, *pp unchanged) on malformed input: no opening or closing quote, a raw
 * control character (< 0x20), an unknown escape, a bad \u escape, a high surrogate not followed by a low one,
 * or a lone low surrogate; also when out of memory. Raw bytes >= 0x80 are copied as they are (not validated:
 * use sem_utf8_valid() on the result where that matters). */
int sem_json_string_decode(const char **pp, const char *end, char **out, size_t *len);

/* Writes the NUL-terminated string s to f as a JSON string literal, quotes included: '"' and '\\' escaped,
 * \n \r \t as such, other bytes < 0x20 as \u00XX, valid UTF-8 as it is, and each byte that does not start a
 * valid UTF-8 sequence as U+FFFD (so the output is always valid UTF-8 JSON). Write errors are left in ferror(f). */
void sem_json_write_string(FILE *f, const char *s);

/* ---- UTF-8 repair: what is sent to a client must be valid UTF-8 whatever bytes came in ---- */

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when s[0] does not start one within n bytes
 * (a stray continuation byte, an overlong form, a surrogate, a code point over U+10FFFF, a cut sequence).
 * The same rules as sem_utf8_valid (common/fileio.h). n >= 1. */
size_t sem_utf8_seq_len(const char *s, size_t n);

/* The largest m <= len such that s[0..m) does not end inside a multi-byte sequence: where to cut a string that
 * is too long. Only the last 3 bytes are looked at; bytes before them are not validated. */
size_t sem_utf8_cut(const char *s, size_t len);

/* A malloc'd, NUL-terminated copy of s[0..len) in which every byte that does not start a valid UTF-8 sequence
 * is replaced by U+FFFD (EF BF BD); *out_len (may be NULL) receives its length. Valid input is copied as is.
 * NULL when out of memory (or when len is so large that the 3x worst case overflows). The caller frees. */
char *sem_utf8_repair(const char *s, size_t len, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
