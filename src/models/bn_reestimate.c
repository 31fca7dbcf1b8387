/* bn_reestimate.c — batch-norm running statistics recomputed at given
 * weights, as PyTorch's reset_running_stats() followed by forward passes in
 * training mode with momentum=None: after batch k each running value is
 * (1 - 1/k) old + (1/k) the batch's (mean; unbiased variance), so after N
 * batches it is the plain average of the N batch statistics, and
 * num_batches_tracked is N.
 *
 * Why: an optimizer whose gradients come from other points than the
 * weights it reports (Entropy-SGD's chain x', a replica's, HEAT's
 * perturbed points) leaves running statistics of those points; the
 * reference codes of Entropy-SGD and Parle dry-feed the training set at x
 * before every test (docs/guide.md, "Batch-norm statistics").
 *
 * The passes run with dropout off (no dropout stream is given, so none is
 * drawn) and no gradient; only `buffers` and the source's position change.
 * Each BN layer's momentum is set to 1/k for batch k and put back after. */
#include <stdlib.h>

#include "models/model_internal.h"

static void set_bn_momentum(ent_model *m, const float *mom, float one) {
    for (int i = 0, k = 0; i < m->n_layers; i++) {
        if (m->layers[i].kind != ENT_LAYER_BATCHNORM) continue;
        m->layers[i].bn.momentum = mom ? mom[k++] : one;
    }
}

/* PyTorch's reset_running_stats: mean 0, variance 1, count 0. */
static void reset_running_stats(const ent_model *m, float *buffers) {
    for (int i = 0; i < m->n_layers; i++) {
        const ent_layer *l = &m->layers[i];
        if (l->kind != ENT_LAYER_BATCHNORM) continue;
        for (int64_t c = 0; c < l->in_c; c++) {
            buffers[l->tensors[ENT_BN_MEAN].offset + c] = 0.0f;
            buffers[l->tensors[ENT_BN_VAR].offset + c] = 1.0f;
        }
        buffers[l->tensors[ENT_BN_COUNT].offset] = 0.0f;
    }
}

ent_status ent_model_bn_reestimate(ent_model *m, const float *theta, float *buffers, ent_batches *src,
                                   int64_t n_batches) {
    if (!m || !theta || !buffers || !src || !src->ops || n_batches < 0)
        return ent_fail(ENT_EINVAL, "ent_model_bn_reestimate: NULL argument or n_batches < 0");
    if (src->batch > m->max_batch || src->c != m->in_c || src->h != m->in_h || src->w != m->in_w)
        return ent_fail(ENT_ESHAPE, "ent_model_bn_reestimate: batches of %lld x %lldx%lldx%lld for a model of "
                        "%lldx%lldx%lld planned for %lld", (long long)src->batch, (long long)src->c,
                        (long long)src->h, (long long)src->w, (long long)m->in_c, (long long)m->in_h,
                        (long long)m->in_w, (long long)m->max_batch);
    int n_bn = 0;
    for (int i = 0; i < m->n_layers; i++) n_bn += m->layers[i].kind == ENT_LAYER_BATCHNORM;
    if (n_bn == 0 || n_batches == 0) return ENT_OK;
    float *x = ent_alloc(sizeof(float) * (size_t)(src->batch * src->c * src->h * src->w));
    int32_t *y = malloc(sizeof(int32_t) * (size_t)(src->batch * src->y_per_sample));
    float *saved = malloc(sizeof(float) * (size_t)n_bn);
    ent_status s = x && y && saved ? ENT_OK : ent_fail(ENT_ENOMEM, "out of memory re-estimating batch-norm statistics");
    for (int i = 0, k = 0; s == ENT_OK && i < m->n_layers; i++)
        if (m->layers[i].kind == ENT_LAYER_BATCHNORM) saved[k++] = m->layers[i].bn.momentum;
    if (s == ENT_OK) reset_running_stats(m, buffers);
    for (int64_t k = 1; s == ENT_OK && k <= n_batches; k++) {
        const int64_t n = src->ops->next(src->ctx, x, y);
        set_bn_momentum(m, NULL, (float)(1.0 / (double)k));
        s = ent_model_run(m, theta, buffers, x, y, n, 1, NULL, NULL, NULL, NULL);
    }
    if (saved) set_bn_momentum(m, saved, 0.0f);
    ent_free_aligned(x);
    free(y);
    free(saved);
    return s;
}
