/* entropy_sgd.c — Entropy-SGD (Chaudhari et al., ICLR 2017, Algorithm 1),
 * with every convention of the reference code as an option
 * (algorithms.md A.3, A.4, A.7, H). One call = one outer update:
 *
 *   gamma = gamma0 (1 + gamma1)^t, capped at gamma_max (> 0); t = updates done
 *   [grad_at_x: one extra gradient at x, discarded; its loss is averaged in]
 *   x' <- x, mu <- x, inner buffers <- 0
 *   for l = 1..L:                                   (fresh batch each time)
 *     g = grad f(x')
 *     grad_only: g <- momentum(g);  d = g + iwd x' - gamma (x - x')   (Lua)
 *     else:      d = g + iwd x' - gamma (x - x');  d <- momentum(d)
 *     (inner Adam: d <- m_hat / (sqrt(v_hat) + eps), bias-corrected by l)
 *     x' <- x' - eta' d + sigma xi,  sigma = noise sqrt(eta') (code 0) or
 *                                            noise sqrt(2 eta') (code 1)
 *     mu <- (1 - alpha) mu + alpha x'
 *   G = s (x - mu) + wd x,  s = gamma (outer_unscaled) or 1
 *   x <- x - lr lr_scale step(G), step = SGD(+momentum) or Adam.
 *
 * Differences from the Lua code kept deliberately: with inner momentum 0
 * the gradient is used as is (the Lua code then replaces it by the zero
 * buffer: its bug 9 in A.7). No allocation here: every vector is made in
 * ent_optim_new. Noise: one ent_rng_normal_fill per inner step into a
 * preallocated buffer, so the stream is independent of the thread count. */
#include <math.h>

#include "optim_internal.h"

double ent_esgd_gamma_at(const ent_optim_params *p, int64_t t) {
    double g = p->gamma0 * pow(1.0 + p->gamma1, (double)t);
    if (p->gamma_max > 0.0 && !(g <= p->gamma_max)) g = p->gamma_max;
    return g;
}

typedef struct {
    float gam, eta, alpha, iwd, m;
} inner_coef;

/* One SGLD step with SGD-momentum preconditioning. MODE: 0 no momentum,
 * 1 heavy ball, 2 Nesterov; GO: momentum on g before the coupling (Lua).
 * MODE and GO are literals in each expansion, so the OpenMP-outlined loop
 * of every variant is branch-free and vectorises (a runtime flag would be
 * captured as a variable by the outlining, before inlining could fold it). */
#define ENT_INNER_SGD(NAME, MODE, GO)                                            \
    static void NAME(float *restrict xp, float *restrict mu,                     \
                     float *restrict buf, const float *restrict x,               \
                     const float *restrict g, const float *restrict nz,          \
                     int64_t n, inner_coef k) {                                  \
        const float gam = k.gam, eta = k.eta, al = k.alpha,                      \
                    om = 1.0f - k.alpha, iwd = k.iwd, m = k.m;                   \
        (void)buf;                                                               \
        (void)m;                                                                 \
        _Pragma("omp parallel for simd if (n > ENT_OPTIM_PAR_MIN) schedule(static)") \
        for (int64_t i = 0; i < n; i++) {                                        \
            float xpi = xp[i], gi = g[i], d;                                     \
            if ((MODE) != 0 && (GO)) {                                           \
                float b = m * buf[i] + gi;                                       \
                buf[i] = b;                                                      \
                gi = (MODE) == 2 ? gi + m * b : b;                               \
            }                                                                    \
            d = gi + iwd * xpi - gam * (x[i] - xpi);                             \
            if ((MODE) != 0 && !(GO)) {                                          \
                float b = m * buf[i] + d;                                        \
                buf[i] = b;                                                      \
                d = (MODE) == 2 ? d + m * b : b;                                 \
            }                                                                    \
            xpi = xpi - eta * d + nz[i];                                         \
            xp[i] = xpi;                                                         \
            mu[i] = om * mu[i] + al * xpi;                                       \
        }                                                                        \
    }
ENT_INNER_SGD(inner_plain, 0, 0)
ENT_INNER_SGD(inner_heavy_d, 1, 0)
ENT_INNER_SGD(inner_heavy_g, 1, 1)
ENT_INNER_SGD(inner_nesterov_d, 2, 0)
ENT_INNER_SGD(inner_nesterov_g, 2, 1)
#undef ENT_INNER_SGD

