/* quadop.c — analytic quadratics with a known spectrum, for tests and
 * demonstrations: f(x) = 1/2 (x - c)^T H (x - c), H = Q diag(lambda) Q^T,
 * Q = R_1 R_2 ... R_n a product of Householder reflections
 * R_i = I - 2 u_i u_i^T with Gaussian u_i (normalised) drawn from `seed`:
 * H v costs O(n^2) and H is dense, so nothing in a solver can exploit a
 * diagonal structure. seed 0 keeps Q = I. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "entropic.h"

struct ent_quadop {
    int64_t n, r;   /* dimension, number of reflections */
    double *lambda, *c, *u; /* u: r rows of n */
    double *t, *d;  /* work */
};

void ent_quadop_free(ent_quadop *q) {
    if (!q) return;
    free(q->lambda), free(q->c), free(q->u), free(q->t), free(q->d);
    free(q);
}

ent_status ent_quadop_new(ent_quadop **out, int64_t n, const double *lambda, const double *c,
                          uint64_t seed) {
    *out = NULL;
    if (n < 1 || !lambda) return ent_fail(ENT_EINVAL, "quadratic: n = %lld", (long long)n);
    ent_quadop *q = calloc(1, sizeof *q);
    if (!q) return ent_fail(ENT_ENOMEM, "quadratic: out of memory");
    q->n = n, q->r = seed ? n : 0;
    q->lambda = malloc(sizeof(double) * (size_t)n);
    q->c = calloc((size_t)n, sizeof(double));
    q->t = malloc(sizeof(double) * (size_t)n);
    q->d = malloc(sizeof(double) * (size_t)n);
    q->u = malloc(sizeof(double) * (size_t)(q->r * n + 1));
    if (!q->lambda || !q->c || !q->t || !q->d || !q->u) {
        ent_quadop_free(q);
        return ent_fail(ENT_ENOMEM, "quadratic: out of memory (n = %lld)", (long long)n);
    }
    memcpy(q->lambda, lambda, sizeof(double) * (size_t)n);
    if (c) memcpy(q->c, c, sizeof(double) * (size_t)n);
    ent_rng rng;
    ent_rng_init(&rng, seed, 0);
    for (int64_t i = 0; i < q->r; i++) {
        double *u = q->u + i * n, s = 0.0;
        for (int64_t k = 0; k < n; k++) u[k] = ent_rng_normal(&rng), s += u[k] * u[k];
        for (int64_t k = 0; k < n; k++) u[k] /= sqrt(s);
    }
    *out = q;
    return ENT_OK;
}

static void reflect(const ent_quadop *q, int64_t i, double *x) {
    const double *u = q->u + i * q->n;
    double d = 0.0;
    for (int64_t k = 0; k < q->n; k++) d += u[k] * x[k];
    for (int64_t k = 0; k < q->n; k++) x[k] -= 2.0 * d * u[k];
}

/* hv = Q diag(lambda) Q^T v, where Q^T v = R_r ... R_1 v. */
static void qlq(const ent_quadop *q, const double *v, double *hv) {
    memcpy(hv, v, sizeof(double) * (size_t)q->n);
    for (int64_t i = 0; i < q->r; i++) reflect(q, i, hv);
    for (int64_t k = 0; k < q->n; k++) hv[k] *= q->lambda[k];
    for (int64_t i = q->r - 1; i >= 0; i--) reflect(q, i, hv);
}

static ent_status apply(void *ctx, const double *v, double *hv) {
    qlq(ctx, v, hv);
    return ENT_OK;
}

static ent_status eval(void *ctx, const float *theta, float *grad, double *loss) {
    ent_quadop *q = ctx;
    double *d = q->d;
    for (int64_t k = 0; k < q->n; k++) d[k] = theta[k] - q->c[k];
    qlq(q, d, q->t);
    double f = 0.0;
    for (int64_t k = 0; k < q->n; k++) f += 0.5 * d[k] * q->t[k];
    if (grad)
        for (int64_t k = 0; k < q->n; k++) grad[k] = (float)q->t[k];
    *loss = f;
    return ENT_OK;
}

ent_hvp ent_quadop_hvp(ent_quadop *q) {
    ent_hvp h = {.n = q->n, .ctx = q, .apply = apply};
    return h;
}

ent_objective ent_quadop_objective(ent_quadop *q) {
    ent_objective o = {.n_param = q->n, .ctx = q, .next_batch = NULL, .eval = eval};
    return o;
}

void ent_quadop_eigvec(const ent_quadop *q, int64_t j, double *vec) {
    memset(vec, 0, sizeof(double) * (size_t)q->n);
    vec[j] = 1.0;
    for (int64_t i = q->r - 1; i >= 0; i--) reflect(q, i, vec);
}
