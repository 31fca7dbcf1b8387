/* test_blas_core.c — the choice of OpenBLAS's core type (core/blas_core.h)
 * and `entropic info`, which reports it and checks its kernels. The
 * fallback path (OpenBLAS detected a generic core) is taken on any machine
 * through the test hook ENT_TEST_BLAS_CORENAME. */
#include <strings.h>

#include "core/blas_core.h"
#include "test.h"

static char out[16384];

ENT_TEST(blas_core_choice) {
    const ent_cpu_features none = {0, 0, 0}, avx2 = {1, 0, 0}, avx512 = {1, 1, 0}, bf16 = {1, 1, 1};
    static const struct {
        const char *detected;
        int features; /* 0 none, 1 avx2, 2 avx512, 3 avx512 + bf16 */
        const char *want; /* NULL: keep the detected core */
    } cases[] = {
        {"Prescott", 2, "SkylakeX"}, {"Prescott", 3, "Cooperlake"}, {"Prescott", 1, "Haswell"},
        {"Prescott", 0, NULL},       {"PRESCOTT", 1, "Haswell"},    {"Sandybridge", 2, "SkylakeX"},
        {"Nehalem", 1, "Haswell"},   {"Core2", 1, "Haswell"},       {"Barcelona", 1, "Haswell"},
        {"Bulldozer", 3, "Cooperlake"}, {"Excavator", 1, "Haswell"}, {"Unknown", 1, "Haswell"},
        {"Zen", 1, NULL},            {"Zen", 3, NULL},              {"Haswell", 2, NULL},
        {"HASWELL", 1, NULL},        {"SkylakeX", 3, NULL},         {"Cooperlake", 3, NULL},
        {"SapphireRapids", 3, NULL}, {"Zen", 0, NULL},              {"NoSuchCore9000", 1, "Haswell"},
        {"NoSuchCore9000", 0, NULL}, {"", 2, "SkylakeX"},
    };
    const ent_cpu_features *f[4] = {&none, &avx2, &avx512, &bf16};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = ent_blas_choose_core(cases[i].detected, f[cases[i].features]);
        CHECK_MSG(cases[i].want ? got && strcmp(got, cases[i].want) == 0 : got == NULL,
                  "case %zu: '%s' with features %d: got %s, want %s", i, cases[i].detected, cases[i].features,
                  got ? got : "NULL (keep)", cases[i].want ? cases[i].want : "NULL (keep)");
    }
    CHECK(ent_blas_choose_core(NULL, &avx2) && strcmp(ent_blas_choose_core(NULL, &avx2), "Haswell") == 0);
    /* What is chosen must itself count as fast, or a re-exec could choose again. */
    CHECK(ent_blas_core_is_fast("Cooperlake") && ent_blas_core_is_fast("SkylakeX") && ent_blas_core_is_fast("haswell"));
    CHECK(!ent_blas_core_is_fast("Prescott") && !ent_blas_core_is_fast(NULL));
}

/* `entropic info --json` with the given environment prefix; 0 (a failed
 * check) if it did not run or its output does not parse. */
static int run_info(ent_jv *root, const char *env) {
    int rc = ent_test_run(out, sizeof out,
                          "env -u OPENBLAS_CORETYPE -u " ENT_BLAS_TEST_HOOK " -u " ENT_BLAS_DETECTED_VAR
                          " %s %s info --json 2>&1",
                          env, ent_test_cli());
    CHECK_MSG(rc == 0, "info (%s): exit %d: %s", env, rc, out);
    if (rc != 0) return 0;
    ent_status s = ent_jv_parse(root, out, strlen(out));
    CHECK_MSG(s == ENT_OK, "info (%s): output is not JSON: %s", env, out);
    return s == ENT_OK;
}

static const char *str(const ent_jv *o, const char *key) {
    const ent_jv *v = o ? ent_jv_get(o, key) : NULL;
    return v && v->type == ENT_JSON_STRING ? v->str : "";
}

static void check_blas_ok(const ent_jv *root, const char *what) {
    const ent_jv *c = ent_jv_get(root, "blas_check"), *ok = c ? ent_jv_get(c, "ok") : NULL;
    CHECK_MSG(ok && ok->type == ENT_JSON_BOOL && ok->num == 1, "%s: blas check not ok: %s", what, out);
}

/* The test binary links the same OpenBLAS as the CLI: no OpenBLAS, nothing to choose. */
static int have_openblas(void) {
    if (strcmp(ent_blas_corename(), "none") != 0) return 1;
    printf("    skip: not linked against OpenBLAS (core name \"none\")\n");
    return 0;
}

