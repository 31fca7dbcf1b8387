/* test_rop.c — the R-operator (src/analysis/rop*.c, nethess.c) against
 * finite differences, in double.
 *
 * Per layer kind: R{out} and R{adjoints} are directional derivatives,
 *   Rout = d/dr out(th + r v, x + r Rx),
 *   Rgx, (Hv)_th = d/dr backward(th + r v, x + r Rx, gy + r Rgy),
 * so central differences with h = 1e-5 check them. Error budget: the
 * truncation error is h^2/6 |third derivative| ~ 1e-10 (O(1) data) and the
 * rounding error eps |f| / h ~ 1e-10; the tolerance 1e-6 (relative to the
 * largest |value|, floor 1) leaves a factor >= 1000. ReLU kinks and
 * max-pool ties are avoided by the data (|x| >= 0.05, distinct values), so
 * nothing is differentiated across a kink.
 *
 * Whole networks (same tolerance, relative to the largest entry): the exact Hessian of a small MLP assembled from HVPs
 * against finite differences of the double-precision gradient, column by
 * column; Hv of presets with conv, max-pool, batch-norm (eval and train)
 * and dropout against finite differences along random directions; the
 * double gradient against the float model's. */
#include <omp.h>
#include <stdlib.h>

#include "analysis/rop.h"
#include "models/model_internal.h"
#include "test.h"

#define FD_H 1e-5
#define FD_TOL 1e-6

static double *dvec(int64_t n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(double)); }

/* N(0,1) values pushed away from 0 (|x| >= 0.05): no ReLU kink within h. */
static void fill(double *x, int64_t n, ent_rng *r, double scale) {
    for (int64_t i = 0; i < n; i++) {
        double z = ent_rng_normal(r);
        x[i] = scale * (z >= 0 ? z + 0.05 : z - 0.05);
    }
}

/* max |a - b| / max(1, max |b|) */
static double rel_err(const double *a, const double *b, int64_t n) {
    double d = 0.0, big = 1.0;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > d || a[i] != a[i]) d = fabs(a[i] - b[i]);
        if (fabs(b[i]) > big) big = fabs(b[i]);
    }
    return d / big;
}

/* A layer on [c, h, w] inputs planned by its own plan function; its tensors
 * are placed back to back (params in theta, buffers in buffers). */
static ent_layer make_layer(ent_layer_kind kind, int64_t c, int64_t h, int64_t w,
                            int64_t *P, int64_t *NB) {
    ent_layer l;
    memset(&l, 0, sizeof l);
    l.kind = kind, l.ops = ent_layer_ops_of(kind);
    l.in_c = c, l.in_h = h, l.in_w = w, l.max_batch = 8;
    l.bn.eps = 1e-5f, l.bn.momentum = 0.1f;
    snprintf(l.name, sizeof l.name, "%s", l.ops->kind_name);
    l.dense.out = 5;
    l.conv.out_c = 3, l.conv.k = 3, l.conv.stride = 2, l.conv.pad = 1;
    l.pool.k = 2, l.pool.stride = 2;
    CHECK_OK(l.ops->plan(&l));
    *P = *NB = 0;
    for (int t = 0; t < l.n_tensors; t++) {
        int64_t *end = l.is_buffer[t] ? NB : P;
        l.tensors[t].offset = *end;
        *end += l.tensors[t].numel;
    }
    return l;
}

typedef struct {
    const ent_layer *l;
    int64_t n, P, NB, in, out;
    int bn_train;
    double *th, *v, *x, *rx, *gy, *rgy, *buf, *mask, *saved, *scratch;
} lcase;

static ent_rop_ctx ctx_of(lcase *t) {
    ent_rop_ctx c = {.n = t->n, .bn_train = t->bn_train, .buffers = t->buf,
                     .mask = t->mask, .scratch = t->scratch};
    return c;
}

