/* layer.h — the layer contract (internal).
 *
 * A layer kind is a const table of four functions. A layer never owns
 * parameter storage: it reads its weights at theta + tensors[i].offset, so
 * the same layer evaluates any replica's vector. Activations are laid out
 * [batch, c, h, w] row-major (dense layers see [batch, c*h*w]).
 *
 * Memory: `plan` states, per planned batch, how many floats the layer must
 * save between forward and backward (`saved`) and how much scratch it needs
 * during one call (`scratch`). The model plans all of it once (and
 * allocates the training part on its first run with a gradient).
 *
 * Accumulation: backward ADDS into dtheta and din (the caller zeroes both
 * first), so fan-out and weight tying need no special case.
 * din == NULL means "the input needs no gradient" (first layer).
 * Store mode (ctx->store = 1): backward STORES its din and its own dtheta
 * slices (=) instead of adding, and the caller zeroes nothing. The model
 * runs a plain list, where every gradient has exactly one writer, in this
 * mode: it saves a zeroing pass over the whole gradient and every
 * activation gradient (and the GEMMs read no C). A caller with fan-out or
 * tied weights uses accumulate mode (store = 0). Every kind supports both;
 * tests/test_layers.c checks that they agree.
 *
 * A gradient with several writers (an output read by two nodes of the
 * model's graph) is stored by the first writer and added to by the
 * others: ctx->din_add[j] = 1 makes a backward in store mode ADD into its
 * j-th input gradient while it still stores its own dtheta slices
 * (ent_din_stores below).
 *
 * Kinds with two inputs (element-wise add) implement forward_n and
 * backward_n, which take arrays of inputs and input gradients; forward and
 * backward are then NULL. The loss is a kind too (softmax cross-entropy,
 * the model's last node): it reads ctx->y and leaves the mean loss and
 * the count of right predictions in the context.
 *
 * Sequence models: a sample is a sequence, shape [c = T steps, h = 1,
 * w = features]; an LSTM (lstm.c) keeps its unrolled gates in `saved`.
 * The state it carries from one batch to the next is neither a parameter
 * nor a buffer but the caller's: l->state floats per sample, read from
 * ctx->state_in and written to ctx->state_out at l->state_off
 * (ent_model_run_state), and copied into `saved` by the forward, so the
 * backward never reads the state pointers. The loss sees logits [T, 1, V]
 * as V classes at T positions (ent_loss_positions).
 *
 * How the layers still to come fit this contract:
 * - Replicas: layers read theta through offsets only, so one model
 *   description evaluates any replica's vector; each replica needs only its
 *   own workspace (activations, saved, scratch). */
#ifndef ENT_LAYER_H
#define ENT_LAYER_H

#include "entropic.h"

typedef enum {
    ENT_LAYER_DENSE = 0,
    ENT_LAYER_CONV2D,
    ENT_LAYER_MAXPOOL,
    ENT_LAYER_BATCHNORM, /* 1-D on [n, c] (h = w = 1) or 2-D on [n, c, h, w] */
    ENT_LAYER_DROPOUT,
    ENT_LAYER_RELU,
    ENT_LAYER_ADD,        /* element-wise sum of two inputs of one shape */
    ENT_LAYER_AVGPOOL,    /* k x k windows, stride, zero padding counted */
    ENT_LAYER_GLOBAL_AVGPOOL, /* mean over each plane: [c, h, w] -> [c, 1, 1] */
    ENT_LAYER_SOFTMAX_CE, /* the loss: softmax + mean cross-entropy */
    ENT_LAYER_EMBEDDING,  /* token ids [T, 1, 1] -> rows of a table [T, 1, E] */
    ENT_LAYER_ONEHOT,     /* token ids [T, 1, 1] -> one-hot [T, 1, V] */
    ENT_LAYER_LSTM,       /* stacked LSTM over [T, 1, in] -> [T, 1, H] */
    ENT_LAYER_COUNT
} ent_layer_kind;

