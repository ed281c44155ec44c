/* tests/indexer/test_readers.c: the JSONL, BEIR, CSV and text/Markdown readers: fields, metadata, generated ids,
 * RFC 4180 quoting (multi-line fields, doubled quotes, CRLF), bad records reported with file:line and skipped,
 * the record size cap, folders, and the bundled COVID FAQ. */
#include "test.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "indexer/indexer.h"

static char tmpdir[256];

static const char *write_file(const char *name, const char *content, size_t len)
{
    static char path[8][512];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (!f)
        return p;
    fwrite(content, 1, len == (size_t)-1 ? strlen(content) : len, f);
    fclose(f);
    return p;
}

/* Reads every doc of path: ok docs into docs (up to cap), errors' messages concatenated into errs. */
static int read_all(const char *path, const sem_reader_params *p, sem_doc *docs, int cap, int *n_err, char *errs,
                    size_t errs_cap)
{
    sem_error err;
    *n_err = 0;
    if (errs)
        errs[0] = 0;
    sem_reader *r = sem_reader_open(path, p, &err);
    if (!r) {
        if (errs)
            snprintf(errs, errs_cap, "OPEN: %s", err.msg);
        return -1;
    }
    int n = 0;
    for (int guard = 0; guard < 100000; guard++) {
        sem_doc d = {0};
        int rc = sem_reader_next(r, &d, &err);
        if (rc == 0)
            break;
        if (rc < 0) {
            (*n_err)++;
            if (errs) {
                size_t k = strlen(errs);
                snprintf(errs + k, errs_cap - k, "%s\n", err.msg);
            }
            if (rc != SEM_EINVAL && rc != SEM_ERANGE)
                break;
            continue;
        }
        if (n < cap)
            docs[n] = d;
        else
            sem_doc_clear(&d);
        n++;
    }
    sem_reader_free(r);
    return n;
}

/* Reads path with the default parameters into d[16]; n documents read, ne records rejected, errs their messages. */
#define READ_ALL(path)                                                                                           \
    sem_doc d[16];                                                                                               \
    int ne;                                                                                                      \
    char errs[4096];                                                                                             \
    int n = read_all((path), NULL, d, 16, &ne, errs, sizeof errs)

static void clear_all(sem_doc *d, int n)
{
    for (int i = 0; i < n; i++)
        sem_doc_clear(&d[i]);
}

static const char *meta_str(const sem_doc *d, const char *key, char *buf, size_t cap);

#define ANY ((const char *)"\001any") /* a field want does not check */

/* What a read document must hold: each string equal (NULL: the field must be NULL; ANY: not checked), line when
 * not 0, and the metadata pairs key, value (value NULL: the key must be absent) until a NULL key. */
typedef struct want {
    const char *id, *title, *text, *answer;
    long line;
    const char *meta[6];
} want;

static void check_field(const char *name, const char *got, const char *w, int i)
{
    if (w == ANY)
        return;
    if (!w)
        CHECK_MSG(got == NULL, "doc %d: %s is \"%s\", expected none", i, name, got);
    else
        CHECK_MSG(got && strcmp(got, w) == 0, "doc %d: %s is \"%s\", expected \"%s\"", i, name, got ? got : "(null)",
                  w);
}

/* Checks docs[0..n) against w[0..n). */
static void check_docs(const sem_doc *d, const want *w, int n)
{
    char buf[256];
    for (int i = 0; i < n; i++) {
        check_field("id", d[i].id, w[i].id, i);
        check_field("title", d[i].title, w[i].title, i);
        check_field("text", d[i].text, w[i].text, i);
        check_field("answer", d[i].answer, w[i].answer, i);
        if (w[i].line)
            CHECK_EQ_INT(d[i].line, w[i].line);
        for (int k = 0; k + 1 < 6 && w[i].meta[k]; k += 2)
            check_field(w[i].meta[k], meta_str(&d[i], w[i].meta[k], buf, sizeof buf), w[i].meta[k + 1], i);
    }
}

static const char *meta_str(const sem_doc *d, const char *key, char *buf, size_t cap)
{
    cJSON *o = cJSON_Parse(d->metadata_json);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    const char *r = NULL;
    if (cJSON_IsString(v)) {
        snprintf(buf, cap, "%s", v->valuestring);
        r = buf;
    } else if (cJSON_IsNumber(v)) {
        snprintf(buf, cap, "%g", v->valuedouble);
        r = buf;
    }
    cJSON_Delete(o);
    return r;
}

