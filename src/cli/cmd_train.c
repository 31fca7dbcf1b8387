/* cmd_train.c — `entropic train`: parse, resolve defaults, run.
 * Defaults depend on the optimizer (SGD lr 0.1, Adam 1e-3, Entropy-SGD the
 * paper's MNIST values), so the optimizer is found first, its defaults set,
 * and then every option given overrides them. --resume RUNDIR re-reads the
 * command line recorded in RUNDIR/config.json and applies the new one on top. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/data_cli.h"

typedef struct {
    int noise_conv, momentum_on, outer_step, outer_rule, inner_rule, variant, quiet, schedule, force;
    int coupling_step, heat_style;
    char optimizer[32], resume_dir[512], augment[64];
    ent_data_source data; /* parsed here, then copied into the config */
} train_extra;

#define N_TRAIN_ARGS 96

/* The presets and optimizers the library has, joined by sep: usage lines
 * and option help come from these tables, so they cannot drift. */
static const char *preset_list(char *buf, size_t cap, const char *sep) {
    int n;
    const char *const *names = ent_model_presets(&n);
    buf[0] = 0;
    for (int i = 0; i < n; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? sep : "", names[i]);
    return buf;
}

static const char *optimizer_list(char *buf, size_t cap, const char *sep) {
    buf[0] = 0;
    for (int k = 0; k < ENT_OPTIM_KIND_COUNT; k++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", k ? sep : "",
                 ent_optim_kind_name((ent_optim_kind)k));
    return buf;
}

/* Which optimizers an option applies to, for the help (bit k = kind k;
 * 0 = all): each optimizer's --help lists its own options only. */
#define KIND(k) (1u << ENT_OPTIM_##k)
#define REPLICA_KINDS (KIND(REPLICATED_SGD) | KIND(ELASTIC_SGD) | KIND(PARLE))
/* a base or outer step whose rule is SGD or Adam (--outer-rule) */
#define RULE_KINDS (KIND(ENTROPY_SGD) | KIND(HJB) | KIND(SAM) | KIND(HJ_PROX) | KIND(HEAT) | REPLICA_KINDS)
#define SGD_KINDS (KIND(SGD) | RULE_KINDS)
#define ADAM_KINDS (KIND(ADAM) | KIND(ADAMW) | RULE_KINDS)
#define ESGD_KINDS (KIND(ENTROPY_SGD) | KIND(HJB) | KIND(PARLE))
/* the Entropy-SGD loop's inner chain: also the DR code's HEAT (--heat-style code) */
#define INNER_KINDS (ESGD_KINDS | KIND(HEAT))
#define SCOPE_KINDS (ESGD_KINDS | KIND(HJ_PROX) | KIND(HEAT))

