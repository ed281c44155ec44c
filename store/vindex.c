/* store/vindex.c: see vindex.h. */
#define _GNU_SOURCE
#include "store/vindex.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#include "common/fileio.h"
#include "store/faiss_ext.h"

#define HASH_CHUNK (1u << 20)

static int faiss_fail(sem_error *err, const char *what)
{
    const char *m = faiss_get_last_error();
    return sem_error_set(err, SEM_EFAISS, "FAISS %s: %s", what, m ? m : "unknown error");
}

static FaissMetricType faiss_metric(int metric)
{
    return metric == SEM_KB_METRIC_L2 ? METRIC_L2 : METRIC_INNER_PRODUCT;
}

/* ---- spec helpers ------------------------------------------------------------------------------------------ */

static int64_t parse_num(const char *s, const char **end)
{
    int64_t v = 0;
    int any = 0;
    while (*s >= '0' && *s <= '9' && v < 100000000) {
        v = v * 10 + (*s - '0');
        s++;
        any = 1;
    }
    if (end)
        *end = s;
    return any ? v : -1;
}

int64_t sem_vindex_train_min(const char *spec, int d)
{
    int64_t need = 0;
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char tok[128];
        if (len >= sizeof tok)
            len = sizeof tok - 1;
        memcpy(tok, p, len);
        tok[len] = 0;
        int64_t t = 0;
        const char *q;
        if (strncmp(tok, "IVF", 3) == 0) {
            int64_t n = parse_num(tok + 3, NULL);
            t = n > 0 ? 39 * n : 1000;
        } else if (strncmp(tok, "OPQ", 3) == 0) {
            t = 39 * 256;
        } else if ((q = strstr(tok, "PQ")) != NULL) {
            const char *after;
            int64_t bits = 8;
            parse_num(q + 2, &after);
            if (*after == 'x') {
                int64_t b = parse_num(after + 1, NULL);
                if (b > 0 && b <= 16)
                    bits = b;
            }
            t = 39 * ((int64_t)1 << bits);
        } else if (strncmp(tok, "PCA", 3) == 0 || strncmp(tok, "ITQ", 3) == 0 || strncmp(tok, "RR", 2) == 0) {
            t = 2 * (int64_t)d > 1000 ? 2 * (int64_t)d : 1000;
        } else if (strncmp(tok, "SQ", 2) == 0 || strncmp(tok, "LSH", 3) == 0) {
            t = 1000;
        }
        if (t > need)
            need = t;
        if (!e)
            break;
        p = e + 1;
    }
    return need;
}

static int64_t pow2_near(double x)
{
    int64_t p = 1;
    while ((double)p * 1.41421356 < x)
        p <<= 1;
    return p;
}

static int pq_m_for(int d)
{
    double target = d / 8.0;
    int best = 1;
    for (int m = 1; m <= d; m++) {
        if (d % m == 0 && fabs(m - target) < fabs(best - target))
            best = m;
    }
    return best;
}

int64_t sem_kb_auto_nlist(int64_t n)
{
    int64_t nlist = pow2_near(4.0 * sqrt((double)n));
    while (nlist > 1 && nlist * 39 > n)
        nlist >>= 1;
    return nlist;
}

int sem_kb_resolve_spec(const char *spec, int64_t n, int d, char *out, size_t out_size, sem_error *err)
{
    if (d < 1 || d > 65536)
        return sem_error_set(err, SEM_EINVAL, "dimension %d out of range 1..65536", d);
    if (!spec || !*spec || strcmp(spec, "auto") == 0) {
        char buf[128];
        if (n < 10000) {
            snprintf(buf, sizeof buf, "Flat");
        } else {
            int64_t nlist = sem_kb_auto_nlist(n);
            if ((double)n * d * 4.0 > 2.0 * 1024 * 1024 * 1024)
                snprintf(buf, sizeof buf, "IVF%lld,PQ%dnp", (long long)nlist, pq_m_for(d));
            else
                snprintf(buf, sizeof buf, "IVF%lld,Flat", (long long)nlist);
        }
        if (strlen(buf) >= out_size)
            return sem_error_set(err, SEM_ERANGE, "spec buffer too small");
        strcpy(out, buf);
        return SEM_OK;
    }
    int rc = sem_kb_check_spec(spec, d, err); /* only specs of our grammar reach FAISS */
    if (rc)
        return rc;
    size_t len = strlen(spec);
    if (len >= out_size)
        return sem_error_set(err, SEM_ERANGE, "spec buffer too small");
    FaissIndex *idx = NULL;
    if (faiss_index_factory(&idx, d, spec, METRIC_INNER_PRODUCT) != 0 || !idx) {
        const char *m = faiss_get_last_error();
        return sem_error_set(err, SEM_EINVAL, "invalid index spec \"%s\" for dimension %d: %s", spec, d,
                             m ? m : "rejected by faiss_index_factory");
    }
    faiss_Index_free(idx);
    memcpy(out, spec, len + 1);
    return SEM_OK;
}

