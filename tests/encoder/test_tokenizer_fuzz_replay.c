/* tests/encoder/test_tokenizer_fuzz_replay.c: runs every file of the saved fuzz corpus (directory argv[1],
 * tests/encoder/corpus/tokenizer) through LLVMFuzzerTestOneInput (fuzz_tokenizer.c), so that the corpus is a
 * regression test with any compiler; under the sanitizer build it also checks memory safety. The target aborts
 * on a broken invariant, which fails the test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : SEM_SOURCE_DIR "/tests/encoder/corpus/tokenizer";
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open corpus %s", dir);
    int files = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        char *buf = NULL;
        size_t len = 0;
        sem_error err;
        if (sem_read_file(path, 1u << 24, &buf, &len, &err) != SEM_OK) {
            CHECK_MSG(0, "%s", err.msg);
            continue;
        }
        LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        free(buf);
        files++;
    }
    if (d)
        closedir(d);
    printf("%d corpus files replayed\n", files);
    CHECK(files >= 20);
    TEST_END();
}
