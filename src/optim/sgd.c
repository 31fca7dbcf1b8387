/* sgd.c — SGD with momentum, dampening and Nesterov, as torch.optim.SGD:
 *   g = grad + wd theta                      (coupled weight decay)
 *   buf = g on the first step, then m buf + (1 - dampening) g;
 *   step = nesterov ? g + m buf : buf        (step = g when m = 0);
 *   theta -= lr step.
 * The buffer starts at 0 and the first step weighs g by c = 1 (m 0 + 1 g
 * = g exactly), later ones by c = 1 - dampening: one kernel for both, and
 * with dampening 0 (c = 1, an exact product) the bits of the undamped rule.
 * Arithmetic in float with float-rounded scalars, like PyTorch on float32. */
#include "core/simd.h"
#include "optim_internal.h"

/* The update of x[0..n) and buf: a leaf kernel compiled for AVX-512 too
 * (core/simd.h). */
ENT_CLONES static void sgd_kernel(float *restrict x, const float *restrict g,
                                  float *restrict buf, int64_t n, float lr, float wd,
                                  float m, float c, int nesterov) {
    if (m == 0.0f || !buf) {
        for (int64_t i = 0; i < n; i++) x[i] -= lr * (g[i] + wd * x[i]);
    } else if (nesterov) {
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] + wd * x[i];
            float b = m * buf[i] + c * gi;
            buf[i] = b;
            x[i] -= lr * (gi + m * b);
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            float b = m * buf[i] + c * (g[i] + wd * x[i]);
            buf[i] = b;
            x[i] -= lr * b;
        }
    }
}

void ent_sgd_apply(float *x, const float *g, float *buf, int64_t n, float lr,
                   float wd, float m, float c, int nesterov, const ent_pieces *sp) {
#pragma omp parallel if (n > ENT_PAR_MIN)
    {
        int64_t lo, hi;
        for (int k = 0; ent_piece_mine(sp, k, &lo, &hi); k++)
            sgd_kernel(x + lo, g + lo, buf ? buf + lo : NULL, hi - lo, lr, wd, m, c, nesterov);
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
                  (float)p->weight_decay, (float)p->momentum, ent_sgd_grad_weight(o), p->nesterov, &sp);
    return ENT_OK;
}

/* torch.optim.SGD: the buffer is the gradient itself on the first step
 * (t = 0; restored on resume), then takes (1 - dampening) of each. */
float ent_sgd_grad_weight(const ent_optim *o) {
    return o->t == 0 ? 1.0f : (float)(1.0 - o->p.dampening);
}
