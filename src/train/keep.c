/* keep.c — what a run keeps beside its latest checkpoint: the checkpoints
 * of the last K evaluations (--keep-last, named by effective epoch and
 * step), the one of the lowest validation error (--keep-best), and
 * summary.json with the final point and the best one. The best is chosen
 * on the validation set (--val-split) only, never on the test set: without
 * a validation set there is no best. Rank 0 alone calls these. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/train_run.h"

#define EPOCH_PREFIX "checkpoint-epoch-"
#define CKPT_SUFFIX ".safetensors"
#define BEST_NAME "checkpoint-best.safetensors"
#define MAX_COLUMNS 256

/* A value as metrics.csv prints it ("%.6f"). The best is compared on these,
 * so a resumed run, which reads them back, chooses as an uninterrupted one. */
static double as_printed(double v) {
    char b[64];
    snprintf(b, sizeof b, "%.6f", v);
    return strtod(b, NULL);
}

/* The whole file copied to dst atomically (temporary file, fsync, rename),
 * as the checkpoint itself is written. */
static ent_status copy_file(const char *src, const char *dst) {
    char *data = NULL;
    size_t len = 0;
    ent_status s = ent_read_file(src, &data, &len);
    if (s == ENT_OK) s = ent_write_file_atomic(dst, data, len);
    free(data);
    return s;
}

static void epoch_path(const ent_run *R, const ent_eval_point *e, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/" EPOCH_PREFIX "%.3f-step-%lld" CKPT_SUFFIX, R->r.cfg->out_dir, e->eff_epoch,
             (long long)e->step);
}

static void best_path(const ent_run *R, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/" BEST_NAME, R->r.cfg->out_dir);
}

/* The step in an epoch checkpoint's file name, or -1 for any other name. */
static int64_t epoch_file_step(const char *name) {
    double epoch;
    long long step;
    int end = 0;
    if (sscanf(name, EPOCH_PREFIX "%lf-step-%lld%n", &epoch, &step, &end) != 2 || end == 0) return -1;
    return strcmp(name + end, CKPT_SUFFIX) == 0 ? (int64_t)step : -1;
}

typedef struct {
    int64_t step;
    char name[256];
} epoch_file;

static int later_first(const void *a, const void *b) {
    const int64_t x = ((const epoch_file *)a)->step, y = ((const epoch_file *)b)->step;
    return (x < y) - (x > y);
}

/* The epoch checkpoints in the run directory, latest first; *n of them. */
static ent_status list_epoch_files(const char *dir, epoch_file **out, size_t *n) {
    DIR *d = opendir(dir);
    if (!d) return ent_fail(ENT_EIO, "%s: cannot list the run directory: %s", dir, strerror(errno));
    epoch_file *f = NULL;
    size_t k = 0, cap = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        const int64_t step = epoch_file_step(de->d_name);
        if (step < 0 || strlen(de->d_name) >= sizeof f->name) continue;
        if (k == cap) {
            epoch_file *g = realloc(f, (cap = cap ? 2 * cap : 16) * sizeof *f);
            if (!g) {
                free(f);
                closedir(d);
                return ent_fail(ENT_ENOMEM, "%s: out of memory listing checkpoints", dir);
            }
            f = g;
        }
        f[k].step = step;
        snprintf(f[k].name, sizeof f[k].name, "%s", de->d_name);
        k++;
    }
    closedir(d);
    if (k) qsort(f, k, sizeof *f, later_first);
    *out = f;
    *n = k;
    return ENT_OK;
}

/* Keep the K latest epoch checkpoints up to step `now`; remove the others
 * (one of a later step belongs to a run this one has replaced). */
static ent_status prune_epoch_files(const ent_run *R, int64_t now) {
    const char *dir = R->r.cfg->out_dir;
    epoch_file *f = NULL;
    size_t n = 0;
    ent_status s = list_epoch_files(dir, &f, &n);
    int kept = 0;
    for (size_t i = 0; s == ENT_OK && i < n; i++) {
        if (f[i].step <= now && kept < R->r.cfg->keep_last) {
            kept++;
            continue;
        }
        char path[800];
        snprintf(path, sizeof path, "%s/%s", dir, f[i].name);
        if (unlink(path) != 0) s = ent_fail(ENT_EIO, "%s: cannot remove: %s", path, strerror(errno));
    }
    free(f);
    return s;
}

/* What the best is chosen on: the validation error, or for token runs
 * the validation loss (perplexity, which their papers report). */
