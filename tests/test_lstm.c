/* test_lstm.c — the sequence-model kinds (embedding, onehot, lstm, dense
 * per position, the loss per token), the carried state of
 * ent_model_run_state and the sequence presets.
 *
 * Gradient checks, as tests/test_layers.c: loss = sum(out * r) for a
 * fixed random r (so backward gets dout = r), the float32 forward summed
 * in double, central differences of step 1e-2 at every input and every
 * parameter element, |analytic - fd| <= atol + rtol |fd|. The LSTM is
 * smooth but curved (sigmoid, tanh, products of gates), so its truncation
 * term h^2 f'''/6 is not zero as it is for the piecewise-linear kinds; the
 * tolerance is batch-norm's (atol 1e-3, rtol 2e-3). The embedding and the
 * dense layer are linear in each element (atol 1e-4, rtol 1e-3). The
 * whole model's mean token loss is checked the same way through
 * ent_model_run. Each check prints its worst error.
 *
 * PyTorch fixtures (tools/gen_fixtures.py: lstm, model_charlstm_small):
 * float32 layers against torch 1.13's float32 nn.LSTM (atol = rtol =
 * 1e-5, as the other layer fixtures), and the model against a float64
 * reference of float32 weights (atol = rtol = 1e-5). */
#include <math.h>
#include <stdlib.h>

#include "fixture.h"
#include "layers/layer.h"
#include "test.h"

static float *zalloc(int64_t n) { return ent_alloc((size_t)(n > 0 ? n : 1) * sizeof(float)); }

/* ------------------------------------------------ one layer, planned */

typedef struct {
    ent_layer l;
    int64_t n, P, ni, no;
    int train;
    float *theta, *saved, *scratch, *in, *out, *r, *state;
    ent_rng rng; /* dropout stream, reseeded before every forward */
} sq;

/* Plan l for n samples, lay out its tensors, init them (PyTorch's
 * defaults), draw the input (ids in [0, vocab) when ids > 0, else
 * U(-1, 1)), r ~ U(-1, 1) and a carried state ~ U(-0.5, 0.5). */
static int sq_setup(sq *h, ent_layer l, int64_t n, int train, int64_t ids) {
    memset(h, 0, sizeof *h);
    h->l = l;
    h->l.ops = ent_layer_ops_of(l.kind);
    h->l.max_batch = n;
    snprintf(h->l.name, sizeof h->l.name, "t");
    h->n = n, h->train = train;
    ent_status s = h->l.ops->plan(&h->l);
    CHECK_OK(s);
    if (s != ENT_OK) return 0;
    for (int i = 0; i < h->l.n_tensors; i++) {
        h->l.tensors[i].offset = h->P;
        h->P += h->l.tensors[i].numel;
    }
    h->ni = n * ent_layer_in_size(&h->l), h->no = n * ent_layer_out_size(&h->l);
    h->theta = zalloc(h->P), h->saved = zalloc(h->l.saved), h->scratch = zalloc(h->l.scratch);
    h->in = zalloc(h->ni), h->out = zalloc(h->no), h->r = zalloc(h->no);
    h->state = zalloc(n * h->l.state);
    ent_rng g;
    ent_rng_init(&g, 1234, 0);
    if (h->l.ops->init) h->l.ops->init(&h->l, h->theta, NULL, &g);
    for (int64_t i = 0; i < h->ni; i++)
        h->in[i] = ids > 0 ? (float)ent_rng_below(&g, (uint64_t)ids) : (float)(2 * ent_rng_uniform(&g) - 1);
    ent_rng_uniform_fill(&g, h->r, h->no, -1.0f, 1.0f);
    ent_rng_uniform_fill(&g, h->state, n * h->l.state, -0.5f, 0.5f);
    return 1;
}

static void sq_free(sq *h) {
    float *p[] = {h->theta, h->saved, h->scratch, h->in, h->out, h->r, h->state};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) ent_free_aligned(p[i]);
}

static ent_ctx sq_ctx(sq *h) {
    ent_ctx c = {.train = h->train, .n = h->n, .rng = &h->rng, .scratch = h->scratch,
                 .state_in = h->l.state ? h->state : NULL, .state_stride = h->l.state};
    return c;
}

static void sq_forward(sq *h) {
    ent_rng_init(&h->rng, 99, 7); /* the same dropout mask every time */
    ent_ctx c = sq_ctx(h);
    h->l.ops->forward(&h->l, h->theta, h->in, h->out, h->saved, &c);
}

static void sq_backward(sq *h, float *din, float *dtheta, int store) {
    ent_ctx c = sq_ctx(h);
    c.store = store;
    h->l.ops->backward(&h->l, h->theta, h->in, h->out, h->saved, h->r, din, dtheta, &c);
}

static double sq_loss(sq *h) {
    sq_forward(h);
    double s = 0.0;
    for (int64_t i = 0; i < h->no; i++) s += (double)h->out[i] * h->r[i];
    return s;
}

typedef struct {
    double max_abs;
    int64_t checked;
} fd_stats;

