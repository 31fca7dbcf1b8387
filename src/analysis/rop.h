/* rop.h — the R-operator of each layer kind, in double (internal).
 *
 * A Hessian-vector product Hv of a network's mean loss is computed by
 * Pearlmutter's R-operator, R{g} = d/dr g(theta + r v) at r = 0:
 * forward-mode differentiation of the forward pass (R-forward: every
 * activation z gets its directional derivative Rz), then reverse mode of
 * that augmented pass (R-backward: every adjoint g = dL/dz gets Rg). The
 * R of a parameter's gradient is the parameter's slice of Hv. Per layer
 * y = f(x; W) this needs, besides the usual Jacobian products,
 *   Ry  = J_x Rx + J_W v_W                       (forward)
 *   Rgx = J_x^T Rgy + R{J_x^T} gy                (backward)
 *   (Hv)_W += J_W^T Rgy + R{J_W^T} gy
 * where R{J^T} collects the second derivatives of f (bilinear terms of
 * dense/conv, the batch statistics of batch-norm; zero for ReLU, max-pool
 * with its argmax fixed, and dropout with its mask fixed).
 *
 * Precision: double by default — the weights are the model's float theta
 * converted once, so Hv is the Hessian of the mathematical function at
 * those weights to ~1e-13 relative, not the float network's rounding noise:
 * what the exact spectrum (eigenvalues down to |lambda| ~ 1e-6 of
 * lambda_max) needs. A float instance (same code, rop_impl.h compiled
 * twice) is ~4x faster for Lanczos and SLQ on big networks.
 *
 * The functions read the layer descriptions of src/layers/layer.h (shapes,
 * settings, tensor offsets) and never call the float layers. Activations
 * are [n, c, h, w] row-major as there. Conventions:
 * - v == NULL: plain forward/backward (a double-precision gradient).
 * - rin == NULL: R{input} = 0 (the data); gin == NULL: no input adjoint
 *   wanted (first layer); then rgin is NULL too.
 * - out, rout, gin, rgin are overwritten; gth (gradient) and rgth (Hv)
 *   accumulate (+=) at the layer's tensor offsets; either may be NULL.
 * - th and v are full parameter vectors (length P), read at the offsets. */
#ifndef ENT_ROP_H
#define ENT_ROP_H

#include "layers/layer.h"

/* Two precisions: _f64 (double, the default) and _f32 (float, on
 * ent_gemm). The context's pointers are of the call's precision. */
typedef struct {
    int64_t n;              /* samples in this call */
    int bn_train;           /* batch-norm on batch statistics (else running) */
    const void *buffers;    /* the model's buffers (running statistics) */
    const void *mask;       /* dropout multiplier of this layer; NULL = identity */
    void *scratch;          /* at least ent_rop_scratch() values */
} ent_rop_ctx;

/* A kind's R-operator, the `rop` of its ops table (layer.h), at the node
 * level: inputs and input adjoints as arrays (in[0], or in[0] and in[1]
 * for the add), in both precisions; the conventions below. saved and
 * scratch: values it keeps between forward and backward, and its scratch,
 * for batches of up to `batch` samples (NULL: none). */
struct ent_rop_kind {
    int64_t (*saved)(const ent_layer *l, int64_t batch);
    int64_t (*scratch)(const ent_layer *l, int64_t batch);
#define ENT_ROP_MEMBERS(R, S)                                                               \
    void (*forward_##S)(const ent_layer *l, const R *th, const R *v, const R *const *in,    \
                        const R *const *rin, R *out, R *rout, R *saved, ent_rop_ctx *c);    \
    void (*backward_##S)(const ent_layer *l, const R *th, const R *v, const R *const *in,   \
                         const R *const *rin, const R *out, const R *saved, const R *gout,  \
                         const R *rgout, R *const *gin, R *const *rgin, R *gth, R *rgth,    \
                         ent_rop_ctx *c);
    ENT_ROP_MEMBERS(double, f64)
    ENT_ROP_MEMBERS(float, f32)
#undef ENT_ROP_MEMBERS
};

