/* rop_lstm_impl.h — R-operator of the stacked LSTM (layers/lstm.c), see
 * rop.h, in the precision REAL (a template: rop_impl.h includes it). The
 * state starts at zero (the Hessian is of the loss of windows that begin
 * their streams) and dropout is off. Per layer and step, with
 * a = x W_ih^T + b_ih + h' W_hh^T + b_hh (h', c' the step before):
 *   forward   Ra = Rx W_ih^T + x V_ih^T + h' V_hh^T + Rh' W_hh^T + Vb_ih + Vb_hh
 *             Ri = i (1 - i) Ra_i (f, o alike), Rg = (1 - g^2) Ra_g
 *             Rc = Rf c' + f Rc' + Ri g + i Rg,  Rh = Ro tc + o (1 - tc^2) Rc
 *             (tc = tanh c)
 *   backward  d = gc + gh o (1 - tc^2): gi = d g, gf = d c', gg = d i,
 *             go = gh tc, gc' = d f, ga = the gate derivatives times these;
 *             Rd = Rgc + (Rgh o + gh Ro)(1 - tc^2) - 2 gh o tc Rtc, Rtc =
 *             (1 - tc^2) Rc, and every product differentiated the same way;
 *             gh' += ga W_hh, Rgh' += Rga W_hh + ga V_hh, gx = ga W_ih,
 *             Rgx = Rga W_ih + ga V_ih, (Hv)_W_ih += Rga^T x + ga^T Rx,
 *             (Hv)_W_hh += Rga^T h' + ga^T Rh', (Hv)_b += colsum Rga.
 * Saved per layer, [n, T, .]: the gates and their R (4H each), c, Rc, h
 * and Rh (H each; the top layer's h is its output, kept all the same). */
static int64_t lstm_tokens(const ent_layer *l, int64_t n) { return n * l->in_c; }

/* Layer k's saved values for chunks of `batch` samples. */
typedef struct {
    REAL *gates, *rgates, *c, *rc, *h, *rh;
} rop_lstm_bufs;

static rop_lstm_bufs rop_lstm_bufs_of(const ent_layer *l, REAL *saved, int64_t batch, int k) {
    const int64_t NT = lstm_tokens(l, batch), H = l->lstm.hidden;
    REAL *p = saved + (int64_t)k * NT * 12 * H;
    rop_lstm_bufs b = {p, p + NT * 4 * H, p + NT * 8 * H, p + NT * 9 * H, p + NT * 10 * H,
                       p + NT * 11 * H};
    return b;
}

static const REAL *lstm_w(const ent_layer *l, const REAL *base, int k, int t) {
    return base + l->tensors[4 * k + t].offset;
}

static REAL sigm(REAL x) { return (REAL)(1.0 / (1.0 + exp(-(double)x))); }

/* One step's gates for n samples: pre-activations a (and Ra) in, the
 * gates (and their R) out, then c, h (and Rc, Rh). cp, rcp: the step
 * before (NULL: zero). Rows of a, c, h are ld4 / ld apart. */
static void lstm_cells(int64_t n, int64_t H, REAL *a, REAL *ra, int64_t ld4, const REAL *cp,
                       const REAL *rcp, REAL *c, REAL *rc, REAL *h, REAL *rh, int64_t ld) {
    for (int64_t s = 0; s < n; s++)
        for (int64_t j = 0; j < H; j++) {
            REAL *g = a + s * ld4, *rg = ra ? ra + s * ld4 : NULL;
            const REAL i = sigm(g[j]), f = sigm(g[H + j]), gg = (REAL)tanh(g[2 * H + j]);
            const REAL o = sigm(g[3 * H + j]), c0 = cp ? cp[s * ld + j] : 0.0;
            const REAL cn = f * c0 + i * gg, tc = (REAL)tanh(cn);
            g[j] = i, g[H + j] = f, g[2 * H + j] = gg, g[3 * H + j] = o;
            c[s * ld + j] = cn, h[s * ld + j] = o * tc;
            if (!rg) continue;
            const REAL ri = i * (1 - i) * rg[j], rf = f * (1 - f) * rg[H + j];
            const REAL rgg = (1 - gg * gg) * rg[2 * H + j], ro = o * (1 - o) * rg[3 * H + j];
            const REAL rc0 = rcp ? rcp[s * ld + j] : 0.0;
            const REAL rcn = rf * c0 + f * rc0 + ri * gg + i * rgg;
            rg[j] = ri, rg[H + j] = rf, rg[2 * H + j] = rgg, rg[3 * H + j] = ro;
            rc[s * ld + j] = rcn, rh[s * ld + j] = ro * tc + o * (1 - tc * tc) * rcn;
        }
}

