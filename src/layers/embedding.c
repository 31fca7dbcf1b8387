/* embedding.c — a table of token vectors, PyTorch nn.Embedding(V, E).
 * weight [V, E]; in [n, T, 1, 1] token ids as floats (exact integers, the
 * data layer checks them), out [n, T, 1, E]: row id of the table at each
 * position. Ids carry no gradient (din, when asked for, is zero). */
#include <string.h>

#include "core/par.h"
#include "layers/layer.h"

static ent_status embedding_plan(ent_layer *l) {
    if (l->in_h != 1 || l->in_w != 1 || l->in_c < 1 || l->embed.vocab < 1 || l->embed.dim < 1)
        return ent_fail(ENT_ESHAPE, "%s: embedding wants token ids [T, 1, 1], got %lldx%lldx%lld "
                        "(vocabulary %lld, dimension %lld)", l->name, (long long)l->in_c,
                        (long long)l->in_h, (long long)l->in_w, (long long)l->embed.vocab,
                        (long long)l->embed.dim);
    l->out_c = l->in_c, l->out_h = 1, l->out_w = l->embed.dim;
    l->n_tensors = 0;
    ent_layer_add_tensor(l, "weight", 0, 0, 2, l->embed.vocab, l->embed.dim, 0, 0);
    l->saved = 0, l->scratch = 0;
    return ENT_OK;
}

/* N(0, 1) as PyTorch, or U(-r, r) with init_range r > 0 (Zaremba et al.). */
static void embedding_init(const ent_layer *l, float *theta, float *buffers, ent_rng *rng) {
    float *w = theta + l->tensors[ENT_T_WEIGHT].offset;
    const int64_t n = l->tensors[ENT_T_WEIGHT].numel;
    const float r = l->embed.init_range;
    if (r > 0.0f) ent_rng_uniform_fill(rng, w, n, -r, r);
    else ent_rng_normal_fill(rng, w, n, 1.0f);
}

static void embedding_forward(const ent_layer *l, const float *theta, const float *in,
                              float *out, float *saved, ent_ctx *ctx) {
    const int64_t rows = ctx->n * l->in_c, V = l->embed.vocab, E = l->embed.dim;
    const float *w = theta + l->tensors[ENT_T_WEIGHT].offset;
#pragma omp parallel for if (rows * E > ENT_PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
        memcpy(out + r * E, w + ent_token_id(in[r], V) * E, sizeof(float) * (size_t)E);
}

/* dW[id] += dout row of each position. Threads own column ranges of the
 * table, so repeated ids never race and the sums run in position order
 * whatever the thread count. */
static void embedding_backward(const ent_layer *l, const float *theta, const float *in,
                               const float *out, const float *saved, const float *dout,
                               float *din, float *dtheta, ent_ctx *ctx) {
    const int64_t rows = ctx->n * l->in_c, V = l->embed.vocab, E = l->embed.dim;
    float *dw = dtheta + l->tensors[ENT_T_WEIGHT].offset;
    if (ctx->store) ent_vec_zero(dw, V * E);
    const int64_t cols = 64, blocks = (E + cols - 1) / cols;
#pragma omp parallel for if (rows * E > ENT_PAR_MIN)
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t e0 = b * cols, e1 = e0 + cols < E ? e0 + cols : E;
        for (int64_t r = 0; r < rows; r++) {
            float *d = dw + ent_token_id(in[r], V) * E;
            const float *g = dout + r * E;
            for (int64_t e = e0; e < e1; e++) d[e] += g[e];
        }
    }
    if (din && ent_din_stores(ctx, 0)) ent_vec_zero(din, rows);
}

const ent_layer_ops ent_embedding_ops = {.kind_name = "embedding", .plan = embedding_plan,
                                         .init = embedding_init, .forward = embedding_forward,
                                         .backward = embedding_backward, .n_in = 1, .rop = &ent_rop_embedding};
