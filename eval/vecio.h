/* eval/vecio.h: reading vector files for evaluation, and writing ground truth.
 *
 * Formats (chosen by the file name's extension):
 *  - .fvecs / .bvecs / .ivecs (TEXMEX, the SIFT/GIST benchmark format): per vector a little-endian int32
 *    dimension d followed by d float32 / uint8 / int32 values; every vector has the same d.
 *  - .npy (NumPy, format versions 1.0, 2.0 and 3.0): a 2-D C-order array of little-endian float32, float16 or
 *    float64 (the last two are converted to float32).
 * Files are untrusted input: every header field is checked against the file's real size before anything is
 * allocated, so a truncated file, a wrong or inconsistent dimension, a lying npy shape or an unsupported dtype is
 * a clear SEM_EFORMAT error naming the file, never a crash or a giant allocation.
 * Threads: all functions are reentrant. Ownership: sem_vecs owns its data; free it with sem_vecs_free. */
#ifndef SEM_EVAL_VECIO_H
#define SEM_EVAL_VECIO_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEM_VECS_MAX_DIM 65536 /* larger dimensions are rejected as malformed */

typedef struct sem_vecs {
    float *data; /* (n, d) row-major, malloc'd */
    size_t n, d;
} sem_vecs;

/* Reads path (.fvecs, .bvecs, .ivecs or .npy) into *out as float32 (ivecs values converted). On failure *out is
 * left empty (data NULL). */
int sem_vecs_read(const char *path, sem_vecs *out, sem_error *err);

/* Reads an .ivecs file of int32 values (a TEXMEX ground-truth file) into *ids, (n, d) row-major as int64 (caller
 * frees). */
int sem_ivecs_read(const char *path, int64_t **ids, size_t *n, size_t *d, sem_error *err);

/* Writes ids (n, d) as .ivecs atomically (common/fileio.h). Ids must fit int32 (else SEM_ERANGE). */
int sem_ivecs_write(const char *path, const int64_t *ids, size_t n, size_t d, sem_error *err);

/* Writes x (n, d) as .fvecs or as .npy (float32), by path's extension, atomically. */
int sem_vecs_write(const char *path, const float *x, size_t n, size_t d, sem_error *err);

void sem_vecs_free(sem_vecs *v); /* frees data and empties v; NULL is a no-op */

/* Parses a memory image of a file (what sem_vecs_read does after reading it); fmt is "fvecs", "bvecs", "ivecs"
 * or "npy"; name is used in messages. For fuzzing and tests. */
int sem_vecs_parse(const void *buf, size_t len, const char *fmt, const char *name, sem_vecs *out, sem_error *err);

#ifdef __cplusplus
}
#endif
#endif
