/* tests/store/test_index_fuzz.c: replays fuzz_index.c over valid index files (Flat, IVF, HNSW with tombstones,
 * untrained buffer) and thousands of deterministic mutations of them: bit flips, boundary-value overwrites in
 * the header (sizes, counts, dim, metric, version), truncations, extensions; with and without a resealed header.
 * No crash, no leak (run it under ASan); valid files load and every mutation of them is rejected. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "store/vindex.h"
#include "store_test_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int sem_fuzz_index_loads;

#define UUID "0123456789abcdef0123456789abcdef"
#define DIM 8

static unsigned char *make_file(const char *spec, int n, int remove, size_t *len)
{
    sem_vindex *v = NULL;
    sem_error err;
    CHECK_EQ_INT(sem_vindex_new(spec, DIM, SEM_KB_METRIC_IP, &v, &err), SEM_OK);
    if (!v)
        return NULL;
    float *x = malloc((size_t)n * DIM * sizeof *x);
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    tu_clustered(x, n, DIM, 4, 0.3f);
    for (int i = 0; i < n; i++)
        ids[i] = 1000 + i;
    if (sem_vindex_untrained(v) && n >= v->train_min)
        CHECK_EQ_INT(sem_vindex_train(v, n, x, &err), SEM_OK);
    CHECK_EQ_INT(sem_vindex_add(v, n, ids, x, &err), SEM_OK);
    if (remove)
        CHECK_EQ_INT(sem_vindex_remove(v, remove, ids, &err), SEM_OK);
    v->last_seq = 42;
    char path[600];
    snprintf(path, sizeof path, "/tmp/semstore-fuzzseed-%d.faiss", (int)getpid());
    CHECK_EQ_INT(sem_vindex_save(v, path, UUID, &err), SEM_OK);
    sem_vindex_free(v);
    free(x);
    free(ids);
    /* It loads back, with its tombstones. */
    sem_vindex *back = NULL;
    CHECK_EQ_INT(sem_vindex_load(path, UUID, DIM, SEM_KB_METRIC_IP, &back, &err), SEM_OK);
    if (back) {
        CHECK_EQ_INT(back->last_seq, 42);
        CHECK_EQ_INT(sem_vindex_nlive(back), n - remove);
        sem_vindex_free(back);
    }
    CHECK_EQ_INT(sem_vindex_load(path, "ffffffffffffffffffffffffffffffff", DIM, SEM_KB_METRIC_IP, &back, &err),
                 SEM_EMISMATCH);
    CHECK_EQ_INT(sem_vindex_load(path, UUID, DIM + 1, SEM_KB_METRIC_IP, &back, &err), SEM_EMISMATCH);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len + 1);
    b[0] = 0;
    CHECK(fread(b + 1, 1, *len, f) == *len);
    fclose(f);
    unlink(path);
    (*len)++;
    return b; /* b[0] is the fuzz-mode byte */
}

static const unsigned char boundary[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};

int main(void)
{
    const char *specs[] = {"Flat", "IVF4,Flat", "HNSW8", "IVF4,Flat"};
    int ns[] = {60, 200, 60, 20}, rm[] = {5, 10, 7, 0}; /* the last stays untrained (20 < 156) */
    int mutations = 0;
    for (int s = 0; s < 4; s++) {
        size_t len = 0;
        unsigned char *seed = make_file(specs[s], ns[s], rm[s], &len);
        if (!seed)
            continue;
        unsigned char *m = malloc(len + 64);
        for (int it = 0; it < 1500; it++) {
            memcpy(m, seed, len);
            size_t ml = len;
            m[0] = (unsigned char)(it & 1);
            int kind = (it >> 1) % 4;
            if (kind == 0) { /* header field overwrite with a boundary value */
                size_t pos = 1 + tu_next() % 256;
                int w = 1 + (int)(tu_next() % 8);
                for (int i = 0; i < w && pos + (size_t)i < ml; i++)
                    m[pos + i] = boundary[tu_next() % sizeof boundary];
            } else if (kind == 1) { /* bit flips anywhere */
                for (int i = 0; i < 1 + (int)(tu_next() % 3); i++)
                    m[1 + tu_next() % (len - 1)] ^= (unsigned char)(1u << (tu_next() % 8));
            } else if (kind == 2) { /* truncation */
                ml = 1 + tu_next() % (len - 1);
            } else { /* extension */
                size_t extra = 1 + tu_next() % 64;
                for (size_t i = 0; i < extra; i++)
                    m[len + i] = (unsigned char)tu_next();
                ml = len + extra;
            }
            int changed = ml != len || memcmp(m + 1, seed + 1, len - 1) != 0;
            int before = sem_fuzz_index_loads;
            LLVMFuzzerTestOneInput(m, ml);
            /* Without a resealed header, any change must be caught by the size or a checksum. */
            if (changed && !m[0])
                CHECK_MSG(sem_fuzz_index_loads == before, "%s: mutation %d (kind %d) was accepted", specs[s], it,
                          kind);
            mutations++;
        }
        int before = sem_fuzz_index_loads;
        LLVMFuzzerTestOneInput(seed, len); /* the valid file itself: loads with metric ip only */
        CHECK_EQ_INT(sem_fuzz_index_loads, before + 1);
        free(m);
        free(seed);
    }
    /* Degenerate inputs. */
    LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
    LLVMFuzzerTestOneInput((const uint8_t *)"\x01", 1);
    CHECK_EQ_INT(mutations, 6000);
    TEST_END();
}
