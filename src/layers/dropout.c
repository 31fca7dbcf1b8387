/* dropout.c — inverted dropout, PyTorch nn.Dropout(p).
 * Train (p > 0): one 32-bit word w per element from ctx->rng (element i:
 * word i % 4 of block counter + i/4); keep if w >= ceil(p 2^32), i.e. with
 * probability 1 - p up to 2^-32, and scale kept units by 1/(1-p) (p == 1
 * drops everything). Comparing words saves converting them to floats; the
 * words come from the vectorised Philox chunks inside the masking pass. The
 * mask is saved as the multiplier itself (0 or 1/(1-p)), so backward is
 * din += dout*mask. Eval, or p == 0: identity. */
#include <math.h>
#include <string.h>

#include "core/rng_internal.h"
#include "core/par.h"
#include "core/simd.h"
#include "layers/fused.h"

static ent_status dropout_plan(ent_layer *l) {
    const float p = l->dropout.p;
    if (ent_layer_in_size(l) <= 0 || !(p >= 0.0f && p <= 1.0f))
        return ent_fail(ENT_ESHAPE, "%s: dropout p = %g not in [0, 1]",
                        l->name, (double)p);
    l->out_c = l->in_c;
    l->out_h = l->in_h;
    l->out_w = l->in_w;
    l->n_tensors = 0;
    l->saved = p > 0.0f ? l->max_batch * ent_layer_in_size(l) : 0;
    l->scratch = 0;
    return ENT_OK;
}

static void dropout_init(const ent_layer *l, float *theta, float *buffers,
                         ent_rng *rng) {}

/* Forward and backward must agree on whether the mask is in use. */
int ent_dropout_active(const ent_layer *l, const ent_ctx *ctx, float *scale,
                       uint32_t *thr) {
    const float p = l->dropout.p;
    if (!(ctx->train && p > 0.0f && ctx->rng != NULL)) return 0;
    *scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    /* p in (0, 1): thr = ceil(p 2^32) <= 2^32 - 256 fits 32 bits; p == 1
     * keeps "every" unit with scale 0 */
    *thr = p < 1.0f ? (uint32_t)ceil((double)p * 4294967296.0) : 0u;
    return 1;
}

/* One chunk's words w[0 .. n-1]: the mask and the masked (rectified) x.
 * omp simd: y may be x itself, which GCC's alias check would not vectorise. */
ENT_CLONES static void mask_words(const uint32_t *restrict w, uint32_t thr,
                                  float scale, int relu, const float *x,
                                  float *y, float *restrict mask, int n) {
    if (relu) {
#pragma omp simd
        for (int j = 0; j < n; j++) {
            const float v = x[j] > 0.0f ? x[j] : 0.0f;
            mask[j] = w[j] >= thr ? scale : 0.0f;
            y[j] = v * mask[j];
        }
    } else {
#pragma omp simd
        for (int j = 0; j < n; j++) {
            mask[j] = w[j] >= thr ? scale : 0.0f;
            y[j] = x[j] * mask[j];
        }
    }
}

void ent_dropout_apply(uint64_t key, uint64_t base, uint32_t thr, float scale,
                       int relu, int64_t e, const float *x, float *y,
                       float *mask, int64_t len) {
    uint32_t w[ENT_RNG_CHUNK];
    while (len > 0) {
        /* element e is word e % 4 of block base + e / 4 */
        const int skip = (int)(e % 4);
        const int n = len + skip < ENT_RNG_CHUNK ? (int)(len + skip) : ENT_RNG_CHUNK;
        ent_rng_u32_chunk(key, base + (uint64_t)(e / 4), w, n);
        mask_words(w + skip, thr, scale, relu, x, y, mask, n - skip);
        e += n - skip, x += n - skip, y += n - skip, mask += n - skip;
        len -= n - skip;
    }
}

static void dropout_forward(const ent_layer *l, const float *theta,
                            const float *in, float *out, float *saved,
                            ent_ctx *ctx) {
    const int64_t m = ctx->n * ent_layer_in_size(l);
    float scale;
    uint32_t thr;
    if (!ent_dropout_active(l, ctx, &scale, &thr)) {
        memcpy(out, in, sizeof(float) * (size_t)m); /* eval: identity */
        return;
    }
    const uint64_t key = ctx->rng->key, base = ctx->rng->counter;
    const int64_t chunks = (m + ENT_RNG_CHUNK - 1) / ENT_RNG_CHUNK;
#pragma omp parallel for if (m > ENT_PAR_MIN) schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t i0 = c * ENT_RNG_CHUNK;
        const int64_t len = m - i0 < ENT_RNG_CHUNK ? m - i0 : ENT_RNG_CHUNK;
        ent_dropout_apply(key, base, thr, scale, 0, i0, in + i0, out + i0, saved + i0, len);
    }
    ctx->rng->counter = base + (uint64_t)((m + 3) / 4);
}

static void dropout_backward(const ent_layer *l, const float *theta,
                             const float *in, const float *out,
                             const float *saved, const float *dout,
                             float *din, float *dtheta, ent_ctx *ctx) {
    const int64_t m = ctx->n * ent_layer_in_size(l);
    if (!din) return;
    float scale;
    uint32_t thr;
    const int on = ent_dropout_active(l, ctx, &scale, &thr);
    if (ent_din_stores(ctx, 0)) { /* layer.h: store mode, din not read */
        if (!on)
            memcpy(din, dout, sizeof(float) * (size_t)m);
        else
#pragma omp parallel for simd if (parallel : m > ENT_PAR_MIN) schedule(static)
            for (int64_t i = 0; i < m; i++) din[i] = dout[i] * saved[i];
        return;
    }
    if (!on) {
        for (int64_t i = 0; i < m; i++) din[i] += dout[i];
        return;
    }
#pragma omp parallel for simd if (parallel : m > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < m; i++) din[i] += dout[i] * saved[i];
}

const ent_layer_ops ent_dropout_ops = {.kind_name = "dropout", .plan = dropout_plan, .init = dropout_init,
                                 .forward = dropout_forward, .backward = dropout_backward, .n_in = 1,
                                 .rop = &ent_rop_dropout};
