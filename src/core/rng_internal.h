/* rng_internal.h — Philox4x32-10 itself and its bulk kernels (internal).
 *
 * A chunk is ENT_RNG_CHUNK consecutive values of a stream: value i of a
 * chunk starting at block `ctr` comes from word i % 4 of block ctr + i / 4,
 * exactly as in ent_rng_normal_fill. Loops that need random numbers inside
 * their own pass over memory (the Entropy-SGD inner step, dropout) call the
 * chunk kernels on their chunk and so stay one pass, reproducible and
 * independent of the thread count.
 *
 * Each kernel has a portable C version (the reference, also used on CPUs
 * without AVX-512) and an AVX-512 version chosen at run time. Both do the
 * same float operations in the same order (no FMA contraction under
 * -std=c11), so they return bit-identical values; tests/test_rng.c checks
 * it. */
#ifndef ENT_RNG_INTERNAL_H
#define ENT_RNG_INTERNAL_H

#include <stdint.h>

#define ENT_RNG_CHUNK 256 /* values per chunk = 64 Philox blocks */

#define ENT_PHILOX_M0 0xD2511F53u
#define ENT_PHILOX_M1 0xCD9E8D57u
#define ENT_PHILOX_W0 0x9E3779B9u
#define ENT_PHILOX_W1 0xBB67AE85u

/* Block `counter` of stream `key`: the keyed bijection of (counter, 0). */
static inline void ent_philox(uint64_t key, uint64_t counter, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)ENT_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)ENT_PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += ENT_PHILOX_W0;
        k1 += ENT_PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* out[i] = scale * N(0, 1) for i < n <= ENT_RNG_CHUNK. Box-Muller on the
 * word pairs (0, 1) and (2, 3) of each block: radius from the top 23 bits
 * of the first word, u = (k + 1/2) 2^-23 (so |z| <= 5.77), angle 2 pi v
 * from the top 24 bits of the second, v = k 2^-24; the even value is
 * r cos, the odd r sin. log, sin and cos are polynomials (Cephes): the
 * result is within 2.2e-7 * r of the exact Box-Muller value of the same
 * bits (see rng_simd.c). */
void ent_rng_normal_chunk(uint64_t key, uint64_t ctr, float *out, int n,
                          float scale);
void ent_rng_normal_chunk_portable(uint64_t key, uint64_t ctr, float *out,
                                   int n, float scale);

/* out[i] = word i % 4 of block ctr + i / 4, for i < n <= ENT_RNG_CHUNK. */
void ent_rng_u32_chunk(uint64_t key, uint64_t ctr, uint32_t *out, int n);
void ent_rng_u32_chunk_portable(uint64_t key, uint64_t ctr, uint32_t *out,
                                int n);

/* 1 when the AVX-512 kernels are in use on this CPU (else AVX2 where the
 * CPU has it, else portable: the same bits). */
int ent_rng_simd_active(void);

#endif