/* a = x W^T + b_ih + b_hh over NT rows (v: Ra from Rx and V). */
static void lstm_project(const ent_layer *l, const REAL *th, const REAL *v, int k, int64_t NT,
                         int64_t in_k, const REAL *x, const REAL *rx, REAL *a, REAL *ra) {
    const int64_t G4 = 4 * l->lstm.hidden;
    const REAL *bi = lstm_w(l, th, k, 2), *bh = lstm_w(l, th, k, 3);
    for (int64_t r = 0; r < NT; r++)
        for (int64_t j = 0; j < G4; j++) a[r * G4 + j] = bi[j] + bh[j];
    GEMM(0, 1, NT, G4, in_k, 1.0, x, in_k, lstm_w(l, th, k, 0), in_k, 1.0, a, G4);
    if (!v) return;
    const REAL *vbi = lstm_w(l, v, k, 2), *vbh = lstm_w(l, v, k, 3);
    for (int64_t r = 0; r < NT; r++)
        for (int64_t j = 0; j < G4; j++) ra[r * G4 + j] = vbi[j] + vbh[j];
    GEMM(0, 1, NT, G4, in_k, 1.0, x, in_k, lstm_w(l, v, k, 0), in_k, 1.0, ra, G4);
    if (rx) GEMM(0, 1, NT, G4, in_k, 1.0, rx, in_k, lstm_w(l, th, k, 0), in_k, 1.0, ra, G4);
}

ROP_FWD(lstm) {
    const int64_t n = c->n, B = n, T = l->in_c, H = l->lstm.hidden, G4 = 4 * H;
    const int L = (int)l->lstm.layers;
    const REAL *x = in[0], *rx = rin[0];
    for (int k = 0; k < L; k++) {
        rop_lstm_bufs b = rop_lstm_bufs_of(l, saved, B, k);
        const int64_t in_k = k ? H : l->in_w;
        REAL *ra = v ? b.rgates : NULL;
        lstm_project(l, th, v, k, n * T, in_k, x, v ? rx : NULL, b.gates, ra);
        const REAL *whh = lstm_w(l, th, k, 1), *vhh = v ? lstm_w(l, v, k, 1) : NULL;
        for (int64_t t = 0; t < T; t++) {
            if (t > 0) {
                GEMM(0, 1, n, G4, H, 1.0, b.h + (t - 1) * H, T * H, whh, H, 1.0, b.gates + t * G4, T * G4);
                if (v) {
                    GEMM(0, 1, n, G4, H, 1.0, b.h + (t - 1) * H, T * H, vhh, H, 1.0, ra + t * G4, T * G4);
                    GEMM(0, 1, n, G4, H, 1.0, b.rh + (t - 1) * H, T * H, whh, H, 1.0, ra + t * G4, T * G4);
                }
            }
            lstm_cells(n, H, b.gates + t * G4, ra ? ra + t * G4 : NULL, T * G4,
                       t ? b.c + (t - 1) * H : NULL, t ? b.rc + (t - 1) * H : NULL, b.c + t * H,
                       b.rc + t * H, b.h + t * H, b.rh + t * H, T * H);
        }
        x = b.h, rx = b.rh;
    }
    memcpy(out, x, sizeof(REAL) * (size_t)(n * T * H));
    if (v) memcpy(rout, rx, sizeof(REAL) * (size_t)(n * T * H));
}

