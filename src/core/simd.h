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
 * and transpose: a function compiled for AVX-512 by attribute, called only
 * when ent_cpu_avx512() says so (libgcc's probe also checks that the OS
 * saves the zmm state). Not defined off x86-64 GCC/Clang. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ENT_HAVE_AVX512 1
#define ENT_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define ENT_AVX512_INLINE static inline __attribute__((always_inline)) ENT_AVX512
static inline int ent_cpu_avx512(void) { return __builtin_cpu_supports("avx512f"); }
#endif

#endif
