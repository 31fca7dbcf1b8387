/* test_net.c — networks as graphs: the public builder, a residual net's
 * gradient and Hessian products against finite differences in double,
 * the float model's backward (with a gradient of two writers) against the
 * double one, network files read back to the same model, and the errors
 * of the builder and of the file reader. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model_internal.h"
#include "test.h"

enum { N = 8, C = 2, HW = 6, K = 3 };

/* conv-bn-relu-conv + 1x1 projection shortcut, then an identity block
 * (relu2 is read by conv3 and by add2), avg-pool, global mean, dense. */
static ent_net *tiny_residual(void) {
    ent_net *n = ent_net_new("tiny-res");
    const int x = ENT_NET_INPUT;
    int h = ent_net_conv2d(n, "conv1", x, 4, 3, 1, 1, 0);
    h = ent_net_batchnorm(n, "bn1", h);
    h = ent_net_relu(n, "relu1", h);
    h = ent_net_conv2d(n, "conv2", h, 4, 3, 1, 1, 1);
    const int sc = ent_net_conv2d(n, "shortcut", x, 4, 1, 1, 0, 0);
    h = ent_net_add(n, "add1", h, sc);
    const int r2 = ent_net_relu(n, "relu2", h);
    h = ent_net_conv2d(n, "conv3", r2, 4, 3, 1, 1, 1);
    h = ent_net_add(n, "add2", h, r2);
    h = ent_net_avgpool(n, "pool", h, 2, 2, 0);
    h = ent_net_global_avgpool(n, "gap", h);
    ent_net_dense(n, "fc", h, K);
    return n;
}

typedef struct {
    ent_model *m;
    float *theta, *buffers, *x;
    int32_t y[N];
} fixture;

static int setup(fixture *f, const ent_net *net) {
    memset(f, 0, sizeof *f);
    if (ent_model_new_net(&f->m, net, C, HW, HW, K, N) != ENT_OK) return 0;
    const int64_t P = ent_model_n_param(f->m);
    f->theta = malloc(sizeof(float) * (size_t)P);
    f->buffers = calloc((size_t)ent_model_n_buffer(f->m) + 1, sizeof(float));
    f->x = malloc(sizeof(float) * N * C * HW * HW);
    ent_model_init_params(f->m, f->theta, f->buffers, 7);
    ent_rng r;
    ent_rng_init(&r, 3, 0);
    ent_rng_normal_fill(&r, f->x, N * C * HW * HW, 1.0f);
    for (int i = 0; i < N; i++) f->y[i] = i % K;
    return 1;
}

static void teardown(fixture *f) {
    ent_model_free(f->m);
    free(f->theta), free(f->buffers), free(f->x);
}

