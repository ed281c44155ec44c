/* tests/query/fuzz_calibration.c: libFuzzer target for the hybrid-calibration record a KB holds (query/
 * calib_record.c, sem_calibration_parse): the KB file is input like any other. Input: the record's bytes.
 * Invariants: no crash; parse returns SEM_OK or SEM_EFORMAT; a record it accepts has every field in range, and
 * writing it back (sem_calibration_to_json) and parsing again gives the same record. Replayed in ctest by
 * test_calibration_fuzz over tests/query/corpus/calibration. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/search.h"

static void die_unless(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    sem_calibration c, d;
    sem_error err;
    int rc = sem_calibration_parse(s, &c, &err);
    die_unless(rc == SEM_OK || rc == SEM_EFORMAT);
    if (rc == SEM_OK) {
        die_unless(c.present && c.semantic_weight >= 0 && c.semantic_weight <= 1 && c.best_weight >= 0 &&
                   c.best_weight <= 1 && c.n_queries >= 0 && c.n_queries <= SEM_CALIBRATION_MAX_QUERIES &&
                   c.n_passages >= 0 && c.lexical >= 0 && c.lexical <= 1 && c.hybrid >= 0 && c.hybrid <= 1 &&
                   strlen(c.model_hash) < sizeof c.model_hash);
        char *j = sem_calibration_to_json(&c);
        die_unless(j && sem_calibration_parse(j, &d, &err) == SEM_OK);
        die_unless(d.semantic_weight == c.semantic_weight && d.n_queries == c.n_queries &&
                   d.lexical == c.lexical && d.hybrid == c.hybrid && !strcmp(d.model_hash, c.model_hash));
        free(j);
    }
    free(s);
    return 0;
}
