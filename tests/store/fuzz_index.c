/* tests/store/fuzz_index.c: fuzz entry point for the index-file loader (sem_vindex_load). The first input byte
 * picks whether the header checksum is recomputed after the mutation, so that mutated header fields (sizes,
 * counts, dim, metric, version) reach their checks; the payload checksum is never fixed up, because FAISS must
 * only ever read bytes whose checksum matched. Under clang: a libFuzzer binary; elsewhere replayed by
 * test_index_fuzz.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/vindex.h"

#define FUZZ_UUID "0123456789abcdef0123456789abcdef"
#define FUZZ_DIM 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int sem_fuzz_index_loads; /* successful loads, for the replay test's assertions */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        snprintf(path, sizeof path, "%s/semstore-fuzz-%d.faiss", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                 (int)getpid());
    if (size == 0)
        return 0;
    int reseal = data[0] & 1;
    unsigned char *buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    if (reseal)
        sem_vindex_reseal_header(buf, size - 1);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, size - 1, f);
        fclose(f);
        sem_vindex *v = NULL;
        sem_error err;
        for (int metric = 0; metric < 2; metric++) {
            if (sem_vindex_load(path, FUZZ_UUID, FUZZ_DIM, metric, &v, &err) == SEM_OK) {
                sem_fuzz_index_loads++;
                /* A file that loads must also search. */
                float q[FUZZ_DIM] = {1, 0, 0, 0, 0, 0, 0, 0};
                sem_kb_hit h[4];
                int nh;
                sem_vindex_search(v, 1, q, 4, 2, 0, h, &nh, &err);
                sem_vindex_free(v);
                v = NULL;
            }
        }
        unlink(path);
    }
    free(buf);
    return 0;
}
