/* test_layers.c — every layer kind by finite differences, plus the
 * accumulation contract, batch-norm running statistics, dropout masks and
 * the softmax + cross-entropy head.
 *
 * Gradient check: loss = sum(out * r) for a fixed random r, so backward
 * gets dout = r. Every input and every trainable parameter element is
 * perturbed by +-h and the loss (float32 forward, summed in double) gives
 * the central difference (L+ - L-) / 2h.
 * Tolerance, |analytic - fd| <= atol + rtol |fd|: atol 1e-4, rtol 1e-3
 * (atol 1e-3, rtol 2e-3 for batch-norm in train mode). Observed worst
 * |err|: dense 4e-6, conv 8e-6, max-pool/relu/dropout ~0, batch-norm eval
 * 4e-6, batch-norm train 3e-4 (1-D, n = 4: the curved case):
 *   - rounding: out is float32, so each loss carries an error of about
 *     6e-8 * sum|out * r| ~ 1e-6 on these sizes; divided by 2h = 2e-2 that
 *     is ~5e-5, far under atol;
 *   - truncation: dense, conv, dropout, relu and max-pool are piecewise
 *     linear in every single element, so the central difference is exact
 *     away from kinks; batch-norm in train mode is smooth but curved (the
 *     statistics move with x), and its h^2 f'''/6 term is ~3e-4 at h = 1e-2,
 *     hence its larger tolerance.
 * Kinks (relu at 0, max-pool ties) are skipped: where the one-sided
 * differences (L+ - L0)/h and (L0 - L-)/h disagree by more than 1e-3 the
 * element straddles a kink and its central difference means nothing. */
#include <stdlib.h>

#include "core/gemm_internal.h"
#include "core/rng_internal.h"
#include "layers/conv2d_direct.h"
#include "layers/fused.h"
#include "layers/layer.h"
#include "test.h"

/* ------------------------------------------------------------- harness */

/* One planned layer with all its memory, driven like the model drives it. */
typedef struct {
    ent_layer l;
    int64_t n, P, B;
    int train;
    float *theta, *dtheta, *buffers, *buffers0, *saved, *scratch;
    float *in, *out, *din, *r;
    ent_rng rng; /* dropout stream, reseeded before every forward */
} lh;

static float *zalloc(int64_t n) {
    return ent_alloc((size_t)(n > 0 ? n : 1) * sizeof(float));
}

/* Plan l, lay its tensors out (theta and buffers each packed in order),
 * allocate, initialise with PyTorch defaults and draw in and r ~ U(-1,1). */
static int lh_setup(lh *h, ent_layer l, int64_t n, int train) {
    memset(h, 0, sizeof *h);
    h->l = l;
    h->l.ops = ent_layer_ops_of(l.kind);
    h->n = n;
    h->train = train;
    ent_status s = h->l.ops->plan(&h->l);
    CHECK_OK(s);
    if (s != ENT_OK) return 0;
    for (int i = 0; i < h->l.n_tensors; i++) {
        int64_t *end = h->l.is_buffer[i] ? &h->B : &h->P;
        h->l.tensors[i].offset = *end;
        *end += h->l.tensors[i].numel;
    }
    const int64_t ni = h->l.max_batch * ent_layer_in_size(&h->l);
    const int64_t no = h->l.max_batch * ent_layer_out_size(&h->l);
    h->theta = zalloc(h->P);
    h->dtheta = zalloc(h->P);
    h->buffers = zalloc(h->B);
    h->buffers0 = zalloc(h->B);
    h->saved = zalloc(h->l.saved);
    h->scratch = zalloc(h->l.scratch);
    h->in = zalloc(ni);
    h->din = zalloc(ni);
    h->out = zalloc(no);
    h->r = zalloc(no);
    ent_rng g;
    ent_rng_init(&g, 1234, 0);
    if (h->l.ops->init) h->l.ops->init(&h->l, h->theta, h->buffers, &g);
    ent_rng_uniform_fill(&g, h->in, ni, -1.0f, 1.0f);
    ent_rng_uniform_fill(&g, h->r, no, -1.0f, 1.0f);
    ent_vec_copy(h->buffers0, h->buffers, h->B);
    return 1;
}

static void lh_free(lh *h) {
    float *p[] = {h->theta, h->dtheta, h->buffers, h->buffers0, h->saved,
                  h->scratch, h->in, h->din, h->out, h->r};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) ent_free_aligned(p[i]);
}

static ent_ctx lh_ctx(lh *h) {
    ent_ctx c = {.train = h->train, .n = h->n, .rng = &h->rng, .buffers = h->buffers, .scratch = h->scratch};
    return c;
}

/* Forward from the initial buffers and the same dropout mask every time. */
static void lh_forward(lh *h) {
    ent_vec_copy(h->buffers, h->buffers0, h->B);
    ent_rng_init(&h->rng, 99, 7);
    ent_ctx c = lh_ctx(h);
    h->l.ops->forward(&h->l, h->theta, h->in, h->out, h->saved, &c);
}

static void lh_backward(lh *h, float *din, float *dtheta) {
    ent_ctx c = lh_ctx(h);
    h->l.ops->backward(&h->l, h->theta, h->in, h->out, h->saved, h->r, din,
                       dtheta, &c);
}

static double lh_loss(lh *h) {
    lh_forward(h);
    double s = 0.0;
    const int64_t no = h->n * ent_layer_out_size(&h->l);
    for (int64_t i = 0; i < no; i++) s += (double)h->out[i] * h->r[i];
    return s;
}

typedef struct {
    double step, atol, rtol;
    int kinks; /* skip elements whose differences straddle a kink */
} gc_opts;

typedef struct {
    double max_abs, max_rel; /* worst |a - fd| and |a - fd| / (|fd| + 1e-3) */
    int64_t checked, skipped;
} gc_stats;

