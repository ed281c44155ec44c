/* web/info.c: GET /health, GET /stats (KBs, counts, model, index, uptime), GET /metrics (Prometheus text). */
#include "web/internal.h"

#include "common/fileio.h"
#include "store/kb.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#ifndef SEM_VERSION
#define SEM_VERSION "unknown"
#endif

int web_h_health(const web_state *st, web_reply *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddNumberToObject(o, "kbs", st->n_kbs);
    cJSON_AddNumberToObject(o, "uptime_s", round((sem_now() - st->t_start) * 1e3) / 1e3);
    return web_reply_json(r, 200, o);
}

static cJSON *kb_stats(web_kb *k, sem_error *err)
{
    sem_kb_info in;
    if (sem_kb_get_info(web_kb_store(k), &in, err) != SEM_OK)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", web_kb_name(k));
    cJSON_AddNumberToObject(o, "documents", (double)in.n_docs);
    cJSON_AddNumberToObject(o, "passages", (double)in.n_passages);
    cJSON *m = cJSON_AddObjectToObject(o, "model");
    if (m) {
        cJSON_AddStringToObject(m, "name", in.model.name);
        cJSON_AddNumberToObject(m, "dim", in.model.dim);
        cJSON_AddStringToObject(m, "pooling", in.model.pooling);
        cJSON_AddBoolToObject(m, "normalize", in.model.normalize);
        cJSON_AddStringToObject(m, "config_hash", in.model.config_hash);
        cJSON_AddBoolToObject(m, "loaded", web_kb_model(k) != NULL);
        if (web_kb_model(k)) {
            sem_model_info mi;
            sem_model_get_info(web_kb_model(k), &mi);
            cJSON_AddStringToObject(m, "precision", sem_precision_name(mi.precision));
        }
    }
    cJSON *ix = cJSON_AddObjectToObject(o, "index");
    if (ix) {
        cJSON_AddStringToObject(ix, "spec", in.index_spec);
        cJSON_AddStringToObject(ix, "built", in.index_built);
        cJSON_AddStringToObject(ix, "type", in.index_type);
        cJSON_AddStringToObject(ix, "metric", sem_kb_metric_name(in.metric));
        cJSON_AddBoolToObject(ix, "trained", in.trained);
        cJSON_AddNumberToObject(ix, "vectors", (double)in.ntotal);
        cJSON_AddNumberToObject(ix, "nlist", (double)in.nlist);
        cJSON_AddNumberToObject(ix, "nprobe", in.default_nprobe);
        cJSON_AddNumberToObject(ix, "memory_bytes", (double)in.mem_bytes);
        cJSON_AddNumberToObject(ix, "file_bytes", (double)in.index_file_bytes);
        cJSON_AddNumberToObject(ix, "unsaved_changes", (double)in.changes_unsaved);
    }
    cJSON_AddNumberToObject(o, "db_bytes", (double)in.db_file_bytes);
    return o;
}

int web_h_stats(const web_state *st, web_reply *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", SEM_VERSION);
    cJSON_AddNumberToObject(o, "uptime_s", round((sem_now() - st->t_start) * 1e3) / 1e3);
    cJSON_AddNumberToObject(o, "threads", st->p.n_threads);
    cJSON *lim = cJSON_AddObjectToObject(o, "limits");
    if (lim) {
        cJSON_AddNumberToObject(lim, "max_body", (double)st->p.max_body);
        cJSON_AddNumberToObject(lim, "max_batch", st->p.max_batch);
        cJSON_AddNumberToObject(lim, "max_k", st->p.max_k);
        cJSON_AddNumberToObject(lim, "max_text_chars", st->p.max_text_chars);
        cJSON_AddNumberToObject(lim, "max_query_bytes", web_max_query_bytes(st));
        cJSON_AddNumberToObject(lim, "max_filter_keys", SEM_KB_MAX_FILTER_KEYS);
        cJSON_AddNumberToObject(lim, "max_tokens", (double)web_max_tokens(st));
    }
    int keyed = st->p.api_key && st->p.api_key[0];
    cJSON_AddBoolToObject(o, "auth", keyed);
    /* who may write: "api_key", "loopback" (unauthenticated, loopback only) or "disabled" (no key) */
    cJSON_AddStringToObject(o, "writes", keyed ? "api_key" : st->p.allow_unauthenticated_writes ? "loopback" : "disabled");
    cJSON *kbs = cJSON_AddArrayToObject(o, "kbs");
    for (int i = 0; kbs && i < st->n_kbs; i++) {
        sem_error err = {0};
        cJSON *k = kb_stats(st->kbs[i], &err);
        if (!k) {
            cJSON_Delete(o);
            return web_error_from(r, &err);
        }
        cJSON_AddItemToArray(kbs, k);
    }
    return web_reply_json(r, 200, o);
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void put_label(sem_strbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            sem_strbuf_put(b, "\\", 1);
        if (*s == '\n')
            sem_strbuf_put(b, "\\n", 2);
        else
            sem_strbuf_put(b, s, 1);
    }
}

static void gauge_head(sem_strbuf *b, const char *name, const char *help)
{
    sem_strbuf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void gauge(sem_strbuf *b, const char *name, const char *kb, long long v)
{
    sem_strbuf_printf(b, "%s{kb=\"", name);
    put_label(b, kb);
    sem_strbuf_printf(b, "\"} %lld\n", v);
}

int web_h_metrics(const web_state *st, web_reply *r)
{
    sem_strbuf b = {0};
    web_metrics_write(st->metrics, &b);
    sem_kb_info *in = calloc((size_t)st->n_kbs, sizeof *in);
    if (!in) {
        sem_strbuf_free(&b);
        return web_error(r, 500, "out of memory");
    }
    for (int i = 0; i < st->n_kbs; i++) {
        sem_error err = {0};
        if (sem_kb_get_info(web_kb_store(st->kbs[i]), &in[i], &err) != SEM_OK) {
            free(in);
            sem_strbuf_free(&b);
            return web_error_from(r, &err);
        }
    }
    static const struct {
        const char *name, *help;
        size_t off;
    } g[] = {
        {"semsearch_kb_documents", "Documents in the knowledge base.", offsetof(sem_kb_info, n_docs)},
        {"semsearch_kb_passages", "Passages in the knowledge base.", offsetof(sem_kb_info, n_passages)},
        {"semsearch_index_vectors", "Vectors in the FAISS index.", offsetof(sem_kb_info, ntotal)},
        {"semsearch_index_memory_bytes", "Estimated memory of the in-memory index.", offsetof(sem_kb_info, mem_bytes)},
        {"semsearch_index_file_bytes", "Size of the index file.", offsetof(sem_kb_info, index_file_bytes)},
        {"semsearch_db_bytes", "Size of the SQLite database and its WAL.", offsetof(sem_kb_info, db_file_bytes)},
    };
    for (size_t j = 0; j < sizeof g / sizeof g[0]; j++) {
        gauge_head(&b, g[j].name, g[j].help);
        for (int i = 0; i < st->n_kbs; i++) {
            int64_t v;
            memcpy(&v, (const char *)&in[i] + g[j].off, sizeof v);
            gauge(&b, g[j].name, web_kb_name(st->kbs[i]), (long long)v);
        }
    }
    free(in);
    sem_strbuf_printf(&b, "# HELP semsearch_uptime_seconds Seconds since the server started.\n"
                          "# TYPE semsearch_uptime_seconds gauge\nsemsearch_uptime_seconds %.3f\n",
                      sem_now() - st->t_start);
    return web_sb_reply(&b, r, "text/plain; version=0.0.4; charset=utf-8");
}
