/* optim_internal.h — the ent_optim object and the per-rule kernels, shared
 * by optim.c (object, dispatch, state) and sgd.c / adam.c / entropy_sgd.c
 * (update rules). Internal to the library. */
#ifndef ENT_OPTIM_INTERNAL_H
#define ENT_OPTIM_INTERNAL_H

#include "core/par.h"
#include "core/pieces.h"
#include "entropic.h"

/* Parameter checks: `!(cond)` so that NaN (every comparison false) is
 * always rejected; returns ENT_EUSAGE naming the parameter. */
#define ENT_REQUIRE(cond, name, val, rule)                                  \
    do {                                                                    \
        if (!(cond))                                                        \
            return ent_fail(ENT_EUSAGE, "optimizer parameter %s = %g: %s",  \
                            name, (double)(val), rule);                     \
    } while (0)

/* Defaults and checks of the kinds after Entropy-SGD (params_relax.c). */
void ent_optim_params_relax_defaults(ent_optim_params *p, ent_optim_kind kind);
ent_status ent_optim_params_check_relax(const ent_optim_params *p);

/* Every vector is float[n] from ent_alloc, allocated in ent_optim_new when
 * the configuration uses it, else NULL. */
struct ent_optim {
    ent_optim_params p;
    int64_t n;
    int64_t t;       /* updates done (Adam's step count is t + 1 in a step) */
    double gamma0_given; /* gamma_auto: the given gamma0, kept if the automatic one is undefined */
    ent_rng rng;     /* SGLD noise (Entropy-SGD) */
    float *grad;     /* scratch: the gradient / outer gradient */
    float *momentum; /* SGD buffer; Entropy-SGD outer buffer */
    float *adam_m, *adam_v;          /* Adam; Entropy-Adam outer moments */
    float *x_prime, *mu;             /* Entropy-SGD chain and its average */
    float *noise;                    /* SGLD and HEAT: sigma * N(0, I) (Entropy-SGD draws its noise per chunk, on the stack) */
    float *inner_momentum;           /* Entropy-SGD inner SGD buffer */
    float *inner_adam_m, *inner_adam_v; /* Entropy-SGD inner Adam moments */
    float *scratch, *scratch2;       /* SAM, HJ-prox, HEAT work vectors; Entropy-SGD's grad f(x) for rho (not state) */
};

/* x -= lr * step, where g' = g + wd x and step = g' (m == 0), the heavy-ball
 * buffer buf = m buf + c g' (nesterov 0), or g' + m buf (nesterov 1):
 * PyTorch SGD, with c = ent_sgd_grad_weight (1 on the first step, then
 * 1 - dampening). buf may be NULL when m == 0. The apply functions split
 * their work by sp (core/pieces.h; ent_pieces_of(NULL, n) for a vector
 * that is one tensor). */
void ent_sgd_apply(float *x, const float *g, float *buf, int64_t n,
                   float lr, float wd, float m, float c, int nesterov, const ent_pieces *sp);
float ent_sgd_grad_weight(const ent_optim *o);
/* PyTorch Adam with L2 weight decay: g' = g + wd x; m, v moments; step
 * number t >= 1 (bias corrections 1 - b^t). */
void ent_adam_apply(float *x, const float *g, float *m, float *v, int64_t n,
                    double lr, double wd, double b1, double b2, double eps,
                    int64_t t, const ent_pieces *sp);

ent_status ent_sgd_step(ent_optim *o, const ent_objective *obj, float *theta,
                        double lr_scale, double *loss);
ent_status ent_adam_step(ent_optim *o, const ent_objective *obj, float *theta,
                         double lr_scale, double *loss);
ent_status ent_esgd_step(ent_optim *o, const ent_objective *obj, float *theta,
                         double lr_scale, double *loss);
ent_status ent_sgld_step(ent_optim *o, const ent_objective *obj, float *theta,
                         double lr_scale, double *loss);
ent_status ent_sam_step(ent_optim *o, const ent_objective *obj, float *theta,
                        double lr_scale, double *loss);
ent_status ent_hj_prox_step(ent_optim *o, const ent_objective *obj, float *theta,
                            double lr_scale, double *loss);
ent_status ent_heat_step(ent_optim *o, const ent_objective *obj, float *theta,
                         double lr_scale, double *loss);

/* A fresh batch and the gradient at x into o->grad (*loss its loss). */
ent_status ent_optim_grad_at(ent_optim *o, const ent_objective *obj, const float *x, double *loss);

/* The base update of SAM, HJ-prox and HEAT: x -= lr rule(g), rule = SGD
 * (momentum, Nesterov, weight decay wd) or Adam (outer_rule); step t + 1. */
void ent_optim_base_apply(ent_optim *o, float *x, const float *g, double lr, double wd,
                          const ent_pieces *sp);

/* SGLD step eta_t = lr (1 + t / t0)^(-decay) (before lr_scale). */
double ent_sgld_step_size(const ent_optim_params *p, int64_t t);
/* Whether the Entropy-SGD loop evaluates grad f(x) too: grad_at_x, or rho > 0. */
static inline int ent_esgd_grad_at_x(const ent_optim_params *p) { return p->grad_at_x || p->rho > 0.0; }
/* gamma0 (1 + gamma1)^t, capped at gamma_max when gamma_max > 0. */
double ent_esgd_gamma_at(const ent_optim_params *p, int64_t t);

#endif
