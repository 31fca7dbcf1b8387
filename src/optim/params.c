/* params.c — optimizer hyper-parameters: defaults (PyTorch for SGD/Adam/AdamW,
 * the Entropy-SGD paper's MNIST settings for Entropy-SGD), the reference
 * Lua code's conventions (docs/algorithms.md §3.4), range checks, kind names. */
#include <math.h>
#include <string.h>

#include "optim_internal.h"

ent_optim_params ent_optim_params_default(ent_optim_kind kind) {
    ent_optim_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    /* Adam moments are set for every kind (Entropy-Adam uses them too). */
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.adam_eps = 1e-8;
    /* Entropy-SGD fields: the paper's MNIST settings (docs/algorithms.md
     * §3.2, §7). */
    p.L = 20;
    p.gamma0 = 1e-4;
    p.gamma1 = 1e-3;
    p.gamma_max = 0.0;
    p.sgld_lr = 0.1;
    p.noise = 1e-4;
    p.noise_code = 0;
    p.alpha = 0.75;
    p.inner_momentum = 0.9;
    p.inner_nesterov = 1;
    p.inner_momentum_grad_only = 0;
    p.inner_weight_decay = 0.0;
    p.outer_unscaled = 0;
    p.outer_rule = ENT_UPDATE_SGD;
    p.inner_rule = ENT_UPDATE_SGD;
    p.grad_at_x = 0;
    p.sgld_t0 = 1000.0;
    p.sgld_decay = 0.0;
    p.sam_rho = 0.05;
    p.replicas = 0;
    p.coupling_every = 1;
    p.coupling_growth = 1e4;
    p.coupling_rate_auto = 1;
    switch (kind) {
    case ENT_OPTIM_SGD:
        /* torch.optim.SGD: momentum 0, dampening 0, no Nesterov, weight
         * decay 0 (the memset). lr is ours: torch's 1e-3 is far too small
         * for plain SGD on these networks. */
        p.lr = 0.1;
        break;
    case ENT_OPTIM_ADAM:
        p.lr = 1e-3;
        break;
    case ENT_OPTIM_ADAMW: /* torch.optim.AdamW's defaults */
        p.lr = 1e-3;
        p.weight_decay = 1e-2;
        break;
    case ENT_OPTIM_HJB:
        /* Deep Relaxation's HJB (its code's HJB class): the Entropy-SGD
         * loop made nearly noiseless, with mu nearly the last iterate, and
         * the class's outer step, lr 0.1 with Nesterov 0.9 (with lr 1 and
         * no momentum x jumps to the last iterate: small-mnistfc on 5000
         * samples, 10 effective epochs, 40% test error against 18%). */
        p.noise = 1e-8;
        p.sgld_lr = 0.25;
        p.alpha = 1.0 - 1e-4;
        p.lr = 0.1;
        p.momentum = 0.9;
        p.nesterov = 1;
        break;
    case ENT_OPTIM_ENTROPY_SGD:
    default:
        /* Outer step: x <- x - eta (x - mu), eta = 1, no momentum (the Lua
         * code that produced the paper's numbers has none). */
        p.lr = 1.0;
        break;
    case ENT_OPTIM_SGLD:
    case ENT_OPTIM_SAM:
    case ENT_OPTIM_HJ_PROX:
    case ENT_OPTIM_HEAT:
    case ENT_OPTIM_REPLICATED_SGD:
    case ENT_OPTIM_ELASTIC_SGD:
    case ENT_OPTIM_PARLE:
        ent_optim_params_relax_defaults(&p, kind);
        break;
    }
    return p;
}

void ent_optim_params_reference_code(ent_optim_params *p) {
    if (!p) return;
    p->alpha = 0.25;                 /* mu <- 0.75 mu + 0.25 x' */
    p->noise_code = 1;               /* std = eps sqrt(2 eta') */
    p->inner_momentum = 0.9;
    p->inner_nesterov = 1;
    p->inner_momentum_grad_only = 1; /* Nesterov on grad f only */
    p->momentum = 0.0;               /* outer: no momentum ... */
    p->nesterov = 0;
    p->outer_unscaled = 0;           /* ... x <- x - eta (x - mu) */
    p->grad_at_x = 1;                /* the extra gradient at x */
}

static const char *const kind_names[] = {
    "sgd", "adam", "entropy-sgd", "sgld", "sam", "hj-prox", "heat",
    "replicated-sgd", "elastic-sgd", "parle", "adamw", "hjb",
};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == ENT_OPTIM_KIND_COUNT,
               "a name for every optimizer kind");

int ent_optim_kind_is_replica(ent_optim_kind k) {
    return k == ENT_OPTIM_REPLICATED_SGD || k == ENT_OPTIM_ELASTIC_SGD || k == ENT_OPTIM_PARLE;
}

const char *ent_optim_kind_name(ent_optim_kind k) {
    if ((int)k < 0 || (size_t)k >= sizeof kind_names / sizeof kind_names[0])
        return "unknown";
    return kind_names[k];
}

/* Returns 1 and sets *out when s names a kind, else 0. */
int ent_optim_kind_parse(const char *s, ent_optim_kind *out) {
    if (!s) return 0;
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++) {
        if (strcmp(s, kind_names[i]) == 0) {
            if (out) *out = (ent_optim_kind)i;
            return 1;
        }
    }
    return 0;
}

#define REQUIRE ENT_REQUIRE
_Static_assert(ENT_MAX_L == 100000 && ENT_MAX_REPLICAS == 1024, "the limits' messages name these values");

