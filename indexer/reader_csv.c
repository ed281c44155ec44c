/* indexer/reader_csv.c: CSV with a header row (RFC 4180: fields separated by commas, optionally quoted with '"',
 * '""' inside quotes for a quote, quoted fields may span lines, CRLF or LF line ends). Columns map to document
 * fields by name (case-insensitive): id/_id, text, title, and question+answer (FAQ mode: one passage
 * "question\n\nanswer", the answer kept for display, the question as the title); every other column (or the
 * --csv-metadata list) becomes metadata. Rows without an id column get "file#ROW" (ROW = 1-based data row). */
#include "indexer/reader_impl.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fileio.h"

/* Appends a field end (its offset) to the record being built. */
static int end_field(sem_csv *c, size_t *offs_start, int *n, size_t max, sem_error *err, const char *path,
                     long ln)
{
    if (*n >= c->fields_cap) {
        int cap = c->fields_cap ? c->fields_cap * 2 : 16;
        if (cap > 1 << 20)
            return sem_error_set(err, SEM_ERANGE, "%s:%ld: too many fields", path, ln);
        char **f = realloc(c->fields, (size_t)cap * sizeof *f);
        if (f)
            c->fields = f;
        size_t *l = f ? realloc(c->field_len, (size_t)cap * sizeof *l) : NULL;
        if (!f || !l)
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
        c->field_len = l;
        c->fields_cap = cap;
    }
    /* fields[] holds offsets until the record is complete (the buffer may move) */
    c->fields[*n] = (char *)(uintptr_t)*offs_start;
    c->field_len[*n] = c->field.len - *offs_start;
    (*n)++;
    int oom = 0;
    if (sem_buf_push(&c->field, 0, max, &oom))
        return oom ? sem_error_set(err, SEM_ENOMEM, "out of memory")
                   : sem_error_set(err, SEM_ERANGE,
                                   "%s:%ld: record longer than the maximum of %zu bytes (raise --max-record-bytes)",
                                   path, ln, max);
    *offs_start = c->field.len;
    return SEM_OK;
}

int sem_csv_record(sem_csv *c, sem_instream *s, size_t max, sem_error *err)
{
    enum { START, UNQUOTED, QUOTED, AFTER_QUOTE } st = START;
    c->field.len = 0;
    long ln = s->line;
    size_t off = 0;
    int n = 0, rc, last = 0;
    if (sem_in_peek(s) < 0)
        return s->ioerr ? sem_error_set(err, SEM_EIO, "%s: read error", s->path) : 0;
    for (;;) {
        int ch = sem_in_getc(s);
        last = ch;
        if (ch < 0 && s->ioerr)
            return sem_error_set(err, SEM_EIO, "%s:%ld: read error", s->path, s->line);
        if (st == QUOTED) {
            if (ch < 0)
                return sem_error_set(err, SEM_EINVAL,
                                     "%s:%ld: bad CSV quoting: the quoted field opened on this line is never "
                                     "closed",
                                     s->path, ln);
            if (ch == '"') {
                if (sem_in_peek(s) == '"') {
                    sem_in_getc(s);
                } else {
                    st = AFTER_QUOTE;
                    continue;
                }
            }
        } else if (ch == ',' || ch == '\n' || ch == '\r' || ch < 0) {
            if ((rc = end_field(c, &off, &n, max, err, s->path, ln)))
                goto skip;
            if (ch == ',') {
                st = START;
                continue;
            }
            if (ch == '\r' && sem_in_peek(s) == '\n')
                sem_in_getc(s);
            break;
        } else if (st == AFTER_QUOTE) {
            rc = sem_error_set(err, SEM_EINVAL,
                               "%s:%ld: bad CSV quoting: '%c' after a closing quote (a quote inside a quoted "
                               "field must be doubled)",
                               s->path, s->line, ch >= 32 && ch < 127 ? ch : '?');
            goto skip;
        } else if (st == START && ch == '"') {
            st = QUOTED;
            continue;
        } else {
            st = UNQUOTED; /* a '"' inside an unquoted field is kept as is (lenient, as most readers) */
        }
        int oom = 0;
        if (sem_buf_push(&c->field, (char)ch, max, &oom)) {
            rc = oom ? sem_error_set(err, SEM_ENOMEM, "out of memory")
                     : sem_error_set(err, SEM_ERANGE,
                                     "%s:%ld: record longer than the maximum of %zu bytes (raise "
                                     "--max-record-bytes)",
                                     s->path, ln, max);
            goto skip;
        }
    }
    for (int i = 0; i < n; i++)
        c->fields[i] = c->field.p + (uintptr_t)c->fields[i];
    return n;
skip:
    if (last != '\n' && last >= 0)
        sem_in_skip_line(s);
    return rc;
}

