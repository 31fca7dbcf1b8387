/* lstm.c — a stack of LSTM layers, PyTorch nn.LSTM(in, H, num_layers=L,
 * batch_first=True, dropout=p): in [n, T, 1, in] -> out [n, T, 1, H], the
 * top layer's h at every step. Gates in PyTorch's order i, f, g, o:
 *   G = x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh          [4H]
 *   i, f, o = sigmoid(G_i, G_f, G_o), g = tanh(G_g)
 *   c_t = f c_{t-1} + i g,  h_t = o tanh(c_t)
 * Tensors per layer k: weight_ih_l{k} [4H, in_k], weight_hh_l{k} [4H, H],
 * bias_ih_l{k} [4H], bias_hh_l{k} [4H] (state_dict order). In training,
 * dropout p (nn.Dropout, from ctx->rng) masks each layer's output before
 * the next layer reads it; the top layer's output is not masked.
 *
 * Carried state: h_0 and c_0 of every layer come from ctx->state_in (h
 * then c per layer; NULL: zeros) and the final h_T, c_T go to
 * ctx->state_out. The forward copies h_0 and c_0 into `saved`, so backward
 * never reads the state pointers; no gradient flows into the state
 * (truncated back-propagation through time).
 *
 * Work: the input projections of all T steps of a layer are one GEMM of
 * n*T rows; each step adds its recurrent product h_{t-1} W_hh^T as one
 * GEMM of n rows, reading and writing the step's rows in place through the
 * leading dimensions (T*H, T*4H); the gate nonlinearities are one loop per
 * sample, over core/vmath.h's exp and tanh so that it vectorises (libm's
 * kept it scalar: 28% of a charlstm step). Backward runs the steps in
 * reverse (BPTT inside the window), then the weight gradients as one GEMM
 * each over all n*T rows. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "core/par.h"
#include "core/simd.h"
#include "core/vmath.h"
#include "layers/fused.h"
#include "layers/layer.h"

enum { MAX_LAYERS = ENT_LAYER_MAX_TENSORS / 4 };
/* A window's recurrence forks the team above this many flops per thread
 * pair (the GEMM's own fork threshold: src/core/gemm_tiled.c). */
#define FORK_FLOPS_LSTM 8.0e6

/* Layer k's saved values (for max_batch samples; offsets fixed by it):
 * activated gates [n, T, 4H], cells [n, T, H], hidden outputs [n, T, H]
 * (the top layer's are the layer's output), the dropped input of layers
 * above the first and its mask [n, T, H] (when p > 0), h_0 and c_0 [n, H]. */
typedef struct {
    float *gates, *c, *h, *x, *mask, *h0, *c0;
} lstm_bufs;

static int64_t steps(const ent_layer *l) { return l->in_c; }
static int has_mask(const ent_layer *l, int k) { return k > 0 && l->lstm.p > 0.0f; }

static int64_t layer_saved(const ent_layer *l, int k) {
    const int64_t B = l->max_batch, T = steps(l), H = l->lstm.hidden;
    const int top = k == l->lstm.layers - 1;
    return B * T * 4 * H + B * T * H + (top ? 0 : B * T * H) + (has_mask(l, k) ? 2 * B * T * H : 0) +
           2 * B * H;
}

static lstm_bufs bufs_of(const ent_layer *l, const float *saved, int k, const float *out) {
    const int64_t B = l->max_batch, T = steps(l), H = l->lstm.hidden;
    float *p = (float *)saved;
    for (int j = 0; j < k; j++) p += layer_saved(l, j);
    lstm_bufs b;
    b.gates = p, p += B * T * 4 * H;
    b.c = p, p += B * T * H;
    if (k == l->lstm.layers - 1) b.h = (float *)out;
    else b.h = p, p += B * T * H;
    b.x = b.mask = NULL;
    if (has_mask(l, k)) b.x = p, b.mask = p + B * T * H, p += 2 * B * T * H;
    b.h0 = p, b.c0 = p + B * H;
    return b;
}

static const float *tensor_at(const ent_layer *l, const float *theta, int k, int t) {
    return theta + l->tensors[4 * k + t].offset;
}
enum { W_IH = 0, W_HH = 1, B_IH = 2, B_HH = 3 };

