/* relu.c — out = max(0, in); gradient passes where out > 0 (PyTorch's
 * threshold_backward on the result, so the gradient at 0 is 0). */
#include "core/par.h"
#include "layers/layer.h"

static ent_status relu_plan(ent_layer *l) {
    if (ent_layer_in_size(l) <= 0)
        return ent_fail(ENT_ESHAPE, "%s: relu on an empty input", l->name);
    l->out_c = l->in_c;
    l->out_h = l->in_h;
    l->out_w = l->in_w;
    l->n_tensors = 0;
    l->saved = 0;
    l->scratch = 0;
    return ENT_OK;
}

static void relu_init(const ent_layer *l, float *theta, float *buffers,
                      ent_rng *rng) {}

static void relu_forward(const ent_layer *l, const float *theta,
                         const float *in, float *out, float *saved,
                         ent_ctx *ctx) {
    const int64_t m = ctx->n * ent_layer_in_size(l);
#pragma omp parallel for simd if (parallel : m > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < m; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

static void relu_backward(const ent_layer *l, const float *theta,
                          const float *in, const float *out,
                          const float *saved, const float *dout, float *din,
                          float *dtheta, ent_ctx *ctx) {
    const int64_t m = ctx->n * ent_layer_in_size(l);
    if (!din) return;
    /* a select, not a branch: the signs are random, so a branch would
     * mispredict half the time. dout is loaded unconditionally, else GCC
     * keeps the branch (a conditional load might fault) and no vectors. */
    if (ent_din_stores(ctx, 0)) { /* layer.h: store mode, din not read */
#pragma omp parallel for simd if (parallel : m > ENT_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < m; i++) {
            const float g = dout[i];
            din[i] = out[i] > 0.0f ? g : 0.0f;
        }
        return;
    }
#pragma omp parallel for simd if (parallel : m > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < m; i++) {
        const float g = dout[i];
        din[i] += out[i] > 0.0f ? g : 0.0f;
    }
}

const ent_layer_ops ent_relu_ops = {.kind_name = "relu", .plan = relu_plan, .init = relu_init,
                                 .forward = relu_forward, .backward = relu_backward, .n_in = 1,
                                 .rop = &ent_rop_relu};