/* Backward scratch: gh, Rgh, h' and Rh' [n, T, H], ga, Rga [n, T, 4H],
 * gc, Rgc [n, H]. */
typedef struct {
    REAL *gh, *rgh, *hp, *rhp, *ga, *rga, *gc, *rgc;
} rop_lstm_scratch;

static rop_lstm_scratch rop_lstm_scratch_of(const ent_layer *l, REAL *s, int64_t batch) {
    const int64_t NT = lstm_tokens(l, batch), H = l->lstm.hidden;
    rop_lstm_scratch w = {s, s + NT * H, s + 2 * NT * H, s + 3 * NT * H, s + 4 * NT * H,
                          s + 8 * NT * H, s + 12 * NT * H, s + 12 * NT * H + batch * H};
    return w;
}

/* One step back for n samples (rows ld4 / ld apart; cp, rcp NULL: zero):
 * ga (and Rga) from gh, gc (and R), gc and Rgc updated to the step before. */
static void lstm_cells_back(int64_t n, int64_t H, const REAL *g, const REAL *rg, int64_t ld4,
                            const REAL *c, const REAL *rc, const REAL *cp, const REAL *rcp, int64_t ld,
                            const REAL *gh, const REAL *rgh, REAL *gc, REAL *rgc, REAL *ga, REAL *rga) {
    for (int64_t s = 0; s < n; s++)
        for (int64_t j = 0; j < H; j++) {
            const REAL *q = g + s * ld4;
            const REAL i = q[j], f = q[H + j], gg = q[2 * H + j], o = q[3 * H + j];
            const REAL c0 = cp ? cp[s * ld + j] : 0.0, tc = (REAL)tanh(c[s * ld + j]);
            const REAL dh = gh[s * ld + j], dtc = 1 - tc * tc;
            const REAL d = gc[s * H + j] + dh * o * dtc;
            const REAL gi = d * gg, gf = d * c0, g_g = d * i, go = dh * tc;
            REAL *a = ga + s * ld4;
            a[j] = gi * i * (1 - i), a[H + j] = gf * f * (1 - f);
            a[2 * H + j] = g_g * (1 - gg * gg), a[3 * H + j] = go * o * (1 - o);
            gc[s * H + j] = d * f;
            if (!rg) continue;
            const REAL *rq = rg + s * ld4;
            const REAL ri = rq[j], rf = rq[H + j], rgg = rq[2 * H + j], ro = rq[3 * H + j];
            const REAL rc0 = rcp ? rcp[s * ld + j] : 0.0, rtc = dtc * rc[s * ld + j];
            const REAL rdh = rgh[s * ld + j];
            const REAL rd = rgc[s * H + j] + (rdh * o + dh * ro) * dtc - 2 * dh * o * tc * rtc;
            const REAL rgi = rd * gg + d * rgg, rgf = rd * c0 + d * rc0;
            const REAL rg_g = rd * i + d * ri, rgo = rdh * tc + dh * rtc;
            REAL *ra = rga + s * ld4;
            ra[j] = rgi * i * (1 - i) + gi * (1 - 2 * i) * ri;
            ra[H + j] = rgf * f * (1 - f) + gf * (1 - 2 * f) * rf;
            ra[2 * H + j] = rg_g * (1 - gg * gg) - g_g * 2 * gg * rgg;
            ra[3 * H + j] = rgo * o * (1 - o) + go * (1 - 2 * o) * ro;
            rgc[s * H + j] = rd * f + d * rf;
        }
}