/* Central difference of sq_loss at x[i] against the analytic a. */
static void fd_one(sq *h, float *x, int64_t i, double a, double atol, double rtol,
                   const char *what, fd_stats *st) {
    const float v = x[i];
    x[i] = v + 1e-2f;
    const double hp = (double)x[i] - v, lp = sq_loss(h);
    x[i] = v - 1e-2f;
    const double hm = v - (double)x[i], lm = sq_loss(h);
    x[i] = v;
    const double fd = (lp - lm) / (hp + hm), d = fabs(a - fd);
    st->checked++;
    if (d > st->max_abs) st->max_abs = d;
    CHECK_MSG(d <= atol + rtol * fabs(fd), "%s[%lld]: analytic %.7g, finite difference %.7g", what,
              (long long)i, a, fd);
}

/* Every parameter and (inputs > 0) every input element. */
static void sq_gradcheck(sq *h, const char *name, int inputs, double atol, double rtol) {
    float *gin = zalloc(h->ni), *gth = zalloc(h->P);
    sq_forward(h);
    sq_backward(h, gin, gth, 1);
    fd_stats st = {0, 0};
    for (int64_t i = 0; inputs && i < h->ni; i++) fd_one(h, h->in, i, gin[i], atol, rtol, "d/dx", &st);
    for (int64_t i = 0; i < h->P; i++) fd_one(h, h->theta, i, gth[i], atol, rtol, "d/dtheta", &st);
    printf("    %-34s %4lld checked  max|err| %.2e (tol %.0e + %.0e |fd|)\n", name,
           (long long)st.checked, st.max_abs, atol, rtol);
    ent_free_aligned(gin), ent_free_aligned(gth);
}

/* Store mode (=, into gradients full of NaN) against accumulate mode (+=
 * onto random values): the same gradients, every value written. */
static void sq_store_vs_add(sq *h, const char *name) {
    float *si = zalloc(h->ni), *st = zalloc(h->P), *ai = zalloc(h->ni), *at = zalloc(h->P);
    float *d0i = zalloc(h->ni), *d0t = zalloc(h->P);
    for (int64_t i = 0; i < h->ni; i++) si[i] = NAN;
    for (int64_t i = 0; i < h->P; i++) st[i] = NAN;
    ent_rng g;
    ent_rng_init(&g, 5, 5);
    ent_rng_uniform_fill(&g, d0i, h->ni, -1.0f, 1.0f);
    ent_rng_uniform_fill(&g, d0t, h->P, -1.0f, 1.0f);
    ent_vec_copy(ai, d0i, h->ni), ent_vec_copy(at, d0t, h->P);
    sq_forward(h);
    sq_backward(h, si, st, 1);
    sq_forward(h);
    sq_backward(h, ai, at, 0);
    CHECK_MSG(ent_vec_all_finite(si, h->ni) && ent_vec_all_finite(st, h->P),
              "%s: store mode left values unwritten", name);
    for (int64_t i = 0; i < h->ni; i++) ai[i] -= d0i[i];
    for (int64_t i = 0; i < h->P; i++) at[i] -= d0t[i];
    const double di = CHECK_CLOSE("din store vs add", si, ai, h->ni, 1e-6, 1e-5);
    const double dt = CHECK_CLOSE("dtheta store vs add", st, at, h->P, 1e-6, 1e-5);
    printf("    %-34s store vs add: din %.1e, dtheta %.1e (tol 1e-6 + 1e-5 |.|)\n", name, di, dt);
    float *p[] = {si, st, ai, at, d0i, d0t};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) ent_free_aligned(p[i]);
}

static ent_layer lstm_layer(int64_t T, int64_t in, int64_t H, int64_t L, float p) {
    ent_layer l;
    memset(&l, 0, sizeof l);
    l.kind = ENT_LAYER_LSTM;
    l.in_c = T, l.in_h = 1, l.in_w = in;
    l.lstm.hidden = H, l.lstm.layers = L, l.lstm.p = p;
    return l;
}

static ent_layer seq_layer(ent_layer_kind kind, int64_t T, int64_t w) {
    ent_layer l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    l.in_c = T, l.in_h = 1, l.in_w = w;
    return l;
}

/* ---------------------------------------------------------- the kinds */

ENT_TEST(lstm_grad_two_layers_carried_state) {
    sq h;
    /* 2 layers, 5 steps, 3 samples, from a non-zero h0/c0; dropout off */
    if (sq_setup(&h, lstm_layer(5, 3, 4, 2, 0.0f), 3, 0, 0))
        sq_gradcheck(&h, "lstm 2 layers, T 5, state", 1, 1e-3, 2e-3);
    sq_free(&h);
    /* dropout 0.3 between the layers, training (the mask fixed by the seed) */
    if (sq_setup(&h, lstm_layer(4, 3, 4, 2, 0.3f), 2, 1, 0))
        sq_gradcheck(&h, "lstm 2 layers, dropout 0.3, train", 1, 1e-3, 2e-3);
    sq_free(&h);
}