static int train_spec(ent_arg *a, ent_train_config *c, train_extra *x) {
    static char presets_help[512], optimizers_help[512];
    ent_optim_params *o = &c->optim;
    ent_model_opts *m = &c->model_opts;
    int n = 0;
/* An option past N_TRAIN_ARGS is a programming error: stop rather than
 * write past the caller's array (every test that runs train would). */
#define OPT(NAME, TYPE, DST, CAP, CHOICES, HELP, ...)                                                   \
    do {                                                                                              \
        if (n >= N_TRAIN_ARGS) abort();                                                               \
        a[n++] = (ent_arg){.name = NAME, .type = TYPE, .dst = DST, .cap = CAP, .choices = CHOICES,     \
                           .help = HELP, __VA_ARGS__};                                                \
    } while (0)
    OPT("model", ARG_STRING, c->model, sizeof c->model, NULL,
        preset_list(presets_help, sizeof presets_help, " | "));
    OPT("model-file", ARG_STRING, c->model_file, sizeof c->model_file, NULL,
        "a network file (JSON, docs/models.md) instead of a preset; see entropic model show");
    snprintf(x->data.name, sizeof x->data.name, "%s", c->dataset);
    n += ent_cli_data_args(a + n, &x->data);
    OPT("optimizer", ARG_STRING, x->optimizer, sizeof x->optimizer, NULL,
        optimizer_list(optimizers_help, sizeof optimizers_help, " | "));
    OPT("epochs", ARG_DOUBLE, &c->epochs, 0, NULL, "budget in EFFECTIVE epochs (Entropy-SGD: outer epochs x L)");
    OPT("batch-size", ARG_I64, &c->batch, 0, NULL, "mini-batch size");
    OPT("seed", ARG_U64, &c->seed, 0, NULL, "seed of every random stream (init, data order, dropout, noise)");
    OPT("threads", ARG_INT, &c->threads, 0, NULL, "threads (0 = all cores)");
    OPT("out", ARG_STRING, c->out_dir, sizeof c->out_dir, NULL, "run directory (config.json, metrics.csv, checkpoint.safetensors)");
    OPT("resume", ARG_STRING, x->resume_dir, sizeof x->resume_dir, NULL, "continue the run in this directory exactly where it stopped");
    OPT("init-from", ARG_STRING, c->init_from, sizeof c->init_from, NULL, "start from the weights of this checkpoint");
    OPT("eval-every", ARG_DOUBLE, &c->eval_every, 0, NULL, "effective epochs between evaluations (and checkpoints)");
    OPT("lr", ARG_DOUBLE, &o->lr, 0, NULL, "learning rate (Entropy-SGD: outer step eta)");
    OPT("lr-milestones", ARG_LIST, c->lr_milestones, ENT_MAX_MILESTONES, NULL, "effective epochs at which lr *= lr-factor", .count = &c->n_milestones);
    OPT("lr-factor", ARG_DOUBLE, &c->lr_factor, 0, NULL, "learning-rate step factor");
    OPT("lr-schedule", ARG_CHOICE, &c->lr_cosine, 0, "step|cosine",
        "step: the milestones alone; cosine: also annealed to 0 over the budget after the warm-up");
    OPT("warmup-epochs", ARG_DOUBLE, &c->warmup_epochs, 0, NULL,
        "linear warm-up of the learning rate from 0 over this many effective epochs");
    OPT("lr-decay-after", ARG_DOUBLE, &c->lr_decay_after, 0, NULL,
        "Zaremba et al.'s schedule: lr *= lr-decay each epoch from this (1-based) effective epoch on (0 = none)");
    OPT("lr-decay", ARG_DOUBLE, &c->lr_decay, 0, NULL, "factor per epoch of --lr-decay-after (ptblstm-medium 0.8, -large 1/1.15)");
    OPT("clip-grad-norm", ARG_DOUBLE, &c->clip_grad_norm, 0, NULL,
        "clip every gradient to this Euclidean norm, as torch.nn.utils.clip_grad_norm_ (0 = none; the LSTMs: 5)");
    OPT("bptt", ARG_I64, &c->bptt, 0, NULL, "sequence models: tokens per window of back-propagation through time (0 = the preset's)");
    OPT("momentum", ARG_DOUBLE, &o->momentum, 0, NULL, "momentum (Entropy-SGD: of the outer step)", .kinds = SGD_KINDS);
    OPT("dampening", ARG_DOUBLE, &o->dampening, 0, NULL, "momentum dampening: buf = m buf + (1 - dampening) g after the first step", .kinds = SGD_KINDS);
    OPT("nesterov", ARG_BOOL, &o->nesterov, 0, NULL, "Nesterov momentum (needs --momentum > 0 and --dampening 0; --no-nesterov)", .kinds = SGD_KINDS);
    OPT("weight-decay", ARG_DOUBLE, &o->weight_decay, 0, NULL, "weight decay: L2 added to the gradient (Entropy-SGD: outer step); adamw: decoupled, x *= 1 - lr wd");
    OPT("beta1", ARG_DOUBLE, &o->beta1, 0, NULL, "Adam beta1", .kinds = ADAM_KINDS);
    OPT("beta2", ARG_DOUBLE, &o->beta2, 0, NULL, "Adam beta2", .kinds = ADAM_KINDS);
    OPT("adam-eps", ARG_DOUBLE, &o->adam_eps, 0, NULL, "Adam epsilon", .kinds = ADAM_KINDS);
    OPT("dropout", ARG_FLOAT, &m->dropout, 0, NULL, "hidden dropout (-1 = preset default: 0.5)");
    OPT("input-dropout", ARG_FLOAT, &m->input_dropout, 0, NULL, "input dropout (-1 = preset default: mnistfc 0.2, lenet 0)");
    OPT("train-subset", ARG_I64, &c->train_subset, 0, NULL, "use only the first N training samples (0 = all)");
    OPT("test-subset", ARG_I64, &c->test_subset, 0, NULL, "use only the first N test samples (0 = all)");
    OPT("preprocess", ARG_CHOICE, &c->preprocess, 0, "none|gcn-zca",
        "gcn-zca: global contrast normalisation, then ZCA whitening fitted on the training split (CIFAR-10 as in the Entropy-SGD paper), kept in the run directory [none]");
    OPT("augment", ARG_STRING, x->augment, sizeof x->augment, NULL,
        "augmentation of the training batches: none, or crop4 and/or flip (crop4,flip: random 4-pixel-padded crops, mirrored half the time) [none]");
    OPT("val-split", ARG_I64, &c->val_split, 0, NULL, "hold N training samples out as a validation set (picked by --seed; 0 = none)");
    OPT("keep-last", ARG_INT, &c->keep_last, 0, NULL, "keep the checkpoints of the last K evaluations, named by epoch (0 = none)");
    OPT("keep-best", ARG_BOOL, &c->keep_best, 0, NULL, "keep the checkpoint of the lowest validation error (needs --val-split)");
    OPT("quiet", ARG_BOOL, &x->quiet, 0, NULL, "no progress output");
    OPT("force", ARG_BOOL, &x->force, 0, NULL, "start over in an --out directory that already holds a run");
    OPT("L", ARG_INT, &o->L, 0, NULL, "Entropy-SGD: Langevin steps per update", .kinds = SCOPE_KINDS);
    OPT("gamma0", ARG_DOUBLE, &o->gamma0, 0, NULL, "Entropy-SGD: initial scope gamma", .kinds = SCOPE_KINDS);
    OPT("gamma1", ARG_DOUBLE, &o->gamma1, 0, NULL, "Entropy-SGD: scoping, gamma = gamma0 (1+gamma1)^t, t = updates", .kinds = SCOPE_KINDS);
    OPT("scoping", ARG_DOUBLE, &o->gamma1, 0, NULL, "alias of --gamma1", .kinds = SCOPE_KINDS);
    OPT("gamma-max", ARG_DOUBLE, &o->gamma_max, 0, NULL, "Entropy-SGD: cap on gamma (0 = none)", .kinds = SCOPE_KINDS);
    OPT("sgld-lr", ARG_DOUBLE, &o->sgld_lr, 0, NULL, "Entropy-SGD: inner (SGLD) step eta'", .kinds = INNER_KINDS);
    OPT("noise", ARG_DOUBLE, &o->noise, 0, NULL, "Entropy-SGD: thermal noise epsilon", .kinds = INNER_KINDS | KIND(SGLD));
    OPT("noise-convention", ARG_CHOICE, &x->noise_conv, 0, "paper|code", "noise std eps*sqrt(eta') (paper) or eps*sqrt(2 eta') (code)", .kinds = INNER_KINDS);
    OPT("alpha", ARG_DOUBLE, &o->alpha, 0, NULL, "Entropy-SGD: weight of the newest sample in mu", .kinds = ESGD_KINDS | KIND(HJ_PROX));
    OPT("inner-momentum", ARG_DOUBLE, &o->inner_momentum, 0, NULL, "Entropy-SGD: SGLD momentum", .kinds = INNER_KINDS);
    OPT("inner-nesterov", ARG_BOOL, &o->inner_nesterov, 0, NULL, "Entropy-SGD: SGLD Nesterov momentum", .kinds = INNER_KINDS);
    OPT("inner-momentum-on", ARG_CHOICE, &x->momentum_on, 0, "drift|grad", "momentum on the whole drift, or on grad f only (Lua code)", .kinds = INNER_KINDS);
    OPT("inner-weight-decay", ARG_DOUBLE, &o->inner_weight_decay, 0, NULL, "Entropy-SGD: weight decay on x' in the SGLD loop", .kinds = INNER_KINDS);
    OPT("outer-step", ARG_CHOICE, &x->outer_step, 0, "rescaled|unscaled", "x -= eta (x - mu) (rescaled) or eta gamma (x - mu) (line 7)", .kinds = ESGD_KINDS);
    OPT("outer-rule", ARG_CHOICE, &x->outer_rule, 0, "sgd|adam",
        "update of the outer step (adam = Entropy-Adam); of each replica (rSGD, EASGD); base of SAM, HJ, HEAT", .kinds = RULE_KINDS);
    OPT("inner-rule", ARG_CHOICE, &x->inner_rule, 0, "sgd|adam", "update of the SGLD steps", .kinds = INNER_KINDS);
    OPT("grad-at-x", ARG_BOOL, &o->grad_at_x, 0, NULL, "Entropy-SGD: also evaluate grad f(x) per update, as the reference codes do", .kinds = INNER_KINDS);
    OPT("esgd-variant", ARG_CHOICE, &x->variant, 0, "paper|reference-code", "paper's Algorithm 1, or the reference Lua code's conventions", .kinds = ESGD_KINDS);
    OPT("gamma-auto", ARG_BOOL, &o->gamma_auto, 0, NULL,
        "sacreddnn's automatic scope: gamma0 = f(x')/(|x-x'|^2/2) after the first update, gamma1 = gamma-max^(1/updates) - 1 (gamma-max default 1e4)",
        .kinds = KIND(ENTROPY_SGD) | KIND(HJB));
    OPT("rho", ARG_DOUBLE, &o->rho, 0, NULL, "Entropy-SGD: add rho grad f(x) to the outer gradient (DR code; evaluates grad f(x))",
        .kinds = KIND(ENTROPY_SGD) | KIND(HJB));
    OPT("heat-style", ARG_CHOICE, &x->heat_style, 0, "definition|code",
        "HEAT: gradient of the Gaussian-smoothed loss, or the DR code's HEAT (Entropy-SGD loop, uniform mean; L 100, gamma0 10)",
        .kinds = KIND(HEAT));
    OPT("sgld-t0", ARG_DOUBLE, &o->sgld_t0, 0, NULL, "SGLD: step eta_t = lr (1 + t/t0)^-decay, t = updates", .kinds = KIND(SGLD));
    OPT("sgld-decay", ARG_DOUBLE, &o->sgld_decay, 0, NULL, "SGLD: step decay exponent (0 = constant)", .kinds = KIND(SGLD));
    OPT("sam-rho", ARG_DOUBLE, &o->sam_rho, 0, NULL, "SAM: radius of the weight perturbation", .kinds = KIND(SAM));
    OPT("replicas", ARG_INT, &o->replicas, 0, NULL, "replica methods: y replicas (default: one per MPI rank, or 4)", .kinds = REPLICA_KINDS);
    OPT("center", ARG_BOOL, &o->center, 0, NULL, "replicated-sgd: couple to an explicit centre variable, not the replica mean", .kinds = KIND(REPLICATED_SGD));
    OPT("same-init", ARG_BOOL, &o->same_init, 0, NULL, "replica methods: every replica starts from the same weights", .kinds = REPLICA_KINDS);
    OPT("coupling", ARG_DOUBLE, &o->coupling, 0, NULL, "replica methods: coupling g (rSGD) or rho (elastic-sgd, parle); sets --no-coupling-auto", .kinds = REPLICA_KINDS);
    OPT("coupling-auto", ARG_BOOL, &o->coupling_auto, 0, NULL, "initial coupling = mean loss / mean squared distance at the first step", .kinds = REPLICA_KINDS);
    OPT("coupling-schedule", ARG_CHOICE, &x->schedule, 0, "none|exp|lin|cosine", "growth of the coupling per effective epoch", .kinds = REPLICA_KINDS);
    OPT("coupling-rate", ARG_DOUBLE, &o->coupling_rate, 0, NULL, "exp: g0 (1+rate)^e; lin: g0 + rate e (default: from --coupling-growth)", .kinds = REPLICA_KINDS);
    OPT("coupling-growth", ARG_DOUBLE, &o->coupling_growth, 0, NULL, "total growth over the run that sets the automatic rate", .kinds = REPLICA_KINDS);
    OPT("coupling-max", ARG_DOUBLE, &o->coupling_max, 0, NULL, "cap of the coupling (exp, lin; 0 = none); the peak of cosine", .kinds = REPLICA_KINDS);
    OPT("coupling-step", ARG_CHOICE, &x->coupling_step, 0, "implicit|explicit",
        "coupling term at the new point and mean (stable for any g) or at the old point (sacreddnn; lr 2g < 1.36 with Nesterov 0.9)",
        .kinds = KIND(REPLICATED_SGD));
    OPT("parle-reference", ARG_BOOL, &o->parle_reference, 0, NULL,
        "parle as parle_mpi.py: chain kept across updates, master = mean of the chains' averages, rho = coupling L y (coupling 0.01)",
        .kinds = KIND(PARLE));
    OPT("coupling-every", ARG_INT, &o->coupling_every, 0, NULL, "couple every N steps with N times the coupling (gtime)", .kinds = REPLICA_KINDS);
#undef OPT
    return n;
}

