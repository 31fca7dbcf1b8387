/* gemm_tiled.c — BLIS-style single-precision GEMM with our own register-
 * tile kernels (AVX-512 or AVX2 + FMA, gemm_tiled.h): the entry point,
 * the cache blocking, the threads and the packing buffers. No intrinsics
 * here; an ISA table supplies the packing, the tile kernels and the dot
 * tiles.
 *
 * Why our own: OpenBLAS holds some machines to a generic or a 256-bit
 * kernel (OPENBLAS_CORETYPE=Haswell on a Zen 5, a Prescott fallback on a
 * Xeon it does not know), it does worse still on skinny products, and it
 * cannot run a caller's work inside its threads (the hooks below).
 *
 * Layout (row-major C, vectors along N): C is cut into register tiles of
 * up to MR x NR (12 x 32 for AVX-512, 6 x 16 for AVX2). Per K block (KC =
 * 256 deep), op(B) is packed into panels of NR columns and op(A) into
 * panels of one row tile (the ISA's pack functions absorb the four
 * transpose cases). Loops: jc (NC = 512 columns) > pc (K block; packs B:
 * 512 KiB, lives in L2) > ic (MC = 192 rows; packs A) > row tile > column
 * tile > kernel: the A panel (MR x 256 floats) stays in L1 while the B
 * panels stream from L2. Packing pays when many tiles read a block: a
 * block of A read by at most DIRECT_A_N columns (the dense layers' forward
 * W x^T at batch 128, whose A is the weight matrix) is read in place
 * instead (its panel of MR rows x KC stays in L1 across the column tiles;
 * packing W^T was 12% of mnistfc's inference), and so is a B that is not
 * transposed when its block is read by at most one A block (M <= MC: the
 * din = dout W of the dense layers at batch 128 reads W as it lies, 5%
 * faster than copying it on a Zen 5) where the ISA says so: on AVX2 CPUs
 * (Zen 3: 32 KiB, 8-way L1) the rows of a W with 1024 columns, 4 KiB
 * apart, fall into one cache set and fc2's din ran at 45-66 GFLOP/s in
 * place against 72-89 packed. A B^T with N <= 32 has its own path: vectors
 * along K, no packing (dot_run).
 *
 * Numerics: float accumulation, like BLAS. Each element sums its products
 * in k order inside a K block, then C = alpha*acc + beta*C (beta = 1 after
 * the first block); the blocks depend on K only and each element is
 * computed by one thread, so results are bit-identical for every thread
 * count, every tile position and either ISA (but for the dot path, whose
 * lanes are reduced at the end).
 *
 * Threads: the OpenMP team (the tree's one pool) splits C into a grid of
 * regions of whole tiles; each thread packs what its region reads. Small
 * products (< FORK_FLOPS) and calls from inside a parallel region run on
 * the calling thread.
 *
 * Memory: no allocation, ever. The packing buffers are static slots
 * (SLOTS x 704 KiB of .bss, touched only when used); a caller claims a
 * free slot atomically, so concurrent calls (replicas evaluated in a
 * parallel region, user threads) are safe. Should every slot be busy, a
 * scalar loop with the very same rounding does the work. */
#include <math.h>
#include <omp.h>
#include <stdatomic.h>

#include "core/gemm_tiled.h"

#ifdef ENT_HAVE_TILED_GEMM

enum {
    KC = ENT_GEMM_KC, MC = ENT_GEMM_MC, NC = ENT_GEMM_NC,
    SLOTS = 16,       /* concurrent callers / threads with their own buffers */
    SLACK = ENT_GEMM_SLACK, /* pack_a writes whole vectors past a short last tile */
    DIRECT_A_N = 128, /* A read in place by blocks of at most this many columns */
    DOT_MAX_N = 32, DOT_MIN_K = 64, DOT_KC = 2048, /* the dot path, dot_run */
};

/* Below this many flops (2MNK) a product runs on the calling thread. A
 * fork and join costs a few microseconds with spinning threads, but the
 * binary waits passively (src/cli/main.c) and waking the sleeping thread
 * costs tens: at 2e6, mnistfc's 2.6-MFLOP classifier products ran at
 * 35-119 GFLOP/s on two threads against 170-215 on one (`entropic bench
 * --kind gemm`, 2026-11-23); at 8e6 both give the one-thread rate. */
