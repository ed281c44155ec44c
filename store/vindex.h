/* store/vindex.h (internal): the FAISS index of a KB: build from a factory string, train, add with passage
 * ids, remove, search, and the index file (our checked header + FAISS bytes + tombstones).
 *
 * States: a spec that needs training (IVF, PQ, PCA, OPQ...) starts UNTRAINED: vectors go to an exact
 * IDMap(IndexFlat) "buffer" and searches are exact. Training is done by building a new vindex from SQLite
 * (kb.c) once sem_vindex_train_min() vectors exist, then swapping it in. Specs needing no training (Flat,
 * HNSW32) are trained from the start.
 * Deleted ids that an index type cannot remove (HNSW) become tombstones: kept sorted, filtered out of search
 * results (searches over-fetch by their number), saved with the file, dropped by a rebuild.
 * Threads: a vindex is not locked here; kb.c holds its rwlock: sem_vindex_search/ntotal/list_ids/save/mem/
 * type under the shared lock, add/remove/free under the exclusive one. */
#ifndef SEM_VINDEX_H
#define SEM_VINDEX_H

#include <stddef.h>
#include <stdint.h>

#include <faiss/c_api/Index_c.h>

#include "common/error.h"
#include "store/kb.h"

typedef struct sem_vindex {
    int d, metric;
    char spec[128];     /* the resolved factory string this index is built from */
    FaissIndex *index;  /* trained index whose labels are passage ids; NULL while untrained */
    FaissIndex *buffer; /* IDMap(IndexFlat) exact store while untrained; NULL once trained */
    int64_t train_min;  /* vectors needed to train (0: the spec needs no training) */
    int64_t trained_on; /* vectors the index was trained on */
    int64_t *tomb;      /* sorted ids deleted but still inside index */
    size_t ntomb, tomb_cap;
    int64_t last_seq;   /* the last change-log sequence whose effect this index contains */
    int tuned_nprobe;   /* IVF: the nprobe picked on held-out vectors when the index was built, 0 if none */
    double tuned_recall; /* the 10-recall@10 measured at tuned_nprobe (kept to 1e-4 in the file) */
    struct sem_vtune *tune; /* while the builder fills a new index: the tuning queries (vtune.c), else NULL */
} sem_vindex;
typedef struct sem_vtune sem_vtune;

#define SEM_VINDEX_UUID_LEN 32 /* hex chars of a KB's random identity */

/* Creates an empty index for a RESOLVED spec (not "auto"). *out owned by the caller (sem_vindex_free). */
int sem_vindex_new(const char *spec, int d, int metric, sem_vindex **out, sem_error *err);
void sem_vindex_free(sem_vindex *v);

/* Vectors needed before spec can be trained (0 if it needs no training): 39 points per IVF list / PQ
 * centroid, 2*d for PCA-like transforms. */
int64_t sem_vindex_train_min(const char *spec, int d);

/* 1 while vectors wait in the exact buffer. */
int sem_vindex_untrained(const sem_vindex *v);

/* Trains an untrained, EMPTY vindex on x (n, d) and moves it to the trained state. */
int sem_vindex_train(sem_vindex *v, int64_t n, const float *x, sem_error *err);

/* Adds x (n, d) with labels ids (n). While tuning (below), also feeds them to the ground truth. */
int sem_vindex_add(sem_vindex *v, int64_t n, const int64_t *ids, const float *x, sem_error *err);

/* Removes ids (n); ids not in the index are ignored; types that cannot remove get tombstones. */
int sem_vindex_remove(sem_vindex *v, int64_t n, const int64_t *ids, sem_error *err);

/* Vectors stored (including tombstoned ones) and live ones. */
int64_t sem_vindex_ntotal(const sem_vindex *v);
int64_t sem_vindex_nlive(const sem_vindex *v);

/* Searches nq queries (nq, d): hits (nq, k), n_hits (nq); scores higher-is-better. */
int sem_vindex_search(const sem_vindex *v, int nq, const float *q, int k, int nprobe, int ef_search,
                      sem_kb_hit *hits, int *n_hits, sem_error *err);

