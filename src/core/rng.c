/* rng.c — Philox4x32-10 (Salmon et al. 2011), a counter-based generator.
 * A stream is (key, counter); each block of 128 random bits is the keyed
 * bijection of the counter. Bulk fills map element i to block counter+i/4,
 * so they parallelise and give the same numbers for any thread count. */
#include <math.h>

#include "entropic.h"

#include "core/rng_internal.h"

#define TWO_PI 6.283185307179586

typedef struct {
    uint32_t v[4];
} block4;

static inline block4 philox(uint64_t key, uint64_t counter) {
    block4 b;
    ent_philox(key, counter, b.v);
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

/* Box-Muller on the two pairs of a block: 4 normals per block, in chunks
 * of ENT_RNG_CHUNK values (rng_simd.c); a chunk's values depend only on its
 * first block, so the split among threads changes nothing. */
void ent_rng_normal_fill(ent_rng *r, float *out, int64_t n, float scale) {
    const int64_t chunks = (n + ENT_RNG_CHUNK - 1) / ENT_RNG_CHUNK;
    const uint64_t key = r->key, base = r->counter;
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t i0 = c * ENT_RNG_CHUNK;
        const int len = n - i0 < ENT_RNG_CHUNK ? (int)(n - i0) : ENT_RNG_CHUNK;
        ent_rng_normal_chunk(key, base + (uint64_t)(i0 / 4), out + i0, len, scale);
    }
    r->counter = base + (uint64_t)((n + 3) / 4);
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
