/* params_relax.c — defaults and range checks of the optimizers added after
 * Entropy-SGD: SGLD, SAM, the Deep-Relaxation pair HJ-prox / HEAT, and the
 * replica methods (replicated-sgd, elastic-sgd, parle). Sources of the
 * defaults, in docs/algorithms.md: §4.1 (SGLD, Welling and Teh), §4.2
 * (SAM, Foret et al. 2021), §4.4-§4.5 (the Deep Relaxation code's FP and
 * HEAT), §5.2 (sacreddnn's rSGD), §5.3 (EASGD), §5.4 (Parle's code). */
#include <math.h>

#include "optim_internal.h"

/* SGD with Nesterov momentum 0.9 as the base rule (the DR code's and
 * sacreddnn's choice). */
static void nesterov_base(ent_optim_params *p, double lr) {
    p->lr = lr;
    p->momentum = 0.9;
    p->nesterov = 1;
}

void ent_optim_params_relax_defaults(ent_optim_params *p, ent_optim_kind kind) {
    switch (kind) {
    case ENT_OPTIM_SGLD:
        /* Welling-Teh: eta_t = a (b + t)^-0.55 style decay; the gradient
         * step is eta_t / 2, so lr 0.2 starts like SGD at 0.1. */
        p->lr = 0.2;
        p->noise = 1e-3;
        p->sgld_t0 = 1000.0;
        p->sgld_decay = 0.55;
        break;
    case ENT_OPTIM_SAM: /* Foret et al.: SGD momentum 0.9, rho 0.05 */
        p->lr = 0.1;
        p->momentum = 0.9;
        p->nesterov = 0;
        p->sam_rho = 0.05;
        break;
    case ENT_OPTIM_HJ_PROX:
        /* DR's FP: p <- 0.75 p + 0.25 grad f(x - t p); t = 1/gamma. */
        nesterov_base(p, 0.1);
        p->L = 5;
        p->gamma0 = 1.0;
        p->gamma1 = 0.0;
        p->alpha = 0.25;
        break;
    case ENT_OPTIM_HEAT:
        /* Smoothing radius sqrt(t) = 0.01 per weight (gamma = 1e4). */
        nesterov_base(p, 0.1);
        p->L = 5;
        p->gamma0 = 1e4;
        p->gamma1 = 0.0;
        break;
    case ENT_OPTIM_REPLICATED_SGD:
        /* sacreddnn robust_dnn.py: nesterov, lr 0.1, wd 5e-4, g automatic,
         * grate automatic with gmax 1e4, exponential schedule, gtime 1. */
        nesterov_base(p, 0.1);
        p->weight_decay = 5e-4;
        p->coupling = 1e-3;
        p->coupling_auto = 1;
        p->coupling_schedule = ENT_COUPLING_EXP;
        p->coupling_rate_auto = 1;
        p->coupling_growth = 1e4;
        /* No cap, as the paper: the coupling term is taken implicitly
         * (coupling_explicit 0, replica/couple.c), which is stable for any
         * g. The explicit formula with Nesterov 0.9 is stable only for
         * lr 2g < 1.36, and diverged uncapped once g passed ~7 at lr 0.1. */
        p->coupling_max = 0.0;
        break;
    case ENT_OPTIM_ELASTIC_SGD:
        /* EASGD: workers start together; alpha = lr rho = 0.1. */
        nesterov_base(p, 0.1);
        p->coupling = 1.0;
        p->coupling_schedule = ENT_COUPLING_NONE;
        p->coupling_rate_auto = 0;
        p->same_init = 1;
        break;
    case ENT_OPTIM_PARLE:
        /* parle_mpi.py / distributed-ensembles: L 25, gamma 0.01 growing to
         * at most 1, no Langevin noise, mu <- 0.75 mu + 0.25 x', Nesterov
         * 0.9 inside and out, lr 0.1; rho grows exponentially up to 10
         * (the code's (1 + 0.5/nb)^k, here 0.5 per effective epoch). */
        nesterov_base(p, 0.1);
        p->L = 25;
        p->gamma0 = 0.01;
        p->gamma1 = 1e-3;
        p->gamma_max = 1.0;
        p->noise = 0.0;
        p->alpha = 0.25;
        p->coupling = 0.1;
        p->coupling_schedule = ENT_COUPLING_EXP;
        p->coupling_rate = 0.5;
        p->coupling_rate_auto = 0;
        p->coupling_max = 10.0;
        p->same_init = 1;
        break;
    default:
        break;
    }
}