ENT_TEST(lstm_embedding_onehot_linear) {
    sq h;
    ent_layer l = seq_layer(ENT_LAYER_EMBEDDING, 6, 1);
    l.embed.vocab = 4, l.embed.dim = 3; /* 12 ids of 4: repeated rows */
    if (sq_setup(&h, l, 2, 0, 4)) {
        sq_forward(&h);
        int64_t bad = 0;
        for (int64_t r = 0; r < h.ni; r++) /* the row of each id */
            for (int64_t e = 0; e < 3; e++) bad += h.out[r * 3 + e] != h.theta[(int64_t)h.in[r] * 3 + e];
        CHECK_MSG(bad == 0, "embedding: %lld values are not their id's row", (long long)bad);
        sq_gradcheck(&h, "embedding 4x3, 12 ids", 0, 1e-4, 1e-3);
    }
    sq_free(&h);
    l = seq_layer(ENT_LAYER_ONEHOT, 5, 1);
    l.embed.vocab = 7;
    if (sq_setup(&h, l, 3, 0, 7)) {
        sq_forward(&h);
        int64_t bad = 0;
        for (int64_t r = 0; r < h.ni; r++)
            for (int64_t v = 0; v < 7; v++) bad += h.out[r * 7 + v] != (v == (int64_t)h.in[r] ? 1.0f : 0.0f);
        CHECK_MSG(bad == 0, "onehot: %lld values wrong", (long long)bad);
        CHECK(ent_layer_out_size(&h.l) == 5 * 7);
    }
    sq_free(&h);
    for (int bias = 1; bias >= 0; bias--) {
        l = seq_layer(ENT_LAYER_DENSE, 4, 5);
        l.dense.out = 3, l.dense.per_position = 1, l.dense.no_bias = !bias;
        if (sq_setup(&h, l, 3, 0, 0)) {
            CHECK(h.l.out_c == 4 && h.l.out_h == 1 && h.l.out_w == 3 && h.P == 15 + 3 * bias);
            sq_gradcheck(&h, bias ? "linear per position" : "linear per position, no bias", 1, 1e-4,
                         1e-3);
        }
        sq_free(&h);
    }
}

ENT_TEST(lstm_store_mode) {
    sq h;
    if (sq_setup(&h, lstm_layer(5, 3, 6, 3, 0.4f), 4, 1, 0)) sq_store_vs_add(&h, "lstm 3 layers, dropout");
    sq_free(&h);
    if (sq_setup(&h, lstm_layer(3, 4, 5, 1, 0.0f), 2, 0, 0)) sq_store_vs_add(&h, "lstm 1 layer");
    sq_free(&h);
    ent_layer l = seq_layer(ENT_LAYER_EMBEDDING, 7, 1);
    l.embed.vocab = 5, l.embed.dim = 70; /* two column blocks */
    if (sq_setup(&h, l, 3, 0, 5)) sq_store_vs_add(&h, "embedding");
    sq_free(&h);
    l = seq_layer(ENT_LAYER_ONEHOT, 3, 1);
    l.embed.vocab = 4;
    if (sq_setup(&h, l, 2, 0, 4)) sq_store_vs_add(&h, "onehot");
    sq_free(&h);
    l = seq_layer(ENT_LAYER_DENSE, 6, 4);
    l.dense.out = 5, l.dense.per_position = 1, l.dense.no_bias = 1;
    if (sq_setup(&h, l, 3, 0, 0)) sq_store_vs_add(&h, "linear per position, no bias");
    sq_free(&h);
}

/* 8 layers fit the tensor table; 9 are refused at plan, naming the node. */
ENT_TEST(lstm_layer_count_limit) {
    ent_layer l = lstm_layer(2, 3, 2, 8, 0.0f);
    l.ops = &ent_lstm_ops, l.max_batch = 1;
    snprintf(l.name, sizeof l.name, "deep");
    CHECK_OK(l.ops->plan(&l));
    CHECK(l.n_tensors == 32 && !l.too_many_tensors);
    l.lstm.layers = 9;
    CHECK(l.ops->plan(&l) == ENT_ESHAPE && strstr(ent_last_error(), "deep") != NULL);
}

/* ------------------------------------------------------ small models */

/* embed(V, E) -> lstm(E -> H, L layers) -> linear(H, V), the charlstm
 * shape at small sizes, for windows of T. */
static ent_model *small_charlstm(int64_t V, int64_t E, int64_t H, int64_t L, int64_t T, int64_t batch) {
    ent_net *n = ent_net_new("small-charlstm");
    int i = ent_net_embedding(n, "embed", ENT_NET_INPUT, V, E);
    i = ent_net_lstm(n, "lstm", i, H, L, 0.0f, 0.0f);
    ent_net_linear(n, "fc", i, V, 1);
    ent_model *m = NULL;
    CHECK_OK(ent_model_new_net(&m, n, T, 1, 1, V, batch));
    ent_net_free(n);
    return m;
}

static void random_ids(float *x, int32_t *y, int64_t n, int64_t V, uint64_t seed) {
    ent_rng g;
    ent_rng_init(&g, seed, 0);
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)ent_rng_below(&g, (uint64_t)V);
        if (y) y[i] = (int32_t)ent_rng_below(&g, (uint64_t)V);
    }
}

