/* couple.c — one step of each replica method (replicas.c drives them).
 *
 * replicated-sgd (sacreddnn's RobustNet, docs/algorithms.md §5.2): the coupling
 * gradient 2 g (x_a - c) joins the data gradient before the replica's rule
 * (so momentum and Adam see both), c = the detached replica mean, or the
 * explicit centre, which then takes its own rule step on
 * 2 g sum_a (c - x_a). Coupling every k steps uses k g. With the SGD rule
 * and the mean as centre the term is taken implicitly by default, at the
 * replicas' new points and their new mean (optim/coupled.h, why in
 * optim/sgd_coupled.c): the same step for small lr g, stable for any g,
 * so the paper's growth of g needs no cap. coupling_explicit = 1, Adam or
 * an explicit centre keep the explicit formula.
 *
 * elastic-sgd (synchronous EASGD) and parle: the replica's own step
 * (SGD/Adam, or one Entropy-SGD update), then the elastic pull computed from
 * the replicas before the step (Jacobi order, as in Zhang et al.):
 *   x_a <- x_a - a (x_a^- - c),   a = lr rho k
 *   c   <- c + y a (mean x^- - c)            (EASGD's explicit centre)
 *   c    = mean x                            (Parle's master)
 * a is capped at 1/y for EASGD (the centre's step y a <= 1) and at 1 for
 * Parle, so a pull never overshoots when rho grows. */
#include "core/par.h"
#include "core/pieces.h"
#include "optim/coupled.h"
#include "replica/replica_internal.h"

/* Objective + k (theta - c) in the gradient: the coupling term of rSGD. */
typedef struct {
    ent_objective inner;
    const float *c;
    float k;
} coupled;

static ent_status coupled_next(void *ctx) { return ent_objective_next(&((coupled *)ctx)->inner); }

static ent_status coupled_eval(void *ctx, const float *x, float *grad, double *loss) {
    const coupled *w = ctx;
    ent_status s = ent_objective_eval(&w->inner, x, grad, loss);
    if (s != ENT_OK || !grad || w->k == 0.0f) return s;
    const int64_t n = w->inner.n_param;
    const float k = w->k, *restrict c = w->c;
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) grad[i] += k * (x[i] - c[i]);
    return ENT_OK;
}

/* The explicit centre's objective: no data, gradient k (c - mean), loss 0. */
static ent_status center_eval(void *ctx, const float *x, float *grad, double *loss) {
    const coupled *w = ctx;
    const int64_t n = w->inner.n_param;
    const float k = w->k, *restrict m = w->c;
#pragma omp parallel for simd if (parallel : n > ENT_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) grad[i] = k * (x[i] - m[i]);
    if (loss) *loss = 0.0;
    return ENT_OK;
}

/* Whether this run's rSGD takes the coupling implicitly. */
static int rsgd_implicit(const ent_optim_params *p) {
    return !p->coupling_explicit && !p->center && p->outer_rule == ENT_UPDATE_SGD;
}

/* Free steps, their mean c, then each replica's contraction toward c with
 * its buffer fed G + k (x_new - c), k = 2 g. */
static ent_status rsgd_implicit_step(ent_replicas *r, const ent_objective *objs, double lr_scale,
                                     double g, double *lsum) {
    const int64_t n = r->n;
    ent_status s = ENT_OK;
    for (int i = 0; s == ENT_OK && i < r->n_local; i++) {
        double l = 0.0;
        s = ent_sgd_free_step(r->opt[i], &objs[i], r->theta + i * n, lr_scale, &l);
        *lsum += l;
    }
    if (s == ENT_OK) s = ent_replicas_mean(r, r->center);
    const double k = 2.0 * g;
    for (int i = 0; s == ENT_OK && i < r->n_local; i++) {
        const double a = k * ent_sgd_coupling_share(r->opt[i], lr_scale);
        const ent_pieces sp = ent_pieces_of(&objs[i], n);
        ent_sgd_coupled_finish(r->opt[i], r->theta + i * n, r->center, (float)k, (float)(1.0 / (1.0 + a)), &sp);
    }
    return s;
}

ent_status ent_rsgd_step(ent_replicas *r, const ent_objective *objs, double lr_scale,
                         double g, int couple, double *lsum) {
    const int64_t n = r->n;
    couple = couple && g > 0.0;
    if (couple && rsgd_implicit(&r->p)) return rsgd_implicit_step(r, objs, lr_scale, g, lsum);
    const float *c = r->center; /* the mean (computed here) or the explicit centre */
    ent_status s = ENT_OK;
    if (couple) s = ent_replicas_mean(r, r->p.center ? r->mean : r->center);
    for (int i = 0; s == ENT_OK && i < r->n_local; i++) {
        coupled w = {objs[i], c, couple ? (float)(2.0 * g) : 0.0f};
        ent_objective o = {.n_param = n, .ctx = &w,
                           .next_batch = objs[i].next_batch ? coupled_next : NULL,
                           .eval = coupled_eval, .n_tensors = objs[i].n_tensors,
                           .tensor_ends = objs[i].tensor_ends};
        double l = 0.0;
        s = ent_optim_step(r->opt[i], &o, r->theta + i * n, lr_scale, &l);
        *lsum += l;
    }
    if (s != ENT_OK || !couple || !r->p.center) return s;
    /* d/dc of g sum_a |x_a - c|^2 = 2 g y (c - mean) */
    coupled w = {{.n_param = n}, r->mean, (float)(2.0 * g * r->y)};
    ent_objective o = {.n_param = n, .ctx = &w, .eval = center_eval};
    return ent_optim_step(r->copt, &o, r->center, lr_scale, NULL);
}

ent_status ent_elastic_step(ent_replicas *r, const ent_objective *objs, double lr_scale,
                            double g, int couple, double *lsum) {
    const int64_t n = r->n;
    const int easgd = r->p.kind == ENT_OPTIM_ELASTIC_SGD;
    couple = couple && g > 0.0;
    ent_status s = ENT_OK;
    if (couple) { /* the pull's targets, from the replicas before the step */
        float *m = easgd ? r->mean : r->center;
        s = ent_replicas_mean(r, m);
        for (int i = 0; s == ENT_OK && i < r->n_local; i++) {
            float *d = r->diff + i * n;
            ent_vec_copy(d, r->theta + i * n, n);
            ent_vec_axpy(d, -1.0f, r->center, n);
        }
    }
    for (int i = 0; s == ENT_OK && i < r->n_local; i++) {
        double l = 0.0;
        s = ent_optim_step(r->opt[i], &objs[i], r->theta + i * n, lr_scale, &l);
        *lsum += l;
    }
    if (s != ENT_OK || !couple) return s;
    double a = r->p.lr * lr_scale * g, cap = easgd ? 1.0 / r->y : 1.0;
    if (a > cap) a = cap;
    for (int i = 0; i < r->n_local; i++) ent_vec_axpy(r->theta + i * n, (float)-a, r->diff + i * n, n);
    if (easgd) ent_vec_axpby(r->center, (float)(r->y * a), r->mean, (float)(1.0 - r->y * a), n);
    return ENT_OK;
}