#define REQUIRE ENT_REQUIRE

static ent_status check_scope(const ent_optim_params *p) {
    REQUIRE(p->L >= 1 && p->L <= ENT_MAX_L, "L", (double)p->L, "must be in 1..100000 (ENT_MAX_L)");
    REQUIRE(p->gamma0 > 0.0 && isfinite(p->gamma0), "gamma0", p->gamma0, "must be > 0 and finite");
    REQUIRE(p->gamma1 >= 0.0 && isfinite(p->gamma1), "gamma1", p->gamma1, "must be >= 0 and finite");
    REQUIRE(p->gamma_max >= 0.0 && isfinite(p->gamma_max), "gamma_max", p->gamma_max,
            "must be >= 0 (0 = no cap) and finite");
    return ENT_OK;
}

static ent_status check_coupling(const ent_optim_params *p) {
    REQUIRE(p->replicas >= 1 && p->replicas <= ENT_MAX_REPLICAS, "replicas", (double)p->replicas,
            "must be in 1..1024 (ENT_MAX_REPLICAS)");
    REQUIRE(p->coupling >= 0.0 && isfinite(p->coupling), "coupling", p->coupling,
            "must be >= 0 and finite");
    REQUIRE(p->coupling_schedule >= ENT_COUPLING_NONE && p->coupling_schedule <= ENT_COUPLING_COSINE,
            "coupling_schedule", (double)p->coupling_schedule, "must be none, exp, lin or cosine");
    REQUIRE(p->coupling_rate >= 0.0 && isfinite(p->coupling_rate), "coupling_rate", p->coupling_rate,
            "must be >= 0 and finite");
    REQUIRE(p->coupling_growth > 0.0 && isfinite(p->coupling_growth), "coupling_growth",
            p->coupling_growth, "must be > 0 and finite");
    REQUIRE(p->coupling_max >= 0.0 && isfinite(p->coupling_max), "coupling_max", p->coupling_max,
            "must be >= 0 (0 = no cap) and finite");
    if (p->coupling_schedule == ENT_COUPLING_COSINE)
        REQUIRE(p->coupling_max > 0.0, "coupling_max", p->coupling_max,
                "the cosine schedule needs its peak coupling_max > 0");
    REQUIRE(p->coupling_every >= 1, "coupling_every", (double)p->coupling_every, "must be >= 1");
    REQUIRE(!p->center || p->kind == ENT_OPTIM_REPLICATED_SGD, "center", (double)p->center,
            "an explicit centre is an option of replicated-sgd (elastic-sgd always has one)");
    return ENT_OK;
}

ent_status ent_optim_params_check_relax(const ent_optim_params *p) {
    switch (p->kind) {
    case ENT_OPTIM_SGLD:
        REQUIRE(p->noise >= 0.0 && isfinite(p->noise), "noise", p->noise, "must be >= 0 and finite");
        REQUIRE(p->sgld_t0 > 0.0 && isfinite(p->sgld_t0), "sgld_t0", p->sgld_t0, "must be > 0 and finite");
        REQUIRE(p->sgld_decay >= 0.0 && p->sgld_decay <= 1.0, "sgld_decay", p->sgld_decay,
                "must be in [0, 1] (Welling-Teh: (0.5, 1] for convergence)");
        return ENT_OK;
    case ENT_OPTIM_SAM:
        REQUIRE(p->sam_rho >= 0.0 && isfinite(p->sam_rho), "sam_rho", p->sam_rho, "must be >= 0 and finite");
        return ENT_OK;
    case ENT_OPTIM_HJ_PROX:
        REQUIRE(p->alpha > 0.0 && p->alpha <= 1.0, "alpha", p->alpha, "must be in (0, 1]");
        return check_scope(p);
    case ENT_OPTIM_HEAT:
        return check_scope(p);
    case ENT_OPTIM_REPLICATED_SGD:
    case ENT_OPTIM_ELASTIC_SGD:
    case ENT_OPTIM_PARLE:
        return check_coupling(p);
    default:
        return ENT_OK;
    }
}
