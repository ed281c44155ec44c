/* tests/cli/test_linereader_fuzz.c: replays the saved line-reader corpus (tests/cli/corpus/linereader) through
 * the libFuzzer entry point in fuzz_linereader.c, plus deterministic mutations of each file (byte flips, newlines
 * and carriage returns inserted, truncations), so the fuzz invariants run in ctest with any compiler.
 * Usage: test_linereader_fuzz CORPUS_DIR [MUTATIONS] */
#include "test.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void mutate_and_run(const uint8_t *buf, size_t n, int mutations)
{
    static uint8_t mut[65536 + 16];
    for (int m = 0; m < mutations && n > 0; m++) {
        size_t len = n;
        memcpy(mut, buf, n);
        size_t at = next() % len;
        switch (next() % 4) {
        case 0:
            mut[at] ^= (uint8_t)(1u << (next() % 8));
            break;
        case 1:
            len = 1 + at;
            break;
        case 2:
            mut[at] = (next() & 1) ? '\n' : '\r';
            break;
        default:
            mut[at] = 0;
            break;
        }
        LLVMFuzzerTestOneInput(mut, len);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
        return 2;
    }
    int mutations = argc > 2 ? atoi(argv[2]) : 100;
    DIR *d = opendir(argv[1]);
    CHECK(d != NULL);
    if (!d)
        TEST_END();
    struct dirent *e;
    int files = 0;
    static uint8_t buf[65536];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        mutate_and_run(buf, n, mutations);
        files++;
    }
    closedir(d);
    CHECK(files >= 8);
    printf("replayed %d corpus files with %d mutations each\n", files, mutations);
    TEST_END();
}
