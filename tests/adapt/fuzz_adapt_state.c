/* tests/adapt/fuzz_adapt_state.c: libFuzzer target for the adapt run's state file reader (adapt/state.c,
 * KB/adapt-work/state.json: a KB folder may come from anyone). The input is the file's content. Invariants:
 * reading never crashes (ASan) and either refuses the file (SEM_EFORMAT, SEM_EIO) or yields a state whose stage
 * and generation are in range, which writes back and reads again to the same state. Replayed in ctest by
 * test_adapt_state_fuzz. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/adapt_impl.h"
#include "common/fileio.h"

static char dir[64], path[96];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/sem_fuzz_adapt_state_%d", (int)getpid());
        snprintf(path, sizeof path, "%s/state.json", dir);
        if (sem_mkdir_p(dir, NULL) != SEM_OK)
            abort();
    }
    if (sem_write_file_atomic(path, data, size, NULL) != SEM_OK)
        return 0;
    adapt_state st, st2;
    if (adapt_state_read(dir, &st, NULL) != SEM_OK)
        return 0;
    if (st.stage < SEM_ADAPT_MINE || st.stage > SEM_ADAPT_DONE || st.generation < 1)
        abort();
    if (adapt_state_write(dir, &st, NULL) != SEM_OK || adapt_state_read(dir, &st2, NULL) != SEM_OK)
        abort();
    if (strcmp(st.base_model, st2.base_model) || strcmp(st.base_hash, st2.base_hash) || st.stage != st2.stage ||
        st.generation != st2.generation || st.steps[0] != st2.steps[0] || st.rep.pairs != st2.rep.pairs)
        abort();
    return 0;
}
