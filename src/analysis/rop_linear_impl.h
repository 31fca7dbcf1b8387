/* rop_linear_impl.h — R-operator of the bilinear layers, dense and conv2d
 * (see rop.h), in the precision REAL (a template: rop_impl.h includes it). Both are y = A(x) W^T + b with A linear in x (identity for dense,
 * im2col for conv), so
 *   Ry   = A(Rx) W^T + A(x) V^T + Vb
 *   gx   = A^T(gy W)            Rgx = A^T(Rgy W + gy V)
 *   gW  += gy^T A(x)            (Hv)_W += Rgy^T A(x) + gy^T A(Rx)
 *   gb  += colsum gy            (Hv)_b += colsum Rgy
 * The conv is batched: one im2col of the whole chunk, col [CKK, n*OHW],
 * so each product is a single large GEMM. */
/* Tensor t of a layer in a full vector; NULL for a vector not given or a
 * tensor the layer lacks (a convolution without bias). */
static const REAL *tensor(const ent_layer *l, const REAL *base, int t) {
    return base && t < l->n_tensors ? base + l->tensors[t].offset : NULL;
}

/* colsum of g [n, O] added to out [O] */
static void add_colsum(const REAL *g, int64_t n, int64_t no, REAL *out) {
    for (int64_t o = 0; o < no; o++) {
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) s += g[i * no + o];
        out[o] += (REAL)s;
    }
}

/* ------------------------------------------------------------------ dense */

/* Rows and features of a dense layer's call: n samples flattened, or
 * n * c * h positions of w features (per_position: nn.Linear on the last
 * dimension, dense.c). */
static int64_t dense_rows(const ent_layer *l, int64_t n) {
    return l->dense.per_position ? n * l->in_c * l->in_h : n;
}
static int64_t dense_features(const ent_layer *l) {
    return l->dense.per_position ? l->in_w : ent_layer_in_size(l);
}

/* y [n, NO] = b (0 without bias) */
static void fill_bias(REAL *y, const REAL *b, int64_t n, int64_t no) {
    for (int64_t i = 0; i < n; i++) {
        if (b) memcpy(y + i * no, b, sizeof(REAL) * (size_t)no);
        else memset(y + i * no, 0, sizeof(REAL) * (size_t)no);
    }
}

static void dense_forward(const ent_layer *l, const REAL *th, const REAL *v,
                           const REAL *in, const REAL *rin, REAL *out,
                           REAL *rout, ent_rop_ctx *c) {
    const int64_t n = dense_rows(l, c->n), NI = dense_features(l), NO = l->dense.out;
    const REAL *W = tensor(l, th, ENT_T_WEIGHT), *b = tensor(l, th, ENT_T_BIAS);
    fill_bias(out, b, n, NO);
    GEMM(0, 1, n, NO, NI, 1.0, in, NI, W, NI, 1.0, out, NO);
    if (!v) return;
    const REAL *V = tensor(l, v, ENT_T_WEIGHT), *Vb = tensor(l, v, ENT_T_BIAS);
    fill_bias(rout, Vb, n, NO);
    GEMM(0, 1, n, NO, NI, 1.0, in, NI, V, NI, 1.0, rout, NO);
    if (rin) GEMM(0, 1, n, NO, NI, 1.0, rin, NI, W, NI, 1.0, rout, NO);
}

