/* bench.h — the pieces of `entropic bench` (cmd_bench.c): timed windows
 * (bench_time.c), our own measurements (bench_ours.c) and the PyTorch peer
 * (bench_torch.c, which runs bench/torch_bench.py). */
#ifndef ENT_BENCH_H
#define ENT_BENCH_H

#include "../../bench/gemm_bench.h"
#include "entropic.h"

#define ENT_BENCH_MAX_REPEATS 100

/* What is measured, in samples/s. ESGD counts L x batch samples per outer
 * step (each of its L inner steps sees a fresh mini-batch). */
typedef enum { ENT_BENCH_TRAIN = 0, ENT_BENCH_INFER, ENT_BENCH_ESGD, ENT_BENCH_N_KINDS } ent_bench_kind;
const char *ent_bench_kind_name(ent_bench_kind k); /* "train", "infer", "esgd" */

typedef struct {
    int64_t batch;
    int L;          /* Entropy-SGD inner steps */
    double seconds; /* length of one timed window */
    int repeats;    /* timed windows after the warm-up window */
    unsigned kinds; /* bit k set: measure ent_bench_kind k */
} ent_bench_plan;

/* samples/s over the timed windows; windows == 0: not measured. */
typedef struct {
    double median, min, max;
    int windows;
} ent_bench_rate;

/* One iteration of a measured loop (one step, one batch). */
typedef ent_status (*ent_bench_iter)(void *ctx);

/* One discarded warm-up window, then p->repeats windows, each at least
 * p->seconds long and at least one iteration; rate of a window =
 * iterations x samples_per_iter / elapsed. */
ent_status ent_bench_time(ent_bench_iter fn, void *ctx, double samples_per_iter,
                          const ent_bench_plan *p, ent_bench_rate *out);

/* The kinds in p->kinds for one preset at the current thread count
 * (ent_set_threads), on a synthetic in-memory data set (16 batches);
 * out[k].windows stays 0 for a kind not measured. */
ent_status ent_bench_ours(const char *preset, const ent_bench_plan *p,
                          ent_bench_rate out[ENT_BENCH_N_KINDS]);

/* The PyTorch peer: best of its runtime settings, per measurement. */
typedef struct {
    ent_bench_rate rate;
    char config[96]; /* the settings of the fastest run, e.g. "active, OpenBLAS SkylakeX (OPENBLAS_CORETYPE set)" */
} ent_bench_peer;

typedef struct {
    char python[512], script[512];
    int available;
    char version[32];
    char openblas_core[32]; /* the OpenBLAS core PyTorch runs in the environment as is ("unknown": none found) */
    char blas_info[32];     /* torch's BLAS_INFO build setting */
    char try_core[32];      /* an OPENBLAS_CORETYPE also tried for the peer ("": none) */
    char why[256];          /* when not available */
} ent_torch_peer;

/* Find the interpreter and the script, check that torch imports, ask it
 * which OpenBLAS core it runs (torch_bench.py --probe), and decide whether
 * a better core type is worth trying: only where that core is a generic
 * fallback, only a type this CPU's flags support (core/blas_core.h). */
void ent_torch_probe(ent_torch_peer *t);
/* Run the peer at `threads` for every model (fresh processes, one per
 * setting) and keep the fastest median per measurement into
 * out[model * ENT_BENCH_N_KINDS + kind] (rate.windows 0 where it has none). */
void ent_torch_run(const ent_torch_peer *t, int threads, const char *const *models,
                   int n_models, const ent_bench_plan *p, ent_bench_peer *out);

/* The "GEMM / peak" section (bench_gemm.c, through bench/gemm_bench.h):
 * the fp32 FMA peak and ent_gemm's GFLOP/s on our networks' products at
 * each thread count. */
#define ENT_BENCH_MAX_SHAPES 64
#define ENT_BENCH_MAX_THREADS 2
typedef struct {
    const char *backend; /* the ent_gemm backend measured: "avx512", "blas" */
    int n_threads, threads[ENT_BENCH_MAX_THREADS], n_shapes;
    double peak512[ENT_BENCH_MAX_THREADS], peak256[ENT_BENCH_MAX_THREADS]; /* GFLOP/s; 0: no such vectors */
    ent_gemm_rate rate[ENT_BENCH_MAX_THREADS][ENT_BENCH_MAX_SHAPES];
} ent_bench_gemm;

ent_status ent_bench_gemm_run(ent_bench_gemm *g, const int *threads, int n_threads, double seconds);
void ent_bench_gemm_print(const ent_bench_gemm *g);
void ent_bench_gemm_json(ent_json *j, const ent_bench_gemm *g);

#endif
