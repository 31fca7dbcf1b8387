/* entropic.h — the one public header of the entropic library.
 *
 * entropic trains neural networks with entropy-guided optimizers
 * (Entropy-SGD and relatives) and measures the flatness of the minima found.
 *
 * The whole design rests on one interface: an objective maps a flat float
 * vector theta[P] to a loss and a gradient grad[P] (ent_objective below).
 * Models, analytic test functions and every optimizer meet there.
 *
 * Conventions: prefix ent_/ENT_; fallible calls return ent_status (0 = OK,
 * negative = error) and leave a one-line detail in ent_last_error();
 * whoever calls *_new frees with *_free, and *_free(NULL) is a no-op.
 * Sizes are int64_t. Library code never exits on bad input. */
#ifndef ENTROPIC_H
#define ENTROPIC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status */

/* X(name, code, generic message) — one table generates enum, names, texts. */
#define ENT_STATUS_MAP(X)                                   \
    X(OK, 0, "ok")                                          \
    X(EINVAL, -1, "invalid argument")                       \
    X(ENOMEM, -2, "out of memory")                          \
    X(EIO, -3, "input/output error")                        \
    X(ENOENT, -4, "file not found")                         \
    X(EFORMAT, -5, "malformed or truncated file")           \
    X(ESHAPE, -6, "shape mismatch")                         \
    X(EDIVERGED, -7, "loss is not finite")                  \
    X(EUSAGE, -8, "usage error")

typedef enum {
#define ENT_STATUS_ENUM(name, code, msg) ENT_##name = code,
    ENT_STATUS_MAP(ENT_STATUS_ENUM)
#undef ENT_STATUS_ENUM
} ent_status;

const char *ent_status_name(ent_status s); /* "EFORMAT" */
const char *ent_status_str(ent_status s);  /* "malformed or truncated file" */
/* The specific message of the last failure on this thread (file, offset,
 * expected vs got). Valid until the next failing call on this thread. */
