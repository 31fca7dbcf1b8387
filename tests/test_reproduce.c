/* test_reproduce.c — `entropic reproduce`: each experiment's registered
 * settings against the papers' hyper-parameters (typed here from the
 * papers' tables, not read from the registry), and the tiny experiment
 * end to end: interrupted (a run killed mid-way, then --max-runs),
 * continued by the same command, and its report written. Arms that need
 * optimizers this build may lack are checked as definitions only. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reproduce/repro.h"
#include "test.h"

/* Arm `arm` of experiment `exp` (a failed check when there is none). */
static const repro_arm *arm_of(const char *exp, const char *arm, const repro_exp **e) {
    *e = repro_find(exp);
    for (int a = 0; *e && a < (*e)->n_arms; a++)
        if (strcmp((*e)->arms[a].label, arm) == 0) return &(*e)->arms[a];
    ent_test_fail(__FILE__, __LINE__, "no arm %s of %s", arm, exp);
    return NULL;
}

/* The value of --name in the arm's command for budget b (NULL: absent). */
static const char *opt_text(const char *exp, const char *arm, repro_budget b, const char *name, char *buf) {
    const repro_exp *e;
    const repro_arm *a = arm_of(exp, arm, &e);
    return a ? repro_option(e, a, b, name, buf, 128) : NULL;
}

/* The same as a number (NAN when absent). */
static double opt(const char *exp, const char *arm, repro_budget b, const char *name) {
    char buf[128];
    const char *v = opt_text(exp, arm, b, name, buf);
    return v ? atof(v) : NAN;
}

static const repro_ref *ref(const char *exp, const char *arm) {
    const repro_exp *e;
    const repro_arm *a = arm_of(exp, arm, &e);
    static const repro_ref none = {0};
    return a ? &a->ref : &none;
}

/* One paper setting: experiment, arm, option, the paper's value. */
typedef struct {
    const char *exp, *arm, *name;
    double want;
} setting;

/* A paper's number: mean ± sd at an effective epoch. */
typedef struct {
    const char *exp, *arm;
    double mean, sd, epochs;
} number;

