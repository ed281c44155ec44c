/* common/fileio.c: see fileio.h. */
#define _GNU_SOURCE
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int sem_read_file(const char *path, size_t max_bytes, char **out, size_t *len, sem_error *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sem_error_set(err, errno == ENOENT ? SEM_ENOTFOUND : SEM_EIO, "cannot open %s: %s", path,
                             strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sem_error_set(err, SEM_EIO, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return sem_error_set(err, SEM_ERANGE, "%s is too large (%lld bytes, limit %zu)", path,
                             (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return sem_error_set(err, SEM_ENOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            return sem_error_set(err, SEM_EIO, "cannot read %s: %s", path, r == 0 ? "file shrank" : strerror(e));
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return SEM_OK;
}

int sem_fsync_dir_of(const char *path, sem_error *err)
{
    char *copy = strdup(path);
    if (!copy)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = SEM_OK;
    if (fd < 0 || fsync(fd) != 0)
        rc = sem_error_set(err, SEM_EIO, "cannot fsync directory %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int sem_write_file_atomic(const char *path, const void *data, size_t len, sem_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = sem_error_set(err, SEM_EIO, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int rc = sem_error_set(err, SEM_EIO, "cannot write %s: %s", tmp, w == 0 ? "no progress" : strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return rc;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int rc = sem_error_set(err, SEM_EIO, "cannot flush %s: %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    if (rename(tmp, path) != 0) {
        int rc = sem_error_set(err, SEM_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    return sem_fsync_dir_of(path, err);
}

int sem_mkdir_p(const char *dir, sem_error *err)
{
    char *copy = strdup(dir);
    if (!copy)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    for (char *p = copy + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
                int rc = sem_error_set(err, SEM_EIO, "cannot create directory %s: %s", copy, strerror(errno));
                free(copy);
                return rc;
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
    free(copy);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return sem_error_set(err, SEM_EIO, "%s exists and is not a directory", dir);
    return SEM_OK;
}

int sem_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

double sem_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int sem_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = u[i];
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            goto bad;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (u[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += n + 1;
    }
    return 1;
bad:
    if (bad_offset)
        *bad_offset = i;
    return 0;
}

char *sem_path_join(const char *dir, const char *name)
{
    size_t nd = strlen(dir), nn = strlen(name);
    if (nd > SIZE_MAX - nn - 2)
        return NULL;
    char *p = malloc(nd + nn + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, nd);
    size_t k = nd;
    if (k && p[k - 1] != '/')
        p[k++] = '/';
    memcpy(p + k, name, nn + 1);
    return p;
}
