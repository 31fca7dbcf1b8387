/* test_gemm.c — ent_gemm's backends against the double-accumulating naive
 * loop: every transpose pair, alpha/beta (beta = 0 over NaN garbage, beta = 1
 * accumulation), edge sizes around the 12 x 32 tile and 16-wide vectors,
 * leading dimensions wider than the rows, the networks' shapes (which cross
 * the K, M and N cache blocks), 1 and 2 threads, nested calls.
 *
 * Tolerance, per element (u = 2^-24, float unit roundoff):
 *   |got - want| <= (K + 2 nb + 8) u (|alpha| sum_k |a_ik b_kj| + |beta c_ij|)
 * A float sum of K products (FMA: one rounding each) is off by at most
 * about K u sum|ab| (Higham, 3.1). Each K block of a backend then adds two
 * roundings (alpha * acc, + beta * C), nb = ceil(K / 16) blocks at most
 * (our blocks are 256 deep, OpenBLAS's deeper still); the oracle rounds 4
 * more times (to float, alpha, beta, the sum), and 4 spare. One product
 * lost or doubled moves an element by |a b|, on average about 16 times the
 * bound at K = 100 and 250 times at K = 16: the checks can fail. */
#include <omp.h>
#include <stdlib.h>

#include "core/gemm_internal.h"
#include "core/transpose.h"
#include "test.h"

typedef struct {
    int ta, tb;
    int64_t M, N, K;
    int64_t lda, ldb, ldc; /* 0: tight; else the row width plus this much */
    float alpha, beta;
} gcase;

typedef struct {
    float *A, *B, *C0;
    int64_t lda, ldb, ldc;
} operands;

static float *filled(int64_t n, uint64_t stream) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    ent_rng r;
    ent_rng_init(&r, 2024, stream);
    ent_rng_uniform_fill(&r, p, n, -1.0f, 1.0f);
    return p;
}

static operands make(const gcase *g) {
    operands o;
    o.lda = (g->ta ? g->M : g->K) + g->lda;
    o.ldb = (g->tb ? g->K : g->N) + g->ldb;
    o.ldc = g->N + g->ldc;
    o.A = filled((g->ta ? g->K : g->M) * o.lda, 1);
    o.B = filled((g->tb ? g->N : g->K) * o.ldb, 2);
    o.C0 = filled(g->M * o.ldc, 3);
    if (g->beta == 0.0f) /* beta = 0 must overwrite, never read: garbage is NaN */
        for (int64_t i = 0; i < g->M * o.ldc; i++) o.C0[i] = NAN;
    return o;
}

static void drop(operands *o) {
    free(o->A);
    free(o->B);
    free(o->C0);
}

/* op(A)[i,k] op(B)[k,j] */
static double prod(const gcase *g, const operands *o, int64_t i, int64_t j, int64_t k) {
    const float a = g->ta ? o->A[k * o->lda + i] : o->A[i * o->lda + k];
    const float b = g->tb ? o->B[j * o->ldb + k] : o->B[k * o->ldb + j];
    return (double)a * (double)b;
}

/* Compare C (from the backend) with the oracle on rows 0, step, 2 step, ...
 * and the last; columns past N (padding) must be untouched, bit for bit. */
