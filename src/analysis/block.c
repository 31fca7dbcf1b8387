/* block.c — the principal block H[S, S] of an ent_hvp for an index set S
 * (a list of ranges, e.g. the tensors of one layer): v is embedded with
 * zeros outside S, H is applied, and S's entries are read back. Lets the
 * exact spectrum be taken of one layer of a network too big for it. */
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

struct ent_hvp_block {
    ent_hvp base;
    int n_ranges;
    int64_t *offset, *count, n;
    double *full, *hfull; /* base->n each */
    int64_t cap;          /* vectors the two below hold (apply_many) */
    double *fulls, *hfulls; /* cap * base->n each, fulls zero outside S */
};

void ent_hvp_block_free(ent_hvp_block *b) {
    if (!b) return;
    free(b->offset), free(b->count);
    ent_free_aligned(b->full), ent_free_aligned(b->hfull);
    ent_free_aligned(b->fulls), ent_free_aligned(b->hfulls);
    free(b);
}

ent_status ent_hvp_block_new(ent_hvp_block **out, const ent_hvp *base, const int64_t *offset,
                             const int64_t *count, int n_ranges) {
    *out = NULL;
    if (n_ranges < 1) return ent_fail(ENT_EINVAL, "block: no ranges");
    ent_hvp_block *b = calloc(1, sizeof *b);
    if (!b) return ent_fail(ENT_ENOMEM, "block: out of memory");
    b->base = *base, b->n_ranges = n_ranges;
    b->offset = malloc(sizeof(int64_t) * (size_t)n_ranges);
    b->count = malloc(sizeof(int64_t) * (size_t)n_ranges);
    b->full = ent_alloc(sizeof(double) * (size_t)base->n);
    b->hfull = ent_alloc(sizeof(double) * (size_t)base->n);
    if (!b->offset || !b->count || !b->full || !b->hfull) {
        ent_hvp_block_free(b);
        return ent_fail(ENT_ENOMEM, "block: out of memory");
    }
    for (int r = 0; r < n_ranges; r++) {
        if (offset[r] < 0 || count[r] < 1 || offset[r] + count[r] > base->n) {
            ent_hvp_block_free(b);
            return ent_fail(ENT_EINVAL, "block: range [%lld, +%lld) outside 0..%lld", (long long)offset[r],
                            (long long)count[r], (long long)base->n);
        }
        for (int q = 0; q < r; q++)
            if (offset[r] < offset[q] + count[q] && offset[q] < offset[r] + count[r]) {
                ent_hvp_block_free(b);
                return ent_fail(ENT_EINVAL, "block: ranges %d and %d overlap", q, r);
            }
        b->offset[r] = offset[r], b->count[r] = count[r], b->n += count[r];
    }
    *out = b;
    return ENT_OK;
}

/* full[S] = v (the rest of full stays zero). */
static void embed(const ent_hvp_block *b, const double *v, double *full) {
    int64_t k = 0;
    for (int r = 0; r < b->n_ranges; k += b->count[r++])
        memcpy(full + b->offset[r], v + k, sizeof(double) * (size_t)b->count[r]);
}

/* hv = hfull[S]; full[S] = 0 again. */
static void extract(const ent_hvp_block *b, const double *hfull, double *full, double *hv) {
    int64_t k = 0;
    for (int r = 0; r < b->n_ranges; k += b->count[r++]) {
        memcpy(hv + k, hfull + b->offset[r], sizeof(double) * (size_t)b->count[r]);
        memset(full + b->offset[r], 0, sizeof(double) * (size_t)b->count[r]);
    }
}

static ent_status apply(void *ctx, const double *v, double *hv) {
    ent_hvp_block *b = ctx;
    embed(b, v, b->full);
    ent_status s = ent_hvp_apply(&b->base, b->full, b->hfull);
    extract(b, b->hfull, b->full, hv);
    return s;
}

/* Room for g vectors of the base's size in fulls / hfulls; 0 if none. */
static int grow(ent_hvp_block *b, int64_t g) {
    if (g <= b->cap) return 1;
    const int64_t N = b->base.n;
    ent_free_aligned(b->fulls), ent_free_aligned(b->hfulls);
    b->fulls = ent_alloc(sizeof(double) * (size_t)(g * N));
    b->hfulls = ent_alloc(sizeof(double) * (size_t)(g * N));
    b->cap = b->fulls && b->hfulls ? g : 0;
    if (b->cap) memset(b->fulls, 0, sizeof(double) * (size_t)(g * N));
    return b->cap > 0;
}

/* k products through the base's apply_many, one per thread at a time (each
 * needs two vectors of the whole network: a block of mnistfc would hold
 * 2 x 32 x 1.87M doubles if all k went at once); one by one if even that
 * memory is missing. */
static ent_status apply_many(void *ctx, int64_t k, const double *v, double *hv) {
    ent_hvp_block *b = ctx;
    const int64_t N = b->base.n;
    const int64_t g = ent_get_threads() < k ? ent_get_threads() : k;
    ent_status s = ENT_OK;
    if (!grow(b, g)) {
        for (int64_t j = 0; j < k && s == ENT_OK; j++) s = apply(ctx, v + j * b->n, hv + j * b->n);
        return s;
    }
    for (int64_t j0 = 0; j0 < k && s == ENT_OK; j0 += g) {
        const int64_t kk = k - j0 < g ? k - j0 : g;
        for (int64_t j = 0; j < kk; j++) embed(b, v + (j0 + j) * b->n, b->fulls + j * N);
        s = b->base.apply_many(b->base.ctx, kk, b->fulls, b->hfulls);
        for (int64_t j = 0; j < kk; j++)
            extract(b, b->hfulls + j * N, b->fulls + j * N, hv + (j0 + j) * b->n);
    }
    return s;
}

ent_hvp ent_hvp_block_op(ent_hvp_block *b) {
    ent_hvp h = {.n = b->n, .ctx = b, .apply = apply, .apply_many = b->base.apply_many ? apply_many : NULL};
    return h;
}