static double max_abs(const double *a, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* Mean loss (double engine, batch-norm on batch statistics) at th. */
static double loss_at(ent_nethess *h, const double *th) {
    double loss;
    ent_nethess_set_point(h, th);
    ent_nethess_grad(h, NULL, &loss, NULL);
    return loss;
}

ENT_TEST(net_residual_gradient_and_hessian_vs_fd) {
    ent_net *net = tiny_residual();
    fixture f;
    CHECK_OK(ent_net_status(net));
    if (!setup(&f, net)) {
        CHECK(0);
        ent_net_free(net);
        return;
    }
    const int64_t P = ent_model_n_param(f.m);
    CHECK(P == 72 + 148 + 8 + 148 + 8 + 15);
    ent_nethess_opts o = ent_nethess_opts_default();
    o.bn_train = 1;
    ent_nethess *h = NULL;
    CHECK_OK(ent_nethess_new(&h, f.m, f.theta, f.buffers, f.x, f.y, N, &o));
    double *th = malloc(sizeof(double) * P), *g = malloc(sizeof(double) * P);
    double *fd = malloc(sizeof(double) * P), *v = malloc(sizeof(double) * P);
    double *hv = malloc(sizeof(double) * P), *gp = malloc(sizeof(double) * P);
    double *gm = malloc(sizeof(double) * P), *tmp = malloc(sizeof(double) * P);
    for (int64_t i = 0; i < P; i++) th[i] = f.theta[i];
    ent_nethess_set_point(h, th);
    CHECK_OK(ent_nethess_grad(h, g, NULL, NULL));
    const double eps = 1e-5;
    for (int64_t i = 0; i < P; i++) {
        const double t0 = th[i];
        th[i] = t0 + eps;
        const double lp = loss_at(h, th);
        th[i] = t0 - eps;
        const double lm = loss_at(h, th);
        th[i] = t0;
        fd[i] = (lp - lm) / (2 * eps) - g[i];
    }
    const double gerr = max_abs(fd, P) / max_abs(g, P);
    /* Hv along a random direction vs central differences of the gradient */
    ent_rng r;
    ent_rng_init(&r, 5, 0);
    /* a unit direction, and a step that crosses (almost) no ReLU kink */
    for (int64_t i = 0; i < P; i++) v[i] = ent_rng_normal(&r) / sqrt((double)P);
    ent_nethess_set_point(h, th);
    ent_hvp op = ent_nethess_hvp(h);
    CHECK_OK(op.apply(op.ctx, v, hv));
    for (int64_t i = 0; i < P; i++) tmp[i] = th[i] + 1e-5 * v[i];
    ent_nethess_set_point(h, tmp);
    ent_nethess_grad(h, gp, NULL, NULL);
    for (int64_t i = 0; i < P; i++) tmp[i] = th[i] - 1e-5 * v[i];
    ent_nethess_set_point(h, tmp);
    ent_nethess_grad(h, gm, NULL, NULL);
    for (int64_t i = 0; i < P; i++) fd[i] = (gp[i] - gm[i]) / 2e-5 - hv[i];
    const double herr = max_abs(fd, P) / max_abs(hv, P);
    printf("    tiny residual net, %lld params: |g - FD| / |g| %.1e (tol 1e-6), |Hv - FD| / |Hv| %.1e (tol 1e-5)\n",
           (long long)P, gerr, herr);
    CHECK(gerr < 1e-6);
    CHECK(herr < 1e-5);
    free(th), free(g), free(fd), free(v), free(hv), free(gp), free(gm), free(tmp);
    ent_nethess_free(h);
    teardown(&f);
    ent_net_free(net);
}

/* The float model's gradient (store mode; relu2's gradient has two
 * writers) against the double engine's, fused and layer by layer. */
ENT_TEST(net_residual_float_gradient_matches_double) {
    ent_net *net = tiny_residual();
    fixture f;
    if (!setup(&f, net)) {
        CHECK(0);
        ent_net_free(net);
        return;
    }
    const int64_t P = ent_model_n_param(f.m);
    ent_nethess_opts o = ent_nethess_opts_default();
    o.bn_train = 1;
    ent_nethess *h = NULL;
    CHECK_OK(ent_nethess_new(&h, f.m, f.theta, f.buffers, f.x, f.y, N, &o));
    double *g = malloc(sizeof(double) * P), *d = malloc(sizeof(double) * P), loss64;
    CHECK_OK(ent_nethess_grad(h, g, &loss64, NULL));
    float *grad = malloc(sizeof(float) * P);
    for (int fused = 1; fused >= 0; fused--) {
        ent_model *m;
        CHECK_OK(ent_model_new_net(&m, net, C, HW, HW, K, N));
        if (!fused) CHECK_OK(ent_model_set_fused(m, 0));
        for (int64_t i = 0; i < P; i++) grad[i] = NAN; /* every entry must be written */
        double loss;
        ent_rng rng;
        ent_rng_init(&rng, 1, 1);
        CHECK_OK(ent_model_run(m, f.theta, f.buffers, f.x, f.y, N, 1, &rng, grad, &loss, NULL));
        for (int64_t i = 0; i < P; i++) d[i] = grad[i] - g[i];
        printf("    %s: loss %.6f vs %.6f, |g32 - g64| / |g64| %.1e (tol 1e-5)\n",
               fused ? "fused" : "layer by layer", loss, loss64, max_abs(d, P) / max_abs(g, P));
        CHECK(fabs(loss - loss64) < 1e-5);
        CHECK(max_abs(d, P) < 1e-5 * max_abs(g, P));
        ent_model_free(m);
    }
    free(g), free(d), free(grad);
    ent_nethess_free(h);
    teardown(&f);
    ent_net_free(net);
}

/* Written out and read back, a network builds the same model: the same
 * tensors, and the same logits bit for bit. */
static void check_roundtrip(const ent_net *net, int64_t c, int64_t h, int64_t w) {
    ent_json j;
    ent_json_init(&j);
    ent_net_write_json(net, &j);
    ent_net *back = NULL;
    CHECK_OK(ent_net_parse(&back, j.buf, j.len, "roundtrip.json"));
    ent_model *a = NULL, *b = NULL;
    if (back) CHECK_OK(ent_model_new_net(&a, net, c, h, w, 10 > K ? 10 : K, 4));
    if (back) CHECK_OK(ent_model_new_net(&b, back, c, h, w, 10 > K ? 10 : K, 4));
    if (a && b) {
        int na, nb;
        const ent_tensor_info *ta = ent_model_params(a, &na), *tb = ent_model_params(b, &nb);
        CHECK(na == nb && ent_model_n_param(a) == ent_model_n_param(b));
        for (int i = 0; i < na && i < nb; i++) CHECK(strcmp(ta[i].name, tb[i].name) == 0);
        CHECK(ent_model_n_nodes(a) == ent_model_n_nodes(b));
        const int64_t P = ent_model_n_param(a), nx = 4 * c * h * w, ny = 4 * ent_model_positions(a);
        float *th = malloc(sizeof(float) * P), *buf = calloc((size_t)ent_model_n_buffer(a) + 1, 4);
        float *x = malloc(sizeof(float) * nx);
        int32_t *y = malloc(sizeof(int32_t) * (size_t)ny); /* 0, 1, 2, 3 for one label a sample */
        for (int64_t i = 0; i < ny; i++) y[i] = (int32_t)(i % 4);
        ent_rng r;
        ent_rng_init(&r, 9, 0);
        ent_rng_normal_fill(&r, x, nx, 1.0f);
        ent_model_init_params(a, th, buf, 3);
        CHECK_OK(ent_model_run(a, th, buf, x, y, 4, 0, NULL, NULL, NULL, NULL));
        CHECK_OK(ent_model_run(b, th, buf, x, y, 4, 0, NULL, NULL, NULL, NULL));
        CHECK(memcmp(ent_model_logits(a), ent_model_logits(b), sizeof(float) * 40) == 0);
        free(th), free(buf), free(x), free(y);
    }
    ent_model_free(a), ent_model_free(b);
    ent_net_free(back);
    ent_json_free(&j);
}

ENT_TEST(net_file_roundtrip_presets) {
    int n;
    const char *const *names = ent_model_presets(&n);
    for (int i = 0; i < n; i++) {
        ent_net *net = NULL;
        ent_model_opts o = ent_model_opts_default();
        o.dropout = 0.3f, o.bn_eps = 2e-5f, o.bn_momentum = 0.05f; /* settings that must survive */
        CHECK_OK(ent_net_preset(&net, names[i], &o, 10));
        int64_t c, h, w; /* the image nets on 1x28x28; the sequence models on 3 steps */
        CHECK_OK(ent_model_preset_input(names[i], &c, &h, &w));
        if (net) check_roundtrip(net, h == 1 && w == 1 ? 3 : 1, h == 1 && w == 1 ? 1 : 28,
                                 h == 1 && w == 1 ? 1 : 28);
        ent_net_free(net);
    }
    ent_net *net = tiny_residual();
    ent_net_dense(net, "fc10", ent_net_size(net) - 1, 10); /* 10 classes, as the check uses */
    check_roundtrip(net, C, HW, HW);
    ent_net_free(net);
}

/* Each bad file: its own one-line message naming the file and the node. */
ENT_TEST(net_file_errors) {
    static const struct { const char *text, *want; } cases[] = {
        {"{\"nodes\": []}", "non-empty \"nodes\""},
        {"{\"nodes\": [{\"name\": \"a\", \"kind\": \"gru\"}]}", "unknown kind 'gru'"},
        {"{\"nodes\": [{\"name\": \"a\", \"kind\": \"dense\", \"out_feature\": 3}]}", "does not take: out_feature"},
        {"{\"nodes\": [{\"name\": \"a\", \"kind\": \"dense\"}]}", "lacks the setting out_features"},
        {"{\"nodes\": [{\"name\": \"a\", \"kind\": \"dense\", \"out_features\": 2.5}]}", "out_features must be an integer"},
        {"{\"nodes\": [{\"name\": \"a\", \"kind\": \"relu\", \"in\": \"b\"}]}", "not before it: b"},
        {"{\"nodes\": [{\"name\": \"a\", \"kind\": \"relu\"}, {\"name\": \"s\", \"kind\": \"add\", \"in\": [\"a\"]}]}", "must list 2 inputs"},
        {"{\"nodes\": [{\"name\": \"a\", \"kind\": \"relu\"}, {\"name\": \"a\", \"kind\": \"relu\"}]}", "two nodes are named 'a'"},
        {"{\"nodes\": [{\"name\": \"d\", \"kind\": \"dropout\", \"p\": 1.5}]}", "p must be a number in [0, 1]"},
        {"{\"nodes\": [{\"kind\": \"relu\"}]}", "needs a \"name\""},
        {"{\"nodes\": [{\"name\": \"a\", \"kind\": \"relu\"}", "net.json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ent_net *net = NULL;
        ent_status s = ent_net_parse(&net, cases[i].text, strlen(cases[i].text), "net.json");
        const char *msg = ent_last_error();
        CHECK(s != ENT_OK && net == NULL);
        CHECK(strstr(msg, "net.json") != NULL && strstr(msg, cases[i].want) != NULL && !strchr(msg, '\n'));
        if (!strstr(msg, cases[i].want)) printf("    case %zu: %s\n", i, msg);
        ent_net_free(net);
    }
}

/* Builder errors are kept and returned by ent_model_new_net, naming the
 * node; a shape mismatch at an add is found when the model is planned. */
ENT_TEST(net_builder_errors) {
    ent_net *n = ent_net_new("bad");
    int a = ent_net_relu(n, "a", ENT_NET_INPUT);
    CHECK(a == 0);
    CHECK(ent_net_relu(n, "b", 5) == -2); /* not before it */
    CHECK(ent_net_relu(n, "c", a) == -2); /* after an error, every call fails */
    ent_model *m = NULL;
    CHECK(ent_model_new_net(&m, n, 1, 4, 4, 10, 2) == ENT_EINVAL && m == NULL);
    CHECK(strstr(ent_last_error(), "'b'") != NULL);
    ent_net_free(n);
    n = ent_net_new("bad-add");
    int p = ent_net_maxpool(n, "pool", ENT_NET_INPUT, 2, 2);
    ent_net_add(n, "sum", p, ENT_NET_INPUT);
    ent_net_dense(n, "fc", ent_net_size(n) - 1, 10);
    CHECK_OK(ent_net_status(n));
    CHECK(ent_model_new_net(&m, n, 1, 4, 4, 10, 2) == ENT_ESHAPE && m == NULL);
    CHECK(strstr(ent_last_error(), "'sum'") != NULL);
    ent_net_free(n);
    n = ent_net_new("bad-dup");
    ent_net_relu(n, "x", ENT_NET_INPUT);
    CHECK(ent_net_relu(n, "x", 0) == -2);
    CHECK(ent_net_status(n) == ENT_EINVAL && strstr(ent_last_error(), "two nodes are named 'x'"));
    ent_net_free(n);
}