/* Central difference at x[i]; returns 0 (skip) at a kink. */
static int fd_at(lh *h, float *x, int64_t i, const gc_opts *o, double L0,
                 double *fd) {
    const float v = x[i];
    x[i] = v + (float)o->step;
    const double hp = (double)x[i] - v; /* the step actually taken */
    const double Lp = lh_loss(h);
    x[i] = v - (float)o->step;
    const double hm = v - (double)x[i];
    const double Lm = lh_loss(h);
    x[i] = v;
    *fd = (Lp - Lm) / (hp + hm);
    if (!o->kinks) return 1;
    const double fwd = (Lp - L0) / hp, bwd = (L0 - Lm) / hm;
    return fabs(fwd - bwd) <= 1e-3 * (1.0 + fabs(*fd));
}

static void gc_compare(const char *what, int64_t i, double a, double fd,
                       const gc_opts *o, gc_stats *st) {
    const double d = fabs(a - fd);
    st->checked++;
    if (d > st->max_abs) st->max_abs = d;
    if (d / (fabs(fd) + 1e-3) > st->max_rel) st->max_rel = d / (fabs(fd) + 1e-3);
    CHECK_MSG(d <= o->atol + o->rtol * fabs(fd),
              "%s[%lld]: analytic %.7g, finite difference %.7g", what,
              (long long)i, a, fd);
}

/* The whole check for one configured layer: gradients by finite
 * differences, then the contract (backward accumulates; din NULL works). */
static void gradcheck(lh *h, const char *name, gc_opts o) {
    const int64_t ni = h->n * ent_layer_in_size(&h->l);
    float *gin = zalloc(ni), *gth = zalloc(h->P);
    gc_stats st = {0, 0, 0, 0};

    lh_forward(h);
    lh_backward(h, gin, gth);
    const double L0 = lh_loss(h);
    for (int64_t i = 0; i < ni; i++) {
        double fd;
        if (!fd_at(h, h->in, i, &o, L0, &fd)) { st.skipped++; continue; }
        gc_compare("d/dx", i, gin[i], fd, &o, &st);
    }
    for (int64_t i = 0; i < h->P; i++) {
        double fd;
        if (!fd_at(h, h->theta, i, &o, L0, &fd)) { st.skipped++; continue; }
        gc_compare("d/dtheta", i, gth[i], fd, &o, &st);
    }
    CHECK_MSG(st.skipped * 10 <= st.checked + st.skipped,
              "%s: %lld of %lld elements skipped as kinks", name,
              (long long)st.skipped, (long long)(st.checked + st.skipped));

    /* accumulation: a second backward doubles both gradients */
    lh_forward(h);
    ent_vec_zero(h->din, ni);
    ent_vec_zero(h->dtheta, h->P);
    lh_backward(h, h->din, h->dtheta);
    lh_backward(h, h->din, h->dtheta);
    ent_vec_scal(gin, 2.0f, ni);
    ent_vec_scal(gth, 2.0f, h->P);
    CHECK_CLOSE("din twice", h->din, gin, ni, 1e-6, 1e-5);
    CHECK_CLOSE("dtheta twice", h->dtheta, gth, h->P, 1e-6, 1e-5);
    /* din == NULL: parameter gradient unchanged, nothing else touched */
    ent_vec_zero(h->dtheta, h->P);
    lh_backward(h, NULL, h->dtheta);
    ent_vec_scal(gth, 0.5f, h->P);
    CHECK_CLOSE("dtheta, din NULL", h->dtheta, gth, h->P, 1e-6, 1e-5);

    printf("    %-22s %4lld checked %3lld skipped  max|err| %.2e  max rel %.2e\n",
           name, (long long)st.checked, (long long)st.skipped, st.max_abs,
           st.max_rel);
    ent_free_aligned(gin);
    ent_free_aligned(gth);
}

static const gc_opts GC_LINEAR = {1e-2, 1e-4, 1e-3, 0};
static const gc_opts GC_KINKS = {1e-2, 1e-4, 1e-3, 1};
static const gc_opts GC_BN = {1e-2, 1e-3, 2e-3, 0};

static ent_layer mk(ent_layer_kind kind, int64_t c, int64_t hh, int64_t w,
                    int64_t max_batch) {
    ent_layer l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    snprintf(l.name, sizeof l.name, "t");
    l.in_c = c;
    l.in_h = hh;
    l.in_w = w;
    l.max_batch = max_batch;
    return l;
}

static void run_gradcheck(ent_layer l, int64_t n, int train, const char *name,
                          gc_opts o) {
    lh h;
    if (lh_setup(&h, l, n, train)) gradcheck(&h, name, o);
    lh_free(&h);
}

/* ---------------------------------------------------------------- tests */

ENT_TEST(layer_grad_dense) {
    ent_layer l = mk(ENT_LAYER_DENSE, 2, 2, 2, 3); /* flattens 2x2x2 */
    l.dense.out = 5;
    run_gradcheck(l, 3, 1, "dense 8->5", GC_LINEAR);
}

ENT_TEST(layer_grad_conv2d) {
    static const int64_t cfg[][4] = {/* k, stride, pad, in_h */
                                     {3, 1, 0, 5}, {3, 1, 1, 5}, {3, 2, 0, 6},
                                     {3, 2, 1, 6}, {2, 2, 1, 5}, {1, 1, 0, 4}};
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        ent_layer l = mk(ENT_LAYER_CONV2D, 2, cfg[i][3], cfg[i][3] + 1, 3);
        l.conv.out_c = 3;
        l.conv.k = cfg[i][0];
        l.conv.stride = cfg[i][1];
        l.conv.pad = cfg[i][2];
        char name[64];
        snprintf(name, sizeof name, "conv k%lld s%lld p%lld",
                 (long long)cfg[i][0], (long long)cfg[i][1],
                 (long long)cfg[i][2]);
        /* n = 2 < max_batch = 3: a short batch */
        run_gradcheck(l, 2, 1, name, GC_LINEAR);
    }
}

ENT_TEST(layer_grad_maxpool) {
    ent_layer l = mk(ENT_LAYER_MAXPOOL, 2, 6, 5, 2);
    l.pool.k = 2;
    l.pool.stride = 2;
    run_gradcheck(l, 2, 1, "maxpool 2/2 (floor)", GC_KINKS);
    l = mk(ENT_LAYER_MAXPOOL, 2, 7, 6, 2);
    l.pool.k = 3;
    l.pool.stride = 3;
    run_gradcheck(l, 2, 1, "maxpool 3/3 (floor)", GC_KINKS);
    l = mk(ENT_LAYER_MAXPOOL, 1, 5, 5, 2);
    l.pool.k = 3;
    l.pool.stride = 2;
    run_gradcheck(l, 2, 1, "maxpool 3/2 (overlap)", GC_KINKS);
}

