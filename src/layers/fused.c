/* fused.c — batch-norm, ReLU and dropout run as one block (see fused.h). */
#include <string.h>

#include "core/par.h"
#include "core/rng_internal.h"
#include "core/simd.h"
#include "layers/fused.h"

int ent_fused_span(const ent_layer *layers, int n_layers, int i) {
    int k = i;
    if (k < n_layers && layers[k].kind == ENT_LAYER_BATCHNORM) k++;
    if (k < n_layers && layers[k].kind == ENT_LAYER_RELU) k++;
    if (k < n_layers && layers[k].kind == ENT_LAYER_DROPOUT) k++;
    return k - i >= 2 ? k - i : 1;
}

/* The members of a block and, when its dropout masks in this call, the
 * dropout's words and its saved mask. */
typedef struct {
    const ent_layer *bn; /* NULL: the block starts with the ReLU */
    int relu;
    int drop;            /* the dropout masks in this call */
    float scale;
    uint32_t thr;
    uint64_t key, base;
    float *mask;         /* the dropout layer's saved multipliers */
} block;

static block block_of(const ent_layer *layers, int span, float *const *saved,
                      const ent_ctx *ctx) {
    block b = {0};
    for (int k = 0; k < span; k++) {
        const ent_layer *l = &layers[k];
        if (l->kind == ENT_LAYER_BATCHNORM) b.bn = l;
        if (l->kind == ENT_LAYER_RELU) b.relu = 1;
        if (l->kind == ENT_LAYER_DROPOUT &&
            ent_dropout_active(l, ctx, &b.scale, &b.thr)) {
            b.drop = 1;
            b.key = ctx->rng->key, b.base = ctx->rng->counter;
            b.mask = saved[k];
        }
    }
    return b;
}

ENT_CLONES static void relu_in_place(float *y, int64_t len) {
    for (int64_t j = 0; j < len; j++) y[j] = y[j] > 0.0f ? y[j] : 0.0f;
}

/* What the ReLU and the dropout do to elements e .. e+len-1, x -> y (x may
 * be y). */
static void post(const block *b, int64_t e, const float *x, float *y, int64_t len) {
    if (b->drop) {
        ent_dropout_apply(b->key, b->base, b->thr, b->scale, b->relu, e, x, y,
                          b->mask + e, len);
        return;
    }
    if (x != y) memcpy(y, x, sizeof(float) * (size_t)len);
    if (b->relu) relu_in_place(y, len);
}

/* g = the gradient at the ReLU's input (the block's first output) from dy
 * at its last: dy * mask where the block's output is > 0 (the ReLU's
 * output was > 0 and the unit was kept), dy * mask without a ReLU. */
ENT_CLONES static void gate(const float *restrict dy, const float *restrict out,
                            const float *restrict mask, int relu,
                            float *restrict g, int64_t len) {
    if (mask && relu)
        for (int64_t j = 0; j < len; j++) {
            const float d = dy[j] * mask[j];
            g[j] = out[j] > 0.0f ? d : 0.0f;
        }
    else if (mask)
        for (int64_t j = 0; j < len; j++) g[j] = dy[j] * mask[j];
    else if (relu)
        for (int64_t j = 0; j < len; j++) {
            const float d = dy[j];
            g[j] = out[j] > 0.0f ? d : 0.0f;
        }
    else
        for (int64_t j = 0; j < len; j++) g[j] = dy[j];
}

void ent_fused_forward(const ent_layer *layers, int span, const float *theta,
                       const float *in, float *out, float *const *saved,
                       ent_ctx *ctx) {
    const block b = block_of(layers, span, saved, ctx);
    const int64_t n = ctx->n, D = ent_layer_in_size(&layers[0]), m = n * D;
    if (n <= 0) return;
    if (b.bn) {
        const int64_t tasks = ent_bn_tasks(b.bn), HW = b.bn->in_h * b.bn->in_w;
#pragma omp parallel for if (m > ENT_PAR_MIN && tasks > 1) schedule(static)
        for (int64_t t = 0; t < tasks; t++) {
            int64_t c0, c1;
            ent_bn_task_range(b.bn, t, &c0, &c1);
            ent_bn_forward_task(b.bn, theta, in, out, saved[0], ctx, c0, c1);
            /* the task's columns, row by row, while they are in L2. A row
             * shorter than a chunk of dropout words still draws a whole
             * chunk (lenet's bn1: rows of 144); applying the mask in flat
             * chunks behind a barrier instead was no faster (2026-11-23). */
            for (int64_t i = 0; i < n; i++) {
                const int64_t e = i * D + c0 * HW;
                post(&b, e, out + e, out + e, (c1 - c0) * HW);
            }
        }
        ent_bn_forward_done(b.bn, ctx);
    } else {
        const int64_t chunks = (m + ENT_RNG_CHUNK - 1) / ENT_RNG_CHUNK;
#pragma omp parallel for if (m > ENT_PAR_MIN) schedule(static)
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t e = c * ENT_RNG_CHUNK;
            post(&b, e, in + e, out + e, m - e < ENT_RNG_CHUNK ? m - e : ENT_RNG_CHUNK);
        }
    }
    if (b.drop) ctx->rng->counter = b.base + (uint64_t)((m + 3) / 4);
}

void ent_fused_backward(const ent_layer *layers, int span, const float *theta,
                        const float *in, const float *out,
                        float *const *saved, const float *dout, float *mid,
                        float *din, float *dtheta, ent_ctx *ctx) {
    const block b = block_of(layers, span, saved, ctx);
    const int64_t n = ctx->n, D = ent_layer_in_size(&layers[0]), m = n * D;
    if (n <= 0) return;
    if (b.bn) {
        const int64_t tasks = ent_bn_tasks(b.bn), HW = b.bn->in_h * b.bn->in_w;
#pragma omp parallel for if (m > ENT_PAR_MIN && tasks > 1) schedule(static)
        for (int64_t t = 0; t < tasks; t++) {
            int64_t c0, c1;
            ent_bn_task_range(b.bn, t, &c0, &c1);
            const float *g = dout; /* a dropout that did not mask passes dout */
            if (b.relu || b.drop) {
                for (int64_t i = 0; i < n; i++) {
                    const int64_t e = i * D + c0 * HW;
                    gate(dout + e, out + e, b.drop ? b.mask + e : NULL, b.relu, mid + e,
                         (c1 - c0) * HW);
                }
                g = mid;
            }
            ent_bn_backward_task(b.bn, theta, in, saved[0], g, din, dtheta, ctx, c0, c1);
        }
    } else if (din) {
        const int64_t chunks = (m + ENT_RNG_CHUNK - 1) / ENT_RNG_CHUNK;
#pragma omp parallel for if (m > ENT_PAR_MIN) schedule(static)
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t e = c * ENT_RNG_CHUNK;
            gate(dout + e, out + e, b.drop ? b.mask + e : NULL, b.relu, din + e,
                 m - e < ENT_RNG_CHUNK ? m - e : ENT_RNG_CHUNK);
        }
    }
}
