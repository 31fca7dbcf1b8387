/* test_rng.c — the bulk Philox kernels (src/core/rng_simd.c): the AVX-512
 * and AVX2 versions agree bit for bit with the portable one and with the
 * scalar Philox; the polynomial Box-Muller stays within its stated error of
 * the exact transform; and ent_rng_normal_fill's output looks like N(0, 1)
 * (moments, a Kolmogorov-Smirnov bound, tails, lag correlations) and does
 * not depend on the thread count or on how a fill is split. */
#include <stdlib.h>

#include "core/rng_internal.h"
#include "test.h"

static const uint64_t keys[3] = {0x0123456789ABCDEFull, 7, 0xFFFFFFFFFFFFFFFFull};
/* counters near the 32-bit carry, and a chunk straddling it */
static const uint64_t ctrs[4] = {0, 1000, 0xFFFFFFF0ull, 0xFFFFFFFFFFFFFFC0ull};
static const int lens[8] = {1, 3, 4, 63, 64, 65, 255, ENT_RNG_CHUNK};

ENT_TEST(rng_chunks_match_reference) {
    printf("    kernels in use: %s\n", ent_rng_simd_active() ? "AVX-512" : __builtin_cpu_supports("avx2") ? "AVX2" : "portable");
    uint32_t w[ENT_RNG_CHUNK], wp[ENT_RNG_CHUNK];
    float z[ENT_RNG_CHUNK], zp[ENT_RNG_CHUNK];
    int bad_u = 0, bad_w = 0, bad_z = 0;
    for (int k = 0; k < 3; k++)
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 8; l++) {
                const int n = lens[l];
                memset(w, 0xA5, sizeof w);
                ent_rng_u32_chunk(keys[k], ctrs[c], w, n);
                ent_rng_u32_chunk_portable(keys[k], ctrs[c], wp, n);
                bad_u += memcmp(w, wp, sizeof(uint32_t) * (size_t)n) != 0;
                bad_u += n < ENT_RNG_CHUNK && w[n] != 0xA5A5A5A5u; /* no overrun */
                for (int i = 0; i < n; i++) {
                    uint32_t b[4];
                    ent_philox(keys[k], ctrs[c] + (uint64_t)(i / 4), b);
                    bad_w += w[i] != b[i % 4];
                }
                ent_rng_normal_chunk(keys[k], ctrs[c], z, n, 0.75f);
                ent_rng_normal_chunk_portable(keys[k], ctrs[c], zp, n, 0.75f);
                bad_z += memcmp(z, zp, sizeof(float) * (size_t)n) != 0;
            }
    CHECK_MSG(bad_u == 0, "u32 chunk: %d cases differ from the portable kernel", bad_u);
    CHECK_MSG(bad_w == 0, "u32 chunk: %d words differ from the scalar Philox", bad_w);
    CHECK_MSG(bad_z == 0, "normal chunk: %d cases differ from the portable kernel", bad_z);
    /* the scalar stream API reads the same blocks */
    ent_rng r = {keys[0], 5};
    uint32_t b[4];
    ent_philox(keys[0], 5, b);
    CHECK(ent_rng_u32(&r) == b[0] && r.counter == 6);
}

/* Each normal against the exact Box-Muller of the same bits, in double:
 * u = (a >> 9 + 1/2) 2^-23, v = (b >> 8) 2^-24, z = sqrt(-2 ln u) (cos, sin)
 * (2 pi v). The kernel's error budget (rng_simd.c) is 9.8e-8 r (radius) +
 * 1.1e-7 r (sin/cos) + 6e-8 |z| (last rounding) < 2.7e-7 r; allow 4e-7 r.
 * A wrong coefficient or quadrant gives errors of 1e-3 r or more. */
ENT_TEST(rng_normal_accuracy) {
    const int chunks = 512; /* 131072 values */
    float z[ENT_RNG_CHUNK];
    uint32_t w[ENT_RNG_CHUNK];
    double worst = 0.0, zmax = 0.0;
    for (int c = 0; c < chunks; c++) {
        const uint64_t ctr = (uint64_t)c * 64 * 977;
        ent_rng_normal_chunk(42, ctr, z, ENT_RNG_CHUNK, 1.0f);
        ent_rng_u32_chunk(42, ctr, w, ENT_RNG_CHUNK);
        for (int i = 0; i < ENT_RNG_CHUNK; i += 2) {
            const double u = ((double)(w[i] >> 9) + 0.5) * 0x1p-23;
            const double v = (double)(w[i + 1] >> 8) * 0x1p-24;
            const double r = sqrt(-2.0 * log(u)), t = 6.283185307179586 * v;
            const double e0 = fabs(z[i] - r * cos(t)) / r, e1 = fabs(z[i + 1] - r * sin(t)) / r;
            if (e0 > worst) worst = e0;
            if (e1 > worst) worst = e1;
            if (fabs(z[i]) > zmax) zmax = fabs(z[i]);
        }
    }
    printf("    max |z - exact| / r = %.3g (allowed 4e-7), max |z| = %.3f\n", worst, zmax);
    CHECK_MSG(worst <= 4e-7, "normal chunk: error %.3g r > 4e-7 r", worst);
    CHECK(zmax <= 5.78); /* sqrt(-2 ln 2^-24) = 5.7678 */
}