/* Running statistics that are not the defaults, for eval mode. */
static void bn_random_running(lh *h, uint64_t seed) {
    ent_rng g;
    ent_rng_init(&g, seed, 0);
    const int64_t C = h->l.in_c;
    ent_rng_uniform_fill(&g, h->buffers0 + h->l.tensors[ENT_BN_MEAN].offset, C,
                         -0.5f, 0.5f);
    ent_rng_uniform_fill(&g, h->buffers0 + h->l.tensors[ENT_BN_VAR].offset, C,
                         0.5f, 1.5f);
    /* and a non-trivial affine part */
    ent_rng_uniform_fill(&g, h->theta + h->l.tensors[ENT_BN_WEIGHT].offset, C,
                         0.5f, 1.5f);
    ent_rng_uniform_fill(&g, h->theta + h->l.tensors[ENT_BN_BIAS].offset, C,
                         -0.5f, 0.5f);
}

ENT_TEST(layer_grad_batchnorm) {
    static const int64_t shp[][4] = {{4, 3, 1, 1}, {3, 2, 3, 2}}; /* n,c,h,w */
    for (int d = 0; d < 2; d++)
        for (int train = 1; train >= 0; train--) {
            ent_layer l = mk(ENT_LAYER_BATCHNORM, shp[d][1], shp[d][2],
                             shp[d][3], shp[d][0]);
            l.bn.eps = 1e-5f;
            l.bn.momentum = 0.1f;
            lh h;
            char name[64];
            snprintf(name, sizeof name, "batchnorm %dd %s", d + 1,
                     train ? "train" : "eval");
            if (lh_setup(&h, l, shp[d][0], train)) {
                bn_random_running(&h, 5 + d);
                gradcheck(&h, name, train ? GC_BN : GC_LINEAR);
            }
            lh_free(&h);
        }
}

ENT_TEST(layer_grad_dropout) {
    ent_layer l = mk(ENT_LAYER_DROPOUT, 3, 2, 2, 3);
    l.dropout.p = 0.4f;
    run_gradcheck(l, 3, 1, "dropout p0.4 train", GC_LINEAR);
    run_gradcheck(l, 3, 0, "dropout p0.4 eval", GC_LINEAR);
}

ENT_TEST(layer_grad_relu) {
    ent_layer l = mk(ENT_LAYER_RELU, 3, 3, 3, 2);
    run_gradcheck(l, 2, 1, "relu", GC_KINKS);
}

/* Average pooling with and without counted padding, overlapping windows,
 * and the global mean: linear, so the FD check is tight. */
ENT_TEST(layer_grad_avgpool) {
    ent_layer l = mk(ENT_LAYER_AVGPOOL, 2, 5, 5, 2);
    l.pool.k = 2, l.pool.stride = 2;
    run_gradcheck(l, 2, 1, "avgpool 2/2 (floor)", GC_LINEAR);
    l.pool.k = 3, l.pool.stride = 2, l.pool.pad = 1;
    run_gradcheck(l, 2, 1, "avgpool 3/2 pad 1 (overlap)", GC_LINEAR);
    ent_layer g = mk(ENT_LAYER_GLOBAL_AVGPOOL, 3, 4, 3, 2);
    run_gradcheck(g, 2, 1, "global avgpool", GC_LINEAR);
}

/* avgpool's padded corner divides by k*k, as PyTorch's default
 * count_include_pad: a 2x2 plane of ones, k 3, stride 2, pad 1 gives 4/9. */
ENT_TEST(layer_avgpool_counts_padding) {
    ent_layer l = mk(ENT_LAYER_AVGPOOL, 1, 2, 2, 1);
    l.pool.k = 3, l.pool.stride = 2, l.pool.pad = 1;
    l.ops = ent_layer_ops_of(l.kind);
    CHECK_OK(l.ops->plan(&l));
    CHECK(l.out_h == 1 && l.out_w == 1);
    const float x[4] = {1, 1, 1, 1};
    float y = 0;
    ent_ctx c = {.n = 1};
    l.ops->forward(&l, NULL, x, &y, NULL, &c);
    CHECK_NEAR(y, 4.0 / 9.0, 1e-7);
}

/* FD of the mean cross-entropy against dlogits; tolerance as above. */
ENT_TEST(layer_softmax_ce) {
    enum { N = 4, K = 5 };
    float logits[N * K], prob[N * K], dl[N * K];
    const int32_t y[N] = {0, 3, 4, 3};
    ent_rng g;
    ent_rng_init(&g, 3, 0);
    ent_rng_uniform_fill(&g, logits, N * K, -2.0f, 2.0f);
    int64_t correct = -1;
    const double L0 = ent_softmax_ce(logits, y, N, K, prob, dl, &correct);
    int64_t want_correct = 0;
    double want_loss = 0.0, max_err = 0.0;
    for (int i = 0; i < N; i++) {
        double s = 0.0, z = 0.0;
        int am = 0;
        for (int j = 0; j < K; j++) {
            s += prob[i * K + j];
            z += exp(logits[i * K + j]);
            if (logits[i * K + j] > logits[i * K + am]) am = j;
        }
        CHECK_NEAR(s, 1.0, 1e-6);
        want_loss += (log(z) - logits[i * K + y[i]]) / N;
        want_correct += am == y[i];
    }
    CHECK_NEAR(L0, want_loss, 1e-6);
    CHECK(correct == want_correct);
    for (int i = 0; i < N * K; i++) {
        const float v = logits[i];
        logits[i] = v + 1e-2f;
        const double Lp = ent_softmax_ce(logits, y, N, K, prob, NULL, NULL);
        logits[i] = v - 1e-2f;
        const double Lm = ent_softmax_ce(logits, y, N, K, prob, NULL, NULL);
        logits[i] = v;
        const double fd = (Lp - Lm) / 2e-2;
        max_err = fmax(max_err, fabs(fd - dl[i]));
        CHECK_NEAR(dl[i], fd, 2e-4); /* smooth, |f'''| h^2 / 6 ~ 1e-5 */
    }
    printf("    softmax_ce max|err| %.2e\n", max_err);
    /* stability: shifting every logit by 1e4 changes nothing */
    float big[N * K], dl2[N * K];
    for (int i = 0; i < N * K; i++) big[i] = logits[i] + 1e4f;
    const double L1 = ent_softmax_ce(big, y, N, K, prob, dl2, NULL);
    CHECK(isfinite(L1));
    CHECK_NEAR(L1, L0, 5e-3); /* 1e4 in float has ulp 1e-3 */
    CHECK_CLOSE("dlogits shifted", dl2, dl, N * K, 2e-3, 0);
}

