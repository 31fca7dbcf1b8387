/* optim_internal.h — the ent_optim object and the per-rule kernels, shared
 * by optim.c (object, dispatch, state) and sgd.c / adam.c / entropy_sgd.c
 * (update rules). Internal to the library. */
#ifndef ENT_OPTIM_INTERNAL_H
#define ENT_OPTIM_INTERNAL_H

#include "entropic.h"

/* Vector loops fork an OpenMP team only above this length. */
#define ENT_OPTIM_PAR_MIN 32768

/* Every vector is float[n] from ent_alloc, allocated in ent_optim_new when
 * the configuration uses it, else NULL. */
struct ent_optim {
    ent_optim_params p;
    int64_t n;
    int64_t t;       /* updates done (Adam's step count is t + 1 in a step) */
    ent_rng rng;     /* SGLD noise (Entropy-SGD) */
    float *grad;     /* scratch: the gradient / outer gradient */
    float *momentum; /* SGD buffer; Entropy-SGD outer buffer */
    float *adam_m, *adam_v;          /* Adam; Entropy-Adam outer moments */
    float *x_prime, *mu;             /* Entropy-SGD chain and its average */
    float *noise;                    /* Entropy-SGD scratch: sigma * N(0, I) */
    float *inner_momentum;           /* Entropy-SGD inner SGD buffer */
    float *inner_adam_m, *inner_adam_v; /* Entropy-SGD inner Adam moments */
};

/* x -= lr * step, where g' = g + wd x and step = g' (m == 0), the heavy-ball
 * buffer buf = m buf + g' (nesterov 0), or g' + m buf (nesterov 1):
 * PyTorch SGD with dampening 0. buf may be NULL when m == 0. */
void ent_sgd_apply(float *x, const float *g, float *buf, int64_t n,
                   float lr, float wd, float m, int nesterov);
/* PyTorch Adam with L2 weight decay: g' = g + wd x; m, v moments; step
 * number t >= 1 (bias corrections 1 - b^t). */
void ent_adam_apply(float *x, const float *g, float *m, float *v, int64_t n,
                    double lr, double wd, double b1, double b2, double eps,
                    int64_t t);

ent_status ent_sgd_step(ent_optim *o, const ent_objective *obj, float *theta,
                        double lr_scale, double *loss);
ent_status ent_adam_step(ent_optim *o, const ent_objective *obj, float *theta,
                         double lr_scale, double *loss);
ent_status ent_esgd_step(ent_optim *o, const ent_objective *obj, float *theta,
                         double lr_scale, double *loss);

/* gamma0 (1 + gamma1)^t, capped at gamma_max when gamma_max > 0. */
double ent_esgd_gamma_at(const ent_optim_params *p, int64_t t);

#endif
