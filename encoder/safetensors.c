/* encoder/safetensors.c: the safetensors weights format, read from an mmap or a buffer: the one parser of the
 * encoder and the trainer (see hfmodel.h). The header is untrusted: its length, every offset, every shape
 * product and every byte size is checked before use, so a truncated or lying file is an error, never an
 * out-of-bounds read. Little-endian host assumed (x86, arm). */
#include "encoder/hfmodel.h"

#include "common/half.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER (100u << 20) /* the format's own limit on the JSON header */

static int cmp_tensor(const void *a, const void *b)
{
    return strcmp(((const sem_st_tensor *)a)->name, ((const sem_st_tensor *)b)->name);
}

static int cmp_range(const void *a, const void *b)
{
    const sem_st_tensor *x = *(const sem_st_tensor *const *)a, *y = *(const sem_st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Refuses data ranges that share bytes: each tensor owns its bytes (a file whose tensors alias each other is
 * not what any writer produces, and would let one corrupt entry pass for several). Empty tensors own nothing. */
static int check_overlaps(const sem_st *st, const char *what, sem_error *err)
{
    if (st->n_tensors < 2)
        return SEM_OK;
    const sem_st_tensor **by = malloc((size_t)st->n_tensors * sizeof *by);
    if (!by)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < st->n_tensors; i++)
        if (st->tensors[i].end > st->tensors[i].begin)
            by[n++] = &st->tensors[i];
    qsort(by, (size_t)n, sizeof *by, cmp_range);
    int rc = SEM_OK;
    for (int i = 1; i < n && rc == SEM_OK; i++)
        if (by[i]->begin < by[i - 1]->end)
            rc = sem_error_set(err, SEM_EFORMAT,
                               "%s: tensors %s [%zu, %zu) and %s [%zu, %zu) overlap in the data section", what,
                               by[i - 1]->name, by[i - 1]->begin, by[i - 1]->end, by[i]->name, by[i]->begin,
                               by[i]->end);
    free(by);
    return rc;
}

static void free_tensors(sem_st_tensor *t, int n)
{
    for (int i = 0; i < n; i++)
        free(t[i].name);
    free(t);
}

/* Reads one header entry into t. */
static int parse_entry(const cJSON *e, size_t data_len, const char *what, sem_st_tensor *t, sem_error *err)
{
    const char *name = e->string;
    if (!cJSON_IsObject(e))
        return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: header entry is not an object", what, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !dt->valuestring)
        return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: missing \"dtype\"", what, name);
    size_t esize;
    if (strcmp(dt->valuestring, "F32") == 0 || strcmp(dt->valuestring, "I32") == 0 ||
        strcmp(dt->valuestring, "U32") == 0)
        esize = 4;
    else if (strcmp(dt->valuestring, "F16") == 0 || strcmp(dt->valuestring, "BF16") == 0 ||
             strcmp(dt->valuestring, "I16") == 0 || strcmp(dt->valuestring, "U16") == 0)
        esize = 2;
    else if (strcmp(dt->valuestring, "F64") == 0 || strcmp(dt->valuestring, "I64") == 0 ||
             strcmp(dt->valuestring, "U64") == 0)
        esize = 8;
    else if (strcmp(dt->valuestring, "I8") == 0 || strcmp(dt->valuestring, "U8") == 0 ||
             strcmp(dt->valuestring, "BOOL") == 0 || strcmp(dt->valuestring, "F8_E4M3") == 0 ||
             strcmp(dt->valuestring, "F8_E5M2") == 0)
        esize = 1;
    else
        return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: unknown dtype \"%.16s\"", what, name,
                             dt->valuestring);
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->valuestring);
    t->dtype = strcmp(dt->valuestring, "F32") == 0    ? SEM_DT_F32
               : strcmp(dt->valuestring, "F16") == 0  ? SEM_DT_F16
               : strcmp(dt->valuestring, "BF16") == 0 ? SEM_DT_BF16
                                                      : SEM_DT_OTHER;
    if (!cJSON_IsArray(sh))
        return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: missing \"shape\"", what, name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > SEM_ST_MAX_DIMS)
        return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: %d dimensions (at most %d)", what, name, nd,
                             SEM_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t n = 1;
    for (int i = 0; i < nd; i++) {
        const cJSON *d = cJSON_GetArrayItem(sh, i);
        /* 2^53 bounds what a double holds exactly; real dimensions are far smaller. */
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 9007199254740992.0 ||
            d->valuedouble != floor(d->valuedouble))
            return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: bad shape", what, name);
        t->shape[i] = (int64_t)d->valuedouble;
        if (t->shape[i] != 0 && n > UINT64_MAX / (uint64_t)t->shape[i])
            return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: shape overflows", what, name);
        n *= (uint64_t)t->shape[i];
    }
    t->n_elems = n;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: missing \"data_offsets\"", what, name);
    double b = cJSON_GetArrayItem(off, 0)->valuedouble, en = cJSON_GetArrayItem(off, 1)->valuedouble;
    if (!cJSON_IsNumber(cJSON_GetArrayItem(off, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(off, 1)) || b < 0 ||
        en < b || b != floor(b) || en != floor(en))
        return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: bad data_offsets", what, name);
    if (en > (double)data_len)
        return sem_error_set(err, SEM_EFORMAT,
                             "%s: tensor %s: data_offsets [%.0f, %.0f] run past the end of the data (%zu bytes): "
                             "truncated file?", what, name, b, en, data_len);
    t->begin = (size_t)b;
    t->end = (size_t)en;
    if (n > SIZE_MAX / esize || n * esize != t->end - t->begin)
        return sem_error_set(err, SEM_EFORMAT, "%s: tensor %s: %zu bytes for %llu elements of %s", what, name,
                             t->end - t->begin, (unsigned long long)n, t->dtype_name);
    return SEM_OK;
}

