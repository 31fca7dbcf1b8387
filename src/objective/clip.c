/* clip.c — gradient-norm clipping as an objective around another, as
 * torch.nn.utils.clip_grad_norm_ after every backward: a gradient whose
 * Euclidean norm exceeds max_norm is scaled by max_norm / (norm + 1e-6).
 * Every optimizer then sees clipped gradients, an inner SGLD loop's too
 * (the PTB scripts of the papers clip every gradient they compute). */
#include "entropic.h"

static ent_status next_batch(void *ctx) {
    ent_clip_objective *w = ctx;
    return ent_objective_next(&w->inner);
}

static ent_status eval(void *ctx, const float *theta, float *grad, double *loss) {
    ent_clip_objective *w = ctx;
    ent_status s = ent_objective_eval(&w->inner, theta, grad, loss);
    if (s != ENT_OK || !grad) return s;
    const double norm = ent_vec_nrm2(grad, w->inner.n_param), coef = w->max_norm / (norm + 1e-6);
    w->last_norm = norm;
    if (coef < 1.0) ent_vec_scal(grad, (float)coef, w->inner.n_param);
    return ENT_OK;
}

ent_objective ent_clip_gradients(ent_clip_objective *w, ent_objective inner, double max_norm) {
    w->inner = inner;
    w->max_norm = max_norm;
    w->last_norm = 0.0;
    ent_objective o = inner;
    o.ctx = w;
    o.next_batch = next_batch;
    o.eval = eval;
    return o;
}