/* The mean token loss of the whole model by finite differences. */
ENT_TEST(lstm_model_token_loss_grad) {
    const int64_t V = 6, T = 4, n = 3;
    ent_model *m = small_charlstm(V, 3, 4, 2, T, n);
    if (!m) return;
    CHECK(ent_model_positions(m) == T && ent_model_state_size(m) == 2 * 2 * 4);
    const int64_t P = ent_model_n_param(m), S = ent_model_state_size(m);
    float *th = zalloc(P), *g = zalloc(P), *x = zalloc(n * T), *st = zalloc(n * S);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)(n * T));
    ent_model_init_params(m, th, NULL, 4);
    random_ids(x, y, n * T, V, 8);
    ent_rng r;
    ent_rng_init(&r, 3, 0);
    ent_rng_uniform_fill(&r, st, n * S, -0.5f, 0.5f);
    double loss;
    int64_t right;
    CHECK_OK(ent_model_run_state(m, th, NULL, st, NULL, x, y, n, 1, NULL, g, &loss, &right));
    /* the mean over the n*T tokens, from the logits */
    const float *z = ent_model_logits(m);
    double want = 0.0;
    int64_t hits = 0;
    for (int64_t t = 0; t < n * T; t++) {
        double mx = z[t * V], s = 0.0;
        int64_t am = 0;
        for (int64_t v = 1; v < V; v++)
            if (z[t * V + v] > mx) mx = z[t * V + v], am = v;
        for (int64_t v = 0; v < V; v++) s += exp(z[t * V + v] - mx);
        want += (log(s) + mx - z[t * V + y[t]]) / (double)(n * T);
        hits += am == y[t];
    }
    printf("    loss %.8f, mean over %lld tokens from the logits %.8f; right %lld of %lld\n", loss,
           (long long)(n * T), want, (long long)right, (long long)hits);
    CHECK(fabs(loss - want) < 1e-6 && right == hits);
    double worst = 0.0;
    for (int64_t i = 0; i < P; i++) {
        const float v = th[i];
        double lp, lm;
        th[i] = v + 1e-2f;
        const double hp = (double)th[i] - v;
        ent_model_run_state(m, th, NULL, st, NULL, x, y, n, 0, NULL, NULL, &lp, NULL);
        th[i] = v - 1e-2f;
        const double hm = v - (double)th[i];
        ent_model_run_state(m, th, NULL, st, NULL, x, y, n, 0, NULL, NULL, &lm, NULL);
        th[i] = v;
        const double fd = (lp - lm) / (hp + hm), d = fabs(fd - g[i]);
        if (d > worst) worst = d;
        CHECK_MSG(d <= 1e-4 + 2e-3 * fabs(fd), "theta[%lld]: analytic %.7g, finite difference %.7g",
                  (long long)i, g[i], fd);
    }
    printf("    model embed-lstm-linear-CE, %lld params: max|err| %.2e (tol 1e-4 + 2e-3 |fd|)\n",
           (long long)P, worst);
    free(y);
    ent_free_aligned(th), ent_free_aligned(g), ent_free_aligned(x), ent_free_aligned(st);
    ent_model_free(m);
}

/* state_out of window k fed as state_in of window k+1 gives what one run
 * over the two windows together gives; a zero state is no state. */
ENT_TEST(lstm_state_carries_across_windows) {
    const int64_t V = 9, T = 5, n = 3;
    ent_model *m1 = small_charlstm(V, 4, 6, 2, T, n), *m2 = small_charlstm(V, 4, 6, 2, 2 * T, n);
    if (!m1 || !m2) {
        ent_model_free(m1), ent_model_free(m2);
        return;
    }
    const int64_t P = ent_model_n_param(m1), S = ent_model_state_size(m1);
    CHECK(P == ent_model_n_param(m2) && S == ent_model_state_size(m2) && S == 24);
    float *th = zalloc(P), *x = zalloc(n * 2 * T), *xa = zalloc(n * T), *xb = zalloc(n * T);
    float *s0 = zalloc(n * S), *s1 = zalloc(n * S), *s2 = zalloc(n * S), *sw = zalloc(n * S);
    float *zw = zalloc(n * 2 * T * V), *za = zalloc(n * T * V), *zb = zalloc(n * 2 * T * V);
    int32_t *y = calloc((size_t)(n * 2 * T), sizeof(int32_t));
    ent_model_init_params(m1, th, NULL, 6);
    random_ids(x, NULL, n * 2 * T, V, 9);
    for (int64_t b = 0; b < n; b++) /* sample b's first and second windows */
        for (int64_t t = 0; t < T; t++) xa[b * T + t] = x[b * 2 * T + t], xb[b * T + t] = x[b * 2 * T + T + t];
    ent_rng r;
    ent_rng_init(&r, 4, 0);
    ent_rng_uniform_fill(&r, s0, n * S, -0.8f, 0.8f);
    CHECK_OK(ent_model_run_state(m2, th, NULL, s0, sw, x, y, n, 0, NULL, NULL, NULL, NULL));
    ent_vec_copy(zw, ent_model_logits(m2), n * 2 * T * V);
    CHECK_OK(ent_model_run_state(m1, th, NULL, s0, s1, xa, y, n, 0, NULL, NULL, NULL, NULL));
    ent_vec_copy(za, ent_model_logits(m1), n * T * V);
    CHECK_OK(ent_model_run_state(m1, th, NULL, s1, s2, xb, y, n, 0, NULL, NULL, NULL, NULL));
    for (int64_t b = 0; b < n; b++) { /* the two windows' logits side by side, as the long run's */
        memcpy(zb + b * 2 * T * V, za + b * T * V, sizeof(float) * (size_t)(T * V));
        memcpy(zb + (b * 2 * T + T) * V, ent_model_logits(m1) + b * T * V, sizeof(float) * (size_t)(T * V));
    }
    const double dz = CHECK_CLOSE("logits, two windows vs one", zb, zw, n * 2 * T * V, 1e-6, 1e-6);
    const double ds = CHECK_CLOSE("final state, two windows vs one", s2, sw, n * S, 1e-6, 1e-6);
    printf("    2 windows of %lld vs one of %lld: logits max|diff| %.1e, state %.1e (tol 1e-6)\n",
           (long long)T, (long long)(2 * T), dz, ds);
    /* the state moved, and a zero state is the same as none, bit for bit */
    CHECK(memcmp(s1, s0, sizeof(float) * (size_t)(n * S)) != 0);
    ent_vec_zero(s0, n * S);
    CHECK_OK(ent_model_run_state(m1, th, NULL, s0, s1, xa, y, n, 0, NULL, NULL, NULL, NULL));
    ent_vec_copy(za, ent_model_logits(m1), n * T * V);
    CHECK_OK(ent_model_run_state(m1, th, NULL, NULL, s2, xa, y, n, 0, NULL, NULL, NULL, NULL));
    CHECK(memcmp(za, ent_model_logits(m1), sizeof(float) * (size_t)(n * T * V)) == 0);
    CHECK(memcmp(s1, s2, sizeof(float) * (size_t)(n * S)) == 0);
    free(y);
    float *p[] = {th, x, xa, xb, s0, s1, s2, sw, zw, za, zb};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) ent_free_aligned(p[i]);
    ent_model_free(m1), ent_model_free(m2);
}