#define FORK_FLOPS 8.0e6

typedef struct {
    float a[MC * KC + SLACK] __attribute__((aligned(64)));
    float b[KC * NC] __attribute__((aligned(64)));
    atomic_int busy; /* zero-initialised static atomic: valid "free" state */
} gemm_slot;

static gemm_slot slots[SLOTS];

static gemm_slot *slot_claim(int hint) {
    for (int i = 0; i < SLOTS; i++) {
        gemm_slot *s = &slots[(hint + i) % SLOTS];
        if (!atomic_exchange_explicit(&s->busy, 1, memory_order_acquire))
            return s;
    }
    return NULL;
}

static void slot_release(gemm_slot *s) {
    if (s) atomic_store_explicit(&s->busy, 0, memory_order_release);
}

static int64_t k_blocks(int64_t K) { return (K + KC - 1) / KC; }

/* C[m0:m1, n0:n1] with the packing buffers of slot s. */
static void gemm_region(const ent_gemm_isa *isa, const ent_gemm_args *g, int64_t m0,
                        int64_t m1, int64_t n0, int64_t n1, gemm_slot *s) {
    const int64_t nk = k_blocks(g->K);
    const int direct_b = isa->b_in_place && !g->tb && m1 - m0 <= MC; /* B's rows run along N */
    const int direct_a = n1 - n0 <= DIRECT_A_N; /* the kernels broadcast from A either way */
    for (int64_t jc = n0; jc < n1; jc += NC) {
        const int64_t nc = ent_min64(NC, n1 - jc);
        for (int64_t p = 0; p < nk; p++) {
            const int64_t k0 = ent_kstart(g->K, nk, p), kc = ent_kstart(g->K, nk, p + 1) - k0;
            const float beta = p == 0 ? g->beta : 1.0f;
            const ent_gemm_block b = direct_b ? (ent_gemm_block){g->B + k0 * g->ldb + jc, g->ldb, 0}
                                              : (ent_gemm_block){s->b, 0, 0};
            if (!direct_b) isa->pack_b(g, k0, kc, jc, nc, s->b);
            for (int64_t ic = m0; ic < m1; ic += MC) {
                const int64_t mc = ent_min64(MC, m1 - ic);
                const ent_gemm_block a =
                    !direct_a ? (ent_gemm_block){s->a, 0, 0}
                    : g->ta   ? (ent_gemm_block){g->A + k0 * g->lda + ic, g->lda, 1}
                              : (ent_gemm_block){g->A + ic * g->lda + k0, g->lda, 0};
                if (!direct_a) isa->pack_a(g, ic, mc, k0, kc, s->a);
                isa->macro_kernel(mc, nc, kc, a, b, g->C + ic * g->ldc + jc, g->ldc, g->alpha,
                                  beta);
            }
        }
    }
}

/* No free slot: the same sums in the same order, one element at a time
 * (the kernels' FMA chains, then alpha * acc, then + beta * C). fmaf is
 * correctly rounded, as the kernels' FMAs are. */
static void gemm_region_scalar(const ent_gemm_args *g, int64_t m0, int64_t m1, int64_t n0,
                               int64_t n1) {
    const int64_t nk = k_blocks(g->K);
    for (int64_t i = m0; i < m1; i++)
        for (int64_t j = n0; j < n1; j++) {
            float *c = g->C + i * g->ldc + j;
            for (int64_t p = 0; p < nk; p++) {
                float acc = 0.0f;
                for (int64_t k = ent_kstart(g->K, nk, p); k < ent_kstart(g->K, nk, p + 1); k++) {
                    const float a = g->ta ? g->A[k * g->lda + i] : g->A[i * g->lda + k];
                    const float b = g->tb ? g->B[j * g->ldb + k] : g->B[k * g->ldb + j];
                    acc = fmaf(a, b, acc);
                }
                const float beta = p == 0 ? g->beta : 1.0f;
                *c = beta != 0.0f ? fmaf(beta, *c, g->alpha * acc) : g->alpha * acc;
            }
        }
}