static void compare(const char *what, const gcase *g, const operands *o,
                    const float *C, int64_t row_step) {
    const double u = 0x1p-24;
    const int64_t nb = (g->K + 15) / 16;
    float *want = malloc(sizeof(float) * (size_t)o->ldc);
    int bad = 0;
    for (int64_t r = 0; !bad; r += row_step) {
        const int64_t i = r < g->M ? r : g->M - 1;
        memcpy(want, o->C0 + i * o->ldc, sizeof(float) * (size_t)o->ldc);
        ent_gemm_naive(g->ta, g->tb, 1, g->N, g->K, g->alpha,
                       g->ta ? o->A + i : o->A + i * o->lda, o->lda, o->B,
                       o->ldb, g->beta, want, o->ldc);
        for (int64_t j = 0; j < o->ldc && !bad; j++) {
            const float got = C[i * o->ldc + j];
            if (j >= g->N) {
                bad = memcmp(&got, &o->C0[i * o->ldc + j], sizeof got) != 0;
                CHECK_MSG(!bad, "%s: padding C[%lld][%lld] changed", what, (long long)i, (long long)j);
                continue;
            }
            double s = 0.0;
            for (int64_t k = 0; k < g->K; k++) s += fabs(prod(g, o, i, j, k));
            const double c0 = g->beta == 0.0f ? 0.0 : fabs((double)g->beta * o->C0[i * o->ldc + j]);
            const double tol = (double)(g->K + 2 * nb + 8) * u * (fabs(g->alpha) * s + c0);
            bad = !(fabs((double)got - (double)want[j]) <= tol);
            CHECK_MSG(!bad, "%s: C[%lld][%lld] = %.9g, want %.9g (tol %.3g)", what,
                      (long long)i, (long long)j, got, want[j], tol);
        }
        if (i == g->M - 1) break;
    }
    free(want);
}

/* Run g on backend b at `threads` threads; returns C (caller frees). */
static float *run(const gcase *g, const operands *o, ent_gemm_backend b, int threads) {
    float *C = malloc(sizeof(float) * (size_t)(g->M * o->ldc > 0 ? g->M * o->ldc : 1));
    memcpy(C, o->C0, sizeof(float) * (size_t)(g->M * o->ldc));
    const ent_gemm_backend old = ent_gemm_set_backend(b);
    const int old_threads = ent_get_threads();
    ent_set_threads(threads);
    ent_gemm(g->ta, g->tb, g->M, g->N, g->K, g->alpha, o->A, o->lda, o->B,
             o->ldb, g->beta, C, o->ldc);
    ent_set_threads(old_threads);
    ent_gemm_set_backend(old);
    return C;
}

static void check(const gcase *g, ent_gemm_backend b, int threads, int64_t row_step) {
    char what[160];
    snprintf(what, sizeof what, "%s %s%s %lldx%lldx%lld alpha %g beta %g, %d thread(s)",
             ent_gemm_backend_name(b), g->ta ? "T" : "N", g->tb ? "T" : "N",
             (long long)g->M, (long long)g->N, (long long)g->K, g->alpha, g->beta, threads);
    operands o = make(g);
    float *C = run(g, &o, b, threads);
    compare(what, g, &o, C, row_step);
    free(C);
    drop(&o);
}

/* (alpha, beta) pairs cycled through the cases. */
static const float ab[3][2] = {{1.0f, 1.0f}, {0.7f, 0.0f}, {-1.3f, 0.5f}};

/* Every transpose pair x M, N, K in the edge sizes, padded strides. */
static void edge_sizes(ent_gemm_backend b, int stride) {
    static const int64_t sz[] = {1, 2, 15, 16, 17, 31, 33, 100};
    const int n = (int)(sizeof sz / sizeof *sz);
    int c = 0;
    for (int t = 0; t < 4; t++)
        for (int x = 0; x < n; x += stride)
            for (int y = 0; y < n; y += stride)
                for (int z = 0; z < n; z += stride, c++) {
                    const gcase g = {t >> 1, t & 1, sz[x], sz[y], sz[z], c % 3, 1 + c % 5,
                                     c % 4 ? 7 : 0, ab[c % 3][0], ab[c % 3][1]};
                    check(&g, b, 1 + c % 2, 1);
                }
}

/* Our tiled backends, and whether this CPU can run each (a backend it
 * cannot run is not tested: asking for it would run another one). */
static const ent_gemm_backend tiled[] = {ENT_GEMM_AVX512, ENT_GEMM_AVX2};
enum { N_TILED = 2 };

static int runs_here(ent_gemm_backend b) {
    return b == ENT_GEMM_AVX512 ? ent_gemm_have_avx512()
           : b == ENT_GEMM_AVX2 ? ent_gemm_have_avx2()
                                : 1;
}

