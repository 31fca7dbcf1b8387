/* fisher.c — the diagonal Fisher proxy of the Entropy-SGD paper's
 * All-CNN-BN study: per parameter, the variance over mini-batches of the
 * mini-batch gradient, E_b[g_b^2] - (E_b g_b)^2, g_b the gradient of the
 * mean loss over the b-th consecutive batch of the sample set. A curvature
 * proxy where the Hessian is out of reach: for the cross-entropy at a
 * minimum, the per-sample gradients' covariance is the empirical Fisher
 * (the Gauss-Newton part of H), and a mini-batch of B samples has 1/B of
 * it. Each batch's gradient is taken in double by the Hessian engine
 * (ent_nethess) on that batch alone; Welford's update keeps the variance
 * free of the cancellation of E[g^2] - (E g)^2. */
#include <stdlib.h>
#include <string.h>

#include "models/model_internal.h"

ent_status ent_fisher_diag(const ent_model *m, const float *theta, const float *buffers, const float *x,
                           const int32_t *y, int64_t n, int64_t batch, const ent_nethess_opts *opts,
                           double *var, double *mean, int64_t *batches) {
    const int64_t nb = batch > 0 ? n / batch : 0, P = m->n_param, per = m->in_c * m->in_h * m->in_w;
    if (nb < 2)
        return ent_fail(ENT_EINVAL, "fisher: %lld samples make %lld batches of %lld; want at least 2", (long long)n,
                        (long long)nb, (long long)batch);
    double *g = malloc(sizeof(double) * (size_t)P);
    if (!g) return ent_fail(ENT_ENOMEM, "fisher: out of memory");
    memset(var, 0, sizeof(double) * (size_t)P); /* M2 of Welford's update until the end */
    memset(mean, 0, sizeof(double) * (size_t)P);
    ent_status s = ENT_OK;
    for (int64_t b = 0; b < nb && s == ENT_OK; b++) {
        ent_nethess *h = NULL;
        s = ent_nethess_new(&h, m, theta, buffers, x + b * batch * per, y + b * batch * ent_model_positions(m), batch,
                            opts);
        if (s == ENT_OK) s = ent_nethess_grad(h, g, NULL, NULL);
        ent_nethess_free(h);
        for (int64_t i = 0; s == ENT_OK && i < P; i++) {
            const double d = g[i] - mean[i];
            mean[i] += d / (double)(b + 1);
            var[i] += d * (g[i] - mean[i]);
        }
    }
    for (int64_t i = 0; s == ENT_OK && i < P; i++) var[i] /= (double)nb; /* E[g^2] - (E g)^2: over nb, not nb - 1 */
    free(g);
    *batches = s == ENT_OK ? nb : 0;
    return s;
}
