/* zca.c — global contrast normalisation and ZCA whitening (the CIFAR-10
 * preprocessing of Goodfellow et al.'s maxout networks and of the
 * Entropy-SGD paper's All-CNN runs), in double precision:
 *
 *   GCN, each sample x of D = c*h*w values:  x <- (x - mean x) / sqrt(bias + var x)
 *   ZCA, fitted on the training split:       mu = mean of the GCN'd samples,
 *                                            C  = their covariance (1/n),
 *                                            C  = U diag(lambda) U^T (LAPACK dsyevd),
 *                                            W  = U diag((lambda + eps)^-1/2) U^T,
 *   applied to train and test:               x <- W (x - mu).
 *
 * W is symmetric, so the batch form is X <- (X - mu) W. The whitened
 * training data has covariance W C W = C (C + eps I)^-1: the identity on
 * the directions whose variance is well above eps (GCN removes one, the
 * constant direction, which stays 0). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "entropic.h"

#define ZCA_MAX_DIM 4096 /* CIFAR-10: 3072; W and C are D^2 doubles each */
#define ZCA_CHUNK 256    /* samples per BLAS call */

static void gcn(ent_dataset *d, double bias) {
    const int64_t D = d->c * d->h * d->w;
    for (int64_t i = 0; i < d->n; i++) {
        float *x = d->x + i * D;
        double m = 0, v = 0;
        for (int64_t j = 0; j < D; j++) m += x[j];
        m /= (double)D;
        for (int64_t j = 0; j < D; j++) v += (x[j] - m) * (x[j] - m);
        const double den = sqrt(bias + v / (double)D), s = den > 0 ? 1.0 / den : 1.0;
        for (int64_t j = 0; j < D; j++) x[j] = (float)((x[j] - m) * s);
    }
}

/* buf[k x D] = rows i0.. of d, minus mu (mu NULL: as they are). */
static int64_t load_rows(const ent_dataset *d, int64_t i0, const double *mu, double *buf) {
    const int64_t D = d->c * d->h * d->w;
    const int64_t k = d->n - i0 < ZCA_CHUNK ? d->n - i0 : ZCA_CHUNK;
    for (int64_t r = 0; r < k; r++)
        for (int64_t j = 0; j < D; j++) buf[r * D + j] = d->x[(i0 + r) * D + j] - (mu ? mu[j] : 0.0);
    return k;
}

/* mu[D] and the covariance C[D x D] (both triangles) of d's samples. */
static void moments(const ent_dataset *d, double *mu, double *C, double *buf) {
    const int64_t D = d->c * d->h * d->w;
    memset(mu, 0, sizeof(double) * (size_t)D);
    for (int64_t i = 0; i < d->n; i++)
        for (int64_t j = 0; j < D; j++) mu[j] += d->x[i * D + j];
    for (int64_t j = 0; j < D; j++) mu[j] /= (double)d->n;
    memset(C, 0, sizeof(double) * (size_t)(D * D));
    for (int64_t i = 0; i < d->n; i += ZCA_CHUNK) {
        const int64_t k = load_rows(d, i, mu, buf);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)D, (int)k, 1.0, buf, (int)D, 1.0, C, (int)D);
    }
    for (int64_t a = 0; a < D; a++)
        for (int64_t b = a; b < D; b++) C[b * D + a] = C[a * D + b] = C[a * D + b] / (double)d->n;
}

/* C -> W = U diag((lambda + eps)^-1/2) U^T, in place (V: D x D scratch). */
static ent_status whitener(double *C, int64_t D, double eps, double *V) {
    double *lambda = malloc(sizeof(double) * (size_t)D);
    if (!lambda) return ent_fail(ENT_ENOMEM, "ZCA: out of memory (D = %lld)", (long long)D);
    memcpy(V, C, sizeof(double) * (size_t)(D * D));
    ent_status s = ent_sym_eig(V, D, lambda, 1); /* row i of V: eigenvector i */
    if (s == ENT_OK) {
        for (int64_t i = 0; i < D; i++) {
            const double l = lambda[i] > 0 ? lambda[i] : 0.0, r = pow(l + eps, -0.25);
            for (int64_t j = 0; j < D; j++) V[i * D + j] *= r; /* W = V^T V */
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)D, (int)D, 1.0, V, (int)D, 0.0, C, (int)D);
        for (int64_t a = 0; a < D; a++)
            for (int64_t b = a + 1; b < D; b++) C[b * D + a] = C[a * D + b];
    }
    free(lambda);
    return s;
}