sem_st *sem_st_parse(const uint8_t *buf, size_t len, const char *what, sem_error *err)
{
    if (len < 8) {
        sem_error_set(err, SEM_EFORMAT, "%s: too short for a safetensors file (%zu bytes)", what, len);
        return NULL;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | buf[i];
    if (hlen > ST_MAX_HEADER || hlen > len - 8) {
        sem_error_set(err, SEM_EFORMAT, "%s: header length %llu exceeds the file (%zu bytes): not safetensors or "
                      "truncated", what, (unsigned long long)hlen, len);
        return NULL;
    }
    sem_st *st = calloc(1, sizeof *st);
    if (!st) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    st->data = buf + 8 + hlen;
    st->data_len = len - 8 - (size_t)hlen;
    cJSON *root = cJSON_ParseWithLength((const char *)buf + 8, (size_t)hlen);
    if (!root || !cJSON_IsObject(root)) {
        sem_error_set(err, SEM_EFORMAT, "%s: the header is not a JSON object", what);
        goto fail;
    }
    int cap = cJSON_GetArraySize(root);
    st->tensors = calloc(cap > 0 ? (size_t)cap : 1, sizeof *st->tensors);
    if (!st->tensors) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        if (!e->string) {
            sem_error_set(err, SEM_EFORMAT, "%s: header entry without a name", what);
            goto fail;
        }
        if (strcmp(e->string, "__metadata__") == 0)
            continue;
        sem_st_tensor *t = &st->tensors[st->n_tensors];
        if (parse_entry(e, st->data_len, what, t, err))
            goto fail;
        if (!(t->name = strdup(e->string))) {
            sem_error_set(err, SEM_ENOMEM, "out of memory");
            goto fail;
        }
        st->n_tensors++;
    }
    qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, cmp_tensor);
    for (int i = 1; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0) {
            sem_error_set(err, SEM_EFORMAT, "%s: tensor %s appears twice in the header", what, st->tensors[i].name);
            goto fail;
        }
    if (check_overlaps(st, what, err))
        goto fail;
    cJSON_Delete(root);
    return st;
fail:
    cJSON_Delete(root);
    sem_st_close(st);
    return NULL;
}

sem_st *sem_st_open(const char *path, sem_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sem_error_set(err, errno == ENOENT ? SEM_ENOTFOUND : SEM_EIO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        sem_error_set(err, SEM_EIO, "%s is not a regular file", path);
        return NULL;
    }
    size_t len = (size_t)sb.st_size;
    if (len < 8) {
        close(fd);
        sem_error_set(err, SEM_EFORMAT, "%s: too short for a safetensors file (%zu bytes)", path, len);
        return NULL;
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        sem_error_set(err, SEM_EIO, "cannot map %s: %s", path, strerror(errno));
        return NULL;
    }
    sem_st *st = sem_st_parse(map, len, path, err);
    if (!st) {
        munmap(map, len);
        return NULL;
    }
    st->map = map;
    st->map_len = len;
    if (!(st->path = strdup(path))) {
        sem_st_close(st);
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    return st;
}

void sem_st_close(sem_st *st)
{
    if (!st)
        return;
    free_tensors(st->tensors, st->n_tensors);
    if (st->map)
        munmap(st->map, st->map_len);
    free(st->path);
    free(st);
}

const sem_st_tensor *sem_st_find(const sem_st *st, const char *name)
{
    int lo = 0, hi = st->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(st->tensors[mid].name, name);
        if (c == 0)
            return &st->tensors[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static inline float load_elem(const uint8_t *p, sem_dtype dt, size_t i)
{
    if (dt == SEM_DT_F32) {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return dt == SEM_DT_F16 ? sem_f16_to_f32(h) : sem_bf16_to_f32(h);
}

int sem_st_read_f32(const sem_st *st, const sem_st_tensor *t, float *dst, int transpose, size_t ld, size_t col,
                    sem_error *err)
{
    if (t->dtype == SEM_DT_OTHER)
        return sem_error_set(err, SEM_EFORMAT, "tensor %s: dtype %s is not supported (F32, F16, BF16)", t->name,
                             t->dtype_name);
    const uint8_t *p = st->data + t->begin; /* parse checked begin..end against the data section */
    if (!transpose) {
        if (t->dtype == SEM_DT_F32) {
            memcpy(dst, p, (size_t)t->n_elems * 4);
        } else {
            for (size_t i = 0; i < t->n_elems; i++)
                dst[i] = load_elem(p, t->dtype, i);
        }
    } else {
        if (t->ndim != 2)
            return sem_error_set(err, SEM_EINTERNAL, "tensor %s: transpose of a %d-D tensor", t->name, t->ndim);
        size_t rows = (size_t)t->shape[0], cols = (size_t)t->shape[1];
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) {
                float v = load_elem(p, t->dtype, r * cols + c);
                if (!isfinite(v))
                    return sem_error_set(err, SEM_EFORMAT, "tensor %s: element %zu is not finite", t->name,
                                         r * cols + c);
                dst[c * ld + col + r] = v;
            }
        return SEM_OK;
    }
    for (size_t i = 0; i < t->n_elems; i++)
        if (!isfinite(dst[i]))
            return sem_error_set(err, SEM_EFORMAT, "tensor %s: element %zu is not finite", t->name, i);
    return SEM_OK;
}
