/* tests/query/test_fts_words.c: the word filter of lexical search (sem_fts_words), which keeps user punctuation
 * and FTS5 syntax away from FTS5: words only, UTF-8 letters kept, empty results. */
#include "test.h"

#include <stdlib.h>

#include "query/search.h"

int main(void)
{
    char *w = sem_fts_words("What's (COVID-19)? AND \"x\" NEAR/3 *foo^ col:bar -neg +plus {a b}");
    CHECK_STREQ(w, "What s COVID 19 AND x NEAR 3 foo col bar neg plus a b");
    free(w);
    w = sem_fts_words("  ?!  ");
    CHECK_STREQ(w, "");
    free(w);
    w = sem_fts_words("caf\xC3\xA9 na\xC3\xAFve_x");
    CHECK_STREQ(w, "caf\xC3\xA9 na\xC3\xAFve x");
    free(w);
    w = sem_fts_words("");
    CHECK_STREQ(w, "");
    free(w);
    TEST_END();
}
