/* repro_internal.h — what the parts of `entropic reproduce` share: a
 * command line as words, the options of a sweep, its runs. */
#ifndef ENT_REPRO_INTERNAL_H
#define ENT_REPRO_INTERNAL_H

#include <stdio.h>

#include "reproduce/repro.h"

#define REPRO_MAX_WORDS 128

typedef struct {
    int n;
    size_t used;
    char *word[REPRO_MAX_WORDS];
    char store[8192];
} repro_words;

/* Appends the words of s (split at spaces) to w; -1 when w is full. */
int repro_split(const char *s, repro_words *w);
/* The train options of arm a for budget b (without seed, output, threads). */
int repro_arm_words(const repro_exp *e, const repro_arm *a, repro_budget b, int paper_data, repro_words *w);

typedef struct {
    const repro_exp *e;
    repro_budget budget;
    int seeds, threads, dry_run, max_runs, paper_data;
    int rank;           /* under mpirun: this process's rank (0 writes shared files) */
    char out[512];      /* OUT/NAME */
    char data_dir[512]; /* --data-dir, "" for the train default */
    char text[512];     /* --text, "" for the default corpus */
    char self[512];     /* this program, which runs the children */
} repro_opts;

/* One run of the sweep: arm x seed, and its directory. */
typedef struct {
    int arm, seed;
    char dir[600];
} repro_run;

/* Whether DIR/config.json recorded the train command `planned` (self,
 * "train", options) but for paths, threads and printing; when not, why
 * says which option differs. No config.json: 1. */
int repro_same_settings(const repro_words *planned, const char *dir, char *why, size_t cap);
/* mkdir -p; 0 or -1 (errno says why). */
int repro_make_dirs(const char *path);
/* The sweep's runs in order: arm-major, seeds 1..n. Returns the count. */
int repro_runs(const repro_opts *o, repro_run *runs, int max);
/* The text file the runs of a text experiment read ("" for image data):
 * the short budget's prefix is written under OUT/NAME/data first. 0 or
 * the exit status. */
int repro_text_file(const repro_opts *o, char *path, size_t cap);
/* Runs (or, with --dry-run, prints) this rank's share; 0, 1 (a run
 * failed) or 2. *stopped is set when --max-runs ended it early. */
int repro_sweep(const repro_opts *o, int rank, int size, int *stopped);
/* OUT/NAME/report.md and report.png from the runs that finished. */
int repro_report(const repro_opts *o);

#endif