/* The caller's hook on C[m0:m1, n0:n1] (gemm_internal.h). */
static void hook(void (*fn)(void *, int64_t, int64_t, int64_t, int64_t),
                 const ent_gemm_args *g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    if (g->hooks && fn) fn(g->hooks->ctx, m0, m1, n0, n1);
}

static void run_region(const ent_gemm_isa *isa, const ent_gemm_args *g, int64_t m0,
                       int64_t m1, int64_t n0, int64_t n1, int hint) {
    if (m0 >= m1 || n0 >= n1) return;
    hook(g->hooks ? g->hooks->before : NULL, g, m0, m1, n0, n1);
    gemm_slot *s = slot_claim(hint);
    if (s)
        gemm_region(isa, g, m0, m1, n0, n1, s);
    else
        gemm_region_scalar(g, m0, m1, n0, n1);
    slot_release(s);
    hook(g->hooks ? g->hooks->after : NULL, g, m0, m1, n0, n1);
}

/* Split nt threads into a pm x pn grid over the tiles (mr x nr each). Per
 * unit of K, the busiest thread does rows x cols tiles of mr x nr FMAs
 * and reads its rows of A and its columns of B (rows mr + cols nr floats,
 * every thread over all of K: from L3 or memory, a float costs about
 * LOAD_FMAS FMAs of time). Cheapest grid wins. Counting tiles alone sent
 * the transposed dense forward on AVX2 (171 x 8 tiles) to a column split,
 * each thread reading all of W: two threads ran it slower than one.
 * Returns pm. */
enum { LOAD_FMAS = 8 };

static int grid_rows(int nt, int64_t mt, int64_t ntl, int mr, int nr) {
    int best = 1;
    double best_cost = INFINITY;
    for (int pm = 1; pm <= nt; pm++) {
        if (nt % pm) continue;
        const int64_t rows = (mt + pm - 1) / pm, cols = (ntl + nt / pm - 1) / (nt / pm);
        const double cost = (double)(rows * cols) * mr * nr + LOAD_FMAS * (double)(rows * mr + cols * nr);
        if (cost < best_cost) best_cost = cost, best = pm;
    }
    return best;
}

static void run_team(const ent_gemm_isa *isa, const ent_gemm_args *g, int nt) {
    const int64_t MR = isa->mr, NR = isa->nr;
    const int64_t mt = (g->M + MR - 1) / MR, ntl = (g->N + NR - 1) / NR;
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num(), T = omp_get_num_threads();
        const int pm = grid_rows(T, mt, ntl, isa->mr, isa->nr), pn = T / pm, tm = t / pn,
                  tn = t % pn;
        run_region(isa, g, ent_min64(g->M, mt * tm / pm * MR),
                   ent_min64(g->M, mt * (tm + 1) / pm * MR), ent_min64(g->N, ntl * tn / pn * NR),
                   ent_min64(g->N, ntl * (tn + 1) / pn * NR), t);
    }
}

/* The dot path: A (not transposed) times B transposed with few columns
 * (N <= DOT_MAX_N) and some depth. Both operands run along K, so C[i][j]
 * is a dot product of two contiguous rows: vectors along K fill every
 * lane where the tile kernels would leave most idle (N = 10: fc3, the
 * LeNet classifier) and nothing is packed or transposed (LeNet conv1 dW:
 * 20 x 25 x 576). */
static int dot_applies(const ent_gemm_args *g) {
    return !g->ta && g->tb && g->N <= DOT_MAX_N && g->K >= DOT_MIN_K;
}

/* Tiles t0..t1 of C by the ISA's dot kernels, numbered row by row over a
 * grid of near-equal tiles (like the kernels' row tiles): mt = ceil(M /
 * dr) rows by nt = ceil(N / ds) columns. Threads split this numbering, so
 * a short M (20 rows: 5 tile rows) still divides evenly. K goes in blocks
 * of at most DOT_KC (8 KiB of each row): a tile's rows of A stay in L1 and
 * the block of B (N <= 32 rows) in L2 while the tiles sweep them; each
 * block adds its sums into C (beta = 1 after the first). The blocks depend
 * on K only. */
