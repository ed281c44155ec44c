/* tests/test.h: a tiny test harness. Each test program is a main() that runs CHECK()s and ends with
 * TEST_END(), which prints "N passed, M failed" and returns 1 if any check failed, 77 (skipped) if a section
 * could not run (TEST_SKIP_SECTION), else 0; a test whose fixture is missing exits 77 at once (TEST_REQUIRE_FILE).
 * SEM_SHARED_DIR (compile definition) points at ../shared; SEM_BINARY at the semsearch program. */
#ifndef SEM_TEST_H
#define SEM_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_pass_, test_fail_, test_skipped_;

#define CHECK(cond)                                                                                      \
    do {                                                                                                 \
        if (cond) {                                                                                      \
            test_pass_++;                                                                                \
        } else {                                                                                         \
            test_fail_++;                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                     \
        }                                                                                                \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                             \
    do {                                                                                                 \
        if (cond) {                                                                                      \
            test_pass_++;                                                                                \
        } else {                                                                                         \
            test_fail_++;                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                     \
            fprintf(stderr, __VA_ARGS__);                                                                \
            fputc('\n', stderr);                                                                         \
        }                                                                                                \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                               \
    do {                                                                                                 \
        long long a_ = (long long)(a), b_ = (long long)(b);                                              \
        CHECK_MSG(a_ == b_, "%lld != %lld", a_, b_);                                                     \
    } while (0)

#define CHECK_STREQ(a, b)                                                                                \
    do {                                                                                                 \
        const char *a_ = (a), *b_ = (b);                                                                 \
        CHECK_MSG(a_ && b_ && strcmp(a_, b_) == 0, "\"%s\" != \"%s\"", a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                            \
    do {                                                                                                 \
        double a_ = (double)(a), b_ = (double)(b);                                                       \
        CHECK_MSG(fabs(a_ - b_) <= (tol), "%.9g vs %.9g (tol %g)", a_, b_, (double)(tol));               \
    } while (0)

/* A section that cannot run here (an input under ../shared is missing) says why; TEST_END then exits 77, which
 * ctest reports as skipped, unless a check failed: never a silent pass. */
#define TEST_SKIP_SECTION(...)                                                                           \
    do {                                                                                                 \
        test_skipped_++;                                                                                 \
        printf("skipped: ");                                                                             \
        printf(__VA_ARGS__);                                                                             \
        putchar('\n');                                                                                   \
    } while (0)

/* For a test that cannot run at all without a fixture (an input under ../shared): at the top of main, says which
 * file is missing and exits 77, which ctest reports as skipped, instead of failing every check. */
#define TEST_REQUIRE_FILE(path)                                                                          \
    do {                                                                                                 \
        FILE *f_ = fopen((path), "rb");                                                                  \
        if (!f_) {                                                                                       \
            printf("skipped: %s is missing\n", (path));                                                  \
            return 77;                                                                                   \
        }                                                                                                \
        fclose(f_);                                                                                      \
    } while (0)

#define TEST_END()                                                                                       \
    do {                                                                                                 \
        printf("%d passed, %d failed%s\n", test_pass_, test_fail_, test_skipped_ ? ", sections skipped" : ""); \
        return test_fail_ ? 1 : test_skipped_ ? 77 : 0;                                                  \
    } while (0)

#endif
