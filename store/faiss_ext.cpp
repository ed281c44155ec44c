// store/faiss_ext.cpp: see faiss_ext.h. Plain C++ over FAISS 1.7.3; every entry point catches everything.
#include "store/faiss_ext.h"

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPreTransform.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <typeinfo>

namespace {

void set_err(char *buf, size_t len, const char *msg)
{
    if (buf && len)
        std::snprintf(buf, len, "%s", msg);
}

// The index below an IDMap and any number of pre-transforms.
const faiss::Index *core_of(const faiss::Index *idx)
{
    for (;;) {
        if (auto m = dynamic_cast<const faiss::IndexIDMap *>(idx)) {
            idx = m->index;
        } else if (auto p = dynamic_cast<const faiss::IndexPreTransform *>(idx)) {
            idx = p->index;
        } else {
            return idx;
        }
    }
}

std::string short_name(const faiss::Index *idx)
{
    const char *n = typeid(*idx).name(); // mangled, e.g. "N5faiss10IndexIVFPQE"
    std::string s(n);
    // Strip the "N5faiss" prefix and trailing "E" of a nested name; keep the rest readable enough.
    const std::string pre = "N5faiss";
    if (s.compare(0, pre.size(), pre) == 0 && !s.empty() && s.back() == 'E') {
        s = s.substr(pre.size(), s.size() - pre.size() - 1);
        size_t i = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9')
            i++;
        s = s.substr(i);
    }
    return s;
}

} // namespace

extern "C" int sem_fx_search(const FaissIndex *cidx, int64_t n, const float *x, int64_t k, int nprobe,
                             int ef_search, float *D, int64_t *I, char *errbuf, size_t errlen)
{
    try {
        auto idx = reinterpret_cast<const faiss::Index *>(cidx);
        auto idmap = dynamic_cast<const faiss::IndexIDMap *>(idx);
        const faiss::Index *target = idmap ? idmap->index : idx;
        const faiss::Index *core = core_of(target);
        faiss::SearchParametersIVF ivf;
        faiss::SearchParametersHNSW hnsw;
        const faiss::SearchParameters *params = nullptr;
        if (auto iv = dynamic_cast<const faiss::IndexIVF *>(core)) {
            if (nprobe > 0) {
                ivf.nprobe = (size_t)nprobe < iv->nlist ? (size_t)nprobe : iv->nlist;
                params = &ivf;
            }
        } else if (dynamic_cast<const faiss::IndexHNSW *>(core)) {
            if (ef_search > 0) {
                hnsw.efSearch = ef_search;
                params = &hnsw;
            }
        }
        target->search(n, x, k, D, I, params);
        if (idmap) {
            const auto &map = idmap->id_map;
            for (int64_t i = 0; i < n * k; i++) {
                if (I[i] >= 0)
                    I[i] = (size_t)I[i] < map.size() ? map[I[i]] : -1;
            }
        }
        return 0;
    } catch (const std::exception &e) {
        set_err(errbuf, errlen, e.what());
    } catch (...) {
        set_err(errbuf, errlen, "unknown C++ exception in FAISS search");
    }
    return -1;
}

extern "C" int sem_fx_supports_ids(const FaissIndex *cidx)
{
    try {
        auto idx = reinterpret_cast<const faiss::Index *>(cidx);
        if (dynamic_cast<const faiss::IndexIDMap *>(idx))
            return 1;
        return dynamic_cast<const faiss::IndexIVF *>(core_of(idx)) != nullptr;
    } catch (...) {
        return 0;
    }
}

extern "C" int64_t sem_fx_nlist(const FaissIndex *cidx)
{
    try {
        auto iv = dynamic_cast<const faiss::IndexIVF *>(core_of(reinterpret_cast<const faiss::Index *>(cidx)));
        return iv ? (int64_t)iv->nlist : 0;
    } catch (...) {
        return 0;
    }
}

extern "C" void sem_fx_type_name(const FaissIndex *cidx, char *buf, size_t len)
{
    try {
        auto idx = reinterpret_cast<const faiss::Index *>(cidx);
        std::string s, close;
        for (;;) {
            if (auto m = dynamic_cast<const faiss::IndexIDMap *>(idx)) {
                s += "IDMap(";
                close += ")";
                idx = m->index;
            } else if (auto p = dynamic_cast<const faiss::IndexPreTransform *>(idx)) {
                s += "PreTransform(";
                close += ")";
                idx = p->index;
            } else {
                break;
            }
        }
        s += short_name(idx) + close;
        set_err(buf, len, s.c_str());
    } catch (...) {
        set_err(buf, len, "?");
    }
}

extern "C" int sem_fx_list_ids(const FaissIndex *cidx, int64_t **ids, size_t *n, char *errbuf, size_t errlen)
{
    *ids = nullptr;
    *n = 0;
    try {
        auto idx = reinterpret_cast<const faiss::Index *>(cidx);
        if (auto m = dynamic_cast<const faiss::IndexIDMap *>(idx)) {
            size_t cnt = m->id_map.size();
            int64_t *out = (int64_t *)std::malloc((cnt ? cnt : 1) * sizeof(int64_t));
            if (!out) {
                set_err(errbuf, errlen, "out of memory");
                return -1;
            }
            if (cnt)
                std::memcpy(out, m->id_map.data(), cnt * sizeof(int64_t));
            *ids = out;
            *n = cnt;
            return 0;
        }
        auto iv = dynamic_cast<const faiss::IndexIVF *>(core_of(idx));
        if (!iv) {
            set_err(errbuf, errlen, "index type keeps no ids");
            return -1;
        }
        size_t total = 0;
        for (size_t l = 0; l < iv->nlist; l++)
            total += iv->invlists->list_size(l);
        int64_t *out = (int64_t *)std::malloc((total ? total : 1) * sizeof(int64_t));
        if (!out) {
            set_err(errbuf, errlen, "out of memory");
            return -1;
        }
        size_t pos = 0;
        for (size_t l = 0; l < iv->nlist; l++) {
            size_t ls = iv->invlists->list_size(l);
            if (!ls)
                continue;
            faiss::InvertedLists::ScopedIds sids(iv->invlists, l);
            for (size_t j = 0; j < ls; j++)
                out[pos++] = sids[j];
        }
        *ids = out;
        *n = pos;
        return 0;
    } catch (const std::exception &e) {
        set_err(errbuf, errlen, e.what());
    } catch (...) {
        set_err(errbuf, errlen, "unknown C++ exception");
    }
    return -1;
}
