/* test_faults.c — allocation failure: build/entropic-faults (the CLI with
 * tests/fault/faults.c's allocator) fails its N-th allocation. Swept over N
 * for a training run (setup, two steps, an evaluation and a checkpoint
 * write) and a Hessian run (checkpoint load, model, Lanczos, outputs):
 * every failure ends the command with exit 2 and one line saying out of
 * memory; a crash, a sanitizer report or a leak (LeakSanitizer, in the
 * sanitizer build) would be another exit status. The suite takes every
 * STRIDE-th allocation; bench/faults.sh runs the whole sweep. */
#include <stdlib.h>

#include "test.h"

static char out[65536];

static const char *make_data(const char *dir, int n) {
    const char *split[2] = {"train", "t10k"};
    for (int s = 0; s < 2; s++) {
        FILE *fi, *fl;
        if (!ent_test_idx_create(dir, split[s], n, &fi, &fl)) return dir;
        for (int i = 0; i < n; i++) {
            for (int px = 0; px < 784; px++) fputc((px * 31 + i * 7) % 256, fi);
            fputc(i % 10, fl);
        }
        fclose(fi), fclose(fl);
    }
    return dir;
}

/* The allocations the command makes when none fails (it must succeed). */
static long count_allocations(const char *faults, const char *args) {
    int rc = ent_test_run(out, sizeof out, "ENT_COUNT_ALLOC=1 %s %s", faults, args);
    const char *p = strstr(out, "allocations: ");
    CHECK_MSG(rc == 0 && p, "without a failure: exit %d: %s", rc, out);
    return p ? atol(p + 13) : 0;
}

/* Fail allocation k for k = first, first + stride, ... up to the count;
 * args holds one %d (a fresh name for the output directory). */
static void sweep(const char *label, const char *faults, const char *args_fmt, long stride) {
    char args[2048];
    snprintf(args, sizeof args, args_fmt, 0);
    const long n = count_allocations(faults, args);
    CHECK_MSG(n > 20, "%s: only %ld allocations counted (is the wrapper linked?)", label, n);
    int tried = 0;
    for (long k = 1; k <= n; k += k < 8 ? 1 : stride) {
        snprintf(args, sizeof args, args_fmt, (int)k);
        /* print_suppressions=0: LeakSanitizer's list of excused fontconfig caches is no output of ours */
        int rc = ent_test_run(out, sizeof out, "LSAN_OPTIONS=print_suppressions=0 ENT_FAIL_ALLOC=%ld %s %s", k, faults,
                              args);
        CHECK_MSG(rc == 2 && strstr(out, "out of memory") && ent_test_count_lines(out) == 1,
                  "%s, allocation %ld of %ld refused: exit %d (want 2 and one line saying out of memory): %s", label,
                  k, n, rc, out);
        tried++;
    }
    printf("    %s: %ld allocations, %d of them refused in turn\n", label, n, tried);
}

ENT_TEST(faults_allocation_sweep) {
    const char *t = ent_test_tmpdir();
    const char *d = make_data(t, 100);
    char faults[700], fmt[2048];
    snprintf(faults, sizeof faults, "%s-faults", ent_test_cli());
    const char *st = getenv("ENT_FAULT_STRIDE");
    const long stride = st && atol(st) > 0 ? atol(st) : 9;
    snprintf(fmt, sizeof fmt, "train --model tiny-mnistfc --dataset mnist --data-dir %s --epochs 1 --batch-size 50 "
             "--threads 1 --quiet --out %s/t%%d", d, t);
    sweep("train", faults, fmt, stride);
    /* a checkpoint to analyse: the run of count_allocations */
    snprintf(fmt, sizeof fmt, "hessian --checkpoint %s/t0/checkpoint.safetensors --dataset mnist --data-dir %s "
             "--method lanczos --top 1 --steps 5 --tol 0.999 --samples 50 --threads 1 --out %s/h%%d", t, d, t);
    sweep("hessian", faults, fmt, stride);
}
