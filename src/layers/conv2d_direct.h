/* conv2d_direct.h — the AVX-512 paths of conv2d.c (internal): a direct
 * convolution for few input channels and rows of 16 to 32 outputs, where
 * im2col costs more than the products, and im2col for tiny output planes
 * (conv2d_direct.c says why and how). */
#ifndef ENT_CONV2D_DIRECT_H
#define ENT_CONV2D_DIRECT_H

#include "layers/layer.h"

/* 1 if l (planned) takes the direct path on this CPU: stride 1, no
 * padding, K 3 or 5, at most 4 input channels, 16..32 output columns,
 * AVX-512. */
int ent_conv_direct_applies(const ent_layer *l);
/* out[n, OC, OH, OW] = conv(in[n, C, H, W], w) + b, the bits of the GEMM path. */
void ent_conv_direct_forward(const ent_layer *l, const float *w, const float *b,
                             const float *in, float *out, int64_t n);
/* dW and db from dout (store: =, else +=); no input gradient. */
void ent_conv_direct_dweight(const ent_layer *l, const float *in, const float *dout,
                             int64_t n, float *dw, float *db, int store);

/* conv2d_direct_avx2.c: the same on AVX2 CPUs without AVX-512, for rows of
 * 16 or 24 outputs (forward: the bits of the GEMM path). */
int ent_conv_direct_avx2_applies(const ent_layer *l);
void ent_conv_direct_avx2_forward(const ent_layer *l, const float *w, const float *b,
                                  const float *in, float *out, int64_t n);
void ent_conv_direct_avx2_dweight(const ent_layer *l, const float *in, const float *dout,
                                  int64_t n, float *dw, float *db, int store);
/* im2col of g samples for planes 4 wide, at most 4 high, stride 1, no
 * padding, on AVX2; 1 if it applied (else the caller's loop runs). */
int ent_conv_im2col_w4_avx2(const ent_layer *l, const float *x, int64_t g, float *col);
/* dx += col2im(dcol) for the same planes (the generic loop's sums). */
int ent_conv_col2im_w4_avx2(const ent_layer *l, const float *dcol, int64_t g, float *dx);

/* im2col (conv2d.c's layout) of g samples for output planes of at most 16
 * pixels, stride 1, no padding, on AVX-512; 0 (nothing done) elsewhere. */
int ent_conv_im2col_tiny(const ent_layer *l, const float *x, int64_t g, float *col);

/* sum of x[0..n) in double (conv2d.c), for db. */
double ent_conv_row_sum(const float *x, int64_t n);

#endif
