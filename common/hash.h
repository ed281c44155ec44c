/* common/hash.h: the small hash and random-number functions that several parts use, written once.
 * - FNV-1a 64 over bytes: stable fingerprints and ids (the trainer's data hash, the adapt hold-out, the indexer's
 *   duplicate-id set). Stable across runs and machines: results are stored in files, so never change it.
 * - splitmix64: a reproducible random number generator (random weights, sampling, shuffles, MLM masks) and the
 *   64-bit mixer behind it (a seed or an index in, a well-spread value out: the trainer's dropout masks).
 * Not cryptographic. Header-only (static inline): the trainer calls them once per element in its inner loops.
 * Thread-safety: pure functions; an RNG state belongs to its caller. */
#ifndef SEM_HASH_H
#define SEM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SEM_FNV1A64_INIT 0xCBF29CE484222325ULL /* FNV-1a 64's offset basis: where a hash starts */
#define SEM_SPLITMIX64_GAMMA 0x9E3779B97F4A7C15ULL /* splitmix64's state increment (2^64 / golden ratio) */

/* FNV-1a 64 of n bytes at p, continuing from h (SEM_FNV1A64_INIT for a new hash). */
static inline uint64_t sem_fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001B3ULL;
    return h;
}

/* FNV-1a 64 of a NUL-terminated string (NULL hashes as ""). */
static inline uint64_t sem_fnv1a64_str(const char *s)
{
    return sem_fnv1a64(SEM_FNV1A64_INIT, s, s ? strlen(s) : 0);
}

/* splitmix64's output for state x: x advanced by the gamma, then mixed. As a hash: a 64-bit value in, a
 * well-spread one out (nearby inputs give unrelated outputs). */
static inline uint64_t sem_hash64(uint64_t x)
{
    x += SEM_SPLITMIX64_GAMMA;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* The next splitmix64 number; *state advances (any 64-bit value is a valid seed). */
static inline uint64_t sem_rng_next(uint64_t *state)
{
    uint64_t r = sem_hash64(*state);
    *state += SEM_SPLITMIX64_GAMMA;
    return r;
}

/* A double uniform in [0, 1) with 53 random bits; *state advances. */
static inline double sem_rng_uniform(uint64_t *state)
{
    return (double)(sem_rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