/* ------------------------------------------------------------ presets */

static int64_t preset_params(const char *name, int64_t V, int64_t *state, int64_t *positions) {
    int64_t c, h, w;
    CHECK_OK(ent_model_preset_input(name, &c, &h, &w));
    CHECK(h == 1 && w == 1);
    ent_model *m = NULL;
    CHECK_OK(ent_model_new(&m, name, NULL, c, h, w, V, 1));
    if (!m) return -1;
    const int64_t P = ent_model_n_param(m);
    *state = ent_model_state_size(m), *positions = ent_model_positions(m);
    CHECK(*positions == c);
    ent_model_free(m);
    return P;
}

/* Parameters of an LSTM layer reading in features into H units. */
static int64_t lstm_params(int64_t in, int64_t H) { return 4 * H * (in + H) + 8 * H; }

ENT_TEST(lstm_presets_params) {
    int64_t S, T;
    int64_t P = preset_params("tiny-charlstm", 96, &S, &T);
    printf("    tiny-charlstm V 96: %lld parameters (want 32,640), state %lld, T %lld\n", (long long)P,
           (long long)S, (long long)T);
    CHECK(P == 32640 && S == 2 * 48 && T == 50);
    P = preset_params("charlstm", 96, &S, &T);
    CHECK(P == 96 * 85 + lstm_params(85, 128) + lstm_params(128, 128) + 128 * 96 + 96);
    CHECK(S == 2 * 2 * 128 && T == 50);
    const struct { const char *name; int64_t u; } ptb[] = {{"ptblstm-large", 1500}, {"ptblstm-medium", 650}};
    for (int i = 0; i < 2; i++) {
        const int64_t V = 10000, u = ptb[i].u;
        P = preset_params(ptb[i].name, V, &S, &T);
        printf("    %s V 10000: %lld parameters, state %lld, T %lld\n", ptb[i].name, (long long)P,
               (long long)S, (long long)T);
        CHECK(P == V * u + lstm_params(u, u) * 2 + u * V + V);
        CHECK(S == 2 * 2 * u && T == 35);
    }
}

/* ptblstm-medium's tensors all U(-0.05, 0.05), its dropout from the
 * options; tiny-charlstm's linear has no bias. */
ENT_TEST(lstm_presets_init_and_options) {
    ent_model_opts o = ent_model_opts_default();
    ent_model *m = NULL;
    CHECK_OK(ent_model_new(&m, "ptblstm-medium", &o, 35, 1, 1, 20, 2));
    if (m) {
        CHECK(ent_model_get_opts(m).dropout == 0.5f);
        const int64_t P = ent_model_n_param(m);
        float *th = zalloc(P);
        ent_model_init_params(m, th, NULL, 1);
        float mx = 0.0f;
        for (int64_t i = 0; i < P; i++) mx = fabsf(th[i]) > mx ? fabsf(th[i]) : mx;
        printf("    ptblstm-medium V 20: max |theta| %.6f (init_range 0.05)\n", (double)mx);
        CHECK(mx <= 0.05f && mx > 0.0499f);
        ent_free_aligned(th);
        ent_model_free(m);
    }
    o.dropout = 0.25f;
    ent_net *n = NULL;
    CHECK_OK(ent_net_preset(&n, "ptblstm-large", &o, 20));
    ent_json j;
    ent_json_init(&j);
    if (n) ent_net_write_json(n, &j);
    /* the file's lstm node and its settings, and the dropouts' p */
    const char *at = j.buf ? strstr(j.buf, "\"kind\": \"lstm\"") : NULL;
    CHECK_MSG(at && strstr(at, "\"hidden_size\": 1500") && strstr(at, "\"num_layers\": 2") &&
                  strstr(at, "\"dropout\": 0.25") && strstr(at, "\"init_range\": 0.04"),
              "ptblstm-large's file: %s", j.buf ? j.buf : "");
    CHECK(j.buf && strstr(j.buf, "\"p\": 0.25") && !strstr(j.buf, "0.65"));
    ent_json_free(&j);
    ent_net_free(n);
    CHECK_OK(ent_model_new(&m, "tiny-charlstm", NULL, 50, 1, 1, 96, 1));
    int count = 0;
    const ent_tensor_info *t = m ? ent_model_params(m, &count) : NULL;
    CHECK(count == 5 && t && strcmp(t[4].name, "fc.weight") == 0 && strcmp(t[0].name, "lstm.weight_ih_l0") == 0);
    ent_model_free(m);
}

