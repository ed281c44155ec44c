/* tests/encoder/fuzz_safetensors.c: libFuzzer entry point for the model-file parsers, which read untrusted
 * input: the safetensors header (lengths, offsets, shapes, dtypes; every tensor it accepts is then converted to
 * f32, plain and transposed, so a bounds mistake reads out of the buffer under ASan), and config.json /
 * tokenizer_config.json. The safetensors parser and config.json's are the encoder's and the trainer's
 * (encoder/hfmodel.h). Built as a fuzzer with clang (fuzz_safetensors) and replayed over the saved corpus by
 * test_safetensors_fuzz (tests/fuzz_replay.c) with any compiler. */
#include "encoder/internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sem_error err;
    sem_st *st = sem_st_parse(data, size, "fuzz", &err);
    if (st) {
        /* an accepted file never has two tensors sharing bytes */
        for (int i = 0; i < st->n_tensors && st->n_tensors <= 512; i++)
            for (int j = i + 1; j < st->n_tensors; j++) {
                const sem_st_tensor *a = &st->tensors[i], *b = &st->tensors[j];
                if (a->begin < a->end && b->begin < b->end && a->begin < b->end && b->begin < a->end)
                    abort();
            }
        for (int i = 0; i < st->n_tensors; i++) {
            const sem_st_tensor *t = &st->tensors[i];
            if (t->dtype == SEM_DT_OTHER || t->n_elems > (1u << 22))
                continue;
            float *buf = malloc((size_t)t->n_elems * sizeof(float) + 1);
            if (!buf)
                continue;
            (void)sem_st_read_f32(st, t, buf, 0, 0, 0, &err);
            if (t->ndim == 2)
                (void)sem_st_read_f32(st, t, buf, 1, (size_t)t->shape[0], 0, &err);
            free(buf);
            (void)sem_st_find(st, t->name);
        }
        sem_st_close(st);
    }
    /* the JSON config parsers on the same bytes */
    sem_bert_config cfg;
    char *prefix = NULL;
    if (sem_bert_config_parse((const char *)data, size, "fuzz", &cfg, &prefix, &err) == SEM_OK)
        free(prefix);
    sem_tokenizer_config tc;
    (void)sem_tokenizer_config_parse((const char *)data, size, "fuzz", &tc, &err);
    return 0;
}
