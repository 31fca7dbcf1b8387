/* cmd_reproduce.c — `entropic reproduce`: the papers' experiments by
 * name (src/reproduce/): --list, or one experiment's sweep of arms x
 * seeds and its report. Under mpirun each rank takes the runs i with
 * i % size == rank, each run in one process of its own; rank 0 writes the
 * report once every rank has finished its share (the run directories
 * must then be on a file system every rank sees). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/compare.h"
#include "reproduce/repro_internal.h"

/* The arms' effective epochs in budget b: "20" when equal, else per arm. */
static void print_epochs(const repro_exp *e, repro_budget b) {
    char v[64], first[64] = "";
    int same = 1;
    for (int a = 0; a < e->n_arms; a++) {
        const char *x = repro_option(e, &e->arms[a], b, "epochs", v, sizeof v);
        if (a == 0) snprintf(first, sizeof first, "%s", x ? x : "?");
        else same &= x && strcmp(x, first) == 0;
    }
    if (same) {
        printf("%s", first);
        return;
    }
    for (int a = 0; a < e->n_arms; a++) {
        const char *x = repro_option(e, &e->arms[a], b, "epochs", v, sizeof v);
        printf("%s%s %s", a ? ", " : "", e->arms[a].label, x ? x : "?");
    }
}

static void list(void) {
    int n;
    const repro_exp *const *all = repro_experiments(&n);
    for (int i = 0; i < n; i++) {
        const repro_exp *e = all[i];
        printf("%-14s %s\n%-14s data: %s (the paper's: %s)\n%-14s arms:", e->name, e->what, "", e->data,
               e->paper_data, "");
        for (int a = 0; a < e->n_arms; a++) printf(" %s", e->arms[a].label);
        printf("\n%-14s budget: short ", "");
        print_epochs(e, REPRO_SHORT);
        if (e->short_s > 0)
            printf(" effective epochs, %.3g s a run, %.2g min for 3 seeds (measured here, 2 threads)", e->short_s,
                   e->short_s * e->n_arms * 3 / 60);
        else printf(" effective epochs (time not measured)");
        printf("; paper ");
        print_epochs(e, REPRO_PAPER);
        printf(" effective epochs\n\n");
    }
}

static void usage(const ent_arg *spec, int n) {
    printf("usage: entropic reproduce --list\n"
           "       entropic reproduce NAME [--seeds N] [--budget short|paper] [--out DIR] [--data-dir DIR]\n"
           "                          [--paper-data] [--threads T] [--dry-run] [--max-runs K]\n\n"
           "Runs every arm x seed of experiment NAME as its own run directory OUT/NAME/ARM/seed-S\n"
           "(`entropic train`), skips the runs that finished, continues the interrupted ones, then\n"
           "writes OUT/NAME/report.md (our mean ± sd beside the paper's numbers) and report.png.\n"
           "Running the same command again after an interruption continues where it stopped.\n\n");
    ent_args_help(spec, n);
}

typedef struct {
    int list, help, budget;
    char out[400];
} repro_cli;