static const setting paper_settings[] = {
    /* Entropy-SGD paper, MNIST: L 20, eta' 0.1, eps 1e-3, gamma0 1e-4 x1.001, Nesterov 0.9 in the
     * SGLD loop, eta 1 x0.1 after outer epoch 2, dropout 0.15 / 0.25, batch 128. */
    {"esgd-mnistfc", "entropy-sgd", "L", 20}, {"esgd-mnistfc", "entropy-sgd", "sgld-lr", 0.1},
    {"esgd-mnistfc", "entropy-sgd", "noise", 1e-3}, {"esgd-mnistfc", "entropy-sgd", "gamma0", 1e-4},
    {"esgd-mnistfc", "entropy-sgd", "gamma1", 1e-3}, {"esgd-mnistfc", "entropy-sgd", "inner-momentum", 0.9},
    {"esgd-mnistfc", "entropy-sgd", "lr", 1}, {"esgd-mnistfc", "entropy-sgd", "lr-factor", 0.1},
    {"esgd-mnistfc", "entropy-sgd", "lr-milestones", 40}, {"esgd-mnistfc", "entropy-sgd", "dropout", 0.15},
    {"esgd-mnistfc", "entropy-sgd", "epochs", 120}, {"esgd-mnistfc", "entropy-sgd", "batch-size", 128},
    {"esgd-lenet", "entropy-sgd", "L", 20}, {"esgd-lenet", "entropy-sgd", "gamma0", 1e-4},
    {"esgd-lenet", "entropy-sgd", "gamma1", 1e-3}, {"esgd-lenet", "entropy-sgd", "dropout", 0.25},
    {"esgd-lenet", "entropy-sgd", "epochs", 100}, {"esgd-lenet", "entropy-sgd", "lr-milestones", 40},
    /* MNIST baseline: Adam lr 1e-3 x1/5 every 30 epochs, 100 epochs. */
    {"esgd-mnistfc", "adam", "lr", 1e-3}, {"esgd-mnistfc", "adam", "lr-factor", 0.2},
    {"esgd-mnistfc", "adam", "epochs", 100}, {"esgd-lenet", "adam", "lr", 1e-3}, {"esgd-lenet", "adam", "epochs", 100},
    /* CIFAR-10: L 20, 10 outer epochs, eta 1 x1/5 every 4, eta' 0.1, eps 1e-4, gamma0 0.03 x1.001,
     * dropout 0.5; SGD Nesterov 0.9, lr 0.1 x1/5 every 60, 200 epochs, L2 1e-3. */
    {"esgd-allcnn", "entropy-sgd", "L", 20}, {"esgd-allcnn", "entropy-sgd", "epochs", 200},
    {"esgd-allcnn", "entropy-sgd", "lr", 1}, {"esgd-allcnn", "entropy-sgd", "lr-factor", 0.2},
    {"esgd-allcnn", "entropy-sgd", "sgld-lr", 0.1}, {"esgd-allcnn", "entropy-sgd", "noise", 1e-4},
    {"esgd-allcnn", "entropy-sgd", "gamma0", 0.03}, {"esgd-allcnn", "entropy-sgd", "gamma1", 1e-3},
    {"esgd-allcnn", "entropy-sgd", "dropout", 0.5}, {"esgd-allcnn", "sgd", "lr", 0.1},
    {"esgd-allcnn", "sgd", "momentum", 0.9}, {"esgd-allcnn", "sgd", "lr-factor", 0.2},
    {"esgd-allcnn", "sgd", "weight-decay", 1e-3}, {"esgd-allcnn", "sgd", "epochs", 200},
    /* PTB: L 5, 5 outer epochs, gamma 1e-3 fixed, eta 1 x0.1 after the 3rd, eta' 1, eps 1e-4,
     * momentum 0.5; SGD (Zaremba large) 55 epochs, batch 20. */
    {"esgd-ptb", "entropy-sgd", "L", 5}, {"esgd-ptb", "entropy-sgd", "epochs", 25},
    {"esgd-ptb", "entropy-sgd", "gamma0", 1e-3}, {"esgd-ptb", "entropy-sgd", "gamma1", 0},
    {"esgd-ptb", "entropy-sgd", "lr", 1}, {"esgd-ptb", "entropy-sgd", "lr-factor", 0.1},
    {"esgd-ptb", "entropy-sgd", "lr-milestones", 15}, {"esgd-ptb", "entropy-sgd", "sgld-lr", 1},
    {"esgd-ptb", "entropy-sgd", "noise", 1e-4}, {"esgd-ptb", "entropy-sgd", "inner-momentum", 0.5},
    {"esgd-ptb", "sgd", "lr", 1}, {"esgd-ptb", "sgd", "epochs", 55}, {"esgd-ptb", "sgd", "batch-size", 20},
    /* char-LSTM: Entropy-Adam L 5, 5 outer epochs, gamma 0.01 fixed, lr 0.01 halved each epoch,
     * beta1 0.5; Adam 50 epochs, lr 0.002 halved every 5, beta1 0.9; batch 128. */
    {"esgd-charlstm", "entropy-adam", "L", 5}, {"esgd-charlstm", "entropy-adam", "epochs", 25},
    {"esgd-charlstm", "entropy-adam", "gamma0", 0.01}, {"esgd-charlstm", "entropy-adam", "gamma1", 0},
    {"esgd-charlstm", "entropy-adam", "lr", 0.01}, {"esgd-charlstm", "entropy-adam", "lr-factor", 0.5},
    {"esgd-charlstm", "entropy-adam", "beta1", 0.5}, {"esgd-charlstm", "adam", "lr", 0.002},
    {"esgd-charlstm", "adam", "lr-factor", 0.5}, {"esgd-charlstm", "adam", "beta1", 0.9},
    {"esgd-charlstm", "adam", "epochs", 50}, {"esgd-charlstm", "adam", "batch-size", 128},
    /* Appendix C.1: SGLD 300 epochs (LeNet), 500 (All-CNN). */
    {"sgld-lenet", "sgld", "epochs", 300}, {"sgld-allcnn", "sgld", "epochs", 500},
    /* Deep Relaxation: LeNet dropout 0.25 and (notes) L 10, gamma0 1e-3, gamma1 1e-4; mnistfc
     * dropout 0.2, input dropout 0.2; batch 128. */
    {"relax-lenet", "entropy-sgd", "L", 10}, {"relax-lenet", "entropy-sgd", "gamma0", 1e-3},
    {"relax-lenet", "entropy-sgd", "gamma1", 1e-4}, {"relax-lenet", "sgd", "dropout", 0.25},
    {"relax-mnistfc", "hj", "dropout", 0.2}, {"relax-mnistfc", "heat", "input-dropout", 0.2},
    {"relax-mnistfc", "sgd", "batch-size", 128},
    /* Parle's code: lr 0.1 /10 each outer epoch, L 25, gamma = rho = 0.01, 5 outer epochs. */
    {"parle-lenet", "parle", "L", 25}, {"parle-lenet", "parle", "gamma0", 0.01},
    {"parle-lenet", "parle", "coupling", 0.01}, {"parle-lenet", "parle", "lr", 0.1},
    {"parle-lenet", "parle", "lr-factor", 0.1}, {"parle-lenet", "parle", "epochs", 125},
    {"parle-lenet", "parle", "dropout", 0.25},
    /* Replicated-SGD paper (sacreddnn's defaults): lr 0.1, Nesterov 0.9, weight decay 5e-4, batch 128. */
    {"rsgd-flatness", "replicated-sgd", "lr", 0.1}, {"rsgd-flatness", "replicated-sgd", "momentum", 0.9},
    {"rsgd-flatness", "replicated-sgd", "weight-decay", 5e-4}, {"rsgd-flatness", "sgd", "weight-decay", 5e-4},
    {"rsgd-flatness", "sgd", "batch-size", 128},
    /* Hessian spectra: small-mnistfc trained with momentum SGD. */
    {"hessian-fig1", "small-mnistfc-sgd", "momentum", 0.9},
};