static void dot_tiles(const ent_gemm_isa *isa, const ent_gemm_args *g, int64_t t0, int64_t t1) {
    const int64_t mt = (g->M + isa->dr - 1) / isa->dr, nt = (g->N + isa->ds - 1) / isa->ds;
    const int64_t nk = (g->K + DOT_KC - 1) / DOT_KC;
    for (int64_t p = 0; p < nk; p++) {
        const int64_t k0 = ent_kstart(g->K, nk, p), kc = ent_kstart(g->K, nk, p + 1) - k0;
        const float beta = p == 0 ? g->beta : 1.0f;
        for (int64_t t = t0; t < t1; t++) {
            const int64_t r = t / nt, u = t % nt;
            const int64_t i0 = g->M * r / mt, i1 = g->M * (r + 1) / mt;
            const int64_t j0 = g->N * u / nt, j1 = g->N * (u + 1) / nt;
            isa->dots[i1 - i0][j1 - j0](kc, g->A + i0 * g->lda + k0, g->lda,
                                        g->B + j0 * g->ldb + k0, g->ldb,
                                        g->C + i0 * g->ldc + j0, g->ldc, g->alpha, beta);
        }
    }
}

static void dot_run(const ent_gemm_isa *isa, const ent_gemm_args *g, int nt) {
    const int64_t tiles = ((g->M + isa->dr - 1) / isa->dr) * ((g->N + isa->ds - 1) / isa->ds);
    if (nt > tiles) nt = (int)tiles;
    if (nt <= 1) { /* no team of one: libgomp would still build one */
        dot_tiles(isa, g, 0, tiles);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num(), T = omp_get_num_threads();
        dot_tiles(isa, g, tiles * t / T, tiles * (t + 1) / T);
    }
}

/* C = beta C when there is nothing to add (K = 0 or alpha = 0), as BLAS. */
static void scale_c(float *C, int64_t ldc, int64_t M, int64_t N, float beta) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++)
            C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

void ent_gemm_tiled(const ent_gemm_isa *isa, int transA, int transB, int64_t M, int64_t N,
                    int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                    int64_t ldb, float beta, float *C, int64_t ldc, int threads,
                    const ent_gemm_hooks *hooks) {
    if (M <= 0 || N <= 0) return;
    const ent_gemm_args g = {transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                             hooks};
    const int64_t tiles = ((M + isa->mr - 1) / isa->mr) * ((N + isa->nr - 1) / isa->nr);
    int64_t nt = threads < 1 ? 1 : threads > SLOTS ? SLOTS : threads;
    if (2.0 * (double)M * (double)N * (double)K < FORK_FLOPS || omp_in_parallel())
        nt = 1;
    if (K <= 0 || alpha == 0.0f || dot_applies(&g)) {
        /* these paths cut C their own way: the hooks see all of it */
        hook(hooks ? hooks->before : NULL, &g, 0, M, 0, N);
        if (K <= 0 || alpha == 0.0f)
            scale_c(C, ldc, M, N, beta);
        else
            dot_run(isa, &g, (int)nt);
        hook(hooks ? hooks->after : NULL, &g, 0, M, 0, N);
    } else if (nt == 1 || tiles == 1)
        run_region(isa, &g, 0, M, 0, N, omp_get_thread_num());
    else
        run_team(isa, &g, (int)(nt < tiles ? nt : tiles));
}

void ent_gemm_tiled_reference(int transA, int transB, int64_t M, int64_t N, int64_t K,
                              float alpha, const float *A, int64_t lda, const float *B,
                              int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(C, ldc, M, N, beta);
        return;
    }
    const ent_gemm_args g = {transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                             NULL};
    gemm_region_scalar(&g, 0, M, 0, N);
}

#else /* not x86-64 GCC/Clang: never selected (no tiled backend is available) */

void ent_gemm_tiled_reference(int transA, int transB, int64_t M, int64_t N, int64_t K,
                              float alpha, const float *A, int64_t lda, const float *B,
                              int64_t ldb, float beta, float *C, int64_t ldc) {
    ent_gemm_naive(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#endif