static ent_status lstm_plan(ent_layer *l) {
    const int64_t H = l->lstm.hidden, L = l->lstm.layers, I = l->in_w;
    if (l->in_h != 1 || l->in_c < 1 || I < 1 || H < 1)
        return ent_fail(ENT_ESHAPE, "%s: lstm wants [T, 1, features] and hidden >= 1, got %lldx%lldx%lld, "
                        "hidden %lld", l->name, (long long)l->in_c, (long long)l->in_h, (long long)I,
                        (long long)H);
    if (L < 1 || L > MAX_LAYERS)
        return ent_fail(ENT_ESHAPE, "%s: lstm of %lld layers (1 to %d: %d tensors a node)", l->name,
                        (long long)L, MAX_LAYERS, ENT_LAYER_MAX_TENSORS);
    if (!(l->lstm.p >= 0.0f && l->lstm.p < 1.0f))
        return ent_fail(ENT_ESHAPE, "%s: lstm dropout %g not in [0, 1)", l->name, (double)l->lstm.p);
    l->out_c = l->in_c, l->out_h = 1, l->out_w = H;
    l->n_tensors = 0;
    for (int k = 0; k < L; k++) {
        char name[4][32];
        snprintf(name[0], sizeof name[0], "weight_ih_l%d", k);
        snprintf(name[1], sizeof name[1], "weight_hh_l%d", k);
        snprintf(name[2], sizeof name[2], "bias_ih_l%d", k);
        snprintf(name[3], sizeof name[3], "bias_hh_l%d", k);
        ent_layer_add_tensor(l, name[0], 0, 0, 2, 4 * H, k ? H : I, 0, 0);
        ent_layer_add_tensor(l, name[1], 0, 0, 2, 4 * H, H, 0, 0);
        ent_layer_add_tensor(l, name[2], 0, 0, 1, 4 * H, 0, 0, 0);
        ent_layer_add_tensor(l, name[3], 0, 0, 1, 4 * H, 0, 0, 0);
    }
    l->saved = 0;
    for (int k = 0; k < L; k++) l->saved += layer_saved(l, k);
    /* backward: bias sums (4H doubles), dH and the shifted h [n, T, H],
     * dG [n, T, 4H], dc [n, H] */
    const int64_t B = l->max_batch, T = l->in_c;
    l->scratch = 8 * H + 2 * B * T * H + B * T * 4 * H + B * H;
    l->state = 2 * L * H;
    return ENT_OK;
}

/* U(-1/sqrt(H), 1/sqrt(H)) for every tensor, as PyTorch; U(-r, r) with
 * init_range r > 0 (Zaremba et al.'s 0.04 and 0.05). */
static void lstm_init(const ent_layer *l, float *theta, float *buffers, ent_rng *rng) {
    const float r = l->lstm.init_range;
    const float b = r > 0.0f ? r : 1.0f / sqrtf((float)l->lstm.hidden);
    for (int t = 0; t < l->n_tensors; t++)
        ent_rng_uniform_fill(rng, theta + l->tensors[t].offset, l->tensors[t].numel, -b, b);
}


/* One sample's step: g [4H] pre-activations in, activated gates out; the
 * new cell and hidden state from the previous cell cp. */
ENT_CLONES static void cell_forward(int64_t H, float *restrict g, const float *restrict cp,
                                    float *restrict c, float *restrict h) {
    for (int64_t j = 0; j < H; j++) {
        const float i = ent_sigmoidf(g[j]), f = ent_sigmoidf(g[H + j]);
        const float gg = ent_tanhf(g[2 * H + j]), o = ent_sigmoidf(g[3 * H + j]);
        g[j] = i, g[H + j] = f, g[2 * H + j] = gg, g[3 * H + j] = o;
        c[j] = f * cp[j] + i * gg;
        h[j] = o * ent_tanhf(c[j]);
    }
}

/* One sample's step back: from dh (the step's output gradient, its own
 * and the recurrent part) and dc (from the step after, updated in place to
 * the one before), the pre-activation gradients dg [4H]. */
ENT_CLONES static void cell_backward(int64_t H, const float *restrict g, const float *restrict c,
                                     const float *restrict cp, const float *restrict dh,
                                     float *restrict dc, float *restrict dg) {
    for (int64_t j = 0; j < H; j++) {
        const float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
        const float tc = ent_tanhf(c[j]);
        const float d = dc[j] + dh[j] * o * (1.0f - tc * tc);
        dg[j] = d * gg * i * (1.0f - i);
        dg[H + j] = d * cp[j] * f * (1.0f - f);
        dg[2 * H + j] = d * i * (1.0f - gg * gg);
        dg[3 * H + j] = dh[j] * tc * o * (1.0f - o);
        dc[j] = d * f;
    }
}

