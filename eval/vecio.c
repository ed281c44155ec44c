/* eval/vecio.c: TEXMEX (.fvecs/.bvecs/.ivecs) and NumPy (.npy) vector files (see vecio.h).
 *
 * Files are streamed through a small reader (a FILE or a memory image, the latter for tests and fuzzing) so that
 * a 150 MB base file is read straight into the output array, and every size is validated against the real file
 * size before anything is allocated. */
#include "eval/vecio.h"

#include "common/fileio.h"
#include "common/half.h"
#include "common/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct reader {
    FILE *f;           /* a file, or */
    const uint8_t *buf; /* a memory image */
    size_t len, pos;   /* total size and position */
};

/* Reads exactly n bytes; 0 on success, -1 on a short read. */
static int rd(struct reader *r, void *dst, size_t n)
{
    if (n > r->len - r->pos)
        return -1;
    if (r->f) {
        if (fread(dst, 1, n, r->f) != n)
            return -1;
    } else {
        memcpy(dst, r->buf + r->pos, n);
    }
    r->pos += n;
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- TEXMEX ---- */

/* kind 'f', 'b' or 'i' (4, 1, 4 bytes per value). Fills out (as float32) or, when ids is not NULL (kind 'i'
 * only), *ids with the int32 values widened to int64, (n, d) row-major. */
static int parse_texmex(struct reader *r, int kind, const char *name, sem_vecs *out, int64_t **ids,
                        sem_error *err)
{
    size_t elem = kind == 'b' ? 1 : 4;
    uint8_t hdr[4];
    if (r->len == 0)
        return sem_error_set(err, SEM_EFORMAT, "%s: empty file", name);
    if (rd(r, hdr, 4) != 0)
        return sem_error_set(err, SEM_EFORMAT, "%s: truncated (%zu bytes, shorter than a dimension header)", name,
                             r->len);
    int32_t d = (int32_t)le32(hdr);
    if (d <= 0 || d > SEM_VECS_MAX_DIM)
        return sem_error_set(err, SEM_EFORMAT, "%s: invalid dimension %d in the first vector's header (1..%d)",
                             name, (int)d, SEM_VECS_MAX_DIM);
    size_t rec = 4 + (size_t)d * elem;
    if (r->len % rec != 0)
        return sem_error_set(err, SEM_EFORMAT,
                             "%s: size %zu is not a multiple of the record size %zu (dimension %d): truncated "
                             "or not a .%cvecs file",
                             name, r->len, rec, (int)d, kind);
    size_t n = r->len / rec;
    /* <= 8x the file size: no overflow */
    float *data = ids ? NULL : malloc(n * (size_t)d * sizeof(float));
    int64_t *idata = ids ? malloc(n * (size_t)d * sizeof(int64_t)) : NULL;
    uint8_t *row = malloc((size_t)d * elem);
    if ((!data && !idata) || !row) {
        free(data);
        free(idata);
        free(row);
        return sem_error_set(err, SEM_ENOMEM, "%s: out of memory for %zu x %d vectors", name, n, (int)d);
    }
    int rc = SEM_OK;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            if (rd(r, hdr, 4) != 0) {
                rc = sem_error_set(err, SEM_EIO, "%s: read failed at vector %zu", name, i);
                break;
            }
            if ((int32_t)le32(hdr) != d) {
                rc = sem_error_set(err, SEM_EFORMAT, "%s: vector %zu has dimension %d, the first has %d", name, i,
                                   (int)(int32_t)le32(hdr), (int)d);
                break;
            }
        }
        if (rd(r, row, (size_t)d * elem) != 0) {
            rc = sem_error_set(err, SEM_EIO, "%s: read failed at vector %zu", name, i);
            break;
        }
        if (idata) {
            for (int32_t j = 0; j < d; j++)
                idata[i * (size_t)d + (size_t)j] = (int32_t)le32(row + 4 * (size_t)j);
            continue;
        }
        float *o = data + i * (size_t)d;
        for (int32_t j = 0; j < d; j++) {
            if (kind == 'b') {
                o[j] = (float)row[j];
            } else {
                uint32_t u = le32(row + 4 * (size_t)j);
                if (kind == 'i') {
                    o[j] = (float)(int32_t)u;
                } else {
                    memcpy(&o[j], &u, 4);
                }
            }
        }
    }
    free(row);
    if (rc != SEM_OK) {
        free(data);
        free(idata);
        return rc;
    }
    if (ids)
        *ids = idata;
    out->data = data;
    out->n = n;
    out->d = (size_t)d;
    return SEM_OK;
}