/* Hand-computed batch statistics and running-stat updates (1-D). */
ENT_TEST(layer_batchnorm_running_stats) {
    ent_layer l = mk(ENT_LAYER_BATCHNORM, 2, 1, 1, 4);
    l.bn.eps = 1e-5f;
    l.bn.momentum = 0.1f;
    lh h;
    if (!lh_setup(&h, l, 4, 1)) { lh_free(&h); return; }
    const float x[8] = {1, 2, 3, -1, 5, 0, 7, 3};
    memcpy(h.in, x, sizeof x);
    /* channel 0: 1 3 5 7 -> mean 4, var 5 (biased), 20/3 (unbiased)
     * channel 1: 2 -1 0 3 -> mean 1, var 2.5, 10/3 */
    ent_ctx c = lh_ctx(&h);
    h.l.ops->forward(&h.l, h.theta, h.in, h.out, h.saved, &c);
    const float *rm = h.buffers + h.l.tensors[ENT_BN_MEAN].offset;
    const float *rv = h.buffers + h.l.tensors[ENT_BN_VAR].offset;
    const float *nb = h.buffers + h.l.tensors[ENT_BN_COUNT].offset;
    CHECK_NEAR(rm[0], 0.4, 1e-6);
    CHECK_NEAR(rm[1], 0.1, 1e-6);
    CHECK_NEAR(rv[0], 0.9 + 0.1 * 20.0 / 3.0, 1e-6);
    CHECK_NEAR(rv[1], 0.9 + 0.1 * 10.0 / 3.0, 1e-6);
    CHECK_NEAR(nb[0], 1.0, 0);
    CHECK_NEAR(h.out[0], (1 - 4) / sqrt(5 + 1e-5), 1e-6);
    CHECK_NEAR(h.out[3], (-1 - 1) / sqrt(2.5 + 1e-5), 1e-6);
    CHECK(h.l.tensors[ENT_BN_COUNT].ndim == 0);
    CHECK(h.l.tensors[ENT_BN_COUNT].numel == 1);
    CHECK(h.l.tensors[ENT_BN_COUNT].is_int64 == 1);
    CHECK(h.l.is_buffer[ENT_BN_MEAN] && !h.l.is_buffer[ENT_BN_WEIGHT]);
    h.l.ops->forward(&h.l, h.theta, h.in, h.out, h.saved, &c);
    CHECK_NEAR(rm[0], 0.9 * 0.4 + 0.4, 1e-6);
    CHECK_NEAR(rv[1], 0.9 * (0.9 + 1.0 / 3.0) + 1.0 / 3.0, 1e-6);
    CHECK_NEAR(nb[0], 2.0, 0);
    /* eval: running stats used and left alone */
    c.train = 0;
    h.l.ops->forward(&h.l, h.theta, h.in, h.out, h.saved, &c);
    CHECK_NEAR(h.out[0], (1 - rm[0]) / sqrt(rv[0] + 1e-5), 1e-6);
    CHECK_NEAR(nb[0], 2.0, 0);
    CHECK_NEAR(rm[0], 0.76, 1e-6);
    lh_free(&h);
}

ENT_TEST(layer_dropout_mask) {
    const float p = 0.3f;
    ent_layer l = mk(ENT_LAYER_DROPOUT, 20000, 1, 1, 2);
    l.dropout.p = p;
    lh h;
    if (!lh_setup(&h, l, 2, 1)) { lh_free(&h); return; }
    const int64_t m = 2 * 20000;
    lh_forward(&h);
    int64_t kept = 0, bad = 0;
    for (int64_t i = 0; i < m; i++) {
        if (h.out[i] == 0.0f) continue;
        kept++;
        if (fabs(h.out[i] - h.in[i] / (1.0 - p)) > 1e-6) bad++;
    }
    const double frac = (double)kept / m;
    printf("    dropout p 0.3: kept %.4f\n", frac);
    CHECK_NEAR(frac, 1.0 - p, 0.02); /* sd 0.0023: ~9 sigma */
    CHECK(bad == 0);
    /* backward uses the same mask: din = dout * out / in */
    lh_backward(&h, h.din, h.dtheta);
    for (int64_t i = 0; i < m; i++)
        if (fabs(h.din[i] - h.r[i] * h.out[i] / h.in[i]) > 1e-5) bad++;
    CHECK(bad == 0);
    /* the mask changes from call to call when the stream is not reseeded */
    int first = h.out[0] != 0.0f;
    int differ = 0;
    ent_ctx c = lh_ctx(&h);
    for (int t = 0; t < 20 && !differ; t++) {
        h.l.ops->forward(&h.l, h.theta, h.in, h.out, h.saved, &c);
        differ = (h.out[0] != 0.0f) != first;
    }
    CHECK(differ);
    /* eval, and p == 0 in train: identity, forward and backward */
    for (int k = 0; k < 2; k++) {
        h.train = k == 0 ? 0 : 1;
        h.l.dropout.p = k == 0 ? p : 0.0f;
        lh_forward(&h);
        CHECK(memcmp(h.out, h.in, (size_t)m * sizeof(float)) == 0);
        ent_vec_zero(h.din, m);
        lh_backward(&h, h.din, h.dtheta);
        CHECK(memcmp(h.din, h.r, (size_t)m * sizeof(float)) == 0);
    }
    lh_free(&h);
}