/* Whether dropout masks layer k's input in this call (forward and
 * backward agree: the same ctx). */
static int masks(const ent_layer *l, int k, const ent_ctx *ctx) {
    return has_mask(l, k) && ctx->train && ctx->rng != NULL;
}

/* Layer k's input sequence [n, T, in_k]. */
static const float *layer_input(const ent_layer *l, const float *saved, const float *out,
                                const float *in, int k, const ent_ctx *ctx) {
    if (k == 0) return in;
    if (masks(l, k, ctx)) return bufs_of(l, saved, k, out).x;
    return bufs_of(l, saved, k - 1, out).h;
}

/* x = h * mask, the mask drawn from ctx->rng as nn.Dropout (dropout.c). */
static void drop_input(const ent_layer *l, const float *h, lstm_bufs *b, int64_t m, ent_ctx *ctx) {
    const float p = l->lstm.p;
    const uint32_t thr = (uint32_t)ceil((double)p * 4294967296.0);
    const uint64_t key = ctx->rng->key, base = ctx->rng->counter;
    ent_dropout_apply(key, base, thr, 1.0f / (1.0f - p), 0, 0, h, b->x, b->mask, m);
    ctx->rng->counter = base + (uint64_t)((m + 3) / 4);
}

/* h_0, c_0 of layer k from the carried state (zeros without one). */
static void load_state(const ent_layer *l, int k, lstm_bufs *b, const ent_ctx *ctx) {
    const int64_t n = ctx->n, H = l->lstm.hidden;
    for (int64_t s = 0; s < n; s++) {
        if (!ctx->state_in) {
            memset(b->h0 + s * H, 0, sizeof(float) * (size_t)H);
            memset(b->c0 + s * H, 0, sizeof(float) * (size_t)H);
            continue;
        }
        const float *st = ctx->state_in + s * ctx->state_stride + l->state_off + 2 * k * H;
        memcpy(b->h0 + s * H, st, sizeof(float) * (size_t)H);
        memcpy(b->c0 + s * H, st + H, sizeof(float) * (size_t)H);
    }
}

static void store_state(const ent_layer *l, int k, const lstm_bufs *b, const ent_ctx *ctx) {
    const int64_t n = ctx->n, H = l->lstm.hidden, T = steps(l);
    for (int64_t s = 0; s < n && ctx->state_out; s++) {
        float *st = ctx->state_out + s * ctx->state_stride + l->state_off + 2 * k * H;
        memcpy(st, b->h + (s * T + T - 1) * H, sizeof(float) * (size_t)H);
        memcpy(st + H, b->c + (s * T + T - 1) * H, sizeof(float) * (size_t)H);
    }
}

/* Whether a window's recurrence is worth the thread team: each thread
 * then carries its own samples through all T steps (sample s's steps read
 * only its own h and c), so the team forks once a window, not per step. */
static int split_samples(int64_t n, int64_t T, int64_t H) {
    return n > 1 && 8.0 * (double)n * (double)H * (double)H * (double)T > 4.0 * FORK_FLOPS_LSTM;
}

/* The samples [s0, s1) of thread `id` of `nt`. */
static void sample_range(int64_t n, int id, int nt, int64_t *s0, int64_t *s1) {
    *s0 = n * id / nt, *s1 = n * (id + 1) / nt;
}

/* Steps 0 .. T-1 of samples [s0, s1): the recurrent product of their rows
 * (on the calling thread inside a team), then their cells. */
static void steps_forward(const ent_layer *l, const float *whh, lstm_bufs *b, int64_t s0, int64_t s1) {
    const int64_t T = steps(l), H = l->lstm.hidden, G4 = 4 * H, m = s1 - s0;
    for (int64_t t = 0; t < T && m > 0; t++) {
        const float *hp = t ? b->h + (s0 * T + t - 1) * H : b->h0 + s0 * H;
        const float *cp = t ? b->c + (s0 * T + t - 1) * H : b->c0 + s0 * H;
        const int64_t ld = t ? T * H : H;
        ent_gemm(0, 1, m, G4, H, 1.0f, hp, ld, whh, H, 1.0f, b->gates + (s0 * T + t) * G4, T * G4);
        for (int64_t s = 0; s < m; s++) {
            const int64_t r = (s0 + s) * T + t;
            cell_forward(H, b->gates + r * G4, cp + s * ld, b->c + r * H, b->h + r * H);
        }
    }
}