/* h' (and Rh') of every step: zero, then the layer's outputs shifted by one. */
static void lstm_shift(int64_t n, int64_t T, int64_t H, const REAL *h, REAL *hp) {
    for (int64_t s = 0; s < n; s++) {
        memset(hp + s * T * H, 0, sizeof(REAL) * (size_t)H);
        memcpy(hp + (s * T + 1) * H, h + s * T * H, sizeof(REAL) * (size_t)((T - 1) * H));
    }
}

/* colsum of a [NT, G4] added to both biases */
static void lstm_bias_sums(const REAL *a, int64_t NT, int64_t G4, REAL *b1, REAL *b2) {
    for (int64_t j = 0; j < G4; j++) {
        double s = 0.0;
        for (int64_t r = 0; r < NT; r++) s += a[r * G4 + j];
        b1[j] += (REAL)s, b2[j] += (REAL)s;
    }
}

/* Layer k's parameter gradient (gth) and Hv (rgth) from ga, Rga. */
static void lstm_weights(const ent_layer *l, const REAL *v, int k, int64_t n, const REAL *x,
                         const REAL *rx, const rop_lstm_bufs *b, rop_lstm_scratch *w, REAL *gth,
                         REAL *rgth) {
    const int64_t T = l->in_c, H = l->lstm.hidden, G4 = 4 * H, NT = n * T, in_k = k ? H : l->in_w;
    REAL *const out[2] = {gth, v ? rgth : NULL};
    lstm_shift(n, T, H, b->h, w->hp);
    if (out[1]) lstm_shift(n, T, H, b->rh, w->rhp);
    for (int o = 0; o < 2; o++) {
        if (!out[o]) continue;
        REAL *wi = out[o] + l->tensors[4 * k].offset, *wh = out[o] + l->tensors[4 * k + 1].offset;
        const REAL *a = o ? w->rga : w->ga;
        GEMM(1, 0, G4, in_k, NT, 1.0, a, G4, x, in_k, 1.0, wi, in_k);
        GEMM(1, 0, G4, H, NT, 1.0, a, G4, w->hp, H, 1.0, wh, H);
        if (o) { /* the terms of R{x} and R{h'} */
            if (rx) GEMM(1, 0, G4, in_k, NT, 1.0, w->ga, G4, rx, in_k, 1.0, wi, in_k);
            GEMM(1, 0, G4, H, NT, 1.0, w->ga, G4, w->rhp, H, 1.0, wh, H);
        }
        lstm_bias_sums(a, NT, G4, out[o] + l->tensors[4 * k + 2].offset,
                       out[o] + l->tensors[4 * k + 3].offset);
    }
}

