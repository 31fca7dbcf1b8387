/* rop_linear.c — R-operator of the bilinear layers, dense and conv2d (see
 * rop.h). Both are y = A(x) W^T + b with A linear in x (identity for dense,
 * im2col for conv), so
 *   Ry   = A(Rx) W^T + A(x) V^T + Vb
 *   gx   = A^T(gy W)            Rgx = A^T(Rgy W + gy V)
 *   gW  += gy^T A(x)            (Hv)_W += Rgy^T A(x) + gy^T A(Rx)
 *   gb  += colsum gy            (Hv)_b += colsum Rgy
 * The conv is batched: one im2col of the whole chunk, col [CKK, n*OHW],
 * so each product is a single large GEMM. */
#include <cblas.h>
#include <string.h>

#include "analysis/rop.h"

#define PAR_MIN 32768

void ent_dgemm(int transA, int transB, int64_t M, int64_t N, int64_t K,
               double alpha, const double *A, int64_t lda, const double *B,
               int64_t ldb, double beta, double *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

static const double *tensor(const ent_layer *l, const double *base, int t) {
    return base ? base + l->tensors[t].offset : NULL;
}

/* colsum of g [n, O] added to out [O] */
static void add_colsum(const double *g, int64_t n, int64_t no, double *out) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < no; o++) out[o] += g[i * no + o];
}

/* ------------------------------------------------------------------ dense */

void ent_rop_dense_forward(const ent_layer *l, const double *th, const double *v,
                           const double *in, const double *rin, double *out,
                           double *rout, ent_rop_ctx *c) {
    const int64_t n = c->n, NI = ent_layer_in_size(l), NO = l->dense.out;
    const double *W = tensor(l, th, ENT_T_WEIGHT), *b = tensor(l, th, ENT_T_BIAS);
    for (int64_t i = 0; i < n; i++) memcpy(out + i * NO, b, sizeof(double) * (size_t)NO);
    ent_dgemm(0, 1, n, NO, NI, 1.0, in, NI, W, NI, 1.0, out, NO);
    if (!v) return;
    const double *V = tensor(l, v, ENT_T_WEIGHT), *Vb = tensor(l, v, ENT_T_BIAS);
    for (int64_t i = 0; i < n; i++) memcpy(rout + i * NO, Vb, sizeof(double) * (size_t)NO);
    ent_dgemm(0, 1, n, NO, NI, 1.0, in, NI, V, NI, 1.0, rout, NO);
    if (rin) ent_dgemm(0, 1, n, NO, NI, 1.0, rin, NI, W, NI, 1.0, rout, NO);
}

void ent_rop_dense_backward(const ent_layer *l, const double *th, const double *v,
                            const double *in, const double *rin,
                            const double *gout, const double *rgout, double *gin,
                            double *rgin, double *gth, double *rgth, ent_rop_ctx *c) {
    const int64_t n = c->n, NI = ent_layer_in_size(l), NO = l->dense.out;
    const double *W = tensor(l, th, ENT_T_WEIGHT);
    if (gin) ent_dgemm(0, 0, n, NI, NO, 1.0, gout, NO, W, NI, 0.0, gin, NI);
    if (gth) {
        ent_dgemm(1, 0, NO, NI, n, 1.0, gout, NO, in, NI, 1.0, gth + l->tensors[ENT_T_WEIGHT].offset, NI);
        add_colsum(gout, n, NO, gth + l->tensors[ENT_T_BIAS].offset);
    }
    if (!v) return;
    const double *V = tensor(l, v, ENT_T_WEIGHT);
    if (rgin) {
        ent_dgemm(0, 0, n, NI, NO, 1.0, rgout, NO, W, NI, 0.0, rgin, NI);
        ent_dgemm(0, 0, n, NI, NO, 1.0, gout, NO, V, NI, 1.0, rgin, NI);
    }
    if (rgth) {
        double *hw = rgth + l->tensors[ENT_T_WEIGHT].offset;
        ent_dgemm(1, 0, NO, NI, n, 1.0, rgout, NO, in, NI, 1.0, hw, NI);
        if (rin) ent_dgemm(1, 0, NO, NI, n, 1.0, gout, NO, rin, NI, 1.0, hw, NI);
        add_colsum(rgout, n, NO, rgth + l->tensors[ENT_T_BIAS].offset);
    }
}

/* ------------------------------------------------------------------- conv */

/* Scratch layout: col, col2 [CKK, n OHW]; y2, ry2 [OC, n OHW]. */
int64_t ent_rop_conv_scratch(const ent_layer *l, int64_t batch) {
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k, NP = batch * l->out_h * l->out_w;
    return 2 * CKK * NP + 2 * l->out_c * NP;
}

/* col[r][i OHW + p] = x[i][c][oh s - pad + kh][ow s - pad + kw] (0 outside),
 * r = (c K + kh) K + kw. */