/* ------------------------------------------------------ PyTorch fixtures */

static ent_fixture *fx_open(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.bin", ent_test_fixture_dir(), name);
    ent_fixture *f = NULL;
    CHECK_OK(ent_fixture_load(&f, path));
    return f;
}

static const float *fx_get(const ent_fixture *f, const char *name, int64_t n) {
    const ent_fx_array *a = f ? ent_fixture_find(f, name) : NULL;
    CHECK_MSG(a && a->numel == n, "fixture array '%s' missing or not %lld values", name, (long long)n);
    return a && a->numel == n ? a->data : NULL;
}

static void fx_compare(const char *what, const float *got, const ent_fixture *f, const char *name,
                       int64_t n, double atol, double rtol) {
    const float *want = fx_get(f, name, n);
    if (!want) return;
    const double d = CHECK_CLOSE(what, got, want, n, atol, rtol);
    printf("    %-26s max|diff| %.2e (tol %.0e + %.0e |want|)\n", what, d, atol, rtol);
}

/* PyTorch's [L, n, H] h and c into our [n, S] state (h then c per layer)
 * and back. */
static void state_from_torch(float *st, const float *h, const float *c, int64_t L, int64_t n, int64_t H) {
    for (int64_t k = 0; k < L; k++)
        for (int64_t b = 0; b < n; b++)
            for (int64_t j = 0; j < H; j++) {
                st[b * 2 * L * H + 2 * k * H + j] = h[(k * n + b) * H + j];
                st[b * 2 * L * H + 2 * k * H + H + j] = c[(k * n + b) * H + j];
            }
}

static void state_to_torch(const float *st, float *h, float *c, int64_t L, int64_t n, int64_t H) {
    for (int64_t k = 0; k < L; k++)
        for (int64_t b = 0; b < n; b++)
            for (int64_t j = 0; j < H; j++) {
                h[(k * n + b) * H + j] = st[b * 2 * L * H + 2 * k * H + j];
                c[(k * n + b) * H + j] = st[b * 2 * L * H + 2 * k * H + H + j];
            }
}

/* nn.LSTM(5, 4, num_layers=2) over [3, 6, 5] from h0, c0: out, h_n, c_n
 * and every gradient of (out * r).sum(). */
ENT_TEST(lstm_fixture_layer) {
    const int64_t n = 3, T = 6, I = 5, H = 4, L = 2;
    ent_fixture *f = fx_open("lstm");
    sq h;
    if (!f || !sq_setup(&h, lstm_layer(T, I, H, L, 0.0f), n, 0, 0)) {
        ent_fixture_free(f);
        return;
    }
    const float *x = fx_get(f, "x", n * T * I), *r = fx_get(f, "r", n * T * H);
    const float *h0 = fx_get(f, "h0", L * n * H), *c0 = fx_get(f, "c0", L * n * H);
    for (int i = 0; i < h.l.n_tensors; i++) {
        const float *v = fx_get(f, h.l.tensors[i].name, h.l.tensors[i].numel);
        if (v) ent_vec_copy(h.theta + h.l.tensors[i].offset, v, h.l.tensors[i].numel);
    }
    if (x && r && h0 && c0 && ent_test_failures == 0) {
        ent_vec_copy(h.in, x, n * T * I), ent_vec_copy(h.r, r, n * T * H);
        state_from_torch(h.state, h0, c0, L, n, H);
        float *so = zalloc(n * 2 * L * H), *hn = zalloc(L * n * H), *cn = zalloc(L * n * H);
        float *din = zalloc(h.ni), *dth = zalloc(h.P);
        ent_ctx c = sq_ctx(&h);
        c.state_out = so;
        h.l.ops->forward(&h.l, h.theta, h.in, h.out, h.saved, &c);
        c.store = 1;
        h.l.ops->backward(&h.l, h.theta, h.in, h.out, h.saved, h.r, din, dth, &c);
        state_to_torch(so, hn, cn, L, n, H);
        fx_compare("lstm out", h.out, f, "out", h.no, 1e-5, 1e-5);
        fx_compare("lstm h_n", hn, f, "h_n", L * n * H, 1e-5, 1e-5);
        fx_compare("lstm c_n", cn, f, "c_n", L * n * H, 1e-5, 1e-5);
        fx_compare("lstm dx", din, f, "dx", h.ni, 1e-5, 1e-5);
        for (int i = 0; i < h.l.n_tensors; i++) {
            char name[80];
            snprintf(name, sizeof name, "d%s", h.l.tensors[i].name);
            fx_compare(name, dth + h.l.tensors[i].offset, f, name, h.l.tensors[i].numel, 1e-5, 1e-5);
        }
        float *p[] = {so, hn, cn, din, dth};
        for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) ent_free_aligned(p[i]);
    }
    sq_free(&h);
    ent_fixture_free(f);
}

/* CharLSTM(vocab 11, embed 6, hidden 5, 2 layers) with per-token CE over
 * [3, 7] windows from a carried state: logits, loss, final state and the
 * gradient of every tensor against PyTorch in float64. */
