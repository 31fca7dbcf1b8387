/* heat.c — the heat-equation smoothing baseline of Deep Relaxation
 * (docs/algorithms.md §4.3, §4.5): gradient descent on u(x, t) = (G_t * f)(x), the loss
 * averaged over a Gaussian of variance t per weight, whose gradient is
 * grad u = E_z grad f(x + sqrt(t) z). One update estimates it with L
 * samples, each with a fresh batch and a fresh z:
 *
 *   t = 1 / gamma,  gamma = gamma0 (1 + gamma1)^k capped at gamma_max
 *   p = (1/L) sum_l grad f(x + sqrt(t) z_l)   (the reported loss: the mean
 *                                              of f at those points, i.e. u)
 *   x <- x - lr rule(p + wd x)                rule = SGD(momentum) | Adam
 *
 * Unlike local entropy, this smoothing can fill in narrow valleys and
 * create minima between them (DR section 3; Entropy-SGD paper section 2).
 * The DR code's own HEAT class averages an SGLD chain instead; this is the
 * definition. Noise: one ent_rng_normal_fill per sample. */
#include <math.h>

#include "optim_internal.h"

ent_status ent_heat_step(ent_optim *o, const ent_objective *obj, float *x,
                         double lr_scale, double *loss) {
    const ent_optim_params *p = &o->p;
    const int64_t n = o->n;
    const float sigma = (float)sqrt(1.0 / ent_esgd_gamma_at(p, o->t));
    float *restrict y = o->scratch, *restrict acc = o->scratch2;
    const float *restrict g = o->grad, *restrict z = o->noise;
    double lsum = 0.0, l1 = 0.0;
    ent_status s;
    ent_vec_zero(acc, n);
    for (int l = 0; l < p->L; l++) {
        if ((s = ent_objective_next(obj)) != ENT_OK) return s;
        ent_rng_normal_fill(&o->rng, o->noise, n, sigma);
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < n; i++) y[i] = x[i] + z[i];
        if ((s = ent_objective_eval(obj, y, o->grad, &l1)) != ENT_OK) return s;
        lsum += l1;
        ent_vec_axpy(acc, 1.0f, g, n);
    }
    ent_vec_scal(acc, (float)(1.0 / p->L), n);
    const ent_pieces sp = ent_pieces_of(obj, o->n);
    ent_optim_base_apply(o, x, acc, p->lr * lr_scale, p->weight_decay, &sp);
    *loss = lsum / p->L;
    return ENT_OK;
}