ENT_TEST(gemm_tiled_edge_sizes_all_transposes) {
    for (int b = 0; b < N_TILED; b++)
        if (runs_here(tiled[b]))
            edge_sizes(tiled[b], 1);
        else
            printf("    %s: not on this CPU\n", ent_gemm_backend_name(tiled[b]));
}

ENT_TEST(gemm_blas_and_naive_edge_sizes) {
    edge_sizes(ENT_GEMM_BLAS, 2);
    edge_sizes(ENT_GEMM_NAIVE, 3);
}

/* The products the layers issue (dense forward (N,T), dW (T,N), din (N,N);
 * conv im2col) at 1 and 2 threads; rows sampled on the large ones. They
 * cross K blocks (K > 256), M blocks (M > 192) and N blocks (N > 512). */
ENT_TEST(gemm_network_shapes) {
    static const gcase shapes[] = {
        {0, 1, 128, 1024, 784, 0, 0, 0, 1.0f, 1.0f},  /* mnistfc fc1 forward */
        {0, 1, 128, 10, 1024, 0, 0, 0, 1.0f, 1.0f},   /* fc3 forward */
        {1, 0, 1024, 784, 128, 0, 0, 0, 1.0f, 1.0f},  /* fc1 dW */
        {0, 0, 128, 1024, 1024, 0, 0, 0, 1.0f, 1.0f}, /* fc2 din */
        {0, 0, 20, 576, 25, 0, 0, 0, 1.0f, 1.0f},     /* LeNet conv1 forward */
        {0, 1, 50, 500, 16, 0, 0, 0, 1.0f, 1.0f},     /* conv2 dW */
        {1, 0, 500, 16, 50, 0, 0, 0, 1.0f, 0.0f},     /* conv2 dcol (beta 0) */
        {0, 1, 20, 25, 10368, 0, 0, 0, 1.0f, 0.0f},   /* conv1 dW, first group of 18 */
        {1, 0, 500, 512, 50, 0, 0, 0, 1.0f, 0.0f},    /* conv2 dcol, 32 samples */
        {0, 1, 500, 1024, 784, 3, 5, 7, 0.5f, 2.0f},  /* eval batch 500, padded */
        {0, 1, 1024, 128, 784, 0, 0, 0, 1.0f, 1.0f},  /* fc1 forward transposed: W x^T, A in place */
        {0, 1, 500, 128, 200, 0, 0, 0, 1.0f, 1.0f},   /* LeNet fc1 forward transposed */
        {0, 1, 300, 97, 40, 2, 3, 1, 1.0f, 0.0f},     /* A in place, N = 97: ragged last tile */
        {1, 0, 300, 120, 40, 0, 0, 0, 1.0f, 1.0f},    /* A^T in place, N = 120 */
    };
    const int n = (int)(sizeof shapes / sizeof *shapes);
    for (int threads = 1; threads <= 2; threads++)
        for (int i = 0; i < n; i++) {
            const int64_t step = shapes[i].M * shapes[i].N * shapes[i].K > 4000000 ? 37 : 1;
            for (int b = 0; b < N_TILED; b++)
                if (runs_here(tiled[b])) check(&shapes[i], tiled[b], threads, step);
            if (threads == 1) check(&shapes[i], ENT_GEMM_BLAS, threads, step);
        }
}

/* A tiled backend's result does not depend on the thread count, or (on
 * the packed path) on which code ran, kernels or the scalar fallback, or
 * on the ISA: every element sums in the same order. Bit-identical. Cases
 * 0-3: the packed path, each transpose pair (63 MFLOP: forks); case 4: the
 * dot-product path (A B^T, N <= 32) with two K blocks, whose lane
 * reductions differ between ISAs. */
