/* blas_core.c — OpenBLAS's core type: what it runs, what it should run
 * (blas_core.h says why). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/blas_core.h"

/* Weak: a build against another BLAS has neither (mem.c does the same
 * with openblas_set_num_threads). */
char *openblas_get_corename(void) __attribute__((weak));
char *openblas_get_config(void) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));

void ent_cpu_features_detect(ent_cpu_features *f) {
    memset(f, 0, sizeof *f);
#if defined(__x86_64__) && defined(__GNUC__)
    /* libgcc sets the AVX-512 bits only when the OS saves the zmm state. */
    __builtin_cpu_init();
    f->avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    f->avx512 = f->avx2_fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512cd");
    f->avx512_bf16 = f->avx512 && __builtin_cpu_supports("avx512bf16");
#endif
}

/* OpenBLAS's x86-64 cores with AVX2 or AVX-512 kernels, as
 * openblas_get_corename spells them (a DYNAMIC_ARCH build; a build for one
 * target says the same in capitals). Every other name is an older or
 * generic core: Prescott (the fallback for a CPU OpenBLAS does not know),
 * Core2, Penryn, Dunnington, Nehalem, Sandybridge, Atom, Nano, Barcelona,
 * Opteron, Bobcat, Bulldozer, Piledriver, Steamroller, Excavator... */
static const char *const fast_cores[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};

int ent_blas_core_is_fast(const char *name) {
    for (size_t i = 0; name && i < sizeof fast_cores / sizeof fast_cores[0]; i++)
        if (strcasecmp(name, fast_cores[i]) == 0) return 1;
    return 0;
}

const char *ent_blas_choose_core(const char *detected, const ent_cpu_features *f) {
    if (ent_blas_core_is_fast(detected)) return NULL;
    if (f->avx512 && f->avx512_bf16) return "Cooperlake";
    if (f->avx512) return "SkylakeX";
    if (f->avx2_fma) return "Haswell";
    return NULL;
}

const char *ent_blas_corename(void) {
    const char *s = openblas_get_corename ? openblas_get_corename() : NULL;
    return s && s[0] ? s : "none";
}

const char *ent_blas_config(void) {
    const char *s = openblas_get_config ? openblas_get_config() : NULL;
    return s && s[0] ? s : "none";
}

int ent_blas_num_threads(void) { return openblas_get_num_threads ? openblas_get_num_threads() : 0; }

const char *ent_blas_detected_core(void) {
    if (!openblas_get_corename) return NULL;
    const char *hook = getenv(ENT_BLAS_TEST_HOOK);
    return hook && hook[0] ? hook : ent_blas_corename();
}

const char *ent_blas_core_wanted(const char **detected) {
    *detected = ent_blas_detected_core();
    if (getenv("OPENBLAS_CORETYPE") || !*detected) return NULL;
    /* A build for one target has its kernels compiled in and ignores the variable. */
    if (!strstr(ent_blas_config(), "DYNAMIC_ARCH")) return NULL;
    ent_cpu_features f;
    ent_cpu_features_detect(&f);
    return ent_blas_choose_core(*detected, &f);
}

/* entropic chose the type iff it left its marker and the type is what the
 * decision gives for the core the marker names: a child whose environment
 * was changed in between (OPENBLAS_CORETYPE set to something else) then
 * counts as the environment's choice, as it is. */
ent_blas_core_source ent_blas_core_origin(const char **detected) {
    const char *type = getenv("OPENBLAS_CORETYPE"), *marker = getenv(ENT_BLAS_DETECTED_VAR);
    *detected = NULL;
    if (!type) return ENT_BLAS_CORE_DETECTED;
    if (marker) {
        ent_cpu_features f;
        ent_cpu_features_detect(&f);
        const char *chosen = ent_blas_choose_core(marker, &f);
        if (chosen && strcmp(chosen, type) == 0) {
            *detected = marker;
            return ENT_BLAS_CORE_BY_ENTROPIC;
        }
    }
    return ENT_BLAS_CORE_FROM_ENV;
}
