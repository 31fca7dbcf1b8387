/* adam.c — Adam as torch.optim.Adam (L2 weight decay added to the gradient,
 * not AdamW):
 *   g = grad + wd theta;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   theta -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps),
 * which is lr m_hat / (sqrt(v_hat) + eps) written as PyTorch evaluates it. */
#include <math.h>

#include "optim_internal.h"

void ent_adam_apply(float *x, const float *g, float *m, float *v, int64_t n,
                    double lr, double wd, double b1, double b2, double eps,
                    int64_t t) {
    const double bc1 = 1.0 - pow(b1, (double)t);
    const double bc2 = 1.0 - pow(b2, (double)t);
    const float step = (float)(lr / bc1), bc2s = (float)sqrt(bc2);
    const float fb1 = (float)b1, fb2 = (float)b2, c1 = (float)(1.0 - b1),
                c2 = (float)(1.0 - b2), fe = (float)eps, fwd = (float)wd;
#pragma omp parallel for simd if (parallel : n > ENT_OPTIM_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + fwd * x[i];
        float mi = fb1 * m[i] + c1 * gi;
        float vi = fb2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        x[i] -= step * mi / (sqrtf(vi) / bc2s + fe);
    }
}

ent_status ent_adam_step(ent_optim *o, const ent_objective *obj, float *theta,
                         double lr_scale, double *loss) {
    const ent_optim_params *p = &o->p;
    ent_status s = ent_objective_next(obj);
    if (s != ENT_OK) return s;
    s = ent_objective_eval(obj, theta, o->grad, loss);
    if (s != ENT_OK) return s;
    ent_adam_apply(theta, o->grad, o->adam_m, o->adam_v, o->n, p->lr * lr_scale,
                   p->weight_decay, p->beta1, p->beta2, p->adam_eps, o->t + 1);
    return ENT_OK;
}