/* Whether the boolean option --NAME is on (the last of --NAME, --no-NAME
 * wins): ent_args_peek finds values, and a flag has none. */
static int flag_given(int argc, char **argv, const char *name) {
    int on = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) continue;
        if (strcmp(a + 2, name) == 0) on = 1;
        if (strncmp(a + 2, "no-", 3) == 0 && strcmp(a + 5, name) == 0) on = 0;
    }
    return on;
}

/* The optimizer kind decides the defaults: find it before parsing. */
static int resolve_defaults(ent_train_config *c, train_extra *x, int argc, char **argv) {
    const char *opt = ent_args_peek(argc, argv, "optimizer");
    ent_optim_kind kind = ENT_OPTIM_SGD;
    if (opt && !ent_optim_kind_parse(opt, &kind)) {
        char names[512];
        fprintf(stderr, "entropic train: --optimizer %s: want one of %s\n", opt,
                optimizer_list(names, sizeof names, ", "));
        return 2;
    }
    c->optim = ent_optim_params_default(kind);
    const char *variant = ent_args_peek(argc, argv, "esgd-variant");
    if (variant && strcmp(variant, "reference-code") == 0) ent_optim_params_reference_code(&c->optim);
    x->noise_conv = c->optim.noise_code;
    x->momentum_on = c->optim.inner_momentum_grad_only;
    x->outer_step = c->optim.outer_unscaled;
    x->outer_rule = c->optim.outer_rule == ENT_UPDATE_ADAM;
    x->inner_rule = c->optim.inner_rule == ENT_UPDATE_ADAM;
    x->variant = variant && strcmp(variant, "reference-code") == 0;
    const char *heat = ent_args_peek(argc, argv, "heat-style");
    if (kind == ENT_OPTIM_HEAT && heat && strcmp(heat, "code") == 0) /* the DR code's HEAT class */
        c->optim.L = 100, c->optim.gamma0 = 10.0;
    if (kind == ENT_OPTIM_PARLE && flag_given(argc, argv, "parle-reference"))
        c->optim.coupling = 0.01; /* parle_mpi.py's --rho */
    x->schedule = (int)c->optim.coupling_schedule;
    snprintf(x->optimizer, sizeof x->optimizer, "%s", ent_optim_kind_name(kind));
    return 0;
}

