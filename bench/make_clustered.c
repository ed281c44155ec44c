/* bench/make_clustered.c: writes a synthetic clustered vector set for `semsearch eval ann`: a Gaussian mixture
 * of --centers centres on the unit sphere, points normalised (like sentence embeddings), base and queries drawn
 * from the same mixture (the queries are not base points). Deterministic for a seed on every machine.
 *
 *   make_clustered --n 100000 --queries 1000 --d 384 --centers 300 --spread 0.8 --seed 1 \
 *       --out-base base.fvecs --out-queries queries.fvecs       (.fvecs or .npy by extension) */
#include "common/error.h"
#include "eval/ann.h"
#include "eval/vecio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || errno || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    double n = 100000, nq = 1000, d = 384, centers = 300, spread = 0.8, seed = 1;
    const char *ob = NULL, *oq = NULL;
    for (int i = 1; i < argc; i += 2) { /* options come in pairs: --name value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("Usage: make_clustered [--n N] [--queries NQ] [--d D] [--centers C] [--spread S] [--seed X]\n"
                   "                      --out-base FILE --out-queries FILE\n"
                   "Clustered, normalised synthetic vectors (Gaussian mixture on the unit sphere) as .fvecs or "
                   ".npy.\nDefaults: 100000 x 384, 1000 queries, 300 centres, spread 0.8, seed 1.\n");
            return 0;
        }
        if (!v) {
            fprintf(stderr, "make_clustered: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--n"))
            bad = num(v, 1, 1e8, &n);
        else if (!strcmp(a, "--queries"))
            bad = num(v, 1, 1e7, &nq);
        else if (!strcmp(a, "--d"))
            bad = num(v, 1, 65536, &d);
        else if (!strcmp(a, "--centers"))
            bad = num(v, 1, 1e6, &centers);
        else if (!strcmp(a, "--spread"))
            bad = num(v, 0, 100, &spread);
        else if (!strcmp(a, "--seed"))
            bad = num(v, 0, 1e15, &seed);
        else if (!strcmp(a, "--out-base"))
            ob = v;
        else if (!strcmp(a, "--out-queries"))
            oq = v;
        else {
            fprintf(stderr, "make_clustered: unknown option %s (see --help)\n", a);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "make_clustered: bad value for %s: %s\n", a, v);
            return 2;
        }
    }
    if (!ob || !oq) {
        fprintf(stderr, "make_clustered: --out-base and --out-queries are required\n");
        return 2;
    }
    size_t nb = (size_t)n, nqq = (size_t)nq, dd = (size_t)d;
    float *x = malloc(sizeof(float) * (nb > nqq ? nb : nqq) * dd);
    if (!x) {
        fprintf(stderr, "make_clustered: out of memory\n");
        return 1;
    }
    sem_error err;
    int rc = sem_ann_make_clustered(nb, dd, (size_t)centers, spread, (uint64_t)seed, (uint64_t)seed * 2 + 1, x, &err);
    if (!rc)
        rc = sem_vecs_write(ob, x, nb, dd, &err);
    if (!rc)
        rc = sem_ann_make_clustered(nqq, dd, (size_t)centers, spread, (uint64_t)seed, (uint64_t)seed * 2 + 2, x,
                                    &err);
    if (!rc)
        rc = sem_vecs_write(oq, x, nqq, dd, &err);
    free(x);
    if (rc) {
        fprintf(stderr, "make_clustered: %s\n", err.msg);
        return 1;
    }
    printf("wrote %zu x %zu to %s and %zu queries to %s\n", nb, dd, ob, nqq, oq);
    return 0;
}
