/* tests/web/test_web_fuzz_replay.c: replays the saved HTTP corpus (tests/web/corpus/http) through the libFuzzer
 * entry point in fuzz_http.c, and deterministic mutations of each input (byte flips, truncations, splices), so
 * that the fuzz invariants run in ctest with any compiler. Usage: test_web_fuzz_replay CORPUS_DIR [MUTATIONS] */
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
        return 2;
    }
    int mutations = argc > 2 ? atoi(argv[2]) : 60;
    DIR *d = opendir(argv[1]);
    CHECK(d != NULL);
    if (!d)
        TEST_END();
    struct dirent *e;
    int files = 0;
    static const char *const inserts[] = {"\"", "{", "}", "[", "]", ",", ":", "\\", "\\u", "null", "1e308", "-0",
                                          "\xff", "\xc3", "\xe2\x80", "\"query\":", "\"k\":", "true", "[]", "{}"};
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t buf[8192];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        files++;
        for (int m = 0; m < mutations && n > 0; m++) {
            uint8_t mut[8192 + 64];
            size_t len = n;
            memcpy(mut, buf, n);
            switch (next() % 4) {
            case 0: /* flip a byte (not the route selector, most of the time) */
                mut[1 + next() % (len > 1 ? len - 1 : 1) % len] ^= (uint8_t)(1u << (next() % 8));
                break;
            case 1: /* truncate */
                len = 1 + next() % len;
                break;
            case 2: { /* insert a JSON-ish token */
                const char *t = inserts[next() % (sizeof inserts / sizeof inserts[0])];
                size_t tl = strlen(t), at = 1 + next() % len;
                if (at > len)
                    at = len;
                memmove(mut + at + tl, mut + at, len - at);
                memcpy(mut + at, t, tl);
                len += tl;
                break;
            }
            default: /* another route for the same body */
                mut[0] = (uint8_t)next();
                break;
            }
            LLVMFuzzerTestOneInput(mut, len);
        }
    }
    closedir(d);
    CHECK(files >= 10);
    printf("replayed %d corpus files with %d mutations each\n", files, mutations);
    TEST_END();
}
