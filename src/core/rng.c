/* rng.c — Philox4x32-10 (Salmon et al. 2011), a counter-based generator.
 * A stream is (key, counter); each block of 128 random bits is the keyed
 * bijection of the counter. Bulk fills map element i to block counter+i/4,
 * so they parallelise and give the same numbers for any thread count. */
#include <math.h>

#include "entropic.h"

#define TWO_PI 6.283185307179586
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

typedef struct {
    uint32_t v[4];
} block4;

static inline block4 philox(uint64_t key, uint64_t counter) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    block4 b = {{c0, c1, c2, c3}};
    return b;
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void ent_rng_init(ent_rng *r, uint64_t seed, uint64_t stream) {
    r->key = splitmix64(splitmix64(seed) ^ (stream * 0x632BE59BD9B4E019ull + 1));
    r->counter = 0;
}

uint32_t ent_rng_u32(ent_rng *r) { return philox(r->key, r->counter++).v[0]; }

/* (u + 0.5) / 2^32: never 0 or 1, so log() is always finite. */
static inline double u01(uint32_t u) { return ((double)u + 0.5) * (1.0 / 4294967296.0); }

double ent_rng_uniform(ent_rng *r) { return u01(ent_rng_u32(r)); }

uint64_t ent_rng_below(ent_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    /* 64 random bits, rejection to remove modulo bias. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        block4 b = philox(r->key, r->counter++);
        uint64_t x = ((uint64_t)b.v[0] << 32) | b.v[1];
        if (x < limit) return x % n;
    }
}

double ent_rng_normal(ent_rng *r) {
    block4 b = philox(r->key, r->counter++);
    double rad = sqrt(-2.0 * log(u01(b.v[0])));
    return rad * cos(TWO_PI * u01(b.v[1]));
}

/* Box-Muller on the two pairs of a block: 4 normals per block. */
void ent_rng_normal_fill(ent_rng *r, float *out, int64_t n, float scale) {
    int64_t blocks = (n + 3) / 4;
    uint64_t key = r->key, base = r->counter;
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
        block4 b = philox(key, base + (uint64_t)blk);
        float z[4];
        for (int p = 0; p < 2; p++) {
            float rad = sqrtf(-2.0f * logf((float)u01(b.v[2 * p])));
            float ang = (float)TWO_PI * (float)u01(b.v[2 * p + 1]);
            z[2 * p] = rad * cosf(ang);
            z[2 * p + 1] = rad * sinf(ang);
        }
        int64_t i0 = blk * 4;
        for (int k = 0; k < 4 && i0 + k < n; k++) out[i0 + k] = scale * z[k];
    }
    r->counter = base + (uint64_t)blocks;
}

void ent_rng_uniform_fill(ent_rng *r, float *out, int64_t n, float lo, float hi) {
    int64_t blocks = (n + 3) / 4;
    uint64_t key = r->key, base = r->counter;
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
        block4 b = philox(key, base + (uint64_t)blk);
        int64_t i0 = blk * 4;
        for (int k = 0; k < 4 && i0 + k < n; k++)
            out[i0 + k] = lo + (hi - lo) * (float)u01(b.v[k]);
    }
    r->counter = base + (uint64_t)blocks;
}

void ent_rng_permutation(ent_rng *r, int64_t *perm, int64_t n) {
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)ent_rng_below(r, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