static int find_col(const sem_csv *c, const char *name)
{
    for (int i = 0; i < c->n_cols; i++)
        if (strcasecmp(c->header[i], name) == 0)
            return i;
    return -1;
}

/* A column named by a flag must exist. */
static int need_col(const sem_csv *c, const char *flag, const char *name, int *out, const char *path,
                    sem_error *err)
{
    *out = find_col(c, name);
    if (*out >= 0)
        return SEM_OK;
    char cols[512] = "";
    size_t k = 0;
    for (int i = 0; i < c->n_cols && k + 4 < sizeof cols; i++)
        k += (size_t)snprintf(cols + k, sizeof cols - k, "%s%s", i ? "," : "", c->header[i]);
    return sem_error_set(err, SEM_EINVAL, "%s: --csv-%s: no column named '%s' in the header (%s)", path, flag, name,
                         cols);
}

int sem_csv_open(sem_csv *c, sem_instream *s, const sem_reader_params *p, sem_error *err)
{
    memset(c, 0, sizeof *c);
    c->col_id = c->col_question = c->col_answer = c->col_text = c->col_title = -1;
    int n = sem_csv_record(c, s, p->max_record_bytes, err);
    if (n == 0)
        return sem_error_set(err, SEM_EINVAL, "%s: empty file: a CSV file needs a header row", s->path);
    if (n < 0)
        return sem_error_prefix(err, "CSV header");
    size_t bad;
    if (!sem_utf8_valid(c->field.p, c->field.len, &bad))
        return sem_error_set(err, SEM_EINVAL, "%s:1: invalid UTF-8 in the CSV header", s->path);
    c->header = calloc((size_t)n, sizeof *c->header);
    c->is_meta = calloc((size_t)n, 1);
    if (!c->header || !c->is_meta)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    c->n_cols = n;
    for (int i = 0; i < n; i++) {
        const char *h = c->fields[i];
        while (*h == ' ')
            h++;
        size_t len = strlen(h);
        while (len && h[len - 1] == ' ')
            len--;
        if (!(c->header[i] = sem_strndup0(h, len)))
            return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    int rc = SEM_OK;
    if (p->csv_id)
        rc = rc ? rc : need_col(c, "id", p->csv_id, &c->col_id, s->path, err);
    else if ((c->col_id = find_col(c, "id")) < 0)
        c->col_id = find_col(c, "_id");
    if (p->csv_question)
        rc = rc ? rc : need_col(c, "question", p->csv_question, &c->col_question, s->path, err);
    if (p->csv_answer)
        rc = rc ? rc : need_col(c, "answer", p->csv_answer, &c->col_answer, s->path, err);
    if (p->csv_text)
        rc = rc ? rc : need_col(c, "text", p->csv_text, &c->col_text, s->path, err);
    if (p->csv_title)
        rc = rc ? rc : need_col(c, "title", p->csv_title, &c->col_title, s->path, err);
    if (rc)
        return rc;
    int explicit = p->csv_question || p->csv_answer || p->csv_text;
    if (!explicit) {
        c->col_text = find_col(c, "text");
        if (c->col_text < 0) {
            c->col_question = find_col(c, "question");
            c->col_answer = find_col(c, "answer");
        }
    }
    if (!p->csv_title && c->col_title < 0)
        c->col_title = find_col(c, "title");
    if (c->col_text < 0 && c->col_question < 0)
        return sem_error_set(err, SEM_EINVAL,
                             "%s: no text column: name one with --csv-text COL or --csv-question COL "
                             "[--csv-answer COL] (or call a column 'text', or 'question' and 'answer')",
                             s->path);
    if (p->csv_metadata) {
        const char *m = p->csv_metadata;
        while (*m) {
            const char *e = strchr(m, ',');
            size_t len = e ? (size_t)(e - m) : strlen(m);
            char *name = sem_strndup0(m, len);
            if (!name)
                return sem_error_set(err, SEM_ENOMEM, "out of memory");
            int col;
            rc = len ? need_col(c, "metadata", name, &col, s->path, err) : SEM_OK;
            free(name);
            if (rc)
                return rc;
            if (len)
                c->is_meta[col] = 1;
            m += len + (e ? 1 : 0);
        }
    } else {
        for (int i = 0; i < n; i++)
            c->is_meta[i] = i != c->col_id && i != c->col_question && i != c->col_answer && i != c->col_text &&
                            i != c->col_title;
    }
    return SEM_OK;
}

static int field_dup(const sem_csv *c, int col, char **out)
{
    *out = NULL;
    if (col < 0 || c->field_len[col] == 0)
        return 0;
    *out = sem_strndup0(c->fields[col], c->field_len[col]);
    return *out ? 0 : -1;
}

int sem_csv_next(sem_csv *c, sem_instream *s, size_t max, sem_doc *doc, sem_error *err)
{
    for (;;) {
        long ln = s->line;
        int n = sem_csv_record(c, s, max, err);
        if (n < 0 && n != SEM_EIO)
            c->rows++; /* a bad row still takes its row number: later rows keep their ids */
        if (n <= 0)
            return n;
        if (n == 1 && c->field_len[0] == 0)
            continue; /* blank line */
        c->rows++;
        if (n != c->n_cols)
            return sem_error_set(err, SEM_EINVAL, "%s:%ld: the row has %d fields, the header has %d", s->path, ln, n,
                                 c->n_cols);
        for (int i = 0; i < n; i++) {
            size_t bad;
            if (!sem_utf8_valid(c->fields[i], c->field_len[i], &bad))
                return sem_error_set(err, SEM_EINVAL, "%s:%ld: invalid UTF-8 in column '%s' (byte %zu)", s->path,
                                     ln, c->header[i], bad);
        }
        char *q = NULL, *a = NULL;
        int oom = field_dup(c, c->col_id, &doc->id) || field_dup(c, c->col_title, &doc->title);
        if (!oom && c->col_text >= 0) {
            oom = field_dup(c, c->col_text, &doc->text);
        } else if (!oom) {
            oom = field_dup(c, c->col_question, &q) || field_dup(c, c->col_answer, &a);
            if (!oom && q && a) {
                doc->text = sem_qa_text(q, a);
                if (doc->text) {
                    doc->answer = a;
                    a = NULL;
                    if (!doc->title) {
                        doc->title = q;
                        q = NULL;
                    }
                } else {
                    oom = 1;
                }
            } else if (!oom && q && c->col_answer < 0) {
                doc->text = q;
                q = NULL;
            }
        }
        free(q);
        free(a);
        int rc = SEM_OK;
        if (oom) {
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        } else if (!doc->text) {
            rc = sem_error_set(err, SEM_EINVAL, "%s:%ld: missing text (empty %s)", s->path, ln,
                               c->col_text >= 0 ? "text column" : "question or answer");
        } else if (c->col_id >= 0 && !doc->id) {
            rc = sem_error_set(err, SEM_EINVAL, "%s:%ld: missing id (empty column '%s')", s->path, ln,
                               c->header[c->col_id]);
        }
        if (rc == SEM_OK && !doc->id) {
            const char *base = strrchr(s->path, '/');
            base = base ? base + 1 : s->path;
            size_t nb = strlen(base);
            if ((doc->id = malloc(nb + 24)))
                snprintf(doc->id, nb + 24, "%s#%ld", base, c->rows);
            else
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
        if (rc == SEM_OK) {
            cJSON *meta = cJSON_CreateObject();
            for (int i = 0; i < n && meta && !oom; i++) {
                if (!c->is_meta[i] || c->field_len[i] == 0)
                    continue;
                cJSON *v = cJSON_CreateString(c->fields[i]);
                if (!v || !cJSON_AddItemToObject(meta, c->header[i], v))
                    oom = 1;
            }
            doc->metadata_json = meta && !oom ? cJSON_PrintUnformatted(meta) : NULL;
            cJSON_Delete(meta);
            if (!doc->metadata_json || !(doc->source = strdup(s->path)))
                rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
        }
        if (rc != SEM_OK) {
            sem_doc_clear(doc);
            return rc;
        }
        doc->line = ln;
        return 1;
    }
}

void sem_csv_free(sem_csv *c)
{
    for (int i = 0; i < c->n_cols; i++)
        free(c->header[i]);
    free(c->header);
    free(c->is_meta);
    free(c->fields);
    free(c->field_len);
    sem_buf_free(&c->field);
    memset(c, 0, sizeof *c);
}
