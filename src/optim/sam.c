/* sam.c — sharpness-aware minimisation (Foret et al., ICLR 2021), one
 * update on one mini-batch B:
 *
 *   g   = grad f_B(x)                        (the reported loss is f_B(x))
 *   e   = rho g / |g|                        (the first-order worst case in
 *                                             the ball |e| <= rho)
 *   g'  = grad f_B(x + e)                    (same batch: no next_batch)
 *   x  <- x - lr rule(g' + wd x)             rule = SGD(momentum) or Adam
 *
 * Weight decay enters the base rule at x, as in the reference PyTorch
 * wrapper; e is computed from the data gradient alone. */
#include <math.h>

#include "optim_internal.h"

ent_status ent_sam_step(ent_optim *o, const ent_objective *obj, float *x,
                        double lr_scale, double *loss) {
    const ent_optim_params *p = &o->p;
    const int64_t n = o->n;
    ent_status s = ent_objective_next(obj);
    if (s == ENT_OK) s = ent_objective_eval(obj, x, o->grad, loss);
    if (s != ENT_OK) return s;
    const double norm = ent_vec_nrm2(o->grad, n);
    const float k = (float)(norm > 0.0 ? p->sam_rho / norm : 0.0);
    float *restrict xe = o->scratch;
    const float *restrict g = o->grad;
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) xe[i] = x[i] + k * g[i];
    s = ent_objective_eval(obj, xe, o->grad, NULL);
    if (s != ENT_OK) return s;
    const ent_pieces sp = ent_pieces_of(obj, o->n);
    ent_optim_base_apply(o, x, o->grad, p->lr * lr_scale, p->weight_decay, &sp);
    return ENT_OK;
}
