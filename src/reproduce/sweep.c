/* sweep.c — every arm x seed of an experiment as its own run directory,
 * OUT/NAME/ARM/seed-S, each trained by a child process of this program
 * (`entropic train`), then its analysis commands. A run is skipped when
 * it finished (summary.json), continued with --resume when it left a
 * checkpoint, started again with --force when it stopped before its
 * first one: so running the same command again after an interruption
 * continues the sweep where it stopped.
 *
 * Children, not calls of ent_cmd_train in this process: a run that
 * crashes or runs out of memory ends only itself; each run's global state
 * (threads, the error text, MPI) starts fresh; and under mpirun each rank
 * runs whole runs of its own, so the children must not see the launcher's
 * variables, or every one of them would join the MPI job. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "entropic.h"
#include "reproduce/repro_internal.h"

extern char **environ;

typedef enum { RUN_NEW, RUN_RESUME, RUN_RESTART, RUN_DONE } run_state;

static const char *const state_names[] = {"new", "resume", "restart (stopped before its first checkpoint)", "done"};

static int exists(const char *dir, const char *file) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return access(p, F_OK) == 0;
}

static run_state state_of(const char *dir) {
    if (exists(dir, "summary.json")) return RUN_DONE;
    if (exists(dir, "checkpoint.safetensors")) return RUN_RESUME;
    if (exists(dir, "config.json") || exists(dir, "metrics.csv")) return RUN_RESTART;
    return RUN_NEW;
}

int repro_runs(const repro_opts *o, repro_run *runs, int max) {
    int n = 0;
    for (int a = 0; a < o->e->n_arms; a++)
        for (int s = 1; s <= o->seeds && n < max; s++, n++) {
            runs[n].arm = a, runs[n].seed = s;
            snprintf(runs[n].dir, sizeof runs[n].dir, "%s/%s/seed-%d", o->out, o->e->arms[a].label, s);
        }
    return n;
}

int repro_make_dirs(const char *path) {
    char p[600];
    snprintf(p, sizeof p, "%s", path);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
        *q = '/';
    }
    return mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* The environment without the MPI launcher's variables (Open MPI, PMIx,
 * PMI): a child then trains alone, as a plain `entropic train`. */
static char **child_environment(void) {
    int n = 0, k = 0;
    while (environ[n]) n++;
    char **env = calloc((size_t)n + 1, sizeof *env);
    for (int i = 0; env && i < n; i++)
        if (strncmp(environ[i], "OMPI_", 5) && strncmp(environ[i], "PMIX_", 5) && strncmp(environ[i], "PMI_", 4))
            env[k++] = environ[i];
    return env;
}

/* Runs self with words w, output appended to log; the exit status (128 +
 * the signal when one ended it), or -1 when it could not start. */
