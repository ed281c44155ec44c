/* tests/evaldata/test_evaldata.c: validates the bundled BEIR retrieval sets in data/eval/ (covid-faq, debian-faq,
 * zh-faq).
 *
 * For each set: corpus.jsonl and queries.jsonl are valid UTF-8 with one JSON object per line carrying the
 * right string fields, ids are unique, qrels/test.tsv has the BEIR header and rows `query-id<TAB>corpus-id<TAB>
 * score` (score 1 or 2) that name existing queries and documents with no pair twice, every query has at
 * least one qrel, no query text equals a corpus title (case-insensitive, surrounding blanks ignored), and the
 * counts reach the documented minimums. The validator itself is first run over small broken sets written to
 * a temporary directory, so that each rule is shown to catch what it is meant to catch. */
#include "common/error.h"
#include "common/fileio.h"
#include "test.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_FILE_BYTES ((size_t)64 << 20)

/* ---- a sorted, owned list of strings (ids, titles) ---- */

typedef struct {
    char **v;
    size_t n, cap;
} strlist;

static int strlist_push(strlist *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        if (nc > ((size_t)-1) / sizeof *l->v)
            return -1;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c)
        return -1;
    memcpy(c, s, len);
    c[len] = '\0';
    l->v[l->n++] = c;
    return 0;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strlist_sort(strlist *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, cmp_str);
}

/* Index of s in the sorted list, or -1. */
static long strlist_find(const strlist *l, const char *s)
{
    if (!l->n)
        return -1;
    char *const *hit = bsearch(&s, l->v, l->n, sizeof *l->v, cmp_str);
    return hit ? (long)(hit - l->v) : -1;
}

/* First duplicate of a sorted list, or NULL. */
static const char *strlist_dup(const strlist *l)
{
    for (size_t i = 1; i < l->n; i++)
        if (strcmp(l->v[i - 1], l->v[i]) == 0)
            return l->v[i];
    return NULL;
}

/* Pushes s trimmed of surrounding blanks and with ASCII letters lowercased (the comparison form). */
static int strlist_push_norm(strlist *l, const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (strlist_push(l, s, len) != 0)
        return -1;
    for (char *p = l->v[l->n - 1]; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return 0;
}

/* ---- the validator ---- */

typedef struct {
    size_t n_docs, n_queries, n_qrels;
    size_t n_docs_judged; /* distinct corpus ids named by a qrel */
    int problems;
    char first[512]; /* the first problem, for the test log */
} report;

static void problem(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(report *r, const char *fmt, ...)
{
    if (r->problems++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->first, sizeof r->first, fmt, ap);
        va_end(ap);
    }
}

/* Reads path whole and checks it is UTF-8; *buf is NUL-terminated (caller frees). */
static int load(const char *path, char **buf, size_t *len, report *r)
{
    sem_error e;
    if (sem_read_file(path, MAX_FILE_BYTES, buf, len, &e) != SEM_OK) {
        problem(r, "%s", e.msg);
        return -1;
    }
    size_t bad = 0;
    if (!sem_utf8_valid(*buf, *len, &bad)) {
        problem(r, "%s: invalid UTF-8 at byte %zu", path, bad);
        free(*buf);
        *buf = NULL;
        return -1;
    }
    return 0;
}

/* Next line of buf (modified in place: the '\n' becomes '\0'); NULL at the end. A final line without '\n'
 * counts; an empty final piece after the last '\n' does not. */
static char *next_line(char **cur, char *end)
{
    if (*cur >= end)
        return NULL;
    char *s = *cur;
    char *nl = memchr(s, '\n', (size_t)(end - s));
    if (nl) {
        *nl = '\0';
        *cur = nl + 1;
    } else {
        *cur = end;
    }
    return s;
}

/* A string member that is present and non-empty, or NULL. */
static const char *str_field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && v->valuestring && v->valuestring[0] ? v->valuestring : NULL;
}

