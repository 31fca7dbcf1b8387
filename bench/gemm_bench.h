/* gemm_bench.h — GEMM throughput against the machine's measured peak.
 * ent_peak_fma_gflops lives in the library (src/core/peak.c); the rest in
 * bench/gemm_bench.c, which the Makefile links into the CLI (for
 * `entropic bench`) and builds alone as $(BUILD)/gemm_bench (`make
 * bench-gemm`). */
#ifndef ENT_GEMM_BENCH_H
#define ENT_GEMM_BENCH_H

#include <stdio.h>

#include "entropic.h"

/* Best fp32 FMA throughput in GFLOP/s of `threads` threads running
 * independent FMA chains on `bits` = 256 or 512-bit vectors, over windows
 * of about 20 ms for `seconds` in all. 0 if the CPU lacks that width. */
double ent_peak_fma_gflops(int bits, int threads, double seconds);

/* One product as a layer issues it: ent_gemm(ta, tb, M, N, K, 1, ..., beta). */
typedef struct {
    const char *name; /* "mnistfc fc1 fwd" */
    int ta, tb;
    int64_t M, N, K;
    float beta;
} ent_gemm_shape;

/* The products of our networks: mnistfc at batch 128 (forward, dW, din)
 * and at evaluation batch 500, LeNet's per-sample im2col convolutions and
 * its dense layers at batch 128. Static table; *n gets its length. */
const ent_gemm_shape *ent_gemm_bench_shapes(int *n);

typedef struct {
    double best, median; /* GFLOP/s over the timed windows */
    int windows;
} ent_gemm_rate;

/* Time ent_gemm on shape s with backend (an ent_gemm_backend:
 * core/gemm_internal.h) at `threads` threads, windows of about 5 ms for
 * `seconds` in all, after one warm-up call. Restores the backend and the
 * thread count. ENT_ENOMEM if the operands cannot be allocated. */
ent_status ent_gemm_bench_shape(const ent_gemm_shape *s, int backend,
                                int threads, double seconds,
                                ent_gemm_rate *out);

/* The whole report as Markdown on f: the FMA peaks (256/512-bit, 1..max
 * threads), then one row per shape with, for each backend in `backends`
 * (comma-separated names: "avx512,blas") and thread count 1..max_threads,
 * the best GFLOP/s and its fraction of the 512-bit peak at that thread
 * count. `label` (may be NULL) names the run in the heading, e.g. "blas,
 * OPENBLAS_CORETYPE unset". */
ent_status ent_gemm_bench_report(FILE *f, const char *backends,
                                 int max_threads, double seconds,
                                 const char *label);

#endif