static const ent_arg *find_arg(const ent_arg *spec, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(spec[i].name, name) == 0) return &spec[i];
    return NULL;
}

/* Options whose meaning depends on which others were given. */
static int apply_given(ent_train_config *c, const ent_arg *spec, int n) {
    ent_optim_params *o = &c->optim;
    if (find_arg(spec, n, "replicas")->given && o->replicas < 1) {
        fprintf(stderr, "entropic train: --replicas must be >= 1, got %d\n", o->replicas);
        return 2;
    }
    if (find_arg(spec, n, "coupling-rate")->given) o->coupling_rate_auto = 0;
    if (o->gamma_auto && !find_arg(spec, n, "gamma-max")->given) o->gamma_max = 1e4;
    if (find_arg(spec, n, "coupling")->given && !find_arg(spec, n, "coupling-auto")->given) o->coupling_auto = 0;
    int k = ent_dist_env_size();
    if (ent_optim_kind_is_replica(o->kind) && o->replicas > 0 && o->replicas % k != 0) {
        if (ent_dist_env_rank() == 0)
            fprintf(stderr, "entropic train: --replicas %d does not split over %d MPI ranks (use a multiple of %d)\n",
                    o->replicas, k, k);
        return 2;
    }
    return 0;
}

static void apply_choices(ent_train_config *c, const train_extra *x) {
    const ent_data_source *d = &x->data;
    snprintf(c->dataset, sizeof c->dataset, "%s", d->name);
    snprintf(c->data_dir, sizeof c->data_dir, "%s", d->dir);
    snprintf(c->train_x, sizeof c->train_x, "%s", d->train_x);
    snprintf(c->train_y, sizeof c->train_y, "%s", d->train_y);
    snprintf(c->test_x, sizeof c->test_x, "%s", d->test_x);
    snprintf(c->test_y, sizeof c->test_y, "%s", d->test_y);
    snprintf(c->text, sizeof c->text, "%s", d->text);
    c->optim.coupling_schedule = (ent_coupling_schedule)x->schedule;
    c->optim.coupling_explicit = x->coupling_step;
    c->optim.heat_code = x->heat_style;
    c->optim.noise_code = x->noise_conv;
    c->optim.inner_momentum_grad_only = x->momentum_on;
    c->optim.outer_unscaled = x->outer_step;
    c->optim.outer_rule = x->outer_rule ? ENT_UPDATE_ADAM : ENT_UPDATE_SGD;
    c->optim.inner_rule = x->inner_rule ? ENT_UPDATE_ADAM : ENT_UPDATE_SGD;
}

