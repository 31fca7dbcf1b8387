/* data_parallel.c — an objective whose gradient and loss are the averages
 * over the ranks of a wrapped objective: every rank draws its own
 * mini-batch (own sampler stream), so one update sees K batches, and every
 * single-vector optimizer (SGD, Adam, Entropy-SGD, SGLD, SAM, HJ-prox,
 * HEAT) becomes data-parallel unchanged. The ranks start from the same
 * weights and optimizer seed, apply the same averaged gradients and draw
 * the same optimizer noise, so their weights stay identical. */
#include "entropic.h"

static ent_status dp_next(void *ctx) {
    ent_dp_objective *w = ctx;
    return ent_objective_next(&w->inner);
}

static ent_status dp_eval(void *ctx, const float *theta, float *grad, double *loss) {
    ent_dp_objective *w = ctx;
    double l = 0.0;
    ent_status s = ent_objective_eval(&w->inner, theta, grad, &l);
    if (s != ENT_OK) return s;
    if (grad) {
        if ((s = ent_dist_allreduce_sum(grad, w->inner.n_param)) != ENT_OK) return s;
        ent_vec_scal(grad, (float)w->inv_size, w->inner.n_param);
    }
    if ((s = ent_dist_allreduce_sum_f64(&l, 1)) != ENT_OK) return s;
    if (loss) *loss = l * w->inv_size;
    return ENT_OK;
}

ent_objective ent_dist_data_parallel(ent_dp_objective *w, ent_objective inner) {
    w->inner = inner;
    w->inv_size = 1.0 / ent_dist_size();
    ent_objective o = {.n_param = inner.n_param, .ctx = w,
                       .next_batch = inner.next_batch ? dp_next : NULL, .eval = dp_eval,
                       .n_tensors = inner.n_tensors, .tensor_ends = inner.tensor_ends};
    return o;
}
