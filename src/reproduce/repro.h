/* repro.h — `entropic reproduce`: the papers' experiments as data (the
 * registry, exp_*.c), the sweep that runs every arm x seed as its own run
 * directory and continues an interrupted one (sweep.c), and the report of
 * our numbers beside the papers' (report.c). */
#ifndef ENT_REPRO_H
#define ENT_REPRO_H

#include <stddef.h>

typedef enum { REPRO_SHORT, REPRO_PAPER } repro_budget;

/* A paper's number for one arm: mean ± sd at an effective epoch. */
typedef struct {
    int reported; /* 0: the paper gives no number for this arm */
    double mean, sd, epochs;
} repro_ref;

/* One arm: an optimizer with its settings. Its train command is the
 * experiment's `common` options, then `args`, then the budget's options. */
typedef struct {
    const char *label; /* the run directory's name, OUT/NAME/LABEL/seed-S */
    const char *args;  /* optimizer and its hyper-parameters, both budgets */
    const char *paper; /* the paper's budget: epochs, schedule, evaluation */
    const char *shrt;  /* the short budget: the same scaled down */
    repro_ref ref;
} repro_arm;

#define REPRO_MAX_ARMS 8
#define REPRO_MAX_POST 2

typedef struct {
    const char *name;       /* e.g. esgd-mnistfc */
    const char *what;       /* what it reproduces: paper, table or figure */
    const char *data;       /* our data set, in words */
    const char *paper_data; /* the paper's data set, in words */
    const char *metric;     /* summary.json key: test_error, test_loss, test_perplexity */
    const char *common;     /* train options of every arm: model, data, batch */
    const char *paper_set;  /* --paper-data: the options that select the paper's data set */
    const char *short_set;  /* short budget: data options (subsets, validation split) */
    const char *paper_val;  /* paper budget: validation split ("" for text, which has its own) */
    long text_prefix;       /* short budget of a text set: train on its first N bytes (0: whole file) */
    /* after each run: analysis commands ({run}: its directory, {text}: the
     * text file it read), each done once post_done (in the run) exists */
    const char *post[REPRO_MAX_POST], *post_done[REPRO_MAX_POST];
    const char *differs;    /* where our data differs from the paper's */
    double short_s;         /* measured: seconds of one short run here (2 threads) */
    int n_arms;
    repro_arm arms[REPRO_MAX_ARMS];
} repro_exp;

/* The registry, in the order --list prints it. */
const repro_exp *const *repro_experiments(int *n);
const repro_exp *repro_find(const char *name);

/* The value of option --name in arm a's train command for budget b (the
 * last occurrence; "" for a flag without value), or NULL if absent. */
const char *repro_option(const repro_exp *e, const repro_arm *a, repro_budget b, const char *name, char *buf,
                         size_t cap);
/* The metric in words and its scale in the report (100 for an error in %). */
const char *repro_metric_name(const repro_exp *e);
double repro_metric_scale(const repro_exp *e);

#endif