static int have_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* The best type this CPU's flags support, as the choice for a generic core. */
static const char *best_core(void) {
    ent_cpu_features f;
    ent_cpu_features_detect(&f);
    return ent_blas_choose_core("Prescott", &f);
}

/* OPENBLAS_CORETYPE unset: on a CPU with AVX2 the core is never a generic
 * one, whether OpenBLAS knew the CPU or entropic had to choose. */
ENT_TEST(blas_core_info_default) {
    if (!have_openblas()) return;
    ent_jv root;
    if (!run_info(&root, "")) return;
    const ent_jv *ob = ent_jv_get(&root, "openblas");
    const char *core = str(ob, "core"), *src = str(ob, "coretype_source");
    if (have_avx2())
        CHECK_MSG(ent_blas_core_is_fast(core), "core '%s' is a generic one on a CPU with AVX2: %s", core, out);
    CHECK_MSG(strcmp(src, "detected") == 0 || strcmp(src, "entropic") == 0, "source '%s': %s", src, out);
    if (strcmp(src, "entropic") == 0)
        CHECK_MSG(strcasecmp(core, best_core()) == 0, "entropic chose %s, want %s", core, best_core());
    check_blas_ok(&root, "default");
    ent_jv_free(&root);
}

/* OpenBLAS "detected" Prescott (the hook): entropic sets the best type the
 * CPU supports, OpenBLAS runs it, and its products pass the check. */
ENT_TEST(blas_core_info_fallback) {
    if (!have_openblas()) return;
    const char *want = best_core();
    ent_jv root;
    if (!run_info(&root, ENT_BLAS_TEST_HOOK "=Prescott")) return;
    const ent_jv *ob = ent_jv_get(&root, "openblas");
    const char *core = str(ob, "core"), *src = str(ob, "coretype_source");
    if (want) {
        CHECK_MSG(strcmp(src, "entropic") == 0, "source '%s', want entropic: %s", src, out);
        CHECK_MSG(strcasecmp(core, want) == 0, "core '%s', want %s: %s", core, want, out);
        CHECK_MSG(strcmp(str(ob, "coretype_env"), want) == 0, "OPENBLAS_CORETYPE '%s', want %s",
                  str(ob, "coretype_env"), want);
        CHECK_MSG(strcmp(str(ob, "detected"), "Prescott") == 0, "detected '%s', want Prescott", str(ob, "detected"));
    } else { /* no AVX2: nothing better to run, nothing set */
        CHECK_MSG(strcmp(src, "detected") == 0, "source '%s' on a CPU without AVX2: %s", src, out);
    }
    check_blas_ok(&root, "fallback");
    ent_jv_free(&root);
}

/* A type the environment sets is left as it is, even where entropic would
 * choose another (the hook says OpenBLAS fell back). */
ENT_TEST(blas_core_info_env_kept) {
    if (!have_openblas()) return;
    if (!have_avx2()) {
        printf("    skip: no AVX2, OPENBLAS_CORETYPE=Haswell cannot run here\n");
        return;
    }
    ent_jv root;
    if (!run_info(&root, "OPENBLAS_CORETYPE=Haswell " ENT_BLAS_TEST_HOOK "=Prescott")) return;
    const ent_jv *ob = ent_jv_get(&root, "openblas");
    CHECK_MSG(strcmp(str(ob, "coretype_source"), "environment") == 0, "source '%s': %s", str(ob, "coretype_source"),
              out);
    CHECK_MSG(strcmp(str(ob, "coretype_env"), "Haswell") == 0, "OPENBLAS_CORETYPE '%s'", str(ob, "coretype_env"));
    CHECK_MSG(strcasecmp(str(ob, "core"), "Haswell") == 0, "core '%s', want Haswell: %s", str(ob, "core"), out);
    check_blas_ok(&root, "environment");
    ent_jv_free(&root);
}

/* The text form names the same facts; --help and a bad option behave. */
ENT_TEST(blas_core_info_text) {
    int rc = ent_test_run(out, sizeof out, "%s info", ent_test_cli());
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    static const char *const lines[] = {"cpu ", "cpu features", "gemm backend",
                                        "openblas core", "threads", "blas check       ok"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        CHECK_MSG(strstr(out, lines[i]), "no '%s' in: %s", lines[i], out);
    rc = ent_test_run(out, sizeof out, "%s info --help", ent_test_cli());
    CHECK_MSG(rc == 0 && strstr(out, "OPENBLAS_CORETYPE") && strstr(out, "blas check"), "exit %d: %s", rc, out);
    CHECK_USAGE("info --bogus", "--bogus", "%s info --bogus", ent_test_cli());
}