/* --model-file: read before anything is created (a bad file is a
 * one-line error naming it, exit 2); the run is then named after it. */
static int model_from_file(ent_train_config *c) {
    ent_net *net = NULL;
    ent_status s = ent_net_load(&net, c->model_file);
    if (s != ENT_OK) return ent_cli_status(s, "train");
    snprintf(c->model, sizeof c->model, "%s", ent_net_name(net));
    ent_net_free(net);
    return 0;
}

/* Whether the option spec entry a is set anywhere in argv. */
static int sets_option(const ent_arg *spec, int n, int argc, char **argv, const ent_arg *a) {
    for (int i = 0; i < argc;) {
        const ent_arg *w;
        int k = ent_args_option_at(spec, n, argc, argv, i, &w);
        if (w == a) return 1;
        i += k;
    }
    return 0;
}

/* --resume DIR: the recorded command line, then the new one on top. An
 * option given again replaces its recorded occurrences, so config.json's
 * argv does not grow with every resume. */
static int resume_argv(const char *dir, const ent_arg *spec, int n_spec, int argc, char **argv, int *out_argc,
                       char ***out_argv) {
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *text = NULL;
    size_t len = 0;
    ent_jv root;
    ent_status s = ent_read_file(path, &text, &len);
    if (s == ENT_ENOENT) {
        fprintf(stderr, "entropic train: --resume %s: no %s: the run stopped before it recorded its settings; "
                "start it again (the same command with --force instead of --resume)\n", dir, path);
        return 2;
    }
    if (s != ENT_OK || ent_jv_parse(&root, text, len) != ENT_OK) {
        fprintf(stderr, "entropic train: --resume %s: %s\n", dir, ent_last_error());
        free(text);
        return 2;
    }
    free(text);
    const ent_jv *av = ent_jv_get(&root, "argv");
    if (!av || av->type != ENT_JSON_ARRAY) {
        fprintf(stderr, "entropic train: %s: no recorded command line ('argv')\n", path);
        ent_jv_free(&root);
        return 2;
    }
    char **rec = calloc((size_t)av->n + 1, sizeof *rec), **all = calloc((size_t)(av->n + argc + 2), sizeof *all);
    int n = 0, nr = 0;
    if (!rec || !all) {
        fprintf(stderr, "entropic train: --resume %s: out of memory\n", dir);
        free(rec), free(all), ent_jv_free(&root);
        return 2;
    }
    for (int64_t i = 0; i < av->n; i++)
        if (av->items[i].type == ENT_JSON_STRING) rec[nr++] = av->items[i].str;
    for (int i = 0; i < nr;) {
        const ent_arg *a;
        int k = ent_args_option_at(spec, n_spec, nr, rec, i, &a);
        for (int j = 0; j < k; j++)
            if (!a || !sets_option(spec, n_spec, argc, argv, a)) all[n++] = strdup(rec[i + j]);
        i += k;
    }
    free(rec);
    for (int i = 0; i < argc; i++) all[n++] = strdup(argv[i]);
    ent_jv_free(&root);
    int lost = 0;
    for (int i = 0; i < n; i++) lost |= !all[i];
    if (lost) {
        for (int i = 0; i < n; i++) free(all[i]);
        free(all);
        fprintf(stderr, "entropic train: --resume %s: out of memory\n", dir);
        return 2;
    }
    *out_argc = n;
    *out_argv = all;
    return 0;
}

