/* local_entropy.c — the local entropy of a minimum relative to a flat
 * landscape (docs/analysis.md has the derivation):
 *   Phi(w, gamma) = log E_{w' ~ N(w, I/gamma)} exp(-(f(w') - f(w)))
 *                 = log Z_1 / Z_0,  Z_b = int exp(-b D(w')) N(w'; w, I/gamma) dw',
 * D = f - f(w). It is F(w, gamma) of Entropy-SGD (docs/algorithms.md §3.1) minus
 * the same integral for a flat f: Phi = 0 when f is flat around w, and
 * Phi -> -(1/2) sum_i log(1 + lambda_i / gamma) for a quadratic minimum.
 *
 * Estimator: annealed importance sampling (Neal 2001) along the inverse
 * temperatures b_k = (k/K)^2, k = 0..K. A chain starts exactly from Z_0's
 * measure (the Gaussian), accumulates log W -= (b_k - b_{k-1}) D(x), and
 * between temperatures makes M preconditioned Crank-Nicolson moves
 *   x' = w + sqrt(1 - rho^2) (x - w) + rho xi / sqrt(gamma),  xi ~ N(0, I),
 * accepted with probability min(1, exp(-b_k (D(x') - D(x)))). The proposal
 * is reversible with respect to the Gaussian, so each move leaves the
 * intermediate measure exp(-b_k D) N(w, I/gamma) exactly invariant — the
 * condition for E[W] = Z_1 / Z_0 — and its acceptance does not degrade
 * with the dimension (Cotter et al. 2013). K = 1 is plain importance
 * sampling from the Gaussian. The estimate is log(mean W) over R chains;
 * its standard error is sd(W) / (sqrt(R) mean W) (delta method). Chain r
 * draws from stream r of the seed at every gamma (common random numbers). */
#include <math.h>
#include <stdlib.h>

#include "entropic.h"

ent_ais_opts ent_ais_opts_default(void) {
    ent_ais_opts o = {.chains = 16, .temps = 20, .moves = 2, .rho = 0.5, .seed = 1};
    return o;
}

typedef struct {
    const ent_objective *f;
    const float *w;
    int64_t n;
    float *x, *xp, *xi;
    double f0;
    int64_t proposed, accepted;
} ais;

static ent_status delta(ais *a, const float *x, double *d) {
    double l = 0.0;
    ent_status s = ent_objective_eval(a->f, x, NULL, &l);
    *d = l - a->f0;
    if (s == ENT_OK && !isfinite(l)) s = ent_fail(ENT_EDIVERGED, "local entropy: loss is %g", l);
    return s;
}

/* One pCN move at inverse temperature b; x and *dx updated on acceptance. */
static ent_status move(ais *a, ent_rng *r, double sd, double rho, double b, double *dx) {
    ent_rng_normal_fill(r, a->xi, a->n, 1.0f);
    const float keep = (float)sqrt(1.0 - rho * rho), step = (float)(rho * sd);
#pragma omp parallel for if (a->n > 32768)
    for (int64_t i = 0; i < a->n; i++)
        a->xp[i] = a->w[i] + keep * (a->x[i] - a->w[i]) + step * a->xi[i];
    double dp = 0.0;
    ent_status s = delta(a, a->xp, &dp);
    if (s != ENT_OK) return s;
    a->proposed++;
    if (log(ent_rng_uniform(r)) < -b * (dp - *dx)) {
        float *t = a->x;
        a->x = a->xp, a->xp = t, *dx = dp;
        a->accepted++;
    }
    return ENT_OK;
}

/* log W of one chain at scope gamma. */
static ent_status chain(ais *a, const ent_ais_opts *o, double gamma, uint64_t stream,
                        double *logw) {
    ent_rng r;
    ent_rng_init(&r, o->seed, stream);
    const double sd = 1.0 / sqrt(gamma);
    ent_rng_normal_fill(&r, a->xi, a->n, 1.0f);
    for (int64_t i = 0; i < a->n; i++) a->x[i] = a->w[i] + (float)sd * a->xi[i];
    double dx = 0.0, lw = 0.0, prev = 0.0;
    ent_status s = delta(a, a->x, &dx);
    for (int k = 1; k <= o->temps && s == ENT_OK; k++) {
        const double b = ((double)k / o->temps) * ((double)k / o->temps);
        lw -= (b - prev) * dx;
        prev = b;
        for (int m = 0; k < o->temps && m < o->moves && s == ENT_OK; m++)
            s = move(a, &r, sd, o->rho, b, &dx);
    }
    *logw = lw;
    return s;
}

/* log mean exp and the delta-method standard error of it. */
static void summarise(const double *lw, int R, double *phi, double *se) {
    double mx = lw[0], m = 0.0, q = 0.0;
    for (int r = 1; r < R; r++) mx = lw[r] > mx ? lw[r] : mx;
    for (int r = 0; r < R; r++) {
        const double e = exp(lw[r] - mx);
        m += e, q += e * e;
    }
    m /= R, q /= R;
    *phi = mx + log(m);
    const double var = R > 1 ? (q - m * m) * R / (R - 1) : 0.0;
    *se = var > 0.0 ? sqrt(var / R) / m : 0.0;
}

ent_status ent_local_entropy(const ent_objective *f, const float *w, const double *gamma,
                             int n_gamma, const ent_ais_opts *o, double *phi, double *se,
                             double *accept) {
    if (o->chains < 1 || o->temps < 1 || o->moves < 0 || !(o->rho > 0.0 && o->rho <= 1.0))
        return ent_fail(ENT_EINVAL, "local entropy: chains %d, temps %d, moves %d, rho %g",
                        o->chains, o->temps, o->moves, o->rho);
    for (int g = 0; g < n_gamma; g++)
        if (!(gamma[g] > 0.0) || !isfinite(gamma[g]))
            return ent_fail(ENT_EINVAL, "local entropy: gamma %g must be > 0", gamma[g]);
    ais a = {.f = f, .w = w, .n = f->n_param};
    const size_t bytes = sizeof(float) * (size_t)a.n;
    a.x = ent_alloc(bytes), a.xp = ent_alloc(bytes), a.xi = ent_alloc(bytes);
    double *lw = malloc(sizeof(double) * (size_t)o->chains);
    ent_status s = a.x && a.xp && a.xi && lw ? ENT_OK : ent_fail(ENT_ENOMEM, "local entropy: out of memory");
    if (s == ENT_OK) s = ent_objective_eval(f, w, NULL, &a.f0);
    for (int g = 0; g < n_gamma && s == ENT_OK; g++) {
        a.proposed = a.accepted = 0;
        for (int r = 0; r < o->chains && s == ENT_OK; r++) s = chain(&a, o, gamma[g], (uint64_t)r, &lw[r]);
        if (s != ENT_OK) break;
        double e = 0.0;
        summarise(lw, o->chains, &phi[g], &e);
        if (se) se[g] = e;
        if (accept) accept[g] = a.proposed ? (double)a.accepted / (double)a.proposed : 1.0;
    }
    ent_free_aligned(a.x), ent_free_aligned(a.xp), ent_free_aligned(a.xi);
    free(lw);
    return s;
}
