/* store/spec.c: the index specs a KB accepts, checked before any string reaches faiss_index_factory.
 *
 * An index spec comes from users (`kb create --index`, `kb compact --index`, `index add --index`) and from
 * kb.sqlite. FAISS parses it with std::regex and std::stoi and allocates what it asks for (16-bit PQ codebooks,
 * huge rotation matrices), so only this grammar, with bounded numbers, is passed on:
 *
 *     spec      := { transform "," } core
 *     transform := "PCA" ["W"] ["R"] N          N <= current dim
 *                | "OPQ" M ["_" N]              M divides N (default: current dim)
 *                | "RR" [N] | "L2norm"
 *     core      := "Flat" | code
 *                | "IVF" N "," ( "Flat" | code ) N <= 2^18 lists
 *                | "HNSW" [M] [ ("," | "_") ( "Flat" | sq ) ]   2 <= M <= 256
 *     code      := "PQ" M [ "x" B ] [ "np" ] | "PQ" M "x4fs" [ "r" ] | sq   M divides the dim, 1 <= B <= 16;
 *                                                         after IVF: B <= 8 (IndexIVFPQ); elsewhere: no "r"
 *     sq        := "SQ4" | "SQ6" | "SQ8" | "SQfp16"
 *
 * Every matrix or codebook a spec implies holds at most 2^26 floats (256 MiB). */
#include <stdint.h>
#include <string.h>

#include "store/kb.h"

#define MAX_FLOATS ((int64_t)1 << 26)
#define MAX_NLIST (1 << 18)
#define MAX_DIM 65536

typedef struct spec_cur {
    const char *s; /* the rest of the spec */
    int d;         /* the dimension at this point (after transforms) */
    sem_error *err;
    const char *spec;
} spec_cur;

static int bad(spec_cur *c, const char *why)
{
    return sem_error_set(c->err, SEM_EINVAL, "invalid index spec \"%s\" at \"%.40s\": %s", c->spec, c->s, why);
}

/* Consumes lit if the spec continues with it. */
static int eat(spec_cur *c, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(c->s, lit, n) != 0)
        return 0;
    c->s += n;
    return 1;
}

/* A positive decimal number of at most 7 digits into *v; 0 if none is there (nothing consumed). */
static int num(spec_cur *c, int *v)
{
    int64_t x = 0;
    int n = 0;
    while (c->s[n] >= '0' && c->s[n] <= '9' && n < 8)
        x = x * 10 + (c->s[n++] - '0');
    if (n == 0 || n > 7 || (c->s[n] >= '0' && c->s[n] <= '9') || x < 1)
        return 0;
    c->s += n;
    *v = (int)x;
    return 1;
}

static int sq(spec_cur *c)
{
    return eat(c, "SQfp16") || eat(c, "SQ4") || eat(c, "SQ6") || eat(c, "SQ8");
}

/* code (PQ or SQ) at dimension c->d; ivf: inside an IVF (FAISS's IndexIVFPQ takes at most 8 bits). */
static int code(spec_cur *c, int ivf)
{
    if (sq(c))
        return SEM_OK;
    int m, b = 8;
    if (!eat(c, "PQ"))
        return bad(c, "expected Flat, PQ<m>, SQ4, SQ6, SQ8 or SQfp16");
    if (!num(c, &m) || c->d % m != 0)
        return bad(c, "PQ<m> needs m dividing the dimension");
    if (eat(c, "x4fs")) {
        if (ivf) /* by_residual: FAISS takes "r" after IVF only */
            eat(c, "r");
        return SEM_OK;
    }
    if (eat(c, "x") && (!num(c, &b) || b > (ivf ? 8 : 16)))
        return bad(c, ivf ? "IVF<n>,PQ<m>x<bits> needs 1 <= bits <= 8" : "PQ<m>x<bits> needs 1 <= bits <= 16");
    if (((int64_t)1 << b) * c->d > MAX_FLOATS)
        return bad(c, "the PQ codebook would be too large");
    eat(c, "np");
    return SEM_OK;
}

/* One transform followed by ','. Returns 1 if one was consumed (or *rc set: a malformed one), 0 if the spec does
 * not continue with a transform (nothing consumed). */
static int transform(spec_cur *c, int *rc)
{
    const char *save = c->s;
    int n = c->d, m;
    *rc = SEM_OK;
    if (eat(c, "PCA")) {
        eat(c, "W");
        eat(c, "R");
        if (!num(c, &n) || n > c->d)
            *rc = bad(c, "PCA<n> needs 1 <= n <= the dimension");
    } else if (eat(c, "OPQ")) {
        if (!num(c, &m) || (eat(c, "_") && !num(c, &n)) || n > MAX_DIM || n % m != 0)
            *rc = bad(c, "OPQ<m>[_<n>] needs m dividing n");
    } else if (eat(c, "RR")) {
        if (c->s[0] != ',' && (!num(c, &n) || n > MAX_DIM))
            *rc = bad(c, "RR<n> needs 1 <= n <= 65536");
    } else if (!eat(c, "L2norm")) {
        return 0;
    }
    if (*rc)
        return 1;
    if (c->s[0] != ',') {
        c->s = save; /* e.g. "PCA16" alone: not followed by an index */
        return 0;
    }
    if ((int64_t)n * c->d > MAX_FLOATS) {
        *rc = bad(c, "the transform matrix would be too large");
        return 1;
    }
    c->s++;
    c->d = n;
    return 1;
}

static int core(spec_cur *c)
{
    int n;
    if (eat(c, "Flat"))
        return SEM_OK;
    if (eat(c, "IVF")) {
        if (!num(c, &n) || n > MAX_NLIST)
            return bad(c, "IVF<nlist> needs 1 <= nlist <= 262144");
        if (!eat(c, ","))
            return bad(c, "IVF<nlist> is followed by ,Flat or a code");
        return eat(c, "Flat") ? SEM_OK : code(c, 1);
    }
    if (eat(c, "HNSW")) {
        if ((c->s[0] >= '0' && c->s[0] <= '9') && (!num(c, &n) || n < 2 || n > 256))
            return bad(c, "HNSW<M> needs 2 <= M <= 256");
        if (eat(c, ",") || eat(c, "_"))
            return eat(c, "Flat") || sq(c) ? SEM_OK : bad(c, "HNSW is followed by Flat or SQ4/SQ6/SQ8/SQfp16");
        return SEM_OK;
    }
    return code(c, 0);
}

int sem_kb_check_spec(const char *spec, int d, sem_error *err)
{
    if (d < 1 || d > MAX_DIM)
        return sem_error_set(err, SEM_EINVAL, "dimension %d out of range 1..%d", d, MAX_DIM);
    if (!spec || !*spec)
        return sem_error_set(err, SEM_EINVAL, "empty index spec");
    size_t len = strnlen(spec, 128);
    if (len >= 128)
        return sem_error_set(err, SEM_EINVAL, "index spec too long (max 127 bytes)");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)spec[i] <= ' ' || (unsigned char)spec[i] > '~')
            return sem_error_set(err, SEM_EINVAL, "index spec has a space or non-printable byte at %zu", i);
    spec_cur c = {spec, d, err, spec};
    int rc = SEM_OK;
    for (int i = 0; i < 8 && transform(&c, &rc) && !rc; i++)
        ;
    if (rc)
        return rc;
    if ((rc = core(&c)))
        return rc;
    if (c.s[0])
        return bad(&c, "unexpected text (see docs/store.md, \"Index specs\")");
    return SEM_OK;
}