static void test_jsonl(void)
{
    const char *p = write_file("a.jsonl",
                               "{\"id\":\"d1\",\"text\":\"hello world\",\"title\":\"T1\",\"lang\":\"en\",\"n\":3}\n"
                               "\n"
                               "{\"id\":7,\"question\":\"Why?\",\"answer\":\"Because.\","
                               "\"metadata\":{\"src\":\"x\"}}\r\n"
                               "{\"_id\":\"b1\",\"title\":\"BEIR\",\"text\":\"corpus text\"}\n"
                               "{\"text\":\"no id here\"}\n"
                               "{\"id\":\"bad\",\"text\":\"unterminated}\n"
                               "[1,2,3]\n"
                               "{\"id\":\"e\",\"title\":\"no text\"}\n"
                               "{\"id\":\"u\",\"text\":\"bad \xC3\x28 utf8\"}\n"
                               "{\"id\":\"last\",\"text\":\"still read\"}",
                               (size_t)-1);
    READ_ALL(p);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(ne, 4);
    static const want w[] = {
        {"d1", "T1", "hello world", NULL, 1, {"lang", "en", "n", "3", "text", NULL}},
        {"7", "Why?", "Why?\n\nBecause.", "Because.", 3, {"src", "x"}},
        {"b1", "BEIR", "corpus text", ANY, 0, {NULL}},
        {"a.jsonl#5", ANY, ANY, ANY, 0, {NULL}},
        {"last", ANY, "still read", ANY, 0, {NULL}},
    };
    if (n == 5)
        check_docs(d, w, n);
    CHECK_MSG(strstr(errs, "a.jsonl:6: malformed JSON") != NULL, "%s", errs);
    CHECK_MSG(strstr(errs, "a.jsonl:7: expected a JSON object") != NULL, "%s", errs);
    CHECK_MSG(strstr(errs, "a.jsonl:8: missing text") != NULL, "%s", errs);
    CHECK_MSG(strstr(errs, "a.jsonl:9: invalid UTF-8") != NULL, "%s", errs);
    clear_all(d, n < 16 ? n : 16);

    /* the record cap: a 4000-byte line with a 1000-byte cap is an error; the next line still reads */
    char *big = malloc(5000);
    strcpy(big, "{\"id\":\"big\",\"text\":\"");
    size_t k = strlen(big);
    memset(big + k, 'x', 4000);
    strcpy(big + k + 4000, "\"}\n{\"id\":\"after\",\"text\":\"ok\"}\n");
    p = write_file("big.jsonl", big, (size_t)-1);
    free(big);
    sem_reader_params rp = sem_reader_default_params();
    rp.max_record_bytes = 1000;
    n = read_all(p, &rp, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(ne, 1);
    CHECK_MSG(strstr(errs, "big.jsonl:1: record longer than the maximum of 1000 bytes") != NULL, "%s", errs);
    if (n == 1)
        CHECK_STREQ(d[0].id, "after");
    clear_all(d, n > 0 ? 1 : 0);

    /* BEIR folder: corpus.jsonl inside */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/beir", tmpdir);
    mkdir(dir, 0755);
    write_file("beir/corpus.jsonl", "{\"_id\":\"c1\",\"title\":\"\",\"text\":\"one\"}\n", (size_t)-1);
    write_file("beir/queries.jsonl", "{\"_id\":\"q1\",\"text\":\"query\"}\n", (size_t)-1);
    n = read_all(dir, NULL, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, 1);
    if (n == 1) {
        CHECK_STREQ(d[0].id, "c1");
        CHECK(d[0].title == NULL);
    }
    clear_all(d, n > 0 ? 1 : 0);

    /* empty file: no documents, no error */
    p = write_file("empty.jsonl", "", 0);
    n = read_all(p, NULL, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(ne, 0);
}

static void test_csv(void)
{
    const char *p = write_file("faq.csv",
                               "\xEF\xBB\xBFquestion,answer,link,lang\r\n"
                               "What is it?,\"A thing, with a comma.\",http://a,en\r\n"
                               "\"Multi\nline?\",\"First line.\n\nSecond \"\"quoted\"\" line.\",,de\r\n"
                               "\r\n"
                               "\"bad\"quote,x,y,z\n"
                               "too,few\n"
                               "\"\",empty question,l,en\n"
                               "Bad utf8 \xFF?,a,b,c\n"
                               "Last?,Yes.,http://z,en\n",
                               (size_t)-1);
    READ_ALL(p);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(ne, 4);
    static const want w[] = {
        {"faq.csv#1", "What is it?", "What is it?\n\nA thing, with a comma.", "A thing, with a comma.", 2,
         {"link", "http://a", "lang", "en", "question", NULL}},
        {ANY, "Multi\nline?", ANY, "First line.\n\nSecond \"quoted\" line.", 3, {"link", NULL}}, /* empty: left out */
        {"faq.csv#7", "Last?", ANY, ANY, 12, {NULL}}, /* the 7th data row (bad rows count) */
    };
    if (n == 3)
        check_docs(d, w, n);
    CHECK_MSG(strstr(errs, "faq.csv:8: bad CSV quoting") != NULL, "%s", errs);
    CHECK_MSG(strstr(errs, "faq.csv:9: the row has 2 fields, the header has 4") != NULL, "%s", errs);
    CHECK_MSG(strstr(errs, "faq.csv:10: missing text") != NULL, "%s", errs);
    CHECK_MSG(strstr(errs, "faq.csv:11: invalid UTF-8 in column 'question'") != NULL, "%s", errs);
    clear_all(d, n < 16 ? n : 16);

    /* explicit columns, metadata list, id column */
    p = write_file("kb.csv", "key,body,head,a,b\nk1,some body,Head,1,2\nk2,other,,3,4\n", (size_t)-1);
    sem_reader_params rp = sem_reader_default_params();
    rp.csv_id = "key";
    rp.csv_text = "body";
    rp.csv_title = "head";
    rp.csv_metadata = "b";
    n = read_all(p, &rp, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(ne, 0);
    static const want w2[] = {
        {"k1", "Head", "some body", ANY, 0, {"b", "2", "a", NULL}},
        {ANY, NULL, ANY, ANY, 0, {NULL}},
    };
    if (n == 2)
        check_docs(d, w2, n);
    clear_all(d, n < 16 ? n : 16);
    rp.csv_text = "nope";
    n = read_all(p, &rp, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, -1);
    CHECK_MSG(strstr(errs, "--csv-text: no column named 'nope'") != NULL, "%s", errs);

    /* no usable text column */
    p = write_file("notext.csv", "a,b\n1,2\n", (size_t)-1);
    n = read_all(p, NULL, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, -1);
    CHECK_MSG(strstr(errs, "no text column") != NULL, "%s", errs);

    /* empty file and unterminated quote */
    p = write_file("empty.csv", "", 0);
    n = read_all(p, NULL, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, -1);
    CHECK_MSG(strstr(errs, "empty file") != NULL, "%s", errs);
    p = write_file("open.csv", "text\nfine\n\"never closed\nmore\n", (size_t)-1);
    n = read_all(p, NULL, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(ne, 1);
    CHECK_MSG(strstr(errs, "open.csv:3: bad CSV quoting: the quoted field opened on this line is never closed") !=
                  NULL,
              "%s", errs);
    clear_all(d, n > 0 ? 1 : 0);

    /* a row over the record cap is skipped, the next one read */
    char *big = malloc(3000);
    strcpy(big, "text\n\"");
    memset(big + 6, 'y', 2000);
    strcpy(big + 2006, "\"\nsmall\n");
    p = write_file("big.csv", big, (size_t)-1);
    free(big);
    rp = sem_reader_default_params();
    rp.max_record_bytes = 500;
    n = read_all(p, &rp, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(ne, 1);
    CHECK_MSG(strstr(errs, "big.csv:2: record longer than the maximum of 500 bytes") != NULL, "%s", errs);
    if (n == 1)
        CHECK_STREQ(d[0].text, "small");
    clear_all(d, n > 0 ? 1 : 0);
}

static void test_covid_faq(void)
{
    sem_doc *d = calloc(400, sizeof *d);
    int ne;
    char errs[4096], buf[256];
    int n = read_all(SEM_SOURCE_DIR "/data/covid-faq/faq_covidbert.csv", NULL, d, 400, &ne, errs, sizeof errs);
    CHECK_MSG(n == 213, "read %d rows (%s)", n, errs);
    CHECK_EQ_INT(ne, 0);
    if (n > 0) {
        CHECK_STREQ(d[0].title, "What is a novel coronavirus?");
        CHECK(d[0].answer && strncmp(d[0].answer, "A novel coronavirus is a new coronavirus", 40) == 0);
        CHECK(d[0].answer && strstr(d[0].answer, "\n\nA diagnosis with coronavirus 229E") != NULL);
        CHECK_STREQ(meta_str(&d[0], "country", buf, sizeof buf), "USA");
        CHECK_STREQ(meta_str(&d[0], "lang", buf, sizeof buf), "en");
        CHECK(meta_str(&d[0], "link", buf, sizeof buf) && strstr(buf, "cdc.gov") != NULL);
        CHECK_STREQ(d[0].id, "faq_covidbert.csv#1");
    }
    int all_ok = 1;
    for (int i = 0; i < n && i < 400; i++)
        all_ok &= d[i].text && d[i].answer && d[i].title && strstr(d[i].text, d[i].answer) != NULL;
    CHECK(all_ok);
    clear_all(d, n < 400 ? (n > 0 ? n : 0) : 400);
    free(d);
}

static void test_text(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/docs", tmpdir);
    mkdir(dir, 0755);
    snprintf(dir, sizeof dir, "%s/docs/sub", tmpdir);
    mkdir(dir, 0755);
    write_file("docs/b.md", "Intro line\n\n## The Heading ##\n\nBody text.\n", (size_t)-1);
    write_file("docs/a.txt", "\xEF\xBB\xBFPlain text without heading.\n", (size_t)-1);
    write_file("docs/sub/c.markdown", "Setext Title\n============\n\nbody\n", (size_t)-1);
    write_file("docs/sub/code.md", "```\n# not a heading\n```\ntext\n", (size_t)-1);
    write_file("docs/.hidden.md", "# hidden\n", (size_t)-1);
    write_file("docs/image.png", "\x89PNG\r\n", 6);
    write_file("docs/empty.md", "  \n\n", (size_t)-1);
    write_file("docs/sub/bin.txt", "ok\xC0\xAFno\n", (size_t)-1);
    snprintf(dir, sizeof dir, "%s/docs", tmpdir);
    READ_ALL(dir);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(ne, 2);
    if (n == 4) {
        CHECK_STREQ(d[0].id, "a.txt");
        CHECK_STREQ(d[0].title, "a");
        CHECK_STREQ(d[0].text, "Plain text without heading.\n");
        CHECK_STREQ(d[1].id, "b.md");
        CHECK_STREQ(d[1].title, "The Heading");
        CHECK_STREQ(d[2].id, "sub/c.markdown");
        CHECK_STREQ(d[2].title, "Setext Title");
        CHECK_STREQ(d[3].id, "sub/code.md");
        CHECK_STREQ(d[3].title, "code");
        CHECK_STREQ(d[3].metadata_json, "{}");
    }
    CHECK_MSG(strstr(errs, "empty.md: empty file") != NULL, "%s", errs);
    CHECK_MSG(strstr(errs, "bin.txt:1: invalid UTF-8") != NULL, "%s", errs);
    clear_all(d, n < 16 ? (n > 0 ? n : 0) : 16);

    /* a single file: the id is the path as given */
    const char *p = write_file("single.md", "# One\ntext\n", (size_t)-1);
    n = read_all(p, NULL, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, 1);
    if (n == 1) {
        CHECK_STREQ(d[0].id, p);
        CHECK_STREQ(d[0].title, "One");
    }
    clear_all(d, n > 0 ? 1 : 0);
    /* a text file over the cap */
    sem_reader_params rp = sem_reader_default_params();
    rp.max_record_bytes = 4;
    n = read_all(p, &rp, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, 0);
    CHECK_MSG(strstr(errs, "larger than the maximum record size of 4 bytes") != NULL, "%s", errs);

    /* unknown extension / missing path / wrong format for a folder */
    p = write_file("x.bin", "abc", 3);
    CHECK_EQ_INT(read_all(p, NULL, d, 16, &ne, errs, sizeof errs), -1);
    CHECK_MSG(strstr(errs, "cannot tell the format") != NULL, "%s", errs);
    CHECK_EQ_INT(read_all("/nonexistent/file.csv", NULL, d, 16, &ne, errs, sizeof errs), -1);
    CHECK_MSG(strstr(errs, "No such file") != NULL, "%s", errs);
    rp = sem_reader_default_params();
    rp.format = SEM_FMT_CSV;
    CHECK_EQ_INT(read_all(dir, &rp, d, 16, &ne, errs, sizeof errs), -1);
    /* --format text reads any file in a folder (the PNG fails as invalid UTF-8) */
    rp.format = SEM_FMT_TEXT;
    n = read_all(dir, &rp, d, 16, &ne, errs, sizeof errs);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(ne, 3);
    clear_all(d, n < 16 ? (n > 0 ? n : 0) : 16);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sem_readers_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK_EQ_INT(sem_input_format_parse("csv"), SEM_FMT_CSV);
    CHECK_EQ_INT(sem_input_format_parse("beir"), SEM_FMT_BEIR);
    CHECK_EQ_INT(sem_input_format_parse("xml"), -1);
    test_jsonl();
    test_csv();
    test_covid_faq();
    test_text();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_END();
}
