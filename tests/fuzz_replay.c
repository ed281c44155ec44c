/* tests/fuzz_replay.c: the one replay driver of every fuzz target (tests/<part>/fuzz_<name>.c, linked with this
 * file by sem_add_fuzzer() in tests/CMakeLists.txt). It runs a saved corpus through the libFuzzer entry point
 * with any compiler, plus deterministic mutations of every file (bit flips, truncations, insertions of bytes that
 * matter to our parsers: JSON, FTS5 and index-spec syntax, HTTP framing, line ends, invalid UTF-8; duplications),
 * so that the targets' invariants run in ctest. Usage: PROG CORPUS_DIR [MUTATIONS] [MIN_FILES] */
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

#define MAX_FILE (1 << 16)

static void mutate_and_run(const uint8_t *buf, size_t n, int mutations)
{
    static const char *const inserts[] = {"\"", " OR ", "*", "(", ")", ":", "^", "-", "NEAR", "\xff", "\xc3",
                                          "\xe2\x80\x9c", "\n", "\r", "\r\n", ",", "_", "x16", "IVF", "PQ", "0",
                                          "99999999", "\x00", "$.", "'", "\\", "\\u", "\\u0000", "NaN", "{", "}",
                                          "[", "]", "null", "1e308", "-0", "true", "%00", "Content-Length: "};
    static uint8_t mut[2 * MAX_FILE + 64];
    for (int m = 0; m < mutations && n > 0; m++) {
        size_t len = n;
        memcpy(mut, buf, n);
        switch (next() % 4) {
        case 0:
            mut[next() % len] ^= (uint8_t)(1u << (next() % 8));
            break;
        case 1:
            len = 1 + next() % len;
            break;
        case 2: {
            const char *t = inserts[next() % (sizeof inserts / sizeof inserts[0])];
            size_t tl = t[0] ? strlen(t) : 1, at = next() % (len + 1);
            memmove(mut + at + tl, mut + at, len - at);
            memcpy(mut + at, t, tl);
            len += tl;
            break;
        }
        default: /* the input twice: longer queries, more pairs */
            memcpy(mut + len, buf, n);
            len += n;
            break;
        }
        LLVMFuzzerTestOneInput(mut, len);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS] [MIN_FILES]\n", argv[0]);
        return 2;
    }
    int mutations = argc > 2 ? atoi(argv[2]) : 50, min_files = argc > 3 ? atoi(argv[3]) : 10;
    DIR *d = opendir(argv[1]);
    CHECK_MSG(d != NULL, "cannot open %s", argv[1]);
    if (!d)
        TEST_END();
    struct dirent *e;
    int files = 0;
    static uint8_t buf[MAX_FILE];
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
    CHECK_MSG(files >= min_files, "only %d corpus files in %s", files, argv[1]);
    printf("replayed %d corpus files with %d mutations each\n", files, mutations);
    TEST_END();
}
