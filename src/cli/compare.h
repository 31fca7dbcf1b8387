/* compare.h — what the parts of `entropic compare` share: the runs read
 * from their directories, the groups of seeds they form, the statistics
 * of a group at an effective epoch, and the picture. */
#ifndef ENT_COMPARE_H
#define ENT_COMPARE_H

#include "entropic.h"

#define CMP_MAX_RUNS 64
#define CMP_MAX_ROWS 4096

typedef struct {
    char label[48];  /* --label, or the directory's name (with the optimizer) */
    char base[48];   /* the directory's last component */
    char opt[24];    /* config.json's optimizer name, "" if none */
    int64_t batch;
    int has_seed;    /* config.json names a seed */
    double seed;
    ent_jv config;   /* config.json, type NULL if absent */
    int n;
    double eff[CMP_MAX_ROWS], train_loss[CMP_MAX_ROWS], test_err[CMP_MAX_ROWS], wall[CMP_MAX_ROWS],
        evals[CMP_MAX_ROWS];
} cmp_run;

typedef struct {
    char label[64];
    int n, member[CMP_MAX_RUNS];
} cmp_group;

/* One group at one effective epoch: over its members that evaluated near
 * it (n of them), the mean and the sample standard deviation (n - 1 in
 * the denominator; 0 when n = 1) of each quantity. */
typedef struct {
    int n;
    double loss, loss_sd, err, err_sd, wall, wall_sd;
} cmp_cell;

/* Reads RUNDIR's config.json and metrics.csv into r (zeroed by the
 * caller); label: its name, or NULL for the directory's. */
ent_status cmp_read_run(const char *dir, const char *label, cmp_run *r);
/* Groups: runs given the same --label form one (by_label); otherwise runs
 * whose config.json files are equal but for the seed (and argv, which
 * records it), with distinct seeds, form one. Returns the group count. */
int cmp_group_runs(const cmp_run *runs, int nr, int by_label, cmp_group *g);
/* How far from a grid point an evaluation may lie and still count there. */
double cmp_tolerance(double grid);
/* The smallest grid point above `last` near which some run evaluated;
 * INFINITY when there is none. */
double cmp_next_point(const cmp_run *runs, int nr, double grid, double last);
/* Fills c for group g at grid point e; returns c->n (0: no member there). */
int cmp_cell_at(const cmp_run *runs, const cmp_group *g, double e, double tol, cmp_cell *c);
void cmp_mean_sd(const double *v, int n, double *mean, double *sd);

void cmp_print_table(const cmp_run *runs, int nr, const cmp_group *g, int ng, double grid);
void cmp_print_summary(const cmp_run *runs, int nr, const cmp_group *g, int ng);
/* Test error and training loss against effective epochs and wall time. */
ent_status cmp_plot(const cmp_run *runs, int nr, const cmp_group *g, int ng, double grid, const char *path);

#endif
