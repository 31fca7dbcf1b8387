/* hj_prox.c — the non-viscous Hamilton-Jacobi relaxation of Deep
 * Relaxation (docs/algorithms.md §4.3, §4.4): gradient descent on the Moreau
 * envelope u(x, t) = min_y f(y) + |x - y|^2 / (2t), whose gradient is
 * grad u = (x - y*)/t = grad f(y*), y* = prox_{t f}(x). y* solves the
 * implicit step p = grad f(x - t p); the DR code's "FP" iteration finds it
 * by damped fixed-point (forward-backward) steps, each on a fresh batch:
 *
 *   t  = 1 / gamma,  gamma = gamma0 (1 + gamma1)^k capped at gamma_max
 *   p  = grad f(x) + wd x                              (the reported loss: f(x))
 *   L times:  y = x - t p;  p <- (1 - alpha) p + alpha (grad f(y) + wd y)
 *   x <- x - lr rule(p)                                rule = SGD(momentum) | Adam
 *
 * On f = a/2 (x - c)^2 the iteration is linear: p_l - p* = (1 - alpha -
 * alpha a t)^l (p_0 - p*), p* = a (x - c) / (1 + a t), and x - t p* =
 * (x + a t c)/(1 + a t) = prox_{t f}(x); it converges when
 * |1 - alpha (1 + a t)| < 1. */
#include "optim_internal.h"

ent_status ent_hj_prox_step(ent_optim *o, const ent_objective *obj, float *x,
                            double lr_scale, double *loss) {
    const ent_optim_params *p = &o->p;
    const int64_t n = o->n;
    const float t = (float)(1.0 / ent_esgd_gamma_at(p, o->t));
    const float al = (float)p->alpha, om = 1.0f - al, wd = (float)p->weight_decay;
    float *restrict pv = o->scratch, *restrict y = o->scratch2;
    const float *restrict g = o->grad;
    ent_status s = ent_objective_next(obj);
    if (s == ENT_OK) s = ent_objective_eval(obj, x, o->grad, loss);
    if (s != ENT_OK) return s;
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) pv[i] = g[i] + wd * x[i];
    for (int l = 0; l < p->L; l++) {
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < n; i++) y[i] = x[i] - t * pv[i];
        if ((s = ent_objective_next(obj)) != ENT_OK) return s;
        if ((s = ent_objective_eval(obj, y, o->grad, NULL)) != ENT_OK) return s;
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < n; i++) pv[i] = om * pv[i] + al * (g[i] + wd * y[i]);
    }
    const ent_pieces sp = ent_pieces_of(obj, o->n);
    ent_optim_base_apply(o, x, pv, p->lr * lr_scale, 0.0, &sp); /* wd is inside p */
    return ENT_OK;
}
