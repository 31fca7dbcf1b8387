/* sgld.c — stochastic gradient Langevin dynamics (Welling & Teh 2011), the
 * Entropy-SGD paper's appendix baseline (docs/algorithms.md §4.1), on the mean
 * loss f:
 *
 *   eta_t = lr (1 + t / t0)^(-decay),  t = updates done
 *   x    <- x - (eta_t / 2)(grad f(x) + wd x) + noise sqrt(eta_t) N(0, I)
 *
 * With a constant step this samples exp(-f / noise^2) as eta -> 0; on
 * f = a/2 (x - c)^2 the exact discrete chain has mean c and variance
 * noise^2 / (a (1 - eta a / 4)) (tests/test_relax.c checks both). The
 * Welling-Teh schedule a (b + t)^-gamma is lr = a b^-gamma, t0 = b,
 * decay = gamma. Noise: one ent_rng_normal_fill per update, so the stream
 * does not depend on the thread count. */
#include <math.h>

#include "optim_internal.h"

double ent_sgld_step_size(const ent_optim_params *p, int64_t t) {
    return p->lr * pow(1.0 + (double)t / p->sgld_t0, -p->sgld_decay);
}

ent_status ent_sgld_step(ent_optim *o, const ent_objective *obj, float *x,
                         double lr_scale, double *loss) {
    const ent_optim_params *p = &o->p;
    ent_status s = ent_optim_grad_at(o, obj, x, loss);
    if (s != ENT_OK) return s;
    const double eta = ent_sgld_step_size(p, o->t) * lr_scale;
    const double sigma = p->noise * sqrt(eta);
    const float h = (float)(0.5 * eta), wd = (float)p->weight_decay;
    const float *restrict g = o->grad;
    const int64_t n = o->n;
    if (sigma > 0.0) {
        ent_rng_normal_fill(&o->rng, o->noise, n, (float)sigma);
        const float *restrict nz = o->noise;
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < n; i++) x[i] = x[i] - h * (g[i] + wd * x[i]) + nz[i];
    } else {
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < n; i++) x[i] -= h * (g[i] + wd * x[i]);
    }
    return ENT_OK;
}
