/* cmd_compare.c — `entropic compare RUNDIR...`: runs side by side by
 * effective epoch (train loss, test error, wall time), then a summary;
 * seeds of one experiment as a group, mean ± sd (compare_stats.c); with
 * --plot, the curves (compare_plot.c). This file reads the runs and the
 * command line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/compare.h"
#include "io/plot.h"

static int column(char *header, const char *name) {
    int i = 0;
    for (char *tok = header; tok; i++) {
        char *comma = strchr(tok, ',');
        size_t len = comma ? (size_t)(comma - tok) : strcspn(tok, "\r\n");
        if (len == strlen(name) && strncmp(tok, name, len) == 0) return i;
        tok = comma ? comma + 1 : NULL;
    }
    return -1;
}

/* config.json: kept whole (groups compare it), and the label, batch size
 * and seed taken from it. Runs are told apart by their directory (two
 * seeds of one optimizer). */
static ent_status read_config(const char *dir, const char *label, cmp_run *r) {
    char path[600], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/config.json", dir);
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    snprintf(r->base, sizeof r->base, "%.*s", (int)strcspn(base, "/"), base);
    ent_status s = ent_read_file(path, &text, &len);
    if (s == ENT_OK) s = ent_jv_parse(&r->config, text, len);
    free(text);
    if (s != ENT_OK) return s;
    const ent_jv *o = ent_jv_get(&r->config, "optimizer");
    const ent_jv *name = o ? ent_jv_get(o, "name") : NULL;
    const ent_jv *b = ent_jv_get(&r->config, "batch_size"), *seed = ent_jv_get(&r->config, "seed");
    if (name && name->type == ENT_JSON_STRING) snprintf(r->opt, sizeof r->opt, "%.23s", name->str);
    if (label) snprintf(r->label, sizeof r->label, "%.47s", label);
    else if (r->opt[0] && strncmp(r->base, r->opt, strlen(r->base)) != 0)
        snprintf(r->label, sizeof r->label, "%.24s (%.12s)", r->base, r->opt);
    else snprintf(r->label, sizeof r->label, "%.38s", r->base);
    r->batch = b && b->type == ENT_JSON_NUMBER ? (int64_t)b->num : 0;
    r->has_seed = seed && seed->type == ENT_JSON_NUMBER;
    r->seed = r->has_seed ? seed->num : 0;
    return ENT_OK;
}

ent_status cmp_read_run(const char *dir, const char *label, cmp_run *r) {
    ent_status s = read_config(dir, label, r);
    if (s != ENT_OK) return s;
    char path[600], line[1024];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) return ent_fail(ENT_ENOENT, "%s: cannot open", path);
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return ent_fail(ENT_EFORMAT, "%s: empty", path);
    }
    int ce = column(line, "effective_epoch"), ct = column(line, "train_loss"),
        cx = column(line, "test_error"), cw = column(line, "wall_seconds"), cg = column(line, "grad_evals");
    if (ce < 0 || ct < 0 || cx < 0 || cw < 0) {
        fclose(f);
        return ent_fail(ENT_EFORMAT, "%s: header lacks effective_epoch/train_loss/test_error/wall_seconds", path);
    }
    while (r->n < CMP_MAX_ROWS && fgets(line, sizeof line, f)) {
        double v[16] = {0};
        int k = 0;
        for (char *p = line; p && k < 16; k++) {
            v[k] = strtod(p, NULL);
            p = strchr(p, ',');
            if (p) p++;
        }
        if (k <= ce || k <= cx) continue;
        r->eff[r->n] = v[ce], r->train_loss[r->n] = v[ct], r->test_err[r->n] = v[cx];
        r->wall[r->n] = v[cw], r->evals[r->n] = cg >= 0 ? v[cg] : 0;
        r->n++;
    }
    fclose(f);
    if (r->n == 0) return ent_fail(ENT_EFORMAT, "%s: no rows", path);
    return ENT_OK;
}

/* --label NAME (repeatable, one per run, in order) is taken out of argv
 * before the option table sees it: the table keeps one value per option.
 * Returns the count, or -1 after printing the problem. */