static const number paper_numbers[] = {
    {"esgd-mnistfc", "entropy-sgd", 1.37, 0.03, 120}, {"esgd-mnistfc", "adam", 1.39, 0.03, 66},
    {"esgd-lenet", "entropy-sgd", 0.5, 0.01, 80},     {"esgd-lenet", "adam", 0.51, 0.01, 100},
    {"esgd-allcnn", "entropy-sgd", 7.81, 0.09, 160},  {"esgd-allcnn", "sgd", 7.71, 0.19, 180},
    {"esgd-ptb", "entropy-sgd", 77.656, 0.171, 25},   {"esgd-ptb", "sgd", 78.6, 0.26, 55},
    {"esgd-charlstm", "entropy-adam", 1.217, 0.005, 25}, {"esgd-charlstm", "adam", 1.226, 0.01, 40},
    {"sgld-lenet", "sgld", 0.63, 0.1, 300},           {"sgld-allcnn", "sgld", 9.89, 0.11, 500},
    {"relax-mnistfc", "entropy-sgd", 1.08, 0.02, 120}, {"relax-mnistfc", "hj", 1.17, 0.04, 200},
    {"relax-mnistfc", "hjb", 1.15, 0.03, 160},        {"relax-mnistfc", "heat", 1.15, 0.03, 70},
    {"relax-mnistfc", "sgd", 1.10, 0.01, 194},        {"relax-lenet", "entropy-sgd", 0.5, 0.01, 80},
    {"relax-lenet", "hj", 0.5, 0.01, 70},             {"relax-lenet", "hjb", 0.51, 0.02, 60},
    {"relax-lenet", "heat", 0.59, 0.01, 100},         {"relax-lenet", "sgd", 0.5, 0.02, 67},
};

