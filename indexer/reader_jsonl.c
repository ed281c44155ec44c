/* indexer/reader_jsonl.c: JSON Lines documents, one object per line:
 *   {"id": "…", "text": "…", "title": "…", "metadata": {…}, "other": …}
 *   {"id": "…", "question": "…", "answer": "…"}          (FAQ: indexed as "question\n\nanswer")
 *   {"_id": "…", "title": "…", "text": "…"}                 (BEIR corpus.jsonl)
 * Fields other than id/_id/text/question/answer/title are kept as metadata (members of "metadata" merged in). */
#include "indexer/reader_impl.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

/* Reads one line (without '\n' / "\r\n") with the bounded line reader. Returns 1, 0 at EOF, SEM_ERANGE when
 * the line is longer than the reader's cap (the next call skips it), SEM_ENOMEM, or SEM_EIO. */
static int read_line(sem_linereader *lr, const char *path, sem_error *err)
{
    sem_error e;
    int rc = sem_linereader_next(lr, &e);
    if (rc == SEM_ERANGE)
        return sem_error_set(err, SEM_ERANGE,
                             "%s:%ld: record longer than the maximum of %zu bytes (raise --max-record-bytes)", path,
                             lr->lineno, lr->max_line);
    if (rc < 0)
        return sem_error_set(err, rc, "%s: %s", path, e.msg);
    return rc;
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
    static const char *names[] = {"id", "_id", "text", "question", "answer", "title", "metadata", "vector"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(k, names[i]) == 0)
            return 1;
    return 0;
}

/* A member name of the record ("top" 1) or of its "metadata" object ("top" 0), for finding duplicates by sorting:
 * O(n log n) whatever the names, where a lookup per field was O(n^2) (40k fields took seconds). */
typedef struct name_ref {
    const char *name;
    int top;
    size_t idx; /* position among the record's members */
} name_ref;

static int by_name(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    if (x->top != y->top)
        return x->top - y->top;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Which members of the record o become metadata: keep[i] = 1 for the i-th member when it is not a known field,
 * not a member of m (metadata given explicitly wins) and the first of its name. malloc'd (caller frees, at
 * least 1 byte), NULL on ENOMEM. */
static unsigned char *fields_to_keep(const cJSON *o, const cJSON *m)
{
    size_t n = 0, n_top = 0;
    for (const cJSON *it = m ? m->child : NULL; it; it = it->next)
        n++;
    for (const cJSON *it = o->child; it; it = it->next)
        n_top++;
    n += n_top;
    name_ref *refs = n <= SIZE_MAX / sizeof *refs ? malloc((n ? n : 1) * sizeof *refs) : NULL;
    unsigned char *keep = calloc(n_top ? n_top : 1, 1);
    if (!refs || !keep) {
        free(refs);
        free(keep);
        return NULL;
    }
    size_t k = 0, i = 0;
    for (const cJSON *it = m ? m->child : NULL; it; it = it->next)
        if (it->string)
            refs[k++] = (name_ref){it->string, 0, 0};
    for (const cJSON *it = o->child; it; it = it->next, i++)
        if (it->string && !known_field(it->string))
            refs[k++] = (name_ref){it->string, 1, i};
    qsort(refs, k, sizeof *refs, by_name);
    for (size_t a = 0; a < k;) {
        size_t b = a + 1;
        while (b < k && strcmp(refs[a].name, refs[b].name) == 0)
            b++;
        if (refs[a].top) /* sorted metadata-first: no member of m has this name; the first field wins */
            keep[refs[a].idx] = 1;
        a = b;
    }
    free(refs);
    return keep;
}

/* "vector": an array of 1..SEM_DOC_MAX_VECTOR_DIM numbers, each finite as a 32-bit float; absent or null: none. */
static int vector_field(const cJSON *o, const char *where, sem_doc *doc, sem_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "vector");
    if (!v || cJSON_IsNull(v))
        return SEM_OK;
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (n < 1 || n > SEM_DOC_MAX_VECTOR_DIM)
        return sem_error_set(err, SEM_EINVAL, "%s: \"vector\" must be an array of 1 to %d numbers", where,
                             SEM_DOC_MAX_VECTOR_DIM);
    if (!(doc->vector = malloc((size_t)n * sizeof *doc->vector)))
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        double x = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (!isfinite(x) || !isfinite((float)x))
            return sem_error_set(err, SEM_EINVAL, "%s: \"vector\"[%d] is not a number that fits a 32-bit float",
                                 where, i);
        doc->vector[i] = (float)x;
    }
    doc->vector_dim = n;
    return SEM_OK;
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
    int vrc = vector_field(o, where, doc, err);
    if (vrc)
        return vrc;

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
    unsigned char *keep = oom ? NULL : fields_to_keep(o, m);
    if (!keep)
        oom = 1;
    size_t i = 0;
    for (const cJSON *it = o->child; it && !oom; it = it->next, i++) {
        if (!keep[i])
            continue;
        cJSON *dup = cJSON_Duplicate(it, 1);
        if (!dup || !cJSON_AddItemToObject(meta, it->string, dup))
            oom = 1;
    }
    free(keep);
    doc->metadata_json = oom ? NULL : cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    if (!doc->metadata_json)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    return SEM_OK;
}

int sem_jsonl_next(sem_instream *s, sem_linereader *lr, sem_doc *doc, sem_error *err)
{
    for (;;) {
        int rc = read_line(lr, s->path, err);
        if (rc <= 0)
            return rc;
        long ln = lr->lineno;
        const char *line = lr->line;
        if (is_blank(line, lr->len))
            continue;
        size_t bad;
        if (!sem_utf8_valid(line, lr->len, &bad))
            return sem_error_set(err, SEM_EINVAL, "%s:%ld: invalid UTF-8 at byte %zu of the line", s->path, ln,
                                 bad);
        const char *at = NULL; /* where parsing stopped: per call, unlike cJSON_GetErrorPtr's global */
        cJSON *o = cJSON_ParseWithLengthOpts(line, lr->len, &at, 0);
        if (!o) {
            size_t off = at && at >= line && at <= line + lr->len ? (size_t)(at - line) : 0;
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