/* Reads a JSON-lines file of objects whose fields (a NULL-terminated list; the first is the id) must all be
 * non-empty strings. Ids go to ids; the value of norm_field (may be NULL) goes, normalised, to norm. */
static void read_jsonl(const char *path, const char *const *fields, const char *norm_field, strlist *ids,
                       strlist *norm, report *r)
{
    char *buf = NULL;
    size_t len = 0;
    if (load(path, &buf, &len, r) != 0)
        return;
    char *cur = buf, *line;
    size_t lineno = 0;
    while ((line = next_line(&cur, buf + len)) != NULL) {
        lineno++;
        if (!line[0]) {
            problem(r, "%s:%zu: empty line", path, lineno);
            continue;
        }
        cJSON *o = cJSON_Parse(line);
        if (!cJSON_IsObject(o)) {
            problem(r, "%s:%zu: not a JSON object", path, lineno);
            cJSON_Delete(o);
            continue;
        }
        int ok = 1;
        for (const char *const *f = fields; *f; f++) {
            if (!str_field(o, *f)) {
                problem(r, "%s:%zu: \"%s\" missing, empty or not a string", path, lineno, *f);
                ok = 0;
            }
        }
        if (ok) {
            const char *id = str_field(o, fields[0]);
            if (strlist_push(ids, id, strlen(id)) != 0)
                problem(r, "out of memory");
            if (norm_field && strlist_push_norm(norm, str_field(o, norm_field)) != 0)
                problem(r, "out of memory");
        }
        cJSON_Delete(o);
    }
    free(buf);
}

/* Parses a score field: a decimal integer with nothing after it. */
static int parse_score(const char *s, long *out)
{
    if (!*s)
        return -1;
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || *e)
        return -1;
    *out = v;
    return 0;
}

/* Validates the BEIR set in dir; fills r (r->problems == 0 when it is sound). */
static void validate_set(const char *dir, report *r)
{
    memset(r, 0, sizeof *r);
    char path[4096];
    strlist doc_ids = {0}, titles = {0}, q_ids = {0}, q_texts = {0}, pairs = {0}, judged = {0};
    unsigned char *has_qrel = NULL;
    char *buf = NULL;
    size_t len = 0;

    static const char *const doc_fields[] = {"_id", "title", "text", NULL};
    static const char *const q_fields[] = {"_id", "text", NULL};
    snprintf(path, sizeof path, "%s/corpus.jsonl", dir);
    read_jsonl(path, doc_fields, "title", &doc_ids, &titles, r);
    snprintf(path, sizeof path, "%s/queries.jsonl", dir);
    read_jsonl(path, q_fields, "text", &q_ids, &q_texts, r);
    r->n_docs = doc_ids.n;
    r->n_queries = q_ids.n;

    /* no query may be a corpus title in other letter case (q_texts is parallel to q_ids: do it before sorting) */
    strlist_sort(&titles);
    for (size_t i = 0; i < q_texts.n; i++)
        if (strlist_find(&titles, q_texts.v[i]) >= 0)
            problem(r, "%s: query %s is a corpus title verbatim: \"%s\"", dir, q_ids.v[i], q_texts.v[i]);

    strlist_sort(&doc_ids);
    strlist_sort(&q_ids);
    const char *d;
    if ((d = strlist_dup(&doc_ids)) != NULL)
        problem(r, "%s: corpus id %s appears more than once", dir, d);
    if ((d = strlist_dup(&q_ids)) != NULL)
        problem(r, "%s: query id %s appears more than once", dir, d);

    has_qrel = calloc(q_ids.n ? q_ids.n : 1, 1);
    if (!has_qrel) {
        problem(r, "out of memory");
        goto out;
    }
    snprintf(path, sizeof path, "%s/qrels/test.tsv", dir);
    if (load(path, &buf, &len, r) == 0) {
        char *cur = buf, *line;
        size_t lineno = 0;
        while ((line = next_line(&cur, buf + len)) != NULL) {
            lineno++;
            if (lineno == 1) {
                if (strcmp(line, "query-id\tcorpus-id\tscore") != 0)
                    problem(r, "%s:1: header must be query-id<TAB>corpus-id<TAB>score", path);
                continue;
            }
            char *t1 = strchr(line, '\t');
            char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
            if (!t1 || !t2 || strchr(t2 + 1, '\t')) {
                problem(r, "%s:%zu: expected 3 tab-separated fields", path, lineno);
                continue;
            }
            *t1 = *t2 = '\0';
            const char *qid = line, *cid = t1 + 1, *sc = t2 + 1;
            long score;
            if (parse_score(sc, &score) != 0 || score < 1 || score > 2) {
                problem(r, "%s:%zu: score \"%s\" is not 1 or 2", path, lineno, sc);
                continue;
            }
            long qi = strlist_find(&q_ids, qid);
            if (qi < 0)
                problem(r, "%s:%zu: unknown query id \"%s\"", path, lineno, qid);
            else
                has_qrel[qi] = 1;
            if (strlist_find(&doc_ids, cid) < 0)
                problem(r, "%s:%zu: unknown corpus id \"%s\"", path, lineno, cid);
            else if (strlist_push(&judged, cid, strlen(cid)) != 0)
                problem(r, "out of memory");
            /* the pair key: both ids, joined by a tab (neither contains one) */
            t1[0] = '\t';
            if (strlist_push(&pairs, line, (size_t)(t2 - line)) != 0)
                problem(r, "out of memory");
            r->n_qrels++;
        }
        if (lineno == 0)
            problem(r, "%s: empty file", path);
        free(buf);
    }
    strlist_sort(&pairs);
    if ((d = strlist_dup(&pairs)) != NULL)
        problem(r, "%s: qrels pair \"%s\" appears more than once", dir, d);
    for (size_t i = 0; i < q_ids.n; i++)
        if (!has_qrel[i])
            problem(r, "%s: query %s has no qrel", dir, q_ids.v[i]);
    strlist_sort(&judged);
    for (size_t i = 0; i < judged.n; i++)
        r->n_docs_judged += i == 0 || strcmp(judged.v[i - 1], judged.v[i]) != 0;
out:
    free(has_qrel);
    strlist_free(&doc_ids);
    strlist_free(&titles);
    strlist_free(&q_ids);
    strlist_free(&q_texts);
    strlist_free(&pairs);
    strlist_free(&judged);
}

