/* indexer/reader_jsonl.c: JSON Lines documents, one object per line:
 *   {"id": "…", "text": "…", "title": "…", "metadata": {…}, "other": …}
 *   {"id": "…", "question": "…", "answer": "…"}          (FAQ: indexed as "question\n\nanswer")
 *   {"_id": "…", "title": "…", "text": "…"}                 (BEIR corpus.jsonl)
 * Fields other than id/_id/text/question/answer/title are kept as metadata (members of "metadata" merged in). */
#include "indexer/reader_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

/* Reads one line (without '\n' / "\r\n") into b. Returns 1, 0 at EOF, SEM_ERANGE when the line is longer than
 * max (the line has been skipped), SEM_ENOMEM, or SEM_EIO. *start_line receives the line's number. */
static int read_line(sem_instream *s, size_t max, sem_buf *b, long *start_line, sem_error *err)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
    *start_line = s->line;
    int any = 0;
    for (;;) {
        if (s->pos == s->len && !sem_in_fill(s)) {
            if (s->ioerr)
                return sem_error_set(err, SEM_EIO, "%s:%ld: read error", s->path, s->line);
            break;
        }
        any = 1;
        unsigned char *start = s->buf + s->pos;
        size_t avail = s->len - s->pos;
        unsigned char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        int oom = 0;
        if (sem_buf_append(b, (const char *)start, take, max, &oom)) {
            if (oom)
                return sem_error_set(err, SEM_ENOMEM, "%s:%ld: out of memory", s->path, *start_line);
            sem_in_skip_line(s);
            return sem_error_set(err, SEM_ERANGE,
                                 "%s:%ld: record longer than the maximum of %zu bytes (raise --max-record-bytes)",
                                 s->path, *start_line, max);
        }
        s->pos += take;
        if (nl) {
            s->pos++;
            s->line++;
            break;
        }
    }
    if (!any)
        return 0;
    if (b->len && b->p[b->len - 1] == '\r')
        b->p[--b->len] = 0;
    if (!b->p && sem_buf_append(b, "", 0, max, NULL))
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    return 1;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

static const char *str_field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* id as text: a string, or an integer number. */
static char *id_field(const cJSON *o, int *bad)
{
    *bad = 0;
    const char *names[] = {"id", "_id"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, names[i]);
        if (!v)
            continue;
        if (cJSON_IsString(v) && v->valuestring[0])
            return strdup(v->valuestring);
        if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9e15) {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%.0f", v->valuedouble);
            return strdup(tmp);
        }
        *bad = 1;
        return NULL;
    }
    return NULL;
}

static int known_field(const char *k)
{
    static const char *names[] = {"id", "_id", "text", "question", "answer", "title", "metadata"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(k, names[i]) == 0)
            return 1;
    return 0;
}

/* Builds the document from a parsed object. Returns SEM_OK or SEM_EINVAL/SEM_ENOMEM with err set. */
static int doc_from_json(const cJSON *o, const char *where, sem_doc *doc, sem_error *err)
{
    int bad_id;
    doc->id = id_field(o, &bad_id);
    if (bad_id)
        return sem_error_set(err, SEM_EINVAL, "%s: \"id\" must be a non-empty string or an integer", where);
    const char *text = str_field(o, "text"), *q = str_field(o, "question"), *a = str_field(o, "answer");
    const char *title = str_field(o, "title");
    if (text && text[0]) {
        doc->text = strdup(text);
    } else if (q && q[0] && a && a[0]) {
        doc->text = sem_qa_text(q, a);
        doc->answer = strdup(a);
        if (!doc->answer)
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        if (!title || !title[0])
            title = q;
    } else {
        return sem_error_set(err, SEM_EINVAL,
                             "%s: missing text: a record needs a non-empty \"text\" or \"question\" and "
                             "\"answer\"",
                             where);
    }
    if (!doc->text)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (title && title[0] && !(doc->title = strdup(title)))
        return sem_error_set(err, SEM_ENOMEM, "out of memory");

    cJSON *meta = cJSON_CreateObject();
    if (!meta)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    if (m && !cJSON_IsObject(m) && !cJSON_IsNull(m)) {
        cJSON_Delete(meta);
        return sem_error_set(err, SEM_EINVAL, "%s: \"metadata\" must be an object", where);
    }
    int oom = 0;
    for (const cJSON *it = m ? m->child : NULL; it && !oom; it = it->next) {
        cJSON *dup = cJSON_Duplicate(it, 1);
        if (!dup || !cJSON_AddItemToObject(meta, it->string, dup))
            oom = 1;
    }
    for (const cJSON *it = o->child; it && !oom; it = it->next) {
        if (!it->string || known_field(it->string) || cJSON_GetObjectItemCaseSensitive(meta, it->string))
            continue;
        cJSON *dup = cJSON_Duplicate(it, 1);
        if (!dup || !cJSON_AddItemToObject(meta, it->string, dup))
            oom = 1;
    }
    doc->metadata_json = oom ? NULL : cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    if (!doc->metadata_json)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    return SEM_OK;
}

