/* tests/shard/fuzz_manifest.c: libFuzzer target for a sharded KB's manifest (shard/manifest.c,
 * sem_shard_manifest_parse): shards.json is a file like any other. Input: the file's bytes.
 * Invariants: no crash; parse returns SEM_OK or SEM_EFORMAT; an accepted manifest has every field in range and
 * every string terminated, and writing it back (sem_shard_manifest_to_json) and parsing again gives the same
 * manifest. Replayed in ctest by test_manifest_fuzz over tests/shard/corpus/manifest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shard/shard.h"

static void die_unless(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sem_shard_manifest m, b;
    sem_error err;
    int rc = sem_shard_manifest_parse((const char *)data, size, &m, &err);
    die_unless(rc == SEM_OK || rc == SEM_EFORMAT);
    if (rc != SEM_OK)
        return 0;
    die_unless(m.format == SEM_SHARD_FORMAT && m.n_shards >= 1 && m.n_shards <= SEM_SHARD_MAX &&
               m.model.dim >= 1 && (m.lexical_only == 0 || m.lexical_only == 1) &&
               memchr(m.index_spec, 0, sizeof m.index_spec) && memchr(m.model.name, 0, sizeof m.model.name) &&
               memchr(m.model.config_hash, 0, sizeof m.model.config_hash) &&
               memchr(m.model.pooling, 0, sizeof m.model.pooling));
    char *j = sem_shard_manifest_to_json(&m);
    die_unless(j && sem_shard_manifest_parse(j, strlen(j), &b, &err) == SEM_OK);
    die_unless(b.n_shards == m.n_shards && b.model.dim == m.model.dim && b.model.normalize == m.model.normalize &&
               !strcmp(b.model.name, m.model.name) && !strcmp(b.model.config_hash, m.model.config_hash) &&
               !strcmp(b.model.pooling, m.model.pooling) &&
               !strcmp(b.index_spec, m.index_spec) && b.lexical_only == m.lexical_only);
    free(j);
    return 0;
}
