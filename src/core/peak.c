/* peak.c — the machine's measured fp32 FMA peak, the yardstick the GEMM
 * benchmark divides by (bench/gemm_bench.h declares it).
 *
 * Each thread runs independent FMA chains on 256- or 512-bit vectors: with
 * FMA latency 4 and 2 FMA ports, 8 chains would do; 12 (ymm: 12 + 2
 * constants fit AVX2's 16 registers) or 16 (zmm, of 32) leave slack for a
 * core with more latency or ports. acc = acc * x + y with x just below 1
 * converges to y / (1 - x) = 1: no overflow, no denormals. */
#include <omp.h>
#include <string.h>
#include <time.h>

#include "../../bench/gemm_bench.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define FMA_LOOP(name, attr, vec, set1, fmadd, add, lanes, ACC)            \
    enum { name##_chains = ACC };                                         \
    static attr double name(int64_t iters) {                              \
        vec acc[ACC];                                                     \
        const vec x = set1(0.9999999f), y = set1(1e-7f);                  \
        for (int i = 0; i < ACC; i++) acc[i] = set1(1.0f + 0.01f * i);    \
        for (int64_t it = 0; it < iters; it++)                            \
            for (int i = 0; i < ACC; i++) acc[i] = fmadd(acc[i], x, y);   \
        vec s = acc[0];                                                   \
        for (int i = 1; i < ACC; i++) s = add(s, acc[i]);                 \
        float out[lanes];                                                 \
        memcpy(out, &s, sizeof out);                                      \
        return out[0];                                                    \
    }

FMA_LOOP(fma256, __attribute__((target("avx2,fma"))), __m256, _mm256_set1_ps,
         _mm256_fmadd_ps, _mm256_add_ps, 8, 12)
FMA_LOOP(fma512, __attribute__((target("avx512f"))), __m512, _mm512_set1_ps,
         _mm512_fmadd_ps, _mm512_add_ps, 16, 16)

/* Seconds for `threads` threads to run iters iterations each: wall time
 * from a common start to the last finisher; one thread by its own CPU
 * clock (time a neighbour holds the core does not count). */
static double timed(int bits, int threads, int64_t iters, volatile double *sink) {
    if (threads == 1) {
        struct timespec a, b;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
        *sink += bits == 512 ? fma512(iters) : fma256(iters);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
        return (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    }
    double t0 = 0.0, t1 = 0.0;
#pragma omp parallel num_threads(threads)
    {
#pragma omp barrier
#pragma omp single
        t0 = ent_time_seconds();
        double r = bits == 512 ? fma512(iters) : fma256(iters);
#pragma omp atomic
        *sink += r;
#pragma omp barrier
#pragma omp single
        t1 = ent_time_seconds();
    }
    return t1 - t0;
}

double ent_peak_fma_gflops(int bits, int threads, double seconds) {
    __builtin_cpu_init();
    if (bits == 512 ? !__builtin_cpu_supports("avx512f")
        : bits == 256 ? !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
                      : 1)
        return 0.0;
    if (threads < 1) threads = 1;
    volatile double sink = 0.0;
    const double flops_per_iter = 2.0 * (bits == 512 ? fma512_chains : fma256_chains) * (bits / 32);
    int64_t iters = 1 << 16;
    while (timed(bits, threads, iters, &sink) < 0.02) iters *= 2; /* ~20 ms windows */
    double best = 0.0, t_end = ent_time_seconds() + (seconds > 0 ? seconds : 0.5);
    do { /* best window: neighbours on a shared machine only ever slow us */
        const double rate = flops_per_iter * (double)iters * threads /
                            timed(bits, threads, iters, &sink) * 1e-9;
        if (rate > best) best = rate;
    } while (ent_time_seconds() < t_end);
    return best;
}

#else

double ent_peak_fma_gflops(int bits, int threads, double seconds) {
    (void)bits, (void)threads, (void)seconds;
    return 0.0;
}

#endif
