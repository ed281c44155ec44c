/* tests/cli/fuzz_linereader.c: libFuzzer target for common/linereader.c. The input's first byte picks the line
 * cap (0..63), its second the largest read the byte source returns (1..256 bytes, so lines cross chunk
 * boundaries); the rest is the stream. Every result is checked against a plain split on '\n': each line comes
 * back whole (one "\r" before the newline dropped) or, when longer than the cap, as SEM_ERANGE naming its
 * number; then the end of input, exactly once. */
#include "common/linereader.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct src {
    const uint8_t *p;
    size_t n, step;
} src;

static size_t take(void *ud, void *buf, size_t cap, int *ioerr)
{
    (void)ioerr;
    src *s = ud;
    size_t k = s->n < s->step ? s->n : s->step;
    if (k > cap)
        k = cap;
    memcpy(buf, s->p, k);
    s->p += k;
    s->n -= k;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max = data[0] % 64, step = 1 + data[1];
    const uint8_t *p = data + 2, *end = data + size;
    src s = {p, (size_t)(end - p), step};
    sem_linereader lr;
    sem_linereader_init_source(&lr, take, &s, max);
    sem_error err;
    long expect_line = 0;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t seg = nl ? (size_t)(nl - p) : (size_t)(end - p);
        expect_line++;
        int rc = sem_linereader_next(&lr, &err);
        if (seg > max) {
            if (rc != SEM_ERANGE || lr.lineno != expect_line || !strstr(err.msg, "is longer than"))
                abort();
        } else {
            size_t want = seg && p[seg - 1] == '\r' ? seg - 1 : seg;
            if (rc != 1 || lr.lineno != expect_line || lr.len != want || memcmp(lr.line, p, want) != 0 ||
                lr.line[want] != 0)
                abort();
        }
        p = nl ? nl + 1 : end;
    }
    if (sem_linereader_next(&lr, &err) != 0 || sem_linereader_next(&lr, &err) != 0)
        abort();
    sem_linereader_free(&lr);
    return 0;
}