static void layer_forward(const ent_layer *l, const float *theta, const float *x, int k,
                          lstm_bufs *b, ent_ctx *ctx) {
    const int64_t n = ctx->n, T = steps(l), H = l->lstm.hidden, G4 = 4 * H;
    const int64_t in_k = k ? H : l->in_w, rows = n * T;
    const float *bih = tensor_at(l, theta, k, B_IH), *bhh = tensor_at(l, theta, k, B_HH);
#pragma omp parallel for if (rows * G4 > ENT_PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < G4; j++) b->gates[r * G4 + j] = bih[j] + bhh[j];
    ent_gemm(0, 1, rows, G4, in_k, 1.0f, x, in_k, tensor_at(l, theta, k, W_IH), in_k, 1.0f,
             b->gates, G4);
    load_state(l, k, b, ctx);
    const float *whh = tensor_at(l, theta, k, W_HH);
#pragma omp parallel if (split_samples(n, T, H))
    {
        int64_t s0, s1;
        sample_range(n, omp_get_thread_num(), omp_get_num_threads(), &s0, &s1);
        steps_forward(l, whh, b, s0, s1);
    }
    store_state(l, k, b, ctx);
}

static void lstm_forward(const ent_layer *l, const float *theta, const float *in, float *out,
                         float *saved, ent_ctx *ctx) {
    const int64_t m = ctx->n * steps(l) * l->lstm.hidden;
    for (int k = 0; k < l->lstm.layers; k++) {
        lstm_bufs b = bufs_of(l, saved, k, out);
        if (masks(l, k, ctx)) drop_input(l, bufs_of(l, saved, k - 1, out).h, &b, m, ctx);
        layer_forward(l, theta, layer_input(l, saved, out, in, k, ctx), k, &b, ctx);
    }
}

/* db (+)= the column sums of dg [rows, G4] for columns j0 .. j1-1, in
 * double in row order. */
ENT_CLONES static void bias_sums_cols(const float *restrict dg, int64_t rows, int64_t G4, int64_t j0,
                                      int64_t j1, double *restrict acc, float *restrict db1,
                                      float *restrict db2, int store) {
    for (int64_t j = j0; j < j1; j++) acc[j] = 0.0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = j0; j < j1; j++) acc[j] += dg[r * G4 + j];
    for (int64_t j = j0; j < j1; j++) {
        db1[j] = (float)acc[j] + (store ? 0.0f : db1[j]);
        db2[j] = (float)acc[j] + (store ? 0.0f : db2[j]);
    }
}

/* Threads own column blocks: the same sums whatever their number. */
static void bias_sums(const float *dg, int64_t rows, int64_t G4, double *acc, float *db1, float *db2,
                      int store) {
    const int64_t cols = 256, blocks = (G4 + cols - 1) / cols;
#pragma omp parallel for if (rows * G4 > ENT_PAR_MIN)
    for (int64_t b = 0; b < blocks; b++)
        bias_sums_cols(dg, rows, G4, b * cols, b * cols + cols < G4 ? b * cols + cols : G4, acc, db1,
                       db2, store);
}

/* The scratch of backward (lstm_plan). */
typedef struct {
    double *acc;
    float *dh, *hp, *dg, *dc;
} lstm_scratch;

static lstm_scratch scratch_of(const ent_layer *l, float *s) {
    const int64_t B = l->max_batch, T = steps(l), H = l->lstm.hidden;
    lstm_scratch w = {(double *)s, s + 8 * H, NULL, NULL, NULL};
    w.hp = w.dh + B * T * H, w.dg = w.hp + B * T * H, w.dc = w.dg + B * T * 4 * H;
    return w;
}

/* BPTT over the window of layer k: w.dh holds the gradient at the layer's
 * outputs [n, T, H] (its recurrent part is added step by step); leaves the
 * pre-activation gradients in w.dg. */
/* Steps T-1 .. 0 of samples [s0, s1): their cells back, then the
 * recurrent part of their previous step's output gradient. */
static void steps_back(const ent_layer *l, const float *whh, const lstm_bufs *b, lstm_scratch *w,
                       int64_t s0, int64_t s1) {
    const int64_t T = steps(l), H = l->lstm.hidden, G4 = 4 * H, m = s1 - s0;
    if (m <= 0) return;
    memset(w->dc + s0 * H, 0, sizeof(float) * (size_t)(m * H));
    for (int64_t t = T - 1; t >= 0; t--) {
        const float *cp = t ? b->c + (s0 * T + t - 1) * H : b->c0 + s0 * H;
        const int64_t ld = t ? T * H : H;
        for (int64_t s = 0; s < m; s++) {
            const int64_t r = (s0 + s) * T + t;
            cell_backward(H, b->gates + r * G4, b->c + r * H, cp + s * ld, w->dh + r * H,
                          w->dc + (s0 + s) * H, w->dg + r * G4);
        }
        if (t > 0) /* dh_{t-1} += dG_t W_hh */
            ent_gemm(0, 0, m, H, G4, 1.0f, w->dg + (s0 * T + t) * G4, T * G4, whh, H, 1.0f,
                     w->dh + (s0 * T + t - 1) * H, T * H);
    }
}

