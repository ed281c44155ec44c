/* tests/encoder/test_model_fuzz_replay.c: replays every file of the corpus folders given as arguments through
 * the fuzz entry point it is linked with (fuzz_safetensors.c), so that the saved fuzz corpus runs in ctest
 * under any compiler, with the sanitizers in the asan build. */
#include "test.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int files = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        CHECK_MSG(d != NULL, "cannot open corpus folder %s", argv[a]);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096], *buf = NULL;
            size_t len = 0;
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            if (sem_read_file(path, 16u << 20, &buf, &len, NULL) != SEM_OK)
                continue;
            LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
            free(buf);
            files++;
        }
        closedir(d);
    }
    CHECK_MSG(files >= 10, "only %d corpus files replayed", files);
    printf("replayed %d corpus files\n", files);
    TEST_END();
}