ENT_TEST(layer_init_and_plan) {
    /* Linear bound 1/sqrt(in), conv 1/sqrt(in_c k k) */
    ent_layer l = mk(ENT_LAYER_DENSE, 1, 1, 64, 1);
    l.dense.out = 50;
    lh h;
    if (lh_setup(&h, l, 1, 1)) {
        double mx = 0.0;
        for (int64_t i = 0; i < h.P; i++) mx = fmax(mx, fabs(h.theta[i]));
        CHECK(mx <= 0.125 && mx > 0.12);
        CHECK(h.l.tensors[0].ndim == 2 && h.l.tensors[0].shape[0] == 50 &&
              h.l.tensors[0].shape[1] == 64);
        CHECK(strcmp(h.l.tensors[1].name, "bias") == 0);
        CHECK(h.l.out_c == 50 && h.l.out_h == 1 && h.l.out_w == 1);
    }
    lh_free(&h);
    l = mk(ENT_LAYER_CONV2D, 4, 8, 8, 1);
    l.conv.out_c = 16;
    l.conv.k = 5;
    l.conv.stride = 1;
    if (lh_setup(&h, l, 1, 1)) {
        double mx = 0.0;
        for (int64_t i = 0; i < h.P; i++) mx = fmax(mx, fabs(h.theta[i]));
        CHECK(mx <= 0.1 && mx > 0.095);
        CHECK(h.l.out_h == 4 && h.l.out_w == 4);
        CHECK(h.l.tensors[0].ndim == 4 && h.l.tensors[0].shape[3] == 5);
    }
    lh_free(&h);
    l = mk(ENT_LAYER_BATCHNORM, 3, 2, 2, 1);
    l.bn.eps = 1e-5f;
    l.bn.momentum = 0.1f;
    if (lh_setup(&h, l, 1, 1)) {
        for (int c = 0; c < 3; c++) {
            CHECK(h.theta[h.l.tensors[ENT_BN_WEIGHT].offset + c] == 1.0f);
            CHECK(h.theta[h.l.tensors[ENT_BN_BIAS].offset + c] == 0.0f);
            CHECK(h.buffers[h.l.tensors[ENT_BN_MEAN].offset + c] == 0.0f);
            CHECK(h.buffers[h.l.tensors[ENT_BN_VAR].offset + c] == 1.0f);
        }
        CHECK(h.buffers[h.l.tensors[ENT_BN_COUNT].offset] == 0.0f);
        CHECK(strcmp(h.l.tensors[ENT_BN_COUNT].name, "num_batches_tracked") == 0);
    }
    lh_free(&h);
    /* impossible shapes */
    l = mk(ENT_LAYER_CONV2D, 1, 2, 2, 1);
    l.conv.out_c = 1;
    l.conv.k = 5;
    l.conv.stride = 1;
    l.ops = ent_layer_ops_of(l.kind);
    CHECK(l.ops->plan(&l) == ENT_ESHAPE);
    l = mk(ENT_LAYER_MAXPOOL, 1, 2, 2, 1);
    l.pool.k = 3;
    l.pool.stride = 3;
    l.ops = ent_layer_ops_of(l.kind);
    CHECK(l.ops->plan(&l) == ENT_ESHAPE);
    CHECK(ent_layer_ops_of(ENT_LAYER_COUNT) == NULL);
    for (int k = 0; k < ENT_LAYER_COUNT; k++)
        CHECK(ent_layer_ops_of((ent_layer_kind)k) != NULL);
}

/* The dense forward of batches up to 128 runs as t = W x^T, transposed
 * (dense.c): it must give the bits of the direct form x W^T + b (bias
 * first, then the products: ent_gemm with beta = 1) on the AVX-512
 * backend, whose sums do not depend on the operands' orientation; other
 * backends must agree to rounding. Shapes: mnistfc's fc1 and fc3 (10
 * outputs: the direct form), LeNet's fc1, a ragged one, and a batch past
 * 128 (direct form). */
static void dense_vs_direct_form(int64_t n, int64_t I, int64_t O) {
    ent_layer l = mk(ENT_LAYER_DENSE, I, 1, 1, n);
    l.dense.out = O;
    lh h;
    if (!lh_setup(&h, l, n, 1)) { lh_free(&h); return; }
    float *want = zalloc(n * O);
    const float *w = h.theta, *b = h.theta + h.l.tensors[ENT_T_BIAS].offset;
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < O; o++) want[i * O + o] = b[o];
    ent_gemm(0, 1, n, O, I, 1.0f, h.in, I, w, I, 1.0f, want, O);
    lh_forward(&h);
    if (ent_gemm_backend_tiled(ent_gemm_active_backend())) {
        int64_t diff = 0;
        for (int64_t i = 0; i < n * O; i++) diff += h.out[i] != want[i];
        CHECK(diff == 0);
    } else {
        CHECK_CLOSE("dense forward", h.out, want, n * O, 1e-6, 1e-5);
    }
    ent_free_aligned(want);
    lh_free(&h);
}

ENT_TEST(layer_dense_forward_orientation) {
    dense_vs_direct_form(128, 784, 1024);
    dense_vs_direct_form(128, 1024, 10);
    dense_vs_direct_form(128, 200, 500);
    dense_vs_direct_form(37, 50, 70);
    dense_vs_direct_form(200, 30, 100);
}

/* Max-pool forward against the rule written out (PyTorch's CPU kernel:
 * window offsets in row-major order, take v if v > best or v is NaN), on
 * data made of ties: values from {0, 1, 2, NaN} (after a ReLU most windows
 * are all zero). Output and argmax must match exactly, through every path:
 * non-overlapping rows of 8 to 16 outputs (the AVX-512 path where the CPU
 * has it; 3 x 3 with 16 outputs reads three vectors per row), rows too
 * wide for it, narrow rows (index tables over planes) and overlapping
 * windows. */