static int parse(int argc, char **argv, repro_opts *o, repro_cli *x) {
    char *pos[2];
    int n_pos = 0;
    ent_arg spec[] = {
        {.name = "list", .type = ARG_BOOL, .dst = &x->list, .help = "name every experiment: what it reproduces, its data, budget and time"},
        {.name = "seeds", .type = ARG_INT, .dst = &o->seeds, .help = "seeds 1..N of every arm"},
        {.name = "budget", .type = ARG_CHOICE, .dst = &x->budget, .choices = "short|paper", .help = "short: scaled down to minutes; paper: the papers' epochs"},
        {.name = "out", .type = ARG_STRING, .dst = x->out, .cap = sizeof x->out, .help = "where OUT/NAME/... goes"},
        {.name = "data-dir", .type = ARG_STRING, .dst = o->data_dir, .cap = sizeof o->data_dir, .help = "the data set's folder (as train's --data-dir)"},
        {.name = "text", .type = ARG_STRING, .dst = o->text, .cap = sizeof o->text, .help = "text experiments: the corpus (default: the Brown corpus)"},
        {.name = "paper-data", .type = ARG_BOOL, .dst = &o->paper_data, .help = "the paper's data set (MNIST, CIFAR-10, PTB: with --data-dir; War and Peace: --text)"},
        {.name = "threads", .type = ARG_INT, .dst = &o->threads, .help = "threads of each run (0 = train's default; under mpirun: the cores / ranks per host)"},
        {.name = "dry-run", .type = ARG_BOOL, .dst = &o->dry_run, .help = "print each run's state and command, run nothing"},
        {.name = "max-runs", .type = ARG_INT, .dst = &o->max_runs, .help = "stop after starting K runs, as if interrupted (0 = all)"},
        {.name = "help", .type = ARG_BOOL, .dst = &x->help, .help = "this help"},
    };
    const int ns = (int)(sizeof spec / sizeof *spec);
    if (ent_args_parse(spec, ns, argc, argv, "reproduce", pos, 2, &n_pos) != 0) return 2;
    if (x->help || (!x->list && n_pos == 0)) {
        usage(spec, ns);
        return x->help ? -1 : 2;
    }
    if (x->list) return list(), -1;
    if (n_pos != 1) return fprintf(stderr, "entropic reproduce: give one experiment NAME, got %d\n", n_pos), 2;
    if (!(o->e = repro_find(pos[0])))
        return fprintf(stderr, "entropic reproduce: unknown experiment '%s' (entropic reproduce --list names them)\n",
                       pos[0]), 2;
    if (o->seeds < 1 || o->seeds * o->e->n_arms > CMP_MAX_RUNS)
        return fprintf(stderr, "entropic reproduce: --seeds must be 1..%d for %s's %d arms, got %d\n",
                       CMP_MAX_RUNS / o->e->n_arms, o->e->name, o->e->n_arms, o->seeds), 2;
    const int text = strstr(o->e->common, "--dataset text") != NULL;
    if (o->paper_data && !(text ? o->text[0] : o->data_dir[0]))
        return fprintf(stderr, "entropic reproduce: --paper-data needs %s (%s)\n", text ? "--text FILE" : "--data-dir DIR",
                       o->e->paper_data), 2;
    if (o->threads < 0 || o->threads > 1024 || o->max_runs < 0)
        return fprintf(stderr, "entropic reproduce: --threads must be 0..1024 and --max-runs >= 0\n"), 2;
    return 0;
}

/* Every rank's share done: rank 0 learns whether any stopped early. */
static int gather(int rc, int *stopped) {
    if (ent_dist_env_size() <= 1) return rc;
    if (ent_dist_init(NULL, NULL) != ENT_OK) return ent_cli_status(ENT_EIO, "reproduce");
    double v[2] = {(double)*stopped, (double)(rc != 0)};
    if (ent_dist_allreduce_sum_f64(v, 2) != ENT_OK) return ent_cli_status(ENT_EIO, "reproduce");
    *stopped = v[0] > 0;
    return rc ? rc : v[1] > 0;
}

int ent_cmd_reproduce(int argc, char **argv) {
    repro_opts o = {.seeds = 3};
    repro_cli x = {0};
    snprintf(x.out, sizeof x.out, "runs/reproduce");
    int rc = parse(argc, argv, &o, &x);
    if (rc) return rc < 0 ? 0 : rc;
    o.budget = x.budget ? REPRO_PAPER : REPRO_SHORT;
    snprintf(o.out, sizeof o.out, "%s/%s", x.out, o.e->name);
    /* The children run this very program, even if a rebuild replaced its file. */
    snprintf(o.self, sizeof o.self, "/proc/self/exe");
    const int rank = ent_dist_env_rank(), size = ent_dist_env_size(), local = ent_dist_env_local_size();
    o.rank = rank;
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (o.threads == 0 && local > 1) o.threads = cores / local > 1 ? (int)(cores / local) : 1;
    int stopped = 0;
    rc = repro_sweep(&o, rank, size, &stopped);
    rc = gather(rc, &stopped);
    if (rank == 0 && stopped)
        printf("stopped after %d runs (--max-runs): the same command continues the sweep\n", o.max_runs);
    else if (rank == 0 && !o.dry_run && rc != 2) {
        const int r2 = repro_report(&o);
        rc = r2 ? r2 : rc;
    }
    ent_dist_finalize();
    return rc;
}