/* The options that apply to optimizer kind, with its defaults. */
static void print_own_options(const ent_arg *spec, int n, ent_optim_kind kind) {
    ent_arg own[N_TRAIN_ARGS];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!spec[i].kinds || (spec[i].kinds & (1u << kind))) own[k++] = spec[i];
    printf("Options of --optimizer %s (each optimizer's --help lists its own):\n", ent_optim_kind_name(kind));
    ent_args_help(own, k);
}

static void train_help(ent_arg *spec, int n, ent_optim_kind kind) {
    char presets[512], optimizers[512];
    printf("usage: entropic train --model %s --dataset " ENT_CLI_DATASETS "|" ENT_CLI_TEXT_DATASETS "\n"
           "                      --optimizer %s\n"
           "                      --epochs N --batch-size B --seed S --threads T --out RUNDIR [options]\n\n",
           preset_list(presets, sizeof presets, "|"), optimizer_list(optimizers, sizeof optimizers, "|"));
    printf("Trains a network; --epochs is a budget in effective epochs for every optimizer\n"
           "(Entropy-SGD: updates x L / batches per epoch), so equal flags mean equal numbers of\n"
           "mini-batch gradients. Defaults below are those of the optimizer named on the command\n"
           "line (try --optimizer entropy-sgd --help).\n\n");
    print_own_options(spec, n, kind);
    printf("\nReplica methods (replicated-sgd, elastic-sgd, parle) train y replicas in this process, or one\n"
           "replica per rank under mpirun -np K; sgd, adam, entropy-sgd and the other single-vector\n"
           "optimizers run data-parallel under mpirun (gradients averaged over the ranks).\n");
    printf("\nexit status: 0 done, 1 the run diverged (loss NaN/inf; the last good checkpoint is kept),\n"
           "2 usage or input error.\n");
}

