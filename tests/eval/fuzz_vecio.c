/* tests/eval/fuzz_vecio.c: fuzz entry point for the vector file parsers (eval/vecio.h). The first input byte
 * picks the format (fvecs, bvecs, ivecs, npy), the rest is the file. A parse either fails with a message or
 * returns n x d values that fit in the input. Built as a libFuzzer binary under clang (fuzz_vecio), and
 * replayed over generated mutations by test_eval_vecio_fuzz with any compiler. */
#include "eval/vecio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *fmts[] = {"fvecs", "bvecs", "ivecs", "npy"};
    if (size < 1)
        return 0;
    const char *fmt = fmts[data[0] % 4];
    sem_vecs v;
    sem_error err;
    int rc = sem_vecs_parse(data + 1, size - 1, fmt, "fuzz", &v, &err);
    if (rc == SEM_OK) {
        /* every value came from the input: n * d <= input size (bvecs: 1 byte per value) */
        if (!v.data || v.n == 0 || v.d == 0 || v.n * v.d > size)
            abort();
        volatile float sink = 0;
        for (size_t i = 0; i < v.n * v.d; i++)
            sink += v.data[i];
        (void)sink;
        sem_vecs_free(&v);
    } else if (err.msg[0] == 0 || v.data != NULL) {
        abort();
    }
    return 0;
}
