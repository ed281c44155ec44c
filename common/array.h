/* common/array.h: growing a malloc'd array by doubling, with the size computation overflow-checked.
 * Usage (n elements in use, cap allocated):
 *     if (n == cap) {
 *         item *g = sem_array_grow(items, &cap, sizeof *items, 256);
 *         if (!g)
 *             return SEM_ENOMEM;   // items and cap unchanged, still valid
 *         items = g;
 *     }
 * Reentrant; no state. */
#ifndef SEM_COMMON_ARRAY_H
#define SEM_COMMON_ARRAY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reallocates items (NULL for none yet) to twice *cap elements of size bytes, or to first elements when *cap
 * is 0, and stores the new capacity in *cap. Returns the new array, or NULL when the size overflows or memory
 * runs out (then items is untouched and *cap unchanged). */
void *sem_array_grow(void *items, size_t *cap, size_t size, size_t first);

#ifdef __cplusplus
}
#endif
#endif
