/* indexer/reader_text.c: one plain text or Markdown file = one document. The title is the first Markdown heading
 * ("# Title", or a line underlined with === / ---), else the file name without its extension. */
#include "indexer/reader_impl.h"

#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

/* The first heading of text, as [*start, *start + *len); 0 if none. Lines inside ``` fences are ignored. */
static int first_heading(const char *t, size_t n, size_t *start, size_t *len)
{
    size_t i = 0, prev_s = 0, prev_e = 0;
    int fence = 0, have_prev = 0;
    while (i < n) {
        size_t s = i;
        const char *nl = memchr(t + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - t) : n;
        i = nl ? e + 1 : n;
        size_t le = e;
        if (le > s && t[le - 1] == '\r')
            le--;
        size_t a = s;
        while (a < le && a - s < 3 && t[a] == ' ')
            a++;
        if (le - a >= 3 && strncmp(t + a, "```", 3) == 0) {
            fence = !fence;
            have_prev = 0;
            continue;
        }
        if (fence)
            continue;
        size_t h = a;
        while (h < le && t[h] == '#' && h - a < 7)
            h++;
        if (h > a && h - a <= 6 && (h == le || t[h] == ' ' || t[h] == '\t')) {
            while (h < le && (t[h] == ' ' || t[h] == '\t'))
                h++;
            size_t z = le;
            while (z > h && (t[z - 1] == ' ' || t[z - 1] == '\t' || t[z - 1] == '#'))
                z--;
            if (z > h) {
                *start = h;
                *len = z - h;
                return 1;
            }
            have_prev = 0;
            continue;
        }
        /* setext: "Title" then "=====" or "-----" */
        if (have_prev && le > a && (t[a] == '=' || t[a] == '-')) {
            size_t k = a;
            while (k < le && t[k] == t[a])
                k++;
            while (k < le && (t[k] == ' ' || t[k] == '\t'))
                k++;
            if (k == le) {
                *start = prev_s;
                *len = prev_e - prev_s;
                return 1;
            }
        }
        while (a < le && (t[a] == ' ' || t[a] == '\t'))
            a++;
        size_t z = le;
        while (z > a && (t[z - 1] == ' ' || t[z - 1] == '\t'))
            z--;
        have_prev = z > a;
        prev_s = a;
        prev_e = z;
    }
    return 0;
}

int sem_text_doc(const char *path, const char *id, size_t max, sem_doc *doc, sem_error *err)
{
    char *text = NULL;
    size_t n = 0;
    sem_error e2;
    int rc = sem_read_file(path, max, &text, &n, &e2);
    if (rc == SEM_ERANGE)
        return sem_error_set(err, SEM_ERANGE,
                             "%s: file larger than the maximum record size of %zu bytes (raise "
                             "--max-record-bytes)",
                             path, max);
    if (rc)
        return sem_error_set(err, rc, "%s", e2.msg);
    size_t skip = n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    size_t bad;
    if (!sem_utf8_valid(text + skip, n - skip, &bad)) {
        long line = 1;
        for (size_t i = 0; i < skip + bad; i++)
            line += text[i] == '\n';
        free(text);
        return sem_error_set(err, SEM_EINVAL, "%s:%ld: invalid UTF-8 (byte %zu of the file); is it a text file?",
                             path, line, skip + bad);
    }
    int blank = 1;
    for (size_t i = skip; i < n && blank; i++)
        blank = text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t';
    if (blank) {
        free(text);
        return sem_error_set(err, SEM_EINVAL, "%s: empty file: no text to index", path);
    }
    if (skip)
        memmove(text, text + 3, n - 2); /* with the NUL */
    n -= skip;
    doc->text = text;
    size_t hs, hl;
    if (first_heading(text, n, &hs, &hl)) {
        doc->title = sem_strndup0(text + hs, hl);
    } else {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        const char *dot = strrchr(base, '.');
        doc->title = sem_strndup0(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
    }
    doc->id = strdup(id);
    doc->source = strdup(path);
    doc->metadata_json = strdup("{}");
    doc->line = 1;
    if (!doc->title || !doc->id || !doc->source || !doc->metadata_json) {
        sem_doc_clear(doc);
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    }
    return 1;
}