const char *ent_last_error(void);
/* Record a detail message (printf-style) and return s: `return ent_fail(...)`. */
ent_status ent_fail(ent_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ memory, time */

/* 64-byte aligned, zero-filled (every page touched once, here, up front). */
void *ent_alloc(size_t bytes);
void ent_free_aligned(void *p);
double ent_time_seconds(void); /* monotonic clock */

/* Threads: one OpenMP pool, shared with the BLAS. 0 = all cores. */
void ent_set_threads(int n);
int ent_get_threads(void);

/* --------------------------------------------------------------------- rng */

/* Counter-based Philox4x32-10 stream. A stream is (key, counter): splitting
 * is choosing a key, saving is two integers, and bulk draws are parallel
 * and still identical whatever the thread count (element i uses block
 * counter + i/4). */
typedef struct {
    uint64_t key;
    uint64_t counter;
} ent_rng;

/* Stream `stream` of generator `seed`; different streams are independent. */
void ent_rng_init(ent_rng *r, uint64_t seed, uint64_t stream);
uint32_t ent_rng_u32(ent_rng *r);            /* consumes one block */
double ent_rng_uniform(ent_rng *r);          /* in (0, 1) */
uint64_t ent_rng_below(ent_rng *r, uint64_t n); /* uniform in [0, n) */
double ent_rng_normal(ent_rng *r);           /* N(0, 1) */
/* out[i] = N(0,1) * scale, for i < n; advances counter by ceil(n/4). */
void ent_rng_normal_fill(ent_rng *r, float *out, int64_t n, float scale);
/* out[i] = U(lo, hi). */
void ent_rng_uniform_fill(ent_rng *r, float *out, int64_t n, float lo, float hi);
/* Fisher-Yates permutation of 0..n-1. */
void ent_rng_permutation(ent_rng *r, int64_t *perm, int64_t n);

/* -------------------------------------------------------------- vector ops */

/* Flat float vectors; reductions accumulate in double. OpenMP-parallel
 * above a size threshold. */
void ent_vec_zero(float *x, int64_t n);
void ent_vec_copy(float *dst, const float *src, int64_t n);
void ent_vec_scal(float *x, float a, int64_t n);            /* x *= a */
void ent_vec_axpy(float *y, float a, const float *x, int64_t n); /* y += a x */
void ent_vec_axpby(float *y, float a, const float *x, float b, int64_t n); /* y = a x + b y */
double ent_vec_dot(const float *x, const float *y, int64_t n);
double ent_vec_nrm2(const float *x, int64_t n);
int ent_vec_all_finite(const float *x, int64_t n);

/* -------------------------------------------------------------------- gemm */

/* The one GEMM entry point, row-major:
 * C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, op = transpose if t*. */
void ent_gemm(int transA, int transB, int64_t M, int64_t N, int64_t K,
              float alpha, const float *A, int64_t lda, const float *B,
              int64_t ldb, float beta, float *C, int64_t ldc);
/* The obvious triple loop: fallback and test oracle. */
void ent_gemm_naive(int transA, int transB, int64_t M, int64_t N, int64_t K,
                    float alpha, const float *A, int64_t lda, const float *B,
                    int64_t ldb, float beta, float *C, int64_t ldc);

/* ---------------------------------------------------------------- datasets */

/* Images as float N x C x H x W (normalised), labels as int32 in [0, classes). */
typedef struct {
    int64_t n, c, h, w;
    int32_t n_classes;
    float *x;      /* n*c*h*w */
    int32_t *y;    /* n */
    char name[64]; /* "fashion-mnist", "mnist", ... */
} ent_dataset;

typedef enum { ENT_SPLIT_TRAIN = 0, ENT_SPLIT_TEST = 1 } ent_split;

/* Read one IDX image file and its label file (raw or gzip), validate them
 * (magic numbers, dimensions, sizes, truncation, label range, count match),
 * scale pixels to [0,1] and normalise by (x - mean) / std. */
ent_status ent_idx_load(ent_dataset **out, const char *images_path,
                        const char *labels_path, float mean, float std);
/* Named data sets: "fashion-mnist" (default dir /usr/share/datasets/fashion-mnist,
 * Debian package dataset-fashion-mnist) and "mnist". dir NULL = default.
 * Looks for train-images-idx3-ubyte[.gz] etc. A missing file's error names
 * the package or the files to supply. */
ent_status ent_dataset_load(ent_dataset **out, const char *name,
                            const char *dir, ent_split split);
/* Keep the first n samples (n <= d->n), for quick runs and tests. */
void ent_dataset_truncate(ent_dataset *d, int64_t n);
void ent_dataset_free(ent_dataset *d);

/* Mini-batch sampler: epochs of seeded shuffles without replacement; epoch
 * e's order depends only on (seed, e). The last batch of an epoch holds
 * n mod batch samples when that is not 0 (never dropped); the call after it
 * starts the next epoch. State is (seed, epoch, pos): fully restorable. */
typedef struct {
    const ent_dataset *data;
    int64_t batch;
    int64_t *perm; /* n */
    int64_t epoch; /* epoch being drawn, 0 first */
    int64_t pos;   /* next index into perm */
    uint64_t seed;
} ent_sampler;

ent_status ent_sampler_init(ent_sampler *s, const ent_dataset *d,
                            int64_t batch, uint64_t seed);
/* Copy the next batch into x (batch*c*h*w) and y; returns its size (> 0). */
int64_t ent_sampler_next(ent_sampler *s, float *x, int32_t *y);
/* Restore state (epoch, pos) exactly, e.g. from a checkpoint. */
void ent_sampler_seek(ent_sampler *s, int64_t epoch, int64_t pos);
void ent_sampler_free(ent_sampler *s);
int64_t ent_batches_per_epoch(int64_t n, int64_t batch); /* ceil(n/batch) */

/* ------------------------------------------------------------------ models */

/* A record of the parameter (or buffer) table: a named tensor over the flat
 * vector, with PyTorch state_dict name and layout. */
typedef struct {
    char name[64];
    int ndim;
    int64_t shape[4];
    int64_t offset; /* into theta (or buffers), in floats */
    int64_t numel;
    int is_int64;   /* stored as I64 in checkpoints (num_batches_tracked) */
} ent_tensor_info;

typedef struct ent_model ent_model;

typedef struct {
    float dropout;       /* hidden dropout; < 0 = preset default */
    float input_dropout; /* < 0 = preset default */
    float bn_momentum;   /* PyTorch convention (new stat weight), default 0.1 */
    float bn_eps;        /* default 1e-5 */
} ent_model_opts;

ent_model_opts ent_model_opts_default(void);
/* Presets: "mnistfc", "lenet". in_c/h/w: per-sample input shape.
 * max_batch: largest batch any forward will see (plans all buffers). */
ent_status ent_model_new(ent_model **out, const char *preset,
                         const ent_model_opts *opts, int64_t in_c,
                         int64_t in_h, int64_t in_w, int64_t n_classes,
                         int64_t max_batch);
void ent_model_free(ent_model *m);
const char *ent_model_preset(const ent_model *m);
int64_t ent_model_n_param(const ent_model *m);
int64_t ent_model_n_buffer(const ent_model *m);
int64_t ent_model_max_batch(const ent_model *m);
/* The options in force (preset defaults filled in). */
ent_model_opts ent_model_get_opts(const ent_model *m);
/* Parameter and buffer tables (borrowed, valid for the model's life). */
const ent_tensor_info *ent_model_params(const ent_model *m, int *count);
const ent_tensor_info *ent_model_buffers(const ent_model *m, int *count);
/* PyTorch default initialisation from `seed` (stream 0 of it). */
void ent_model_init_params(const ent_model *m, float *theta, float *buffers,
                           uint64_t seed);

/* Forward (and backward) on one batch x[n, c, h, w], labels y[n].
 * train: dropout on, batch-norm uses batch statistics and updates the
 * running statistics in `buffers`. grad != NULL: writes the gradient of
 * the mean cross-entropy (overwrites). Returns the mean loss in *loss and
 * the number of correct argmax predictions in *correct (either may be NULL).
 * rng: dropout stream (used only when train). */
ent_status ent_model_run(ent_model *m, const float *theta, float *buffers,
                         const float *x, const int32_t *y, int64_t n,
                         int train, ent_rng *rng, float *grad, double *loss,
                         int64_t *correct);
/* Logits of the last ent_model_run (n x n_classes, borrowed). */
const float *ent_model_logits(const ent_model *m);

/* Mean loss and error (fraction) over a whole data set, eval mode. */
ent_status ent_model_evaluate(ent_model *m, const float *theta,
                              float *buffers, const ent_dataset *d,
                              double *loss, double *error);

/* --------------------------------------------------------------- objective */

/* The interface every optimizer and analysis uses.
 * next_batch: draw the next mini-batch (stochastic objectives) — may be NULL.
 * eval: f(theta; current batch) into *loss; if grad != NULL write the
 *       gradient there (overwrite). */
typedef struct {
    int64_t n_param;
    void *ctx;
    ent_status (*next_batch)(void *ctx);
    ent_status (*eval)(void *ctx, const float *theta, float *grad,
                       double *loss);
} ent_objective;

static inline ent_status ent_objective_next(const ent_objective *o) {
    return o->next_batch ? o->next_batch(o->ctx) : ENT_OK;
}
static inline ent_status ent_objective_eval(const ent_objective *o,
                                            const float *theta, float *grad,
                                            double *loss) {
    return o->eval(o->ctx, theta, grad, loss);
}

/* Network objective: a model + its training set as an ent_objective.
 * next_batch draws the next mini-batch from a seeded sampler; eval runs the
 * model in training mode (dropout on, batch-norm statistics updated in
 * `buffers`) and writes the gradient of the mean cross-entropy. */
typedef struct ent_netobj ent_netobj;
ent_status ent_netobj_new(ent_netobj **out, ent_model *m, float *buffers,
                          const ent_dataset *train, int64_t batch,
                          uint64_t seed);
void ent_netobj_free(ent_netobj *o);
ent_objective ent_netobj_objective(ent_netobj *o);
ent_sampler *ent_netobj_sampler(ent_netobj *o); /* for checkpoints */
ent_rng *ent_netobj_dropout_rng(ent_netobj *o);
int64_t ent_netobj_correct(const ent_netobj *o); /* of the last eval */
int64_t ent_netobj_batch_size(const ent_netobj *o); /* of the last batch */

/* Analytic objectives (for tests and demonstrations). */
typedef struct ent_analytic ent_analytic;
/* f(x) = 1/2 sum_i a_i (x_i - c_i)^2; c NULL = 0. Gradient noise: if
 * noise_std > 0, each next_batch draws g-noise N(0, noise_std^2) added to
 * the gradient (a stochastic gradient with known mean). */
ent_status ent_analytic_quadratic(ent_analytic **out, int64_t n,
                                  const double *a, const double *c,
                                  double noise_std, uint64_t seed);
/* Rosenbrock in 2-D: (1-x)^2 + 100 (y - x^2)^2. */
ent_status ent_analytic_rosenbrock(ent_analytic **out);
ent_objective ent_analytic_objective(ent_analytic *a);
void ent_analytic_free(ent_analytic *a);

/* -------------------------------------------------------------- optimizers */

typedef enum {
    ENT_OPTIM_SGD = 0,
    ENT_OPTIM_ADAM,
    ENT_OPTIM_ENTROPY_SGD,
} ent_optim_kind;

/* How Entropy-SGD's inner and outer loops update. */
typedef enum { ENT_UPDATE_SGD = 0, ENT_UPDATE_ADAM } ent_update_rule;

typedef struct {
    ent_optim_kind kind;
    /* shared */
    double lr;            /* learning rate eta (outer step for Entropy-SGD) */
    double momentum;      /* SGD momentum / Entropy-SGD outer momentum */
    int nesterov;
    double weight_decay;  /* L2 added to the gradient (outer step) */
    double beta1, beta2, adam_eps; /* Adam (and Entropy-Adam) moments */
    /* Entropy-SGD (Chaudhari et al. 2017, Algorithm 1) */
    int L;                /* Langevin steps per update */
    double gamma0;        /* initial scope gamma */
    double gamma1;        /* scoping: gamma(t) = gamma0 (1 + gamma1)^t, t = updates */
    double gamma_max;     /* cap on gamma (0 = none) */
    double sgld_lr;       /* inner step eta' */
    double noise;         /* thermal noise epsilon */
    int noise_code;       /* 0: std = eps sqrt(eta') (paper); 1: eps sqrt(2 eta') (code) */
    double alpha;         /* weight of the newest sample in mu (paper 0.75) */
    double inner_momentum;
    int inner_nesterov;
    int inner_momentum_grad_only; /* 1: momentum on grad f only (Lua code) */
    double inner_weight_decay;
    int outer_unscaled;   /* 1: x -= eta gamma (x - mu) (paper line 7); 0: eta (x - mu) */
    ent_update_rule outer_rule; /* SGD(+momentum) or Adam on the local-entropy gradient */
    ent_update_rule inner_rule; /* SGD(+momentum) or Adam-preconditioned SGLD */
    int grad_at_x;        /* 1: also evaluate the gradient at x each update (code) */
} ent_optim_params;

ent_optim_params ent_optim_params_default(ent_optim_kind kind);
/* Apply the reference Lua code's conventions (A.7 of algorithms.md):
 * alpha 0.25, noise eps sqrt(2 eta'), no outer momentum, inner Nesterov 0.9
 * on grad f only, extra gradient at x. */
void ent_optim_params_reference_code(ent_optim_params *p);
/* Check ranges; on failure returns ENT_EUSAGE with a message naming the
 * offending parameter. */
ent_status ent_optim_params_check(const ent_optim_params *p);
const char *ent_optim_kind_name(ent_optim_kind k);
int ent_optim_kind_parse(const char *s, ent_optim_kind *out);

typedef struct ent_optim ent_optim;

/* All state vectors are allocated here, once (no allocation in steps). */
ent_status ent_optim_new(ent_optim **out, const ent_optim_params *p,
                         int64_t n_param, uint64_t seed);
void ent_optim_free(ent_optim *o);
/* One parameter update of theta (for Entropy-SGD: one outer step with L
 * inner Langevin steps). Draws its own mini-batches through
 * ent_objective_next. *loss = mean loss over the gradient evaluations done.
 * lr_scale multiplies the learning rate (step schedules). */
ent_status ent_optim_step(ent_optim *o, const ent_objective *obj,
                          float *theta, double lr_scale, double *loss);
/* Mini-batch gradients per update: 1, or L (+1 with grad_at_x). */
int ent_optim_grads_per_step(const ent_optim *o);
/* Mini-batches of data per update, counted for effective epochs: 1 or L. */
int ent_optim_batches_per_step(const ent_optim *o);
int64_t ent_optim_steps_done(const ent_optim *o);
double ent_optim_gamma(const ent_optim *o); /* current scope (Entropy-SGD) */
const ent_optim_params *ent_optim_get_params(const ent_optim *o);

/* Named state for checkpoints: vectors (length n_param) and scalars. */
typedef struct {
    const char *name; /* e.g. "momentum", "x_prime", "mu", "adam_m" */
    float *data;
    int64_t n;
} ent_state_vec;
int ent_optim_state_vectors(ent_optim *o, ent_state_vec *out, int max);
/* Scalars as (name, value) pairs: step counter, rng key/counter, ... */
typedef struct {
    const char *name;
    uint64_t value;
} ent_state_u64;
int ent_optim_state_scalars(const ent_optim *o, ent_state_u64 *out, int max);
ent_status ent_optim_set_scalar(ent_optim *o, const char *name, uint64_t v);

/* ------------------------------------------------------------ training run */

#define ENT_MAX_MILESTONES 16

typedef struct {
    char model[32];          /* preset name */
    char dataset[32];        /* "fashion-mnist" | "mnist" */
    char data_dir[512];      /* "" = the data set's default */
    char out_dir[512];       /* run directory */
    char init_from[512];     /* "" or a checkpoint to take weights from */
    int resume;              /* 1: continue the run in out_dir exactly */
    ent_model_opts model_opts;
    ent_optim_params optim;
    double epochs;           /* budget in EFFECTIVE epochs (x L for Entropy-SGD) */
    int64_t batch;
    uint64_t seed;
    int threads;             /* 0 = all cores */
    double eval_every;       /* effective epochs between evaluations */
    int n_milestones;        /* lr *= lr_factor at each milestone (effective epochs) */
    double lr_milestones[ENT_MAX_MILESTONES];
    double lr_factor;
    int64_t train_subset, test_subset; /* 0 = whole set */
    int progress;            /* 1: progress line on a terminal, plain lines otherwise; 0: quiet */
    int argc;                /* the command line, recorded in config.json */
    char **argv;
} ent_train_config;

ent_train_config ent_train_config_default(void);
/* Check every setting; ENT_EUSAGE with a message naming the bad one. */
ent_status ent_train_config_check(const ent_train_config *c);
/* Train; writes out_dir/config.json, metrics.csv, checkpoint.safetensors.
 * Returns ENT_EDIVERGED (and keeps the last good checkpoint) if the loss
 * becomes NaN or infinite. */
ent_status ent_train_run(const ent_train_config *c);

/* Checkpoints: model tensors under their state_dict names, optimizer state
 * under "optim.", run state in the metadata. */
ent_status ent_checkpoint_load_weights(const char *path, const ent_model *m,
                                       float *theta, float *buffers);

/* ----------------------------------------------------------- safetensors */

/* One tensor to write: F32 data (I64 if is_int64: the floats are written as
 * rounded int64 values). */
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[4];
    const float *data;
    int is_int64;
} ent_st_tensor;

