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
};

void ent_hvp_block_free(ent_hvp_block *b) {
    if (!b) return;
    free(b->offset), free(b->count);
    ent_free_aligned(b->full), ent_free_aligned(b->hfull);
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

static ent_status apply(void *ctx, const double *v, double *hv) {
    ent_hvp_block *b = ctx;
    int64_t k = 0;
    for (int r = 0; r < b->n_ranges; k += b->count[r++])
        memcpy(b->full + b->offset[r], v + k, sizeof(double) * (size_t)b->count[r]);
    ent_status s = ent_hvp_apply(&b->base, b->full, b->hfull);
    k = 0;
    for (int r = 0; r < b->n_ranges; k += b->count[r++]) {
        memcpy(hv + k, b->hfull + b->offset[r], sizeof(double) * (size_t)b->count[r]);
        memset(b->full + b->offset[r], 0, sizeof(double) * (size_t)b->count[r]); /* zero again */
    }
    return s;
}

ent_hvp ent_hvp_block_op(ent_hvp_block *b) {
    ent_hvp h = {.n = b->n, .ctx = b, .apply = apply};
    return h;
}
