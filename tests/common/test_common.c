/* tests/common/test_common.c: error records, array growth, atomic writes, UTF-8 validation, the growable string
 * buffer (growth past the first allocation, XML escaping, finish/free) and the length-aware JSON string decoder
 * (escapes, \u0000 kept, surrogate pairs, every malformed form refused, never reading past end). */
#include "common/array.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/jsonstr.h"
#include "common/strbuf.h"
#include "test.h"
#include "test_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static void test_error(void)
{
    sem_error e;
    sem_error_clear(&e);
    CHECK_EQ_INT(e.code, SEM_OK);
    CHECK_EQ_INT(sem_error_set(&e, SEM_EINVAL, "bad %d", 7), SEM_EINVAL);
    CHECK_STREQ(e.msg, "bad 7");
    sem_error_prefix(&e, "file %s", "x.json");
    CHECK_STREQ(e.msg, "file x.json: bad 7");
    CHECK_EQ_INT(sem_error_set(NULL, SEM_EIO, "ignored"), SEM_EIO);
    CHECK(strcmp(sem_strerror(SEM_EIO), "I/O error") == 0);
}

static void test_files(void)
{
    char dir[] = "/tmp/semtestXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], sub[256];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    snprintf(sub, sizeof sub, "%s/x/y/z", dir);
    sem_error e;
    CHECK_EQ_INT(sem_mkdir_p(sub, &e), SEM_OK);
    CHECK_EQ_INT(sem_mkdir_p(sub, &e), SEM_OK); /* idempotent */
    CHECK_EQ_INT(sem_write_file_atomic(path, "hello", 5, &e), SEM_OK);
    CHECK_EQ_INT(sem_write_file_atomic(path, "bye", 3, &e), SEM_OK);
    char *buf;
    size_t n;
    CHECK_EQ_INT(sem_read_file(path, 100, &buf, &n, &e), SEM_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_STREQ(buf, "bye");
    free(buf);
    CHECK_EQ_INT(sem_read_file(path, 2, &buf, &n, &e), SEM_ERANGE);
    CHECK(buf == NULL);
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK_EQ_INT(sem_read_file(path, 100, &buf, &n, &e), SEM_ENOTFOUND);
    CHECK(strstr(e.msg, "missing") != NULL);
    CHECK_EQ_INT(sem_write_file_atomic("/nonexistent-dir/x", "a", 1, &e), SEM_EIO);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

static void test_path_join(void)
{
    const char *cases[][3] = {{"a/b", "c.txt", "a/b/c.txt"}, {"a/b/", "c.txt", "a/b/c.txt"}, {"/", "x", "/x"},
                              {"", "x", "x"}, {"d", "", "d/"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *p = sem_path_join(cases[i][0], cases[i][1]);
        CHECK_STREQ(p, cases[i][2]);
        free(p);
    }
}

static void test_utf8(void)
{
    size_t off = 99;
    CHECK(sem_utf8_valid("abc", 3, NULL));
    CHECK(sem_utf8_valid("h\xc3\xa9llo \xe5\xa4\xa9 \xf0\x9f\x98\x80", 15, NULL));
    CHECK(!sem_utf8_valid("ab\xff", 3, &off));
    CHECK_EQ_INT(off, 2);
    CHECK(!sem_utf8_valid("\xc0\xaf", 2, NULL));         /* overlong '/' */
    CHECK(!sem_utf8_valid("\xed\xa0\x80", 3, NULL));     /* surrogate */
    CHECK(!sem_utf8_valid("\xf4\x90\x80\x80", 4, NULL)); /* > U+10FFFF */
    CHECK(!sem_utf8_valid("\xe5\xa4", 2, &off));         /* truncated */
    CHECK_EQ_INT(off, 0);
    CHECK(sem_utf8_valid("", 0, NULL));
}

static void test_strbuf(void)
{
    sem_strbuf b = {0};
    char *s = sem_strbuf_finish(&b); /* nothing appended: "" */
    CHECK(s != NULL && s[0] == 0);
    free(s);
    /* many appends force several reallocations; the text must come out whole and in order */
    for (int i = 0; i < 3000; i++)
        sem_strbuf_printf(&b, "%d,", i);
    sem_strbuf_printf(&b, "%s", "");
    CHECK(!b.oom);
    CHECK(b.len == strlen(b.s));
    CHECK(b.cap > b.len);
    s = sem_strbuf_finish(&b);
    CHECK(s != NULL);
    CHECK(b.s == NULL && b.len == 0 && b.cap == 0);
    if (s) {
        int ok = 1;
        const char *p = s;
        for (int i = 0; i < 3000 && ok; i++) {
            char *e;
            ok = strtol(p, &e, 10) == i && *e == ',';
            p = e + 1;
        }
        CHECK(ok && *p == 0);
        free(s);
    }
    /* one append larger than the first allocation */
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    sem_strbuf_printf(&b, "<%s>", big);
    CHECK_EQ_INT(b.len, sizeof big + 1);
    CHECK(b.s[0] == '<' && b.s[b.len - 1] == '>' && b.s[b.len] == 0);
    sem_strbuf_free(&b);
    CHECK(b.s == NULL && b.len == 0);
    sem_strbuf_free(NULL);

    sem_strbuf_xml_escaped(&b, "a&b<c>\"d'e\x01\tf");
    sem_strbuf_xml_escaped(&b, NULL);
    s = sem_strbuf_finish(&b);
    CHECK_STREQ(s, "a&amp;b&lt;c&gt;&quot;d&apos;ef");
    free(s);

    /* after a failed append every later one is a no-op and finish returns NULL */
    sem_strbuf_printf(&b, "kept");
    b.oom = 1;
    sem_strbuf_printf(&b, "dropped");
    CHECK_EQ_INT(b.len, 4);
    CHECK(sem_strbuf_finish(&b) == NULL);
    CHECK(b.s == NULL && !b.oom);
}

/* Decodes text (a whole literal, no more) with sem_json_string_decode; returns the status. On success checks
 * that the whole input was consumed and copies the result to out/len. */
static int jdec(const char *text, char *out, size_t *len)
{
    size_t n = strlen(text);
    /* a private copy with no terminator after it, so ASan catches any read past end */
    char *in = malloc(n ? n : 1);
    memcpy(in, text, n);
    const char *p = in;
    char *s = NULL;
    size_t l = 0;
    int rc = sem_json_string_decode(&p, in + n, &s, &l);
    if (rc == 0) {
        CHECK(p == in + n);
        CHECK(s[l] == 0);
        memcpy(out, s, l + 1);
        *len = l;
        free(s);
    } else {
        CHECK(p == in); /* untouched on failure */
    }
    free(in);
    return rc;
}

static void test_jsonstr(void)
{
    char out[64];
    size_t len = 99;
    CHECK_EQ_INT(jdec("\"\"", out, &len), 0);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(jdec("\"plain h\xc3\xa9\"", out, &len), 0);
    CHECK_EQ_INT(len, 9);
    CHECK(memcmp(out, "plain h\xc3\xa9", 9) == 0);
    CHECK_EQ_INT(jdec("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", out, &len), 0);
    CHECK_EQ_INT(len, 8);
    CHECK(memcmp(out, "\"\\/\b\f\n\r\t", 8) == 0);
    /* \u0000 is kept: the length says where the string ends, not the NUL */
    CHECK_EQ_INT(jdec("\"a\\u0000b\"", out, &len), 0);
    CHECK_EQ_INT(len, 3);
    CHECK(memcmp(out, "a\0b", 3) == 0);
    /* 1-, 2- and 3-byte code points, and a surrogate pair (U+1F600) */
    CHECK_EQ_INT(jdec("\"\\u0041\\u00e9\\u5929\\ud83d\\uDE00\"", out, &len), 0);
    CHECK_EQ_INT(len, 1 + 2 + 3 + 4);
    CHECK(memcmp(out, "A\xc3\xa9\xe5\xa4\xa9\xf0\x9f\x98\x80", 10) == 0);
    CHECK(sem_utf8_valid(out, len, NULL));
    /* the decoder stops at the closing quote and leaves what follows */
    const char *two = "\"x\", \"y\"";
    const char *p = two;
    char *s = NULL;
    CHECK_EQ_INT(sem_json_string_decode(&p, two + strlen(two), &s, &len), 0);
    CHECK(p == two + 3 && len == 1 && s && s[0] == 'x');
    free(s);

    const char *bad[] = {
        "",                   /* nothing */
        "x\"",                /* no opening quote */
        "\"abc",              /* no closing quote */
        "\"a\\\"",            /* escaped quote, then the end */
        "\"a\\",              /* backslash at the end */
        "\"a\tb\"",           /* raw control character */
        "\"\\x41\"",          /* unknown escape */
        "\"\\u12\"",          /* short \u */
        "\"\\u12g4\"",        /* bad hex digit */
        "\"\\ud83d\"",        /* high surrogate alone */
        "\"\\ud83dx\"",       /* high surrogate, then a plain character */
        "\"\\ud83d\\u0041\"", /* high surrogate, then no low one */
        "\"\\ude00\"",        /* lone low surrogate */
        "\"\\ud83d\\ude0",    /* pair cut short */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(jdec(bad[i], out, &len) == -1, "accepted bad literal %zu: %s", i, bad[i]);
}

/* sem_json_write_string: what it writes decodes back to the same bytes, and the escapes are the short ones. */
static void test_json_write(void)
{
    static const char *cases[] = {"", "plain", "q\"uote \\ back/slash", "tab\tnl\ncr\r", "\x01\x1f\x7f",
                                  "h\xc3\xa9llo \xf0\x9f\x98\x80"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *buf = NULL;
        size_t cap = 0;
        FILE *f = open_memstream(&buf, &cap);
        CHECK(f != NULL);
        if (!f)
            return;
        sem_json_write_string(f, cases[i]);
        CHECK(fclose(f) == 0);
        const char *p = buf;
        char *back = NULL;
        size_t len = 0;
        CHECK_MSG(sem_json_string_decode(&p, buf + strlen(buf), &back, &len) == 0, "case %zu: %s", i, buf);
        CHECK(p == buf + strlen(buf));
        CHECK_MSG(back && len == strlen(cases[i]) && memcmp(back, cases[i], len) == 0, "case %zu: %s", i, buf);
        for (const char *c = buf; *c; c++)
            CHECK((unsigned char)*c >= 0x20); /* no raw control characters */
        free(back);
        free(buf);
    }
    char *buf = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&buf, &cap);
    sem_json_write_string(f, "a\"b\\c\nd\te\x02");
    fclose(f);
    CHECK_STREQ(buf, "\"a\\\"b\\\\c\\nd\\te\\u0002\"");
    free(buf);
}

/* The shared test helpers (tests/test_util.h) themselves: exit statuses, capture limits, file round trips. */
static void test_test_util(void)
{
    char out[16];
    CHECK_EQ_INT(tst_run_capture("printf hello", out, sizeof out), 0);
    CHECK_STREQ(out, "hello");
    /* more output than fits: the first 15 bytes are kept, the rest drained (no SIGPIPE in the child) */
    CHECK_EQ_INT(tst_run_capture("head -c 200000 /dev/zero | tr '\\0' x; exit 0", out, sizeof out), 0);
    CHECK_EQ_INT(strlen(out), 15);
    CHECK_EQ_INT(tst_run_capture("exit 3", out, sizeof out), 3);
    CHECK_EQ_INT(tst_run_capture("kill -9 $$", out, sizeof out), -1); /* a signal is never an exit code */
    CHECK_EQ_INT(tst_sh("exit %d", 7), 7);

    char dir[] = "/tmp/semtuXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    static char big[10000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    CHECK_EQ_INT(tst_write_file(path, big, sizeof big), 0);
    CHECK_EQ_INT(tst_file_size(path), (long)sizeof big);
    size_t n = 0;
    char *back = tst_slurp(path, &n);
    CHECK(back != NULL && n == sizeof big && memcmp(back, big, n) == 0 && back[n] == 0);
    free(back);
    CHECK(tst_slurp("/nonexistent/file", &n) == NULL);
    CHECK_EQ_INT(tst_file_size("/nonexistent/file"), -1);
    CHECK(tst_write_file("/nonexistent/dir/f", "x", 1) == -1);
    CHECK_EQ_INT(tst_sh("rm -rf '%s'", dir), 0);
}

/* sem_array_grow: first capacity, doubling with the contents kept, overflow refused with the array untouched. */
static void test_array_grow(void)
{
    size_t cap = 0;
    int *a = sem_array_grow(NULL, &cap, sizeof *a, 4);
    CHECK(a != NULL && cap == 4);
    for (int i = 0; a && i < 4; i++)
        a[i] = i * 3;
    int *b = a ? sem_array_grow(a, &cap, sizeof *b, 4) : NULL;
    CHECK(b != NULL && cap == 8);
    if (b) {
        a = b;
        CHECK(a[0] == 0 && a[3] == 9);
    }
    size_t huge = SIZE_MAX / 2 + 1;
    CHECK(sem_array_grow(a, &huge, 1, 4) == NULL && huge == SIZE_MAX / 2 + 1); /* doubling overflows */
    size_t c2 = 8;
    CHECK(sem_array_grow(a, &c2, SIZE_MAX / 8, 4) == NULL && c2 == 8); /* 16 x (SIZE_MAX / 8) overflows */
    CHECK(a[3] == 9);
    free(a);
}

int main(void)
{
    test_error();
    test_array_grow();
    test_files();
    test_utf8();
    test_path_join();
    test_strbuf();
    test_jsonstr();
    test_json_write();
    test_test_util();
    TEST_END();
}