/* Write atomically: path.tmp, fsync, rename. Metadata: string pairs
 * (keys[i], values[i]) under "__metadata__". */
ent_status ent_safetensors_write(const char *path, const ent_st_tensor *t,
                                 int n_tensors, const char *const *meta_keys,
                                 const char *const *meta_values, int n_meta);

typedef struct ent_st_file ent_st_file;
/* Read and validate a whole file (header JSON, offsets within the file,
 * dtype F32/I64, sizes). */
ent_status ent_safetensors_read(ent_st_file **out, const char *path);
void ent_st_file_free(ent_st_file *f);
int ent_st_count(const ent_st_file *f);
/* Find a tensor by name: returns 1 and fills ndim/shape; 0 if absent. */
int ent_st_find(const ent_st_file *f, const char *name, int *ndim,
                int64_t shape[4]);
/* Copy a tensor into dst as float (converts I64); checks numel == n. */
ent_status ent_st_get(const ent_st_file *f, const char *name, float *dst,
                      int64_t n);
const char *ent_st_meta(const ent_st_file *f, const char *key); /* or NULL */
/* Model weights from an open checkpoint: every tensor of the model's
 * tables, by state_dict name, shapes checked (ENT_ESHAPE names the tensor). */
ent_status ent_checkpoint_read_weights(const ent_st_file *f, const char *path,
                                       const ent_model *m, float *theta,
                                       float *buffers);

