/* test_alloc.c — no allocation inside a training step.
 * The test binary is linked with -Wl,--wrap for the allocator entry points
 * (Makefile), so every malloc/calloc/realloc/posix_memalign/aligned_alloc
 * made by entropic's own code passes through the counters below. (Calls made
 * inside shared libraries — OpenBLAS, libgomp — are not seen.) */
#include <errno.h>
#include <stdlib.h>

#include "test.h"

static volatile long n_alloc; /* volatile: gcc assumes malloc touches no user data */
static volatile size_t largest; /* the largest single request since the last reset */
static volatile long fail_at;   /* the allocation (counted by n_alloc) to refuse; 0: none */
static volatile long n_failed;
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);

/* Counts one request of n bytes; 1 if it is the one to refuse. */
static int refuse(size_t n) {
    long k = __atomic_add_fetch(&n_alloc, 1, __ATOMIC_RELAXED);
    if (n > largest) largest = n;
    if (fail_at == 0 || k != fail_at) return 0;
    n_failed++;
    return 1;
}

void *__wrap_malloc(size_t n) { return refuse(n) ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { return refuse(k * n) ? NULL : __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { return refuse(n) ? NULL : __real_realloc(p, n); }
int __wrap_posix_memalign(void **p, size_t a, size_t n) { return refuse(n) ? ENOMEM : __real_posix_memalign(p, a, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { return refuse(n) ? NULL : __real_aligned_alloc(a, n); }

size_t ent_test_alloc_largest(int reset) {
    size_t v = largest;
    if (reset) largest = 0;
    return v;
}

long ent_test_alloc_fail_at(long k) {
    long failed = n_failed;
    n_failed = 0;
    fail_at = k > 0 ? n_alloc + k : 0;
    return failed;
}

long ent_test_alloc_count(void) { return n_alloc; }

/* A small synthetic data set: 256 images 1x28x28, 10 classes. */
static ent_dataset *synthetic(void) {
    ent_dataset *d = calloc(1, sizeof *d);
    d->n = 256, d->c = 1, d->h = 28, d->w = 28, d->n_classes = 10;
    d->x = malloc(sizeof(float) * 256 * 784);
    d->y = malloc(sizeof(int32_t) * 256);
    ent_rng r;
    ent_rng_init(&r, 9, 0);
    ent_rng_normal_fill(&r, d->x, 256 * 784, 1.0f);
    for (int i = 0; i < 256; i++) d->y[i] = i % 10;
    return d;
}

/* One optimizer on one network of `preset`: `warmup` steps, not counted,
 * then `steps` steps that must not allocate. `what` names the case in the
 * failure message. */
static void optim_steps_allocate_nothing(const char *what, const char *preset, ent_optim_kind kind, int L,
                                         int warmup, int steps) {
    ent_dataset *d = synthetic();
    ent_model *m = NULL;
    ent_netobj *no = NULL;
    ent_optim *o = NULL;
    CHECK_OK(ent_model_new(&m, preset, NULL, 1, 28, 28, 10, 64));
    int64_t P = ent_model_n_param(m);
    float *theta = ent_alloc(4 * (size_t)P), *buf = ent_alloc(4 * (size_t)(ent_model_n_buffer(m) + 1));
    ent_model_init_params(m, theta, buf, 1);
    CHECK_OK(ent_netobj_new(&no, m, buf, d, 64, 1));
    ent_optim_params p = ent_optim_params_default(kind);
    p.L = L;
    if (kind == ENT_OPTIM_SGD) p.momentum = 0.9, p.nesterov = 1; /* with its buffer */
    CHECK_OK(ent_optim_new(&o, &p, P, 1));
    ent_objective obj = ent_netobj_objective(no);
    double loss;
    for (int i = 0; i < warmup; i++) CHECK_OK(ent_optim_step(o, &obj, theta, 1.0, &loss));
    long before = n_alloc;
    for (int i = 0; i < steps; i++) CHECK_OK(ent_optim_step(o, &obj, theta, 1.0, &loss));
    CHECK_MSG(n_alloc == before, "%s: %ld allocations in %d training steps", what, n_alloc - before, steps);
    ent_optim_free(o);
    ent_netobj_free(no);
    ent_free_aligned(theta);
    ent_free_aligned(buf);
    ent_model_free(m);
    ent_dataset_free(d);
}

/* The classic optimizers (L = 3 for Entropy-SGD): two warm-up steps, then
 * six, which cross an epoch of the 4-batch set. */
static void steps_allocate_nothing(const char *preset, ent_optim_kind kind) {
    char what[128];
    snprintf(what, sizeof what, "%s/%s", preset, ent_optim_kind_name(kind));
    optim_steps_allocate_nothing(what, preset, kind, 3, 2, 6);
}

/* Replica methods: y = 2 replicas, each with its own model and objective. */
static void replica_steps_allocate_nothing(ent_optim_kind kind) {
    ent_dataset *d = synthetic();
    ent_model *m[2] = {NULL, NULL};
    ent_netobj *no[2] = {NULL, NULL};
    float *buf[2] = {NULL, NULL};
    ent_objective obj[2];
    ent_optim_params p = ent_optim_params_default(kind);
    p.replicas = 2, p.L = 2, p.center = kind == ENT_OPTIM_REPLICATED_SGD;
    ent_replicas *r = NULL;
    for (int i = 0; i < 2; i++) {
        CHECK_OK(ent_model_new(&m[i], "mnistfc", NULL, 1, 28, 28, 10, 64));
        buf[i] = ent_alloc(4 * (size_t)(ent_model_n_buffer(m[i]) + 1));
        CHECK_OK(ent_netobj_new(&no[i], m[i], buf[i], d, 64, 1 + (uint64_t)i));
        obj[i] = ent_netobj_objective(no[i]);
    }
    int64_t P = ent_model_n_param(m[0]);
    CHECK_OK(ent_replicas_new(&r, &p, P, 2, 0, 1, 1.0));
    for (int i = 0; r && i < 2; i++) ent_model_init_params(m[i], ent_replicas_theta(r, i), buf[i], 1 + (uint64_t)i);
    double loss;
    if (r) CHECK_OK(ent_replicas_start(r));
    if (r) CHECK_OK(ent_replicas_step(r, obj, 1.0, 0.0, &loss)); /* warm-up, the automatic g0 */
    long before = n_alloc;
    for (int i = 0; r && i < 2; i++) CHECK_OK(ent_replicas_step(r, obj, 1.0, 0.1, &loss));
    CHECK_MSG(n_alloc == before, "%s: %ld allocations in 2 replica steps", ent_optim_kind_name(kind), n_alloc - before);
    ent_replicas_free(r);
    for (int i = 0; i < 2; i++) {
        ent_netobj_free(no[i]);
        ent_free_aligned(buf[i]);
        ent_model_free(m[i]);
    }
    ent_dataset_free(d);
}

/* The optimizers and replica methods of docs/algorithms.md §4 and §5. */
/* The single-vector ones: one warm-up step, then two (L = 2). */
static void relax_steps_allocate_nothing(ent_optim_kind kind) {
    optim_steps_allocate_nothing(ent_optim_kind_name(kind), "mnistfc", kind, 2, 1, 2);
}

ENT_TEST(alloc_none_in_relaxation_and_replica_steps) {
    if (getenv("ENT_TEST_SANITIZER")) return; /* a property of the code, checked in the release suite */
    relax_steps_allocate_nothing(ENT_OPTIM_SGLD);
    relax_steps_allocate_nothing(ENT_OPTIM_SAM);
    relax_steps_allocate_nothing(ENT_OPTIM_HJ_PROX);
    relax_steps_allocate_nothing(ENT_OPTIM_HEAT);
    replica_steps_allocate_nothing(ENT_OPTIM_REPLICATED_SGD);
    replica_steps_allocate_nothing(ENT_OPTIM_ELASTIC_SGD);
    replica_steps_allocate_nothing(ENT_OPTIM_PARLE);
}

ENT_TEST(alloc_none_in_training_steps) {
    long before = n_alloc;
    void *volatile probe = malloc(16); /* the counter works, so the checks below can fail */
    free(probe);
    CHECK(n_alloc == before + 1);
    steps_allocate_nothing("mnistfc", ENT_OPTIM_SGD);
    steps_allocate_nothing("mnistfc", ENT_OPTIM_ADAM);
    steps_allocate_nothing("mnistfc", ENT_OPTIM_ENTROPY_SGD);
    steps_allocate_nothing("lenet", ENT_OPTIM_ENTROPY_SGD);
}

/* A sequence model's training run (embedding, a 2-layer LSTM with dropout
 * between its layers, per-token linear and loss) with carried state in and
 * out: after the first run, which allocates the training workspace, runs
 * allocate nothing. */
ENT_TEST(alloc_none_in_lstm_runs) {
    ent_net *n = ent_net_new("seq");
    int i = ent_net_embedding(n, "embed", ENT_NET_INPUT, 13, 8);
    i = ent_net_dropout(n, "drop", i, 0.3f);
    i = ent_net_lstm(n, "lstm", i, 6, 2, 0.4f, 0.0f);
    ent_net_linear(n, "fc", i, 13, 1);
    ent_model *m = NULL;
    CHECK_OK(ent_model_new_net(&m, n, 7, 1, 1, 13, 5));
    ent_net_free(n);
    if (!m) return;
    const int64_t P = ent_model_n_param(m), S = ent_model_state_size(m);
    float *theta = ent_alloc(4 * (size_t)P), *grad = ent_alloc(4 * (size_t)P);
    float *x = ent_alloc(4 * 35), *s0 = ent_alloc(4 * (size_t)(5 * S)), *s1 = ent_alloc(4 * (size_t)(5 * S));
    int32_t y[35];
    for (int k = 0; k < 35; k++) x[k] = (float)(k * 7 % 13), y[k] = k * 5 % 13;
    ent_model_init_params(m, theta, NULL, 1);
    ent_rng rng;
    ent_rng_init(&rng, 2, 0);
    double loss;
    CHECK_OK(ent_model_run_state(m, theta, NULL, NULL, s0, x, y, 5, 1, &rng, grad, &loss, NULL));
    long before = n_alloc;
    for (int k = 0; k < 4; k++) {
        CHECK_OK(ent_model_run_state(m, theta, NULL, k % 2 ? s1 : s0, k % 2 ? s0 : s1, x, y, 5, 1, &rng,
                                     grad, &loss, NULL));
        CHECK_OK(ent_model_run_state(m, theta, NULL, s0, NULL, x, y, 5, 0, NULL, NULL, &loss, NULL));
    }
    CHECK_MSG(n_alloc == before, "lstm: %ld allocations in 8 runs", n_alloc - before);
    ent_free_aligned(theta), ent_free_aligned(grad), ent_free_aligned(x);
    ent_free_aligned(s0), ent_free_aligned(s1);
    ent_model_free(m);
}