static void thread_count_invariant(ent_gemm_backend b) {
    for (int t = 0; t < 5; t++) {
        const gcase g = t < 4 ? (gcase){t >> 1, t & 1, 203, 517, 300, 1, 2, 3, 0.9f, 1.0f}
                              : (gcase){0, 1, 203, 30, 3000, 1, 2, 3, 0.9f, 0.5f};
        operands o = make(&g);
        float *c1 = run(&g, &o, b, 1), *c2 = run(&g, &o, b, 2);
        float *c3 = malloc(sizeof(float) * (size_t)(g.M * o.ldc));
        memcpy(c3, o.C0, sizeof(float) * (size_t)(g.M * o.ldc));
        ent_gemm_tiled_reference(g.ta, g.tb, g.M, g.N, g.K, g.alpha, o.A, o.lda, o.B, o.ldb,
                                 g.beta, c3, o.ldc);
        const size_t bytes = sizeof(float) * (size_t)(g.M * o.ldc);
        const char *name = ent_gemm_backend_name(b);
        CHECK_MSG(memcmp(c1, c2, bytes) == 0, "%s case %d: 1 vs 2 threads differ", name, t);
        CHECK_MSG(t == 4 || memcmp(c1, c3, bytes) == 0, "%s case %d: kernels vs scalar path differ",
                  name, t);
        compare("tiled thread invariance", &g, &o, c1, 17);
        free(c1);
        free(c2);
        free(c3);
        drop(&o);
    }
}

ENT_TEST(gemm_tiled_thread_count_invariant) {
    for (int b = 0; b < N_TILED; b++)
        if (runs_here(tiled[b])) thread_count_invariant(tiled[b]);
}

/* Calls from inside a parallel region (replicas evaluated side by side):
 * each caller needs its own packing buffers. */
ENT_TEST(gemm_nested_in_parallel_region) {
    const ent_gemm_backend b = ent_gemm_have_avx512() ? ENT_GEMM_AVX512 : ENT_GEMM_AVX2;
    if (!runs_here(b)) return; /* no tiled backend on this CPU */
    const gcase g = {0, 1, 64, 300, 200, 0, 0, 0, 1.0f, 0.0f};
    operands o = make(&g);
    float *want = run(&g, &o, b, 1);
    enum { CALLERS = 4 };
    float *got[CALLERS];
    const ent_gemm_backend old = ent_gemm_set_backend(b);
    for (int r = 0; r < CALLERS; r++) got[r] = malloc(sizeof(float) * (size_t)(g.M * g.N));
#pragma omp parallel for num_threads(CALLERS)
    for (int r = 0; r < CALLERS; r++)
        for (int rep = 0; rep < 20; rep++) /* overlap in time */
            ent_gemm(0, 1, g.M, g.N, g.K, 1.0f, o.A, o.lda, o.B, o.ldb, 0.0f, got[r], g.N);
    ent_gemm_set_backend(old);
    for (int r = 0; r < CALLERS; r++) {
        CHECK_MSG(memcmp(got[r], want, sizeof(float) * (size_t)(g.M * g.N)) == 0,
                  "caller %d of %d got a different product", r, CALLERS);
        free(got[r]);
    }
    free(want);
    drop(&o);
}

/* K = 0 and alpha = 0: C = beta C, exactly, on every backend (BLAS rule). */
ENT_TEST(gemm_degenerate_k_and_alpha) {
    static const ent_gemm_backend bs[] = {ENT_GEMM_BLAS, ENT_GEMM_NAIVE, ENT_GEMM_AVX512,
                                          ENT_GEMM_AVX2};
    for (int i = 0; i < 4; i++) {
        if (!runs_here(bs[i])) continue;
        for (int beta0 = 0; beta0 < 2; beta0++) {
            const float beta = beta0 ? 0.0f : 0.5f;
            for (int kz = 0; kz < 2; kz++) {
                const gcase g = {0, 0, 5, 7, kz ? 0 : 3, 0, 0, 0, kz ? 1.0f : 0.0f, beta};
                operands o = make(&g);
                float *C = run(&g, &o, bs[i], 1);
                for (int64_t j = 0; j < g.M * g.N; j++) {
                    const float want = beta == 0.0f ? 0.0f : beta * o.C0[j];
                    CHECK_MSG(C[j] == want, "%s K=%lld alpha=%g beta=%g: C[%lld] = %g, want %g",
                              ent_gemm_backend_name(bs[i]), (long long)g.K, g.alpha, beta,
                              (long long)j, C[j], want);
                }
                free(C);
                drop(&o);
            }
        }
    }
}

