/* test_hvp_fixtures.c — Hv of small-mnistfc, small-lenet and a residual
 * block net (tests/fixtures/resblock.json) against
 * PyTorch 1.13 (torch.autograd.functional.hvp: double back-propagation, in
 * float64), from tools/gen_hvp_fixtures.py (tests/fixtures/hvp_*.bin).
 *
 * theta and v are rebuilt bit for bit from the formula in the script, x
 * and y are stored; both sides compute in double from the same float32
 * values, so they differ by the float32 rounding of the stored reference
 * (<= 2^-24 = 6e-8 relative) plus double rounding (~1e-13 of max |Hv|).
 * Tolerance: |got - want| <= 1.2e-7 |want| + 1e-10 max |want|. The loss
 * likewise (1.2e-7 relative). The samples are processed in chunks of 5
 * (4 chunks), so the accumulation over chunks is tested too.
 *
 * The float engine (opts.single): float32 rounding (6e-8) of every product
 * and sum, through four layers and sums of up to 784 terms, gives errors of
 * ~1e-6 of max |Hv| (observed 3e-7); tolerance |got - want| <= 1e-5
 * max |want| (loss and v.Hv 1e-5 relative). */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "test.h"

static const ent_fx_array *need(const ent_fixture *f, const char *name, int64_t n) {
    const ent_fx_array *a = ent_fixture_find(f, name);
    CHECK_MSG(a && (n < 0 || a->numel == n), "fixture array '%s' missing or of the wrong size", name);
    return a && (n < 0 || a->numel == n) ? a : NULL;
}

/* preset: a preset's name or a network file in the fixture folder
 * (".json"); bn_train: batch-norm on batch statistics. */
static void check_preset(const char *preset, const char *file, int single, int bn_train) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ent_test_fixture_dir(), file);
    ent_fixture *f = NULL;
    CHECK_OK(ent_fixture_load(&f, path));
    if (!f) return;
    ent_model *m = NULL;
    ent_net *net = NULL;
    if (strstr(preset, ".json")) snprintf(path, sizeof path, "%s/%s", ent_test_fixture_dir(), preset);
    else snprintf(path, sizeof path, "%s", preset);
    CHECK_OK(ent_net_named(&net, path, NULL, 10));
    if (net) CHECK_OK(ent_model_new_net(&m, net, 1, 28, 28, 10, 16));
    ent_net_free(net);
    int nt = 0;
    const ent_tensor_info *t = m ? ent_model_params(m, &nt) : NULL;
    const int64_t P = m ? ent_model_n_param(m) : 0;
    const ent_fx_array *x = need(f, "x", 16 * 784), *y = need(f, "y", 16), *tk = need(f, "tkeys", nt);
    const ent_fx_array *tb = need(f, "tbounds", nt), *vk = need(f, "vkeys", nt);
    const ent_fx_array *loss = need(f, "loss", 1), *hv = need(f, "hv", P), *vhv = need(f, "vhv", 1);
    if (!m || !x || !y || !tk || !tb || !vk || !loss || !hv || !vhv) {
        ent_model_free(m);
        ent_fixture_free(f);
        return;
    }
    float *theta = ent_alloc(sizeof(float) * (size_t)P), *vf = ent_alloc(sizeof(float) * (size_t)P);
    int32_t yi[16];
    double *v = malloc(sizeof(double) * (size_t)P), *got = malloc(sizeof(double) * (size_t)P);
    for (int i = 0; i < nt; i++) {
        ent_fixture_formula(theta + t[i].offset, t[i].numel, (uint64_t)tk->data[i], (double)tb->data[i]);
        ent_fixture_formula(vf + t[i].offset, t[i].numel, (uint64_t)vk->data[i], 1.0);
    }
    for (int i = 0; i < 16; i++) yi[i] = (int32_t)y->data[i];
    for (int64_t i = 0; i < P; i++) v[i] = vf[i];
    ent_nethess *h = NULL;
    ent_nethess_opts no = {.batch = bn_train ? 16 : 5, .single = single, .bn_train = bn_train};
    CHECK_OK(ent_nethess_new(&h, m, theta, NULL, x->data, yi, 16, &no));
    if (h) {
        ent_hvp op = ent_nethess_hvp(h);
        double l = 0, big = 0, worst = 0, dot = 0;
        CHECK_OK(ent_nethess_grad(h, NULL, &l, NULL));
        CHECK_OK(ent_hvp_apply(&op, v, got));
        for (int64_t i = 0; i < P; i++) big = fmax(big, fabs(hv->data[i]));
        int64_t bad = -1;
        const double rt = single ? 0.0 : 1.2e-7, at = single ? 1e-5 : 1e-10;
        for (int64_t i = 0; i < P; i++) {
            const double d = fabs(got[i] - hv->data[i]);
            if (d > rt * fabs(hv->data[i]) + at * big && bad < 0) bad = i;
            worst = fmax(worst, single ? d / big : d / (fabs(hv->data[i]) + 1e-10 * big));
            dot += v[i] * got[i];
        }
        printf("    %-13s %s %lld params: loss %.7f vs %.7f; Hv max |diff| / %s %.1e (tol %.1e); v.Hv %.6e vs %.6e\n",
               preset, single ? "float " : "double", (long long)P, l, loss->data[0],
               single ? "max |ref|" : "(|ref| + 1e-10 max)", worst, single ? 1e-5 : 1.2e-7, dot, vhv->data[0]);
        CHECK_MSG(bad < 0, "%s: Hv[%lld] = %.9g, PyTorch %.9g", preset, (long long)bad, bad < 0 ? 0 : got[bad],
                  bad < 0 ? 0 : hv->data[bad]);
        CHECK(fabs(l - loss->data[0]) <= (single ? 1e-5 : 1.2e-7) * fabs(loss->data[0]));
        CHECK(fabs(dot - vhv->data[0]) <= (single ? 1e-5 : 1.2e-7) * fabs(vhv->data[0]));
    }
    ent_nethess_free(h);
    ent_free_aligned(theta), ent_free_aligned(vf), free(v), free(got);
    ent_model_free(m);
    ent_fixture_free(f);
}