static int run_child(const repro_opts *o, repro_words *w, const char *log) {
    char **env = child_environment();
    if (!env) return -1;
    fflush(stdout), fflush(stderr);
    const pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        /* A sweep that is killed takes its run with it: an orphaned run
         * would go on writing the directory the next sweep resumes. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
        const int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0666);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        w->word[w->n] = NULL;
        execve(o->self, w->word, env);
        _exit(127);
    }
    free(env);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The train command of run r in state st, as words (self first). */
static int train_words(const repro_opts *o, const repro_run *r, run_state st, const char *text, repro_words *w,
                       char seed[16], char threads[16]) {
    snprintf(seed, 16, "%d", r->seed);
    snprintf(threads, 16, "%d", o->threads);
    w->word[w->n++] = (char *)o->self;
    w->word[w->n++] = "train";
    if (st == RUN_RESUME) {
        w->word[w->n++] = "--resume";
        w->word[w->n++] = (char *)r->dir;
        return 0;
    }
    if (repro_arm_words(o->e, &o->e->arms[r->arm], o->budget, o->paper_data, w) != 0 || w->n + 14 > REPRO_MAX_WORDS)
        return -1;
    if (o->data_dir[0]) w->word[w->n++] = "--data-dir", w->word[w->n++] = (char *)o->data_dir;
    if (text[0]) w->word[w->n++] = "--text", w->word[w->n++] = (char *)text;
    if (o->threads > 0) w->word[w->n++] = "--threads", w->word[w->n++] = threads;
    w->word[w->n++] = "--seed", w->word[w->n++] = seed;
    w->word[w->n++] = "--out", w->word[w->n++] = (char *)r->dir;
    w->word[w->n++] = "--quiet";
    if (st == RUN_RESTART) w->word[w->n++] = "--force";
    return 0;
}

/* An analysis command of e->post with {run} and {text} filled in. */
static int post_words(const repro_opts *o, const char *tmpl, const repro_run *r, const char *text, repro_words *w,
                      char threads[16]) {
    snprintf(threads, 16, "%d", o->threads);
    char cmd[2048];
    size_t n = 0;
    for (const char *p = tmpl; *p;) {
        const int is_run = strncmp(p, "{run}", 5) == 0, is_text = strncmp(p, "{text}", 6) == 0;
        const char *put = is_run ? r->dir : is_text ? text : p;
        const size_t len = is_run || is_text ? strlen(put) : 1;
        if (n + len + 1 > sizeof cmd) return -1;
        memcpy(cmd + n, put, len), n += len;
        p += is_run ? 5 : is_text ? 6 : 1;
    }
    cmd[n] = 0;
    w->word[w->n++] = (char *)o->self;
    if (repro_split(cmd, w) != 0 || w->n + 6 > REPRO_MAX_WORDS) return -1;
    if (o->data_dir[0] && !text[0]) w->word[w->n++] = "--data-dir", w->word[w->n++] = (char *)o->data_dir;
    if (o->threads > 0) w->word[w->n++] = "--threads", w->word[w->n++] = threads;
    return 0;
}

static void print_words(const repro_words *w) {
    for (int i = 0; i < w->n; i++) printf("%s%s", i ? " " : "", i ? w->word[i] : "entropic");
    printf("\n");
}

/* What execute returns when this command, not the child, failed: the
 * sweep stops (a child's failure only marks its run failed). */
#define SWEEP_ABORT (-1)

/* Runs (or prints) one command; 0, the child's exit status, or SWEEP_ABORT. */
static int execute(const repro_opts *o, const repro_run *r, repro_words *w, const char *what) {
    if (o->dry_run) {
        print_words(w);
        return 0;
    }
    char log[700];
    snprintf(log, sizeof log, "%s/logs", o->out);
    if (repro_make_dirs(log) != 0) {
        fprintf(stderr, "entropic reproduce: cannot create %s: %s\n", log, strerror(errno));
        return SWEEP_ABORT;
    }
    snprintf(log, sizeof log, "%s/logs/%s-seed-%d.log", o->out, o->e->arms[r->arm].label, r->seed);
    printf("  %s seed %d: %s, log %s\n", o->e->arms[r->arm].label, r->seed,
           strcmp(what, "analysis of") ? "training" : "analysing", log);
    const double t0 = ent_time_seconds();
    const int rc = run_child(o, w, log);
    if (rc < 0) {
        fprintf(stderr, "entropic reproduce: cannot start %s: %s\n", w->word[1], strerror(errno));
        return SWEEP_ABORT;
    }
    printf("  %s %s seed %d: %s, %.0f s\n", what, o->e->arms[r->arm].label, r->seed,
           rc == 0 ? "ok" : "FAILED", ent_time_seconds() - t0);
    fflush(stdout);
    if (rc != 0) fprintf(stderr, "entropic reproduce: %s failed (exit %d): see %s\n", r->dir, rc, log);
    return rc;
}

/* The analysis commands of a finished run that are not done yet. */
static int post_run(const repro_opts *o, const repro_run *r, const char *text) {
    for (int k = 0; k < REPRO_MAX_POST && o->e->post[k]; k++) {
        if (exists(r->dir, o->e->post_done[k]) && !o->dry_run) continue;
        repro_words w = {0};
        char threads[16];
        if (post_words(o, o->e->post[k], r, text, &w, threads) != 0) {
            fprintf(stderr, "entropic reproduce: %s: the analysis command is too long\n", r->dir);
            return SWEEP_ABORT;
        }
        const int rc = execute(o, r, &w, "analysis of");
        if (rc) return rc;
    }
    return 0;
}

static int train_run(const repro_opts *o, const repro_run *r, run_state st, const char *text) {
    repro_words w = {0};
    char seed[16], threads[16];
    if (train_words(o, r, st, text, &w, seed, threads) == 0)
        return execute(o, r, &w, st == RUN_RESUME ? "resumed" : "trained");
    fprintf(stderr, "entropic reproduce: %s: the train command is too long\n", r->dir);
    return SWEEP_ABORT;
}

/* A run found on disk must be one of this sweep's: else exit 2, naming
 * the option that differs (another budget or definition in this --out). */
static int settings_match(const repro_opts *o, const repro_run *r, const char *text) {
    repro_words w = {0};
    char seed[16], threads[16], why[400];
    if (train_words(o, r, RUN_NEW, text, &w, seed, threads) != 0 || repro_same_settings(&w, r->dir, why, sizeof why))
        return 1;
    fprintf(stderr, "entropic reproduce: %s holds a run of other settings (%s): give another --out, or remove it\n",
            r->dir, why);
    return 0;
}

int repro_sweep(const repro_opts *o, int rank, int size, int *stopped) {
    static repro_run runs[REPRO_MAX_ARMS * 64];
    char text[600];
    int rc = repro_text_file(o, text, sizeof text), failed = 0, started = 0;
    const int n = repro_runs(o, runs, (int)(sizeof runs / sizeof *runs));
    *stopped = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (i % size != rank) continue;
        const repro_run *r = &runs[i];
        const run_state st = state_of(r->dir);
        if (st != RUN_DONE && o->max_runs > 0 && started == o->max_runs) {
            *stopped = 1;
            break;
        }
        if (st != RUN_NEW && !settings_match(o, r, text)) {
            rc = 2;
            break;
        }
        if (o->dry_run) printf("# %s seed %d: %s\n", o->e->arms[r->arm].label, r->seed, state_names[st]);
        int run_rc = st == RUN_DONE ? 0 : train_run(o, r, st, text);
        started += st != RUN_DONE;
        if (run_rc == 0) run_rc = post_run(o, r, text);
        if (run_rc == SWEEP_ABORT) rc = 2;
        else if (run_rc) failed = 1; /* refused, diverged or killed: the other runs go on */
    }
    return rc ? rc : failed;
}