/* out, gx, gth of the plain passes at th + s v, x + s rx, gy + s rgy */
static void plain(lcase *t, double s, double *out, double *gx, double *gth) {
    double *th = dvec(t->P), *x = dvec(t->n * t->in), *gy = dvec(t->n * t->out);
    for (int64_t i = 0; i < t->P; i++) th[i] = t->th[i] + s * t->v[i];
    for (int64_t i = 0; i < t->n * t->in; i++) x[i] = t->x[i] + s * t->rx[i];
    for (int64_t i = 0; i < t->n * t->out; i++) gy[i] = t->gy[i] + s * t->rgy[i];
    ent_rop_ctx c = ctx_of(t);
    ent_rop_forward_f64(t->l, th, NULL, x, NULL, out, NULL, t->saved, &c);
    memset(gth, 0, sizeof(double) * (size_t)(t->P ? t->P : 1));
    ent_rop_backward_f64(t->l, th, NULL, x, NULL, out, t->saved, gy, NULL, gx, NULL, gth, NULL, &c);
    free(th), free(x), free(gy);
}

static void check_layer(const ent_layer *l, int64_t P, int64_t NB, int bn_train, int masked) {
    lcase t = {.l = l, .n = 4, .P = P, .NB = NB, .in = ent_layer_in_size(l),
               .out = ent_layer_out_size(l), .bn_train = bn_train};
    const int64_t ni = t.n * t.in, no = t.n * t.out;
    ent_rng r;
    ent_rng_init(&r, 7, (uint64_t)l->kind * 4 + (uint64_t)bn_train * 2 + (uint64_t)masked);
    t.th = dvec(P), t.v = dvec(P), t.x = dvec(ni), t.rx = dvec(ni), t.gy = dvec(no);
    t.rgy = dvec(no), t.buf = dvec(NB), t.saved = dvec(ent_rop_saved(l, t.n));
    t.scratch = dvec(ent_rop_scratch(l, t.n));
    fill(t.th, P, &r, 0.5), fill(t.v, P, &r, 1.0), fill(t.x, ni, &r, 1.0);
    fill(t.rx, ni, &r, 1.0), fill(t.gy, no, &r, 1.0), fill(t.rgy, no, &r, 1.0);
    for (int64_t i = 0; i < NB; i++) t.buf[i] = 0.5 + 0.25 * fabs(ent_rng_normal(&r)); /* var > 0 */
    if (masked) {
        t.mask = dvec(ni);
        for (int64_t i = 0; i < ni; i++) t.mask[i] = ent_rng_uniform(&r) < 0.3 ? 0.0 : 1.0 / 0.7;
    }
    double *out = dvec(no), *rout = dvec(no), *gx = dvec(ni), *rgx = dvec(ni);
    double *gth = dvec(P), *hv = dvec(P);
    ent_rop_ctx c = ctx_of(&t);
    ent_rop_forward_f64(l, t.th, t.v, t.x, t.rx, out, rout, t.saved, &c);
    ent_rop_backward_f64(l, t.th, t.v, t.x, t.rx, out, t.saved, t.gy, t.rgy, gx, rgx, gth, hv, &c);
    /* central differences */
    double *op = dvec(no), *om = dvec(no), *gp = dvec(ni), *gm = dvec(ni);
    double *tp = dvec(P), *tm = dvec(P);
    plain(&t, FD_H, op, gp, tp);
    plain(&t, -FD_H, om, gm, tm);
    for (int64_t i = 0; i < no; i++) op[i] = (op[i] - om[i]) / (2 * FD_H);
    for (int64_t i = 0; i < ni; i++) gp[i] = (gp[i] - gm[i]) / (2 * FD_H);
    for (int64_t i = 0; i < P; i++) tp[i] = (tp[i] - tm[i]) / (2 * FD_H);
    const double e1 = rel_err(rout, op, no), e2 = rel_err(rgx, gp, ni), e3 = P ? rel_err(hv, tp, P) : 0;
    printf("    %-10s%s%s R-fwd %.1e  R-bwd input %.1e  Hv %.1e (tol %.0e)\n", l->ops->kind_name,
           bn_train ? " train" : "", masked ? " mask" : "", e1, e2, e3, FD_TOL);
    CHECK_MSG(e1 <= FD_TOL, "%s: R-forward error %.2e", l->ops->kind_name, e1);
    CHECK_MSG(e2 <= FD_TOL, "%s: R-backward (input) error %.2e", l->ops->kind_name, e2);
    CHECK_MSG(e3 <= FD_TOL, "%s: R-backward (parameters) error %.2e", l->ops->kind_name, e3);
    double *bufs[] = {t.th, t.v, t.x, t.rx, t.gy, t.rgy, t.buf, t.mask, t.saved, t.scratch,
                      out, rout, gx, rgx, gth, hv, op, om, gp, gm, tp, tm};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
}

