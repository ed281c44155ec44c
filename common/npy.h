/* common/npy.h: the header of a NumPy .npy file (format version 1.0) for a C-order, little-endian array: what
 * `kb export --format npy` (store/) and the vector files of eval/ (eval/vecio.c) write. Readers are eval's.
 * Thread-safety: pure. */
#ifndef SEM_NPY_H
#define SEM_NPY_H

#include <stddef.h>
#include <stdint.h>

#define SEM_NPY_HEADER_MAX 192 /* enough for any 2-D shape of 64-bit sizes */

/* Writes into out (cap bytes) the header of an array of dtype descr ("<f4", "<i8") and shape (rows, cols), or
 * (rows,) when cols is 0: magic, version 1.0, length, the dict padded with spaces and '\n' so that the data
 * starts at a multiple of 64. Returns the header's length, or 0 if cap is too small (or descr too long). */
size_t sem_npy_header(char *out, size_t cap, const char *descr, uint64_t rows, uint64_t cols);

#endif