static void dense_backward(const ent_layer *l, const REAL *th, const REAL *v,
                            const REAL *in, const REAL *rin,
                            const REAL *gout, const REAL *rgout, REAL *gin,
                            REAL *rgin, REAL *gth, REAL *rgth, ent_rop_ctx *c) {
    const int64_t n = dense_rows(l, c->n), NI = dense_features(l), NO = l->dense.out;
    const int bias = l->n_tensors > ENT_T_BIAS;
    const REAL *W = tensor(l, th, ENT_T_WEIGHT);
    if (gin) GEMM(0, 0, n, NI, NO, 1.0, gout, NO, W, NI, 0.0, gin, NI);
    if (gth) {
        GEMM(1, 0, NO, NI, n, 1.0, gout, NO, in, NI, 1.0, gth + l->tensors[ENT_T_WEIGHT].offset, NI);
        if (bias) add_colsum(gout, n, NO, gth + l->tensors[ENT_T_BIAS].offset);
    }
    if (!v) return;
    const REAL *V = tensor(l, v, ENT_T_WEIGHT);
    if (rgin) {
        GEMM(0, 0, n, NI, NO, 1.0, rgout, NO, W, NI, 0.0, rgin, NI);
        GEMM(0, 0, n, NI, NO, 1.0, gout, NO, V, NI, 1.0, rgin, NI);
    }
    if (rgth) {
        REAL *hw = rgth + l->tensors[ENT_T_WEIGHT].offset;
        GEMM(1, 0, NO, NI, n, 1.0, rgout, NO, in, NI, 1.0, hw, NI);
        if (rin) GEMM(1, 0, NO, NI, n, 1.0, gout, NO, rin, NI, 1.0, hw, NI);
        if (bias) add_colsum(rgout, n, NO, rgth + l->tensors[ENT_T_BIAS].offset);
    }
}

/* ------------------------------------------------------------------- conv */

/* col[r][i OHW + p] = x[i][c][oh s - pad + kh][ow s - pad + kw] (0 outside),
 * r = (c K + kh) K + kw. */
static void im2col(const ent_layer *l, const REAL *x, int64_t n, REAL *col) {
    const int64_t K = l->conv.k, S = l->conv.stride, P = l->conv.pad, C = l->in_c;
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t rows = C * K * K, OHW = OH * OW;
#pragma omp parallel for if (rows * n * OHW > ENT_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t c = r / (K * K), kh = (r / K) % K, kw = r % K;
        for (int64_t i = 0; i < n; i++) {
            const REAL *xc = x + (i * C + c) * H * W;
            REAL *dst = col + r * n * OHW + i * OHW;
            for (int64_t oh = 0; oh < OH; oh++) {
                const int64_t ih = oh * S - P + kh;
                for (int64_t ow = 0; ow < OW; ow++) {
                    const int64_t iw = ow * S - P + kw;
                    dst[oh * OW + ow] = (ih >= 0 && ih < H && iw >= 0 && iw < W)
                                            ? xc[ih * W + iw] : 0.0;
                }
            }
        }
    }
}

/* dx = col2im(dcol) (overwrite); parallel over (sample, channel) planes. */
static void col2im(const ent_layer *l, const REAL *dcol, int64_t n, REAL *dx) {
    const int64_t K = l->conv.k, S = l->conv.stride, P = l->conv.pad, C = l->in_c;
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w, OHW = OH * OW;
#pragma omp parallel for if (C * K * K * n * OHW > ENT_PAR_MIN)
    for (int64_t pl = 0; pl < n * C; pl++) {
        const int64_t i = pl / C, c = pl % C;
        REAL *xc = dx + pl * H * W;
        memset(xc, 0, sizeof(REAL) * (size_t)(H * W));
        for (int64_t kh = 0; kh < K; kh++)
            for (int64_t kw = 0; kw < K; kw++) {
                const REAL *src = dcol + ((c * K + kh) * K + kw) * n * OHW + i * OHW;
                for (int64_t oh = 0; oh < OH; oh++) {
                    const int64_t ih = oh * S - P + kh;
                    if (ih < 0 || ih >= H) continue;
                    for (int64_t ow = 0; ow < OW; ow++) {
                        const int64_t iw = ow * S - P + kw;
                        if (iw >= 0 && iw < W) xc[ih * W + iw] += src[oh * OW + ow];
                    }
                }
            }
    }
}

/* y [n, OC, OHW] = y2 [OC, n OHW] + b */
static void unpack(const REAL *y2, const REAL *b, int64_t n, int64_t OC,
                   int64_t OHW, REAL *y) {
#pragma omp parallel for if (n * OC * OHW > ENT_PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < OC; o++)
            for (int64_t p = 0; p < OHW; p++)
                y[(i * OC + o) * OHW + p] = y2[o * n * OHW + i * OHW + p] + (b ? b[o] : 0.0);
}

