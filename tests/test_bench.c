/* test_bench.c — `entropic bench` works and reports what it promises: the
 * JSON fields, one row per kind, positive rates with min <= median <= max.
 * Functional only: no timing thresholds (speed belongs in bench/). Runs one
 * thread and L = 2 so that it takes about a second, even under ASan. */
#include <stdlib.h>

#include "test.h"

static char out[65536];

static double num(const ent_jv *o, const char *key) {
    const ent_jv *v = o ? ent_jv_get(o, key) : NULL;
    return v && v->type == ENT_JSON_NUMBER ? v->num : NAN;
}

static void check_rate(const ent_jv *r, const char *what) {
    double med = num(r, "median"), lo = num(r, "min"), hi = num(r, "max");
    CHECK_MSG(r && r->type == ENT_JSON_OBJECT, "%s: no 'ours' object", what);
    CHECK_MSG(med > 0 && lo > 0 && hi > 0, "%s: rates %g %g %g not all positive", what, lo, med, hi);
    CHECK_MSG(lo <= med && med <= hi, "%s: min %g, median %g, max %g out of order", what, lo, med, hi);
    CHECK_MSG(num(r, "windows") == 2, "%s: windows %g, want 2 (--repeats 2)", what, num(r, "windows"));
}

ENT_TEST(bench_json_no_torch) {
    int rc = ent_test_run(out, sizeof out, "%s bench --no-torch --no-gemm --model mnistfc --seconds 0.2 --repeats 2 --threads 1 --L 2 --json",
                          ent_test_cli());
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    ent_jv root;
    CHECK_OK(ent_jv_parse(&root, out, strlen(out)));
    if (ent_test_failures) { /* parse failures leave root empty: freeing is safe */
        ent_jv_free(&root);
        return;
    }
    CHECK(num(&root, "batch") == 128 && num(&root, "L") == 2 && num(&root, "repeats") == 2);
    CHECK_MSG(!ent_jv_get(&root, "gemm"), "no GEMM section with --no-gemm");
    const ent_jv *cpu = ent_jv_get(&root, "cpu"), *torch = ent_jv_get(&root, "torch");
    CHECK(cpu && cpu->type == ENT_JSON_STRING && cpu->str[0]);
    const ent_jv *avail = torch ? ent_jv_get(torch, "available") : NULL;
    CHECK_MSG(avail && avail->type == ENT_JSON_BOOL && avail->num == 0, "torch.available must be false with --no-torch");
    /* The header's facts: what runs (entropic info has the detail) and the peak, measured without --kind gemm too. */
    const ent_jv *ob = ent_jv_get(&root, "openblas"), *gb = ent_jv_get(&root, "gemm_backend"),
                 *peak = ent_jv_get(&root, "peak_fma");
    const ent_jv *core = ob ? ent_jv_get(ob, "core") : NULL, *src = ob ? ent_jv_get(ob, "coretype_source") : NULL;
    CHECK_MSG(core && core->type == ENT_JSON_STRING && core->str[0], "openblas.core missing");
    CHECK_MSG(src && src->type == ENT_JSON_STRING && src->str[0], "openblas.coretype_source missing");
    CHECK_MSG(gb && gb->type == ENT_JSON_STRING && gb->str[0], "gemm_backend missing");
    CHECK_MSG(peak && peak->type == ENT_JSON_ARRAY && peak->n == 1, "want one peak_fma entry (--threads 1)");
    if (peak && peak->type == ENT_JSON_ARRAY && peak->n == 1) {
        CHECK(num(&peak->items[0], "threads") == 1);
        CHECK(num(&peak->items[0], "peak_fma_256") >= 0 && num(&peak->items[0], "peak_fma_512") >= 0);
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            CHECK_MSG(num(&peak->items[0], "peak_fma_256") > 0, "no 256-bit peak on a CPU with AVX2 + FMA");
    }
    const ent_jv *res = ent_jv_get(&root, "results");
    CHECK_MSG(res && res->type == ENT_JSON_ARRAY && res->n == 3, "want 3 results (train, infer, esgd)");
    int seen[3] = {0};
    static const char *const kinds[3] = {"train", "infer", "esgd"};
    for (int64_t i = 0; res && res->type == ENT_JSON_ARRAY && i < res->n; i++) {
        const ent_jv *r = &res->items[i], *m = ent_jv_get(r, "model"), *k = ent_jv_get(r, "kind");
        CHECK(m && m->type == ENT_JSON_STRING && strcmp(m->str, "mnistfc") == 0);
        CHECK(num(r, "threads") == 1);
        CHECK_MSG(!ent_jv_get(r, "torch") && !ent_jv_get(r, "ratio"), "no PyTorch numbers with --no-torch");
        for (int j = 0; j < 3; j++)
            if (k && k->type == ENT_JSON_STRING && strcmp(k->str, kinds[j]) == 0) {
                seen[j]++;
                check_rate(ent_jv_get(r, "ours"), kinds[j]);
            }
    }
    for (int j = 0; j < 3; j++) CHECK_MSG(seen[j] == 1, "kind %s seen %d times, want 1", kinds[j], seen[j]);
    ent_jv_free(&root);
}

