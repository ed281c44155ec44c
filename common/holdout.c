/* common/holdout.c: see common/holdout.h. */
#include "common/holdout.h"

#include <stdint.h>

int sem_holdout_doc(const char *ext_id)
{
    uint64_t h = 0xCBF29CE484222325ULL;
    for (const unsigned char *c = (const unsigned char *)ext_id; c && *c; c++) {
        h ^= *c;
        h *= 0x100000001B3ULL;
    }
    return h % SEM_HOLDOUT_MOD == 0;
}
