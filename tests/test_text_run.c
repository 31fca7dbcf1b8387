/* test_text_run.c — training on text end to end: gradient clipping in
 * closed form; a character model that learns a periodic text; exact
 * resume in the middle of an epoch of token streams (carried state
 * included); eval and sample of its checkpoint; bad text input. */
#include <stdlib.h>

#include "test.h"

/* f = 1/2 (3 x0^2 + 4 x1^2) at (1, 1): gradient (3, 4), norm 5. */
ENT_TEST(clip_gradients_closed_form) {
    const double a[2] = {3, 4};
    ent_analytic *q = NULL;
    CHECK_OK(ent_analytic_quadratic(&q, 2, a, NULL, 0.0, 1));
    const float x[2] = {1, 1};
    const double maxes[3] = {1.0, 5.0, 10.0};
    for (int k = 0; k < 3; k++) {
        ent_clip_objective w;
        ent_objective o = ent_clip_gradients(&w, ent_analytic_objective(q), maxes[k]);
        float g[2];
        double loss = 0;
        CHECK_OK(ent_objective_eval(&o, x, g, &loss));
        const double coef = maxes[k] / (5.0 + 1e-6) < 1 ? maxes[k] / (5.0 + 1e-6) : 1.0;
        CHECK_NEAR(loss, 3.5, 1e-12);
        CHECK_NEAR(w.last_norm, 5.0, 1e-6);
        CHECK_NEAR(g[0], 3.0 * coef, 1e-6);
        CHECK_NEAR(g[1], 4.0 * coef, 1e-6);
    }
    ent_analytic_free(q);
}

static char out[16384];

/* A period-9 text: each character fixes the next one. */
static const char *periodic_text(void) {
    static char path[600];
    snprintf(path, sizeof path, "%s/periodic.txt", ent_test_tmpdir());
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < 400; i++) fputs("abcdefgh\n", f);
    if (f) fclose(f);
    return path;
}

#define TINY "--model charlstm --dataset text --batch-size 8 --bptt 16 --threads 2 --quiet"

static double summary_number(const char *dir, const char *key) {
    char path[700];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    char *text = NULL;
    size_t len = 0;
    double v = NAN;
    ent_jv root;
    if (ent_read_file(path, &text, &len) == ENT_OK && ent_jv_parse(&root, text, len) == ENT_OK) {
        const ent_jv *fin = ent_jv_get(&root, "final"), *x = fin ? ent_jv_get(fin, key) : NULL;
        if (x && x->type == ENT_JSON_NUMBER) v = x->num;
        ent_jv_free(&root);
    }
    free(text);
    return v;
}

/* Adam learns the period: validation perplexity from 9 (chance) to ~1;
 * eval of the checkpoint gives the run's test numbers; sample continues
 * the period from a prime. */
ENT_TEST(text_charlstm_learns_periodic_text) {
    const char *t = ent_test_tmpdir(), *txt = periodic_text();
    int rc = ent_test_run(out, sizeof out, "%s train " TINY " --text %s --optimizer adam --lr 0.01 --epochs 6 "
                          "--clip-grad-norm 5 --out %s/run", ent_test_cli(), txt, t);
    CHECK_MSG(rc == 0, "train: %s", out);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/run", t);
    const double ppl = summary_number(dir, "val_perplexity"), test_loss = summary_number(dir, "test_loss");
    CHECK_MSG(ppl < 1.1, "validation perplexity %g after 6 epochs (chance: 9)", ppl);
    rc = ent_test_run(out, sizeof out, "%s eval --checkpoint %s/checkpoint.safetensors --dataset text --text %s --json",
                      ent_test_cli(), dir, txt);
    CHECK_MSG(rc == 0 && strstr(out, "\"perplexity\""), "eval: %s", out);
    const char *l = strstr(out, "\"loss\": ");
    CHECK_MSG(l && fabs(atof(l + 8) - test_loss) < 1e-5, "eval's loss differs from the run's test loss %g: %s",
              test_loss, out);
    rc = ent_test_run(out, sizeof out, "%s sample --checkpoint %s/checkpoint.safetensors --prime abc --length 13 "
                      "--temperature 0.5 --seed 3", ent_test_cli(), dir);
    CHECK_MSG(rc == 0 && strncmp(out, "abcdefgh\nabcdefg", 16) == 0, "sample: exit %d: %s", rc, out);
    CHECK_USAGE("unknown prime", "not in the vocabulary", "%s sample --checkpoint %s/checkpoint.safetensors --prime xyz",
                ent_test_cli(), dir);
    char other[600];
    snprintf(other, sizeof other, "%s/other.txt", t);
    FILE *f = fopen(other, "w");
    for (int i = 0; f && i < 300; i++) fputs("the quick brown fox\n", f);
    if (f) fclose(f);
    CHECK_USAGE("another vocabulary", "vocabulary", "%s eval --checkpoint %s/checkpoint.safetensors --dataset text --text %s",
                ent_test_cli(), dir, other);
}

