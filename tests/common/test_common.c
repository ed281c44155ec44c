/* tests/common/test_common.c: error records, atomic writes, UTF-8 validation. */
#include "common/error.h"
#include "common/fileio.h"
#include "test.h"

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

int main(void)
{
    test_error();
    test_files();
    test_utf8();
    TEST_END();
}
