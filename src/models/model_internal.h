/* model_internal.h — a model as a graph of nodes (internal).
 *
 * The nodes are kept in topological order: node i reads the model input
 * or nodes before it (one input, or two for an element-wise add), and the
 * last node is the loss. Each node is a layer (layers/layer.h) plus its
 * edges. Backward runs the nodes in reverse order in store mode: every
 * gradient has one first writer, which stores it; a gradient with several
 * writers (an output read by two nodes) is added to by the later ones
 * (din_add). Trainable tensors lie in theta in node order, which is the
 * state_dict order.
 *
 * Memory (plan.c): every activation, gradient and saved buffer has a
 * lifetime in the schedule of one step (the forward calls, then the
 * backward calls), and buffers whose lifetimes do not meet share memory.
 * The training plan keeps what backward needs; the evaluation plan keeps
 * no gradient, and an activation only until its last reader has run. */
#ifndef ENT_MODEL_INTERNAL_H
#define ENT_MODEL_INTERNAL_H

#include "layers/layer.h"

#define ENT_NODE_INPUT (-1) /* the model's input, as a producer */

typedef struct {
    int n_in;
    int in[2];        /* producers: node indices, or ENT_NODE_INPUT */
    int consumers;    /* nodes reading this output */
    int grad_below;   /* backward runs: trainable tensors here or upstream */
    int din_add[2];   /* backward adds into input j's gradient */
} ent_node;

/* Offsets into one arena (floats); -1 = no buffer. */
typedef struct {
    float *base;
    int64_t size;
    int64_t *act, *grad, *saved; /* per node */
} ent_plan;

/* A network description: the nodes before planning (public builder,
 * presets, network files). Presets read opts (and fill in their defaults)
 * and n_classes. */
struct ent_net {
    char name[32];
    ent_model_opts opts;
    int64_t n_classes;
    int n, cap;
    ent_layer *layers;   /* kind, name and settings */
    ent_node *nodes;     /* inputs */
    ent_status err;      /* the first error of the builder calls */
};

struct ent_model {
    char preset[32];
    ent_net *net;          /* the description it was built from */
    ent_model_opts opts;
    int64_t in_c, in_h, in_w, n_classes, max_batch;
    int64_t state_size;    /* carried state per sample (layers' state, node order) */
    int n_layers, cap;     /* nodes (the last is the loss) and capacity */
    ent_layer *layers;     /* node i's layer */
    ent_node *nodes;       /* node i's edges */
    /* tables over the flat vectors */
    int n_params, n_buffers;
    ent_tensor_info *params, *buffers;
    int64_t n_param, n_buffer;
    /* workspace, planned for max_batch */
    ent_plan train, eval;
    const ent_plan *last;  /* the plan of the last run: its logits */
    int *first;            /* first[i]: the first node of node i's call */
    float *scratch;
    int64_t n_scratch;
    int unfused;           /* 1: every layer on its own (tests, bench/layers.c) */
};

/* Run batch-norm / ReLU / dropout runs as fused blocks (layers/fused.h;
 * the default) or layer by layer, to compare the two (re-plans memory). */
ent_status ent_model_set_fused(ent_model *m, int on);

/* The calls of one step, for callers that clock them (bench/layers.c). A
 * call is a fused block of `span` nodes starting at node i, or one node
 * (span 1). first[i] = the first node of node i's block. */
int ent_model_span(const ent_model *m, int i);
void ent_model_block_starts(const ent_model *m, int *first);
/* Forward of the call at node i (training plan); ctx->y set for the loss. */
void ent_model_forward_at(ent_model *m, int i, int span, const float *theta,
                          const float *x, ent_ctx *ctx);
/* Backward of the call of nodes i .. last (store mode, training plan):
 * reads the gradient at node last's output, writes its input gradients
 * and the nodes' slices of grad. Does nothing for a node with nothing
 * trainable at or above it (grad_below 0). */
void ent_model_backward_at(ent_model *m, int i, int last, const float *theta,
                           const float *x, float *grad, ent_ctx *ctx);

/* Builders (net.c). ent_net_chain appends a node of `kind` named `name`
 * (its state_dict prefix) reading the previous node (or the input); the
 * caller fills its settings. ent_net_node names its inputs. An error is
 * recorded in net->err and a scratch layer returned. */
ent_layer *ent_net_chain(ent_net *n, ent_layer_kind kind, const char *name);
ent_layer *ent_net_node(ent_net *n, ent_layer_kind kind, const char *name, int in0, int in1);
ent_net *ent_net_copy(const ent_net *n);

/* plan.c: both plans and the scratch for the current fusion setting; the
 * training arena itself on the first call of ent_model_train_workspace
 * (ent_model_run with a gradient makes it; callers of forward_at and
 * backward_at call it first). */
ent_status ent_model_plan_memory(ent_model *m);
ent_status ent_model_train_workspace(ent_model *m);
void ent_model_free_plans(ent_model *m);

/* Preset builders: append the nodes. */
ent_status ent_preset_mnistfc(ent_net *n);
ent_status ent_preset_lenet(ent_net *n);
/* small.c: the Hessian-study nets (no BN, no dropout) */
ent_status ent_preset_small_mnistfc(ent_net *n);
ent_status ent_preset_small_lenet(ent_net *n);
ent_status ent_preset_tiny_mnistfc(ent_net *n);
/* allcnn.c, resnet.c: the CIFAR-scale nets */
ent_status ent_preset_allcnn(ent_net *n);
ent_status ent_preset_resnet18(ent_net *n);
ent_status ent_preset_wrn_16_4(ent_net *n);
/* lstm.c: the sequence models (input [T, 1, 1] token ids, V = n_classes) */
ent_status ent_preset_charlstm(ent_net *n);
ent_status ent_preset_ptblstm_large(ent_net *n);
ent_status ent_preset_ptblstm_medium(ent_net *n);
ent_status ent_preset_tiny_charlstm(ent_net *n);

#endif
