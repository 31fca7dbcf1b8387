/* fuzz_idx.c — the IDX loader (MNIST, Fashion-MNIST) on raw files: the
 * input split in a labels file and an images file (fuzz.h). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    const uint8_t *a, *b;
    size_t na, nb;
    fuzz_split(data, n, &a, &na, &b, &nb);
    char lp[64], ip[64];
    int fl = fuzz_file(a, na, lp), fi = fuzz_file(b, nb, ip);
    ent_dataset *d = NULL;
    if (fl >= 0 && fi >= 0 && ent_idx_load(&d, ip, lp, 0.5f, 0.5f) == ENT_OK) {
        if (d->n < 1 || d->y[d->n - 1] < 0 || d->y[d->n - 1] > 9) __builtin_trap();
        ent_dataset_free(d);
    }
    if (fl >= 0) close(fl);
    if (fi >= 0) close(fi);
    return 0;
}
