/* blas_core.h — which OpenBLAS kernels (its "core type") this process runs,
 * and the one we would rather it ran (internal; the CLI and the tests).
 *
 * OpenBLAS built with DYNAMIC_ARCH picks its kernels from the CPU's
 * family and model when it is loaded. A CPU newer than the library (an
 * Intel Sapphire Rapids under OpenBLAS 0.3.21) gets a generic fallback,
 * "Prescott", whose SSE3 kernels run 4-5x slower than the AVX-512 ones
 * the CPU can run. OPENBLAS_CORETYPE names the kernels instead; OpenBLAS
 * believes it without checking the CPU, so a type is only ever chosen
 * from the features the CPU reports (a wrong one dies of SIGILL).
 *
 * `entropic` (src/cli/main.c) sets OPENBLAS_CORETYPE before its one
 * re-exec when OpenBLAS fell back to a generic core and the variable is
 * unset; a set OPENBLAS_CORETYPE is never changed. */
#ifndef ENT_BLAS_CORE_H
#define ENT_BLAS_CORE_H

/* The CPU features that decide which kernels can run. */
typedef struct {
    int avx2_fma;    /* AVX2 and FMA: the Haswell kernels */
    int avx512;      /* AVX-512 F, BW, DQ, VL, CD: SkylakeX */
    int avx512_bf16; /* AVX512_BF16 as well: Cooperlake */
} ent_cpu_features;

/* This CPU's (and OS's) features, through __builtin_cpu_supports. */
void ent_cpu_features_detect(ent_cpu_features *f);

/* 1 if OpenBLAS core `name` (any case) runs AVX2 or AVX-512 kernels. */
int ent_blas_core_is_fast(const char *name);

/* The decision, pure: the core type to set when OpenBLAS detected
 * `detected` on a CPU with features f, or NULL to keep what it detected.
 * Kept: a core that already uses AVX2 or AVX-512 kernels. Otherwise (a
 * generic or older fallback, an unknown name) the best f supports:
 * Cooperlake, SkylakeX, Haswell; NULL if f has not even AVX2 + FMA. */
const char *ent_blas_choose_core(const char *detected, const ent_cpu_features *f);

/* OpenBLAS's core name and build configuration now ("none" in a build
 * without OpenBLAS: they are weak symbols). */
const char *ent_blas_corename(void);
const char *ent_blas_config(void);
/* OpenBLAS's thread count (openblas_get_num_threads); 0 without OpenBLAS. */
int ent_blas_num_threads(void);

/* Test hook: ENT_TEST_BLAS_CORENAME=NAME makes ent_blas_detected_core
 * report NAME instead of what OpenBLAS detected, so that the tests can take
 * the fallback path on any machine (`entropic bench` also takes it for the
 * PyTorch peer's core). Never set it otherwise. */
#define ENT_BLAS_TEST_HOOK "ENT_TEST_BLAS_CORENAME"
/* Set (to the core OpenBLAS had detected) by the process that chose
 * OPENBLAS_CORETYPE, so that it and its children can tell a type entropic
 * chose from one the environment set. Internal. */
#define ENT_BLAS_DETECTED_VAR "ENT_BLAS_CORE_DETECTED"

/* The core OpenBLAS detected, as the decision sees it: the test hook's
 * name if set, else ent_blas_corename(); NULL without OpenBLAS. */
const char *ent_blas_detected_core(void);

/* What main() should set OPENBLAS_CORETYPE to before it re-executes
 * itself, or NULL: the variable is already set, OpenBLAS is absent or not
 * a DYNAMIC_ARCH build (it would ignore the variable), or the decision
 * keeps the detected core. *detected gets that core's name. */
const char *ent_blas_core_wanted(const char **detected);

/* Where OpenBLAS's core came from in this process. */
typedef enum {
    ENT_BLAS_CORE_DETECTED = 0, /* OpenBLAS's own pick: OPENBLAS_CORETYPE unset */
    ENT_BLAS_CORE_FROM_ENV,     /* OPENBLAS_CORETYPE set by the user or the machine */
    ENT_BLAS_CORE_BY_ENTROPIC,  /* OPENBLAS_CORETYPE set by entropic; *detected: what OpenBLAS had picked */
} ent_blas_core_source;
ent_blas_core_source ent_blas_core_origin(const char **detected);

#endif