/* ---- the validator on broken sets ---- */

static void write_file(const char *dir, const char *name, const char *content)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    sem_error e;
    int rc = sem_write_file_atomic(path, content, strlen(content), &e);
    CHECK_MSG(rc == SEM_OK, "%s", e.msg);
}

static const char *GOOD_CORPUS = "{\"_id\":\"d1\",\"title\":\"Can pets spread it?\",\"text\":\"No.\"}\n"
                                 "{\"_id\":\"d2\",\"title\":\"How long is the incubation?\",\"text\":\"5 days.\"}\n";
static const char *GOOD_QUERIES = "{\"_id\":\"q1\",\"text\":\"can my dog give me the virus\"}\n"
                                  "{\"_id\":\"q2\",\"text\":\"when do symptoms start\"}\n";
static const char *GOOD_QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq2\td2\t1\n";

/* Writes a small set with one file replaced (NULL keeps the good one), validates it, returns the problems. */
static int run_case(const char *dir, const char *corpus, const char *queries, const char *qrels, report *r)
{
    write_file(dir, "corpus.jsonl", corpus ? corpus : GOOD_CORPUS);
    write_file(dir, "queries.jsonl", queries ? queries : GOOD_QUERIES);
    write_file(dir, "qrels/test.tsv", qrels ? qrels : GOOD_QRELS);
    validate_set(dir, r);
    return r->problems;
}

#define EXPECT_BAD(dir, c, q, t, needle)                                                                 \
    do {                                                                                                 \
        report r_;                                                                                       \
        CHECK(run_case(dir, c, q, t, &r_) > 0);                                                          \
        CHECK_MSG(strstr(r_.first, needle) != NULL, "first problem \"%s\" lacks \"%s\"", r_.first, needle); \
    } while (0)