/* Every tensor of the model, the optimizer's moments and the carried
 * state are the same bit for bit. */
static void same_run_tensors(const char *a, const char *b, int64_t vocab, int64_t steps) {
    ent_model *m = NULL;
    CHECK_OK(ent_model_new(&m, "charlstm", NULL, steps, 1, 1, vocab, 8));
    if (!m) return;
    int np;
    const ent_tensor_info *p = ent_model_params(m, &np);
    const char *extra[3] = {"optim.adam_m", "optim.adam_v", "data.state"};
    ent_st_file *fa = NULL, *fb = NULL;
    CHECK_OK(ent_safetensors_read(&fa, a));
    CHECK_OK(ent_safetensors_read(&fb, b));
    for (int i = 0; fa && fb && i < np + 3; i++) {
        const char *name = i < np ? p[i].name : extra[i - np];
        int nd;
        int64_t sh[4], n = 1;
        CHECK_MSG(ent_st_find(fa, name, &nd, sh), "%s: no tensor %s", a, name);
        if (!ent_st_find(fa, name, &nd, sh)) continue;
        for (int d = 0; d < nd; d++) n *= sh[d];
        float *x = malloc(4 * (size_t)n), *y = malloc(4 * (size_t)n);
        CHECK_OK(ent_st_get(fa, name, x, n));
        CHECK_OK(ent_st_get(fb, name, y, n));
        CHECK_MSG(memcmp(x, y, 4 * (size_t)n) == 0, "tensor %s differs after resume", name);
        free(x);
        free(y);
    }
    ent_st_file_free(fa);
    ent_st_file_free(fb);
    ent_model_free(m);
}

/* Stopped at 1.25 epochs (the 5th window of epoch 2, the state carried
 * from the 4th) and resumed: the same as one run of 2 epochs. */
ENT_TEST(text_resume_mid_epoch_exact) {
    const char *t = ent_test_tmpdir(), *txt = periodic_text();
    const char *opt = "--optimizer adam --lr 0.005 --eval-every 0.25 --dropout 0";
    int rc = ent_test_run(out, sizeof out, "%s train " TINY " --text %s %s --epochs 2 --out %s/full", ent_test_cli(),
                          txt, opt, t);
    CHECK_MSG(rc == 0, "full: %s", out);
    rc = ent_test_run(out, sizeof out, "%s train " TINY " --text %s %s --epochs 1.25 --out %s/half", ent_test_cli(),
                      txt, opt, t);
    CHECK_MSG(rc == 0, "half: %s", out);
    rc = ent_test_run(out, sizeof out, "%s train --resume %s/half --epochs 2", ent_test_cli(), t);
    CHECK_MSG(rc == 0, "resume: %s", out);
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/full/checkpoint.safetensors", t);
    snprintf(b, sizeof b, "%s/half/checkpoint.safetensors", t);
    same_run_tensors(a, b, 9, 16);
    ent_test_run(out, sizeof out, "cut -d, -f1-6,8- %s/full/metrics.csv > %s/f.csv; cut -d, -f1-6,8- "
                 "%s/half/metrics.csv > %s/h.csv; cmp %s/f.csv %s/h.csv", t, t, t, t, t, t);
    CHECK_MSG(out[0] == 0, "metrics differ: %s", out);
}