/* ---- lifecycle ---------------------------------------------------------------------------------------------- */

static int new_buffer(int d, int metric, FaissIndex **out, sem_error *err)
{
    FaissIndexFlat *flat = NULL;
    FaissIndexIDMap *map = NULL;
    *out = NULL;
    if (faiss_IndexFlat_new_with(&flat, d, faiss_metric(metric)) != 0)
        return faiss_fail(err, "IndexFlat");
    if (faiss_IndexIDMap_new(&map, (FaissIndex *)flat) != 0) {
        faiss_Index_free((FaissIndex *)flat);
        return faiss_fail(err, "IndexIDMap");
    }
    faiss_IndexIDMap_set_own_fields(map, 1);
    *out = (FaissIndex *)map;
    return SEM_OK;
}

/* Builds the factory index and wraps it in an IDMap when it cannot take ids itself. */
static int build_index(const char *spec, int d, int metric, FaissIndex **out, sem_error *err)
{
    FaissIndex *idx = NULL;
    *out = NULL;
    if (faiss_index_factory(&idx, d, spec, faiss_metric(metric)) != 0 || !idx)
        return faiss_fail(err, "index_factory");
    if (!sem_fx_supports_ids(idx)) {
        FaissIndexIDMap *map = NULL;
        if (faiss_IndexIDMap_new(&map, idx) != 0) {
            faiss_Index_free(idx);
            return faiss_fail(err, "IndexIDMap");
        }
        faiss_IndexIDMap_set_own_fields(map, 1);
        idx = (FaissIndex *)map;
    }
    *out = idx;
    return SEM_OK;
}

int sem_vindex_new(const char *spec, int d, int metric, sem_vindex **out, sem_error *err)
{
    *out = NULL;
    if (strlen(spec) >= sizeof(((sem_vindex *)0)->spec))
        return sem_error_set(err, SEM_EINVAL, "index spec too long");
    sem_vindex *v = calloc(1, sizeof *v);
    if (!v)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    v->d = d;
    v->metric = metric;
    snprintf(v->spec, sizeof v->spec, "%s", spec);
    FaissIndex *idx = NULL;
    int rc = build_index(spec, d, metric, &idx, err);
    if (rc)
        goto fail;
    if (faiss_Index_is_trained(idx)) {
        v->index = idx;
        v->train_min = 0;
    } else {
        faiss_Index_free(idx);
        v->train_min = sem_vindex_train_min(spec, d);
        if (v->train_min < 1)
            v->train_min = 1000; /* a spec we cannot read: wait for a reasonable sample */
        rc = new_buffer(d, metric, &v->buffer, err);
        if (rc)
            goto fail;
    }
    *out = v;
    return SEM_OK;
fail:
    sem_vindex_free(v);
    return rc;
}

void sem_vindex_free(sem_vindex *v)
{
    if (!v)
        return;
    if (v->index)
        faiss_Index_free(v->index);
    if (v->buffer)
        faiss_Index_free(v->buffer);
    sem_vindex_tune_drop(v);
    free(v->tomb);
    free(v);
}

int sem_vindex_untrained(const sem_vindex *v)
{
    return v->index == NULL;
}

