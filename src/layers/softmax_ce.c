/* softmax_ce.c — the loss as the model's last node: softmax and mean
 * cross-entropy over logits [n, k] (nn.CrossEntropyLoss), in double.
 * Logits [n, T, 1, V] (a sequence model) are V classes at each of T
 * positions: ctx->y holds n*T labels (sample-major), the loss is the mean
 * over all n*T tokens (nn.CrossEntropyLoss on the (n*T, V) rows) and
 * ctx->correct counts right tokens (layer.h: ent_loss_positions).
 * Its output is the probabilities; its forward also leaves the gradient at
 * the logits, (p - onehot) / n, in `saved`, which backward hands down. */
#include <math.h>
#include <string.h>

#include "core/par.h"
#include "core/simd.h"
#include "core/vmath.h"
#include "layers/layer.h"

/* One row: its max, the exponentials e_j = exp(x_j - max) into e (ent_expf:
 * the argument is <= 0, the sum in double), and the sum. A cloned leaf, so
 * the exponentials vectorise (libm's exp in double was half of a PTB
 * model's evaluation, 2 x 10,000 calls per token). */
ENT_CLONES static double row_exp(const float *restrict x, int64_t k, float *restrict e, int64_t *argmax) {
    int64_t am = 0;
    for (int64_t j = 1; j < k; j++)
        if (x[j] > x[am]) am = j;
    const float mx = x[am];
    for (int64_t j = 0; j < k; j++) e[j] = ent_expf(x[j] - mx);
    double sum = 0.0;
    for (int64_t j = 0; j < k; j++) sum += e[j];
    *argmax = am;
    return sum;
}

/* Row-wise stable softmax: p = exp(x - max) / sum, the sum in double.
 * loss_i = log(sum) - (x_y - max). Labels outside [0, k) contribute no loss
 * and no one-hot (the caller validates labels; this only avoids UB). The
 * exponentials are kept in prob's row (or dlogits', or for a row of up to
 * 16 classes a local one) and scaled there. */
double ent_softmax_ce(const float *logits, const int32_t *y, int64_t n,
                      int64_t k, float *prob, float *dlogits,
                      int64_t *correct) {
    double loss = 0.0;
    int64_t hits = 0;
    const double inv_n = n > 0 ? 1.0 / (double)n : 0.0;
#pragma omp parallel for reduction(+ : loss, hits) if (n * k > ENT_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        const float *x = logits + i * k;
        float one[16];
        float *e = prob ? prob + i * k : dlogits ? dlogits + i * k : k <= 16 ? one : NULL;
        int64_t am = 0;
        double sum = 0.0;
        if (e) {
            sum = row_exp(x, k, e, &am);
        } else { /* neither output wanted and a wide row: the loss alone */
            for (int64_t j = 1; j < k; j++) am = x[j] > x[am] ? j : am;
            for (int64_t j = 0; j < k; j++) sum += ent_expf(x[j] - x[am]);
        }
        const int32_t yi = y[i];
        const int valid = yi >= 0 && yi < k;
        if (valid) {
            loss += log(sum) - ((double)x[yi] - (double)x[am]);
            hits += (am == yi);
        }
        const double inv = 1.0 / sum;
        for (int64_t j = 0; e && j < k; j++) {
            const double p = (double)e[j] * inv;
            if (prob) prob[i * k + j] = (float)p;
            if (dlogits) dlogits[i * k + j] = (float)((p - (valid && j == yi ? 1.0 : 0.0)) * inv_n);
        }
    }
    if (correct) *correct = hits;
    return loss * inv_n;
}

static ent_status ce_plan(ent_layer *l) {
    l->out_c = l->in_c, l->out_h = l->in_h, l->out_w = l->in_w;
    l->n_tensors = 0, l->scratch = 0;
    l->saved = l->max_batch * ent_layer_in_size(l);
    return ENT_OK;
}

static void ce_forward(const ent_layer *l, const float *theta, const float *in, float *out,
                       float *saved, ent_ctx *ctx) {
    ctx->loss = ent_softmax_ce(in, ctx->y, ctx->n * ent_loss_positions(l), ent_loss_classes(l), out,
                               saved, &ctx->correct);
}

static void ce_backward(const ent_layer *l, const float *theta, const float *in,
                        const float *out, const float *saved, const float *dout, float *din,
                        float *dtheta, ent_ctx *ctx) {
    const int64_t m = ctx->n * ent_layer_in_size(l);
    if (!din) return;
    if (ent_din_stores(ctx, 0)) {
        memcpy(din, saved, sizeof(float) * (size_t)m);
        return;
    }
    for (int64_t i = 0; i < m; i++) din[i] += saved[i];
}

const ent_layer_ops ent_softmax_ce_ops = {.kind_name = "softmax_ce", .plan = ce_plan,
                                          .forward = ce_forward, .backward = ce_backward,
                                          .n_in = 1};