/* Whether the SGD rule (momentum, dampening, Nesterov) updates the weights:
 * plain SGD, and every outer/base step whose rule is SGD. */
static int uses_sgd_momentum(const ent_optim_params *p) {
    if (p->kind == ENT_OPTIM_SGD) return 1;
    if (p->kind == ENT_OPTIM_ADAM || p->kind == ENT_OPTIM_ADAMW || p->kind == ENT_OPTIM_SGLD) return 0;
    return p->outer_rule == ENT_UPDATE_SGD;
}

ent_status ent_optim_params_check(const ent_optim_params *p) {
    if (!p) return ent_fail(ENT_EINVAL, "ent_optim_params_check: params are NULL");
    if ((int)p->kind < ENT_OPTIM_SGD || p->kind >= ENT_OPTIM_KIND_COUNT)
        return ent_fail(ENT_EUSAGE, "optimizer parameter kind = %d: unknown optimizer", (int)p->kind);
    const int esgd = p->kind == ENT_OPTIM_ENTROPY_SGD || p->kind == ENT_OPTIM_HJB ||
                     p->kind == ENT_OPTIM_PARLE || (p->kind == ENT_OPTIM_HEAT && p->heat_code);
    REQUIRE(p->lr > 0.0 && isfinite(p->lr), "lr", p->lr, "must be > 0 and finite");
    REQUIRE(p->momentum >= 0.0 && p->momentum < 1.0, "momentum", p->momentum, "must be in [0, 1)");
    REQUIRE(p->dampening >= 0.0 && p->dampening <= 1.0, "dampening", p->dampening, "must be in [0, 1]");
    REQUIRE(p->weight_decay >= 0.0 && isfinite(p->weight_decay), "weight_decay", p->weight_decay,
            "must be >= 0 and finite");
    REQUIRE(p->beta1 >= 0.0 && p->beta1 < 1.0, "beta1", p->beta1, "must be in [0, 1)");
    REQUIRE(p->beta2 >= 0.0 && p->beta2 < 1.0, "beta2", p->beta2, "must be in [0, 1)");
    REQUIRE(p->adam_eps > 0.0 && isfinite(p->adam_eps), "adam_eps", p->adam_eps, "must be > 0 and finite");
    /* Nesterov needs momentum and no dampening (torch.optim.SGD raises
     * otherwise), where SGD momentum is used: plain SGD, and every
     * outer/base SGD step. */
    if (uses_sgd_momentum(p)) {
        REQUIRE(!(p->nesterov && p->momentum == 0.0), "nesterov", (double)p->nesterov,
                "Nesterov requires momentum > 0 (as torch.optim.SGD)");
        REQUIRE(!(p->nesterov && p->dampening != 0.0), "dampening", p->dampening,
                "Nesterov requires dampening 0 (as torch.optim.SGD)");
    }
    REQUIRE(p->outer_rule == ENT_UPDATE_SGD || p->outer_rule == ENT_UPDATE_ADAM, "outer_rule",
            (double)p->outer_rule, "must be SGD (0) or ADAM (1)");
    ent_status s = ent_optim_params_check_relax(p);
    if (s != ENT_OK) return s;
    if (!esgd) return ENT_OK;
    REQUIRE(p->L >= 1 && p->L <= ENT_MAX_L, "L", (double)p->L, "must be in 1..100000 (ENT_MAX_L)");
    REQUIRE(p->gamma0 > 0.0 && isfinite(p->gamma0), "gamma0", p->gamma0, "must be > 0 and finite");
    REQUIRE(p->gamma1 >= 0.0 && isfinite(p->gamma1), "gamma1", p->gamma1, "must be >= 0 and finite");
    REQUIRE(p->gamma_max >= 0.0 && isfinite(p->gamma_max), "gamma_max", p->gamma_max,
            "must be >= 0 (0 = no cap) and finite");
    REQUIRE(p->sgld_lr > 0.0 && isfinite(p->sgld_lr), "sgld_lr", p->sgld_lr, "must be > 0 and finite");
    REQUIRE(p->noise >= 0.0 && isfinite(p->noise), "noise", p->noise, "must be >= 0 and finite");
    REQUIRE(p->noise_code == 0 || p->noise_code == 1, "noise_code", (double)p->noise_code,
            "must be 0 (eps sqrt(eta')) or 1 (eps sqrt(2 eta'))");
    REQUIRE(p->alpha > 0.0 && p->alpha <= 1.0, "alpha", p->alpha, "must be in (0, 1]");
    REQUIRE(p->inner_momentum >= 0.0 && p->inner_momentum < 1.0, "inner_momentum", p->inner_momentum,
            "must be in [0, 1)");
    REQUIRE(p->inner_weight_decay >= 0.0 && isfinite(p->inner_weight_decay), "inner_weight_decay",
            p->inner_weight_decay, "must be >= 0 and finite");
    REQUIRE(p->inner_rule == ENT_UPDATE_SGD || p->inner_rule == ENT_UPDATE_ADAM, "inner_rule",
            (double)p->inner_rule, "must be SGD (0) or ADAM (1)");
    if (p->inner_rule == ENT_UPDATE_SGD)
        REQUIRE(!(p->inner_nesterov && p->inner_momentum == 0.0), "inner_nesterov",
                (double)p->inner_nesterov, "Nesterov requires inner_momentum > 0");
    REQUIRE(p->rho >= 0.0 && isfinite(p->rho), "rho", p->rho, "must be >= 0 and finite");
    if (p->gamma_auto)
        REQUIRE(p->gamma_max > 0.0, "gamma_max", p->gamma_max, "the automatic scope needs gamma_max > 0");
    return ENT_OK;
}