int sem_vindex_train(sem_vindex *v, int64_t n, const float *x, sem_error *err)
{
    if (v->index)
        return SEM_OK;
    if (v->buffer && faiss_Index_ntotal(v->buffer) > 0)
        return sem_error_set(err, SEM_EINTERNAL, "train called on a non-empty buffer");
    if (n < 1)
        return sem_error_set(err, SEM_EINVAL, "no training vectors");
    FaissIndex *idx = NULL;
    int rc = build_index(v->spec, v->d, v->metric, &idx, err);
    if (rc)
        return rc;
    if (faiss_Index_train(idx, n, x) != 0) {
        rc = faiss_fail(err, "train");
        faiss_Index_free(idx);
        return rc;
    }
    if (v->buffer)
        faiss_Index_free(v->buffer);
    v->buffer = NULL;
    v->index = idx;
    v->trained_on = n;
    return SEM_OK;
}

/* ---- add / remove / search -------------------------------------------------------------------------------- */

int sem_vindex_add(sem_vindex *v, int64_t n, const int64_t *ids, const float *x, sem_error *err)
{
    if (n <= 0)
        return SEM_OK;
    FaissIndex *t = v->index ? v->index : v->buffer;
    if (faiss_Index_add_with_ids(t, n, x, ids) != 0)
        return faiss_fail(err, "add");
    if (v->tune) /* a failure only drops the tuning (the index is fine, its nprobe stays untuned) */
        sem_vindex_tune_feed(v, n, ids, x, NULL);
    return SEM_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int is_tomb(const sem_vindex *v, int64_t id)
{
    size_t lo = 0, hi = v->ntomb;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->tomb[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->ntomb && v->tomb[lo] == id;
}

static int add_tombs(sem_vindex *v, int64_t n, const int64_t *ids, sem_error *err)
{
    if (n < 0 || (uint64_t)n > SIZE_MAX / (4 * sizeof(int64_t)) - v->ntomb) /* the cap below doubles it */
        return sem_error_set(err, SEM_ENOMEM, "too many tombstones");
    if (v->ntomb + (size_t)n > v->tomb_cap) {
        size_t cap = (v->ntomb + (size_t)n) * 2 + 16;
        int64_t *t = realloc(v->tomb, cap * sizeof *t);
        if (!t)
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        v->tomb = t;
        v->tomb_cap = cap;
    }
    for (int64_t i = 0; i < n; i++) {
        if (!is_tomb(v, ids[i]))
            v->tomb[v->ntomb++] = ids[i];
    }
    qsort(v->tomb, v->ntomb, sizeof *v->tomb, cmp_i64);
    return SEM_OK;
}

int sem_vindex_remove(sem_vindex *v, int64_t n, const int64_t *ids, sem_error *err)
{
    if (n <= 0)
        return SEM_OK;
    FaissIndex *t = v->index ? v->index : v->buffer;
    FaissIDSelectorBatch *sel = NULL;
    if (faiss_IDSelectorBatch_new(&sel, (size_t)n, ids) != 0)
        return faiss_fail(err, "IDSelectorBatch");
    size_t removed = 0;
    int rc = faiss_Index_remove_ids(t, (FaissIDSelector *)sel, &removed);
    faiss_IDSelector_free((FaissIDSelector *)sel);
    if (rc != 0) {
        /* This type cannot remove (HNSW): remember the ids and filter them out of results. Only ids that
         * could be in the index matter, but a spurious tombstone is harmless (ids are never reused). */
        return add_tombs(v, n, ids, err);
    }
    return SEM_OK;
}

int64_t sem_vindex_ntotal(const sem_vindex *v)
{
    const FaissIndex *t = v->index ? v->index : v->buffer;
    return t ? faiss_Index_ntotal(t) : 0;
}

int64_t sem_vindex_nlive(const sem_vindex *v)
{
    int64_t n = sem_vindex_ntotal(v) - (int64_t)v->ntomb;
    return n < 0 ? 0 : n;
}

int sem_vindex_search(const sem_vindex *v, int nq, const float *q, int k, int nprobe, int ef_search,
                      sem_kb_hit *hits, int *n_hits, sem_error *err)
{
    const FaissIndex *t = v->index ? v->index : v->buffer;
    int64_t ntotal = t ? faiss_Index_ntotal(t) : 0;
    for (int i = 0; i < nq; i++)
        n_hits[i] = 0;
    if (nq <= 0 || k <= 0 || ntotal == 0)
        return SEM_OK;
    int64_t kk = (int64_t)k + (int64_t)v->ntomb;
    if (kk > ntotal)
        kk = ntotal;
    if (kk < 1)
        kk = 1;
    if ((uint64_t)nq * (uint64_t)kk > (SIZE_MAX / 16))
        return sem_error_set(err, SEM_ENOMEM, "search result too large");
    float *D = malloc((size_t)nq * (size_t)kk * sizeof *D);
    int64_t *I = malloc((size_t)nq * (size_t)kk * sizeof *I);
    if (!D || !I) {
        free(D);
        free(I);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    char ebuf[512];
    if (sem_fx_search(t, nq, q, kk, v->index ? nprobe : 0, ef_search, D, I, ebuf, sizeof ebuf) != 0) {
        free(D);
        free(I);
        return sem_error_set(err, SEM_EFAISS, "FAISS search: %s", ebuf);
    }
    for (int i = 0; i < nq; i++) {
        int c = 0;
        for (int64_t j = 0; j < kk && c < k; j++) {
            int64_t id = I[(size_t)i * kk + j];
            if (id < 0 || (v->ntomb && is_tomb(v, id)))
                continue;
            float dist = D[(size_t)i * kk + j];
            hits[(size_t)i * k + c].passage_id = id;
            hits[(size_t)i * k + c].score = v->metric == SEM_KB_METRIC_L2 ? -dist : dist;
            c++;
        }
        n_hits[i] = c;
    }
    free(D);
    free(I);
    return SEM_OK;
}

int sem_vindex_list_ids(const sem_vindex *v, int64_t **ids, size_t *n, sem_error *err)
{
    char ebuf[512];
    const FaissIndex *t = v->index ? v->index : v->buffer;
    int64_t *all = NULL;
    size_t cnt = 0;
    if (sem_fx_list_ids(t, &all, &cnt, ebuf, sizeof ebuf) != 0)
        return sem_error_set(err, SEM_EFAISS, "listing index ids: %s", ebuf);
    qsort(all, cnt, sizeof *all, cmp_i64);
    size_t w = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (!is_tomb(v, all[i]))
            all[w++] = all[i];
    }
    *ids = all;
    *n = w;
    return SEM_OK;
}

int64_t sem_vindex_nlist(const sem_vindex *v)
{
    return v->index ? sem_fx_nlist(v->index) : 0;
}

void sem_vindex_type(const sem_vindex *v, char *buf, size_t len)
{
    if (!v->index) {
        snprintf(buf, len, "exact buffer (untrained %s)", v->spec);
        return;
    }
    sem_fx_type_name(v->index, buf, len);
}

/* A FILE that only counts what is written to it (for the memory estimate). */
static ssize_t count_write(void *cookie, const char *buf, size_t size)
{
    (void)buf;
    *(int64_t *)cookie += (int64_t)size;
    return (ssize_t)size;
}

int64_t sem_vindex_mem(const sem_vindex *v)
{
    const FaissIndex *t = v->index ? v->index : v->buffer;
    int64_t total = 0;
    cookie_io_functions_t io = {NULL, count_write, NULL, NULL};
    FILE *f = fopencookie(&total, "w", io);
    if (!f)
        return -1;
    int rc = faiss_write_index(t, f);
    fclose(f);
    return rc == 0 ? total + (int64_t)v->ntomb * 8 : -1;
}

/* ---- checksum ----------------------------------------------------------------------------------------------- */

static uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull

/* Four independent multiply-rotate lanes over 8-byte words (fast, not cryptographic: it detects damage). */
uint64_t sem_vindex_hash(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t a = seed + P1, b = seed ^ P2, c = seed + P3, d = seed - P1;
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        a = rotl64(a + w[0] * P2, 31) * P1;
        b = rotl64(b + w[1] * P2, 31) * P1;
        c = rotl64(c + w[2] * P2, 31) * P1;
        d = rotl64(d + w[3] * P2, 31) * P1;
    }
    uint64_t h = rotl64(a, 1) + rotl64(b, 7) + rotl64(c, 12) + rotl64(d, 18) + (uint64_t)len;
    for (; i < len; i++)
        h = rotl64(h ^ (p[i] * P3), 11) * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

/* ---- the index file ----------------------------------------------------------------------------------------- */

#define IDX_MAGIC "SEMIDX\x01\n"
#define IDX_VERSION 1u
#define IDX_HEADER_BYTES 256u
#define IDX_FLAG_TRAINED 1u

typedef struct idx_header {
    char magic[8];
    uint32_t version;
    uint32_t header_bytes;
    char kb_uuid[40]; /* 32 hex + NUL padding */
    int64_t last_seq;
    uint64_t faiss_bytes;
    uint64_t n_tomb;
    uint64_t payload_hash; /* over everything after the header */
    int32_t dim;
    int32_t metric;
    uint32_t flags;
    uint16_t tuned_nprobe; /* 0: not tuned (and in files written before tuning existed, which kept 0 here) */
    uint16_t tuned_recall; /* 10-recall@10 at tuned_nprobe, x 10000 */
    int64_t trained_on;
    char spec[128];
    uint64_t header_hash; /* over the bytes above */
} idx_header;

_Static_assert(sizeof(idx_header) <= IDX_HEADER_BYTES, "header too large");

/* Hashes bytes [off, off+len) of fd in HASH_CHUNK pieces chained through the seed. */
static int hash_fd(int fd, uint64_t off, uint64_t len, uint64_t *out, sem_error *err)
{
    unsigned char *buf = malloc(HASH_CHUNK);
    if (!buf)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    uint64_t h = 0x5E35E35Eull;
    while (len > 0) {
        size_t want = len < HASH_CHUNK ? (size_t)len : HASH_CHUNK;
        size_t got = 0;
        while (got < want) {
            ssize_t r = pread(fd, buf + got, want - got, (off_t)(off + got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                free(buf);
                return sem_error_set(err, SEM_EIO, "reading index file: %s", r < 0 ? strerror(errno) : "short");
            }
            got += (size_t)r;
        }
        h = sem_vindex_hash(buf, want, h);
        off += want;
        len -= want;
    }
    free(buf);
    *out = h;
    return SEM_OK;
}

void sem_vindex_reseal_header(unsigned char *file, size_t len)
{
    if (len < IDX_HEADER_BYTES)
        return;
    idx_header h;
    memcpy(&h, file, sizeof h);
    h.header_hash = sem_vindex_hash(&h, offsetof(idx_header, header_hash), 0);
    memcpy(file, &h, sizeof h);
}

int sem_vindex_save(const sem_vindex *v, const char *path, const char *kb_uuid, sem_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    snprintf(tmp, plen + 8, "%s.tmp", path);
    int rc = SEM_OK;
    FILE *f = NULL;
    int fd = open(tmp, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = sem_error_set(err, SEM_EIO, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    f = fdopen(fd, "w+");
    if (!f) {
        close(fd);
        rc = sem_error_set(err, SEM_EIO, "fdopen %s: %s", tmp, strerror(errno));
        goto out;
    }
    idx_header h;
    memset(&h, 0, sizeof h);
    unsigned char hbuf[IDX_HEADER_BYTES];
    memset(hbuf, 0, sizeof hbuf);
    if (fwrite(hbuf, 1, sizeof hbuf, f) != sizeof hbuf) {
        rc = sem_error_set(err, SEM_EIO, "writing %s: %s", tmp, strerror(errno));
        goto out;
    }
    const FaissIndex *t = v->index ? v->index : v->buffer;
    if (faiss_write_index(t, f) != 0) {
        rc = faiss_fail(err, "write_index");
        goto out;
    }
    long pos = ftell(f);
    if (pos < (long)IDX_HEADER_BYTES) {
        rc = sem_error_set(err, SEM_EIO, "ftell %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (v->ntomb && fwrite(v->tomb, sizeof *v->tomb, v->ntomb, f) != v->ntomb) {
        rc = sem_error_set(err, SEM_EIO, "writing %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fflush(f) != 0) {
        rc = sem_error_set(err, SEM_EIO, "writing %s: %s", tmp, strerror(errno));
        goto out;
    }
    memcpy(h.magic, IDX_MAGIC, 8);
    h.version = IDX_VERSION;
    h.header_bytes = IDX_HEADER_BYTES;
    snprintf(h.kb_uuid, sizeof h.kb_uuid, "%s", kb_uuid);
    h.last_seq = v->last_seq;
    h.faiss_bytes = (uint64_t)pos - IDX_HEADER_BYTES;
    h.n_tomb = v->ntomb;
    h.dim = v->d;
    h.metric = v->metric;
    h.flags = v->index ? IDX_FLAG_TRAINED : 0;
    h.trained_on = v->trained_on;
    if (v->tuned_nprobe > 0 && v->tuned_nprobe <= SEM_VINDEX_TUNE_MAX_NPROBE) {
        h.tuned_nprobe = (uint16_t)v->tuned_nprobe;
        h.tuned_recall = (uint16_t)lround(fmin(fmax(v->tuned_recall, 0.0), 1.0) * 10000);
    }
    snprintf(h.spec, sizeof h.spec, "%s", v->spec);
    rc = hash_fd(fd, IDX_HEADER_BYTES, h.faiss_bytes + 8 * h.n_tomb, &h.payload_hash, err);
    if (rc)
        goto out;
    h.header_hash = sem_vindex_hash(&h, offsetof(idx_header, header_hash), 0);
    memcpy(hbuf, &h, sizeof h);
    if (pwrite(fd, hbuf, sizeof hbuf, 0) != (ssize_t)sizeof hbuf) {
        rc = sem_error_set(err, SEM_EIO, "writing %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = sem_error_set(err, SEM_EIO, "fsync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = sem_error_set(err, SEM_EIO, "closing %s: %s", tmp, strerror(errno));
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        rc = sem_error_set(err, SEM_EIO, "rename %s -> %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    rc = sem_fsync_dir_of(path, err);
out:
    if (f)
        fclose(f);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Reads and verifies the header of the index file f (size bytes) into *h: magic, header checksum, version, that it
 * belongs to kb_uuid with dimension d and metric, that the file has the size the header says and that the payload
 * checksum matches. FAISS reads nothing before this passes. */
static int read_header(FILE *f, const char *path, off_t size, const char *kb_uuid, int d, int metric, idx_header *h,
                       sem_error *err)
{
    unsigned char hbuf[IDX_HEADER_BYTES];
    if (size < (off_t)IDX_HEADER_BYTES || fread(hbuf, 1, sizeof hbuf, f) != sizeof hbuf)
        return sem_error_set(err, SEM_EFORMAT, "index file %s is truncated (%lld bytes)", path, (long long)size);
    memcpy(h, hbuf, sizeof *h);
    int pad_ok = 1;
    for (size_t i = sizeof *h; i < IDX_HEADER_BYTES; i++)
        pad_ok &= hbuf[i] == 0;
    if (memcmp(h->magic, IDX_MAGIC, 8) != 0)
        return sem_error_set(err, SEM_EFORMAT, "%s is not a semsearch index file (bad magic)", path);
    if (!pad_ok || h->header_hash != sem_vindex_hash(h, offsetof(idx_header, header_hash), 0))
        return sem_error_set(err, SEM_EFORMAT, "index file %s has a corrupt header (checksum)", path);
    if (h->version != IDX_VERSION || h->header_bytes != IDX_HEADER_BYTES)
        return sem_error_set(err, SEM_EFORMAT, "index file %s has unsupported version %u", path, h->version);
    h->kb_uuid[sizeof h->kb_uuid - 1] = 0;
    h->spec[sizeof h->spec - 1] = 0;
    if (strcmp(h->kb_uuid, kb_uuid) != 0)
        return sem_error_set(err, SEM_EMISMATCH, "index file %s belongs to another KB (%s, expected %s)", path,
                             h->kb_uuid, kb_uuid);
    if (h->dim != d || h->metric != metric)
        return sem_error_set(err, SEM_EMISMATCH, "index file %s has dim %d metric %d, KB has dim %d metric %d",
                             path, h->dim, h->metric, d, metric);
    if (h->faiss_bytes > (uint64_t)size || h->n_tomb > (uint64_t)size / 8 ||
        (uint64_t)size != IDX_HEADER_BYTES + h->faiss_bytes + 8 * h->n_tomb)
        return sem_error_set(err, SEM_EFORMAT,
                             "index file %s is truncated or padded: %lld bytes, its header says %llu", path,
                             (long long)size, (unsigned long long)(IDX_HEADER_BYTES + h->faiss_bytes + 8 * h->n_tomb));
    uint64_t ph;
    int rc = hash_fd(fileno(f), IDX_HEADER_BYTES, h->faiss_bytes + 8 * h->n_tomb, &ph, err);
    if (rc)
        return rc;
    if (ph != h->payload_hash)
        return sem_error_set(err, SEM_EFORMAT, "index file %s is corrupt (checksum mismatch)", path);
    return SEM_OK;
}

/* Builds the vindex of a verified file: its FAISS index idx (taken over, also on failure) and the n_tomb
 * tombstones after it. */
static int vindex_from_file(FILE *f, const char *path, const idx_header *h, FaissIndex *idx, int d, int metric,
                            sem_vindex **out, sem_error *err)
{
    sem_vindex *v = calloc(1, sizeof *v);
    if (!v) {
        faiss_Index_free(idx);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    v->d = d;
    v->metric = metric;
    snprintf(v->spec, sizeof v->spec, "%s", h->spec);
    v->last_seq = h->last_seq;
    v->trained_on = h->trained_on;
    v->tuned_nprobe = h->tuned_nprobe;
    v->tuned_recall = h->tuned_recall <= 10000 ? h->tuned_recall / 10000.0 : 0.0;
    v->train_min = sem_vindex_train_min(h->spec, d);
    int rc = SEM_OK;
    if (h->flags & IDX_FLAG_TRAINED) {
        v->index = idx;
        if (!faiss_Index_is_trained(idx))
            rc = sem_error_set(err, SEM_EFORMAT, "index in %s claims to be trained but is not", path);
    } else {
        if (v->train_min < 1)
            v->train_min = 1000; /* a spec we cannot read: wait for a reasonable sample */
        v->buffer = idx;
    }
    if (!rc && h->n_tomb) {
        if (!(v->tomb = malloc(h->n_tomb * sizeof *v->tomb)))
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        else if (fseeko(f, (off_t)(IDX_HEADER_BYTES + h->faiss_bytes), SEEK_SET) != 0 ||
                 fread(v->tomb, sizeof *v->tomb, h->n_tomb, f) != h->n_tomb)
            rc = sem_error_set(err, SEM_EIO, "reading tombstones of %s", path);
        else
            v->ntomb = v->tomb_cap = h->n_tomb;
        if (!rc)
            qsort(v->tomb, v->ntomb, sizeof *v->tomb, cmp_i64);
    }
    if (rc) {
        sem_vindex_free(v);
        return rc;
    }
    *out = v;
    return SEM_OK;
}

int sem_vindex_load(const char *path, const char *kb_uuid, int d, int metric, sem_vindex **out, sem_error *err)
{
    *out = NULL;
    int rc = SEM_OK;
    FaissIndex *idx = NULL;
    FILE *f = fopen(path, "rbe");
    if (!f) {
        if (errno == ENOENT)
            return sem_error_set(err, SEM_ENOTFOUND, "index file %s does not exist", path);
        return sem_error_set(err, SEM_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    idx_header h;
    if (fstat(fileno(f), &st) != 0)
        rc = sem_error_set(err, SEM_EIO, "stat %s: %s", path, strerror(errno));
    else
        rc = read_header(f, path, st.st_size, kb_uuid, d, metric, &h, err);
    /* The bytes are the ones we wrote: FAISS may read them. */
    if (!rc && fseeko(f, IDX_HEADER_BYTES, SEEK_SET) != 0)
        rc = sem_error_set(err, SEM_EIO, "seek %s: %s", path, strerror(errno));
    if (!rc && (faiss_read_index(f, 0, &idx) != 0 || !idx))
        rc = faiss_fail(err, "read_index");
    if (!rc && faiss_Index_d(idx) != d)
        rc = sem_error_set(err, SEM_EMISMATCH, "index in %s has dimension %d, expected %d", path,
                           faiss_Index_d(idx), d);
    if (!rc) {
        rc = vindex_from_file(f, path, &h, idx, d, metric, out, err);
        idx = NULL;
    }
    if (idx)
        faiss_Index_free(idx);
    fclose(f);
    return rc;
}
