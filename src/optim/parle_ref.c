/* parle_ref.c — a replica's inner chain and outer step of Parle as
 * parle_mpi.py computes them (parle_ref.h). Differences from our Parle
 * (the Entropy-SGD update of couple.c): the chain and its mean carry over
 * from one update to the next; the outer step moves the chain's last point,
 * not x_a, and the elastic term is inside the momentum; the momentum is the
 * code's own (step g + b with b = m b + g); one learning rate serves both
 * loops. */
#include <math.h>
#include <string.h>

#include "core/simd.h"
#include "optim/parle_ref.h"
#include "optim_internal.h"

ENT_CLONES static void inner_kernel(float *restrict p, float *restrict z, float *restrict b,
                                    const float *restrict g, const float *restrict xa, int64_t n,
                                    float gam, float lr, float m, float al) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + gam * (p[i] - xa[i]);
        if (b) {
            b[i] = m * b[i] + gi;
            gi += b[i];
        }
        p[i] -= lr * gi;
        z[i] = (1.0f - al) * z[i] + al * p[i];
    }
}

ENT_CLONES static void outer_kernel(float *restrict p, float *restrict xa, float *restrict B,
                                    const float *restrict z, const float *restrict c, int64_t n,
                                    float rho, float lr, float m) {
    for (int64_t i = 0; i < n; i++) {
        float G = (xa[i] - z[i]) + rho * (xa[i] - c[i]);
        if (B) {
            B[i] = m * B[i] + G;
            G += B[i];
        }
        p[i] -= lr * G;
        xa[i] = p[i];
    }
}

ent_status ent_parle_ref_inner(ent_optim *o, const ent_objective *obj, const float *xa,
                               double lr_scale, double *loss) {
    const ent_optim_params *pp = &o->p;
    const int64_t n = o->n;
    if (o->t == 0) { /* the reference's start: p = z = x_a, buffers 0 */
        ent_vec_copy(o->x_prime, xa, n);
        ent_vec_copy(o->mu, xa, n);
        if (o->inner_momentum) ent_vec_zero(o->inner_momentum, n);
        if (o->momentum) ent_vec_zero(o->momentum, n);
    }
    const float gam = (float)ent_esgd_gamma_at(pp, o->t), lr = (float)(pp->lr * lr_scale),
                m = (float)pp->inner_momentum, al = (float)pp->alpha;
    double lsum = 0.0, l1 = 0.0;
    o->loss_x = NAN; /* the chain is not restarted at x_a: f(x_a) is never taken */
    for (int l = 0; l < pp->L; l++) {
        ent_status s = ent_optim_grad_at(o, obj, o->x_prime, &l1);
        if (s != ENT_OK) return s;
        lsum += l1;
        float *p = o->x_prime, *z = o->mu, *b = o->inner_momentum;
        const float *g = o->grad;
#pragma omp parallel for schedule(static) if (n > ENT_PAR_MIN)
        for (int64_t i0 = 0; i0 < n; i0 += ENT_PIECE_ALIGN) {
            const int64_t len = n - i0 < ENT_PIECE_ALIGN ? n - i0 : ENT_PIECE_ALIGN;
            inner_kernel(p + i0, z + i0, b ? b + i0 : NULL, g + i0, xa + i0, len, gam, lr, m, al);
        }
    }
    *loss = lsum / pp->L;
    return ENT_OK;
}

const float *ent_parle_ref_mean(const ent_optim *o) { return o->mu; }

void ent_parle_ref_outer(ent_optim *o, float *xa, const float *master, double rho, double lr_scale) {
    const int64_t n = o->n;
    const float lr = (float)(o->p.lr * lr_scale), m = (float)o->p.momentum, r = (float)rho;
    float *p = o->x_prime, *B = o->momentum;
    const float *z = o->mu;
#pragma omp parallel for schedule(static) if (n > ENT_PAR_MIN)
    for (int64_t i0 = 0; i0 < n; i0 += ENT_PIECE_ALIGN) {
        const int64_t len = n - i0 < ENT_PIECE_ALIGN ? n - i0 : ENT_PIECE_ALIGN;
        outer_kernel(p + i0, xa + i0, B ? B + i0 : NULL, z + i0, master + i0, len, r, lr, m);
    }
    o->t++;
}
