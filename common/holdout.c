/* common/holdout.c: see common/holdout.h. */
#include "common/holdout.h"

#include "common/hash.h"

int sem_holdout_doc(const char *ext_id)
{
    return sem_fnv1a64_str(ext_id) % SEM_HOLDOUT_MOD == 0;
}
