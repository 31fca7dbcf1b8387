/* optim.c — the ent_optim object: every state vector allocated once, up
 * front; dispatch to the update rules; named state for checkpoints.
 *
 * Resume contract: the state vectors plus the scalars "t", "rng_key",
 * "rng_counter" are the whole state between steps, so restoring them into a
 * fresh optimizer built with the same params and n makes the following
 * steps bit-identical to an uninterrupted run (with the same objective
 * stream and thread-independent kernels: every loop here is elementwise). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim_internal.h"

void ent_optim_free(ent_optim *o) {
    if (!o) return;
    ent_free_aligned(o->grad);
    ent_free_aligned(o->momentum);
    ent_free_aligned(o->adam_m);
    ent_free_aligned(o->adam_v);
    ent_free_aligned(o->x_prime);
    ent_free_aligned(o->mu);
    ent_free_aligned(o->noise);
    ent_free_aligned(o->inner_momentum);
    ent_free_aligned(o->inner_adam_m);
    ent_free_aligned(o->inner_adam_v);
    ent_free_aligned(o->scratch);
    ent_free_aligned(o->scratch2);
    free(o);
}

static int vec_alloc(float **v, int64_t n) {
    *v = ent_alloc((size_t)n * sizeof(float));
    return *v != NULL;
}

/* The Entropy-SGD loop's vectors: the chain, its average, the inner
 * buffers, grad f(x) for rho (the noise is drawn inside the update pass:
 * no vector for it). */
static int esgd_alloc(ent_optim *o) {
    const ent_optim_params *p = &o->p;
    const int64_t n = o->n;
    int ok = vec_alloc(&o->x_prime, n) && vec_alloc(&o->mu, n);
    if (p->inner_rule == ENT_UPDATE_ADAM)
        ok = ok && vec_alloc(&o->inner_adam_m, n) && vec_alloc(&o->inner_adam_v, n);
    else if (p->inner_momentum > 0.0)
        ok = ok && vec_alloc(&o->inner_momentum, n);
    if (p->rho > 0.0) ok = ok && vec_alloc(&o->scratch, n);
    return ok;
}

ent_status ent_optim_new(ent_optim **out, const ent_optim_params *p,
                         int64_t n_param, uint64_t seed) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_optim_new: out is NULL");
    *out = NULL;
    ent_status s = ent_optim_params_check(p);
    if (s != ENT_OK) return s;
    if (ent_optim_kind_is_replica(p->kind))
        return ent_fail(ENT_EINVAL, "ent_optim_new: %s is a replica method: use ent_replicas_new",
                        ent_optim_kind_name(p->kind));
    if (n_param < 1)
        return ent_fail(ENT_EINVAL, "ent_optim_new: n_param = %lld, must be >= 1", (long long)n_param);
    if (p->gamma_auto && p->gamma_auto_updates < 1)
        return ent_fail(ENT_EINVAL, "ent_optim_new: the automatic scope needs the run's updates (gamma_auto_updates >= 1)");
    ent_optim *o = calloc(1, sizeof *o);
    if (!o) return ent_fail(ENT_ENOMEM, "ent_optim_new: out of memory");
    o->loss_x = NAN; /* no step yet */
    o->p = *p;
    o->n = n_param;
    o->gamma0_given = p->gamma0;
    if (p->gamma_auto) o->p.gamma0 = 0.0, o->p.gamma1 = 0.0; /* set after the first update */
    ent_rng_init(&o->rng, seed, 0);
    const int64_t n = n_param;
    int ok = vec_alloc(&o->grad, n);
    int sgd_mom = 0, adam = 0;
    switch (p->kind) {
    case ENT_OPTIM_SGD:
        sgd_mom = p->momentum > 0.0;
        break;
    case ENT_OPTIM_ADAM:
    case ENT_OPTIM_ADAMW:
        adam = 1;
        break;
    case ENT_OPTIM_ENTROPY_SGD:
    case ENT_OPTIM_HJB:
        sgd_mom = p->outer_rule == ENT_UPDATE_SGD && p->momentum > 0.0;
        adam = p->outer_rule == ENT_UPDATE_ADAM;
        ok = ok && esgd_alloc(o);
        break;
    case ENT_OPTIM_SGLD:
        ok = ok && vec_alloc(&o->noise, n);
        break;
    case ENT_OPTIM_SAM:
    case ENT_OPTIM_HJ_PROX:
    case ENT_OPTIM_HEAT:
        sgd_mom = p->outer_rule == ENT_UPDATE_SGD && p->momentum > 0.0;
        adam = p->outer_rule == ENT_UPDATE_ADAM;
        if (p->heat_code) {
            ok = ok && esgd_alloc(o);
            break;
        }
        ok = ok && vec_alloc(&o->scratch, n);
        if (p->kind != ENT_OPTIM_SAM) ok = ok && vec_alloc(&o->scratch2, n);
        if (p->kind == ENT_OPTIM_HEAT) ok = ok && vec_alloc(&o->noise, n);
        break;
    default:
        break;
    }
    if (sgd_mom) ok = ok && vec_alloc(&o->momentum, n);
    if (adam) ok = ok && vec_alloc(&o->adam_m, n) && vec_alloc(&o->adam_v, n);
    if (!ok) {
        ent_optim_free(o);
        return ent_fail(ENT_ENOMEM, "ent_optim_new: out of memory for %s state (n_param = %lld)",
                        ent_optim_kind_name(p->kind), (long long)n_param);
    }
    *out = o;
    return ENT_OK;
}

