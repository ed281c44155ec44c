/* tests/query/fuzz_search_params.c: libFuzzer target for every search parameter a user controls, through the
 * query layer (sem_search_query, sem_search_query_vector) and the store (sem_kb_search with ef_search,
 * sem_kb_search_text), on two small KBs made at the first call (IVF4,Flat for nprobe, HNSW8 for efSearch; raw
 * vectors of dim 8, no model).
 * Input (little-endian, short inputs are zero-padded): u8 mode, i16 k, i32 nprobe, i32 ef_search,
 * i32 filter_exact_max, u8 n_filters, 8 x f32 query vector (any bits: NaN, inf, 3e38), then
 * "key\nvalue\n..." filter pairs, a '\0', and the query text.
 * Invariants: no crash; every call returns SEM_OK or SEM_EINVAL/SEM_ERANGE; a result has at most k hits, all
 * with finite scores, best first. Replayed in ctest by test_search_params_fuzz over
 * tests/query/corpus/search_params. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query/search.h"
#include "store/kb.h"

#define D 8
#define HDR 16
#define MAXF 80

static sem_kb *kbs[2];
static sem_search *ss[2];
static char dirs[2][256];

static void cleanup(void)
{
    for (int i = 0; i < 2; i++) {
        sem_search_free(ss[i]);
        sem_kb_close(kbs[i]);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dirs[i]);
        if (dirs[i][0] && system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dirs[i]);
    }
}

static void setup(void)
{
    if (ss[0])
        return;
    static const char *specs[2] = {"IVF4,Flat", "HNSW8"};
    const char *t = getenv("TMPDIR");
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 2; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/semfuzz-params-%d-%d", t && *t ? t : "/tmp", (int)getpid(), i);
        sem_kb_create_params cp = sem_kb_default_create_params();
        cp.model.dim = D;
        cp.index_spec = specs[i];
        sem_error err;
        if (!(kbs[i] = sem_kb_create(dirs[i], &cp, &err)))
            abort();
        for (int doc = 0; doc < 200; doc++) {
            float v[D];
            for (int j = 0; j < D; j++) {
                x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
                v[j] = (float)((x * 2685821657736338717ull) >> 40) / (float)(1 << 24) - 0.5f;
            }
            char id[32], text[64], meta[64];
            snprintf(id, sizeof id, "d%d", doc);
            snprintf(text, sizeof text, "word%d common text x", doc % 17);
            snprintf(meta, sizeof meta, "{\"g\":%d,\"lang\":\"%s\"}", doc % 5, doc % 2 ? "en" : "de");
            sem_kb_passage p = {text, 0, (int64_t)strlen(text), v};
            sem_kb_doc dd = {id, "t", text, meta, &p, 1};
            if (sem_kb_put(kbs[i], &dd, 1, &err) != SEM_OK)
                abort();
        }
        if (!(ss[i] = sem_search_new(kbs[i], NULL, &err)))
            abort();
    }
    atexit(cleanup);
}

static int32_t rd32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static void check_rc(int rc)
{
    if (rc != SEM_OK && rc != SEM_EINVAL && rc != SEM_ERANGE)
        abort();
}

static void check_result(const sem_search_result *r, int k, int sorted)
{
    if (r->n < 0 || r->n > k)
        abort();
    for (int i = 0; i < r->n; i++) {
        if (!isfinite(r->hits[i].score) || !r->hits[i].doc_id)
            abort();
        if (sorted && i && r->hits[i].score > r->hits[i - 1].score)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    setup();
    uint8_t h[HDR + 4 * D] = {0};
    memcpy(h, data, size < sizeof h ? size : sizeof h);
    size_t rest_n = size > sizeof h ? size - sizeof h : 0;
    char *rest = malloc(rest_n + 2);
    if (!rest)
        return 0;
    memcpy(rest, data + sizeof h, rest_n);
    rest[rest_n] = rest[rest_n + 1] = 0;
    float vec[D];
    memcpy(vec, h + HDR, sizeof vec);
    const char *keys[MAXF], *vals[MAXF];
    int nf = 0;
    char *p = rest;
    while (nf < MAXF && nf < h[15] && *p) {
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = 0;
        keys[nf] = p;
        vals[nf] = nl + 1;
        char *nl2 = strchr(nl + 1, '\n');
        if (!nl2)
            break;
        *nl2 = 0;
        nf++;
        p = nl2 + 1;
    }
    const char *text = p + strlen(p) + 1 <= rest + rest_n ? p + strlen(p) + 1 : p;
    int which = h[0] & 1;
    sem_query_params qp = sem_query_default_params();
    qp.mode = (sem_search_mode)((h[0] >> 1) % 4); /* 3: unknown */
    qp.k = (int16_t)(h[1] | h[2] << 8);
    qp.nprobe = rd32(h + 3);
    qp.filter_keys = keys;
    qp.filter_values = vals;
    qp.n_filters = nf;
    sem_error err;
    sem_search_result r;
    int rc = sem_search_query(ss[which], text, &qp, &r, &err);
    check_rc(rc);
    if (rc == SEM_OK) {
        check_result(&r, qp.k, 1);
        sem_search_result_clear(&r);
    }
    qp.mode = SEM_MODE_SEMANTIC;
    rc = sem_search_query_vector(ss[which], vec, D, &qp, &r, &err);
    check_rc(rc);
    if (rc == SEM_OK) {
        check_result(&r, qp.k, 1);
        sem_search_result_clear(&r);
    }
    sem_kb_filter f = {keys, vals, nf};
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = qp.k;
    sp.nprobe = qp.nprobe;
    sp.ef_search = rd32(h + 7);
    sp.filter_exact_max = rd32(h + 11);
    sp.filter = &f;
    if (sp.k >= 1 && sp.k <= 10000) {
        sem_kb_hit *hits = malloc((size_t)sp.k * sizeof *hits);
        int nh = 0;
        if (hits) {
            check_rc(rc = sem_kb_search(kbs[which], vec, 1, &sp, hits, &nh, &err));
            for (int i = 0; rc == SEM_OK && i < nh; i++)
                if (!isfinite(hits[i].score) || nh > sp.k)
                    abort();
            check_rc(sem_kb_search_text(kbs[which], text, &sp, hits, &nh, &err));
            free(hits);
        }
    }
    free(rest);
    return 0;
}