/* ---- nprobe tuning (vtune.c) ----
 * The builder of a new index (kb.c) calls, around training and filling it:
 *     sem_vindex_tune_begin(v, &n, ids, x)   on the training sample (n rows x, their passage ids): for an IVF
 *                                            spec, takes up to SEM_VINDEX_TUNE_QUERIES evenly spread rows as
 *                                            queries and, when n - queries >= train_min, moves them out of the
 *                                            sample (n shrinks) so that they are held out of training;
 *     sem_vindex_train(v, n, x) ... sem_vindex_add(...)   every vector, each batch also updating the exact
 *                                            10 nearest neighbours of each query (itself excluded);
 *     sem_vindex_tune_finish(v)              sets tuned_nprobe to the smallest nprobe whose 10-recall@10 on the
 *                                            queries reaches SEM_VINDEX_TUNE_RECALL with 95% confidence (mean
 *                                            - 1.645 standard errors; or, for an index that cannot reach it at
 *                                            nprobe = nlist, e.g. PQ codes, within 0.01 of what it reaches
 *                                            there), and tuned_recall to the mean recall there.
 * Indexes without IVF are left alone. Errors drop the tuning state (the index stays valid, untuned). */
#define SEM_VINDEX_TUNE_QUERIES 400
#define SEM_VINDEX_TUNE_K 10
#define SEM_VINDEX_TUNE_RECALL 0.95
#define SEM_VINDEX_TUNE_MAX_NPROBE 65535 /* kept in 16 bits of the file header */
int sem_vindex_tune_begin(sem_vindex *v, int64_t *n, int64_t *ids, float *x, sem_error *err);
int sem_vindex_tune_feed(sem_vindex *v, int64_t n, const int64_t *ids, const float *x, sem_error *err);
int sem_vindex_tune_finish(sem_vindex *v, sem_error *err);
void sem_vindex_tune_drop(sem_vindex *v); /* frees the tuning state, if any */

/* The nprobe a search uses when it asks for 0: tuned_nprobe when the index was tuned, else max(8, nlist/64)
 * (indexes built before tuning existed), at most nlist; 0 for an index without IVF. */
int sem_vindex_default_nprobe(const sem_vindex *v);

/* Live ids (tombstones excluded), sorted ascending, malloc'd into *ids (caller frees). */
int sem_vindex_list_ids(const sem_vindex *v, int64_t **ids, size_t *n, sem_error *err);

int64_t sem_vindex_nlist(const sem_vindex *v);
void sem_vindex_type(const sem_vindex *v, char *buf, size_t len);
/* Bytes FAISS would serialize (a fair estimate of its memory); -1 on failure. */
int64_t sem_vindex_mem(const sem_vindex *v);

/* Writes the index file atomically (temp file, fsync, rename, fsync dir) with header: magic, version, kb uuid,
 * dim, metric, spec, last_seq, payload size and 64-bit checksum. */
int sem_vindex_save(const sem_vindex *v, const char *path, const char *kb_uuid, sem_error *err);

/* Reads an index file after verifying its header, size and checksum, and that it belongs to kb_uuid with this
 * d and metric. SEM_ENOTFOUND if missing; SEM_EFORMAT / SEM_EMISMATCH with a reason otherwise. FAISS only ever
 * sees bytes whose checksum matched. */
int sem_vindex_load(const char *path, const char *kb_uuid, int d, int metric, sem_vindex **out, sem_error *err);

/* For fuzzing and tests: recomputes the header checksum of an index-file image of len bytes in place (so that
 * mutated header fields reach the field checks). No-op if len is shorter than the header. */
void sem_vindex_reseal_header(unsigned char *file, size_t len);

/* 64-bit checksum used by the index file (exposed for tests). */
uint64_t sem_vindex_hash(const void *data, size_t len, uint64_t seed);

#endif