/* d <- (d - mu) W, in chunks (buf, out: ZCA_CHUNK x D). */
static void apply(ent_dataset *d, const double *mu, const double *W, double *buf, double *out) {
    const int64_t D = d->c * d->h * d->w;
    for (int64_t i = 0; i < d->n; i += ZCA_CHUNK) {
        const int64_t k = load_rows(d, i, mu, buf);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)k, (int)D, (int)D, 1.0, buf, (int)D, W,
                    (int)D, 0.0, out, (int)D);
        for (int64_t j = 0; j < k * D; j++) d->x[i * D + j] = (float)out[j];
    }
}

static ent_status check_args(const ent_dataset *train, const ent_dataset *test, double bias, double eps) {
    if (!train || !train->x || train->n < 2) return ent_fail(ENT_EINVAL, "ent_gcn_zca: want a training set of >= 2 samples");
    const int64_t D = train->c * train->h * train->w;
    if (D < 1 || D > ZCA_MAX_DIM)
        return ent_fail(ENT_EINVAL, "ent_gcn_zca: %lld values per sample, at most %d", (long long)D, ZCA_MAX_DIM);
    if (test && (test->c != train->c || test->h != train->h || test->w != train->w))
        return ent_fail(ENT_ESHAPE, "ent_gcn_zca: test samples %lldx%lldx%lld, training %lldx%lldx%lld",
                        (long long)test->c, (long long)test->h, (long long)test->w, (long long)train->c,
                        (long long)train->h, (long long)train->w);
    if (!(bias >= 0 && isfinite(bias))) return ent_fail(ENT_EINVAL, "ent_gcn_zca: GCN bias must be >= 0, got %g", bias);
    if (!(eps > 0 && isfinite(eps))) return ent_fail(ENT_EINVAL, "ent_gcn_zca: ZCA epsilon must be > 0, got %g", eps);
    return ENT_OK;
}

/* The buffers of one transform: mu [D], C and V [D x D], two chunks. */
typedef struct {
    double *mu, *C, *V, *buf, *out;
} zca_work;

static void work_free(zca_work *w) { free(w->mu), free(w->C), free(w->V), free(w->buf), free(w->out); }

static ent_status work_alloc(zca_work *w, int64_t D) {
    w->mu = malloc(sizeof(double) * (size_t)D);
    w->C = malloc(sizeof(double) * (size_t)(D * D)), w->V = malloc(sizeof(double) * (size_t)(D * D));
    w->buf = malloc(sizeof(double) * (size_t)(ZCA_CHUNK * D));
    w->out = malloc(sizeof(double) * (size_t)(ZCA_CHUNK * D));
    if (w->mu && w->C && w->V && w->buf && w->out) return ENT_OK;
    work_free(w);
    return ent_fail(ENT_ENOMEM, "ZCA: out of memory (D = %lld)", (long long)D);
}

/* mu and W (into w->C) of the contrast-normalised training split. */
static ent_status fit(const ent_dataset *train, double eps, zca_work *w) {
    moments(train, w->mu, w->C, w->buf);
    return whitener(w->C, train->c * train->h * train->w, eps, w->V);
}

ent_status ent_gcn_zca(ent_dataset *train, ent_dataset *test, double gcn_bias, double zca_eps) {
    ent_status s = check_args(train, test, gcn_bias, zca_eps);
    zca_work w = {0};
    if (s == ENT_OK) s = work_alloc(&w, train->c * train->h * train->w);
    if (s != ENT_OK) return s;
    gcn(train, gcn_bias);
    if (test) gcn(test, gcn_bias);
    s = fit(train, zca_eps, &w);
    if (s == ENT_OK) {
        apply(train, w.mu, w.C, w.buf, w.out);
        if (test) apply(test, w.mu, w.C, w.buf, w.out);
    }
    work_free(&w);
    return s;
}

