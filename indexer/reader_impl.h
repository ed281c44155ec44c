/* indexer/reader_impl.h: internals shared by the readers (not part of the public API).
 * A sem_instream is a buffered byte stream over one file that counts lines; records are collected into a
 * sem_buf whose growth is capped at max_record_bytes, so a huge line costs at most that much memory. */
#ifndef SEM_READER_IMPL_H
#define SEM_READER_IMPL_H

#include <stdio.h>

#include "common/linereader.h"
#include "indexer/indexer.h"

typedef struct sem_instream {
    FILE *f;
    const char *path;
    unsigned char buf[1 << 16];
    size_t pos, len;
    int eof, ioerr;
    long line; /* 1-based line of the next byte */
} sem_instream;

/* Opens path; skips a UTF-8 byte-order mark. */
int sem_in_open(sem_instream *s, const char *path, sem_error *err);
void sem_in_close(sem_instream *s);
int sem_in_fill(sem_instream *s);

/* Next byte or -1 at end of file (check s->ioerr). Counts '\n'. */
static inline int sem_in_getc(sem_instream *s)
{
    if (s->pos == s->len && !sem_in_fill(s))
        return -1;
    int c = s->buf[s->pos++];
    if (c == '\n')
        s->line++;
    return c;
}
static inline int sem_in_peek(sem_instream *s)
{
    if (s->pos == s->len && !sem_in_fill(s))
        return -1;
    return s->buf[s->pos];
}

typedef struct sem_buf {
    char *p;
    size_t len, cap;
} sem_buf;
/* Appends; returns 0, or -1 when len would exceed max (the caller reports the record as too long) or on ENOMEM
 * (then *oom is set). */
int sem_buf_push(sem_buf *b, char c, size_t max, int *oom);
int sem_buf_append(sem_buf *b, const char *s, size_t n, size_t max, int *oom);
void sem_buf_free(sem_buf *b);

/* A sem_linereader source that drains the stream (user_data: the sem_instream). */
size_t sem_in_source(void *user_data, void *buf, size_t cap, int *ioerr);

/* Skips to just after the next '\n' (or EOF). */
void sem_in_skip_line(sem_instream *s);

char *sem_strndup0(const char *s, size_t n); /* malloc'd copy with NUL; NULL on ENOMEM */

/* The text of a question-and-answer record: "QUESTION\n\nANSWER", malloc'd; NULL on ENOMEM. */
char *sem_qa_text(const char *question, const char *answer);

/* JSONL: reads one line of lr (whose source is s; see sem_in_source) into a doc. Returns 1, 0 at EOF, or a
 * negative code (the record is skipped by the next call). */
int sem_jsonl_next(sem_instream *s, sem_linereader *lr, sem_doc *doc, sem_error *err);

/* CSV state: header and column mapping. */
typedef struct sem_csv {
    char **header;
    int n_cols;
    int col_id, col_question, col_answer, col_text, col_title; /* -1 when absent */
    unsigned char *is_meta;                                     /* n_cols flags */
    long rows;                                                  /* data rows read (for generated ids) */
    sem_buf field;
    char **fields;
    size_t *field_len;
    int fields_cap;
} sem_csv;
int sem_csv_open(sem_csv *c, sem_instream *s, const sem_reader_params *p, sem_error *err);
int sem_csv_next(sem_csv *c, sem_instream *s, size_t max, sem_doc *doc, sem_error *err);
void sem_csv_free(sem_csv *c);

/* Parses one CSV record into fields (for tests and the reader): returns the number of fields (>= 1), 0 at EOF,
 * or a negative code with err set (the rest of the physical line has been skipped). */
int sem_csv_record(sem_csv *c, sem_instream *s, size_t max, sem_error *err);

/* Text/Markdown whole-file document: id is the given id, title from the first heading or the file name. */
int sem_text_doc(const char *path, const char *id, size_t max, sem_doc *doc, sem_error *err);

#endif