ENT_TEST(rop_layers_fd) {
    int64_t P, NB;
    ent_layer l = make_layer(ENT_LAYER_DENSE, 3, 2, 2, &P, &NB);
    check_layer(&l, P, NB, 0, 0);
    l = make_layer(ENT_LAYER_CONV2D, 2, 7, 6, &P, &NB); /* stride 2, pad 1 */
    check_layer(&l, P, NB, 0, 0);
    l = make_layer(ENT_LAYER_RELU, 2, 3, 3, &P, &NB);
    check_layer(&l, P, NB, 0, 0);
    l = make_layer(ENT_LAYER_MAXPOOL, 2, 5, 4, &P, &NB); /* floor mode remainder */
    check_layer(&l, P, NB, 0, 0);
    l = make_layer(ENT_LAYER_DROPOUT, 2, 3, 3, &P, &NB);
    l.dropout.p = 0.3f;
    check_layer(&l, P, NB, 0, 1);
    check_layer(&l, P, NB, 0, 0);
    l = make_layer(ENT_LAYER_BATCHNORM, 3, 1, 1, &P, &NB); /* 1-D */
    check_layer(&l, P, NB, 0, 0);
    check_layer(&l, P, NB, 1, 0);
    l = make_layer(ENT_LAYER_BATCHNORM, 3, 2, 3, &P, &NB); /* 2-D */
    check_layer(&l, P, NB, 0, 0);
    check_layer(&l, P, NB, 1, 0);
}

/* --------------------------------------------------------------- networks */

typedef struct {
    ent_model *m;
    float *theta, *buffers, *x;
    int32_t *y;
    int64_t n;
} net;

static int net_make(net *t, const char *preset, int64_t c, int64_t hw, int64_t classes,
                    int64_t n, uint64_t seed) {
    memset(t, 0, sizeof *t);
    CHECK_OK(ent_model_new(&t->m, preset, NULL, c, hw, hw, classes, n));
    if (!t->m) return 0;
    t->n = n;
    t->theta = ent_alloc(sizeof(float) * (size_t)t->m->n_param);
    t->buffers = ent_alloc(sizeof(float) * (size_t)(t->m->n_buffer + 1));
    t->x = ent_alloc(sizeof(float) * (size_t)(n * c * hw * hw));
    t->y = ent_alloc(sizeof(int32_t) * (size_t)n);
    ent_model_init_params(t->m, t->theta, t->buffers, seed);
    ent_rng r;
    ent_rng_init(&r, seed, 99);
    ent_rng_normal_fill(&r, t->x, n * c * hw * hw, 1.0f);
    for (int64_t i = 0; i < n; i++) t->y[i] = (int32_t)ent_rng_below(&r, (uint64_t)classes);
    /* non-trivial batch-norm: running statistics and affine away from 0/1 */
    int np, nb;
    const ent_tensor_info *p = ent_model_params(t->m, &np), *b = ent_model_buffers(t->m, &nb);
    for (int i = 0; i < nb; i++)
        for (int64_t k = 0; k < b[i].numel; k++)
            if (!b[i].is_int64) t->buffers[b[i].offset + k] = strstr(b[i].name, "var") ? 0.5f + (float)ent_rng_uniform(&r) : 0.2f * (float)ent_rng_normal(&r);
    for (int i = 0; i < np; i++)
        if (strncmp(p[i].name, "bn", 2) == 0)
            for (int64_t k = 0; k < p[i].numel; k++) t->theta[p[i].offset + k] += 0.3f * (float)ent_rng_normal(&r);
    return 1;
}

static void net_free(net *t) {
    ent_model_free(t->m);
    ent_free_aligned(t->theta), ent_free_aligned(t->buffers), ent_free_aligned(t->x), ent_free_aligned(t->y);
}

