/* fused.h — batch-norm, ReLU and dropout in one parallel pass (internal).
 *
 * A block is a run of element-wise layers that the model executes as one:
 * a batch-norm followed by a ReLU and/or a dropout, or a ReLU followed by a
 * dropout (mnistfc: bn, relu, drop twice; lenet: bn, drop and relu, drop).
 * Run layer by layer, each of them forks the thread team and streams the
 * whole activation once or twice; at 2 threads each fork wakes a sleeping
 * thread (tens of microseconds here), and the intermediate activations
 * are written only to be read back. The block makes one fork and one
 * pass over each column range, which stays in L2 between its steps.
 *
 * Same results as the layers one after another: batch-norm's own task
 * kernels, then the ReLU and the dropout mask (from the same Philox words,
 * element for element) applied in place. The backward pass builds the
 * gradient at the batch-norm output as the ReLU and dropout layers would
 * (din = dout * mask where out > 0) into that layer's gradient buffer,
 * column range by column range, and hands it to batch-norm's backward
 * task. The one difference: a unit that is dropped gets +0, where the
 * layers give dout * 0 (-0 when dout < 0), equal as numbers.
 *
 * Only the model's plain list (ent_model_run, store mode) runs blocks; the
 * layers' own forward and backward stay for every other caller (the
 * Hessian's R-operator, tests). The intermediate outputs of a block
 * (batch-norm's, ReLU's) are not written. */
#ifndef ENT_FUSED_H
#define ENT_FUSED_H

#include "layers/layer.h"

/* Number of layers, starting at layers[i], that run as one block: 2 or 3,
 * or 1 when layers[i] starts none. */
int ent_fused_span(const ent_layer *layers, int n_layers, int i);

/* Forward of the block layers[0 .. span-1]: in is the first layer's input,
 * out the last layer's output; saved[k] is layer k's saved buffer. */
void ent_fused_forward(const ent_layer *layers, int span, const float *theta,
                       const float *in, float *out, float *const *saved,
                       ent_ctx *ctx);

/* Backward of the block, store mode: dout at the last layer's output,
 * din at the first layer's input (NULL: not needed); mid is a buffer of
 * the block's activation size (the first layer's output gradient). */
void ent_fused_backward(const ent_layer *layers, int span, const float *theta,
                        const float *in, const float *out,
                        float *const *saved, const float *dout, float *mid,
                        float *din, float *dtheta, ent_ctx *ctx);

/* ---- what the layer files export for the blocks ---- */

/* dropout.c: whether layer l (a dropout) masks in this call, and with what
 * multiplier (1/(1-p), or 0 when p == 1) and word threshold. */
int ent_dropout_active(const ent_layer *l, const ent_ctx *ctx, float *scale,
                       uint32_t *thr);
/* y[j] = (relu ? max(x[j], 0) : x[j]) * mask[j], mask[j] = scale or 0 by
 * the dropout words of elements e .. e+len-1 of the stream (key, base);
 * x may be y. The dropout layer's own forward is this with relu = 0. */
void ent_dropout_apply(uint64_t key, uint64_t base, uint32_t thr, float scale,
                       int relu, int64_t e, const float *x, float *y,
                       float *mask, int64_t len);

/* batchnorm.c: its tasks (task t = channels [c0, c1)), and one task's
 * forward and backward over every row, as the layer's own calls run them. */
int64_t ent_bn_tasks(const ent_layer *l);
void ent_bn_task_range(const ent_layer *l, int64_t t, int64_t *c0, int64_t *c1);
void ent_bn_forward_task(const ent_layer *l, const float *theta,
                         const float *in, float *out, float *saved,
                         const ent_ctx *ctx, int64_t c0, int64_t c1);
/* after every task of a forward call: num_batches_tracked += 1 (train) */
void ent_bn_forward_done(const ent_layer *l, const ent_ctx *ctx);
void ent_bn_backward_task(const ent_layer *l, const float *theta,
                          const float *in, const float *saved,
                          const float *dout, float *din, float *dtheta,
                          const ent_ctx *ctx, int64_t c0, int64_t c1);

#endif
