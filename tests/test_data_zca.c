/* test_data_zca.c — GCN + ZCA whitening against its closed form: the
 * whitened training data has covariance C (C + eps I)^-1, C the covariance
 * of the contrast-normalised data (computed here independently, in double),
 * which is the identity on every direction but the constant one when eps
 * is small; the test split goes through the same transform. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

enum { N = 3000, D = 12 };

/* Correlated features of unequal scales and offsets: x = z A + b. */
static ent_dataset *make_set(int64_t n, uint64_t stream) {
    ent_dataset *d = calloc(1, sizeof *d);
    d->n = n, d->c = 3, d->h = 2, d->w = 2, d->n_classes = 2;
    d->x = ent_alloc(sizeof(float) * (size_t)(n * D));
    d->y = ent_alloc(sizeof(int32_t) * (size_t)n);
    ent_rng r, ra;
    ent_rng_init(&r, 3, stream);
    ent_rng_init(&ra, 3, 99);
    double A[D][D];
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) A[a][b] = ent_rng_normal(&ra) * (1.0 + b) / D + (a == b);
    for (int64_t i = 0; i < n; i++) {
        double z[D];
        for (int a = 0; a < D; a++) z[a] = ent_rng_normal(&r);
        for (int b = 0; b < D; b++) {
            double v = 0.5 * b;
            for (int a = 0; a < D; a++) v += z[a] * A[a][b];
            d->x[i * D + b] = (float)v;
        }
    }
    return d;
}

static ent_dataset *copy_set(const ent_dataset *s, int64_t n) {
    ent_dataset *d = calloc(1, sizeof *d);
    *d = *s;
    d->n = n;
    d->x = ent_alloc(sizeof(float) * (size_t)(n * D));
    d->y = ent_alloc(sizeof(int32_t) * (size_t)n);
    memcpy(d->x, s->x, sizeof(float) * (size_t)(n * D));
    return d;
}

/* The covariance (1/n, about the mean) of x[n x D], x as float or double. */
static void covariance(const float *xf, const double *xd, int64_t n, double C[D][D]) {
    double mu[D] = {0};
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < D; a++) mu[a] += (xf ? xf[i * D + a] : xd[i * D + a]) / (double)n;
    memset(C, 0, sizeof(double) * D * D);
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++) {
                const double va = (xf ? xf[i * D + a] : xd[i * D + a]) - mu[a];
                const double vb = (xf ? xf[i * D + b] : xd[i * D + b]) - mu[b];
                C[a][b] += va * vb / (double)n;
            }
}

/* GCN by its formula, in double. */
static double *gcn_by_hand(const ent_dataset *d, double bias) {
    double *g = malloc(sizeof(double) * (size_t)(d->n * D));
    for (int64_t i = 0; i < d->n; i++) {
        double m = 0, v = 0;
        for (int a = 0; a < D; a++) m += d->x[i * D + a] / (double)D;
        for (int a = 0; a < D; a++) v += (d->x[i * D + a] - m) * (d->x[i * D + a] - m) / D;
        for (int a = 0; a < D; a++) g[i * D + a] = (d->x[i * D + a] - m) / sqrt(bias + v);
    }
    return g;
}