ENT_TEST(hvp_fixture_small_mnistfc) {
    check_preset("small-mnistfc", "hvp_small_mnistfc.bin", 0, 0);
    check_preset("small-mnistfc", "hvp_small_mnistfc.bin", 1, 0);
}

ENT_TEST(hvp_fixture_small_lenet) {
    check_preset("small-lenet", "hvp_small_lenet.bin", 0, 0);
    check_preset("small-lenet", "hvp_small_lenet.bin", 1, 0);
}

/* A residual block with a 1x1 projection shortcut, batch-norm on the
 * batch's statistics (one chunk of all 16 samples: the statistics are the
 * batch's), the global mean: the add's fan-out and join in the R-operator. */
ENT_TEST(hvp_residual_block_vs_torch) {
    check_preset("resblock.json", "hvp_resblock.bin", 0, 1);
    check_preset("resblock.json", "hvp_resblock.bin", 1, 1);
}

/* The presets' parameter tables, as the paper counts them. */
ENT_TEST(hvp_small_presets_tables) {
    const char *names[] = {"small-mnistfc", "small-lenet", "tiny-mnistfc"};
    const int64_t want[] = {50890, 47658, 6370};
    for (int i = 0; i < 3; i++) {
        ent_model *m = NULL;
        CHECK_OK(ent_model_new(&m, names[i], NULL, 1, 28, 28, 10, 4));
        if (!m) continue;
        CHECK_MSG(ent_model_n_param(m) == want[i], "%s: %lld params, want %lld", names[i],
                  (long long)ent_model_n_param(m), (long long)want[i]);
        CHECK(ent_model_n_buffer(m) == 0);
        int n;
        const ent_tensor_info *p = ent_model_params(m, &n);
        CHECK(strcmp(p[0].name, i == 1 ? "conv1.weight" : "fc1.weight") == 0);
        CHECK(strcmp(p[n - 1].name, "fc2.bias") == 0);
        ent_model_free(m);
    }
}
