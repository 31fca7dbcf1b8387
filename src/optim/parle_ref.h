/* parle_ref.h — one replica's part of Parle as its reference code
 * (parle_mpi.py) runs it; replica/parle_ref.c drives the replicas and the
 * master. Internal to the library.
 *
 * A replica holds its anchor x_a (its theta) and, in its Entropy-SGD
 * optimizer's vectors, the chain p (x_prime), the chain's running mean z
 * (mu) and two momentum buffers (inner_momentum, momentum); none of them is
 * reset between updates, so they are all checkpoint state. */
#ifndef ENT_OPTIM_PARLE_REF_H
#define ENT_OPTIM_PARLE_REF_H

#include "entropic.h"

/* L inner steps from p, each on a fresh batch, no noise:
 *   g = grad f(p) + gamma (p - x_a),  b <- m b + g,  p <- p - lr (g + b),
 *   z <- (1 - alpha) z + alpha p;      gamma = gamma0 (1 + gamma1)^t capped.
 * On the first update p = z = x_a and the buffers are 0. *loss = mean f. */
ent_status ent_parle_ref_inner(ent_optim *o, const ent_objective *obj, const float *xa,
                               double lr_scale, double *loss);
/* The chain's running mean z (borrowed). */
const float *ent_parle_ref_mean(const ent_optim *o);
/* G = (x_a - z) + rho (x_a - master),  B <- m B + G,  p <- p - lr (G + B),
 * x_a <- p; counts the update. */
void ent_parle_ref_outer(ent_optim *o, float *xa, const float *master, double rho, double lr_scale);

#endif