/* A new run never lands on an old one by accident: --out is required, and
 * a directory that already holds a run (its config, metrics or
 * checkpoint) is refused unless --force says to start over; --resume
 * continues one. 0, or the exit status of the refusal. */
static int check_out_dir(const ent_train_config *c, int given, int force) {
    static const char *const files[] = {"config.json", "metrics.csv", "checkpoint.safetensors"};
    const int quiet_rank = ent_dist_env_rank() != 0; /* every rank finds it: rank 0 says it */
    if (!given) {
        if (!quiet_rank) fprintf(stderr, "entropic train: --out RUNDIR is required (where the run is written)\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof files / sizeof *files && !force; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", c->out_dir, files[i]);
        if (access(path, F_OK) != 0) continue;
        if (!quiet_rank)
            fprintf(stderr,
                    "entropic train: %s already holds a run (%s); --resume %s continues it, --force "
                    "starts over\n",
                    c->out_dir, files[i], c->out_dir);
        return 2;
    }
    return 0;
}

/* Drop "--resume DIR" / "--resume=DIR" from a command line. */
static int without_resume(int argc, char **argv, char **out) {
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--resume") == 0) { i++; continue; }
        if (strncmp(argv[i], "--resume=", 9) == 0) continue;
        out[n++] = argv[i];
    }
    return n;
}