/* The kinds that have one (rop_impl.h; rop.c makes their tables). */
#define ENT_ROP_KINDS(X) X(dense) X(conv2d) X(batchnorm) X(relu) X(maxpool) X(dropout) \
    X(avgpool) X(add) X(embedding) X(onehot) X(lstm)
#define ENT_ROP_DECLARE(k, R, S)                                                            \
    void ent_rop_##k##_fwd_##S(const ent_layer *l, const R *th, const R *v,                 \
                               const R *const *in, const R *const *rin, R *out, R *rout,    \
                               R *saved, ent_rop_ctx *c);                                   \
    void ent_rop_##k##_bwd_##S(const ent_layer *l, const R *th, const R *v,                 \
                               const R *const *in, const R *const *rin, const R *out,       \
                               const R *saved, const R *gout, const R *rgout,               \
                               R *const *gin, R *const *rgin, R *gth, R *rgth,              \
                               ent_rop_ctx *c);
#define ENT_ROP_DECLARE_BOTH(k) ENT_ROP_DECLARE(k, double, f64) ENT_ROP_DECLARE(k, float, f32)
ENT_ROP_KINDS(ENT_ROP_DECLARE_BOTH)
#undef ENT_ROP_DECLARE_BOTH
#undef ENT_ROP_DECLARE

/* Sizes for layer l (0 for a kind without saved values or scratch). */
int64_t ent_rop_saved(const ent_layer *l, int64_t batch);
int64_t ent_rop_scratch(const ent_layer *l, int64_t batch);
/* Whether layer l's kind has an R-operator (the Hessian refuses a model
 * with a node whose kind has none, naming the node). */
int ent_rop_supports(const ent_layer *l);

void ent_rop_forward_f64(const ent_layer *l, const double *th, const double *v,
                         const double *in, const double *rin, double *out,
                         double *rout, double *saved, ent_rop_ctx *c);
void ent_rop_backward_f64(const ent_layer *l, const double *th, const double *v,
                          const double *in, const double *rin, const double *out,
                          const double *saved, const double *gout,
                          const double *rgout, double *gin, double *rgin,
                          double *gth, double *rgth, ent_rop_ctx *c);
void ent_rop_forward_f32(const ent_layer *l, const float *th, const float *v,
                         const float *in, const float *rin, float *out,
                         float *rout, float *saved, ent_rop_ctx *c);
void ent_rop_backward_f32(const ent_layer *l, const float *th, const float *v,
                          const float *in, const float *rin, const float *out,
                          const float *saved, const float *gout,
                          const float *rgout, float *gin, float *rgin,
                          float *gth, float *rgth, ent_rop_ctx *c);

/* Softmax cross-entropy head on logits z [n, k] (a sequence model's
 * [n*T, V] rows, one per token): returns the SUM of the n losses (in double); g = (p - onehot) * scale and, if rz != NULL,
 * rg = R{g} = scale * p (Rz - <p, Rz>) (scale = 1 / total samples: the mean
 * loss). Counts correct argmax predictions into *correct if not NULL. */
double ent_rop_softmax_ce_f64(const double *z, const double *rz, const int32_t *y,
                              int64_t n, int64_t k, double scale, double *g,
                              double *rg, int64_t *correct);
double ent_rop_softmax_ce_f32(const float *z, const float *rz, const int32_t *y,
                              int64_t n, int64_t k, double scale, float *g,
                              float *rg, int64_t *correct);

/* Row-major double GEMM: C = alpha op(A) op(B) + beta C; OpenBLAS, or
 * dgemm.c's loops when called inside a parallel region. */
void ent_dgemm(int transA, int transB, int64_t M, int64_t N, int64_t K,
               double alpha, const double *A, int64_t lda, const double *B,
               int64_t ldb, double beta, double *C, int64_t ldc);

#endif
