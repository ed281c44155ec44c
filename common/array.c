/* common/array.c: see array.h. */
#include "common/array.h"

#include <stdint.h>
#include <stdlib.h>

void *sem_array_grow(void *items, size_t *cap, size_t size, size_t first)
{
    size_t nc = *cap ? *cap : (first ? first : 1);
    if (*cap && nc > SIZE_MAX / 2)
        return NULL;
    if (*cap)
        nc *= 2;
    if (size == 0 || nc > SIZE_MAX / size)
        return NULL;
    void *g = realloc(items, nc * size);
    if (g)
        *cap = nc;
    return g;
}
