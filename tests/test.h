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