static double val_score(const ent_run *R, const ent_eval_point *e) {
    return R->text ? e->val_loss : e->val_err;
}

/* Whether e is the new best: the lowest validation score so far, the
 * earliest of equals. */
static int improves(const ent_run *R, const ent_eval_point *e) {
    if ((!R->val && !R->text) || isnan(val_score(R, e))) return 0;
    return !R->has_best || as_printed(val_score(R, e)) < as_printed(val_score(R, &R->best));
}

ent_status ent_keep_after_eval(ent_run *R, const ent_eval_point *e) {
    const ent_train_config *c = R->r.cfg;
    char path[800];
    ent_status s = ENT_OK;
    R->last = *e;
    R->n_evals++;
    if (c->keep_last > 0) {
        epoch_path(R, e, path, sizeof path);
        s = copy_file(R->ckpt_path, path);
        if (s == ENT_OK) s = prune_epoch_files(R, e->step);
    }
    if (s == ENT_OK && improves(R, e)) {
        R->best = *e;
        R->has_best = 1;
        best_path(R, path, sizeof path);
        if (c->keep_best) s = copy_file(R->ckpt_path, path);
    }
    return s;
}

/* ---- resume: the points back from metrics.csv ---- */

/* The index of column `name` in a header line, or -1. */
static int column_index(const char *line, const char *name) {
    const size_t len = strlen(name);
    int i = 0;
    for (const char *p = line; *p && *p != '\n'; i++) {
        const char *end = p + strcspn(p, ",\n");
        if ((size_t)(end - p) == len && strncmp(p, name, len) == 0) return i;
        if (*end != ',') break;
        p = end + 1;
    }
    return -1;
}

/* The fields of a row as numbers (an empty or bad field: NAN); how many. */
static int row_fields(const char *line, double *v, int max) {
    int n = 0;
    for (const char *p = line; n < max;) {
        char *end = NULL;
        const double x = strtod(p, &end);
        const char *stop = p + strcspn(p, ",\n");
        v[n++] = end == p || end != stop ? NAN : x;
        if (*stop != ',') break;
        p = stop + 1;
    }
    return n;
}

static double field(const double *v, int n, int col) { return col >= 0 && col < n ? v[col] : NAN; }