/* Per-call context. */
typedef struct {
    int train;       /* 1: dropout active, batch-norm on batch statistics */
    int64_t n;       /* batch size of this call (<= planned max_batch) */
    ent_rng *rng;    /* dropout stream (train only) */
    float *buffers;  /* the model's non-trainable vector (running stats) */
    float *scratch;  /* scratch of at least layer->scratch floats */
    int store;       /* backward: 1 = store (=) din and dtheta, 0 = add (+=) */
    int din_add[2];  /* store mode: add into input gradient j all the same */
    /* the loss kind: labels in, mean loss and right predictions out */
    const int32_t *y;
    double loss;
    int64_t correct;
    /* Carried recurrent state, [n, state_stride] sample-major: a layer with
     * l->state > 0 reads its part at state_in + b * state_stride +
     * l->state_off (NULL: zeros) and writes its final state to state_out
     * the same way (NULL: not wanted). */
    const float *state_in;
    float *state_out;
    int64_t state_stride;
} ent_ctx;

/* Whether a backward stores (rather than adds) its j-th input gradient. */
static inline int ent_din_stores(const ent_ctx *ctx, int j) {
    return ctx->store && !ctx->din_add[j];
}

typedef struct ent_layer ent_layer;
typedef struct ent_rop_kind ent_rop_kind; /* analysis/rop.h */

typedef struct {
    const char *kind_name;
    /* From in_{c,h,w} and the kind's settings: set out_{c,h,w}, the tensor
     * records (name suffix, shape, numel; offsets are set by the model),
     * saved and scratch (floats, for max_batch samples). Returns ENT_ESHAPE
     * on impossible shapes. */
    ent_status (*plan)(ent_layer *l);
    /* PyTorch's default initialisation of this layer's tensors. */
    void (*init)(const ent_layer *l, float *theta, float *buffers,
                 ent_rng *rng);
    void (*forward)(const ent_layer *l, const float *theta, const float *in,
                    float *out, float *saved, ent_ctx *ctx);
    void (*backward)(const ent_layer *l, const float *theta, const float *in,
                     const float *out, const float *saved, const float *dout,
                     float *din, float *dtheta, ent_ctx *ctx);
    /* Kinds of n_in = 2 inputs: the same with arrays (in[j], din[j]). */
    int n_in;
    void (*forward_n)(const ent_layer *l, const float *theta,
                      const float *const *in, float *out, float *saved,
                      ent_ctx *ctx);
    void (*backward_n)(const ent_layer *l, const float *theta,
                       const float *const *in, const float *out,
                       const float *saved, const float *dout,
                       float *const *din, float *dtheta, ent_ctx *ctx);
    /* The kind's R-operator (Hessian-vector products), NULL: none. */
    const ent_rop_kind *rop;
} ent_layer_ops;

/* The most tensors one layer has: an LSTM of 8 layers has 32. A kind that
 * would add more sets too_many_tensors, and the model's plan fails naming
 * the node (ent_layer_add_tensor never writes past the table). */
#define ENT_LAYER_MAX_TENSORS 32

struct ent_layer {
    const ent_layer_ops *ops;
    ent_layer_kind kind;
    char name[48];          /* state_dict prefix, e.g. "fc1", "bn2" */
    int64_t in_c, in_h, in_w;
    int64_t out_c, out_h, out_w;
    int64_t max_batch;
    /* Tensors: trainable ones index theta, is_buffer ones index buffers. */
    int n_tensors;
    ent_tensor_info tensors[ENT_LAYER_MAX_TENSORS]; /* name = suffix ("weight") */
    int is_buffer[ENT_LAYER_MAX_TENSORS];
    int too_many_tensors;   /* plan asked for more than ENT_LAYER_MAX_TENSORS */
    int64_t saved;          /* floats saved for backward (for max_batch) */
    int64_t scratch;        /* floats of scratch per call (for max_batch) */
    /* Carried state per sample (floats; plan sets it) and its offset in the
     * model's state vector of a sample (the model sets it). */
    int64_t state, state_off;
    /* Kind settings (only the kind's own struct is meaningful).
     * dense: per_position applies nn.Linear to the last dimension w at each
     * (c, h) position (the file setting flatten 0) instead of flattening;
     * init_range > 0: U(-r, r) instead of PyTorch's default init. */
    struct { int64_t out; int per_position, no_bias; float init_range; } dense;
    struct { int64_t vocab, dim; float init_range; } embed; /* onehot: vocab */
    struct { int64_t hidden, layers; float p, init_range; } lstm;
    struct { int64_t out_c, k, stride, pad; int no_bias; } conv;
    struct { int64_t k, stride, pad; } pool;
    struct { float eps, momentum; } bn;
    struct { float p; } dropout;
};

