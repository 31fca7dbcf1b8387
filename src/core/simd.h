/* simd.h — wider vectors for plain C loops, chosen at run time (internal).
 *
 * The Makefile builds for baseline x86-64 (SSE2), so the binary runs
 * anywhere; ENT_CLONES before a function definition makes GCC compile it
 * also for AVX2 and AVX-512 and pick the best at load time (an ifunc).
 * Under -std=c11 GCC does not contract a * b + c into an FMA, so every
 * clone does the same float operations and returns the same bits.
 *
 * Use it on leaf kernels without OpenMP pragmas (the body of an OpenMP
 * region is outlined into a function that is not cloned): a parallel
 * caller splits its range and calls the kernel on each piece. */
#ifndef ENT_SIMD_H
#define ENT_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#define ENT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ENT_CLONES
#endif

/* Hand-written AVX-512 kernels (intrinsics) of the GEMM, max-pool, conv2d
 * and transpose (and AVX2 ones of the GEMM and transpose, below): a function compiled for AVX-512 by attribute, called only
 * when ent_cpu_avx512() says so (libgcc's probe also checks that the OS
 * saves the zmm state). Not defined off x86-64 GCC/Clang. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>
#define ENT_HAVE_AVX512 1
#define ENT_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define ENT_AVX512_INLINE static inline __attribute__((always_inline)) ENT_AVX512
static inline int ent_cpu_avx512(void) { return __builtin_cpu_supports("avx512f"); }

/* The same for AVX2 with FMA (Zen 1-3, Haswell to Ice Lake clients): the
 * GEMM's AVX2 kernels and ent_transpose's 8 x 8 blocks. */
#define ENT_HAVE_AVX2 1
#define ENT_AVX2 __attribute__((target("avx2,fma")))
#define ENT_AVX2_INLINE static inline __attribute__((always_inline)) ENT_AVX2
static inline int ent_cpu_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* Lanes [0, n) of an 8-lane mask (n <= 0: none, n >= 8: all), for
 * _mm256_maskload_ps / _mm256_maskstore_ps. */
ENT_AVX2_INLINE __m256i ent_lanes8(int64_t n) {
    static const int32_t tbl[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    const int64_t k = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256((const __m256i *)(tbl + 8 - k));
}

/* The 8 lanes of v summed in a fixed order (halves, then pairs). */
ENT_AVX2_INLINE float ent_hsum8(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

/* In-register transpose of an 8x8 block: r[i][j] -> r[j][i]. */
ENT_AVX2_INLINE void ent_transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}
#endif

#endif