static int take_labels(int *argc, char **argv, char **labels) {
    int n = 0, out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--label") == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "entropic compare: --label needs a NAME\n");
                return -1;
            }
            v = argv[++i];
        } else if (strncmp(argv[i], "--label=", 8) == 0) {
            v = argv[i] + 8;
        }
        if (!v) {
            argv[out++] = argv[i];
            continue;
        }
        if (n == CMP_MAX_RUNS || !v[0]) {
            fprintf(stderr, "entropic compare: %s\n", v[0] ? "too many --label" : "--label NAME must not be empty");
            return -1;
        }
        labels[n++] = (char *)v;
    }
    *argc = out;
    return n;
}

static void usage(const ent_arg *spec, int n) {
    printf("usage: entropic compare RUNDIR [RUNDIR...] [--label NAME]... [--every E] [--plot FILE.png|FILE.svg]\n\n"
           "Side-by-side table of runs by effective epoch (train loss, test error, wall time),\n"
           "then final and best test error, wall time, gradient evaluations and samples/s.\n"
           "Seeds of one experiment form a group shown as mean ± sd (sample standard deviation)\n"
           "and n: runs given the same --label, or, without --label, runs whose config.json\n"
           "files are equal but for the seed (the seeds distinct).\n\n"
           "  --label NAME                   the name of the next run, once per run in order (equal names: one group)\n");
    ent_args_help(spec, n);
}

/* The command line: directories, labels, options; 0, or the exit status. */
static int parse(int argc, char **argv, char **dirs, int *n_dirs, char **labels, int *n_labels, double *every,
                 char *plot, size_t plot_cap) {
    int help = 0;
    ent_arg spec[] = {
        {.name = "every", .type = ARG_DOUBLE, .dst = every, .help = "row spacing in effective epochs (each run's evaluations are rounded to it)"},
        {.name = "plot", .type = ARG_STRING, .dst = plot, .cap = plot_cap, .help = "draw test error and training loss against effective epochs and wall time (.png or .svg)"},
        {.name = "help", .type = ARG_BOOL, .dst = &help, .help = "this help"},
    };
    if ((*n_labels = take_labels(&argc, argv, labels)) < 0) return 2;
    if (ent_args_parse(spec, 3, argc, argv, "compare", dirs, CMP_MAX_RUNS, n_dirs) != 0) return 2;
    if (help || *n_dirs == 0) {
        usage(spec, 3);
        return help ? -1 : 2;
    }
    if (!(*every > 0)) {
        fprintf(stderr, "entropic compare: --every must be > 0\n");
        return 2;
    }
    if (*n_labels && *n_labels != *n_dirs) {
        fprintf(stderr, "entropic compare: %d --label for %d runs: give one per run, in order\n", *n_labels, *n_dirs);
        return 2;
    }
    if (plot[0] && ent_plot_check_path(plot) != ENT_OK) {
        fprintf(stderr, "entropic compare: --plot %s\n", ent_last_error());
        return 2;
    }
    return 0;
}

int ent_cmd_compare(int argc, char **argv) {
    double every = 1;
    int n_dirs = 0, n_labels = 0;
    char *dirs[CMP_MAX_RUNS], *labels[CMP_MAX_RUNS], plot[600] = "";
    const int rc = parse(argc, argv, dirs, &n_dirs, labels, &n_labels, &every, plot, sizeof plot);
    if (rc) return rc < 0 ? 0 : rc;
    cmp_run *runs = calloc((size_t)n_dirs, sizeof *runs);
    cmp_group *groups = calloc((size_t)n_dirs, sizeof *groups);
    ent_status s = runs && groups ? ENT_OK : ent_fail(ENT_ENOMEM, "out of memory");
    for (int k = 0; k < n_dirs && s == ENT_OK; k++) s = cmp_read_run(dirs[k], n_labels ? labels[k] : NULL, &runs[k]);
    if (s == ENT_OK) {
        const int ng = cmp_group_runs(runs, n_dirs, n_labels > 0, groups);
        cmp_print_table(runs, n_dirs, groups, ng, every);
        cmp_print_summary(runs, n_dirs, groups, ng);
        if (plot[0]) s = cmp_plot(runs, n_dirs, groups, ng, every, plot);
        if (plot[0] && s == ENT_OK) printf("-> %s\n", plot);
    }
    for (int k = 0; runs && k < n_dirs; k++) ent_jv_free(&runs[k].config);
    free(runs), free(groups);
    return ent_cli_status(s, "compare");
}