/* The double gradient at theta0 + s dir. */
static void grad_at(ent_nethess *h, const double *th0, const double *dir, double s, int64_t P,
                    double *tmp, double *g) {
    for (int64_t i = 0; i < P; i++) tmp[i] = th0[i] + s * dir[i];
    ent_nethess_set_point(h, tmp);
    CHECK_OK(ent_nethess_grad(h, g, NULL, NULL));
}

/* Exact Hessian of a small MLP (small-mnistfc on 4x4 inputs, 3 classes:
 * 16*64+64 + 64*3+3 = 1283 parameters) from HVPs vs the central
 * differences of the double gradient, every column. Tolerance as above,
 * relative to max |H|. Also: the assembled H is symmetric to rounding
 * (asymmetry <= 1e-12: each column is an independent exact product). */
ENT_TEST(rop_mlp_hessian_vs_fd) {
    net t;
    if (!net_make(&t, "small-mnistfc", 1, 4, 3, 12, 3)) return;
    const int64_t P = t.m->n_param;
    CHECK(P == 1283);
    ent_nethess *h = NULL;
    ent_nethess_opts no = ent_nethess_opts_default();
    no.batch = 5; /* 3 chunks */
    CHECK_OK(ent_nethess_new(&h, t.m, t.theta, t.buffers, t.x, t.y, t.n, &no));
    if (!h) return net_free(&t);
    double *H = dvec(P * P), *th0 = dvec(P), *e = dvec(P), *tmp = dvec(P), *gp = dvec(P), *gm = dvec(P);
    double asym = 1.0;
    ent_hvp op = ent_nethess_hvp(h);
    CHECK_OK(ent_hessian_dense(&op, H, &asym));
    CHECK(ent_nethess_products(h) == P);
    for (int64_t i = 0; i < P; i++) th0[i] = t.theta[i];
    double worst = 0.0, big = 0.0;
    for (int64_t j = 0; j < P; j++) {
        e[j] = 1.0;
        grad_at(h, th0, e, FD_H, P, tmp, gp);
        grad_at(h, th0, e, -FD_H, P, tmp, gm);
        e[j] = 0.0;
        for (int64_t i = 0; i < P; i++) {
            const double fd = (gp[i] - gm[i]) / (2 * FD_H);
            if (fabs(fd - H[j * P + i]) > worst) worst = fabs(fd - H[j * P + i]);
            if (fabs(H[j * P + i]) > big) big = fabs(H[j * P + i]);
        }
    }
    printf("    MLP %lld params: max |H - FD| / max |H| = %.1e (tol %.0e), asymmetry %.1e (tol 1e-12)\n",
           (long long)P, worst / big, FD_TOL, asym);
    CHECK(worst <= FD_TOL * big);
    CHECK(asym <= 1e-12);
    free(H), free(th0), free(e), free(tmp), free(gp), free(gm);
    ent_nethess_free(h);
    net_free(&t);
}

/* Hv along random directions vs central differences of the gradient, and
 * the symmetry u.Hv = v.Hu, for a preset on tiny inputs. */
