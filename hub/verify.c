/* hub/verify.c: what the hub's etags mean and hashing a downloaded file to compare with them. */
#define _GNU_SOURCE
#include "hub/internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hub_etag_parse(const char *raw, char out[HUB_ETAG_MAX])
{
    out[0] = '\0';
    if (!raw)
        return HUB_ETAG_UNKNOWN;
    while (*raw == ' ' || *raw == '\t')
        raw++;
    if (strncmp(raw, "W/", 2) == 0)
        raw += 2;
    size_t n = 0;
    for (; *raw && n + 1 < HUB_ETAG_MAX; raw++) {
        if (*raw == '"' || *raw == ' ' || *raw == '\t' || *raw == '\r' || *raw == '\n')
            continue;
        out[n++] = (char)tolower((unsigned char)*raw);
    }
    out[n] = '\0';
    if (*raw) /* longer than any etag we understand */
        return HUB_ETAG_UNKNOWN;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)out[i]))
            return HUB_ETAG_UNKNOWN;
    return n == 64 ? HUB_ETAG_SHA256 : n == 40 ? HUB_ETAG_GIT_SHA1 : HUB_ETAG_UNKNOWN;
}

int hub_hash_file(const char *path, int kind, char hex[HUB_ETAG_MAX], uint64_t *size, sem_error *err)
{
    hex[0] = '\0';
    if (kind != HUB_ETAG_SHA256 && kind != HUB_ETAG_GIT_SHA1)
        return sem_error_set(err, SEM_EINVAL, "unknown hash kind");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sem_error_set(err, errno == ENOENT ? SEM_ENOTFOUND : SEM_EIO, "cannot open %s: %s", path,
                             strerror(errno));
    int rc = SEM_OK;
    unsigned char *buf = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = sem_error_set(err, SEM_EIO, "%s is not a regular file", path);
        goto done;
    }
    buf = malloc(1u << 20);
    if (!ctx || !buf) {
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory hashing %s", path);
        goto done;
    }
    if (!EVP_DigestInit_ex(ctx, kind == HUB_ETAG_SHA256 ? EVP_sha256() : EVP_sha1(), NULL)) {
        rc = sem_error_set(err, SEM_EINTERNAL, "OpenSSL cannot start a digest");
        goto done;
    }
    if (kind == HUB_ETAG_GIT_SHA1) { /* git hashes "blob <size>\0" then the content */
        char head[64];
        int hn = snprintf(head, sizeof head, "blob %llu", (unsigned long long)st.st_size);
        EVP_DigestUpdate(ctx, head, (size_t)hn + 1);
    }
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, 1u << 20);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = sem_error_set(err, SEM_EIO, "cannot read %s: %s", path, strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)r);
        total += (uint64_t)r;
    }
    if (total != (uint64_t)st.st_size) { /* the blob header would be wrong: the file changed under us */
        rc = sem_error_set(err, SEM_EIO, "%s changed while it was being hashed", path);
        goto done;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen * 2 >= HUB_ETAG_MAX) {
        rc = sem_error_set(err, SEM_EINTERNAL, "OpenSSL cannot finish a digest");
        goto done;
    }
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (size)
        *size = total;
done:
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    return rc;
}