ent_status ent_optim_step(ent_optim *o, const ent_objective *obj,
                          float *theta, double lr_scale, double *loss) {
    if (!o || !obj || !obj->eval || !theta)
        return ent_fail(ENT_EINVAL, "ent_optim_step: NULL optimizer, objective or theta");
    if (obj->n_param != o->n)
        return ent_fail(ENT_ESHAPE, "ent_optim_step: objective has %lld parameters, optimizer %lld",
                        (long long)obj->n_param, (long long)o->n);
    if (!(lr_scale >= 0.0) || !isfinite(lr_scale))
        return ent_fail(ENT_EINVAL, "ent_optim_step: lr_scale = %g, must be >= 0 and finite", lr_scale);
    double l = 0.0;
    ent_status s;
    o->loss_x = NAN; /* Entropy-SGD sets its own; the one-batch rules' is their loss */
    switch (o->p.kind) {
    case ENT_OPTIM_SGD: s = ent_sgd_step(o, obj, theta, lr_scale, &l); break;
    case ENT_OPTIM_ADAM:
    case ENT_OPTIM_ADAMW: s = ent_adam_step(o, obj, theta, lr_scale, &l); break;
    case ENT_OPTIM_ENTROPY_SGD:
    case ENT_OPTIM_HJB: s = ent_esgd_step(o, obj, theta, lr_scale, &l); break;
    case ENT_OPTIM_SGLD: s = ent_sgld_step(o, obj, theta, lr_scale, &l); break;
    case ENT_OPTIM_SAM: s = ent_sam_step(o, obj, theta, lr_scale, &l); break;
    case ENT_OPTIM_HJ_PROX: s = ent_hj_prox_step(o, obj, theta, lr_scale, &l); break;
    case ENT_OPTIM_HEAT:
        s = o->p.heat_code ? ent_esgd_step(o, obj, theta, lr_scale, &l) : ent_heat_step(o, obj, theta, lr_scale, &l);
        break;
    default: return ent_fail(ENT_EINVAL, "ent_optim_step: unknown kind %d", (int)o->p.kind);
    }
    if (s != ENT_OK) return s;
    const int sets_own = o->p.kind == ENT_OPTIM_ENTROPY_SGD || o->p.kind == ENT_OPTIM_HJB || o->p.kind == ENT_OPTIM_HEAT;
    if (!sets_own) o->loss_x = l; /* the one-batch rules: their loss is f at x */
    o->t++;
    if (loss) *loss = l;
    return ENT_OK;
}

double ent_optim_loss_at_x(const ent_optim *o) { return o ? o->loss_x : NAN; }

int ent_optim_grads_per_step(const ent_optim *o) {
    if (!o) return 0;
    switch (o->p.kind) {
    case ENT_OPTIM_ENTROPY_SGD:
    case ENT_OPTIM_HJB: return o->p.L + (ent_esgd_grad_at_x(&o->p) ? 1 : 0);
    case ENT_OPTIM_SAM: return 2;             /* at x and at x + e, one batch */
    case ENT_OPTIM_HJ_PROX: return o->p.L + 1; /* p0 at x, then L fixed-point steps */
    case ENT_OPTIM_HEAT: return o->p.L + (o->p.heat_code && ent_esgd_grad_at_x(&o->p) ? 1 : 0);
    default: return 1;
    }
}

/* Every gradient of HJ-prox and HEAT draws a fresh batch; SAM's two share one. */
int ent_optim_batches_per_step(const ent_optim *o) {
    if (!o) return 0;
    switch (o->p.kind) {
    case ENT_OPTIM_ENTROPY_SGD:
    case ENT_OPTIM_HJB: return o->p.L;
    case ENT_OPTIM_HJ_PROX: return o->p.L + 1;
    case ENT_OPTIM_HEAT: return o->p.L;
    default: return 1;
    }
}

