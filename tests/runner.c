/* runner.c — runs the registered tests; exit status 1 if any failed.
 * Usage: run_tests [substring-filter ...]
 * The last line is "N passed, N failed", which CI reads. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define X(name) void ent_test_##name(void);
#include "test_list.h"
#undef X

typedef struct {
    const char *name;
    void (*fn)(void);
} test_entry;

static const test_entry tests[] = {
#define X(name) {#name, ent_test_##name},
#include "test_list.h"
#undef X
};

int ent_test_failures;
static char tmp_root[256];
static char tmp_dir[512];
static int tmp_serial;

void ent_test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    ent_test_failures++;
    if (ent_test_failures > 20) return; /* keep the log readable */
    fprintf(stdout, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

double ent_test_compare(const char *what, const float *got, const float *want,
                        int64_t n, double atol, double rtol, const char *file,
                        int line) {
    double worst = 0.0;
    int64_t bad = -1;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= atol + rtol * fabs((double)want[i]))) {
            if (bad < 0) bad = i;
        }
        if (d > worst || d != d) worst = d;
    }
    if (bad >= 0)
        ent_test_fail(file, line,
                      "%s: element %lld got %.9g want %.9g (max |diff| %.3g, "
                      "atol %.1g rtol %.1g)",
                      what, (long long)bad, got[bad], want[bad], worst, atol,
                      rtol);
    return worst;
}

const char *ent_test_cli(void) {
    const char *p = getenv("ENT_CLI");
    return p ? p : ENT_CLI_DEFAULT;
}

const char *ent_test_fixture_dir(void) {
    const char *p = getenv("ENT_FIXTURES");
    return p ? p : "tests/fixtures";
}

const char *ent_test_tmpdir(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "%s/t%d", tmp_root, tmp_serial++);
    mkdir(tmp_dir, 0700);
    return tmp_dir;
}

int ent_test_run(char *out, size_t out_len, const char *fmt, ...) {
    char cmd[4096], full[4800], outpath[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(outpath, sizeof outpath, "%s/cmd.out", tmp_root);
    snprintf(full, sizeof full, "(%s) >%s 2>&1", cmd, outpath);
    int rc = system(full);
    if (out && out_len) {
        out[0] = 0;
        FILE *f = fopen(outpath, "rb");
        if (f) {
            size_t k = fread(out, 1, out_len - 1, f);
            out[k] = 0;
            fclose(f);
        }
    }
    if (rc == -1) return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

static int matches(const char *name, int argc, char **argv) {
    if (argc < 2) return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return 1;
    return 0;
}

int main(int argc, char **argv) {
    int passed = 0, failed = 0;
    snprintf(tmp_root, sizeof tmp_root, "/tmp/entropic-test-%d", (int)getpid());
    mkdir(tmp_root, 0700);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!matches(tests[i].name, argc, argv)) continue;
        ent_test_failures = 0;
        double t0 = ent_time_seconds();
        tests[i].fn();
        double dt = ent_time_seconds() - t0;
        if (ent_test_failures) {
            printf("FAIL %s (%.2fs)\n", tests[i].name, dt);
            failed++;
        } else {
            printf("ok   %s (%.2fs)\n", tests[i].name, dt);
            passed++;
        }
    }
    char rm[400];
    snprintf(rm, sizeof rm, "rm -rf %s", tmp_root);
    if (system(rm) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