static void layer_steps_back(const ent_layer *l, const float *theta, int k, const lstm_bufs *b,
                             lstm_scratch *w, const ent_ctx *ctx) {
    const int64_t n = ctx->n;
    const float *whh = tensor_at(l, theta, k, W_HH);
#pragma omp parallel if (split_samples(n, steps(l), l->lstm.hidden))
    {
        int64_t s0, s1;
        sample_range(n, omp_get_thread_num(), omp_get_num_threads(), &s0, &s1);
        steps_back(l, whh, b, w, s0, s1);
    }
}

/* Layer k's weight gradients from w.dg, its input x and its h sequence. */
static void layer_weights_back(const ent_layer *l, const float *x, int k, const lstm_bufs *b,
                               lstm_scratch *w, float *dtheta, const ent_ctx *ctx) {
    const int64_t n = ctx->n, T = steps(l), H = l->lstm.hidden, G4 = 4 * H;
    const int64_t in_k = k ? H : l->in_w, rows = n * T;
    const float beta = ctx->store ? 0.0f : 1.0f; /* layer.h: store mode */
    ent_gemm(1, 0, G4, in_k, rows, 1.0f, w->dg, G4, x, in_k, beta,
             dtheta + l->tensors[4 * k + W_IH].offset, in_k);
    /* the h each step read: h_0, then the layer's own outputs shifted by one */
#pragma omp parallel for if (rows * H > ENT_PAR_MIN)
    for (int64_t s = 0; s < n; s++) {
        memcpy(w->hp + s * T * H, b->h0 + s * H, sizeof(float) * (size_t)H);
        memcpy(w->hp + (s * T + 1) * H, b->h + s * T * H, sizeof(float) * (size_t)((T - 1) * H));
    }
    ent_gemm(1, 0, G4, H, rows, 1.0f, w->dg, G4, w->hp, H, beta,
             dtheta + l->tensors[4 * k + W_HH].offset, H);
    bias_sums(w->dg, rows, G4, w->acc, dtheta + l->tensors[4 * k + B_IH].offset,
              dtheta + l->tensors[4 * k + B_HH].offset, ctx->store);
}

static void lstm_backward(const ent_layer *l, const float *theta, const float *in,
                          const float *out, const float *saved, const float *dout, float *din,
                          float *dtheta, ent_ctx *ctx) {
    const int64_t n = ctx->n, T = steps(l), H = l->lstm.hidden, G4 = 4 * H, rows = n * T;
    lstm_scratch w = scratch_of(l, ctx->scratch);
    memcpy(w.dh, dout, sizeof(float) * (size_t)(rows * H));
    for (int k = (int)l->lstm.layers - 1; k >= 0; k--) {
        const lstm_bufs b = bufs_of(l, saved, k, out);
        const float *x = layer_input(l, saved, out, in, k, ctx);
        layer_steps_back(l, theta, k, &b, &w, ctx);
        layer_weights_back(l, x, k, &b, &w, dtheta, ctx);
        const float *wih = tensor_at(l, theta, k, W_IH);
        if (k > 0) { /* the gradient at the layer below's outputs */
            ent_gemm(0, 0, rows, H, G4, 1.0f, w.dg, G4, wih, H, 0.0f, w.dh, H);
            if (masks(l, k, ctx))
                for (int64_t i = 0; i < rows * H; i++) w.dh[i] *= b.mask[i];
        } else if (din) {
            ent_gemm(0, 0, rows, l->in_w, G4, 1.0f, w.dg, G4, wih, l->in_w,
                     ent_din_stores(ctx, 0) ? 0.0f : 1.0f, din, l->in_w);
        }
    }
}

const ent_layer_ops ent_lstm_ops = {.kind_name = "lstm", .plan = lstm_plan, .init = lstm_init,
                                    .forward = lstm_forward, .backward = lstm_backward, .n_in = 1, .rop = &ent_rop_lstm};