ent_status ent_keep_resume(ent_run *R) {
    char *data = NULL;
    size_t len = 0;
    ent_status s = ent_read_file(R->metrics_path, &data, &len);
    if (s != ENT_OK) return s;
    const char *const names[6] = {"effective_epoch", "step", "test_loss", "test_error", "val_loss", "val_error"};
    int col[6];
    for (int k = 0; k < 6; k++) col[k] = column_index(data, names[k]);
    double v[MAX_COLUMNS];
    for (const char *line = strchr(data, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const int n = row_fields(line + 1, v, MAX_COLUMNS);
        const ent_eval_point e = {field(v, n, col[0]), (int64_t)field(v, n, col[1]), field(v, n, col[2]),
                                  field(v, n, col[3]), field(v, n, col[4]), field(v, n, col[5])};
        R->last = e;
        R->n_evals++;
        if (improves(R, &e)) R->best = e, R->has_best = 1;
    }
    free(data);
    /* A stop between writing the checkpoint and copying it: the resumed
     * checkpoint is the state of the last row, so copy it now. */
    if (R->n_evals == 0 || R->last.step != R->r.step) return ENT_OK;
    char path[800];
    if (R->r.cfg->keep_last > 0) {
        epoch_path(R, &R->last, path, sizeof path);
        if (access(path, F_OK) != 0) s = copy_file(R->ckpt_path, path);
    }
    if (s == ENT_OK && R->r.cfg->keep_best && R->has_best && R->best.step == R->r.step) {
        best_path(R, path, sizeof path);
        s = copy_file(R->ckpt_path, path);
    }
    return s;
}

ent_status ent_keep_check_split(const ent_run *R, const char *config_path) {
    char *text = NULL;
    size_t len = 0;
    ent_jv root;
    ent_status s = ent_read_file(config_path, &text, &len);
    if (s == ENT_OK) s = ent_jv_parse(&root, text, len);
    free(text);
    if (s != ENT_OK) return s;
    const ent_jv *v = ent_jv_get(&root, "val_indices");
    const int64_t n = v && v->type == ENT_JSON_ARRAY ? v->n : 0, want = R->r.cfg->val_split;
    int same = n == want;
    for (int64_t i = 0; same && i < n; i++)
        same = v->items[i].type == ENT_JSON_NUMBER && v->items[i].num == (double)R->val_idx[i];
    ent_jv_free(&root);
    if (same) return ENT_OK;
    return ent_fail(ENT_EUSAGE, "%s: the run held out %lld training samples for validation (val_indices); resumed so, "
                    "it would hold out %lld others: keep --val-split, --seed and --train-subset as they were",
                    config_path, (long long)n, (long long)want);
}

/* ---- the summary ---- */

/* Opens object `key` with the point's fields; the caller adds its own and closes it. */
static void begin_point(ent_json *j, const char *key, const ent_eval_point *e, int val) {
    ent_json_begin_object(j, key);
    ent_json_number(j, "effective_epoch", e->eff_epoch);
    ent_json_int(j, "step", e->step);
    ent_json_number(j, "test_loss", e->test_loss);
    ent_json_number(j, "test_error", e->test_err);
    if (val) {
        ent_json_number(j, "val_loss", e->val_loss);
        ent_json_number(j, "val_error", e->val_err);
    }
}

/* Token runs: perplexity exp(loss), and bits per character loss / ln 2. */
static void text_measures(ent_json *j, const ent_run *R, const ent_eval_point *e) {
    if (!R->text) return;
    ent_json_number(j, "test_perplexity", exp(e->test_loss));
    ent_json_number(j, "val_perplexity", exp(e->val_loss));
    if (ent_vocab_kind_of(R->text->c.vocab) != ENT_VOCAB_CHARS) return;
    ent_json_number(j, "test_bpc", e->test_loss / log(2.0));
    ent_json_number(j, "val_bpc", e->val_loss / log(2.0));
}

static const char *NO_VALIDATION =
    "no validation set (--val-split N holds N training samples out), so no best is chosen: "
    "choosing it on the test set would report a biased test error";

static ent_status write_summary(const ent_run *R, const char *path) {
    const int val = R->val != NULL || R->text != NULL;
    ent_json j;
    ent_json_init(&j);
    ent_json_begin_object(&j, NULL);
    ent_json_int(&j, "val_split", R->r.cfg->val_split);
    if (R->n_evals) {
        begin_point(&j, "final", &R->last, val);
        text_measures(&j, R, &R->last);
        ent_json_end_object(&j);
    }
    if (R->has_best) {
        begin_point(&j, "best", &R->best, val);
        text_measures(&j, R, &R->best);
        ent_json_string(&j, "chosen_on", R->text ? "val_loss" : "val_error");
        ent_json_string(&j, "checkpoint", R->r.cfg->keep_best ? BEST_NAME : "");
        ent_json_end_object(&j);
    } else {
        ent_json_string(&j, "best", NO_VALIDATION);
    }
    ent_json_end_object(&j);
    ent_status s = ent_json_save(&j, path);
    ent_json_free(&j);
    return s;
}

ent_status ent_keep_summary(ent_run *R) {
    char path[700];
    snprintf(path, sizeof path, "%s/summary.json", R->r.cfg->out_dir);
    ent_status s = write_summary(R, path);
    if (s != ENT_OK || !R->r.cfg->progress || !R->n_evals) return s;
    const ent_eval_point *f = &R->last, *b = &R->best;
    if (R->text) {
        printf("final: effective epoch %.2f, step %lld: test perplexity %.3f, val perplexity %.3f\n", f->eff_epoch,
               (long long)f->step, exp(f->test_loss), exp(f->val_loss));
        if (R->has_best)
            printf("best by validation perplexity: effective epoch %.2f, step %lld: val %.3f, test %.3f%s\n",
                   b->eff_epoch, (long long)b->step, exp(b->val_loss), exp(b->test_loss),
                   R->r.cfg->keep_best ? " -> " BEST_NAME : "");
        fflush(stdout);
        return ENT_OK;
    }
    printf("final: effective epoch %.2f, step %lld: test error %.2f%%", f->eff_epoch, (long long)f->step,
           100 * f->test_err);
    if (R->val) printf(", val error %.2f%%", 100 * f->val_err);
    printf("\n");
    if (R->has_best)
        printf("best by validation error: effective epoch %.2f, step %lld: val error %.2f%%, test error %.2f%%%s\n",
               b->eff_epoch, (long long)b->step, 100 * b->val_err, 100 * b->test_err,
               R->r.cfg->keep_best ? " -> " BEST_NAME : "");
    else
        printf("best: %s\n", NO_VALIDATION);
    fflush(stdout);
    return ENT_OK;
}
