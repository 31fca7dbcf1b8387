/* rop_f64.c — the R-operator in double (the default: exact spectra). */
#define REAL double
#define GEMM ent_dgemm
#define FN(name) name##_f64
#include "analysis/rop_impl.h"
