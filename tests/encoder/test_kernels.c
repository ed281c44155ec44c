/* tests/encoder/test_kernels.c: kernels chosen by CPU features, through `semsearch version` and `embed`:
 *   - the OpenBLAS core is as wide as the CPU's features allow, also when the unknown-CPU fallback is forced
 *     (OPENBLAS_CORETYPE=Prescott: OpenBLAS runs Prescott, semsearch re-executes itself with the core for the
 *     features and says so); the guard variable stops a second exec;
 *   - the encoder's f32 GEMMs are oneDNN's, whatever OpenBLAS runs; int8 and bf16 lines say what runs;
 *   - --precision: unknown values are usage errors (exit 2) naming the choices; int8 embeds. */
#include "encoder/internal.h"
#include "test.h"
#include "test_util.h"

#include <stdio.h>
#include <string.h>

static char out[16384];

/* The OpenBLAS core named on the "openblas core:" line of version's output, into core. */
static void core_of(const char *text, char *core, size_t n)
{
    const char *p = strstr(text, "openblas core: ");
    core[0] = '\0';
    if (p)
        sscanf(p + 15, "%63s", core);
    (void)n;
}

int main(void)
{
    sem_cpu_features f;
    sem_cpu_features_get(&f);
    const char *want = sem_blas_core_for(&f);
    char core[64];

    CHECK_EQ_INT(tst_run_capture(SEM_BINARY " version 2>&1", out, sizeof out), 0);
    CHECK(strstr(out, "cpu features: ") != NULL);
    CHECK(strstr(out, "encoder f32 gemm: oneDNN ") != NULL);
    CHECK(strstr(out, "encoder int8: ") != NULL && strstr(out, "encoder bf16: ") != NULL);
    core_of(out, core, sizeof core);
    CHECK_MSG(!sem_blas_core_is_weak(core, &f), "default run: OpenBLAS core %s is weaker than %s", core,
              want ? want : "-");

    /* the unknown-CPU fallback, forced */
    CHECK_EQ_INT(tst_run_capture("OPENBLAS_CORETYPE=Prescott " SEM_BINARY " version 2>&1", out, sizeof out), 0);
    core_of(out, core, sizeof core);
    if (want) {
        CHECK_MSG(strcmp(core, want) == 0, "forced Prescott: runs %s, features allow %s", core, want);
        CHECK(strstr(out, "OpenBLAS chose Prescott; set from the CPU features") != NULL);
        CHECK(strstr(out, want) != NULL); /* the openblas config line too */
    }
    CHECK(strstr(out, "encoder f32 gemm: oneDNN ") != NULL);
    /* the guard: no second exec, and the weak core is reported as such */
    CHECK_EQ_INT(tst_run_capture("SEMSEARCH_BLAS_FIXED=x OPENBLAS_CORETYPE=Prescott " SEM_BINARY " version 2>&1", out,
                                 sizeof out),
                 0);
    core_of(out, core, sizeof core);
    CHECK_STREQ(core, "Prescott");
    if (want)
        CHECK(strstr(out, "weaker than the CPU features allow") != NULL);
    if (!f.avx512_bf16 && !f.amx_bf16)
        CHECK(strstr(out, "--precision bf16 runs f32") != NULL);

    /* --precision */
    CHECK_EQ_INT(tst_run_capture("echo '\"a\"' | " SEM_BINARY " embed --precision fp16 2>&1", out, sizeof out), 2);
    CHECK(strstr(out, "--precision wants f32, bf16 or int8, not 'fp16'") != NULL);
    CHECK_EQ_INT(tst_run_capture("echo '\"a\"' | " SEM_BINARY " embed --precision 2>&1", out, sizeof out), 2);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "echo '\"a cat sits\"' | %s embed --precision int8 --model %s/testdata/models/%s 2>&1",
             SEM_BINARY, SEM_SHARED_DIR, "bert-tiny-uncased");
    if (fopen(SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased/config.json", "r")) {
        CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 0);
        CHECK(strstr(out, "{\"index\":0,\"embedding\":[") != NULL);
    } else {
        TEST_SKIP_SECTION("../shared/testdata is missing");
    }
    TEST_END();
}
