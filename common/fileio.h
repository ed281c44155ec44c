/* common/fileio.h: small file helpers shared by every part: whole-file reads with a size cap, crash-safe
 * atomic writes, directory creation, and a monotonic clock.
 * Thread-safety: all functions are reentrant; they touch only their arguments and the file system. */
#ifndef SEM_FILEIO_H
#define SEM_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the whole file at path into a malloc'd, NUL-terminated buffer (*out, caller frees) of *len bytes
 * (the terminator not counted). Files larger than max_bytes fail with SEM_ERANGE. */
int sem_read_file(const char *path, size_t max_bytes, char **out, size_t *len, sem_error *err);

/* Writes data to path atomically: a temporary file beside it is written, fsynced and renamed over path, and
 * the directory is fsynced. After a crash path holds either the old or the new content, never a mix. */
int sem_write_file_atomic(const char *path, const void *data, size_t len, sem_error *err);

/* fsyncs the directory that contains path (after a rename). */
int sem_fsync_dir_of(const char *path, sem_error *err);

/* Creates dir and its missing parents (mode 0755); an existing directory is success. */
int sem_mkdir_p(const char *dir, sem_error *err);

/* "dir/name" in a malloc'd string (caller frees), or NULL when out of memory. No slash is added when dir is
 * empty or already ends with one. */
char *sem_path_join(const char *dir, const char *name);

/* 1 if path exists (any type), else 0. */
int sem_path_exists(const char *path);

/* Seconds on a monotonic clock (for durations and progress, not wall time). */
double sem_now(void);

/* 1 if s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF), else 0; *bad_offset (may be NULL)
 * receives the offset of the first invalid byte. */
int sem_utf8_valid(const char *s, size_t len, size_t *bad_offset);

#ifdef __cplusplus
}
#endif
#endif
