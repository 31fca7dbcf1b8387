/* sgd.c — SGD with momentum and Nesterov, as torch.optim.SGD (dampening 0):
 *   g = grad + wd theta;  buf = m buf + g (buf starts at 0);
 *   step = nesterov ? g + m buf : buf  (step = g when m = 0);
 *   theta -= lr step.
 * Arithmetic in float with float-rounded scalars, like PyTorch on float32. */
#include "optim_internal.h"

void ent_sgd_apply(float *x, const float *g, float *buf, int64_t n,
                   float lr, float wd, float m, int nesterov) {
    if (m == 0.0f || !buf) {
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(dynamic, ENT_OPTIM_DYN)
        for (int64_t i = 0; i < n; i++) x[i] -= lr * (g[i] + wd * x[i]);
    } else if (nesterov) {
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(dynamic, ENT_OPTIM_DYN)
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] + wd * x[i];
            float b = m * buf[i] + gi;
            buf[i] = b;
            x[i] -= lr * (gi + m * b);
        }
    } else {
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(dynamic, ENT_OPTIM_DYN)
        for (int64_t i = 0; i < n; i++) {
            float b = m * buf[i] + (g[i] + wd * x[i]);
            buf[i] = b;
            x[i] -= lr * b;
        }
    }
}

ent_status ent_sgd_step(ent_optim *o, const ent_objective *obj, float *theta,
                        double lr_scale, double *loss) {
    const ent_optim_params *p = &o->p;
    ent_status s = ent_objective_next(obj);
    if (s != ENT_OK) return s;
    s = ent_objective_eval(obj, theta, o->grad, loss);
    if (s != ENT_OK) return s;
    ent_sgd_apply(theta, o->grad, o->momentum, o->n, (float)(p->lr * lr_scale),
                  (float)p->weight_decay, (float)p->momentum, p->nesterov);
    return ENT_OK;
}