/* Bad text input: one line naming the problem, exit 2. */
ENT_TEST(text_bad_input) {
    const char *t = ent_test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/empty.txt", t);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
    CHECK_TRAIN_USAGE("--model charlstm --dataset text --text /nonexistent/war-and-peace.txt", "war-and-peace.txt");
    snprintf(out, sizeof out, "--model charlstm --dataset text --text %s", path);
    CHECK_TRAIN_USAGE(out, "empty.txt");
    snprintf(path, sizeof path, "%s/latin1.txt", t);
    f = fopen(path, "wb");
    for (int i = 0; f && i < 200; i++) fputs("caf\xe9 au lait\n", f);
    if (f) fclose(f);
    snprintf(out, sizeof out, "--model charlstm --dataset text --text %s", path);
    CHECK_TRAIN_USAGE(out, "latin1.txt");
    CHECK_TRAIN_USAGE("--model charlstm --dataset text --text x.txt --val-split 10", "validation split");
}

static double json_number_in(const char *path, const char *key) {
    char *text = NULL;
    size_t len = 0;
    double v = NAN;
    ent_jv root;
    if (ent_read_file(path, &text, &len) == ENT_OK && ent_jv_parse(&root, text, len) == ENT_OK) {
        const ent_jv *x = ent_jv_get(&root, key);
        if (x && x->type == ENT_JSON_NUMBER) v = x->num;
        ent_jv_free(&root);
    }
    free(text);
    return v;
}

/* The analyses take a text checkpoint on windows of its text (each from a
 * zero state): the exact spectrum of the output layer's block and Lanczos
 * on it agree on its largest eigenvalue; local energy runs; another text's
 * vocabulary is refused. */
ENT_TEST(text_hessian_and_flatness) {
    const char *t = ent_test_tmpdir(), *txt = periodic_text();
    int rc = ent_test_run(out, sizeof out, "%s train --model tiny-charlstm --dataset text --text %s --batch-size 8 "
                          "--bptt 16 --optimizer adam --lr 0.01 --epochs 1 --threads 2 --quiet --out %s/tc",
                          ent_test_cli(), txt, t);
    CHECK_MSG(rc == 0, "train: %s", out);
    const char *common = "--dataset text --samples 12 --params fc --threads 2";
    rc = ent_test_run(out, sizeof out, "%s hessian --checkpoint %s/tc/checkpoint.safetensors --text %s %s --method exact "
                      "--out %s/ex", ent_test_cli(), t, txt, common, t);
    CHECK_MSG(rc == 0, "hessian exact: %s", out);
    rc = ent_test_run(out, sizeof out, "%s hessian --checkpoint %s/tc/checkpoint.safetensors --text %s %s --method lanczos "
                      "--out %s/la", ent_test_cli(), t, txt, common, t);
    CHECK_MSG(rc == 0, "hessian lanczos: %s", out);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/ex/summary.json", t);
    snprintf(b, sizeof b, "%s/la/summary.json", t);
    const double lx = json_number_in(a, "lambda_max"), ll = json_number_in(b, "lambda_max");
    CHECK_MSG(lx > 0 && fabs(lx - ll) <= 1e-5 * lx, "lambda_max: exact %.9g, lanczos %.9g", lx, ll);
    CHECK_MSG(json_number_in(a, "samples") == 12, "the exact run's sample count (windows)");
    rc = ent_test_run(out, sizeof out, "%s flatness --checkpoint %s/tc/checkpoint.safetensors --dataset text --text %s "
                      "--train-subset 20 --test-subset 10 --samples 2 --threads 2 --out %s/fl", ent_test_cli(), t, txt, t);
    CHECK_MSG(rc == 0 && strstr(out, "at sigma"), "flatness: %s", out);
    char other[600];
    snprintf(other, sizeof other, "%s/other.txt", t);
    FILE *f = fopen(other, "w");
    for (int i = 0; f && i < 300; i++) fputs("the quick brown fox\n", f);
    if (f) fclose(f);
    CHECK_USAGE("another vocabulary", "vocabulary", "%s hessian --checkpoint %s/tc/checkpoint.safetensors --dataset text "
                "--text %s --out %s/bad", ent_test_cli(), t, other, t);
}