static void maxpool_vs_rule(int64_t n, int64_t C, int64_t H, int64_t W, int64_t K,
                            int64_t S) {
    ent_layer l = mk(ENT_LAYER_MAXPOOL, C, H, W, n);
    l.pool.k = K;
    l.pool.stride = S;
    lh h;
    if (!lh_setup(&h, l, n, 1)) { lh_free(&h); return; }
    const int64_t OH = h.l.out_h, OW = h.l.out_w, ni = n * C * H * W;
    ent_rng g;
    ent_rng_init(&g, 77, (uint64_t)(K * 100 + W));
    for (int64_t i = 0; i < ni; i++) {
        const uint64_t u = ent_rng_below(&g, 16);
        h.in[i] = u < 10 ? 0.0f : u < 13 ? 1.0f : u < 15 ? 2.0f : NAN;
    }
    lh_forward(&h);
    int64_t bad = 0;
    for (int64_t pl = 0; pl < n * C; pl++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                const float *x = h.in + pl * H * W;
                int64_t bi = oh * S * W + ow * S;
                float bv = x[bi];
                for (int64_t kh = 0; kh < K; kh++)
                    for (int64_t kw = 0; kw < K; kw++) {
                        const int64_t at = (oh * S + kh) * W + ow * S + kw;
                        if (x[at] > bv || isnan(x[at])) bv = x[at], bi = at;
                    }
                const int64_t o = (pl * OH + oh) * OW + ow;
                const int same = isnan(bv) ? isnan(h.out[o]) : h.out[o] == bv;
                bad += !same || h.saved[o] != (float)bi;
            }
    CHECK(bad == 0);
    if (bad) printf("    maxpool %lldx%lld k %lld s %lld: %lld outputs differ\n", (long long)H,
                    (long long)W, (long long)K, (long long)S, (long long)bad);
    lh_free(&h);
}

ENT_TEST(layer_maxpool_ties_and_nan) {
    maxpool_vs_rule(4, 20, 24, 24, 3, 3);  /* LeNet's first pool */
    maxpool_vs_rule(3, 5, 26, 26, 3, 3);   /* floor: two columns left over */
    maxpool_vs_rule(3, 5, 17, 17, 2, 2);   /* 2 x 2, 8 outputs per row (AVX2 path), floor */
    maxpool_vs_rule(3, 5, 48, 48, 3, 3);   /* 16 outputs per row, 48 inputs */
    maxpool_vs_rule(3, 5, 32, 32, 2, 2);   /* 2 x 2, 16 outputs per row */
    maxpool_vs_rule(3, 5, 40, 40, 2, 2);   /* 20 outputs per row: the general path */
    maxpool_vs_rule(3, 5, 8, 8, 2, 2);     /* LeNet's second pool: index tables */
    maxpool_vs_rule(3, 5, 11, 11, 3, 2);   /* overlapping windows */
}

/* A convolution against a direct 7-loop convolution in double.
 * Tolerance 1e-4 relative + 1e-5: float32 sums of <= 150 products. */
static void conv_vs_direct(int64_t n, int64_t C, int64_t H, int64_t W,
                           int64_t O, int64_t K, int64_t S, int64_t P) {
    ent_layer l = mk(ENT_LAYER_CONV2D, C, H, W, n);
    l.conv.out_c = O;
    l.conv.k = K;
    l.conv.stride = S;
    l.conv.pad = P;
    lh h;
    if (!lh_setup(&h, l, n, 1)) { lh_free(&h); return; }
    const int64_t OH = h.l.out_h, OW = h.l.out_w;
    const int64_t ni = n * C * H * W, no = n * O * OH * OW;
    float *want = zalloc(no), *wdin = zalloc(ni), *wdth = zalloc(h.P);
    const float *w = h.theta, *b = h.theta + h.l.tensors[ENT_T_BIAS].offset;
    float *dw = wdth, *db = wdth + h.l.tensors[ENT_T_BIAS].offset;
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t y = 0; y < OH; y++)
                for (int64_t x = 0; x < OW; x++) {
                    const int64_t oi = ((i * O + o) * OH + y) * OW + x;
                    const double g = h.r[oi];
                    double s = b[o];
                    db[o] += (float)g;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t u = 0; u < K; u++)
                            for (int64_t v = 0; v < K; v++) {
                                const int64_t iy = y * S - P + u, ix = x * S - P + v;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                const int64_t wi = ((o * C + c) * K + u) * K + v;
                                const int64_t ii = ((i * C + c) * H + iy) * W + ix;
                                s += (double)w[wi] * h.in[ii];
                                dw[wi] += (float)(g * h.in[ii]);
                                wdin[ii] += (float)(g * w[wi]);
                            }
                    want[oi] = (float)s;
                }
    lh_forward(&h);
    lh_backward(&h, h.din, h.dtheta);
    CHECK_CLOSE("conv out", h.out, want, no, 1e-5, 1e-4);
    CHECK_CLOSE("conv din", h.din, wdin, ni, 1e-5, 1e-4);
    CHECK_CLOSE("conv dtheta", h.dtheta, wdth, h.P, 1e-4, 1e-4);
    ent_free_aligned(want);
    ent_free_aligned(wdin);
    ent_free_aligned(wdth);
    lh_free(&h);
}

/* LeNet-sized shapes, large enough for the parallel im2col and col2im
 * paths. conv2d.c batches samples into groups whose im2col matrix fits
 * 262144 floats: 6x14x14 with k 5 pad 2 is 150 x 196 = 29400 floats per
 * sample, so groups of 8 and 10 samples run as a group of 8 and a ragged
 * group of 2. The last case has stride 2 and pad 1 (strided copies, and
 * windows cut at both edges). */
ENT_TEST(layer_conv2d_vs_direct) {
    conv_vs_direct(4, 6, 14, 14, 16, 5, 1, 2);
    conv_vs_direct(10, 6, 14, 14, 16, 5, 1, 2);
    conv_vs_direct(3, 3, 11, 9, 5, 3, 2, 1);
}

/* A stride-1, unpadded K x K convolution, C -> O channels on H x W, set up
 * for n samples (lh_setup). */