/* Train, as one of the ranks when mpirun started several. A failure on
 * any rank ends every rank (MPI_Abort): the others would otherwise wait in
 * the next collective forever. */
static int run_distributed(ent_train_config *c) {
    ent_status s = ent_train_config_check(c);
    if (s != ENT_OK) {
        if (ent_dist_env_rank() != 0) return 2; /* every rank finds it: rank 0 says it */
        return ent_cli_status(s, "train");
    }
    s = ent_dist_init(NULL, NULL);
    if (s != ENT_OK) return ent_cli_status(s, "train");
    s = ent_train_run(c);
    if (s != ENT_OK && ent_dist_size() > 1) {
        fprintf(stderr, "entropic train: error on rank %d of %d: %s\n", ent_dist_rank(), ent_dist_size(),
                ent_last_error());
        fflush(stderr);
        ent_dist_abort(s == ENT_EDIVERGED ? 1 : 2);
    }
    ent_dist_finalize();
    return ent_cli_status(s, "train");
}

int ent_cmd_train(int argc, char **argv) {
    ent_train_config c = ent_train_config_default();
    train_extra x;
    memset(&x, 0, sizeof x);
    int help = 0;
    for (int i = 0; i < argc; i++) help |= strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
    const char *resume = ent_args_peek(argc, argv, "resume");
    char **own = calloc((size_t)argc + 1, sizeof *own);
    if (!own) return ent_cli_status(ent_fail(ENT_ENOMEM, "out of memory"), "train");
    int own_n = without_resume(argc, argv, own), all_n = own_n, rc;
    char **all = own;
    ent_arg spec[N_TRAIN_ARGS];
    int n = train_spec(spec, &c, &x);
    if (resume && !help && (rc = resume_argv(resume, spec, n, own_n, own, &all_n, &all)) != 0) {
        free(own);
        return rc;
    }
    if ((rc = resolve_defaults(&c, &x, all_n, all)) == 0) {
        if (help) {
            train_help(spec, n, c.optim.kind);
        } else if ((rc = ent_args_parse(spec, n, all_n, all, "train", NULL, 0, NULL)) == 0 &&
                   (rc = apply_given(&c, spec, n)) == 0) {
            apply_choices(&c, &x);
            if (x.augment[0] && ent_augment_parse(x.augment, &c.augment) != ENT_OK)
                rc = ent_cli_status(ENT_EUSAGE, "train");
            c.progress = !x.quiet;
            c.argc = all_n;
            c.argv = all;
            if (rc == 0 && resume) {
                c.resume = 1;
                snprintf(c.out_dir, sizeof c.out_dir, "%s", resume);
            } else if (rc == 0) {
                rc = check_out_dir(&c, ent_args_peek(all_n, all, "out") != NULL, x.force);
            }
            if (rc == 0 && c.model_file[0]) rc = model_from_file(&c);
            if (rc == 0) rc = run_distributed(&c);
        }
    }
    if (all != own) {
        for (int i = 0; i < all_n; i++) free(all[i]);
        free(all);
    }
    free(own);
    return rc;
}