/* ---- the transform cached in a file (--preprocess gcn-zca) ----
 * The fitted mu and W are rounded to float32 and stored as the
 * safetensors tensors "zca.mean" [D] and "zca.whitener" [D, D] with the
 * settings in the metadata; the data are whitened with the rounded values
 * whether they were just fitted or read back, so a resumed run (and an
 * evaluation of its checkpoint) sees the very same inputs. */

static ent_status read_cache(const char *path, int64_t D, double bias, double eps, double *mu, double *W) {
    ent_st_file *f = NULL;
    ent_status s = ent_safetensors_read(&f, path);
    if (s != ENT_OK) return s;
    const char *b = ent_st_meta(f, "zca.gcn_bias"), *e = ent_st_meta(f, "zca.eps");
    float *tmp = malloc(sizeof(float) * (size_t)(D * D));
    if (!tmp) s = ent_fail(ENT_ENOMEM, "%s: out of memory", path);
    else if (!b || !e || atof(b) != bias || atof(e) != eps)
        s = ent_fail(ENT_EFORMAT, "%s: a whitening for other settings (gcn bias %s, eps %s)", path, b ? b : "?",
                     e ? e : "?");
    if (s == ENT_OK) s = ent_st_get(f, "zca.mean", tmp, D);
    for (int64_t j = 0; s == ENT_OK && j < D; j++) mu[j] = tmp[j];
    if (s == ENT_OK) s = ent_st_get(f, "zca.whitener", tmp, D * D);
    for (int64_t j = 0; s == ENT_OK && j < D * D; j++) W[j] = tmp[j];
    free(tmp);
    ent_st_file_free(f);
    return s;
}

/* Round mu and W to float32 (in place) and write them to path. */
static ent_status write_cache(const char *path, int64_t D, double bias, double eps, double *mu, double *W) {
    float *m = malloc(sizeof(float) * (size_t)D), *w = malloc(sizeof(float) * (size_t)(D * D));
    ent_status s = m && w ? ENT_OK : ent_fail(ENT_ENOMEM, "ZCA: out of memory (D = %lld)", (long long)D);
    for (int64_t j = 0; s == ENT_OK && j < D; j++) mu[j] = m[j] = (float)mu[j];
    for (int64_t j = 0; s == ENT_OK && j < D * D; j++) W[j] = w[j] = (float)W[j];
    char sb[32], se[32];
    snprintf(sb, sizeof sb, "%.17g", bias), snprintf(se, sizeof se, "%.17g", eps);
    const char *keys[] = {"zca.gcn_bias", "zca.eps"}, *vals[] = {sb, se};
    const ent_st_tensor t[2] = {{"zca.mean", 1, {D}, m, 0}, {"zca.whitener", 2, {D, D}, w, 0}};
    if (s == ENT_OK && path) s = ent_safetensors_write(path, t, 2, keys, vals, 2);
    free(m), free(w);
    return s;
}

ent_status ent_gcn_zca_cached(ent_dataset *train, ent_dataset *const *others, int n_others, double gcn_bias,
                              double zca_eps, const char *cache) {
    ent_status s = check_args(train, NULL, gcn_bias, zca_eps);
    for (int k = 0; s == ENT_OK && k < n_others; k++) s = check_args(train, others[k], gcn_bias, zca_eps);
    const int64_t D = train ? train->c * train->h * train->w : 0;
    zca_work w = {0};
    if (s == ENT_OK) s = work_alloc(&w, D);
    if (s != ENT_OK) return s;
    gcn(train, gcn_bias);
    for (int k = 0; k < n_others; k++) gcn(others[k], gcn_bias);
    if (cache && access(cache, F_OK) == 0) {
        s = read_cache(cache, D, gcn_bias, zca_eps, w.mu, w.C);
    } else {
        s = fit(train, zca_eps, &w);
        if (s == ENT_OK) s = write_cache(cache, D, gcn_bias, zca_eps, w.mu, w.C);
    }
    if (s == ENT_OK) {
        apply(train, w.mu, w.C, w.buf, w.out);
        for (int k = 0; k < n_others; k++) apply(others[k], w.mu, w.C, w.buf, w.out);
    }
    work_free(&w);
    return s;
}
