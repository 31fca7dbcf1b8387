/* network.c — a model and a source of mini-batches (the data edge,
 * ent_batches) seen as an ent_objective: next_batch draws the next
 * mini-batch, eval runs forward + backward in training mode. Batch buffers
 * are allocated once.
 *
 * Carried state (a sequence model on a source whose batches continue
 * streams): every eval starts from state_in, the state the current batch
 * begins with, and leaves the state after it in state_out; next_batch
 * moves state_out to state_in (zeros when the source restarts its
 * streams). So several evals on one batch (SAM, an inner loop, a finite
 * difference) all see the same function of theta, and the batch after it
 * continues from the last eval, as a training loop that carries its
 * hidden state does. */
#include <string.h>

#include "entropic.h"

struct ent_netobj {
    ent_model *model;
    float *buffers;
    ent_batches src;
    ent_rng dropout;
    float *x;
    int32_t *y;
    int64_t n;       /* size of the current batch (0 before the first) */
    int64_t state_n; /* carried floats (batch x the model's state size), 0: none */
    float *state_in, *state_out;
    int64_t correct; /* of the last eval */
    int n_tensors;   /* theta's tensors, for the optimizers' split */
    int64_t *tensor_ends;
};

static ent_status next_batch(void *ctx) {
    ent_netobj *o = ctx;
    o->n = o->src.ops->next(o->src.ctx, o->x, o->y);
    if (o->state_n == 0) return ENT_OK;
    if (o->src.ops->restarted && o->src.ops->restarted(o->src.ctx)) ent_vec_zero(o->state_in, o->state_n);
    else ent_vec_copy(o->state_in, o->state_out, o->state_n);
    return ENT_OK;
}

static ent_status eval(void *ctx, const float *theta, float *grad, double *loss) {
    ent_netobj *o = ctx;
    if (o->n == 0) next_batch(o);
    return ent_model_run_state(o->model, theta, o->buffers, o->state_in, o->state_out, o->x, o->y, o->n,
                               1, &o->dropout, grad, loss, &o->correct);
}

/* The source's labels per sample must be the model's. (A recurrent model
 * on a source that does not continue streams, such as shuffled windows,
 * starts every batch from a zero state.) */
static ent_status check_source(const ent_model *m, const ent_batches *src) {
    const int64_t per = src->y_per_sample > 0 ? src->y_per_sample : 1;
    if (per != ent_model_positions(m))
        return ent_fail(ENT_ESHAPE, "the data gives %lld label(s) per sample, the model predicts %lld",
                        (long long)per, (long long)ent_model_positions(m));
    return ENT_OK;
}

ent_status ent_netobj_new_batches(ent_netobj **out, ent_model *m, float *buffers,
                                  ent_batches src, uint64_t seed) {
    *out = NULL;
    const int64_t batch = src.batch;
    ent_status s = batch < 1 || batch > ent_model_max_batch(m)
                       ? ent_fail(ENT_EINVAL, "batch size %lld outside 1..%lld", (long long)batch,
                                  (long long)ent_model_max_batch(m))
                       : check_source(m, &src);
    if (s != ENT_OK) {
        ent_batches_free(&src);
        return s;
    }
    ent_netobj *o = ent_alloc(sizeof *o);
    if (!o) {
        ent_batches_free(&src);
        return ent_fail(ENT_ENOMEM, "objective: out of memory");
    }
    memset(o, 0, sizeof *o);
    o->src = src;
    o->model = m;
    o->buffers = buffers;
    const ent_tensor_info *t = ent_model_params(m, &o->n_tensors);
    o->tensor_ends = ent_alloc(sizeof(int64_t) * (size_t)(o->n_tensors + 1));
    for (int k = 0; o->tensor_ends && k < o->n_tensors; k++)
        o->tensor_ends[k] = t[k].offset + t[k].numel;
    const int64_t per = src.c * src.h * src.w;
    o->x = ent_alloc(sizeof(float) * (size_t)(batch * per));
    o->y = ent_alloc(sizeof(int32_t) * (size_t)(batch * ent_model_positions(m)));
    o->state_n = src.carried ? batch * ent_model_state_size(m) : 0;
    if (o->state_n > 0) {
        o->state_in = ent_alloc(sizeof(float) * (size_t)o->state_n);
        o->state_out = ent_alloc(sizeof(float) * (size_t)o->state_n);
        if (o->state_in) ent_vec_zero(o->state_in, o->state_n);
        if (o->state_out) ent_vec_zero(o->state_out, o->state_n);
    }
    ent_rng_init(&o->dropout, seed, 2);
    if (!o->x || !o->y || !o->tensor_ends || (o->state_n > 0 && (!o->state_in || !o->state_out))) {
        ent_netobj_free(o);
        return ent_fail(ENT_ENOMEM, "objective: out of memory");
    }
    *out = o;
    return ENT_OK;
}

ent_status ent_netobj_new(ent_netobj **out, ent_model *m, float *buffers,
                          const ent_dataset *train, int64_t batch, uint64_t seed) {
    ent_batches src;
    *out = NULL;
    ent_status s = ent_batches_images(&src, train, batch, seed, NULL);
    return s == ENT_OK ? ent_netobj_new_batches(out, m, buffers, src, seed) : s;
}

void ent_netobj_free(ent_netobj *o) {
    if (!o) return;
    ent_batches_free(&o->src);
    ent_free_aligned(o->x);
    ent_free_aligned(o->y);
    ent_free_aligned(o->tensor_ends);
    ent_free_aligned(o->state_in);
    ent_free_aligned(o->state_out);
    ent_free_aligned(o);
}

ent_objective ent_netobj_objective(ent_netobj *o) {
    ent_objective obj = {.n_param = ent_model_n_param(o->model), .ctx = o,
                         .next_batch = next_batch, .eval = eval,
                         .n_tensors = o->n_tensors, .tensor_ends = o->tensor_ends};
    return obj;
}

ent_batches *ent_netobj_batches(ent_netobj *o) { return &o->src; }
ent_rng *ent_netobj_dropout_rng(ent_netobj *o) { return &o->dropout; }
int64_t ent_netobj_correct(const ent_netobj *o) { return o->correct; }
int64_t ent_netobj_batch_size(const ent_netobj *o) { return o->n; }
float *ent_netobj_state(ent_netobj *o, int64_t *n) {
    *n = o->state_n;
    return o->state_out;
}
