/* common/jsonstr.h: JSON string literals without a JSON library: a length-aware decoder, and a writer for
 * code that streams JSON to a FILE.
 *
 * cJSON stores strings NUL-terminated, so a "\u0000" in the input silently cuts the string there. Readers
 * that must keep every byte (the JSON-lines input of `semsearch tokenize`/`embed`, the tokenizer fixtures)
 * decode the literal themselves with this function, which returns the bytes and their length.
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
 * \n \r \t as such, other bytes < 0x20 as \u00XX, every other byte (UTF-8 included) as it is. Write errors
 * are left in ferror(f). */
void sem_json_write_string(FILE *f, const char *s);

#ifdef __cplusplus
}
#endif
#endif
