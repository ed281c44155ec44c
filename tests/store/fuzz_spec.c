/* tests/store/fuzz_spec.c: libFuzzer target for the index spec check (sem_kb_check_spec, store/spec.c) that guards
 * faiss_index_factory. Input: byte 0 picks the dimension (1..64), the rest is the spec. Invariants: no crash; an
 * accepted spec is printable ASCII under 128 bytes; sem_kb_resolve_spec never accepts what the check refuses;
 * FAISS builds or cleanly refuses every accepted spec (an abort, a crash or a huge allocation inside FAISS on an
 * accepted spec is a finding: tighten the grammar). Replayed in ctest by test_spec_fuzz over
 * tests/store/corpus/spec. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/kb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256)
        return 0;
    int d = 1 + data[0] % 64;
    char spec[256];
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = 0;
    sem_error err;
    int check = sem_kb_check_spec(spec, d, &err);
    if (check != SEM_OK && check != SEM_EINVAL)
        abort();
    if (check == SEM_OK) {
        size_t n = strlen(spec);
        if (n == 0 || n >= 128)
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)spec[i] <= ' ' || (unsigned char)spec[i] > '~')
                abort();
    }
    char out[128];
    int rc = sem_kb_resolve_spec(spec, 0, d, out, sizeof out, &err); /* calls FAISS on accepted specs */
    if (rc == SEM_OK && check != SEM_OK && strcmp(spec, "auto") != 0 && spec[0])
        abort();
    if (rc != SEM_OK && rc != SEM_EINVAL)
        abort();
    return 0;
}
