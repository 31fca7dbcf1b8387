/* vmath.h — exp, sigmoid and tanh for float loops that vectorise (internal).
 *
 * libm's expf and tanhf are calls GCC cannot vectorise; in an LSTM's gate
 * loop they took 28% of a training step. These are branch-free plain C:
 * Cody-Waite range reduction, polynomials fitted to the relative error,
 * and the power of two written into the exponent bits. Inside an
 * ENT_CLONES kernel GCC turns a loop over them into AVX2 or AVX-512 code;
 * there is no FMA contraction under -std=c11, so every clone (and the
 * scalar baseline) returns the same bits on every CPU.
 *
 * Accuracy against double-precision references (tests/test_vmath.c, on
 * grids of a million points): relative errors of at most 8.1e-8 for
 * ent_expf on [-87, 88] (tiny below, finite above), 1.4e-7 for
 * ent_sigmoidf and 1.5e-7 for ent_tanhf (its small-|x| branch is a
 * polynomial, so tanh(x) ~ x keeps its relative accuracy near 0). */
#ifndef ENT_VMATH_H
#define ENT_VMATH_H

#include <stdint.h>
#include <string.h>

/* e^x for x in [-87.3, 88.3] (clamped outside: ~1.2e-38 and ~2.2e38; so
 * the power of two never reaches the infinite exponent). */
static inline float ent_expf(float x) {
    /* NaN fails both tests, so xc is finite and the bit trick below stays
     * defined; the NaN itself is handed back at the end */
    float xc = x > -87.3f ? x : -87.3f;
    xc = xc < 88.3f ? xc : 88.3f;
    /* n = round(x / ln 2): adding 1.5 * 2^23 rounds to an integer */
    const float shift = 12582912.0f;
    const float n = (xc * 1.44269504f + shift) - shift;
    /* r = x - n ln 2 in two parts (ln 2 = hi + lo, hi exact in 9 bits) */
    const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 0.00137514f;
    p = p * r + 0.00836892f;
    p = p * r + 0.04166953f;
    p = p * r + 0.16666518f;
    p = p * r + 0.49999989f;
    p = (p * r) * r + r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x != x ? x : p * scale;
}

/* 1 / (1 + e^-x) */
static inline float ent_sigmoidf(float x) { return 1.0f / (1.0f + ent_expf(-x)); }

/* tanh x: x (1 + x^2 q(x^2)) for |x| < 0.625, else sign(x) (1 - e) / (1 + e)
 * with e = e^(-2|x|). */
static inline float ent_tanhf(float x) {
    const float a = x < 0.0f ? -x : x, x2 = x * x;
    float q = -0.00571889f;
    q = q * x2 + 0.02065306f;
    q = q * x2 - 0.05374464f;
    q = q * x2 + 0.13331512f;
    q = q * x2 - 0.33333285f;
    const float small = x + x * (x2 * q);
    const float e = ent_expf(-2.0f * a), big = (1.0f - e) / (1.0f + e);
    return a < 0.625f ? small : x < 0.0f ? -big : big;
}

#endif