static void im2col(const ent_layer *l, const double *x, int64_t n, double *col) {
    const int64_t K = l->conv.k, S = l->conv.stride, P = l->conv.pad, C = l->in_c;
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const int64_t rows = C * K * K, OHW = OH * OW;
#pragma omp parallel for if (rows * n * OHW > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t c = r / (K * K), kh = (r / K) % K, kw = r % K;
        for (int64_t i = 0; i < n; i++) {
            const double *xc = x + (i * C + c) * H * W;
            double *dst = col + r * n * OHW + i * OHW;
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
static void col2im(const ent_layer *l, const double *dcol, int64_t n, double *dx) {
    const int64_t K = l->conv.k, S = l->conv.stride, P = l->conv.pad, C = l->in_c;
    const int64_t H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w, OHW = OH * OW;
#pragma omp parallel for if (C * K * K * n * OHW > PAR_MIN)
    for (int64_t pl = 0; pl < n * C; pl++) {
        const int64_t i = pl / C, c = pl % C;
        double *xc = dx + pl * H * W;
        memset(xc, 0, sizeof(double) * (size_t)(H * W));
        for (int64_t kh = 0; kh < K; kh++)
            for (int64_t kw = 0; kw < K; kw++) {
                const double *src = dcol + ((c * K + kh) * K + kw) * n * OHW + i * OHW;
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
static void unpack(const double *y2, const double *b, int64_t n, int64_t OC,
                   int64_t OHW, double *y) {
#pragma omp parallel for if (n * OC * OHW > PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < OC; o++)
            for (int64_t p = 0; p < OHW; p++)
                y[(i * OC + o) * OHW + p] = y2[o * n * OHW + i * OHW + p] + b[o];
}

/* y2 [OC, n OHW] = y [n, OC, OHW]; bsum[o] += sum of channel o (if not NULL) */
static void pack(const double *y, int64_t n, int64_t OC, int64_t OHW, double *y2,
                 double *bsum) {
#pragma omp parallel for if (n * OC * OHW > PAR_MIN)
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

void ent_rop_conv_forward(const ent_layer *l, const double *th, const double *v,
                          const double *in, const double *rin, double *out,
                          double *rout, ent_rop_ctx *c) {
    const int64_t n = c->n, OC = l->out_c, OHW = l->out_h * l->out_w, NP = n * OHW;
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k;
    double *col = c->scratch, *col2 = col + CKK * NP, *y2 = col2 + CKK * NP;
    im2col(l, in, n, col);
    ent_dgemm(0, 0, OC, NP, CKK, 1.0, tensor(l, th, ENT_T_WEIGHT), CKK, col, NP, 0.0, y2, NP);
    unpack(y2, tensor(l, th, ENT_T_BIAS), n, OC, OHW, out);
    if (!v) return;
    ent_dgemm(0, 0, OC, NP, CKK, 1.0, tensor(l, v, ENT_T_WEIGHT), CKK, col, NP, 0.0, y2, NP);
    if (rin) {
        im2col(l, rin, n, col2);
        ent_dgemm(0, 0, OC, NP, CKK, 1.0, tensor(l, th, ENT_T_WEIGHT), CKK, col2, NP, 1.0, y2, NP);
    }
    unpack(y2, tensor(l, v, ENT_T_BIAS), n, OC, OHW, rout);
}

void ent_rop_conv_backward(const ent_layer *l, const double *th, const double *v,
                           const double *in, const double *rin,
                           const double *gout, const double *rgout, double *gin,
                           double *rgin, double *gth, double *rgth, ent_rop_ctx *c) {
    const int64_t n = c->n, OC = l->out_c, OHW = l->out_h * l->out_w, NP = n * OHW;
    const int64_t CKK = l->in_c * l->conv.k * l->conv.k;
    const int64_t wo = l->tensors[ENT_T_WEIGHT].offset, bo = l->tensors[ENT_T_BIAS].offset;
    const double *W = th + wo;
    double *col = c->scratch, *col2 = col + CKK * NP, *g2 = col2 + CKK * NP, *rg2 = g2 + OC * NP;
    pack(gout, n, OC, OHW, g2, gth ? gth + bo : NULL);
    if (gth || (v && rgth)) im2col(l, in, n, col);
    if (gth) ent_dgemm(0, 1, OC, CKK, NP, 1.0, g2, NP, col, NP, 1.0, gth + wo, CKK);
    if (v) {
        pack(rgout, n, OC, OHW, rg2, rgth ? rgth + bo : NULL);
        if (rgth) {
            ent_dgemm(0, 1, OC, CKK, NP, 1.0, rg2, NP, col, NP, 1.0, rgth + wo, CKK);
            if (rin) {
                im2col(l, rin, n, col2);
                ent_dgemm(0, 1, OC, CKK, NP, 1.0, g2, NP, col2, NP, 1.0, rgth + wo, CKK);
            }
        }
        if (rgin) { /* dcol = W^T Rgy + V^T gy, into col2 */
            ent_dgemm(1, 0, CKK, NP, OC, 1.0, W, CKK, rg2, NP, 0.0, col2, NP);
            ent_dgemm(1, 0, CKK, NP, OC, 1.0, v + wo, CKK, g2, NP, 1.0, col2, NP);
            col2im(l, col2, n, rgin);
        }
    }
    if (gin) {
        ent_dgemm(1, 0, CKK, NP, OC, 1.0, W, CKK, g2, NP, 0.0, col, NP);
        col2im(l, col, n, gin);
    }
}