static int conv_setup(lh *h, int64_t n, int64_t C, int64_t H, int64_t W, int64_t O, int64_t K) {
    ent_layer l = mk(ENT_LAYER_CONV2D, C, H, W, n);
    l.conv.out_c = O;
    l.conv.k = K;
    l.conv.stride = 1;
    return lh_setup(h, l, n, 1);
}

/* A stride-1, unpadded convolution's forward (h set up, input drawn) must
 * give exactly the bits of one ent_gemm on the columns of the whole batch
 * built here ([CKK][n * HW], the layer's own grouping for these small
 * batches), plus the bias: whatever path the layer takes (GEMM on its own
 * im2col, generic or for tiny planes, or the direct convolution). One
 * product for the batch, not one per sample: OpenBLAS's bits depend on N. */
static void conv_forward_bits(lh *h) {
    const int64_t n = h->n, C = h->l.in_c, H = h->l.in_h, W = h->l.in_w, O = h->l.out_c;
    const int64_t K = h->l.conv.k, OW = h->l.out_w, HW = h->l.out_h * OW, CKK = C * K * K;
    const int64_t NHW = n * HW;
    const float *w = h->theta, *b = h->theta + h->l.tensors[ENT_T_BIAS].offset;
    float *col = zalloc(CKK * NHW), *prod = zalloc(O * NHW), *want = zalloc(n * O * HW);
    for (int64_t s = 0; s < n; s++)
        for (int64_t r = 0; r < CKK; r++)
            for (int64_t j = 0; j < HW; j++)
                col[r * NHW + s * HW + j] =
                    h->in[((s * C + r / (K * K)) * H + j / OW + (r / K) % K) * W + j % OW + r % K];
    ent_gemm(0, 0, O, NHW, CKK, 1.0f, w, CKK, col, NHW, 0.0f, prod, NHW);
    for (int64_t s = 0; s < n; s++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t j = 0; j < HW; j++)
                want[(s * O + o) * HW + j] = prod[o * NHW + s * HW + j] + b[o];
    lh_forward(h);
    int64_t diff = 0;
    for (int64_t i = 0; i < n * O * HW; i++) diff += h->out[i] != want[i];
    CHECK(diff == 0);
    ent_free_aligned(col);
    ent_free_aligned(prod);
    ent_free_aligned(want);
}

/* im2col for tiny output planes (conv2d_direct.c: at most 16 pixels, the
 * rows under a kernel row within 32 floats): LeNet's conv2 (4 x 4 from 8 x
 * 8), a 4 x 4 plane from 6 x 6 with k 3, and a 5 x 3 plane (15 lanes) from
 * 7 x 5. Forward bits as above; backward (which rebuilds the columns)
 * against the direct loop in double. */
static void conv_tiny_case(int64_t n, int64_t C, int64_t H, int64_t W, int64_t O, int64_t K) {
    lh h;
    if (!conv_setup(&h, n, C, H, W, O, K)) { lh_free(&h); return; }
    conv_forward_bits(&h);
    lh_free(&h);
    conv_vs_direct(n, C, H, W, O, K, 1, 0);
}

ENT_TEST(layer_conv2d_tiny_planes) {
    conv_tiny_case(6, 20, 8, 8, 50, 5);
    conv_tiny_case(3, 6, 6, 6, 7, 3);
    conv_tiny_case(2, 4, 7, 5, 3, 3);
}

/* The direct convolution path (conv2d_direct.c; few input channels, rows
 * of 16-32 outputs, AVX-512; conv2d_direct_avx2.c: rows of 16 or 24,
 * AVX2): forward must give the bits of the GEMM path
 * it replaces (products summed by ent_gemm from its own im2col, then
 * + bias), and the weight gradient of a first layer (din = NULL) the sums
 * of a direct loop in double, in store and in accumulate mode. */
static void conv_direct_case(int64_t n, int64_t C, int64_t H, int64_t W, int64_t O,
                             int64_t K) {
    lh h;
    if (!conv_setup(&h, n, C, H, W, O, K)) { lh_free(&h); return; }
    if (!ent_conv_direct_applies(&h.l) && !ent_conv_direct_avx2_applies(&h.l)) {
        printf("    conv %lldx%lld k %lld: no direct path on this CPU\n", (long long)H,
               (long long)W, (long long)K);
        lh_free(&h);
        return;
    }
    const int64_t OH = h.l.out_h, OW = h.l.out_w, HW = OH * OW, CKK = C * K * K;
    float *wdth = zalloc(h.P);
    conv_forward_bits(&h);
    for (int64_t o = 0; o < O; o++) /* dW and db, summed in double */
        for (int64_t r = -1; r < CKK; r++) {
            double acc = 0.0;
            for (int64_t s = 0; s < n; s++)
                for (int64_t j = 0; j < HW; j++) {
                    const double g = h.r[(s * O + o) * HW + j];
                    acc += r < 0 ? g
                                 : g * h.in[((s * C + r / (K * K)) * H + j / OW + (r / K) % K) * W +
                                            j % OW + r % K];
                }
            wdth[r < 0 ? h.l.tensors[ENT_T_BIAS].offset + o : o * CKK + r] = (float)acc;
        }
    ent_ctx c = lh_ctx(&h);
    c.store = 1;
    for (int64_t i = 0; i < h.P; i++) h.dtheta[i] = NAN;
    h.l.ops->backward(&h.l, h.theta, h.in, h.out, h.saved, h.r, NULL, h.dtheta, &c);
    CHECK_CLOSE("direct dtheta (store)", h.dtheta, wdth, h.P, 1e-5, 1e-4);
    for (int64_t i = 0; i < h.P; i++) h.dtheta[i] = 1.0f, wdth[i] += 1.0f;
    c.store = 0;
    h.l.ops->backward(&h.l, h.theta, h.in, h.out, h.saved, h.r, NULL, h.dtheta, &c);
    CHECK_CLOSE("direct dtheta (accumulate)", h.dtheta, wdth, h.P, 1e-5, 1e-4);
    ent_free_aligned(wdth);
    lh_free(&h);
}

