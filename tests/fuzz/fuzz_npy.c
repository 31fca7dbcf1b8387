/* fuzz_npy.c — NumPy .npy files: the input split into X and y (fuzz.h),
 * loaded as the "arrays" data set. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    const uint8_t *a, *b;
    size_t na, nb;
    fuzz_split(data, n, &a, &na, &b, &nb);
    char xp[64], yp[64];
    int fx = fuzz_file(a, na, xp), fy = fuzz_file(b, nb, yp);
    ent_dataset *d = NULL;
    if (fx >= 0 && fy >= 0 && ent_arrays_load(&d, xp, yp, NULL, NULL) == ENT_OK) {
        if (d->n < 1 || d->n_classes < 2) __builtin_trap();
        ent_dataset_free(d);
    }
    if (fx >= 0) close(fx);
    if (fy >= 0) close(fy);
    return 0;
}
