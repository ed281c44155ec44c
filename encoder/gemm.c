/* encoder/gemm.c: the encoder's GEMM library and threads, chosen by CPU features.
 *
 * The encoder's GEMMs run on oneDNN (dnnl_sgemm, and matmul primitives for int8/bf16 in linear.c), which picks its
 * kernels from cpuid at run time: they do not depend on a library knowing the CPU's model. Measured on an AVX2
 * EPYC, one thread, BERT shapes: oneDNN sgemm 1.03-1.30x OpenBLAS's right (Zen) kernels, 2.4-2.7x its Prescott
 * fallback. OpenBLAS is still used by the trainer and FAISS: sem_kernels_setup() makes it run the core that the
 * CPU's features allow when its model list did not recognise the CPU (OPENBLAS_CORETYPE is read only in
 * OpenBLAS's library constructor, before main(), hence a re-exec). */
#define _GNU_SOURCE
#include "encoder/internal.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define BLAS_GUARD "SEMSEARCH_BLAS_FIXED" /* set before the re-exec: what OpenBLAS had chosen */

static atomic_int g_default_threads; /* sem_encoder_set_default_threads(); 0 = not set */

void sem_encoder_set_default_threads(int n)
{
    atomic_store(&g_default_threads, n > 0 ? (n > SEM_MAX_WORKERS ? SEM_MAX_WORKERS : n) : 0);
}

int sem_default_threads(void)
{
    int set = atomic_load(&g_default_threads);
    if (set > 0)
        return set;
    /* an inherited OPENBLAS_NUM_THREADS may lower the count, never raise it above the CPUs (oversubscription) */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    long n = env && *env ? strtol(env, NULL, 10) : cpus;
    if (cpus >= 1 && n > cpus)
        n = cpus;
    return n < 1 ? 1 : n > SEM_MAX_WORKERS ? SEM_MAX_WORKERS : (int)n;
}

int sem_blas_enter(void)
{
    int prev = omp_get_max_threads();
    if (prev != 1)
        omp_set_num_threads(1);
    return prev;
}

void sem_blas_leave(int prev)
{
    if (prev != 1)
        omp_set_num_threads(prev);
}

void sem_sgemm(int trans_w, int M, int N, int K, float alpha, const float *x, int ldx, const float *w, int ldw,
               float *y, int ldy)
{
    /* only invalid arguments make it fail, and every caller passes dimensions >= 1 that fit its buffers */
    (void)dnnl_sgemm('N', trans_w ? 'T' : 'N', M, N, K, alpha, x, ldx, w, ldw, 0.0f, y, ldy);
}

/* ---- OpenBLAS's core ---- */

/* How wide OpenBLAS 0.3.21's kernels for a core are: 1 SSE, 2 AVX, 3 AVX2, 4 AVX-512; 0 unknown. */
static int core_level(const char *core)
{
    static const char *const sse[] = {"Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2",
                                      "Penryn", "Dunnington", "Nehalem", "Athlon", "Opteron", "Opteron(SSE3)",
                                      "Barcelona", "Nano", "Bobcat"};
    static const char *const avx[] = {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"};
    static const char *const avx2[] = {"Haswell", "Zen"};
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    const struct {
        const char *const *names;
        size_t n;
    } lv[] = {{sse, sizeof sse / sizeof *sse}, {avx, sizeof avx / sizeof *avx},
              {avx2, sizeof avx2 / sizeof *avx2}, {avx512, sizeof avx512 / sizeof *avx512}};
    for (int l = 0; core && l < 4; l++)
        for (size_t i = 0; i < lv[l].n; i++)
            if (strcasecmp(core, lv[l].names[i]) == 0)
                return l + 1;
    return 0;
}

const char *sem_blas_core_for(const sem_cpu_features *f)
{
    if (f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq)
        return f->avx512_bf16 ? "Cooperlake" : "SkylakeX";
    if (f->avx2 && f->fma)
        return "Haswell";
    return f->avx ? "Sandybridge" : NULL;
}

int sem_blas_core_is_weak(const char *have, const sem_cpu_features *f)
{
    const char *want = sem_blas_core_for(f);
    int lh = core_level(have);
    return want && lh > 0 && lh < core_level(want);
}

int sem_kernels_setup(char **argv)
{
    if (getenv(BLAS_GUARD))
        return 0; /* already re-executed once: never loop */
    sem_cpu_features f;
    sem_cpu_features_get(&f);
    const char *have = openblas_get_corename();
    if (!sem_blas_core_is_weak(have, &f))
        return 0;
    if (setenv(BLAS_GUARD, have, 1) || setenv("OPENBLAS_CORETYPE", sem_blas_core_for(&f), 1))
        return -1;
    fflush(NULL);
    execv("/proc/self/exe", argv);
    unsetenv(BLAS_GUARD); /* the exec failed: run on with OpenBLAS's choice */
    return -1;
}

static const char *dnnl_isa_name(dnnl_cpu_isa_t isa)
{
    switch ((int)isa) {
    case dnnl_cpu_isa_sse41: return "sse4.1";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "other";
    }
}

void sem_kernels_describe(char *buf, size_t n)
{
    sem_cpu_features f;
    sem_cpu_features_get(&f);
    char feat[160];
    sem_cpu_features_str(&f, feat, sizeof feat);
    const dnnl_version_t *v = dnnl_version();
    const char *core = openblas_get_corename(), *was = getenv(BLAS_GUARD), *want = sem_blas_core_for(&f);
    char why[200];
    if (sem_blas_core_is_weak(core, &f))
        snprintf(why, sizeof why, "weaker than the CPU features allow (%s): not re-executed", want);
    else if (was && strcasecmp(was, core) != 0)
        snprintf(why, sizeof why, "OpenBLAS chose %s; set from the CPU features", was);
    else
        snprintf(why, sizeof why, "OpenBLAS's choice, as good as the CPU features allow");
    char i8[160], b16[160];
    sem_precision_describe(SEM_PRECISION_INT8, &f, i8, sizeof i8);
    sem_precision_describe(SEM_PRECISION_BF16, &f, b16, sizeof b16);
    snprintf(buf, n,
             "cpu features: %s\n"
             "encoder f32 gemm: oneDNN %d.%d.%d, %s kernels (chosen by CPU features)\n"
             "encoder int8: %s\n"
             "encoder bf16: %s\n"
             "openblas core: %s (%s)\n",
             feat, v->major, v->minor, v->patch, dnnl_isa_name(dnnl_get_effective_cpu_isa()), i8, b16, core, why);
}
