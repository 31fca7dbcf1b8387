/* sgd_coupled.c — the two halves of replicated SGD with an implicit
 * coupling term (coupled.h says how they fit together).
 *
 * Why: the coupling 2 g (x_a - c) is a spring of curvature k = 2 g. The
 * explicit step of sacreddnn's formula is stable only while lr k < 2
 * (plain SGD), 2 (1 + m) (heavy ball) or 2 (1 + m) / (1 + 2 m) (Nesterov:
 * 1.36 at m = 0.9). The paper's schedule grows g by 1e4 over a run, so the
 * replicas' spread oscillates and explodes once g passes ~7 at lr 0.1.
 * Solving the step for the coupling at the new point (backward Euler in
 * that term only) is stable for every k: the deviation from the mean
 * shrinks by 1 / (1 + a) without momentum, and the momentum recurrence
 * keeps its eigenvalues inside the unit circle for every a >= 0. For
 * small a it equals the explicit step up to O(a^2); its fixed points are
 * the same (G + k (x - c) = 0).
 *
 * The bits: free step + finish with x_free = c (one replica) give exactly
 * the plain SGD step (sgd.c), since the coupling term is then 0. */
#include "core/simd.h"
#include "optim/coupled.h"
#include "optim_internal.h"

/* x <- x - lr (G + momentum part), G = g + wd x kept in g; buf unchanged. */
ENT_CLONES static void free_kernel(float *restrict x, float *restrict g,
                                   const float *restrict buf, int64_t n, float lr, float wd,
                                   float m, float c, int nesterov) {
    if (m == 0.0f || !buf) {
        for (int64_t i = 0; i < n; i++) {
            const float gi = g[i] + wd * x[i];
            g[i] = gi;
            x[i] -= lr * gi;
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            const float gi = g[i] + wd * x[i], b = m * buf[i] + c * gi;
            g[i] = gi;
            x[i] -= lr * (nesterov ? gi + m * b : b);
        }
    }
}

/* x <- c + (x - c) shrink; buf <- m buf + cw (G + k (x - c)). */
ENT_CLONES static void finish_kernel(float *restrict x, const float *restrict g,
                                     float *restrict buf, const float *restrict cen, int64_t n,
                                     float k, float shrink, float m, float cw) {
    for (int64_t i = 0; i < n; i++) {
        const float xi = cen[i] + (x[i] - cen[i]) * shrink;
        if (buf) buf[i] = m * buf[i] + cw * (g[i] + k * (xi - cen[i]));
        x[i] = xi;
    }
}

ent_status ent_sgd_free_step(ent_optim *o, const ent_objective *obj, float *x,
                             double lr_scale, double *loss) {
    const ent_optim_params *p = &o->p;
    ent_status s = ent_optim_grad_at(o, obj, x, loss);
    if (s != ENT_OK) return s;
    o->loss_x = *loss; /* the gradient was taken at x itself */
    const ent_pieces sp = ent_pieces_of(obj, o->n);
    const float lr = (float)(p->lr * lr_scale), wd = (float)p->weight_decay,
                m = (float)p->momentum, c = ent_sgd_grad_weight(o);
    float *g = o->grad;
    const float *buf = o->momentum;
#pragma omp parallel if (o->n > ENT_PAR_MIN)
    {
        int64_t lo, hi;
        for (int t = 0; ent_piece_mine(&sp, t, &lo, &hi); t++)
            free_kernel(x + lo, g + lo, buf ? buf + lo : NULL, hi - lo, lr, wd, m, c, p->nesterov);
    }
    return ENT_OK;
}

double ent_sgd_coupling_share(const ent_optim *o, double lr_scale) {
    const ent_optim_params *p = &o->p;
    const double lr = p->lr * lr_scale, c = ent_sgd_grad_weight(o);
    if (p->momentum == 0.0 || !o->momentum) return lr;
    return lr * (p->nesterov ? 1.0 + p->momentum * c : c);
}

void ent_sgd_coupled_finish(ent_optim *o, float *x, const float *c, float k, float shrink,
                            const ent_pieces *sp) {
    const float m = (float)o->p.momentum, cw = ent_sgd_grad_weight(o);
    float *buf = o->momentum;
    const float *g = o->grad;
#pragma omp parallel if (o->n > ENT_PAR_MIN)
    {
        int64_t lo, hi;
        for (int t = 0; ent_piece_mine(sp, t, &lo, &hi); t++)
            finish_kernel(x + lo, g + lo, buf ? buf + lo : NULL, c + lo, hi - lo, k, shrink, m, cw);
    }
    o->t++;
}