/* ---- NumPy ---- */

/* Finds 'key' in the header dict and returns a pointer just after its ':' (spaces skipped), or NULL. */
static const char *npy_value(const char *hdr, const char *key)
{
    char pat[32];
    for (int q = 0; q < 2; q++) {
        snprintf(pat, sizeof pat, q ? "\"%s\"" : "'%s'", key);
        const char *p = strstr(hdr, pat);
        if (!p)
            continue;
        p += strlen(pat);
        while (*p == ' ')
            p++;
        if (*p != ':')
            return NULL;
        p++;
        while (*p == ' ')
            p++;
        return p;
    }
    return NULL;
}

/* Parses "(a, b)" (b may be absent for 1-D, then *nd = 1); 0 on success. */
static int npy_shape(const char *p, unsigned long long dims[3], int *nd)
{
    if (*p++ != '(')
        return -1;
    *nd = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == ')')
            return 0;
        if (*p < '0' || *p > '9' || *nd == 3)
            return -1;
        char *end;
        errno = 0;
        dims[*nd] = strtoull(p, &end, 10);
        if (errno)
            return -1;
        (*nd)++;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == 'L') /* Python 2 longs */
            p++;
        if (*p == ',')
            p++;
        else if (*p != ')')
            return -1;
    }
}

/* Reads the preamble (versions 1.0, 2.0, 3.0) and the header dict into *hdr (malloc'd, NUL-terminated). */
static int npy_read_header(struct reader *r, const char *name, char **hdr, sem_error *err)
{
    uint8_t pre[12];
    if (r->len < 10 || rd(r, pre, 10) != 0 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return sem_error_set(err, SEM_EFORMAT, "%s: not a .npy file (bad magic)", name);
    int major = pre[6];
    size_t hlen;
    if (major == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        if (rd(r, pre + 10, 2) != 0)
            return sem_error_set(err, SEM_EFORMAT, "%s: truncated .npy preamble", name);
        hlen = le32(pre + 8);
    } else {
        return sem_error_set(err, SEM_EFORMAT, "%s: unsupported .npy format version %d.%d", name, major, pre[7]);
    }
    if (hlen > r->len - r->pos || hlen > (1u << 20))
        return sem_error_set(err, SEM_EFORMAT, "%s: .npy header length %zu exceeds the file", name, hlen);
    if (!(*hdr = malloc(hlen + 1)))
        return sem_error_set(err, SEM_ENOMEM, "%s: out of memory", name);
    int rc = SEM_OK;
    (*hdr)[hlen] = 0;
    if (rd(r, *hdr, hlen) != 0)
        rc = sem_error_set(err, SEM_EIO, "%s: read failed in the .npy header", name);
    else if (strlen(*hdr) != hlen)
        rc = sem_error_set(err, SEM_EFORMAT, "%s: NUL byte in the .npy header", name);
    if (rc) {
        free(*hdr);
        *hdr = NULL;
    }
    return rc;
}

/* The item size of the quoted dtype descr: little-endian float32, float16 or float64. */
static int npy_item(const char *descr, const char *name, size_t *item, sem_error *err)
{
    char dt[8] = {0};
    size_t dl = 0;
    for (const char *p = descr + 1; *p && *p != descr[0] && dl < sizeof dt - 1; p++)
        dt[dl++] = *p;
    *item = strcmp(dt, "<f4") == 0 ? 4 : strcmp(dt, "<f2") == 0 ? 2 : strcmp(dt, "<f8") == 0 ? 8 : 0;
    if (!*item)
        return sem_error_set(err, SEM_EFORMAT,
                             "%s: unsupported .npy dtype '%.7s' (need little-endian float32, float16 or float64)",
                             name, dt);
    return SEM_OK;
}

/* The header's dtype size and 2-D shape, checked against the bytes that follow. */
static int npy_layout(const struct reader *r, const char *hdr, const char *name, size_t *item,
                      unsigned long long dims[3], sem_error *err)
{
    const char *descr = npy_value(hdr, "descr"), *fo = npy_value(hdr, "fortran_order"),
               *shape = npy_value(hdr, "shape");
    if (!descr || !fo || !shape || (*descr != '\'' && *descr != '"'))
        return sem_error_set(err, SEM_EFORMAT, "%s: .npy header lacks descr, fortran_order or shape", name);
    int rc = npy_item(descr, name, item, err), nd;
    if (rc)
        return rc;
    if (strncmp(fo, "False", 5) != 0)
        return sem_error_set(err, SEM_EFORMAT, "%s: Fortran-order .npy arrays are not supported (save C order)",
                             name);
    if (npy_shape(shape, dims, &nd) != 0 || nd != 2)
        return sem_error_set(err, SEM_EFORMAT, "%s: .npy shape must be a 2-D tuple (rows, dim)", name);
    if (dims[1] == 0 || dims[1] > SEM_VECS_MAX_DIM || dims[0] == 0)
        return sem_error_set(err, SEM_EFORMAT, "%s: .npy shape (%llu, %llu) is empty or too wide", name, dims[0],
                             dims[1]);
    size_t left = r->len - r->pos, row = (size_t)dims[1] * *item;
    if (dims[0] > left / row || (size_t)dims[0] * row != left)
        return sem_error_set(err, SEM_EFORMAT,
                             "%s: .npy header says (%llu, %llu) x %zu bytes but %zu data bytes follow: truncated or "
                             "lying header",
                             name, dims[0], dims[1], *item, left);
    return SEM_OK;
}

/* One row of d little-endian values of item bytes as floats. */
static void npy_row(const uint8_t *buf, size_t d, size_t item, float *o)
{
    for (size_t j = 0; j < d; j++) {
        const uint8_t *p = buf + j * item;
        if (item == 4) {
            uint32_t u = le32(p);
            memcpy(&o[j], &u, 4);
        } else if (item == 2) {
            o[j] = sem_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
        } else {
            uint64_t u = (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
            double v;
            memcpy(&v, &u, 8);
            o[j] = (float)v;
        }
    }
}

static int parse_npy(struct reader *r, const char *name, sem_vecs *out, sem_error *err)
{
    char *hdr = NULL;
    size_t item = 0;
    unsigned long long dims[3];
    int rc = npy_read_header(r, name, &hdr, err);
    if (rc == SEM_OK)
        rc = npy_layout(r, hdr, name, &item, dims, err);
    free(hdr);
    if (rc)
        return rc;
    size_t n = (size_t)dims[0], d = (size_t)dims[1], row = d * item;
    float *data = malloc(n * d * sizeof(float)); /* <= 2x the file size */
    uint8_t *buf = malloc(row);
    if (!data || !buf)
        rc = sem_error_set(err, SEM_ENOMEM, "%s: out of memory for %zu x %zu vectors", name, n, d);
    for (size_t i = 0; i < n && rc == SEM_OK; i++) {
        if (rd(r, buf, row) != 0)
            rc = sem_error_set(err, SEM_EIO, "%s: read failed at row %zu", name, i);
        else
            npy_row(buf, d, item, data + i * d);
    }
    free(buf);
    if (rc != SEM_OK) {
        free(data);
        return rc;
    }
    out->data = data;
    out->n = n;
    out->d = d;
    return SEM_OK;
}

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static int parse_any(struct reader *r, const char *fmt, const char *name, sem_vecs *out, sem_error *err)
{
    out->data = NULL;
    out->n = out->d = 0;
    if (strcmp(fmt, "fvecs") == 0)
        return parse_texmex(r, 'f', name, out, NULL, err);
    if (strcmp(fmt, "bvecs") == 0)
        return parse_texmex(r, 'b', name, out, NULL, err);
    if (strcmp(fmt, "ivecs") == 0)
        return parse_texmex(r, 'i', name, out, NULL, err);
    if (strcmp(fmt, "npy") == 0)
        return parse_npy(r, name, out, err);
    return sem_error_set(err, SEM_EINVAL, "%s: unknown vector file type '.%s' (use .fvecs, .bvecs, .ivecs or .npy)",
                         name, fmt);
}

int sem_vecs_parse(const void *buf, size_t len, const char *fmt, const char *name, sem_vecs *out, sem_error *err)
{
    struct reader r = {NULL, buf, len, 0};
    return parse_any(&r, fmt, name, out, err);
}

/* Opens the regular file at path for a reader over it (r->f: the caller closes it). */
static int open_reader(const char *path, struct reader *r, sem_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sem_error_set(err, errno == ENOENT ? SEM_ENOTFOUND : SEM_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return sem_error_set(err, SEM_EIO, "%s: not a regular file", path);
    }
    *r = (struct reader){f, NULL, (size_t)st.st_size, 0};
    return SEM_OK;
}

int sem_vecs_read(const char *path, sem_vecs *out, sem_error *err)
{
    out->data = NULL;
    out->n = out->d = 0;
    const char *fmt = ext_of(path);
    if (strcmp(fmt, "fvecs") && strcmp(fmt, "bvecs") && strcmp(fmt, "ivecs") && strcmp(fmt, "npy"))
        return sem_error_set(err, SEM_EINVAL,
                             "%s: unknown vector file type (the name must end in .fvecs, .bvecs, .ivecs or .npy)",
                             path);
    struct reader r;
    int rc = open_reader(path, &r, err);
    if (rc)
        return rc;
    rc = parse_any(&r, fmt, path, out, err);
    fclose(r.f);
    return rc;
}

int sem_ivecs_read(const char *path, int64_t **ids, size_t *n, size_t *d, sem_error *err)
{
    *ids = NULL;
    if (strcmp(ext_of(path), "ivecs") != 0)
        return sem_error_set(err, SEM_EINVAL, "%s: ground truth must be an .ivecs file", path);
    struct reader r;
    int rc = open_reader(path, &r, err);
    if (rc)
        return rc;
    sem_vecs v;
    rc = parse_texmex(&r, 'i', path, &v, ids, err);
    fclose(r.f);
    if (rc == SEM_OK) {
        *n = v.n;
        *d = v.d;
    }
    return rc;
}

int sem_ivecs_write(const char *path, const int64_t *ids, size_t n, size_t d, sem_error *err)
{
    if (d == 0 || d > SEM_VECS_MAX_DIM || n > SIZE_MAX / (4 * (d + 1)))
        return sem_error_set(err, SEM_ERANGE, "%s: bad shape %zu x %zu", path, n, d);
    size_t len = n * 4 * (d + 1);
    uint8_t *buf = malloc(len ? len : 1), *p = buf;
    if (!buf)
        return sem_error_set(err, SEM_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        int32_t v = (int32_t)d;
        memcpy(p, &v, 4);
        p += 4;
        for (size_t j = 0; j < d; j++) {
            int64_t id = ids[i * d + j];
            if (id < -1 || id > INT32_MAX) {
                free(buf);
                return sem_error_set(err, SEM_ERANGE, "%s: id %lld does not fit int32", path, (long long)id);
            }
            v = (int32_t)id;
            memcpy(p, &v, 4);
            p += 4;
        }
    }
    int rc = sem_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

int sem_vecs_write(const char *path, const float *x, size_t n, size_t d, sem_error *err)
{
    const char *fmt = ext_of(path);
    int npy = strcmp(fmt, "npy") == 0;
    if (!npy && strcmp(fmt, "fvecs") != 0)
        return sem_error_set(err, SEM_EINVAL, "%s: can write .fvecs or .npy only", path);
    if (d == 0 || d > SEM_VECS_MAX_DIM || n > (SIZE_MAX - 256) / (4 * (d + 1)))
        return sem_error_set(err, SEM_ERANGE, "%s: bad shape %zu x %zu", path, n, d);
    char hdr[SEM_NPY_HEADER_MAX];
    size_t hl = npy ? sem_npy_header(hdr, sizeof hdr, "<f4", n, d) : 0;
    if (npy && !hl)
        return sem_error_set(err, SEM_ERANGE, "%s: bad shape %zu x %zu", path, n, d);
    size_t len = hl + n * d * 4 + (npy ? 0 : n * 4);
    uint8_t *buf = malloc(len ? len : 1), *p = buf;
    if (!buf)
        return sem_error_set(err, SEM_ENOMEM, "%s: out of memory", path);
    memcpy(p, hdr, hl);
    p += hl;
    for (size_t i = 0; i < n; i++) {
        if (!npy) {
            int32_t v = (int32_t)d;
            memcpy(p, &v, 4);
            p += 4;
        }
        memcpy(p, x + i * d, d * 4);
        p += d * 4;
    }
    int rc = sem_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

void sem_vecs_free(sem_vecs *v)
{
    if (!v)
        return;
    free(v->data);
    v->data = NULL;
    v->n = v->d = 0;
}