/* Tensor indices, by kind, into l->tensors. */
enum { ENT_T_WEIGHT = 0, ENT_T_BIAS = 1 };
enum { ENT_BN_WEIGHT = 0, ENT_BN_BIAS = 1, ENT_BN_MEAN = 2, ENT_BN_VAR = 3,
       ENT_BN_COUNT = 4 };

static inline int64_t ent_layer_in_size(const ent_layer *l) {
    return l->in_c * l->in_h * l->in_w;
}
static inline int64_t ent_layer_out_size(const ent_layer *l) {
    return l->out_c * l->out_h * l->out_w;
}
/* Add a tensor record (used by plan functions). */
void ent_layer_add_tensor(ent_layer *l, const char *suffix, int is_buffer,
                          int is_int64, int ndim, int64_t d0, int64_t d1,
                          int64_t d2, int64_t d3);

extern const ent_layer_ops ent_dense_ops;
extern const ent_layer_ops ent_conv2d_ops;
extern const ent_layer_ops ent_maxpool_ops;
extern const ent_layer_ops ent_batchnorm_ops;
extern const ent_layer_ops ent_dropout_ops;
extern const ent_layer_ops ent_relu_ops;
extern const ent_layer_ops ent_add_ops;
extern const ent_layer_ops ent_avgpool_ops;
extern const ent_layer_ops ent_global_avgpool_ops;
extern const ent_layer_ops ent_softmax_ce_ops;
extern const ent_layer_ops ent_embedding_ops;
extern const ent_layer_ops ent_onehot_ops;
extern const ent_layer_ops ent_lstm_ops;
/* analysis/rop.c: the R-operators the ops tables point to */
extern const ent_rop_kind ent_rop_dense, ent_rop_conv2d, ent_rop_batchnorm, ent_rop_relu,
    ent_rop_maxpool, ent_rop_dropout, ent_rop_avgpool, ent_rop_add, ent_rop_embedding,
    ent_rop_onehot, ent_rop_lstm;

const ent_layer_ops *ent_layer_ops_of(ent_layer_kind kind);

/* Token ids as floats: the index of id x in [0, vocab), clamped (the data
 * layer validates ids; this only keeps a bad one from indexing out of
 * bounds). NaN gives 0. */
static inline int64_t ent_token_id(float x, int64_t vocab) {
    if (!(x >= 0.0f)) return 0;
    return x >= (float)(vocab - 1) ? vocab - 1 : (int64_t)x;
}

/* The loss node's view of its logits [c, h, w]: [T, 1, V] with V = w > 1
 * is V classes at T = c positions (a sequence model, one label per
 * position); any other shape is one position of c*h*w classes. */
static inline int64_t ent_loss_positions(const ent_layer *l) {
    return l->in_h == 1 && l->in_w > 1 ? l->in_c : 1;
}
static inline int64_t ent_loss_classes(const ent_layer *l) {
    return ent_layer_in_size(l) / ent_loss_positions(l);
}

/* Softmax + mean cross-entropy over logits [n, k]. Writes probabilities
 * into prob (may alias nothing), returns the mean loss, counts correct
 * argmax predictions. dlogits (if not NULL) = (prob - onehot) / n. */
double ent_softmax_ce(const float *logits, const int32_t *y, int64_t n,
                      int64_t k, float *prob, float *dlogits,
                      int64_t *correct);

#endif
