/* gemm_tiled.h — what the tiled GEMM's files share (internal to
 * src/core/gemm_tiled.c and the per-ISA files; gemm_tiled.c describes the
 * design).
 *
 *   gemm_tiled.c          entry point, blocking loops, threads, buffers,
 *                         the dot-product path's tiling: no intrinsics
 *   gemm_avx512_*.c       AVX-512: 12 x 32 register tiles, 16-lane dots
 *   gemm_avx2_*.c         AVX2 + FMA: 6 x 16 register tiles, 8-lane dots
 *
 * An ISA is a table of its tile sizes and kernels (ent_gemm_isa); the
 * driver sees nothing else. Both ISAs sum every element's products in k
 * order inside the same K blocks, so the packed path gives the same bits
 * on either (only the dot path's lane reductions differ). */
#ifndef ENT_GEMM_TILED_H
#define ENT_GEMM_TILED_H

#include <stdint.h>

#include "core/gemm_internal.h"

enum {
    ENT_GEMM_KC = 256, /* depth of a packed block */
    ENT_GEMM_MC = 192, /* rows of a packed A block (a multiple of every MR) */
    ENT_GEMM_NC = 512, /* columns of a packed B block: KC x NC = 512 KiB */
};

/* One product, as ent_gemm received it. */
typedef struct {
    int ta, tb;
    int64_t M, N, K;
    float alpha;
    const float *A;
    int64_t lda;
    const float *B;
    int64_t ldb;
    float beta;
    float *C;
    int64_t ldc;
    const ent_gemm_hooks *hooks; /* NULL: none */
} ent_gemm_args;

/* An operand block as the kernels read it: packed (ld = 0), or the matrix
 * itself from the block's corner, rows ld apart, transposed (t) or not. */
typedef struct {
    const float *p;
    int64_t ld;
    int t;
} ent_gemm_block;

/* One dot-product tile: C[0:r, 0:s] = alpha * A B^T + beta * C over K,
 * rows of A lda apart, rows of B ldb apart. */
typedef void (*ent_gemm_dot_fn)(int64_t K, const float *a, int64_t lda, const float *b,
                                int64_t ldb, float *c, int64_t ldc, float alpha, float beta);

typedef struct {
    const char *name;
    int mr, nr;     /* register tile: rows, columns */
    int b_in_place; /* read a B that is not transposed in place when one A block reads it */
    /* op(A)[i0:i0+mc, k0:k0+kc] and op(B)[k0.., j0:j0+nc] into the packed
     * layouts the kernels read (dst 64-byte aligned; pack_a may write
     * ENT_GEMM_SLACK floats past mc * kc). */
    void (*pack_a)(const ent_gemm_args *g, int64_t i0, int64_t mc, int64_t k0, int64_t kc,
                   float *dst);
    void (*pack_b)(const ent_gemm_args *g, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                   float *dst);
    /* C[0:mc, 0:nc] (C already offset to the blocks' corner) = alpha a b
     * + beta C, a: mc x kc, b: kc x nc. */
    void (*macro_kernel)(int64_t mc, int64_t nc, int64_t kc, ent_gemm_block a,
                         ent_gemm_block b, float *c, int64_t ldc, float alpha, float beta);
    /* The dot path (A B^T, few columns): tiles of up to dr x ds, dots[r][s]. */
    int dr, ds;
    const ent_gemm_dot_fn (*dots)[6];
} ent_gemm_isa;

enum { ENT_GEMM_SLACK = 16 }; /* floats pack_a may write past its block (one zmm) */

#if defined(__x86_64__) && defined(__GNUC__)
#define ENT_HAVE_TILED_GEMM 1
extern const ent_gemm_isa ent_gemm_isa_avx512, ent_gemm_isa_avx2;

/* The tiled GEMM on one ISA (call it only where the CPU has that ISA).
 * Same contract as ent_gemm_hooked. threads: team size to use (1 = no
 * fork; it also runs on one thread inside an enclosing parallel region and
 * for small products). The result does not depend on the thread count:
 * each element sums its K products in the same order whatever the
 * partition. */
void ent_gemm_tiled(const ent_gemm_isa *isa, int transA, int transB, int64_t M, int64_t N,
                    int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                    int64_t ldb, float beta, float *C, int64_t ldc, int threads,
                    const ent_gemm_hooks *hooks);
#endif

static inline int64_t ent_min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* K cut into nk near-equal blocks; block p starts at ent_kstart(K, nk, p).
 * The cut depends on K alone: results do not depend on the threads. */
static inline int64_t ent_kstart(int64_t K, int64_t nk, int64_t p) { return K * p / nk; }

/* Row tiles of a block of mc rows: ceil(mc / mr) tiles of near-equal
 * height (50 rows = 5 x 10, not 4 x 12 + 2: a 2-row tile has 2 FMA chains
 * and would run at a quarter of the rate). Tile t starts at ent_row_start. */
static inline int64_t ent_row_tiles(int64_t mc, int64_t mr) { return (mc + mr - 1) / mr; }
static inline int64_t ent_row_start(int64_t mc, int64_t nt, int64_t t) { return mc * t / nt; }

#endif
