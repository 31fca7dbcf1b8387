/* parle_ref.c — Parle as its reference code runs it (parle_mpi.py;
 * parle_reference = 1): every replica's inner chain (optim/parle_ref.c),
 * the master = the mean of the chains' running means z_a, each replica's
 * outer step toward it, then the master = the mean of the new x_a.
 *
 * Schedules, k = updates done: gamma = gamma0 (1 + gamma1)^k capped at
 * gamma_max, and rho = coupling L y (1 + gamma1)^(k+1) capped at
 * coupling_max, the code's rho <- rho L n and its one growth factor
 * (1 + 0.5/nb) for both (the code's step counter has passed the L inner
 * steps when it computes rho). The coupling schedule options are not used. */
#include <math.h>

#include "optim/parle_ref.h"
#include "replica/replica_internal.h"

static const float *chain_mean(ent_replicas *r, int i) { return ent_parle_ref_mean(r->opt[i]); }

double ent_parle_ref_rho(const ent_replicas *r) {
    const ent_optim_params *p = &r->p;
    double rho = p->coupling * p->L * r->y * pow(1.0 + p->gamma1, (double)(r->t + 1));
    if (p->coupling_max > 0.0 && rho > p->coupling_max) rho = p->coupling_max;
    return rho;
}

ent_status ent_parle_ref_step(ent_replicas *r, const ent_objective *objs, double lr_scale, double *lsum) {
    const int64_t n = r->n;
    ent_status s = ENT_OK;
    for (int i = 0; s == ENT_OK && i < r->n_local; i++) {
        double l = 0.0;
        s = ent_parle_ref_inner(r->opt[i], &objs[i], r->theta + i * n, lr_scale, &l);
        *lsum += l;
    }
    if (s == ENT_OK) s = ent_replicas_mean_of(r, r->center, chain_mean);
    const double rho = ent_parle_ref_rho(r);
    for (int i = 0; s == ENT_OK && i < r->n_local; i++)
        ent_parle_ref_outer(r->opt[i], r->theta + i * n, r->center, rho, lr_scale);
    return s == ENT_OK ? ent_replicas_mean(r, r->center) : s;
}
