/* analysis_cli.h — what `entropic hessian` and `entropic flatness` share:
 * a checkpoint rebuilt into its network, and the data it is measured on. */
#ifndef ENT_ANALYSIS_CLI_H
#define ENT_ANALYSIS_CLI_H

#include "entropic.h"

typedef struct {
    char path[512];
    char model[32];    /* the network's name */
    char given[512];   /* --model: a preset or a network file ("": none) */
    ent_st_file *file; /* between open and build */
    ent_model *m;
    float *theta, *buffers;
} ent_ckpt;

/* Read and validate the checkpoint file (fails fast, before any data set
 * is read); then build its network for inputs of d's shape and batches of
 * up to max_batch, and load the weights (shapes checked). ent_ckpt_free in
 * every case. The network: `model` (a preset, with the metadata's dropout
 * and BN options, or a network file) if given, else the one the metadata
 * records ("entropic.network", or the preset named "model"). A checkpoint
 * without metadata (PyTorch's save_file of a state_dict) needs `model`;
 * one with metadata must agree with a preset given. */
ent_status ent_ckpt_open(ent_ckpt *c, const char *path, const char *model);
ent_status ent_ckpt_build(ent_ckpt *c, const ent_dataset *d, int64_t max_batch);
/* Between open and build: the preprocessing the checkpoint's run applied
 * to its data (metadata "data.preprocess"), applied to d and the n_more
 * others too; gcn-zca reads the run's ENT_ZCA_FILE beside the checkpoint
 * (a one-line error if it is not there). */
ent_status ent_ckpt_preprocess(const ent_ckpt *c, ent_dataset *d, ent_dataset *const *more, int n_more);
/* Token models, between open and build: the checkpoint's vocabulary and
 * the window it was trained with (ENT_EFORMAT naming the file when it has
 * none); then its network for windows of `steps` tokens (1 to sample). */
ent_status ent_ckpt_vocab(const ent_ckpt *c, ent_vocab **vocab, int64_t *bptt);
ent_status ent_ckpt_build_tokens(ent_ckpt *c, const ent_vocab *v, int64_t steps, int64_t max_batch);
void ent_ckpt_free(ent_ckpt *c);

/* `entropic eval` of a token model (cmd_eval_tokens.c): split 0 test,
 * 1 train, 2 validation; batch <= 0: the run's (metadata data.batch). */
typedef struct {
    double loss, error; /* per token */
    int64_t tokens;     /* predicted */
    int chars;          /* a character vocabulary: bits per character apply */
    char model[32];
} ent_token_eval;
ent_status ent_cli_eval_tokens(const char *ckpt, const char *model, const ent_data_source *data, int split,
                               int64_t batch, ent_token_eval *out);

/* Split `split` of the data source (ent_data_load), the first n samples
 * (n <= 0 or n >= size: all). A token corpus ("text", "ptb") gives its
 * training or test split as windows of the length checkpoint `ckpt` was
 * trained with (ent_tokens_windows), its vocabulary checked against the
 * checkpoint's. */
ent_status ent_cli_dataset(ent_dataset **out, const ent_data_source *src, ent_split split, int64_t n,
                           const char *ckpt);
/* ENT_EFORMAT naming `path` unless the two vocabularies are the same. */
ent_status ent_cli_same_vocab(const ent_vocab *ckpt, const ent_vocab *data, const char *path);

/* Write text to path atomically (CSV files). */
ent_status ent_cli_write_text(const char *path, const char *text, size_t len);

/* mkdir -p of one level (the parent must exist); ENT_EIO naming it. */
ent_status ent_cli_mkdir(const char *dir);

/* The pictures of `entropic hessian` (hessian_plot.c). */
typedef struct {
    const char *title;       /* first line above the panels */
    const double *x;         /* points (eigenvalues, or quadrature nodes) */
    const double *w;         /* their weights (NULL = 1 each) */
    int64_t n;
    double count_scale;      /* bars show count_scale * weight per bin */
    double sigma;            /* > 0: Gaussian-smoothed (SLQ density) */
    double threshold;        /* |lambda| < threshold is "near zero" */
    const char *const *note; /* summary lines */
    int n_note;
    const char *xlabel;      /* the histograms' axis (NULL: "eigenvalue lambda") */
} ent_spectrum_picture;
ent_status ent_spectrum_plot(const ent_spectrum_picture *p, const char *path);
/* Lanczos extremes: top (descending) and bottom (ascending) values. */
ent_status ent_extremes_plot(const char *title, const double *top, const double *bottom,
                            int k, const char *const *note, int n_note, const char *path);

/* The exact spectrum for `entropic hessian` (hessian_exact.c). */
typedef struct {
    const char *out_dir; /* the columns file, hessian_columns.bin, goes here */
    double max_bytes;    /* <= 0: MemAvailable */
    int resume;          /* continue from out_dir's columns file */
    uint64_t key;        /* ent_cli_exact_key of the run */
} ent_cli_exact_args;
/* ent_hessian_spectrum with the progress line, the memory limit (*limit:
 * the one used) and the columns file, removed once solved. */
ent_status ent_cli_exact(const ent_hvp *h, const ent_nethess *nh, const ent_cli_exact_args *a, double *eig,
                         ent_spectrum_info *info, double *limit);
/* What identifies the operator: weights, samples, labels, --params, BN mode. */
uint64_t ent_cli_exact_key(const float *theta, int64_t P, const ent_dataset *d, const char *params, int bn_train);
/* Bounds on each eigenvalue's error (see docs/analysis.md): the
 * eigensolver's n eps ||H||_2, and the products' n max |H_ij - H_ji|. */
void ent_cli_exact_bounds(const double *eig, int64_t n, const ent_spectrum_info *info, double *eig_bound,
                          double *hvp_bound);
/* --method fisher | hutchinson (hessian_proxy.c): files and the line. */
typedef struct {
    int fisher;                 /* 1: fisher, 0: hutchinson */
    const char *out, *model, *ckpt, *dataset, *params;
    int svg, single, probes;
    int64_t samples, minibatch, n_total;
    uint64_t seed;
    double threshold, loss, error, gnorm;
} ent_cli_proxy_args;
ent_status ent_cli_hessian_proxy(const ent_cli_proxy_args *a, const ent_hvp *h, const ent_ckpt *c,
                                 const ent_dataset *d, const ent_nethess_opts *no);
/* --method fisher --fisher-from adam: fisher.csv and summary.json from the
 * opened checkpoint's Adam moments alone (no data); ENT_EUSAGE when it has
 * none. */
ent_status ent_cli_fisher_from_adam(const ent_cli_proxy_args *a, const ent_ckpt *c);

/* MemAvailable of /proc/meminfo in bytes (0 if unknown); "20G", "512M",
 * "3e9" -> bytes (decimal units; 0 if not a size). */
double ent_cli_mem_available(void);
int ent_cli_parse_bytes(const char *text, double *bytes);

#endif
