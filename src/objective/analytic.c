/* analytic.c — small objectives with closed forms, for optimizer tests and
 * demonstrations: the separable quadratic (optionally with an unbiased
 * stochastic gradient) and 2-D Rosenbrock. Both meet the ent_objective
 * interface, so every optimizer runs on them unchanged. */
#include <math.h>
#include <stdlib.h>

#include "core/par.h"
#include "entropic.h"


typedef enum { ANALYTIC_QUADRATIC = 0, ANALYTIC_ROSENBROCK } analytic_kind;

struct ent_analytic {
    analytic_kind kind;
    int64_t n;
    double *a;        /* curvatures (quadratic), n */
    double *c;        /* centre (quadratic), n */
    double noise_std; /* gradient noise std (quadratic), 0 = exact gradient */
    ent_rng rng;      /* gradient-noise stream */
    float *noise;     /* current batch's gradient noise, n (NULL if none) */
};

void ent_analytic_free(ent_analytic *a) {
    if (!a) return;
    free(a->a);
    free(a->c);
    ent_free_aligned(a->noise);
    free(a);
}

ent_status ent_analytic_quadratic(ent_analytic **out, int64_t n,
                                  const double *a, const double *c,
                                  double noise_std, uint64_t seed) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_analytic_quadratic: out is NULL");
    *out = NULL;
    if (n < 1) return ent_fail(ENT_EINVAL, "ent_analytic_quadratic: n = %lld, must be >= 1", (long long)n);
    if (!a) return ent_fail(ENT_EINVAL, "ent_analytic_quadratic: curvatures a are NULL");
    if (!(noise_std >= 0.0) || !isfinite(noise_std))
        return ent_fail(ENT_EINVAL, "ent_analytic_quadratic: noise_std = %g, must be >= 0 and finite", noise_std);
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(a[i]))
            return ent_fail(ENT_EINVAL, "ent_analytic_quadratic: a[%lld] = %g is not finite", (long long)i, a[i]);
        if (c && !isfinite(c[i]))
            return ent_fail(ENT_EINVAL, "ent_analytic_quadratic: c[%lld] = %g is not finite", (long long)i, c[i]);
    }
    ent_analytic *q = calloc(1, sizeof *q);
    if (!q) return ent_fail(ENT_ENOMEM, "ent_analytic_quadratic: out of memory");
    q->kind = ANALYTIC_QUADRATIC;
    q->n = n;
    q->noise_std = noise_std;
    q->a = malloc((size_t)n * sizeof *q->a);
    q->c = calloc((size_t)n, sizeof *q->c);
    if (noise_std > 0.0) q->noise = ent_alloc((size_t)n * sizeof(float));
    if (!q->a || !q->c || (noise_std > 0.0 && !q->noise)) {
        ent_analytic_free(q);
        return ent_fail(ENT_ENOMEM, "ent_analytic_quadratic: out of memory (n = %lld)", (long long)n);
    }
    for (int64_t i = 0; i < n; i++) {
        q->a[i] = a[i];
        if (c) q->c[i] = c[i];
    }
    ent_rng_init(&q->rng, seed, 0);
    *out = q;
    return ENT_OK;
}

ent_status ent_analytic_rosenbrock(ent_analytic **out) {
    if (!out) return ent_fail(ENT_EINVAL, "ent_analytic_rosenbrock: out is NULL");
    ent_analytic *r = calloc(1, sizeof *r);
    if (!r) return ent_fail(ENT_ENOMEM, "ent_analytic_rosenbrock: out of memory");
    r->kind = ANALYTIC_ROSENBROCK;
    r->n = 2;
    *out = r;
    return ENT_OK;
}

/* A new "batch": a fresh gradient-noise vector N(0, noise_std^2). */
static ent_status quadratic_next(void *ctx) {
    ent_analytic *q = ctx;
    ent_rng_normal_fill(&q->rng, q->noise, q->n, (float)q->noise_std);
    return ENT_OK;
}

/* loss = exact f; grad = a (x - c) + noise (noise zero before the first
 * next_batch: the buffer starts zero-filled). */
static ent_status quadratic_eval(void *ctx, const float *x, float *grad,
                                 double *loss) {
    const ent_analytic *q = ctx;
    const int64_t n = q->n;
    const double *a = q->a, *c = q->c;
    const float *nz = q->noise;
    double f = 0.0;
#pragma omp parallel for if (n > ENT_PAR_MIN) schedule(static) reduction(+ : f)
    for (int64_t i = 0; i < n; i++) {
        double r = (double)x[i] - c[i];
        f += a[i] * r * r;
        if (grad) grad[i] = (float)(a[i] * r + (nz ? (double)nz[i] : 0.0));
    }
    if (loss) *loss = 0.5 * f;
    return ENT_OK;
}

/* f = (1 - x)^2 + 100 (y - x^2)^2, in double. */
static ent_status rosenbrock_eval(void *ctx, const float *th, float *grad,
                                  double *loss) {
    (void)ctx;
    double x = th[0], y = th[1];
    double u = 1.0 - x, w = y - x * x;
    if (loss) *loss = u * u + 100.0 * w * w;
    if (grad) {
        grad[0] = (float)(-2.0 * u - 400.0 * x * w);
        grad[1] = (float)(200.0 * w);
    }
    return ENT_OK;
}

ent_objective ent_analytic_objective(ent_analytic *a) {
    ent_objective o = {0};
    if (!a) return o;
    o.n_param = a->n;
    o.ctx = a;
    if (a->kind == ANALYTIC_QUADRATIC) {
        o.next_batch = a->noise ? quadratic_next : NULL;
        o.eval = quadratic_eval;
    } else {
        o.eval = rosenbrock_eval;
    }
    return o;
}