ENT_TEST(reproduce_definitions_match_the_papers) {
    for (size_t i = 0; i < sizeof paper_settings / sizeof *paper_settings; i++) {
        const setting *s = &paper_settings[i];
        const double got = opt(s->exp, s->arm, REPRO_PAPER, s->name);
        CHECK_MSG(fabs(got - s->want) <= 1e-12 * fabs(s->want), "%s %s --%s: registered %g, the paper's %g", s->exp,
                  s->arm, s->name, got, s->want);
    }
    for (size_t i = 0; i < sizeof paper_numbers / sizeof *paper_numbers; i++) {
        const number *p = &paper_numbers[i];
        const repro_ref *r = ref(p->exp, p->arm);
        CHECK_MSG(r->reported && r->mean == p->mean && r->sd == p->sd && r->epochs == p->epochs,
                  "%s %s: registered %g ± %g at %g, the paper's %g ± %g at %g", p->exp, p->arm, r->mean, r->sd,
                  r->epochs, p->mean, p->sd, p->epochs);
    }
    char buf[128];
    const char *v = opt_text("esgd-mnistfc", "adam", REPRO_PAPER, "lr-milestones", buf);
    CHECK_MSG(v && strcmp(v, "30,60,90") == 0, "esgd-mnistfc adam milestones %s, want 30,60,90", v ? v : "none");
    v = opt_text("esgd-allcnn", "sgd", REPRO_PAPER, "lr-milestones", buf);
    CHECK_MSG(v && strcmp(v, "60,120,180") == 0, "esgd-allcnn sgd milestones %s, want 60,120,180", v ? v : "none");
    CHECK(opt_text("esgd-mnistfc", "entropy-sgd", REPRO_PAPER, "inner-nesterov", buf) != NULL);
    CHECK(opt_text("esgd-allcnn", "sgd", REPRO_PAPER, "nesterov", buf) != NULL);
    CHECK(opt_text("esgd-ptb", "sgd", REPRO_PAPER, "momentum", buf) == NULL); /* no momentum for the PTB baseline */
    v = opt_text("esgd-charlstm", "entropy-adam", REPRO_PAPER, "outer-rule", buf);
    CHECK_MSG(v && strcmp(v, "adam") == 0, "char-LSTM: Entropy-Adam's outer rule %s", v ? v : "none");
    /* The arms that another part of the project adds, with the flags it names. */
    v = opt_text("relax-lenet", "hjb", REPRO_PAPER, "optimizer", buf);
    CHECK_MSG(v && strcmp(v, "hjb") == 0, "relax-lenet hjb: --optimizer %s", v ? v : "none");
    v = opt_text("relax-mnistfc", "heat", REPRO_PAPER, "heat-style", buf);
    CHECK_MSG(v && strcmp(v, "code") == 0, "relax-mnistfc heat: --heat-style %s", v ? v : "none");
    CHECK(opt_text("parle-lenet", "parle", REPRO_PAPER, "parle-reference", buf) != NULL);
    /* The Hessian figures' networks and optimizers: small-LeNet with Adam (2.4%), small-mnistfc
     * with SGD (2.5%), the small char-LSTM with Adam. */
    static const char *const nets[][4] = {{"hessian-fig1", "small-lenet-adam", "small-lenet", "adam"},
                                          {"hessian-fig1", "small-mnistfc-sgd", "small-mnistfc", "sgd"},
                                          {"hessian-fig3", "adam", "tiny-charlstm", "adam"}};
    for (int i = 0; i < 3; i++) {
        char b2[128];
        const char *m = opt_text(nets[i][0], nets[i][1], REPRO_PAPER, "model", buf),
                   *o = opt_text(nets[i][0], nets[i][1], REPRO_PAPER, "optimizer", b2);
        CHECK_MSG(m && o && strcmp(m, nets[i][2]) == 0 && strcmp(o, nets[i][3]) == 0, "%s %s: %s with %s",
                  nets[i][0], nets[i][1], m ? m : "none", o ? o : "none");
    }
    CHECK(ref("hessian-fig1", "small-lenet-adam")->mean == 2.4);
    CHECK(ref("hessian-fig1", "small-mnistfc-sgd")->mean == 2.5);
    v = opt_text("rsgd-flatness", "replicated-sgd", REPRO_PAPER, "coupling-schedule", buf);
    CHECK_MSG(v && strcmp(v, "exp") == 0, "rsgd-flatness: coupling schedule %s", v ? v : "none");
}

/* Every experiment: the short budget gives its arms equal effective
 * epochs and fewer than the paper's; image sets select on a validation
 * split. */