ENT_TEST(lstm_fixture_charlstm_model) {
    const int64_t V = 11, T = 7, n = 3, H = 5, L = 2;
    ent_fixture *f = fx_open("model_charlstm_small");
    ent_model *m = f ? small_charlstm(V, 6, H, L, T, n) : NULL;
    if (!m) {
        ent_fixture_free(f);
        return;
    }
    const int64_t P = ent_model_n_param(m), S = ent_model_state_size(m);
    float *th = zalloc(P), *g = zalloc(P), *si = zalloc(n * S), *so = zalloc(n * S);
    float *hn = zalloc(L * n * H), *cn = zalloc(L * n * H);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)(n * T));
    int count;
    const ent_tensor_info *t = ent_model_params(m, &count);
    for (int i = 0; i < count; i++) {
        const float *v = fx_get(f, t[i].name, t[i].numel);
        if (v) ent_vec_copy(th + t[i].offset, v, t[i].numel);
    }
    const float *x = fx_get(f, "x", n * T), *yf = fx_get(f, "y", n * T);
    const float *h0 = fx_get(f, "h0", L * n * H), *c0 = fx_get(f, "c0", L * n * H);
    const float *loss_want = fx_get(f, "loss", 1);
    if (x && yf && h0 && c0 && loss_want && ent_test_failures == 0) {
        for (int64_t i = 0; i < n * T; i++) y[i] = (int32_t)yf[i];
        state_from_torch(si, h0, c0, L, n, H);
        double loss;
        CHECK_OK(ent_model_run_state(m, th, NULL, si, so, x, y, n, 1, NULL, g, &loss, NULL));
        printf("    loss %.8f, PyTorch %.8f\n", loss, (double)*loss_want);
        CHECK(fabs(loss - *loss_want) < 1e-5);
        state_to_torch(so, hn, cn, L, n, H);
        fx_compare("model logits", ent_model_logits(m), f, "logits", n * T * V, 1e-5, 1e-5);
        fx_compare("model h_n", hn, f, "h_n", L * n * H, 1e-5, 1e-5);
        fx_compare("model c_n", cn, f, "c_n", L * n * H, 1e-5, 1e-5);
        for (int i = 0; i < count; i++) {
            char name[80];
            snprintf(name, sizeof name, "grad.%s", t[i].name);
            fx_compare(name, g + t[i].offset, f, name, t[i].numel, 1e-5, 1e-5);
        }
    }
    free(y);
    float *p[] = {th, g, si, so, hn, cn};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) ent_free_aligned(p[i]);
    ent_model_free(m);
    ent_fixture_free(f);
}

/* ------------------------------------- Hessian-vector products (R-op) */

/* Hv of model m (windows [4, 10]) at the fixture's theta along its v,
 * against PyTorch's double back-propagation in float64: tolerance as
 * tests/test_hvp_fixtures.c's (double 1.2e-7 |want| + 1e-10 max |want|;
 * the float engine 1e-5 max |want|). Chunks of 3 samples: two chunks. The
 * double engine's gradient is checked against the float model's too. */
static void check_hvp(const char *file, ent_model *m, int single) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ent_test_fixture_dir(), file);
    ent_fixture *f = NULL;
    CHECK_OK(ent_fixture_load(&f, path));
    int nt = 0;
    const ent_tensor_info *t = m ? ent_model_params(m, &nt) : NULL;
    const int64_t P = m ? ent_model_n_param(m) : 0, n = 4, T = 10;
    const float *x = fx_get(f, "x", n * T), *y = fx_get(f, "y", n * T), *tk = fx_get(f, "tkeys", nt);
    const float *tb = fx_get(f, "tbounds", nt), *vk = fx_get(f, "vkeys", nt);
    const float *loss = fx_get(f, "loss", 1), *hv = fx_get(f, "hv", P), *vhv = fx_get(f, "vhv", 1);
    if (!m || !x || !y || !tk || !tb || !vk || !loss || !hv || !vhv) {
        ent_fixture_free(f);
        return;
    }
    float *theta = zalloc(P), *vf = zalloc(P), *g32 = zalloc(P);
    int32_t yi[40];
    double *v = malloc(sizeof(double) * (size_t)P), *got = malloc(sizeof(double) * (size_t)P);
    double *g64 = malloc(sizeof(double) * (size_t)P);
    for (int i = 0; i < nt; i++) {
        ent_fixture_formula(theta + t[i].offset, t[i].numel, (uint64_t)tk[i], (double)tb[i]);
        ent_fixture_formula(vf + t[i].offset, t[i].numel, (uint64_t)vk[i], 1.0);
    }
    for (int i = 0; i < 40; i++) yi[i] = (int32_t)y[i];
    for (int64_t i = 0; i < P; i++) v[i] = vf[i];
    ent_nethess *h = NULL;
    ent_nethess_opts no = {.batch = 3, .single = single};
    CHECK_OK(ent_nethess_new(&h, m, theta, NULL, x, yi, n, &no));
    if (h) {
        ent_hvp op = ent_nethess_hvp(h);
        double l = 0, big = 0, worst = 0, dot = 0, l32, gbig = 0, gd = 0;
        CHECK_OK(ent_nethess_grad(h, g64, &l, NULL));
        CHECK_OK(ent_hvp_apply(&op, v, got));
        for (int64_t i = 0; i < P; i++) big = fmax(big, fabs(hv[i]));
        int64_t bad = -1;
        const double rt = single ? 0.0 : 1.2e-7, at = single ? 1e-5 : 1e-10;
        for (int64_t i = 0; i < P; i++) {
            const double d = fabs(got[i] - hv[i]);
            if (d > rt * fabs(hv[i]) + at * big && bad < 0) bad = i;
            worst = fmax(worst, single ? d / big : d / (fabs(hv[i]) + 1e-10 * big));
            dot += v[i] * got[i];
        }
        CHECK_OK(ent_model_run(m, theta, NULL, x, yi, n, 0, NULL, g32, &l32, NULL));
        for (int64_t i = 0; i < P; i++) gbig = fmax(gbig, fabs(g64[i])), gd = fmax(gd, fabs(g64[i] - g32[i]));
        printf("    %-22s %s %lld params: loss %.7f vs %.7f; Hv max |diff| / %s %.1e (tol %.1e); "
               "v.Hv %.6e vs %.6e; float model's gradient %.1e of max (tol 1e-5)\n",
               file, single ? "float " : "double", (long long)P, l, (double)*loss,
               single ? "max |ref|" : "(|ref| + 1e-10 max)", worst, single ? 1e-5 : 1.2e-7, dot,
               (double)*vhv, gd / gbig);
        CHECK_MSG(bad < 0, "%s: Hv[%lld] = %.9g, PyTorch %.9g", file, (long long)bad, bad < 0 ? 0 : got[bad],
                  bad < 0 ? 0 : hv[bad]);
        CHECK(fabs(l - *loss) <= (single ? 1e-5 : 1.2e-7) * fabs(*loss));
        CHECK(fabs(dot - *vhv) <= (single ? 1e-5 : 1.2e-7) * fabs(*vhv));
        CHECK(fabs(l32 - l) <= 1e-5 * fabs(l) && gd <= 1e-5 * gbig);
    }
    ent_nethess_free(h);
    ent_free_aligned(theta), ent_free_aligned(vf), ent_free_aligned(g32);
    free(v), free(got), free(g64);
    ent_fixture_free(f);
}

