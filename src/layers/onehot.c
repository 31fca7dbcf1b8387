/* onehot.c — token ids to one-hot vectors, F.one_hot(x, V).float():
 * in [n, T, 1, 1] ids as floats, out [n, T, 1, V]. No parameters; ids carry
 * no gradient (din, when asked for, is zero). */
#include <string.h>

#include "core/par.h"
#include "layers/layer.h"

static ent_status onehot_plan(ent_layer *l) {
    if (l->in_h != 1 || l->in_w != 1 || l->in_c < 1 || l->embed.vocab < 1)
        return ent_fail(ENT_ESHAPE, "%s: onehot wants token ids [T, 1, 1], got %lldx%lldx%lld "
                        "(vocabulary %lld)", l->name, (long long)l->in_c, (long long)l->in_h,
                        (long long)l->in_w, (long long)l->embed.vocab);
    l->out_c = l->in_c, l->out_h = 1, l->out_w = l->embed.vocab;
    l->n_tensors = 0, l->saved = 0, l->scratch = 0;
    return ENT_OK;
}

static void onehot_forward(const ent_layer *l, const float *theta, const float *in, float *out,
                           float *saved, ent_ctx *ctx) {
    const int64_t rows = ctx->n * l->in_c, V = l->embed.vocab;
#pragma omp parallel for if (rows * V > ENT_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        memset(out + r * V, 0, sizeof(float) * (size_t)V);
        out[r * V + ent_token_id(in[r], V)] = 1.0f;
    }
}

static void onehot_backward(const ent_layer *l, const float *theta, const float *in,
                            const float *out, const float *saved, const float *dout, float *din,
                            float *dtheta, ent_ctx *ctx) {
    if (din && ent_din_stores(ctx, 0)) ent_vec_zero(din, ctx->n * l->in_c);
}

const ent_layer_ops ent_onehot_ops = {.kind_name = "onehot", .plan = onehot_plan,
                                      .forward = onehot_forward, .backward = onehot_backward,
                                      .n_in = 1,
        .rop = &ent_rop_onehot};
