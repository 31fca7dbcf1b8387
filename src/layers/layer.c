/* layer.c — shared layer helpers: tensor records, the kind table, and the
 * softmax + cross-entropy head. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/par.h"
#include "layers/layer.h"

void ent_layer_add_tensor(ent_layer *l, const char *suffix, int is_buffer,
                          int is_int64, int ndim, int64_t d0, int64_t d1,
                          int64_t d2, int64_t d3) {
    if (l->n_tensors >= ENT_LAYER_MAX_TENSORS || ndim < 0 || ndim > 4)
        return; /* internal misuse: plan functions add at most 5 */
    ent_tensor_info *t = &l->tensors[l->n_tensors];
    const int64_t d[4] = {d0, d1, d2, d3};
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", suffix);
    t->ndim = ndim;
    t->numel = 1; /* a 0-D tensor is a scalar */
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = d[i];
        t->numel *= d[i];
    }
    t->is_int64 = is_int64;
    t->offset = 0; /* set by the model after plan */
    l->is_buffer[l->n_tensors] = is_buffer;
    l->n_tensors++;
}

const ent_layer_ops *ent_layer_ops_of(ent_layer_kind kind) {
    switch (kind) {
    case ENT_LAYER_DENSE: return &ent_dense_ops;
    case ENT_LAYER_CONV2D: return &ent_conv2d_ops;
    case ENT_LAYER_MAXPOOL: return &ent_maxpool_ops;
    case ENT_LAYER_BATCHNORM: return &ent_batchnorm_ops;
    case ENT_LAYER_DROPOUT: return &ent_dropout_ops;
    case ENT_LAYER_RELU: return &ent_relu_ops;
    default: return NULL;
    }
}

/* Row-wise stable softmax: p = exp(x - max) / sum, in double.
 * loss_i = log(sum) - (x_y - max). Labels outside [0, k) contribute no loss
 * and no one-hot (the caller validates labels; this only avoids UB). */
double ent_softmax_ce(const float *logits, const int32_t *y, int64_t n,
                      int64_t k, float *prob, float *dlogits,
                      int64_t *correct) {
    double loss = 0.0;
    int64_t hits = 0;
    const double inv_n = n > 0 ? 1.0 / (double)n : 0.0;
#pragma omp parallel for reduction(+ : loss, hits) if (n * k > ENT_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        const float *x = logits + i * k;
        int64_t am = 0;
        for (int64_t j = 1; j < k; j++)
            if (x[j] > x[am]) am = j;
        const double mx = x[am];
        double sum = 0.0;
        for (int64_t j = 0; j < k; j++) sum += exp((double)x[j] - mx);
        const int32_t yi = y[i];
        const int valid = yi >= 0 && yi < k;
        if (valid) {
            loss += log(sum) - ((double)x[yi] - mx);
            hits += (am == yi);
        }
        for (int64_t j = 0; j < k; j++) {
            const double p = exp((double)x[j] - mx) / sum;
            if (prob) prob[i * k + j] = (float)p;
            if (dlogits)
                dlogits[i * k + j] =
                    (float)((p - (valid && j == yi ? 1.0 : 0.0)) * inv_n);
        }
    }
    if (correct) *correct = hits;
    return loss * inv_n;
}