ENT_TEST(reproduce_budgets_are_matched) {
    int n;
    const repro_exp *const *all = repro_experiments(&n);
    CHECK(n >= 13);
    for (int i = 0; i < n; i++) {
        const repro_exp *e = all[i];
        char buf[128];
        const double e0 = opt(e->name, e->arms[0].label, REPRO_SHORT, "epochs");
        for (int a = 0; a < e->n_arms; a++) {
            const repro_arm *arm = &e->arms[a];
            const double es = opt(e->name, arm->label, REPRO_SHORT, "epochs"),
                         ep = opt(e->name, arm->label, REPRO_PAPER, "epochs");
            CHECK_MSG(es == e0, "%s %s: short budget %g effective epochs, arm %s %g", e->name, arm->label, es,
                      e->arms[0].label, e0);
            CHECK_MSG(es > 0 && ep > es, "%s %s: short %g, paper %g epochs", e->name, arm->label, es, ep);
            const int text = strstr(e->common, "--dataset text") || strstr(e->common, "--dataset ptb");
            CHECK_MSG(text || repro_option(e, arm, REPRO_SHORT, "val-split", buf, sizeof buf),
                      "%s %s: no validation split in the short budget", e->name, arm->label);
        }
        CHECK_MSG(repro_find(e->name) == e, "%s: not found by name", e->name);
    }
    CHECK(repro_find("no-such-experiment") == NULL);
}

ENT_TEST(reproduce_usage_errors) {
    const char *t = ent_test_tmpdir();
    CHECK_USAGE("unknown", "unknown experiment 'nope'", "%s reproduce nope --out %s", ent_test_cli(), t);
    CHECK_USAGE("seeds", "--seeds", "%s reproduce tiny --seeds 0 --out %s", ent_test_cli(), t);
    CHECK_USAGE("budget", "budget", "%s reproduce tiny --budget long --out %s", ent_test_cli(), t);
    CHECK_USAGE("paper data", "--paper-data needs --data-dir", "%s reproduce tiny --paper-data --out %s",
                ent_test_cli(), t);
    char out[8192];
    CHECK(ent_test_run(out, sizeof out, "%s reproduce --list", ent_test_cli()) == 0);
    CHECK_MSG(strstr(out, "esgd-mnistfc") && strstr(out, "hessian-fig3") && strstr(out, "measured"),
              "--list: %s", out);
}

static int count_in(const char *s, const char *what) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p++) n++;
    return n;
}

static int file_has(const char *path, const char *magic) {
    char buf[16] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    const size_t k = fread(buf, 1, strlen(magic), f);
    fclose(f);
    return k == strlen(magic) && memcmp(buf, magic, k) == 0;
}

/* tiny, two arms x two seeds on a small MNIST-shaped set: the first run is
 * killed mid-way (build/entropic-faults stops it at its 3rd step, after
 * its first checkpoint), the sweep is interrupted again with --max-runs,
 * then the same command finishes it: the killed run is resumed (not
 * started over), the finished ones are skipped, and the report has a row
 * per arm with both seeds, and its picture. A sweep of the other budget
 * in the same directory is refused. */