int64_t ent_optim_steps_done(const ent_optim *o) { return o ? o->t : 0; }

double ent_optim_gamma(const ent_optim *o) {
    if (!o) return 0.0;
    ent_optim_kind k = o->p.kind;
    if (k != ENT_OPTIM_ENTROPY_SGD && k != ENT_OPTIM_HJB && k != ENT_OPTIM_HJ_PROX && k != ENT_OPTIM_HEAT)
        return 0.0;
    return ent_esgd_gamma_at(&o->p, o->t);
}

const ent_optim_params *ent_optim_get_params(const ent_optim *o) {
    return o ? &o->p : NULL;
}

/* Fills up to max entries; returns how many the optimizer has. */
int ent_optim_state_vectors(ent_optim *o, ent_state_vec *out, int max) {
    if (!o) return 0;
    const struct {
        const char *name;
        float *data;
    } all[] = {
        {"momentum", o->momentum},         {"adam_m", o->adam_m},
        {"adam_v", o->adam_v},             {"x_prime", o->x_prime},
        {"mu", o->mu},                     {"inner_momentum", o->inner_momentum},
        {"inner_adam_m", o->inner_adam_m}, {"inner_adam_v", o->inner_adam_v},
    };
    int k = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (!all[i].data) continue;
        if (out && k < max) {
            out[k].name = all[i].name;
            out[k].data = all[i].data;
            out[k].n = o->n;
        }
        k++;
    }
    return k;
}

/* Fills up to max entries; returns how many the optimizer has (3; 5 with
 * the automatic scope, whose gamma0 and gamma1 are set by the first update). */
int ent_optim_state_scalars(const ent_optim *o, ent_state_u64 *out, int max) {
    if (!o) return 0;
    uint64_t g0, g1; /* the automatic scope in force, as IEEE-754 bits */
    memcpy(&g0, &o->p.gamma0, sizeof g0);
    memcpy(&g1, &o->p.gamma1, sizeof g1);
    const ent_state_u64 all[] = {
        {"t", (uint64_t)o->t},
        {"rng_key", o->rng.key},
        {"rng_counter", o->rng.counter},
        {"gamma0", g0},
        {"gamma1", g1},
    };
    int k = o->p.gamma_auto ? 5 : 3;
    for (int i = 0; out && i < k && i < max; i++) out[i] = all[i];
    return k;
}

ent_status ent_optim_set_scalar(ent_optim *o, const char *name, uint64_t v) {
    if (!o || !name) return ent_fail(ENT_EINVAL, "ent_optim_set_scalar: NULL argument");
    if (strcmp(name, "t") == 0) {
        if (v > (uint64_t)INT64_MAX)
            return ent_fail(ENT_EINVAL, "ent_optim_set_scalar: t = %llu out of range",
                            (unsigned long long)v);
        o->t = (int64_t)v;
    } else if (strcmp(name, "rng_key") == 0) {
        o->rng.key = v;
    } else if (strcmp(name, "rng_counter") == 0) {
        o->rng.counter = v;
    } else if (o->p.gamma_auto && strcmp(name, "gamma0") == 0) {
        memcpy(&o->p.gamma0, &v, sizeof v);
    } else if (o->p.gamma_auto && strcmp(name, "gamma1") == 0) {
        memcpy(&o->p.gamma1, &v, sizeof v);
    } else {
        return ent_fail(ENT_EINVAL, "ent_optim_set_scalar: unknown optimizer scalar \"%s\"", name);
    }
    return ENT_OK;
}

ent_status ent_optim_grad_at(ent_optim *o, const ent_objective *obj, const float *x, double *loss) {
    ent_status s = ent_objective_next(obj);
    return s == ENT_OK ? ent_objective_eval(obj, x, o->grad, loss) : s;
}

void ent_optim_base_apply(ent_optim *o, float *x, const float *g, double lr, double wd,
                          const ent_pieces *sp) {
    const ent_optim_params *p = &o->p;
    if (p->outer_rule == ENT_UPDATE_ADAM)
        ent_adam_apply(x, g, o->adam_m, o->adam_v, o->n, lr, wd, p->beta1, p->beta2,
                       p->adam_eps, o->t + 1, sp);
    else
        ent_sgd_apply(x, g, o->momentum, o->n, (float)lr, (float)wd, (float)p->momentum,
                      ent_sgd_grad_weight(o), p->nesterov, sp);
}
