/* add.c — the residual join: out = in[0] + in[1], two inputs of one shape
 * (in ResNets the main path and the shortcut). Backward hands dout to
 * both inputs, each stored or added by its own flag (layer.h), so a
 * shortcut that is also read elsewhere needs nothing special. */
#include <string.h>

#include "core/par.h"
#include "layers/layer.h"

/* The second input's shape is checked by the model, which knows it. */
static ent_status add_plan(ent_layer *l) {
    l->out_c = l->in_c, l->out_h = l->in_h, l->out_w = l->in_w;
    l->n_tensors = 0;
    l->saved = 0;
    l->scratch = 0;
    return ENT_OK;
}

static void add_forward(const ent_layer *l, const float *theta, const float *const *in,
                        float *out, float *saved, ent_ctx *ctx) {
    const int64_t m = ctx->n * ent_layer_in_size(l);
    const float *restrict a = in[0], *restrict b = in[1];
#pragma omp parallel for simd if (parallel : m > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < m; i++) out[i] = a[i] + b[i];
}

static void pass_down(const float *restrict dout, float *restrict din, int64_t m, int store) {
    if (store) {
        memcpy(din, dout, sizeof(float) * (size_t)m);
        return;
    }
#pragma omp parallel for simd if (parallel : m > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < m; i++) din[i] += dout[i];
}

static void add_backward(const ent_layer *l, const float *theta, const float *const *in,
                         const float *out, const float *saved, const float *dout,
                         float *const *din, float *dtheta, ent_ctx *ctx) {
    const int64_t m = ctx->n * ent_layer_in_size(l);
    for (int j = 0; j < 2; j++)
        if (din[j]) pass_down(dout, din[j], m, ent_din_stores(ctx, j));
}

const ent_layer_ops ent_add_ops = {.kind_name = "add", .plan = add_plan, .n_in = 2,
                                   .forward_n = add_forward, .backward_n = add_backward,
                                   .rop = &ent_rop_add};