/* tiny-charlstm (one-hot, LSTM, linear without bias) at V = 96. */
ENT_TEST(lstm_hvp_tiny_charlstm_vs_torch) {
    ent_model *m = NULL;
    CHECK_OK(ent_model_new(&m, "tiny-charlstm", NULL, 10, 1, 1, 96, 4));
    check_hvp("hvp_tiny_charlstm.bin", m, 0);
    check_hvp("hvp_tiny_charlstm.bin", m, 1);
    ent_model_free(m);
}

/* Embedding, a 2-layer LSTM, a linear layer with bias. */
ENT_TEST(lstm_hvp_embed_lstm_vs_torch) {
    ent_model *m = small_charlstm(11, 6, 5, 2, 10, 4);
    check_hvp("hvp_embed_lstm.bin", m, 0);
    check_hvp("hvp_embed_lstm.bin", m, 1);
    ent_model_free(m);
}

/* The gradient of a training run (dropout between the LSTM layers) is the
 * same, bit for bit, on 1 and 2 threads: sizes above the threshold where
 * the element-wise loops, the bias sums and the embedding's gradient
 * fork. */
ENT_TEST(lstm_thread_count_invariant) {
    const int64_t V = 40, T = 20, n = 8;
    ent_net *net = ent_net_new("seq");
    int i = ent_net_embedding(net, "embed", ENT_NET_INPUT, V, 64);
    i = ent_net_lstm(net, "lstm", i, 64, 2, 0.3f, 0.0f);
    ent_net_linear(net, "fc", i, V, 1);
    ent_model *m = NULL;
    CHECK_OK(ent_model_new_net(&m, net, T, 1, 1, V, n));
    ent_net_free(net);
    if (!m) return;
    const int64_t P = ent_model_n_param(m), S = ent_model_state_size(m);
    float *th = zalloc(P), *g[2] = {zalloc(P), zalloc(P)}, *x = zalloc(n * T), *st = zalloc(n * S);
    float *so[2] = {zalloc(n * S), zalloc(n * S)};
    int32_t *y = malloc(sizeof(int32_t) * (size_t)(n * T));
    ent_model_init_params(m, th, NULL, 2);
    random_ids(x, y, n * T, V, 3);
    ent_rng r;
    ent_rng_init(&r, 5, 0);
    ent_rng_uniform_fill(&r, st, n * S, -0.5f, 0.5f);
    const int threads = ent_get_threads();
    double loss[2];
    for (int k = 0; k < 2; k++) {
        ent_set_threads(k + 1);
        ent_rng_init(&r, 7, 1);
        CHECK_OK(ent_model_run_state(m, th, NULL, st, so[k], x, y, n, 1, &r, g[k], &loss[k], NULL));
    }
    ent_set_threads(threads);
    int64_t diff = 0;
    for (int64_t k = 0; k < P; k++) diff += memcmp(&g[0][k], &g[1][k], sizeof(float)) != 0;
    printf("    %lld parameters: %lld gradient values differ between 1 and 2 threads; loss %.8f vs %.8f\n",
           (long long)P, (long long)diff, loss[0], loss[1]);
    CHECK(diff == 0 && loss[0] == loss[1]);
    CHECK(memcmp(so[0], so[1], sizeof(float) * (size_t)(n * S)) == 0);
    free(y);
    float *p[] = {th, g[0], g[1], x, st, so[0], so[1]};
    for (size_t k = 0; k < sizeof p / sizeof p[0]; k++) ent_free_aligned(p[k]);
    ent_model_free(m);
}