ENT_TEST(layer_conv2d_direct_path) {
    conv_direct_case(6, 1, 28, 28, 20, 5); /* LeNet's conv1: 24 outputs per row */
    conv_direct_case(4, 1, 24, 24, 10, 5); /* 10 channels: blocks of 4, 4, 1, 1 */
    conv_direct_case(3, 3, 18, 18, 6, 3);  /* 16 outputs: the second vector empty */
    conv_direct_case(2, 2, 36, 36, 5, 5);  /* 32 outputs: both vectors full */
}

/* Store mode (layer.h) against accumulate mode: backward with store = 1
 * into din and dtheta full of NaN must give exactly what accumulate mode
 * gives into zeroed ones (== per element: both compute the same sums, and
 * 0 + v == v), for every kind, train and eval. NaN left anywhere, or a
 * value added to garbage, fails. The conv case runs two groups (see
 * layer_conv2d_vs_direct) and max-pool overlapping windows. */
static void store_vs_accumulate(ent_layer l, int64_t n, int train, const char *what) {
    lh h;
    if (!lh_setup(&h, l, n, train)) { lh_free(&h); return; }
    if (l.kind == ENT_LAYER_BATCHNORM) bn_random_running(&h, 3);
    const int64_t ni = n * ent_layer_in_size(&h.l);
    float *din = zalloc(ni), *dth = zalloc(h.P);
    lh_forward(&h);
    lh_backward(&h, h.din, h.dtheta); /* accumulate into zeros */
    for (int64_t i = 0; i < ni; i++) din[i] = NAN;
    for (int64_t i = 0; i < h.P; i++) dth[i] = NAN;
    ent_ctx c = lh_ctx(&h);
    c.store = 1;
    h.l.ops->backward(&h.l, h.theta, h.in, h.out, h.saved, h.r, din, dth, &c);
    int64_t bad_in = 0, bad_th = 0;
    for (int64_t i = 0; i < ni; i++) bad_in += !(din[i] == h.din[i]);
    for (int64_t i = 0; i < h.P; i++) bad_th += !(dth[i] == h.dtheta[i]);
    CHECK_MSG(bad_in == 0 && bad_th == 0, "%s: store mode differs in %lld din and %lld dtheta values",
              what, (long long)bad_in, (long long)bad_th);
    ent_free_aligned(din);
    ent_free_aligned(dth);
    lh_free(&h);
}

ENT_TEST(layer_store_mode) {
    ent_layer l = mk(ENT_LAYER_DENSE, 3, 2, 5, 7);
    l.dense.out = 300; /* > 256 columns: two bias tasks */
    store_vs_accumulate(l, 7, 1, "dense");
    l = mk(ENT_LAYER_CONV2D, 6, 14, 14, 10);
    l.conv.out_c = 4;
    l.conv.k = 5;
    l.conv.stride = 1;
    l.conv.pad = 2;
    store_vs_accumulate(l, 10, 1, "conv2d (two groups)");
    l = mk(ENT_LAYER_MAXPOOL, 3, 7, 7, 2);
    l.pool.k = 3;
    l.pool.stride = 2;
    store_vs_accumulate(l, 2, 1, "maxpool 3/2");
    for (int train = 0; train < 2; train++) {
        l = mk(ENT_LAYER_BATCHNORM, 300, 1, 1, 5);
        l.bn.eps = 1e-5f;
        l.bn.momentum = 0.1f;
        store_vs_accumulate(l, 5, train, train ? "batchnorm 1d train" : "batchnorm 1d eval");
        l = mk(ENT_LAYER_BATCHNORM, 4, 3, 5, 3);
        l.bn.eps = 1e-5f;
        l.bn.momentum = 0.1f;
        store_vs_accumulate(l, 3, train, train ? "batchnorm 2d train" : "batchnorm 2d eval");
        l = mk(ENT_LAYER_DROPOUT, 50, 1, 1, 4);
        l.dropout.p = 0.4f;
        store_vs_accumulate(l, 4, train, train ? "dropout train" : "dropout eval");
    }
    store_vs_accumulate(mk(ENT_LAYER_RELU, 2, 3, 3, 4), 4, 1, "relu");
    ent_layer a = mk(ENT_LAYER_AVGPOOL, 2, 5, 5, 4);
    a.pool.k = 3, a.pool.stride = 2, a.pool.pad = 1;
    store_vs_accumulate(a, 4, 1, "avgpool");
    store_vs_accumulate(mk(ENT_LAYER_GLOBAL_AVGPOOL, 3, 4, 4, 4), 4, 1, "global avgpool");
}

/* ent_dropout_apply on any element range: the mask of element e is word
 * e % 4 of block base + e / 4, whatever the range's start and length
 * (fused blocks start rows at offsets that are not multiples of 4). */
ENT_TEST(layer_dropout_apply_any_offset) {
    enum { N = 1100 };
    const uint64_t key = 0x1234567, base = 77;
    const uint32_t thr = 0x60000000u;
    const float scale = 1.6f;
    static uint32_t words[N + 256];
    static float x[N], y[N], mask[N];
    for (int c = 0; c < N; c += 256) ent_rng_u32_chunk(key, base + (uint64_t)c / 4, words + c, 256);
    ent_rng r;
    ent_rng_init(&r, 4, 0);
    ent_rng_normal_fill(&r, x, N, 1.0f);
    const int64_t starts[] = {0, 1, 2, 3, 5, 258, 511};
    const int64_t lens[] = {1, 3, 4, 255, 256, 257, 520};
    int64_t bad = 0;
    for (int relu = 0; relu <= 1; relu++)
        for (int s = 0; s < 7; s++)
            for (int l = 0; l < 7; l++) {
                const int64_t e = starts[s], len = lens[l];
                ent_dropout_apply(key, base, thr, scale, relu, e, x + e, y + e, mask + e, len);
                for (int64_t i = e; i < e + len; i++) {
                    const float mk = words[i] >= thr ? scale : 0.0f;
                    const float v = relu && !(x[i] > 0.0f) ? 0.0f : x[i];
                    bad += mask[i] != mk || y[i] != v * mk;
                }
            }
    CHECK_MSG(bad == 0, "%lld masked elements differ from the word-by-word rule", (long long)bad);
}