static void test_validator(void)
{
    char dir[] = "/tmp/semevaldataXXXXXX";
    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "mkdtemp failed");
        return;
    }
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/qrels", dir);
    sem_error e;
    CHECK_EQ_INT(sem_mkdir_p(sub, &e), SEM_OK);

    report r;
    CHECK_EQ_INT(run_case(dir, NULL, NULL, NULL, &r), 0);
    CHECK_EQ_INT(r.n_docs, 2);
    CHECK_EQ_INT(r.n_queries, 2);
    CHECK_EQ_INT(r.n_qrels, 2);
    CHECK_EQ_INT(r.n_docs_judged, 2);
    /* a last line without a newline is still a line */
    CHECK_EQ_INT(run_case(dir, NULL, "{\"_id\":\"q1\",\"text\":\"dog virus\"}\n"
                                     "{\"_id\":\"q2\",\"text\":\"x\"}",
                          NULL, &r),
                 0);
    CHECK_EQ_INT(r.n_queries, 2);

    EXPECT_BAD(dir, "{\"_id\":\"d1\",\"title\":\"t\",\"text\":\"x\"\n", NULL, NULL, "not a JSON object");
    EXPECT_BAD(dir, "[1,2]\n", NULL, NULL, "not a JSON object");
    EXPECT_BAD(dir, "{\"_id\":\"d1\",\"title\":\"t\"}\n{\"_id\":\"d2\",\"title\":\"u\",\"text\":\"y\"}\n", NULL,
               NULL, "\"text\" missing");
    EXPECT_BAD(dir, "{\"_id\":7,\"title\":\"t\",\"text\":\"x\"}\n", NULL, NULL, "\"_id\" missing");
    EXPECT_BAD(dir, NULL, "{\"_id\":\"q1\",\"text\":\"\"}\n{\"_id\":\"q2\",\"text\":\"x\"}\n", NULL,
               "\"text\" missing");
    EXPECT_BAD(dir, NULL, "{\"_id\":\"q1\",\"text\":\"a\"}\n\n{\"_id\":\"q2\",\"text\":\"b\"}\n", NULL, "empty line");
    EXPECT_BAD(dir, "{\"_id\":\"d1\",\"title\":\"t\",\"text\":\"x\"}\n{\"_id\":\"d1\",\"title\":\"u\",\"text\":\"y\"}\n"
                    "{\"_id\":\"d2\",\"title\":\"v\",\"text\":\"z\"}\n",
               NULL, NULL, "corpus id d1 appears more than once");
    EXPECT_BAD(dir, NULL,
               "{\"_id\":\"q1\",\"text\":\"a\"}\n{\"_id\":\"q1\",\"text\":\"b\"}\n{\"_id\":\"q2\",\"text\":\"c\"}\n",
               NULL, "query id q1 appears more than once");
    EXPECT_BAD(dir, NULL, NULL, "query-id\tcorpus-id\tscore\nq1\td1\t2\nq2\td9\t1\n", "unknown corpus id \"d9\"");
    EXPECT_BAD(dir, NULL, NULL, "query-id\tcorpus-id\tscore\nq1\td1\t2\nq7\td2\t1\nq2\td2\t1\n",
               "unknown query id \"q7\"");
    EXPECT_BAD(dir, NULL, NULL, "query-id\tcorpus-id\tscore\nq1\td1\t2\n", "query q2 has no qrel");
    EXPECT_BAD(dir, NULL, NULL, "q1\td1\t2\nq2\td2\t1\n", "header");
    EXPECT_BAD(dir, NULL, NULL, "query-id\tcorpus-id\tscore\nq1 d1 2\nq2\td2\t1\n", "3 tab-separated");
    EXPECT_BAD(dir, NULL, NULL, "query-id\tcorpus-id\tscore\nq1\td1\t2\t0\nq2\td2\t1\n", "3 tab-separated");
    EXPECT_BAD(dir, NULL, NULL, "query-id\tcorpus-id\tscore\nq1\td1\t0\nq2\td2\t1\n", "not 1 or 2");
    EXPECT_BAD(dir, NULL, NULL, "query-id\tcorpus-id\tscore\nq1\td1\t1x\nq2\td2\t1\n", "not 1 or 2");
    EXPECT_BAD(dir, NULL, NULL, "query-id\tcorpus-id\tscore\nq1\td1\t\nq2\td2\t1\n", "not 1 or 2");
    EXPECT_BAD(dir, NULL, NULL, "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td1\t1\nq2\td2\t1\n",
               "appears more than once");
    EXPECT_BAD(dir, NULL, NULL, "", "empty file");
    /* a query that is a title in other case and with surrounding blanks */
    EXPECT_BAD(dir, NULL, "{\"_id\":\"q1\",\"text\":\"  CAN PETS spread it? \"}\n{\"_id\":\"q2\",\"text\":\"x\"}\n",
               NULL, "corpus title verbatim");
    EXPECT_BAD(dir, "{\"_id\":\"d1\",\"title\":\"t\xff\",\"text\":\"x\"}\n", NULL, NULL, "invalid UTF-8");
    /* a missing file */
    char path[4096];
    snprintf(path, sizeof path, "%s/queries.jsonl", dir);
    CHECK_EQ_INT(unlink(path), 0);
    validate_set(dir, &r);
    CHECK(r.problems > 0);

    snprintf(path, sizeof path, "%s/corpus.jsonl", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/qrels/test.tsv", dir);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

/* ---- the bundled sets ---- */

static void check_bundled(const char *name, size_t min_queries, size_t min_judged, size_t exact_docs,
                          size_t min_docs)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/eval/%s", SEM_SOURCE_DIR, name);
    report r;
    validate_set(dir, &r);
    CHECK_MSG(r.problems == 0, "%s: %d problem(s), the first: %s", name, r.problems, r.first);
    CHECK_MSG(r.n_queries >= min_queries, "%s: %zu queries < %zu", name, r.n_queries, min_queries);
    CHECK_MSG(r.n_docs_judged >= min_judged, "%s: qrels name %zu documents < %zu", name, r.n_docs_judged,
              min_judged);
    if (exact_docs)
        CHECK_MSG(r.n_docs == exact_docs, "%s: %zu documents, expected %zu", name, r.n_docs, exact_docs);
    CHECK_MSG(r.n_docs >= min_docs, "%s: %zu documents < %zu", name, r.n_docs, min_docs);
    CHECK(r.n_qrels >= r.n_queries);
    printf("%s: %zu documents, %zu queries, %zu qrels over %zu documents\n", name, r.n_docs, r.n_queries,
           r.n_qrels, r.n_docs_judged);
}

