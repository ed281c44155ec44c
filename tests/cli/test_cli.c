/* tests/cli/test_cli.c: the CLI contract of the dispatcher: help, version, unknown commands exit 2. */
#include "test.h"
#include "test_util.h"

#include <stdlib.h>

/* Runs the semsearch binary with args, capturing stdout into out; returns the exit status. */
static int run(const char *args, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", SEM_BINARY, args);
    return tst_run_capture(cmd, out, cap);
}

int main(void)
{
    char out[8192];
    CHECK_EQ_INT(run("--help", out, sizeof out), 0);
    CHECK(strstr(out, "Commands:") != NULL);
    for (const char *c = "tokenize\0embed\0kb\0index\0query\0serve\0eval\0model\0train\0"; *c; c += strlen(c) + 1)
        CHECK_MSG(strstr(out, c) != NULL, "help lacks %s", c);
    CHECK_EQ_INT(run("version", out, sizeof out), 0);
    CHECK(strstr(out, "semsearch ") != NULL);
    CHECK(strstr(out, "faiss 1.") != NULL);
    CHECK(strstr(out, "sqlite 3.") != NULL);
    CHECK(strstr(out, "openblas ") != NULL);
    CHECK(strstr(out, "libmicrohttpd ") != NULL);
    CHECK(strstr(out, "cjson ") != NULL);
    CHECK(strstr(out, "utf8proc ") != NULL);
    CHECK_EQ_INT(run("frobnicate", out, sizeof out), 2);
    CHECK_EQ_INT(run("version --bogus", out, sizeof out), 2);
    CHECK_EQ_INT(run("", out, sizeof out), 2);
    TEST_END();
}