/* ------------------------------------------------------------------- json */

/* A tiny streaming JSON writer into a growable buffer. */
typedef struct {
    char *buf;
    size_t len, cap;
    int depth;
    int need_comma[32];
    int failed;
} ent_json;

void ent_json_init(ent_json *j);
void ent_json_free(ent_json *j);
void ent_json_begin_object(ent_json *j, const char *key); /* key NULL at top/in array */
void ent_json_end_object(ent_json *j);
void ent_json_begin_array(ent_json *j, const char *key);
void ent_json_end_array(ent_json *j);
void ent_json_string(ent_json *j, const char *key, const char *v);
void ent_json_number(ent_json *j, const char *key, double v);
void ent_json_int(ent_json *j, const char *key, int64_t v);
void ent_json_bool(ent_json *j, const char *key, int v);
/* Write j's text atomically to path. */
ent_status ent_json_save(const ent_json *j, const char *path);

/* A minimal JSON reader (objects, arrays, strings, numbers, literals) used
 * for safetensors headers and config files. */
typedef enum {
    ENT_JSON_NULL, ENT_JSON_BOOL, ENT_JSON_NUMBER, ENT_JSON_STRING,
    ENT_JSON_ARRAY, ENT_JSON_OBJECT
} ent_json_type;

typedef struct ent_jv ent_jv;
struct ent_jv {
    ent_json_type type;
    double num;
    char *str;       /* STRING value */
    char **keys;     /* OBJECT keys (n) */
    ent_jv *items;   /* ARRAY items or OBJECT values (n) */
    int64_t n;
};
/* Parse text[0..len); on error returns ENT_EFORMAT with the byte offset. */
ent_status ent_jv_parse(ent_jv *out, const char *text, size_t len);
void ent_jv_free(ent_jv *v);
const ent_jv *ent_jv_get(const ent_jv *obj, const char *key); /* or NULL */

/* ------------------------------------------------------------------- files */

/* Write bytes to path atomically (path.tmp, fsync, rename, fsync dir). */
ent_status ent_write_file_atomic(const char *path, const void *data,
                                 size_t len);
/* Read a whole file; *data malloc'd, caller frees. */
ent_status ent_read_file(const char *path, char **data, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* ENTROPIC_H */
