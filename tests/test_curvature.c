/* test_curvature.c — the Hessian's cheap proxies against closed forms:
 * Hutchinson's trace on quadratics of known spectrum, and the diagonal
 * Fisher of mini-batch gradients on softmax regression, whose gradient is
 * written out here by hand.
 *
 * Tolerances: a diagonal H makes every Rademacher probe exact
 * (z^T diag z = sum lambda), so 1e-12 relative. For a dense H the mean of
 * 400 probes is within 4 standard errors of tr(H) (a 6e-5 chance of a
 * false alarm for a normal mean), and the probes' standard deviation is
 * the closed form sqrt(2 sum_{i != j} H_ij^2) to 25% (its sampling error
 * at 400 probes is a few %). The Fisher diagonal is the same arithmetic
 * in another order: 1e-12 of its largest entry. */
#include <stdlib.h>

#include "test.h"

ENT_TEST(hutchinson_quadratic) {
    enum { N = 200, M = 400 };
    double lam[N], tr = 0, fro2 = 0;
    for (int i = 0; i < N; i++) lam[i] = (i % 5 == 0 ? 3.0 : 0.2) * (1 + 0.01 * i) - 0.3, tr += lam[i], fro2 += lam[i] * lam[i];
    /* diagonal (no rotation): exact for every probe */
    ent_quadop *q = NULL;
    CHECK_OK(ent_quadop_new(&q, N, lam, NULL, 0));
    if (!q) return;
    ent_hvp h = ent_quadop_hvp(q);
    double *val = malloc(sizeof(double) * M), est = 0, se = 0;
    CHECK_OK(ent_hutchinson(&h, 8, 1, val, &est, &se));
    CHECK_MSG(fabs(est - tr) <= 1e-12 * fabs(tr) && se <= 1e-12 * fabs(tr), "diagonal: %.15g vs %.15g (se %.2g)", est, tr, se);
    ent_quadop_free(q);
    /* rotated: dense H with the same spectrum */
    CHECK_OK(ent_quadop_new(&q, N, lam, NULL, 3));
    if (!q) return free(val);
    h = ent_quadop_hvp(q);
    double e[N] = {0}, he[N], diag2 = 0;
    for (int i = 0; i < N; i++) { /* sum of H_ii^2 from the columns */
        e[i] = 1.0;
        CHECK_OK(ent_hvp_apply(&h, e, he));
        e[i] = 0.0;
        diag2 += he[i] * he[i];
    }
    CHECK_OK(ent_hutchinson(&h, M, 5, val, &est, &se));
    double sd = se * sqrt((double)M), sd0 = sqrt(2 * (fro2 - diag2));
    printf("    n 200 rotated: trace %.4f +- %.4f vs %.4f; probe sd %.3f vs closed form %.3f\n", est, se, tr, sd, sd0);
    CHECK(fabs(est - tr) <= 4 * se);
    CHECK(fabs(sd - sd0) <= 0.25 * sd0);
    CHECK(ent_hutchinson(&h, 0, 5, val, &est, &se) == ENT_EINVAL);
    ent_quadop_free(q);
    free(val);
}

/* Softmax regression (one dense layer on 3x3 inputs, 3 classes: 30
 * parameters), 22 samples in batches of 4: five batches, two samples
 * dropped. g_b = (1/B) sum_i (p_i - onehot(y_i)) x_i^T (weights [K, D]),
 * (1/B) sum_i (p_i - onehot(y_i)) (bias). */
ENT_TEST(fisher_diag_softmax_regression) {
    enum { D = 9, K = 3, NS = 22, B = 4, NB = 5, P = K * D + K };
    ent_net *net = ent_net_new("softreg");
    ent_net_dense(net, "fc", ENT_NET_INPUT, K);
    ent_model *m = NULL;
    CHECK_OK(ent_model_new_net(&m, net, 1, 3, 3, K, NS));
    ent_net_free(net);
    if (!m) return;
    CHECK(ent_model_n_param(m) == P);
    float th[P], x[NS * D];
    int32_t y[NS];
    ent_rng r;
    ent_rng_init(&r, 4, 0);
    ent_rng_normal_fill(&r, th, P, 0.7f);
    ent_rng_normal_fill(&r, x, NS * D, 1.0f);
    for (int i = 0; i < NS; i++) y[i] = (i * 7) % K;
    double g[NB][P], ref[P], mu[P], var[P], mean[P];
    memset(g, 0, sizeof g);
    for (int b = 0; b < NB; b++)
        for (int i = b * B; i < (b + 1) * B; i++) {
            double z[K], zmax = -1e300, sum = 0;
            for (int k = 0; k < K; k++) {
                z[k] = th[K * D + k];
                for (int d = 0; d < D; d++) z[k] += (double)th[k * D + d] * x[i * D + d];
                zmax = fmax(zmax, z[k]);
            }
            for (int k = 0; k < K; k++) sum += exp(z[k] - zmax);
            for (int k = 0; k < K; k++) {
                const double dk = (exp(z[k] - zmax) / sum - (k == y[i])) / B;
                for (int d = 0; d < D; d++) g[b][k * D + d] += dk * x[i * D + d];
                g[b][K * D + k] += dk;
            }
        }
    double big = 0;
    for (int p = 0; p < P; p++) {
        double s = 0, s2 = 0;
        for (int b = 0; b < NB; b++) s += g[b][p], s2 += g[b][p] * g[b][p];
        mu[p] = s / NB, ref[p] = s2 / NB - mu[p] * mu[p], big = fmax(big, ref[p]);
    }
    int64_t nb = 0;
    CHECK_OK(ent_fisher_diag(m, th, NULL, x, y, NS, B, NULL, var, mean, &nb));
    double d = 0, dm = 0;
    for (int p = 0; p < P; p++) d = fmax(d, fabs(var[p] - ref[p])), dm = fmax(dm, fabs(mean[p] - mu[p]));
    printf("    softmax regression, %d batches of %d: max |var - closed form| %.1e of %.3g, mean %.1e\n", NB, B, d, big, dm);
    CHECK(nb == NB && big > 0);
    CHECK(d <= 1e-12 * big && dm <= 1e-12 * big);
    CHECK(ent_fisher_diag(m, th, NULL, x, y, NS, 12, NULL, var, mean, &nb) == ENT_EINVAL); /* one batch */
    ent_model_free(m);
}
