/* encoder/cpu.c: which SIMD instructions this CPU has and the OS has enabled (cpuid + xgetbv), so that kernels
 * are chosen by features rather than by a library's list of CPU models. */
#include "encoder/internal.h"

#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

void sem_cpu_features_get(sem_cpu_features *f)
{
    memset(f, 0, sizeof *f);
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    unsigned long long xcr0 = 0;
    if ((c >> 27) & 1) { /* OSXSAVE: xgetbv says which register states the OS saves */
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((unsigned long long)hi << 32) | lo;
    }
    const int ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0;
    const int tiles = (xcr0 & 0x60000) == 0x60000;
    f->avx = ymm && ((c >> 28) & 1);
    f->fma = f->avx && ((c >> 12) & 1);
    if (__get_cpuid_max(0, NULL) < 7)
        return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = f->avx && ((b >> 5) & 1);
    f->avx512f = zmm && ((b >> 16) & 1);
    f->avx512dq = f->avx512f && ((b >> 17) & 1);
    f->avx512bw = f->avx512f && ((b >> 30) & 1);
    f->avx512vl = f->avx512f && ((b >> 31) & 1);
    f->avx512_vnni = f->avx512f && ((c >> 11) & 1);
    f->amx_bf16 = tiles && ((d >> 22) & 1);
    f->amx_tile = tiles && ((d >> 24) & 1);
    f->amx_int8 = tiles && ((d >> 25) & 1);
    unsigned max_sub = a;
    if (max_sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        f->avx_vnni = f->avx2 && ((a >> 4) & 1);
        f->avx512_bf16 = f->avx512f && ((a >> 5) & 1);
    }
#endif
}

void sem_cpu_features_str(const sem_cpu_features *f, char *buf, size_t n)
{
    const struct {
        int on;
        const char *name;
    } all[] = {{f->avx, "avx"},           {f->avx2, "avx2"},         {f->fma, "fma"},
               {f->avx512f, "avx512f"},   {f->avx512dq, "avx512dq"}, {f->avx512bw, "avx512bw"},
               {f->avx512vl, "avx512vl"}, {f->avx512_vnni, "avx512_vnni"}, {f->avx512_bf16, "avx512_bf16"},
               {f->avx_vnni, "avx_vnni"}, {f->amx_tile, "amx_tile"}, {f->amx_bf16, "amx_bf16"},
               {f->amx_int8, "amx_int8"}};
    size_t len = 0;
    if (n)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof all / sizeof all[0] && len < n; i++)
        if (all[i].on) {
            int w = snprintf(buf + len, n - len, "%s%s", len ? " " : "", all[i].name);
            len += w > 0 ? (size_t)w : 0;
        }
    if (n && !buf[0])
        snprintf(buf, n, "none of avx/avx2/avx512");
}