ENT_TEST(gemm_backend_selection) {
    ent_gemm_backend b = ENT_GEMM_AUTO;
    CHECK(ent_gemm_backend_parse("avx512", &b) && b == ENT_GEMM_AVX512);
    CHECK(ent_gemm_backend_parse("blas", &b) && b == ENT_GEMM_BLAS);
    CHECK(ent_gemm_backend_parse("naive", &b) && b == ENT_GEMM_NAIVE);
    CHECK(ent_gemm_backend_parse("avx2", &b) && b == ENT_GEMM_AVX2);
    CHECK(!ent_gemm_backend_parse("AVX512", &b) && !ent_gemm_backend_parse(NULL, &b));
    const ent_gemm_backend old = ent_gemm_set_backend(ENT_GEMM_NAIVE);
    CHECK(ent_gemm_active_backend() == ENT_GEMM_NAIVE);
    /* a tiled backend the CPU lacks falls back to the best it has */
    const ent_gemm_backend best2 = ent_gemm_have_avx2() ? ENT_GEMM_AVX2 : ENT_GEMM_BLAS;
    ent_gemm_set_backend(ENT_GEMM_AVX512);
    CHECK(ent_gemm_active_backend() == (ent_gemm_have_avx512() ? ENT_GEMM_AVX512 : best2));
    ent_gemm_set_backend(ENT_GEMM_AVX2);
    CHECK(ent_gemm_active_backend() == best2);
    ent_gemm_set_backend(ENT_GEMM_AUTO);
    CHECK(ent_gemm_active_backend() == (ent_gemm_have_avx512() ? ENT_GEMM_AVX512 : best2) ||
          getenv("ENT_GEMM") != NULL);
    ent_gemm_set_backend(old);
    CHECK(ent_gemm_active_backend() != ENT_GEMM_AUTO);
    CHECK(strcmp(ent_gemm_backend_name(ENT_GEMM_AVX512), "avx512") == 0);
}

/* ent_transpose moves every element unchanged: exact, for shapes around
 * the 16 x 16 blocks, padded leading dimensions, and one large enough to
 * split over the threads. */
static void transpose_case(int64_t rows, int64_t cols, int64_t pad_s, int64_t pad_d) {
    const int64_t lds = cols + pad_s, ldd = rows + pad_d;
    float *src = filled(rows * lds, 7), *dst = filled(cols * ldd, 8), *keep = filled(cols * ldd, 8);
    ent_transpose(src, rows, cols, lds, dst, ldd);
    int64_t bad = 0;
    for (int64_t j = 0; j < cols; j++)
        for (int64_t i = 0; i < ldd; i++) /* the padding stays as it was */
            bad += dst[j * ldd + i] != (i < rows ? src[i * lds + j] : keep[j * ldd + i]);
    CHECK(bad == 0);
    free(src);
    free(dst);
    free(keep);
}

ENT_TEST(transpose_exact) {
    const int64_t shapes[][4] = {{1, 1, 0, 0},   {16, 16, 0, 0},  {17, 33, 3, 5},
                                 {100, 7, 0, 2}, {5, 100, 1, 0}, {1024, 128, 0, 0},
                                 {500, 128, 4, 4}};
    const int old_threads = ent_get_threads();
    for (int threads = 1; threads <= 2; threads++) {
        ent_set_threads(threads);
        for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
            transpose_case(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3]);
    }
    ent_set_threads(old_threads);
}

/* ---- hooks (core/gemm_internal.h) ---- */

typedef struct {
    float *C;
    int64_t ldc, N;
    unsigned char *before_n, *after_n; /* calls that covered each element */
    float *seen;                         /* C as `after` found it */
} hook_log;

/* v(i, j): what `before` writes; the products must be added to it */
static float hook_init(int64_t i, int64_t j) { return 0.25f * (float)((i * 7 + j) % 13) - 1.0f; }