ENT_TEST(reproduce_tiny_sweep_resumes_and_reports) {
    char dir[600], data[700], out[16384], cmd[2000], path[800];
    snprintf(dir, sizeof dir, "%s", ent_test_tmpdir());
    snprintf(data, sizeof data, "%s/data", dir);
    mkdir(data, 0700);
    ent_test_mnist_like(data, 200);
    snprintf(cmd, sizeof cmd, "reproduce tiny --seeds 2 --threads 1 --out %s/runs --data-dir %s", dir, data);
    int rc = ent_test_run(out, sizeof out, "ENT_KILL_AT=step:3 %s-faults %s --max-runs 1", ent_test_cli(), cmd);
    CHECK_MSG(rc != 0 && strstr(out, "stopped after 1"), "killed first run: exit %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/runs/tiny/sgd/seed-1", dir);
    char f[900];
    snprintf(f, sizeof f, "%s/checkpoint.safetensors", path);
    CHECK_MSG(access(f, F_OK) == 0, "the killed run left no checkpoint: %s", out);
    snprintf(f, sizeof f, "%s/summary.json", path);
    CHECK_MSG(access(f, F_OK) != 0, "the killed run finished: %s", out);
    rc = ent_test_run(out, sizeof out, "%s %s --max-runs 2", ent_test_cli(), cmd);
    CHECK_MSG(rc == 0 && strstr(out, "resumed sgd seed 1: ok") && strstr(out, "trained sgd seed 2: ok") &&
                  strstr(out, "stopped after 2"), "second part: exit %d: %s", rc, out);
    snprintf(f, sizeof f, "%s/runs/tiny/report.md", dir);
    CHECK_MSG(access(f, F_OK) != 0, "a report before the sweep ended");
    rc = ent_test_run(out, sizeof out, "%s %s", ent_test_cli(), cmd);
    CHECK_MSG(rc == 0 && count_in(out, "trained entropy-sgd") == 2 && !strstr(out, " sgd seed"),
              "last part: exit %d: %s", rc, out);
    snprintf(f, sizeof f, "%s/runs/tiny/sgd/seed-1/metrics.csv", dir);
    CHECK(ent_test_run(out, sizeof out, "cat %s", f) == 0);
    CHECK_MSG(ent_test_count_lines(out) == 3, "resumed run: want a header and 2 evaluations, got: %s", out);
    snprintf(f, sizeof f, "%s/runs/tiny/report.md", dir);
    CHECK(ent_test_run(out, sizeof out, "cat %s", f) == 0);
    CHECK_MSG(strstr(out, "| sgd | 2 of 2 |") && strstr(out, "| entropy-sgd | 2 of 2 |") &&
                  strstr(out, "not reported") && strstr(out, "Where our data differs") && strstr(out, "report.png"),
              "report.md: %s", out);
    snprintf(f, sizeof f, "%s/runs/tiny/report.png", dir);
    CHECK_MSG(file_has(f, "\x89PNG"), "report.png missing or not a PNG");
    /* Another budget in the same --out must not take these runs for its own. */
    CHECK_USAGE("other budget", "other settings (--val-split 32 where this sweep gives --val-split 5000)",
                "%s %s --budget paper --dry-run", ent_test_cli(), cmd);
    for (int k = 0; k < 4; k++) { /* each run's analysis, once */
        snprintf(f, sizeof f, "%s/runs/tiny/%s/seed-%d/local-energy/local_energy.csv", dir,
                 k < 2 ? "sgd" : "entropy-sgd", 1 + k % 2);
        CHECK_MSG(file_has(f, "checkpoint,"), "no analysis: %s", f);
    }
}

/* Under mpirun -np 2 each rank trains its share of the runs (run i on
 * rank i % 2: one arm each), each run once, and rank 0 alone writes the
 * report, with both arms in it. */
ENT_TEST(reproduce_tiny_sweep_under_mpirun) {
    if (!ent_test_have_mpi()) return;
    char dir[600], data[700], out[16384], report[800];
    snprintf(dir, sizeof dir, "%s", ent_test_tmpdir());
    snprintf(data, sizeof data, "%s/data", dir);
    mkdir(data, 0700);
    ent_test_mnist_like(data, 200);
    int rc = ent_test_run(out, sizeof out, MPIRUN " -np 2 %s reproduce tiny --seeds 1 --threads 1 --out %s/runs "
                          "--data-dir %s", ent_test_cli(), dir, data);
    CHECK_MSG(rc == 0 && count_in(out, "trained sgd seed 1: ok") == 1 &&
                  count_in(out, "trained entropy-sgd seed 1: ok") == 1 && count_in(out, "analysis of ") == 2 &&
                  count_in(out, "-> ") == 1,
              "mpirun -np 2: exit %d: %s", rc, out);
    snprintf(report, sizeof report, "%s/runs/tiny/report.md", dir);
    CHECK(ent_test_run(out, sizeof out, "cat %s", report) == 0);
    CHECK_MSG(strstr(out, "| sgd | 1 of 1 |") && strstr(out, "| entropy-sgd | 1 of 1 |"), "report.md: %s", out);
}
