/* indexer/reader.c: the input stream, format detection and the folder walk; the formats live in
 * reader_jsonl.c, reader_csv.c and reader_text.c. */
#include "indexer/reader_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/fileio.h"

int sem_input_format_parse(const char *name)
{
    static const char *names[] = {"auto", "jsonl", "csv", "text", "beir"};
    for (int i = 0; i < 5; i++)
        if (name && strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

sem_reader_params sem_reader_default_params(void)
{
    sem_reader_params p;
    memset(&p, 0, sizeof p);
    p.format = SEM_FMT_AUTO;
    p.max_record_bytes = SEM_DEFAULT_MAX_RECORD_BYTES;
    return p;
}

void sem_doc_clear(sem_doc *d)
{
    if (!d)
        return;
    free(d->id);
    free(d->title);
    free(d->text);
    free(d->answer);
    free(d->metadata_json);
    free(d->source);
    free(d->vector);
    memset(d, 0, sizeof *d);
}

char *sem_qa_text(const char *q, const char *a)
{
    size_t nq = strlen(q), na = strlen(a);
    if (nq > SIZE_MAX - 3 - na)
        return NULL;
    char *t = malloc(nq + na + 3);
    if (!t)
        return NULL;
    memcpy(t, q, nq);
    memcpy(t + nq, "\n\n", 2);
    memcpy(t + nq + 2, a, na + 1);
    return t;
}

char *sem_strndup0(const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* ------------------------------------------------------------------------------------------- stream */

int sem_in_open(sem_instream *s, const char *path, sem_error *err)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->line = 1;
    s->f = fopen(path, "rb");
    if (!s->f)
        return sem_error_set(err, errno == ENOENT ? SEM_ENOTFOUND : SEM_EIO, "%s: %s", path, strerror(errno));
    if (sem_in_peek(s) == 0xEF && s->len - s->pos >= 3 && s->buf[s->pos + 1] == 0xBB && s->buf[s->pos + 2] == 0xBF)
        s->pos += 3;
    if (s->ioerr) {
        sem_in_close(s);
        return sem_error_set(err, SEM_EIO, "%s: read error", path);
    }
    return SEM_OK;
}

void sem_in_close(sem_instream *s)
{
    if (s && s->f) {
        fclose(s->f);
        s->f = NULL;
    }
}

int sem_in_fill(sem_instream *s)
{
    if (s->eof || !s->f)
        return 0;
    s->pos = 0;
    s->len = fread(s->buf, 1, sizeof s->buf, s->f);
    if (s->len == 0) {
        if (ferror(s->f))
            s->ioerr = 1;
        s->eof = 1;
        return 0;
    }
    return 1;
}

size_t sem_in_source(void *ud, void *buf, size_t cap, int *ioerr)
{
    sem_instream *s = ud;
    if (s->pos == s->len && !sem_in_fill(s)) {
        *ioerr = s->ioerr;
        return 0;
    }
    size_t n = s->len - s->pos < cap ? s->len - s->pos : cap;
    memcpy(buf, s->buf + s->pos, n);
    s->pos += n;
    return n;
}

void sem_in_skip_line(sem_instream *s)
{
    for (;;) {
        if (s->pos == s->len && !sem_in_fill(s))
            return;
        unsigned char *nl = memchr(s->buf + s->pos, '\n', s->len - s->pos);
        if (nl) {
            s->pos = (size_t)(nl - s->buf) + 1;
            s->line++;
            return;
        }
        s->pos = s->len;
    }
}

int sem_buf_push(sem_buf *b, char c, size_t max, int *oom)
{
    if (b->len + 1 < b->cap) {
        b->p[b->len++] = c;
        b->p[b->len] = 0;
        return 0;
    }
    return sem_buf_append(b, &c, 1, max, oom);
}

int sem_buf_append(sem_buf *b, const char *s, size_t n, size_t max, int *oom)
{
    if (n > max || b->len > max - n)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            if (oom)
                *oom = 1;
            return -1;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

void sem_buf_free(sem_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------------------------------------- reader */

struct sem_reader {
    sem_reader_params p;
    sem_input_format fmt; /* of the current file */
    char *root;           /* the path given */
    int is_dir;
    char **files; /* folder: relative paths, sorted */
    size_t n_files, next_file;
    char *cur_path; /* full path of the current file */
    sem_instream in;
    int in_open;
    sem_linereader lr; /* JSONL: lines of in */
    sem_csv csv;
    int csv_open;
};

static int has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

static sem_input_format format_of_file(const char *path)
{
    if (has_ext(path, ".jsonl") || has_ext(path, ".ndjson") || has_ext(path, ".json"))
        return SEM_FMT_JSONL;
    if (has_ext(path, ".csv"))
        return SEM_FMT_CSV;
    if (has_ext(path, ".txt") || has_ext(path, ".md") || has_ext(path, ".markdown") || has_ext(path, ".text"))
        return SEM_FMT_TEXT;
    return SEM_FMT_AUTO;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects regular files under root/rel (hidden entries skipped) into r->files; all_files: any file, else only
 * known text extensions. depth bounds symlink loops. */
static int walk(sem_reader *r, const char *rel, int all_files, int depth, size_t *cap, sem_error *err)
{
    if (depth > 64)
        return sem_error_set(err, SEM_ERANGE, "%s: folders nested too deeply (a symlink loop?)", r->root);
    char *dir = rel[0] ? sem_path_join(r->root, rel) : strdup(r->root);
    if (!dir)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    DIR *d = opendir(dir);
    if (!d) {
        int rc = sem_error_set(err, SEM_EIO, "%s: %s", dir, strerror(errno));
        free(dir);
        return rc;
    }
    int rc = SEM_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *sub = rel[0] ? sem_path_join(rel, e->d_name) : strdup(e->d_name);
        char *full = sub ? sem_path_join(r->root, sub) : NULL;
        struct stat st;
        if (!sub || !full) {
            free(sub);
            free(full);
            rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
            break;
        }
        if (stat(full, &st) != 0) {
            free(full);
            free(sub);
            continue; /* dangling link */
        }
        free(full);
        if (S_ISDIR(st.st_mode)) {
            rc = walk(r, sub, all_files, depth + 1, cap, err);
            free(sub);
            if (rc)
                break;
        } else if (S_ISREG(st.st_mode) && (all_files || format_of_file(sub) == SEM_FMT_TEXT)) {
            if (r->n_files == *cap) {
                size_t nc = *cap ? *cap * 2 : 64;
                char **f = realloc(r->files, nc * sizeof *f);
                if (!f) {
                    free(sub);
                    rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
                    break;
                }
                r->files = f;
                *cap = nc;
            }
            r->files[r->n_files++] = sub;
        } else {
            free(sub);
        }
    }
    closedir(d);
    free(dir);
    return rc;
}

sem_reader *sem_reader_open(const char *path, const sem_reader_params *params, sem_error *err)
{
    sem_reader *r = calloc(1, sizeof *r);
    if (!r) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        return NULL;
    }
    r->p = params ? *params : sem_reader_default_params();
    if (!r->p.max_record_bytes)
        r->p.max_record_bytes = SEM_DEFAULT_MAX_RECORD_BYTES;
    r->root = strdup(path);
    if (!r->root) {
        sem_error_set(err, SEM_ENOMEM, "out of memory");
        goto fail;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        sem_error_set(err, errno == ENOENT ? SEM_ENOTFOUND : SEM_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    sem_input_format f = r->p.format;
    if (S_ISDIR(st.st_mode)) {
        char *corpus = sem_path_join(path, "corpus.jsonl");
        if (!corpus) {
            sem_error_set(err, SEM_ENOMEM, "out of memory");
            goto fail;
        }
        int has_corpus = sem_path_exists(corpus);
        if ((f == SEM_FMT_AUTO || f == SEM_FMT_BEIR) && has_corpus) {
            free(r->root);
            r->root = corpus;
            r->fmt = SEM_FMT_BEIR;
        } else {
            free(corpus);
            if (f == SEM_FMT_BEIR) {
                sem_error_set(err, SEM_ENOTFOUND, "%s: a BEIR folder must hold corpus.jsonl", path);
                goto fail;
            }
            if (f != SEM_FMT_AUTO && f != SEM_FMT_TEXT) {
                sem_error_set(err, SEM_EINVAL, "%s is a folder: only --format text, beir or auto read folders",
                              path);
                goto fail;
            }
            r->is_dir = 1;
            r->fmt = SEM_FMT_TEXT;
            size_t cap = 0;
            if (walk(r, "", f == SEM_FMT_TEXT, 0, &cap, err))
                goto fail;
            if (r->n_files)
                qsort(r->files, r->n_files, sizeof *r->files, cmp_str);
        }
    } else if (S_ISREG(st.st_mode)) {
        r->fmt = f == SEM_FMT_AUTO ? format_of_file(path) : f;
        if (r->fmt == SEM_FMT_AUTO) {
            sem_error_set(err, SEM_EINVAL,
                          "%s: cannot tell the format from the file name; pass --format jsonl|csv|text", path);
            goto fail;
        }
    } else {
        sem_error_set(err, SEM_EINVAL, "%s: not a regular file or folder", path);
        goto fail;
    }
    if (r->fmt == SEM_FMT_JSONL || r->fmt == SEM_FMT_BEIR || r->fmt == SEM_FMT_CSV) {
        if (sem_in_open(&r->in, r->root, err))
            goto fail;
        r->in_open = 1;
        sem_linereader_init_source(&r->lr, sem_in_source, &r->in, r->p.max_record_bytes);
        if (r->fmt == SEM_FMT_CSV) {
            r->csv_open = 1; /* sem_csv_open leaves r->csv freeable even when it fails */
            if (sem_csv_open(&r->csv, &r->in, &r->p, err))
                goto fail;
        }
    }
    return r;
fail:
    sem_reader_free(r);
    return NULL;
}

/* A single text file's id: the path as given, without a leading "./". */
static const char *clean_rel(const char *p)
{
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    return p;
}

/* Titles are shown on one line: surrounding whitespace (e.g. a CSV question ending in a newline) is dropped. */
static void trim_title(char *t)
{
    if (!t)
        return;
    size_t a = 0, n = strlen(t);
    while (a < n && strchr(" \t\r\n\v\f", t[a]))
        a++;
    while (n > a && strchr(" \t\r\n\v\f", t[n - 1]))
        n--;
    memmove(t, t + a, n - a);
    t[n - a] = '\0';
}

static int next_raw(sem_reader *r, sem_doc *doc, sem_error *err)
{
    switch (r->fmt) {
    case SEM_FMT_JSONL:
    case SEM_FMT_BEIR:
        return sem_jsonl_next(&r->in, &r->lr, doc, err);
    case SEM_FMT_CSV:
        return sem_csv_next(&r->csv, &r->in, r->p.max_record_bytes, doc, err);
    case SEM_FMT_TEXT:
        if (!r->is_dir) {
            if (r->next_file++)
                return 0;
            return sem_text_doc(r->root, clean_rel(r->root), r->p.max_record_bytes, doc, err);
        }
        if (r->next_file >= r->n_files)
            return 0;
        {
            const char *rel = r->files[r->next_file++];
            char *full = sem_path_join(r->root, rel);
            if (!full)
                return sem_error_set(err, SEM_ENOMEM, "out of memory");
            int rc = sem_text_doc(full, rel, r->p.max_record_bytes, doc, err);
            free(full);
            return rc;
        }
    default:
        return sem_error_set(err, SEM_EINTERNAL, "reader: bad format");
    }
}

int sem_reader_next(sem_reader *r, sem_doc *doc, sem_error *err)
{
    sem_doc_clear(doc);
    int rc = next_raw(r, doc, err);
    if (rc > 0)
        trim_title(doc->title);
    return rc;
}

double sem_reader_fraction(const sem_reader *r)
{
    if (r->fmt == SEM_FMT_TEXT)
        return r->is_dir ? (r->n_files ? (double)r->next_file / (double)r->n_files : 1.0) : r->next_file ? 1.0 : 0.0;
    if (!r->in_open || !r->in.f)
        return 1.0;
    if (r->in.eof)
        return 1.0;
    long pos = ftell(r->in.f);
    struct stat st;
    if (pos < 0 || fstat(fileno(r->in.f), &st) != 0 || st.st_size <= 0)
        return 0.0;
    double done = (double)pos - (double)(r->in.len - r->in.pos) - (double)sem_linereader_buffered(&r->lr);
    double f = done / (double)st.st_size;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

void sem_reader_free(sem_reader *r)
{
    if (!r)
        return;
    if (r->csv_open)
        sem_csv_free(&r->csv);
    if (r->in_open)
        sem_in_close(&r->in);
    sem_linereader_free(&r->lr);
    for (size_t i = 0; i < r->n_files; i++)
        free(r->files[i]);
    free(r->files);
    free(r->cur_path);
    free(r->root);
    free(r);
}
