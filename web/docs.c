/* web/docs.c: document writes and reads.
 *   POST /documents        {"documents":[{"id":"…","text":"…" | "question":"…","answer":"…","title":"…",
 *                          "metadata":{…},"vector":[…]}],"kb":"name"} adds or replaces a batch in ONE transaction
 *                          (the JSONL ingestion fields, via the indexer): durable and searchable when the response
 *                          returns; the reply counts "added" (new ids) and "replaced" documents apart. "vector":
 *                          required in a KB made with --dim (no model), refused in one with a model.
 *   GET /documents/{id}    the stored document with its passages (?kb=name picks the KB); 404 when absent.
 *   DELETE /documents/{id} deletes it (one transaction); 404 when absent. */
#include "web/internal.h"

#include "common/fileio.h" /* sem_now */
#include "indexer/indexer.h"
#include "store/kb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int web_h_docs_add(const web_state *st, const web_http_req *req, web_reply *r)
{
    double t0 = sem_now();
    cJSON *o = web_parse_object(req, r);
    if (!o)
        return -1;
    const char *kb_name = NULL;
    sem_doc *docs = NULL;
    int n = 0, rc = -1;
    if (web_get_string(o, "kb", 0, &kb_name, r))
        goto done;
    web_kb *k = web_kb_pick(st, kb_name, r);
    if (!k)
        goto done;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "documents");
    if (!arr) {
        web_error(r, 400, "missing field \"documents\"");
        goto done;
    }
    if (!cJSON_IsArray(arr)) {
        web_error(r, 400, "field \"documents\" must be an array of objects");
        goto done;
    }
    int count = cJSON_GetArraySize(arr);
    if (count < 1 || count > st->p.max_batch) {
        web_error(r, 400, "field \"documents\" has %d documents; it needs 1 to %d", count, st->p.max_batch);
        goto done;
    }
    docs = calloc((size_t)count, sizeof *docs);
    if (!docs) {
        web_error(r, 500, "out of memory");
        goto done;
    }
    const cJSON *d;
    cJSON_ArrayForEach(d, arr)
    {
        if (!cJSON_IsObject(d)) {
            web_error(r, 400, "documents[%d] must be an object", n);
            goto done;
        }
        sem_error err = {0};
        if (sem_doc_from_cjson(d, &docs[n], &err) != SEM_OK) {
            sem_doc_clear(&docs[n]);
            web_error(r, err.code == SEM_ENOMEM ? 500 : 400, "documents[%d]: %s", n, err.msg);
            goto done;
        }
        size_t len = strlen(docs[n].text);
        n++;
        if (len > (size_t)st->p.max_text_chars) {
            web_error(r, 400, "documents[%d] is too long: %zu bytes of text, the limit is %d", n - 1, len,
                      st->p.max_text_chars);
            goto done;
        }
    }
    sem_error err = {0};
    sem_encoder_ctx *ctx = NULL;
    if (web_kb_encpool(k) && !(ctx = sem_encoder_pool_borrow(web_kb_encpool(k), &err))) {
        web_error_from(r, &err);
        goto done;
    }
    sem_index_put_counts counts;
    int prc = sem_index_put_docs_counted(web_kb_store(k), web_kb_model(k), ctx, docs, n, 0, -1, &counts, &err);
    sem_encoder_pool_return(web_kb_encpool(k), ctx);
    if (prc != SEM_OK) {
        web_error_from(r, &err);
        goto done;
    }
    if (ctx)
        web_metrics_encoded(st->metrics, counts.passages, 0);
    cJSON *out = cJSON_CreateObject();
    cJSON *ids = cJSON_AddArrayToObject(out, "ids");
    for (int i = 0; ids && i < n; i++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(docs[i].id));
    cJSON_AddNumberToObject(out, "added", (double)counts.added);
    cJSON_AddNumberToObject(out, "replaced", (double)counts.replaced);
    cJSON_AddNumberToObject(out, "passages", (double)counts.passages);
    cJSON_AddStringToObject(out, "kb", web_kb_name(k));
    cJSON_AddNumberToObject(out, "took_ms", round((sem_now() - t0) * 1e6) / 1e3);
    rc = web_reply_json(r, 200, out);
done:
    for (int i = 0; docs && i < n; i++)
        sem_doc_clear(&docs[i]);
    free(docs);
    cJSON_Delete(o);
    return rc;
}

/* Adds "metadata": the stored JSON object (an empty object if it does not parse, which sem_kb_put prevents). */
static void add_metadata(cJSON *obj, const char *meta_json)
{
    cJSON *m = meta_json ? cJSON_Parse(meta_json) : NULL;
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        m = cJSON_CreateObject();
    }
    cJSON_AddItemToObject(obj, "metadata", m);
}

int web_h_doc_get(const web_state *st, const web_http_req *req, const char *id, web_reply *r)
{
    web_kb *k = web_kb_pick(st, req->kb_arg, r);
    if (!k)
        return -1;
    sem_error err = {0};
    sem_kb_doc_out *d = NULL;
    int rc = sem_kb_get_doc(web_kb_store(k), id, 0, &d, &err);
    if (rc == SEM_ENOTFOUND)
        return web_error(r, 404, "no document with id '%s' in knowledge base '%s'", id, web_kb_name(k));
    if (rc != SEM_OK)
        return web_error_from(r, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", d->ext_id ? d->ext_id : id);
    cJSON_AddStringToObject(o, "title", d->title ? d->title : "");
    cJSON_AddStringToObject(o, "text", d->text ? d->text : "");
    add_metadata(o, d->meta_json);
    cJSON_AddNumberToObject(o, "created_at", (double)d->created_at);
    cJSON_AddNumberToObject(o, "updated_at", (double)d->updated_at);
    cJSON *ps = cJSON_AddArrayToObject(o, "passages");
    for (int i = 0; ps && i < d->n_passages; i++) {
        const sem_kb_passage_out *p = &d->passages[i];
        cJSON *po = cJSON_CreateObject();
        cJSON_AddNumberToObject(po, "passage", p->passage_no);
        cJSON_AddNumberToObject(po, "start", (double)p->start);
        cJSON_AddNumberToObject(po, "end", (double)p->end);
        cJSON_AddStringToObject(po, "text", p->text ? p->text : "");
        cJSON_AddItemToArray(ps, po);
    }
    cJSON_AddStringToObject(o, "kb", web_kb_name(k));
    sem_kb_doc_out_free(d);
    return web_reply_json(r, 200, o);
}

int web_h_doc_del(const web_state *st, const web_http_req *req, const char *id, web_reply *r)
{
    web_kb *k = web_kb_pick(st, req->kb_arg, r);
    if (!k)
        return -1;
    sem_error err = {0};
    int rc = sem_kb_delete(web_kb_store(k), id, &err);
    if (rc == SEM_ENOTFOUND)
        return web_error(r, 404, "no document with id '%s' in knowledge base '%s'", id, web_kb_name(k));
    if (rc != SEM_OK)
        return web_error_from(r, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "deleted", id);
    cJSON_AddStringToObject(o, "kb", web_kb_name(k));
    return web_reply_json(r, 200, o);
}