static void check_net(const char *preset, int64_t hw, int bn_train) {
    net t;
    if (!net_make(&t, preset, 1, hw, 3, 6, 5)) return;
    const int64_t P = t.m->n_param;
    ent_nethess *h = NULL;
    ent_nethess_opts no = {.batch = 4, .bn_train = bn_train};
    CHECK_OK(ent_nethess_new(&h, t.m, t.theta, t.buffers, t.x, t.y, t.n, &no));
    if (!h) return net_free(&t);
    double *th0 = dvec(P), *u = dvec(P), *v = dvec(P), *hu = dvec(P), *hv = dvec(P);
    double *tmp = dvec(P), *gp = dvec(P), *gm = dvec(P);
    ent_rng r;
    ent_rng_init(&r, 11, 0);
    /* unit directions: a step h moves each weight by ~h / sqrt(P), so no
     * ReLU or max-pool decision among the ~1e4 units flips inside it */
    for (int64_t i = 0; i < P; i++) th0[i] = t.theta[i], u[i] = ent_rng_normal(&r), v[i] = ent_rng_normal(&r);
    for (int64_t i = 0; i < P; i++) u[i] /= sqrt((double)P), v[i] /= sqrt((double)P);
    ent_hvp op = ent_nethess_hvp(h);
    CHECK_OK(ent_hvp_apply(&op, v, hv));
    CHECK_OK(ent_hvp_apply(&op, u, hu));
    grad_at(h, th0, v, FD_H, P, tmp, gp);
    grad_at(h, th0, v, -FD_H, P, tmp, gm);
    for (int64_t i = 0; i < P; i++) gp[i] = (gp[i] - gm[i]) / (2 * FD_H);
    double err = 0.0, big = 0.0, uhv = 0, vhu = 0, nu = 0, nv = 0;
    for (int64_t i = 0; i < P; i++) err = fmax(err, fabs(hv[i] - gp[i])), big = fmax(big, fabs(gp[i]));
    err /= big; /* relative to max |Hv| */
    for (int64_t i = 0; i < P; i++) uhv += u[i] * hv[i], vhu += v[i] * hu[i], nu += hu[i] * hu[i], nv += hv[i] * hv[i];
    const double sym = fabs(uhv - vhu) / (sqrt(nu * nv) + 1e-300);
    printf("    %-13s bn %-5s %6lld params: |Hv - FD| %.1e (tol %.0e), |u.Hv - v.Hu| / |Hu||Hv| %.1e (tol 1e-12)\n",
           preset, bn_train ? "train" : "eval", (long long)P, err, FD_TOL, sym);
    CHECK_MSG(err <= FD_TOL, "%s: Hv vs FD %.2e", preset, err);
    CHECK_MSG(sym <= 1e-12, "%s: asymmetry %.2e", preset, sym);
    /* the float engine against the double one: float32 rounding through
     * up to 12 layers, ~1e-6 of max |Hv|: tolerance 1e-4. Batch-norm on
     * batch statistics of chunks of 4 samples (16 values per channel in
     * bn2) amplifies it by its 1/std and the R of the statistics (observed
     * 5e-5): tolerance 1e-3 there. */
    const double ftol = bn_train ? 1e-3 : 1e-4;
    ent_nethess *hf = NULL;
    no.single = 1;
    CHECK_OK(ent_nethess_new(&hf, t.m, t.theta, t.buffers, t.x, t.y, t.n, &no));
    if (hf) {
        ent_hvp opf = ent_nethess_hvp(hf);
        CHECK_OK(ent_hvp_apply(&opf, v, gm));
        double ef = 0.0, bf = 0.0;
        for (int64_t i = 0; i < P; i++) ef = fmax(ef, fabs(gm[i] - hv[i])), bf = fmax(bf, fabs(hv[i]));
        printf("    %-13s bn %-5s float engine: |Hv_f32 - Hv_f64| / max |Hv| %.1e (tol %.0e)\n", preset,
               bn_train ? "train" : "eval", ef / bf, ftol);
        CHECK_MSG(ef <= ftol * bf, "%s: float engine %.2e", preset, ef / bf);
    }
    ent_nethess_free(hf);
    free(th0), free(u), free(v), free(hu), free(hv), free(tmp), free(gp), free(gm);
    ent_nethess_free(h);
    net_free(&t);
}

ENT_TEST(rop_presets_directional) {
    check_net("small-lenet", 16, 0);
    check_net("lenet", 22, 0);  /* conv, ReLU, max-pool 3/3, BN 2-D, dropout (off) */
    check_net("lenet", 22, 1);  /* BN on the chunks' batch statistics */
}

/* The double engine's loss and gradient against the float layers' (eval
 * mode): float32 rounding through 3-6 layers, ~1e-6 relative; tol 1e-4. */