/* One SGLD step preconditioned by Adam moments (step l >= 1). */
static void inner_adam(float *restrict xp, float *restrict mu,
                       float *restrict am, float *restrict av,
                       const float *restrict x, const float *restrict g,
                       const float *restrict nz, int64_t n, inner_coef k,
                       const ent_optim_params *p, int l) {
    const double bc1 = 1.0 - pow(p->beta1, l), bc2 = 1.0 - pow(p->beta2, l);
    const float step = (float)((double)k.eta / bc1), bc2s = (float)sqrt(bc2);
    const float b1 = (float)p->beta1, b2 = (float)p->beta2,
                c1 = (float)(1.0 - p->beta1), c2 = (float)(1.0 - p->beta2),
                eps = (float)p->adam_eps;
    const float gam = k.gam, al = k.alpha, om = 1.0f - k.alpha, iwd = k.iwd;
#pragma omp parallel for simd if (n > ENT_OPTIM_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float xpi = xp[i];
        float d = g[i] + iwd * xpi - gam * (x[i] - xpi);
        float mi = b1 * am[i] + c1 * d;
        float vi = b2 * av[i] + c2 * d * d;
        am[i] = mi;
        av[i] = vi;
        xpi = xpi - step * mi / (sqrtf(vi) / bc2s + eps) + nz[i];
        xp[i] = xpi;
        mu[i] = om * mu[i] + al * xpi;
    }
}

/* grad = s (x - mu); the outer rule adds wd x. */
static void outer_gradient(float *restrict G, const float *restrict x,
                           const float *restrict mu, int64_t n, float s) {
#pragma omp parallel for simd if (n > ENT_OPTIM_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) G[i] = s * (x[i] - mu[i]);
}

ent_status ent_esgd_step(ent_optim *o, const ent_objective *obj, float *x,
                         double lr_scale, double *loss) {
    const ent_optim_params *p = &o->p;
    const int64_t n = o->n;
    const double gamma = ent_esgd_gamma_at(p, o->t);
    double lsum = 0.0, l1;
    int nevals = 0;
    ent_status s;

    if (p->grad_at_x) { /* the reference codes' extra gradient, discarded */
        if ((s = ent_objective_next(obj)) != ENT_OK) return s;
        if ((s = ent_objective_eval(obj, x, o->grad, &l1)) != ENT_OK) return s;
        lsum += l1;
        nevals++;
    }

    ent_vec_copy(o->x_prime, x, n);
    ent_vec_copy(o->mu, x, n);
    if (o->inner_momentum) ent_vec_zero(o->inner_momentum, n);
    if (o->inner_adam_m) {
        ent_vec_zero(o->inner_adam_m, n);
        ent_vec_zero(o->inner_adam_v, n);
    }
    const double sigma = p->noise * sqrt((p->noise_code ? 2.0 : 1.0) * p->sgld_lr);
    if (sigma == 0.0) ent_vec_zero(o->noise, n);
    const inner_coef k = {(float)gamma, (float)p->sgld_lr, (float)p->alpha,
                          (float)p->inner_weight_decay, (float)p->inner_momentum};
    const int mode = p->inner_momentum > 0.0 ? (p->inner_nesterov ? 2 : 1) : 0;
    const int go = p->inner_momentum_grad_only;

    for (int l = 1; l <= p->L; l++) {
        if ((s = ent_objective_next(obj)) != ENT_OK) return s;
        if ((s = ent_objective_eval(obj, o->x_prime, o->grad, &l1)) != ENT_OK) return s;
        lsum += l1;
        nevals++;
        if (sigma > 0.0) ent_rng_normal_fill(&o->rng, o->noise, n, (float)sigma);
        float *xp = o->x_prime, *mu = o->mu, *buf = o->inner_momentum;
        const float *g = o->grad, *nz = o->noise;
        if (p->inner_rule == ENT_UPDATE_ADAM)
            inner_adam(xp, mu, o->inner_adam_m, o->inner_adam_v, x, g, nz, n, k, p, l);
        else if (mode == 0)
            inner_plain(xp, mu, buf, x, g, nz, n, k);
        else if (mode == 1)
            (go ? inner_heavy_g : inner_heavy_d)(xp, mu, buf, x, g, nz, n, k);
        else
            (go ? inner_nesterov_g : inner_nesterov_d)(xp, mu, buf, x, g, nz, n, k);
    }

    const double lr = p->lr * lr_scale;
    outer_gradient(o->grad, x, o->mu, n, (float)(p->outer_unscaled ? gamma : 1.0));
    if (p->outer_rule == ENT_UPDATE_ADAM)
        ent_adam_apply(x, o->grad, o->adam_m, o->adam_v, n, lr, p->weight_decay,
                       p->beta1, p->beta2, p->adam_eps, o->t + 1);
    else
        ent_sgd_apply(x, o->grad, o->momentum, n, (float)lr, (float)p->weight_decay,
                      (float)p->momentum, p->nesterov);
    *loss = lsum / nevals;
    return ENT_OK;
}