static void log_before(void *ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    hook_log *h = ctx;
    for (int64_t i = m0; i < m1; i++)
        for (int64_t j = n0; j < n1; j++) {
            h->C[i * h->ldc + j] = hook_init(i, j);
#pragma omp atomic
            h->before_n[i * h->N + j]++;
        }
}

static void log_after(void *ctx, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    hook_log *h = ctx;
    for (int64_t i = m0; i < m1; i++)
        for (int64_t j = n0; j < n1; j++) {
            h->seen[i * h->N + j] = h->C[i * h->ldc + j];
#pragma omp atomic
            h->after_n[i * h->N + j]++;
        }
}

/* `before` runs once on every element before its products are added,
 * `after` once when it is final, on every backend, thread count and path
 * (packed, W x^T in place, dot products, K = 0). */
ENT_TEST(gemm_hooks_tile_c_in_order) {
    const gcase cases[] = {{0, 1, 1024, 128, 784, 0, 0, 0, 1.0f, 1.0f},
                           {1, 0, 300, 517, 128, 1, 2, 3, 1.0f, 1.0f},
                           {0, 1, 203, 30, 3000, 0, 0, 0, 0.9f, 1.0f},
                           {0, 0, 37, 45, 0, 0, 0, 0, 1.0f, 1.0f}};
    const ent_gemm_backend backends[] = {ENT_GEMM_AVX512, ENT_GEMM_AVX2, ENT_GEMM_BLAS,
                                         ENT_GEMM_NAIVE};
    for (int c = 0; c < 4; c++)
        for (int b = 0; b < 4; b++)
            for (int threads = 1; threads <= 3; threads++) {
                const gcase *g = &cases[c];
                if (!runs_here(backends[b])) continue;
                if (b == 3 && g->M * g->N * g->K > 5000000) continue; /* naive: slow */
                operands o = make(g);
                const size_t cells = (size_t)(g->M * g->N);
                float *want = malloc(sizeof(float) * (size_t)(g->M * o.ldc));
                float *C = malloc(sizeof(float) * (size_t)(g->M * o.ldc));
                hook_log h = {C, o.ldc, g->N, calloc(cells, 1), calloc(cells, 1),
                              malloc(sizeof(float) * cells)};
                for (int64_t i = 0; i < g->M; i++)
                    for (int64_t j = 0; j < g->N; j++) want[i * o.ldc + j] = hook_init(i, j);
                const ent_gemm_backend old = ent_gemm_set_backend(backends[b]);
                const int old_threads = ent_get_threads();
                ent_set_threads(threads);
                ent_gemm(g->ta, g->tb, g->M, g->N, g->K, g->alpha, o.A, o.lda, o.B, o.ldb,
                         g->beta, want, o.ldc);
                const ent_gemm_hooks hooks = {log_before, log_after, &h};
                ent_gemm_hooked(g->ta, g->tb, g->M, g->N, g->K, g->alpha, o.A, o.lda, o.B,
                                o.ldb, g->beta, C, o.ldc, &hooks);
                ent_set_threads(old_threads);
                ent_gemm_set_backend(old);
                int64_t wrong_calls = 0, not_final = 0, differ = 0;
                for (int64_t i = 0; i < g->M; i++)
                    for (int64_t j = 0; j < g->N; j++) {
                        const size_t e = (size_t)(i * g->N + j);
                        wrong_calls += h.before_n[e] != 1 || h.after_n[e] != 1;
                        not_final += h.seen[e] != C[i * o.ldc + j];
                        differ += C[i * o.ldc + j] != want[i * o.ldc + j];
                    }
                CHECK_MSG(wrong_calls == 0 && not_final == 0 && differ == 0,
                          "case %d, %s, %d threads: %lld elements hooked other than once, %lld "
                          "changed after `after`, %lld differ from C = v + AB", c,
                          ent_gemm_backend_name(backends[b]), threads, (long long)wrong_calls,
                          (long long)not_final, (long long)differ);
                free(h.before_n), free(h.after_n), free(h.seen), free(want), free(C);
                drop(&o);
            }
}