/* The COVID corpus has one document per CSV row: ids faq-1 … faq-213 in order. */
static void check_covid_ids(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data/eval/covid-faq/corpus.jsonl", SEM_SOURCE_DIR);
    char *buf = NULL;
    size_t len = 0;
    sem_error e;
    if (sem_read_file(path, MAX_FILE_BYTES, &buf, &len, &e) != SEM_OK) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    char *cur = buf, *line;
    long n = 0, in_order = 0;
    while ((line = next_line(&cur, buf + len)) != NULL) {
        n++;
        cJSON *o = cJSON_Parse(line);
        const char *id = o ? str_field(o, "_id") : NULL;
        char want[32];
        snprintf(want, sizeof want, "faq-%ld", n);
        in_order += id && strcmp(id, want) == 0;
        cJSON_Delete(o);
    }
    free(buf);
    CHECK_EQ_INT(n, 213);
    CHECK_EQ_INT(in_order, n);
}

int main(void)
{
    test_validator();
    check_bundled("covid-faq", 120, 100, 213, 213);
    check_covid_ids();
    check_bundled("debian-faq", 60, 50, 0, 100);
    check_bundled("zh-faq", 100, 100, 0, 100); /* Chinese: at least 100 queries over at least 100 sections */
    TEST_END();
}
