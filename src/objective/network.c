/* network.c — a model and its training set seen as an ent_objective:
 * next_batch draws the next mini-batch, eval runs forward + backward in
 * training mode. Batch buffers are allocated once. */
#include "entropic.h"

struct ent_netobj {
    ent_model *model;
    float *buffers;
    ent_sampler sampler;
    ent_rng dropout;
    float *x;
    int32_t *y;
    int64_t n;       /* size of the current batch (0 before the first) */
    int64_t correct; /* of the last eval */
    int n_tensors;   /* theta's tensors, for the optimizers' split */
    int64_t *tensor_ends;
};

static ent_status next_batch(void *ctx) {
    ent_netobj *o = ctx;
    o->n = ent_sampler_next(&o->sampler, o->x, o->y);
    return ENT_OK;
}

static ent_status eval(void *ctx, const float *theta, float *grad, double *loss) {
    ent_netobj *o = ctx;
    if (o->n == 0) next_batch(o);
    return ent_model_run(o->model, theta, o->buffers, o->x, o->y, o->n, 1,
                         &o->dropout, grad, loss, &o->correct);
}

ent_status ent_netobj_new(ent_netobj **out, ent_model *m, float *buffers,
                          const ent_dataset *train, int64_t batch, uint64_t seed) {
    *out = NULL;
    if (batch < 1 || batch > ent_model_max_batch(m))
        return ent_fail(ENT_EINVAL, "batch size %lld outside 1..%lld", (long long)batch,
                        (long long)ent_model_max_batch(m));
    ent_netobj *o = ent_alloc(sizeof *o);
    if (!o) return ent_fail(ENT_ENOMEM, "objective: out of memory");
    o->model = m;
    o->buffers = buffers;
    const ent_tensor_info *t = ent_model_params(m, &o->n_tensors);
    o->tensor_ends = ent_alloc(sizeof(int64_t) * (size_t)(o->n_tensors + 1));
    for (int k = 0; o->tensor_ends && k < o->n_tensors; k++)
        o->tensor_ends[k] = t[k].offset + t[k].numel;
    int64_t per = train->c * train->h * train->w;
    o->x = ent_alloc(sizeof(float) * (size_t)(batch * per));
    o->y = ent_alloc(sizeof(int32_t) * (size_t)batch);
    ent_rng_init(&o->dropout, seed, 2);
    ent_status s = ent_sampler_init(&o->sampler, train, batch, seed);
    if (!o->x || !o->y || !o->tensor_ends) s = ent_fail(ENT_ENOMEM, "objective: out of memory");
    if (s != ENT_OK) {
        ent_netobj_free(o);
        return s;
    }
    *out = o;
    return ENT_OK;
}

void ent_netobj_free(ent_netobj *o) {
    if (!o) return;
    ent_sampler_free(&o->sampler);
    ent_free_aligned(o->x);
    ent_free_aligned(o->y);
    ent_free_aligned(o->tensor_ends);
    ent_free_aligned(o);
}

ent_objective ent_netobj_objective(ent_netobj *o) {
    ent_objective obj = {.n_param = ent_model_n_param(o->model), .ctx = o,
                         .next_batch = next_batch, .eval = eval,
                         .n_tensors = o->n_tensors, .tensor_ends = o->tensor_ends};
    return obj;
}

ent_sampler *ent_netobj_sampler(ent_netobj *o) { return &o->sampler; }
ent_rng *ent_netobj_dropout_rng(ent_netobj *o) { return &o->dropout; }
int64_t ent_netobj_correct(const ent_netobj *o) { return o->correct; }
int64_t ent_netobj_batch_size(const ent_netobj *o) { return o->n; }