/* y2 [OC, n OHW] = y [n, OC, OHW]; bsum[o] += sum of channel o (if not NULL) */
static void pack(const REAL *y, int64_t n, int64_t OC, int64_t OHW, REAL *y2,
                 REAL *bsum) {
#pragma omp parallel for if (n * OC * OHW > ENT_PAR_MIN)
    for (int64_t o = 0; o < OC; o++) {
        double s = 0.0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t p = 0; p < OHW; p++) {
                const double g = y[(i * OC + o) * OHW + p];
                y2[o * n * OHW + i * OHW + p] = g;
                s += g;
            }
        if (bsum) bsum[o] += s;
    }
}

static void conv_forward(const ent_layer *l, const REAL *th, const REAL *v,
                          const REAL *in, const REAL *rin, REAL *out,
                          REAL *rout, ent_rop_ctx *c) {
    const int64_t n = c->n, OC = l->out_c, OHW = l->out_h * l->out_w, NP = n * OHW;
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k;
    REAL *col = (REAL *)c->scratch, *col2 = col + CKK * NP, *y2 = col2 + CKK * NP;
    im2col(l, in, n, col);
    GEMM(0, 0, OC, NP, CKK, 1.0, tensor(l, th, ENT_T_WEIGHT), CKK, col, NP, 0.0, y2, NP);
    unpack(y2, tensor(l, th, ENT_T_BIAS), n, OC, OHW, out);
    if (!v) return;
    GEMM(0, 0, OC, NP, CKK, 1.0, tensor(l, v, ENT_T_WEIGHT), CKK, col, NP, 0.0, y2, NP);
    if (rin) {
        im2col(l, rin, n, col2);
        GEMM(0, 0, OC, NP, CKK, 1.0, tensor(l, th, ENT_T_WEIGHT), CKK, col2, NP, 1.0, y2, NP);
    }
    unpack(y2, tensor(l, v, ENT_T_BIAS), n, OC, OHW, rout);
}

static void conv_backward(const ent_layer *l, const REAL *th, const REAL *v,
                           const REAL *in, const REAL *rin,
                           const REAL *gout, const REAL *rgout, REAL *gin,
                           REAL *rgin, REAL *gth, REAL *rgth, ent_rop_ctx *c) {
    const int64_t n = c->n, OC = l->out_c, OHW = l->out_h * l->out_w, NP = n * OHW;
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k;
    const int bias = l->n_tensors > ENT_T_BIAS;
    const int64_t wo = l->tensors[ENT_T_WEIGHT].offset, bo = bias ? l->tensors[ENT_T_BIAS].offset : 0;
    const REAL *W = th + wo;
    REAL *col = (REAL *)c->scratch, *col2 = col + CKK * NP, *g2 = col2 + CKK * NP, *rg2 = g2 + OC * NP;
    pack(gout, n, OC, OHW, g2, gth && bias ? gth + bo : NULL);
    if (gth || (v && rgth)) im2col(l, in, n, col);
    if (gth) GEMM(0, 1, OC, CKK, NP, 1.0, g2, NP, col, NP, 1.0, gth + wo, CKK);
    if (v) {
        pack(rgout, n, OC, OHW, rg2, rgth && bias ? rgth + bo : NULL);
        if (rgth) {
            GEMM(0, 1, OC, CKK, NP, 1.0, rg2, NP, col, NP, 1.0, rgth + wo, CKK);
            if (rin) {
                im2col(l, rin, n, col2);
                GEMM(0, 1, OC, CKK, NP, 1.0, g2, NP, col2, NP, 1.0, rgth + wo, CKK);
            }
        }
        if (rgin) { /* dcol = W^T Rgy + V^T gy, into col2 */
            GEMM(1, 0, CKK, NP, OC, 1.0, W, CKK, rg2, NP, 0.0, col2, NP);
            GEMM(1, 0, CKK, NP, OC, 1.0, v + wo, CKK, g2, NP, 1.0, col2, NP);
            col2im(l, col2, n, rgin);
        }
    }
    if (gin) {
        GEMM(1, 0, CKK, NP, OC, 1.0, W, CKK, g2, NP, 0.0, col, NP);
        col2im(l, col, n, gin);
    }
}
