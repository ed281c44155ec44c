/* hub/internal.h: what the hub's files share (not public): the cache manifest and content verification. */
#ifndef SEM_HUB_INTERNAL_H
#define SEM_HUB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define HUB_PATH_MAX 4096
#define HUB_ETAG_MAX 72 /* 64 hex + NUL, with room */

/* One file the manifest lists: its hub path, size and normalized etag (lower-case hex). */
typedef struct hub_manifest_file {
    char *path;
    uint64_t size;
    char etag[HUB_ETAG_MAX];
} hub_manifest_file;

/* CACHE/models/ORG/NAME/.semsearch-hub.json, in memory. All strings malloc'd and owned by the manifest. */
typedef struct hub_manifest {
    char *repo;
    char *revision;
    char *commit;
    char *endpoint;
    int complete;
    hub_manifest_file *files;
    size_t n_files;
} hub_manifest;

/* Reads dir's manifest into *m (zeroed first). SEM_ENOTFOUND if there is none, SEM_EFORMAT if it is not a
 * manifest; on failure *m is empty. */
int hub_manifest_read(const char *dir, hub_manifest *m, sem_error *err);

/* Writes m as dir's manifest atomically. */
int hub_manifest_write(const char *dir, const hub_manifest *m, sem_error *err);

/* Sets (adds or replaces) the entry for path. */
int hub_manifest_set_file(hub_manifest *m, const char *path, uint64_t size, const char *etag, sem_error *err);

/* The entry for path, or NULL. */
const hub_manifest_file *hub_manifest_find(const hub_manifest *m, const char *path);

void hub_manifest_free(hub_manifest *m); /* empties *m; an empty manifest is a no-op */

/* What an etag says about a file's content. */
enum { HUB_ETAG_UNKNOWN = 0, HUB_ETAG_SHA256 = 1, HUB_ETAG_GIT_SHA1 = 2 };

/* Normalizes an ETag header value (drops W/ and quotes, lower-cases) into out (HUB_ETAG_MAX bytes) and returns
 * its kind: 64 hex digits is a sha256 of the content (LFS files), 40 hex digits the git blob sha1. */
int hub_etag_parse(const char *raw, char out[HUB_ETAG_MAX]);

/* Hashes the file at path the way kind says (sha256 of the content, or sha1 of "blob LEN\0" + content) into
 * hex (lower case, NUL-terminated); *size (may be NULL) receives the file's size. */
int hub_hash_file(const char *path, int kind, char hex[HUB_ETAG_MAX], uint64_t *size, sem_error *err);

/* sem_hub_cache_dir(), or a copy of cache_dir when it is not NULL. */
int hub_cache_or_default(const char *cache_dir, char *out, size_t cap, sem_error *err);

#endif
