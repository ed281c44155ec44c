/* common/error.h: error codes and the caller-owned error record used by every semsearch part.
 *
 * Convention: a function that can fail returns int (SEM_OK or a negative SEM_E* code) or a pointer that is NULL
 * on failure, and fills the sem_error the caller passed (which may be NULL when the caller does not care).
 * Library code never prints and never exits; the CLI and the server decide what the user sees.
 * Thread-safety: a sem_error belongs to one thread at a time; the functions here keep no global state. */
#ifndef SEM_ERROR_H
#define SEM_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    SEM_OK = 0,
    SEM_EINVAL = -1,    /* invalid argument or input (bad flag, malformed JSON, invalid UTF-8) */
    SEM_ENOMEM = -2,    /* allocation failed or a size overflowed */
    SEM_EIO = -3,       /* read/write/open failed (errno text in the message) */
    SEM_EFORMAT = -4,   /* a file is malformed: corrupt model, index or header */
    SEM_ENOTFOUND = -5, /* a file, document, tensor or key does not exist */
    SEM_EMISMATCH = -6, /* things that must agree do not (model vs KB, shapes vs config) */
    SEM_EFAISS = -7,    /* FAISS reported an error (its message is copied) */
    SEM_ESQLITE = -8,   /* SQLite reported an error (its message is copied) */
    SEM_ERANGE = -9,    /* a value is out of its allowed range */
    SEM_EBUSY = -10,    /* a resource is locked or in use */
    SEM_ENET = -11,     /* network failure */
    SEM_EINTERNAL = -12 /* a bug: an invariant broke */
};

#define SEM_ERROR_MSG_MAX 1024

typedef struct sem_error {
    int code;                    /* SEM_OK or a SEM_E* code */
    char msg[SEM_ERROR_MSG_MAX]; /* human-readable, NUL-terminated; empty when code is SEM_OK */
} sem_error;

/* Clears err (NULL is a no-op). */
void sem_error_clear(sem_error *err);

/* Sets err (may be NULL) to code and a printf-style message; returns code so callers can write
 * `return sem_error_set(err, SEM_EINVAL, "bad %s", x);`. A message longer than SEM_ERROR_MSG_MAX - 1 bytes is cut
 * at a UTF-8 character boundary (here and in sem_error_prefix), never inside a character. */
int sem_error_set(sem_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to err's message (context as an error travels up); returns err->code (0 if err NULL). */
int sem_error_prefix(sem_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A short static name for a code ("invalid input", "I/O error", …). */
const char *sem_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
