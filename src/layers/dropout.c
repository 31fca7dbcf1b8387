/* dropout.c — inverted dropout, PyTorch nn.Dropout(p).
 * Train (p > 0): u ~ U(0,1) from ctx->rng per element; keep if u >= p and
 * scale kept units by 1/(1-p) (p == 1 drops everything). The mask is saved
 * as the multiplier itself (0 or 1/(1-p)), so backward is din += dout*mask.
 * Eval, or p == 0: identity. */
#include "layers/layer.h"

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
static int dropout_active(const ent_layer *l, const ent_ctx *ctx) {
    return ctx->train && l->dropout.p > 0.0f && ctx->rng != NULL;
}

static void dropout_forward(const ent_layer *l, const float *theta,
                            const float *in, float *out, float *saved,
                            ent_ctx *ctx) {
    const int64_t m = ctx->n * ent_layer_in_size(l);
    const float p = l->dropout.p;
    if (!dropout_active(l, ctx)) {
        for (int64_t i = 0; i < m; i++) out[i] = in[i];
        return;
    }
    const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    ent_rng_uniform_fill(ctx->rng, saved, m, 0.0f, 1.0f);
#pragma omp parallel for if (m > 65536)
    for (int64_t i = 0; i < m; i++) {
        saved[i] = saved[i] >= p ? scale : 0.0f;
        out[i] = in[i] * saved[i];
    }
}

static void dropout_backward(const ent_layer *l, const float *theta,
                             const float *in, const float *out,
                             const float *saved, const float *dout,
                             float *din, float *dtheta, ent_ctx *ctx) {
    const int64_t m = ctx->n * ent_layer_in_size(l);
    if (!din) return;
    if (!dropout_active(l, ctx)) {
        for (int64_t i = 0; i < m; i++) din[i] += dout[i];
        return;
    }
#pragma omp parallel for if (m > 65536)
    for (int64_t i = 0; i < m; i++) din[i] += dout[i] * saved[i];
}

const ent_layer_ops ent_dropout_ops = {"dropout", dropout_plan, dropout_init,
                                       dropout_forward, dropout_backward};