ENT_TEST(gcn_zca_closed_form) {
    ent_dataset *base = make_set(N, 1);
    const double bias = 0.01;
    double *g = gcn_by_hand(base, bias);
    static double C[D][D], Co[D][D];
    covariance(NULL, g, N, C);
    const double epss[2] = {1e-5, 0.3};
    for (int e = 0; e < 2; e++) {
        const double eps = epss[e];
        ent_dataset *tr = copy_set(base, N), *te = copy_set(base, 500); /* test = the first 500 */
        CHECK_OK(ent_gcn_zca(tr, te, bias, eps));
        covariance(tr->x, NULL, N, Co);
        /* Co (C + eps I) = C, and (small eps) Co = I - 11^T / D. */
        double worst = 0, worst_id = 0, worst_te = 0;
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++) {
                double p = eps * Co[a][b];
                for (int k = 0; k < D; k++) p += Co[a][k] * C[k][b];
                worst = fmax(worst, fabs(p - C[a][b]));
                worst_id = fmax(worst_id, fabs(Co[a][b] - ((a == b) - 1.0 / D)));
            }
        for (int64_t i = 0; i < 500 * D; i++) worst_te = fmax(worst_te, fabs(te->x[i] - tr->x[i]));
        double worst_mean = 0; /* centred on the training mean */
        for (int a = 0; a < D; a++) {
            double m = 0;
            for (int64_t i = 0; i < N; i++) m += tr->x[i * D + a] / N;
            worst_mean = fmax(worst_mean, fabs(m));
        }
        CHECK_MSG(worst_mean < 1e-5, "eps %g: a feature's mean is %.2g after whitening", eps, worst_mean);
        printf("    eps %g: max |Cov_out (C + eps I) - C| %.2g (tol 1e-6), max |Cov_out - (I - 11'/D)| %.2g, "
               "test vs train rows %.2g\n", eps, worst, worst_id, worst_te);
        CHECK(worst < 1e-6);
        CHECK(worst_te == 0);
        if (eps < 1e-3) CHECK(worst_id < 1e-3);
        else CHECK(worst_id > 0.05); /* a large eps visibly shrinks the small directions */
        ent_dataset_free(tr);
        ent_dataset_free(te);
    }
    free(g);
    /* bad arguments: nothing is changed */
    ent_dataset *other = make_set(10, 2);
    other->w = 4, other->h = 1;
    CHECK(ent_gcn_zca(base, other, bias, 1e-3) == ENT_ESHAPE);
    CHECK(ent_gcn_zca(base, NULL, bias, 0) == ENT_EINVAL);
    CHECK(ent_gcn_zca(base, NULL, -1, 1e-3) == ENT_EINVAL);
    CHECK(ent_gcn_zca(NULL, NULL, bias, 1e-3) == ENT_EINVAL);
    ent_dataset *fresh = make_set(N, 1);
    CHECK(memcmp(fresh->x, base->x, sizeof(float) * N * D) == 0);
    ent_dataset_free(fresh);
    ent_dataset_free(other);
    ent_dataset_free(base);
}

/* The cached transform (--preprocess gcn-zca): its first call fits and
 * writes the file, a second call on fresh copies reads it back and gives
 * the very same floats (a resumed run sees the same inputs), within float
 * rounding of the uncached transform; a file of other settings is refused. */
ENT_TEST(gcn_zca_cache_replays) {
    char cache[600];
    snprintf(cache, sizeof cache, "%s/zca.safetensors", ent_test_tmpdir());
    ent_dataset *src = make_set(N, 1), *src_test = make_set(200, 2);
    ent_dataset *a = copy_set(src, N), *at = copy_set(src_test, 200);
    ent_dataset *b = copy_set(src, N), *bt = copy_set(src_test, 200);
    ent_dataset *c = copy_set(src, N), *ct = copy_set(src_test, 200);
    CHECK_OK(ent_gcn_zca_cached(a, &at, 1, 0.0, 0.1, cache)); /* fits, writes */
    CHECK_OK(ent_gcn_zca_cached(b, &bt, 1, 0.0, 0.1, cache)); /* reads */
    CHECK(memcmp(a->x, b->x, sizeof(float) * N * D) == 0);
    CHECK(memcmp(at->x, bt->x, sizeof(float) * 200 * D) == 0);
    CHECK_OK(ent_gcn_zca(c, ct, 0.0, 0.1));
    double worst = 0, big = 0;
    for (int64_t i = 0; i < N * D; i++) worst = fmax(worst, fabs(a->x[i] - c->x[i])), big = fmax(big, fabs(c->x[i]));
    printf("    cached (float32 mean and whitener) vs double transform: max |diff| / max |x| %.1e (tol 1e-5)\n",
           worst / big);
    CHECK(worst < 1e-5 * big);
    ent_dataset *d = copy_set(src, N);
    CHECK(ent_gcn_zca_cached(d, NULL, 0, 0.0, 0.2, cache) == ENT_EFORMAT && strstr(ent_last_error(), "other settings"));
    ent_dataset *sets[] = {src, src_test, a, at, b, bt, c, ct, d};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) ent_dataset_free(sets[i]);
}