/* Standard normal CDF. */
static double phi(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* n = 2^22 values of ent_rng_normal_fill. Raw moments about the known mean
 * 0: E z = 0 (sd 1/sqrt n = 4.9e-4), E z^2 = 1 (sd sqrt(2/n) = 6.9e-4),
 * E z^3 = 0 (sd sqrt(15/n) = 1.9e-3), E z^4 = 3 (sd sqrt(96/n) = 4.8e-3);
 * lag-k products E z_i z_i+k = 0 (sd 1/sqrt n) for k = 1..4 (pair, block
 * and next-block structure). Each allows 5 sd. The empirical CDF on a grid
 * of step 0.01 over [-6, 6] (a lower bound on the KS statistic) must stay
 * within d = sqrt(ln(2e6) / 2n) = 1.3e-3 of Phi (Dvoretzky-Kiefer-Wolfowitz:
 * false alarm < 1e-6); the generator's own deviations (23-bit u, 3e-7 r,
 * the cut at 5.77) are below 1e-6. Tails: counts of |z| > 3 and > 4 within
 * 5 binomial sd of n P (about 4.7% and 31% of the expected 11323 and 266). */
ENT_TEST(rng_normal_statistics) {
    const int64_t n = (int64_t)1 << 22;
    float *z = ent_alloc(sizeof(float) * (size_t)n);
    enum { NB = 1200 };
    static int64_t hist[NB + 2];
    memset(hist, 0, sizeof hist);
    ent_rng r;
    ent_rng_init(&r, 2024, 3);
    ent_rng_normal_fill(&r, z, n, 1.0f);
    CHECK(r.counter == (uint64_t)n / 4);
    double m[5] = {0}, lag[5] = {0};
    int64_t t3 = 0, t4 = 0;
    for (int64_t i = 0; i < n; i++) {
        const double x = z[i], x2 = x * x;
        m[1] += x, m[2] += x2, m[3] += x2 * x, m[4] += x2 * x2;
        for (int k = 1; k <= 4; k++)
            if (i + k < n) lag[k] += x * z[i + k];
        t3 += fabs(x) > 3.0;
        t4 += fabs(x) > 4.0;
        const double b = floor((x + 6.0) / 0.01);
        hist[b < 0 ? 0 : b >= NB ? NB + 1 : (int64_t)b + 1]++;
    }
    const double sn = sqrt((double)n), want[5] = {0, 0, 1, 0, 3};
    const double sd[5] = {0, 1 / sn, sqrt(2.0) / sn, sqrt(15.0) / sn, sqrt(96.0) / sn};
    for (int k = 1; k <= 4; k++) {
        m[k] /= (double)n;
        CHECK_MSG(fabs(m[k] - want[k]) <= 5 * sd[k], "E z^%d = %.5f, want %g +- %.5f", k, m[k],
                  want[k], 5 * sd[k]);
        lag[k] /= (double)(n - k);
        CHECK_MSG(fabs(lag[k]) <= 5 / sn, "lag-%d correlation %.5f, want 0 +- %.5f", k, lag[k], 5 / sn);
    }
    double cum = (double)hist[0], dmax = 0.0;
    for (int b = 1; b <= NB; b++) {
        cum += (double)hist[b];
        const double d = fabs(cum / (double)n - phi(-6.0 + 0.01 * b));
        if (d > dmax) dmax = d;
    }
    const double dks = sqrt(log(2e6) / (2.0 * (double)n));
    CHECK_MSG(dmax <= dks, "max |F_n - Phi| on the grid = %.3g > %.3g", dmax, dks);
    const double p3 = 2 * phi(-3.0), p4 = 2 * phi(-4.0);
    CHECK_MSG(fabs(t3 - n * p3) <= 5 * sqrt(n * p3 * (1 - p3)), "|z| > 3: %lld, want %.0f",
              (long long)t3, n * p3);
    CHECK_MSG(fabs(t4 - n * p4) <= 5 * sqrt(n * p4 * (1 - p4)), "|z| > 4: %lld, want %.0f",
              (long long)t4, n * p4);
    printf("    moments %.5f %.5f %.5f %.5f, KS grid %.2e (limit %.2e), tails %lld %lld\n", m[1],
           m[2], m[3], m[4], dmax, dks, (long long)t3, (long long)t4);
    ent_free_aligned(z);
}

/* The same values whatever the thread count, and a fill split at a
 * multiple of 4 continues the stream exactly (counter + n/4). */
ENT_TEST(rng_fill_thread_and_split_independent) {
    const int64_t n = 300001; /* above the parallel threshold, ragged tail */
    float *a = malloc(sizeof(float) * (size_t)n), *b = malloc(sizeof(float) * (size_t)n);
    ent_rng r;
    ent_set_threads(1);
    ent_rng_init(&r, 5, 9);
    ent_rng_normal_fill(&r, a, n, 2.0f);
    const uint64_t end = r.counter;
    ent_set_threads(3);
    ent_rng_init(&r, 5, 9);
    ent_rng_normal_fill(&r, b, 1000, 2.0f); /* 250 blocks: not a chunk multiple */
    ent_rng_normal_fill(&r, b + 1000, n - 1000, 2.0f);
    ent_set_threads(0);
    CHECK(memcmp(a, b, sizeof(float) * (size_t)n) == 0);
    CHECK(r.counter == end && end == (uint64_t)(n + 3) / 4);
    free(a);
    free(b);
}
