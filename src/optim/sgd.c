/* sgd.c — SGD with momentum and Nesterov, as torch.optim.SGD (dampening 0):
 *   g = grad + wd theta;  buf = m buf + g (buf starts at 0);
 *   step = nesterov ? g + m buf : buf  (step = g when m = 0);
 *   theta -= lr step.
 * Arithmetic in float with float-rounded scalars, like PyTorch on float32. */
#include "core/simd.h"
#include "optim_internal.h"

/* The update of x[0..n) and buf: a leaf kernel compiled for AVX-512 too
 * (core/simd.h). */
ENT_CLONES static void sgd_kernel(float *restrict x, const float *restrict g,
                                  float *restrict buf, int64_t n, float lr, float wd,
                                  float m, int nesterov) {
    if (m == 0.0f || !buf) {
        for (int64_t i = 0; i < n; i++) x[i] -= lr * (g[i] + wd * x[i]);
    } else if (nesterov) {
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] + wd * x[i];
            float b = m * buf[i] + gi;
            buf[i] = b;
            x[i] -= lr * (gi + m * b);
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            float b = m * buf[i] + (g[i] + wd * x[i]);
            buf[i] = b;
            x[i] -= lr * b;
        }
    }
}

void ent_sgd_apply(float *x, const float *g, float *buf, int64_t n, float lr,
                   float wd, float m, int nesterov, const ent_pieces *sp) {
#pragma omp parallel if (n > ENT_PAR_MIN)
    {
        int64_t lo, hi;
        for (int k = 0; ent_piece_mine(sp, k, &lo, &hi); k++)
            sgd_kernel(x + lo, g + lo, buf ? buf + lo : NULL, hi - lo, lr, wd, m, nesterov);
    }
}

ent_status ent_sgd_step(ent_optim *o, const ent_objective *obj, float *theta,
                        double lr_scale, double *loss) {
    const ent_optim_params *p = &o->p;
    ent_status s = ent_objective_next(obj);
    if (s != ENT_OK) return s;
    s = ent_objective_eval(obj, theta, o->grad, loss);
    if (s != ENT_OK) return s;
    const ent_pieces sp = ent_pieces_of(obj, o->n);
    ent_sgd_apply(theta, o->grad, o->momentum, o->n, (float)(p->lr * lr_scale),
                  (float)p->weight_decay, (float)p->momentum, p->nesterov, &sp);
    return ENT_OK;
}