ENT_TEST(rop_gradient_matches_float_model) {
    const char *presets[] = {"small-lenet", "lenet", "mnistfc"};
    const int64_t hw[] = {16, 22, 4};
    for (int k = 0; k < 3; k++) {
        net t;
        if (!net_make(&t, presets[k], 1, hw[k], 3, 6, 9)) continue;
        const int64_t P = t.m->n_param;
        float *gf = ent_alloc(sizeof(float) * (size_t)P);
        double *gd = dvec(P), *gfd = dvec(P), lf = 0, ld = 0;
        ent_nethess *h = NULL;
        ent_nethess_opts no = {.batch = 4};
        CHECK_OK(ent_nethess_new(&h, t.m, t.theta, t.buffers, t.x, t.y, t.n, &no));
        CHECK_OK(ent_model_run(t.m, t.theta, t.buffers, t.x, t.y, t.n, 0, NULL, gf, &lf, NULL));
        if (h) CHECK_OK(ent_nethess_grad(h, gd, &ld, NULL));
        for (int64_t i = 0; i < P; i++) gfd[i] = gf[i];
        const double e = rel_err(gd, gfd, P) ;
        double gmax = 0;
        for (int64_t i = 0; i < P; i++) gmax = fmax(gmax, fabs(gfd[i]));
        printf("    %-12s loss %.3e vs %.3e, gradient max diff / max |g| %.1e (tol 1e-4)\n",
               presets[k], ld, lf, e * fmax(1.0, gmax) / gmax);
        CHECK_NEAR(ld, lf, 1e-5 * fmax(1.0, lf));
        CHECK(e * fmax(1.0, gmax) <= 1e-4 * gmax);
        ent_nethess_free(h);
        ent_free_aligned(gf), free(gd), free(gfd);
        net_free(&t);
    }
}

/* ent_dgemm inside a parallel region (dgemm.c's own loops) against the
 * same call outside one (OpenBLAS), every transpose case, odd sizes (the
 * loops take four rows or four columns at a time), leading dimensions
 * wider than the rows, beta 0 over a C full of NaN (BLAS: C is not read)
 * and beta 1. Both sum the same products in different orders: 1e-14 of
 * the largest |C| allows K ~ 100 roundings of double. */
ENT_TEST(rop_dgemm_parallel_matches_blas) {
    static const int64_t dims[][3] = {{1, 1, 1}, {7, 5, 9}, {13, 8, 128}, {128, 8, 103}, {3, 131, 6}};
    ent_rng r;
    ent_rng_init(&r, 11, 2);
    double worst = 0.0;
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int b1 = 0; b1 < 2; b1++) {
                    const int64_t M = dims[d][0], N = dims[d][1], K = dims[d][2];
                    const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
                    double *A = dvec((ta ? K : M) * lda), *B = dvec((tb ? N : K) * ldb);
                    double *C0 = dvec(M * ldc), *C1 = dvec(M * ldc);
                    fill(A, (ta ? K : M) * lda, &r, 1.0), fill(B, (tb ? N : K) * ldb, &r, 1.0);
                    fill(C0, M * ldc, &r, 1.0);
                    for (int64_t i = 0; i < M * ldc; i++) {
                        if (!b1) C0[i] = NAN;
                        C1[i] = C0[i];
                    }
                    const double beta = b1 ? 1.0 : 0.0;
                    ent_dgemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, beta, C0, ldc);
                    int inside = 0;
#pragma omp parallel num_threads(2)
                    {
#pragma omp single
                        {
                            inside = omp_in_parallel(); /* else this compares OpenBLAS with itself */
                            ent_dgemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, beta, C1, ldc);
                        }
                    }
                    CHECK_MSG(inside, "no parallel region (OMP_THREAD_LIMIT=1?): the own loops were not run");
                    for (int64_t i = 0; i < M; i++) /* the padding column of C is not written */
                        CHECK(C1[i * ldc + N] == C0[i * ldc + N] || (C1[i * ldc + N] != C1[i * ldc + N] && !b1));
                    double big = 0.0, diff = 0.0;
                    for (int64_t i = 0; i < M; i++)
                        for (int64_t j = 0; j < N; j++) {
                            big = fmax(big, fabs(C0[i * ldc + j]));
                            const double e = fabs(C0[i * ldc + j] - C1[i * ldc + j]);
                            diff = e > diff || e != e ? e : diff;
                        }
                    CHECK_MSG(diff <= 1e-14 * big, "%lldx%lldx%lld trans %d%d beta %g: |diff| %.3g of %.3g",
                              (long long)M, (long long)N, (long long)K, ta, tb, beta, diff, big);
                    worst = fmax(worst, big > 0 ? diff / big : diff);
                    free(A), free(B), free(C0), free(C1);
                }
    printf("    80 cases, own loops vs OpenBLAS: max |diff| / max |C| %.1e (tol 1e-14)\n", worst);
}
