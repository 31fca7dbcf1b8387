/* replica_internal.h — the ent_replicas object, shared by replicas.c
 * (object, state, centre) and couple.c (the per-method steps). */
#ifndef ENT_REPLICA_INTERNAL_H
#define ENT_REPLICA_INTERNAL_H

#include "entropic.h"

struct ent_replicas {
    ent_optim_params p;    /* the method's (kind = a replica kind) */
    int64_t n;             /* parameters per replica */
    int y, n_local, first; /* replicas in all, here, index of the first here */
    double total_epochs;   /* E of the coupling schedule */
    int64_t t;             /* steps done */
    double g0;             /* coupling g0 in force (automatic: set at step 0) */
    float *theta;          /* n_local x n, replica i at theta + i n */
    float *center;         /* n: the mean, or the explicit centre */
    float *mean;           /* n: scratch mean (methods with an explicit centre) */
    float *diff;           /* n_local x n: x_i - c before the step (elastic pulls) */
    ent_optim **opt;       /* n_local optimizers, one per replica */
    ent_optim *copt;       /* the explicit rSGD centre's optimizer, or NULL */
};

/* out <- mean of all replicas over every rank (local float sum in replica
 * order, then ent_dist_allreduce_sum, then times 1/y). */
ent_status ent_replicas_mean(ent_replicas *r, float *out);
/* The same over another vector of each local replica i: v(r, i). */
typedef const float *(*ent_replica_vec)(ent_replicas *r, int i);
ent_status ent_replicas_mean_of(ent_replicas *r, float *out, ent_replica_vec v);
/* (1/y) sum_a |x_a - c|^2 over every rank. */
ent_status ent_replicas_sq_distance(ent_replicas *r, const float *c, double *d2);

ent_status ent_rsgd_step(ent_replicas *r, const ent_objective *objs, double lr_scale,
                         double g, int couple, double *lsum);
/* Parle as parle_mpi.py (replica/parle_ref.c); rho at this step. */
ent_status ent_parle_ref_step(ent_replicas *r, const ent_objective *objs, double lr_scale, double *lsum);
double ent_parle_ref_rho(const ent_replicas *r);
ent_status ent_elastic_step(ent_replicas *r, const ent_objective *objs, double lr_scale,
                            double g, int couple, double *lsum);

#endif
