/* tests/cli/test_linereader.c: common/linereader.c: long lines refused at once without reading them through,
 * a last line without a newline, embedded NULs, CRLF, end of input mid-line, read errors and allocation
 * failures told apart from the end of input. */
#include "test.h"

#include "common/linereader.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* A byte source: `data` (len bytes), or endless 'z' bytes after it when endless; fails with a read error after
 * fail_after bytes when fail_after > 0. Counts what it handed out. */
typedef struct src {
    const char *data;
    size_t len, off, given, fail_after;
    int endless;
} src;

static size_t src_read(void *ud, void *buf, size_t cap, int *ioerr)
{
    src *s = ud;
    if (s->fail_after && s->given >= s->fail_after) {
        *ioerr = 1;
        return 0;
    }
    size_t n = 0;
    if (s->off < s->len) {
        n = s->len - s->off < cap ? s->len - s->off : cap;
        memcpy(buf, s->data + s->off, n);
        s->off += n;
    } else if (s->endless) {
        n = cap;
        memset(buf, 'z', n);
    }
    s->given += n;
    return n;
}

static void init(sem_linereader *lr, src *s, const char *data, size_t len, size_t max)
{
    memset(s, 0, sizeof *s);
    s->data = data;
    s->len = len;
    sem_linereader_init_source(lr, src_read, s, max);
}

static void test_basic(void)
{
    static const char in[] = "one\r\ntwo\n\nnul\0x\nlast";
    src s;
    sem_linereader lr;
    sem_error err;
    init(&lr, &s, in, sizeof in - 1, 100);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1);
    CHECK_STREQ(lr.line, "one"); /* CRLF: both dropped */
    CHECK_EQ_INT(lr.len, 3);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1);
    CHECK_STREQ(lr.line, "two");
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1); /* an empty line is a line */
    CHECK_EQ_INT(lr.len, 0);
    CHECK_STREQ(lr.line, "");
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1); /* embedded NUL: the length tells */
    CHECK_EQ_INT(lr.len, 5);
    CHECK(memcmp(lr.line, "nul\0x", 5) == 0);
    CHECK_EQ_INT(lr.lineno, 4);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1); /* end of input mid-line: the line still comes */
    CHECK_STREQ(lr.line, "last");
    CHECK_EQ_INT(lr.lineno, 5);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 0);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 0);
    sem_linereader_free(&lr);
    sem_linereader_free(&lr); /* twice is fine */

    init(&lr, &s, "", 0, 10); /* empty input: no line at all */
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 0);
    sem_linereader_free(&lr);
}

static void test_long_lines(void)
{
    static const char in[] = "12345\n123456\nok\n1234567890123";
    src s;
    sem_linereader lr;
    sem_error err;
    init(&lr, &s, in, sizeof in - 1, 5);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1); /* exactly the cap */
    CHECK_STREQ(lr.line, "12345");
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), SEM_ERANGE);
    CHECK_STREQ(err.msg, "line 2 is longer than 5 bytes");
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1); /* going on: the next line */
    CHECK_STREQ(lr.line, "ok");
    CHECK_EQ_INT(lr.lineno, 3);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), SEM_ERANGE); /* long, and no newline */
    CHECK_EQ_INT(lr.lineno, 4);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 0);
    sem_linereader_free(&lr);

    /* an endless line (like /dev/zero): refused as soon as it passes the cap, not read through */
    init(&lr, &s, "first\n", 6, 1000000);
    s.endless = 1;
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), SEM_ERANGE);
    CHECK_STREQ(err.msg, "line 2 is longer than 1000000 bytes");
    CHECK_MSG(s.given <= 1000000 + 2 * SEM_LINEREADER_CHUNK, "read %zu bytes", s.given);
    CHECK_MSG(lr.cap <= 1000001, "line buffer %zu bytes", lr.cap);
    sem_linereader_free(&lr);
}

static void test_read_error(void)
{
    src s;
    sem_linereader lr;
    sem_error err;
    init(&lr, &s, "a\nb", 3, 10);
    s.endless = 1;
    s.fail_after = 3; /* the bytes "a\nb", then an error where more was expected */
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), SEM_EIO); /* not the end of input, not a line "b" */
    CHECK(strstr(err.msg, "read error after line 1") != NULL);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), SEM_EIO); /* sticky */
    sem_linereader_free(&lr);
}

/* A FILE source, as the CLI uses on stdin. */
static void test_file(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("alpha\r\nbeta\ngamma", f);
    rewind(f);
    sem_linereader lr;
    sem_error err;
    sem_linereader_init(&lr, f, 64);
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1);
    CHECK_STREQ(lr.line, "alpha");
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1);
    CHECK_STREQ(lr.line, "beta");
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 1);
    CHECK_STREQ(lr.line, "gamma");
    CHECK_EQ_INT(sem_linereader_next(&lr, &err), 0);
    sem_linereader_free(&lr);
    fclose(f);
}

/* Out of memory (a child under a 256 MiB address-space limit, reading an endless line with no cap) is an error,
 * never the end of input. Skipped under AddressSanitizer, whose shadow memory cannot live under RLIMIT_AS. */
static int test_oom(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 0;
#endif
#endif
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {256u << 20, 256u << 20};
        setrlimit(RLIMIT_AS, &rl);
        src s;
        sem_linereader lr;
        sem_error err;
        init(&lr, &s, "", 0, SIZE_MAX);
        s.endless = 1;
        int rc = sem_linereader_next(&lr, &err);
        int again = sem_linereader_next(&lr, &err);
        _exit(rc == SEM_ENOMEM && again == SEM_ENOMEM && strstr(err.msg, "out of memory reading line 1") ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    return 1;
}

int main(void)
{
    test_basic();
    test_long_lines();
    test_read_error();
    test_file();
    if (!test_oom())
        printf("out-of-memory case skipped (AddressSanitizer)\n");
    TEST_END();
}