int sem_jsonl_next(sem_instream *s, size_t max, sem_buf *line, sem_doc *doc, sem_error *err)
{
    for (;;) {
        long ln;
        int rc = read_line(s, max, line, &ln, err);
        if (rc <= 0)
            return rc;
        if (is_blank(line->p, line->len))
            continue;
        size_t bad;
        if (!sem_utf8_valid(line->p, line->len, &bad))
            return sem_error_set(err, SEM_EINVAL, "%s:%ld: invalid UTF-8 at byte %zu of the line", s->path, ln,
                                 bad);
        const char *at = NULL; /* where parsing stopped: per call, unlike cJSON_GetErrorPtr's global */
        cJSON *o = cJSON_ParseWithLengthOpts(line->p, line->len, &at, 0);
        if (!o) {
            size_t off = at && at >= line->p && at <= line->p + line->len ? (size_t)(at - line->p) : 0;
            return sem_error_set(err, SEM_EINVAL, "%s:%ld: malformed JSON near byte %zu", s->path, ln, off);
        }
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            return sem_error_set(err, SEM_EINVAL, "%s:%ld: expected a JSON object", s->path, ln);
        }
        char where[600];
        snprintf(where, sizeof where, "%.500s:%ld", s->path, ln);
        rc = doc_from_json(o, where, doc, err);
        cJSON_Delete(o);
        if (rc == SEM_OK && !(doc->source = strdup(s->path)))
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        doc->line = ln;
        if (rc == SEM_OK && !doc->id) {
            /* no id: "file#line", stable while the file is unchanged */
            char tmp[64];
            const char *base = strrchr(s->path, '/');
            base = base ? base + 1 : s->path;
            snprintf(tmp, sizeof tmp, "#%ld", ln);
            size_t nb = strlen(base), nt = strlen(tmp);
            doc->id = malloc(nb + nt + 1);
            if (!doc->id)
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
            else {
                memcpy(doc->id, base, nb);
                memcpy(doc->id + nb, tmp, nt + 1);
            }
        }
        if (rc != SEM_OK) {
            sem_doc_clear(doc);
            return rc;
        }
        return 1;
    }
}

int sem_doc_from_cjson(const void *cjson_object, sem_doc *doc, sem_error *err)
{
    const cJSON *o = cjson_object;
    memset(doc, 0, sizeof *doc);
    if (!cJSON_IsObject(o))
        return sem_error_set(err, SEM_EINVAL, "a document must be a JSON object");
    int rc = doc_from_json(o, "document", doc, err);
    if (rc == SEM_OK && !doc->id)
        rc = sem_error_set(err, SEM_EINVAL, "a document needs an \"id\"");
    if (rc == SEM_OK && !(doc->source = strdup("request")))
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    if (rc == SEM_OK) {
        size_t bad;
        const char *f[] = {doc->id, doc->title, doc->text};
        for (int i = 0; i < 3 && rc == SEM_OK; i++)
            if (f[i] && !sem_utf8_valid(f[i], strlen(f[i]), &bad))
                rc = sem_error_set(err, SEM_EINVAL, "invalid UTF-8 in the document");
    }
    if (rc != SEM_OK)
        sem_doc_clear(doc);
    return rc;
}
