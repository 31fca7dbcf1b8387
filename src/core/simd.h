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

#endif