ROP_BWD(lstm) {
    const int64_t n = c->n, T = l->in_c, H = l->lstm.hidden, G4 = 4 * H, NT = n * T;
    const int L = (int)l->lstm.layers;
    REAL *sv = (REAL *)saved;
    rop_lstm_scratch w = rop_lstm_scratch_of(l, (REAL *)c->scratch, n);
    memcpy(w.gh, gout, sizeof(REAL) * (size_t)(NT * H));
    if (v) memcpy(w.rgh, rgout, sizeof(REAL) * (size_t)(NT * H));
    for (int k = L - 1; k >= 0; k--) {
        const rop_lstm_bufs b = rop_lstm_bufs_of(l, sv, n, k);
        const REAL *whh = lstm_w(l, th, k, 1), *wih = lstm_w(l, th, k, 0);
        memset(w.gc, 0, sizeof(REAL) * (size_t)(n * H));
        memset(w.rgc, 0, sizeof(REAL) * (size_t)(n * H));
        for (int64_t t = T - 1; t >= 0; t--) {
            lstm_cells_back(n, H, b.gates + t * G4, v ? b.rgates + t * G4 : NULL, T * G4, b.c + t * H,
                            b.rc + t * H, t ? b.c + (t - 1) * H : NULL, t ? b.rc + (t - 1) * H : NULL,
                            T * H, w.gh + t * H, w.rgh + t * H, w.gc, w.rgc, w.ga + t * G4,
                            w.rga + t * G4);
            if (t == 0) continue;
            GEMM(0, 0, n, H, G4, 1.0, w.ga + t * G4, T * G4, whh, H, 1.0, w.gh + (t - 1) * H, T * H);
            if (!v) continue;
            GEMM(0, 0, n, H, G4, 1.0, w.rga + t * G4, T * G4, whh, H, 1.0, w.rgh + (t - 1) * H, T * H);
            GEMM(0, 0, n, H, G4, 1.0, w.ga + t * G4, T * G4, lstm_w(l, v, k, 1), H, 1.0,
                 w.rgh + (t - 1) * H, T * H);
        }
        const rop_lstm_bufs below = rop_lstm_bufs_of(l, sv, n, k > 0 ? k - 1 : 0);
        const REAL *x = k ? below.h : in[0], *rx = k ? below.rh : rin[0];
        lstm_weights(l, v, k, n, x, rx, &b, &w, gth, rgth);
        const int64_t in_k = k ? H : l->in_w;
        REAL *gx = k ? w.gh : gin[0], *rgx = k ? w.rgh : (v ? rgin[0] : NULL);
        if (gx) GEMM(0, 0, NT, in_k, G4, 1.0, w.ga, G4, wih, in_k, 0.0, gx, in_k);
        if (v && rgx) {
            GEMM(0, 0, NT, in_k, G4, 1.0, w.rga, G4, wih, in_k, 0.0, rgx, in_k);
            GEMM(0, 0, NT, in_k, G4, 1.0, w.ga, G4, lstm_w(l, v, k, 0), in_k, 1.0, rgx, in_k);
        }
    }
}

/* ---- embedding and one-hot: token ids carry no R and no adjoint ---- */

/* out[r] = W[id]; R: V[id] (the table's own direction). */
ROP_FWD(embedding) {
    const int64_t rows = c->n * l->in_c, V = l->embed.vocab, E = l->embed.dim;
    const int64_t off = l->tensors[ENT_T_WEIGHT].offset;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t id = ent_token_id((float)in[0][r], V);
        memcpy(out + r * E, th + off + id * E, sizeof(REAL) * (size_t)E);
        if (v) memcpy(rout + r * E, v + off + id * E, sizeof(REAL) * (size_t)E);
    }
}

/* The table is linear in W: (Hv)_W gathers Rg, the gradient g. */
ROP_BWD(embedding) {
    const int64_t rows = c->n * l->in_c, V = l->embed.vocab, E = l->embed.dim;
    const int64_t off = l->tensors[ENT_T_WEIGHT].offset;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t id = ent_token_id((float)in[0][r], V);
        for (int64_t e = 0; gth && e < E; e++) gth[off + id * E + e] += gout[r * E + e];
        for (int64_t e = 0; v && rgth && e < E; e++) rgth[off + id * E + e] += rgout[r * E + e];
    }
    if (gin[0]) memset(gin[0], 0, sizeof(REAL) * (size_t)rows);
    if (v && rgin[0]) memset(rgin[0], 0, sizeof(REAL) * (size_t)rows);
}

ROP_FWD(onehot) {
    const int64_t rows = c->n * l->in_c, V = l->embed.vocab;
    memset(out, 0, sizeof(REAL) * (size_t)(rows * V));
    for (int64_t r = 0; r < rows; r++) out[r * V + ent_token_id((float)in[0][r], V)] = 1.0;
    if (v) memset(rout, 0, sizeof(REAL) * (size_t)(rows * V));
}

ROP_BWD(onehot) {
    const int64_t rows = c->n * l->in_c;
    if (gin[0]) memset(gin[0], 0, sizeof(REAL) * (size_t)rows);
    if (v && rgin[0]) memset(rgin[0], 0, sizeof(REAL) * (size_t)rows);
}
