/* tests/indexer/fuzz_script_count.c: libFuzzer target for the script counter behind the model auto-pick
 * (sem_script_count_add, indexer/modelpick.c), which reads the first bytes of every document of a new KB:
 * hostile bytes of any kind. Checks: it ends; every unit uses its own bytes (han * 3 + words + invalid <= size);
 * invalid is 0 exactly when the input is valid UTF-8; the ratio is in [0, 1]; and counting the input in two
 * pieces cut at a character boundary gives the same Han and invalid counts, and the same words give or take
 * the one a cut through a word splits in two. */
#include "common/fileio.h"
#include "common/jsonstr.h"
#include "indexer/indexer.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    sem_script_count all = {0, 0, 0};
    sem_script_count_add(&all, s, size);
    if (all.han * 3 + all.words + all.invalid > size)
        abort();
    if ((all.invalid == 0) != (sem_utf8_valid(s, size, NULL) != 0))
        abort();
    double r = sem_script_han_ratio(&all);
    if (!(r >= 0.0 && r <= 1.0))
        abort();
    /* cut in the middle, moved back to a character boundary (not inside a valid sequence) */
    size_t cut = sem_utf8_cut(s, size / 2);
    sem_script_count parts = {0, 0, 0};
    sem_script_count_add(&parts, s, cut);
    sem_script_count_add(&parts, s + cut, size - cut);
    if (parts.han != all.han || parts.words < all.words || parts.words > all.words + 1)
        abort();
    /* a cut inside an invalid stretch may only regroup invalid bytes, never create valid ones */
    if (parts.invalid != all.invalid)
        abort();
    return 0;
}
