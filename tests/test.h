/* test.h — the tiny test framework (libuv-style registry).
 * Define a test with ENT_TEST(name) { ... } in any tests/test_*.c file; the
 * Makefile collects every ENT_TEST into build/test_list.h, and the runner
 * (tests/runner.c) runs them all or those whose name contains a filter. */
#ifndef ENT_TEST_H
#define ENT_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "entropic.h"

#define ENT_TEST(name) void ent_test_##name(void)

/* Failure count of the running test; set by the CHECK macros. */
extern int ent_test_failures;
void ent_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Path of the built `entropic` program and of the fixtures folder. */
const char *ent_test_cli(void);
const char *ent_test_fixture_dir(void);
/* A fresh empty temporary directory for this test (removed at exit). */
const char *ent_test_tmpdir(void);
/* Run a shell command; returns its exit status (or -1). Output goes to
 * <tmpdir>/cmd.out, whose text is copied into out (if not NULL). */
int ent_test_run(char *out, size_t out_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* End-to-end helpers for the tests of the `entropic` program
 * (cli_helpers.c). */
/* Newlines in s: the CLI's errors are one line. */
int ent_test_count_lines(const char *s);
/* A usage error: the command (a format) exits 2 with one line of output
 * that contains `what`. Failures are reported at file:line, after label. */
void ent_test_expect_usage_at(const char *file, int line, const char *label, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define CHECK_USAGE(label, what, ...) ent_test_expect_usage_at(__FILE__, __LINE__, label, what, __VA_ARGS__)
/* The same for `entropic train --out <fresh dir>/r args`, labelled 'args'. */
void ent_test_expect_train_usage_at(const char *file, int line, const char *args, const char *what);
#define CHECK_TRAIN_USAGE(args, what) ent_test_expect_train_usage_at(__FILE__, __LINE__, args, what)
/* A big-endian 32-bit field, as IDX headers store them. */
void ent_test_put_be32(FILE *f, uint32_t v);
/* Create <dir>/<split>-images-idx3-ubyte and <dir>/<split>-labels-idx1-ubyte
 * with the headers of n 28x28 images and n labels; the caller writes the
 * bytes and closes both. 0 (a failed check, nothing left open) if either
 * cannot be created. */
int ent_test_idx_create(const char *dir, const char *split, int n, FILE **images, FILE **labels);
/* n MNIST-shaped images of each split in dir (train, t10k; class k a
 * bright band at rows 2k .. 2k+4 over noise), learnable in a few steps;
 * returns dir. */
const char *ent_test_mnist_like(const char *dir, int n);
/* metrics.csv's column `name` (matched as a substring of the header) in
 * row `row` (0 = the first after the header) of a file's text, or NAN. */
double ent_test_csv(const char *text, int row, const char *name);
/* Whether MPI tests can run (an MPI build and mpirun on PATH); prints why
 * they are skipped when not. */
int ent_test_have_mpi(void);
/* mpirun as the tests start it: as root Open MPI needs --allow-run-as-root,
 * --oversubscribe lets 4 ranks share 2 cores, and LeakSanitizer is off
 * because the MPI runtime itself leaks at exit. */
#define MPIRUN "env ASAN_OPTIONS=detect_leaks=0 mpirun --allow-run-as-root --oversubscribe --bind-to none"

/* The test binary's allocator (test_alloc.c: every malloc, calloc,
 * realloc, posix_memalign and aligned_alloc of entropic's code): the
 * largest single request since the last reset; the count so far; and a
 * failure injected at the k-th allocation from now (0: none), returning
 * how many were refused since the last call. */
size_t ent_test_alloc_largest(int reset);
long ent_test_alloc_count(void);
long ent_test_alloc_fail_at(long k);

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) ent_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
    } while (0)

#define CHECK_MSG(cond, ...)                                              \
    do {                                                                  \
        if (!(cond)) ent_test_fail(__FILE__, __LINE__, __VA_ARGS__);      \
    } while (0)

/* |a - b| <= tol (absolute). */
#define CHECK_NEAR(a, b, tol)                                             \
    do {                                                                  \
        double a_ = (a), b_ = (b), t_ = (tol);                            \
        if (!(fabs(a_ - b_) <= t_))                                       \
            ent_test_fail(__FILE__, __LINE__, "%s = %.9g, %s = %.9g, |diff| %.3g > %.3g", \
                          #a, a_, #b, b_, fabs(a_ - b_), t_);             \
    } while (0)

#define CHECK_OK(expr)                                                    \
    do {                                                                  \
        ent_status s_ = (expr);                                           \
        if (s_ != ENT_OK)                                                 \
            ent_test_fail(__FILE__, __LINE__, "%s -> %s: %s", #expr,      \
                          ent_status_name(s_), ent_last_error());         \
    } while (0)

/* Largest |a_i - b_i| / (atol + rtol-scale): returns max abs diff and
 * fails when |a_i - b_i| > atol + rtol * |b_i| for some i. */
double ent_test_compare(const char *what, const float *got,
                        const float *want, int64_t n, double atol,
                        double rtol, const char *file, int line);
#define CHECK_CLOSE(what, got, want, n, atol, rtol) \
    ent_test_compare(what, got, want, n, atol, rtol, __FILE__, __LINE__)

#endif