ENT_TEST(bench_usage_errors) {
    int rc = ent_test_run(out, sizeof out, "%s bench --no-torch --model resnet9000", ent_test_cli());
    CHECK_MSG(rc == 2 && strstr(out, "resnet9000") && strstr(out, "mnistfc"), "exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s bench --no-torch --repeats 0", ent_test_cli());
    CHECK_MSG(rc == 2 && strstr(out, "--repeats"), "exit %d: %s", rc, out);
    rc = ent_test_run(out, sizeof out, "%s bench --no-torch --seconds -1", ent_test_cli());
    CHECK_MSG(rc == 2 && strstr(out, "--seconds"), "exit %d: %s", rc, out);
}

/* --kind gemm: the GEMM / peak section alone, one thread, short windows. */
ENT_TEST(bench_gemm_json) {
    int rc = ent_test_run(out, sizeof out, "%s bench --kind gemm --threads 1 --seconds 0.02 --json", ent_test_cli());
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    ent_jv root;
    CHECK_OK(ent_jv_parse(&root, out, strlen(out)));
    if (ent_test_failures) { /* parse failures leave root empty: freeing is safe */
        ent_jv_free(&root);
        return;
    }
    const ent_jv *res = ent_jv_get(&root, "results"), *g = ent_jv_get(&root, "gemm");
    CHECK_MSG(res && res->type == ENT_JSON_ARRAY && res->n == 0, "--kind gemm measures no network");
    const ent_jv *b = g ? ent_jv_get(g, "backend") : NULL, *th = g ? ent_jv_get(g, "threads") : NULL;
    CHECK_MSG(b && b->type == ENT_JSON_STRING && b->str[0], "gemm.backend missing");
    CHECK_MSG(th && th->type == ENT_JSON_ARRAY && th->n == 1, "want one thread count");
    if (!th || th->type != ENT_JSON_ARRAY || th->n != 1) {
        ent_jv_free(&root);
        return;
    }
    const ent_jv *t = &th->items[0], *shapes = ent_jv_get(t, "shapes");
    CHECK(num(t, "threads") == 1);
    /* 0 is what a CPU without 512-bit vectors reports; negative never. */
    CHECK(num(t, "peak_fma_512") >= 0 && num(t, "peak_fma_256") >= 0);
    CHECK_MSG(shapes && shapes->type == ENT_JSON_ARRAY && shapes->n > 0, "no GEMM shapes");
    for (int64_t i = 0; shapes && shapes->type == ENT_JSON_ARRAY && i < shapes->n; i++) {
        const ent_jv *s = &shapes->items[i];
        double best = num(s, "best"), med = num(s, "median");
        CHECK_MSG(best > 0 && med > 0 && med <= best, "shape %lld: best %g, median %g", (long long)i, best, med);
        CHECK(num(s, "M") > 0 && num(s, "N") > 0 && num(s, "K") > 0);
    }
    ent_jv_free(&root);
}

/* bench/torch_bench.py --probe names the OpenBLAS core the loaded library
 * runs: told OPENBLAS_CORETYPE=Haswell (a CPU with AVX2 only), it must say
 * Haswell, or the peer's core in `entropic bench` would be a guess. */
ENT_TEST(bench_torch_probe) {
    if (ent_test_run(NULL, 0, "/usr/bin/python3 -c 'import torch'") != 0) {
        printf("    skip: /usr/bin/python3 cannot import torch\n");
        return;
    }
    int rc = ent_test_run(out, sizeof out, "/usr/bin/python3 bench/torch_bench.py --probe 2>&1");
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    ent_jv root;
    CHECK_OK(ent_jv_parse(&root, out, strlen(out)));
    const ent_jv *core = ent_jv_get(&root, "openblas_core"), *ver = ent_jv_get(&root, "torch");
    CHECK_MSG(core && core->type == ENT_JSON_STRING && core->str[0], "no openblas_core: %s", out);
    CHECK_MSG(ver && ver->type == ENT_JSON_STRING && ver->str[0], "no torch version: %s", out);
    int openblas = core && core->type == ENT_JSON_STRING && strcmp(core->str, "unknown") != 0;
    ent_jv_free(&root);
    __builtin_cpu_init();
    if (!openblas || !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        printf("    skip (the forced core): %s\n", openblas ? "no AVX2" : "torch does not load OpenBLAS");
        return;
    }
    rc = ent_test_run(out, sizeof out, "OPENBLAS_CORETYPE=Haswell /usr/bin/python3 bench/torch_bench.py --probe 2>&1");
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK_OK(ent_jv_parse(&root, out, strlen(out)));
    core = ent_jv_get(&root, "openblas_core");
    CHECK_MSG(core && core->type == ENT_JSON_STRING && strcmp(core->str, "Haswell") == 0, "want Haswell: %s", out);
    ent_jv_free(&root);
}
