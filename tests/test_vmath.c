/* test_vmath.c — the vectorisable exp, sigmoid and tanh of core/vmath.h
 * against double-precision references over dense grids, and the clamps. */
#include "core/vmath.h"
#include "test.h"

typedef float (*f32_fn)(float);

/* Largest relative error of f against ref over n points of [lo, hi]. */
static double max_rel(f32_fn f, double (*ref)(double), double lo, double hi, int n) {
    double worst = 0.0;
    for (int i = 0; i <= n; i++) {
        const float x = (float)(lo + (hi - lo) * i / n);
        const double want = ref((double)x), got = f(x);
        const double e = want != 0.0 ? fabs(got - want) / fabs(want) : fabs(got);
        if (e > worst || e != e) worst = e != e ? INFINITY : e;
    }
    return worst;
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

ENT_TEST(vmath_exp_sigmoid_tanh_accuracy) {
    const double e_exp = max_rel(ent_expf, exp, -87.0, 88.0, 2000003);
    const double e_sig = max_rel(ent_sigmoidf, sigmoid, -80.0, 80.0, 1000003);
    const double e_tanh = max_rel(ent_tanhf, tanh, -12.0, 12.0, 1000003);
    const double e_tiny = max_rel(ent_tanhf, tanh, -1e-3, 1e-3, 100003);
    CHECK_MSG(e_exp < 1.5e-7, "exp: relative error %.3g", e_exp);
    CHECK_MSG(e_sig < 2.5e-7, "sigmoid: relative error %.3g", e_sig);
    CHECK_MSG(e_tanh < 2.5e-7, "tanh: relative error %.3g", e_tanh);
    CHECK_MSG(e_tiny < 1e-7, "tanh near 0: relative error %.3g", e_tiny);
    printf("    relative errors: exp %.2g, sigmoid %.2g, tanh %.2g (near 0: %.2g)\n", e_exp, e_sig, e_tanh, e_tiny);
}

ENT_TEST(vmath_limits) {
    CHECK(ent_expf(-1000.0f) > 0.0f && ent_expf(-1000.0f) < 1e-37f);
    CHECK(isfinite(ent_expf(1000.0f)) && ent_expf(1000.0f) > 1e38f);
    CHECK(ent_sigmoidf(-1000.0f) >= 0.0f && ent_sigmoidf(-1000.0f) < 1e-37f);
    CHECK(ent_sigmoidf(1000.0f) == 1.0f);
    CHECK(ent_tanhf(50.0f) == 1.0f && ent_tanhf(-50.0f) == -1.0f);
    CHECK(ent_tanhf(0.0f) == 0.0f && ent_expf(0.0f) == 1.0f);
    /* a NaN stays a NaN (a diverged run must be seen), with no undefined shift */
    const float nan = NAN;
    CHECK(isnan(ent_expf(nan)) && isnan(ent_sigmoidf(nan)) && isnan(ent_tanhf(nan)));
}
