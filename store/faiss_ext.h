/* store/faiss_ext.h (internal): the few things the FAISS 1.7.3 C API cannot do, done in C++ (faiss_ext.cpp).
 *
 * Debian's FAISS 1.7.3 C API has no SearchParameters, so a per-call nprobe/efSearch would mean mutating the
 * shared index (not allowed under a shared lock). Its IndexIDMap::search also rejects parameters, so
 * sem_fx_search searches below the IDMap and maps the labels itself. Every function catches all C++
 * exceptions and reports them in errbuf; none keeps state. Threads: the const functions may run concurrently
 * on one index (FAISS search is const). */
#ifndef SEM_FAISS_EXT_H
#define SEM_FAISS_EXT_H

#include <stddef.h>
#include <stdint.h>

#include <faiss/c_api/Index_c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Searches n queries x (n, d) for k neighbours: D (n, k) distances, I (n, k) labels (-1 = none). nprobe > 0
 * overrides an IVF's nprobe and ef_search > 0 an HNSW's efSearch, for this call only. 0 or -1 (errbuf set). */
int sem_fx_search(const FaissIndex *idx, int64_t n, const float *x, int64_t k, int nprobe, int ef_search,
                  float *D, int64_t *I, char *errbuf, size_t errlen);

/* 1 if add_with_ids works on idx as is (an IVF, possibly below pre-transforms), 0 if it needs an IndexIDMap. */
int sem_fx_supports_ids(const FaissIndex *idx);

/* nlist of the IVF inside idx (below IDMap / pre-transforms), 0 if none. */
int64_t sem_fx_nlist(const FaissIndex *idx);

/* A readable type chain such as "IDMap(PreTransform(IndexFlat))" into buf. */
void sem_fx_type_name(const FaissIndex *idx, char *buf, size_t len);

/* All ids stored in idx (unsorted) into a malloc'd array *ids (caller frees) of *n entries. 0 or -1. */
int sem_fx_list_ids(const FaissIndex *idx, int64_t **ids, size_t *n, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
